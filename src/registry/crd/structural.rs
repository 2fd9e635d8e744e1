//! Structural schemas (apiextensions-apiserver `pkg/apiserver/schema/validation.go` and
//! `complete.go`): every field is typed outside of value validations, junctors
//! (`allOf`/`anyOf`/`oneOf`/`not`) only restrict, metadata is left alone. Errors come
//! sorted by their text, as the real server sorts them.

use serde_json::{Map, Value};

use super::schema::compile_pattern;
use crate::registry::field_error::FieldError;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

fn obj(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

fn s<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

fn b(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn key(path: &str, section: &str, k: &str) -> String {
    format!("{path}.{section}[{k}]")
}

/// `ValidateStructural` of a whole schema at `path` (`spec.validation.openAPIV3Schema`).
pub fn validate_structural(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    invariants(schema, Level::Root, path, &mut errs);
    completeness(schema, path, &mut errs);
    errs.sort_by_key(|e| e.to_string());
    errs
}

fn is_int_or_string_pair(list: &[Value]) -> bool {
    list.len() == 2
        && list
            .iter()
            .zip(["integer", "string"])
            .all(|(v, t)| obj(v).is_some_and(|m| m.len() == 1 && s(m, "type") == t))
}

fn invariants(v: &Value, lvl: Level, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = obj(v) else { return };
    let type_ = s(m, "type");
    if type_ == "array" && m.get("items").is_none() {
        errs.push(FieldError::required(format!("{path}.items"), "must be specified"));
    }
    if let Some(items) = m.get("items").filter(|i| i.is_object()) {
        invariants(items, Level::Item, &format!("{path}.items"), errs);
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            invariants(p, Level::Field, &key(path, "properties", k), errs);
        }
    }
    if let Some(add) = m.get("additionalProperties") {
        if lvl == Level::Root {
            errs.push(FieldError::forbidden(format!("{path}.additionalProperties"), "must not be used at the root"));
        }
        if add.is_object() {
            invariants(add, Level::Field, &format!("{path}.additionalProperties"), errs);
        }
    }
    let int_or_string = b(m, "x-kubernetes-int-or-string");
    let preserve = b(m, "x-kubernetes-preserve-unknown-fields");
    let embedded = b(m, "x-kubernetes-embedded-resource");
    if int_or_string && preserve {
        errs.push(FieldError::invalid(
            format!("{path}.x-kubernetes-preserve-unknown-fields"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if int_or_string && embedded {
        errs.push(FieldError::invalid(
            format!("{path}.x-kubernetes-embedded-resource"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    let skip_any_of = m.get("anyOf").and_then(Value::as_array).is_some_and(|a| is_int_or_string_pair(a));
    let skip_first_all_of_any_of = m
        .get("allOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|f| f.get("anyOf"))
        .and_then(Value::as_array)
        .is_some_and(|a| is_int_or_string_pair(a));
    value_validation(m, skip_any_of, skip_first_all_of_any_of, lvl, path, errs);
    let check_metadata = lvl == Level::Root || embedded;
    if embedded && type_ != "object" {
        if type_.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.type"),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        } else {
            errs.push(FieldError::invalid(
                format!("{path}.type"),
                type_,
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        }
    } else if type_.is_empty() && !int_or_string && !preserve {
        let detail = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(format!("{path}.type"), detail));
    }
    if embedded && m.get("additionalProperties").is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !type_.is_empty() && type_ != "object" {
        errs.push(FieldError::invalid(format!("{path}.type"), type_, "must be object at the root"));
    }
    let props = m.get("properties").and_then(Value::as_object);
    if check_metadata && let Some(props) = props {
        for f in ["kind", "apiVersion"] {
            if let Some(p) = props.get(f).and_then(Value::as_object)
                && s(p, "type") != "string"
            {
                errs.push(FieldError::invalid(
                    format!("{}.type", key(path, "properties", f)),
                    s(p, "type"),
                    "must be string",
                ));
            }
        }
    }
    if let Some(meta) = props.and_then(|p| p.get("metadata")).and_then(Value::as_object) {
        let mpath = key(path, "properties", "metadata");
        if check_metadata && s(meta, "type") != "object" {
            errs.push(FieldError::invalid(format!("{mpath}.type"), s(meta, "type"), "must be object"));
        }
        if lvl == Level::Root {
            let mut rest = meta.clone();
            rest.remove("type");
            rest.remove("default");
            if let Some(Value::Object(mp)) = rest.get("properties") {
                let only_names = mp.keys().all(|k| k == "name" || k == "generateName");
                if only_names {
                    rest.remove("properties");
                }
            }
            if !rest.is_empty() {
                errs.push(FieldError::forbidden(
                    mpath,
                    "must not specify anything other than name and generateName, but metadata is implicitly specified",
                ));
            }
        }
    }
    if embedded && !preserve && props.is_none_or(Map::is_empty) {
        errs.push(FieldError::required(
            format!("{path}.properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

fn value_validation(
    m: &Map<String, Value>,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, n) in m.get("anyOf").and_then(Value::as_array).into_iter().flatten().enumerate() {
            nested(n, false, lvl, &format!("{path}.anyOf[{i}]"), errs);
        }
    }
    for (i, n) in m.get("allOf").and_then(Value::as_array).into_iter().flatten().enumerate() {
        nested(n, skip_first_all_of_any_of && i == 0, lvl, &format!("{path}.allOf[{i}]"), errs);
    }
    for (i, n) in m.get("oneOf").and_then(Value::as_array).into_iter().flatten().enumerate() {
        nested(n, false, lvl, &format!("{path}.oneOf[{i}]"), errs);
    }
    if let Some(n) = m.get("not") {
        nested(n, false, lvl, &format!("{path}.not"), errs);
    }
    let pattern = s(m, "pattern");
    if !pattern.is_empty()
        && let Err(e) = compile_pattern(pattern)
    {
        errs.push(FieldError::invalid(
            format!("{path}.pattern"),
            pattern,
            format!("must be a valid regular expression, but isn't: {}", first_line(&e.to_string())),
        ));
    }
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}

fn nested(v: &Value, skip_any_of: bool, lvl: Level, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = obj(v) else { return };
    value_validation(m, skip_any_of, false, lvl, path, errs);
    if let Some(items) = m.get("items") {
        nested(items, false, lvl, &format!("{path}.items"), errs);
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            nested(p, false, Level::Field, &key(path, "properties", k), errs);
        }
    }
    let forbid = |errs: &mut Vec<FieldError>, f: &str, what: &str| {
        errs.push(FieldError::forbidden(format!("{path}.{f}"), what));
    };
    if !s(m, "type").is_empty() {
        forbid(errs, "type", "must be empty to be structural");
    }
    if m.get("additionalProperties").is_some() {
        forbid(errs, "additionalProperties", "must be undefined to be structural");
    }
    if m.get("default").is_some_and(|d| !d.is_null()) {
        forbid(errs, "default", "must be undefined to be structural");
    }
    if !s(m, "title").is_empty() {
        forbid(errs, "title", "must be empty to be structural");
    }
    if !s(m, "description").is_empty() {
        forbid(errs, "description", "must be empty to be structural");
    }
    if b(m, "nullable") {
        forbid(errs, "nullable", "must be false to be structural");
    }
    for f in ["x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string"] {
        if b(m, f) {
            forbid(errs, f, "must be false to be structural");
        }
    }
    if m.get("x-kubernetes-list-map-keys").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
        forbid(errs, "x-kubernetes-list-map-keys", "must be empty to be structural");
    }
    for f in ["x-kubernetes-list-type", "x-kubernetes-map-type"] {
        if m.get(f).is_some() {
            forbid(errs, f, "must be undefined to be structural");
        }
    }
    if m.get("x-kubernetes-validations").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
        forbid(errs, "x-kubernetes-validations", "must be empty to be structural");
    }
    if m.get("properties").and_then(Value::as_object).is_some_and(|p| p.contains_key("metadata")) {
        errs.push(FieldError::forbidden(
            key(path, "properties", "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// Every property or items a junctor mentions exists in the structural part.
fn completeness(root: &Value, path: &str, errs: &mut Vec<FieldError>) {
    walk_completeness(root, path, errs);
}

fn walk_completeness(sv: &Value, spath: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = obj(sv) else { return };
    junctors_complete(m, m, spath, spath, errs);
    if let Some(items) = m.get("items") {
        walk_completeness(items, &format!("{spath}.items"), errs);
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            walk_completeness(p, &key(spath, "properties", k), errs);
        }
    }
    if let Some(add) = m.get("additionalProperties").filter(|a| a.is_object()) {
        walk_completeness(add, &format!("{spath}.additionalProperties"), errs);
    }
}

fn junctors_complete(
    v: &Map<String, Value>,
    structural: &Map<String, Value>,
    spath: &str,
    vpath: &str,
    errs: &mut Vec<FieldError>,
) {
    if let Some(n) = v.get("not").and_then(Value::as_object) {
        nested_complete(n, Some(structural), spath, &format!("{vpath}.not"), errs);
    }
    for j in ["allOf", "anyOf", "oneOf"] {
        for (i, n) in v.get(j).and_then(Value::as_array).into_iter().flatten().enumerate() {
            if let Some(n) = n.as_object() {
                nested_complete(n, Some(structural), spath, &format!("{vpath}.{j}[{i}]"), errs);
            }
        }
    }
}

fn nested_complete(
    v: &Map<String, Value>,
    structural: Option<&Map<String, Value>>,
    spath: &str,
    vpath: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(st) = structural else {
        errs.push(FieldError::required(spath, format!("because it is defined in {vpath}")));
        return;
    };
    junctors_complete(v, st, spath, vpath, errs);
    if let Some(items) = v.get("items").and_then(Value::as_object) {
        nested_complete(
            items,
            st.get("items").and_then(Value::as_object),
            &format!("{spath}.items"),
            &format!("{vpath}.items"),
            errs,
        );
    }
    if let Some(props) = v.get("properties").and_then(Value::as_object) {
        let sprops = st.get("properties").and_then(Value::as_object);
        for (k, p) in props {
            let Some(p) = p.as_object() else { continue };
            match sprops.and_then(|sp| sp.get(k)).and_then(Value::as_object) {
                Some(sp) => {
                    nested_complete(p, Some(sp), &key(spath, "properties", k), &key(vpath, "properties", k), errs)
                }
                None => errs.push(FieldError::required(
                    key(spath, "properties", k),
                    format!("because it is defined in {}", key(vpath, "properties", k)),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(v: Value) -> Vec<String> {
        validate_structural(&v, "spec.validation.openAPIV3Schema").iter().map(ToString::to_string).collect()
    }

    #[test]
    fn structural_rules() {
        assert!(
            errs(json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}}}))
            .is_empty()
        );
        assert_eq!(
            errs(json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}})),
            vec![
                "spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"
            ]
        );
        assert_eq!(
            errs(json!({"type": "object", "properties": {"l": {"type": "array"}}})),
            vec!["spec.validation.openAPIV3Schema.properties[l].items: Required value: must be specified"]
        );
        assert_eq!(
            errs(json!({"type": "object", "properties": {"a": {"type": "string"}},
                "anyOf": [{"type": "object", "properties": {"b": {}}}]})),
            vec![
                "spec.validation.openAPIV3Schema.anyOf[0].type: Forbidden: must be empty to be structural",
                "spec.validation.openAPIV3Schema.properties[b]: Required value: because it is defined in spec.validation.openAPIV3Schema.anyOf[0].properties[b]"
            ]
        );
        assert_eq!(
            errs(
                json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}})
            ),
            vec![
                "spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
            ]
        );
        assert_eq!(
            errs(json!({"type": "string"})),
            vec!["spec.validation.openAPIV3Schema.type: Invalid value: \"string\": must be object at the root"]
        );
    }
}
