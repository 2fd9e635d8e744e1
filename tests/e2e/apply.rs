//! `kubectl apply` (client-side: create, update, removing fields), `apply --server-side`
//! with field managers and conflicts, and `kubectl diff`.

use serde_json::{Value, json};

use crate::harness::{Kubectl, Server, VERSIONS};
use crate::util;

fn app(ns: &str, labels: &str, data: &str, ports: &str, containers_extra: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: {ns}
  labels: {{{labels}}}
data: {{{data}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: busybox:1
        ports: [{ports}]
{containers_extra}"#
    )
}

const SIDE: &str = "      - {name: side, image: nginx:1}\n";

fn namespace(k: &Kubectl, ns: &str) {
    k.ok_stdin(&["apply", "-f", "-"], &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"));
}

fn ports(d: &Value) -> Vec<i64> {
    d["spec"]["template"]["spec"]["containers"][0]["ports"]
        .as_array()
        .map(|a| a.iter().map(|p| p["containerPort"].as_i64().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn client_side_apply_creates_updates_and_removes_fields() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("apply-{}", v.replace('.', "-"));
        namespace(&k, &ns);
        let first = app(&ns, "a: '1', b: '2'", "x: '1', z: '2'", "{containerPort: 8080}, {containerPort: 9090}", SIDE);
        let out = k.ok_stdin(&["apply", "-f", "-"], &first);
        assert_eq!(out, "configmap/app-config created\ndeployment.apps/web created\n", "kubectl {v}");
        let cm = k.json(&["get", "cm", "app-config", "-n", &ns, "-o", "json", "--show-managed-fields"]);
        let last = cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].as_str().unwrap();
        let last: Value = serde_json::from_str(last).unwrap();
        assert_eq!(last["data"], json!({"x": "1", "z": "2"}), "kubectl {v}");
        assert!(
            cm["metadata"]["managedFields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["manager"] == "kubectl-client-side-apply"),
            "kubectl {v}: {cm}"
        );

        let out = k.ok_stdin(&["apply", "-f", "-"], &first);
        assert_eq!(out, "configmap/app-config unchanged\ndeployment.apps/web unchanged\n", "kubectl {v}");

        // Someone else adds a label the file does not mention: apply keeps it.
        k.ok(&["label", "cm", "app-config", "-n", &ns, "extra=kept"]);

        // The file drops label b, data z, port 9090 and the side container, and changes x and the image.
        let second = app(&ns, "a: '1'", "x: '2'", "{containerPort: 8080}", "").replace("busybox:1", "busybox:2");
        let out = k.ok_stdin(&["apply", "-f", "-"], &second);
        assert_eq!(out, "configmap/app-config configured\ndeployment.apps/web configured\n", "kubectl {v}");
        let cm = k.json(&["get", "cm", "app-config", "-n", &ns, "-o", "json"]);
        assert_eq!(cm["metadata"]["labels"], json!({"a": "1", "extra": "kept"}), "kubectl {v}");
        assert_eq!(cm["data"], json!({"x": "2"}), "kubectl {v}");
        let d = k.json(&["get", "deploy", "web", "-n", &ns, "-o", "json"]);
        assert_eq!(ports(&d), [8080], "kubectl {v}: the removed port is gone");
        let containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap();
        assert_eq!(containers.len(), 1, "kubectl {v}: {d}");
        assert_eq!(containers[0]["image"], "busybox:2", "kubectl {v}");
        assert_eq!(d["metadata"]["generation"], 2, "kubectl {v}");

        // A label removed from the file in a later apply disappears too.
        let third = app(&ns, "", "x: '2'", "{containerPort: 8080}, {containerPort: 7070}", "");
        k.ok_stdin(&["apply", "-f", "-"], &third.replace("busybox:1", "busybox:2"));
        let cm = k.json(&["get", "cm", "app-config", "-n", &ns, "-o", "json"]);
        assert_eq!(cm["metadata"]["labels"], json!({"extra": "kept"}), "kubectl {v}");
        let d = k.json(&["get", "deploy", "web", "-n", &ns, "-o", "json"]);
        assert_eq!(ports(&d), [8080, 7070], "kubectl {v}");
        let err = String::from_utf8_lossy(&k.stdin(&["apply", "-f", "-"], &third).stderr).into_owned();
        assert!(!err.contains("Warning"), "kubectl {v}: apply warns: {err}");
    }
}

#[test]
fn server_side_apply_with_conflicts() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("ssa-{}", v.replace('.', "-"));
        namespace(&k, &ns);
        let cm = |data: &str| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ssa, namespace: {ns}}}\ndata: {{{data}}}\n")
        };
        let out = k.ok_stdin(&["apply", "--server-side", "-f", "-"], &cm("x: '1', z: '2'"));
        assert_eq!(out, "configmap/ssa serverside-applied\n", "kubectl {v}");
        let live = k.json(&["get", "cm", "ssa", "-n", &ns, "-o", "json", "--show-managed-fields"]);
        let mf = live["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 1, "kubectl {v}: {live}");
        assert_eq!(mf[0]["manager"], "kubectl", "kubectl {v}");
        assert_eq!(mf[0]["operation"], "Apply", "kubectl {v}");
        assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {"f:x": {}, "f:z": {}}}), "kubectl {v}");
        assert!(live["metadata"]["annotations"].is_null(), "kubectl {v}: no last-applied annotation: {live}");
        // By default kubectl hides managedFields.
        let plain = k.json(&["get", "cm", "ssa", "-n", &ns, "-o", "json"]);
        assert!(plain["metadata"].get("managedFields").is_none(), "kubectl {v}");

        // Dropping z from the applied config removes it (kubectl is its only manager).
        k.ok_stdin(&["apply", "--server-side", "-f", "-"], &cm("x: '1'"));
        assert_eq!(k.json(&["get", "cm", "ssa", "-n", &ns, "-o", "json"])["data"], json!({"x": "1"}), "kubectl {v}");

        // Another manager setting x to something else: conflict, nothing changes.
        let out = k.stdin(&["apply", "--server-side", "--field-manager=other", "-f", "-"], &cm("x: 'other'"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "kubectl {v}");
        assert!(
            err.contains(r#"Apply failed with 1 conflict: conflict with "kubectl": .data.x"#),
            "kubectl {v}: {err}"
        );
        assert!(err.contains("--force-conflicts"), "kubectl {v}: kubectl explains what to do: {err}");
        assert_eq!(k.ok(&["get", "cm", "ssa", "-n", &ns, "-o", "jsonpath={.data.x}"]), "1", "kubectl {v}");

        // The same value is no conflict: ownership is shared.
        k.ok_stdin(&["apply", "--server-side", "--field-manager=agree", "-f", "-"], &cm("x: '1'"));

        // --force-conflicts takes the field over.
        let out = k.ok_stdin(
            &["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"],
            &cm("x: 'other'"),
        );
        assert_eq!(out, "configmap/ssa serverside-applied\n", "kubectl {v}");
        let live = k.json(&["get", "cm", "ssa", "-n", &ns, "-o", "json", "--show-managed-fields"]);
        assert_eq!(live["data"]["x"], "other", "kubectl {v}");
        let owners: Vec<&str> = live["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["fieldsV1"]["f:data"].get("f:x").is_some())
            .map(|m| m["manager"].as_str().unwrap())
            .collect();
        assert_eq!(owners, ["other"], "kubectl {v}: {live}");

        // And kubectl, which lost x, now conflicts in turn.
        let err = String::from_utf8_lossy(&k.stdin(&["apply", "--server-side", "-f", "-"], &cm("x: '1'")).stderr)
            .into_owned();
        assert!(err.contains(r#"conflict with "other""#), "kubectl {v}: {err}");
    }
}

#[tokio::test]
async fn server_side_apply_raw_status() {
    let s = Server::start();
    let c = s.client().await;
    let path = util::cm_path("default", Some("raw"));
    let apply = |manager: &str, force: bool, x: &str| {
        let body = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\ndata:\n  x: {x:?}\n");
        let q = format!("{path}?fieldManager={manager}&force={force}");
        let c = c.clone();
        async move { util::send(&c, "PATCH", &q, Some("application/apply-patch+yaml"), body.into_bytes()).await }
    };
    // Apply creates: 201.
    let created = apply("one", false, "1").await.ok(201);
    assert_eq!(created["data"]["x"], "1");
    assert_eq!(apply("one", false, "2").await.ok(200)["data"]["x"], "2");

    let r = apply("two", false, "3").await;
    let st = r.status(409, "Conflict");
    assert_eq!(st["message"], r#"Apply failed with 1 conflict: conflict with "one": .data.x"#, "{st}");
    assert_eq!(
        st["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"one\"", "field": ".data.x"}]),
        "{st}"
    );
    assert_eq!(apply("two", true, "3").await.ok(200)["data"]["x"], "3");

    // fieldManager is required for apply patches.
    let r = util::send(
        &c,
        "PATCH",
        &path,
        Some("application/apply-patch+yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: raw}\n".to_vec(),
    )
    .await;
    let st = r.status(422, "Invalid");
    assert_eq!(
        st["message"],
        r#"PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch"#,
        "{st}"
    );
    // (force on a non-apply patch: see bad_input::write_options_are_validated)
    // The applied object must name the same object as the URL.
    let r = util::send(
        &c,
        "PATCH",
        &format!("{path}?fieldManager=one"),
        Some("application/apply-patch+yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n".to_vec(),
    )
    .await;
    r.status(400, "BadRequest");
}

#[test]
fn diff_exit_codes() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("diff-{}", v.replace('.', "-"));
        namespace(&k, &ns);
        let cm = |name: &str, x: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\ndata: {{x: '{x}'}}\n"
            )
        };
        k.ok_stdin(&["apply", "-f", "-"], &cm("d", "1"));
        let before = k.json(&["get", "cm", "d", "-n", &ns, "-o", "json"]);

        let same = k.stdin(&["diff", "-f", "-"], &cm("d", "1"));
        assert_eq!(same.status.code(), Some(0), "kubectl {v}: {}", String::from_utf8_lossy(&same.stderr));
        assert!(same.stdout.is_empty(), "kubectl {v}: {}", String::from_utf8_lossy(&same.stdout));

        let changed = k.stdin(&["diff", "-f", "-"], &cm("d", "2"));
        let out = String::from_utf8_lossy(&changed.stdout);
        assert_eq!(changed.status.code(), Some(1), "kubectl {v}: {out}{}", String::from_utf8_lossy(&changed.stderr));
        assert!(out.contains("\n-  x: \"1\"\n") && out.contains("\n+  x: \"2\"\n"), "kubectl {v}: {out}");
        assert!(
            !out.contains("resourceVersion") && !out.contains("generation"),
            "kubectl {v}: only the real change: {out}"
        );

        let new = k.stdin(&["diff", "-f", "-"], &cm("brand-new", "1"));
        let out = String::from_utf8_lossy(&new.stdout);
        assert_eq!(new.status.code(), Some(1), "kubectl {v}: {out}{}", String::from_utf8_lossy(&new.stderr));
        assert!(out.contains("+  name: brand-new"), "kubectl {v}: {out}");

        let ssa = k.stdin(&["diff", "--server-side", "-f", "-"], &cm("d", "3"));
        let out = String::from_utf8_lossy(&ssa.stdout);
        assert_eq!(ssa.status.code(), Some(1), "kubectl {v}: {out}{}", String::from_utf8_lossy(&ssa.stderr));
        assert!(out.contains("+  x: \"3\""), "kubectl {v}: {out}");

        // diff is a dry run: nothing was stored.
        assert_eq!(k.json(&["get", "cm", "d", "-n", &ns, "-o", "json"]), before, "kubectl {v}");
        let err = k.fails(&["get", "cm", "brand-new", "-n", &ns]);
        assert!(err.contains("not found"), "kubectl {v}: {err}");
    }
}
