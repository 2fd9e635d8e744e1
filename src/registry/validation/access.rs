//! Small, forgiving accessors over JSON objects: a missing or mistyped field reads as
//! absent or empty, which is what the Go zero values give the real validators.

use serde_json::{Map, Value};

/// Typed reads of one field of a JSON object. Implemented for `&Value` and `Option<&Value>`
/// (taken by value), so chains like `obj.field("spec").str_of("x")` borrow from the object.
pub trait Fields<'a>: Copy {
    /// The field's value, if present and not null.
    fn field(self, key: &str) -> Option<&'a Value>;

    /// A string field, `""` when absent.
    fn str_of(self, key: &str) -> &'a str {
        self.field(key).and_then(Value::as_str).unwrap_or("")
    }

    /// A string field, `None` when absent.
    fn opt_str(self, key: &str) -> Option<&'a str> {
        self.field(key).and_then(Value::as_str)
    }

    /// An integer field.
    fn int(self, key: &str) -> Option<i64> {
        self.field(key).and_then(Value::as_i64)
    }

    /// An integer field, 0 when absent.
    fn int_or_zero(self, key: &str) -> i64 {
        self.int(key).unwrap_or(0)
    }

    /// A boolean field.
    fn boolean(self, key: &str) -> Option<bool> {
        self.field(key).and_then(Value::as_bool)
    }

    /// A boolean field, false when absent.
    fn flag(self, key: &str) -> bool {
        self.boolean(key).unwrap_or(false)
    }

    /// An array field, empty when absent.
    fn list(self, key: &str) -> &'a [Value] {
        self.field(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
    }

    /// An object field.
    fn obj(self, key: &str) -> Option<&'a Value> {
        self.field(key).filter(|v| v.is_object())
    }

    /// A map field as `(key, value)` pairs; non-string values read as `""`.
    fn str_map(self, key: &str) -> Vec<(&'a str, &'a str)> {
        self.field(key)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap_or(""))).collect())
            .unwrap_or_default()
    }

    /// A map field, empty when absent.
    fn entries(self, key: &str) -> Vec<(&'a str, &'a Value)> {
        self.field(key)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    }

    /// The strings of an array field.
    fn strings(self, key: &str) -> Vec<&'a str> {
        self.list(key).iter().filter_map(Value::as_str).collect()
    }

    /// Whether the field is present (and not null).
    fn has(self, key: &str) -> bool {
        self.field(key).is_some()
    }
}

impl<'a> Fields<'a> for &'a Value {
    fn field(self, key: &str) -> Option<&'a Value> {
        self.get(key).filter(|v| !v.is_null())
    }
}

impl<'a> Fields<'a> for Option<&'a Value> {
    fn field(self, key: &str) -> Option<&'a Value> {
        self.and_then(|v| v.get(key)).filter(|v| !v.is_null())
    }
}

/// `metadata` of an object (an empty object when absent).
pub fn metadata(obj: &Value) -> &Value {
    static EMPTY: Value = Value::Null;
    obj.get("metadata").unwrap_or(&EMPTY)
}

/// A field of an object, or JSON null.
pub fn at<'a>(v: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.get(key).unwrap_or(&NULL)
}

/// Follow a path of keys.
pub fn path<'a>(v: &'a Value, keys: &[&str]) -> &'a Value {
    keys.iter().fold(v, |v, k| at(v, k))
}

/// Whether two optional values are equal, treating absent, null, `{}` and `[]` alike (the Go
/// semantic equality of nil and empty).
pub fn semantic_eq(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

/// A copy with nulls, empty objects and empty arrays removed (recursively).
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let out: Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), normalize(v))).filter(|(_, v)| !is_empty(v)).collect();
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// An IntOrString value: `Ok(int)` or `Err(string)`; `None` when absent.
pub fn int_or_string(v: Option<&Value>) -> Option<Result<i64, &str>> {
    match v? {
        Value::Number(n) => Some(Ok(n.as_i64().unwrap_or(0))),
        Value::String(s) => Some(Err(s.as_str())),
        _ => None,
    }
}

/// The text of a quantity field (a string, or a number written bare).
pub fn quantity_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
