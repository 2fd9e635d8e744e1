//! The node agent: registers this machine as a Node, keeps its Lease, and runs
//! the pods bound to it and the static pods of its manifests folder.
//!
//! ```text
//! pods.rs      watches this node's pods, one worker per pod, adoption and orphan cleanup
//! static_pods.rs  static pods from <data-dir>/agent/pod-manifests/ and their mirror pods
//! worker.rs    a pod's life: sandbox, volumes, init/sidecar/app containers, restarts, termination
//! status.rs    the pod status from what the worker knows (phase, conditions, container states)
//! sandbox.rs   network/IPC/UTS namespaces, CNI, /etc/hosts, resolv.conf, /dev/shm
//! pidns.rs     the holder of a pod's shared PID namespace (shareProcessNamespace)
//! container.rs pod container → runtime request (security context, resources, mounts)
//! pod_volumes.rs  a pod's volumes as directories (emptyDir, hostPath, configMap, secret, …)
//! images.rs    imagePullPolicy, pulls with back-off
//! env.rs, volumes.rs, probe/   environment, volume contents, probes
//! server.rs    the kubelet's HTTPS endpoint: logs, exec, attach, port-forward
//! ```
//!
//! The kubelet reaches the API only through `kube::Client`, and the runtime only
//! through blocking calls on the blocking thread pool.

pub mod backoff;
pub mod container;
pub mod env;
pub mod events;
pub mod images;
pub mod node;
pub mod objects;
pub mod pidns;
pub mod pod_volumes;
pub mod pods;
pub mod probe;
pub mod sandbox;
pub mod server;
pub mod static_pods;
pub mod status;
pub mod volumes;
pub mod worker;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::Api;

use crate::network::cni::Cni;
use crate::runtime::container::manager::Manager;
use crate::runtime::images::ImageStore;
use crate::runtime::paths::RuntimePaths;

/// How the agent of this machine is set up.
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    pub node_name: String,
    pub data_dir: PathBuf,
    pub addresses: Vec<IpAddr>,
    pub cni_bin_dir: PathBuf,
    pub cluster_dns: IpAddr,
    pub cluster_domain: String,
    pub kubelet_port: u16,
    pub control_plane: bool,
    pub max_pods: u32,
    /// The cluster CA: clients of the kubelet endpoint must present a certificate it signed.
    pub ca_pem: String,
    /// registries.yaml for pulls (k3s's `--private-registry`): mirrors, auth and TLS.
    pub private_registry: PathBuf,
}

/// What every part of the agent shares.
pub struct Kubelet {
    pub client: kube::Client,
    pub cfg: KubeletConfig,
    pub paths: RuntimePaths,
    pub runtime: Manager,
    pub images: Arc<ImageStore>,
    pub cni: Cni,
    pub sandbox: sandbox::SandboxConfig,
    pub recorder: events::Recorder,
    pub node_ip: IpAddr,
    /// Root of the CRI log folders (`/var/log/pods` for the default data dir).
    pub logs_dir: PathBuf,
    pub image_backoff: images::PullBackoff,
    pub tokens: pod_volumes::TokenCache,
    /// Static pods and their mirror pods.
    pub static_pods: static_pods::StaticPods,
}

#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    #[error("node agent: {0}")]
    Setup(String),
}

impl Kubelet {
    /// Where a pod's container logs go: `<logs>/<ns>_<name>_<uid>`.
    pub fn pod_logs_dir(&self, ns: &str, name: &str, uid: &str) -> PathBuf {
        self.logs_dir.join(format!("{ns}_{name}_{uid}"))
    }
}

/// Start the agent: the Node and its Lease right away, pods once the node has its pod CIDR.
pub async fn run(client: kube::Client, cfg: KubeletConfig) -> Result<(), KubeletError> {
    let paths = RuntimePaths::new(&cfg.data_dir);
    let node_ip = cfg.addresses.first().copied().unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let manifests = static_pods::manifest_dir(&paths.data_dir);
    if let Err(e) = std::fs::create_dir_all(&manifests) {
        tracing::warn!(dir = %manifests.display(), error = %e, "cannot make the static pod manifests folder");
    }
    let images = ImageStore::open(&paths).map_err(|e| KubeletError::Setup(format!("image store: {e}")))?;
    let images = Arc::new(images);
    {
        let images = images.clone();
        tokio::task::spawn_blocking(move || {
            let report = images.import_airgap();
            tracing::info!(report = ?report, "airgap images imported");
        });
    }
    tokio::spawn(node::run(
        client.clone(),
        node::NodeConfig {
            name: cfg.node_name.clone(),
            addresses: cfg.addresses.clone(),
            kubelet_port: cfg.kubelet_port,
            pod_cidr: None,
            control_plane: cfg.control_plane,
            data_dir: cfg.data_dir.clone(),
            max_pods: cfg.max_pods,
        },
    ));
    let subnet = wait_for_pod_cidr(&client, &cfg.node_name).await;
    let cni = Cni::new(&paths, &cfg.cni_bin_dir, subnet);
    cni.install().map_err(|e| KubeletError::Setup(e.to_string()))?;
    let logs_dir = if paths.data_dir == std::path::Path::new("/var/lib/coracle") {
        PathBuf::from("/var/log/pods")
    } else {
        paths.agent().join("pod-logs")
    };
    let sandbox = sandbox::SandboxConfig {
        pods_dir: paths.agent().join("pods"),
        instance: paths.instance.clone(),
        cluster_dns: cfg.cluster_dns,
        cluster_domain: cfg.cluster_domain.clone(),
        host_resolv_conf: PathBuf::from("/etc/resolv.conf"),
        node_ip,
    };
    let kubelet = Arc::new(Kubelet {
        recorder: events::Recorder::new(client.clone(), &cfg.node_name),
        client,
        runtime: Manager::new(&paths),
        images,
        cni,
        sandbox,
        node_ip,
        logs_dir,
        paths,
        cfg,
        image_backoff: Default::default(),
        tokens: Default::default(),
        static_pods: Default::default(),
    });
    {
        let (k, ca) = (kubelet.clone(), kubelet.cfg.ca_pem.clone());
        tokio::spawn(async move {
            if let Err(e) = server::serve(k, ca).await {
                tracing::error!(error = %e, "the kubelet endpoint stopped");
            }
        });
    }
    pods::run(kubelet).await;
    Ok(())
}

/// The node's `spec.podCIDR`, once the node IPAM controller has given it one.
async fn wait_for_pod_cidr(client: &kube::Client, node: &str) -> ipnet::Ipv4Net {
    let nodes: Api<Node> = Api::all(client.clone());
    loop {
        if let Ok(Some(n)) = nodes.get_opt(node).await
            && let Some(cidr) = n.spec.and_then(|s| s.pod_cidr)
            && let Ok(net) = cidr.parse::<ipnet::Ipv4Net>()
        {
            return net;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
