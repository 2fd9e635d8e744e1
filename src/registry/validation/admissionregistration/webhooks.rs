//! MutatingWebhookConfiguration and ValidatingWebhookConfiguration, with the messages of
//! the real API server (`ValidateMutatingWebhookConfiguration`,
//! `ValidateValidatingWebhookConfiguration` and their `…Update` forms, which relax the
//! rules an old object already broke). Objects arrive defaulted (failurePolicy,
//! matchPolicy, selectors, timeoutSeconds, rule scope, service port).

use std::collections::HashSet;

use serde_json::Value;

use super::super::meta::{SelectorOpts, validate_label_selector};
use super::super::names;
use super::{go_slice, rule_with_operations, s, strings};
use crate::cel::admission::{Decls, MatchConditions};
use crate::registry::field_error::{FieldError, Path};

/// AdmissionReview versions this server sends.
const ACCEPTED_REVIEW_VERSIONS: &[&str] = &["v1", "v1beta1"];
const FAILURE_POLICIES: &[&str] = &["Fail", "Ignore"];
const MATCH_POLICIES: &[&str] = &["Equivalent", "Exact"];
const NO_SIDE_EFFECTS: &[&str] = &["None", "NoneOnDryRun"];
const SIDE_EFFECTS: &[&str] = &["None", "NoneOnDryRun", "Some", "Unknown"];
const REINVOCATION_POLICIES: &[&str] = &["IfNeeded", "Never"];

/// What an update may keep of what the old object already had.
struct Opts {
    require_no_side_effects: bool,
    require_recognized_review_version: bool,
    require_unique_names: bool,
    allow_invalid_label_value: bool,
    ignore_match_conditions: bool,
}

fn hooks(obj: &Value) -> &[Value] {
    obj.get("webhooks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn options(old: Option<&Value>, new: &Value) -> Opts {
    let Some(old) = old else {
        return Opts {
            require_no_side_effects: true,
            require_recognized_review_version: true,
            require_unique_names: true,
            allow_invalid_label_value: false,
            ignore_match_conditions: false,
        };
    };
    let old_hooks = hooks(old);
    let new_hooks = hooks(new);
    let mut names = HashSet::new();
    let unique = old_hooks.iter().all(|h| names.insert(s(h, "name").unwrap_or("")));
    let no_side_effects = old_hooks.iter().all(|h| s(h, "sideEffects").is_some_and(|v| NO_SIDE_EFFECTS.contains(&v)));
    let recognized = old_hooks.iter().all(|h| {
        let v = strings(h, "admissionReviewVersions");
        v.is_empty() || v.iter().any(|x| ACCEPTED_REVIEW_VERSIONS.contains(&x.as_str()))
    });
    let invalid_selector = old_hooks.iter().any(|h| {
        ["namespaceSelector", "objectSelector"]
            .iter()
            .any(|k| !validate_label_selector(h.get(*k), SelectorOpts::default(), &Path::new(k)).is_empty())
    });
    let same_conditions = old_hooks.len() == new_hooks.len()
        && old_hooks.iter().zip(new_hooks).all(|(o, n)| o.get("matchConditions") == n.get("matchConditions"));
    Opts {
        require_no_side_effects: no_side_effects,
        require_recognized_review_version: recognized,
        require_unique_names: unique,
        allow_invalid_label_value: invalid_selector,
        ignore_match_conditions: same_conditions,
    }
}

/// The spec rules of a webhook configuration (metadata is checked by the caller).
pub fn validate(kind: &str, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mutating = kind == "MutatingWebhookConfiguration";
    let opts = options(old, obj);
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, hook) in hooks(obj).iter().enumerate() {
        let path = Path::new("webhooks").index(i);
        errs.extend(validate_hook(hook, mutating, &opts, &path));
        errs.extend(review_versions(
            &strings(hook, "admissionReviewVersions"),
            &opts,
            &path.child("admissionReviewVersions"),
        ));
        let name = s(hook, "name").unwrap_or("");
        if opts.require_unique_names && !name.is_empty() && !seen.insert(name) {
            errs.push(FieldError::duplicate(path.child("name"), name));
        }
    }
    errs
}

/// `IsFullyQualifiedName`.
fn fully_qualified_name(name: &str, path: &Path) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let errs = names::is_dns1123_subdomain(name);
    if !errs.is_empty() {
        return vec![FieldError::invalid(path, name, errs.join(","))];
    }
    if name.split('.').count() < 3 {
        return vec![FieldError::invalid(
            path,
            name,
            "should be a domain with at least three segments separated by dots",
        )];
    }
    vec![]
}

fn validate_hook(hook: &Value, mutating: bool, opts: &Opts, path: &Path) -> Vec<FieldError> {
    let mut errs = fully_qualified_name(s(hook, "name").unwrap_or(""), &path.child("name"));
    for (i, rule) in hook.get("rules").and_then(Value::as_array).into_iter().flatten().enumerate() {
        errs.extend(rule_with_operations(rule, &path.child("rules").index(i)));
    }
    if let Some(fp) = s(hook, "failurePolicy")
        && !FAILURE_POLICIES.contains(&fp)
    {
        errs.push(FieldError::not_supported(path.child("failurePolicy"), fp, FAILURE_POLICIES));
    }
    if let Some(mp) = s(hook, "matchPolicy")
        && !MATCH_POLICIES.contains(&mp)
    {
        errs.push(FieldError::not_supported(path.child("matchPolicy"), mp, MATCH_POLICIES));
    }
    let allowed = if opts.require_no_side_effects { NO_SIDE_EFFECTS } else { SIDE_EFFECTS };
    match s(hook, "sideEffects") {
        None => errs.push(FieldError::required(
            path.child("sideEffects"),
            format!("must specify one of {}", allowed.join(", ")),
        )),
        Some(se) if !allowed.contains(&se) => {
            errs.push(FieldError::not_supported(path.child("sideEffects"), se, allowed))
        }
        Some(_) => {}
    }
    if let Some(t) = hook.get("timeoutSeconds").and_then(Value::as_i64)
        && !(1..=30).contains(&t)
    {
        errs.push(FieldError::invalid(
            path.child("timeoutSeconds"),
            t,
            "the timeout value must be between 1 and 30 seconds",
        ));
    }
    let sel_opts = SelectorOpts { allow_invalid_label_value: opts.allow_invalid_label_value };
    for k in ["namespaceSelector", "objectSelector"] {
        errs.extend(validate_label_selector(hook.get(k), sel_opts, &path.child(k)));
    }
    if mutating
        && let Some(rp) = s(hook, "reinvocationPolicy")
        && !REINVOCATION_POLICIES.contains(&rp)
    {
        errs.push(FieldError::not_supported(path.child("reinvocationPolicy"), rp, REINVOCATION_POLICIES));
    }
    errs.extend(client_config(hook.get("clientConfig").unwrap_or(&Value::Null), &path.child("clientConfig")));
    if !opts.ignore_match_conditions {
        let conds = hook.get("matchConditions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        if let Err(e) = MatchConditions::compile(conds, path.child("matchConditions").as_str(), Decls::WEBHOOK) {
            errs.extend(e);
        }
    }
    errs
}

fn client_config(cc: &Value, path: &Path) -> Vec<FieldError> {
    let url = cc.get("url").filter(|v| !v.is_null());
    let service = cc.get("service").filter(|v| !v.is_null());
    match (url, service) {
        (Some(u), None) => webhook_url(u.as_str().unwrap_or(""), &path.child("url")),
        (None, Some(svc)) => webhook_service(svc, &path.child("service")),
        _ => vec![FieldError::required(path, "exactly one of url or service is required")],
    }
}

/// `ValidateWebhookURL` (https only).
pub fn webhook_url(url: &str, path: &Path) -> Vec<FieldError> {
    const FORM: &str = "; desired format: https://host[/path]";
    let mut errs = Vec::new();
    let (scheme, rest) = match url.split_once(':') {
        Some((sc, rest)) if !sc.is_empty() && sc.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) => {
            (sc.to_ascii_lowercase(), rest)
        }
        _ => (String::new(), url),
    };
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, has_authority) = match rest.strip_prefix("//") {
        Some(r) => (r.split('/').next().unwrap_or(""), true),
        None => ("", false),
    };
    let (user, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if scheme != "https" {
        errs.push(FieldError::invalid(path, scheme, format!("'https' is the only allowed URL scheme{FORM}")));
    }
    if !has_authority || host.is_empty() {
        errs.push(FieldError::invalid(path, host, format!("host must be provided{FORM}")));
    }
    if let Some(u) = user {
        let shown = match u.split_once(':') {
            Some((name, _)) => format!("{name}:xxxxx"),
            None => u.to_string(),
        };
        errs.push(FieldError::invalid(path, shown, "user information is not permitted in the URL"));
    }
    if !fragment.is_empty() {
        errs.push(FieldError::invalid(path, fragment, "fragments are not permitted in the URL"));
    }
    if !query.is_empty() {
        errs.push(FieldError::invalid(path, query, "query parameters are not permitted in the URL"));
    }
    errs
}

/// `ValidateWebhookService`.
fn webhook_service(svc: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if s(svc, "name").unwrap_or("").is_empty() {
        errs.push(FieldError::required(path.child("name"), "service name is required"));
    }
    if s(svc, "namespace").unwrap_or("").is_empty() {
        errs.push(FieldError::required(path.child("namespace"), "service namespace is required"));
    }
    let port = svc.get("port").and_then(Value::as_i64).unwrap_or(443);
    let port_errs = names::is_valid_port_num(port);
    if !port_errs.is_empty() {
        errs.push(FieldError::invalid(
            path.child("port"),
            port,
            format!("port is not valid: {}", port_errs.join(", ")),
        ));
    }
    let Some(p) = s(svc, "path") else { return errs };
    if p.is_empty() || p == "/" {
        return errs;
    }
    let pp = path.child("path");
    if p == "//" {
        errs.push(FieldError::invalid(pp, p, "segment[0] may not be empty"));
        return errs;
    }
    if !p.starts_with('/') {
        errs.push(FieldError::invalid(&pp, p, "must start with a '/'"));
    }
    let check = p.get(1..).unwrap_or("");
    let check = check.strip_suffix('/').unwrap_or(check);
    for (i, step) in check.split('/').enumerate() {
        if step.is_empty() {
            errs.push(FieldError::invalid(&pp, p, format!("segment[{i}] may not be empty")));
            continue;
        }
        for m in names::is_dns1123_subdomain(step) {
            errs.push(FieldError::invalid(&pp, p, format!("segment[{i}]: {m}")));
        }
    }
    errs
}

fn review_versions(versions: &[String], opts: &Opts, path: &Path) -> Vec<FieldError> {
    if versions.is_empty() {
        return vec![FieldError::required(
            path,
            format!("must specify one of {}", ACCEPTED_REVIEW_VERSIONS.join(", ")),
        )];
    }
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    let mut accepted = false;
    for (i, v) in versions.iter().enumerate() {
        if !seen.insert(v.as_str()) {
            errs.push(FieldError::invalid(path.index(i), v.as_str(), "duplicate version"));
            continue;
        }
        for m in names::is_dns1035_label(v) {
            errs.push(FieldError::invalid(path.index(i), v.as_str(), m));
        }
        accepted |= ACCEPTED_REVIEW_VERSIONS.contains(&v.as_str());
    }
    if opts.require_recognized_review_version && !accepted {
        errs.push(FieldError::invalid_rendered(
            path,
            go_slice("string", versions),
            format!("must include at least one of {}", ACCEPTED_REVIEW_VERSIONS.join(", ")),
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::field_error::aggregate;

    fn hook() -> Value {
        json!({"name": "deny.example.com", "clientConfig": {"url": "https://127.0.0.1:8443/deny"},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"], "scope": "*"}],
            "sideEffects": "None", "admissionReviewVersions": ["v1"], "failurePolicy": "Fail", "matchPolicy": "Equivalent",
            "namespaceSelector": {}, "objectSelector": {}, "timeoutSeconds": 10})
    }

    fn check(hooks: Vec<Value>) -> String {
        aggregate(&validate("ValidatingWebhookConfiguration", &json!({"webhooks": hooks}), None))
    }

    #[test]
    fn a_good_configuration_passes() {
        assert!(validate("ValidatingWebhookConfiguration", &json!({"webhooks": [hook()]}), None).is_empty());
    }

    #[test]
    fn names_versions_side_effects_and_timeouts() {
        let mut h = hook();
        h["name"] = "deny".into();
        assert_eq!(
            check(vec![h]),
            r#"webhooks[0].name: Invalid value: "deny": should be a domain with at least three segments separated by dots"#
        );
        assert_eq!(check(vec![hook(), hook()]), r#"webhooks[1].name: Duplicate value: "deny.example.com""#);
        let mut h = hook();
        h.as_object_mut().unwrap().remove("sideEffects");
        h["admissionReviewVersions"] = json!([]);
        h["timeoutSeconds"] = 31.into();
        assert_eq!(
            check(vec![h]),
            "[webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun, webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds, webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1]"
        );
        let mut h = hook();
        h["sideEffects"] = "Some".into();
        h["admissionReviewVersions"] = json!(["v2"]);
        assert_eq!(
            check(vec![h]),
            r#"[webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun", webhooks[0].admissionReviewVersions: Invalid value: []string{"v2"}: must include at least one of v1, v1beta1]"#
        );
    }

    #[test]
    fn client_config_and_urls() {
        let mut h = hook();
        h["clientConfig"] = json!({});
        assert_eq!(
            check(vec![h]),
            "webhooks[0].clientConfig: Required value: exactly one of url or service is required"
        );
        let mut h = hook();
        h["clientConfig"] = json!({"url": "http://u:p@example.com/x?a=b#frag"});
        assert_eq!(
            check(vec![h]),
            r#"[webhooks[0].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme; desired format: https://host[/path], webhooks[0].clientConfig.url: Invalid value: "u:xxxxx": user information is not permitted in the URL, webhooks[0].clientConfig.url: Invalid value: "frag": fragments are not permitted in the URL, webhooks[0].clientConfig.url: Invalid value: "a=b": query parameters are not permitted in the URL]"#
        );
        let mut h = hook();
        h["clientConfig"] = json!({"service": {"namespace": "ns", "name": "svc", "port": 70000, "path": "foo//"}});
        assert_eq!(
            check(vec![h]),
            r#"[webhooks[0].clientConfig.service.port: Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive, webhooks[0].clientConfig.service.path: Invalid value: "foo//": must start with a '/', webhooks[0].clientConfig.service.path: Invalid value: "foo//": segment[1] may not be empty]"#
        );
    }

    #[test]
    fn rules() {
        let mut h = hook();
        h["rules"] = json!([{"operations": ["*", "CREATE", "PATCH"], "apiGroups": [], "apiVersions": ["v1"],
            "resources": ["*", "pods", "pods/*", "pods/status"], "scope": "Everywhere"}]);
        assert_eq!(
            check(vec![h]),
            r#"[webhooks[0].rules[0].operations: Invalid value: []admissionregistration.OperationType{"*", "CREATE", "PATCH"}: if '*' is present, must not specify other operations, webhooks[0].rules[0].operations[2]: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE", webhooks[0].rules[0].apiGroups: Required value, webhooks[0].rules[0].resources[3]: Invalid value: "pods/status": if 'pods/*' is present, must not specify pods/status, webhooks[0].rules[0].resources: Invalid value: []string{"*", "pods", "pods/*", "pods/status"}: if '*' is present, must not specify other resources without subresources, webhooks[0].rules[0].scope: Unsupported value: "Everywhere": supported values: "*", "Cluster", "Namespaced"]"#
        );
    }

    #[test]
    fn match_conditions_compile_and_have_unique_names() {
        let mut h = hook();
        h["matchConditions"] = json!([{"name": "a", "expression": "object.metadata.name != 'x'"},
            {"name": "a", "expression": "request.userInfo.username == 'admin'"}]);
        assert_eq!(check(vec![h]), r#"webhooks[0].matchConditions[1].name: Duplicate value: "a""#);
        let mut h = hook();
        h["matchConditions"] = json!([{"name": "b", "expression": "params.x == 1"}]);
        let msg = check(vec![h]);
        assert!(
            msg.starts_with(
                r#"webhooks[0].matchConditions[0].expression: Invalid value: "params.x == 1": compilation failed: "#
            ),
            "{msg}"
        );
    }

    #[test]
    fn updates_keep_what_the_old_object_had() {
        let mut old_hook = hook();
        old_hook["sideEffects"] = "Unknown".into();
        let old = json!({"webhooks": [old_hook.clone()]});
        let errs = validate("MutatingWebhookConfiguration", &json!({"webhooks": [old_hook.clone()]}), Some(&old));
        assert!(errs.is_empty(), "{errs:?}");
        let errs = validate("MutatingWebhookConfiguration", &json!({"webhooks": [old_hook]}), None);
        assert_eq!(errs.len(), 1);
    }
}
