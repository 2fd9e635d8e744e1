//! admissionregistration.k8s.io: webhook configurations and ValidatingAdmissionPolicies.

mod policies;
mod webhooks;

use std::collections::HashSet;

use serde_json::Value;

use super::meta::{MetaRules, validate_meta};
use super::names;
use crate::registry::field_error::{FieldError, Path};

/// Validation of an admissionregistration.k8s.io kind, `None` for kinds without rules here.
pub fn validate(kind: &str, obj: &Value, old: Option<&Value>) -> Option<Vec<FieldError>> {
    let specific = match kind {
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => webhooks::validate(kind, obj, old),
        "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding" => policies::validate(kind, obj, old),
        _ => return None,
    };
    let rules = MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(false), builtin: true };
    let mut errs = validate_meta(obj, old, rules);
    errs.extend(specific);
    Some(errs)
}

const OPERATIONS: &[&str] = &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
const SCOPES: &[&str] = &["*", "Cluster", "Namespaced"];

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Go's `%#v` of a string slice: `[]string{"a", "b"}`.
fn go_slice(type_name: &str, items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[]{type_name}{{{}}}", quoted.join(", "))
}

/// `validateRuleWithOperations`, shared by webhook rules and policies' resource rules:
/// operations, API groups and versions, resources and scope.
fn rule_with_operations(rule: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ops = strings(rule, "operations");
    if ops.is_empty() {
        errs.push(FieldError::required(path.child("operations"), ""));
    }
    if ops.len() > 1 && ops.iter().any(|o| o == "*") {
        errs.push(FieldError::invalid_rendered(
            path.child("operations"),
            go_slice("admissionregistration.OperationType", &ops),
            "if '*' is present, must not specify other operations",
        ));
    }
    for (i, op) in ops.iter().enumerate() {
        if !OPERATIONS.contains(&op.as_str()) {
            errs.push(FieldError::not_supported(path.child("operations").index(i), op.as_str(), OPERATIONS));
        }
    }
    let groups = strings(rule, "apiGroups");
    if groups.is_empty() {
        errs.push(FieldError::required(path.child("apiGroups"), ""));
    }
    if groups.len() > 1 && groups.iter().any(|g| g == "*") {
        errs.push(FieldError::invalid_rendered(
            path.child("apiGroups"),
            go_slice("string", &groups),
            "if '*' is present, must not specify other API groups",
        ));
    }
    let versions = strings(rule, "apiVersions");
    if versions.is_empty() {
        errs.push(FieldError::required(path.child("apiVersions"), ""));
    }
    if versions.len() > 1 && versions.iter().any(|v| v == "*") {
        errs.push(FieldError::invalid_rendered(
            path.child("apiVersions"),
            go_slice("string", &versions),
            "if '*' is present, must not specify other API versions",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if v.is_empty() {
            errs.push(FieldError::required(path.child("apiVersions").index(i), ""));
        }
    }
    errs.extend(resources(&strings(rule, "resources"), &path.child("resources")));
    if let Some(scope) = s(rule, "scope")
        && !SCOPES.contains(&scope)
    {
        errs.push(FieldError::not_supported(path.child("scope"), scope, SCOPES));
    }
    errs
}

/// `validateResources`: resources with subresources and their wildcards.
fn resources(list: &[String], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if list.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
    let mut with_wildcard_sub: HashSet<&str> = HashSet::new();
    let mut sub_with_wildcard_res: HashSet<&str> = HashSet::new();
    let (mut double, mut single, mut plain) = (false, false, false);
    for (i, r) in list.iter().enumerate() {
        if r.is_empty() {
            errs.push(FieldError::required(path.index(i), ""));
            continue;
        }
        double |= r == "*/*";
        single |= r == "*";
        let Some((res, sub)) = r.split_once('/') else {
            plain = r != "*";
            continue;
        };
        if with_wildcard_sub.contains(res) {
            errs.push(FieldError::invalid(
                path.index(i),
                r.as_str(),
                format!("if '{res}/*' is present, must not specify {r}"),
            ));
        }
        if sub_with_wildcard_res.contains(sub) {
            errs.push(FieldError::invalid(
                path.index(i),
                r.as_str(),
                format!("if '*/{sub}' is present, must not specify {r}"),
            ));
        }
        if sub == "*" {
            with_wildcard_sub.insert(res);
        }
        if res == "*" {
            sub_with_wildcard_res.insert(sub);
        }
    }
    if list.len() > 1 && double {
        errs.push(FieldError::invalid_rendered(
            path,
            go_slice("string", list),
            "if '*/*' is present, must not specify other resources",
        ));
    }
    if single && plain {
        errs.push(FieldError::invalid_rendered(
            path,
            go_slice("string", list),
            "if '*' is present, must not specify other resources without subresources",
        ));
    }
    errs
}
