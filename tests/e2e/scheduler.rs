//! The scheduler against the real server: Node objects stand in for kubelets
//! (none runs with `--disable-agent`), pods get bound through the `binding`
//! subresource, and pods that fit nowhere say why and are retried when the
//! cluster changes.

use crate::harness::{Kubectl, Server, eventually};

fn node(k: &Kubectl, name: &str, extra: &str) {
    let yaml = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {{kubernetes.io/hostname: {name}}}\n{extra}\nstatus:\n  allocatable: {{cpu: \"2\", memory: 4Gi, pods: \"110\"}}\n  capacity: {{cpu: \"2\", memory: 4Gi, pods: \"110\"}}\n"
    );
    k.ok_stdin(&["apply", "-f", "-"], &yaml);
}

fn pod(k: &Kubectl, name: &str, spec_extra: &str) {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n  containers:\n  - name: c\n    image: busybox\n{spec_extra}\n"
    );
    k.ok_stdin(&["apply", "-f", "-"], &yaml);
}

fn node_of(k: &Kubectl, pod: &str) -> String {
    k.ok(&["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"])
}

#[test]
fn pods_are_bound_where_they_fit() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    node(&k, "plain", "");
    node(&k, "ssd", "  labels: {kubernetes.io/hostname: ssd, disk: ssd}");
    node(&k, "tainted", "spec:\n  taints: [{key: dedicated, value: gpu, effect: NoSchedule}]");

    // Node IPAM hands every node its own /24 of the cluster CIDR.
    let cidr = |n: &str| k.ok(&["get", "node", n, "-o", "jsonpath={.spec.podCIDR}"]);
    eventually(10, "pod CIDRs", || ["plain", "ssd", "tainted"].iter().all(|n| !cidr(n).is_empty()));
    let mut cidrs: Vec<String> = ["plain", "ssd", "tainted"].iter().map(|n| cidr(n)).collect();
    assert!(cidrs.iter().all(|c| c.starts_with("10.42.") && c.ends_with(".0/24")), "{cidrs:?}");
    cidrs.dedup();
    assert_eq!(cidrs.len(), 3, "distinct: {cidrs:?}");

    pod(&k, "wants-ssd", "  nodeSelector: {disk: ssd}");
    pod(&k, "by-name", "  nodeName: plain");
    pod(
        &k,
        "tolerates",
        "  tolerations: [{key: dedicated, operator: Exists}]\n  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: [tainted]}]}]",
    );
    eventually(20, "pods bound", || node_of(&k, "wants-ssd") == "ssd" && node_of(&k, "tolerates") == "tainted");
    assert_eq!(node_of(&k, "by-name"), "plain");

    // The binding is recorded the way kubectl shows it.
    let cond =
        k.ok(&["get", "pod", "wants-ssd", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].status}"]);
    assert_eq!(cond, "True");
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=wants-ssd",
        "-o",
        "custom-columns=REASON:.reason,MSG:.message",
    ]);
    assert!(
        events.contains("Scheduled") && events.contains("Successfully assigned default/wants-ssd to ssd"),
        "{events}"
    );

    // Required anti-affinity spreads pods over hostnames; host ports never collide.
    for i in 0..3 {
        pod(
            &k,
            &format!("spread-{i}"),
            "  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - labelSelector: {matchLabels: {tier: spread}}\n        topologyKey: kubernetes.io/hostname\n  tolerations: [{key: dedicated, operator: Exists}]",
        );
        k.ok(&["label", "pod", &format!("spread-{i}"), "tier=spread"]);
    }
    eventually(20, "spread pods bound", || (0..3).all(|i| !node_of(&k, &format!("spread-{i}")).is_empty()));
    let mut placed: Vec<String> = (0..3).map(|i| node_of(&k, &format!("spread-{i}"))).collect();
    placed.sort();
    placed.dedup();
    assert_eq!(placed.len(), 3, "one per node: {placed:?}");
}

#[test]
fn unschedulable_pods_explain_and_wait_for_the_cluster_to_change() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    node(&k, "small", "");
    pod(&k, "big", "    resources: {requests: {cpu: \"3\"}}");
    eventually(20, "FailedScheduling event", || {
        k.ok(&["get", "events", "--field-selector", "involvedObject.name=big,reason=FailedScheduling", "-o", "name"])
            .contains("event")
    });
    let msg = k.ok(&["get", "pod", "big", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].message}"]);
    assert_eq!(
        msg,
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
    let reason =
        k.ok(&["get", "pod", "big", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].reason}"]);
    assert_eq!(reason, "Unschedulable");
    assert!(node_of(&k, "big").is_empty());

    // An unschedulable node takes nothing; a bigger node makes the pod fit.
    node(&k, "cordoned", "spec:\n  unschedulable: true");
    let yaml = "apiVersion: v1\nkind: Node\nmetadata: {name: large, labels: {kubernetes.io/hostname: large}}\nstatus:\n  allocatable: {cpu: \"8\", memory: 16Gi, pods: \"110\"}\n  capacity: {cpu: \"8\", memory: 16Gi, pods: \"110\"}\n";
    k.ok_stdin(&["apply", "-f", "-"], yaml);
    eventually(30, "big pod bound once a node fits", || node_of(&k, "big") == "large");

    // Resources already taken count: a second big pod does not fit on what is left.
    pod(&k, "big2", "    resources: {requests: {cpu: \"6\"}}");
    eventually(20, "second FailedScheduling", || {
        k.ok(&["get", "events", "--field-selector", "involvedObject.name=big2,reason=FailedScheduling", "-o", "name"])
            .contains("event")
    });
    let msg = k.ok(&["get", "pod", "big2", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].message}"]);
    assert!(msg.starts_with("0/3 nodes are available: 2 Insufficient cpu, 1 node(s) were unschedulable."), "{msg}");
}
