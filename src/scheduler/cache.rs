//! The scheduler's view of the cluster: nodes with what is already placed on
//! them (pods bound there, plus the ones this scheduler just bound and has not
//! yet seen come back through its watch).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Node, Pod};

use super::resources::{Amounts, amount, host_ports, pod_requests};

/// A node and its load.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub node: Node,
    pub allocatable: Amounts,
    pub requested: Amounts,
    pub pods: Vec<Pod>,
    pub host_ports: Vec<(String, String, i32)>,
}

impl NodeInfo {
    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        self.node.metadata.labels.clone().unwrap_or_default()
    }

    /// Allocatable pods (defaults to 110 when the node does not say).
    pub fn max_pods(&self) -> i128 {
        self.allocatable.get("pods").copied().unwrap_or(110)
    }
}

/// Whether a pod still occupies its node (not finished, not gone).
pub fn occupies_node(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
    !matches!(phase, "Succeeded" | "Failed")
}

/// Build node infos from the nodes and the pods bound to them.
pub fn snapshot(nodes: &[Node], pods: &[Pod], assumed: &HashMap<String, (String, Pod)>) -> Vec<NodeInfo> {
    let mut infos: Vec<NodeInfo> = nodes
        .iter()
        .map(|n| {
            let allocatable = n
                .status
                .as_ref()
                .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()))
                .map(|a| a.iter().map(|(k, q)| (k.clone(), amount(k, q))).collect())
                .unwrap_or_default();
            NodeInfo { node: n.clone(), allocatable, requested: Amounts::new(), pods: vec![], host_ports: vec![] }
        })
        .collect();
    let index: HashMap<String, usize> = infos.iter().enumerate().map(|(i, n)| (n.name().to_string(), i)).collect();
    let mut seen = std::collections::HashSet::new();
    let placed = pods
        .iter()
        .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()).map(|n| (n, p.clone())))
        .chain(assumed.values().cloned());
    for (node, pod) in placed {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if !occupies_node(&pod) || !seen.insert(uid) {
            continue;
        }
        if let Some(&i) = index.get(&node) {
            let info = &mut infos[i];
            for (k, v) in pod_requests(&pod) {
                *info.requested.entry(k).or_default() += v;
            }
            info.host_ports.extend(host_ports(&pod));
            info.pods.push(pod);
        }
    }
    infos
}
