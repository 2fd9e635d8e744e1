//! The `rbac.authorization.k8s.io` group: Roles, ClusterRoles and their bindings.

use serde_json::Value;

use super::access::Fields;
use super::meta::{self, MetaRules, SelectorOpts, render_string_list, validate_label_selector};
use super::names;
use crate::registry::field_error::{FieldError, Path};

const GROUP: &str = "rbac.authorization.k8s.io";

fn rules(namespaced: bool) -> MetaRules {
    MetaRules { name: names::name_is_path_segment, namespaced: Some(namespaced), builtin: true }
}

/// `ValidatePolicyRule`.
fn policy_rule(rule: &Value, namespaced: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if rule.list("verbs").is_empty() {
        errs.push(FieldError::required(path.child("verbs"), "verbs must contain at least one value"));
    }
    let urls = rule.strings("nonResourceURLs");
    if !urls.is_empty() {
        if namespaced {
            errs.push(FieldError::invalid_rendered(
                path.child("nonResourceURLs"),
                render_string_list(&urls),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if !rule.list("apiGroups").is_empty()
            || !rule.list("resources").is_empty()
            || !rule.list("resourceNames").is_empty()
        {
            errs.push(FieldError::invalid_rendered(
                path.child("nonResourceURLs"),
                render_string_list(&urls),
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if rule.list("apiGroups").is_empty() {
        errs.push(FieldError::required(path.child("apiGroups"), "resource rules must supply at least one api group"));
    }
    if rule.list("resources").is_empty() {
        errs.push(FieldError::required(path.child("resources"), "resource rules must supply at least one resource"));
    }
    errs
}

fn role(obj: &Value, old: Option<&Value>, namespaced: bool) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta(obj, rules(namespaced));
    for (i, r) in obj.list("rules").iter().enumerate() {
        errs.extend(policy_rule(r, namespaced, &Path::new("rules").index(i)));
    }
    if let Some(agg) = obj.obj("aggregationRule") {
        let p = Path::new("aggregationRule").child("clusterRoleSelectors");
        let selectors = agg.list("clusterRoleSelectors");
        if selectors.is_empty() {
            errs.push(FieldError::required(
                &p,
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, s) in selectors.iter().enumerate() {
            errs.extend(validate_label_selector(Some(s), SelectorOpts::default(), &p.index(i)));
        }
    }
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old, true));
    }
    errs
}

fn subject(s: &Value, namespaced: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s.str_of("name");
    if name.is_empty() {
        errs.push(FieldError::required(path.child("name"), ""));
    }
    let group = s.str_of("apiGroup");
    match s.str_of("kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                errs.extend(
                    names::is_dns1123_subdomain(name)
                        .into_iter()
                        .map(|m| FieldError::invalid(path.child("name"), name, m)),
                );
            }
            if !group.is_empty() {
                errs.push(FieldError::not_supported(path.child("apiGroup"), group, &[""]));
            }
            if !namespaced && s.str_of("namespace").is_empty() {
                errs.push(FieldError::required(path.child("namespace"), ""));
            }
        }
        k @ ("User" | "Group") => {
            if name.is_empty() {
                let what = if k == "User" { "user" } else { "group" };
                errs.push(FieldError::invalid(path.child("name"), name, format!("{what} name cannot be empty")));
            }
            if group != GROUP {
                errs.push(FieldError::not_supported(path.child("apiGroup"), group, &[GROUP]));
            }
        }
        other => errs.push(FieldError::not_supported(path.child("kind"), other, &["ServiceAccount", "User", "Group"])),
    }
    errs
}

/// Go's `%#v` of a `rbac.RoleRef`.
fn render_role_ref(r: Option<&Value>) -> String {
    format!(
        "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
        r.str_of("apiGroup"),
        r.str_of("kind"),
        r.str_of("name")
    )
}

fn binding(obj: &Value, old: Option<&Value>, namespaced: bool) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta(obj, rules(namespaced));
    let rr = obj.field("roleRef");
    let rp = Path::new("roleRef");
    let group = rr.str_of("apiGroup");
    if group != GROUP {
        errs.push(FieldError::not_supported(rp.child("apiGroup"), group, &[GROUP]));
    }
    let kind = rr.str_of("kind");
    let kinds: &[&str] = if namespaced { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    if !kinds.contains(&kind) {
        errs.push(FieldError::not_supported(rp.child("kind"), kind, kinds));
    }
    let name = rr.str_of("name");
    if name.is_empty() {
        errs.push(FieldError::required(rp.child("name"), ""));
    } else {
        errs.extend(
            names::is_valid_path_segment_name(name).into_iter().map(|m| FieldError::invalid(rp.child("name"), name, m)),
        );
    }
    for (i, s) in obj.list("subjects").iter().enumerate() {
        errs.extend(subject(s, namespaced, &Path::new("subjects").index(i)));
    }
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old, true));
        let orr = old.field("roleRef");
        if (orr.str_of("apiGroup"), orr.str_of("kind"), orr.str_of("name")) != (group, kind, name) {
            errs.push(FieldError::invalid_rendered(&rp, render_role_ref(rr), "cannot change roleRef"));
        }
    }
    errs
}

/// Validate an RBAC object.
pub fn validate(kind: &str, obj: &Value, old: Option<&Value>) -> Option<Vec<FieldError>> {
    Some(match kind {
        "Role" => role(obj, old, true),
        "ClusterRole" => role(obj, old, false),
        "RoleBinding" => binding(obj, old, true),
        "ClusterRoleBinding" => binding(obj, old, false),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn roles() {
        let r = json!({"metadata": {"name": "system:reader", "namespace": "d"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
        assert_eq!(validate("Role", &r, None), Some(vec![]));
        let bad = json!({"metadata": {"name": "a/b", "namespace": "d"}, "rules": [{"resources": ["pods"], "verbs": []}, {"nonResourceURLs": ["/x"], "verbs": ["get"]}]});
        assert_eq!(
            msgs(&validate("Role", &bad, None).unwrap_or_default()),
            vec![
                "metadata.name: Invalid value: \"a/b\": may not contain '/'",
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[1].nonResourceURLs: Invalid value: []string{\"/x\"}: namespaced rules cannot apply to non-resource URLs",
            ]
        );
    }

    #[test]
    fn bindings() {
        let b = json!({"metadata": {"name": "b", "resourceVersion": "1"}, "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}, {"kind": "User", "apiGroup": GROUP, "name": "alice"}]});
        assert_eq!(validate("ClusterRoleBinding", &b, None), Some(vec![]));
        let mut changed = b.clone();
        changed["roleRef"]["name"] = json!("edit");
        assert_eq!(
            msgs(&validate("ClusterRoleBinding", &changed, Some(&b)).unwrap_or_default()),
            vec![
                "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"ClusterRole\", Name:\"edit\"}: cannot change roleRef"
            ]
        );
        let bad = json!({"metadata": {"name": "b"}, "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "x"}, "subjects": [{"kind": "ServiceAccount", "name": "sa"}]});
        assert_eq!(
            msgs(&validate("ClusterRoleBinding", &bad, None).unwrap_or_default()),
            vec![
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
            ]
        );
    }
}
