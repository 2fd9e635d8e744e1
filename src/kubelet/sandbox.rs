//! A pod's sandbox: what its containers share. A network namespace wired by CNI (or the
//! host's with `hostNetwork`), IPC and UTS namespaces pinned by bind mounts (no pause
//! process: a pinned namespace outlives every process in it), a `/dev/shm` tmpfs, and
//! the files the kubelet manages for every container: `/etc/hosts`, `/etc/resolv.conf`
//! and `/etc/hostname`.
//!
//! Everything lives under the pod's directory `<data-dir>/agent/pods/<uid>/` and in
//! host-level names derived from the instance, and is recorded in `sandbox.json`, so a
//! restarted kubelet finds the sandbox again and teardown removes exactly what setup made.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use serde::{Deserialize, Serialize};

use crate::network::cni::{Cni, PortMapping};
use crate::network::netns;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("failed to create the pod sandbox: {0}")]
    Setup(String),
    #[error("failed to set up the pod network: {0}")]
    Network(String),
}

/// What a sandbox is made of, as recorded in `sandbox.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Sandbox {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    /// Named network namespace (empty with hostNetwork).
    pub netns: String,
    pub ips: Vec<IpAddr>,
    pub host_network: bool,
    pub host_ipc: bool,
    pub dir: PathBuf,
    /// With `shareProcessNamespace`: the host pid of the namespace's PID 1 (see pidns.rs).
    pub pid_holder: Option<i32>,
}

/// What the node tells every sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub pods_dir: PathBuf,
    pub instance: String,
    pub cluster_dns: IpAddr,
    pub cluster_domain: String,
    /// The node's resolver configuration, for `dnsPolicy: Default` and host networking.
    pub host_resolv_conf: PathBuf,
    pub node_ip: IpAddr,
}

impl Sandbox {
    pub fn ipc_ns(&self) -> PathBuf {
        self.dir.join("ns").join("ipc")
    }
    pub fn uts_ns(&self) -> PathBuf {
        self.dir.join("ns").join("uts")
    }
    pub fn netns_path(&self) -> PathBuf {
        netns::path(&self.netns)
    }
    pub fn hosts(&self) -> PathBuf {
        self.dir.join("etc-hosts")
    }
    pub fn resolv_conf(&self) -> PathBuf {
        self.dir.join("resolv.conf")
    }
    pub fn hostname_file(&self) -> PathBuf {
        self.dir.join("hostname")
    }
    pub fn shm(&self) -> PathBuf {
        self.dir.join("shm")
    }
    /// The shared PID namespace, with `shareProcessNamespace`.
    pub fn pid_ns(&self) -> Option<PathBuf> {
        self.pid_holder.map(|p| PathBuf::from(format!("/proc/{p}/ns/pid")))
    }
    fn record(&self) -> PathBuf {
        self.dir.join("sandbox.json")
    }
    /// The pod's first IP (the node's with host networking).
    pub fn pod_ip(&self) -> Option<IpAddr> {
        self.ips.first().copied()
    }
}

/// The sandbox directory of a pod.
pub fn pod_dir(cfg: &SandboxConfig, uid: &str) -> PathBuf {
    cfg.pods_dir.join(uid)
}

/// A recorded sandbox, if this pod has one.
pub fn load(cfg: &SandboxConfig, uid: &str) -> Option<Sandbox> {
    let bytes = std::fs::read(pod_dir(cfg, uid).join("sandbox.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// UIDs of the pods that have a sandbox directory here.
pub fn list(cfg: &SandboxConfig) -> Vec<String> {
    std::fs::read_dir(&cfg.pods_dir)
        .map(|rd| rd.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

/// The host name a pod's containers see: `spec.hostname` or the pod name, at most 63 bytes.
pub fn pod_hostname(pod: &Pod) -> String {
    let spec = pod.spec.as_ref();
    let name = spec
        .and_then(|s| s.hostname.clone())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| pod.metadata.name.clone().unwrap_or_default());
    let mut h: String = name.chars().take(63).collect();
    while h.ends_with(['-', '.']) {
        h.pop();
    }
    h
}

fn netns_name(cfg: &SandboxConfig, uid: &str) -> String {
    format!("cni-{}-{}", cfg.instance, uid)
}

/// The prefix of every network namespace this instance makes (for cleanup).
pub fn netns_prefix(cfg: &SandboxConfig) -> String {
    format!("cni-{}-", cfg.instance)
}

fn host_ports(pod: &Pod) -> Vec<PortMapping> {
    let spec = pod.spec.as_ref();
    let mut out = Vec::new();
    for c in spec.map(|s| s.containers.iter()).into_iter().flatten() {
        for p in c.ports.iter().flatten() {
            if let Some(hp) = p.host_port.filter(|hp| *hp > 0) {
                out.push(PortMapping {
                    host_port: hp as u16,
                    container_port: p.container_port as u16,
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()).to_lowercase(),
                    host_ip: p.host_ip.clone().unwrap_or_default(),
                });
            }
        }
    }
    out
}

/// Create (or find again) the sandbox of a pod.
pub fn ensure(cfg: &SandboxConfig, cni: &Cni, pod: &Pod) -> Result<Sandbox, SandboxError> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let share_pid = spec.share_process_namespace.unwrap_or(false) && !spec.host_pid.unwrap_or(false);
    if let Some(mut sb) = load(cfg, &uid)
        && (sb.host_network || netns::exists(&sb.netns))
    {
        if share_pid && !sb.pid_holder.is_some_and(|p| super::pidns::alive(p, &uid)) {
            // The namespace ended (its PID 1 was killed): a new one for the restarted containers.
            sb.pid_holder = Some(super::pidns::spawn(&uid).map_err(|e| SandboxError::Setup(e.to_string()))?);
            record(&sb)?;
        }
        return Ok(sb);
    }
    let host_network = spec.host_network.unwrap_or(false);
    let host_ipc = spec.host_ipc.unwrap_or(false);
    let dir = pod_dir(cfg, &uid);
    let setup = |what: &str, e: &dyn std::fmt::Display| SandboxError::Setup(format!("{what}: {e}"));
    std::fs::create_dir_all(dir.join("ns")).map_err(|e| setup("creating the pod directory", &e))?;
    let mut sb = Sandbox {
        uid: uid.clone(),
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        netns: String::new(),
        ips: Vec::new(),
        host_network,
        host_ipc,
        dir: dir.clone(),
        pid_holder: None,
    };
    let hostname = if host_network { nix::unistd::gethostname().ok() } else { None }
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|| pod_hostname(pod));
    std::fs::write(sb.hostname_file(), format!("{hostname}\n")).map_err(|e| setup("writing /etc/hostname", &e))?;
    if !host_network {
        pin_namespaces(&sb, &hostname, !host_ipc).map_err(|e| setup("creating the IPC and UTS namespaces", &e))?;
    }
    if !host_ipc {
        mount_shm(&sb.shm()).map_err(|e| setup("mounting /dev/shm", &e))?;
    }
    if host_network {
        sb.ips = vec![cfg.node_ip];
    } else {
        sb.netns = netns_name(cfg, &uid);
        let path = netns::create(&sb.netns).map_err(|e| SandboxError::Network(e.to_string()))?;
        match cni.add(&uid, &path, (&sb.namespace, &sb.name), &host_ports(pod)) {
            Ok(att) => sb.ips = att.ips,
            Err(e) => {
                let _ = cni.del(&uid, &path);
                let _ = netns::delete(&sb.netns);
                return Err(SandboxError::Network(e.to_string()));
            }
        }
    }
    write_dns_files(cfg, &sb, pod).map_err(|e| setup("writing /etc/hosts and /etc/resolv.conf", &e))?;
    if share_pid {
        sb.pid_holder = Some(super::pidns::spawn(&uid).map_err(|e| setup("creating the PID namespace", &e))?);
    }
    record(&sb)?;
    Ok(sb)
}

/// Write `sandbox.json`, atomically.
fn record(sb: &Sandbox) -> Result<(), SandboxError> {
    let tmp = sb.dir.join("sandbox.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(sb).unwrap_or_default())
        .and_then(|_| std::fs::rename(&tmp, sb.record()))
        .map_err(|e| SandboxError::Setup(format!("recording the sandbox: {e}")))
}

/// Remove the network (CNI DEL, netns), the namespaces and mounts of a sandbox. Leaves the pod
/// directory for [`remove_dir`] so logs and volumes can still be read until the pod is gone.
pub fn stop(cfg: &SandboxConfig, cni: &Cni, uid: &str) -> Result<(), SandboxError> {
    let dir = pod_dir(cfg, uid);
    let sb = load(cfg, uid);
    let name = sb.as_ref().map(|s| s.netns.clone()).unwrap_or_else(|| netns_name(cfg, uid));
    let host_network = sb.as_ref().is_some_and(|s| s.host_network);
    if let Some(pid) = sb.as_ref().and_then(|s| s.pid_holder) {
        super::pidns::stop(pid, uid);
    }
    if !host_network {
        cni.del(uid, &netns::path(&name)).map_err(|e| SandboxError::Network(e.to_string()))?;
        netns::delete(&name).map_err(|e| SandboxError::Network(e.to_string()))?;
    }
    for p in [dir.join("ns").join("ipc"), dir.join("ns").join("uts"), dir.join("shm")] {
        unmount_all(&p);
    }
    Ok(())
}

/// Delete the pod directory after [`stop`] (unmounting anything still mounted below it).
pub fn remove_dir(cfg: &SandboxConfig, uid: &str) {
    let dir = pod_dir(cfg, uid);
    let prefix = format!("{}/", dir.display());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut below: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    below.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in below {
        let _ = umount2(m.as_str(), MntFlags::MNT_DETACH);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether `path` is a mount point.
pub fn is_mounted(path: &Path) -> bool {
    let want = path.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some(want.as_ref()))
}

fn unmount_all(path: &Path) {
    while is_mounted(path) {
        if umount2(path, MntFlags::MNT_DETACH).is_err() {
            break;
        }
    }
}

fn mount_shm(path: &Path) -> std::io::Result<()> {
    if is_mounted(path) {
        return Ok(());
    }
    std::fs::create_dir_all(path)?;
    mount(
        Some("shm"),
        path,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(std::io::Error::from)
}

/// New IPC (unless shared with the host) and UTS namespaces, each bind-mounted onto a file
/// in the pod directory. `unshare` affects only the calling thread, so it happens on a
/// thread of its own that ends right after.
fn pin_namespaces(sb: &Sandbox, hostname: &str, ipc: bool) -> std::io::Result<()> {
    let (ipc_path, uts_path) = (sb.ipc_ns(), sb.uts_ns());
    let hostname = hostname.to_string();
    std::thread::spawn(move || -> std::io::Result<()> {
        let mut flags = CloneFlags::CLONE_NEWUTS;
        if ipc {
            flags |= CloneFlags::CLONE_NEWIPC;
        }
        unshare(flags)?;
        nix::unistd::sethostname(&hostname)?;
        let mut kinds = vec![("uts", uts_path)];
        if ipc {
            kinds.push(("ipc", ipc_path));
        }
        for (kind, target) in kinds {
            if is_mounted(&target) {
                continue;
            }
            std::fs::File::create(&target)?;
            mount(
                Some(format!("/proc/thread-self/ns/{kind}").as_str()),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )?;
        }
        Ok(())
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("namespace thread panicked")))
}

/// `/etc/hosts` and `/etc/resolv.conf` as the kubelet writes them.
fn write_dns_files(cfg: &SandboxConfig, sb: &Sandbox, pod: &Pod) -> std::io::Result<()> {
    std::fs::write(sb.hosts(), hosts_file(cfg, sb, pod))?;
    let host = std::fs::read_to_string(&cfg.host_resolv_conf).unwrap_or_default();
    std::fs::write(sb.resolv_conf(), resolv_conf(cfg, pod, &host))
}

/// The kubelet's managed hosts file.
pub fn hosts_file(cfg: &SandboxConfig, sb: &Sandbox, pod: &Pod) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut out = String::new();
    if sb.host_network {
        out.push_str(&std::fs::read_to_string("/etc/hosts").unwrap_or_default());
    } else {
        out.push_str("# Kubernetes-managed hosts file.\n");
        out.push_str("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        out.push_str(
            "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
        );
        let hostname = pod_hostname(pod);
        for ip in &sb.ips {
            match spec.subdomain.as_deref().filter(|s| !s.is_empty()) {
                Some(sub) => out.push_str(&format!(
                    "{ip}\t{hostname}.{sub}.{}.svc.{}\t{hostname}\n",
                    sb.namespace, cfg.cluster_domain
                )),
                None => out.push_str(&format!("{ip}\t{hostname}\n")),
            }
        }
    }
    let aliases = spec.host_aliases.unwrap_or_default();
    if !aliases.is_empty() {
        out.push_str("\n# Entries added by HostAliases.\n");
        for a in aliases {
            out.push_str(&format!("{}\t{}\n", a.ip, a.hostnames.unwrap_or_default().join("\t")));
        }
    }
    out
}

/// `/etc/resolv.conf` per `dnsPolicy` and `dnsConfig`, as the kubelet's dns configurer does.
pub fn resolv_conf(cfg: &SandboxConfig, pod: &Pod, host: &str) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let host_network = spec.host_network.unwrap_or(false);
    let policy = spec.dns_policy.clone().unwrap_or_else(|| "ClusterFirst".into());
    let (host_servers, host_search, host_options) = parse_resolv(host);
    let cluster = match policy.as_str() {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !host_network,
        _ => false,
    };
    let (mut servers, mut search, mut options): (Vec<String>, Vec<String>, Vec<String>) = if cluster {
        let d = &cfg.cluster_domain;
        let mut search = vec![format!("{ns}.svc.{d}"), format!("svc.{d}"), d.clone()];
        search.extend(host_search);
        (vec![cfg.cluster_dns.to_string()], search, vec!["ndots:5".into()])
    } else if policy == "None" {
        (Vec::new(), Vec::new(), Vec::new())
    } else {
        (host_servers, host_search, host_options)
    };
    if let Some(dc) = spec.dns_config {
        servers.extend(dc.nameservers.unwrap_or_default());
        search.extend(dc.searches.unwrap_or_default());
        for o in dc.options.unwrap_or_default() {
            let name = o.name.unwrap_or_default();
            options.retain(|x| x.split(':').next() != Some(name.as_str()));
            options.push(match o.value {
                Some(v) => format!("{name}:{v}"),
                None => name,
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    search.retain(|s| seen.insert(s.clone()));
    search.truncate(32);
    servers.truncate(3);
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

fn parse_resolv(text: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut servers, mut search, mut options) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => servers.extend(f.next().map(str::to_string)),
            Some("search") | Some("domain") => {
                search = f.map(str::to_string).collect();
            }
            Some("options") => options.extend(f.map(str::to_string)),
            _ => {}
        }
    }
    (servers, search, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg() -> SandboxConfig {
        SandboxConfig {
            pods_dir: "/tmp/x".into(),
            instance: "abcd".into(),
            cluster_dns: "10.43.0.10".parse().unwrap(),
            cluster_domain: "cluster.local".into(),
            host_resolv_conf: "/etc/resolv.conf".into(),
            node_ip: "10.0.0.1".parse().unwrap(),
        }
    }

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "ns1", "uid": "u1"}, "spec": spec}))
            .unwrap()
    }

    #[test]
    fn cluster_first_points_at_cluster_dns() {
        let p = pod(json!({"containers": []}));
        let r = resolv_conf(&cfg(), &p, "nameserver 1.1.1.1\nsearch corp.example\noptions edns0\n");
        assert_eq!(
            r,
            "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.43.0.10\noptions ndots:5\n"
        );
    }

    #[test]
    fn host_network_and_default_use_the_host_resolver() {
        let host = "nameserver 1.1.1.1\nsearch corp.example\n";
        let p = pod(json!({"containers": [], "hostNetwork": true}));
        assert_eq!(resolv_conf(&cfg(), &p, host), "search corp.example\nnameserver 1.1.1.1\n");
        let p = pod(json!({"containers": [], "hostNetwork": true, "dnsPolicy": "ClusterFirstWithHostNet"}));
        assert!(resolv_conf(&cfg(), &p, host).contains("nameserver 10.43.0.10"));
        let p = pod(json!({"containers": [], "dnsPolicy": "Default"}));
        assert_eq!(resolv_conf(&cfg(), &p, host), "search corp.example\nnameserver 1.1.1.1\n");
    }

    #[test]
    fn dns_none_takes_dns_config() {
        let p = pod(json!({"containers": [], "dnsPolicy": "None", "dnsConfig": {
            "nameservers": ["9.9.9.9"], "searches": ["a.b"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}}));
        assert_eq!(resolv_conf(&cfg(), &p, ""), "search a.b\nnameserver 9.9.9.9\noptions ndots:2 edns0\n");
    }

    #[test]
    fn hosts_file_has_the_pod_and_its_aliases() {
        let p = pod(json!({"containers": [], "hostname": "h", "subdomain": "sub",
            "hostAliases": [{"ip": "1.2.3.4", "hostnames": ["foo", "bar"]}]}));
        let sb = Sandbox { ips: vec!["10.42.0.7".parse().unwrap()], namespace: "ns1".into(), ..Default::default() };
        let h = hosts_file(&cfg(), &sb, &p);
        assert!(h.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"), "{h}");
        assert!(h.contains("10.42.0.7\th.sub.ns1.svc.cluster.local\th\n"), "{h}");
        assert!(h.ends_with("# Entries added by HostAliases.\n1.2.3.4\tfoo\tbar\n"), "{h}");
    }

    #[test]
    fn hostname_is_trimmed_to_63() {
        let long = "a".repeat(62) + "-bc";
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": long}, "spec": {"containers": []}})).unwrap();
        assert_eq!(pod_hostname(&p), "a".repeat(62));
    }
}
