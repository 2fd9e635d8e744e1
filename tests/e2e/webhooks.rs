//! Admission webhooks end to end: a webhook server written here (HTTPS on 127.0.0.1 with a
//! certificate from its own CA, passed as `caBundle`) that mutates (JSON patch adding a
//! label), denies (objects labelled `deny=true`), warns, sleeps past its timeout, answers
//! garbage and speaks AdmissionReview v1beta1; driven with kubectl 1.33 against a server.
//!
//! Behaviours of the conformance tests (test/e2e/apimachinery/webhook.go) covered here,
//! with `clientConfig.url` in place of the conformance tests' service-routed webhooks:
//! - "should be able to deny pod and configmap creation": denial by label, namespaceSelector
//!   and objectSelector, denial of an update, nothing stored, the denial message.
//! - "should unconditionally reject operations on fail closed webhook": unreachable webhook
//!   with failurePolicy Fail refuses, Ignore lets through.
//! - "should mutate configmap", "should mutate pod and apply defaults after mutation".
//! - "should deny/mutate custom resource" (create, update and deletion of a custom resource).
//! - "should honor timeout": a webhook slower than timeoutSeconds fails the request under
//!   Fail (`context deadline exceeded`) and is ignored under Ignore.
//! - "should not be able to mutate or prevent deletion of webhook configuration objects":
//!   configurations are never sent to webhooks (a fail-closed match-everything webhook
//!   does not stop its own deletion).
//! - "patching/updating a validating webhook should work", "listing … webhooks should work":
//!   a configuration edited to stop matching stops denying; list and delete-collection.
//! - matchConditions: "should mutate everything except 'skip-me' configmaps", evaluation
//!   errors under Fail and Ignore, invalid match conditions refused.
//!
//! Not covered here:
//! - Service-routed webhooks (`clientConfig.service`): need Services to route (later issue);
//!   the URL `https://<svc>.<ns>.svc:<port><path>` is built, the call itself cannot succeed.
//! - "should be able to deny attaching pod" (CONNECT of pods/attach): needs a running pod.
//! - "should mutate custom resource with different stored version" / "with pruning": CR
//!   mutation is covered, the version switch and pruning after a patch are not.
//! - "should include webhook resources in discovery documents": covered by the discovery tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::harness::{Kubectl, Server};

/// The webhook server: its base URL, its CA (base64 PEM, ready for `caBundle`), and the
/// reviews it received (path, review).
struct Hooks {
    base: String,
    ca: String,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Hooks {
    /// Reviews received at `path` about the object `name`.
    fn reviews(&self, path: &str, name: &str) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, r)| p == path && r["request"]["name"] == name)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

fn labels_of(review: &Value) -> Value {
    let obj = &review["request"]["object"];
    let obj = if obj.is_null() { &review["request"]["oldObject"] } else { obj };
    obj["metadata"]["labels"].clone()
}

fn allowed(review: &Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": review["request"]["uid"], "allowed": true}})
}

fn patched(review: &Value, patch: Value, warnings: &[&str]) -> Value {
    let mut a = allowed(review);
    a["response"]["patchType"] = "JSONPatch".into();
    a["response"]["patch"] = base64::engine::general_purpose::STANDARD.encode(patch.to_string()).into();
    a["response"]["warnings"] = json!(warnings);
    a
}

/// A patch adding one label.
fn add_label(review: &Value, key: &str, value: &str) -> Value {
    if review["request"]["object"]["metadata"]["labels"].is_object() {
        json!([{"op": "add", "path": format!("/metadata/labels/{key}"), "value": value}])
    } else {
        json!([{"op": "add", "path": "/metadata/labels", "value": {key: value}}])
    }
}

/// What the webhook server answers at `path`: (content type, body).
async fn answer(path: &str, review: &Value) -> (&'static str, String) {
    let json = |v: Value| ("application/json", v.to_string());
    match path {
        "/allow" => json(allowed(review)),
        "/mutate" => json(patched(review, add_label(review, "mutated", "true"), &["mutating webhook was here"])),
        "/deny" => {
            if labels_of(review)["deny"] == "true" {
                json(json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {
                    "uid": review["request"]["uid"], "allowed": false, "warnings": ["deny webhook looked"],
                    "status": {"code": 403, "reason": "Forbidden", "message": "the object carries deny=true"}}}))
            } else {
                json(allowed(review))
            }
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(allowed(review))
        }
        "/garbage" => ("application/json", "garbage".to_string()),
        "/first" => {
            if labels_of(review)["first"].is_null() {
                json(patched(review, add_label(review, "first", "seen"), &[]))
            } else {
                json(allowed(review))
            }
        }
        "/second" => json(patched(review, add_label(review, "second", "true"), &[])),
        "/v1beta1" => {
            let patch = base64::engine::general_purpose::STANDARD.encode(add_label(review, "beta", "true").to_string());
            json(json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
                "response": {"uid": review["request"]["uid"], "allowed": true, "patch": patch}}))
        }
        "/add-init" => json(patched(
            review,
            json!([{"op": "add", "path": "/spec/initContainers", "value": [{"name": "webhook-added", "image": "busybox"}]}]),
            &[],
        )),
        _ => json(json!({"response": {"allowed": false}})),
    }
}

/// Start the webhook server on its own runtime (kubectl blocks the test's thread).
fn start_webhooks() -> Hooks {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca_cert.pem(), &ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::default();
    leaf.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let record = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let acceptor = acceptor.clone();
                let record = record.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let record = record.clone();
                        async move {
                            use http_body_util::BodyExt;
                            let path = req.uri().path().to_string();
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let review: Value = serde_json::from_slice(&body).unwrap_or_default();
                            record.lock().unwrap().push((path.clone(), review.clone()));
                            let (ct, text) = answer(&path, &review).await;
                            let mut resp = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)));
                            resp.headers_mut().insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
    });
    let port = rx.recv().unwrap();
    Hooks {
        base: format!("https://127.0.0.1:{port}"),
        ca: base64::engine::general_purpose::STANDARD.encode(ca_cert.pem()),
        seen,
    }
}

/// One webhook of a configuration: `name`, called at `url`, for `resources` of `group`.
fn hook(name: &str, url: &str, ca: &str, group: &str, resources: &[&str], ops: &[&str]) -> Value {
    json!({"name": name, "clientConfig": {"url": url, "caBundle": ca},
        "rules": [{"operations": ops, "apiGroups": [group], "apiVersions": ["*"], "resources": resources}],
        "sideEffects": "None", "admissionReviewVersions": ["v1"]})
}

fn configuration(kind: &str, name: &str, hooks: Vec<Value>) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name}, "webhooks": hooks})
}

fn cm(name: &str, ns: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, "labels": labels},
        "data": {"k": "v"}})
}

/// `kubectl create -f -` of `obj`: (success, stdout, stderr).
fn create(k: &Kubectl, obj: &Value, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["create", "-f", "-"];
    args.extend_from_slice(extra);
    let out = k.stdin(&args, &obj.to_string());
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn created(k: &Kubectl, obj: &Value) -> String {
    let (ok, _, err) = create(k, obj, &[]);
    assert!(ok, "create {obj} failed: {err}");
    err
}

#[track_caller]
fn refused(k: &Kubectl, obj: &Value) -> String {
    let (ok, out, err) = create(k, obj, &[]);
    assert!(!ok, "create {obj} should fail: {out}");
    err
}

fn labels(k: &Kubectl, args: &[&str]) -> Value {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    k.json(&a)["metadata"]["labels"].clone()
}

#[test]
fn webhooks_mutate_deny_and_warn() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let h = start_webhooks();
    k.ok(&["create", "namespace", "hooked"]);
    k.ok(&["label", "namespace", "hooked", "webhooks=on"]);
    k.ok(&["create", "namespace", "plain"]);
    // Made before the validating webhook exists, to be denied its deletion later.
    created(&k, &cm("doomed", "hooked", json!({"deny": "true"})));

    let mut mutate =
        hook("mutate.example.com", &format!("{}/mutate", h.base), &h.ca, "", &["configmaps"], &["CREATE", "UPDATE"]);
    mutate["namespaceSelector"] = json!({"matchLabels": {"webhooks": "on"}});
    mutate["objectSelector"] = json!({"matchExpressions": [{"key": "skip-me", "operator": "DoesNotExist"}]});
    created(&k, &configuration("MutatingWebhookConfiguration", "mutate-config", vec![mutate]));
    let mut deny = hook("deny.example.com", &format!("{}/deny", h.base), &h.ca, "", &["configmaps"], &["*"]);
    deny["namespaceSelector"] = json!({"matchLabels": {"webhooks": "on"}});
    deny["sideEffects"] = "NoneOnDryRun".into();
    created(&k, &configuration("ValidatingWebhookConfiguration", "deny-config", vec![deny]));

    // Mutated, with the webhook's warning.
    let warned = created(&k, &cm("a", "hooked", json!({"app": "x"})));
    assert!(warned.contains("Warning: mutating webhook was here"), "{warned}");
    assert_eq!(labels(&k, &["cm", "a", "-n", "hooked"]), json!({"app": "x", "mutated": "true"}));
    // Not matched by the namespace selector or the object selector: left alone.
    created(&k, &cm("b", "plain", json!({"app": "x"})));
    assert_eq!(labels(&k, &["cm", "b", "-n", "plain"]), json!({"app": "x"}));
    created(&k, &cm("c", "hooked", json!({"skip-me": "yes"})));
    assert_eq!(labels(&k, &["cm", "c", "-n", "hooked"]), json!({"skip-me": "yes"}));
    // Denied on create: the real message, nothing stored.
    let err = refused(&k, &cm("bad", "hooked", json!({"deny": "true"})));
    assert!(
        err.contains(r#"Error from server (Forbidden): error when creating "STDIN": admission webhook "deny.example.com" denied the request: the object carries deny=true"#),
        "{err}"
    );
    // The denying webhook's warnings still reach the client, as with the real server.
    assert!(err.contains("Warning: deny webhook looked"), "{err}");
    k.fails(&["get", "cm", "bad", "-n", "hooked"]);
    // The same object in a namespace the selector does not match is allowed.
    created(&k, &cm("bad", "plain", json!({"deny": "true"})));
    // Denied on update.
    let err = k.fails(&["label", "cm", "a", "-n", "hooked", "deny=true"]);
    assert!(
        err.contains(r#"admission webhook "deny.example.com" denied the request: the object carries deny=true"#),
        "{err}"
    );
    assert!(labels(&k, &["cm", "a", "-n", "hooked"]).get("deny").is_none());
    // Denied on delete (the old object's labels decide).
    let err = k.fails(&["delete", "cm", "doomed", "-n", "hooked"]);
    assert!(
        err.contains(r#"admission webhook "deny.example.com" denied the request: the object carries deny=true"#),
        "{err}"
    );
    k.ok(&["get", "cm", "doomed", "-n", "hooked"]);

    // What the webhooks received.
    let update =
        h.reviews("/deny", "a").into_iter().find(|r| r["request"]["operation"] == "UPDATE").expect("update review");
    let req = &update["request"];
    assert_eq!(update["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(update["kind"], "AdmissionReview");
    assert!(!req["uid"].as_str().unwrap().is_empty());
    assert_eq!(req["kind"], json!({"group": "", "version": "v1", "kind": "ConfigMap"}));
    assert_eq!(req["requestKind"], req["kind"]);
    assert_eq!(req["resource"], json!({"group": "", "version": "v1", "resource": "configmaps"}));
    assert_eq!(req["requestResource"], req["resource"]);
    assert!(req.get("subResource").is_none());
    assert_eq!(req["name"], "a");
    assert_eq!(req["namespace"], "hooked");
    assert!(!req["userInfo"]["username"].as_str().unwrap_or("").is_empty(), "{req}");
    assert_eq!(req["object"]["metadata"]["labels"]["deny"], "true");
    assert_eq!(req["oldObject"]["metadata"]["labels"], json!({"app": "x", "mutated": "true"}));
    assert_eq!(req["dryRun"], false);
    assert_eq!(req["options"]["kind"], "UpdateOptions");
    assert_eq!(req["options"]["apiVersion"], "meta.k8s.io/v1");
    let create_review = &h.reviews("/mutate", "a")[0]["request"];
    assert_eq!(create_review["operation"], "CREATE");
    assert!(create_review["oldObject"].is_null());
    assert_eq!(create_review["options"]["kind"], "CreateOptions");
    let delete = &h.reviews("/deny", "doomed")[0]["request"];
    assert_eq!(delete["operation"], "DELETE");
    assert!(delete["object"].is_null());
    assert_eq!(delete["oldObject"]["metadata"]["name"], "doomed");
    assert_eq!(delete["options"]["kind"], "DeleteOptions");

    // Dry run: webhooks without side effects are called with dryRun set; nothing is stored.
    let (ok, _, err) = create(&k, &cm("dry", "hooked", json!({})), &["--dry-run=server"]);
    assert!(ok, "{err}");
    assert_eq!(h.reviews("/mutate", "dry")[0]["request"]["dryRun"], true);
    let dry = &h.reviews("/deny", "dry")[0]["request"];
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["options"]["dryRun"], json!(["All"]));
    assert_eq!(dry["object"]["metadata"]["labels"]["mutated"], "true");
    k.fails(&["get", "cm", "dry", "-n", "hooked"]);

    // A configuration edited to stop matching stops denying (patching a webhook works).
    k.ok(&[
        "patch",
        "validatingwebhookconfiguration",
        "deny-config",
        "--type=json",
        "-p",
        r#"[{"op": "replace", "path": "/webhooks/0/rules/0/operations", "value": ["CREATE"]}]"#,
    ]);
    k.ok(&["label", "cm", "a", "-n", "hooked", "deny=true"]);
    k.ok(&["delete", "cm", "doomed", "-n", "hooked"]);
    // Listing and deleting the collection.
    let list = k.json(&["get", "validatingwebhookconfigurations", "-o", "json"]);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    k.ok(&["delete", "validatingwebhookconfigurations", "--all"]);
    created(&k, &cm("bad", "hooked", json!({"deny": "true"})));
}

#[test]
fn webhook_configurations_are_validated() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let mut h = hook("bad.example.com", "https://127.0.0.1:1/x", "", "", &["configmaps"], &["CREATE"]);
    h["sideEffects"] = "Some".into();
    h["timeoutSeconds"] = 31.into();
    h["clientConfig"] = json!({"url": "http://127.0.0.1:1/x?q=1"});
    h["matchConditions"] = json!([{"name": "a", "expression": "object.metadata.name =="}]);
    let err = refused(&k, &configuration("ValidatingWebhookConfiguration", "bad", vec![h.clone(), h]));
    assert!(err.contains(r#"The ValidatingWebhookConfiguration "bad" is invalid"#), "{err}");
    for part in [
        r#"webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun""#,
        "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds",
        r#"webhooks[0].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme; desired format: https://host[/path]"#,
        r#"webhooks[0].clientConfig.url: Invalid value: "q=1": query parameters are not permitted in the URL"#,
        r#"webhooks[0].matchConditions[0].expression: Invalid value: "object.metadata.name ==": compilation failed: "#,
        r#"webhooks[1].name: Duplicate value: "bad.example.com""#,
    ] {
        assert!(err.contains(part), "missing {part:?} in {err}");
    }
    let mut m = hook("m", "https://127.0.0.1:1/x", "", "", &["configmaps"], &["CREATE"]);
    m.as_object_mut().unwrap().remove("admissionReviewVersions");
    m["reinvocationPolicy"] = "Sometimes".into();
    let err = refused(&k, &configuration("MutatingWebhookConfiguration", "bad", vec![m]));
    for part in [
        r#"webhooks[0].name: Invalid value: "m": should be a domain with at least three segments separated by dots"#,
        r#"webhooks[0].reinvocationPolicy: Unsupported value: "Sometimes": supported values: "IfNeeded", "Never""#,
        "webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1",
    ] {
        assert!(err.contains(part), "missing {part:?} in {err}");
    }
    // Defaults of v1.
    let ok = hook("ok.example.com", "https://127.0.0.1:1/x", "", "", &["configmaps"], &["CREATE"]);
    created(&k, &configuration("MutatingWebhookConfiguration", "ok", vec![ok]));
    let got = k.json(&["get", "mutatingwebhookconfiguration", "ok", "-o", "json"]);
    let w = &got["webhooks"][0];
    assert_eq!(w["failurePolicy"], "Fail");
    assert_eq!(w["matchPolicy"], "Equivalent");
    assert_eq!(w["timeoutSeconds"], 10);
    assert_eq!(w["reinvocationPolicy"], "Never");
    assert_eq!(w["namespaceSelector"], json!({}));
    assert_eq!(w["objectSelector"], json!({}));
    assert_eq!(w["rules"][0]["scope"], "*");
}

#[test]
fn webhook_failures_follow_the_failure_policy() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let h = start_webhooks();
    let case = |name: &str, url: &str, timeout: i64, policy: &str| {
        let mut w = hook(name, url, &h.ca, "", &["configmaps"], &["CREATE"]);
        w["objectSelector"] = json!({"matchLabels": {"case": name.split('.').next().unwrap()}});
        w["timeoutSeconds"] = timeout.into();
        w["failurePolicy"] = policy.into();
        w
    };
    let hooks = vec![
        case("unreachable.example.com", "https://127.0.0.1:1/x", 10, "Fail"),
        case("slow.example.com", &format!("{}/slow", h.base), 1, "Fail"),
        case("garbage.example.com", &format!("{}/garbage", h.base), 10, "Fail"),
        case("ignored.example.com", "https://127.0.0.1:1/x", 10, "Ignore"),
        case("slowignored.example.com", &format!("{}/slow", h.base), 1, "Ignore"),
        case("untrusted.example.com", &format!("{}/allow", h.base), 10, "Fail"),
    ];
    let mut cfg = configuration("ValidatingWebhookConfiguration", "failures", hooks);
    cfg["webhooks"][5]["clientConfig"].as_object_mut().unwrap().remove("caBundle");
    created(&k, &cfg);
    let err = refused(&k, &cm("u", "default", json!({"case": "unreachable"})));
    assert!(
        err.contains(r#"Error from server (InternalError): error when creating "STDIN": Internal error occurred: failed calling webhook "unreachable.example.com": failed to call webhook: Post "https://127.0.0.1:1/x?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused"#),
        "{err}"
    );
    let err = refused(&k, &cm("s", "default", json!({"case": "slow"})));
    assert!(
        err.contains(&format!(
            r#"Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "{}/slow?timeout=1s": context deadline exceeded"#,
            h.base
        )),
        "{err}"
    );
    let err = refused(&k, &cm("g", "default", json!({"case": "garbage"})));
    assert!(
        err.contains(r#"failed calling webhook "garbage.example.com": failed to call webhook: couldn't get version/kind; json parse error: invalid character 'g' looking for beginning of value"#),
        "{err}"
    );
    let err = refused(&k, &cm("t", "default", json!({"case": "untrusted"})));
    assert!(err.contains("x509: certificate signed by unknown authority"), "{err}");
    for name in ["u", "s", "g", "t"] {
        k.fails(&["get", "cm", name, "-n", "default"]);
    }
    created(&k, &cm("i", "default", json!({"case": "ignored"})));
    created(&k, &cm("si", "default", json!({"case": "slowignored"})));

    // A fail-closed webhook for everything does not guard webhook configurations.
    let mut all = hook("all.example.com", "https://127.0.0.1:1/x", &h.ca, "*", &["*/*"], &["*"]);
    all["rules"][0]["apiVersions"] = json!(["*"]);
    created(&k, &configuration("ValidatingWebhookConfiguration", "all", vec![all]));
    let err = refused(&k, &cm("blocked", "default", json!({})));
    assert!(err.contains(r#"failed calling webhook "all.example.com""#), "{err}");
    k.ok(&["delete", "validatingwebhookconfiguration", "all", "failures"]);
    created(&k, &cm("blocked", "default", json!({})));
}

#[test]
fn webhooks_reinvoke_speak_v1beta1_and_match_conditions() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let h = start_webhooks();
    let sel = |w: &mut Value, key: &str| w["objectSelector"] = json!({"matchLabels": {key: "yes"}});

    // Reinvocation: "first" (IfNeeded) runs again after "second" changed the object.
    let mut first = hook("first.example.com", &format!("{}/first", h.base), &h.ca, "", &["configmaps"], &["CREATE"]);
    first["reinvocationPolicy"] = "IfNeeded".into();
    sel(&mut first, "reinvoke");
    let mut second = hook("second.example.com", &format!("{}/second", h.base), &h.ca, "", &["configmaps"], &["CREATE"]);
    sel(&mut second, "reinvoke");
    created(&k, &configuration("MutatingWebhookConfiguration", "a-first", vec![first]));
    created(&k, &configuration("MutatingWebhookConfiguration", "b-second", vec![second]));
    created(&k, &cm("again", "default", json!({"reinvoke": "yes"})));
    assert_eq!(labels(&k, &["cm", "again"]), json!({"reinvoke": "yes", "first": "seen", "second": "true"}));
    let calls = h.reviews("/first", "again");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1]["request"]["object"]["metadata"]["labels"]["second"], "true");
    assert_eq!(h.reviews("/second", "again").len(), 1);

    // A webhook that only accepts v1beta1 gets a v1beta1 review, and its patch applies.
    let mut beta = hook("beta.example.com", &format!("{}/v1beta1", h.base), &h.ca, "", &["configmaps"], &["CREATE"]);
    beta["admissionReviewVersions"] = json!(["v1beta1"]);
    sel(&mut beta, "beta-case");
    created(&k, &configuration("MutatingWebhookConfiguration", "c-beta", vec![beta]));
    created(&k, &cm("old-style", "default", json!({"beta-case": "yes"})));
    assert_eq!(labels(&k, &["cm", "old-style"])["beta"], "true");
    assert_eq!(h.reviews("/v1beta1", "old-style")[0]["apiVersion"], "admission.k8s.io/v1beta1");

    // A pod mutated by a webhook is defaulted after the mutation.
    let mut init = hook("init.example.com", &format!("{}/add-init", h.base), &h.ca, "", &["pods"], &["CREATE"]);
    sel(&mut init, "add-init");
    created(&k, &configuration("MutatingWebhookConfiguration", "d-init", vec![init]));
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"add-init": "yes"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "IfNotPresent"}]}});
    created(&k, &pod);
    let got = k.json(&["get", "pod", "p", "-o", "json"]);
    let added = &got["spec"]["initContainers"][0];
    assert_eq!(added["name"], "webhook-added");
    assert_eq!(added["terminationMessagePolicy"], "File");
    assert_eq!(added["imagePullPolicy"], "Always");

    // A subresource: rules name it as `deployments/status`, the review carries it.
    let status =
        hook("status.example.com", &format!("{}/allow", h.base), &h.ca, "apps", &["deployments/status"], &["UPDATE"]);
    created(&k, &configuration("ValidatingWebhookConfiguration", "status", vec![status]));
    k.ok(&["create", "deployment", "d", "--image=busybox"]);
    k.ok(&[
        "patch",
        "deployment",
        "d",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"observedGeneration":7}}"#,
    ]);
    let review = &h.reviews("/allow", "d")[0]["request"];
    assert_eq!(review["subResource"], "status");
    assert_eq!(review["requestSubResource"], "status");
    assert_eq!(review["kind"], json!({"group": "apps", "version": "v1", "kind": "Deployment"}));
    assert_eq!(review["resource"], json!({"group": "apps", "version": "v1", "resource": "deployments"}));
    assert_eq!(review["object"]["kind"], "Deployment");
    assert_eq!(review["operation"], "UPDATE");

    // matchConditions: everything but "skip-me" is mutated; errors follow the failure policy.
    let mut mc = hook("mc.example.com", &format!("{}/mutate", h.base), &h.ca, "", &["configmaps"], &["CREATE"]);
    mc["matchConditions"] = json!([{"name": "not-skip-me", "expression": "object.metadata.name != 'skip-me'"}]);
    sel(&mut mc, "mc");
    let mut broken = hook("broken.example.com", &format!("{}/allow", h.base), &h.ca, "", &["configmaps"], &["CREATE"]);
    broken["matchConditions"] = json!([{"name": "missing", "expression": "object.metadata.labels['missing'] == 'x'"}]);
    sel(&mut broken, "broken");
    let mut broken_ignored = broken.clone();
    broken_ignored["name"] = "brokenignored.example.com".into();
    broken_ignored["failurePolicy"] = "Ignore".into();
    sel(&mut broken_ignored, "broken-ignored");
    created(&k, &configuration("MutatingWebhookConfiguration", "e-mc", vec![mc]));
    created(&k, &configuration("ValidatingWebhookConfiguration", "broken", vec![broken, broken_ignored]));
    created(&k, &cm("skip-me", "default", json!({"mc": "yes"})));
    created(&k, &cm("other", "default", json!({"mc": "yes"})));
    assert!(labels(&k, &["cm", "skip-me"]).get("mutated").is_none());
    assert_eq!(labels(&k, &["cm", "other"])["mutated"], "true");
    let err = refused(&k, &cm("mc-error", "default", json!({"broken": "yes"})));
    assert!(
        err.contains(
            r#"Error from server (Forbidden): error when creating "STDIN": configmaps "mc-error" is forbidden: "#
        ),
        "{err}"
    );
    created(&k, &cm("mc-ignored", "default", json!({"broken-ignored": "yes"})));
    assert!(h.reviews("/allow", "mc-ignored").is_empty());
}

#[test]
fn webhooks_guard_custom_resources() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let h = start_webhooks();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.hooks.example.com"},
        "spec": {"group": "hooks.example.com", "scope": "Namespaced", "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object",
                "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}
    });
    created(&k, &crd);
    k.ok(&["wait", "--for=condition=Established", "crd/gadgets.hooks.example.com"]);
    let deny = hook("deny.example.com", &format!("{}/deny", h.base), &h.ca, "hooks.example.com", &["gadgets"], &["*"]);
    let mutate = hook(
        "mutate.example.com",
        &format!("{}/mutate", h.base),
        &h.ca,
        "hooks.example.com",
        &["gadgets"],
        &["CREATE"],
    );
    created(&k, &configuration("ValidatingWebhookConfiguration", "deny-gadgets", vec![deny]));
    created(&k, &configuration("MutatingWebhookConfiguration", "mutate-gadgets", vec![mutate]));
    let gadget = |name: &str, labels: Value| json!({"apiVersion": "hooks.example.com/v1", "kind": "Gadget", "metadata": {"name": name, "namespace": "default", "labels": labels}, "spec": {"size": 1}});
    let err = refused(&k, &gadget("bad", json!({"deny": "true"})));
    assert!(
        err.contains(r#"admission webhook "deny.example.com" denied the request: the object carries deny=true"#),
        "{err}"
    );
    created(&k, &gadget("good", json!({})));
    assert_eq!(labels(&k, &["gadget", "good"])["mutated"], "true");
    let review = &h.reviews("/deny", "good")[0]["request"];
    assert_eq!(review["kind"], json!({"group": "hooks.example.com", "version": "v1", "kind": "Gadget"}));
    assert_eq!(review["resource"], json!({"group": "hooks.example.com", "version": "v1", "resource": "gadgets"}));
    let err = k.fails(&["label", "gadget", "good", "deny=true"]);
    assert!(err.contains("the object carries deny=true"), "{err}");
}
