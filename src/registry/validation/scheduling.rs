//! The `scheduling.k8s.io` group: PriorityClasses.

use serde_json::Value;

use super::access::{Fields, metadata};
use super::core::pod::validate_preemption_policy;
use super::meta::{self, MetaRules};
use super::names;
use crate::registry::field_error::{FieldError, Path};

/// The highest priority a user-defined class may have.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;

/// The built-in classes and their values.
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i64); 2] =
    [("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];

/// PriorityClass create and update.
pub fn validate_priority_class(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let rules = MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(false), builtin: true };
    let Some(old) = old else {
        let mut errs = meta::validate_object_meta(obj, rules);
        let name = metadata(obj).str_of("name");
        let value = obj.int_or_zero("value");
        if name.starts_with("system-") {
            let known = SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name);
            let problem = match known {
                None => Some(format!("{name} is not a known system priority class")),
                Some((_, v)) if *v != value => Some(format!("value of {name} PriorityClass must be {v}")),
                Some(_) if obj.flag("globalDefault") => {
                    Some(format!("globalDefault of {name} PriorityClass must be false"))
                }
                Some(_) => None,
            };
            if let Some(p) = problem {
                errs.push(FieldError::forbidden(
                    "metadata.name",
                    format!("priority class names with 'system-' prefix are reserved for system use only. error: {p}"),
                ));
            }
        } else if value > HIGHEST_USER_DEFINABLE_PRIORITY {
            errs.push(FieldError::forbidden(
                "value",
                format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"),
            ));
        }
        if let Some(pp) = obj.opt_str("preemptionPolicy") {
            errs.extend(validate_preemption_policy(pp, &Path::new("preemptionPolicy")));
        }
        return errs;
    };
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    if obj.int_or_zero("value") != old.int_or_zero("value") {
        errs.push(FieldError::forbidden("value", "may not be changed in an update."));
    }
    errs.extend(meta::immutable(
        obj.field("preemptionPolicy").unwrap_or(&Value::Null),
        old.field("preemptionPolicy").unwrap_or(&Value::Null),
        &Path::new("preemptionPolicy"),
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn priority_classes() {
        let pc = json!({"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "PreemptLowerPriority"});
        assert!(validate_priority_class(&pc, None).is_empty());
        let sys = json!({"metadata": {"name": "system-foo"}, "value": 1});
        let m: Vec<String> = validate_priority_class(&sys, None).iter().map(ToString::to_string).collect();
        assert_eq!(
            m,
            vec![
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class"
            ]
        );
        let big = json!({"metadata": {"name": "big"}, "value": 2_000_000_000i64});
        let m: Vec<String> = validate_priority_class(&big, None).iter().map(ToString::to_string).collect();
        assert_eq!(m, vec!["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]);
    }
}
