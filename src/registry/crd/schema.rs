//! A CRD version's OpenAPI v3 schema, compiled once: what validation, pruning, defaulting
//! and the list-type checks walk (apiextensions-apiserver's `Structural` plus the value
//! validations kube-openapi applies). Built from the CRD's `openAPIV3Schema` JSON.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

/// `additionalProperties`: a boolean or a schema.
#[derive(Clone, Debug)]
pub enum Additional {
    Allows(bool),
    Schema(Box<Schema>),
}

/// One rule of `x-kubernetes-validations`.
#[derive(Clone, Debug, Default)]
pub struct RuleSpec {
    pub rule: String,
    pub message: String,
    pub message_expression: String,
    pub reason: Option<String>,
    pub field_path: String,
    pub optional_old_self: Option<bool>,
}

/// A compiled schema node.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub type_: String,
    pub nullable: bool,
    /// The format as written.
    pub format: String,
    pub default: Option<Value>,
    pub properties: BTreeMap<String, Schema>,
    pub additional_properties: Option<Additional>,
    pub items: Option<Box<Schema>>,
    pub required: Vec<String>,
    pub enum_: Option<Vec<Value>>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub multiple_of: Option<f64>,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub unique_items: bool,
    pub pattern: Option<(String, Option<Arc<Regex>>)>,
    pub all_of: Vec<Schema>,
    pub one_of: Vec<Schema>,
    pub any_of: Vec<Schema>,
    pub not: Option<Box<Schema>>,
    pub preserve_unknown_fields: bool,
    pub embedded_resource: bool,
    pub int_or_string: bool,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
    pub map_type: Option<String>,
    pub validations: Vec<RuleSpec>,
}

fn opt_i64(m: &serde_json::Map<String, Value>, k: &str) -> Option<i64> {
    m.get(k).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

fn opt_f64(m: &serde_json::Map<String, Value>, k: &str) -> Option<f64> {
    m.get(k).and_then(Value::as_f64)
}

fn str_of(m: &serde_json::Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn flag(m: &serde_json::Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// Go's `regexp` syntax is RE2, as is the `regex` crate's; `\z` is spelled the same.
pub fn compile_pattern(p: &str) -> Result<Regex, regex::Error> {
    Regex::new(p)
}

impl Schema {
    /// Compile a JSON schema (lenient: what cannot be read is left out; the CRD's own
    /// validation reports it).
    pub fn from_value(v: &Value) -> Schema {
        let Some(m) = v.as_object() else { return Schema::default() };
        let list = |k: &str| -> Vec<Schema> {
            m.get(k).and_then(Value::as_array).map(|a| a.iter().map(Schema::from_value).collect()).unwrap_or_default()
        };
        Schema {
            type_: str_of(m, "type"),
            nullable: flag(m, "nullable"),
            format: str_of(m, "format"),
            default: m.get("default").filter(|d| !d.is_null()).cloned(),
            properties: m
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.iter().map(|(k, s)| (k.clone(), Schema::from_value(s))).collect())
                .unwrap_or_default(),
            additional_properties: match m.get("additionalProperties") {
                Some(Value::Bool(b)) => Some(Additional::Allows(*b)),
                Some(s @ Value::Object(_)) => Some(Additional::Schema(Box::new(Schema::from_value(s)))),
                _ => None,
            },
            items: m.get("items").filter(|i| i.is_object()).map(|i| Box::new(Schema::from_value(i))),
            required: m
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            enum_: m.get("enum").and_then(Value::as_array).cloned(),
            maximum: opt_f64(m, "maximum"),
            exclusive_maximum: flag(m, "exclusiveMaximum"),
            minimum: opt_f64(m, "minimum"),
            exclusive_minimum: flag(m, "exclusiveMinimum"),
            multiple_of: opt_f64(m, "multipleOf"),
            max_length: opt_i64(m, "maxLength"),
            min_length: opt_i64(m, "minLength"),
            max_items: opt_i64(m, "maxItems"),
            min_items: opt_i64(m, "minItems"),
            max_properties: opt_i64(m, "maxProperties"),
            min_properties: opt_i64(m, "minProperties"),
            unique_items: flag(m, "uniqueItems"),
            pattern: m
                .get("pattern")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(|p| (p.to_string(), compile_pattern(p).ok().map(Arc::new))),
            all_of: list("allOf"),
            one_of: list("oneOf"),
            any_of: list("anyOf"),
            not: m.get("not").filter(|n| n.is_object()).map(|n| Box::new(Schema::from_value(n))),
            preserve_unknown_fields: flag(m, "x-kubernetes-preserve-unknown-fields"),
            embedded_resource: flag(m, "x-kubernetes-embedded-resource"),
            int_or_string: flag(m, "x-kubernetes-int-or-string"),
            list_type: m.get("x-kubernetes-list-type").and_then(Value::as_str).map(str::to_string),
            list_map_keys: m
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            map_type: m.get("x-kubernetes-map-type").and_then(Value::as_str).map(str::to_string),
            validations: m
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(rule_spec).collect())
                .unwrap_or_default(),
        }
    }

    /// The schema of the value at `key` of an object: a declared property or the
    /// `additionalProperties` schema.
    pub fn child(&self, key: &str) -> Option<&Schema> {
        self.properties.get(key).or(match &self.additional_properties {
            Some(Additional::Schema(s)) => Some(s),
            _ => None,
        })
    }

    /// Whether the object has an `additionalProperties` (schema or `true`).
    pub fn has_additional(&self) -> bool {
        matches!(self.additional_properties, Some(Additional::Schema(_)) | Some(Additional::Allows(true)))
    }

    /// Whether any node carries `x-kubernetes-validations`.
    pub fn has_validations(&self) -> bool {
        !self.validations.is_empty()
            || self.properties.values().any(Schema::has_validations)
            || self.items.as_ref().is_some_and(|i| i.has_validations())
            || matches!(&self.additional_properties, Some(Additional::Schema(s)) if s.has_validations())
            || self.all_of.iter().any(Schema::has_validations)
    }
}

fn rule_spec(v: &Value) -> RuleSpec {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    RuleSpec {
        rule: s("rule"),
        message: s("message"),
        message_expression: s("messageExpression"),
        reason: v.get("reason").and_then(Value::as_str).map(str::to_string),
        field_path: s("fieldPath"),
        optional_old_self: v.get("optionalOldSelf").and_then(Value::as_bool),
    }
}

/// Go's `%v` of a float64 (`10`, `1.5`, `1e+21`).
pub fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..21).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compiles_a_schema() {
        let s = Schema::from_value(&json!({
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {
                "size": {"type": "integer", "maximum": 10, "default": 1},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}}
            }, "x-kubernetes-validations": [{"rule": "self.size > 0", "message": "m"}]}}
        }));
        let spec = &s.properties["spec"];
        assert_eq!(spec.properties["size"].maximum, Some(10.0));
        assert_eq!(spec.properties["size"].default, Some(json!(1)));
        assert_eq!(spec.properties["tags"].list_type.as_deref(), Some("set"));
        assert_eq!(spec.child("labels").and_then(|l| l.child("x")).map(|x| x.type_.as_str()), Some("string"));
        assert!(s.has_validations());
        assert_eq!(go_float(10.0), "10");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(1e21), "1e+21");
    }
}
