//! ObjectMeta validation (apimachinery `ValidateObjectMeta` / `ValidateObjectMetaUpdate`, with
//! the extra finalizer rule of the built-in kinds), label selectors and the per-kind name rules.

use serde_json::Value;

use super::access::{Fields, metadata, semantic_eq};
use super::names;
use crate::registry::field_error::{FieldError, Path};

/// A name validator: `(name, prefix) -> messages` (`ValidateNameFunc`).
pub type NameFn = fn(&str, bool) -> Vec<String>;

/// Total size allowed for all annotations of an object.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `field is immutable`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";

/// `must be greater than or equal to 0`.
pub const IS_NEGATIVE: &str = "must be greater than or equal to 0";

/// Finalizers that built-in kinds accept without a domain prefix.
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// How the metadata of a kind is checked.
#[derive(Clone, Copy)]
pub struct MetaRules {
    /// Validator of `metadata.name` (and `generateName`).
    pub name: NameFn,
    /// `Some(true)`: namespaced; `Some(false)`: cluster-scoped; `None`: unknown (not checked).
    pub namespaced: Option<bool>,
    /// Built-in kinds reject unqualified finalizers other than the standard ones.
    pub builtin: bool,
}

/// `ValidateNonnegativeField`.
pub fn non_negative(path: &Path, v: i64) -> Vec<FieldError> {
    if v < 0 { vec![FieldError::invalid(path, v, IS_NEGATIVE)] } else { vec![] }
}

/// `ValidateImmutableField` for JSON values (semantic equality: absent, null and empty agree).
pub fn immutable(new: &Value, old: &Value, path: &Path) -> Vec<FieldError> {
    if semantic_eq(new, old) { vec![] } else { vec![FieldError::invalid(path, new.clone(), FIELD_IMMUTABLE)] }
}

/// `ValidateLabelName`.
pub fn validate_label_name(name: &str, path: &Path) -> Vec<FieldError> {
    names::is_qualified_name(name).into_iter().map(|m| FieldError::invalid(path, name, m)).collect()
}

/// `ValidateLabels`: keys are qualified names, values label values; errors name the map.
pub fn validate_labels(labels: &[(&str, &str)], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in labels {
        errs.extend(validate_label_name(k, path));
        errs.extend(names::is_valid_label_value(v).into_iter().map(|m| FieldError::invalid(path, *v, m)));
    }
    errs
}

/// `ValidateAnnotations`: keys (lower-cased) are qualified names; total size at most 256 KiB.
pub fn validate_annotations(annotations: &[(&str, &str)], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, _) in annotations {
        errs.extend(names::is_qualified_name(&k.to_lowercase()).into_iter().map(|m| FieldError::invalid(path, *k, m)));
    }
    let total: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

fn validate_owner_references(refs: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut first_controller = String::new();
    for r in refs {
        let (api_version, kind) = (r.str_of("apiVersion"), r.str_of("kind"));
        let version = api_version.rsplit_once('/').map_or(api_version, |(_, v)| v);
        if version.is_empty() {
            errs.push(FieldError::invalid(path.child("apiVersion"), api_version, "version must not be empty"));
        }
        if kind.is_empty() {
            errs.push(FieldError::invalid(path.child("kind"), kind, "kind must not be empty"));
        }
        if r.str_of("name").is_empty() {
            errs.push(FieldError::invalid(path.child("name"), "", "name must not be empty"));
        }
        if r.str_of("uid").is_empty() {
            errs.push(FieldError::invalid(path.child("uid"), "", "uid must not be empty"));
        }
        if api_version == "v1" && kind == "Event" {
            errs.push(FieldError::invalid(path, r.clone(), "/v1, Kind=Event is disallowed from being an owner"));
        }
        if r.flag("controller") {
            let current = format!("{kind}/{}", r.str_of("name"));
            if first_controller.is_empty() {
                first_controller = current;
            } else {
                errs.push(FieldError::invalid(
                    path,
                    Value::Array(refs.to_vec()),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first_controller} and {current}"
                    ),
                ));
            }
        }
    }
    errs
}

fn validate_finalizers(finalizers: &[&str], path: &Path, builtin: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in finalizers {
        errs.extend(names::is_qualified_name(f).into_iter().map(|m| FieldError::invalid(path, *f, m)));
    }
    if finalizers.contains(&"orphan") && finalizers.contains(&"foregroundDeletion") {
        let list: Vec<Value> = finalizers.iter().map(|f| Value::from(*f)).collect();
        errs.push(FieldError::invalid(path, list, "finalizer orphan and foregroundDeletion cannot be both set"));
    }
    if builtin {
        errs.extend(kube_finalizer_names(finalizers, path));
    }
    errs
}

/// Built-in kinds: a finalizer without `/` must be a standard one.
fn kube_finalizer_names(finalizers: &[&str], path: &Path) -> Vec<FieldError> {
    finalizers
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.contains('/') && !STANDARD_FINALIZERS.contains(f))
        .map(|(i, f)| {
            FieldError::invalid(
                path.index(i),
                *f,
                "name is neither a standard finalizer name nor is it fully qualified",
            )
        })
        .collect()
}

/// `validateFinalizerName` as used by Namespace `spec.finalizers`.
pub fn validate_finalizer_name(f: &str, path: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> =
        names::is_qualified_name(f).into_iter().map(|m| FieldError::invalid(path, f, m)).collect();
    if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
        errs.push(FieldError::invalid(path, f, "name is neither a standard finalizer name nor is it fully qualified"));
    }
    errs
}

fn validate_managed_fields(entries: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let p = path.index(i);
        let op = e.str_of("operation");
        if op != "Apply" && op != "Update" {
            errs.push(FieldError::invalid(p.child("operation"), op, "must be `Apply` or `Update`"));
        }
        let ft = e.str_of("fieldsType");
        if !ft.is_empty() && ft != "FieldsV1" {
            errs.push(FieldError::invalid(p.child("fieldsType"), ft, "must be `FieldsV1`"));
        }
        let manager = e.str_of("manager");
        if manager.len() > 128 {
            errs.push(FieldError::too_long(p.child("manager"), 128));
        }
        if e.str_of("subresource").len() > 256 {
            errs.push(FieldError::too_long(p.child("subresource"), 256));
        }
    }
    errs
}

/// `ValidateObjectMeta` of an object being created (name generation already done).
pub fn validate_object_meta(obj: &Value, rules: MetaRules) -> Vec<FieldError> {
    validate_meta_value(metadata(obj), rules, &Path::new("metadata"))
}

/// ObjectMeta checks of an embedded metadata object (also used for templates' full metadata).
pub fn validate_meta_value(meta: &Value, rules: MetaRules, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let generate = meta.str_of("generateName");
    if !generate.is_empty() {
        errs.extend(
            (rules.name)(generate, true)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("generateName"), generate, m)),
        );
    }
    let name = meta.str_of("name");
    if name.is_empty() {
        errs.push(FieldError::required(path.child("name"), "name or generateName is required"));
    } else {
        errs.extend((rules.name)(name, false).into_iter().map(|m| FieldError::invalid(path.child("name"), name, m)));
    }
    let ns = meta.str_of("namespace");
    match rules.namespaced {
        Some(true) if ns.is_empty() => errs.push(FieldError::required(path.child("namespace"), "")),
        Some(true) => errs.extend(
            names::name_is_dns_label(ns, false)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("namespace"), ns, m)),
        ),
        Some(false) if !ns.is_empty() => {
            errs.push(FieldError::forbidden(path.child("namespace"), "not allowed on this type"))
        }
        _ => {}
    }
    errs.extend(non_negative(&path.child("generation"), meta.int_or_zero("generation")));
    errs.extend(common_meta(meta, path, rules.builtin));
    errs
}

/// The checks shared by create and update: labels, annotations, owners, finalizers, managed fields.
fn common_meta(meta: &Value, path: &Path, builtin: bool) -> Vec<FieldError> {
    let mut errs = validate_labels(&meta.str_map("labels"), &path.child("labels"));
    errs.extend(validate_annotations(&meta.str_map("annotations"), &path.child("annotations")));
    errs.extend(validate_owner_references(meta.list("ownerReferences"), &path.child("ownerReferences")));
    errs.extend(validate_finalizers(&meta.strings("finalizers"), &path.child("finalizers"), builtin));
    errs.extend(validate_managed_fields(meta.list("managedFields"), &path.child("managedFields")));
    errs
}

/// `ValidateObjectMetaUpdate`.
pub fn validate_object_meta_update(new: &Value, old: &Value, builtin: bool) -> Vec<FieldError> {
    let (nm, om) = (metadata(new), metadata(old));
    let path = Path::new("metadata");
    let mut errs = Vec::new();
    if om.has("deletionTimestamp") {
        let old_f = om.strings("finalizers");
        let mut extra: Vec<&str> = nm.strings("finalizers").into_iter().filter(|f| !old_f.contains(f)).collect();
        extra.sort_unstable();
        extra.dedup();
        if !extra.is_empty() {
            let list: Vec<String> = extra.iter().map(|f| format!("{f:?}")).collect();
            errs.push(FieldError::forbidden(
                path.child("finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    list.join(", ")
                ),
            ));
        }
    }
    let rv = nm.str_of("resourceVersion");
    if rv.is_empty() {
        errs.push(FieldError::invalid(path.child("resourceVersion"), rv, "must be specified for an update"));
    }
    let (ng, og) = (nm.int_or_zero("generation"), om.int_or_zero("generation"));
    if ng < og {
        errs.push(FieldError::invalid(path.child("generation"), ng, "must not be decremented"));
    }
    for f in ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"] {
        let (a, b) = (nm.field(f).cloned().unwrap_or(Value::Null), om.field(f).cloned().unwrap_or(Value::Null));
        if a != b {
            errs.push(FieldError::invalid(path.child(f), a, FIELD_IMMUTABLE));
        }
    }
    errs.extend(validate_labels(&nm.str_map("labels"), &path.child("labels")));
    errs.extend(validate_annotations(&nm.str_map("annotations"), &path.child("annotations")));
    errs.extend(validate_owner_references(nm.list("ownerReferences"), &path.child("ownerReferences")));
    errs.extend(validate_managed_fields(nm.list("managedFields"), &path.child("managedFields")));
    if builtin {
        errs.extend(kube_finalizer_names(&nm.strings("finalizers"), &path.child("finalizers")));
    }
    errs
}

/// Create (`old == None`) or update checks of metadata.
pub fn validate_meta(obj: &Value, old: Option<&Value>, rules: MetaRules) -> Vec<FieldError> {
    match old {
        None => validate_object_meta(obj, rules),
        Some(old) => {
            let mut errs = validate_object_meta_update(obj, old, rules.builtin);
            // Update validators of most kinds run the create checks too (name rule included).
            for e in validate_object_meta(obj, rules) {
                if !errs.contains(&e) {
                    errs.push(e);
                }
            }
            errs
        }
    }
}

/// `ValidateTemplateObjectMeta`: only labels and annotations.
pub fn validate_template_object_meta(meta: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_annotations(&meta.str_map("annotations"), &path.child("annotations"));
    errs.extend(validate_labels(&meta.str_map("labels"), &path.child("labels")));
    if let Some(m) = meta.as_object() {
        for key in m.keys().filter(|k| !matches!(k.as_str(), "labels" | "annotations")) {
            if !m[key].is_null() {
                errs.push(FieldError::forbidden(path.child(key), "cannot be set"));
            }
        }
    }
    errs
}

// ---------------------------------------------------------------- label selectors

/// Options of `ValidateLabelSelector`.
#[derive(Clone, Copy, Default)]
pub struct SelectorOpts {
    pub allow_invalid_label_value: bool,
}

/// `ValidateLabelSelector` (a missing selector is valid).
pub fn validate_label_selector(sel: Option<&Value>, opts: SelectorOpts, path: &Path) -> Vec<FieldError> {
    let Some(sel) = sel.filter(|v| v.is_object()) else { return vec![] };
    let mut errs = validate_labels(&sel.str_map("matchLabels"), &path.child("matchLabels"));
    for (i, expr) in sel.list("matchExpressions").iter().enumerate() {
        errs.extend(validate_selector_requirement(expr, opts, &path.child("matchExpressions").index(i)));
    }
    errs
}

fn validate_selector_requirement(expr: &Value, opts: SelectorOpts, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let values = expr.strings("values");
    match expr.str_of("operator") {
        "In" | "NotIn" if values.is_empty() => errs
            .push(FieldError::required(path.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")),
        "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
            path.child("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        op => errs.push(FieldError::invalid(path.child("operator"), op, "not a valid selector operator")),
    }
    errs.extend(validate_label_name(expr.str_of("key"), &path.child("key")));
    if !opts.allow_invalid_label_value {
        for (i, v) in values.iter().enumerate() {
            errs.extend(
                names::is_valid_label_value(v)
                    .into_iter()
                    .map(|m| FieldError::invalid(path.child("values").index(i), *v, m)),
            );
        }
    }
    errs
}

/// Whether a label selector (JSON) matches a label set. `None` when the selector is
/// malformed (`LabelSelectorAsSelector` would fail).
pub fn selector_matches(sel: &Value, labels: &[(&str, &str)]) -> Option<bool> {
    let get = |k: &str| labels.iter().find(|(lk, _)| *lk == k).map(|(_, v)| *v);
    for (k, v) in sel.str_map("matchLabels") {
        if get(k) != Some(v) {
            return Some(false);
        }
    }
    for expr in sel.list("matchExpressions") {
        let key = expr.str_of("key");
        let values = expr.strings("values");
        let ok = match expr.str_of("operator") {
            "In" => get(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => get(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => get(key).is_some(),
            "DoesNotExist" => get(key).is_none(),
            _ => return None,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

/// Whether a selector selects everything (no requirements).
pub fn selector_is_empty(sel: &Value) -> bool {
    sel.str_map("matchLabels").is_empty() && sel.list("matchExpressions").is_empty()
}

/// Go's `%#v` of a `*metav1.LabelSelector`, as the real messages print it.
pub fn render_label_selector(sel: &Value) -> String {
    if !sel.is_object() {
        return "(*v1.LabelSelector)(nil)".into();
    }
    let labels = sel.str_map("matchLabels");
    let ml = if sel.has("matchLabels") {
        let mut sorted = labels.clone();
        sorted.sort_unstable();
        let items: Vec<String> = sorted.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
        format!("map[string]string{{{}}}", items.join(", "))
    } else {
        "map[string]string(nil)".into()
    };
    let exprs = sel.list("matchExpressions");
    let me = if exprs.is_empty() && !sel.has("matchExpressions") {
        "[]v1.LabelSelectorRequirement(nil)".into()
    } else {
        let items: Vec<String> = exprs
            .iter()
            .map(|e| {
                let vals: Vec<String> = e.strings("values").iter().map(|v| format!("{v:?}")).collect();
                let values =
                    if e.has("values") { format!("[]string{{{}}}", vals.join(", ")) } else { "[]string(nil)".into() };
                format!(
                    "v1.LabelSelectorRequirement{{Key:{:?}, Operator:{:?}, Values:{values}}}",
                    e.str_of("key"),
                    e.str_of("operator")
                )
            })
            .collect();
        format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
    };
    format!("v1.LabelSelector{{MatchLabels:{ml}, MatchExpressions:{me}}}")
}

/// Go's `%#v` of a `map[string]string`.
pub fn render_string_map(m: &[(&str, &str)], present: bool) -> String {
    if !present {
        return "map[string]string(nil)".into();
    }
    let mut sorted = m.to_vec();
    sorted.sort_unstable();
    let items: Vec<String> = sorted.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
    format!("map[string]string{{{}}}", items.join(", "))
}

/// Go's `%#v` of a `[]string`.
pub fn render_string_list(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[]string{{{}}}", q.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> MetaRules {
        MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(true), builtin: true }
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn valid_meta_passes() {
        let obj = json!({"metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
            "annotations": {"example.com/x": "y"}, "finalizers": ["kubernetes", "example.com/f"]}});
        assert!(validate_object_meta(&obj, rules()).is_empty());
    }

    #[test]
    fn typical_meta_mistakes() {
        let obj = json!({"metadata": {"name": "Web", "labels": {"app": "-x"}, "finalizers": ["custom"]}});
        let m = msgs(&validate_object_meta(&obj, rules()));
        assert!(m[0].starts_with("metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain"));
        assert_eq!(m[1], "metadata.namespace: Required value");
        assert!(m[2].starts_with("metadata.labels: Invalid value: \"-x\": a valid label must be"));
        assert_eq!(
            m[3],
            "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"
        );
        let cluster = MetaRules { namespaced: Some(false), ..rules() };
        let obj = json!({"metadata": {"name": "n", "namespace": "x"}});
        assert_eq!(
            msgs(&validate_object_meta(&obj, cluster)),
            vec!["metadata.namespace: Forbidden: not allowed on this type"]
        );
    }

    #[test]
    fn annotation_size_limit() {
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let obj = json!({"metadata": {"name": "a", "namespace": "d", "annotations": {"k": big}}});
        assert_eq!(
            msgs(&validate_object_meta(&obj, rules())),
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
    }

    #[test]
    fn owner_references() {
        let obj = json!({"metadata": {"name": "a", "namespace": "d", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "1", "controller": true},
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "2", "controller": true},
            {"apiVersion": "", "kind": "", "name": "", "uid": ""}]}});
        let m = msgs(&validate_object_meta(&obj, rules()));
        assert!(m[0].ends_with(
            "Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/r and Deployment/d"
        ));
        assert_eq!(m[1], "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty");
        assert_eq!(m[4], "metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty");
    }

    #[test]
    fn update_rules() {
        let old = json!({"metadata": {"name": "a", "namespace": "d", "uid": "1", "resourceVersion": "5",
            "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["a.io/x"]}});
        let new = json!({"metadata": {"name": "b", "namespace": "d", "uid": "1", "resourceVersion": "5",
            "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["a.io/x", "b.io/y"]}});
        let m = msgs(&validate_object_meta_update(&new, &old, true));
        assert_eq!(
            m,
            vec![
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"b.io/y\"}",
                "metadata.name: Invalid value: \"b\": field is immutable",
            ]
        );
    }

    #[test]
    fn selectors() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In"}]});
        assert_eq!(
            msgs(&validate_label_selector(Some(&sel), SelectorOpts::default(), &Path::new("spec.selector"))),
            vec![
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
            ]
        );
        let sel = json!({"matchLabels": {"app": "web"}});
        assert_eq!(selector_matches(&sel, &[("app", "web"), ("x", "y")]), Some(true));
        assert_eq!(selector_matches(&sel, &[("app", "db")]), Some(false));
        assert_eq!(
            render_label_selector(&sel),
            "v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
    }
}
