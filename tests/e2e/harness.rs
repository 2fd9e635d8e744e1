//! Starting the real `coracle` binary for a test, and driving it with real kubectl.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where the kubectl binaries live.
pub const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// A coracle server on a free port with its own data dir.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    /// With the node agent: its kubelet port and pod CIDR.
    agent: Option<(u16, String)>,
    /// More arguments for `coracle server`.
    extra_args: Vec<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Server {
    /// Start a control-plane-only server and wait until it is ready.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Server { port: free_port(), dir, child: None, agent: None, extra_args: Vec::new() };
        s.spawn();
        s
    }

    /// Start a server that runs pods (its own kubelet port and a pod CIDR no other test
    /// server in this process uses), with the busybox test image imported. Needs root.
    #[allow(dead_code)]
    pub fn start_with_agent() -> Server {
        Self::start_with_agent_args(&[])
    }

    /// [`Server::start_with_agent`] with more arguments for `coracle server`.
    #[allow(dead_code)]
    pub fn start_with_agent_args(extra: &[&str]) -> Server {
        static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = tempfile::tempdir().expect("tempdir");
        // A /22 (four nodes' /24s) per server: 64 servers of this process never share one, and
        // other test processes (another pid) use other /16s.
        let cidr = format!("10.{}.{}.0/22", 200 + std::process::id() % 50, u32::from(n % 64) * 4);
        let mut s = Server {
            port: free_port(),
            dir,
            child: None,
            agent: Some((free_port(), cidr)),
            extra_args: extra.iter().map(|a| a.to_string()).collect(),
        };
        crate::testimages::import_busybox(&s.data_dir());
        s.spawn();
        s
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig.yaml")
    }

    /// The arguments the server is started with.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "server".into(),
            "--data-dir".into(),
            self.data_dir().display().to_string(),
            "--https-listen-port".into(),
            self.port.to_string(),
            "--bind-address".into(),
            "127.0.0.1".into(),
            "--write-kubeconfig".into(),
            self.kubeconfig().display().to_string(),
            "--node-name".into(),
            "test-node".into(),
        ];
        match &self.agent {
            None => args.push("--disable-agent".into()),
            Some((port, cidr)) => {
                args.extend(["--kubelet-port".into(), port.to_string(), "--cluster-cidr".into(), cidr.clone()]);
            }
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_coracle"))
            .args(self.args())
            .env("CORACLE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start coracle");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.kubeconfig().exists() {
                let out = self.kubectl("1.33").run(&["get", "--raw", "/readyz"]);
                if out.status.success() {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!("server did not become ready; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `kill -9` the server.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kill the server hard and start it again on the same data dir and port.
    pub fn restart_hard(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// A kubectl of the given version (`1.27` … `1.33`) pointed at this server.
    pub fn kubectl(&self, version: &str) -> Kubectl {
        let home = self.dir.path().join(format!("home-{version}"));
        std::fs::create_dir_all(&home).expect("home");
        Kubectl {
            bin: PathBuf::from(KUBECTL_DIR).join(format!("kubectl.{version}")),
            kubeconfig: self.kubeconfig(),
            home,
        }
    }

    /// A kube-rs client for raw requests.
    pub async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(self.kubeconfig()).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.expect("config");
        kube::Client::try_from(cfg).expect("client")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if self.agent.is_some() {
            self.clean_node();
        }
    }
}

impl Server {
    /// After a test (most matter when it failed before deleting its pods): remove what the
    /// agent made on this machine — containers, PID namespace holders, network namespaces,
    /// the bridge, mounts under the data dir and the instance's cgroups — so that nothing
    /// outlives the test and the temp dir can go.
    fn clean_node(&self) {
        let data = self.data_dir();
        let bin = env!("CARGO_BIN_EXE_coracle");
        let ctr = |args: &[&str]| Command::new(bin).arg("ctr").arg("--data-dir").arg(&data).args(args).output();
        if let Ok(out) = ctr(&["ps", "-a", "-q"]) {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = ctr(&["rm", "-f", id]);
            }
        }
        let pods = data.join("agent/pods");
        let uids: Vec<String> = std::fs::read_dir(&pods)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        for uid in &uids {
            let _ = Command::new("pkill").args(["-KILL", "-f", &format!("pidns --pod {uid}")]).output();
        }
        let instance = coracle::runtime::paths::RuntimePaths::new(&data).instance;
        if let Ok(rd) = std::fs::read_dir("/run/netns") {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(&format!("cni-{instance}-")) {
                    let _ = Command::new("ip").args(["netns", "delete", &name]).output();
                }
            }
        }
        let _ = Command::new("ip").args(["link", "delete", &format!("cni-{instance}")]).output();
        let prefix = format!("{}/", self.dir.path().display());
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mounts: Vec<&str> =
            mountinfo.lines().filter_map(|l| l.split_whitespace().nth(4)).filter(|m| m.starts_with(&prefix)).collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for ctl in rd.flatten() {
                remove_cgroup_tree(&ctl.path().join(format!("coracle-{instance}")));
            }
        }
    }
}

/// rmdir a cgroup and its children, deepest first (cgroup dirs hold only virtual files).
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}

/// One kubectl binary with its own HOME (so discovery caches never leak between tests).
pub struct Kubectl {
    pub bin: PathBuf,
    pub kubeconfig: PathBuf,
    pub home: PathBuf,
}

impl Kubectl {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args).env("KUBECONFIG", &self.kubeconfig).env("HOME", &self.home).env_remove("KUBECTL_EXTERNAL_DIFF");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kubectl")
    }

    /// Run and require success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {} failed: {}\nstdout: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run and require failure; returns stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "kubectl {} should fail; stdout: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Run with `input` on stdin and require success.
    #[track_caller]
    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let out = self.stdin(args, input);
        assert!(
            out.status.success(),
            "kubectl {} failed: {}\nstdout: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("kubectl output")
    }

    /// Parse JSON output of a command.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl {}: not JSON ({e}): {out}", args.join(" ")))
    }
}

/// Wait until `f` returns true or fail after `secs`.
#[track_caller]
pub fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// The kubectl versions every test runs against.
pub const VERSIONS: &[&str] = &["1.33", "1.27"];

pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write file");
    p
}
