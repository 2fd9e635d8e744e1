//! Deleting: `kubectl delete` with `--cascade=background|foreground|orphan` (ConfigMap owners
//! with ConfigMap dependents, followed by the garbage collector), `--wait`, finalizers,
//! `delete ns` (contents go too, a terminating namespace refuses new objects), selectors,
//! deletecollection, preconditions and server-side dry run.

use serde_json::{Value, json};

use crate::harness::{Kubectl, Server, VERSIONS, eventually};
use crate::util::{self, Background};

fn apply(k: &Kubectl, yaml: &str) {
    k.ok_stdin(&["apply", "-f", "-"], yaml);
}

fn namespace(k: &Kubectl, ns: &str) {
    apply(k, &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"));
}

fn cm(ns: &str, name: &str, extra_meta: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}{extra_meta}}}\n---\n")
}

/// An owner ConfigMap with dependents `<owner>-d0..`; returns the owner's uid.
fn family(k: &Kubectl, ns: &str, owner: &str, dependents: &[(&str, &str)]) -> String {
    apply(k, &cm(ns, owner, &format!(", labels: {{family: {owner}}}")));
    let uid = k.ok(&["get", "cm", owner, "-n", ns, "-o", "jsonpath={.metadata.uid}"]);
    let mut yaml = String::new();
    for (name, extra) in dependents {
        let owner_ref = format!(
            ", labels: {{family: {owner}}}, ownerReferences: [{{apiVersion: v1, kind: ConfigMap, name: {owner}, uid: {uid}, blockOwnerDeletion: true}}]{extra}"
        );
        yaml.push_str(&cm(ns, name, &owner_ref));
    }
    apply(k, &yaml);
    uid
}

fn exists(k: &Kubectl, ns: &str, name: &str) -> bool {
    let out = k.run(&["get", "cm", name, "-n", ns, "--ignore-not-found", "-o", "name"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    !out.stdout.is_empty()
}

fn get(k: &Kubectl, ns: &str, name: &str) -> Value {
    k.json(&["get", "cm", name, "-n", ns, "-o", "json"])
}

#[test]
fn delete_with_cascade_background_foreground_orphan() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("cascade-{}", v.replace('.', "-"));
        namespace(&k, &ns);

        // Orphan: the owner goes, its dependents stay, without the ownerReference.
        family(&k, &ns, "orphan", &[("orphan-d0", ""), ("orphan-d1", "")]);
        let out = k.ok(&["delete", "cm", "orphan", "-n", &ns, "--cascade=orphan"]);
        assert_eq!(out, "configmap \"orphan\" deleted\n", "kubectl {v}");
        assert!(!exists(&k, &ns, "orphan"), "kubectl {v}");
        for d in ["orphan-d0", "orphan-d1"] {
            let dep = get(&k, &ns, d);
            assert!(dep["metadata"].get("ownerReferences").is_none(), "kubectl {v}: {dep}");
        }

        // Background: the owner goes at once, the collector removes the dependents after.
        family(&k, &ns, "bg", &[("bg-d0", ""), ("bg-d1", "")]);
        let out = k.ok(&["delete", "cm", "bg", "-n", &ns, "--cascade=background"]);
        assert_eq!(out, "configmap \"bg\" deleted\n", "kubectl {v}");
        eventually(20, "background deletion of the dependents", || {
            k.ok(&["get", "cm", "-n", &ns, "-l", "family=bg", "-o", "name"]).is_empty()
        });
        // The collector has caught up past the orphaning: the orphans are still there.
        assert!(exists(&k, &ns, "orphan-d0") && exists(&k, &ns, "orphan-d1"), "kubectl {v}: orphans must survive");

        // Foreground: the owner waits (deletionTimestamp + foregroundDeletion finalizer) until
        // every blocking dependent is gone. One dependent holds its own finalizer.
        family(&k, &ns, "fg", &[("fg-d0", ""), ("fg-held", ", finalizers: [example.com/hold]")]);
        let out = k.ok(&["delete", "cm", "fg", "-n", &ns, "--cascade=foreground", "--wait=false"]);
        assert_eq!(out, "configmap \"fg\" deleted\n", "kubectl {v}");
        eventually(20, "foreground deletion to reach the held dependent", || {
            !exists(&k, &ns, "fg-d0") && get(&k, &ns, "fg-held")["metadata"]["deletionTimestamp"].is_string()
        });
        let owner = get(&k, &ns, "fg");
        assert!(owner["metadata"]["deletionTimestamp"].is_string(), "kubectl {v}: {owner}");
        assert_eq!(owner["metadata"]["finalizers"], json!(["foregroundDeletion"]), "kubectl {v}: {owner}");
        // Releasing the held dependent lets both go; kubectl delete --wait returns once the owner is gone.
        // (The second delete must ask for foreground again: a background one would drop the
        // foregroundDeletion finalizer and delete the owner at once, as the real server does.)
        let mut waiter =
            Background::start(&k, &["delete", "cm", "fg", "-n", &ns, "--cascade=foreground", "--timeout=30s", "-v=6"]);
        waiter.wait_for_stderr(20, "kubectl to watch for the deletion", |e| e.contains("watch=true"));
        assert!(waiter.running(), "kubectl {v}: delete --wait returned while the owner exists");
        k.ok(&["patch", "cm", "fg-held", "-n", &ns, "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
        assert_eq!(waiter.wait_exit(30), Some(0), "kubectl {v}: {}", waiter.stderr());
        assert!(!exists(&k, &ns, "fg") && !exists(&k, &ns, "fg-held"), "kubectl {v}");
    }
}

/// A three-level chain `<top>` → `<top>-mid` → `<top>-leaf`, each blocking its owner's
/// deletion; the leaf holds a finalizer so the foreground case can be watched mid-way.
fn chain(k: &Kubectl, ns: &str, top: &str, leaf_finalizer: bool) {
    apply(k, &cm(ns, top, ""));
    let owned_by = |owner: &str| {
        let uid = k.ok(&["get", "cm", owner, "-n", ns, "-o", "jsonpath={.metadata.uid}"]);
        format!(
            ", ownerReferences: [{{apiVersion: v1, kind: ConfigMap, name: {owner}, uid: {uid}, controller: true, blockOwnerDeletion: true}}]"
        )
    };
    apply(k, &cm(ns, &format!("{top}-mid"), &owned_by(top)));
    let fin = if leaf_finalizer { ", finalizers: [example.com/hold]" } else { "" };
    apply(k, &cm(ns, &format!("{top}-leaf"), &format!("{}{fin}", owned_by(&format!("{top}-mid")))));
}

#[test]
fn three_level_owner_chains_with_each_policy() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let ns = "chains";
    namespace(&k, ns);

    // Background: the top goes at once; the collector takes the middle, then the leaf.
    chain(&k, ns, "bg", false);
    k.ok(&["delete", "cm", "bg", "-n", ns, "--cascade=background"]);
    assert!(!exists(&k, ns, "bg"));
    eventually(20, "the whole chain collected", || !exists(&k, ns, "bg-mid") && !exists(&k, ns, "bg-leaf"));

    // Orphan: the top goes; the middle stays without its reference and keeps its own leaf.
    chain(&k, ns, "or", false);
    k.ok(&["delete", "cm", "or", "-n", ns, "--cascade=orphan"]);
    assert!(!exists(&k, ns, "or"));
    let mid = get(&k, ns, "or-mid");
    assert!(mid["metadata"].get("ownerReferences").is_none(), "{mid}");
    let leaf = get(&k, ns, "or-leaf");
    assert_eq!(leaf["metadata"]["ownerReferences"][0]["name"], "or-mid", "{leaf}");
    assert!(leaf["metadata"].get("deletionTimestamp").is_none(), "{leaf}");

    // Foreground: every level waits, marked for deletion, for the level below it.
    chain(&k, ns, "fg", true);
    k.ok(&["delete", "cm", "fg", "-n", ns, "--cascade=foreground", "--wait=false"]);
    eventually(20, "foreground deletion to reach the leaf", || {
        get(&k, ns, "fg-leaf")["metadata"]["deletionTimestamp"].is_string()
    });
    for name in ["fg", "fg-mid"] {
        let o = get(&k, ns, name);
        assert!(o["metadata"]["deletionTimestamp"].is_string(), "{o}");
        assert_eq!(o["metadata"]["finalizers"], json!(["foregroundDeletion"]), "{o}");
    }
    k.ok(&["patch", "cm", "fg-leaf", "-n", ns, "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    eventually(20, "the chain to go, bottom up", || {
        !exists(&k, ns, "fg") && !exists(&k, ns, "fg-mid") && !exists(&k, ns, "fg-leaf")
    });
    // The orphaned middle and its leaf were never touched.
    assert!(exists(&k, ns, "or-mid") && exists(&k, ns, "or-leaf"));
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("fin-{}", v.replace('.', "-"));
        namespace(&k, &ns);
        apply(&k, &cm(&ns, "held", ", finalizers: [example.com/a, example.com/b]"));

        let out = k.ok(&["delete", "cm", "held", "-n", &ns, "--wait=false"]);
        assert_eq!(out, "configmap \"held\" deleted\n", "kubectl {v}");
        let obj = get(&k, &ns, "held");
        assert!(obj["metadata"]["deletionTimestamp"].is_string(), "kubectl {v}: {obj}");
        assert_eq!(obj["metadata"]["deletionGracePeriodSeconds"], 0, "kubectl {v}: {obj}");
        assert_eq!(obj["metadata"]["finalizers"], json!(["example.com/a", "example.com/b"]), "kubectl {v}");
        // Deleting again changes nothing; updates still work.
        k.ok(&["delete", "cm", "held", "-n", &ns, "--wait=false"]);
        assert_eq!(
            get(&k, &ns, "held")["metadata"]["deletionTimestamp"],
            obj["metadata"]["deletionTimestamp"],
            "kubectl {v}"
        );
        k.ok(&["label", "cm", "held", "-n", &ns, "still=here"]);

        // Removing one finalizer is not enough.
        k.ok(&[
            "patch",
            "cm",
            "held",
            "-n",
            &ns,
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers/0"}]"#,
        ]);
        assert_eq!(get(&k, &ns, "held")["metadata"]["finalizers"], json!(["example.com/b"]), "kubectl {v}");

        // kubectl delete (waiting) returns when the last finalizer goes.
        let mut waiter = Background::start(&k, &["delete", "cm", "held", "-n", &ns, "--timeout=30s", "-v=6"]);
        waiter.wait_for_stderr(20, "kubectl to watch for the deletion", |e| e.contains("watch=true"));
        assert!(waiter.running(), "kubectl {v}");
        k.ok(&["patch", "cm", "held", "-n", &ns, "--type=merge", "-p", r#"{"metadata":{"finalizers":[]}}"#]);
        assert_eq!(waiter.wait_exit(30), Some(0), "kubectl {v}: {}", waiter.stderr());
        assert!(!exists(&k, &ns, "held"), "kubectl {v}");

        // --wait with a timeout fails while a finalizer holds the object.
        apply(&k, &cm(&ns, "stuck", ", finalizers: [example.com/a]"));
        let err = k.fails(&["delete", "cm", "stuck", "-n", &ns, "--timeout=300ms"]);
        assert!(err.contains("timed out waiting"), "kubectl {v}: {err}");
        assert!(exists(&k, &ns, "stuck"), "kubectl {v}");
        k.ok(&["patch", "cm", "stuck", "-n", &ns, "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
        assert!(!exists(&k, &ns, "stuck"), "kubectl {v}");
    }
}

#[tokio::test]
async fn finalizer_rules_raw() {
    let s = Server::start();
    let c = s.client().await;
    let path = util::cm_path("default", Some("f"));
    let mut body = util::configmap("default", "f", json!({}));
    body["metadata"]["finalizers"] = json!(["example.com/a"]);
    util::post(&c, &util::cm_path("default", None), &body).await.ok(201);
    // DELETE of an object with finalizers answers 200 with the object, now marked.
    let marked = util::delete(&c, &path).await.ok(200);
    assert_eq!(marked["kind"], "ConfigMap", "{marked}");
    assert!(marked["metadata"]["deletionTimestamp"].is_string(), "{marked}");
    // No new finalizers once deletion started.
    let r = util::patch(
        &c,
        &path,
        "application/merge-patch+json",
        &json!({"metadata": {"finalizers": ["example.com/a", "example.com/b"]}}),
    )
    .await;
    let st = r.status(422, "Invalid");
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .contains("metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted"),
        "{st}"
    );
    // deletionTimestamp cannot be cleared.
    let mut current = util::get(&c, &path).await.ok(200);
    current["metadata"].as_object_mut().unwrap().remove("deletionTimestamp");
    let after = util::put(&c, &path, &current).await.ok(200);
    assert_eq!(after["metadata"]["deletionTimestamp"], marked["metadata"]["deletionTimestamp"], "{after}");
    // Removing the last finalizer deletes it.
    util::patch(&c, &path, "application/merge-patch+json", &json!({"metadata": {"finalizers": null}})).await.ok(200);
    util::get(&c, &path).await.status(404, "NotFound");
}

/// The real delete handler answers 202 only when the request set orphanDependents=false.
#[tokio::test]
async fn delete_pending_finalizers_answers_200() {
    let s = Server::start();
    let c = s.client().await;
    let mut body = util::configmap("default", "f", json!({}));
    body["metadata"]["finalizers"] = json!(["example.com/a"]);
    util::post(&c, &util::cm_path("default", None), &body).await.ok(201);
    let marked = util::delete(&c, &util::cm_path("default", Some("f"))).await.ok(200);
    assert!(marked["metadata"]["deletionTimestamp"].is_string(), "{marked}");
    let body = json!({"propagationPolicy": "Foreground"}).to_string().into_bytes();
    util::send(&c, "DELETE", &util::cm_path("default", Some("f")), Some("application/json"), body).await.ok(200);
}

#[test]
fn delete_namespace_takes_its_contents() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("doomed-{}", v.replace('.', "-"));
        namespace(&k, &ns);
        apply(
            &k,
            &format!(
                "{}{}apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: {ns}}}\nstringData: {{a: b}}\n---\n\
                 apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: d}}}}\n  \
                 template:\n    metadata: {{labels: {{app: d}}}}\n    spec: {{containers: [{{name: c, image: busybox}}]}}\n---\n\
                 apiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: {ns}}}\nspec: {{ports: [{{port: 80}}]}}\n",
                cm(&ns, "plain", ""),
                cm(&ns, "held", ", finalizers: [example.com/hold]"),
            ),
        );

        let out = k.ok(&["delete", "ns", &ns, "--wait=false"]);
        assert_eq!(out, format!("namespace \"{ns}\" deleted\n"), "kubectl {v}");
        // Terminating while the held ConfigMap remains; everything else goes.
        eventually(20, "the namespace's contents to go", || {
            k.ok(&["get", "cm,secret,deploy,svc", "-n", &ns, "-o", "name"]) == "configmap/held\n"
        });
        let phase = k.ok(&["get", "ns", &ns, "-o", "jsonpath={.status.phase}"]);
        assert_eq!(phase, "Terminating", "kubectl {v}");
        let ns_obj = k.json(&["get", "ns", &ns, "-o", "json"]);
        assert!(ns_obj["metadata"]["deletionTimestamp"].is_string(), "kubectl {v}: {ns_obj}");
        assert_eq!(ns_obj["spec"]["finalizers"], json!(["kubernetes"]), "kubectl {v}: {ns_obj}");
        assert!(get(&k, &ns, "held")["metadata"]["deletionTimestamp"].is_string(), "kubectl {v}");
        let table = k.ok(&["get", "ns", &ns]);
        assert!(table.contains("Terminating"), "kubectl {v}: {table}");
        // The namespace controller says why it waits, as the real one does.
        let conditions = ns_obj["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let finalizers = conditions.iter().find(|c| c["type"] == "NamespaceFinalizersRemaining");
        let finalizers = finalizers.unwrap_or_else(|| panic!("kubectl {v}: no NamespaceFinalizersRemaining: {ns_obj}"));
        assert_eq!(finalizers["status"], "True", "kubectl {v}: {ns_obj}");
        assert_eq!(finalizers["reason"], "SomeFinalizersRemain", "kubectl {v}: {ns_obj}");
        assert!(
            finalizers["message"].as_str().unwrap().contains("example.com/hold in 1 resource instances"),
            "kubectl {v}: {ns_obj}"
        );

        // A terminating namespace refuses new objects: 403 Forbidden.
        let out = k.stdin(&["create", "-f", "-"], &cm(&ns, "late", ""));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "kubectl {v}");
        assert!(
            err.contains(&format!(
                r#"Error from server (Forbidden): error when creating "STDIN": configmaps "late" is forbidden: unable to create new content in namespace {ns} because it is being terminated"#
            )),
            "kubectl {v}: {err}"
        );

        // Releasing the last object lets the namespace go; kubectl delete ns waits for that.
        let mut waiter = Background::start(&k, &["delete", "ns", &ns, "--timeout=30s", "--ignore-not-found"]);
        k.ok(&["patch", "cm", "held", "-n", &ns, "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
        assert_eq!(waiter.wait_exit(30), Some(0), "kubectl {v}: {}", waiter.stderr());
        let err = k.fails(&["get", "ns", &ns]);
        assert!(err.contains(&format!(r#"namespaces "{ns}" not found"#)), "kubectl {v}: {err}");
        let left = k.ok(&["get", "cm", "-n", &ns, "-o", "name"]);
        assert!(left.is_empty(), "kubectl {v}: {left}");

        // And a namespace of the same name can be made again, empty: once the controllers have
        // published its root CA (and default account), nothing else is in it.
        namespace(&k, &ns);
        util::wait_root_ca(&k, &ns);
        let left = k.ok(&["get", "cm,secret", "-n", &ns, "-o", "name", util::NOT_ROOT_CA]);
        assert!(left.is_empty(), "kubectl {v}: {left}");
    }
}

#[tokio::test]
async fn system_namespaces_cannot_be_deleted() {
    let s = Server::start();
    let c = s.client().await;
    for ns in ["default", "kube-system", "kube-public"] {
        let r = util::delete(&c, &format!("/api/v1/namespaces/{ns}")).await;
        let st = r.status(403, "Forbidden");
        assert_eq!(
            st["message"],
            format!(r#"namespaces "{ns}" is forbidden: this namespace may not be deleted"#),
            "{st}"
        );
    }
    let ns = util::get(&c, "/api/v1/namespaces/default").await.ok(200);
    assert!(ns["metadata"]["deletionTimestamp"].is_null());
}

#[test]
fn delete_by_selector_and_all() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("sel-{}", v.replace('.', "-"));
        namespace(&k, &ns);
        // `--all` takes the root CA the controllers publish too: wait for it, so the output is known.
        util::wait_root_ca(&k, &ns);
        let mut yaml = String::new();
        for (n, tier) in [("a", "x"), ("b", "x"), ("c", "z"), ("d", "z")] {
            yaml.push_str(&cm(&ns, n, &format!(", labels: {{tier: {tier}}}")));
        }
        apply(&k, &yaml);
        let out = k.ok(&["delete", "cm", "-l", "tier=x", "-n", &ns]);
        assert_eq!(out, "configmap \"a\" deleted\nconfigmap \"b\" deleted\n", "kubectl {v}");
        let left = k.ok(&["get", "cm", "-n", &ns, "-o", "name", util::NOT_ROOT_CA]);
        assert_eq!(left, "configmap/c\nconfigmap/d\n", "kubectl {v}");
        let out = k.ok(&["delete", "cm", "--all", "-n", &ns, "--now"]);
        assert_eq!(
            out, "configmap \"c\" deleted\nconfigmap \"d\" deleted\nconfigmap \"kube-root-ca.crt\" deleted\n",
            "kubectl {v}"
        );
        // (The controllers publish the root CA again; nothing else comes back.)
        assert!(k.ok(&["get", "cm", "-n", &ns, "-o", "name", util::NOT_ROOT_CA]).is_empty(), "kubectl {v}");
        let err = k.fails(&["delete", "cm", "missing", "-n", &ns]);
        assert!(err.contains(r#"Error from server (NotFound): configmaps "missing" not found"#), "kubectl {v}: {err}");
        k.ok(&["delete", "cm", "missing", "-n", &ns, "--ignore-not-found"]);
    }
}

#[tokio::test]
async fn deletecollection_and_preconditions_raw() {
    let s = Server::start();
    let c = s.client().await;
    for (n, tier) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let mut body = util::configmap("default", n, json!({}));
        body["metadata"]["labels"] = json!({"tier": tier});
        util::post(&c, &util::cm_path("default", None), &body).await.ok(201);
    }
    let gone = util::delete(&c, &format!("{}?labelSelector=tier%3Dx", util::cm_path("default", None))).await.ok(200);
    assert_eq!(gone["kind"], "ConfigMapList", "{gone}");
    assert_eq!(util::names(&gone), ["a", "b"]);
    let left = util::get(&c, &util::cm_path("default", None)).await.ok(200);
    assert_eq!(util::names(&left), ["c"]);

    // Preconditions: a wrong uid or resourceVersion is a 409 Conflict, and nothing is deleted.
    let path = util::cm_path("default", Some("c"));
    let r = util::send(
        &c,
        "DELETE",
        &path,
        Some("application/json"),
        json!({"preconditions": {"uid": "wrong"}}).to_string().into_bytes(),
    )
    .await;
    let st = r.status(409, "Conflict");
    assert!(st["message"].as_str().unwrap().contains("Precondition failed: UID in precondition: wrong"), "{st}");
    let r = util::send(
        &c,
        "DELETE",
        &path,
        Some("application/json"),
        json!({"preconditions": {"resourceVersion": "1"}}).to_string().into_bytes(),
    )
    .await;
    let st = r.status(409, "Conflict");
    assert!(
        st["message"].as_str().unwrap().contains("Precondition failed: ResourceVersion in precondition: 1"),
        "{st}"
    );
    let live = util::get(&c, &path).await.ok(200);
    let uid = live["metadata"]["uid"].as_str().unwrap();
    let body = json!({"preconditions": {"uid": uid, "resourceVersion": util::rv(&live)}}).to_string().into_bytes();
    util::send(&c, "DELETE", &path, Some("application/json"), body).await.ok(200);

    // Deleting what is not there: 404 with the name.
    let st = util::delete(&c, &path).await.status(404, "NotFound");
    assert_eq!(st["message"], r#"configmaps "c" not found"#);
    assert_eq!(st["details"], json!({"name": "c", "kind": "configmaps"}));
}

/// kubectl sends `dryRun: ["All"]` inside the DeleteOptions body.
#[test]
fn delete_dry_run_keeps_the_object() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("drydel-{}", v.replace('.', "-"));
        namespace(&k, &ns);
        apply(&k, &cm(&ns, "keep", ""));
        let out = k.ok(&["delete", "cm", "keep", "-n", &ns, "--dry-run=server"]);
        assert_eq!(out, "configmap \"keep\" deleted (server dry run)\n", "kubectl {v}");
        assert!(exists(&k, &ns, "keep"), "kubectl {v}: a dry-run delete must keep the object");
        k.ok(&["delete", "cm", "--all", "-n", &ns, "--dry-run=server"]);
        assert!(exists(&k, &ns, "keep"), "kubectl {v}");
        k.ok(&["delete", "ns", &ns, "--dry-run=server"]);
        assert_eq!(k.ok(&["get", "ns", &ns, "-o", "jsonpath={.status.phase}"]), "Active", "kubectl {v}");
    }
}

#[tokio::test]
async fn delete_dry_run_in_the_query_keeps_the_object() {
    let s = Server::start();
    let c = s.client().await;
    util::post(&c, &util::cm_path("default", None), &util::configmap("default", "q", json!({}))).await.ok(201);
    let path = util::cm_path("default", Some("q"));
    util::send(&c, "DELETE", &format!("{path}?dryRun=All"), None, Vec::new()).await.ok(200);
    util::get(&c, &path).await.ok(200);
    util::send(&c, "DELETE", &format!("{}?dryRun=All", util::cm_path("default", None)), None, Vec::new()).await.ok(200);
    util::get(&c, &path).await.ok(200);
}
