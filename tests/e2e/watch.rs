//! Watches: `kubectl get -w` sees later changes live (both kubectl versions), and the raw
//! watch protocol: resume from a resourceVersion, selectors, initial events with the
//! end bookmark, and timeoutSeconds.

use serde_json::{Value, json};

use crate::harness::{Server, VERSIONS};
use crate::util::{self, Background, Watch, ev};

/// `(EVENT, NAME)` of each row printed by `kubectl get -w --output-watch-events`.
fn watch_rows(out: &str) -> Vec<(String, String)> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect()
}

#[test]
fn kubectl_get_watch_sees_live_changes() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("watch-{}", v.replace('.', "-"));
        k.ok_stdin(
            &["create", "-f", "-"],
            &format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n\
                 apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: first, namespace: {ns}}}\ndata: {{x: '1'}}\n"
            ),
        );
        // Every ConfigMap of the test; the root CA the controllers publish, whenever they do, is left out.
        let all = Background::start(&k, &["get", "cm", "-n", &ns, "-w", "--output-watch-events", util::NOT_ROOT_CA]);
        let one = Background::start(&k, &["get", "cm", "first", "-n", &ns, "-w", "-o", "jsonpath={.data.x}{\"\\n\"}"]);
        all.wait_for(20, "the initial list", |o| watch_rows(o).contains(&ev("ADDED", "first")));
        one.wait_for(20, "the initial object", |o| o.lines().next() == Some("1"));
        assert!(all.stdout().starts_with("EVENT"), "kubectl {v}: {}", all.stdout());

        k.ok_stdin(
            &["create", "-f", "-"],
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: second, namespace: {ns}}}\n"),
        );
        k.ok(&["patch", "cm", "first", "-n", &ns, "--type=merge", "-p", r#"{"data":{"x":"2"}}"#]);
        k.ok(&["label", "cm", "first", "-n", &ns, "seen=yes"]);
        k.ok(&["delete", "cm", "second", "-n", &ns]);

        let expected = [
            ev("ADDED", "first"),
            ev("ADDED", "second"),
            ev("MODIFIED", "first"),
            ev("MODIFIED", "first"),
            ev("DELETED", "second"),
        ];
        all.wait_for(20, "every change", |o| watch_rows(o).len() >= expected.len());
        assert_eq!(watch_rows(&all.stdout()), expected, "kubectl {v}: {}", all.stdout());
        // The watch of one object sees only that object.
        one.wait_for(20, "both changes of `first`", |o| o.lines().count() >= 3);
        let values: Vec<String> = one.stdout().lines().map(str::to_string).collect();
        assert_eq!(values, ["1", "2", "2"], "kubectl {v}: one line per change of `first`");
        assert!(all.stderr().is_empty(), "kubectl {v}: {}", all.stderr());
    }
}

async fn create_cm(c: &kube::Client, name: &str, labels: Value) -> Value {
    let mut body = util::configmap("default", name, json!({"v": "0"}));
    body["metadata"]["labels"] = labels;
    util::post(c, &util::cm_path("default", None), &body).await.ok(201)
}

async fn set_data(c: &kube::Client, name: &str, val: &str) -> Value {
    util::patch(c, &util::cm_path("default", Some(name)), "application/merge-patch+json", &json!({"data": {"v": val}}))
        .await
        .ok(200)
}

#[tokio::test]
async fn watch_resumes_from_resource_version() {
    let s = Server::start();
    let c = s.client().await;
    let a = create_cm(&c, "a", json!({})).await;
    let start = util::rv(&a);
    let b = create_cm(&c, "b", json!({})).await;
    let a2 = set_data(&c, "a", "1").await;
    let del = util::delete(&c, &util::cm_path("default", Some("b"))).await.ok(200);

    // The watches leave out the root CA the controllers publish, whenever they do.
    let col = format!("{}?{}", util::cm_path("default", None), util::NOT_ROOT_CA_QUERY);
    let mut w = Watch::open(&c, &format!("{col}&watch=true&resourceVersion={start}")).await;
    let (t, o) = w.expect(10).await;
    assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("ADDED", Some("b")), "{o}");
    assert_eq!(util::rv(&o), util::rv(&b));
    assert_eq!(o["kind"], "ConfigMap", "{o}");
    assert_eq!(o["apiVersion"], "v1", "{o}");
    let (t, o) = w.expect(10).await;
    assert_eq!((t.as_str(), o["data"]["v"].as_str()), ("MODIFIED", Some("1")), "{o}");
    assert_eq!(util::rv(&o), util::rv(&a2));
    let (t, o) = w.expect(10).await;
    assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("DELETED", Some("b")), "{o}");
    // A DELETED event carries the revision of the deletion, later than the last write.
    let deleted_rv: u64 = util::rv(&o).parse().unwrap();
    assert!(deleted_rv > util::rv(&a2).parse::<u64>().unwrap(), "{o}");
    // Like the real registry for ConfigMaps, DELETE answers with a success Status naming the object.
    assert_eq!(del["kind"], "Status", "{del}");
    assert_eq!(del["status"], "Success", "{del}");
    assert_eq!(del["details"]["name"], "b", "{del}");
    assert_eq!(del["details"]["kind"], "configmaps", "{del}");
    assert_eq!(del["details"]["uid"], b["metadata"]["uid"], "{del}");

    // Live events follow without a gap.
    let a3 = set_data(&c, "a", "2").await;
    let (t, o) = w.expect(10).await;
    assert_eq!(t, "MODIFIED");
    assert_eq!(util::rv(&o), util::rv(&a3));

    // Resuming from the last revision seen repeats nothing.
    let mut again = Watch::open(&c, &format!("{col}&watch=1&resourceVersion={}", util::rv(&a3))).await;
    let a4 = set_data(&c, "a", "3").await;
    let (t, o) = again.expect(10).await;
    assert_eq!((t.as_str(), util::rv(&o)), ("MODIFIED", util::rv(&a4)));
}

#[tokio::test]
async fn watch_with_label_selector_sees_objects_enter_and_leave() {
    let s = Server::start();
    let c = s.client().await;
    let base = create_cm(&c, "x", json!({"app": "other"})).await;
    let mut w = Watch::open(
        &c,
        &format!(
            "{}?watch=true&labelSelector=app%3Dweb&resourceVersion={}",
            util::cm_path("default", None),
            util::rv(&base)
        ),
    )
    .await;
    create_cm(&c, "y", json!({"app": "web"})).await;
    create_cm(&c, "z", json!({"app": "other"})).await;
    let path = util::cm_path("default", Some("x"));
    util::patch(&c, &path, "application/merge-patch+json", &json!({"metadata": {"labels": {"app": "web"}}}))
        .await
        .ok(200);
    util::patch(&c, &path, "application/merge-patch+json", &json!({"metadata": {"labels": {"app": "db"}}}))
        .await
        .ok(200);
    let mut got = Vec::new();
    for _ in 0..3 {
        let (t, o) = w.expect(10).await;
        got.push((t, o["metadata"]["name"].as_str().unwrap().to_string(), o["metadata"]["labels"]["app"].clone()));
    }
    assert_eq!(
        got,
        [
            ("ADDED".to_string(), "y".to_string(), json!("web")),
            // x starts to match: ADDED; stops matching: DELETED (with its new state).
            ("ADDED".to_string(), "x".to_string(), json!("web")),
            ("DELETED".to_string(), "x".to_string(), json!("db")),
        ]
    );
}

/// (The watch leaves out the root CA the controllers publish, whenever they do.)
async fn initial_events_then_bookmark(c: &kube::Client, rv_param: &str) {
    for n in ["i1", "i2", "i3"] {
        create_cm(c, n, json!({})).await;
    }
    let mut w = Watch::open(
        c,
        &format!(
            "{}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan{rv_param}&{}",
            util::cm_path("default", None),
            util::NOT_ROOT_CA_QUERY
        ),
    )
    .await;
    let mut added = Vec::new();
    let bookmark = loop {
        let (t, o) = w.expect(10).await;
        match t.as_str() {
            "ADDED" => added.push(o["metadata"]["name"].as_str().unwrap().to_string()),
            "BOOKMARK" => break o,
            other => panic!("unexpected {other}: {o}"),
        }
    };
    added.sort();
    assert_eq!(added, ["i1", "i2", "i3"]);
    assert_eq!(bookmark["metadata"]["annotations"]["k8s.io/initial-events-end"], "true", "{bookmark}");
    assert_eq!(bookmark["kind"], "ConfigMap", "{bookmark}");
    let bookmark_rv: u64 = util::rv(&bookmark).parse().unwrap();
    let i4 = create_cm(c, "i4", json!({})).await;
    let (t, o) = w.expect(10).await;
    assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("ADDED", Some("i4")));
    assert!(util::rv(&i4).parse::<u64>().unwrap() > bookmark_rv);
}

#[tokio::test]
async fn watch_initial_events_end_with_a_bookmark() {
    let s = Server::start();
    let c = s.client().await;
    initial_events_then_bookmark(&c, "&resourceVersion=0").await;

    // sendInitialEvents without resourceVersionMatch=NotOlderThan is refused.
    let r = util::get(&c, &format!("{}?watch=true&sendInitialEvents=true", util::cm_path("default", None))).await;
    let st = r.status(422, "Invalid");
    assert_eq!(
        st["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        "{st}"
    );
    assert_eq!(st["details"]["causes"][0]["reason"], "FieldValueForbidden", "{st}");
    assert_eq!(st["details"]["causes"][0]["field"], "resourceVersionMatch", "{st}");
}

/// client-go's WatchList starts with no resourceVersion at all.
#[tokio::test]
async fn watch_initial_events_without_resource_version() {
    let s = Server::start();
    let c = s.client().await;
    initial_events_then_bookmark(&c, "").await;
}

#[tokio::test]
async fn watch_timeout_seconds_ends_the_stream() {
    let s = Server::start();
    let c = s.client().await;
    let started = std::time::Instant::now();
    // Nothing of the test's own: the root CA the controllers publish is left out.
    let path = format!("{}?watch=true&timeoutSeconds=1&{}", util::cm_path("default", None), util::NOT_ROOT_CA_QUERY);
    let mut w = Watch::open(&c, &path).await;
    assert!(w.next(10).await.is_none(), "no events, then the end of the stream");
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn watch_of_one_namespace_or_all() {
    let s = Server::start();
    let c = s.client().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}});
    let created = util::post(&c, "/api/v1/namespaces", &ns).await.ok(201);
    let rv = util::rv(&created);
    // The controllers publish a root CA into the new namespace: the watches leave it out.
    let q = format!("watch=true&resourceVersion={rv}&{}", util::NOT_ROOT_CA_QUERY);
    let mut all = Watch::open(&c, &format!("/api/v1/configmaps?{q}")).await;
    let mut other = Watch::open(&c, &format!("/api/v1/namespaces/other/configmaps?{q}")).await;
    create_cm(&c, "in-default", json!({})).await;
    util::post(&c, &util::cm_path("other", None), &util::configmap("other", "in-other", json!({}))).await.ok(201);
    let (_, o) = all.expect(10).await;
    assert_eq!(o["metadata"]["name"], "in-default");
    let (_, o) = all.expect(10).await;
    assert_eq!(o["metadata"]["name"], "in-other");
    let (_, o) = other.expect(10).await;
    assert_eq!(o["metadata"]["name"], "in-other", "the namespaced watch skips other namespaces");
}
