//! The behaviours the Kubernetes conformance tests check for CustomResourceDefinitions
//! (custom_resource_definition.go, crd_watch.go, crd_publish_openapi.go, field_validation.go),
//! garbage collection (garbage_collector.go), namespaces (namespace.go), Table conversion
//! (table_conversion.go) and ServiceAccounts (test/e2e/auth/service_accounts.go) that the
//! other test modules do not cover already; conformance/apimachinery.md maps each conformance
//! test to the tests that cover it. Controllers for ReplicationControllers, ReplicaSets and
//! Deployments do not exist yet, so the garbage collector tests make the pods and ReplicaSets
//! those controllers would make, with the same owner references.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Kubectl, Server, eventually, write};
use crate::util::{self, Watch};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// Poll an async condition until it holds.
async fn until<F, Fut>(secs: u64, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A cluster-scoped CRD `<plural>.<group>` with one version `v1` and this schema.
fn crd(plural: &str, group: &str, kind: &str, scope: &str, schema: Value) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": scope,
            "names": {"plural": plural, "singular": plural.trim_end_matches('s'), "kind": kind, "listKind": format!("{kind}List")},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema}}]}
    })
}

fn preserve_unknown() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

// ---------------------------------------------------------------------------------------
// custom_resource_definition.go
// ---------------------------------------------------------------------------------------

/// "creating/deleting custom resource definition objects works", "listing custom resource
/// definition objects works" and "should include custom resource definition resources in
/// discovery documents".
#[tokio::test]
async fn crd_create_list_by_label_deletecollection_and_discovery() {
    let s = Server::start();
    let c = s.client().await;
    // Three labeled CRDs and one without the label; each serves its resource at once.
    for i in 0..4 {
        let mut body =
            crd(&format!("noxus{i}s"), "list.example.com", &format!("Noxu{i}"), "Cluster", preserve_unknown());
        if i < 3 {
            body["metadata"]["labels"] = json!({"e2e-list-test-uuid": "u1"});
        }
        util::post(&c, CRDS, &body).await.ok(201);
        let list = util::get(&c, &format!("/apis/list.example.com/v1/noxus{i}s")).await.ok(200);
        assert_eq!(list["kind"], format!("Noxu{i}List"));
    }
    let list = util::get(&c, &format!("{CRDS}?labelSelector=e2e-list-test-uuid%3Du1")).await.ok(200);
    let mut names = util::names(&list);
    names.sort();
    assert_eq!(names, vec!["noxus0s.list.example.com", "noxus1s.list.example.com", "noxus2s.list.example.com"]);
    assert_eq!(list["items"][0]["spec"]["names"]["kind"], "Noxu0");
    // Delete collection by the label: only the labeled ones go.
    util::send(&c, "DELETE", &format!("{CRDS}?labelSelector=e2e-list-test-uuid%3Du1"), None, vec![]).await.ok(200);
    let c2 = &c;
    until(30, "the labeled CRDs gone", || async move {
        util::names(&util::get(c2, CRDS).await.ok(200)) == vec!["noxus3s.list.example.com"]
    })
    .await;
    util::get(&c, "/apis/list.example.com/v1/noxus0s").await.status(404, "NotFound");
    // Deleting the last one.
    util::delete(&c, &format!("{CRDS}/noxus3s.list.example.com")).await.ok(200);
    until(30, "the last CRD gone", || async move {
        util::get(c2, &format!("{CRDS}/noxus3s.list.example.com")).await.status == 404
    })
    .await;

    // Discovery of apiextensions.k8s.io/v1 itself.
    let apis = util::get(&c, "/apis").await.ok(200);
    let group = apis["groups"].as_array().unwrap().iter().find(|g| g["name"] == "apiextensions.k8s.io").cloned();
    let group = group.expect("apiextensions.k8s.io in /apis");
    assert!(group["versions"].as_array().unwrap().iter().any(|v| v["version"] == "v1"), "{group}");
    let group = util::get(&c, "/apis/apiextensions.k8s.io").await.ok(200);
    assert_eq!(group["name"], "apiextensions.k8s.io");
    assert!(group["versions"].as_array().unwrap().iter().any(|v| v["groupVersion"] == "apiextensions.k8s.io/v1"));
    let rl = util::get(&c, "/apis/apiextensions.k8s.io/v1").await.ok(200);
    assert_eq!(rl["groupVersion"], "apiextensions.k8s.io/v1");
    assert!(rl["resources"].as_array().unwrap().iter().any(|r| r["name"] == "customresourcedefinitions"), "{rl}");
}

/// "getting/updating/patching custom resource definition status sub-resource works".
#[tokio::test]
async fn crd_status_subresource_get_update_patch() {
    let s = Server::start();
    let c = s.client().await;
    let created =
        util::post(&c, CRDS, &crd("foos", "st.example.com", "Foo", "Cluster", preserve_unknown())).await.ok(201);
    let path = format!("{CRDS}/foos.st.example.com/status");
    let mut status = util::get(&c, &path).await.ok(200);
    assert_eq!(status["kind"], "CustomResourceDefinition");
    assert_eq!(status["spec"], created["spec"], "the status read carries the same spec");
    status["status"]["conditions"].as_array_mut().unwrap().push(json!({"message": "updated"}));
    let updated = util::put(&c, &path, &status).await.ok(200);
    let has = |o: &Value, msg: &str| {
        o["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["message"] == msg && c["type"] == "" && c["status"] == "")
    };
    assert!(has(&updated, "updated"), "{updated}");
    let patch = json!([{"op": "add", "path": "/status/conditions", "value": [{"message": "patched"}]}]);
    let patched = util::patch(&c, &path, "application/json-patch+json", &patch).await.ok(200);
    assert!(has(&patched, "patched"), "{patched}");
    assert!(has(&util::get(&c, &path).await.ok(200), "patched"));
}

/// "custom resource defaulting for requests and from storage works".
#[tokio::test]
async fn crd_defaulting_for_requests_and_from_storage() {
    let s = Server::start();
    let c = s.client().await;
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}});
    util::post(&c, CRDS, &crd("defs", "def.example.com", "Def", "Cluster", schema)).await.ok(201);
    let crs = "/apis/def.example.com/v1/defs";
    let cr = |name: &str| json!({"apiVersion": "def.example.com/v1", "kind": "Def", "metadata": {"name": name}});
    util::post(&c, crs, &cr("cr-1")).await.ok(201);
    let crd_path = format!("{CRDS}/defs.def.example.com");
    let add_a =
        json!([{"op": "add", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/a/default", "value": "A"}]);
    util::patch(&c, &crd_path, "application/json-patch+json", &add_a).await.ok(200);
    // Defaulted on read from storage.
    let c2 = &c;
    until(
        20,
        "cr-1 defaulted on read",
        || async move { util::get(c2, &format!("{crs}/cr-1")).await.ok(200)["a"] == "A" },
    )
    .await;
    // Defaulted in the request.
    let u2 = util::post(&c, crs, &cr("cr-2")).await.ok(201);
    assert_eq!(u2["a"], "A");
    let swap = json!([
        {"op": "remove", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/a/default"},
        {"op": "add", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/b/default", "value": "B"}
    ]);
    util::patch(&c, &crd_path, "application/json-patch+json", &swap).await.ok(200);
    until(20, "cr-2 defaulted for b, a kept", || async move {
        let u = util::get(c2, &format!("{crs}/cr-2")).await.ok(200);
        assert_eq!(u["a"], "A", "a stays as stored: {u}");
        u["b"] == "B"
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// crd_watch.go
// ---------------------------------------------------------------------------------------

/// "watch on custom resource definition objects": two watches by name see only their own
/// object's ADDED, MODIFIED (a JSON patch adding a field) and DELETED.
#[tokio::test]
async fn crd_watch_by_name_sees_create_modify_delete() {
    let s = Server::start();
    let c = s.client().await;
    util::post(&c, CRDS, &crd("noxus", "watch.example.com", "WishIHadChosenNoxu", "Cluster", preserve_unknown()))
        .await
        .ok(201);
    let crs = "/apis/watch.example.com/v1/noxus";
    let open = |name: &'static str| {
        let c = c.clone();
        async move {
            Watch::open(&c, &format!("{crs}?watch=true&fieldSelector=metadata.name%3D{name}&timeoutSeconds=600")).await
        }
    };
    let mut wa = open("name1").await;
    let mut wb = open("name2").await;
    let instance = |name: &str| {
        json!({"apiVersion": "watch.example.com/v1", "kind": "WishIHadChosenNoxu", "metadata": {"name": name},
            "content": {"key": "value"}, "num": {"num1": 9223372036854775807i64, "num2": 1000000}})
    };
    let a = util::post(&c, crs, &instance("name1")).await.ok(201);
    assert!(a["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()));
    assert_eq!(
        (a["apiVersion"].as_str(), a["kind"].as_str()),
        (Some("watch.example.com/v1"), Some("WishIHadChosenNoxu"))
    );
    let (t, o) = wa.expect(10).await;
    assert_eq!((t.as_str(), &o), ("ADDED", &a));
    let b = util::post(&c, crs, &instance("name2")).await.ok(201);
    // B's watch sees B first: nothing of A reached it.
    let (t, o) = wb.expect(10).await;
    assert_eq!((t.as_str(), &o), ("ADDED", &b));
    let add_dummy = json!([{"op": "add", "path": "/dummy", "value": "test"}]);
    for (name, w) in [("name1", &mut wa), ("name2", &mut wb)] {
        util::patch(&c, &format!("{crs}/{name}"), "application/json-patch+json", &add_dummy).await.ok(200);
        let (t, o) = w.expect(10).await;
        assert_eq!(
            (t.as_str(), o["metadata"]["name"].as_str(), o["dummy"].as_str()),
            ("MODIFIED", Some(name), Some("test"))
        );
    }
    for (name, w) in [("name1", &mut wa), ("name2", &mut wb)] {
        util::delete(&c, &format!("{crs}/{name}")).await.ok(200);
        let (t, o) = w.expect(10).await;
        assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("DELETED", Some(name)));
    }
}

// ---------------------------------------------------------------------------------------
// crd_conversion_webhook.go
// ---------------------------------------------------------------------------------------

/// "should be able to convert a non homogeneous list of CRs": one object stored at v1, the
/// storage version moved to v2, one stored at v2; lists at either version convert both.
/// (The conformance test's webhook is a Service; this one is given by URL.)
#[tokio::test]
async fn conversion_webhook_converts_a_mixed_list() {
    use base64::Engine;
    let s = Server::start();
    let c = s.client().await;
    let (url, ca) = crate::crds::start_conversion_webhook().await;
    let schema = |spec: Value| json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}});
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.mixed.example.com"},
        "spec": {"group": "mixed.example.com", "scope": "Namespaced",
            "names": {"plural": "gizmos", "kind": "Gizmo"},
            "conversion": {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": {"url": url, "caBundle": base64::engine::general_purpose::STANDARD.encode(ca)}}},
            "versions": [
                {"name": "v1", "served": true, "storage": true,
                    "schema": schema(json!({"type": "object", "properties": {"size": {"type": "integer"}}}))},
                {"name": "v2", "served": true, "storage": false,
                    "schema": schema(json!({"type": "object", "properties": {"dimensions": {"type": "object",
                        "properties": {"size": {"type": "integer"}}}}}))}
            ]}
    });
    util::post(&c, CRDS, &crd).await.ok(201);
    let base = "/apis/mixed.example.com";
    let v1 = json!({"apiVersion": "mixed.example.com/v1", "kind": "Gizmo", "metadata": {"name": "cr-instance-v1"}, "spec": {"size": 1}});
    util::post(&c, &format!("{base}/v1/namespaces/default/gizmos"), &v1).await.ok(201);
    let to_v2 = json!([
        {"op": "replace", "path": "/spec/versions/0/storage", "value": false},
        {"op": "replace", "path": "/spec/versions/1/storage", "value": true}
    ]);
    let patched = util::patch(&c, &format!("{CRDS}/gizmos.mixed.example.com"), "application/json-patch+json", &to_v2)
        .await
        .ok(200);
    assert_eq!(patched["status"]["storedVersions"], json!(["v1", "v2"]), "{patched}");
    let v2 = json!({"apiVersion": "mixed.example.com/v2", "kind": "Gizmo", "metadata": {"name": "cr-instance-v2"},
        "spec": {"dimensions": {"size": 2}}});
    util::post(&c, &format!("{base}/v2/namespaces/default/gizmos"), &v2).await.ok(201);
    let list = util::get(&c, &format!("{base}/v2/namespaces/default/gizmos")).await.ok(200);
    let items: Vec<(String, Value)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["apiVersion"].as_str().unwrap().to_string(), i["spec"].clone()))
        .collect();
    assert_eq!(
        items,
        vec![
            ("mixed.example.com/v2".to_string(), json!({"dimensions": {"size": 1}})),
            ("mixed.example.com/v2".to_string(), json!({"dimensions": {"size": 2}}))
        ]
    );
    let list = util::get(&c, &format!("{base}/v1/namespaces/default/gizmos")).await.ok(200);
    let specs: Vec<Value> = list["items"].as_array().unwrap().iter().map(|i| i["spec"].clone()).collect();
    assert_eq!(specs, vec![json!({"size": 1}), json!({"size": 2})]);
}

// ---------------------------------------------------------------------------------------
// crd_publish_openapi.go (kubectl's client-side view: validation, explain, OpenAPI)
// ---------------------------------------------------------------------------------------

fn apply_yaml(k: &Kubectl, dir: &std::path::Path, name: &str, yaml: &str, verb: &str) -> std::process::Output {
    let p = write(dir, name, yaml);
    k.run(&[verb, "-f", &p.display().to_string()])
}

/// "works for CRD with validation schema": kubectl create and apply pass with known
/// properties, fail with unknown ones and without required ones; explain shows the
/// properties and the nested ones.
#[test]
fn publish_openapi_crd_with_validation_schema() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let dir = s.dir.path().to_path_buf();
    let schema = json!({"type": "object", "description": "Foo CRD for Testing",
        "properties": {
            "spec": {"type": "object", "description": "Specification of Foo",
                "properties": {"bars": {"type": "array", "description": "List of Bars and their specs.",
                    "items": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "description": "Name of Bar."},
                        "age": {"type": "string", "description": "Age of Bar."},
                        "bazs": {"type": "array", "description": "List of Bazs.", "items": {"type": "string"}}}}}}},
            "status": {"type": "object", "description": "Status of Foo",
                "properties": {"bars": {"type": "array", "description": "List of Bars and their statuses.",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}, "available": {"type": "boolean"}}}}}}}});
    let body = crd("e2e-test-foos", "crd-publish-openapi-test-foo.example.com", "E2e-test-foo", "Namespaced", schema);
    k.ok_stdin(&["create", "-f", "-"], &body.to_string());
    let cr = |name: &str, bar: &str| {
        format!(
            "apiVersion: crd-publish-openapi-test-foo.example.com/v1\nkind: E2e-test-foo\nmetadata: {{name: {name}}}\nspec:\n  bars:\n  - {bar}\n"
        )
    };
    for verb in ["create", "apply"] {
        let out = apply_yaml(&k, &dir, "ok.yaml", &cr(&format!("ok-{verb}"), "{name: test-bar}"), verb);
        assert!(out.status.success(), "{verb}: {}", String::from_utf8_lossy(&out.stderr));
        let out =
            apply_yaml(&k, &dir, "unknown.yaml", &cr(&format!("unknown-{verb}"), "{name: test-bar, unknown: x}"), verb);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(r#"unknown field "spec.bars[0].unknown""#), "{verb}: {err}");
        let out = apply_yaml(&k, &dir, "noreq.yaml", &cr(&format!("noreq-{verb}"), "{age: '10'}"), verb);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("spec.bars[0].name: Required value"), "{verb}: {err}");
    }
    let out = k.ok(&["explain", "e2e-test-foos"]);
    assert!(out.contains("KIND:       E2e-test-foo") && out.contains("Foo CRD for Testing"), "{out}");
    assert!(out.contains("spec\t<Object>") && out.contains("Specification of Foo"), "{out}");
    let out = k.ok(&["explain", "e2e-test-foos.spec.bars"]);
    assert!(out.contains("List of Bars and their specs.") && out.contains("name\t<string> -required-"), "{out}");
}

/// "works for CRD without validation schema", "... preserving unknown fields at the schema
/// root" and "... in an embedded object": unknown properties pass kubectl's validation and
/// explain still describes the kind.
#[test]
fn publish_openapi_preserving_unknown_fields() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let dir = s.dir.path().to_path_buf();
    let root = crd(
        "e2e-test-roots",
        "crd-publish-openapi-test-unknown-at-root.example.com",
        "E2e-test-root",
        "Namespaced",
        preserve_unknown(),
    );
    let nested = crd(
        "e2e-test-nesteds",
        "crd-publish-openapi-test-unknown-in-nested.example.com",
        "E2e-test-nested",
        "Namespaced",
        json!({"type": "object", "description": "preserve-unknown-properties in nested field for Testing",
            "properties": {"spec": {"type": "object", "description": "Specification of Waldo",
                "x-kubernetes-preserve-unknown-fields": true, "x-kubernetes-embedded-resource": true,
                "properties": {"dummy": {"type": "object", "description": "Dummy property."}}}}}),
    );
    for body in [&root, &nested] {
        k.ok_stdin(&["create", "-f", "-"], &body.to_string());
    }
    let root_cr = |name: &str| {
        format!(
            "apiVersion: crd-publish-openapi-test-unknown-at-root.example.com/v1\nkind: E2e-test-root\nmetadata: {{name: {name}}}\na: {{b: [1, 2]}}\n"
        )
    };
    let nested_cr = |name: &str| {
        format!(
            "apiVersion: crd-publish-openapi-test-unknown-in-nested.example.com/v1\nkind: E2e-test-nested\nmetadata: {{name: {name}}}\nspec: {{apiVersion: v1, kind: Sub, metadata: {{name: sub}}, a: {{b: c}}}}\n"
        )
    };
    for verb in ["create", "apply"] {
        for yaml in [root_cr(&format!("r-{verb}")), nested_cr(&format!("n-{verb}"))] {
            let out = apply_yaml(&k, &dir, "cr.yaml", &yaml, verb);
            assert!(out.status.success(), "{verb}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    assert_eq!(k.json(&["get", "e2e-test-roots", "r-apply", "-o", "json"])["a"], json!({"b": [1, 2]}));
    assert_eq!(k.json(&["get", "e2e-test-nesteds", "n-apply", "-o", "json"])["spec"]["a"], json!({"b": "c"}));
    let out = k.ok(&["explain", "e2e-test-roots"]);
    assert!(out.contains("KIND:       E2e-test-root") && out.contains("DESCRIPTION:"), "{out}");
    let out = k.ok(&["explain", "e2e-test-nesteds"]);
    assert!(out.contains("preserve-unknown-properties in nested field for Testing"), "{out}");
    let out = k.ok(&["explain", "e2e-test-nesteds.spec"]);
    assert!(out.contains("Specification of Waldo") && out.contains("dummy\t<Object>"), "{out}");
}

/// The names of the OpenAPI v2 definitions of a group, and the v3 paths.
async fn published(c: &kube::Client, group_part: &str) -> (Vec<String>, Vec<String>) {
    let v2 = util::get(c, "/openapi/v2").await.ok(200);
    let mut defs: Vec<String> =
        v2["definitions"].as_object().unwrap().keys().filter(|k| k.contains(group_part)).cloned().collect();
    defs.sort();
    let v3 = util::get(c, "/openapi/v3").await.ok(200);
    let mut paths: Vec<String> =
        v3["paths"].as_object().unwrap().keys().filter(|k| k.contains(group_part)).cloned().collect();
    paths.sort();
    (defs, paths)
}

/// "works for multiple CRDs of different groups", "... of same group but different
/// versions", "... of same group and version but different kinds", "updates the published
/// spec when one version gets renamed" and "removes definition from spec when one version
/// gets changed to not be served".
#[tokio::test]
async fn publish_openapi_groups_versions_kinds_rename_and_unserve() {
    let s = Server::start();
    let c = s.client().await;
    let schema = |d: &str| json!({"type": "object", "description": d, "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}});
    // Different groups; same group and version, different kinds.
    util::post(&c, CRDS, &crd("foos", "multi-group-a.example.com", "Foo", "Namespaced", schema("a"))).await.ok(201);
    util::post(&c, CRDS, &crd("foos", "multi-group-b.example.com", "Foo", "Namespaced", schema("b"))).await.ok(201);
    util::post(&c, CRDS, &crd("bars", "multi-group-a.example.com", "Bar", "Namespaced", schema("bar"))).await.ok(201);
    let (defs, _) = published(&c, "multi-group").await;
    for d in
        ["com.example.multi-group-a.v1.Foo", "com.example.multi-group-b.v1.Foo", "com.example.multi-group-a.v1.Bar"]
    {
        assert!(defs.contains(&d.to_string()), "{d} in {defs:?}");
    }
    // Several versions; one renamed, then one no longer served.
    let mut mv = crd("mvs", "multi-ver.example.com", "Mv", "Namespaced", schema("v2 of mv"));
    mv["spec"]["versions"][0]["name"] = "v2".into();
    let mut v3 = mv["spec"]["versions"][0].clone();
    v3["name"] = "v3".into();
    v3["storage"] = false.into();
    v3["schema"]["openAPIV3Schema"]["description"] = "v3 of mv".into();
    mv["spec"]["versions"].as_array_mut().unwrap().push(v3);
    util::post(&c, CRDS, &mv).await.ok(201);
    let (defs, paths) = published(&c, "multi-ver").await;
    assert_eq!(
        defs,
        vec![
            "com.example.multi-ver.v2.Mv",
            "com.example.multi-ver.v2.MvList",
            "com.example.multi-ver.v3.Mv",
            "com.example.multi-ver.v3.MvList"
        ]
    );
    assert_eq!(paths, vec!["apis/multi-ver.example.com/v2", "apis/multi-ver.example.com/v3"]);
    let path = format!("{CRDS}/mvs.multi-ver.example.com");
    let rename = json!([{"op": "replace", "path": "/spec/versions/1/name", "value": "v4"}]);
    util::patch(&c, &path, "application/json-patch+json", &rename).await.ok(200);
    let c2 = &c;
    until(20, "v4 published instead of v3", || async move {
        let (defs, _) = published(c2, "multi-ver").await;
        defs.contains(&"com.example.multi-ver.v4.Mv".to_string())
            && !defs.contains(&"com.example.multi-ver.v3.Mv".to_string())
    })
    .await;
    let v4 = util::get(&c, "/openapi/v3/apis/multi-ver.example.com/v4").await.ok(200);
    assert_eq!(v4["components"]["schemas"]["com.example.multi-ver.v4.Mv"]["description"], "v3 of mv");
    let unserve = json!([{"op": "replace", "path": "/spec/versions/1/served", "value": false}]);
    util::patch(&c, &path, "application/json-patch+json", &unserve).await.ok(200);
    until(20, "v4 removed from the spec", || async move {
        let (defs, paths) = published(c2, "multi-ver").await;
        defs == vec!["com.example.multi-ver.v2.Mv", "com.example.multi-ver.v2.MvList"]
            && paths == vec!["apis/multi-ver.example.com/v2"]
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// field_validation.go, the custom resource cases
// ---------------------------------------------------------------------------------------

fn noxu_schema(spec_extra: Value) -> Value {
    let mut spec = json!({"type": "object", "properties": {
        "foo": {"type": "string"},
        "cronSpec": {"type": "string", "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"},
        "ports": {"type": "array", "x-kubernetes-list-map-keys": ["containerPort", "protocol"], "x-kubernetes-list-type": "map",
            "items": {"type": "object", "required": ["containerPort", "protocol"], "properties": {
                "containerPort": {"type": "integer", "format": "int32"}, "hostIP": {"type": "string"},
                "hostPort": {"type": "integer", "format": "int32"}, "name": {"type": "string"}, "protocol": {"type": "string"}}}}}});
    for (k, v) in spec_extra.as_object().unwrap() {
        if k == "properties" {
            for (pk, pv) in v.as_object().unwrap() {
                spec["properties"][pk] = pv.clone();
            }
        } else {
            spec[k] = v.clone();
        }
    }
    json!({"type": "object", "properties": {"spec": spec}})
}

async fn apply_strict(c: &kube::Client, plural_path: &str, name: &str, yaml: &str) -> util::Resp {
    util::send(
        c,
        "PATCH",
        &format!("{plural_path}/{name}?fieldManager=field_validation_mgr&fieldValidation=Strict"),
        Some("application/apply-patch+yaml"),
        yaml.as_bytes().to_vec(),
    )
    .await
}

/// "should create/apply a valid CR for CRD with validation schema", "... a CR with unknown
/// fields for CRD with no validation schema", "... an invalid CR with extra properties for
/// CRD with validation schema" and "should detect unknown metadata fields in both the root
/// and embedded object of a CR", "should detect duplicates in a CR when preserving unknown
/// fields", all with `fieldValidation=Strict`.
#[tokio::test]
async fn field_validation_of_custom_resources() {
    let s = Server::start();
    let c = s.client().await;
    util::post(&c, CRDS, &crd("noxus", "fv.example.com", "Noxu", "Cluster", noxu_schema(json!({})))).await.ok(201);
    util::post(&c, CRDS, &crd("frees", "fv.example.com", "Free", "Cluster", preserve_unknown())).await.ok(201);
    let embedded = noxu_schema(json!({"x-kubernetes-preserve-unknown-fields": true, "properties": {"template": {
        "type": "object", "x-kubernetes-embedded-resource": true,
        "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string"}}}, "spec": {"type": "object"}}}}}));
    util::post(&c, CRDS, &crd("embeds", "fv.example.com", "Embed", "Cluster", embedded)).await.ok(201);
    let noxus = "/apis/fv.example.com/v1/noxus";
    let body = |name: &str, extra: &str| {
        format!(
            "\napiVersion: fv.example.com/v1\nkind: Noxu\nmetadata:\n  name: {name}\n{extra}spec:\n  foo: foo1\n  cronSpec: \"* * * * */5\"\n  ports:\n  - name: x\n    containerPort: 80\n    protocol: TCP"
        )
    };
    // Valid: created by POST and by apply, both strict.
    let valid = json!({"apiVersion": "fv.example.com/v1", "kind": "Noxu", "metadata": {"name": "posted"},
        "spec": {"foo": "foo1", "cronSpec": "* * * * */5", "ports": [{"name": "x", "containerPort": 80, "protocol": "TCP"}]}});
    util::post(&c, &format!("{noxus}?fieldValidation=Strict"), &valid).await.ok(201);
    apply_strict(&c, noxus, "mytest", &body("mytest", "")).await.ok(201);
    // Unknown fields where the schema has none: refused, nothing stored.
    let r = apply_strict(&c, noxus, "bad", &body("bad", "unknownField: unknown\n")).await;
    assert!(r.status >= 400 && r.text().contains(".unknownField: field not declared in schema"), "{}", r.text());
    let mut extra = valid.clone();
    extra["metadata"]["name"] = "bad".into();
    extra["spec"]["ports"][0]["extra"] = "x".into();
    let st = util::post(&c, &format!("{noxus}?fieldValidation=Strict"), &extra).await.status(400, "BadRequest");
    assert!(st["message"].as_str().unwrap().contains(r#"unknown field "spec.ports[0].extra""#), "{st}");
    util::get(&c, &format!("{noxus}/bad")).await.status(404, "NotFound");
    // No schema: unknown fields are kept.
    let free = "apiVersion: fv.example.com/v1\nkind: Free\nmetadata:\n  name: free\nspec:\n  unknown: uk1\n  ports: [{name: x}]\n";
    let got = apply_strict(&c, "/apis/fv.example.com/v1/frees", "free", free).await.ok(201);
    assert_eq!(got["spec"]["unknown"], "uk1");
    // Unknown metadata fields, at the root and in an embedded object.
    let yaml = "\napiVersion: fv.example.com/v1\nkind: Embed\nmetadata:\n  name: mytest\n  unknownMeta: unknown\nspec:\n  template:\n    apiversion: foo/v1\n    kind: Sub\n    metadata:\n        unknownSubMeta: unknown\n        name: subobject\n        namespace: default\n  foo: foo1\n";
    let r = apply_strict(&c, "/apis/fv.example.com/v1/embeds", "mytest", yaml).await;
    let text = r.text();
    assert!(
        r.status >= 400
            && (text.contains(".spec.template.metadata.unknownSubMeta: field not declared in schema")
                || text.contains(".metadata.unknownMeta: field not declared in schema")),
        "{text}"
    );
    util::get(&c, "/apis/fv.example.com/v1/embeds/mytest").await.status(404, "NotFound");
    // "should detect duplicates in a CR when preserving unknown fields".
    let yaml = "\napiVersion: fv.example.com/v1\nkind: Embed\nmetadata:\n  name: dup\nspec:\n  unknown: uk1\n  foo: foo1\n  foo: foo2\n  cronSpec: \"* * * * */5\"\n  ports:\n  - name: x\n    containerPort: 80\n    protocol: TCP";
    let st = apply_strict(&c, "/apis/fv.example.com/v1/embeds", "dup", yaml).await.status(400, "BadRequest");
    assert_eq!(
        st["message"],
        "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 9: key \"foo\" already set in map"
    );
    util::get(&c, "/apis/fv.example.com/v1/embeds/dup").await.status(404, "NotFound");
}

// ---------------------------------------------------------------------------------------
// table_conversion.go
// ---------------------------------------------------------------------------------------

/// "should return a 406 for a backend which does not implement metadata": a
/// SelfSubjectAccessReview asked for as a Table.
#[tokio::test]
async fn table_is_not_acceptable_for_a_review() {
    let s = Server::start();
    let c = s.client().await;
    let sar = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}}});
    let r = util::send_accept(
        &c,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        "application/json;as=Table;v=v1;g=meta.k8s.io",
        Some("application/json"),
        sar.to_string().into_bytes(),
    )
    .await;
    let st = r.status(406, "NotAcceptable");
    assert_eq!(
        st["message"],
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
    );
    // Asked for plainly, the review answers.
    let r = util::post(&c, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", &sar).await.ok(201);
    assert_eq!(r["status"]["allowed"], true);
}

// ---------------------------------------------------------------------------------------
// garbage_collector.go
// ---------------------------------------------------------------------------------------

fn rc(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": {"app": name},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
}

fn owner_ref(kind: &str, api_version: &str, owner: &Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "controller": true, "blockOwnerDeletion": true})
}

/// A pod as a controller would make it: owned by `owners`, optionally held by a finalizer.
fn owned_pod(name: &str, owners: Vec<Value>, labels: Value, finalizers: &[&str]) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels, "ownerReferences": owners, "finalizers": finalizers},
        "spec": {"containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "IfNotPresent"}]}})
}

async fn delete_with(c: &kube::Client, path: &str, policy: &str) -> Value {
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy});
    let r = util::send(c, "DELETE", path, Some("application/json"), body.to_string().into_bytes()).await;
    assert!(r.status == 200 || r.status == 202, "delete {path}: {}", r.text());
    r.json()
}

async fn pod_names(c: &kube::Client, ns: &str) -> Vec<String> {
    let mut n = util::names(&util::get(c, &format!("/api/v1/namespaces/{ns}/pods")).await.ok(200));
    n.sort();
    n
}

/// "should delete pods created by rc when not orphaning", "should orphan pods created by rc
/// if delete options say so" and "should keep the rc around until all its pods are deleted
/// if the deleteOptions says so".
#[tokio::test]
async fn gc_replication_controller_background_orphan_foreground() {
    let s = Server::start();
    let c = s.client().await;
    let rcs = "/api/v1/namespaces/default/replicationcontrollers";
    let pods = "/api/v1/namespaces/default/pods";
    let c2 = &c;
    // Background.
    let bg = util::post(&c, rcs, &rc("bg")).await.ok(201);
    for i in 0..2 {
        util::post(
            &c,
            pods,
            &owned_pod(
                &format!("bg-{i}"),
                vec![owner_ref("ReplicationController", "v1", &bg)],
                json!({"app": "bg"}),
                &[],
            ),
        )
        .await
        .ok(201);
    }
    delete_with(&c, &format!("{rcs}/bg"), "Background").await;
    until(30, "the rc's pods collected", || async move { pod_names(c2, "default").await.is_empty() }).await;
    // Orphan: the pods stay, without the reference.
    let or = util::post(&c, rcs, &rc("or")).await.ok(201);
    for i in 0..3 {
        util::post(
            &c,
            pods,
            &owned_pod(
                &format!("or-{i}"),
                vec![owner_ref("ReplicationController", "v1", &or)],
                json!({"app": "or"}),
                &[],
            ),
        )
        .await
        .ok(201);
    }
    delete_with(&c, &format!("{rcs}/or"), "Orphan").await;
    until(30, "the rc gone", || async move { util::get(c2, &format!("{rcs}/or")).await.status == 404 }).await;
    for i in 0..3 {
        let p = util::get(&c, &format!("{pods}/or-{i}")).await.ok(200);
        assert!(p["metadata"].get("ownerReferences").is_none() && p["metadata"]["deletionTimestamp"].is_null(), "{p}");
    }
    util::send(&c, "DELETE", &format!("{pods}?labelSelector=app%3Dor"), None, vec![]).await.ok(200);
    // Foreground: the rc stays, deleting, while a pod remains (held here by a finalizer).
    let fg = util::post(&c, rcs, &rc("fg")).await.ok(201);
    for i in 0..3 {
        let fin: &[&str] = if i == 0 { &["example.com/hold"] } else { &[] };
        util::post(
            &c,
            pods,
            &owned_pod(
                &format!("fg-{i}"),
                vec![owner_ref("ReplicationController", "v1", &fg)],
                json!({"app": "fg"}),
                fin,
            ),
        )
        .await
        .ok(201);
    }
    let marked = delete_with(&c, &format!("{rcs}/fg"), "Foreground").await;
    assert_eq!(marked["metadata"]["finalizers"], json!(["foregroundDeletion"]), "{marked}");
    until(30, "the free pods collected", || async move { pod_names(c2, "default").await == vec!["fg-0"] }).await;
    let held = util::get(&c, &format!("{pods}/fg-0")).await.ok(200);
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
    let owner = util::get(&c, &format!("{rcs}/fg")).await.ok(200);
    assert!(owner["metadata"]["deletionTimestamp"].is_string(), "the rc waits for its pods: {owner}");
    util::patch(
        &c,
        &format!("{pods}/fg-0"),
        "application/merge-patch+json",
        &json!({"metadata": {"finalizers": null}}),
    )
    .await
    .ok(200);
    until(30, "the rc gone after its pods", || async move { util::get(c2, &format!("{rcs}/fg")).await.status == 404 })
        .await;
    assert!(pod_names(&c, "default").await.is_empty());
}

/// "should delete RS created by deployment when not orphaning" and "should orphan RS created
/// by deployment when deleteOptions.PropagationPolicy is Orphan": Deployment → ReplicaSet →
/// pods, three levels.
#[tokio::test]
async fn gc_deployment_replicaset_pods_background_and_orphan() {
    let s = Server::start();
    let c = s.client().await;
    let c2 = &c;
    for (ns, policy) in [("bg", "Background"), ("orphan", "Orphan")] {
        util::post(
            &c,
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await
        .ok(201);
        let deploy = util::post(
            &c,
            &format!("/apis/apps/v1/namespaces/{ns}/deployments"),
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"app": "d"}},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                    "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
        )
        .await
        .ok(201);
        let rs = util::post(
            &c,
            &format!("/apis/apps/v1/namespaces/{ns}/replicasets"),
            &json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "d-1", "labels": {"app": "d"}, "ownerReferences": [owner_ref("Deployment", "apps/v1", &deploy)]},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                    "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
        )
        .await
        .ok(201);
        for i in 0..2 {
            util::post(
                &c,
                &format!("/api/v1/namespaces/{ns}/pods"),
                &owned_pod(
                    &format!("d-1-{i}"),
                    vec![owner_ref("ReplicaSet", "apps/v1", &rs)],
                    json!({"app": "d"}),
                    &[],
                ),
            )
            .await
            .ok(201);
        }
        delete_with(&c, &format!("/apis/apps/v1/namespaces/{ns}/deployments/d"), policy).await;
        let rs_path = format!("/apis/apps/v1/namespaces/{ns}/replicasets/d-1");
        if policy == "Background" {
            until(30, "the replicaset and its pods collected", || {
                let rs_path = rs_path.clone();
                async move { util::get(c2, &rs_path).await.status == 404 && pod_names(c2, ns).await.is_empty() }
            })
            .await;
        } else {
            until(30, "the deployment gone", || async move {
                util::get(c2, &format!("/apis/apps/v1/namespaces/{ns}/deployments/d")).await.status == 404
            })
            .await;
            let rs = util::get(&c, &rs_path).await.ok(200);
            assert!(
                rs["metadata"].get("ownerReferences").is_none() && rs["metadata"]["deletionTimestamp"].is_null(),
                "{rs}"
            );
            assert_eq!(pod_names(&c, ns).await, vec!["d-1-0", "d-1-1"], "the pods keep their replicaset");
        }
    }
}

/// "should not delete dependents that have both valid owner and owner that's waiting for
/// dependents to be deleted": half the pods of rc1 also belong to rc2; deleting rc1 in the
/// foreground deletes the others and leaves those with rc2 as their only owner.
#[tokio::test]
async fn gc_foreground_spares_dependents_with_another_valid_owner() {
    let s = Server::start();
    let c = s.client().await;
    let rcs = "/api/v1/namespaces/default/replicationcontrollers";
    let pods = "/api/v1/namespaces/default/pods";
    let rc1 = util::post(&c, rcs, &rc("simpletest-rc-to-be-deleted")).await.ok(201);
    let rc2 = util::post(&c, rcs, &rc("simpletest-rc-to-stay")).await.ok(201);
    for i in 0..6 {
        util::post(
            &c,
            pods,
            &owned_pod(&format!("p{i}"), vec![owner_ref("ReplicationController", "v1", &rc1)], json!({}), &[]),
        )
        .await
        .ok(201);
    }
    // As the conformance test does: a strategic merge patch adds rc2 to half of them.
    let add = json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "ReplicationController",
        "name": rc2["metadata"]["name"], "uid": rc2["metadata"]["uid"]}]}});
    for i in 0..3 {
        let p = util::patch(&c, &format!("{pods}/p{i}"), "application/strategic-merge-patch+json", &add).await.ok(200);
        assert_eq!(p["metadata"]["ownerReferences"].as_array().unwrap().len(), 2, "{p}");
    }
    delete_with(&c, &format!("{rcs}/simpletest-rc-to-be-deleted"), "Foreground").await;
    let c2 = &c;
    until(30, "rc1 gone", || async move {
        util::get(c2, &format!("{rcs}/simpletest-rc-to-be-deleted")).await.status == 404
    })
    .await;
    assert_eq!(pod_names(&c, "default").await, vec!["p0", "p1", "p2"]);
    for i in 0..3 {
        let p = util::get(&c, &format!("{pods}/p{i}")).await.ok(200);
        assert!(p["metadata"]["deletionTimestamp"].is_null(), "{p}");
        let owners = p["metadata"]["ownerReferences"].as_array().unwrap();
        assert_eq!(owners.len(), 1, "{p}");
        assert_eq!(owners[0]["name"], "simpletest-rc-to-stay");
    }
}

/// "should not be blocked by dependency circle": pod1 ← pod2 ← pod3 ← pod1, all blocking;
/// a foreground delete of pod1 removes all three.
#[tokio::test]
async fn gc_dependency_circle_does_not_block() {
    let s = Server::start();
    let c = s.client().await;
    let pods = "/api/v1/namespaces/default/pods";
    let mut made = Vec::new();
    for name in ["pod1", "pod2", "pod3"] {
        made.push(util::post(&c, pods, &owned_pod(name, vec![], json!({}), &[])).await.ok(201));
    }
    for (dependent, owner) in [(0, 2), (1, 0), (2, 1)] {
        let patch = json!({"metadata": {"ownerReferences": [owner_ref("Pod", "v1", &made[owner])]}});
        let name = made[dependent]["metadata"]["name"].as_str().unwrap().to_string();
        util::patch(&c, &format!("{pods}/{name}"), "application/strategic-merge-patch+json", &patch).await.ok(200);
    }
    let body = json!({"propagationPolicy": "Foreground", "preconditions": {"uid": made[0]["metadata"]["uid"]}});
    let r = util::send(&c, "DELETE", &format!("{pods}/pod1"), Some("application/json"), body.to_string().into_bytes())
        .await;
    assert!(r.status == 200 || r.status == 202, "{}", r.text());
    let c2 = &c;
    until(60, "all three pods gone", || async move { pod_names(c2, "default").await.is_empty() }).await;
}

// ---------------------------------------------------------------------------------------
// namespace.go
// ---------------------------------------------------------------------------------------

/// "should ensure that all pods are removed when a namespace is deleted" (services: see
/// delete::delete_namespace_takes_its_contents).
#[test]
fn namespace_deletion_removes_pods() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    k.ok(&["create", "namespace", "nsdeletetest"]);
    eventually(20, "the default account", || k.run(&["get", "sa", "default", "-n", "nsdeletetest"]).status.success());
    k.ok(&[
        "run",
        "test-pod",
        "-n",
        "nsdeletetest",
        "--image=busybox",
        "--image-pull-policy=IfNotPresent",
        "--restart=Never",
    ]);
    k.ok(&["delete", "namespace", "nsdeletetest", "--timeout=60s"]);
    let err = k.fails(&["get", "ns", "nsdeletetest"]);
    assert!(err.contains("not found"), "{err}");
    k.ok(&["create", "namespace", "nsdeletetest"]);
    assert_eq!(k.ok(&["get", "pods", "-n", "nsdeletetest", "-o", "name"]), "");
}

/// "should patch a Namespace", "should apply changes to a namespace status", "should apply
/// an update to a Namespace" and "should apply a finalizer to a Namespace".
#[tokio::test]
async fn namespace_patch_status_update_and_finalize() {
    let s = Server::start();
    let c = s.client().await;
    let ns = "/api/v1/namespaces/nspatchtest";
    util::post(
        &c,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nspatchtest"}}),
    )
    .await
    .ok(201);
    // Patch.
    let p = util::patch(
        &c,
        ns,
        "application/strategic-merge-patch+json",
        &json!({"metadata": {"labels": {"testLabel": "testValue"}}}),
    )
    .await
    .ok(200);
    assert_eq!(p["metadata"]["labels"]["testLabel"], "testValue");
    // Status: read, patch, update.
    let st = util::get(&c, &format!("{ns}/status")).await.ok(200);
    assert_eq!(st["status"]["phase"], "Active");
    let cond = json!({"type": "StatusPatch", "status": "True", "reason": "E2E", "message": "Patched by an e2e test"});
    let p = util::patch(
        &c,
        &format!("{ns}/status"),
        "application/merge-patch+json",
        &json!({"status": {"conditions": [cond]}}),
    )
    .await
    .ok(200);
    assert_eq!(p["status"]["conditions"], json!([cond]));
    let mut cur = util::get(&c, &format!("{ns}/status")).await.ok(200);
    let cond2 = json!({"type": "StatusUpdate", "status": "True", "reason": "E2E", "message": "Updated by an e2e test"});
    cur["status"]["conditions"].as_array_mut().unwrap().push(cond2.clone());
    let u = util::put(&c, &format!("{ns}/status"), &cur).await.ok(200);
    assert_eq!(u["status"]["conditions"], json!([cond, cond2]));
    // Update.
    let mut cur = util::get(&c, ns).await.ok(200);
    cur["metadata"]["annotations"] = json!({"e2e-update": "done"});
    let u = util::put(&c, ns, &cur).await.ok(200);
    assert_eq!(u["metadata"]["annotations"]["e2e-update"], "done");
    // Finalize: add a fake finalizer, then remove it.
    let mut cur = util::get(&c, ns).await.ok(200);
    cur["spec"]["finalizers"].as_array_mut().unwrap().push("e2e.example.com/fakeFinalizer".into());
    let f = util::put(&c, &format!("{ns}/finalize"), &cur).await.ok(200);
    assert_eq!(f["spec"]["finalizers"], json!(["kubernetes", "e2e.example.com/fakeFinalizer"]));
    let mut cur = util::get(&c, ns).await.ok(200);
    assert_eq!(cur["spec"]["finalizers"], json!(["kubernetes", "e2e.example.com/fakeFinalizer"]));
    cur["spec"]["finalizers"] = json!(["kubernetes"]);
    let f = util::put(&c, &format!("{ns}/finalize"), &cur).await.ok(200);
    assert_eq!(f["spec"]["finalizers"], json!(["kubernetes"]));
}

// ---------------------------------------------------------------------------------------
// test/e2e/auth/service_accounts.go
// ---------------------------------------------------------------------------------------

/// "should run through the lifecycle of a ServiceAccount" and "should update a
/// ServiceAccount".
#[tokio::test]
async fn serviceaccount_lifecycle_and_update() {
    let s = Server::start();
    let c = s.client().await;
    let sas = "/api/v1/namespaces/default/serviceaccounts";
    let mut w = Watch::open(&c, &format!("{sas}?watch=true&labelSelector=test-serviceaccount-static%3Dtrue")).await;
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "testserviceaccount", "labels": {"test-serviceaccount-static": "true"}}});
    util::post(&c, sas, &sa).await.ok(201);
    let (t, _) = w.expect(10).await;
    assert_eq!(t, "ADDED");
    let p = util::patch(
        &c,
        &format!("{sas}/testserviceaccount"),
        "application/strategic-merge-patch+json",
        &json!({"metadata": {"labels": {"test-serviceaccount": "patched"}}, "automountServiceAccountToken": false}),
    )
    .await
    .ok(200);
    assert_eq!(p["automountServiceAccountToken"], false);
    let (t, o) = w.expect(10).await;
    assert_eq!((t.as_str(), &o["metadata"]["labels"]["test-serviceaccount"]), ("MODIFIED", &json!("patched")));
    let list = util::get(&c, &format!("{sas}?labelSelector=test-serviceaccount-static%3Dtrue")).await.ok(200);
    assert_eq!(util::names(&list), vec!["testserviceaccount"]);
    // Update (replace).
    let mut cur = util::get(&c, &format!("{sas}/testserviceaccount")).await.ok(200);
    cur["automountServiceAccountToken"] = true.into();
    let u = util::put(&c, &format!("{sas}/testserviceaccount"), &cur).await.ok(200);
    assert_eq!(u["automountServiceAccountToken"], true);
    let (t, _) = w.expect(10).await;
    assert_eq!(t, "MODIFIED");
    // Delete collection by label.
    util::send(&c, "DELETE", &format!("{sas}?labelSelector=test-serviceaccount-static%3Dtrue"), None, vec![])
        .await
        .ok(200);
    let (t, o) = w.expect(10).await;
    assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("DELETED", Some("testserviceaccount")));
}

/// "should allow opting out of API token automount": the account's and the pod's
/// `automountServiceAccountToken` combined, the pod's winning.
#[tokio::test]
async fn automount_opt_out_matrix() {
    let s = Server::start();
    let c = s.client().await;
    let sas = "/api/v1/namespaces/default/serviceaccounts";
    for (name, automount) in [("nomount", json!(false)), ("mount", json!(true))] {
        util::post(&c, sas, &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}, "automountServiceAccountToken": automount}))
            .await
            .ok(201);
    }
    let c2 = &c;
    until(20, "the default account", || async move { util::get(c2, &format!("{sas}/default")).await.status == 200 })
        .await;
    let cases: [(&str, Value, bool); 9] = [
        ("default", Value::Null, true),
        ("default", json!(true), true),
        ("default", json!(false), false),
        ("mount", Value::Null, true),
        ("mount", json!(true), true),
        ("mount", json!(false), false),
        ("nomount", Value::Null, false),
        ("nomount", json!(true), true),
        ("nomount", json!(false), false),
    ];
    for (i, (sa, pod_setting, expect)) in cases.iter().enumerate() {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("pod-{i}")},
            "spec": {"serviceAccountName": sa, "containers": [{"name": "token-test", "image": "busybox"}]}});
        if !pod_setting.is_null() {
            pod["spec"]["automountServiceAccountToken"] = pod_setting.clone();
        }
        let created = util::post(&c, "/api/v1/namespaces/default/pods", &pod).await.ok(201);
        let mounted = created["spec"]["containers"][0]["volumeMounts"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"));
        assert_eq!(mounted, *expect, "account {sa}, pod {pod_setting}: {created}");
    }
}

/// "should guarantee kube-root-ca.crt exist in any namespace": created, recreated when
/// deleted, and put back when changed.
#[test]
fn root_ca_configmap_is_reconciled() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let ca = |ns: &str| k.ok(&["get", "cm", "kube-root-ca.crt", "-n", ns, "-o", "jsonpath={.data.ca\\.crt}"]);
    eventually(20, "root CA in default", || k.run(&["get", "cm", "kube-root-ca.crt"]).status.success());
    let original = ca("default");
    assert!(original.starts_with("-----BEGIN CERTIFICATE-----"), "{original}");
    k.ok(&["patch", "cm", "kube-root-ca.crt", "--type=merge", "-p", r#"{"data":{"ca.crt":"changed"}}"#]);
    eventually(20, "the CA put back", || ca("default") == original);
    k.ok(&["patch", "cm", "kube-root-ca.crt", "--type=merge", "-p", r#"{"data":{"other":"x"}}"#]);
    eventually(20, "extra data removed", || {
        k.json(&["get", "cm", "kube-root-ca.crt", "-o", "json"])["data"].as_object().is_some_and(|d| d.len() == 1)
    });
    k.ok(&["create", "ns", "other"]);
    eventually(20, "root CA in a new namespace", || {
        k.run(&["get", "cm", "kube-root-ca.crt", "-n", "other"]).status.success()
    });
    assert_eq!(ca("other"), original);
}

/// "should mount an API token into pods" and "should mount projected service account
/// token": the pod reads the token, ca.crt and namespace files; the token authenticates
/// as the pod's account.
#[test]
fn token_ca_and_namespace_are_mounted_into_pods() {
    if !crate::pods::root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    eventually(20, "the default account", || k.run(&["get", "sa", "default"]).status.success());
    k.ok(&["create", "sa", "mount-test"]);
    k.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: pod-service-account}\nspec:\n  serviceAccountName: mount-test\n  restartPolicy: Never\n  containers:\n  - name: test\n    image: busybox\n    imagePullPolicy: IfNotPresent\n    command: [sh, -c, 'd=/var/run/secrets/kubernetes.io/serviceaccount; echo token=$(cat $d/token); echo ns=$(cat $d/namespace); cat $d/ca.crt']\n",
    );
    eventually(90, "the pod to finish", || {
        k.ok(&["get", "pod", "pod-service-account", "-o", "jsonpath={.status.phase}"]) == "Succeeded"
    });
    let logs = k.ok(&["logs", "pod-service-account"]);
    let token = logs.lines().find_map(|l| l.strip_prefix("token=")).unwrap_or_else(|| panic!("{logs}")).to_string();
    assert!(logs.lines().any(|l| l == "ns=default"), "{logs}");
    let ca = k.ok(&["get", "cm", "kube-root-ca.crt", "-o", "jsonpath={.data.ca\\.crt}"]);
    assert!(logs.contains(ca.trim()), "ca.crt is the cluster CA: {logs}");
    // The token is the account's and works against the API.
    let admin = std::fs::read_to_string(s.kubeconfig()).unwrap();
    let ca_data = admin.lines().find_map(|l| l.trim().strip_prefix("certificate-authority-data: ")).unwrap();
    let server = admin.lines().find_map(|l| l.trim().strip_prefix("server: ")).unwrap();
    let cfg = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{certificate-authority-data: {ca_data}, server: '{server}'}}\n  name: c\ncontexts:\n- context: {{cluster: c, user: u}}\n  name: c\ncurrent-context: c\nusers:\n- name: u\n  user: {{token: {token}}}\n"
    );
    let mut as_sa = s.kubectl("1.33");
    as_sa.kubeconfig = write(s.dir.path(), "pod-token.yaml", &cfg);
    assert_eq!(
        as_sa.ok(&["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]),
        "system:serviceaccount:default:mount-test"
    );
}
