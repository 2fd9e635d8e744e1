//! Bad input, through raw requests: each gets the `metav1.Status` (code, reason, message,
//! causes) the real API server returns, and the store is unchanged afterwards.
//!
//! The expected answers follow the real server's handlers: `transformDecodeError` for
//! bodies that do not decode ("the object provided is unrecognized …", "… cannot be handled
//! as a …"), `limitedReadBody` (413 above 3 MiB), `NegotiateInputSerializer` and the patch
//! content types (415), `EnsureObjectNamespaceMatchesRequestNamespace` (400), go-restful's
//! 404/405 through `NewGenericServerResponse`, strict decoding errors (400) and warnings.

use serde_json::{Value, json};

use crate::harness::{Server, VERSIONS};
use crate::util::{self, Resp};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const MALFORMED_JSON: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","#;
const MALFORMED_YAML: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n  : x\n";
const WRONG_TYPE: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"t"},"data":{"a":1}}"#;

/// Every ConfigMap and Deployment in the cluster with its resourceVersion.
async fn store_state(c: &kube::Client) -> Vec<String> {
    let mut out = Vec::new();
    for path in ["/api/v1/configmaps", "/apis/apps/v1/deployments", "/api/v1/namespaces"] {
        let list = util::get(c, path).await.ok(200);
        for i in list["items"].as_array().unwrap() {
            // Published by a controller in each namespace whenever it gets to it.
            if i["metadata"]["name"] == "kube-root-ca.crt" {
                continue;
            }
            out.push(format!("{path} {}/{} {}", i["metadata"]["namespace"], i["metadata"]["name"], util::rv(i)));
        }
    }
    out
}

async fn post_raw(c: &kube::Client, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
    util::send(c, "POST", path, Some(content_type), body.into()).await
}

#[track_caller]
fn message(st: &Value) -> &str {
    st["message"].as_str().unwrap_or_else(|| panic!("no message: {st}"))
}

#[tokio::test]
async fn malformed_bodies_are_bad_requests() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;

    // Malformed JSON, an empty body, JSON of the wrong shape, malformed YAML: 400 BadRequest.
    // (The exact upstream messages: see decode_error_messages_match_upstream.)
    post_raw(&c, CMS, "application/json", MALFORMED_JSON).await.status(400, "BadRequest");
    post_raw(&c, CMS, "application/json", "").await.status(400, "BadRequest");
    let st = post_raw(&c, CMS, "application/json", WRONG_TYPE).await.status(400, "BadRequest");
    assert!(message(&st).starts_with(r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: "#), "{st}");
    post_raw(&c, CMS, "application/yaml", MALFORMED_YAML).await.status(400, "BadRequest");
    // Well-formed YAML is accepted on the same path.
    post_raw(
        &c,
        CMS,
        "application/yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-yaml}\ndata: {a: b}\n",
    )
    .await
    .ok(201);
    util::delete(&c, &format!("{CMS}/from-yaml")).await.ok(200);

    assert_eq!(store_state(&c).await, before);
}

/// The messages of upstream's `transformDecodeError`: "the object provided is unrecognized
/// (must be of type ConfigMap): <decoder error> (<summary>)" when the body has no usable
/// kind, "<Kind> in version \"<v>\" cannot be handled as a ConfigMap: <decoder error>" when it has.
#[tokio::test]
async fn decode_error_messages_match_upstream() {
    let s = Server::start();
    let c = s.client().await;
    let unrecognized = "the object provided is unrecognized (must be of type ConfigMap): ";
    let st = post_raw(&c, CMS, "application/json", MALFORMED_JSON).await.status(400, "BadRequest");
    assert!(message(&st).starts_with(&format!("{unrecognized}couldn't get version/kind; json parse error: ")), "{st}");
    // Go's summarizeData keeps the first 30 bytes.
    assert!(message(&st).ends_with(r#"({"apiVersion":"v1","kind":"Con ...)"#), "{st}");
    let st = post_raw(&c, CMS, "application/json", "").await.status(400, "BadRequest");
    assert!(message(&st).starts_with(unrecognized) && message(&st).ends_with("(<empty>)"), "{st}");
    let st = post_raw(&c, CMS, "application/yaml", MALFORMED_YAML).await.status(400, "BadRequest");
    assert!(message(&st).starts_with(unrecognized) && message(&st).contains("yaml: "), "{st}");
    let st =
        post_raw(&c, CMS, "application/vnd.kubernetes.protobuf", b"garbage".to_vec()).await.status(400, "BadRequest");
    assert!(
        message(&st).starts_with(&format!(
            "{unrecognized}provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )),
        "{st}"
    );
    let st = util::post(&c, CMS, &json!({"apiVersion": "v1", "kind": "Foo", "metadata": {"name": "x"}}))
        .await
        .status(400, "BadRequest");
    assert!(
        message(&st).starts_with(
            r#"Foo in version "v1" cannot be handled as a ConfigMap: no kind "Foo" is registered for version "v1""#
        ),
        "{st}"
    );
    let wrong_group = json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let st = util::post(&c, CMS, &wrong_group).await.status(400, "BadRequest");
    assert!(message(&st).starts_with(r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: no kind "ConfigMap" is registered for version "apps/v1""#), "{st}");
    let old = json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "x"}});
    let st = util::post(&c, "/apis/apps/v1/namespaces/default/deployments", &old).await.status(400, "BadRequest");
    assert!(message(&st).contains(r#"no kind "Deployment" is registered for version "extensions/v1beta1""#), "{st}");
}

#[tokio::test]
async fn body_over_3_mib_is_too_large() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;
    let big = "x".repeat(3 * 1024 * 1024 + 1);
    let body = util::configmap("default", "big", json!({"big": big}));
    let st = util::post(&c, CMS, &body).await.status(413, "RequestEntityTooLarge");
    assert_eq!(message(&st), "Request entity too large: limit is 3145728", "{st}");
    // The limit holds for updates and patches too.
    util::post(&c, CMS, &util::configmap("default", "small", json!({}))).await.ok(201);
    let st = util::put(&c, &format!("{CMS}/small"), &util::configmap("default", "small", json!({"big": big})))
        .await
        .status(413, "RequestEntityTooLarge");
    assert_eq!(message(&st), "Request entity too large: limit is 3145728", "{st}");
    let st =
        util::patch(&c, &format!("{CMS}/small"), "application/merge-patch+json", &json!({"data": {"big": big}})).await;
    st.status(413, "RequestEntityTooLarge");
    util::delete(&c, &format!("{CMS}/small")).await.ok(200);
    assert_eq!(store_state(&c).await, before);
}

/// ConfigMaps hold at most 1 MiB of data (validation, not the body limit).
#[tokio::test]
async fn configmap_over_1_mib_is_invalid() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;
    let body = util::configmap("default", "big", json!({"big": "x".repeat(2 * 1024 * 1024)}));
    let st = util::post(&c, CMS, &body).await.status(422, "Invalid");
    // The error is about the whole object: an empty field path, as upstream reports it.
    assert_eq!(message(&st), r#"ConfigMap "big" is invalid: : Too long: may not be more than 1048576 bytes"#, "{st}");
    assert_eq!(
        st["details"]["causes"],
        json!([{"reason": "FieldValueTooLong", "message": "Too long: may not be more than 1048576 bytes", "field": ""}])
    );
    assert_eq!(store_state(&c).await, before);
}

#[track_caller]
fn not_found(r: &Resp) {
    assert_eq!(r.status, 404, "{}", r.text());
    // The real server answers go-restful's misses with a Status, and unknown groups with plain text.
    let ct = r.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/json") {
        r.status(404, "NotFound");
    }
}

#[tokio::test]
async fn unknown_resources_groups_and_kinds() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;

    // An unknown resource in a known group version: go-restful's 404 as a Status.
    for path in ["/api/v1/namespaces/default/foos", "/api/v1/foos", "/apis/apps/v1/namespaces/default/foos/x"] {
        let st = util::get(&c, path).await.status(404, "NotFound");
        assert_eq!(message(&st), "the server could not find the requested resource", "{path}: {st}");
    }
    let st = util::post(&c, "/api/v1/namespaces/default/foos", &json!({"apiVersion": "v1", "kind": "Foo"}))
        .await
        .status(404, "NotFound");
    assert_eq!(message(&st), "the server could not find the requested resource", "{st}");
    // Unknown groups and versions.
    for path in
        ["/apis/nope.example.com/v1/foos", "/apis/nope.example.com/v1", "/apis/apps/v9/deployments", "/api/v9/pods"]
    {
        not_found(&util::get(&c, path).await);
    }
    not_found(&util::post(&c, "/apis/nope.example.com/v1/namespaces/default/foos", &json!({})).await);

    // An unknown kind in the body of a known resource.
    let st = util::post(&c, CMS, &json!({"apiVersion": "v1", "kind": "Foo", "metadata": {"name": "x"}}))
        .await
        .status(400, "BadRequest");
    assert!(
        message(&st)
            .starts_with(r#"Foo in version "v1" cannot be handled as a ConfigMap: no kind "Foo" is registered"#),
        "{st}"
    );

    // An object that does not exist in a known resource: NotFound with the resource and name.
    let st = util::get(&c, &format!("{CMS}/nothing")).await.status(404, "NotFound");
    assert_eq!(message(&st), r#"configmaps "nothing" not found"#);
    assert_eq!(st["details"], json!({"name": "nothing", "kind": "configmaps"}));
    let st = util::get(&c, "/apis/apps/v1/namespaces/default/deployments/nothing").await.status(404, "NotFound");
    assert_eq!(message(&st), r#"deployments.apps "nothing" not found"#);
    assert_eq!(st["details"], json!({"name": "nothing", "group": "apps", "kind": "deployments"}));

    assert_eq!(store_state(&c).await, before);
}

#[test]
fn kubectl_reports_unknown_kinds() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let out = k.stdin(&["apply", "-f", "-"], "apiVersion: nope.example.com/v1\nkind: Foo\nmetadata: {name: x}\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "kubectl {v}");
        assert!(err.contains(r#"no matches for kind "Foo" in version "nope.example.com/v1""#), "kubectl {v}: {err}");
        let out = k.stdin(&["create", "-f", "-"], "apiVersion: v1\nkind: Foo\nmetadata: {name: x}\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(r#"no matches for kind "Foo" in version "v1""#), "kubectl {v}: {err}");
        let err = k.fails(&["get", "foos"]);
        assert!(err.contains(r#"the server doesn't have a resource type "foos""#), "kubectl {v}: {err}");
    }
}

#[tokio::test]
async fn names_that_are_not_dns_names_are_invalid() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;

    let st = util::post(&c, CMS, &util::configmap("default", "Bad_Name", json!({}))).await.status(422, "Invalid");
    assert!(
        message(&st).starts_with(r#"ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"#),
        "{st}"
    );
    assert_eq!(st["details"]["name"], "Bad_Name", "{st}");
    assert_eq!(st["details"]["kind"], "ConfigMap", "{st}");
    let causes = st["details"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{st}");
    assert_eq!(causes[0]["reason"], "FieldValueInvalid", "{st}");
    assert_eq!(causes[0]["field"], "metadata.name", "{st}");
    assert!(
        causes[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(r#"Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#),
        "{st}"
    );

    // Upstream checks the length first; 254 letters match the pattern, so the length is the only error.
    let long = "a".repeat(254);
    let st = util::post(&c, CMS, &util::configmap("default", &long, json!({}))).await.status(422, "Invalid");
    assert_eq!(
        message(&st),
        format!(
            r#"ConfigMap "{long}" is invalid: metadata.name: Invalid value: "{long}": must be no more than 253 characters"#
        )
    );
    assert_eq!(st["details"]["causes"][0]["field"], "metadata.name", "{st}");

    // Namespaces are DNS labels: no dots, no capitals.
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}});
    let st = util::post(&c, "/api/v1/namespaces", &ns).await.status(422, "Invalid");
    assert_eq!(
        message(&st),
        r#"Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots"#
    );
    assert_eq!(st["details"]["causes"][0]["field"], "metadata.name", "{st}");
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "A_B"}});
    let st = util::post(&c, "/api/v1/namespaces", &ns).await.status(422, "Invalid");
    assert!(
        message(&st).contains("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"),
        "{st}"
    );

    // Neither name nor generateName.
    let st = util::post(&c, CMS, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}))
        .await
        .status(422, "Invalid");
    assert!(message(&st).contains("metadata.name: Required value: name or generateName is required"), "{st}");

    // Labels are validated too.
    let mut body = util::configmap("default", "labels", json!({}));
    body["metadata"]["labels"] = json!({"ok": "x".repeat(64)});
    let st = util::post(&c, CMS, &body).await.status(422, "Invalid");
    assert_eq!(st["details"]["causes"][0]["field"], "metadata.labels", "{st}");
    assert!(message(&st).contains("must be no more than 63 characters"), "{st}");
    let mut body = util::configmap("default", "labels", json!({}));
    body["metadata"]["labels"] = json!({"bad key!": "x"});
    let st = util::post(&c, CMS, &body).await.status(422, "Invalid");
    assert_eq!(st["details"]["causes"][0]["field"], "metadata.labels", "{st}");

    assert_eq!(store_state(&c).await, before);
}

#[tokio::test]
async fn wrong_api_version_or_kind_in_the_body() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;

    // Another kind of the same group version.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}});
    let st = util::post(&c, CMS, &secret).await.status(400, "BadRequest");
    assert!(message(&st).starts_with(r#"Secret in version "v1" cannot be handled as a ConfigMap: "#), "{st}");
    // A version the kind does not exist in.
    let wrong_group = json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let st = util::post(&c, CMS, &wrong_group).await.status(400, "BadRequest");
    assert!(message(&st).contains("apps/v1"), "{st}");
    let old = json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "x"}});
    let st = util::post(&c, "/apis/apps/v1/namespaces/default/deployments", &old).await.status(400, "BadRequest");
    assert!(message(&st).contains("extensions/v1beta1"), "{st}");
    // Another served version of the same resource: the server refuses the mismatch.
    let hpa = json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}, "maxReplicas": 2}
    });
    let st = util::post(&c, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", &hpa)
        .await
        .status(400, "BadRequest");
    assert_eq!(
        message(&st),
        "the API version in the data (autoscaling/v1) does not match the expected API version (autoscaling/v2)",
        "{st}"
    );
    // The same on update.
    util::post(&c, CMS, &util::configmap("default", "u", json!({}))).await.ok(201);
    let st =
        util::put(&c, &format!("{CMS}/u"), &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "u"}}))
            .await
            .status(400, "BadRequest");
    assert!(message(&st).starts_with(r#"Secret in version "v1" cannot be handled as a ConfigMap: "#), "{st}");
    util::delete(&c, &format!("{CMS}/u")).await.ok(200);

    assert_eq!(store_state(&c).await, before);
}

#[tokio::test]
async fn namespace_or_name_in_the_body_differs_from_the_url() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;

    let st = util::post(&c, CMS, &util::configmap("kube-system", "x", json!({}))).await.status(400, "BadRequest");
    assert_eq!(message(&st), "the namespace of the provided object does not match the namespace sent on the request");
    util::post(&c, CMS, &util::configmap("default", "u", json!({}))).await.ok(201);
    let before_update = store_state(&c).await;
    let st = util::put(&c, &format!("{CMS}/u"), &util::configmap("kube-system", "u", json!({})))
        .await
        .status(400, "BadRequest");
    assert_eq!(message(&st), "the namespace of the provided object does not match the namespace sent on the request");
    let st =
        util::put(&c, &format!("{CMS}/u"), &util::configmap("default", "v", json!({}))).await.status(400, "BadRequest");
    assert_eq!(message(&st), "the name of the object (v) does not match the name on the URL (u)");
    assert_eq!(store_state(&c).await, before_update);
    util::delete(&c, &format!("{CMS}/u")).await.ok(200);
    assert_eq!(store_state(&c).await, before);
    // A namespace in the body of a cluster-scoped object is dropped, not refused.
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "scoped", "namespace": "default"}});
    let created = util::post(&c, "/api/v1/namespaces", &ns).await.ok(201);
    assert!(created["metadata"].get("namespace").is_none(), "{created}");
}

#[tokio::test]
async fn unsupported_content_types() {
    let s = Server::start();
    let c = s.client().await;
    util::post(&c, CMS, &util::configmap("default", "p", json!({"a": "1"}))).await.ok(201);
    let before = store_state(&c).await;

    // PATCH with a content type that is no patch type.
    for ct in ["text/plain", "application/json", "application/yaml", "application/xml"] {
        let st = util::send(&c, "PATCH", &format!("{CMS}/p"), Some(ct), br#"{"data":{"a":"2"}}"#.to_vec())
            .await
            .status(415, "UnsupportedMediaType");
        let m = message(&st);
        assert!(
            m.starts_with("the body of the request was in an unknown format - accepted media types include: "),
            "{ct}: {st}"
        );
        for t in [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
        ] {
            assert!(m.contains(t), "{ct}: {t} missing from {m}");
        }
    }
    // POST with a content type no serializer reads.
    let st = post_raw(&c, CMS, "text/plain", r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"t"}}"#)
        .await
        .status(415, "UnsupportedMediaType");
    let m = message(&st);
    assert!(m.starts_with("the body of the request was in an unknown format - accepted media types include: "), "{st}");
    for t in ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"] {
        assert!(m.contains(t), "{t} missing from {m}");
    }
    assert_eq!(store_state(&c).await, before);
}

/// go-restful answers a method a path does not have with 405, as a Status.
#[tokio::test]
async fn unsupported_methods() {
    let s = Server::start();
    let c = s.client().await;
    util::post(&c, CMS, &util::configmap("default", "p", json!({}))).await.ok(201);
    let before = store_state(&c).await;
    let st = util::put(&c, CMS, &util::configmap("default", "x", json!({}))).await.status(405, "MethodNotAllowed");
    assert_eq!(message(&st), "the server does not allow this method on the requested resource", "{st}");
    let st = util::post(&c, &format!("{CMS}/p"), &util::configmap("default", "p", json!({})))
        .await
        .status(405, "MethodNotAllowed");
    assert_eq!(message(&st), "the server does not allow this method on the requested resource", "{st}");
    let st = util::send(&c, "PATCH", CMS, Some("application/merge-patch+json"), b"{}".to_vec())
        .await
        .status(405, "MethodNotAllowed");
    assert_eq!(message(&st), "the server does not allow this method on the requested resource", "{st}");
    assert_eq!(store_state(&c).await, before);
}

/// The real server decodes protobuf for built-in kinds, so garbage is a decode error (400).
#[tokio::test]
async fn protobuf_garbage_is_a_bad_request() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;
    let st =
        post_raw(&c, CMS, "application/vnd.kubernetes.protobuf", b"garbage".to_vec()).await.status(400, "BadRequest");
    assert!(
        message(&st).contains("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"),
        "{st}"
    );
    // The right magic with a broken envelope is still a 400.
    post_raw(&c, CMS, "application/vnd.kubernetes.protobuf", b"k8s\x00\xff\xff\xff".to_vec())
        .await
        .status(400, "BadRequest");
    assert_eq!(store_state(&c).await, before);
}

#[tokio::test]
async fn unknown_fields_under_field_validation() {
    let s = Server::start();
    let c = s.client().await;
    let before = store_state(&c).await;
    let body = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "bogus": 1}, "data": {"a": "b"}, "spec": {"x": 1}});

    // Strict: 400 naming every unknown field, nothing stored.
    let st = util::post(&c, &format!("{CMS}?fieldValidation=Strict"), &body("strict")).await.status(400, "BadRequest");
    let m = message(&st);
    assert!(
        m.starts_with(
            r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "#
        ),
        "{st}"
    );
    assert!(m.contains(r#"unknown field "metadata.bogus""#) && m.contains(r#"unknown field "spec""#), "{st}");
    // Duplicate fields are strict errors too.
    let dup = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1"},"data":{"a":"2"}}"#;
    let st =
        post_raw(&c, &format!("{CMS}?fieldValidation=Strict"), "application/json", dup).await.status(400, "BadRequest");
    assert!(message(&st).contains(r#"duplicate field "data""#), "{st}");
    assert_eq!(store_state(&c).await, before, "Strict stores nothing");

    // Warn: created, with one Warning header per unknown field.
    let r = util::post(&c, &format!("{CMS}?fieldValidation=Warn"), &body("warn")).await;
    let created = r.ok(201);
    let warnings = r.warnings();
    assert!(warnings.iter().any(|w| w == r#"299 - "unknown field \"metadata.bogus\"""#), "{warnings:?}");
    assert!(warnings.iter().any(|w| w == r#"299 - "unknown field \"spec\"""#), "{warnings:?}");
    assert_eq!(created["data"], json!({"a": "b"}), "{created}");
    assert!(
        created.get("spec").is_none() && created["metadata"].get("bogus").is_none(),
        "unknown fields dropped: {created}"
    );
    // Without the parameter the server warns (the default since 1.25).
    let r = util::post(&c, CMS, &body("default")).await;
    r.ok(201);
    assert!(r.warnings().iter().any(|w| w.contains(r#"unknown field \"spec\""#)), "{:?}", r.warnings());
    // Ignore: created, silently.
    let r = util::post(&c, &format!("{CMS}?fieldValidation=Ignore"), &body("ignore")).await;
    r.ok(201);
    assert!(r.warnings().is_empty(), "{:?}", r.warnings());

    // The same rules on update.
    let mut upd = util::get(&c, &format!("{CMS}/warn")).await.ok(200);
    upd["bogus"] = json!(true);
    let st = util::put(&c, &format!("{CMS}/warn?fieldValidation=Strict"), &upd).await.status(400, "BadRequest");
    assert!(message(&st).contains(r#"strict decoding error: unknown field "bogus""#), "{st}");
    let r = util::put(&c, &format!("{CMS}/warn?fieldValidation=Warn"), &upd).await;
    r.ok(200);
    assert_eq!(r.warnings(), [r#"299 - "unknown field \"bogus\"""#]);
}

/// Options are validated as `CreateOptions`/`PatchOptions` objects: 422 Invalid.
#[tokio::test]
async fn write_options_are_validated() {
    let s = Server::start();
    let c = s.client().await;
    util::post(&c, CMS, &util::configmap("default", "p", json!({}))).await.ok(201);
    let st =
        util::send(&c, "PATCH", &format!("{CMS}/p?force=true"), Some("application/merge-patch+json"), b"{}".to_vec())
            .await
            .status(422, "Invalid");
    assert_eq!(
        message(&st),
        r#"PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch"#
    );
    let st = util::post(&c, &format!("{CMS}?dryRun=Some"), &util::configmap("default", "d", json!({})))
        .await
        .status(422, "Invalid");
    assert_eq!(
        message(&st),
        r#"CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Some"]: supported values: "All""#
    );
    let long = "m".repeat(129);
    let st = util::post(&c, &format!("{CMS}?fieldManager={long}"), &util::configmap("default", "d", json!({})))
        .await
        .status(422, "Invalid");
    assert_eq!(
        message(&st),
        r#"CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes"#
    );
    let st = util::post(&c, &format!("{CMS}?fieldValidation=Bogus"), &util::configmap("default", "d", json!({})))
        .await
        .status(422, "Invalid");
    assert!(message(&st).contains("fieldValidation"), "{st}");
}
