//! Server-side apply (`application/apply-patch+yaml`): merge an applied configuration into
//! the live object, prune what the manager stopped applying, record its ownership as an
//! `Apply` entry, and refuse to change fields other managers own unless forced — the real
//! API server's field manager over structured-merge-diff's `Updater.Apply`.

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use thiserror::Error;

use super::fieldpath::{FieldSet, go_json, is_go_printable, values_equal};
use super::managed_fields::{
    Conflict, Context, Entry, FIELD_MANAGER_MAX_LENGTH, Managed, ManagerId, Operation, OwnershipError,
    managed_fields_of, set_managed_fields, take_ownership, update_entries,
};
use super::typed::{self, Ty};
use crate::registry::error::ApiError;
use crate::registry::field_error::{ErrorType, FieldError};
use crate::registry::schema::Node;

/// The annotation client-side apply keeps its last configuration in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The manager kubectl uses for server-side apply; the only one upgraded from client-side apply.
const KUBECTL_MANAGER: &str = "kubectl";
/// `TotalAnnotationSizeLimitB`.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
/// Fields of the entries made for objects first applied to without managedFields.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Why an apply failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ApplyError {
    /// 400 BadRequest (`metadata.managedFields must be nil`, `invalid object type: …`).
    #[error("{0}")]
    BadRequest(String),
    /// 409 Conflict: fields owned by other managers would change.
    #[error("{}", conflict_message(.0))]
    Conflict(Vec<Conflict>),
    /// An error the real server reports as a 500 without a reason (`failed to create typed
    /// patch object (…): …`).
    #[error("{0}")]
    Internal(String),
}

impl ApplyError {
    /// The `metav1.Status` failure the real server answers with.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            ApplyError::BadRequest(m) => ApiError::bad_request(m.clone()),
            ApplyError::Conflict(conflicts) => ApiError {
                code: 409,
                reason: "Conflict",
                message: conflict_message(conflicts),
                details: Some(Box::new(json!({ "causes": conflict_causes(conflicts) }))),
                warnings: Vec::new(),
            },
            ApplyError::Internal(m) => ApiError::new(500, "", m.clone()),
        }
    }
}

/// `Apply failed with 1 conflict: conflict with "x" using apps/v1: .spec.replicas`, or for
/// several, grouped by manager: `Apply failed with 2 conflicts: conflicts with "x" using
/// apps/v1:\n- .spec.replicas\n- …` (`getConflictMessage`).
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [one] = conflicts {
        return format!("Apply failed with 1 conflict: conflict with {}: {}", one.manager.describe(), one.path);
    }
    let mut by_manager: Vec<(String, &ManagerId, Vec<String>)> = Vec::new();
    for c in conflicts {
        let key = c.manager.key();
        match by_manager.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, paths)) => paths.push(c.path.to_string()),
            None => by_manager.push((key, &c.manager, vec![c.path.to_string()])),
        }
    }
    by_manager.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = Vec::new();
    for (_, manager, paths) in by_manager {
        lines.push(format!("conflicts with {}:", manager.describe()));
        lines.extend(paths.into_iter().map(|p| format!("- {p}")));
    }
    format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
}

/// One `FieldManagerConflict` cause per conflict.
pub fn conflict_causes(conflicts: &[Conflict]) -> Vec<Value> {
    conflicts
        .iter()
        .map(|c| {
            json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with {}", c.manager.describe()),
                "field": c.path.to_string(),
            })
        })
        .collect()
}

/// Check the `fieldManager` and `force` query parameters of a patch (`ValidatePatchOptions`);
/// errors go into a 422 for kind `PatchOptions` of group `meta.k8s.io`.
pub fn validate_patch_options(field_manager: &str, force: Option<bool>, is_apply: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if is_apply {
        if field_manager.is_empty() {
            errs.push(FieldError::required("fieldManager", "is required for apply patch"));
        }
    } else if force.is_some() {
        errs.push(FieldError::forbidden("force", "may not be specified for non-apply patch"));
    }
    errs.extend(validate_field_manager(field_manager));
    errs
}

/// `ValidateFieldManager`: at most 128 bytes, printable characters only.
pub fn validate_field_manager(field_manager: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if field_manager.len() > FIELD_MANAGER_MAX_LENGTH {
        errs.push(FieldError {
            kind: ErrorType::TooLong,
            field: "fieldManager".to_string(),
            bad_value: None,
            detail: format!("may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"),
        });
    }
    for (i, c) in field_manager.char_indices() {
        if !is_go_printable(c) {
            let detail = format!("invalid character U+{:04X} (at position {i})", c as u32);
            errs.push(FieldError::invalid("fieldManager", field_manager, detail));
        }
    }
    errs
}

/// Apply `applied` to the main resource (`live` is `None` when the object does not exist
/// yet) on behalf of `manager`. Returns the object to store, with its managedFields.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: Timestamp,
    node: Node<'_>,
) -> Result<Value, ApplyError> {
    apply_subresource(live, applied, manager, force, "", now, node)
}

/// [`apply`] to a subresource (`status`…): the entry records the subresource and the
/// fields the subresource's strategy resets are not owned.
pub fn apply_subresource(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    subresource: &str,
    now: Timestamp,
    node: Node<'_>,
) -> Result<Value, ApplyError> {
    let gvk = Gvk::of(applied);
    check_kind(&gvk, live, node)?;
    let managed = Managed::decode(live.and_then(managed_fields_of))
        .map_err(|e| ApplyError::Internal(format!("failed to decode managed fields: {e}")))?;
    let ctx = Context::new(node, &gvk.api_version(), &gvk.kind, subresource, now);
    let mut outcome = apply_entries(live, applied, managed.clone(), manager, force, &ctx);
    if manager == KUBECTL_MANAGER
        && let Err(ApplyError::Conflict(conflicts)) = &outcome
    {
        outcome = match allowed_by_last_applied(live, &ctx) {
            Some(allowed) if conflicts.iter().all(|c| allowed.has(&c.path.0)) => {
                apply_entries(live, applied, managed, manager, true, &ctx)
            }
            Some(allowed) => {
                let left: Vec<Conflict> = conflicts.iter().filter(|c| !allowed.has(&c.path.0)).cloned().collect();
                Err(ApplyError::Conflict(left))
            }
            None => outcome,
        };
    }
    let (mut object, managed) = outcome?;
    if manager == KUBECTL_MANAGER && has_last_applied(&object) {
        set_last_applied(&mut object, build_last_applied(applied));
    }
    set_managed_fields(&mut object, managed.encode());
    Ok(object)
}

/// A group/version/kind as `schema.GroupVersionKind` prints it.
struct Gvk {
    group: String,
    version: String,
    kind: String,
}

impl Gvk {
    /// The GVK of an unstructured object (`FromAPIVersionAndKind`).
    fn of(obj: &Value) -> Gvk {
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        let (group, version) = match api_version.matches('/').count() {
            _ if api_version.is_empty() || api_version == "/" => (String::new(), String::new()),
            0 => (String::new(), api_version.to_string()),
            1 => match api_version.split_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), String::new()),
            },
            _ => (String::new(), String::new()),
        };
        Gvk { group, version, kind }
    }

    fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }
}

impl std::fmt::Display for Gvk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}, Kind={}", self.group, self.version, self.kind)
    }
}

/// `versionCheckManager`: the applied object must be of the endpoint's kind and version,
/// taken from the schema's `x-kubernetes-group-version-kind` (or the live object).
fn check_kind(gvk: &Gvk, live: Option<&Value>, node: Node<'_>) -> Result<(), ApplyError> {
    let declared: Vec<(String, String, String)> = node
        .ext("x-kubernetes-group-version-kind")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| {
                    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                    (s("group"), s("version"), s("kind"))
                })
                .collect()
        })
        .unwrap_or_default();
    let matches = if !declared.is_empty() {
        declared.iter().any(|(g, v, k)| *g == gvk.group && *v == gvk.version && *k == gvk.kind)
    } else if let Some(live) = live {
        let l = Gvk::of(live);
        l.group == gvk.group && l.version == gvk.version && l.kind == gvk.kind
    } else {
        !gvk.kind.is_empty() && !gvk.version.is_empty()
    };
    if matches { Ok(()) } else { Err(ApplyError::BadRequest(format!("invalid object type: {gvk}"))) }
}

/// `namespace/name; group/version, Kind=Kind`, as the typed-conversion errors name objects.
fn describe_object(obj: &Value) -> String {
    let meta = |k: &str| obj.get("metadata").and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or_default();
    format!("{}/{}; {}", meta("namespace"), meta("name"), Gvk::of(obj))
}

/// The chain below the last-applied handling: track existing fields of objects without
/// managedFields, then apply and record the applier's entry.
fn apply_entries(
    live: Option<&Value>,
    applied: &Value,
    mut managed: Managed,
    manager: &str,
    force: bool,
    ctx: &Context<'_>,
) -> Result<(Value, Managed), ApplyError> {
    let live_n = ctx.normalized(live);
    if managed.is_empty() {
        let zero = ctx.normalized(None);
        update_entries(&zero, &live_n, &mut managed, BEFORE_FIRST_APPLY, ctx)
            .map_err(|e| ApplyError::Internal(format!("failed to create manager for existing fields: {e}")))?;
    }
    let id = ManagerId::new(manager, Operation::Apply, &ctx.api_version, &ctx.subresource);
    let object = structured_apply(live, &live_n, applied, &mut managed, id, force, ctx)?;
    Ok((object, managed))
}

/// `structuredMergeManager.Apply` with `Updater.Apply`, the stripping of metadata fields
/// and the timestamp of the applier's entry.
fn structured_apply(
    live: Option<&Value>,
    live_n: &Value,
    config: &Value,
    managed: &mut Managed,
    id: ManagerId,
    force: bool,
    ctx: &Context<'_>,
) -> Result<Value, ApplyError> {
    if matches!(managed_fields_of(config), Some(Value::Array(_))) {
        return Err(ApplyError::BadRequest("metadata.managedFields must be nil".to_string()));
    }
    typed::validate(config, ctx.ty, false).map_err(|e| {
        ApplyError::Internal(format!("failed to create typed patch object ({}): {e}", describe_object(config)))
    })?;
    let live_raw = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    typed::validate(live_n, ctx.ty, true).map_err(|e| {
        ApplyError::Internal(format!("failed to create typed live object ({}): {e}", describe_object(&live_raw)))
    })?;
    let merged = typed::merge(live_n, config, ctx.ty)
        .map_err(|e| ApplyError::Internal(format!("failed to merge config: {e}")))?;
    let key = id.key();
    let last = managed.entries.get(&key).cloned();
    let set = typed::to_field_set(config, ctx.ty).recursive_difference(&ctx.reset);
    let time = last.as_ref().and_then(|l| l.time);
    managed.entries.insert(key.clone(), Entry { id, set, api_version: ctx.api_version.clone(), applied: true, time });
    let removal = prune(&merged, managed, last.as_ref(), ctx.ty);
    let pruned = match &removal {
        Some(x) => typed::remove_items(&merged, x, ctx.ty).unwrap_or(Value::Null),
        None => merged,
    };
    take_ownership(live_n, &pruned, managed, &key, force, ctx).map_err(|e| match e {
        OwnershipError::Conflicts(conflicts) => ApplyError::Conflict(conflicts),
        OwnershipError::Internal(message) => ApplyError::Internal(message),
    })?;
    strip_meta(managed, &key);
    let changed = !values_equal(live_n, &pruned);
    let mut object = if changed {
        if let Some(entry) = managed.entries.get_mut(&key) {
            entry.time = Some(ctx.now);
        }
        let merged_raw = typed::merge(&live_raw, config, ctx.ty)
            .map_err(|e| ApplyError::Internal(format!("failed to merge config: {e}")))?;
        let mut out = match &removal {
            Some(x) => typed::remove_items(&merged_raw, x, ctx.ty).unwrap_or_else(|| Value::Object(Map::new())),
            None => merged_raw,
        };
        strip_nulls(&mut out);
        out
    } else {
        live_raw
    };
    set_managed_fields(&mut object, None);
    Ok(object)
}

/// The fields to remove because the applier owned them last time, applies them no more,
/// and nobody else owns them (`Updater.prune`, `addBackOwnedItems`, `addBackDanglingItems`).
fn prune(merged: &Value, managed: &Managed, last: Option<&Entry>, ty: Ty<'_>) -> Option<FieldSet> {
    let last = last.filter(|l| !l.set.is_empty())?;
    let ensure = |s: &FieldSet| typed::ensure_named_fields_are_members(s, Some(ty));
    let fields = |v: &Value| ensure(&typed::to_field_set(v, ty));
    let last_set = ensure(&last.set);
    let first_cut = typed::remove_items(merged, &last_set, ty).unwrap_or(Value::Null);
    let owned = managed.entries.values().fold(FieldSet::new(), |acc, e| acc.union(&e.set));
    let merged_set = fields(merged);
    let unowned = merged_set.difference(&fields(&first_cut).union(&ensure(&owned)));
    let owned_back = typed::remove_items(merged, &unowned, ty).unwrap_or(Value::Null);
    Some(merged_set.difference(&fields(&owned_back)).intersection(&last_set))
}

/// Drop the metadata fields nobody may own from the applier's entry (`stripMetaManager`).
fn strip_meta(managed: &mut Managed, key: &str) {
    let strip = super::managed_fields::strip_paths();
    if let Some(entry) = managed.entries.get_mut(key) {
        entry.set = entry.set.difference(&strip);
        if entry.set.is_empty() {
            managed.entries.remove(key);
        }
    }
}

/// Remove map entries whose value is `null`, as decoding into the Go type does.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, child| !child.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn annotations(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(|m| m.get("annotations")).and_then(Value::as_object)
}

fn has_last_applied(obj: &Value) -> bool {
    annotations(obj).and_then(|a| a.get(LAST_APPLIED_ANNOTATION)).and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

/// The annotation value kubectl would write for `applied`: the object without the
/// annotation itself, as compact JSON with sorted keys and a final newline.
fn build_last_applied(applied: &Value) -> String {
    let mut obj = applied.clone();
    if let Some(Value::Object(a)) = obj.get_mut("metadata").and_then(|m| m.get_mut("annotations")) {
        a.remove(LAST_APPLIED_ANNOTATION);
    }
    let mut s = go_json::to_string(&obj);
    s.push('\n');
    s
}

/// Set the annotation, unless the annotations would then exceed their size limit.
fn set_last_applied(obj: &mut Value, value: String) {
    let Value::Object(root) = obj else { return };
    let meta = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else { return };
    let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(annotations) = annotations else { return };
    annotations.insert(LAST_APPLIED_ANNOTATION.to_string(), Value::String(value));
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        annotations.remove(LAST_APPLIED_ANNOTATION);
    }
}

/// The fields kubectl's client-side apply last applied and that still hold those values:
/// conflicts on them are what `kubectl apply --server-side` inherits from client-side apply
/// (`lastAppliedManager.allowedConflictsFromLastApplied`). `None` when there is nothing usable.
fn allowed_by_last_applied(live: Option<&Value>, ctx: &Context<'_>) -> Option<FieldSet> {
    let live = live?;
    let text = annotations(live)?.get(LAST_APPLIED_ANNOTATION)?.as_str().filter(|s| !s.is_empty())?;
    let last: Value = serde_json::from_str(text).ok()?;
    if !last.is_object() || last.get("apiVersion").and_then(Value::as_str) != Some(ctx.api_version.as_str()) {
        return None;
    }
    typed::validate(&last, ctx.ty, false).ok()?;
    let live_n = ctx.normalized(Some(live));
    let cmp = typed::compare(&last, &live_n, ctx.ty).ok()?;
    let set = typed::to_field_set(&last, ctx.ty);
    Some(set.difference(&cmp.modified).difference(&cmp.added).difference(&cmp.removed))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::patch::managed_fields::{Operation, update_managed_fields};
    use crate::registry::patch::ssa_testing::*;

    const T0: &str = "2024-05-01T10:00:00Z";
    const T1: &str = "2024-05-01T11:00:00Z";
    const T2: &str = "2024-05-01T12:00:00Z";

    /// The configuration `kubectl apply --server-side` sends for a small web Deployment.
    fn web_config() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}
                }
            }
        })
    }

    fn apply_at(
        live: Option<&Value>,
        config: &Value,
        manager: &str,
        force: bool,
        at: &str,
    ) -> Result<Value, ApplyError> {
        apply(live, config, manager, force, ts(at), deployment_node())
            .map(|o| if live.is_none() { stored(o) } else { o })
    }

    #[test]
    fn apply_creates_with_an_apply_entry_of_the_configured_fields() {
        let obj = apply_at(None, &web_config(), "kubectl", false, T0).unwrap();
        assert_eq!(
            obj["metadata"]["managedFields"],
            json!([{
                "manager": "kubectl",
                "operation": "Apply",
                "apiVersion": "apps/v1",
                "time": T0,
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:replicas": {},
                        "f:selector": {},
                        "f:template": {
                            "f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {
                                "f:containers": {
                                    "k:{\"name\":\"web\"}": {
                                        ".": {},
                                        "f:image": {},
                                        "f:name": {},
                                        "f:ports": {
                                            "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }])
        );
        let mut expected = stored(web_config());
        expected["metadata"]["managedFields"] = obj["metadata"]["managedFields"].clone();
        assert_eq!(obj, expected);
    }

    /// A Deployment created by `kubectl create`, as stored.
    fn created() -> Value {
        let mut new = created_deployment();
        update_managed_fields(None, &mut new, "kubectl-create", Operation::Update, "", ts(T0), deployment_node());
        stored(new)
    }

    /// The configuration matching `created()` exactly.
    fn nginx_config(replicas: i64) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}
                }
            }
        })
    }

    #[test]
    fn applying_the_same_values_as_kubectl_create_shares_ownership() {
        let live = created();
        let obj = apply_at(Some(&live), &nginx_config(1), "kubectl", false, T1).unwrap();
        let applied = entry(&obj, "kubectl", "Apply");
        assert_eq!(applied["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
        // kubectl-create keeps everything: nothing changed.
        assert_eq!(entry(&obj, "kubectl-create", "Update"), entry(&live, "kubectl-create", "Update"));
        // Nothing changed, so the applier's entry has no time and the object is the live one.
        assert!(applied.get("time").is_none());
        let mut without = obj.clone();
        without["metadata"]["managedFields"] = live["metadata"]["managedFields"].clone();
        assert_eq!(without, live);
        // Apply entries sort first.
        assert_eq!(entries(&obj)[0]["manager"], "kubectl");
    }

    #[test]
    fn changing_a_field_owned_by_another_manager_conflicts() {
        let live = created();
        let err = apply_at(Some(&live), &nginx_config(3), "my-tool", false, T1).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas"#
        );
        let status = err.to_api_error().to_status();
        assert_eq!(status["code"], 409);
        assert_eq!(status["reason"], "Conflict");
        assert_eq!(
            status["details"],
            json!({"causes": [{
                "reason": "FieldManagerConflict",
                "message": "conflict with \"kubectl-create\" using apps/v1",
                "field": ".spec.replicas"
            }]})
        );
    }

    #[test]
    fn several_conflicts_are_grouped_by_manager() {
        let live = created();
        let mut config = nginx_config(3);
        config["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
        let err = apply_at(Some(&live), &config, "my-tool", false, T1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 2 conflicts: conflicts with \"kubectl-create\" using apps/v1:\n\
             - .spec.replicas\n\
             - .spec.template.spec.containers[name=\"nginx\"].image"
        );
        let ApplyError::Conflict(conflicts) = &err else { panic!("{err:?}") };
        let causes = conflict_causes(conflicts);
        assert_eq!(causes[1]["field"], ".spec.template.spec.containers[name=\"nginx\"].image");
    }

    #[test]
    fn force_takes_ownership_from_the_others() {
        let live = created();
        let obj = apply_at(Some(&live), &nginx_config(3), "my-tool", true, T1).unwrap();
        assert_eq!(obj["spec"]["replicas"], 3);
        assert!(entry(&obj, "kubectl-create", "Update")["fieldsV1"]["f:spec"].get("f:replicas").is_none());
        let mine = entry(&obj, "my-tool", "Apply");
        assert_eq!(mine["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
        assert_eq!(mine["time"], T1);
    }

    #[test]
    fn two_managers_apply_disjoint_fields() {
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default", "labels": {"a": "1"}}, "data": {"x": "1"}});
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default", "labels": {"b": "2"}}, "data": {"y": "2"}});
        let cm = node("io.k8s.api.core.v1.ConfigMap");
        let live = stored(apply(None, &a, "manager-a", false, ts(T0), cm).unwrap());
        let live = apply(Some(&live), &b, "manager-b", false, ts(T1), cm).unwrap();
        assert_eq!(live["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(live["data"], json!({"x": "1", "y": "2"}));
        assert_eq!(
            entry(&live, "manager-a", "Apply")["fieldsV1"],
            json!({"f:data": {"f:x": {}}, "f:metadata": {"f:labels": {"f:a": {}}}})
        );
        assert_eq!(
            entry(&live, "manager-b", "Apply")["fieldsV1"],
            json!({"f:data": {"f:y": {}}, "f:metadata": {"f:labels": {"f:b": {}}}})
        );
        // manager-a stops applying its label: it is removed, manager-b's stays.
        let mut a2 = a.clone();
        a2["metadata"].as_object_mut().unwrap().remove("labels");
        let live = apply(Some(&live), &a2, "manager-a", false, ts(T2), cm).unwrap();
        assert_eq!(live["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(entry(&live, "manager-a", "Apply")["fieldsV1"], json!({"f:data": {"f:x": {}}}));
        assert_eq!(entry(&live, "manager-a", "Apply")["time"], T2);
    }

    #[test]
    fn a_field_still_owned_by_another_manager_is_not_removed() {
        let cm = node("io.k8s.api.core.v1.ConfigMap");
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "1", "shared": "s"}});
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"shared": "s"}});
        let live = stored(apply(None, &a, "a", false, ts(T0), cm).unwrap());
        let live = apply(Some(&live), &b, "b", false, ts(T1), cm).unwrap();
        let a2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "1"}});
        let live = apply(Some(&live), &a2, "a", false, ts(T2), cm).unwrap();
        assert_eq!(live["data"], json!({"x": "1", "shared": "s"}));
        // A field set by an update (kubectl-create, kubectl edit…) is not pruned either.
        let live = created();
        let mut config = nginx_config(1);
        config["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
        let obj = apply_at(Some(&live), &config, "kubectl", false, T1).unwrap();
        let obj = apply_at(Some(&obj), &nginx_config(1), "kubectl", false, T2).unwrap();
        assert_eq!(obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");
    }

    #[test]
    fn list_items_merge_by_key_and_leave_when_no_longer_applied() {
        let base = web_config();
        let live = apply_at(None, &base, "kubectl", false, T0).unwrap();
        // A second manager adds a sidecar container.
        let sidecar = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy:1"}]}}}
        });
        let live = apply_at(Some(&live), &sidecar, "mesh", false, T1).unwrap();
        let names: Vec<&Value> =
            live["spec"]["template"]["spec"]["containers"].as_array().unwrap().iter().map(|c| &c["name"]).collect();
        assert_eq!(names, [&json!("web"), &json!("proxy")]);
        assert_eq!(
            entry(&live, "mesh", "Apply")["fieldsV1"],
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"proxy\"}": {".": {}, "f:image": {}, "f:name": {}}
            }}}}})
        );
        // kubectl applies a new image and a second port: its container is merged, not replaced.
        let mut updated = base.clone();
        updated["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
        updated["spec"]["template"]["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 80}, {"containerPort": 443, "name": "https"}]);
        let live = apply_at(Some(&live), &updated, "kubectl", false, T2).unwrap();
        let containers = &live["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "nginx:1.27");
        assert_eq!(containers[0]["ports"], json!([{"containerPort": 80}, {"containerPort": 443, "name": "https"}]));
        assert_eq!(containers[1]["name"], "proxy");
        // The mesh stops applying its container: it goes away. An empty `spec` is itself a field.
        let mut empty_spec = sidecar.clone();
        empty_spec["spec"] = json!({});
        let emptied = apply_at(Some(&live), &empty_spec, "mesh", false, T2).unwrap();
        assert_eq!(emptied["spec"]["template"]["spec"]["containers"].as_array().unwrap().len(), 1);
        assert_eq!(entry(&emptied, "mesh", "Apply")["fieldsV1"], json!({"f:spec": {}}));
        let mut nothing = sidecar.clone();
        nothing.as_object_mut().unwrap().remove("spec");
        let live = apply_at(Some(&live), &nothing, "mesh", false, T2).unwrap();
        assert_eq!(live["spec"]["template"]["spec"]["containers"].as_array().unwrap().len(), 1);
        assert!(entries(&live).iter().all(|e| e["manager"] != "mesh"));
    }

    #[test]
    fn sets_and_atomic_lists() {
        let live = apply_at(None, &web_config(), "kubectl", false, T0).unwrap();
        let fin = |f: Value| json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default", "finalizers": f}});
        let live = apply_at(Some(&live), &fin(json!(["a/x"])), "one", false, T1).unwrap();
        let live = apply_at(Some(&live), &fin(json!(["b/y"])), "two", false, T1).unwrap();
        assert_eq!(live["metadata"]["finalizers"], json!(["a/x", "b/y"]));
        assert_eq!(
            entry(&live, "two", "Apply")["fieldsV1"],
            json!({"f:metadata": {"f:finalizers": {"v:\"b/y\"": {}}}})
        );
        // Atomic lists are replaced whole and owned as one field.
        let args = |a: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"template": {"spec": {"containers": [{"name": "web", "args": a}]}}}})
        };
        let live = apply_at(Some(&live), &args(json!(["--a", "--b"])), "args", false, T1).unwrap();
        let live = apply_at(Some(&live), &args(json!(["--c"])), "args", false, T2).unwrap();
        assert_eq!(live["spec"]["template"]["spec"]["containers"][0]["args"], json!(["--c"]));
        assert_eq!(
            entry(&live, "args", "Apply")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"],
            json!({".": {}, "f:args": {}, "f:name": {}})
        );
    }

    #[test]
    fn kubectl_scale_then_apply_conflicts_with_the_scaler() {
        let live = apply_at(None, &web_config(), "kubectl", false, T0).unwrap();
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(5);
        update_managed_fields(
            Some(&live),
            &mut scaled,
            "kubectl-scale",
            Operation::Update,
            "",
            ts(T1),
            deployment_node(),
        );
        assert!(entry(&scaled, "kubectl", "Apply")["fieldsV1"]["f:spec"].get("f:replicas").is_none());
        assert_eq!(entry(&scaled, "kubectl-scale", "Update")["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
        let err = apply_at(Some(&scaled), &web_config(), "kubectl", false, T2).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas"#
        );
        // Dropping replicas from the configuration leaves the scaler in charge.
        let mut config = web_config();
        config["spec"].as_object_mut().unwrap().remove("replicas");
        let obj = apply_at(Some(&scaled), &config, "kubectl", false, T2).unwrap();
        assert_eq!(obj["spec"]["replicas"], 5);
    }

    #[test]
    fn no_longer_applied_field_of_a_sole_applier_is_removed() {
        let live = apply_at(None, &web_config(), "kubectl", false, T0).unwrap();
        let mut config = web_config();
        config["spec"].as_object_mut().unwrap().remove("replicas");
        let obj = apply_at(Some(&live), &config, "kubectl", false, T1).unwrap();
        assert!(obj["spec"].get("replicas").is_none());
        assert!(entry(&obj, "kubectl", "Apply")["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    }

    #[test]
    fn client_side_apply_upgrades_to_server_side_without_conflicts() {
        let mut csa = nginx_config(1);
        let last = go_json::to_string(&{
            let mut c = nginx_config(1);
            c["metadata"]["annotations"] = json!({});
            c
        }) + "\n";
        csa["metadata"]["annotations"] = json!({ LAST_APPLIED_ANNOTATION: last });
        let mut new = csa.clone();
        update_managed_fields(
            None,
            &mut new,
            "kubectl-client-side-apply",
            Operation::Update,
            "",
            ts(T0),
            deployment_node(),
        );
        let live = stored(new);
        // `kubectl apply --server-side` with a new replica count: the conflict with the
        // client-side applier is on a field it last applied, so kubectl takes it over.
        let config = nginx_config(4);
        let obj = apply_at(Some(&live), &config, "kubectl", false, T1).unwrap();
        assert_eq!(obj["spec"]["replicas"], 4);
        assert!(entry(&obj, "kubectl-client-side-apply", "Update")["fieldsV1"]["f:spec"].get("f:replicas").is_none());
        // The annotation now holds the server-side applied configuration.
        assert_eq!(
            obj["metadata"]["annotations"][LAST_APPLIED_ANNOTATION],
            format!("{}\n", go_json::to_string(&config))
        );
        // Another manager gets the conflict.
        let err = apply_at(Some(&live), &config, "helm", false, T1).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
        );
    }

    #[test]
    fn objects_without_managed_fields_get_a_before_first_apply_entry() {
        let mut live = stored(nginx_config(1));
        live["metadata"].as_object_mut().unwrap().remove("managedFields");
        let err = apply_at(Some(&live), &nginx_config(2), "ci", false, T1).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#
        );
        let obj = apply_at(Some(&live), &nginx_config(2), "ci", true, T1).unwrap();
        let before = entry(&obj, "before-first-apply", "Update");
        assert_eq!(before["time"], T1);
        assert!(before["fieldsV1"]["f:spec"].get("f:replicas").is_none());
        assert!(before["fieldsV1"]["f:spec"].get("f:selector").is_some());
    }

    #[test]
    fn apply_validation_errors() {
        let mut config = web_config();
        config["metadata"]["managedFields"] = json!([]);
        let err = apply_at(None, &config, "kubectl", false, T0).unwrap_err();
        assert_eq!(err, ApplyError::BadRequest("metadata.managedFields must be nil".into()));
        assert_eq!(err.to_api_error().to_status()["code"], 400);

        let mut config = web_config();
        config["kind"] = json!("ReplicaSet");
        let err = apply_at(None, &config, "kubectl", false, T0).unwrap_err();
        assert_eq!(err.to_string(), "invalid object type: apps/v1, Kind=ReplicaSet");
        let mut config = web_config();
        config.as_object_mut().unwrap().remove("apiVersion");
        config.as_object_mut().unwrap().remove("kind");
        assert_eq!(
            apply_at(None, &config, "kubectl", false, T0).unwrap_err().to_string(),
            "invalid object type: /, Kind="
        );

        let mut config = web_config();
        config["spec"]["template"]["spec"]["containers"][0].as_object_mut().unwrap().remove("name");
        let err = apply_at(None, &config, "kubectl", false, T0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: \
             element 0: associative list with keys has an element that omits all key fields [\"name\"] \
             (and doesn't have default values for any key fields)"
        );
        assert_eq!(err.to_api_error().code, 500);

        let mut config = web_config();
        config["spec"]["foo"] = json!(1);
        let err = apply_at(None, &config, "kubectl", false, T0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.foo: field not declared in schema"
        );

        let mut config = web_config();
        config["spec"]["template"]["spec"]["containers"] = json!([{"name": "a"}, {"name": "a"}]);
        let err = apply_at(None, &config, "kubectl", false, T0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name=\"a\"]"
        );

        let mut config = web_config();
        config["spec"]["replicas"] = json!("two");
        let err = apply_at(None, &config, "kubectl", false, T0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string"
        );
    }

    #[test]
    fn patch_options_validation() {
        let msgs = |errs: Vec<FieldError>| errs.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            msgs(validate_patch_options("", None, true)),
            ["fieldManager: Required value: is required for apply patch"]
        );
        assert_eq!(
            msgs(validate_patch_options("kubectl", Some(true), false)),
            ["force: Forbidden: may not be specified for non-apply patch"]
        );
        assert_eq!(
            msgs(validate_patch_options(&"x".repeat(129), None, true)),
            ["fieldManager: Too long: may not be more than 128 bytes"]
        );
        let errs = validate_patch_options("a\u{7}", None, true);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].kind, ErrorType::Invalid);
        assert_eq!(errs[0].detail, "invalid character U+0007 (at position 1)");
        assert!(validate_patch_options("kubectl", Some(false), true).is_empty());
    }

    #[test]
    fn list_merge_keys_fall_back_to_the_patch_merge_key() {
        // A list with a merge key but no list type (older OpenAPI) is keyed by that key.
        let mut s = schemas().clone();
        let def = s.get_mut("io.k8s.api.core.v1.Container").unwrap();
        let env = def["properties"]["env"].as_object_mut().unwrap();
        env.remove("x-kubernetes-list-type");
        env.remove("x-kubernetes-list-map-keys");
        let node = s.node("io.k8s.api.apps.v1.Deployment").unwrap();
        let env = |vars: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"template": {"spec": {"containers": [{"name": "web", "env": vars}]}}}})
        };
        let live = apply(None, &env(json!([{"name": "A", "value": "1"}])), "one", false, ts(T0), node).unwrap();
        let live = apply(Some(&live), &env(json!([{"name": "B", "value": "2"}])), "two", false, ts(T1), node).unwrap();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
        // Without list type or merge key a list is atomic: the second apply replaces it and conflicts.
        let def = s.get_mut("io.k8s.api.core.v1.Container").unwrap();
        let env_schema = def["properties"]["env"].as_object_mut().unwrap();
        env_schema.remove("x-kubernetes-patch-strategy");
        env_schema.remove("x-kubernetes-patch-merge-key");
        let node = s.node("io.k8s.api.apps.v1.Deployment").unwrap();
        let live = apply(None, &env(json!([{"name": "A", "value": "1"}])), "one", false, ts(T0), node).unwrap();
        let err =
            apply(Some(&live), &env(json!([{"name": "B", "value": "2"}])), "two", false, ts(T1), node).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Apply failed with 1 conflict: conflict with "one": .spec.template.spec.containers[name="web"].env"#
        );
    }

    #[test]
    fn service_ports_are_keyed_by_port_and_protocol() {
        let svc = json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
        });
        let node = node("io.k8s.api.core.v1.Service");
        let obj = apply(None, &svc, "kubectl", false, ts(T0), node).unwrap();
        assert_eq!(
            entry(&obj, "kubectl", "Apply")["fieldsV1"],
            json!({"f:spec": {
                "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:targetPort": {}}},
                "f:selector": {}
            }})
        );
    }

    #[test]
    fn status_applied_to_the_main_resource_is_not_owned() {
        let mut config = web_config();
        config["status"] = json!({"replicas": 9});
        let obj = apply_at(None, &config, "kubectl", false, T0).unwrap();
        assert!(entry(&obj, "kubectl", "Apply")["fieldsV1"].get("f:status").is_none());
    }

    #[test]
    fn reapplying_unchanged_config_keeps_the_time() {
        let live = apply_at(None, &web_config(), "kubectl", false, T0).unwrap();
        let obj = apply_at(Some(&live), &web_config(), "kubectl", false, T1).unwrap();
        assert_eq!(obj, live);
    }

    #[test]
    fn custom_resources_without_structure_are_deduced() {
        let schema = json!({
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            },
            "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Widget"}]
        });
        let node = Node::new(schemas(), &schema);
        let cr = |spec: Value| json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec});
        let live = apply(None, &cr(json!({"size": {"x": 1}, "tags": ["a"]})), "one", false, ts(T0), node).unwrap();
        assert_eq!(
            entry(&live, "one", "Apply")["fieldsV1"],
            json!({"f:spec": {"f:size": {".": {}, "f:x": {}}, "f:tags": {}}})
        );
        let live = apply(Some(&live), &cr(json!({"size": {"y": 2}})), "two", false, ts(T1), node).unwrap();
        assert_eq!(live["spec"], json!({"size": {"x": 1, "y": 2}, "tags": ["a"]}));
        let err = apply(Some(&live), &cr(json!({"tags": ["b"]})), "two", false, ts(T1), node).unwrap_err();
        assert_eq!(err.to_string(), r#"Apply failed with 1 conflict: conflict with "one": .spec.tags"#);
        let err = apply(
            None,
            &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "extra": 1}),
            "one",
            false,
            ts(T0),
            node,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to create typed patch object (/w; example.com/v1, Kind=Widget): .extra: field not declared in schema"
        );
    }

    #[test]
    fn custom_resource_definitions_apply_cleanly() {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                                     "properties": {"size": {"type": "integer", "default": 1, "minimum": 0}}},
                            "status": {"type": "object"}
                        }
                    }},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]
                }]
            }
        });
        let node = node("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition");
        let obj = apply(None, &crd, "kubectl", false, ts(T0), node).unwrap();
        let fields = &entry(&obj, "kubectl", "Apply")["fieldsV1"]["f:spec"];
        assert_eq!(fields["f:names"]["f:shortNames"], json!({}));
        assert_eq!(fields["f:versions"], json!({}), "versions has no list type: atomic");
        let mut created = crd.clone();
        update_managed_fields(None, &mut created, "kubectl-create", Operation::Update, "", ts(T0), node);
        assert!(entry(&created, "kubectl-create", "Update")["fieldsV1"]["f:spec"].get("f:group").is_some());
    }

    #[test]
    fn pods_and_services_track_on_create() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {
                "containers": [{
                    "name": "c", "image": "busybox", "command": ["sleep", "3600"],
                    "resources": {"limits": {"memory": "64Mi", "cpu": 1}},
                    "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "livenessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 10}
                }],
                "volumes": [{"name": "v", "emptyDir": {}}],
                "tolerations": [{"key": "k", "operator": "Exists"}]
            }
        });
        let mut created = pod.clone();
        update_managed_fields(
            None,
            &mut created,
            "kubectl-run",
            Operation::Update,
            "",
            ts(T0),
            node("io.k8s.api.core.v1.Pod"),
        );
        let spec = &entry(&created, "kubectl-run", "Update")["fieldsV1"]["f:spec"];
        assert_eq!(
            spec["f:volumes"],
            json!({".": {}, "k:{\"name\":\"v\"}": {".": {}, "f:emptyDir": {}, "f:name": {}}})
        );
        assert_eq!(spec["f:tolerations"], json!({}));
        let c = &spec["f:containers"]["k:{\"name\":\"c\"}"];
        assert_eq!(c["f:resources"], json!({".": {}, "f:limits": {".": {}, "f:cpu": {}, "f:memory": {}}}));
        assert_eq!(c["f:env"]["k:{\"name\":\"A\"}"]["f:valueFrom"], json!({".": {}, "f:fieldRef": {}}));
        assert_eq!(c["f:command"], json!({}));
    }
}
