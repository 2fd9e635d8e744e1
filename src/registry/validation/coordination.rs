//! The `coordination.k8s.io` group: Leases.

use serde_json::Value;

use super::access::Fields;
use super::meta::{self, MetaRules};
use super::names;
use crate::registry::field_error::{FieldError, Path};

/// Lease create and update.
pub fn validate_lease(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let rules = MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(true), builtin: true };
    let mut errs = meta::validate_meta(obj, old, rules);
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    if let Some(d) = spec.int("leaseDurationSeconds").filter(|d| *d <= 0) {
        errs.push(FieldError::invalid(sp.child("leaseDurationSeconds"), d, "must be greater than 0"));
    }
    if let Some(t) = spec.int("leaseTransitions").filter(|t| *t < 0) {
        errs.push(FieldError::invalid(sp.child("leaseTransitions"), t, "must be greater than or equal to 0"));
    }
    if let Some(s) = spec.opt_str("strategy")
        && s != "OldestEmulationVersion"
    {
        errs.push(FieldError::not_supported(sp.child("strategy"), s, &["OldestEmulationVersion"]));
    }
    if spec.opt_str("preferredHolder").is_some_and(|p| !p.is_empty())
        && spec.opt_str("strategy").is_none_or(str::is_empty)
    {
        errs.push(FieldError::forbidden(sp.child("preferredHolder"), "may only be specified if `strategy` is defined"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leases() {
        let l = json!({"metadata": {"name": "node-1", "namespace": "kube-node-lease"}, "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}});
        assert!(validate_lease(&l, None).is_empty());
        let bad = json!({"metadata": {"name": "n", "namespace": "x"}, "spec": {"leaseDurationSeconds": 0}});
        let m: Vec<String> = validate_lease(&bad, None).iter().map(ToString::to_string).collect();
        assert_eq!(m, vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]);
    }
}
