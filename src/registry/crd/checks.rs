//! The structural checks of a custom resource beyond its value validations: the
//! `x-kubernetes-list-type: set|map` uniqueness invariants (`listtype`) and the
//! apiVersion/kind/metadata of embedded resources (`objectmeta`).

use serde_json::Value;

use super::schema::Schema;
use super::validate::json_eq;
use crate::registry::field_error::FieldError;
use crate::registry::validation::meta::{MetaRules, validate_meta_value};
use crate::registry::validation::names;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// `ValidateListSetsAndMaps`: items of sets are unique, keys of map lists are unique.
pub fn list_sets_and_maps(s: &Schema, obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    walk_lists(s, obj, "", &mut errs);
    errs
}

fn walk_lists(s: &Schema, x: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match x {
        Value::Object(map) => {
            for (k, v) in map {
                let child_path = if s.properties.contains_key(k) { join(path, k) } else { format!("{path}[{k}]") };
                if let Some(child) = s.child(k) {
                    walk_lists(child, v, &child_path, errs);
                }
            }
        }
        Value::Array(items) => {
            match s.list_type.as_deref() {
                Some("set") => {
                    for (i, v) in items.iter().enumerate() {
                        if items[..i].iter().any(|w| json_eq(v, w)) {
                            errs.push(FieldError::duplicate(format!("{path}[{i}]"), v.clone()));
                        }
                    }
                }
                Some("map") => {
                    let keys: Vec<Value> = items.iter().map(|it| map_key(s, it)).collect();
                    for (i, k) in keys.iter().enumerate() {
                        if keys[..i].iter().any(|w| json_eq(k, w)) {
                            errs.push(FieldError::duplicate(format!("{path}[{i}]"), k.clone()));
                        }
                    }
                }
                _ => {}
            }
            if let Some(item) = s.items.as_deref() {
                for (i, v) in items.iter().enumerate() {
                    walk_lists(item, v, &format!("{path}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}

/// The key fields of a map-list item (missing keys take their schema default).
fn map_key(s: &Schema, item: &Value) -> Value {
    let mut key = serde_json::Map::new();
    for k in &s.list_map_keys {
        let v = item
            .get(k)
            .cloned()
            .or_else(|| s.items.as_ref().and_then(|i| i.properties.get(k)).and_then(|p| p.default.clone()));
        if let Some(v) = v {
            key.insert(k.clone(), v);
        }
    }
    Value::Object(key)
}

/// `objectmeta.Validate` (not at the resource root): every embedded resource has a
/// valid apiVersion, kind and metadata.
pub fn embedded_resources(s: &Schema, obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    walk_embedded(s, obj, "", &mut errs);
    errs
}

fn walk_embedded(s: &Schema, x: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match x {
        Value::Object(map) => {
            if s.embedded_resource {
                errs.extend(embedded(map, path));
            }
            for (k, v) in map {
                if let Some(prop) = s.properties.get(k) {
                    walk_embedded(prop, v, &join(path, k), errs);
                } else if let Some(add) = s.child(k) {
                    walk_embedded(add, v, &format!("{path}[{k}]"), errs);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = s.items.as_deref() {
                for (i, v) in items.iter().enumerate() {
                    walk_embedded(item, v, &format!("{path}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}

fn embedded(map: &serde_json::Map<String, Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !map.contains_key("apiVersion") {
        errs.push(FieldError::required(join(path, "apiVersion"), "must not be empty"));
    }
    if !map.contains_key("kind") {
        errs.push(FieldError::required(join(path, "kind"), "must not be empty"));
    }
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" => match v.as_str() {
                None => errs.push(FieldError::invalid(join(path, "apiVersion"), v.clone(), "must be a string")),
                Some("") => errs.push(FieldError::invalid(join(path, "apiVersion"), "", "must not be empty")),
                Some(av) if av.matches('/').count() > 1 => errs.push(FieldError::invalid(
                    join(path, "apiVersion"),
                    av,
                    format!("unexpected GroupVersion string: {av}"),
                )),
                Some(_) => {}
            },
            "kind" => match v.as_str() {
                None => errs.push(FieldError::invalid(join(path, "kind"), v.clone(), "must be a string")),
                Some("") => errs.push(FieldError::invalid(join(path, "kind"), "", "must not be empty")),
                Some(kind) => {
                    let msgs = names::is_dns1035_label(&kind.to_ascii_lowercase());
                    if !msgs.is_empty() {
                        errs.push(FieldError::invalid(
                            join(path, "kind"),
                            kind,
                            format!("may have mixed case, but should otherwise match: {}", msgs.join(",")),
                        ));
                    }
                }
            },
            "metadata" if v.is_object() => {
                let mut meta = v.clone();
                if meta.get("name").and_then(Value::as_str).unwrap_or("").is_empty() {
                    meta["name"] = "fakename".into();
                }
                let ns_empty = meta.get("namespace").and_then(Value::as_str).unwrap_or("").is_empty();
                let rules =
                    MetaRules { name: names::name_is_path_segment, namespaced: Some(!ns_empty), builtin: false };
                errs.extend(validate_meta_value(
                    &meta,
                    rules,
                    &crate::registry::field_error::Path::new(&join(path, "metadata")),
                ));
            }
            _ => {}
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists() {
        let s = Schema::from_value(&json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}}
        }}}}));
        let obj =
            json!({"spec": {"tags": ["a", "b", "a"], "ports": [{"name": "x", "port": 1}, {"name": "x", "port": 2}]}});
        let errs: Vec<String> = list_sets_and_maps(&s, &obj).iter().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            vec![r#"spec.tags[2]: Duplicate value: "a""#, r#"spec.ports[1]: Duplicate value: {"name":"x"}"#]
        );
    }

    #[test]
    fn embedded_objects() {
        let s = Schema::from_value(&json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
        }}}}));
        let obj = json!({"spec": {"template": {"kind": "pod!", "metadata": {"name": "a b"}}}});
        let errs: Vec<String> = embedded_resources(&s, &obj).iter().map(ToString::to_string).collect();
        assert_eq!(errs[0], "spec.template.apiVersion: Required value: must not be empty");
        assert!(errs[1].starts_with("spec.template.kind: Invalid value: \"pod!\": may have mixed case"), "{errs:?}");
        assert_eq!(errs.len(), 2, "{errs:?}");
    }
}
