//! `kill -9` of the server in the middle of a session: every acknowledged write survives,
//! the session carries on with both kubectl versions, and a watch resumes from its last
//! resourceVersion without missing or repeating an event.

use serde_json::{Value, json};

use crate::harness::{Server, VERSIONS};
use crate::util::{self, Watch};

fn objects(ns: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg, namespace: {ns}}}
data: {{x: "1"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: pw, namespace: {ns}}}
stringData: {{password: hunter2}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: busybox}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: doomed, namespace: {ns}}}
"#
    )
}

/// Everything the test made in a namespace, by kind and name, with uid, resourceVersion and
/// content (the root CA the controllers publish, whenever they do, left out).
fn snapshot(k: &crate::harness::Kubectl, ns: &str) -> Value {
    let list = k.json(&["get", "cm,secret,deploy,svc", "-n", ns, "-o", "json", util::NOT_ROOT_CA]);
    let mut items: Vec<Value> = list["items"].as_array().unwrap().clone();
    items.sort_by_key(|i| format!("{}/{}", i["kind"], i["metadata"]["name"]));
    Value::Array(items)
}

fn max_rv(snap: &Value) -> u64 {
    snap.as_array().unwrap().iter().map(|i| util::rv(i).parse::<u64>().unwrap()).max().unwrap()
}

#[test]
fn restart_in_the_middle_of_a_session_loses_nothing() {
    let mut s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("session-{}", v.replace('.', "-"));
        k.ok_stdin(&["apply", "-f", "-"], &objects(&ns));
        k.ok(&["label", "cm", "cfg", "-n", &ns, "step=one"]);
        k.ok(&["scale", "deploy", "web", "-n", &ns, "--replicas=3"]);
        k.ok(&["delete", "cm", "doomed", "-n", &ns]);
        // The last write before the kill is acknowledged, so it must survive.
        k.ok(&["annotate", "cm", "cfg", "-n", &ns, "last=write"]);
        let before = snapshot(&k, &ns);
        let ns_uid = k.ok(&["get", "ns", &ns, "-o", "jsonpath={.metadata.uid}"]);

        s.restart_hard();

        let after = snapshot(&k, &ns);
        assert_eq!(after, before, "kubectl {v}: every object, uid and resourceVersion as before the kill");
        assert_eq!(k.ok(&["get", "ns", &ns, "-o", "jsonpath={.metadata.uid}"]), ns_uid, "kubectl {v}");
        let err = k.fails(&["get", "cm", "doomed", "-n", &ns]);
        assert!(err.contains("not found"), "kubectl {v}: a deletion survives too: {err}");
        let secret = k.json(&["get", "secret", "pw", "-n", &ns, "-o", "json"]);
        assert_eq!(secret["data"]["password"], "aHVudGVyMg==", "kubectl {v}");

        // The session carries on: writes get later revisions, discovery still works.
        k.ok(&["label", "cm", "cfg", "-n", &ns, "step=two", "--overwrite"]);
        let cfg = k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"]);
        assert!(util::rv(&cfg).parse::<u64>().unwrap() > max_rv(&before), "kubectl {v}: {cfg}");
        k.ok_stdin(
            &["apply", "-f", "-"],
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: doomed, namespace: {ns}}}\n"),
        );
        let reborn = k.json(&["get", "cm", "doomed", "-n", &ns, "-o", "json"]);
        assert!(util::rv(&reborn).parse::<u64>().unwrap() > util::rv(&cfg).parse::<u64>().unwrap(), "kubectl {v}");
        let resources = k.ok(&["api-resources", "-o", "name"]);
        assert!(resources.lines().any(|l| l == "deployments.apps"), "kubectl {v}");
        let names: Vec<String> =
            k.ok(&["get", "cm", "-n", &ns, "-o", "name", util::NOT_ROOT_CA]).lines().map(str::to_string).collect();
        assert_eq!(names, ["configmap/cfg", "configmap/doomed"], "kubectl {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_after_restart_without_missing_or_repeating() {
    let mut s = Server::start();
    let c = s.client().await;
    let col = util::cm_path("default", None);
    let create = |c: kube::Client, name: &'static str| {
        let col = col.clone();
        async move { util::post(&c, &col, &util::configmap("default", name, json!({"v": "0"}))).await.ok(201) }
    };
    let a = create(c.clone(), "a").await;

    // The watches leave out the root CA the controllers publish, whenever they do.
    let mut w =
        Watch::open(&c, &format!("{col}?watch=true&resourceVersion={}&{}", util::rv(&a), util::NOT_ROOT_CA_QUERY))
            .await;
    let b = create(c.clone(), "b").await;
    let (t, o) = w.expect(10).await;
    assert_eq!((t.as_str(), util::rv(&o)), ("ADDED", util::rv(&b)));
    let mut seen = vec![(t, o["metadata"]["name"].as_str().unwrap().to_string(), util::rv(&o))];
    let last = util::rv(&o);

    // More acknowledged writes that this client never reads before the server dies.
    let cc = create(c.clone(), "c").await;
    let a2 = util::patch(
        &c,
        &util::cm_path("default", Some("a")),
        "application/merge-patch+json",
        &json!({"data": {"v": "1"}}),
    )
    .await
    .ok(200);
    util::delete(&c, &util::cm_path("default", Some("b"))).await.ok(200);
    drop(w);

    tokio::task::block_in_place(|| s.restart_hard());
    let c = s.client().await;

    // Writes after the restart, then the client resumes from the last revision it saw.
    let d = util::post(&c, &col, &util::configmap("default", "d", json!({}))).await.ok(201);
    assert!(util::rv(&d).parse::<u64>().unwrap() > util::rv(&a2).parse::<u64>().unwrap(), "revisions go on: {d}");
    let mut w = Watch::open(&c, &format!("{col}?watch=true&resourceVersion={last}&{}", util::NOT_ROOT_CA_QUERY)).await;
    util::post(&c, &col, &util::configmap("default", "sentinel", json!({}))).await.ok(201);
    loop {
        let (t, o) = w.expect(10).await;
        let name = o["metadata"]["name"].as_str().unwrap().to_string();
        seen.push((t, name.clone(), util::rv(&o)));
        if name == "sentinel" {
            break;
        }
    }
    let got: Vec<(String, String)> = seen.iter().map(|(t, n, _)| (t.clone(), n.clone())).collect();
    assert_eq!(
        got,
        [
            util::ev("ADDED", "b"),
            util::ev("ADDED", "c"),
            util::ev("MODIFIED", "a"),
            util::ev("DELETED", "b"),
            util::ev("ADDED", "d"),
            util::ev("ADDED", "sentinel")
        ],
        "{seen:?}"
    );
    let rvs: Vec<u64> = seen.iter().map(|(_, _, rv)| rv.parse().unwrap()).collect();
    assert!(rvs.windows(2).all(|p| p[0] < p[1]), "strictly increasing revisions: {rvs:?}");
    assert_eq!(seen[1].2, util::rv(&cc));
    assert_eq!(seen[2].2, util::rv(&a2));
}
