//! `coracle shim`: the helper process that owns one container.
//!
//! The manager starts `coracle shim --data-dir D --id I` with its stdout on a pipe. The shim forks
//! at once (the first process exits, so the manager reaps it and the shim is re-parented) and calls
//! `setsid`, so it outlives whoever started it. It then creates the container with libcontainer
//! (stdio on pipes, or a terminal received over a console socket), writes `state.json`, answers one
//! JSON line on the pipe (the state, or an error) and closes it.
//!
//! From then on a single-threaded tokio loop serves the socket (see [`super::protocol`]), copies the
//! container's output into its CRI log and to attached clients, reaps the container and exec'd
//! processes, and when the container ends records exit code, finish time and OOM kills, has
//! libcontainer delete it (its cgroups go), unmounts the rootfs and exits.
//!
//! libcontainer forks and changes the working directory, which is safe here: this process runs no
//! other threads (tokio's current-thread runtime, and nothing that would start its blocking pool).

// Errors are the shim's protocol responses, sent as they are; their size does not matter here.
#![allow(clippy::result_large_err, clippy::collapsible_match)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use jiff::Timestamp;
use libcontainer::container::Container;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot, watch};

use super::logs::{LogWriter, Stream};
use super::protocol::{self, ErrorKind, ExitStatus, Frame, Request, Response, TerminalSize};
use super::request::ExecRequest;
use super::state::{self, ContainerDirs, ContainerState, Meta, StateFile};
use super::{cgroups, rootfs, user};
use crate::runtime::paths::RuntimePaths;

/// How long output may keep coming after a process ended (from children that outlived it).
const DRAIN: Duration = Duration::from_secs(2);

/// Runs the workload as libcontainer's default executor does, after giving it the signal state a
/// fresh process has: the shim ignores SIGPIPE (Rust's default) and the caller may have blocked
/// signals, and both would otherwise be inherited through `execve`.
#[derive(Clone)]
struct ShimExecutor;

impl Executor for ShimExecutor {
    fn exec(&self, spec: &oci_spec::runtime::Spec) -> Result<(), ExecutorError> {
        reset_signals();
        DefaultExecutor {}.exec(spec)
    }

    fn validate(&self, spec: &oci_spec::runtime::Spec) -> Result<(), ExecutorValidationError> {
        DefaultExecutor {}.validate(spec)
    }
}

fn reset_signals() {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: restoring the default disposition of SIGPIPE installs no handler code.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl) };
}

/// A libcontainer error with its whole chain of causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = c.source();
    }
    s
}

fn classify(message: &str) -> ErrorKind {
    if message.contains("not found in $PATH")
        || message.contains("No such file or directory") && message.contains("exec")
    {
        ErrorKind::ExecutableNotFound
    } else {
        ErrorKind::Failed
    }
}

nix::ioctl_write_ptr_bad!(tiocswinsz, libc::TIOCSWINSZ, libc::winsize);

fn set_winsize(fd: RawFd, width: u16, height: u16) {
    let ws = libc::winsize { ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: fd is an open terminal master owned by the caller; ws lives across the call.
    let _ = unsafe { tiocswinsz(fd, &ws) };
}

fn set_nonblocking(fd: &OwnedFd) {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    if let Ok(flags) = fcntl(fd, FcntlArg::F_GETFL) {
        let _ = fcntl(fd, FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK));
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)
}

fn dev_null(write: bool) -> std::io::Result<OwnedFd> {
    let f = std::fs::OpenOptions::new().read(!write).write(write).open("/dev/null")?;
    Ok(f.into())
}

/// Wait up to `timeout` for a connection on a console socket and receive the terminal master
/// libcontainer's init sends over it.
fn receive_console(listener: &StdUnixListener, timeout: Duration) -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    listener.set_nonblocking(true)?;
    let deadline = std::time::Instant::now() + timeout;
    let conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    };
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(timeout))?;
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(std::io::Error::from)?;
    for c in msg.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(fd) = fds.first()
        {
            // SAFETY: the kernel just installed this descriptor in our table for us; nothing else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
        }
    }
    Err(std::io::Error::other("no terminal received on the console socket"))
}

/// Whatever can be read from a pipe now, without waiting.
fn drain(fd: &OwnedFd) -> String {
    set_nonblocking(fd);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = nix::unistd::read(fd, &mut buf) {
        if n == 0 || out.len() > 64 * 1024 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn bind_socket(path: &Path) -> std::io::Result<StdUnixListener> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(path);
    StdUnixListener::bind(path)
}

/// The container's stdio as the shim holds it.
enum Stdio {
    Pipes { stdin: Option<OwnedFd>, stdout: OwnedFd, stderr: OwnedFd },
    Tty { master: OwnedFd },
}

struct Created {
    container: Container,
    stdio: Stdio,
    listener: StdUnixListener,
    state: StateFile,
}

fn lc_builder(dirs: &ContainerDirs) -> Result<ContainerBuilder, String> {
    ContainerBuilder::new(dirs.id.clone(), SyscallType::default())
        .with_executor(ShimExecutor)
        .with_root_path(dirs.libcontainer_root())
        .map_err(|e| chain(&e))
}

/// Create the container (libcontainer's "create": the init process waits for `start`).
fn create(dirs: &ContainerDirs, meta: &Meta) -> Result<Created, Response> {
    let failed = |m: String| Response::err(ErrorKind::Failed, m);
    let listener = bind_socket(&dirs.socket())
        .map_err(|e| failed(format!("cannot listen on {}: {e}", dirs.socket().display())))?;
    std::fs::create_dir_all(dirs.libcontainer_root()).map_err(|e| failed(e.to_string()))?;
    let tty = meta.request.tty;
    let console_path = dirs.socket().with_extension("console");
    let builder = lc_builder(dirs).map_err(failed)?;
    let io_err = |e: std::io::Error| failed(format!("cannot set up stdio: {e}"));
    let (builder, stdio_parts, console) = if tty {
        let l = bind_socket(&console_path).map_err(io_err)?;
        (builder.with_console_socket(Some(&console_path)), None, Some(l))
    } else {
        let (in_r, in_w) = if meta.request.stdin {
            let (r, w) = pipe().map_err(io_err)?;
            (r, Some(w))
        } else {
            (dev_null(false).map_err(io_err)?, None)
        };
        let (out_r, out_w) = pipe().map_err(io_err)?;
        let (err_r, err_w) = pipe().map_err(io_err)?;
        (builder.with_stdin(in_r).with_stdout(out_w).with_stderr(err_w), Some((in_w, out_r, err_r)), None)
    };
    let built = builder.validate_id().map_err(|e| failed(chain(&e))).and_then(|b| {
        b.as_init(dirs.bundle()).with_systemd(false).with_detach(true).build().map_err(|e| {
            let m = chain(&e);
            Response::err(classify(&m), m)
        })
    });
    let container = match built {
        Ok(c) => c,
        Err(mut e) => {
            // libcontainer's init process logs its errors to the container's stderr before it
            // reports a bare summary: keep them in our log and use the most precise one.
            if let Some((_, out, err)) = &stdio_parts {
                let text = drain(out) + &drain(err);
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    tracing::error!(init = %line, "container init");
                }
                if let Some(detail) = text.lines().rev().find(|l| l.contains("ERROR")) {
                    let detail = detail.split_once("ERROR").map(|(_, d)| d.trim()).unwrap_or(detail);
                    let msg = e.error.clone().unwrap_or_default();
                    if !msg.contains(detail) {
                        e.error = Some(format!("{msg} ({detail})"));
                    }
                }
            }
            let _ = std::fs::remove_file(&console_path);
            let _ = std::fs::remove_file(dirs.socket());
            return Err(e);
        }
    };
    let stdio = match (stdio_parts, console) {
        (Some((stdin, stdout, stderr)), _) => Stdio::Pipes { stdin, stdout, stderr },
        (None, Some(l)) => {
            let got = receive_console(&l, Duration::from_secs(10));
            let _ = std::fs::remove_file(&console_path);
            match got {
                Ok(master) => {
                    set_winsize(master.as_raw_fd(), 80, 24);
                    Stdio::Tty { master }
                }
                Err(e) => {
                    let mut c = container;
                    let _ = c.delete(true);
                    let _ = std::fs::remove_file(dirs.socket());
                    return Err(failed(format!("cannot get the container's terminal: {e}")));
                }
            }
        }
        (None, None) => unreachable!("either pipes or a console"),
    };
    let pid = container.pid().map(|p| p.as_raw());
    let shim_pid = std::process::id() as i32;
    let st = StateFile {
        state: ContainerState::Created,
        shim_pid: Some(shim_pid),
        shim_start: state::process_start_time(shim_pid),
        pid,
        pid_start: pid.and_then(state::process_start_time),
        ..Default::default()
    };
    if let Err(e) = state::write_json(&dirs.state(), &st) {
        let mut c = container;
        let _ = c.delete(true);
        return Err(failed(e.to_string()));
    }
    Ok(Created { container, stdio, listener, state: st })
}

/// `coracle shim --data-dir D --id I`. Returns the process exit code.
pub fn run(data_dir: &Path, id: &str) -> i32 {
    reset_signals();
    let paths = RuntimePaths::new(data_dir);
    let dirs = ContainerDirs::new(&paths, id);
    // SAFETY: called first thing in a fresh single-threaded process (a re-exec of our binary);
    // the child continues with a copy of this one thread only.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            let _ =
                writeln!(std::io::stdout(), "{}", serde_json::json!({"error": format!("fork: {e}"), "kind": "failed"}));
            return 1;
        }
    }
    let _ = nix::unistd::setsid();
    // Our log: stderr goes to shim.log.
    if let Ok(f) = std::fs::OpenOptions::new().create(true).append(true).open(dirs.shim_log()) {
        let _ = nix::unistd::dup2_stderr(f);
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("CORACLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(std::io::stderr).try_init();
    let _ = nix::sys::prctl::set_child_subreaper(true);

    let answer = |r: &Response| {
        let mut out = std::io::stdout().lock();
        let _ = protocol::write_line(&mut out, r);
    };
    let meta: Meta = match state::read_json(&dirs.meta()) {
        Ok(m) => m,
        Err(e) => {
            answer(&Response::err(ErrorKind::Failed, e.to_string()));
            return 1;
        }
    };
    let created = match create(&dirs, &meta) {
        Ok(c) => c,
        Err(r) => {
            tracing::error!(id, error = ?r.error, "create failed");
            answer(&r);
            return 1;
        }
    };
    answer(&Response::state(created.state.clone()));
    // The manager has its answer: stdout and stdin are /dev/null from now on.
    if let Ok(null) = dev_null(true) {
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stdin(&null);
    }
    tracing::info!(id, pid = ?created.state.pid, "container created");

    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the event loop");
            let mut c = created.container;
            let _ = c.delete(true);
            return 1;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, serve(dirs, meta, created));
    0
}

/// `coracle shim --cleanup`: remove what a dead shim left (libcontainer state, cgroups, the rootfs
/// mount). Run by the manager in its own process, so libcontainer never runs in the caller.
pub fn cleanup(data_dir: &Path, id: &str) -> i32 {
    let paths = RuntimePaths::new(data_dir);
    let dirs = ContainerDirs::new(&paths, id);
    let mut code = 0;
    let lc = dirs.libcontainer_root().join(id);
    if lc.exists() {
        match Container::load(lc.clone()) {
            Ok(mut c) => {
                if let Err(e) = c.delete(true) {
                    eprintln!("coracle shim: container {id}: libcontainer delete: {}", chain(&e));
                    let _ = std::fs::remove_dir_all(&lc);
                }
            }
            Err(_) => {
                let _ = std::fs::remove_dir_all(&lc);
            }
        }
    }
    if let Ok(meta) = state::read_json::<Meta>(&dirs.meta()) {
        let left = cgroups::remove(&meta.cgroups_path);
        if !left.is_empty() {
            eprintln!("coracle shim: container {id}: cannot remove cgroups {left:?}");
            code = 1;
        }
    }
    if let Err(e) = rootfs::unmount(&dirs.rootfs()) {
        eprintln!("coracle shim: container {id}: {e}");
        code = 1;
    }
    let _ = std::fs::remove_file(dirs.socket());
    code
}

/// The state shared by the event loop's tasks.
struct Shim {
    dirs: ContainerDirs,
    meta: Meta,
    container: RefCell<Container>,
    state: RefCell<StateFile>,
    init_pid: i32,
    /// Where the container's stdin goes (pipe write end or terminal master).
    stdin: RefCell<Option<Rc<AsyncFd<OwnedFd>>>>,
    master: Option<Rc<AsyncFd<OwnedFd>>>,
    log: RefCell<Option<LogWriter>>,
    attached: RefCell<Vec<mpsc::Sender<Frame>>>,
    /// Exec'd processes waiting for their end. A pid is registered right after libcontainer
    /// returns it, before the loop can reap anything, so no exit is missed.
    exec_waiters: RefCell<HashMap<i32, oneshot::Sender<WaitStatus>>>,
    init_exit: watch::Sender<Option<WaitStatus>>,
    /// Set (with the final state) once everything about the end is recorded.
    finished: watch::Sender<Option<StateFile>>,
    connections: Cell<usize>,
    exec_counter: Cell<u32>,
}

impl Shim {
    fn save_state(&self) {
        let st = self.state.borrow().clone();
        if let Err(e) = state::write_json(&self.dirs.state(), &st) {
            tracing::error!(error = %e, "cannot write state");
        }
    }

    fn is_running(&self) -> bool {
        self.init_exit.borrow().is_none()
    }

    /// Reap every child that has exited.
    fn reap(&self) {
        loop {
            match nix::sys::wait::waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(status) => {
                    let Some(pid) = status.pid() else { continue };
                    let pid = pid.as_raw();
                    if pid == self.init_pid {
                        tracing::info!(?status, "container exited");
                        self.init_exit.send_replace(Some(status));
                    } else if let Some(tx) = self.exec_waiters.borrow_mut().remove(&pid) {
                        let _ = tx.send(status);
                    }
                }
            }
        }
    }

    fn broadcast(&self, channel: u8, data: &[u8]) {
        let mut clients = self.attached.borrow_mut();
        clients.retain(|c| c.try_send(Frame { channel, payload: data.to_vec() }).is_ok());
    }
}

fn exit_of(status: &WaitStatus) -> (i32, Option<i32>) {
    match status {
        WaitStatus::Exited(_, code) => (*code, None),
        WaitStatus::Signaled(_, sig, _) => (128 + *sig as i32, Some(*sig as i32)),
        _ => (255, None),
    }
}

async fn read_fd(fd: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        let mut guard = fd.readable().await?;
        match guard.try_io(|inner| nix::unistd::read(inner.get_ref(), buf).map_err(std::io::Error::from)) {
            Ok(Ok(n)) => return Ok(n),
            // A terminal master reads EIO once every slave is closed: the end of output.
            Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
}

async fn write_fd(fd: &AsyncFd<OwnedFd>, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let mut guard = fd.writable().await?;
        match guard.try_io(|inner| nix::unistd::write(inner.get_ref(), data).map_err(std::io::Error::from)) {
            Ok(Ok(n)) => data = &data[n..],
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => {}
        }
    }
    Ok(())
}

fn async_fd(fd: OwnedFd) -> std::io::Result<Rc<AsyncFd<OwnedFd>>> {
    set_nonblocking(&fd);
    // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open for as long as it is registered.
    let registered = unsafe { AsyncFd::register(fd) }.map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Rc::new(registered))
}

/// Copy the container's output into the log and to attached clients until it ends.
async fn pump_container_output(shim: Rc<Shim>, fd: Rc<AsyncFd<OwnedFd>>, stream: Stream) {
    let channel = if stream == Stream::Stdout { protocol::STDOUT } else { protocol::STDERR };
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match read_fd(&fd, &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(log) = shim.log.borrow_mut().as_mut()
                    && let Err(e) = log.write(stream, &buf[..n])
                {
                    tracing::warn!(error = %e, "cannot write the container log");
                }
                shim.broadcast(channel, &buf[..n]);
            }
        }
    }
    if let Some(log) = shim.log.borrow_mut().as_mut() {
        let _ = log.finish(stream);
    }
}

async fn serve(dirs: ContainerDirs, meta: Meta, created: Created) {
    let Created { container, stdio, listener, state } = created;
    let init_pid = state.pid.unwrap_or(0);
    let log = match LogWriter::open(&meta.log_path, meta.request.tty) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::error!(path = %meta.log_path.display(), error = %e, "cannot open the container log");
            None
        }
    };
    let (init_exit, _) = watch::channel(None);
    let (finished, _) = watch::channel(None);
    let mut outputs: Vec<(Rc<AsyncFd<OwnedFd>>, Stream)> = Vec::new();
    let (stdin, master) = match stdio {
        Stdio::Pipes { stdin, stdout, stderr } => {
            for (fd, s) in [(stdout, Stream::Stdout), (stderr, Stream::Stderr)] {
                match async_fd(fd) {
                    Ok(a) => outputs.push((a, s)),
                    Err(e) => tracing::error!(error = %e, "cannot watch output"),
                }
            }
            (stdin.and_then(|fd| async_fd(fd).ok()), None)
        }
        Stdio::Tty { master } => {
            let m = async_fd(master).ok();
            if let Some(m) = &m {
                outputs.push((m.clone(), Stream::Stdout));
            }
            (m.clone(), m)
        }
    };
    let shim = Rc::new(Shim {
        dirs,
        meta,
        container: RefCell::new(container),
        state: RefCell::new(state),
        init_pid,
        stdin: RefCell::new(if shim_stdin_open(&stdin) { stdin } else { None }),
        master,
        log: RefCell::new(log),
        attached: RefCell::new(Vec::new()),
        exec_waiters: RefCell::new(HashMap::new()),
        init_exit,
        finished,
        connections: Cell::new(0),
        exec_counter: Cell::new(0),
    });

    // Reaper: SIGCHLD wakes it; it also looks once at start for anything that already ended.
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()) {
        Ok(mut sig) => {
            let s = shim.clone();
            tokio::task::spawn_local(async move {
                loop {
                    s.reap();
                    if sig.recv().await.is_none() {
                        break;
                    }
                }
            });
        }
        Err(e) => tracing::error!(error = %e, "cannot watch SIGCHLD"),
    }
    // Also poll now and then, in case a SIGCHLD was coalesced while we were busy in libcontainer.
    {
        let s = shim.clone();
        tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                s.reap();
            }
        });
    }

    let pumps: Vec<_> = outputs
        .into_iter()
        .map(|(fd, stream)| tokio::task::spawn_local(pump_container_output(shim.clone(), fd, stream)))
        .collect();

    // The socket.
    let accept = match listener.set_nonblocking(true).and_then(|_| tokio::net::UnixListener::from_std(listener)) {
        Ok(l) => {
            let s = shim.clone();
            Some(tokio::task::spawn_local(async move {
                while let Ok((conn, _)) = l.accept().await {
                    let s2 = s.clone();
                    s.connections.set(s.connections.get() + 1);
                    tokio::task::spawn_local(async move {
                        handle(s2.clone(), conn).await;
                        s2.connections.set(s2.connections.get() - 1);
                    });
                }
            }))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot serve the shim socket");
            None
        }
    };

    // Wait for the end.
    let mut exit_rx = shim.init_exit.subscribe();
    let status = loop {
        if let Some(st) = *exit_rx.borrow_and_update() {
            break st;
        }
        if exit_rx.changed().await.is_err() {
            break WaitStatus::Exited(Pid::from_raw(init_pid), 255);
        }
    };
    let _ = tokio::time::timeout(DRAIN, futures::future::join_all(pumps)).await;
    finish(&shim, status);

    // Let clients read their last frames, then go.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while shim.connections.get() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(a) = accept {
        a.abort();
    }
    let _ = std::fs::remove_file(shim.dirs.socket());
    tracing::info!("shim done");
}

fn shim_stdin_open(stdin: &Option<Rc<AsyncFd<OwnedFd>>>) -> bool {
    stdin.is_some()
}

/// Record the end and clean up what libcontainer and the rootfs mount hold.
fn finish(shim: &Shim, status: WaitStatus) {
    let (code, signal) = exit_of(&status);
    let oom = cgroups::oom_kills(&shim.meta.cgroups_path) > 0;
    if let Err(e) = shim.container.borrow_mut().delete(true) {
        tracing::error!(error = %chain(&e), "libcontainer delete failed; removing cgroups directly");
        let left = cgroups::remove(&shim.meta.cgroups_path);
        if !left.is_empty() {
            tracing::error!(?left, "cgroups left behind");
        }
    }
    if let Err(e) = rootfs::unmount(&shim.dirs.rootfs()) {
        tracing::error!(error = %e, "cannot unmount the rootfs");
    }
    {
        let mut st = shim.state.borrow_mut();
        st.state = ContainerState::Exited;
        st.finished_at = Some(Timestamp::now());
        st.exit_code = Some(code);
        st.signal = signal;
        st.oom_killed = oom;
    }
    shim.save_state();
    tracing::info!(code, ?signal, oom, "container finished");
    shim.finished.send_replace(Some(shim.state.borrow().clone()));
}

fn final_status(st: &StateFile) -> ExitStatus {
    ExitStatus {
        exit_code: st.exit_code.unwrap_or(255),
        signal: st.signal,
        oom_killed: st.oom_killed,
        message: st.message.clone(),
    }
}

async fn respond(w: &mut tokio::net::unix::OwnedWriteHalf, r: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line).await
}

async fn write_frame(w: &mut tokio::net::unix::OwnedWriteHalf, channel: u8, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&protocol::encode_frame(channel, payload)).await
}

async fn read_frame(r: &mut tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>) -> std::io::Result<Option<Frame>> {
    let channel = match r.read_u8().await {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = r.read_u32().await? as usize;
    if len > protocol::MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "frame too large"));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok(Some(Frame { channel, payload }))
}

async fn wait_finished(shim: &Shim) -> StateFile {
    let mut rx = shim.finished.subscribe();
    loop {
        if let Some(st) = rx.borrow_and_update().clone() {
            return st;
        }
        if rx.changed().await.is_err() {
            return shim.state.borrow().clone();
        }
    }
}

async fn handle(shim: Rc<Shim>, conn: UnixStream) {
    let (rd, mut wr) = conn.into_split();
    let mut rd = tokio::io::BufReader::new(rd);
    let mut line = Vec::new();
    match (&mut rd).take(protocol::MAX_FRAME as u64).read_until(b'\n', &mut line).await {
        Ok(0) | Err(_) => return,
        Ok(_) => {}
    }
    let req: Request = match serde_json::from_slice(&line) {
        Ok(r) => r,
        Err(e) => {
            let _ = respond(&mut wr, &Response::err(ErrorKind::Invalid, format!("bad request: {e}"))).await;
            return;
        }
    };
    tracing::debug!(?req, "request");
    let not_running = || Response::err(ErrorKind::NotRunning, "the container is not running");
    match req {
        Request::State => {
            let st = shim.state.borrow().clone();
            let _ = respond(&mut wr, &Response::state(st)).await;
        }
        Request::Start => {
            let r = start(&shim);
            let _ = respond(&mut wr, &r).await;
        }
        Request::Kill { signal, all } => {
            let r = if !shim.is_running() {
                not_running()
            } else {
                match kill(&shim, signal, all) {
                    Ok(()) => Response::ok(),
                    Err(e) => Response::err(ErrorKind::Failed, e),
                }
            };
            let _ = respond(&mut wr, &r).await;
        }
        Request::Wait => {
            let st = wait_finished(&shim).await;
            let _ = respond(&mut wr, &Response::state(st)).await;
        }
        Request::Resize { width, height } => {
            let r = match &shim.master {
                Some(m) => {
                    set_winsize(m.get_ref().as_raw_fd(), width, height);
                    Response::ok()
                }
                None => Response::err(ErrorKind::Invalid, "the container has no terminal"),
            };
            let _ = respond(&mut wr, &r).await;
        }
        Request::Attach { stdin, stdout, stderr } => {
            if !shim.is_running() {
                let _ = respond(&mut wr, &not_running()).await;
                return;
            }
            if respond(&mut wr, &Response::ok()).await.is_err() {
                return;
            }
            attach(shim, rd, wr, stdin, stdout || stderr).await;
        }
        Request::Exec(req) => {
            if !shim.is_running() || shim.state.borrow().state != ContainerState::Running {
                let _ = respond(&mut wr, &not_running()).await;
                return;
            }
            exec(shim, rd, wr, req).await;
        }
    }
}

fn start(shim: &Shim) -> Response {
    if !shim.is_running() {
        return Response::err(ErrorKind::NotRunning, "the container has already exited");
    }
    if shim.state.borrow().state != ContainerState::Created {
        return Response::err(ErrorKind::Invalid, "the container was already started");
    }
    if let Err(e) = shim.container.borrow_mut().start() {
        return Response::err(ErrorKind::Failed, chain(&e));
    }
    {
        let mut st = shim.state.borrow_mut();
        st.state = ContainerState::Running;
        st.started_at = Some(Timestamp::now());
    }
    shim.save_state();
    tracing::info!("container started");
    Response::state(shim.state.borrow().clone())
}

fn kill(shim: &Shim, signal: i32, all: bool) -> Result<(), String> {
    let sig = Signal::try_from(signal).map_err(|e| format!("signal {signal}: {e}"))?;
    if all {
        for p in cgroups::procs(&shim.meta.cgroups_path) {
            let _ = nix::sys::signal::kill(Pid::from_raw(p), sig);
        }
    }
    nix::sys::signal::kill(Pid::from_raw(shim.init_pid), sig).map_err(|e| format!("kill: {e}"))
}

/// Feed client frames (stdin, resize, close) to a process.
async fn input_loop(
    mut rd: tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>,
    stdin: Option<Rc<AsyncFd<OwnedFd>>>,
    master: Option<Rc<AsyncFd<OwnedFd>>>,
    on_close: impl Fn(),
) {
    let mut stdin = stdin;
    while let Ok(Some(f)) = read_frame(&mut rd).await {
        match f.channel {
            protocol::STDIN => {
                if let Some(fd) = &stdin
                    && write_fd(fd, &f.payload).await.is_err()
                {
                    stdin = None;
                }
            }
            protocol::RESIZE => {
                if let (Some(m), Ok(size)) = (&master, serde_json::from_slice::<TerminalSize>(&f.payload)) {
                    set_winsize(m.get_ref().as_raw_fd(), size.width, size.height);
                }
            }
            protocol::CLOSE => {
                if f.payload.first() == Some(&protocol::STDIN) {
                    if master.is_some() {
                        // A terminal has no half-close: send EOF (^D) as a terminal user would.
                        if let Some(fd) = &stdin {
                            let _ = write_fd(fd, &[4]).await;
                        }
                    }
                    stdin = None;
                    on_close();
                }
            }
            _ => {}
        }
    }
}

async fn attach(
    shim: Rc<Shim>,
    rd: tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>,
    mut wr: tokio::net::unix::OwnedWriteHalf,
    want_stdin: bool,
    want_output: bool,
) {
    let (tx, mut rx) = mpsc::channel::<Frame>(1024);
    if want_output {
        shim.attached.borrow_mut().push(tx);
    }
    let stdin = if want_stdin { shim.stdin.borrow().clone() } else { None };
    let s2 = shim.clone();
    let input = tokio::task::spawn_local(input_loop(rd, stdin, shim.master.clone(), move || {
        // The container's stdin ends when an attached client closes it (not for a terminal, which
        // other clients may still use).
        if s2.master.is_none() {
            s2.stdin.borrow_mut().take();
        }
    }));
    let mut finished = shim.finished.subscribe();
    loop {
        tokio::select! {
            f = rx.recv(), if want_output => match f {
                Some(f) => if write_frame(&mut wr, f.channel, &f.payload).await.is_err() { break },
                None => break,
            },
            changed = finished.changed() => {
                if changed.is_err() { break }
                let st = finished.borrow().clone();
                if let Some(st) = st {
                    while let Ok(f) = rx.try_recv() {
                        if write_frame(&mut wr, f.channel, &f.payload).await.is_err() { break }
                    }
                    let body = serde_json::to_vec(&final_status(&st)).unwrap_or_default();
                    let _ = write_frame(&mut wr, protocol::STATUS, &body).await;
                    let _ = wr.shutdown().await;
                    break;
                }
            }
        }
    }
    input.abort();
}

/// The process spec of an exec: the container's, with the request's command, environment,
/// working dir, user and terminal.
fn exec_process(shim: &Shim, req: &ExecRequest) -> Result<serde_json::Value, Response> {
    let spec: serde_json::Value = std::fs::read(shim.dirs.config())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| Response::err(ErrorKind::Failed, "cannot read the container's config.json"))?;
    let mut p = spec["process"].clone();
    if req.command.is_empty() {
        return Err(Response::err(ErrorKind::Invalid, "no command given"));
    }
    p["args"] = serde_json::json!(req.command);
    let base: Vec<String> = p["env"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let defaults: Vec<(&str, &str)> = if req.tty { vec![("TERM", "xterm")] } else { vec![] };
    p["env"] = serde_json::json!(super::spec::merge_env(&base, &req.env, &defaults));
    if let Some(cwd) = req.working_dir.as_ref().filter(|c| !c.is_empty()) {
        if !cwd.starts_with('/') {
            return Err(Response::err(ErrorKind::Invalid, format!("working directory {cwd:?} must be absolute")));
        }
        p["cwd"] = serde_json::json!(cwd);
    }
    if let Some(u) = &req.user {
        let r = user::resolve_in_rootfs(&shim.dirs.rootfs(), u, &shim.meta.request.supplemental_groups)
            .map_err(|e| Response::err(ErrorKind::Invalid, format!("user {u:?}: {e:?}")))?;
        p["user"] = serde_json::json!({"uid": r.uid, "gid": r.gid, "additionalGids": r.additional_gids});
        if r.uid != 0 {
            p["capabilities"]["effective"] = serde_json::json!([]);
            p["capabilities"]["permitted"] = serde_json::json!([]);
        }
    }
    p["terminal"] = serde_json::json!(req.tty);
    if req.tty {
        let (w, h) = if req.width > 0 && req.height > 0 { (req.width, req.height) } else { (80, 24) };
        p["consoleSize"] = serde_json::json!({"width": w, "height": h});
    } else if let Some(o) = p.as_object_mut() {
        o.remove("consoleSize");
    }
    Ok(p)
}

async fn exec(
    shim: Rc<Shim>,
    rd: tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>,
    mut wr: tokio::net::unix::OwnedWriteHalf,
    req: ExecRequest,
) {
    let n = shim.exec_counter.get() + 1;
    shim.exec_counter.set(n);
    let process = match exec_process(&shim, &req) {
        Ok(p) => p,
        Err(r) => {
            let _ = respond(&mut wr, &r).await;
            return;
        }
    };
    let process_file = shim.dirs.dir.join(format!("exec-{n}.json"));
    let console_path = shim.dirs.socket().with_extension(format!("e{n}"));
    let started = start_exec(&shim, &req, &process, &process_file, &console_path);
    let _ = std::fs::remove_file(&process_file);
    let _ = std::fs::remove_file(&console_path);
    let (pid, io) = match started {
        Ok(x) => x,
        Err(r) => {
            let _ = respond(&mut wr, &r).await;
            return;
        }
    };
    let (exit_tx, exit_rx) = oneshot::channel();
    shim.exec_waiters.borrow_mut().insert(pid, exit_tx);
    if respond(&mut wr, &Response::ok()).await.is_err() {
        return;
    }
    tracing::info!(pid, command = ?req.command, "exec started");

    let (ftx, mut frx) = mpsc::channel::<Frame>(64);
    let mut pumps = Vec::new();
    let (stdin, master, outputs) = match io {
        ExecIo::Pipes { stdin, stdout, stderr } => {
            let mut outs = Vec::new();
            for (fd, ch) in [(stdout, protocol::STDOUT), (stderr, protocol::STDERR)] {
                if let Ok(a) = async_fd(fd) {
                    outs.push((a, ch));
                }
            }
            (stdin.and_then(|fd| async_fd(fd).ok()), None, outs)
        }
        ExecIo::Tty { master } => match async_fd(master) {
            Ok(m) => (Some(m.clone()), Some(m.clone()), vec![(m, protocol::STDOUT)]),
            Err(_) => (None, None, vec![]),
        },
    };
    for (fd, ch) in outputs {
        let tx = ftx.clone();
        pumps.push(tokio::task::spawn_local(async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match read_fd(&fd, &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(Frame { channel: ch, payload: buf[..n].to_vec() }).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    drop(ftx);
    let input = tokio::task::spawn_local(input_loop(rd, stdin, master.clone(), || {}));
    let writer = tokio::task::spawn_local(async move {
        while let Some(f) = frx.recv().await {
            if write_frame(&mut wr, f.channel, &f.payload).await.is_err() {
                return None;
            }
        }
        Some(wr)
    });
    let status = exit_rx.await.unwrap_or(WaitStatus::Exited(Pid::from_raw(pid), 255));
    // A terminal's output ends when every process holding it is gone; don't wait for daemons.
    let drained = tokio::time::timeout(DRAIN, futures::future::join_all(pumps)).await;
    if drained.is_err() {
        tracing::debug!(pid, "exec output still open after exit");
    }
    drop(master);
    let wr = match tokio::time::timeout(DRAIN, writer).await {
        Ok(Ok(Some(wr))) => Some(wr),
        _ => None,
    };
    input.abort();
    let (exit_code, signal) = exit_of(&status);
    tracing::info!(pid, exit_code, "exec finished");
    if let Some(mut wr) = wr {
        let body =
            serde_json::to_vec(&ExitStatus { exit_code, signal, oom_killed: false, message: None }).unwrap_or_default();
        let _ = write_frame(&mut wr, protocol::STATUS, &body).await;
        let _ = wr.shutdown().await;
    }
}

enum ExecIo {
    Pipes { stdin: Option<OwnedFd>, stdout: OwnedFd, stderr: OwnedFd },
    Tty { master: OwnedFd },
}

/// Start the exec'd process with libcontainer (it joins the container's namespaces and cgroup).
fn start_exec(
    shim: &Shim,
    req: &ExecRequest,
    process: &serde_json::Value,
    process_file: &Path,
    console_path: &Path,
) -> Result<(i32, ExecIo), Response> {
    let failed = |m: String| Response::err(ErrorKind::Failed, m);
    state::write_json(process_file, process).map_err(|e| failed(e.to_string()))?;
    let builder = lc_builder(&shim.dirs).map_err(failed)?;
    let io_err = |e: std::io::Error| failed(format!("cannot set up stdio: {e}"));
    let (builder, pipes, console) = if req.tty {
        let l = bind_socket(console_path).map_err(io_err)?;
        (builder.with_console_socket(Some(console_path)), None, Some(l))
    } else {
        let (in_r, in_w) = if req.stdin {
            let (r, w) = pipe().map_err(io_err)?;
            (r, Some(w))
        } else {
            (dev_null(false).map_err(io_err)?, None)
        };
        let (out_r, out_w) = pipe().map_err(io_err)?;
        let (err_r, err_w) = pipe().map_err(io_err)?;
        (builder.with_stdin(in_r).with_stdout(out_w).with_stderr(err_w), Some((in_w, out_r, err_r)), None)
    };
    let pid = builder
        .as_tenant()
        .with_detach(true)
        .with_process(Some(process_file))
        .build()
        .map_err(|e| {
            let m = chain(&e);
            Response::err(classify(&m), m)
        })?
        .as_raw();
    let io = match (pipes, console) {
        (Some((stdin, stdout, stderr)), _) => ExecIo::Pipes { stdin, stdout, stderr },
        (None, Some(l)) => {
            let master = receive_console(&l, Duration::from_secs(10)).map_err(|e| {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
                failed(format!("cannot get the exec's terminal: {e}"))
            })?;
            if req.width > 0 && req.height > 0 {
                set_winsize(master.as_raw_fd(), req.width, req.height);
            }
            ExecIo::Tty { master }
        }
        (None, None) => unreachable!("either pipes or a console"),
    };
    Ok((pid, io))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified() {
        assert_eq!(
            classify("failed to run container process: executable 'nope' not found in $PATH"),
            ErrorKind::ExecutableNotFound
        );
        assert_eq!(classify("something else"), ErrorKind::Failed);
    }

    #[test]
    fn signals_give_shell_exit_codes() {
        let p = Pid::from_raw(1);
        assert_eq!(exit_of(&WaitStatus::Exited(p, 3)), (3, None));
        assert_eq!(exit_of(&WaitStatus::Signaled(p, Signal::SIGKILL, false)), (137, Some(9)));
    }
}
