//! This machine as a Node: registration with capacity, allocatable, addresses,
//! node info and conditions, and the heartbeat the real kubelet keeps: the Lease
//! in `kube-node-lease` renewed every 10 s, and the Node status written only when
//! it changes or every 5 minutes (`nodeStatusReportFrequency`), so an idle node
//! costs the datastore one small write per renewal and nothing more.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeCondition, NodeSpec, NodeStatus, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

/// How often the Lease is renewed (the kubelet's `nodeLeaseRenewIntervalFraction` of 40 s).
pub const LEASE_RENEW: Duration = Duration::from_secs(10);
/// Lease duration the kubelet declares.
pub const LEASE_DURATION_SECONDS: i32 = 40;
/// Unchanged node status is reported this often (`nodeStatusReportFrequency`).
pub const STATUS_REPORT: Duration = Duration::from_secs(300);

/// What the node agent knows about the machine it runs on.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub name: String,
    pub addresses: Vec<IpAddr>,
    pub kubelet_port: u16,
    pub pod_cidr: Option<String>,
    /// `true` on `coracle server` (the control-plane role label).
    pub control_plane: bool,
    pub data_dir: std::path::PathBuf,
    pub max_pods: u32,
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

fn os_image() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_else(|| "Linux".into())
}

fn mem_total_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().to_string()))
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn disk_bytes(path: &Path) -> u64 {
    nix::sys::statvfs::statvfs(path).map(|s| s.blocks() * s.fragment_size()).unwrap_or(0)
}

fn q(s: impl Into<String>) -> Quantity {
    Quantity(s.into())
}

/// Capacity and allocatable (the kubelet reserves nothing by default except the eviction threshold of 100Mi memory).
fn resources(cfg: &NodeConfig) -> (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>) {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mem = mem_total_bytes();
    let disk = disk_bytes(&cfg.data_dir);
    let pids = read_trim("/proc/sys/kernel/pid_max");
    let capacity: BTreeMap<String, Quantity> = [
        ("cpu".to_string(), q(cpus.to_string())),
        ("memory".to_string(), q(format!("{}Ki", mem / 1024))),
        ("ephemeral-storage".to_string(), q(format!("{}Ki", disk / 1024))),
        ("pods".to_string(), q(cfg.max_pods.to_string())),
        ("hugepages-2Mi".to_string(), q("0")),
        ("hugepages-1Gi".to_string(), q("0")),
    ]
    .into_iter()
    .collect();
    let mut allocatable = capacity.clone();
    allocatable.insert("memory".into(), q(format!("{}Ki", (mem / 1024).saturating_sub(100 * 1024))));
    // The default eviction threshold keeps 10% of the filesystem free.
    allocatable.insert("ephemeral-storage".into(), q((disk / 10 * 9).to_string()));
    let _ = pids;
    (capacity, allocatable)
}

fn condition(kind: &str, status: &str, reason: &str, message: &str, now: &Time) -> NodeCondition {
    NodeCondition {
        type_: kind.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

/// The Node object this agent registers.
pub fn node_object(cfg: &NodeConfig) -> Node {
    let arch = crate::apiserver::health::go_arch();
    let mut labels: BTreeMap<String, String> = [
        ("kubernetes.io/hostname", cfg.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", arch),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", arch),
        ("node.kubernetes.io/instance-type", "coracle"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if cfg.control_plane {
        labels.insert("node-role.kubernetes.io/control-plane".into(), "true".into());
    }
    let (capacity, allocatable) = resources(cfg);
    let now = Time(jiff::Timestamp::now());
    let mut addresses: Vec<NodeAddress> =
        cfg.addresses.iter().map(|a| NodeAddress { type_: "InternalIP".into(), address: a.to_string() }).collect();
    addresses.push(NodeAddress { type_: "Hostname".into(), address: cfg.name.clone() });
    let uname = nix::sys::utsname::uname().ok();
    Node {
        metadata: ObjectMeta {
            name: Some(cfg.name.clone()),
            labels: Some(labels),
            annotations: Some([("node.alpha.kubernetes.io/ttl".to_string(), "0".to_string())].into_iter().collect()),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: cfg.pod_cidr.clone(),
            pod_cidrs: cfg.pod_cidr.clone().map(|c| vec![c]),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            capacity: Some(capacity),
            allocatable: Some(allocatable),
            addresses: Some(addresses),
            conditions: Some(vec![
                condition(
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                    &now,
                ),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", &now),
                condition(
                    "PIDPressure",
                    "False",
                    "KubeletHasSufficientPID",
                    "kubelet has sufficient PID available",
                    &now,
                ),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", &now),
            ]),
            daemon_endpoints: Some(k8s_openapi::api::core::v1::NodeDaemonEndpoints {
                kubelet_endpoint: Some(k8s_openapi::api::core::v1::DaemonEndpoint { port: cfg.kubelet_port as i32 }),
            }),
            node_info: Some(NodeSystemInfo {
                architecture: arch.into(),
                boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
                container_runtime_version: format!("coracle://{}", env!("CARGO_PKG_VERSION")),
                kernel_version: uname.as_ref().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default(),
                kube_proxy_version: format!("{}+coracle", crate::apiserver::health::KUBE_VERSION),
                kubelet_version: format!("{}+coracle", crate::apiserver::health::KUBE_VERSION),
                machine_id: read_trim("/etc/machine-id"),
                operating_system: "linux".into(),
                os_image: os_image(),
                system_uuid: read_trim("/sys/class/dmi/id/product_uuid"),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// Register the Node (or take over an existing one of this name) and keep it alive.
pub async fn run(client: kube::Client, cfg: NodeConfig) {
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let mut registered: Option<String> = None;
    let mut last_reported: Option<(std::time::Instant, serde_json::Value)> = None;
    let mut tick = tokio::time::interval(LEASE_RENEW);
    loop {
        tick.tick().await;
        let want = node_object(&cfg);
        if registered.is_none() {
            match register(&nodes, &want).await {
                Ok(uid) => registered = Some(uid),
                Err(e) => {
                    tracing::warn!(node = %cfg.name, error = %e, "node registration failed; retrying");
                    continue;
                }
            }
        }
        if let Err(e) = renew_lease(&leases, &cfg.name, registered.as_deref().unwrap_or("")).await {
            tracing::warn!(node = %cfg.name, error = %e, "lease renewal failed");
        }
        // Status: only when something other than heartbeat times changed, or every 5 minutes.
        let status = serde_json::to_value(&want.status).unwrap_or_default();
        let comparable = strip_times(&status);
        let due = match &last_reported {
            None => true,
            Some((at, prev)) => *prev != comparable || at.elapsed() >= STATUS_REPORT,
        };
        if due {
            let patch = json!({"status": status});
            match nodes.patch_status(&cfg.name, &PatchParams::default(), &Patch::Strategic(&patch)).await {
                Ok(_) => last_reported = Some((std::time::Instant::now(), comparable)),
                Err(kube::Error::Api(e)) if e.code == 404 => registered = None,
                Err(e) => tracing::warn!(node = %cfg.name, error = %e, "node status update failed"),
            }
        }
    }
}

fn strip_times(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    if let Some(conds) = v.get_mut("conditions").and_then(|c| c.as_array_mut()) {
        for c in conds {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastHeartbeatTime");
                m.remove("lastTransitionTime");
            }
        }
    }
    v
}

async fn register(nodes: &Api<Node>, want: &Node) -> Result<String, kube::Error> {
    let name = want.metadata.name.clone().unwrap_or_default();
    match nodes.create(&PostParams::default(), want).await {
        Ok(n) => {
            tracing::info!(node = %name, "node registered");
            Ok(n.metadata.uid.unwrap_or_default())
        }
        Err(kube::Error::Api(e)) if e.code == 409 => {
            // Already registered (a restart): refresh labels and spec we own.
            // podCIDR is the IPAM controller's once set: never send a null that would clear it.
            let patch = json!({"metadata": {"labels": want.metadata.labels}});
            let n = nodes.patch(&name, &PatchParams::default(), &Patch::Strategic(&patch)).await?;
            Ok(n.metadata.uid.unwrap_or_default())
        }
        Err(e) => Err(e),
    }
}

async fn renew_lease(leases: &Api<Lease>, node: &str, node_uid: &str) -> Result<(), kube::Error> {
    let now = MicroTime(jiff::Timestamp::now());
    match leases.get_opt(node).await? {
        Some(_) => {
            let patch = json!({"spec": {"renewTime": now, "holderIdentity": node, "leaseDurationSeconds": LEASE_DURATION_SECONDS}});
            leases.patch(node, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        }
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(node.into()),
                    owner_references: Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                        api_version: "v1".into(),
                        kind: "Node".into(),
                        name: node.into(),
                        uid: node_uid.into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(node.into()),
                    lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
                    renew_time: Some(now),
                    ..Default::default()
                }),
            };
            leases.create(&PostParams::default(), &lease).await?;
        }
    }
    Ok(())
}
