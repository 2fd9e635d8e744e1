//! What a container keeps on disk, where, and how it is read back into a status.
//!
//! `meta.json` is written once by the manager at creation; `state.json` is written by the shim at
//! every transition (created → running → exited), always by write-to-temp and rename, so a reader
//! (another coracle, after a `kill -9`) sees either the old or the new record, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::request::ContainerRequest;
use super::{ContainerError, Result};
use crate::runtime::paths::RuntimePaths;

/// Where one container's files are.
#[derive(Clone, Debug)]
pub struct ContainerDirs {
    pub id: String,
    pub dir: PathBuf,
    run_dir: PathBuf,
}

impl ContainerDirs {
    pub fn new(paths: &RuntimePaths, id: &str) -> ContainerDirs {
        ContainerDirs { id: id.to_string(), dir: paths.containers().join(id), run_dir: paths.run_dir() }
    }
    pub fn meta(&self) -> PathBuf {
        self.dir.join("meta.json")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    /// The OCI bundle is the container dir itself: `config.json` and `rootfs/`.
    pub fn bundle(&self) -> &Path {
        &self.dir
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn image_id(&self) -> PathBuf {
        self.dir.join("image-id")
    }
    pub fn shim_log(&self) -> PathBuf {
        self.dir.join("shim.log")
    }
    pub fn default_log(&self) -> PathBuf {
        self.dir.join("container.log")
    }
    pub fn hosts(&self) -> PathBuf {
        self.dir.join("hosts")
    }
    pub fn hostname(&self) -> PathBuf {
        self.dir.join("hostname")
    }
    pub fn resolv_conf(&self) -> PathBuf {
        self.dir.join("resolv.conf")
    }
    /// libcontainer's state root (shared by this instance's containers; each has `<root>/<id>`).
    pub fn libcontainer_root(&self) -> PathBuf {
        self.run_dir.join("lc")
    }
    /// The shim's socket (short, for the 108-byte limit on socket paths).
    pub fn socket(&self) -> PathBuf {
        self.run_dir.join("s").join(format!("{}.sock", self.id))
    }
}

/// The image a container was made from.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ImageRef {
    pub reference: String,
    pub id: String,
    pub manifest_digest: String,
}

/// Written once at creation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub image: ImageRef,
    pub request: ContainerRequest,
    /// The command as run (entrypoint/cmd merged).
    pub args: Vec<String>,
    pub log_path: PathBuf,
    /// Relative to each hierarchy's root, e.g. `/coracle-1a2b3c4d/<id>`.
    pub cgroups_path: String,
    /// The image's STOPSIGNAL, if any.
    pub stop_signal: Option<String>,
}

/// Where a container is in its life.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    /// Its process exists and waits to be started.
    #[default]
    Created,
    Running,
    Exited,
    /// The shim is gone without recording an end (killed, or the machine restarted).
    Unknown,
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Exited => "exited",
            ContainerState::Unknown => "unknown",
        })
    }
}

/// Written by the shim at each transition.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct StateFile {
    pub state: ContainerState,
    pub shim_pid: Option<i32>,
    pub shim_start: Option<u64>,
    /// The container's init process (on the host).
    pub pid: Option<i32>,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22), to tell it from a
    /// later process that reuses the pid.
    pub pid_start: Option<u64>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
    /// Set when the process was ended by a signal.
    pub signal: Option<i32>,
    pub oom_killed: bool,
    pub message: Option<String>,
}

/// The status a caller sees (CRI `ContainerStatus`, more or less).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub id: String,
    pub name: String,
    pub image: ImageRef,
    pub state: ContainerState,
    pub pid: Option<i32>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub oom_killed: bool,
    /// `OOMKilled`, `Completed` (exit 0), `Error`, or empty.
    pub reason: String,
    pub message: String,
    pub log_path: PathBuf,
    pub args: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub tty: bool,
    pub stdin: bool,
}

impl ContainerStatus {
    pub fn from_parts(meta: &Meta, st: &StateFile) -> ContainerStatus {
        let reason = match st.state {
            ContainerState::Exited if st.oom_killed => "OOMKilled",
            ContainerState::Exited if st.exit_code == Some(0) => "Completed",
            ContainerState::Exited => "Error",
            ContainerState::Unknown => "Unknown",
            _ => "",
        };
        ContainerStatus {
            id: meta.id.clone(),
            name: meta.name.clone(),
            image: meta.image.clone(),
            state: st.state,
            pid: if matches!(st.state, ContainerState::Created | ContainerState::Running) { st.pid } else { None },
            created_at: meta.created_at,
            started_at: st.started_at,
            finished_at: st.finished_at,
            exit_code: st.exit_code,
            signal: st.signal,
            oom_killed: st.oom_killed,
            reason: reason.to_string(),
            message: st.message.clone().unwrap_or_default(),
            log_path: meta.log_path.clone(),
            args: meta.args.clone(),
            labels: meta.request.labels.clone(),
            annotations: meta.request.annotations.clone(),
            tty: meta.request.tty,
            stdin: meta.request.stdin,
        }
    }

    pub fn is_alive(&self) -> bool {
        matches!(self.state, ContainerState::Created | ContainerState::Running)
    }
}

/// Write a file atomically (temp file in the same dir, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(ContainerError::io("cannot write", path))
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, &serde_json::to_vec_pretty(value).expect("serialisable"))
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(ContainerError::io("cannot read", path))?;
    serde_json::from_slice(&bytes).map_err(|e| ContainerError::Io {
        context: "cannot decode".into(),
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// `/proc/<pid>/stat` field 22 (start time), if the process exists.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` is still the process that started at `start` (and not a zombie).
pub fn process_alive(pid: i32, start: Option<u64>) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let Some(close) = stat.rfind(')') else { return false };
    let rest = &stat[close + 2..];
    if rest.starts_with('Z') || rest.starts_with('X') {
        return false;
    }
    match start {
        Some(s) => rest.split_whitespace().nth(19).and_then(|v| v.parse::<u64>().ok()) == Some(s),
        None => true,
    }
}

/// An exclusive lock on this instance's containers dir, held while names are checked and dirs made
/// or removed.
pub struct DirLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl DirLock {
    pub fn acquire(containers: &Path) -> Result<DirLock> {
        std::fs::create_dir_all(containers).map_err(ContainerError::io("cannot create", containers))?;
        let path = containers.join(".lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(ContainerError::io("cannot open", &path))?;
        let lock = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| ContainerError::Io { context: "cannot lock".into(), path, source: e.into() })?;
        Ok(DirLock { _lock: lock })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive_and_a_changed_start_time_is_not() {
        let pid = std::process::id() as i32;
        let start = process_start_time(pid).expect("start time");
        assert!(process_alive(pid, Some(start)));
        assert!(!process_alive(pid, Some(start + 1)));
        assert!(!process_alive(i32::MAX, None));
    }

    #[test]
    fn atomic_json_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let st = StateFile { state: ContainerState::Exited, exit_code: Some(3), ..Default::default() };
        write_json(&p, &st).unwrap();
        let back: StateFile = read_json(&p).unwrap();
        assert_eq!(back, st);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
