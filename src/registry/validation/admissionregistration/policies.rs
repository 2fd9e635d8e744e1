//! ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding, with the messages of
//! the real API server (pkg/apis/admissionregistration/validation). Objects arrive
//! defaulted (failurePolicy, matchPolicy, selectors, rule scope).

use std::collections::HashSet;

use serde_json::Value;

use super::super::meta::{SelectorOpts, validate_label_selector};
use super::super::names;
use super::{go_slice, rule_with_operations, s, strings};
use crate::cel::admission::{Decls, MatchConditions, compile};
use crate::registry::field_error::{FieldError, Path};

const MAX_AUDIT_ANNOTATIONS: usize = 20;
const MAX_AUDIT_VALUE_EXPRESSION_LEN: usize = 5 * 1024;

/// The spec rules of a policy or binding (metadata is checked by the caller).
pub fn validate(kind: &str, obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let path = Path::new("spec");
    match kind {
        "ValidatingAdmissionPolicy" => policy_spec(crate::registry::meta::name(obj), spec, &path),
        "ValidatingAdmissionPolicyBinding" => binding_spec(spec, &path),
        _ => Vec::new(),
    }
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn policy_spec(name: &str, spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match s(spec, "failurePolicy") {
        None => errs.push(FieldError::required(path.child("failurePolicy"), "")),
        Some(f) if f != "Fail" && f != "Ignore" => {
            errs.push(FieldError::not_supported(path.child("failurePolicy"), f, &["Fail", "Ignore"]))
        }
        _ => {}
    }
    let has_params = match spec.get("paramKind").filter(|v| !v.is_null()) {
        Some(pk) => {
            errs.extend(param_kind(pk, &path.child("paramKind")));
            true
        }
        None => false,
    };
    match spec.get("matchConstraints").filter(|v| !v.is_null()) {
        None => errs.push(FieldError::required(path.child("matchConstraints"), "")),
        Some(mc) => {
            errs.extend(match_resources(mc, &path.child("matchConstraints")));
            if list(mc, "resourceRules").is_empty() {
                errs.push(FieldError::required(path.child("matchConstraints").child("resourceRules"), ""));
            }
        }
    }
    let decls = Decls::policy(has_params);
    if let Err(e) =
        MatchConditions::compile(list(spec, "matchConditions"), path.child("matchConditions").as_str(), decls)
    {
        errs.extend(e);
    }
    for (i, v) in list(spec, "variables").iter().enumerate() {
        errs.extend(variable(v, decls, &path.child("variables").index(i)));
    }
    let validations = list(spec, "validations");
    let audits = list(spec, "auditAnnotations");
    if validations.is_empty() && audits.is_empty() {
        let msg = "validations or auditAnnotations must contain at least one item";
        errs.push(FieldError::required(path.child("validations"), msg));
        errs.push(FieldError::required(path.child("auditAnnotations"), msg));
        return errs;
    }
    for (i, v) in validations.iter().enumerate() {
        errs.extend(validation(v, decls, &path.child("validations").index(i)));
    }
    if audits.len() > MAX_AUDIT_ANNOTATIONS {
        errs.push(FieldError::invalid_rendered(
            path.child("auditAnnotations"),
            "[]admissionregistration.AuditAnnotation{...}",
            format!("must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations"),
        ));
    }
    let mut keys = HashSet::new();
    for (i, a) in audits.iter().enumerate() {
        let p = path.child("auditAnnotations").index(i);
        errs.extend(audit_annotation(name, a, decls, &p));
        let key = s(a, "key").unwrap_or("");
        if !keys.insert(key.to_string()) {
            errs.push(FieldError::duplicate(p.child("key"), key));
        }
    }
    errs
}

fn param_kind(pk: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let api_version = s(pk, "apiVersion").unwrap_or("");
    if api_version.is_empty() {
        errs.push(FieldError::required(path.child("apiVersion"), ""));
    } else if api_version != "/" {
        let p = path.child("apiVersion");
        match api_version.matches('/').count() {
            0 | 1 => {
                let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
                if !group.is_empty() {
                    let e = names::is_dns1123_subdomain(group);
                    if !e.is_empty() {
                        errs.push(FieldError::invalid(p.clone(), group, e.join(",")));
                    }
                }
                if version.is_empty() {
                    errs.push(FieldError::invalid(p, api_version, "version must be specified"));
                } else {
                    let e = names::is_dns1035_label(version);
                    if !e.is_empty() {
                        errs.push(FieldError::invalid(p, version, e.join(",")));
                    }
                }
            }
            _ => {
                errs.push(FieldError::invalid(p, api_version, format!("unexpected GroupVersion string: {api_version}")))
            }
        }
    } else {
        errs.push(FieldError::invalid(path.child("apiVersion"), api_version, "version must be specified"));
    }
    let kind = s(pk, "kind").unwrap_or("");
    if kind.is_empty() {
        errs.push(FieldError::required(path.child("kind"), ""));
    } else {
        let e = names::is_dns1035_label(&kind.to_lowercase());
        if !e.is_empty() {
            errs.push(FieldError::invalid(
                path.child("kind"),
                kind,
                format!("may have mixed case, but should otherwise match: {}", e.join(",")),
            ));
        }
    }
    errs
}

fn match_resources(mr: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match s(mr, "matchPolicy") {
        None => errs.push(FieldError::required(path.child("matchPolicy"), "")),
        Some(m) if m != "Exact" && m != "Equivalent" => {
            errs.push(FieldError::not_supported(path.child("matchPolicy"), m, &["Equivalent", "Exact"]))
        }
        _ => {}
    }
    for sel in ["namespaceSelector", "objectSelector"] {
        match mr.get(sel).filter(|v| !v.is_null()) {
            None => errs.push(FieldError::required(path.child(sel), "")),
            Some(v) => errs.extend(validate_label_selector(Some(v), SelectorOpts::default(), &path.child(sel))),
        }
    }
    for rules in ["resourceRules", "excludeResourceRules"] {
        for (i, r) in list(mr, rules).iter().enumerate() {
            errs.extend(named_rule(r, &path.child(rules).index(i)));
        }
    }
    errs
}

fn named_rule(r: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, n) in strings(r, "resourceNames").iter().enumerate() {
        let p = path.child("resourceNames").index(i);
        for m in names::is_valid_path_segment_name(n) {
            errs.push(FieldError::invalid(p.clone(), n.as_str(), m));
        }
        if !seen.insert(n.clone()) {
            errs.push(FieldError::duplicate(p, n.as_str()));
        }
    }
    errs.extend(rule_with_operations(r, path));
    errs
}

const CEL_RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

fn is_cel_identifier(name: &str) -> bool {
    let b = name.as_bytes();
    b.first().is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        && !CEL_RESERVED.contains(&name)
}

fn variable(v: &Value, decls: Decls, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(v, "name").unwrap_or("");
    if name.trim().is_empty() {
        errs.push(FieldError::required(path.child("name"), "name is not specified"));
    } else if !is_cel_identifier(name) {
        errs.push(FieldError::invalid(path.child("name"), name, "name is not a valid CEL identifier"));
    }
    let expr = s(v, "expression").unwrap_or("");
    if expr.trim().is_empty() {
        errs.push(FieldError::required(path.child("expression"), "expression is not specified"));
    } else if let Err(e) = compile(expr, decls) {
        errs.push(FieldError::invalid(path.child("expression"), expr, format!("compilation failed: {e}")));
    }
    errs
}

fn validation(v: &Value, decls: Decls, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let expr = s(v, "expression").unwrap_or("");
    if expr.trim().is_empty() {
        errs.push(FieldError::required(path.child("expression"), "expression is not specified"));
    } else if let Err(e) = compile(expr, decls) {
        errs.push(FieldError::invalid(path.child("expression"), expr, format!("compilation failed: {e}")));
    }
    let me = s(v, "messageExpression").unwrap_or("");
    if !me.is_empty() && me.trim().is_empty() {
        errs.push(FieldError::invalid(path.child("messageExpression"), me, "must be non-empty if specified"));
    } else if !me.is_empty()
        && let Err(e) = compile(me, Decls { authorizer: false, ..decls })
    {
        errs.push(FieldError::invalid(path.child("messageExpression"), me, format!("compilation failed: {e}")));
    }
    let msg = s(v, "message").unwrap_or("");
    if !msg.is_empty() && msg.trim().is_empty() {
        errs.push(FieldError::invalid(path.child("message"), msg, "message must be non-empty if specified"));
    } else if msg.trim().contains(['\n', '\r']) {
        errs.push(FieldError::invalid(path.child("message"), msg, "message must not contain line breaks"));
    }
    if let Some(r) = s(v, "reason")
        && !matches!(r, "Forbidden" | "Invalid" | "RequestEntityTooLarge")
    {
        errs.push(FieldError::not_supported(
            path.child("reason"),
            r,
            &["Forbidden", "Invalid", "RequestEntityTooLarge"],
        ));
    }
    errs
}

fn audit_annotation(policy: &str, a: &Value, decls: Decls, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let key = s(a, "key").unwrap_or("");
    if policy.is_empty() {
        errs.push(FieldError::invalid(path.child("key"), key, "requires metadata.name be non-empty"));
    } else {
        let full = format!("{policy}/{key}");
        for m in names::is_qualified_name(&full) {
            errs.push(FieldError::invalid(path.child("key"), full.as_str(), m));
        }
    }
    let ve = s(a, "valueExpression").unwrap_or("");
    let trimmed = ve.trim();
    if trimmed.is_empty() {
        errs.push(FieldError::required(path.child("valueExpression"), "valueExpression is not specified"));
    } else if trimmed.len() > MAX_AUDIT_VALUE_EXPRESSION_LEN {
        errs.push(FieldError::required(
            path.child("valueExpression"),
            format!("must not exceed {MAX_AUDIT_VALUE_EXPRESSION_LEN} bytes in length"),
        ));
    } else if let Err(e) = compile(trimmed, decls) {
        errs.push(FieldError::invalid(path.child("valueExpression"), ve, format!("compilation failed: {e}")));
    }
    errs
}

fn binding_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match s(spec, "policyName").unwrap_or("") {
        "" => errs.push(FieldError::required(path.child("policyName"), "")),
        name => {
            for m in names::name_is_dns_subdomain(name, false) {
                errs.push(FieldError::invalid(path.child("policyName"), name, m));
            }
        }
    }
    if let Some(pr) = spec.get("paramRef").filter(|v| !v.is_null()) {
        errs.extend(param_ref(pr, &path.child("paramRef")));
    }
    if let Some(mr) = spec.get("matchResources").filter(|v| !v.is_null()) {
        // "matchResouces": the real server's spelling.
        errs.extend(match_resources(mr, &path.child("matchResouces")));
    }
    errs.extend(validation_actions(&strings(spec, "validationActions"), &path.child("validationActions")));
    errs
}

fn param_ref(pr: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(pr, "name").unwrap_or("");
    let selector = pr.get("selector").filter(|v| !v.is_null());
    if !name.is_empty() {
        for m in names::is_valid_path_segment_name(name) {
            errs.push(FieldError::invalid(path.child("name"), name, m));
        }
        if selector.is_some() {
            errs.push(FieldError::forbidden(path.child("name"), "name and selector are mutually exclusive"));
        }
    }
    if let Some(sel) = selector {
        errs.extend(validate_label_selector(Some(sel), SelectorOpts::default(), &path.child("selector")));
        if !name.is_empty() {
            errs.push(FieldError::forbidden(path.child("selector"), "name and selector are mutually exclusive"));
        }
    }
    if name.is_empty() && selector.is_none() {
        errs.push(FieldError::required(path.clone(), "one of name or selector must be specified"));
    }
    match s(pr, "parameterNotFoundAction").unwrap_or("") {
        "" => errs.push(FieldError::required(path.child("parameterNotFoundAction"), "")),
        "Deny" | "Allow" => {}
        other => errs.push(FieldError::not_supported(path.child("parameterNotFoundAction"), other, &["Deny", "Allow"])),
    }
    errs
}

fn validation_actions(actions: &[String], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, a) in actions.iter().enumerate() {
        if !matches!(a.as_str(), "Deny" | "Warn" | "Audit") {
            errs.push(FieldError::not_supported(path.index(i), a.as_str(), &["Audit", "Deny", "Warn"]));
        }
        if !seen.insert(a.as_str()) {
            errs.push(FieldError::duplicate(path.index(i), a.as_str()));
        }
    }
    if seen.contains("Deny") && seen.contains("Warn") {
        errs.push(FieldError::invalid_rendered(
            path.clone(),
            go_slice("admissionregistration.ValidationAction", actions),
            "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
        ));
    }
    if seen.is_empty() {
        errs.push(FieldError::required(path.clone(), "at least one validation action is required"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn errs(kind: &str, v: Value) -> Vec<String> {
        validate(kind, &v, None).iter().map(ToString::to_string).collect()
    }

    fn policy(spec: Value) -> Value {
        json!({"metadata": {"name": "p.example.com"}, "spec": spec})
    }

    const RULES: &str = r#"{"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
        "resourceRules": [{"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"], "scope": "*"}]}"#;

    #[test]
    fn valid_policy_and_binding() {
        let mc: Value = serde_json::from_str(RULES).unwrap();
        let p = policy(
            json!({"failurePolicy": "Fail", "matchConstraints": mc, "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "variables": [{"name": "r", "expression": "object.spec.replicas"}],
            "validations": [{"expression": "variables.r <= int(params.data.max)", "messageExpression": "'too many: ' + string(variables.r)", "reason": "Forbidden"}],
            "auditAnnotations": [{"key": "high", "valueExpression": "'r=' + string(variables.r)"}]}),
        );
        assert_eq!(errs("ValidatingAdmissionPolicy", p), Vec::<String>::new());
        let b = json!({"metadata": {"name": "b"}, "spec": {"policyName": "p.example.com", "validationActions": ["Deny"],
            "paramRef": {"name": "limits", "parameterNotFoundAction": "Deny"}}});
        assert_eq!(errs("ValidatingAdmissionPolicyBinding", b), Vec::<String>::new());
    }

    #[test]
    fn policy_errors() {
        let mc: Value = serde_json::from_str(RULES).unwrap();
        assert_eq!(
            errs("ValidatingAdmissionPolicy", policy(json!({"failurePolicy": "Never", "matchConstraints": mc}))),
            vec![
                r#"spec.failurePolicy: Unsupported value: "Never": supported values: "Fail", "Ignore""#,
                "spec.validations: Required value: validations or auditAnnotations must contain at least one item",
                "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item",
            ]
        );
        let e = errs(
            "ValidatingAdmissionPolicy",
            policy(json!({"failurePolicy": "Fail", "matchConstraints": mc, "validations": [
                {"expression": "params.x == 1"}, {"expression": "object.", "reason": "Teapot"}, {"expression": " ", "message": "a\nb"}]})),
        );
        assert!(e[0].starts_with(r#"spec.validations[0].expression: Invalid value: "params.x == 1": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'"#), "{e:?}");
        assert!(
            e[1].starts_with(r#"spec.validations[1].expression: Invalid value: "object.": compilation failed: "#),
            "{e:?}"
        );
        assert_eq!(
            e[2],
            r#"spec.validations[1].reason: Unsupported value: "Teapot": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge""#
        );
        assert_eq!(e[3], "spec.validations[2].expression: Required value: expression is not specified");
        assert_eq!(e[4], r#"spec.validations[2].message: Invalid value: "a\nb": message must not contain line breaks"#);
        assert_eq!(
            errs(
                "ValidatingAdmissionPolicy",
                policy(json!({"failurePolicy": "Fail", "validations": [{"expression": "true"}]}))
            ),
            vec!["spec.matchConstraints: Required value"]
        );
        let bad_rules = json!({"matchPolicy": "Exact", "namespaceSelector": {}, "objectSelector": {},
            "resourceRules": [{"operations": ["*", "CREATE"], "apiGroups": [], "apiVersions": ["v1"], "resources": ["*", "pods"]}]});
        assert_eq!(
            errs(
                "ValidatingAdmissionPolicy",
                policy(
                    json!({"failurePolicy": "Fail", "matchConstraints": bad_rules, "validations": [{"expression": "true"}]})
                )
            ),
            vec![
                r#"spec.matchConstraints.resourceRules[0].operations: Invalid value: []admissionregistration.OperationType{"*", "CREATE"}: if '*' is present, must not specify other operations"#,
                "spec.matchConstraints.resourceRules[0].apiGroups: Required value",
                r#"spec.matchConstraints.resourceRules[0].resources: Invalid value: []string{"*", "pods"}: if '*' is present, must not specify other resources without subresources"#,
            ]
        );
    }

    #[test]
    fn binding_errors() {
        let b =
            |spec: Value| errs("ValidatingAdmissionPolicyBinding", json!({"metadata": {"name": "b"}, "spec": spec}));
        assert_eq!(
            b(json!({})),
            vec![
                "spec.policyName: Required value",
                "spec.validationActions: Required value: at least one validation action is required"
            ]
        );
        assert_eq!(
            b(json!({"policyName": "p", "validationActions": ["Deny", "Warn", "Deny", "Block"]})),
            vec![
                r#"spec.validationActions[2]: Duplicate value: "Deny""#,
                r#"spec.validationActions[3]: Unsupported value: "Block": supported values: "Audit", "Deny", "Warn""#,
                r#"spec.validationActions: Invalid value: []admissionregistration.ValidationAction{"Deny", "Warn", "Deny", "Block"}: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"#,
            ]
        );
        assert_eq!(
            b(json!({"policyName": "p", "validationActions": ["Audit"], "paramRef": {"name": "a", "selector": {}}})),
            vec![
                "spec.paramRef.name: Forbidden: name and selector are mutually exclusive",
                "spec.paramRef.selector: Forbidden: name and selector are mutually exclusive",
                "spec.paramRef.parameterNotFoundAction: Required value",
            ]
        );
        assert_eq!(
            b(
                json!({"policyName": "p", "validationActions": ["Warn"], "paramRef": {"parameterNotFoundAction": "Maybe"}})
            ),
            vec![
                "spec.paramRef: Required value: one of name or selector must be specified",
                r#"spec.paramRef.parameterNotFoundAction: Unsupported value: "Maybe": supported values: "Deny", "Allow""#,
            ]
        );
    }
}
