//! The shared process namespace of a pod (`shareProcessNamespace: true`).
//!
//! A PID namespace dies with its first process, so it cannot be pinned by a bind mount like
//! the IPC and UTS namespaces. Kubernetes runtimes keep a pause process as its PID 1; coracle
//! keeps a tiny re-exec of its own binary (`coracle pidns --pod <uid>`, hidden) that only
//! reaps the orphans the namespace hands it. It runs in its own session, so it outlives a
//! restart of coracle like the shims do. Every container of the pod joins
//! `/proc/<pid>/ns/pid`; killing it ends every process of the pod.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, setsid};

/// The body of `coracle pidns`: make a PID namespace whose PID 1 reaps until SIGTERM or
/// SIGKILL, print PID 1's host pid on stdout and return (the parent exits at once).
pub fn hold() -> i32 {
    let _ = setsid();
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID) {
        eprintln!("coracle pidns: creating a PID namespace: {e}");
        return 1;
    }
    // SAFETY: this process is single-threaded (no runtime was started for this subcommand).
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            println!("{child}");
            0
        }
        Ok(ForkResult::Child) => {
            let mut set = SigSet::empty();
            set.add(Signal::SIGCHLD);
            set.add(Signal::SIGTERM);
            set.add(Signal::SIGINT);
            let _ = set.thread_block();
            // Detach from whatever the parent's stdio was (a pipe that is about to close).
            if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
                let _ = nix::unistd::dup2_stdin(&null);
                let _ = nix::unistd::dup2_stdout(&null);
                let _ = nix::unistd::dup2_stderr(&null);
            }
            loop {
                match set.wait() {
                    Ok(Signal::SIGCHLD) => loop {
                        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                            Ok(WaitStatus::StillAlive) | Err(_) => break,
                            Ok(_) => continue,
                        }
                    },
                    Ok(_) => std::process::exit(0),
                    Err(_) => {}
                }
            }
        }
        Err(e) => {
            eprintln!("coracle pidns: fork: {e}");
            1
        }
    }
}

/// Start the holder of a pod's PID namespace; returns its host pid.
pub fn spawn(uid: &str) -> std::io::Result<i32> {
    let exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let mut child = Command::new(exe)
        .args(["pidns", "--pod", uid])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line)?;
    }
    let status = child.wait()?;
    match line.trim().parse::<i32>() {
        Ok(pid) if status.success() => Ok(pid),
        _ => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            Err(std::io::Error::other(format!("the PID namespace holder did not start: {}", err.trim())))
        }
    }
}

/// Whether `pid` is still the holder of this pod's namespace (not a reused pid).
pub fn alive(pid: i32, uid: &str) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.contains(&&b"pidns"[..]) && args.contains(&uid.as_bytes())
}

/// End the pod's PID namespace (and with it every process still in it).
pub fn stop(pid: i32, uid: &str) {
    if alive(pid, uid) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}
