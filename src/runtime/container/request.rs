//! What a caller asks for: a container ([`ContainerRequest`]) or a process inside one ([`ExecRequest`]).
//! The fields follow the CRI's `ContainerConfig`/`LinuxContainerConfig` so the kubelet maps onto them
//! one to one; the CLI fills them from its flags.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A new container.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerRequest {
    /// Unique among this instance's containers: `[A-Za-z0-9][A-Za-z0-9_.-]*`.
    pub name: String,
    /// Replaces the image's ENTRYPOINT when not empty (Kubernetes `command`).
    pub command: Vec<String>,
    /// Replaces the image's CMD when not empty (Kubernetes `args`).
    pub args: Vec<String>,
    /// Added over the image's environment, in order; a later key wins.
    pub env: Vec<(String, String)>,
    /// Instead of the image's WORKDIR; created if missing.
    pub working_dir: Option<String>,
    /// `uid`, `uid:gid`, `name`, `name:group`, `uid:group`, `name:gid`; a name is looked up in the
    /// image's `/etc/passwd` and `/etc/group`. Instead of the image's USER.
    pub user: Option<String>,
    /// Extra groups, on top of those `/etc/group` gives the user.
    pub supplemental_groups: Vec<u32>,
    /// Host name inside the container (only when it has its own UTS namespace); default: the name.
    pub hostname: Option<String>,
    /// Allocate a terminal (stdout and stderr are one stream).
    pub tty: bool,
    /// Keep stdin open for attach.
    pub stdin: bool,
    /// All capabilities, all devices, no masked paths, no seccomp.
    pub privileged: bool,
    pub read_only_rootfs: bool,
    /// Capability names (`NET_ADMIN` or `CAP_NET_ADMIN`) added to / dropped from the default set;
    /// `ALL` drops all.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    /// Apply the runtime's default seccomp profile (containerd's).
    pub seccomp_default: bool,
    pub mounts: Vec<BindMount>,
    pub namespaces: Namespaces,
    pub resources: Resources,
    /// Files bind-mounted at `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname`; when absent the
    /// runtime writes its own into the container dir (hosts: localhost and the host name; resolv.conf:
    /// the host's).
    pub hosts_file: Option<PathBuf>,
    pub resolv_conf: Option<PathBuf>,
    pub hostname_file: Option<PathBuf>,
    /// A directory bind-mounted at `/dev/shm` (a pod's shared one); default: a private 64 MiB tmpfs.
    pub shm_dir: Option<PathBuf>,
    /// Where the shim writes the CRI log; default `<container dir>/container.log`.
    pub log_path: Option<PathBuf>,
    /// Cgroup below this instance's cgroup parent to put the container in (e.g. a pod's);
    /// relative, `/`-separated.
    pub cgroup_parent: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// A bind mount from the host into the container.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub read_only: bool,
}

impl BindMount {
    /// `src:dst[:ro|:rw]`.
    pub fn parse(s: &str) -> Result<BindMount, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let (src, dst, ro) = match parts.as_slice() {
            [src, dst] => (*src, *dst, false),
            [src, dst, "ro"] => (*src, *dst, true),
            [src, dst, "rw"] => (*src, *dst, false),
            _ => return Err(format!("mount {s:?} is not src:dst[:ro]")),
        };
        if !src.starts_with('/') || !dst.starts_with('/') {
            return Err(format!("mount {s:?}: source and destination must be absolute paths"));
        }
        Ok(BindMount { source: src.into(), destination: dst.into(), read_only: ro })
    }
}

/// How the container gets one kind of namespace.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum NamespaceMode {
    /// A new namespace of its own.
    #[default]
    Private,
    /// Join an existing namespace: `/run/netns/<name>`, `/proc/<pid>/ns/ipc`, …
    Path(PathBuf),
    /// The host's (no new namespace).
    Host,
}

/// The namespaces a pod's containers may share. Mount (and on cgroup v2, cgroup) namespaces are
/// always the container's own.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Namespaces {
    pub network: NamespaceMode,
    pub ipc: NamespaceMode,
    pub uts: NamespaceMode,
    pub pid: NamespaceMode,
}

/// Cgroup limits (CRI `LinuxContainerResources`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Resources {
    /// Bytes.
    pub memory_limit: Option<u64>,
    /// Relative weight (cgroup v1 `cpu.shares`; converted to `cpu.weight` on v2).
    pub cpu_shares: Option<u64>,
    /// Microseconds per period; with `cpu_period` (default 100000).
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub pids_limit: Option<i64>,
}

impl Resources {
    /// `--cpus 0.5` as Docker does it: quota = cpus × period, shares = cpus × 1024.
    pub fn with_cpus(mut self, cpus: f64) -> Resources {
        let period = 100_000u64;
        self.cpu_period = Some(period);
        self.cpu_quota = Some((cpus * period as f64).round() as i64);
        self.cpu_shares = Some(((cpus * 1024.0).round() as u64).max(2));
        self
    }
}

/// A process to run inside a running container.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ExecRequest {
    pub command: Vec<String>,
    /// Added over the container's environment.
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    /// As in [`ContainerRequest::user`]; default: the container's user.
    pub user: Option<String>,
    pub tty: bool,
    /// Whether the caller will send stdin (otherwise the process gets /dev/null).
    pub stdin: bool,
    /// Initial terminal size.
    pub width: u16,
    pub height: u16,
}

/// Parse a size like `64Mi`, `64M`, `64m`, `1g`, `1048576`, `512k` into bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size like 64Mi"))?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "ki" | "kib" => 1024.0,
        "m" | "mb" | "mi" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{s:?} is not a size like 64Mi")),
    };
    Ok((n * mult) as u64)
}

/// Bytes as Kubernetes writes quantities: `64Mi`, `1Gi`, `1500` when not a whole unit.
pub fn format_bytes(n: u64) -> String {
    for (unit, size) in [("Gi", 1u64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64Mi").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert!(parse_bytes("lots").is_err());
        assert_eq!(format_bytes(64 << 20), "64Mi");
        assert_eq!(format_bytes(512 << 10), "512Ki");
        assert_eq!(format_bytes(1500), "1500");
    }

    #[test]
    fn cpus_like_docker() {
        let r = Resources::default().with_cpus(0.5);
        assert_eq!(r.cpu_quota, Some(50_000));
        assert_eq!(r.cpu_period, Some(100_000));
        assert_eq!(r.cpu_shares, Some(512));
    }

    #[test]
    fn bind_mounts() {
        assert_eq!(
            BindMount::parse("/a:/b:ro").unwrap(),
            BindMount { source: "/a".into(), destination: "/b".into(), read_only: true }
        );
        assert!(!BindMount::parse("/a:/b").unwrap().read_only);
        assert!(BindMount::parse("a:/b").is_err());
        assert!(BindMount::parse("/a").is_err());
    }
}
