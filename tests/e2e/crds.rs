//! CustomResourceDefinitions end to end: a CRD with a rich schema (validation, defaulting,
//! pruning, CEL with a transition rule, printer columns, status and scale subresources, two
//! versions) used through kubectl 1.33 and 1.27 and through kube-rs; invalid CRDs and
//! custom resources refused with the real server's messages; CRD deletion removing its
//! custom resources; restarts keeping everything served. The behaviours checked follow the
//! Kubernetes conformance tests (custom_resource_definition.go, crd_publish_openapi.go,
//! crd_validation_rules.go, crd_watch.go, field_validation.go, crd_conversion_webhook.go).

use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::harness::{Kubectl, Server, VERSIONS, eventually, write};
use crate::util::{self, Watch};

/// The CRD every test uses (`group` lets tests create several).
fn crd(group: &str) -> String {
    format!(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {{}}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    selectableFields:
    - jsonPath: .spec.color
    schema:
      openAPIV3Schema:
        type: object
        description: A widget of the test suite.
        properties:
          spec:
            type: object
            description: What the widget should be.
            x-kubernetes-validations:
            - rule: "self.minSize <= self.size"
              message: "minSize must not exceed size"
            properties:
              size:
                type: integer
                description: How big the widget is.
                maximum: 10
                default: 3
              minSize:
                type: integer
                default: 1
              color:
                type: string
                enum: [red, green, blue]
                default: red
              replicas:
                type: integer
                minimum: 0
              name:
                type: string
                x-kubernetes-validations:
                - rule: "self == oldSelf"
                  message: "name is immutable"
              tags:
                type: array
                x-kubernetes-list-type: set
                items: {{type: string}}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {{type: string}}
                    port: {{type: integer, default: 80}}
          status:
            type: object
            properties:
              replicas: {{type: integer}}
              selector: {{type: string}}
              phase: {{type: string}}
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#
    )
}

fn widget(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n  size: 5\n  name: first\n{extra}"
    )
}

fn apply(k: &Kubectl, dir: &std::path::Path, file: &str, contents: &str, extra: &[&str]) -> String {
    let path = write(dir, file, contents);
    let p = path.display().to_string();
    let mut args = vec!["apply", "-f", p.as_str()];
    args.extend_from_slice(extra);
    k.ok(&args)
}

#[test]
fn custom_resources_with_kubectl() {
    let s = Server::start();
    let dir = s.dir.path().to_path_buf();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("ns-{}", v.replace('.', "-"));
        k.ok(&["create", "namespace", &ns]);
        // The CRD, then at once a custom resource: served as soon as the create returns.
        apply(&k, &dir, "crd.yaml", &crd("example.com"), &[]);
        let out = apply(&k, &dir, "w1.yaml", &widget("w1", "  tags: [a, b]\n"), &["-n", &ns]);
        assert!(out.contains("widget.example.com/w1 created"), "{out}");
        let status = k.json(&["get", "crd", "widgets.example.com", "-o", "json"])["status"].clone();
        let conds: Vec<(String, String, String)> = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["type"].as_str().unwrap().into(),
                    c["status"].as_str().unwrap().into(),
                    c["reason"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(conds.contains(&("Established".into(), "True".into(), "InitialNamesAccepted".into())), "{status}");
        assert!(conds.contains(&("NamesAccepted".into(), "True".into(), "NoConflicts".into())), "{status}");
        assert_eq!(status["acceptedNames"]["shortNames"], json!(["wd"]));
        assert_eq!(status["storedVersions"], json!(["v1"]));

        // Defaults, printer columns, short names, categories.
        let w = k.json(&["get", "wd", "w1", "-n", &ns, "-o", "json"]);
        assert_eq!(w["spec"]["color"], "red");
        assert_eq!(w["spec"]["minSize"], 1);
        assert_eq!(w["metadata"]["generation"], 1);
        let table = k.ok(&["get", "widgets", "-n", &ns]);
        let t = util::Table::parse(&table);
        assert_eq!(t.headers, vec!["NAME", "SIZE", "COLOR", "AGE"], "{table}");
        assert_eq!(t.row("w1")["SIZE"], "5");
        assert!(k.ok(&["get", "all", "-n", &ns]).contains("widget.example.com/w1"));
        assert!(k.ok(&["api-resources", "--api-group=example.com"]).contains("wd"));

        // Schema and CEL violations, with the real messages; nothing stored.
        let bad = apply_fails(&k, &dir, &widget("w1", "").replace("size: 5", "size: 12"), &ns);
        assert!(
            bad.contains(r#"The Widget "w1" is invalid: spec.size: Invalid value: 12: spec.size in body should be less than or equal to 10"#),
            "{bad}"
        );
        let bad = apply_fails(&k, &dir, &widget("w1", "  minSize: 8\n"), &ns);
        assert!(bad.contains(r#"spec: Invalid value: "object": minSize must not exceed size"#), "{bad}");
        let bad = apply_fails(&k, &dir, &widget("w1", "").replace("name: first", "name: second"), &ns);
        assert!(bad.contains(r#"spec.name: Invalid value: "string": name is immutable"#), "{bad}");
        let bad = apply_fails(&k, &dir, &widget("w2", "  tags: [a, a]\n"), &ns);
        assert!(bad.contains(r#"spec.tags[1]: Duplicate value: "a""#), "{bad}");
        assert_eq!(k.json(&["get", "wd", "w1", "-n", &ns, "-o", "json"])["spec"]["size"], 5);

        // Client-side apply (merge patch), server-side apply, merge patch; SMP is refused.
        apply(&k, &dir, "w.yaml", &widget("w1", "  tags: [a, b]\n").replace("size: 5", "size: 6"), &["-n", &ns]);
        assert_eq!(k.json(&["get", "wd", "w1", "-n", &ns, "-o", "json"])["spec"]["size"], 6);
        let ssa = widget("w1", "  tags: [a, b]\n  ports: [{name: http}]\n").replace("size: 5", "size: 7");
        let out = apply(&k, &dir, "w.yaml", &ssa, &["-n", &ns, "--server-side", "--force-conflicts"]);
        assert!(out.contains("serverside-applied"), "{out}");
        let w = k.json(&["get", "wd", "w1", "-n", &ns, "-o", "json"]);
        assert_eq!(w["spec"]["size"], 7);
        assert_eq!(w["spec"]["ports"], json!([{"name": "http", "port": 80}]));
        k.ok(&["patch", "wd", "w1", "-n", &ns, "--type=merge", "-p", r#"{"spec":{"color":"blue"}}"#]);
        let err = k.fails(&["patch", "wd", "w1", "-n", &ns, "-p", r#"{"spec":{"color":"green"}}"#]);
        assert!(err.contains("application/strategic-merge-patch+json is not supported"), "{err}");
        let w = k.json(&["get", "wd", "w1", "-n", &ns, "-o", "json"]);
        assert_eq!(w["spec"]["color"], "blue");
        assert!(w["metadata"]["generation"].as_i64().unwrap() >= 3, "{w}");

        // Field selectors on selectable fields.
        let t = k.ok(&["get", "wd", "-n", &ns, "--field-selector", "spec.color=blue", "-o", "name"]);
        assert_eq!(t.trim(), "widget.example.com/w1");
        let err = k.fails(&["get", "wd", "-n", &ns, "--field-selector", "spec.size=1"]);
        assert!(err.contains("field label not supported: spec.size"), "{err}");

        // Scale and status subresources.
        k.ok(&["scale", "wd", "w1", "-n", &ns, "--replicas=4"]);
        assert_eq!(k.json(&["get", "wd", "w1", "-n", &ns, "-o", "json"])["spec"]["replicas"], 4);
        if *v == "1.33" {
            k.ok(&[
                "patch",
                "wd",
                "w1",
                "-n",
                &ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                r#"{"status":{"replicas":2,"selector":"app=w"},"spec":{"size":1}}"#,
            ]);
            let w = k.json(&["get", "wd", "w1", "-n", &ns, "-o", "json"]);
            assert_eq!(w["status"]["replicas"], 2);
            assert_eq!(w["spec"]["size"], 7, "status writes leave spec alone");
            let scale = k.json(&["get", "--raw", &format!("/apis/example.com/v1/namespaces/{ns}/widgets/w1/scale")]);
            assert_eq!(scale["status"], json!({"replicas": 2, "selector": "app=w"}));
        }

        // explain reads the published schema.
        let out = k.ok(&["explain", "widgets.spec.size"]);
        assert!(out.contains("How big the widget is."), "{out}");
    }
}

fn apply_fails(k: &Kubectl, dir: &std::path::Path, contents: &str, ns: &str) -> String {
    let path = write(dir, "bad.yaml", contents);
    k.fails(&["apply", "-f", &path.display().to_string(), "-n", ns])
}

#[test]
fn get_watch_sees_custom_resources_change() {
    let s = Server::start();
    let dir = s.dir.path().to_path_buf();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("watch-{}", v.replace('.', "-"));
        k.ok(&["create", "namespace", &ns]);
        apply(&k, &dir, "crd.yaml", &crd("example.com"), &[]);
        apply(&k, &dir, "w.yaml", &widget("w1", ""), &["-n", &ns]);
        let bg = util::Background::start(&k, &["get", "wd", "-n", &ns, "-w"]);
        bg.wait_for(20, "initial row", |out| out.contains("w1"));
        k.ok(&["patch", "wd", "w1", "-n", &ns, "--type=merge", "-p", r#"{"spec":{"size":9}}"#]);
        bg.wait_for(20, "the new size", |out| out.lines().any(|l| l.starts_with("w1") && l.contains(" 9 ")));
        apply(&k, &dir, "w2.yaml", &widget("w2", ""), &["-n", &ns]);
        bg.wait_for(20, "the new widget", |out| out.contains("w2"));
    }
}

#[test]
fn deleting_a_crd_deletes_its_custom_resources() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let dir = s.dir.path().to_path_buf();
    apply(&k, &dir, "crd.yaml", &crd("example.com"), &[]);
    apply(&k, &dir, "w1.yaml", &widget("w1", ""), &["-n", "default"]);
    let held = widget("held", "").replace("metadata:\n", "metadata:\n  finalizers: [example.com/hold]\n");
    apply(&k, &dir, "held.yaml", &held, &["-n", "default"]);
    k.ok(&["delete", "crd", "widgets.example.com", "--wait=false"]);
    // A custom resource with a finalizer keeps the CRD terminating; no new objects meanwhile.
    eventually(20, "w1 deleted", || !k.ok(&["get", "wd", "-o", "name"]).contains("/w1"));
    let crd = k.json(&["get", "crd", "widgets.example.com", "-o", "json"]);
    let terminating =
        crd["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Terminating").cloned();
    assert_eq!(terminating.as_ref().map(|c| c["status"].clone()), Some(json!("True")), "{crd}");
    assert!(
        crd["metadata"]["finalizers"]
            .as_array()
            .unwrap()
            .contains(&json!("customresourcecleanup.apiextensions.k8s.io"))
    );
    let err = apply_fails(&k, &dir, &widget("w3", ""), "default");
    assert!(err.contains("create not allowed while custom resource definition is terminating"), "{err}");
    k.ok(&["patch", "wd", "held", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    eventually(20, "the CRD gone", || !k.run(&["get", "crd", "widgets.example.com"]).status.success());
    let err = k.fails(&["get", "--raw", "/apis/example.com/v1/namespaces/default/widgets"]);
    assert!(err.contains("NotFound") || err.contains("not found"), "{err}");
}

#[test]
fn crds_and_custom_resources_survive_a_restart() {
    let mut s = Server::start();
    let dir = s.dir.path().to_path_buf();
    {
        let k = s.kubectl("1.33");
        apply(&k, &dir, "crd.yaml", &crd("example.com"), &[]);
        apply(&k, &dir, "w.yaml", &widget("w1", ""), &["-n", "default"]);
    }
    s.restart_hard();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let t = util::Table::parse(&k.ok(&["get", "wd", "-n", "default"]));
        assert_eq!(t.row("w1")["SIZE"], "5");
        // Still validated and defaulted after the restart.
        let bad = apply_fails(&k, &dir, &widget("w1", "").replace("size: 5", "size: 11"), "default");
        assert!(bad.contains("spec.size in body should be less than or equal to 10"), "{bad}");
    }
}

fn widgets_resource(version: &str) -> ApiResource {
    ApiResource {
        group: "example.com".into(),
        version: version.into(),
        api_version: format!("example.com/{version}"),
        kind: "Widget".into(),
        plural: "widgets".into(),
    }
}

async fn create_crd(c: &kube::Client, group: &str) {
    let body: Value = serde_yaml_ng::from_str(&crd(group)).unwrap();
    let r = util::post(c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &body).await;
    r.ok(201);
}

#[tokio::test]
async fn custom_resources_with_kube_rs() {
    let s = Server::start();
    let c = s.client().await;
    create_crd(&c, "example.com").await;
    let api: Api<DynamicObject> = Api::namespaced_with(c.clone(), "default", &widgets_resource("v1"));
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "k1", "labels": {"tier": "gold"}},
        "spec": {"size": 4, "name": "k", "unknown": true}
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &obj).await.expect("create");
    assert_eq!(created.data["spec"]["color"], "red");
    assert!(created.data["spec"].get("unknown").is_none(), "pruned: {:?}", created.data);
    let listed = api.list(&ListParams::default().labels("tier=gold")).await.expect("list");
    assert_eq!(listed.items.len(), 1);

    // The older, deprecated version: same object, converted by apiVersion, with a warning.
    let r = util::get(&c, "/apis/example.com/v1beta1/namespaces/default/widgets/k1").await;
    let old = r.ok(200);
    assert_eq!(old["apiVersion"], "example.com/v1beta1");
    assert_eq!(old["spec"]["size"], 4);
    assert_eq!(r.warnings(), vec![r#"299 - "example.com/v1beta1 Widget is deprecated""#]);

    // A watch sees status writes, which leave spec alone.
    let mut w = Watch::open(&c, "/apis/example.com/v1/namespaces/default/widgets?watch=true&resourceVersion=0").await;
    let (t, o) = w.expect(10).await;
    assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("ADDED", Some("k1")));
    let status = json!({"status": {"replicas": 1, "phase": "Ready"}, "spec": {"size": 1}});
    api.patch_status("k1", &PatchParams::default(), &Patch::Merge(&status)).await.expect("status");
    let (t, o) = w.expect(10).await;
    assert_eq!(t, "MODIFIED");
    assert_eq!(o["status"]["phase"], "Ready");
    assert_eq!(o["spec"]["size"], 4);
    // Status writes go through the status schema.
    let bad = util::patch(
        &c,
        "/apis/example.com/v1/namespaces/default/widgets/k1/status",
        "application/merge-patch+json",
        &json!({"status": {"replicas": "many"}}),
    )
    .await;
    let st = bad.status(422, "Invalid");
    assert_eq!(
        st["message"],
        concat!(
            r#"Widget.example.com "k1" is invalid: [status.replicas: Invalid value: "string": replicas in body must be of type integer: "string", "#,
            r#".status.replicas: Invalid value: 0: .status.replicas accessor error: many is of the type string, expected int64, "#,
            r#"<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]"#
        )
    );

    // Server-side apply with the CR schema's list-map keys.
    let applied = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "k1"},
        "spec": {"ports": [{"name": "a", "port": 1}]}});
    api.patch("k1", &PatchParams::apply("one"), &Patch::Apply(&applied)).await.expect("apply one");
    let applied = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "k1"},
        "spec": {"ports": [{"name": "b", "port": 2}]}});
    let got = api.patch("k1", &PatchParams::apply("two"), &Patch::Apply(&applied)).await.expect("apply two");
    assert_eq!(got.data["spec"]["ports"], json!([{"name": "a", "port": 1}, {"name": "b", "port": 2}]));
    let conflict = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "k1"},
        "spec": {"ports": [{"name": "a", "port": 9}]}});
    let err = api.patch("k1", &PatchParams::apply("two"), &Patch::Apply(&conflict)).await.expect_err("conflict");
    assert!(err.to_string().contains("conflict with \"one\""), "{err}");

    // Scale through kube-rs.
    let scale = api.get_scale("k1").await.expect("scale");
    assert_eq!(scale.status.as_ref().map(|s| s.replicas), Some(1));
    api.patch_scale("k1", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 3}})))
        .await
        .expect("patch scale");
    assert_eq!(api.get("k1").await.unwrap().data["spec"]["replicas"], 3);

    // Unknown fields: refused under Strict, a warning under Warn.
    let body = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "k2", "bogus": 1},
        "spec": {"size": 1, "foo": 1}});
    let r = util::post(&c, "/apis/example.com/v1/namespaces/default/widgets?fieldValidation=Strict", &body).await;
    let st = r.status(400, "BadRequest");
    assert_eq!(
        st["message"],
        r#"Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "metadata.bogus", unknown field "spec.foo""#
    );
    let r = util::post(&c, "/apis/example.com/v1/namespaces/default/widgets", &body).await;
    r.ok(201);
    assert_eq!(
        r.warnings(),
        vec![r#"299 - "unknown field \"metadata.bogus\"""#, r#"299 - "unknown field \"spec.foo\"""#]
    );
    // Strategic merge patches are not for custom resources.
    let r = util::patch(
        &c,
        "/apis/example.com/v1/namespaces/default/widgets/k1",
        "application/strategic-merge-patch+json",
        &json!({}),
    )
    .await;
    let st = r.status(415, "UnsupportedMediaType");
    assert_eq!(
        st["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    );
    // A schema violation: the exact Status.
    let body = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "k3"}, "spec": {"size": 12, "color": "pink"}});
    let st = util::post(&c, "/apis/example.com/v1/namespaces/default/widgets", &body).await.status(422, "Invalid");
    assert_eq!(st["details"]["kind"], "Widget");
    assert_eq!(st["details"]["group"], "example.com");
    let causes: Vec<String> =
        st["details"]["causes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap().to_string()).collect();
    assert!(causes.contains(&"spec.size".to_string()) && causes.contains(&"spec.color".to_string()), "{st}");

    // Discovery, legacy and aggregated, and the OpenAPI documents.
    let d = util::get(&c, "/apis/example.com/v1").await.ok(200);
    let names: Vec<&str> = d["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["widgets", "widgets/scale", "widgets/status"]);
    assert_eq!(
        d["resources"][0]["verbs"],
        json!(["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"])
    );
    assert_eq!(d["resources"][0]["categories"], json!(["all"]));
    let g = util::get(&c, "/apis/example.com").await.ok(200);
    assert_eq!(g["preferredVersion"]["version"], "v1");
    let agg = util::send_accept(
        &c,
        "GET",
        "/apis",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        None,
        vec![],
    )
    .await
    .ok(200);
    assert!(agg["items"].as_array().unwrap().iter().any(|i| i["metadata"]["name"] == "example.com"));
    let v3 = util::get(&c, "/openapi/v3/apis/example.com/v1").await.ok(200);
    let def = &v3["components"]["schemas"]["com.example.v1.Widget"];
    assert_eq!(
        def["x-kubernetes-group-version-kind"],
        json!([{"group": "example.com", "kind": "Widget", "version": "v1"}])
    );
    assert_eq!(def["properties"]["spec"]["properties"]["size"]["maximum"], 10);
    let v2 = util::get(&c, "/openapi/v2").await.ok(200);
    assert!(v2["paths"].get("/apis/example.com/v1/namespaces/{namespace}/widgets/{name}").is_some());
    assert_eq!(
        v2["definitions"]["com.example.v1.Widget"]["properties"]["spec"]["properties"]["size"]["type"],
        "integer"
    );
}

#[tokio::test]
async fn invalid_crds_are_refused_with_the_real_messages() {
    let s = Server::start();
    let c = s.client().await;
    let mut body: Value = serde_yaml_ng::from_str(&crd("example.com")).unwrap();
    body["metadata"]["name"] = "widgets.other.com".into();
    body["spec"]["names"]["kind"] = "Widget!".into();
    body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"] =
        json!({"maximum": 10});
    body["spec"]["versions"][1]["storage"] = true.into();
    let st =
        util::post(&c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &body).await.status(422, "Invalid");
    let msg = st["message"].as_str().unwrap();
    assert!(
        msg.starts_with(r#"CustomResourceDefinition.apiextensions.k8s.io "widgets.other.com" is invalid: ["#),
        "{msg}"
    );
    for part in [
        r#"metadata.name: Invalid value: "widgets.other.com": must be spec.names.plural+"."+spec.group"#,
        r#"spec.names.kind: Invalid value: "Widget!": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-'"#,
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].type: Required value: must not be empty for specified object fields",
        "must have exactly one version marked as storage version",
    ] {
        assert!(msg.contains(part), "missing {part:?} in {msg}");
    }
    // A group without a dot; a CEL rule that does not compile.
    let mut body: Value = serde_yaml_ng::from_str(&crd("example")).unwrap();
    body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] =
        json!([{"rule": "self.size >"}]);
    let st =
        util::post(&c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &body).await.status(422, "Invalid");
    let msg = st["message"].as_str().unwrap();
    assert!(msg.contains(r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#), "{msg}");
    assert!(msg.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:\"self.size >\""), "{msg}");
    assert!(msg.contains("compilation failed: ERROR: <input>:1:"), "{msg}");
    // Nothing was stored.
    let list = util::get(&c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions").await.ok(200);
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn names_already_in_use_are_not_accepted() {
    let s = Server::start();
    let c = s.client().await;
    create_crd(&c, "example.com").await;
    let mut other: Value = serde_yaml_ng::from_str(&crd("example.com")).unwrap();
    other["metadata"]["name"] = "gadgets.example.com".into();
    other["spec"]["names"] =
        json!({"plural": "gadgets", "singular": "gadget", "kind": "Widget", "listKind": "GadgetList"});
    let created = util::post(&c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &other).await.ok(201);
    let cond = created["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "NamesAccepted")
        .cloned()
        .unwrap();
    assert_eq!(cond["status"], "False");
    assert_eq!(cond["reason"], "KindConflict");
    assert_eq!(cond["message"], r#""Widget" is already in use"#);
    util::get(&c, "/apis/example.com/v1/namespaces/default/gadgets").await.status(404, "NotFound");
}

/// A conversion webhook over HTTPS, written here: v1 keeps `spec.size`, v2 nests it as
/// `spec.dimensions.size`. Returns its URL and the CA that signed its certificate.
pub(crate) async fn start_conversion_webhook() -> (String, String) {
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
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let svc = hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                    use http_body_util::BodyExt;
                    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let review: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let answer = convert_review(&review);
                    Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                        bytes::Bytes::from(serde_json::to_vec(&answer).unwrap()),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}/convert"), ca_cert.pem())
}

fn convert_review(review: &Value) -> Value {
    let req = &review["request"];
    let desired = req["desiredAPIVersion"].as_str().unwrap_or_default();
    let objects: Vec<Value> = req["objects"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut o| {
            let from = o["apiVersion"].as_str().unwrap_or_default().to_string();
            if from.ends_with("/v1") && desired.ends_with("/v2") {
                let size = o["spec"]["size"].take();
                o["spec"].as_object_mut().map(|m| m.remove("size"));
                o["spec"]["dimensions"] = json!({"size": size});
            } else if from.ends_with("/v2") && desired.ends_with("/v1") {
                let size = o["spec"]["dimensions"]["size"].take();
                o["spec"].as_object_mut().map(|m| m.remove("dimensions"));
                o["spec"]["size"] = size;
            }
            o["apiVersion"] = desired.into();
            o
        })
        .collect();
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
        "response": {"uid": req["uid"], "result": {"status": "Success"}, "convertedObjects": objects}})
}

#[tokio::test]
async fn conversion_webhook_converts_between_versions() {
    use base64::Engine;
    let s = Server::start();
    let c = s.client().await;
    let (url, ca) = start_conversion_webhook().await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gizmos", "kind": "Gizmo"},
            "conversion": {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
                "clientConfig": {"url": url, "caBundle": base64::engine::general_purpose::STANDARD.encode(ca)}}},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object",
                    "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}},
                {"name": "v2", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object",
                    "properties": {"spec": {"type": "object", "properties": {"dimensions": {"type": "object",
                        "properties": {"size": {"type": "integer"}}}}}}}}}
            ]}
    });
    util::post(&c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &crd).await.ok(201);
    let v1 = json!({"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g1"}, "spec": {"size": 3}});
    util::post(&c, "/apis/example.com/v1/namespaces/default/gizmos", &v1).await.ok(201);
    let got = util::get(&c, "/apis/example.com/v2/namespaces/default/gizmos/g1").await.ok(200);
    assert_eq!(got["apiVersion"], "example.com/v2");
    assert_eq!(got["spec"], json!({"dimensions": {"size": 3}}));
    // Written in v2, stored in v1.
    let v2 = json!({"apiVersion": "example.com/v2", "kind": "Gizmo", "metadata": {"name": "g2"}, "spec": {"dimensions": {"size": 7}}});
    util::post(&c, "/apis/example.com/v2/namespaces/default/gizmos", &v2).await.ok(201);
    let got = util::get(&c, "/apis/example.com/v1/namespaces/default/gizmos/g2").await.ok(200);
    assert_eq!(got["spec"], json!({"size": 7}));
    let list = util::get(&c, "/apis/example.com/v2/namespaces/default/gizmos").await.ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][1]["spec"]["dimensions"]["size"], 7);
    // A webhook that cannot be reached fails the read with the real message's prefix.
    let mut broken = crd.clone();
    broken["metadata"]["name"] = "doodads.example.com".into();
    broken["spec"]["names"] = json!({"plural": "doodads", "kind": "Doodad"});
    broken["spec"]["conversion"]["webhook"]["clientConfig"]["url"] = "https://127.0.0.1:1/convert".into();
    util::post(&c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &broken).await.ok(201);
    let d = json!({"apiVersion": "example.com/v1", "kind": "Doodad", "metadata": {"name": "d1"}, "spec": {"size": 1}});
    util::post(&c, "/apis/example.com/v1/namespaces/default/doodads", &d).await.ok(201);
    let st = util::get(&c, "/apis/example.com/v2/namespaces/default/doodads/d1").await.status(500, "InternalError");
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .starts_with("Internal error occurred: conversion webhook for example.com/v2, Kind=Doodad failed: "),
        "{st}"
    );
}
