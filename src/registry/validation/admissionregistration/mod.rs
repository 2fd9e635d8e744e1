//! admissionregistration.k8s.io: webhook configurations and ValidatingAdmissionPolicies.

mod policies;
mod webhooks;

use serde_json::Value;

use super::meta::{MetaRules, validate_meta};
use super::names;
use crate::registry::field_error::FieldError;

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
