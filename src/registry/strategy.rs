//! What differs between kinds on create, update and delete (the "strategies" of
//! the real registry): which part of an object a write may touch, status
//! resets, generation bumps, graceful deletion.

use serde_json::{Map, Value};

use super::meta;
use super::resource::ResourceInfo;

/// The part of an object a write addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    /// The object itself (spec, metadata; status is ignored when the kind has a status subresource).
    Main,
    /// `/status`: only status (and some metadata) may change.
    Status,
    /// `/finalize` of a Namespace: only `spec.finalizers` may change.
    Finalize,
}

impl Subresource {
    pub fn name(self) -> &'static str {
        match self {
            Subresource::Main => "",
            Subresource::Status => "status",
            Subresource::Finalize => "finalize",
        }
    }
}

fn take_field(obj: &Value, field: &str) -> Option<Value> {
    obj.get(field).cloned()
}

fn put_field(obj: &mut Value, field: &str, value: Option<Value>) {
    if let Some(map) = obj.as_object_mut() {
        match value {
            Some(v) => {
                map.insert(field.to_string(), v);
            }
            None => {
                map.remove(field);
            }
        }
    }
}

/// Fields of an object other than `metadata` and `status` (`spec`, `data`, `rules`…).
fn spec_part(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Everything but `metadata`.
fn non_metadata(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| m.iter().filter(|(k, _)| k.as_str() != "metadata").map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// A Secret's `stringData` is write-only: it is merged into `data` (base64) on every write.
fn fold_string_data(res: &ResourceInfo, obj: &mut Value) {
    if !(res.group.is_empty() && res.kind == "Secret") {
        return;
    }
    use base64::Engine;
    let Some(map) = obj.as_object_mut() else { return };
    let Some(Value::Object(string_data)) = map.remove("stringData") else { return };
    let data = map.entry("data").or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Some(data) = data.as_object_mut() {
        for (k, v) in string_data {
            let text = v.as_str().unwrap_or_default().to_string();
            data.insert(k, base64::engine::general_purpose::STANDARD.encode(text).into());
        }
    }
}

/// Prepare a new object before defaulting and validation.
pub fn prepare_for_create(res: &ResourceInfo, obj: &mut Value) {
    fold_string_data(res, obj);
    if res.has_status && res.kind != "Node" {
        put_field(obj, "status", None);
    }
    if res.tracks_generation {
        meta::set(obj, "generation", Some(1.into()));
    } else {
        meta::set(obj, "generation", None);
    }
    if res.group.is_empty() && res.kind == "Namespace" {
        // A new namespace is Active and carries the finalizer the namespace controller removes.
        let mut fins: Vec<Value> =
            obj.get("spec").and_then(|s| s.get("finalizers")).and_then(Value::as_array).cloned().unwrap_or_default();
        if !fins.iter().any(|f| f == "kubernetes") {
            fins.push("kubernetes".into());
        }
        set_spec_finalizers(obj, Some(Value::Array(fins)));
        put_field(obj, "status", Some(serde_json::json!({"phase": "Active"})));
    }
    if super::crd::is_crd(res) {
        super::crd::definition::apply_defaults(obj);
        super::crd::definition::prepare_for_create(obj);
    }
}

/// Carry what a write may not change from `old` into `new`.
pub fn prepare_for_update(res: &ResourceInfo, old: &Value, new: &mut Value, sub: Subresource) {
    // Metadata the server owns.
    for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
        meta::set(new, field, old.get("metadata").and_then(|m| m.get(field)).cloned());
    }
    if super::crd::is_crd(res) {
        super::crd::definition::apply_defaults(new);
    }
    let custom = super::crd::custom(res).is_some();
    match sub {
        Subresource::Status if custom => {
            // Custom resources: only status changes through /status.
            let status = take_field(new, "status");
            let managed = new.get("metadata").and_then(|m| m.get("managedFields")).cloned();
            let mut merged = old.clone();
            put_field(&mut merged, "status", status);
            meta::set(&mut merged, "managedFields", managed);
            *new = merged;
        }
        Subresource::Main => {
            fold_string_data(res, new);
            if res.has_status {
                put_field(new, "status", take_field(old, "status"));
            }
            if res.group.is_empty() && res.kind == "Namespace" {
                // spec.finalizers changes only through /finalize.
                let fins = old.get("spec").and_then(|s| s.get("finalizers")).cloned();
                set_spec_finalizers(new, fins);
            }
        }
        Subresource::Status => {
            // Everything but status and labels/annotations comes from the stored object.
            let status = take_field(new, "status");
            let labels = new.get("metadata").and_then(|m| m.get("labels")).cloned();
            let annotations = new.get("metadata").and_then(|m| m.get("annotations")).cloned();
            let managed = new.get("metadata").and_then(|m| m.get("managedFields")).cloned();
            let mut merged = old.clone();
            put_field(&mut merged, "status", status);
            meta::set(&mut merged, "labels", labels);
            meta::set(&mut merged, "annotations", annotations);
            meta::set(&mut merged, "managedFields", managed);
            *new = merged;
        }
        Subresource::Finalize => {
            let fins = new.get("spec").and_then(|s| s.get("finalizers")).cloned();
            let mut merged = old.clone();
            set_spec_finalizers(&mut merged, fins);
            *new = merged;
        }
    }
    if super::crd::is_crd(res) {
        super::crd::definition::prepare_for_update(old, new, sub == Subresource::Status);
    }
    // Custom resources without a status subresource bump the generation on any change
    // outside metadata.
    let changed = if custom && !res.has_status {
        non_metadata(old) != non_metadata(new)
    } else {
        spec_part(old) != spec_part(new)
    };
    if res.tracks_generation && sub == Subresource::Main && changed {
        let g = old.get("metadata").and_then(|m| m.get("generation")).and_then(Value::as_i64).unwrap_or(0);
        meta::set(new, "generation", Some((g + 1).into()));
    }
}

fn set_spec_finalizers(obj: &mut Value, fins: Option<Value>) {
    if let Some(map) = obj.as_object_mut() {
        let spec = map.entry("spec").or_insert_with(|| Value::Object(Map::new()));
        if let Some(spec) = spec.as_object_mut() {
            match fins {
                Some(f) => {
                    spec.insert("finalizers".into(), f);
                }
                None => {
                    spec.remove("finalizers");
                }
            }
        }
    }
}

/// The grace period a delete gets: pods bound to a node wait for the kubelet
/// (their `terminationGracePeriodSeconds`, or the request's value); everything
/// else goes at once.
pub fn grace_period(res: &ResourceInfo, obj: &Value, requested: Option<i64>) -> i64 {
    if !(res.group.is_empty() && res.kind == "Pod") {
        return 0;
    }
    let spec = obj.get("spec");
    let bound = spec.and_then(|s| s.get("nodeName")).and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let phase = obj.get("status").and_then(|s| s.get("phase")).and_then(Value::as_str).unwrap_or("");
    if !bound || matches!(phase, "Succeeded" | "Failed") {
        return 0;
    }
    let default = spec.and_then(|s| s.get("terminationGracePeriodSeconds")).and_then(Value::as_i64).unwrap_or(30);
    match requested {
        // A grace period of 0 means "now" only with force; the API treats it as 1 for pods.
        Some(g) if g < 0 => default,
        Some(g) => g,
        None => default,
    }
}

/// Whether an update should instead remove the object: it is being deleted, its
/// grace period is over and no finalizer remains (for a Namespace, neither in
/// `metadata.finalizers` nor in `spec.finalizers`).
pub fn should_delete_on_update(res: &ResourceInfo, obj: &Value) -> bool {
    let spec_finalizers = res.group.is_empty()
        && res.kind == "Namespace"
        && obj.get("spec").and_then(|s| s.get("finalizers")).and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    !spec_finalizers
        && meta::deletion_timestamp(obj).is_some()
        && meta::finalizers(obj).is_empty()
        && obj.get("metadata").and_then(|m| m.get("deletionGracePeriodSeconds")).and_then(Value::as_i64).unwrap_or(0)
            == 0
}

/// Whether DELETE answers with the object (pods and a few others) rather than a Status.
pub fn returns_deleted_object(res: &ResourceInfo) -> bool {
    (res.group.is_empty() && matches!(res.plural.as_str(), "pods" | "namespaces" | "services"))
        || res.group == "apiextensions.k8s.io"
}

/// The propagation policy when the request names none.
pub fn default_propagation(res: &ResourceInfo) -> &'static str {
    // Kinds whose v1 APIs historically orphaned; all served versions now default to background.
    let _ = res;
    "Background"
}
