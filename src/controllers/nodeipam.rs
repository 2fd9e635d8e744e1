//! Node IPAM: every Node gets a /24 of the cluster CIDR as its `spec.podCIDR`
//! (k3s hands out 10.42.0.0/24, 10.42.1.0/24, …), which its agent's CNI uses.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ipnet::Ipv4Net;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;

/// Size of each node's slice.
const NODE_PREFIX: u8 = 24;

struct Ctx {
    client: kube::Client,
    cluster_cidr: Ipv4Net,
    /// Serializes allocation (one controller instance; reconciles may run concurrently).
    lock: tokio::sync::Mutex<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("cluster CIDR {0} has no free /{NODE_PREFIX} for another node")]
    Full(Ipv4Net),
}

pub async fn run(client: kube::Client, cluster_cidr: Ipv4Net) {
    let ctx = Arc::new(Ctx { client: client.clone(), cluster_cidr, lock: tokio::sync::Mutex::new(()) });
    Controller::new(Api::<Node>::all(client), watcher::Config::default())
        .run(
            reconcile,
            |_, e, _| {
                tracing::warn!(error = %e, "node IPAM will retry");
                Action::requeue(Duration::from_secs(5))
            },
            ctx,
        )
        .for_each(|_| async {})
        .await;
}

async fn reconcile(node: Arc<Node>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if node.spec.as_ref().and_then(|s| s.pod_cidr.as_ref()).is_some_and(|c| !c.is_empty()) {
        return Ok(Action::await_change());
    }
    let _guard = ctx.lock.lock().await;
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    let used: HashSet<String> = nodes
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter_map(|n| n.spec.as_ref().and_then(|s| s.pod_cidr.clone()))
        .collect();
    let subnets = ctx
        .cluster_cidr
        .subnets(NODE_PREFIX.max(ctx.cluster_cidr.prefix_len()))
        .map_err(|_| Error::Full(ctx.cluster_cidr))?;
    let free = subnets.map(|s| s.to_string()).find(|s| !used.contains(s)).ok_or(Error::Full(ctx.cluster_cidr))?;
    let name = node.metadata.name.clone().unwrap_or_default();
    let patch = json!({"spec": {"podCIDR": free, "podCIDRs": [free]}});
    nodes.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    tracing::info!(node = %name, pod_cidr = %free, "assigned pod CIDR");
    Ok(Action::await_change())
}
