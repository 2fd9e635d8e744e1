//! Filters and scores, named and worded as kube-scheduler's plugins (NodeName,
//! NodeUnschedulable, NodeAffinity, TaintToleration, NodeResourcesFit, NodePorts,
//! InterPodAffinity; least-allocated and balanced-allocation scoring), so that a
//! `FailedScheduling` event reads as it would in any cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, Pod, PodAffinityTerm, Taint, Toleration};
use serde_json::Value;

use super::cache::NodeInfo;
use super::resources::{Amounts, host_ports, pod_requests, ports_conflict};
use crate::registry::selector::LabelSelector;

/// Labels of namespaces, for namespace selectors in affinity terms.
pub type NamespaceLabels = BTreeMap<String, BTreeMap<String, String>>;

fn requirement_matches(req: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = req.values.clone().unwrap_or_default();
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !value.is_some_and(|v| values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) =
                (value.and_then(|v| v.parse::<i64>().ok()), values.first().and_then(|b| b.parse::<i64>().ok()))
            else {
                return false;
            };
            if req.operator == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

/// Whether a node matches one node selector term (all its expressions and fields).
pub fn term_matches(term: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    let labels = node.labels();
    let exprs = term.match_expressions.iter().flatten();
    let fields = term.match_fields.iter().flatten();
    if term.match_expressions.as_ref().is_none_or(|e| e.is_empty())
        && term.match_fields.as_ref().is_none_or(|f| f.is_empty())
    {
        return false;
    }
    exprs.clone().all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.clone().all(|r| r.key == "metadata.name" && requirement_matches(r, Some(node.name())))
}

/// NodeSelector and required node affinity.
fn node_affinity_ok(pod: &Pod, node: &NodeInfo) -> bool {
    let spec = pod.spec.as_ref();
    let labels = node.labels();
    if let Some(sel) = spec.and_then(|s| s.node_selector.as_ref())
        && !sel.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    let required = spec
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref());
    match required {
        Some(r) => r.node_selector_terms.iter().any(|t| term_matches(t, node)),
        None => true,
    }
}

/// Whether a toleration tolerates a taint.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty())
        && e != taint.effect
    {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => key.is_empty() || key == taint.key,
        _ => key == taint.key && t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
    }
}

fn untolerated<'a>(pod: &Pod, node: &'a NodeInfo, effects: &[&str]) -> Vec<&'a Taint> {
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
    node.node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|taints| {
            taints
                .iter()
                .filter(|t| effects.contains(&t.effect.as_str()))
                .filter(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
                .collect()
        })
        .unwrap_or_default()
}

fn selects(term: &PodAffinityTerm, owner: &Pod, candidate: &Pod, ns_labels: &NamespaceLabels) -> bool {
    let owner_ns = owner.metadata.namespace.as_deref().unwrap_or("default");
    let cand_ns = candidate.metadata.namespace.as_deref().unwrap_or("default");
    let in_namespaces = match (&term.namespaces, &term.namespace_selector) {
        (Some(list), _) if !list.is_empty() && list.iter().any(|n| n == cand_ns) => true,
        (_, Some(sel)) => {
            let sel = serde_json::to_value(sel).ok().and_then(|v| LabelSelector::from_object(&v).ok());
            let labels: serde_json::Map<String, Value> = ns_labels
                .get(cand_ns)
                .map(|l| l.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
                .unwrap_or_default();
            sel.is_some_and(|s| s.matches(Some(&labels)))
        }
        (Some(list), None) if !list.is_empty() => false,
        _ => owner_ns == cand_ns,
    };
    if !in_namespaces {
        return false;
    }
    let Some(sel) = term.label_selector.as_ref() else { return false };
    let Some(sel) = serde_json::to_value(sel).ok().and_then(|v| LabelSelector::from_object(&v).ok()) else {
        return false;
    };
    let labels: serde_json::Map<String, Value> =
        candidate.metadata.labels.iter().flatten().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    sel.matches(Some(&labels))
}

fn same_topology(a: &NodeInfo, b: &NodeInfo, key: &str) -> bool {
    match (a.labels().get(key), b.labels().get(key)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Why a node cannot take a pod: the reasons kube-scheduler would print, or none.
pub fn filter(pod: &Pod, node: &NodeInfo, all: &[NodeInfo], ns_labels: &NamespaceLabels) -> Vec<String> {
    let mut why = Vec::new();
    let spec = pod.spec.as_ref();
    if let Some(n) = spec.and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
        && n != node.name()
    {
        return vec!["node(s) didn't match the requested node name".into()];
    }
    let unschedulable = node.node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
    if unschedulable {
        let taint =
            Taint { key: "node.kubernetes.io/unschedulable".into(), effect: "NoSchedule".into(), ..Default::default() };
        let tolerated =
            spec.and_then(|s| s.tolerations.as_ref()).is_some_and(|ts| ts.iter().any(|t| tolerates(t, &taint)));
        if !tolerated {
            why.push("node(s) were unschedulable".into());
            return why;
        }
    }
    if !node_affinity_ok(pod, node) {
        why.push("node(s) didn't match Pod's node affinity/selector".into());
        return why;
    }
    if let Some(t) = untolerated(pod, node, &["NoSchedule", "NoExecute"]).first() {
        why.push(format!("node(s) had untolerated taint {{{}: {}}}", t.key, t.value.as_deref().unwrap_or("")));
        return why;
    }
    // NodeResourcesFit.
    if node.pods.len() as i128 + 1 > node.max_pods() {
        why.push("Too many pods".into());
    }
    let wanted = pod_requests(pod);
    for (res, want) in &wanted {
        if *want == 0 {
            continue;
        }
        let free = node.allocatable.get(res).copied().unwrap_or(0) - node.requested.get(res).copied().unwrap_or(0);
        if *want > free {
            why.push(format!("Insufficient {res}"));
        }
    }
    if !why.is_empty() {
        return why;
    }
    // NodePorts.
    let wanted_ports = host_ports(pod);
    if wanted_ports.iter().any(|w| node.host_ports.iter().any(|h| ports_conflict(w, h))) {
        return vec!["node(s) didn't have free ports for the requested pod ports".into()];
    }
    // InterPodAffinity: existing pods' required anti-affinity.
    for other in all {
        for existing in &other.pods {
            let terms = existing
                .spec
                .as_ref()
                .and_then(|s| s.affinity.as_ref())
                .and_then(|a| a.pod_anti_affinity.as_ref())
                .and_then(|a| a.required_during_scheduling_ignored_during_execution.clone())
                .unwrap_or_default();
            if terms.iter().any(|t| selects(t, existing, pod, ns_labels) && same_topology(other, node, &t.topology_key))
            {
                return vec!["node(s) didn't satisfy existing pods anti-affinity rules".into()];
            }
        }
    }
    let affinity = spec.and_then(|s| s.affinity.as_ref());
    // The incoming pod's required affinity.
    let required = affinity
        .and_then(|a| a.pod_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.clone())
        .unwrap_or_default();
    for t in &required {
        let mut any_match = false;
        let mut here = false;
        for other in all {
            for p in &other.pods {
                if selects(t, pod, p, ns_labels) {
                    any_match = true;
                    if same_topology(other, node, &t.topology_key) {
                        here = true;
                    }
                }
            }
        }
        // The first pod of a group may go anywhere its own labels satisfy the term.
        let self_match = !any_match && selects(t, pod, pod, ns_labels) && node.labels().contains_key(&t.topology_key);
        if !here && !self_match {
            return vec!["node(s) didn't match pod affinity rules".into()];
        }
    }
    let anti = affinity
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.clone())
        .unwrap_or_default();
    for t in &anti {
        for other in all {
            if same_topology(other, node, &t.topology_key) && other.pods.iter().any(|p| selects(t, pod, p, ns_labels)) {
                return vec!["node(s) didn't match pod anti-affinity rules".into()];
            }
        }
    }
    vec![]
}

fn fraction(requested: &Amounts, allocatable: &Amounts, res: &str) -> f64 {
    let a = allocatable.get(res).copied().unwrap_or(0);
    if a <= 0 {
        return 1.0;
    }
    (requested.get(res).copied().unwrap_or(0) as f64 / a as f64).min(1.0)
}

/// Score a feasible node (higher is better), as the default profile's plugins weigh them.
pub fn score(pod: &Pod, node: &NodeInfo, all: &[NodeInfo], ns_labels: &NamespaceLabels) -> f64 {
    let mut after = node.requested.clone();
    for (k, v) in pod_requests(pod) {
        *after.entry(k).or_default() += v;
    }
    // Pods without requests count as the scheduler's defaults (100m CPU, 200Mi).
    let cpu = fraction(&after, &node.allocatable, "cpu")
        .max(100.0 / node.allocatable.get("cpu").copied().unwrap_or(1000).max(1) as f64);
    let mem = fraction(&after, &node.allocatable, "memory");
    let least_allocated = ((1.0 - cpu) + (1.0 - mem)) / 2.0 * 100.0;
    let mean = (cpu + mem) / 2.0;
    let std = (((cpu - mean).powi(2) + (mem - mean).powi(2)) / 2.0).sqrt();
    let balanced = (1.0 - std) * 100.0;
    let affinity = pod.spec.as_ref().and_then(|s| s.affinity.as_ref());
    let mut preferred = 0.0;
    if let Some(terms) = affinity
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.preferred_during_scheduling_ignored_during_execution.as_ref())
    {
        preferred += terms.iter().filter(|t| term_matches(&t.preference, node)).map(|t| t.weight as f64).sum::<f64>();
    }
    let mut pod_pref = 0.0;
    if let Some(terms) = affinity
        .and_then(|a| a.pod_affinity.as_ref())
        .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())
    {
        for t in terms {
            let hits = all
                .iter()
                .filter(|o| same_topology(o, node, &t.pod_affinity_term.topology_key))
                .flat_map(|o| o.pods.iter())
                .filter(|p| selects(&t.pod_affinity_term, pod, p, ns_labels))
                .count();
            if hits > 0 {
                pod_pref += t.weight as f64;
            }
        }
    }
    if let Some(terms) = affinity
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref())
    {
        for t in terms {
            let hits = all
                .iter()
                .filter(|o| same_topology(o, node, &t.pod_affinity_term.topology_key))
                .flat_map(|o| o.pods.iter())
                .filter(|p| selects(&t.pod_affinity_term, pod, p, ns_labels))
                .count();
            if hits > 0 {
                pod_pref -= t.weight as f64;
            }
        }
    }
    let prefer_no_schedule = untolerated(pod, node, &["PreferNoSchedule"]).len() as f64;
    least_allocated + balanced + preferred + pod_pref - 50.0 * prefer_no_schedule
}

/// The FailedScheduling message: `0/N nodes are available: 1 Insufficient cpu, 2 …`.
pub fn unschedulable_message(total: usize, reasons: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let mut msg = format!("0/{total} nodes are available");
    if !parts.is_empty() {
        msg.push_str(": ");
        msg.push_str(&parts.join(", "));
    }
    msg.push('.');
    msg.push_str(&format!(
        " preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
    ));
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::cache::snapshot;
    use k8s_openapi::api::core::v1::Node;
    use serde_json::json;

    fn node(name: &str, extra: Value) -> Node {
        let mut n = json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}},
        });
        json_patch::merge(&mut n, &extra);
        serde_json::from_value(n).unwrap()
    }

    fn pod(v: Value) -> Pod {
        let mut p = json!({"metadata": {"name": "p", "namespace": "default", "uid": "u1"}, "spec": {"containers": [{"name": "c"}]}});
        json_patch::merge(&mut p, &v);
        serde_json::from_value(p).unwrap()
    }

    #[test]
    fn filters_explain_themselves() {
        let nodes = vec![
            node("a", json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}})),
            node("b", json!({"spec": {"unschedulable": true}})),
            node("c", json!({"metadata": {"labels": {"disk": "ssd"}}})),
        ];
        let infos = snapshot(&nodes, &[], &Default::default());
        let p = pod(json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "3"}}}]}}));
        let ns = NamespaceLabels::new();
        assert_eq!(filter(&p, &infos[0], &infos, &ns), vec!["node(s) had untolerated taint {dedicated: gpu}"]);
        assert_eq!(filter(&p, &infos[1], &infos, &ns), vec!["node(s) were unschedulable"]);
        assert_eq!(filter(&p, &infos[2], &infos, &ns), vec!["Insufficient cpu"]);
        let sel = pod(json!({"spec": {"nodeSelector": {"disk": "hdd"}}}));
        assert_eq!(filter(&sel, &infos[2], &infos, &ns), vec!["node(s) didn't match Pod's node affinity/selector"]);
        let tol = pod(json!({"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}}));
        assert!(filter(&tol, &infos[0], &infos, &ns).is_empty());
        let mut reasons = BTreeMap::new();
        reasons.insert("Insufficient cpu".to_string(), 1);
        reasons.insert("node(s) were unschedulable".to_string(), 2);
        assert_eq!(
            unschedulable_message(3, &reasons),
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn anti_affinity_spreads() {
        let nodes = vec![node("a", json!({})), node("b", json!({}))];
        let running =
            pod(json!({"metadata": {"name": "r", "uid": "r", "labels": {"app": "web"}}, "spec": {"nodeName": "a"}}));
        let infos = snapshot(&nodes, &[running], &Default::default());
        let p = pod(json!({"metadata": {"labels": {"app": "web"}}, "spec": {"affinity": {"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]
        }}}}));
        let ns = NamespaceLabels::new();
        assert_eq!(filter(&p, &infos[0], &infos, &ns), vec!["node(s) didn't match pod anti-affinity rules"]);
        assert!(filter(&p, &infos[1], &infos, &ns).is_empty());
    }

    #[test]
    fn host_ports_collide() {
        let nodes = vec![node("a", json!({}))];
        let running = pod(
            json!({"metadata": {"name": "r", "uid": "r"}, "spec": {"nodeName": "a", "containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}),
        );
        let infos = snapshot(&nodes, &[running], &Default::default());
        let p =
            pod(json!({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}));
        assert_eq!(
            filter(&p, &infos[0], &infos, &NamespaceLabels::new()),
            vec!["node(s) didn't have free ports for the requested pod ports"]
        );
    }
}
