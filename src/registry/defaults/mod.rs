//! Defaulting of built-in kinds: the `SetDefaults_*` functions of each group/version of
//! Kubernetes 1.33, the create-time fields the registry strategies fill (a Pod's phase and QoS
//! class, a Namespace's finalizer and phase, a Job's generated selector), and the defaults of
//! admission plugins that are on by default and need no other objects (DefaultTolerationSeconds,
//! Priority for pods without a class or with a system class, the ServiceAccount name). Quantities
//! are rewritten in their canonical form, as a round trip through the real API server does.
//!
//! Defaulting runs on create and on update (after the registry restored server-owned fields), so
//! every default here is idempotent; the few that only apply to new objects check for the
//! status the registry removes on create.

pub mod core;
pub mod other;
pub mod workloads;

use serde_json::{Map, Value};

/// Fill the defaults the real API server sets on create.
pub fn apply_defaults(group: &str, version: &str, kind: &str, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match group {
        "" => core::apply(kind, obj),
        "apps" => workloads::apply_apps(kind, obj),
        "batch" => workloads::apply_batch(kind, obj),
        _ => other::apply(group, version, kind, obj),
    }
}

pub use self::core::mount_service_account_token;

// ---------------------------------------------------------------- JSON helpers

/// The object at `key`, if it is one.
pub(crate) fn child<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    v.as_object_mut()?.get_mut(key).filter(|c| c.is_object())
}

/// The object at `key`, created (or replacing a null) when missing.
pub(crate) fn ensure<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let m = v.as_object_mut()?;
    let entry = m.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if entry.is_null() {
        *entry = Value::Object(Map::new());
    }
    entry.is_object().then_some(entry)
}

/// The elements of the array at `key` (none when absent).
pub(crate) fn items<'a>(v: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    v.as_object_mut()
        .and_then(|m| m.get_mut(key))
        .and_then(Value::as_array_mut)
        .map(|a| a.iter_mut())
        .into_iter()
        .flatten()
}

/// The status a newly created object shows before its controller writes one: Go serializes
/// the zero status struct with its non-`omitempty` fields.
pub(crate) fn initial_status(obj: &mut Value, status: Value) {
    default_value(obj, "status", status);
}

/// Whether `key` is absent or null.
pub(crate) fn missing(v: &Value, key: &str) -> bool {
    v.get(key).is_none_or(Value::is_null)
}

/// Set `key` when absent or null (a Go pointer field left nil).
pub(crate) fn default_value(v: &mut Value, key: &str, value: Value) {
    if missing(v, key)
        && let Some(m) = v.as_object_mut()
    {
        m.insert(key.to_string(), value);
    }
}

/// Set `key` when absent, null or `""` (a Go string field left empty).
pub(crate) fn default_str(v: &mut Value, key: &str, value: &str) {
    let empty = v.get(key).is_none_or(|x| x.is_null() || x.as_str() == Some(""));
    if empty && let Some(m) = v.as_object_mut() {
        m.insert(key.to_string(), Value::from(value));
    }
}

/// A string field (empty when absent).
pub(crate) fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}
