//! `coracle ctr`: containers from the command line, a thin adapter over
//! [`crate::runtime::container::Manager`]. Works whether or not a server runs on the data dir.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use nix::sys::signal::{SigSet, Signal};

use crate::runtime::container::manager::{LogOptions, parse_signal};
use crate::runtime::container::request::{BindMount, ContainerRequest, ExecRequest, Resources, parse_bytes};
use crate::runtime::container::{ContainerError, ContainerState, ContainerStatus, Manager, Session};
// MERGE: switch to `use crate::runtime::images;`
use crate::runtime::images;
use crate::runtime::paths::RuntimePaths;

/// `println!` that does not panic when stdout is closed (`coracle ctr ps | head -1`).
macro_rules! outln {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

#[derive(Args, Debug)]
pub struct CtrArgs {
    /// Folder for all state, as for `coracle server`
    #[arg(long, value_name = "DIR", default_value = "/var/lib/coracle", global = true)]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: CtrCommand,
}

#[derive(Subcommand, Debug)]
pub enum CtrCommand {
    /// Create and start a container (in the foreground unless -d)
    Run(RunArgs),
    /// Run a command in a running container
    Exec(ExecArgs),
    /// List containers (running ones unless -a)
    Ps {
        /// Also stopped and created containers
        #[arg(short, long)]
        all: bool,
        /// Only ids
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print a container's log
    Logs {
        /// Keep printing while the container runs
        #[arg(short, long)]
        follow: bool,
        /// Only the last N lines
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
        name: String,
    },
    /// Stop containers: SIGTERM (or the image's stop signal), then SIGKILL after the grace period
    Stop {
        /// Seconds to wait before killing
        #[arg(short, long, default_value_t = 10)]
        time: u64,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Send a signal to containers
    Kill {
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove containers
    Rm {
        /// Kill running containers first
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Show a container's status and configuration as JSON
    Inspect { name: String },
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Remove the container when it exits
    #[arg(long)]
    rm: bool,
    /// Run in the background and print the container id
    #[arg(short, long)]
    detach: bool,
    /// Allocate a terminal
    #[arg(short, long)]
    tty: bool,
    /// Keep stdin open
    #[arg(short, long)]
    interactive: bool,
    /// Memory limit (e.g. 64Mi)
    #[arg(long, value_name = "SIZE")]
    memory: Option<String>,
    /// CPU limit in cores (e.g. 0.5)
    #[arg(long, value_name = "N")]
    cpus: Option<f64>,
    /// Most processes the container may have
    #[arg(long, value_name = "N")]
    pids_limit: Option<i64>,
    /// Environment variable (repeatable)
    #[arg(short, long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// User: uid, name, uid:gid or name:group
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Mount the root filesystem read-only
    #[arg(long)]
    read_only: bool,
    /// All capabilities and devices, no confinement
    #[arg(long)]
    privileged: bool,
    /// Bind mount src:dst[:ro] (repeatable)
    #[arg(long = "mount", short = 'v', value_name = "SRC:DST[:ro]")]
    mounts: Vec<String>,
    /// Apply the runtime's default seccomp profile
    #[arg(long)]
    seccomp_default: bool,
    /// Host name inside the container
    #[arg(long)]
    hostname: Option<String>,
    /// Capability to add (repeatable)
    #[arg(long)]
    cap_add: Vec<String>,
    /// Capability to drop (repeatable)
    #[arg(long)]
    cap_drop: Vec<String>,
    /// Image reference or id
    image: String,
    /// Container name
    name: String,
    /// Command and arguments (instead of the image's)
    #[arg(last = true)]
    command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Keep stdin open
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a terminal
    #[arg(short, long)]
    tty: bool,
    /// Environment variable (repeatable)
    #[arg(short, long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// User: uid, name, uid:gid or name:group
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    name: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Run `coracle ctr …`; returns the exit code.
pub fn run(args: CtrArgs) -> i32 {
    let paths = RuntimePaths::new(&args.data_dir);
    let manager = Manager::new(&paths);
    let result = match args.command {
        CtrCommand::Run(a) => cmd_run(&manager, &paths, a),
        CtrCommand::Exec(a) => cmd_exec(&manager, a),
        CtrCommand::Ps { all, quiet } => cmd_ps(&manager, all, quiet),
        CtrCommand::Logs { follow, tail, name } => cmd_logs(&manager, &name, follow, tail),
        CtrCommand::Stop { time, names } => each(&names, |n| {
            manager.stop(n, Duration::from_secs(time))?;
            outln!("{n}");
            Ok(())
        }),
        CtrCommand::Kill { signal, names } => match parse_signal(&signal) {
            None => Err(anyhow!("unknown signal {signal:?}; use a name like TERM or a number")),
            Some(sig) => each(&names, |n| {
                manager.kill(n, sig, false)?;
                outln!("{n}");
                Ok(())
            }),
        },
        CtrCommand::Rm { force, names } => each(&names, |n| {
            manager.remove(n, force)?;
            outln!("{n}");
            Ok(())
        }),
        CtrCommand::Inspect { name } => cmd_inspect(&manager, &name),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("coracle: {e}");
            e.downcast_ref::<ContainerError>().map(|c| c.exit_code()).unwrap_or(1)
        }
    }
}

fn each(names: &[String], mut f: impl FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<i32> {
    let mut failed = None;
    for n in names {
        if let Err(e) = f(n) {
            if names.len() == 1 {
                return Err(e);
            }
            eprintln!("coracle: {e}");
            failed = Some(e);
        }
    }
    Ok(if failed.is_some() { 1 } else { 0 })
}

fn env_pairs(env: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    env.iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => match std::env::var(e) {
                // `--env NAME` takes the value from our environment, as Docker does.
                Ok(v) if !e.is_empty() => Ok((e.clone(), v)),
                _ => Err(anyhow!("--env {e:?} is not K=V")),
            },
        })
        .collect()
}

fn cmd_run(manager: &Manager, paths: &RuntimePaths, a: RunArgs) -> anyhow::Result<i32> {
    let store = images::ImageStore::open(paths)
        .with_context(|| format!("cannot open the image store of {}", paths.data_dir.display()))?;
    let image = store.resolve(&a.image)?.ok_or_else(|| {
        anyhow!(
            "image {} is not present; pull it with `coracle images pull {}` or import it with `coracle images import FILE`",
            a.image,
            a.image
        )
    })?;
    let mut resources = Resources::default();
    if let Some(m) = &a.memory {
        resources.memory_limit = Some(parse_bytes(m).map_err(|e| anyhow!("--memory: {e}"))?);
    }
    if let Some(c) = a.cpus {
        if c.is_nan() || c <= 0.0 {
            return Err(anyhow!("--cpus must be above 0"));
        }
        resources = resources.with_cpus(c);
    }
    resources.pids_limit = a.pids_limit;
    let mounts = a
        .mounts
        .iter()
        .map(|m| BindMount::parse(m).map_err(|e| anyhow!("--mount: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let req = ContainerRequest {
        name: a.name.clone(),
        command: a.command.clone(),
        env: env_pairs(&a.env)?,
        working_dir: a.workdir.clone(),
        user: a.user.clone(),
        hostname: a.hostname.clone(),
        tty: a.tty,
        stdin: a.interactive,
        privileged: a.privileged,
        read_only_rootfs: a.read_only,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        seccomp_default: a.seccomp_default,
        mounts,
        resources,
        ..Default::default()
    };
    let id = manager.create(&image, &req)?;
    if a.detach {
        if let Err(e) = manager.start(&id) {
            let _ = manager.remove(&id, true);
            return Err(e.into());
        }
        outln!("{id}");
        return Ok(0);
    }
    let session = match manager.attach(&id, a.interactive, true, true) {
        Ok(s) => s,
        Err(e) => {
            let _ = manager.remove(&id, true);
            return Err(e.into());
        }
    };
    let signals = block_signals();
    if let Err(e) = manager.start(&id) {
        let _ = manager.remove(&id, true);
        return Err(e.into());
    }
    let target = Target::Container(manager.clone(), id.clone());
    let code = drive(session, a.interactive, a.tty, signals, target);
    let code = match code {
        Ok(Some(c)) => c,
        // The stream ended without a status: ask the manager.
        _ => match manager.wait(&id, Some(Duration::from_secs(10)))? {
            Some(st) => st.exit_code.unwrap_or(255),
            None => 255,
        },
    };
    if a.rm {
        manager.remove(&id, true)?;
    }
    Ok(code)
}

fn cmd_exec(manager: &Manager, a: ExecArgs) -> anyhow::Result<i32> {
    let (width, height) = if a.tty { terminal_size().unwrap_or((80, 24)) } else { (0, 0) };
    let req = ExecRequest {
        command: a.command.clone(),
        env: env_pairs(&a.env)?,
        working_dir: a.workdir.clone(),
        user: a.user.clone(),
        tty: a.tty,
        stdin: a.interactive,
        width,
        height,
    };
    let session = manager.exec(&a.name, &req)?;
    let signals = block_signals();
    match drive(session, a.interactive, a.tty, signals, Target::Exec)? {
        Some(code) => Ok(code),
        None => Err(anyhow!("container {}: the exec stream ended without an exit status", a.name)),
    }
}

/// Where forwarded signals and resizes go.
enum Target {
    Container(Manager, String),
    Exec,
}

/// Block the signals we forward, so a thread can take them with sigwait. Done before any thread
/// starts (threads inherit the mask); the shim unblocks them for the container.
fn block_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT, Signal::SIGWINCH] {
        set.add(s);
    }
    let _ = set.thread_block();
    set
}

fn terminal_size() -> Option<(u16, u16)> {
    nix::ioctl_read_bad!(tiocgwinsz, libc::TIOCGWINSZ, libc::winsize);
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    for fd in [1, 0, 2] {
        // SAFETY: TIOCGWINSZ writes one winsize into ws, which outlives the call; fd is one of ours.
        if unsafe { tiocgwinsz(fd, &mut ws) }.is_ok() && ws.ws_col > 0 {
            return Some((ws.ws_col, ws.ws_row));
        }
    }
    None
}

/// Puts the local terminal in raw mode for the life of the guard.
struct RawMode {
    saved: nix::sys::termios::Termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let saved = tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(std::io::stdin().as_fd(), nix::sys::termios::SetArg::TCSANOW, &self.saved);
    }
}

/// Copy stdin to the session (if asked), output to ours, forward signals and resizes; returns
/// the exit code from the status frame.
fn drive(mut session: Session, stdin: bool, tty: bool, signals: SigSet, target: Target) -> anyhow::Result<Option<i32>> {
    let raw = if tty && stdin { RawMode::enter() } else { None };
    let mut writer = session.writer()?;
    if stdin {
        let mut w = session.writer()?;
        std::thread::spawn(move || {
            let mut buf = [0u8; 32 * 1024];
            let mut input = std::io::stdin().lock();
            loop {
                match input.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if w.stdin(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = w.close_stdin();
        });
    }
    if tty && let Some((w, h)) = terminal_size() {
        let _ = writer.resize(w, h);
    }
    std::thread::spawn(move || {
        loop {
            let Ok(sig) = signals.wait() else { return };
            match sig {
                Signal::SIGWINCH => {
                    if let Some((w, h)) = terminal_size() {
                        let _ = writer.resize(w, h);
                    }
                }
                other => {
                    // Forward to the container as Docker's sig-proxy does; an exec gets them
                    // through its terminal, or not at all.
                    if let Target::Container(m, id) = &target {
                        let _ = m.kill(id, other, false);
                    }
                }
            }
        }
    });
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let status = session.pump(&mut out, &mut err)?;
    drop(raw);
    let _ = out.flush();
    Ok(status.map(|s| s.exit_code))
}

fn cmd_ps(manager: &Manager, all: bool, quiet: bool) -> anyhow::Result<i32> {
    let list = manager.list()?;
    let shown: Vec<&ContainerStatus> = list.iter().filter(|s| all || s.state == ContainerState::Running).collect();
    if quiet {
        for s in shown {
            outln!("{}", &s.id[..12]);
        }
        return Ok(0);
    }
    let rows: Vec<[String; 6]> = shown
        .iter()
        .map(|s| {
            let cmd = s.args.join(" ");
            let cmd =
                if cmd.chars().count() > 24 { format!("{}…", cmd.chars().take(23).collect::<String>()) } else { cmd };
            [
                s.id[..12].to_string(),
                short_ref(&s.image.reference),
                format!("\"{cmd}\""),
                format!("{} ago", human(jiff::Timestamp::now().duration_since(s.created_at).unsigned_abs())),
                status_text(s),
                s.name.clone(),
            ]
        })
        .collect();
    let header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAME"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(rows.iter()) {
        let line: Vec<String> = r.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        outln!("{}", line.join("   ").trim_end());
    }
    Ok(0)
}

fn short_ref(r: &str) -> String {
    r.strip_prefix("docker.io/library/").or_else(|| r.strip_prefix("docker.io/")).unwrap_or(r).to_string()
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "1 minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "1 hour".into(),
        7200..=86399 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86400),
    }
}

fn status_text(s: &ContainerStatus) -> String {
    let since = |t: Option<jiff::Timestamp>| {
        t.map(|t| human(jiff::Timestamp::now().duration_since(t).unsigned_abs())).unwrap_or_default()
    };
    match s.state {
        ContainerState::Created => "Created".into(),
        ContainerState::Running => format!("Up {}", since(s.started_at)),
        ContainerState::Exited => {
            let oom = if s.oom_killed { " (OOMKilled)" } else { "" };
            format!("Exited ({}){oom} {} ago", s.exit_code.unwrap_or(255), since(s.finished_at))
        }
        ContainerState::Unknown => "Unknown".into(),
    }
}

fn cmd_logs(manager: &Manager, name: &str, follow: bool, tail: Option<usize>) -> anyhow::Result<i32> {
    let reader = manager.logs(name, &LogOptions { follow, tail })?;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for line in reader {
        let line = line?;
        let w: &mut dyn Write = match line.stream {
            crate::runtime::container::logs::Stream::Stdout => &mut out,
            crate::runtime::container::logs::Stream::Stderr => &mut err,
        };
        w.write_all(&line.content)?;
        if !line.partial {
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    Ok(0)
}

fn cmd_inspect(manager: &Manager, name: &str) -> anyhow::Result<i32> {
    let st = manager.status(name)?;
    let spec = manager.spec(name).unwrap_or(serde_json::Value::Null);
    let doc = serde_json::json!({
        "status": st,
        "cgroupsPath": manager.cgroups_path(name).ok(),
        "dir": manager.container_dir(&st.id),
        "spec": spec,
    });
    outln!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(0)
}
