//! ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding with real kubectl 1.33.
//!
//! What test/e2e/apimachinery/validatingadmissionpolicy.go checks, and where:
//! - "should validate against a Deployment" (namespaceSelector of the binding,
//!   messageExpression, `namespaceObject`, the 422 Invalid denial, a ReplicaSet not
//!   matched): `policy_denies_warns_and_guards_updates_and_deletes`.
//! - "should allow expressions to refer variables.": `params_variables_match_conditions_and_failure_policy`.
//! - "should support ValidatingAdmissionPolicy API operations" and "…Binding API
//!   operations" (create with generateName, get, list by label, patch, update, get and
//!   patch /status, delete, deletecollection; watch is covered by the generic watch
//!   tests): `policy_api_operations_and_invalid_objects`.
//! - "should type check validation expressions" / "should type check a CRD" (no warnings for
//!   a well-typed policy; `_>_` on (int, string) and `_+_` on (string, int) in a Deployment
//!   policy's expression and messageExpression; `undefined field` on a CronTab; warnings
//!   cleared by a fixed new generation): `type_checking_warns_about_confused_expressions`.
//!   The checker is best effort (crate::cel::typecheck): what it does not understand is dyn.
//!
//! Beyond them: params of a custom resource kind, paramRef errors, objectSelector,
//! excludeResourceRules, `request.userInfo`, the Audit action and audit annotations:
//! `custom_resource_params_selectors_audit_and_request`.

use serde_json::{Value, json};

use crate::harness::{Server, eventually};

fn deployment(name: &str, ns: &str, replicas: i64) -> String {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "IfNotPresent"}]}}}})
    .to_string()
}

fn replicaset(name: &str, ns: &str, replicas: i64) -> String {
    deployment(name, ns, replicas).replace("\"Deployment\"", "\"ReplicaSet\"")
}

fn configmap(name: &str, ns: &str, labels: Value, data: Value) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, "labels": labels}, "data": data})
        .to_string()
}

fn rule(group: &str, resource: &str, ops: &[&str]) -> Value {
    json!({"apiGroups": [group], "apiVersions": ["v1"], "resources": [resource], "operations": ops})
}

fn policy(name: &str, rules: Value, spec: Value) -> String {
    let mut p = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name}, "spec": {"matchConstraints": {"resourceRules": rules}}});
    for (k, v) in spec.as_object().expect("spec") {
        p["spec"][k] = v.clone();
    }
    p.to_string()
}

fn binding(name: &str, policy: &str, spec: Value) -> String {
    let mut b = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name}, "spec": {"policyName": policy, "validationActions": ["Deny"]}});
    for (k, v) in spec.as_object().expect("spec") {
        b["spec"][k] = v.clone();
    }
    b.to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn policy_denies_warns_and_guards_updates_and_deletes() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    k.ok(&["create", "namespace", "team"]);
    k.ok(&["label", "namespace", "team", "vap-e2e=true"]);
    k.ok(&["create", "namespace", "other"]);

    // As the conformance test: replicas > 1 in the labelled namespace only.
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "replicas.example.com",
            json!([rule("apps", "deployments", &["CREATE", "UPDATE"])]),
            json!({"validations": [
                {"expression": "object.spec.replicas > 1", "messageExpression": "'wants replicas > 1, got ' + string(object.spec.replicas)"},
                {"expression": "namespaceObject.metadata.name == 'team'", "message": "Other namespace should not be allowed."}
            ]}),
        ),
    );
    // Without a binding a policy does nothing.
    k.ok_stdin(&["create", "-f", "-"], &deployment("early", "team", 1));
    k.ok_stdin(
        &["create", "-f", "-"],
        &binding(
            "replicas-binding",
            "replicas.example.com",
            json!({"matchResources": {"namespaceSelector": {"matchLabels": {"vap-e2e": "true"}}}}),
        ),
    );
    let b = k.json(&["get", "validatingadmissionpolicybinding", "replicas-binding", "-o", "json"]);
    assert_eq!(b["spec"]["matchResources"]["matchPolicy"], "Equivalent", "{b}");
    assert_eq!(b["spec"]["matchResources"]["objectSelector"], json!({}), "{b}");
    let p = k.json(&["get", "validatingadmissionpolicy", "replicas.example.com", "-o", "json"]);
    assert_eq!(p["spec"]["failurePolicy"], "Fail", "{p}");
    assert_eq!(p["spec"]["matchConstraints"]["resourceRules"][0]["scope"], "*", "{p}");
    // The status controller: observedGeneration and (empty) typeChecking.
    eventually(10, "policy status", || {
        let p = k.json(&["get", "validatingadmissionpolicy", "replicas.example.com", "-o", "json"]);
        p["status"]["observedGeneration"] == p["metadata"]["generation"] && p["status"]["typeChecking"] == json!({})
    });

    let out = k.stdin(&["create", "-f", "-"], &deployment("marker", "team", 1));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(r#"The deployments "marker" is invalid: : ValidatingAdmissionPolicy 'replicas.example.com' with binding 'replicas-binding' denied request: wants replicas > 1, got 1"#),
        "{err}"
    );
    assert!(k.fails(&["get", "deployment", "marker", "-n", "team"]).contains("NotFound"));
    // The raw status: 422 Invalid, the message once more as a cause.
    let raw = k.stdin(&["create", "-f", "-", "-v=8"], &deployment("marker", "team", 1));
    let log = stderr(&raw);
    assert!(log.contains("422 Unprocessable Entity"), "{log}");
    assert!(log.contains(r#""reason":"Invalid""#), "{log}");
    assert!(
        log.contains(r#""message":"deployments.apps \"marker\" is forbidden: ValidatingAdmissionPolicy 'replicas.example.com' with binding 'replicas-binding' denied request: wants replicas \u003e 1, got 1""#)
            || log.contains(r#""message":"deployments.apps \"marker\" is forbidden: ValidatingAdmissionPolicy 'replicas.example.com' with binding 'replicas-binding' denied request: wants replicas > 1, got 1""#),
        "{log}"
    );

    k.ok_stdin(&["create", "-f", "-"], &deployment("replicated", "team", 2));
    k.ok_stdin(&["create", "-f", "-"], &replicaset("non-replicated", "team", 1));
    // Not in a selected namespace.
    k.ok_stdin(&["create", "-f", "-"], &deployment("elsewhere", "other", 1));
    // Updates are checked too; the stored object stays as it was.
    let err = k.fails(&["patch", "deployment", "replicated", "-n", "team", "-p", r#"{"spec":{"replicas":1}}"#]);
    assert!(err.contains("denied request: wants replicas > 1, got 1"), "{err}");
    assert_eq!(k.ok(&["get", "deploy", "replicated", "-n", "team", "-o", "jsonpath={.spec.replicas}"]), "2");

    // Warn: the write succeeds with kubectl's `Warning:` line; reason Forbidden → 403 for Deny.
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "nopass.example.com",
            json!([rule("", "configmaps", &["CREATE", "UPDATE"])]),
            json!({"validations": [{"expression": "!has(object.data) || !('password' in object.data)", "message": "no passwords in ConfigMaps", "reason": "Forbidden"}]}),
        ),
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &binding(
            "nopass-warn",
            "nopass.example.com",
            json!({"validationActions": ["Warn"], "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}}),
        ),
    );
    let out = k.stdin(&["create", "-f", "-"], &configmap("creds", "other", json!({}), json!({"password": "x"})));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "Warning: Validation failed for ValidatingAdmissionPolicy 'nopass.example.com' with binding 'nopass-warn': no passwords in ConfigMaps"
        ),
        "{}",
        stderr(&out)
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &binding(
            "nopass-deny",
            "nopass.example.com",
            json!({"matchResources": {"namespaceSelector": {"matchLabels": {"vap-e2e": "true"}}}}),
        ),
    );
    let out = k.stdin(&["create", "-f", "-"], &configmap("creds", "team", json!({}), json!({"password": "x"})));
    let err = stderr(&out);
    assert!(
        err.contains(r#"Error from server (Forbidden): error when creating "STDIN": configmaps "creds" is forbidden: ValidatingAdmissionPolicy 'nopass.example.com' with binding 'nopass-deny' denied request: no passwords in ConfigMaps"#),
        "{err}"
    );
    assert!(k.fails(&["get", "configmap", "creds", "-n", "team"]).contains("NotFound"));

    // oldObject on update, and DELETE with only oldObject.
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "guard.example.com",
            json!([rule("", "configmaps", &["UPDATE", "DELETE"])]),
            json!({"validations": [
                {"expression": "request.operation != 'UPDATE' || object.data.mode == oldObject.data.mode", "message": "mode is immutable"},
                {"expression": "request.operation != 'DELETE' || object == null && !('protected' in oldObject.metadata.labels)", "messageExpression": "oldObject.metadata.name + ' is protected'"}
            ]}),
        ),
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &configmap("settings", "team", json!({"protected": "yes"}), json!({"mode": "a"})),
    );
    k.ok_stdin(&["create", "-f", "-"], &binding("guard", "guard.example.com", json!({})));
    let err = k.fails(&["patch", "configmap", "settings", "-n", "team", "-p", r#"{"data":{"mode":"b"}}"#]);
    assert!(
        err.contains(
            "ValidatingAdmissionPolicy 'guard.example.com' with binding 'guard' denied request: mode is immutable"
        ),
        "{err}"
    );
    k.ok(&["label", "configmap", "settings", "-n", "team", "touched=yes"]);
    let err = k.fails(&["delete", "configmap", "settings", "-n", "team"]);
    assert!(err.contains("denied request: settings is protected"), "{err}");
    k.ok(&["get", "configmap", "settings", "-n", "team"]);
    k.ok(&["label", "configmap", "settings", "-n", "team", "protected-"]);
    k.ok(&["delete", "configmap", "settings", "-n", "team"]);

    // Removing the binding lifts the policy at once.
    k.ok(&["delete", "validatingadmissionpolicybinding", "replicas-binding"]);
    k.ok_stdin(&["create", "-f", "-"], &deployment("marker", "team", 1));
}

#[test]
fn params_variables_match_conditions_and_failure_policy() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    k.ok(&["create", "namespace", "team"]);

    // Variables, as the conformance test.
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "vars.example.com",
            json!([rule("apps", "deployments", &["CREATE", "UPDATE"])]),
            json!({"variables": [{"name": "replicas", "expression": "object.spec.replicas"},
                                 {"name": "oddReplicas", "expression": "variables.replicas % 2 == 1"}],
                   "validations": [{"expression": "variables.replicas > 1"}, {"expression": "variables.oddReplicas"}]}),
        ),
    );
    k.ok_stdin(&["create", "-f", "-"], &binding("vars", "vars.example.com", json!({})));
    let out = k.stdin(&["create", "-f", "-"], &deployment("even", "team", 2));
    assert!(
        stderr(&out).contains("ValidatingAdmissionPolicy 'vars.example.com' with binding 'vars' denied request: failed expression: variables.oddReplicas"),
        "{}",
        stderr(&out)
    );
    k.ok_stdin(&["create", "-f", "-"], &deployment("odd", "team", 3));
    k.ok_stdin(&["create", "-f", "-"], &replicaset("rs", "team", 1));
    k.ok(&["delete", "validatingadmissionpolicybinding", "vars"]);

    // Params from a ConfigMap by name, with parameterNotFoundAction Deny; reason Invalid.
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "max.example.com",
            json!([rule("apps", "deployments", &["CREATE"])]),
            json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                   "validations": [{"expression": "object.spec.replicas <= int(params.data.max)",
                                    "messageExpression": "'at most ' + params.data.max + ' replicas (' + params.metadata.name + ')'"}]}),
        ),
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &binding("max", "max.example.com", json!({"paramRef": {"name": "limits", "parameterNotFoundAction": "Deny"}})),
    );
    let out = k.stdin(&["create", "-f", "-"], &deployment("big", "team", 5));
    assert!(
        stderr(&out).contains("ValidatingAdmissionPolicy 'max.example.com' with binding 'max' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"),
        "{}",
        stderr(&out)
    );
    k.ok_stdin(&["create", "-f", "-"], &configmap("limits", "team", json!({"tier": "limits"}), json!({"max": "4"})));
    let out = k.stdin(&["create", "-f", "-"], &deployment("big", "team", 5));
    assert!(stderr(&out).contains("denied request: at most 4 replicas (limits)"), "{}", stderr(&out));
    k.ok_stdin(&["create", "-f", "-"], &deployment("small", "team", 4));
    k.ok(&["delete", "validatingadmissionpolicybinding", "max"]);

    // Params by selector: every matching ConfigMap must pass; none found and Allow: admitted.
    k.ok_stdin(
        &["create", "-f", "-"],
        &binding(
            "max-sel",
            "max.example.com",
            json!({"paramRef": {"selector": {"matchLabels": {"tier": "limits"}}, "namespace": "team", "parameterNotFoundAction": "Allow"}}),
        ),
    );
    k.ok_stdin(&["create", "-f", "-"], &configmap("stricter", "team", json!({"tier": "limits"}), json!({"max": "2"})));
    let out = k.stdin(&["create", "-f", "-"], &deployment("three", "team", 3));
    assert!(stderr(&out).contains("denied request: at most 2 replicas (stricter)"), "{}", stderr(&out));
    k.ok(&["delete", "configmap", "limits", "stricter", "-n", "team"]);
    k.ok_stdin(&["create", "-f", "-"], &deployment("three", "team", 3));
    k.ok(&["delete", "validatingadmissionpolicybinding", "max-sel"]);

    // matchConditions choose the requests; a runtime error follows failurePolicy.
    for (name, failure) in [("strict.example.com", "Fail"), ("lenient.example.com", "Ignore")] {
        k.ok_stdin(
            &["create", "-f", "-"],
            &policy(
                name,
                json!([rule("", "configmaps", &["CREATE"])]),
                json!({"failurePolicy": failure,
                       "matchConditions": [{"name": "counted", "expression": "object.metadata.name.startsWith('count-')"}],
                       "validations": [{"expression": "int(object.data.count) > 0", "message": "count must be positive"}]}),
            ),
        );
        k.ok_stdin(&["create", "-f", "-"], &binding(&name.replace(".example.com", ""), name, json!({})));
    }
    k.ok_stdin(&["create", "-f", "-"], &configmap("plain", "team", json!({}), json!({"count": "nope"})));
    let err =
        stderr(&k.stdin(&["create", "-f", "-"], &configmap("count-zero", "team", json!({}), json!({"count": "0"}))));
    assert!(err.contains("ValidatingAdmissionPolicy 'lenient.example.com' with binding 'lenient' denied request: count must be positive"), "{err}");
    let err =
        stderr(&k.stdin(&["create", "-f", "-"], &configmap("count-bad", "team", json!({}), json!({"count": "nope"}))));
    assert!(
        err.contains("ValidatingAdmissionPolicy 'strict.example.com' with binding 'strict' denied request: expression 'int(object.data.count) > 0' resulted in error:"),
        "{err}"
    );
    k.ok(&["delete", "validatingadmissionpolicybinding", "strict"]);
    k.ok_stdin(&["create", "-f", "-"], &configmap("count-bad", "team", json!({}), json!({"count": "nope"})));
    k.ok_stdin(&["create", "-f", "-"], &configmap("count-one", "team", json!({}), json!({"count": "1"})));
}

#[test]
fn policy_api_operations_and_invalid_objects() {
    let s = Server::start();
    let k = s.kubectl("1.33");

    // Invalid policies and bindings are refused with the real messages, and not stored.
    let bad = policy(
        "bad.example.com",
        json!([rule("apps", "deployments", &["CREATE"])]),
        json!({"failurePolicy": "Sometimes", "validations": [{"expression": "object.spec.replicas >", "reason": "Teapot"}, {"expression": "params.max > 1"}]}),
    );
    let err = k.stdin(&["create", "-f", "-"], &bad);
    let err = stderr(&err);
    assert!(err.contains(r#"The ValidatingAdmissionPolicy "bad.example.com" is invalid: "#), "{err}");
    assert!(
        err.contains(r#"spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore""#),
        "{err}"
    );
    assert!(
        err.contains(
            r#"spec.validations[0].expression: Invalid value: "object.spec.replicas >": compilation failed: "#
        ),
        "{err}"
    );
    assert!(err.contains(r#"spec.validations[0].reason: Unsupported value: "Teapot": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge""#), "{err}");
    assert!(err.contains(r#"spec.validations[1].expression: Invalid value: "params.max > 1": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'"#), "{err}");
    assert!(k.fails(&["get", "validatingadmissionpolicy", "bad.example.com"]).contains("NotFound"));
    let err = stderr(&k.stdin(&["create", "-f", "-"], &policy("empty.example.com", json!([]), json!({}))));
    assert!(err.contains("spec.matchConstraints.resourceRules: Required value"), "{err}");
    assert!(
        err.contains(
            "spec.validations: Required value: validations or auditAnnotations must contain at least one item"
        ),
        "{err}"
    );
    let err = stderr(&k.stdin(
        &["create", "-f", "-"],
        &binding("b", "p", json!({"validationActions": ["Deny", "Warn"], "paramRef": {"name": "x"}})),
    ));
    assert!(err.contains(r#"The ValidatingAdmissionPolicyBinding "b" is invalid: "#), "{err}");
    assert!(err.contains("spec.paramRef.parameterNotFoundAction: Required value"), "{err}");
    assert!(err.contains(r#"spec.validationActions: Invalid value: []admissionregistration.ValidationAction{"Deny", "Warn"}: must not contain both Deny and Warn"#), "{err}");
    let err = stderr(&k.stdin(&["create", "-f", "-"], &binding("b", "p", json!({"validationActions": []}))));
    assert!(
        err.contains("spec.validationActions: Required value: at least one validation action is required"),
        "{err}"
    );
    assert!(k.fails(&["get", "validatingadmissionpolicybinding", "b"]).contains("NotFound"));

    // API operations, as the conformance test.
    let template = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"generateName": "e2e-example-vap-", "labels": {"example-e2e-vap-label": "x1"}},
        "spec": {"validations": [{"expression": "object.spec.replicas <= 100"}],
                 "matchConstraints": {"resourceRules": [rule("apps", "deployments", &["CREATE"])]}}})
    .to_string();
    for _ in 0..3 {
        k.ok_stdin(&["create", "-f", "-"], &template);
    }
    let list = k.json(&["get", "validatingadmissionpolicies", "-l", "example-e2e-vap-label=x1", "-o", "json"]);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{list}");
    let name = items[0]["metadata"]["name"].as_str().expect("name").to_string();
    let patched = k.json(&[
        "patch",
        "validatingadmissionpolicy",
        &name,
        "--type=merge",
        "-p",
        r#"{"metadata":{"annotations":{"patched":"true"}},"spec":{"failurePolicy":"Ignore"}}"#,
        "-o",
        "json",
    ]);
    assert_eq!(patched["spec"]["failurePolicy"], "Ignore");
    assert_eq!(patched["metadata"]["annotations"]["patched"], "true");
    // An update, retried on conflict (the status controller writes too), as the conformance test.
    let mut replaced = Value::Null;
    eventually(10, "update without conflict", || {
        let mut updated = k.json(&["get", "validatingadmissionpolicy", &name, "-o", "json"]);
        updated["spec"]["failurePolicy"] = json!("Fail");
        updated["metadata"]["annotations"]["updated"] = json!("true");
        let out = k.stdin(&["replace", "-f", "-", "-o", "json"], &updated.to_string());
        if out.status.success() {
            replaced = serde_json::from_slice(&out.stdout).expect("json");
        }
        out.status.success()
    });
    assert_eq!(replaced["spec"]["failurePolicy"], "Fail");
    assert_eq!(replaced["metadata"]["annotations"]["updated"], "true");
    let status = k.json(&[
        "get",
        "--raw",
        &format!("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/{name}/status"),
    ]);
    assert_eq!(status["kind"], "ValidatingAdmissionPolicy");
    let st = k.json(&[
        "patch",
        "validatingadmissionpolicy",
        &name,
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"conditions":[{"type":"PatchStatusFailed","status":"False","reason":"e2e","message":"Set from an e2e test","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}"#,
        "-o",
        "json",
    ]);
    assert_eq!(st["status"]["conditions"][0]["type"], "PatchStatusFailed", "{st}");
    k.ok(&["delete", "validatingadmissionpolicy", &name]);
    k.ok(&["delete", "validatingadmissionpolicies", "-l", "example-e2e-vap-label=x1"]);
    let list = k.json(&["get", "validatingadmissionpolicies", "-o", "json"]);
    assert_eq!(list["items"], json!([]), "{list}");

    // A binding by generateName, patched and deleted.
    let b = binding("unused", "p.example.com", json!({"paramRef": {"name": "x", "parameterNotFoundAction": "Allow"}}))
        .replace(r#""name":"unused""#, r#""generateName":"e2e-example-vapb-""#);
    let created = k.ok_stdin(&["create", "-f", "-", "-o", "name"], &b);
    let bname = created.trim().to_string();
    let patched =
        k.json(&["patch", &bname, "--type=merge", "-p", r#"{"spec":{"validationActions":["Warn"]}}"#, "-o", "json"]);
    assert_eq!(patched["spec"]["validationActions"], json!(["Warn"]));
    k.ok(&["delete", &bname]);
}

const LIMIT_CRD: &str = r#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "replicalimits.rules.example.com"},
  "spec": {"group": "rules.example.com", "scope": "Cluster",
    "names": {"plural": "replicalimits", "singular": "replicalimit", "kind": "ReplicaLimit"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {"maxReplicas": {"type": "integer"}}}}}]}}"#;

#[test]
fn custom_resource_params_selectors_audit_and_request() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    k.ok(&["create", "namespace", "team"]);

    // Params of a custom, cluster-scoped kind.
    k.ok_stdin(&["create", "-f", "-"], LIMIT_CRD);
    eventually(10, "CRD served", || k.run(&["get", "replicalimits"]).status.success());
    k.ok_stdin(
        &["create", "-f", "-"],
        r#"{"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit", "metadata": {"name": "default-limit"}, "maxReplicas": 3}"#,
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "crlimit.example.com",
            json!([rule("apps", "deployments", &["CREATE", "UPDATE"])]),
            json!({"paramKind": {"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit"},
                   "validations": [{"expression": "object.spec.replicas <= params.maxReplicas",
                                    "messageExpression": "params.kind + ' ' + params.metadata.name + ' allows ' + string(params.maxReplicas)"}]}),
        ),
    );
    k.ok_stdin(
        &["create", "-f", "-"],
        &binding(
            "crlimit",
            "crlimit.example.com",
            json!({"paramRef": {"name": "default-limit", "parameterNotFoundAction": "Deny"}}),
        ),
    );
    let err = stderr(&k.stdin(&["create", "-f", "-"], &deployment("big", "team", 4)));
    assert!(
        err.contains("ValidatingAdmissionPolicy 'crlimit.example.com' with binding 'crlimit' denied request: ReplicaLimit default-limit allows 3"),
        "{err}"
    );
    k.ok_stdin(&["create", "-f", "-"], &deployment("fits", "team", 3));
    // A namespace in the paramRef of a cluster-scoped kind is a configuration error.
    k.ok(&["delete", "validatingadmissionpolicybinding", "crlimit"]);
    k.ok_stdin(
        &["create", "-f", "-"],
        &binding(
            "crlimit-ns",
            "crlimit.example.com",
            json!({"paramRef": {"name": "default-limit", "namespace": "team", "parameterNotFoundAction": "Deny"}}),
        ),
    );
    let err = stderr(&k.stdin(&["create", "-f", "-"], &deployment("two", "team", 2)));
    assert!(
        err.contains("with binding 'crlimit-ns' denied request: failed to configure binding: paramRef.namespace must not be provided for a cluster-scoped `paramKind`"),
        "{err}"
    );
    k.ok(&["delete", "validatingadmissionpolicybinding", "crlimit-ns"]);

    // objectSelector, excludeResourceRules, request.userInfo; the Audit action alone admits.
    let checked = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "checked.example.com"},
        "spec": {"matchConstraints": {
                    "resourceRules": [rule("", "configmaps", &["CREATE"])],
                    "excludeResourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"], "operations": ["CREATE"], "resourceNames": ["skip-me"]}],
                    "objectSelector": {"matchLabels": {"checked": "yes"}}},
                 "validations": [{"expression": "request.userInfo.username == 'nobody'",
                                  "messageExpression": "'user ' + request.userInfo.username + ' may not write checked ConfigMaps'"}],
                 "auditAnnotations": [{"key": "owner", "valueExpression": "has(object.data) && 'owner' in object.data ? object.data.owner : null"}]}})
    .to_string();
    k.ok_stdin(&["create", "-f", "-"], &checked);
    k.ok_stdin(&["create", "-f", "-"], &binding("checked", "checked.example.com", json!({})));
    let err = stderr(&k.stdin(&["create", "-f", "-"], &configmap("c1", "team", json!({"checked": "yes"}), json!({}))));
    assert!(
        err.contains("ValidatingAdmissionPolicy 'checked.example.com' with binding 'checked' denied request: user "),
        "{err}"
    );
    assert!(err.contains(" may not write checked ConfigMaps"), "{err}");
    k.ok_stdin(&["create", "-f", "-"], &configmap("c2", "team", json!({"checked": "no"}), json!({})));
    k.ok_stdin(&["create", "-f", "-"], &configmap("skip-me", "team", json!({"checked": "yes"}), json!({})));
    k.ok(&[
        "patch",
        "validatingadmissionpolicybinding",
        "checked",
        "--type=merge",
        "-p",
        r#"{"spec":{"validationActions":["Audit"]}}"#,
    ]);
    let out =
        k.stdin(&["create", "-f", "-"], &configmap("c3", "team", json!({"checked": "yes"}), json!({"owner": "me"})));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Warning"), "{}", stderr(&out));

    // An audit annotation that fails to evaluate denies under failurePolicy Fail, whatever the actions.
    k.ok(&[
        "patch",
        "validatingadmissionpolicy",
        "checked.example.com",
        "--type=json",
        "-p",
        r#"[{"op": "replace", "path": "/spec/auditAnnotations/0/valueExpression", "value": "object.data.owner"}]"#,
    ]);
    let err = stderr(
        &k.stdin(&["create", "-f", "-"], &configmap("c4", "team", json!({"checked": "yes"}), json!({"x": "y"}))),
    );
    assert!(
        err.contains("ValidatingAdmissionPolicy 'checked.example.com' with binding 'checked' denied request: expression 'object.data.owner' resulted in error: no such key: owner"),
        "{err}"
    );
}

const CRONTAB_CRD: &str = r#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "crontabs.stable.example.com"},
  "spec": {"group": "stable.example.com", "scope": "Namespaced",
    "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}}}]}}"#;

/// The policy's `status.typeChecking` once its generation is observed.
fn type_checking(k: &crate::harness::Kubectl, name: &str) -> Value {
    let mut out = Value::Null;
    eventually(10, "policy type checking", || {
        let p = k.json(&["get", "validatingadmissionpolicy", name, "-o", "json"]);
        out = p["status"]["typeChecking"].clone();
        p["status"]["observedGeneration"] == p["metadata"]["generation"] && !out.is_null()
    });
    out
}

#[test]
fn type_checking_warns_about_confused_expressions() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let deployments = json!([{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"], "operations": ["CREATE", "UPDATE"]}]);

    // Well typed: typeChecking without warnings.
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "typed.example.com",
            deployments.clone(),
            json!({"validations": [{"expression": "object.spec.replicas > 1"}]}),
        ),
    );
    assert_eq!(type_checking(&k, "typed.example.com"), json!({}));

    // An int compared with a string, and a string plus an int.
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "confused.example.com",
            deployments,
            json!({"validations": [{"expression": "object.spec.replicas > '1'",
                                    "messageExpression": "'wants replicas > 1, got ' + object.spec.replicas"}]}),
        ),
    );
    let tc = type_checking(&k, "confused.example.com");
    let w = tc["expressionWarnings"].as_array().unwrap_or_else(|| panic!("{tc}"));
    assert_eq!(w.len(), 2, "{tc}");
    assert_eq!(w[0]["fieldRef"], "spec.validations[0].expression", "{tc}");
    let first = w[0]["warning"].as_str().unwrap_or_default();
    assert!(first.starts_with("apps/v1, Kind=Deployment: ERROR: <input>:1:22: "), "{tc}");
    assert!(first.contains("found no matching overload for '_>_' applied to '(int, string)'"), "{tc}");
    assert_eq!(w[1]["fieldRef"], "spec.validations[0].messageExpression", "{tc}");
    assert!(
        w[1]["warning"]
            .as_str()
            .unwrap_or_default()
            .contains("found no matching overload for '_+_' applied to '(string, int)'"),
        "{tc}"
    );

    // A custom resource: a field its schema does not have.
    k.ok_stdin(&["create", "-f", "-"], CRONTAB_CRD);
    eventually(10, "CRD served", || k.run(&["get", "crontabs"]).status.success());
    k.ok_stdin(
        &["create", "-f", "-"],
        &policy(
            "crontab.example.com",
            json!([{"apiGroups": ["stable.example.com"], "apiVersions": ["v1"], "resources": ["crontabs"], "operations": ["CREATE"]}]),
            json!({"validations": [{"expression": "object.spec.replicas > 1"}, {"expression": "object.spec.maxRetries < 10"}]}),
        ),
    );
    let tc = type_checking(&k, "crontab.example.com");
    let w = tc["expressionWarnings"].as_array().unwrap_or_else(|| panic!("{tc}"));
    assert_eq!(w.len(), 1, "{tc}");
    assert_eq!(w[0]["fieldRef"], "spec.validations[1].expression", "{tc}");
    let warning = w[0]["warning"].as_str().unwrap_or_default();
    assert!(warning.starts_with("stable.example.com/v1, Kind=CronTab: "), "{tc}");
    assert!(warning.contains("undefined field 'maxRetries'"), "{tc}");

    // Fixing the expression (a new generation) clears the warnings.
    k.ok(&[
        "patch",
        "validatingadmissionpolicy",
        "crontab.example.com",
        "--type=json",
        "-p",
        r#"[{"op": "replace", "path": "/spec/validations/1/expression", "value": "object.spec.replicas < 10"}]"#,
    ]);
    eventually(10, "warnings cleared", || {
        let p = k.json(&["get", "validatingadmissionpolicy", "crontab.example.com", "-o", "json"]);
        p["status"]["observedGeneration"] == p["metadata"]["generation"] && p["status"]["typeChecking"] == json!({})
    });
}
