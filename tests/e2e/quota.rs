//! ResourceQuota: admission refuses writes over a quota with the real messages, the quota
//! controller keeps `status.hard`/`status.used` up to date, scopes and scope selectors pick
//! the pods a quota counts, and quota specs that make no sense are refused. Driven by real
//! kubectl 1.33 against a control-plane-only server (pods are created, never run).
//!
//! The Kubernetes conformance tests of test/e2e/apimachinery/resource_quota.go, and where
//! each behaviour they check is covered here:
//! - "should create a ResourceQuota and ensure its status is promptly calculated":
//!   `object_counts_are_tracked_and_enforced` (status.hard copied, `resourcequotas` used).
//! - "... capture the life of a service": `object_counts_are_tracked_and_enforced`
//!   (services, services.nodeports, a LoadBalancer refused over the node port quota,
//!   usage released on delete).
//! - "... capture the life of a secret": `object_counts_are_tracked_and_enforced`.
//! - "... capture the life of a configMap": `object_counts_are_tracked_and_enforced`.
//! - "... capture the life of a replication controller": `object_counts_are_tracked_and_enforced`.
//! - "... capture the life of a replica set" (`count/replicasets.apps`):
//!   `object_counts_are_tracked_and_enforced`.
//! - "... capture the life of a pod": `compute_quotas_track_pods` (cpu, memory,
//!   ephemeral storage and an extended resource; over-quota pods refused; a resource
//!   update refused and usage unchanged; usage released on delete).
//! - "should verify ResourceQuota with terminating scopes": `scopes_pick_the_pods_they_count`.
//! - "should verify ResourceQuota with best effort scope": `scopes_pick_the_pods_they_count`.
//! - "should be able to update and delete ResourceQuota": `quota_objects_update_delete_and_status`.
//! - "should manage the lifecycle of a ResourceQuota" (list by label, patch,
//!   deletecollection): `quota_objects_update_delete_and_status`.
//! - "should apply changes to a resourcequota status" (status update and patch, spec
//!   untouched, controller puts status.hard back): `quota_objects_update_delete_and_status`.
//!
//! Not conformance, covered too: PriorityClass scope selector (`scopes_pick_the_pods_they_count`),
//! persistent volume claims by storage class and custom resources' `count/<plural>.<group>`
//! (`object_counts_are_tracked_and_enforced`), invalid specs (`quota_specs_that_make_no_sense`).

use serde_json::Value;

use crate::harness::{Kubectl, Server, eventually};

/// The `status.used` of a quota.
fn used(k: &Kubectl, quota: &str) -> Value {
    k.json(&["get", "quota", quota, "-o", "json"])["status"]["used"].clone()
}

/// Wait until the quota's used values include all of `want`.
#[track_caller]
fn wait_used(k: &Kubectl, quota: &str, want: &[(&str, &str)]) {
    let mut last = Value::Null;
    let ok = (0..300).any(|_| {
        last = used(k, quota);
        let done = want.iter().all(|(r, v)| last[*r] == *v);
        if !done {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        done
    });
    assert!(ok, "quota {quota}: wanted {want:?}, used is {last}");
}

/// Run `kubectl create -f -` expecting a refusal; returns stderr. Nothing may be stored.
#[track_caller]
fn refused(k: &Kubectl, manifest: &str, kind: &str, name: &str) -> String {
    let out = k.stdin(&["create", "-f", "-"], manifest);
    assert_eq!(out.status.code(), Some(1), "create of {kind}/{name} should fail");
    assert!(!k.run(&["get", kind, name]).status.success(), "{kind}/{name} must not be stored");
    String::from_utf8_lossy(&out.stderr).trim_end().to_string()
}

fn forbidden(resource: &str, name: &str, why: &str) -> String {
    format!("Error from server (Forbidden): error when creating \"STDIN\": {resource} \"{name}\" is forbidden: {why}")
}

fn configmap(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n")
}

fn pod(name: &str, extra_spec: &str, resources: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{extra_spec}  containers:\n  - name: app\n    image: busybox\n    imagePullPolicy: IfNotPresent\n{resources}"
    )
}

/// `kubectl describe quota` shows the resource with this used and hard value.
fn described(k: &Kubectl, quota: &str, resource: &str, used: &str, hard: &str) -> bool {
    k.ok(&["describe", "quota", quota])
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == [resource, used, hard])
}

fn ready(s: &Server) -> Kubectl {
    let k = s.kubectl("1.33");
    eventually(20, "default account", || k.run(&["get", "sa", "default"]).status.success());
    eventually(20, "root CA config map", || k.run(&["get", "cm", "kube-root-ca.crt"]).status.success());
    k
}

#[test]
fn object_counts_are_tracked_and_enforced() {
    let s = Server::start();
    let k = ready(&s);
    let quota = r#"
apiVersion: v1
kind: ResourceQuota
metadata:
  name: objects
spec:
  hard:
    configmaps: "2"
    count/secrets: "1"
    services: "4"
    services.nodeports: "1"
    services.loadbalancers: "1"
    replicationcontrollers: "1"
    resourcequotas: "1"
    count/replicasets.apps: "1"
    persistentvolumeclaims: "2"
    requests.storage: 3Gi
    gold.storageclass.storage.k8s.io/requests.storage: 1Gi
"#;
    k.ok_stdin(&["create", "-f", "-"], quota);
    // The status is calculated promptly: hard is a copy of the spec, used counts what is there
    // (the namespace's root CA config map, the quota itself).
    wait_used(
        &k,
        "objects",
        &[
            ("configmaps", "1"),
            ("count/secrets", "0"),
            ("services", "1"),
            ("services.nodeports", "0"),
            ("resourcequotas", "1"),
            ("replicationcontrollers", "0"),
            ("count/replicasets.apps", "0"),
            ("persistentvolumeclaims", "0"),
            ("requests.storage", "0"),
        ],
    );
    let q = k.json(&["get", "quota", "objects", "-o", "json"]);
    assert_eq!(q["status"]["hard"], q["spec"]["hard"], "{q}");
    assert!(described(&k, "objects", "configmaps", "1", "2"));

    // Config maps: one more fits, the next is refused with the real message and not stored.
    k.ok_stdin(&["create", "-f", "-"], &configmap("one"));
    wait_used(&k, "objects", &[("configmaps", "2")]);
    assert_eq!(
        refused(&k, &configmap("two"), "configmap", "two"),
        forbidden(
            "configmaps",
            "two",
            "exceeded quota: objects, requested: configmaps=1, used: configmaps=2, limited: configmaps=2"
        )
    );
    // A server-side dry run is checked as well, and changes nothing.
    let out = k.stdin(&["create", "--dry-run=server", "-f", "-"], &configmap("two"));
    assert_eq!(out.status.code(), Some(1));
    // Deleting frees the quota.
    k.ok(&["delete", "configmap", "one"]);
    wait_used(&k, "objects", &[("configmaps", "1")]);
    eventually(10, "describe shows the freed config map", || described(&k, "objects", "configmaps", "1", "2"));
    k.ok_stdin(&["create", "--dry-run=server", "-f", "-"], &configmap("two"));
    assert_eq!(used(&k, "objects")["configmaps"], "1", "a dry run charges nothing");
    k.ok_stdin(&["create", "-f", "-"], &configmap("two"));
    wait_used(&k, "objects", &[("configmaps", "2")]);

    // Secrets by their object count name.
    k.ok(&["create", "secret", "generic", "s1", "--from-literal=a=b"]);
    wait_used(&k, "objects", &[("count/secrets", "1")]);
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s2\nstringData:\n  a: b\n";
    assert_eq!(
        refused(&k, secret, "secret", "s2"),
        forbidden(
            "secrets",
            "s2",
            "exceeded quota: objects, requested: count/secrets=1, used: count/secrets=1, limited: count/secrets=1"
        )
    );
    k.ok(&["delete", "secret", "s1"]);
    wait_used(&k, "objects", &[("count/secrets", "0")]);

    // Services (`kubernetes` is one already): a ClusterIP and a NodePort service fit; a
    // LoadBalancer needs a node port more.
    let svc = |name: &str, ty: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  type: {ty}\n  selector:\n    app: x\n  ports:\n  - port: 80\n"
        )
    };
    k.ok_stdin(&["create", "-f", "-"], &svc("plain", "ClusterIP"));
    k.ok_stdin(&["create", "-f", "-"], &svc("np", "NodePort"));
    wait_used(&k, "objects", &[("services", "3"), ("services.nodeports", "1")]);
    assert_eq!(
        refused(&k, &svc("lb", "LoadBalancer"), "service", "lb"),
        forbidden(
            "services",
            "lb",
            "exceeded quota: objects, requested: services.nodeports=1, used: services.nodeports=1, limited: services.nodeports=1"
        )
    );
    // Changing a service's type is charged too.
    let err = k.fails(&["patch", "service", "plain", "-p", r#"{"spec":{"type":"NodePort"}}"#]);
    assert!(
        err.contains("services \"plain\" is forbidden: exceeded quota: objects, requested: services.nodeports=1, used: services.nodeports=1, limited: services.nodeports=1"),
        "{err}"
    );
    k.ok(&["delete", "service", "plain", "np"]);
    wait_used(&k, "objects", &[("services", "1"), ("services.nodeports", "0")]);

    // Replication controllers, and replica sets by `count/replicasets.apps`.
    let rc = |name: &str| {
        format!(
            "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: {name}\nspec:\n  replicas: 0\n  selector:\n    app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n"
        )
    };
    k.ok_stdin(&["create", "-f", "-"], &rc("rc1"));
    wait_used(&k, "objects", &[("replicationcontrollers", "1")]);
    assert_eq!(
        refused(&k, &rc("rc2"), "replicationcontroller", "rc2"),
        forbidden(
            "replicationcontrollers",
            "rc2",
            "exceeded quota: objects, requested: replicationcontrollers=1, used: replicationcontrollers=1, limited: replicationcontrollers=1"
        )
    );
    k.ok(&["delete", "rc", "rc1"]);
    wait_used(&k, "objects", &[("replicationcontrollers", "0")]);
    let rs = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: {name}\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n"
        )
    };
    k.ok_stdin(&["create", "-f", "-"], &rs("rs1"));
    wait_used(&k, "objects", &[("count/replicasets.apps", "1")]);
    assert_eq!(
        refused(&k, &rs("rs2"), "replicaset", "rs2"),
        forbidden(
            "replicasets.apps",
            "rs2",
            "exceeded quota: objects, requested: count/replicasets.apps=1, used: count/replicasets.apps=1, limited: count/replicasets.apps=1"
        )
    );
    k.ok(&["delete", "rs", "rs1"]);
    wait_used(&k, "objects", &[("count/replicasets.apps", "0")]);

    // Persistent volume claims, by storage class too.
    let pvc = |name: &str, class: &str, size: &str| {
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  storageClassName: {class}\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {size}\n"
        )
    };
    k.ok_stdin(&["create", "-f", "-"], &pvc("gold1", "gold", "1Gi"));
    wait_used(
        &k,
        "objects",
        &[
            ("persistentvolumeclaims", "1"),
            ("requests.storage", "1Gi"),
            ("gold.storageclass.storage.k8s.io/requests.storage", "1Gi"),
        ],
    );
    assert_eq!(
        refused(&k, &pvc("gold2", "gold", "1Gi"), "pvc", "gold2"),
        forbidden(
            "persistentvolumeclaims",
            "gold2",
            "exceeded quota: objects, requested: gold.storageclass.storage.k8s.io/requests.storage=1Gi, used: gold.storageclass.storage.k8s.io/requests.storage=1Gi, limited: gold.storageclass.storage.k8s.io/requests.storage=1Gi"
        )
    );
    assert_eq!(
        refused(&k, &pvc("big", "silver", "3Gi"), "pvc", "big"),
        forbidden(
            "persistentvolumeclaims",
            "big",
            "exceeded quota: objects, requested: requests.storage=3Gi, used: requests.storage=1Gi, limited: requests.storage=3Gi"
        )
    );
    k.ok(&["delete", "pvc", "gold1", "--wait=false"]);
    eventually(30, "claim gone", || !k.run(&["get", "pvc", "gold1"]).status.success());
    wait_used(&k, "objects", &[("persistentvolumeclaims", "0"), ("requests.storage", "0")]);

    // Quotas count themselves.
    let second = "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: second\nspec:\n  hard:\n    pods: \"1\"\n";
    assert_eq!(
        refused(&k, second, "quota", "second"),
        forbidden(
            "resourcequotas",
            "second",
            "exceeded quota: objects, requested: resourcequotas=1, used: resourcequotas=1, limited: resourcequotas=1"
        )
    );

    // Custom resources are counted by `count/<plural>.<group>`.
    let crd = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;
    k.ok_stdin(&["create", "-f", "-"], crd);
    eventually(20, "widgets served", || k.run(&["get", "widgets"]).status.success());
    k.ok(&["create", "namespace", "crs"]);
    let cr_quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: widgets\n  namespace: crs\nspec:\n  hard:\n    count/widgets.example.com: \"1\"\n";
    k.ok_stdin(&["create", "-f", "-"], cr_quota);
    fn kc<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [&["-n", "crs"], args].concat()
    }
    eventually(40, "widget count calculated", || {
        k.json(&kc(&["get", "quota", "widgets", "-o", "json"]))["status"]["used"]["count/widgets.example.com"] == "0"
    });
    let widget = |name: &str| format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n");
    k.ok_stdin(&kc(&["create", "-f", "-"]), &widget("w1"));
    let out = k.stdin(&kc(&["create", "-f", "-"]), &widget("w2"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        forbidden(
            "widgets.example.com",
            "w2",
            "exceeded quota: widgets, requested: count/widgets.example.com=1, used: count/widgets.example.com=1, limited: count/widgets.example.com=1"
        )
    );
    k.ok(&kc(&["delete", "widget", "w1"]));
    eventually(40, "widget usage released", || {
        k.json(&kc(&["get", "quota", "widgets", "-o", "json"]))["status"]["used"]["count/widgets.example.com"] == "0"
    });
}

#[test]
fn compute_quotas_track_pods() {
    let s = Server::start();
    let k = ready(&s);
    let quota = r#"
apiVersion: v1
kind: ResourceQuota
metadata:
  name: compute
spec:
  hard:
    pods: "2"
    count/pods: "3"
    cpu: "1"
    requests.memory: 500Mi
    limits.memory: 1Gi
    ephemeral-storage: 50Gi
    requests.example.com/dongle: "3"
"#;
    k.ok_stdin(&["create", "-f", "-"], quota);
    wait_used(&k, "compute", &[("pods", "0"), ("cpu", "0"), ("requests.memory", "0"), ("limits.memory", "0")]);

    // A pod that leaves out what the quota constrains is refused.
    assert_eq!(
        refused(&k, &pod("bare", "", ""), "pod", "bare"),
        forbidden(
            "pods",
            "bare",
            "failed quota: compute: must specify cpu for: app; limits.memory for: app; requests.memory for: app"
        )
    );

    let fits = "    resources:\n      requests:\n        cpu: 500m\n        memory: 252Mi\n        ephemeral-storage: 30Gi\n        example.com/dongle: \"2\"\n      limits:\n        memory: 300Mi\n        example.com/dongle: \"2\"\n";
    k.ok_stdin(&["create", "-f", "-"], &pod("fits", "", fits));
    wait_used(
        &k,
        "compute",
        &[
            ("pods", "1"),
            ("count/pods", "1"),
            ("cpu", "500m"),
            ("requests.memory", "252Mi"),
            ("limits.memory", "300Mi"),
            ("ephemeral-storage", "30Gi"),
            ("requests.example.com/dongle", "2"),
        ],
    );
    assert!(described(&k, "compute", "cpu", "500m", "1"));

    // Over the remaining cpu.
    let cpu = "    resources:\n      requests:\n        cpu: 600m\n        memory: 100Mi\n      limits:\n        memory: 100Mi\n";
    assert_eq!(
        refused(&k, &pod("cpu", "", cpu), "pod", "cpu"),
        forbidden("pods", "cpu", "exceeded quota: compute, requested: cpu=600m, used: cpu=500m, limited: cpu=1")
    );
    // Over the remaining extended resource (and ephemeral storage): every exceeded resource is listed.
    let dongle = "    resources:\n      requests:\n        cpu: 100m\n        memory: 100Mi\n        ephemeral-storage: 30Gi\n        example.com/dongle: \"2\"\n      limits:\n        memory: 100Mi\n        example.com/dongle: \"2\"\n";
    assert_eq!(
        refused(&k, &pod("dongle", "", dongle), "pod", "dongle"),
        forbidden(
            "pods",
            "dongle",
            "exceeded quota: compute, requested: ephemeral-storage=30Gi,requests.example.com/dongle=2, used: ephemeral-storage=30Gi,requests.example.com/dongle=2, limited: ephemeral-storage=50Gi,requests.example.com/dongle=3"
        )
    );
    // A pod's resources cannot be changed, and the refused update leaves the usage alone.
    let err = k.fails(&[
        "patch",
        "pod",
        "fits",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/containers/0/resources/requests/cpu","value":"100m"}]"#,
    ]);
    assert!(err.contains("The Pod \"fits\" is invalid"), "{err}");
    assert_eq!(used(&k, "compute")["cpu"], "500m");

    // A pod that reached a terminal phase no longer counts as a pod, but still as an object.
    let small = "    resources:\n      requests:\n        cpu: 100m\n        memory: 10Mi\n      limits:\n        memory: 10Mi\n";
    k.ok_stdin(&["create", "-f", "-"], &pod("done", "", small));
    wait_used(&k, "compute", &[("pods", "2"), ("count/pods", "2"), ("cpu", "600m")]);
    assert_eq!(
        refused(&k, &pod("third", "", small), "pod", "third"),
        forbidden("pods", "third", "exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2")
    );
    k.ok(&["patch", "pod", "done", "--subresource=status", "-p", r#"{"status":{"phase":"Succeeded"}}"#]);
    wait_used(&k, "compute", &[("pods", "1"), ("count/pods", "2"), ("cpu", "500m")]);
    k.ok_stdin(&["create", "-f", "-"], &pod("third", "", small));
    wait_used(&k, "compute", &[("pods", "2"), ("count/pods", "3")]);

    // Deleting pods frees their share.
    k.ok(&["delete", "pod", "fits", "third", "done", "--grace-period=0", "--force"]);
    wait_used(
        &k,
        "compute",
        &[
            ("pods", "0"),
            ("count/pods", "0"),
            ("cpu", "0"),
            ("requests.memory", "0"),
            ("limits.memory", "0"),
            ("requests.example.com/dongle", "0"),
        ],
    );
}

#[test]
fn scopes_pick_the_pods_they_count() {
    let s = Server::start();
    let k = ready(&s);
    let quotas = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ResourceQuota
  metadata: {name: best-effort}
  spec:
    hard: {pods: "1"}
    scopes: [BestEffort]
- apiVersion: v1
  kind: ResourceQuota
  metadata: {name: not-best-effort}
  spec:
    hard: {pods: "5", requests.cpu: "1"}
    scopes: [NotBestEffort]
- apiVersion: v1
  kind: ResourceQuota
  metadata: {name: terminating}
  spec:
    hard: {pods: "5", limits.memory: 1Gi}
    scopes: [Terminating]
- apiVersion: v1
  kind: ResourceQuota
  metadata: {name: high-priority}
  spec:
    hard: {pods: "1"}
    scopeSelector:
      matchExpressions:
      - {scopeName: PriorityClass, operator: In, values: [high]}
"#;
    k.ok_stdin(&["create", "-f", "-"], quotas);
    for q in ["best-effort", "not-best-effort", "terminating", "high-priority"] {
        wait_used(&k, q, &[("pods", "0")]);
    }

    // A best-effort pod is counted by the BestEffort quota only.
    k.ok_stdin(&["create", "-f", "-"], &pod("be1", "", ""));
    wait_used(&k, "best-effort", &[("pods", "1")]);
    assert_eq!(
        refused(&k, &pod("be2", "", ""), "pod", "be2"),
        forbidden("pods", "be2", "exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1")
    );
    // A burstable pod by the NotBestEffort quota only (which makes it name its cpu request).
    let burstable = "    resources:\n      requests:\n        cpu: 250m\n";
    k.ok_stdin(&["create", "-f", "-"], &pod("burst", "", burstable));
    wait_used(&k, "not-best-effort", &[("pods", "1"), ("requests.cpu", "250m")]);
    assert_eq!(used(&k, "best-effort")["pods"], "1");
    let no_cpu = "    resources:\n      requests:\n        memory: 10Mi\n";
    assert_eq!(
        refused(&k, &pod("nocpu", "", no_cpu), "pod", "nocpu"),
        forbidden("pods", "nocpu", "failed quota: not-best-effort: must specify requests.cpu for: app")
    );

    // A pod with a deadline is terminating: the Terminating quota wants its memory limit.
    let deadline = "  activeDeadlineSeconds: 3600\n";
    let limited = "    resources:\n      requests:\n        cpu: 100m\n      limits:\n        memory: 200Mi\n";
    assert_eq!(
        refused(&k, &pod("term0", deadline, burstable), "pod", "term0"),
        forbidden("pods", "term0", "failed quota: terminating: must specify limits.memory for: app")
    );
    k.ok_stdin(&["create", "-f", "-"], &pod("term", deadline, limited));
    wait_used(&k, "terminating", &[("pods", "1"), ("limits.memory", "200Mi")]);
    wait_used(&k, "not-best-effort", &[("pods", "2"), ("requests.cpu", "350m")]);
    assert_eq!(used(&k, "terminating")["pods"], "1", "long-running pods are not terminating");

    // A PriorityClass scope selector counts the pods of that class.
    k.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: high\nvalue: 1000\n",
    );
    let high = "  priorityClassName: high\n";
    k.ok_stdin(&["create", "-f", "-"], &pod("high1", high, burstable));
    wait_used(&k, "high-priority", &[("pods", "1")]);
    assert_eq!(
        refused(&k, &pod("high2", high, burstable), "pod", "high2"),
        forbidden("pods", "high2", "exceeded quota: high-priority, requested: pods=1, used: pods=1, limited: pods=1")
    );

    // Deleting gives back.
    k.ok(&["delete", "pod", "be1", "term", "high1", "--grace-period=0", "--force"]);
    wait_used(&k, "best-effort", &[("pods", "0")]);
    wait_used(&k, "terminating", &[("pods", "0"), ("limits.memory", "0")]);
    wait_used(&k, "high-priority", &[("pods", "0")]);
    wait_used(&k, "not-best-effort", &[("pods", "1"), ("requests.cpu", "250m")]);
    k.ok_stdin(&["create", "-f", "-"], &pod("be2", "", ""));
}

#[test]
fn quota_objects_update_delete_and_status() {
    let s = Server::start();
    let k = ready(&s);
    let quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: rq\n  labels:\n    e2e: rq\nspec:\n  hard:\n    cpu: 500m\n    memory: 500Mi\n";
    k.ok_stdin(&["create", "-f", "-"], quota);
    eventually(20, "status.hard set", || {
        k.json(&["get", "quota", "rq", "-o", "json"])["status"]["hard"]
            == serde_json::json!({"cpu": "500m", "memory": "500Mi"})
    });
    // Listed across namespaces by label; patched; the controller follows the spec.
    let list = k.json(&["get", "quota", "-A", "-l", "e2e=rq", "-o", "json"]);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    k.ok(&[
        "patch",
        "quota",
        "rq",
        "-p",
        r#"{"metadata":{"labels":{"rq":"patched"}},"spec":{"hard":{"cpu":"1","memory":"1Gi"}}}"#,
    ]);
    eventually(20, "status.hard follows the spec", || {
        k.json(&["get", "quota", "rq", "-o", "json"])["status"]["hard"]
            == serde_json::json!({"cpu": "1", "memory": "1Gi"})
    });
    // The status can be written directly; the spec stays, and the controller puts hard back.
    let patched = k.json(&[
        "patch",
        "quota",
        "rq",
        "--subresource=status",
        "-p",
        r#"{"status":{"hard":{"cpu":"2","memory":"2Gi"}}}"#,
        "-o",
        "json",
    ]);
    assert_eq!(patched["status"]["hard"], serde_json::json!({"cpu": "2", "memory": "2Gi"}));
    assert_eq!(patched["spec"]["hard"], serde_json::json!({"cpu": "1", "memory": "1Gi"}));
    eventually(45, "the controller resets status.hard", || {
        k.json(&["get", "quota", "rq", "-o", "json"])["status"]["hard"]
            == serde_json::json!({"cpu": "1", "memory": "1Gi"})
    });
    // Scopes cannot change.
    let err = k.fails(&["patch", "quota", "rq", "-p", r#"{"spec":{"scopes":["BestEffort"],"hard":{"pods":"1"}}}"#]);
    assert!(
        err.contains("spec.scopes: Invalid value: []core.ResourceQuotaScope{\"BestEffort\"}: field is immutable"),
        "{err}"
    );
    // Delete by collection.
    k.ok(&["delete", "quota", "-l", "e2e=rq"]);
    let err = k.fails(&["get", "quota", "rq"]);
    assert!(err.contains("resourcequotas \"rq\" not found"), "{err}");
}

#[test]
fn quota_specs_that_make_no_sense() {
    let s = Server::start();
    let k = ready(&s);
    let cases: &[(&str, &str, &str)] = &[
        (
            "negative",
            "  hard:\n    pods: \"-1\"\n",
            "spec.hard[pods]: Invalid value: \"-1\": must be greater than or equal to 0",
        ),
        (
            "unknown",
            "  hard:\n    widgets: \"1\"\n",
            "\n* spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource type or fully qualified\n* spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource for quota",
        ),
        (
            "scope",
            "  hard:\n    requests.cpu: \"1\"\n  scopes: [BestEffort]\n",
            "spec.scopes: Invalid value: []core.ResourceQuotaScope{\"BestEffort\"}: unsupported scope applied to resource",
        ),
        (
            "conflict",
            "  hard:\n    pods: \"1\"\n  scopes: [Terminating, NotTerminating]\n",
            "spec.scopes: Invalid value: []core.ResourceQuotaScope{\"Terminating\", \"NotTerminating\"}: conflicting scopes",
        ),
        (
            "selector",
            "  hard:\n    pods: \"1\"\n  scopeSelector:\n    matchExpressions:\n    - {scopeName: BestEffort, operator: In, values: [x]}\n",
            "spec.scopeSelector.matchExpressions.operator: Invalid value: \"In\": must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
        ),
        (
            "novalues",
            "  hard:\n    pods: \"1\"\n  scopeSelector:\n    matchExpressions:\n    - {scopeName: PriorityClass, operator: In}\n",
            "spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
        ),
        (
            "badop",
            "  hard:\n    pods: \"1\"\n  scopeSelector:\n    matchExpressions:\n    - {scopeName: PriorityClass, operator: Maybe}\n",
            "spec.scopeSelector.matchExpressions.operator: Invalid value: \"Maybe\": not a valid selector operator",
        ),
        (
            "applied",
            "  hard:\n    configmaps: \"1\"\n  scopeSelector:\n    matchExpressions:\n    - {scopeName: PriorityClass, operator: Exists}\n",
            "spec.scopeSelector.matchExpressions: Invalid value: core.ScopeSelector{MatchExpressions:[]core.ScopedResourceSelectorRequirement{core.ScopedResourceSelectorRequirement{ScopeName:\"PriorityClass\", Operator:\"Exists\", Values:[]string(nil)}}}: unsupported scope applied to resource",
        ),
    ];
    for (name, spec, why) in cases {
        let manifest = format!("apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: {name}\nspec:\n{spec}");
        let err = refused(&k, &manifest, "quota", name);
        assert_eq!(err, format!("The ResourceQuota \"{name}\" is invalid: {why}"), "case {name}");
    }
    // A quota of zero refuses everything it names, with the 403 the real server gives.
    k.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: none\nspec:\n  hard:\n    configmaps: \"0\"\n",
    );
    eventually(20, "usage calculated", || used(&k, "none")["configmaps"] == "1");
    let out = k.run(&["create", "configmap", "c"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: failed to create configmap: configmaps \"c\" is forbidden: exceeded quota: none, requested: configmaps=1, used: configmaps=1, limited: configmaps=0"
    );
}
