//! The OCI runtime spec (`config.json`) of a container, from its image's config and the request,
//! following containerd's CRI defaults: its default mounts, capability set, masked and read-only
//! paths, and Kubernetes' rules for command and args.

use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::Spec;
use serde_json::{Value, json};

use super::request::{ContainerRequest, NamespaceMode};
use super::user::{self, ResolvedUser, UserError};
use super::{ContainerError, Result};

/// The default PATH when the image sets none (Docker's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Below this a container cannot even start its runtime process (Docker's minimum).
pub const MIN_MEMORY: u64 = 6 << 20;

/// containerd's default capabilities.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability, by number.
const ALL_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// containerd's masked paths (hidden with /dev/null or an empty read-only tmpfs).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// containerd's read-only paths.
pub const READONLY_PATHS: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// What the spec needs to know about the host.
#[derive(Clone, Debug)]
pub struct Host {
    /// cgroup v2 only (unified hierarchy at /sys/fs/cgroup).
    pub cgroup_v2: bool,
    /// The capabilities this process may hand on (its bounding set, as a bit mask): a container
    /// cannot get more, and asking for more fails.
    pub bounding: u64,
}

impl Host {
    pub fn detect() -> Host {
        let cgroup_v2 = nix::sys::statfs::statfs("/sys/fs/cgroup")
            .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
            .unwrap_or(false);
        let bounding = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| l.strip_prefix("CapBnd:").and_then(|v| u64::from_str_radix(v.trim(), 16).ok()))
            })
            .unwrap_or(u64::MAX);
        Host { cgroup_v2, bounding }
    }
}

/// Files bind-mounted over the image's `/etc`.
#[derive(Clone, Debug)]
pub struct EtcFiles {
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
    pub hostname: PathBuf,
}

/// Everything [`build`] reads.
pub struct SpecInput<'a> {
    pub id: &'a str,
    pub request: &'a ContainerRequest,
    pub image: &'a ImageConfiguration,
    /// The mounted root filesystem (users are looked up in it).
    pub rootfs: &'a Path,
    pub cgroups_path: String,
    pub etc: EtcFiles,
    pub host: Host,
}

/// The built spec and what was resolved on the way.
#[derive(Debug)]
pub struct BuiltSpec {
    pub spec: Spec,
    pub user: ResolvedUser,
    pub cwd: String,
    pub args: Vec<String>,
    pub hostname: String,
}

/// Kubernetes' rules: `command` replaces ENTRYPOINT (and then CMD is ignored), `args` replace CMD.
pub fn merge_command(entrypoint: &[String], cmd: &[String], command: &[String], args: &[String]) -> Vec<String> {
    let mut out: Vec<String>;
    if !command.is_empty() {
        out = command.to_vec();
        out.extend_from_slice(args);
    } else {
        out = entrypoint.to_vec();
        out.extend_from_slice(if args.is_empty() { cmd } else { args });
    }
    out
}

/// The image's environment with the request's on top (a later key wins, keeping the first position),
/// then defaults for what is still missing.
pub fn merge_env(image_env: &[String], overrides: &[(String, String)], defaults: &[(&str, &str)]) -> Vec<String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let set = |k: &str, v: &str, out: &mut Vec<(String, String)>| match out.iter_mut().find(|(ek, _)| ek == k) {
        Some(e) => e.1 = v.to_string(),
        None => out.push((k.to_string(), v.to_string())),
    };
    for e in image_env {
        let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
        set(k, v, &mut out);
    }
    for (k, v) in overrides {
        set(k, v, &mut out);
    }
    for (k, v) in defaults {
        if !out.iter().any(|(ek, _)| ek == k) {
            out.push((k.to_string(), v.to_string()));
        }
    }
    out.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`.
pub fn normalise_capability(name: &str) -> String {
    let up = name.trim().to_ascii_uppercase();
    if up.starts_with("CAP_") { up } else { format!("CAP_{up}") }
}

/// The capability set: the default (or every capability when privileged), with adds and drops.
/// Only capabilities in `bounding` (a bit mask) are kept.
pub fn capabilities(req: &ContainerRequest, bounding: u64) -> Result<Vec<String>> {
    let known: Vec<&str> = ALL_CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 64 && bounding & (1u64 << i) != 0)
        .map(|(_, c)| *c)
        .collect();
    let mut caps: Vec<String> = if req.privileged {
        known.iter().map(|s| s.to_string()).collect()
    } else {
        DEFAULT_CAPABILITIES.iter().filter(|c| known.contains(c)).map(|s| s.to_string()).collect()
    };
    let check = |c: &str| -> Result<String> {
        let n = normalise_capability(c);
        if n == "CAP_ALL" || ALL_CAPABILITIES.contains(&n.as_str()) {
            Ok(n)
        } else {
            Err(ContainerError::InvalidRequest { name: req.name.clone(), reason: format!("unknown capability {c:?}") })
        }
    };
    for c in &req.cap_drop {
        let n = check(c)?;
        if n == "CAP_ALL" {
            caps.clear();
        } else {
            caps.retain(|x| *x != n);
        }
    }
    for c in &req.cap_add {
        let n = check(c)?;
        let add: Vec<String> = if n == "CAP_ALL" { known.iter().map(|s| s.to_string()).collect() } else { vec![n] };
        for a in add {
            if known.contains(&a.as_str()) && !caps.contains(&a) {
                caps.push(a);
            }
        }
    }
    Ok(caps)
}

fn namespace(kind: &str, mode: &NamespaceMode) -> Option<Value> {
    match mode {
        NamespaceMode::Private => Some(json!({"type": kind})),
        NamespaceMode::Path(p) => Some(json!({"type": kind, "path": p})),
        NamespaceMode::Host => None,
    }
}

fn bind(src: &Path, dst: &str, ro: bool) -> Value {
    let mut opts = vec!["rbind", "rprivate"];
    if ro {
        opts.push("ro");
    }
    json!({"destination": dst, "type": "bind", "source": src, "options": opts})
}

/// The host's character and block devices (for privileged containers), as OCI `linux.devices`.
fn host_devices() -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from("/dev")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            let ft = meta.file_type();
            let name = e.file_name();
            if ft.is_dir() {
                if !matches!(name.to_str(), Some("pts" | "shm" | "mqueue" | "fd")) && dir == Path::new("/dev") {
                    dirs.push(path);
                }
                continue;
            }
            let typ = if ft.is_char_device() {
                "c"
            } else if ft.is_block_device() {
                "b"
            } else {
                continue;
            };
            if matches!(name.to_str(), Some("console" | "ptmx" | "tty")) && dir == Path::new("/dev") {
                continue;
            }
            let rdev = meta.rdev();
            out.push(json!({
                "path": path, "type": typ,
                "major": libc::major(rdev), "minor": libc::minor(rdev),
                "fileMode": meta.mode() & 0o7777, "uid": meta.uid(), "gid": meta.gid(),
            }));
        }
    }
    out
}

fn user_error(name: &str, e: UserError) -> ContainerError {
    match e {
        UserError::UnknownUser(user) => ContainerError::UnknownUser { name: name.to_string(), user },
        UserError::UnknownGroup(group) => ContainerError::UnknownGroup { name: name.to_string(), group },
    }
}

/// Build the spec.
pub fn build(input: &SpecInput) -> Result<BuiltSpec> {
    let req = input.request;
    let name = req.name.as_str();
    let invalid = |reason: String| ContainerError::InvalidRequest { name: name.to_string(), reason };
    let cfg = input.image.config().clone().unwrap_or_default();
    let none: Vec<String> = Vec::new();

    let args = merge_command(
        cfg.entrypoint().as_ref().unwrap_or(&none),
        cfg.cmd().as_ref().unwrap_or(&none),
        &req.command,
        &req.args,
    );
    if args.is_empty() {
        return Err(ContainerError::NoCommand { name: name.to_string() });
    }

    let user_spec = req.user.clone().or_else(|| cfg.user().clone()).unwrap_or_default();
    let user =
        user::resolve_in_rootfs(input.rootfs, &user_spec, &req.supplemental_groups).map_err(|e| user_error(name, e))?;

    let cwd = req
        .working_dir
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| cfg.working_dir().clone().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "/".to_string());
    if !cwd.starts_with('/') {
        return Err(invalid(format!("working directory {cwd:?} must be an absolute path")));
    }

    let own_uts = req.namespaces.uts == NamespaceMode::Private;
    let hostname = req.hostname.clone().unwrap_or_else(|| name.to_string());
    let mut defaults = vec![("PATH", DEFAULT_PATH), ("HOME", user.home.as_str())];
    if own_uts {
        defaults.push(("HOSTNAME", hostname.as_str()));
    }
    if req.tty {
        defaults.push(("TERM", "xterm"));
    }
    let env = merge_env(cfg.env().as_ref().unwrap_or(&none), &req.env, &defaults);

    if let Some(limit) = req.resources.memory_limit
        && limit < MIN_MEMORY
    {
        return Err(ContainerError::MemoryTooLow { name: name.to_string(), limit, minimum: MIN_MEMORY });
    }

    let caps = capabilities(req, input.host.bounding)?;
    // A process that is not root starts with no effective or permitted capabilities (as in Docker).
    let (eff, perm) = if user.uid == 0 { (caps.clone(), caps.clone()) } else { (vec![], vec![]) };

    let privileged = req.privileged;
    let ro_etc = req.read_only_rootfs;
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
    ];
    mounts.push(match &req.shm_dir {
        Some(dir) => bind(dir, "/dev/shm", false),
        None => json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                       "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
    });
    if req.namespaces.ipc != NamespaceMode::Host {
        mounts.push(json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                           "options": ["nosuid", "noexec", "nodev"]}));
    }
    let sys_opts = if privileged { vec!["nosuid", "noexec", "nodev"] } else { vec!["nosuid", "noexec", "nodev", "ro"] };
    mounts.push(json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts}));
    let cg_opts = if privileged {
        vec!["nosuid", "noexec", "nodev", "relatime"]
    } else {
        vec!["nosuid", "noexec", "nodev", "relatime", "ro"]
    };
    mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": cg_opts}));
    if own_uts || req.hostname_file.is_some() {
        mounts.push(bind(&input.etc.hostname, "/etc/hostname", ro_etc));
    }
    mounts.push(bind(&input.etc.hosts, "/etc/hosts", ro_etc));
    mounts.push(bind(&input.etc.resolv_conf, "/etc/resolv.conf", ro_etc));
    let mut extra = req.mounts.clone();
    extra.sort_by_key(|m| m.destination.components().count());
    for m in &extra {
        if !m.source.is_absolute() || !m.destination.is_absolute() {
            return Err(invalid(format!(
                "mount {}:{}: source and destination must be absolute paths",
                m.source.display(),
                m.destination.display()
            )));
        }
        if !m.source.exists() {
            return Err(invalid(format!("mount source {} does not exist; create it first", m.source.display())));
        }
        mounts.push(bind(&m.source, &m.destination.to_string_lossy(), m.read_only));
    }

    let mut namespaces = vec![json!({"type": "mount"})];
    namespaces.extend(namespace("pid", &req.namespaces.pid));
    namespaces.extend(namespace("ipc", &req.namespaces.ipc));
    namespaces.extend(namespace("uts", &req.namespaces.uts));
    namespaces.extend(namespace("network", &req.namespaces.network));
    if input.host.cgroup_v2 {
        namespaces.push(json!({"type": "cgroup"}));
    }

    let r = &req.resources;
    let mut resources = serde_json::Map::new();
    resources.insert(
        "devices".into(),
        if privileged { json!([{"allow": true, "access": "rwm"}]) } else { json!([{"allow": false, "access": "rwm"}]) },
    );
    if let Some(limit) = r.memory_limit {
        resources.insert("memory".into(), json!({"limit": limit}));
    }
    let mut cpu = serde_json::Map::new();
    if let Some(s) = r.cpu_shares {
        cpu.insert("shares".into(), json!(s));
    }
    if let Some(q) = r.cpu_quota {
        cpu.insert("quota".into(), json!(q));
        cpu.insert("period".into(), json!(r.cpu_period.unwrap_or(100_000)));
    }
    if !cpu.is_empty() {
        resources.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(p) = r.pids_limit {
        resources.insert("pids".into(), json!({"limit": p}));
    }

    let mut linux = json!({
        "namespaces": namespaces,
        "resources": resources,
        "cgroupsPath": input.cgroups_path,
    });
    if privileged {
        linux["devices"] = json!(host_devices());
    } else {
        linux["maskedPaths"] = json!(MASKED_PATHS);
        linux["readonlyPaths"] = json!(READONLY_PATHS);
        if req.seccomp_default {
            linux["seccomp"] = super::seccomp::default_profile(&caps);
        }
    }

    let mut process = json!({
        "terminal": req.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": eff, "permitted": perm},
    });
    // Only when asked: libcontainer loads seccomp late (after dropping capabilities) whenever the
    // field is present, which needs no_new_privs; absent, it loads it while still privileged.
    if req.no_new_privileges {
        process["noNewPrivileges"] = json!(true);
    }
    if req.tty {
        process["consoleSize"] = json!({"height": 24, "width": 80});
    }

    let mut annotations: serde_json::Map<String, Value> =
        req.annotations.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    annotations.insert("io.coracle.container.name".into(), json!(name));

    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": input.rootfs, "readonly": req.read_only_rootfs},
        "mounts": mounts,
        "annotations": annotations,
        "linux": linux,
    });
    if own_uts {
        spec["hostname"] = json!(hostname);
    }
    let spec: Spec =
        serde_json::from_value(spec).map_err(|e| invalid(format!("cannot build the runtime spec: {e}")))?;
    Ok(BuiltSpec { spec, user, cwd, args, hostname })
}

/// The default `/etc/hosts` of a container that has its own network namespace.
pub fn default_hosts(hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::container::request::{BindMount, Resources};

    const ALL: u64 = (1 << 41) - 1;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn command_and_args_follow_kubernetes() {
        let ep = s(&["/entry", "-x"]);
        let cmd = s(&["serve"]);
        assert_eq!(merge_command(&ep, &cmd, &[], &[]), s(&["/entry", "-x", "serve"]));
        assert_eq!(merge_command(&ep, &cmd, &[], &s(&["other"])), s(&["/entry", "-x", "other"]));
        assert_eq!(merge_command(&ep, &cmd, &s(&["sh"]), &[]), s(&["sh"]));
        assert_eq!(merge_command(&ep, &cmd, &s(&["sh"]), &s(&["-c", "true"])), s(&["sh", "-c", "true"]));
        assert_eq!(merge_command(&[], &cmd, &[], &[]), s(&["serve"]));
        assert_eq!(merge_command(&[], &[], &[], &s(&["a"])), s(&["a"]));
        assert!(merge_command(&[], &[], &[], &[]).is_empty());
    }

    #[test]
    fn env_overrides_keep_order_and_defaults_fill_gaps() {
        let img = s(&["PATH=/bin", "A=1", "B=2"]);
        let env = merge_env(
            &img,
            &[("A".into(), "x".into()), ("C".into(), "3".into())],
            &[("PATH", "/no"), ("HOME", "/root")],
        );
        assert_eq!(env, s(&["PATH=/bin", "A=x", "B=2", "C=3", "HOME=/root"]));
        let env = merge_env(&[], &[], &[("PATH", DEFAULT_PATH)]);
        assert_eq!(env, vec![format!("PATH={DEFAULT_PATH}")]);
    }

    #[test]
    fn capability_adds_and_drops() {
        let mut req = ContainerRequest { name: "c".into(), ..Default::default() };
        assert_eq!(capabilities(&req, ALL).unwrap().len(), DEFAULT_CAPABILITIES.len());
        req.cap_add = s(&["net_admin", "CAP_SYS_TIME"]);
        req.cap_drop = s(&["MKNOD"]);
        let caps = capabilities(&req, ALL).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".into()) && caps.contains(&"CAP_SYS_TIME".into()));
        assert!(!caps.contains(&"CAP_MKNOD".into()));
        req.cap_drop = s(&["ALL"]);
        req.cap_add = s(&["CHOWN"]);
        assert_eq!(capabilities(&req, ALL).unwrap(), s(&["CAP_CHOWN"]));
        req.privileged = true;
        req.cap_drop.clear();
        req.cap_add.clear();
        assert_eq!(capabilities(&req, (1 << 38) - 1).unwrap().len(), 38);
        // Without CAP_SYS_RESOURCE (24) in our own bounding set, a privileged container gets the rest.
        assert_eq!(capabilities(&req, ALL & !(1 << 24)).unwrap().len(), 40);
        req.cap_add = s(&["FLY"]);
        assert!(capabilities(&req, ALL).is_err());
    }

    struct Fixture {
        dir: tempfile::TempDir,
        image: ImageConfiguration,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("rootfs/etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("passwd"), "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\n")
            .unwrap();
        std::fs::write(etc.join("group"), "root:x:0:\nwww-data:x:33:\nstaff:x:50:www-data\n").unwrap();
        let image: ImageConfiguration = serde_json::from_value(json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/bin", "FOO=image"], "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi"],
                       "WorkingDir": "/srv", "User": "www-data"},
            "rootfs": {"type": "layers", "diff_ids": []}
        }))
        .unwrap();
        Fixture { dir, image }
    }

    fn build_with(f: &Fixture, req: &ContainerRequest, host: Host) -> Result<Value> {
        let rootfs = f.dir.path().join("rootfs");
        let input = SpecInput {
            id: "abc",
            request: req,
            image: &f.image,
            rootfs: &rootfs,
            cgroups_path: "/coracle-test/abc".into(),
            etc: EtcFiles {
                hosts: "/h/hosts".into(),
                resolv_conf: "/h/resolv.conf".into(),
                hostname: "/h/hostname".into(),
            },
            host,
        };
        build(&input).map(|b| serde_json::to_value(&b.spec).unwrap())
    }

    fn v1() -> Host {
        Host { cgroup_v2: false, bounding: ALL }
    }

    #[test]
    fn a_plain_container_gets_containerds_defaults() {
        let f = fixture();
        let req = ContainerRequest { name: "web".into(), ..Default::default() };
        let spec = build_with(&f, &req, v1()).unwrap();
        let p = &spec["process"];
        assert_eq!(p["args"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(p["cwd"], "/srv");
        assert_eq!(p["user"]["uid"], 33);
        assert_eq!(p["user"]["gid"], 33);
        assert_eq!(p["user"]["additionalGids"], json!([50]));
        assert_eq!(p["env"], json!(["PATH=/bin", "FOO=image", "HOME=/var/www", "HOSTNAME=web"]));
        // Not root: no effective capabilities, the bounding set is containerd's.
        assert_eq!(p["capabilities"]["bounding"].as_array().unwrap().len(), DEFAULT_CAPABILITIES.len());
        assert_eq!(p["capabilities"]["effective"], json!([]));
        assert_eq!(spec["hostname"], "web");
        assert_eq!(spec["linux"]["cgroupsPath"], "/coracle-test/abc");
        assert_eq!(spec["linux"]["maskedPaths"], json!(MASKED_PATHS));
        assert_eq!(spec["linux"]["readonlyPaths"], json!(READONLY_PATHS));
        assert!(spec["linux"].get("seccomp").is_none());
        let ns: Vec<&str> =
            spec["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
        assert_eq!(ns, ["mount", "pid", "ipc", "uts", "network"]);
        let dests: Vec<&str> =
            spec["mounts"].as_array().unwrap().iter().map(|m| m["destination"].as_str().unwrap()).collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/sys/fs/cgroup",
                "/etc/hostname",
                "/etc/hosts",
                "/etc/resolv.conf"
            ]
        );
        assert_eq!(spec["root"]["readonly"], false);
    }

    #[test]
    fn request_overrides_image() {
        let f = fixture();
        let src = f.dir.path().join("data");
        std::fs::create_dir(&src).unwrap();
        let req = ContainerRequest {
            name: "job".into(),
            command: s(&["env"]),
            env: vec![("FOO".into(), "req".into())],
            working_dir: Some("/tmp".into()),
            user: Some("0:50".into()),
            tty: true,
            read_only_rootfs: true,
            seccomp_default: true,
            mounts: vec![BindMount { source: src.clone(), destination: "/data".into(), read_only: true }],
            resources: Resources { memory_limit: Some(64 << 20), pids_limit: Some(10), ..Default::default() }
                .with_cpus(0.5),
            ..Default::default()
        };
        let spec = build_with(&f, &req, Host { cgroup_v2: true, bounding: ALL }).unwrap();
        let p = &spec["process"];
        assert_eq!(p["args"], json!(["env"]));
        assert_eq!(p["cwd"], "/tmp");
        assert_eq!(p["terminal"], true);
        assert_eq!((p["user"]["uid"].as_u64(), p["user"]["gid"].as_u64()), (Some(0), Some(50)));
        assert!(p["env"].as_array().unwrap().contains(&json!("FOO=req")));
        assert!(p["env"].as_array().unwrap().contains(&json!("TERM=xterm")));
        assert_eq!(p["capabilities"]["effective"].as_array().unwrap().len(), DEFAULT_CAPABILITIES.len());
        let res = &spec["linux"]["resources"];
        assert_eq!(res["memory"]["limit"], 64 << 20);
        assert_eq!(res["cpu"]["quota"], 50_000);
        assert_eq!(res["cpu"]["period"], 100_000);
        assert_eq!(res["cpu"]["shares"], 512);
        assert_eq!(res["pids"]["limit"], 10);
        assert_eq!(spec["root"]["readonly"], true);
        assert_eq!(spec["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        let last = spec["mounts"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["destination"], "/data");
        assert!(last["options"].as_array().unwrap().contains(&json!("ro")));
        assert!(spec["linux"]["namespaces"].as_array().unwrap().contains(&json!({"type": "cgroup"})));
    }

    #[test]
    fn joined_namespaces_are_paths() {
        let f = fixture();
        let mut req = ContainerRequest { name: "app".into(), ..Default::default() };
        req.namespaces.network = NamespaceMode::Path("/run/netns/pod".into());
        req.namespaces.ipc = NamespaceMode::Path("/proc/42/ns/ipc".into());
        req.namespaces.uts = NamespaceMode::Path("/proc/42/ns/uts".into());
        req.namespaces.pid = NamespaceMode::Host;
        let spec = build_with(&f, &req, v1()).unwrap();
        let ns = spec["linux"]["namespaces"].as_array().unwrap();
        assert!(ns.contains(&json!({"type": "network", "path": "/run/netns/pod"})));
        assert!(ns.contains(&json!({"type": "ipc", "path": "/proc/42/ns/ipc"})));
        assert!(!ns.iter().any(|n| n["type"] == "pid"));
        // A joined UTS namespace keeps its host name: none is set, and /etc/hostname is not mounted.
        assert!(spec.get("hostname").is_none());
        assert!(!spec["mounts"].as_array().unwrap().iter().any(|m| m["destination"] == "/etc/hostname"));
    }

    #[test]
    fn privileged_is_unconfined() {
        let f = fixture();
        let req = ContainerRequest {
            name: "p".into(),
            privileged: true,
            seccomp_default: true,
            user: Some("0".into()),
            ..Default::default()
        };
        let spec = build_with(&f, &req, v1()).unwrap();
        assert!(spec["linux"].get("maskedPaths").is_none());
        assert!(spec["linux"].get("seccomp").is_none());
        assert_eq!(spec["linux"]["resources"]["devices"], json!([{"allow": true, "access": "rwm"}]));
        assert_eq!(spec["process"]["capabilities"]["bounding"].as_array().unwrap().len(), 41);
    }

    #[test]
    fn bad_requests_are_refused() {
        let f = fixture();
        let mut req = ContainerRequest { name: "x".into(), user: Some("alice".into()), ..Default::default() };
        assert!(matches!(build_with(&f, &req, v1()), Err(ContainerError::UnknownUser { .. })));
        req.user = None;
        req.resources.memory_limit = Some(1 << 20);
        assert!(matches!(build_with(&f, &req, v1()), Err(ContainerError::MemoryTooLow { .. })));
        req.resources.memory_limit = None;
        req.working_dir = Some("rel".into());
        assert!(matches!(build_with(&f, &req, v1()), Err(ContainerError::InvalidRequest { .. })));
        req.working_dir = None;
        req.mounts = vec![BindMount { source: "/does/not/exist".into(), destination: "/d".into(), read_only: false }];
        let e = build_with(&f, &req, v1()).unwrap_err().to_string();
        assert!(e.contains("/does/not/exist"), "{e}");
        let mut f2 = fixture();
        f2.image = serde_json::from_value(
            json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}),
        )
        .unwrap();
        let req = ContainerRequest { name: "y".into(), ..Default::default() };
        assert!(matches!(build_with(&f2, &req, v1()), Err(ContainerError::NoCommand { .. })));
    }
}
