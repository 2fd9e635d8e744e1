//! The `policy` group: PodDisruptionBudgets.

use serde_json::Value;

use super::access::{Fields, int_or_string};
use super::apps::{render_int_or_string, validate_positive_int_or_percent};
use super::meta::{self, MetaRules, SelectorOpts, non_negative, validate_label_selector};
use super::names;
use crate::registry::field_error::{FieldError, Path};

fn not_more_than_100(v: Option<&Value>, path: &Path) -> Vec<FieldError> {
    match int_or_string(v) {
        Some(Err(s)) if s.strip_suffix('%').and_then(|d| d.parse::<i64>().ok()).is_some_and(|n| n > 100) => {
            vec![FieldError::invalid_rendered(path, render_int_or_string(v), "must not be greater than 100%")]
        }
        _ => vec![],
    }
}

/// PodDisruptionBudget create and update.
pub fn validate_pdb(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let rules = MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(true), builtin: true };
    let mut errs = meta::validate_meta(obj, old, rules);
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    if spec.has("minAvailable") && spec.has("maxUnavailable") {
        errs.push(FieldError::invalid(
            &sp,
            spec.cloned().unwrap_or_default(),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for f in ["minAvailable", "maxUnavailable"] {
        if let Some(v) = spec.field(f) {
            errs.extend(validate_positive_int_or_percent(Some(v), &sp.child(f)));
            errs.extend(not_more_than_100(Some(v), &sp.child(f)));
        }
    }
    errs.extend(validate_label_selector(spec.field("selector"), SelectorOpts::default(), &sp.child("selector")));
    if let Some(p) = spec.opt_str("unhealthyPodEvictionPolicy")
        && p != "AlwaysAllow"
        && p != "IfHealthyBudget"
    {
        errs.push(FieldError::not_supported(
            sp.child("unhealthyPodEvictionPolicy"),
            p,
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
    errs
}

/// `metav1.ValidateConditions`.
pub fn validate_conditions(conditions: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in conditions.iter().enumerate() {
        let p = path.index(i);
        let t = c.str_of("type");
        if seen.contains(&t) {
            errs.push(FieldError::duplicate(p.child("type"), t));
        } else {
            seen.push(t);
        }
        errs.extend(meta::validate_label_name(t, &p.child("type")));
        let status = c.str_of("status");
        if !["False", "True", "Unknown"].contains(&status) {
            errs.push(FieldError::not_supported(p.child("status"), status, &["False", "True", "Unknown"]));
        }
        if c.int_or_zero("observedGeneration") < 0 {
            errs.push(FieldError::invalid(
                p.child("observedGeneration"),
                c.int_or_zero("observedGeneration"),
                "must be greater than or equal to zero",
            ));
        }
        if c.str_of("lastTransitionTime").is_empty() {
            errs.push(FieldError::required(p.child("lastTransitionTime"), "must be set"));
        }
        let reason = c.str_of("reason");
        if reason.is_empty() {
            errs.push(FieldError::required(p.child("reason"), "must be set"));
        } else {
            let b = reason.as_bytes();
            let ok = b[0].is_ascii_alphabetic()
                && (b[b.len() - 1].is_ascii_alphanumeric() || b[b.len() - 1] == b'_')
                && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b',' | b':'));
            if !ok {
                errs.push(FieldError::invalid(
                    p.child("reason"),
                    reason,
                    names::regex_error(
                        "a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_'",
                        "[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?",
                        &["my_name", "MY_NAME", "MyName", "ReasonA,ReasonB", "ReasonA:ReasonB"],
                    ),
                ));
            }
            if reason.len() > 1024 {
                errs.push(FieldError::too_long(p.child("reason"), 1024));
            }
        }
        if c.str_of("message").len() > 32 * 1024 {
            errs.push(FieldError::too_long(p.child("message"), 32 * 1024));
        }
    }
    errs
}

/// PodDisruptionBudget `/status`.
pub fn validate_pdb_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let status = obj.field("status");
    let sp = Path::new("status");
    errs.extend(validate_conditions(status.list("conditions"), &sp.child("conditions")));
    for f in ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"] {
        errs.extend(non_negative(&sp.child(f), status.int_or_zero(f)));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pdbs() {
        let pdb = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}});
        assert!(validate_pdb(&pdb, None).is_empty());
        let bad = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"maxUnavailable": "150%"}});
        let m: Vec<String> = validate_pdb(&bad, None).iter().map(ToString::to_string).collect();
        assert_eq!(
            m,
            vec![
                "spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%"
            ]
        );
    }
}
