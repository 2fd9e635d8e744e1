//! `coracle ctr` with the real binary, as root: run, exit codes and output, env/user/workdir,
//! memory limits and OOM kills, exec with and without a terminal, stop with a grace period,
//! `kill -9` of the coracle that started a container, and nothing left behind after `rm`.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use coracle::runtime::paths::RuntimePaths;

/// One data dir with the busybox test image, and `coracle ctr` pointed at it.
pub struct Ctr {
    pub dir: tempfile::TempDir,
}

/// Put `docker.io/library/busybox:latest` (scripts/build-test-images: users root, app 1000, nobody)
/// into the data dir's image store.
fn prepare_busybox(data_dir: &Path) {
    crate::testimages::import_busybox(data_dir);
}

impl Ctr {
    pub fn new() -> Ctr {
        let dir = tempfile::Builder::new().prefix("coracle-ctr-").tempdir().expect("tempdir");
        let c = Ctr { dir };
        prepare_busybox(&c.data_dir());
        c
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn paths(&self) -> RuntimePaths {
        RuntimePaths::new(&self.data_dir())
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_coracle"));
        c.arg("ctr").arg("--data-dir").arg(self.data_dir()).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Run with a time limit; the process is killed when it runs over.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Output {
        output_within(self.command(args), Duration::from_secs(60))
    }

    /// Run and require success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "coracle ctr {} failed ({:?}): {}\nstdout: {}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `inspect` as JSON.
    #[track_caller]
    pub fn inspect(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["inspect", name])).expect("inspect JSON")
    }

    /// Names in `ps -a`.
    pub fn names(&self) -> Vec<String> {
        let out = self.ok(&["ps", "-a"]);
        out.lines().skip(1).filter_map(|l| l.split_whitespace().last().map(String::from)).collect()
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        // Never leave a container (or a mount inside the temp dir) behind.
        if let Ok(out) = self.command(&["ps", "-a", "-q"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = self.command(&["rm", "-f", id]).output();
            }
        }
    }
}

#[track_caller]
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start coracle");
    wait_output(child, limit)
}

#[track_caller]
fn wait_output(mut child: Child, limit: Duration) -> Output {
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut v);
        }
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut v);
        }
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("coracle ran over {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: t_out.join().unwrap(), stderr: t_err.join().unwrap() }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Mount points under `dir` in this mount namespace.
fn mounts_under(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let prefix = dir.to_string_lossy().into_owned();
    text.lines().filter_map(|l| l.split(' ').nth(4)).filter(|p| p.starts_with(&prefix)).map(String::from).collect()
}

/// Every cgroup dir named `rel` (relative to the hierarchy roots) that exists.
fn cgroup_dirs(rel: &str) -> Vec<PathBuf> {
    let rel = rel.trim_start_matches('/');
    let mut out = Vec::new();
    for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let p = e.path().join(rel);
        if p.is_dir() {
            out.push(p);
        }
    }
    let unified = Path::new("/sys/fs/cgroup").join(rel);
    if unified.is_dir() && !out.contains(&unified) {
        out.push(unified);
    }
    out
}

#[track_caller]
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn run_prints_output_and_exits_with_the_containers_code() {
    let c = Ctr::new();
    let out = c.run(&[
        "run",
        "--rm",
        "docker.io/library/busybox:latest",
        "demo",
        "--",
        "sh",
        "-c",
        "echo hi; echo oops >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "hi\n");
    assert!(stderr(&out).contains("oops"), "{}", stderr(&out));
    // --rm: gone.
    assert!(c.names().is_empty());
    assert!(std::fs::read_dir(c.paths().containers()).unwrap().flatten().all(|e| e.file_name() == ".lock"));

    // The image's CMD (sh) with stdin: commands from -i.
    let mut cmd = c.command(&["run", "--rm", "-i", "busybox", "interactive"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"echo from-stdin; exit 4\n").unwrap();
    let out = wait_output(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(4), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "from-stdin\n");

    // Kept without --rm: exited, with its code and log.
    c.ok(&["run", "busybox", "kept", "--", "sh", "-c", "echo line1; echo line2 >&2; exit 0"]);
    let st = c.inspect("kept");
    assert_eq!(st["status"]["state"], "exited");
    assert_eq!(st["status"]["exitCode"], 0);
    assert_eq!(st["status"]["reason"], "Completed");
    let out = c.run(&["logs", "kept"]);
    assert_eq!(stdout(&out), "line1\n");
    assert_eq!(stderr(&out), "line2\n");
    let log = std::fs::read_to_string(st["status"]["logPath"].as_str().unwrap()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    for l in &lines {
        let parts: Vec<&str> = l.splitn(4, ' ').collect();
        assert!(parts[0].parse::<jiff::Timestamp>().is_ok(), "timestamp in {l}");
        assert!(parts[1] == "stdout" || parts[1] == "stderr", "{l}");
        assert_eq!(parts[2], "F", "{l}");
    }
    c.ok(&["rm", "kept"]);
}

#[test]
fn env_user_and_workdir() {
    let c = Ctr::new();
    let script = "echo \"$FOO|$HOME|$HOSTNAME\"; id; pwd; ls -ld . | cut -c1-10; hostname";
    let out = c.ok(&[
        "run", "--rm", "-e", "FOO=bar", "-u", "app", "-w", "/srv/new", "busybox", "who", "--", "sh", "-c", script,
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "bar|/home/app|who");
    assert_eq!(lines[1], "uid=1000(app) gid=1000(app)");
    assert_eq!(lines[2], "/srv/new");
    assert_eq!(lines[4], "who");
    let out = c.ok(&["run", "--rm", "-u", "1234:5678", "busybox", "num", "--", "id"]);
    assert_eq!(out.trim(), "uid=1234 gid=5678");
    let out = c.ok(&["run", "--rm", "-u", "nobody:app", "busybox", "grp", "--", "id", "-g"]);
    assert_eq!(out.trim(), "1000");
    // Read-only root, a read-only bind mount, and the default capability set.
    let share = c.dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    std::fs::write(share.join("f"), "shared\n").unwrap();
    let mount = format!("{}:/share:ro", share.display());
    let out = c.run(&[
        "run",
        "--rm",
        "--read-only",
        "--mount",
        &mount,
        "busybox",
        "ro",
        "--",
        "sh",
        "-c",
        "cat /share/f; touch /x || echo root-ro; touch /share/y || echo share-ro; grep CapBnd /proc/self/status",
    ]);
    let text = stdout(&out);
    assert!(text.contains("shared") && text.contains("root-ro") && text.contains("share-ro"), "{text}");
    assert!(text.contains("CapBnd:\t00000000a80425fb"), "containerd's default set: {text}");
}

#[test]
fn seccomp_default_profile_filters_syscalls() {
    let c = Ctr::new();
    // `unshare -U` needs no capability, but the default profile (like containerd's) refuses
    // unshare(2) to a container without CAP_SYS_ADMIN.
    let script = "grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null; echo unshare=$?";
    let confined = c.ok(&["run", "--rm", "--seccomp-default", "busybox", "sc1", "--", "sh", "-c", script]);
    assert!(confined.contains("Seccomp:\t2") && confined.contains("unshare=1"), "{confined}");
    let open = c.ok(&["run", "--rm", "busybox", "sc2", "--", "sh", "-c", script]);
    assert!(open.contains("Seccomp:\t0") && open.contains("unshare=0"), "{open}");
    // A privileged container is never confined.
    let privileged =
        c.ok(&["run", "--rm", "--seccomp-default", "--privileged", "busybox", "sc3", "--", "sh", "-c", script]);
    assert!(privileged.contains("Seccomp:\t0"), "{privileged}");
}

#[test]
fn memory_limit_is_enforced_and_oom_kills_reported() {
    let c = Ctr::new();
    let out =
        c.run(&["run", "--memory", "16Mi", "busybox", "hog", "--", "sh", "-c", "x=a; while true; do x=\"$x$x\"; done"]);
    assert_eq!(out.status.code(), Some(137), "stderr: {}", stderr(&out));
    let st = c.inspect("hog");
    assert_eq!(st["status"]["oomKilled"], true, "{st}");
    assert_eq!(st["status"]["reason"], "OOMKilled");
    assert!(c.ok(&["ps", "-a"]).contains("OOMKilled"));
    // The limits reach the cgroup.
    let out = c.ok(&[
        "run", "--rm", "--memory", "64Mi", "--cpus", "0.5", "--pids-limit", "40", "busybox", "limits", "--",
        "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max",
    ]);
    let v: Vec<&str> = out.split_whitespace().collect();
    if v.len() == 4 {
        assert_eq!(v, ["67108864", "50000", "512", "40"]);
    } else {
        assert_eq!(v, ["67108864", "50000", "100000", "40"]);
    }
}

#[test]
fn exec_with_and_without_a_terminal() {
    let c = Ctr::new();
    let id = c.ok(&["run", "-d", "busybox", "box", "--", "sleep", "1000"]);
    assert_eq!(id.trim().len(), 64);
    // Plain: separate streams, exit code back, stdin with -i.
    let out = c.run(&["exec", "box", "sh", "-c", "echo out; echo err >&2; test -t 0 || echo no-tty; exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(stdout(&out), "out\nno-tty\n");
    assert_eq!(stderr(&out), "err\n");
    let mut cmd = c.command(&["exec", "-i", "box", "sh", "-c", "tr a-z A-Z"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"shout\n").unwrap();
    let out = wait_output(child, Duration::from_secs(30));
    assert_eq!(stdout(&out), "SHOUT\n");
    assert!(out.status.success());
    // The exec joins the container: same pid namespace, sees its process 1.
    assert!(c.ok(&["exec", "box", "cat", "/proc/1/cmdline"]).starts_with("sleep"));
    let out = c.run(&["exec", "box", "nope"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("container box: executable \"nope\" not found"), "{}", stderr(&out));

    // With a terminal: our side is a pty; the process gets one of the container's own.
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave: OwnedFd = pty.slave;
    let mut cmd = c.command(&["exec", "-i", "-t", "box", "sh"]);
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().unwrap();
    let mut master = std::fs::File::from(pty.master);
    master.write_all(b"tty; stty size; echo \"term=$TERM\"; exit 5\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "exec -t did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(5));
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    nix::fcntl::fcntl(&master, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK)).unwrap();
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("/dev/pts/"), "a terminal inside: {text}");
    assert!(text.contains("term=xterm"), "{text}");
    c.ok(&["rm", "-f", "box"]);
}

#[test]
fn stop_gives_a_term_trap_its_time_and_kills_after_the_grace_period() {
    let c = Ctr::new();
    c.ok(&[
        "run",
        "-d",
        "busybox",
        "polite",
        "--",
        "sh",
        "-c",
        "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    c.ok(&["run", "-d", "busybox", "stubborn", "--", "sleep", "1000"]);
    eventually(20, "polite to start", || stdout(&c.run(&["logs", "polite"])).contains("ready"));
    let t = Instant::now();
    c.ok(&["stop", "--time", "10", "polite"]);
    assert!(t.elapsed() < Duration::from_secs(5), "the trap ends it at once: {:?}", t.elapsed());
    let st = c.inspect("polite");
    assert_eq!(st["status"]["exitCode"], 0);
    assert!(stdout(&c.run(&["logs", "polite"])).ends_with("bye\n"));

    let t = Instant::now();
    c.ok(&["stop", "--time", "2", "stubborn"]);
    let took = t.elapsed();
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(10), "killed after the grace: {took:?}");
    let st = c.inspect("stubborn");
    assert_eq!(st["status"]["exitCode"], 137);
    assert_eq!(st["status"]["signal"], 9);

    // kill with a signal; a stopped container cannot be killed again.
    c.ok(&["run", "-d", "busybox", "victim", "--", "sleep", "1000"]);
    c.ok(&["kill", "--signal", "TERM", "victim"]);
    c.ok(&["kill", "victim"]);
    eventually(20, "victim to exit", || c.inspect("victim")["status"]["state"] == "exited");
    let out = c.run(&["kill", "victim"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("container victim is exited"), "{}", stderr(&out));
}

#[test]
fn a_new_coracle_finds_containers_after_kill_9() {
    let c = Ctr::new();
    // A foreground run whose coracle is killed: the container and its shim keep going.
    let mut fg = c.command(&[
        "run",
        "busybox",
        "orphan",
        "--",
        "sh",
        "-c",
        "i=0; while true; do echo n$i; i=$((i+1)); sleep 0.2; done",
    ]);
    fg.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = fg.spawn().unwrap();
    eventually(20, "orphan to run", || c.run(&["ps"]).status.success() && c.ok(&["ps"]).contains("orphan"));
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let ps = c.ok(&["ps"]);
    assert!(ps.contains("orphan") && ps.contains("Up "), "{ps}");
    let before = stdout(&c.run(&["logs", "orphan"])).lines().count();
    eventually(10, "output to keep being logged", || stdout(&c.run(&["logs", "orphan"])).lines().count() > before + 2);
    // logs -f follows until the container ends.
    let mut follow = c.command(&["logs", "-f", "orphan"]);
    follow.stdout(Stdio::piped()).stderr(Stdio::piped());
    let follower = follow.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    c.ok(&["stop", "--time", "1", "orphan"]);
    let out = wait_output(follower, Duration::from_secs(30));
    assert!(out.status.success());
    assert!(stdout(&out).lines().count() > before, "{}", stdout(&out));
    assert_eq!(c.inspect("orphan")["status"]["state"], "exited");
}

#[test]
fn nothing_is_left_after_removal() {
    let c = Ctr::new();
    let id = c.ok(&["run", "-d", "--memory", "32Mi", "busybox", "temp", "--", "sleep", "1000"]).trim().to_string();
    let st = c.inspect("temp");
    let cg = st["cgroupsPath"].as_str().unwrap().to_string();
    let dir = PathBuf::from(st["dir"].as_str().unwrap());
    assert!(!mounts_under(&dir).is_empty(), "the rootfs is mounted while it runs");
    assert!(!cgroup_dirs(&cg).is_empty(), "its cgroup exists while it runs");
    let out = c.run(&["rm", "temp"]);
    assert!(!out.status.success(), "running containers need -f");
    assert!(stderr(&out).contains("rm -f"), "{}", stderr(&out));
    c.ok(&["rm", "-f", "temp"]);
    assert!(mounts_under(c.dir.path()).is_empty(), "mounts left: {:?}", mounts_under(c.dir.path()));
    assert!(cgroup_dirs(&cg).is_empty(), "cgroups left: {:?}", cgroup_dirs(&cg));
    assert!(!dir.exists());
    let run_dir = c.paths().run_dir();
    assert!(!run_dir.join("lc").join(&id).exists());
    assert!(!run_dir.join("s").join(format!("{id}.sock")).exists());
    // Unknown containers and images, bad commands: one line, non-zero, nothing left.
    for (args, msg) in [
        (vec!["logs", "ghost"], "container ghost not found"),
        (vec!["stop", "ghost"], "container ghost not found"),
        (vec!["run", "--rm", "nosuch:image", "x", "--", "true"], "image nosuch:image is not present"),
        (
            vec!["run", "--rm", "busybox", "bad", "--", "/no/such/binary"],
            "container bad: executable \"/no/such/binary\" not found",
        ),
        (
            vec!["run", "--rm", "--memory", "1Mi", "busybox", "tiny", "--", "true"],
            "container tiny: memory limit of 1Mi is below",
        ),
        (vec!["run", "--rm", "-u", "alice", "busybox", "who", "--", "true"], "container who: user \"alice\""),
    ] {
        let out = c.run(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let e = stderr(&out);
        assert_eq!(e.lines().count(), 1, "one line for {args:?}: {e}");
        assert!(e.contains(msg), "{args:?}: {e}");
    }
    assert!(c.names().is_empty());
    assert!(mounts_under(c.dir.path()).is_empty());
    assert!(!run_dir.exists(), "the run dir goes with the last container");
    let parent = format!("/{}", c.paths().cgroup_parent());
    assert!(cgroup_dirs(&parent).iter().all(|d| std::fs::read_dir(d).unwrap().flatten().all(|e| !e.path().is_dir())));
}

#[test]
fn two_data_dirs_never_see_each_others_containers() {
    let a = Ctr::new();
    let b = Ctr::new();
    a.ok(&["run", "-d", "busybox", "same", "--", "sleep", "1000"]);
    b.ok(&["run", "-d", "busybox", "same", "--", "sleep", "1000"]);
    b.ok(&["run", "-d", "busybox", "only-b", "--", "sleep", "1000"]);
    assert_eq!(a.names(), ["same"]);
    let mut bn = b.names();
    bn.sort();
    assert_eq!(bn, ["only-b", "same"]);
    assert_ne!(a.inspect("same")["cgroupsPath"], b.inspect("same")["cgroupsPath"]);
    a.ok(&["rm", "-f", "same"]);
    assert!(a.names().is_empty());
    assert_eq!(b.inspect("same")["status"]["state"], "running");
    assert!(!b.run(&["logs", "ghost"]).status.success());
}
