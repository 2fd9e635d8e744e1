//! `kubectl patch` with the three patch types, and the status codes of bad patches.

use serde_json::{Value, json};

use crate::harness::{Server, VERSIONS};
use crate::util;

fn deployment(ns: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}, labels: {{old: "yes", keep: "yes"}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: busybox:1
        env: [{{name: A, value: "1"}}]
        ports: [{{containerPort: 8080}}]
      - name: side
        image: nginx:1
"#
    )
}

fn containers(d: &Value) -> Vec<(String, String)> {
    d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["image"].as_str().unwrap().to_string()))
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[test]
fn patch_strategic_merge_and_json() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("patch-{}", v.replace('.', "-"));
        k.ok_stdin(&["create", "-f", "-"], &deployment(&ns));
        let patch = |ty: &str, p: &str| k.ok(&["patch", "deploy", "web", "-n", &ns, &format!("--type={ty}"), "-p", p]);
        let get = || k.json(&["get", "deploy", "web", "-n", &ns, "-o", "json"]);

        // Strategic (kubectl's default): containers merge by name.
        let out =
            patch("strategic", r#"{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"nginx:2"}]}}}}"#);
        assert_eq!(out, "deployment.apps/web patched\n", "kubectl {v}");
        let d = get();
        assert_eq!(containers(&d), [pair("web", "busybox:1"), pair("side", "nginx:2")], "kubectl {v}");
        assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 8080, "kubectl {v}");
        assert_eq!(d["metadata"]["generation"], 2, "kubectl {v}");
        // A new name is added; env merges by name too.
        k.ok(&[
            "patch",
            "deploy",
            "web",
            "-n",
            &ns,
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"busybox"},{"name":"web","env":[{"name":"B","value":"2"}]}]}}}}"#,
        ]);
        let d = get();
        let names: Vec<String> = containers(&d).into_iter().map(|c| c.0).collect();
        assert_eq!(names.len(), 3, "kubectl {v}: {names:?}");
        assert!(names.contains(&"extra".to_string()), "kubectl {v}: {names:?}");
        let web = d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "web")
            .unwrap();
        let env: Vec<&str> = web["env"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(env.len(), 2, "kubectl {v}: {web}");
        assert!(env.contains(&"A") && env.contains(&"B"), "kubectl {v}: {web}");
        // $patch: delete removes one element by its key.
        patch("strategic", r#"{"spec":{"template":{"spec":{"containers":[{"name":"extra","$patch":"delete"}]}}}}"#);
        assert_eq!(containers(&get()), [pair("web", "busybox:1"), pair("side", "nginx:2")], "kubectl {v}");
        // $retainKeys (the Deployment strategy's patch strategy): switching type drops rollingUpdate.
        patch("strategic", r#"{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}"#);
        assert_eq!(get()["spec"]["strategy"], json!({"type": "Recreate"}), "kubectl {v}");
        // A no-op patch changes nothing, not even the resourceVersion.
        let before = get();
        let out = patch("strategic", r#"{"spec":{"replicas":1}}"#);
        assert_eq!(out, "deployment.apps/web patched (no change)\n", "kubectl {v}");
        assert_eq!(get()["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"], "kubectl {v}");

        // Merge patch (RFC 7386): lists are replaced whole, null deletes.
        let out = patch(
            "merge",
            r#"{"metadata":{"labels":{"old":null}},"spec":{"template":{"spec":{"containers":[{"name":"only","image":"busybox:2"}]}}}}"#,
        );
        assert_eq!(out, "deployment.apps/web patched\n", "kubectl {v}");
        let d = get();
        assert_eq!(containers(&d), [pair("only", "busybox:2")], "kubectl {v}");
        assert_eq!(d["metadata"]["labels"], json!({"keep": "yes"}), "kubectl {v}");

        // JSON patch (RFC 6902).
        patch(
            "json",
            r#"[{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels/new","value":"y"},{"op":"remove","path":"/metadata/labels/keep"},{"op":"add","path":"/spec/template/spec/containers/-","value":{"name":"two","image":"busybox"}}]"#,
        );
        let d = get();
        assert_eq!(d["spec"]["replicas"], 4, "kubectl {v}");
        assert_eq!(d["metadata"]["labels"], json!({"new": "y"}), "kubectl {v}");
        assert_eq!(containers(&d), [pair("only", "busybox:2"), pair("two", "busybox")], "kubectl {v}");
        // A failing test operation changes nothing.
        let rv = d["metadata"]["resourceVersion"].clone();
        let err = k.fails(&[
            "patch",
            "deploy",
            "web",
            "-n",
            &ns,
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/spec/replicas","value":9},{"op":"replace","path":"/spec/replicas","value":9}]"#,
        ]);
        assert!(err.contains("The request is invalid"), "kubectl {v}: {err}");
        assert_eq!(get()["metadata"]["resourceVersion"], rv, "kubectl {v}");

        // A patch that makes the object invalid is refused with the field, and changes nothing.
        let err = k.fails(&["patch", "deploy", "web", "-n", &ns, "--type=merge", "-p", r#"{"spec":{"replicas":-1}}"#]);
        assert!(err.contains("Invalid") && err.contains("spec.replicas"), "kubectl {v}: {err}");
        assert_eq!(get()["spec"]["replicas"], 4, "kubectl {v}");
        // Patching something that does not exist.
        let err = k.fails(&["patch", "cm", "missing", "-n", &ns, "-p", r#"{"data":{"a":"b"}}"#]);
        assert!(err.contains(r#"Error from server (NotFound): configmaps "missing" not found"#), "kubectl {v}: {err}");
    }
}

#[tokio::test]
async fn bad_patches() {
    let s = Server::start();
    let c = s.client().await;
    let path = util::cm_path("default", Some("p"));
    util::post(&c, &util::cm_path("default", None), &util::configmap("default", "p", json!({"a": "1"}))).await.ok(201);
    let before = util::get(&c, &path).await.ok(200);

    // A JSON patch that is not a list of operations: 400.
    let r = util::send(&c, "PATCH", &path, Some("application/json-patch+json"), br#"{"op":"add"}"#.to_vec()).await;
    r.status(400, "BadRequest");
    // A JSON patch whose operation fails: 422 (message: see json_patch_failure_message).
    let r =
        util::patch(&c, &path, "application/json-patch+json", &json!([{"op": "remove", "path": "/data/nope"}])).await;
    r.status(422, "Invalid");
    let r = util::patch(
        &c,
        &path,
        "application/json-patch+json",
        &json!([{"op": "test", "path": "/data/a", "value": "2"}]),
    )
    .await;
    r.status(422, "Invalid");
    // A merge or strategic patch that is not JSON: 400.
    for ct in ["application/merge-patch+json", "application/strategic-merge-patch+json"] {
        let r = util::send(&c, "PATCH", &path, Some(ct), b"{not json".to_vec()).await;
        r.status(400, "BadRequest");
    }
    // A patch that renames the object: 400.
    let r = util::patch(&c, &path, "application/merge-patch+json", &json!({"metadata": {"name": "other"}})).await;
    let st = r.status(400, "BadRequest");
    assert!(st["message"].as_str().unwrap().contains("does not match the name on the URL"), "{st}");
    // A patch with a stale resourceVersion: 409 Conflict.
    let r = util::patch(
        &c,
        &path,
        "application/merge-patch+json",
        &json!({"metadata": {"resourceVersion": "1"}, "data": {"a": "x"}}),
    )
    .await;
    let st = r.status(409, "Conflict");
    assert_eq!(
        st["message"],
        r#"Operation cannot be fulfilled on configmaps "p": the object has been modified; please apply your changes to the latest version and try again"#
    );
    // A patch to an object that does not exist: 404 with the resource and name.
    let r = util::patch(&c, &util::cm_path("default", Some("nope")), "application/merge-patch+json", &json!({})).await;
    let st = r.status(404, "NotFound");
    assert_eq!(st["message"], r#"configmaps "nope" not found"#);
    assert_eq!(st["details"], json!({"name": "nope", "kind": "configmaps"}));

    // Nothing changed.
    assert_eq!(util::get(&c, &path).await.ok(200), before);
}

/// The real server answers a failing JSON patch operation with
/// `NewGenericServerResponse(422, …)`, whose message is fixed.
#[tokio::test]
async fn json_patch_failure_message() {
    let s = Server::start();
    let c = s.client().await;
    let path = util::cm_path("default", Some("p"));
    util::post(&c, &util::cm_path("default", None), &util::configmap("default", "p", json!({"a": "1"}))).await.ok(201);
    let r =
        util::patch(&c, &path, "application/json-patch+json", &json!([{"op": "remove", "path": "/data/nope"}])).await;
    let st = r.status(422, "Invalid");
    assert_eq!(st["message"], "the server rejected our request due to an error in our request", "{st}");
}
