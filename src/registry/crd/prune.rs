//! Pruning, null pruning, defaulting and ObjectMeta coercion of custom resources, as
//! apiextensions-apiserver's `pruning`, `defaulting` and `objectmeta` packages do them:
//! fields the schema does not declare are dropped (and reported, for `fieldValidation`),
//! `x-kubernetes-preserve-unknown-fields` keeps them, defaults fill what is missing.

use serde_json::{Map, Value};

use super::schema::{Additional, Schema};
use crate::registry::decode::decode_typed;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

struct Pruner {
    unknown: Vec<String>,
}

fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

/// Drop the fields `schema` does not declare; returns their paths, sorted
/// (`spec.foo`, `spec.items[0].bar`). `root` treats the value as a resource: its
/// apiVersion, kind and metadata are kept.
pub fn prune(obj: &mut Value, schema: Option<&Schema>, root: bool) -> Vec<String> {
    let mut p = Pruner { unknown: Vec::new() };
    let wrapped;
    let s = if root {
        let mut clone = schema.cloned().unwrap_or_default();
        clone.embedded_resource = true;
        wrapped = clone;
        Some(&wrapped)
    } else {
        schema
    };
    p.prune(obj, s, "");
    p.unknown.sort();
    p.unknown
}

fn additional(s: &Schema) -> Option<Option<&Schema>> {
    match &s.additional_properties {
        Some(Additional::Schema(a)) => Some(Some(a)),
        Some(Additional::Allows(true)) => Some(None),
        _ => None,
    }
}

impl Pruner {
    fn prune(&mut self, x: &mut Value, s: Option<&Schema>, path: &str) {
        if let Some(s) = s
            && s.preserve_unknown_fields
        {
            self.skip_prune(x, s, path);
            return;
        }
        match x {
            Value::Object(map) => {
                let Some(s) = s else {
                    for k in map.keys() {
                        self.unknown.push(join_key(path, k));
                    }
                    map.clear();
                    return;
                };
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    if s.embedded_resource && META_FIELDS.contains(&k.as_str()) {
                        continue;
                    }
                    let child_path = join_key(path, &k);
                    if let Some(prop) = s.properties.get(&k) {
                        if let Some(v) = map.get_mut(&k) {
                            self.prune(v, Some(prop), &child_path);
                        }
                    } else if let Some(add) = additional(s) {
                        if let Some(v) = map.get_mut(&k) {
                            self.prune(v, add, &child_path);
                        }
                    } else {
                        if !META_FIELDS.contains(&k.as_str()) || !path.is_empty() {
                            self.unknown.push(child_path);
                        }
                        map.remove(&k);
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.prune(v, s.and_then(|s| s.items.as_deref()), &p);
                }
            }
            _ => {}
        }
    }

    fn skip_prune(&mut self, x: &mut Value, s: &Schema, path: &str) {
        match x {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if s.embedded_resource && META_FIELDS.contains(&k.as_str()) {
                        continue;
                    }
                    let child_path = join_key(path, k);
                    if let Some(prop) = s.properties.get(k) {
                        self.prune(v, Some(prop), &child_path);
                    } else if let Some(add) = additional(s) {
                        self.prune(v, add, &child_path);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = s.items.as_deref() {
                    for (i, v) in items.iter_mut().enumerate() {
                        self.skip_prune(v, item, &format!("{path}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }
}

fn non_nullable_null(x: &Value, s: Option<&Schema>) -> bool {
    x.is_null() && s.is_some_and(|s| !s.nullable)
}

/// `PruneNonNullableNullsWithoutDefaults`: `null` where the schema allows no null and has
/// no default to put instead is dropped.
pub fn prune_nulls(x: &mut Value, s: Option<&Schema>) {
    match x {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let schema = s.and_then(|s| s.child(&k));
                let drop = map
                    .get(&k)
                    .is_some_and(|v| non_nullable_null(v, schema) && schema.is_some_and(|s| s.default.is_none()));
                if drop {
                    map.remove(&k);
                } else if let Some(v) = map.get_mut(&k) {
                    prune_nulls(v, schema);
                }
            }
        }
        Value::Array(items) => {
            let item = s.and_then(|s| s.items.as_deref());
            for v in items {
                prune_nulls(v, item);
            }
        }
        _ => {}
    }
}

/// Fill in defaults (`structuraldefaulting.Default`): missing properties, and `null` in
/// non-nullable places, get the schema's default; nested objects and arrays too.
pub fn default(x: &mut Value, s: Option<&Schema>) {
    let Some(s) = s else { return };
    match x {
        Value::Object(map) => {
            for (k, prop) in &s.properties {
                let Some(d) = &prop.default else { continue };
                let missing = map.get(k).is_none_or(|v| non_nullable_null(v, Some(prop)));
                if missing {
                    map.insert(k.clone(), d.clone());
                }
            }
            let add = match &s.additional_properties {
                Some(Additional::Schema(a)) => Some(a.as_ref()),
                _ => None,
            };
            for (k, v) in map.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    default(v, Some(prop));
                } else if let Some(a) = add {
                    if non_nullable_null(v, Some(a))
                        && let Some(d) = &a.default
                    {
                        *v = d.clone();
                    }
                    default(v, Some(a));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = s.items.as_deref() {
                for v in items.iter_mut() {
                    if non_nullable_null(v, Some(item))
                        && let Some(d) = &item.default
                    {
                        *v = d.clone();
                    }
                    default(v, Some(item));
                }
            }
        }
        _ => {}
    }
}

/// Decode the `metadata` of the resource and of every embedded resource through ObjectMeta:
/// unknown metadata fields are dropped and reported (`metadata.foo`,
/// `spec.template.metadata.foo`); a metadata of the wrong shape is an error message.
pub fn coerce_metadata(obj: &mut Value, s: Option<&Schema>) -> Result<Vec<String>, String> {
    let mut unknown = Vec::new();
    coerce_at(obj, s, "", true, &mut unknown)?;
    unknown.sort();
    Ok(unknown)
}

fn coerce_meta_field(map: &mut Map<String, Value>, path: &str, unknown: &mut Vec<String>) -> Result<(), String> {
    let Some(meta) = map.get_mut("metadata") else { return Ok(()) };
    if meta.is_null() {
        return Ok(());
    }
    let decoded = decode_typed::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(meta.clone())?;
    let base = join_key(path, "metadata");
    unknown.extend(decoded.unknown_fields.iter().map(|f| join_key(&base, f)));
    // Keep the original values of known fields (the typed round trip renders some differently).
    if let (Value::Object(m), Value::Object(known)) = (meta, &decoded.object) {
        m.retain(|k, _| known.contains_key(k));
    }
    Ok(())
}

fn coerce_at(
    x: &mut Value,
    s: Option<&Schema>,
    path: &str,
    root: bool,
    unknown: &mut Vec<String>,
) -> Result<(), String> {
    match x {
        Value::Object(map) => {
            if root || s.is_some_and(|s| s.embedded_resource) {
                coerce_meta_field(map, path, unknown)?;
            }
            let Some(s) = s else { return Ok(()) };
            for (k, v) in map.iter_mut() {
                if (root || s.embedded_resource) && k == "metadata" {
                    continue;
                }
                if let Some(child) = s.child(k) {
                    coerce_at(v, Some(child), &join_key(path, k), false, unknown)?;
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = s.and_then(|s| s.items.as_deref()) {
                for (i, v) in items.iter_mut().enumerate() {
                    coerce_at(v, Some(item), &format!("{path}[{i}]"), false, unknown)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_value(&json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "size": {"type": "integer", "default": 3},
                "mode": {"type": "string", "default": "fast"},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "weight": {"type": "integer", "default": 1}}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                    "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                    "x-kubernetes-preserve-unknown-fields": true},
                "opt": {"type": "string"}
            }},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
        }}))
    }

    #[test]
    fn prunes_unknown_fields() {
        let mut obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": 1, "foo": 1, "items": [{"name": "a", "bar": 2}],
                "free": {"anything": {"x": 1}, "known": {"a": "1", "b": 2}},
                "labels": {"k": "v"}, "template": {"apiVersion": "v1", "kind": "Pod", "whatever": 1}},
            "extra": true});
        let unknown = prune(&mut obj, Some(&schema()), true);
        assert_eq!(unknown, vec!["extra", "spec.foo", "spec.free.known.b", "spec.items[0].bar"]);
        assert_eq!(obj["spec"]["free"]["anything"], json!({"x": 1}));
        assert_eq!(obj["spec"]["template"]["whatever"], 1);
        assert_eq!(obj["metadata"]["name"], "w");
        assert!(obj.get("extra").is_none());
    }

    #[test]
    fn defaults_nested() {
        let mut obj = json!({"spec": {"items": [{"name": "a"}, {"name": "b", "weight": 5}], "opt": null}});
        let s = schema();
        prune_nulls(&mut obj, Some(&s));
        default(&mut obj, Some(&s));
        assert_eq!(obj["spec"]["size"], 3);
        assert_eq!(obj["spec"]["mode"], "fast");
        assert_eq!(obj["spec"]["items"][0]["weight"], 1);
        assert_eq!(obj["spec"]["items"][1]["weight"], 5);
        assert!(obj["spec"].get("opt").is_none());
    }

    #[test]
    fn coerces_metadata() {
        let mut obj = json!({"metadata": {"name": "w", "bogus": 1},
            "spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "nope": 2}}}});
        let unknown = coerce_metadata(&mut obj, Some(&schema())).unwrap();
        assert_eq!(unknown, vec!["metadata.bogus", "spec.template.metadata.nope"]);
        assert!(obj["metadata"].get("bogus").is_none());
        let mut bad = json!({"metadata": {"labels": 5}});
        assert!(coerce_metadata(&mut bad, Some(&schema())).is_err());
    }
}
