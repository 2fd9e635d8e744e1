//! From a pod's container to the runtime's [`ContainerRequest`]: names and labels, the
//! shared namespaces of the sandbox, security context, resources and the pod's cgroup,
//! mounts of volumes, and the files the kubelet manages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, Pod, SecurityContext};

use super::sandbox::Sandbox;
use crate::runtime::container::request::{BindMount, ContainerRequest, NamespaceMode, Namespaces, Resources};

pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const LABEL_CONTAINER_NAME: &str = "io.kubernetes.container.name";
pub const LABEL_ATTEMPT: &str = "io.kubernetes.container.restartCount";
/// Whether an attach session's end closes the container's stdin (`stdinOnce`).
pub const ANNOTATION_STDIN_ONCE: &str = "io.kubernetes.container.stdinOnce";

/// The runtime name of a container's `attempt`-th run: unique per pod, container and attempt.
pub fn runtime_name(pod_uid: &str, container: &str, attempt: u32) -> String {
    let short: String = pod_uid.chars().filter(|c| c.is_ascii_alphanumeric()).take(32).collect();
    let mut c: String =
        container.chars().map(|ch| if ch.is_ascii_alphanumeric() || ch == '-' { ch } else { '-' }).collect();
    c.truncate(63);
    format!("k8s_{c}_{short}_{attempt}")
}

/// A pod's QoS class, as the API server and kubelet compute it.
pub fn qos_class(pod: &Pod) -> &'static str {
    let spec = match pod.spec.as_ref() {
        Some(s) => s,
        None => return "BestEffort",
    };
    let all: Vec<&Container> = spec.init_containers.iter().flatten().chain(spec.containers.iter()).collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &all {
        let r = c.resources.clone().unwrap_or_default();
        let req = r.requests.unwrap_or_default();
        let lim = r.limits.unwrap_or_default();
        for res in ["cpu", "memory"] {
            let (q, l) = (req.get(res).filter(|q| !is_zero(&q.0)), lim.get(res).filter(|q| !is_zero(&q.0)));
            if q.is_some() || l.is_some() {
                any = true;
            }
            match (q, l) {
                (_, None) => guaranteed = false,
                (Some(q), Some(l)) if q.0 != l.0 && parse_quantity(&q.0) != parse_quantity(&l.0) => guaranteed = false,
                _ => {}
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn is_zero(q: &str) -> bool {
    parse_quantity(q) == Some(0.0)
}

/// A quantity as a number (cores for cpu, bytes for memory).
pub fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let suffixes: [(&str, f64); 14] = [
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (s, m) in suffixes {
        if let Some(n) = q.strip_suffix(s) {
            return n.parse::<f64>().ok().map(|n| n * m);
        }
    }
    if let Some(n) = q.strip_suffix('E') {
        return n.parse::<f64>().ok().map(|n| n * 1e18);
    }
    q.parse::<f64>().ok()
}

/// The cgroup (below the instance's parent) a pod's containers go in, by QoS class, as the
/// kubelet's cgroupfs driver lays it out.
pub fn pod_cgroup(pod: &Pod) -> String {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    match qos_class(pod) {
        "Guaranteed" => format!("kubepods/pod{uid}"),
        "Burstable" => format!("kubepods/burstable/pod{uid}"),
        _ => format!("kubepods/besteffort/pod{uid}"),
    }
}

/// Remove a pod's (empty) cgroup from every hierarchy, whatever its QoS class was.
pub fn remove_pod_cgroups(paths: &crate::runtime::paths::RuntimePaths, uid: &str) {
    for qos in ["kubepods", "kubepods/burstable", "kubepods/besteffort"] {
        crate::runtime::container::cgroups::remove_parent_if_empty(&format!(
            "/{}/{qos}/pod{uid}",
            paths.cgroup_parent()
        ));
    }
}

/// Cgroup limits from a container's resources: CPU shares from the request (2 when none),
/// quota from the limit over a 100 ms period, memory limit.
pub fn resources(c: &Container) -> Resources {
    let r = c.resources.clone().unwrap_or_default();
    let req = r.requests.unwrap_or_default();
    let lim = r.limits.unwrap_or_default();
    let cpu_req = req.get("cpu").or(lim.get("cpu")).and_then(|q| parse_quantity(&q.0));
    let shares = cpu_req.map(|c| ((c * 1024.0).round() as u64).max(2)).unwrap_or(2);
    let mut out = Resources { cpu_shares: Some(shares), ..Default::default() };
    if let Some(cpu) = lim.get("cpu").and_then(|q| parse_quantity(&q.0)) {
        out.cpu_period = Some(100_000);
        out.cpu_quota = Some(((cpu * 100_000.0).round() as i64).max(1000));
    }
    if let Some(mem) = lim.get("memory").and_then(|q| parse_quantity(&q.0)) {
        out.memory_limit = Some(mem as u64);
    }
    out
}

/// The effective security context: the container's, falling back to the pod's.
fn effective_user(pod: &Pod, sc: Option<&SecurityContext>) -> (Option<i64>, Option<i64>, Option<bool>) {
    let psc = pod.spec.as_ref().and_then(|s| s.security_context.clone()).unwrap_or_default();
    let uid = sc.and_then(|s| s.run_as_user).or(psc.run_as_user);
    let gid = sc.and_then(|s| s.run_as_group).or(psc.run_as_group);
    let non_root = sc.and_then(|s| s.run_as_non_root).or(psc.run_as_non_root);
    (uid, gid, non_root)
}

/// Why a container cannot be created from its spec (`CreateContainerConfigError`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where the pieces of one container run come from.
pub struct RequestContext<'a> {
    pub pod: &'a Pod,
    pub container: &'a Container,
    pub sandbox: &'a Sandbox,
    pub attempt: u32,
    pub env: Vec<(String, String)>,
    /// Volume name → directory on the host.
    pub volumes: &'a BTreeMap<String, PathBuf>,
    /// The file bind-mounted at `terminationMessagePath`.
    pub termination_log: &'a Path,
    pub log_path: PathBuf,
    /// The image's user, for `runAsNonRoot` (`""` = root).
    pub image_user: &'a str,
}

/// Build the runtime request for one run of a container.
pub fn request(ctx: &RequestContext) -> Result<ContainerRequest, ConfigError> {
    let pod = ctx.pod;
    let c = ctx.container;
    let spec = pod.spec.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let sc = c.security_context.as_ref();
    let psc = spec.security_context.clone().unwrap_or_default();
    let (run_uid, run_gid, non_root) = effective_user(pod, sc);
    if non_root == Some(true) {
        match run_uid {
            Some(0) => {
                return Err(ConfigError(format!(
                    "container's runAsUser breaks non-root policy (pod: \"{}_{}({uid})\", container: {})",
                    pod.metadata.name.as_deref().unwrap_or(""),
                    pod.metadata.namespace.as_deref().unwrap_or(""),
                    c.name
                )));
            }
            Some(_) => {}
            None => {
                let user = ctx.image_user.split(':').next().unwrap_or("");
                if user.is_empty() || user == "0" || user == "root" {
                    return Err(ConfigError(
                        "container has runAsNonRoot and image will run as root".to_string()
                            + &format!(
                                " (pod: \"{}_{}({uid})\", container: {})",
                                pod.metadata.name.as_deref().unwrap_or(""),
                                pod.metadata.namespace.as_deref().unwrap_or(""),
                                c.name
                            ),
                    ));
                }
                if user.parse::<u64>().is_err() {
                    return Err(ConfigError(format!(
                        "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root (pod: \"{}_{}({uid})\", container: {})",
                        pod.metadata.name.as_deref().unwrap_or(""),
                        pod.metadata.namespace.as_deref().unwrap_or(""),
                        c.name
                    )));
                }
            }
        }
    }
    let user = match (run_uid, run_gid) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(g)) => {
            // A group alone keeps the image's user.
            let base = ctx.image_user.split(':').next().filter(|u| !u.is_empty()).unwrap_or("0");
            Some(format!("{base}:{g}"))
        }
        (None, None) => None,
    };
    let mut groups: Vec<u32> = psc.supplemental_groups.clone().unwrap_or_default().iter().map(|g| *g as u32).collect();
    if let Some(fs) = psc.fs_group {
        groups.push(fs as u32);
    }
    let caps = sc.and_then(|s| s.capabilities.clone()).unwrap_or_default();
    let seccomp = sc
        .and_then(|s| s.seccomp_profile.clone())
        .or(psc.seccomp_profile.clone())
        .is_some_and(|p| p.type_ == "RuntimeDefault");
    let privileged = sc.and_then(|s| s.privileged).unwrap_or(false);

    let mut mounts = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let Some(dir) = ctx.volumes.get(&m.name) else {
            return Err(ConfigError(format!("cannot find volume {:?} to mount into container {:?}", m.name, c.name)));
        };
        let source = match m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            Some(sub) => {
                let sub = expand_sub_path(sub, &ctx.env);
                super::volumes::sub_path(dir, &sub).map_err(|e| ConfigError(e.for_mount(&m.name, &c.name)))?
            }
            None => dir.clone(),
        };
        mounts.push(BindMount {
            source,
            destination: PathBuf::from(&m.mount_path),
            read_only: m.read_only.unwrap_or(false),
        });
    }
    let tm_path = c.termination_message_path.clone().unwrap_or_else(|| "/dev/termination-log".into());
    if !tm_path.is_empty() && !mounts.iter().any(|m| m.destination == Path::new(&tm_path)) {
        mounts.push(BindMount {
            source: ctx.termination_log.to_path_buf(),
            destination: tm_path.into(),
            read_only: false,
        });
    }

    let sb = ctx.sandbox;
    let network = if sb.host_network { NamespaceMode::Host } else { NamespaceMode::Path(sb.netns_path()) };
    let uts = if sb.host_network { NamespaceMode::Host } else { NamespaceMode::Path(sb.uts_ns()) };
    let ipc = if sb.host_ipc {
        NamespaceMode::Host
    } else if sb.host_network {
        NamespaceMode::Private
    } else {
        NamespaceMode::Path(sb.ipc_ns())
    };
    let pid = match sb.pid_ns() {
        _ if spec.host_pid.unwrap_or(false) => NamespaceMode::Host,
        Some(path) => NamespaceMode::Path(path),
        None => NamespaceMode::Private,
    };

    let labels: BTreeMap<String, String> = [
        (LABEL_POD_UID, uid.clone()),
        (LABEL_POD_NAME, pod.metadata.name.clone().unwrap_or_default()),
        (LABEL_POD_NAMESPACE, pod.metadata.namespace.clone().unwrap_or_default()),
        (LABEL_CONTAINER_NAME, c.name.clone()),
        (LABEL_ATTEMPT, ctx.attempt.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok(ContainerRequest {
        name: runtime_name(&uid, &c.name, ctx.attempt),
        command: super::env::expand_command(c.command.as_deref().unwrap_or(&[]), &ctx.env),
        args: super::env::expand_command(c.args.as_deref().unwrap_or(&[]), &ctx.env),
        env: ctx.env.clone(),
        working_dir: c.working_dir.clone().filter(|w| !w.is_empty()),
        user,
        supplemental_groups: groups,
        hostname: None,
        tty: c.tty.unwrap_or(false),
        stdin: c.stdin.unwrap_or(false),
        privileged,
        read_only_rootfs: sc.and_then(|s| s.read_only_root_filesystem).unwrap_or(false),
        cap_add: caps.add.unwrap_or_default(),
        cap_drop: caps.drop.unwrap_or_default(),
        no_new_privileges: sc.and_then(|s| s.allow_privilege_escalation) == Some(false),
        seccomp_default: seccomp && !privileged,
        mounts,
        namespaces: Namespaces { network, ipc, uts, pid },
        resources: resources(c),
        hosts_file: Some(sb.hosts()),
        resolv_conf: Some(sb.resolv_conf()),
        hostname_file: Some(sb.hostname_file()),
        shm_dir: if sb.host_ipc { Some(PathBuf::from("/dev/shm")) } else { Some(sb.shm()) },
        log_path: Some(ctx.log_path.clone()),
        cgroup_parent: Some(pod_cgroup(pod)),
        labels,
        annotations: [(ANNOTATION_STDIN_ONCE.to_string(), c.stdin_once.unwrap_or(false).to_string())]
            .into_iter()
            .collect(),
    })
}

/// `subPathExpr`-style `$(VAR)` references in a sub path.
fn expand_sub_path(sub: &str, env: &[(String, String)]) -> String {
    super::env::expand_command(&[sub.to_string()], env).pop().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "n", "uid": "u-1"},
            "spec": {"containers": containers}}))
        .unwrap()
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&pod(json!([{"name": "a"}]))), "BestEffort");
        assert_eq!(qos_class(&pod(json!([{"name": "a", "resources": {"requests": {"cpu": "100m"}}}]))), "Burstable");
        assert_eq!(
            qos_class(&pod(json!([{"name": "a", "resources": {
                "requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}}}]))),
            "Guaranteed"
        );
        assert_eq!(pod_cgroup(&pod(json!([{"name": "a"}]))), "kubepods/besteffort/podu-1");
    }

    #[test]
    fn resources_to_cgroups() {
        let c: Container = serde_json::from_value(json!({"name": "a", "resources": {
            "requests": {"cpu": "250m"}, "limits": {"cpu": "500m", "memory": "64Mi"}}}))
        .unwrap();
        let r = resources(&c);
        assert_eq!(r.cpu_shares, Some(256));
        assert_eq!(r.cpu_quota, Some(50_000));
        assert_eq!(r.cpu_period, Some(100_000));
        assert_eq!(r.memory_limit, Some(64 * 1024 * 1024));
        let none: Container = serde_json::from_value(json!({"name": "a"})).unwrap();
        assert_eq!(resources(&none).cpu_shares, Some(2));
    }

    #[test]
    fn runtime_names_are_valid() {
        let n = runtime_name("0f2c-11", "web.app", 3);
        assert_eq!(n, "k8s_web-app_0f2c11_3");
    }
}
