//! The library API over containers, for the CLI (`coracle ctr`) and the kubelet.
//!
//! Every call is blocking and short (file reads, a unix-socket round trip, a process spawn), and
//! never runs libcontainer: the kubelet calls it from `spawn_blocking` or a thread. All it knows it
//! reads from disk, so any number of managers (processes) on one data dir see the same containers,
//! and a manager started after a `kill -9` of another finds every container again.

use std::io::BufRead;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use nix::sys::signal::Signal;

use super::exec::Session;
use super::logs::LogReader;
use super::protocol::{self, ErrorKind, Request, Response};
use super::request::{ContainerRequest, ExecRequest};
use super::spec::{self, EtcFiles, Host, SpecInput};
use super::state::{self, ContainerDirs, ContainerState, ContainerStatus, DirLock, ImageRef, Meta, StateFile};
use super::{ContainerError, Image, Result, cgroups, rootfs};
use crate::runtime::paths::RuntimePaths;

/// How long a shim may take to create a container.
const CREATE_TIMEOUT: Duration = Duration::from_secs(60);
/// A container dir without a state record older than this is a creation that died half-way.
const CREATING_GRACE: Duration = Duration::from_secs(90);

/// The containers of one data dir.
#[derive(Clone, Debug)]
pub struct Manager {
    paths: RuntimePaths,
    shim_binary: PathBuf,
}

/// Options for [`Manager::logs`].
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    /// Keep reading until the container has exited.
    pub follow: bool,
    /// Only the last N records.
    pub tail: Option<usize>,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 128
}

fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parse a signal by name (`TERM`, `SIGTERM`) or number.
pub fn parse_signal(s: &str) -> Option<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let up = s.trim().to_ascii_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    name.parse().ok()
}

/// Removes a half-made container unless disarmed.
struct CreateGuard<'a> {
    manager: &'a Manager,
    dirs: ContainerDirs,
    cgroups_path: String,
    armed: bool,
}

impl Drop for CreateGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.manager.teardown(&self.dirs, Some(&self.cgroups_path));
        }
    }
}

impl Manager {
    /// A manager for this data dir; shims are started from the running binary.
    pub fn new(paths: &RuntimePaths) -> Manager {
        let shim_binary = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        Manager { paths: paths.clone(), shim_binary }
    }

    /// Start shims from another `coracle` binary (tests and benchmarks that are not it).
    pub fn with_shim_binary(mut self, path: impl Into<PathBuf>) -> Manager {
        self.shim_binary = path.into();
        self
    }

    pub fn paths(&self) -> &RuntimePaths {
        &self.paths
    }

    fn dirs(&self, id: &str) -> ContainerDirs {
        ContainerDirs::new(&self.paths, id)
    }

    /// Ids of every container dir.
    fn ids(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.paths.containers()) else { return vec![] };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .filter(|n| n.len() == 64 && n.chars().all(|c| c.is_ascii_hexdigit()))
            .collect();
        ids.sort();
        ids
    }

    fn meta(&self, id: &str) -> Option<Meta> {
        state::read_json(&self.dirs(id).meta()).ok()
    }

    /// The id of a container given by name, full id or unique id prefix.
    pub fn resolve(&self, name_or_id: &str) -> Result<String> {
        let ids = self.ids();
        if let Some(id) = ids.iter().find(|id| self.meta(id).is_some_and(|m| m.name == name_or_id)) {
            return Ok(id.clone());
        }
        if name_or_id.len() >= 4 {
            let matches: Vec<&String> = ids.iter().filter(|id| id.starts_with(name_or_id)).collect();
            if matches.len() == 1 {
                return Ok(matches[0].clone());
            }
        }
        Err(ContainerError::NotFound(name_or_id.to_string()))
    }

    fn name_of(&self, id: &str) -> String {
        self.meta(id).map(|m| m.name).unwrap_or_else(|| id.to_string())
    }

    /// Create a container: its process exists (in its namespaces and cgroup) and waits for
    /// [`Manager::start`]. Returns the id. On any failure nothing is left behind.
    pub fn create(&self, image: &Image, req: &ContainerRequest) -> Result<String> {
        if !valid_name(&req.name) {
            return Err(ContainerError::InvalidName(req.name.clone()));
        }
        let id = new_id();
        let dirs = self.dirs(&id);
        let cgroup_parent = match &req.cgroup_parent {
            Some(p) if p.split('/').any(|c| c == "..") => {
                return Err(ContainerError::InvalidRequest {
                    name: req.name.clone(),
                    reason: format!("cgroup parent {p:?} must stay below the instance's"),
                });
            }
            Some(p) => format!("/{}/{}", self.paths.cgroup_parent(), p.trim_matches('/')),
            None => format!("/{}", self.paths.cgroup_parent()),
        };
        let cgroups_path = format!("{cgroup_parent}/{id}");
        let log_path = req.log_path.clone().unwrap_or_else(|| dirs.default_log());
        let mut meta = Meta {
            id: id.clone(),
            name: req.name.clone(),
            created_at: Timestamp::now(),
            image: ImageRef {
                reference: image.reference.clone(),
                id: image.id.clone(),
                manifest_digest: image.manifest_digest.clone(),
            },
            request: req.clone(),
            args: vec![],
            log_path,
            cgroups_path: cgroups_path.clone(),
            stop_signal: image.config.config().as_ref().and_then(|c| c.stop_signal().clone()),
        };
        {
            let _lock = DirLock::acquire(&self.paths.containers())?;
            for other in self.ids() {
                if self.meta(&other).is_some_and(|m| m.name == req.name) {
                    return Err(ContainerError::NameInUse { name: req.name.clone(), id: other });
                }
            }
            std::fs::create_dir_all(&dirs.dir).map_err(ContainerError::io("cannot create", &dirs.dir))?;
            // Written now so the name is taken; rewritten below with the resolved command.
            state::write_json(&dirs.meta(), &meta)?;
        }
        let mut guard = CreateGuard { manager: self, dirs: dirs.clone(), cgroups_path, armed: true };
        let name = req.name.as_str();

        for d in [dirs.rootfs(), dirs.upper(), dirs.work()] {
            std::fs::create_dir_all(&d).map_err(ContainerError::io("cannot create", &d))?;
        }
        std::fs::write(dirs.image_id(), &image.id).map_err(ContainerError::io("cannot write", dirs.image_id()))?;
        // From here the image store keeps the image; one removed since it was resolved is gone for good.
        if let Some(missing) = image.layers.iter().find(|l| !l.is_dir()) {
            return Err(ContainerError::InvalidRequest {
                name: name.to_string(),
                reason: format!(
                    "layer {} of image {} is gone (was the image removed?); pull or import it again",
                    missing.display(),
                    image.reference
                ),
            });
        }
        rootfs::mount(&image.layers, &dirs.upper(), &dirs.work(), &dirs.rootfs())
            .map_err(|e| ContainerError::Mount { name: name.to_string(), message: e.to_string() })?;

        let hostname = req.hostname.clone().unwrap_or_else(|| req.name.clone());
        let etc = EtcFiles {
            hosts: match &req.hosts_file {
                Some(p) => p.clone(),
                None => {
                    std::fs::write(dirs.hosts(), spec::default_hosts(&hostname))
                        .map_err(ContainerError::io("cannot write", dirs.hosts()))?;
                    dirs.hosts()
                }
            },
            resolv_conf: match &req.resolv_conf {
                Some(p) => p.clone(),
                None => {
                    let host = std::fs::read("/etc/resolv.conf").unwrap_or_default();
                    std::fs::write(dirs.resolv_conf(), host)
                        .map_err(ContainerError::io("cannot write", dirs.resolv_conf()))?;
                    dirs.resolv_conf()
                }
            },
            hostname: match &req.hostname_file {
                Some(p) => p.clone(),
                None => {
                    std::fs::write(dirs.hostname(), format!("{hostname}\n"))
                        .map_err(ContainerError::io("cannot write", dirs.hostname()))?;
                    dirs.hostname()
                }
            },
        };
        let rootfs_path = dirs.rootfs();
        let built = spec::build(&SpecInput {
            id: &id,
            request: req,
            image: &image.config,
            rootfs: &rootfs_path,
            cgroups_path: meta.cgroups_path.clone(),
            etc,
            host: Host::detect(),
        })?;
        make_workdir(&rootfs_path, &built.cwd, built.user.uid, built.user.gid);
        let config = serde_json::to_vec_pretty(&built.spec).expect("serialisable spec");
        state::write_atomic(&dirs.config(), &config)?;
        meta.args = built.args.clone();
        state::write_json(&dirs.meta(), &meta)?;

        let st = self.spawn_shim(&dirs, &meta, req)?;
        tracing::info!(id = %id, name, pid = ?st.pid, "container created");
        guard.armed = false;
        Ok(id)
    }

    fn spawn_shim(&self, dirs: &ContainerDirs, meta: &Meta, req: &ContainerRequest) -> Result<StateFile> {
        let name = meta.name.clone();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dirs.shim_log())
            .map_err(ContainerError::io("cannot open", dirs.shim_log()))?;
        let mut child = Command::new(&self.shim_binary)
            .arg("shim")
            .arg("--data-dir")
            .arg(&self.paths.data_dir)
            .arg("--id")
            .arg(&dirs.id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| ContainerError::Shim {
                name: name.clone(),
                message: format!("cannot start {}: {e}", self.shim_binary.display()),
            })?;
        let stdout = child.stdout.take().expect("piped stdout");
        // The first process exits right after forking the real shim; reap it.
        let _ = child.wait();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let r = std::io::BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(r);
        });
        let line = match rx.recv_timeout(CREATE_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            Ok(Ok(_)) => {
                let tail = last_lines(&dirs.shim_log(), 3);
                return Err(ContainerError::Shim {
                    name,
                    message: format!("the shim ended without an answer: {tail}"),
                });
            }
            Ok(Err(e)) => {
                return Err(ContainerError::Shim { name, message: format!("reading the shim's answer: {e}") });
            }
            Err(_) => return Err(ContainerError::Shim { name, message: "the shim did not answer within 60s".into() }),
        };
        let resp: Response = serde_json::from_str(&line)
            .map_err(|e| ContainerError::Shim { name: name.clone(), message: format!("bad answer {line:?}: {e}") })?;
        if let Some(message) = resp.error {
            let log = std::fs::read_to_string(dirs.shim_log()).unwrap_or_default();
            for line in log.lines().filter(|l| l.contains("ERROR")).take(8) {
                tracing::debug!(container = %name, "shim: {line}");
            }
            return Err(self.start_error(meta, req, resp.kind, message));
        }
        resp.state.ok_or_else(|| ContainerError::Shim { name, message: "the shim answered without a state".into() })
    }

    fn start_error(
        &self,
        meta: &Meta,
        req: &ContainerRequest,
        kind: Option<ErrorKind>,
        message: String,
    ) -> ContainerError {
        let name = meta.name.clone();
        if kind == Some(ErrorKind::ExecutableNotFound) {
            return ContainerError::ExecutableNotFound {
                name,
                executable: meta.args.first().cloned().unwrap_or_default(),
            };
        }
        if let Some(limit) = req.resources.memory_limit
            && (cgroups::oom_kills(&meta.cgroups_path) > 0 || looks_killed(&message))
        {
            return ContainerError::OomAtStart { name, limit };
        }
        ContainerError::StartFailed { name, message }
    }

    /// Start a created container.
    pub fn start(&self, name_or_id: &str) -> Result<()> {
        let id = self.resolve(name_or_id)?;
        let resp = self.call(&id, &Request::Start)?;
        if let Some(e) = resp.error {
            let name = self.name_of(&id);
            return Err(match resp.kind {
                Some(ErrorKind::NotRunning) => ContainerError::NotRunning { name, state: "exited".into() },
                _ => ContainerError::StartFailed { name, message: e },
            });
        }
        Ok(())
    }

    /// Create and start.
    pub fn run(&self, image: &Image, req: &ContainerRequest) -> Result<String> {
        let id = self.create(image, req)?;
        if let Err(e) = self.start(&id) {
            let _ = self.remove(&id, true);
            return Err(e);
        }
        Ok(id)
    }

    fn connect(&self, id: &str) -> Result<UnixStream> {
        let path = self.dirs(id).socket();
        UnixStream::connect(&path).map_err(|e| ContainerError::ShimGone {
            name: self.name_of(id),
            message: format!("{}: {e}", path.display()),
        })
    }

    /// One request/response round trip; the stream is returned for streaming requests.
    fn request(&self, id: &str, req: &Request, timeout: Option<Duration>) -> Result<(Response, UnixStream)> {
        let mut s = self.connect(id)?;
        let name = self.name_of(id);
        let shim_err = |e: std::io::Error| ContainerError::Shim { name: name.clone(), message: format!("shim: {e}") };
        s.set_read_timeout(timeout).map_err(shim_err)?;
        protocol::write_line(&mut s, req).map_err(shim_err)?;
        let resp: Response = protocol::read_line(&mut s).map_err(shim_err)?;
        s.set_read_timeout(None).map_err(shim_err)?;
        Ok((resp, s))
    }

    fn call(&self, id: &str, req: &Request) -> Result<Response> {
        self.request(id, req, Some(Duration::from_secs(30))).map(|(r, _)| r)
    }

    /// The status of one container.
    pub fn status(&self, name_or_id: &str) -> Result<ContainerStatus> {
        let id = self.resolve(name_or_id)?;
        self.status_of(&id).ok_or(ContainerError::NotFound(name_or_id.to_string()))
    }

    fn state_file(&self, id: &str) -> Option<StateFile> {
        state::read_json(&self.dirs(id).state()).ok()
    }

    fn status_of(&self, id: &str) -> Option<ContainerStatus> {
        let meta = self.meta(id)?;
        let mut st = match self.state_file(id) {
            Some(st) => st,
            None => {
                let age = Timestamp::now().duration_since(meta.created_at).unsigned_abs();
                let state = if age > CREATING_GRACE { ContainerState::Unknown } else { ContainerState::Created };
                StateFile { state, ..Default::default() }
            }
        };
        if matches!(st.state, ContainerState::Created | ContainerState::Running)
            && let Some(shim) = st.shim_pid
            && !state::process_alive(shim, st.shim_start)
        {
            // The shim may have just finished: read again before deciding.
            st = self.state_file(id).unwrap_or(st);
            if matches!(st.state, ContainerState::Created | ContainerState::Running) {
                let alive = st.pid.is_some_and(|p| state::process_alive(p, st.pid_start));
                if !alive {
                    st.state = ContainerState::Unknown;
                }
                st.message = Some("its shim is gone; output is no longer logged".into());
            }
        }
        Some(ContainerStatus::from_parts(&meta, &st))
    }

    /// Every container of this data dir, oldest first.
    pub fn list(&self) -> Result<Vec<ContainerStatus>> {
        let mut out: Vec<ContainerStatus> = self.ids().iter().filter_map(|id| self.status_of(id)).collect();
        out.sort_by_key(|s| s.created_at);
        Ok(out)
    }

    /// Send a signal to the container's init process (or, with `all`, every process in it).
    pub fn kill(&self, name_or_id: &str, signal: Signal, all: bool) -> Result<()> {
        let id = self.resolve(name_or_id)?;
        let st = self.status_of(&id).ok_or(ContainerError::NotFound(name_or_id.to_string()))?;
        if !st.is_alive() {
            return Err(ContainerError::NotRunning { name: st.name, state: st.state.to_string() });
        }
        match self.call(&id, &Request::Kill { signal: signal as i32, all }) {
            Ok(resp) => match resp.error {
                None => Ok(()),
                Some(_) if resp.kind == Some(ErrorKind::NotRunning) => {
                    Err(ContainerError::NotRunning { name: st.name, state: "exited".into() })
                }
                Some(e) => Err(ContainerError::Shim { name: st.name, message: e }),
            },
            Err(ContainerError::ShimGone { .. }) => {
                // No shim: signal the process directly, if it is still the one we started.
                let sf = self.state_file(&id).unwrap_or_default();
                match sf.pid.filter(|p| state::process_alive(*p, sf.pid_start)) {
                    Some(pid) => {
                        if all {
                            for p in cgroups::procs(&self.meta(&id).map(|m| m.cgroups_path).unwrap_or_default()) {
                                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), signal);
                            }
                        }
                        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
                            .map_err(|e| ContainerError::Shim { name: st.name, message: format!("kill: {e}") })
                    }
                    None => Err(ContainerError::NotRunning { name: st.name, state: "unknown".into() }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Wait until the container has exited, at most `timeout` (None: for ever). Returns its status
    /// then, or None on timeout.
    pub fn wait(&self, name_or_id: &str, timeout: Option<Duration>) -> Result<Option<ContainerStatus>> {
        let id = self.resolve(name_or_id)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let st = self.status_of(&id).ok_or(ContainerError::NotFound(name_or_id.to_string()))?;
            if !st.is_alive() {
                return Ok(Some(st));
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(None);
            }
            match self.connect(&id) {
                Ok(mut s) => {
                    let _ = s.set_read_timeout(left);
                    if protocol::write_line(&mut s, &Request::Wait).is_err() {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    match protocol::read_line::<Response>(&mut s) {
                        Ok(_) => continue,
                        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                            return Ok(None);
                        }
                        // The shim went away while we waited: look at the disk again.
                        Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    }
                }
                // No shim to ask: poll the process.
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Stop: the image's stop signal (default SIGTERM), then SIGKILL after `grace`.
    pub fn stop(&self, name_or_id: &str, grace: Duration) -> Result<ContainerStatus> {
        let id = self.resolve(name_or_id)?;
        let st = self.status_of(&id).ok_or(ContainerError::NotFound(name_or_id.to_string()))?;
        if !st.is_alive() {
            return Ok(st);
        }
        let sig = self.meta(&id).and_then(|m| m.stop_signal).and_then(|s| parse_signal(&s)).unwrap_or(Signal::SIGTERM);
        match self.kill(&id, sig, false) {
            Ok(()) | Err(ContainerError::NotRunning { .. }) => {}
            Err(e) => return Err(e),
        }
        if let Some(done) = self.wait(&id, Some(grace))? {
            return Ok(done);
        }
        tracing::info!(id = %id, "grace period over; killing");
        match self.kill(&id, Signal::SIGKILL, true) {
            Ok(()) | Err(ContainerError::NotRunning { .. }) => {}
            Err(e) => return Err(e),
        }
        match self.wait(&id, Some(Duration::from_secs(30)))? {
            Some(done) => Ok(done),
            None => Err(ContainerError::Shim { name: st.name, message: "did not exit after SIGKILL".into() }),
        }
    }

    /// Remove a container: its process (with `force`), cgroups, rootfs mount and every file.
    pub fn remove(&self, name_or_id: &str, force: bool) -> Result<()> {
        let id = self.resolve(name_or_id)?;
        let dirs = self.dirs(&id);
        let st = self.status_of(&id);
        let name = st.as_ref().map(|s| s.name.clone()).unwrap_or_else(|| id.clone());
        if let Some(st) = &st
            && st.is_alive()
        {
            if !force {
                return Err(ContainerError::StillRunning { name, state: st.state.to_string() });
            }
            match self.kill(&id, Signal::SIGKILL, true) {
                Ok(()) | Err(ContainerError::NotRunning { .. }) => {}
                Err(e) => return Err(e),
            }
            self.wait(&id, Some(Duration::from_secs(30)))?;
        }
        // Let a finishing shim close its socket (it unmounts and deletes first).
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Some(sf) = self.state_file(&id)
            && sf.shim_pid.is_some_and(|p| state::process_alive(p, sf.shim_start))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let cgroups_path = self.meta(&id).map(|m| m.cgroups_path);
        let lc_state = dirs.libcontainer_root().join(&id);
        if lc_state.exists() || cgroups_path.as_deref().is_some_and(|p| !cgroups::existing(p).is_empty()) {
            self.run_cleanup(&id);
        }
        self.teardown(&dirs, cgroups_path.as_deref());
        if dirs.dir.exists() {
            return Err(ContainerError::Io {
                context: format!("container {name}: cannot remove"),
                path: dirs.dir.clone(),
                source: std::io::Error::other("still mounted or busy"),
            });
        }
        tracing::info!(id = %id, name, "container removed");
        Ok(())
    }

    /// `coracle shim --cleanup`: libcontainer's delete, in a process of its own.
    fn run_cleanup(&self, id: &str) {
        let out = Command::new(&self.shim_binary)
            .arg("shim")
            .arg("--cleanup")
            .arg("--data-dir")
            .arg(&self.paths.data_dir)
            .arg("--id")
            .arg(id)
            .stdin(Stdio::null())
            .output();
        if let Ok(o) = out
            && !o.status.success()
        {
            tracing::warn!(id, stderr = %String::from_utf8_lossy(&o.stderr), "cleanup reported problems");
        }
    }

    /// Unmount and delete what is left of a container (never deleting through a mount).
    fn teardown(&self, dirs: &ContainerDirs, cgroups_path: Option<&str>) {
        if let Some(p) = cgroups_path {
            cgroups::remove(p);
        }
        if let Err(e) = rootfs::unmount(&dirs.rootfs()) {
            tracing::error!(error = %e, "cannot unmount rootfs");
        }
        let _ = std::fs::remove_file(dirs.socket());
        let _lock = DirLock::acquire(&self.paths.containers());
        if !rootfs::mounts_under(&dirs.dir).is_empty() {
            tracing::error!(dir = %dirs.dir.display(), "still mounted; not removing");
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(&dirs.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!(dir = %dirs.dir.display(), error = %e, "cannot remove container dir");
        }
        if self.ids().is_empty() {
            // The instance's last container: its cgroup parent and run dir go too (only if empty).
            cgroups::remove_parent_if_empty(&format!("/{}", self.paths.cgroup_parent()));
            let run = self.paths.run_dir();
            for d in [run.join("lc"), run.join("s"), run] {
                let _ = std::fs::remove_dir(d);
            }
        }
    }

    /// Run a process in a running container. The session streams its stdio; its last frame is the
    /// exit status.
    pub fn exec(&self, name_or_id: &str, req: &ExecRequest) -> Result<Session> {
        let id = self.resolve(name_or_id)?;
        let name = self.name_of(&id);
        let st = self.status_of(&id).ok_or(ContainerError::NotFound(name_or_id.to_string()))?;
        if st.state != ContainerState::Running {
            return Err(ContainerError::NotRunning { name, state: st.state.to_string() });
        }
        let (resp, stream) = self.request(&id, &Request::Exec(req.clone()), Some(Duration::from_secs(60)))?;
        if let Some(message) = resp.error {
            return Err(match resp.kind {
                Some(ErrorKind::ExecutableNotFound) => ContainerError::ExecutableNotFound {
                    name,
                    executable: req.command.first().cloned().unwrap_or_default(),
                },
                Some(ErrorKind::NotRunning) => ContainerError::NotRunning { name, state: "exited".into() },
                Some(ErrorKind::Invalid) => ContainerError::InvalidRequest { name, reason: message },
                _ => ContainerError::StartFailed { name, message },
            });
        }
        Ok(Session::new(stream))
    }

    /// Attach to a created or running container's stdio. Output from then on is streamed; the last
    /// frame is the container's exit status.
    pub fn attach(&self, name_or_id: &str, stdin: bool, stdout: bool, stderr: bool) -> Result<Session> {
        let id = self.resolve(name_or_id)?;
        let name = self.name_of(&id);
        let (resp, stream) =
            self.request(&id, &Request::Attach { stdin, stdout, stderr }, Some(Duration::from_secs(30)))?;
        if let Some(message) = resp.error {
            return Err(match resp.kind {
                Some(ErrorKind::NotRunning) => ContainerError::NotRunning { name, state: "exited".into() },
                _ => ContainerError::Shim { name, message },
            });
        }
        Ok(Session::new(stream))
    }

    /// Resize the container's terminal.
    pub fn resize(&self, name_or_id: &str, width: u16, height: u16) -> Result<()> {
        let id = self.resolve(name_or_id)?;
        let resp = self.call(&id, &Request::Resize { width, height })?;
        match resp.error {
            None => Ok(()),
            Some(e) => Err(ContainerError::InvalidRequest { name: self.name_of(&id), reason: e }),
        }
    }

    /// The container's CRI log, from the start (or the last `tail` records), following it while
    /// the container runs if asked.
    pub fn logs(&self, name_or_id: &str, opts: &LogOptions) -> Result<LogReader> {
        let id = self.resolve(name_or_id)?;
        let meta = self.meta(&id).ok_or(ContainerError::NotFound(name_or_id.to_string()))?;
        if !meta.log_path.exists() {
            let _ = std::fs::OpenOptions::new().create(true).append(true).open(&meta.log_path);
        }
        let me = self.clone();
        let done = Box::new(move || me.status_of(&id).is_none_or(|s| !s.is_alive()));
        let mut r = LogReader::open(&meta.log_path, opts.follow, done)
            .map_err(ContainerError::io("cannot read the log", &meta.log_path))?;
        if let Some(n) = opts.tail {
            r.tail(n).map_err(ContainerError::io("cannot read the log", &meta.log_path))?;
        }
        Ok(r)
    }

    /// The OCI spec a container runs with.
    pub fn spec(&self, name_or_id: &str) -> Result<serde_json::Value> {
        let id = self.resolve(name_or_id)?;
        state::read_json(&self.dirs(&id).config())
    }

    /// Where a container's files are (for `inspect` and tests).
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.dirs(id).dir
    }

    /// A container's cgroup path relative to each hierarchy root.
    pub fn cgroups_path(&self, name_or_id: &str) -> Result<String> {
        let id = self.resolve(name_or_id)?;
        self.meta(&id).map(|m| m.cgroups_path).ok_or(ContainerError::NotFound(name_or_id.to_string()))
    }
}

/// Create the working directory inside the rootfs if it is missing (owned by the process's user),
/// without following symlinks: a path through a symlink is left for the container to resolve.
fn make_workdir(rootfs: &Path, cwd: &str, uid: u32, gid: u32) {
    let mut p = rootfs.to_path_buf();
    for comp in cwd.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if comp == ".." {
            return;
        }
        p.push(comp);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return,
            Err(_) => {
                if std::fs::create_dir(&p).is_err() {
                    return;
                }
                let _ = std::os::unix::fs::chown(&p, Some(uid), Some(gid));
            }
        }
    }
}

fn looks_killed(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("sigkill")
        || m.contains("killed")
        || m.contains("broken pipe")
        || m.contains("brokenchannel")
        || m.contains("unexpected eof")
}

fn last_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(n).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("web"));
        assert!(valid_name("k8s_app_pod-1.default"));
        assert!(!valid_name(""));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a/b"));
        assert_eq!(new_id().len(), 64);
    }

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("TERM"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("SIGKILL"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("usr1"), Some(Signal::SIGUSR1));
        assert_eq!(parse_signal("NOPE"), None);
    }

    #[test]
    fn workdirs_are_made_inside_the_rootfs_only() {
        let dir = tempfile::tempdir().unwrap();
        make_workdir(dir.path(), "/srv/app", 0, 0);
        assert!(dir.path().join("srv/app").is_dir());
        std::os::unix::fs::symlink("/tmp", dir.path().join("link")).unwrap();
        make_workdir(dir.path(), "/link/escape", 0, 0);
        assert!(!Path::new("/tmp/escape").exists());
        make_workdir(dir.path(), "/../up", 0, 0);
        assert!(!dir.path().parent().unwrap().join("up").exists());
    }
}
