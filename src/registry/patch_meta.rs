//! The `x-kubernetes-*` metadata Kubernetes attaches to fields of built-in types
//! (from the Go struct tags `patchStrategy`, `patchMergeKey`, `+listType`,
//! `+listMapKey`, `+mapType`, `+structType`), which k8s-openapi's schemas lack.
//! [`apply`] writes it into the schema index, where strategic merge patch,
//! server-side apply and the OpenAPI documents all read it.

use serde_json::{Value, json};

use super::schema::Schemas;

/// Metadata of one field (`field` is a property name) or of a whole definition (`field == ""`).
pub struct FieldMeta {
    pub def: &'static str,
    pub field: &'static str,
    pub patch_strategy: Option<&'static str>,
    pub merge_key: Option<&'static str>,
    pub list_type: Option<&'static str>,
    pub map_keys: &'static [&'static str],
    pub map_type: Option<&'static str>,
}

/// The table (filled in by the patch-metadata work).
pub static FIELDS: &[FieldMeta] = &[];

/// Write the table's extensions into the schemas.
pub fn apply(schemas: &mut Schemas) {
    for m in FIELDS {
        let Some(def) = schemas.get_mut(m.def) else { continue };
        let target =
            if m.field.is_empty() { Some(def) } else { def.get_mut("properties").and_then(|p| p.get_mut(m.field)) };
        let Some(Value::Object(obj)) = target else { continue };
        if let Some(s) = m.patch_strategy {
            obj.insert("x-kubernetes-patch-strategy".into(), s.into());
        }
        if let Some(k) = m.merge_key {
            obj.insert("x-kubernetes-patch-merge-key".into(), k.into());
        }
        if let Some(t) = m.list_type {
            obj.insert("x-kubernetes-list-type".into(), t.into());
        }
        if !m.map_keys.is_empty() {
            obj.insert("x-kubernetes-list-map-keys".into(), json!(m.map_keys));
        }
        if let Some(t) = m.map_type {
            obj.insert("x-kubernetes-map-type".into(), t.into());
        }
    }
}
