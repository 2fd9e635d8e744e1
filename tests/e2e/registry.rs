//! A real registry for tests: Debian's docker-registry on 127.0.0.1 (plain HTTP, or TLS with a
//! CA of our own and a password), images pushed into it with skopeo. Shared by the image pull
//! tests and the pod tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::testimages::archive;

/// Debian's docker-registry on a free port of 127.0.0.1, with its own storage; stopped on drop.
pub struct Registry {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Registry {
    pub fn start() -> Registry {
        Self::start_with("")
    }

    /// Start with extra YAML under `http:` … (e.g. auth config at top level via `extra`).
    pub fn start_with(extra: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n{extra}",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry (scripts/install-deps installs it)");
        let r = Registry { dir, port, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "registry did not start: {}", r.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Push an OCI archive (all its platforms) as `repo:tag`.
    pub fn push(&self, archive: &Path, repo_tag: &str, creds: Option<&str>) {
        let policy = self.dir.path().join("policy.json");
        std::fs::write(&policy, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).unwrap();
        let mut cmd = Command::new("skopeo");
        cmd.arg("--policy").arg(&policy).args(["copy", "-q", "--all", "--dest-tls-verify=false"]);
        if let Some(c) = creds {
            cmd.args(["--dest-creds", c]);
        }
        let out = cmd
            .arg(format!("oci-archive:{}", archive.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host()))
            .output()
            .expect("skopeo (scripts/install-deps installs it)");
        assert!(out.status.success(), "skopeo push: {}\n{}", String::from_utf8_lossy(&out.stderr), self.log());
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registry over TLS (a certificate from a CA of our own) that wants a password.
pub fn tls_registry_with_auth(dir: &Path) -> (Registry, PathBuf) {
    let certs = coracle::server::certs::CertPaths::new(dir);
    coracle::server::certs::ensure(&certs, &["127.0.0.1".to_string()]).expect("test certificates");
    let htpasswd = dir.join("htpasswd");
    std::fs::write(&htpasswd, format!("coracle:{}\n", bcrypt::hash("s3cret", 4).unwrap())).unwrap();
    let reg = Registry::start_with(&format!(
        "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: coracle-test\n    path: {}\n",
        certs.serving_cert().display(),
        certs.serving_key().display(),
        htpasswd.display()
    ));
    reg.push(&archive("busybox-oci.tar"), "private/busybox:1.36", Some("coracle:s3cret"));
    (reg, certs.ca_cert())
}
