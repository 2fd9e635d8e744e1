//! Validation of a custom resource by its OpenAPI v3 schema, as kube-openapi's
//! `SchemaValidator` does it for the real API server: the same checks in the same order,
//! the same messages (`spec.size in body should be less than or equal to 10`), and the
//! same mapping of its errors onto field errors (`kubeOpenAPIResultToFieldErrors`).

use serde_json::Value;

use super::formats;
use super::schema::{Additional, Schema, go_float};
use crate::registry::field_error::FieldError;

/// What kind of kube-openapi error, for the mapping onto field errors.
#[derive(Clone, Debug, PartialEq)]
enum Code {
    Required,
    Enum(Vec<Value>),
    TooLong(i64),
    TooMany {
        actual: i64,
        max: i64,
    },
    InvalidType,
    Other,
    /// `anyOf`/`oneOf`/`allOf`/`not` failures: not tied to a field.
    Composite,
}

#[derive(Clone, Debug)]
struct OaError {
    code: Code,
    /// The path in the document (`spec.size`, possibly with a leading dot).
    name: String,
    value: Value,
    message: String,
}

#[derive(Default)]
struct Res {
    errors: Vec<OaError>,
    matches: usize,
}

impl Res {
    fn add(&mut self, e: OaError) {
        if !self.errors.iter().any(|x| x.message == e.message) {
            self.errors.push(e);
        }
    }

    fn merge(&mut self, other: Res) {
        for e in other.errors {
            self.add(e);
        }
        self.matches += other.matches;
    }

    fn valid(&self) -> bool {
        self.errors.is_empty()
    }
}

const IN: &str = "body";

fn err(code: Code, name: &str, value: Value, message: String) -> OaError {
    OaError { code, name: name.to_string(), value, message }
}

fn field_name(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Go's `%q` of a string.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The JSON type name kube-openapi infers for a value.
fn sch_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::String(_) => "string",
        Value::Number(n) if n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn types_of(s: &Schema) -> Vec<&str> {
    if s.int_or_string {
        vec!["integer", "string"]
    } else if s.type_.is_empty() {
        vec![]
    } else {
        vec![s.type_.as_str()]
    }
}

fn invalid_type(name: &str, type_name: &str, data: &str) -> OaError {
    err(
        Code::InvalidType,
        name,
        Value::String(data.to_string()),
        format!("{name} in {IN} must be of type {type_name}: {}", quote(data)),
    )
}

/// Validate `data` (the whole object, or `status` for the status subresource). `field_root`
/// prefixes the field paths of the errors (`status`), as the real server's `fldPath`.
pub fn validate(schema: &Schema, data: &Value, field_root: Option<&str>) -> Vec<FieldError> {
    let res = validate_node(schema, "", data);
    res.errors.into_iter().map(|e| to_field_error(e, field_root)).collect()
}

fn to_field_error(e: OaError, root: Option<&str>) -> FieldError {
    let nil = || root.map(str::to_string).unwrap_or_else(|| "<nil>".to_string());
    let path = if e.name.is_empty() || e.name == "." {
        nil()
    } else {
        let n = e.name.strip_prefix('.').unwrap_or(&e.name);
        match root {
            Some(r) => format!("{r}.{n}"),
            None => n.to_string(),
        }
    };
    match e.code {
        Code::Required => FieldError::required(path, ""),
        Code::Enum(values) => {
            let rendered: Vec<String> =
                values.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
            let refs: Vec<&str> = rendered.iter().map(String::as_str).collect();
            FieldError::not_supported(path, e.value, &refs)
        }
        Code::TooLong(max) => FieldError::too_long(path, max.max(0) as usize),
        Code::TooMany { actual, max } => {
            let mut fe = FieldError::too_many(path, actual.max(0) as usize, max.max(0) as usize);
            fe.bad_value = Some(actual.into());
            fe
        }
        Code::InvalidType => FieldError::type_invalid(path, e.value, e.message),
        Code::Other => FieldError::invalid(path, e.value, e.message),
        Code::Composite => FieldError::invalid(nil(), "", e.message),
    }
}

/// One schema against one value (`SchemaValidator.Validate`).
fn validate_node(s: &Schema, path: &str, data: &Value) -> Res {
    let mut res = Res::default();
    let format = if formats::supported(&s.format) { s.format.as_str() } else { "" };
    if data.is_null() {
        if let Some(e) = type_check(s, format, path, data) {
            res.add(e);
        }
        if let Some(e) = enum_check(s, path, data) {
            res.add(e);
        }
        return res;
    }
    // type
    if !types_of(s).is_empty() || !format.is_empty() {
        if let Some(e) = type_check(s, format, path, data) {
            res.add(e);
        }
        res.matches += 1;
    }
    // allOf / oneOf / anyOf / not
    res.merge(schema_props(s, path, data));
    res.matches += 1;
    if let Value::String(text) = data {
        if let Some(e) = string_check(s, path, text) {
            res.add(e);
        }
        res.matches += 1;
        if !format.is_empty() && !formats::validates(format, text) {
            res.add(invalid_type(path, format, text));
        }
    }
    if let Value::Number(_) = data {
        for e in number_check(s, path, data) {
            res.add(e);
        }
        res.matches += 1;
    }
    if let Value::Array(items) = data {
        res.merge(slice_check(s, path, items));
        res.matches += 1;
    }
    if let Some(e) = enum_check(s, path, data) {
        res.add(e);
    }
    res.matches += 1;
    if let Value::Object(map) = data {
        res.merge(object_check(s, path, map));
        res.matches += 1;
    }
    res.matches += 1;
    res
}

fn type_check(s: &Schema, format: &str, path: &str, data: &Value) -> Option<OaError> {
    let types = types_of(s);
    if data.is_null() {
        if !types.is_empty() && !s.nullable {
            return Some(invalid_type(path, &types.join(","), "null"));
        }
        return None;
    }
    let st = sch_type(data);
    let sch_format = match data {
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        _ => "",
    };
    let contains = |t: &str| types.contains(&t);
    let is_float_int = st == "number" && data.as_f64().is_some_and(|f| f.fract() == 0.0) && contains("integer");
    let is_int_float = st == "integer" && contains("number");
    let string_or_slice = matches!(data, Value::String(_) | Value::Array(_));
    if !(string_or_slice || format.is_empty() || contains(st) || sch_format == format || is_float_int || is_int_float) {
        return Some(invalid_type(path, format, sch_format));
    }
    if string_or_slice && !(contains("number") || contains("integer") || format.is_empty()) {
        return None;
    }
    if !(contains(st) || is_float_int || is_int_float) {
        return Some(invalid_type(path, &types.join(","), st));
    }
    None
}

fn string_check(s: &Schema, path: &str, text: &str) -> Option<OaError> {
    let len = text.chars().count() as i64;
    if let Some(max) = s.max_length
        && len > max
    {
        let m = format!("{path} in {IN} should be at most {max} chars long");
        return Some(err(Code::TooLong(max), path, Value::String(text.into()), m));
    }
    if let Some(min) = s.min_length
        && len < min
    {
        let m = format!("{path} in {IN} should be at least {min} chars long");
        return Some(err(Code::Other, path, Value::String(text.into()), m));
    }
    if let Some((pattern, re)) = &s.pattern {
        let m = match re {
            Some(re) if re.is_match(text) => return None,
            Some(_) => format!("{path} in {IN} should match '{pattern}'"),
            None => format!("{path} in {IN} should match '{pattern}, but pattern is invalid'"),
        };
        return Some(err(Code::Other, path, Value::String(text.into()), m));
    }
    None
}

/// `numberValidator`: multipleOf, then minimum, then maximum. Integers compare as int64
/// (and print their bounds as integers), other numbers as float64.
fn number_check(s: &Schema, path: &str, data: &Value) -> Vec<OaError> {
    let mut out = Vec::new();
    let int = data.as_i64();
    let f = data.as_f64().unwrap_or(0.0);
    let show = |bound: f64| match int {
        Some(_) => (bound as i64).to_string(),
        None => go_float(bound),
    };
    if let Some(factor) = s.multiple_of {
        if factor <= 0.0 {
            out.push(err(
                Code::Other,
                path,
                data.clone(),
                format!("factor MultipleOf declared for {path} must be positive: {}", show(factor)),
            ));
        } else {
            let ok = match int {
                Some(i) if factor as i64 != 0 => i % (factor as i64) == 0,
                _ => {
                    let mult = if factor < 1.0 { 1.0 / factor * f } else { f / factor };
                    mult.fract() == 0.0
                }
            };
            if !ok {
                out.push(err(
                    Code::Other,
                    path,
                    data.clone(),
                    format!("{path} in {IN} should be a multiple of {}", show(factor)),
                ));
            }
        }
    }
    if let Some(min) = s.minimum {
        let below = match int {
            Some(i) => {
                let m = min as i64;
                if s.exclusive_minimum { i <= m } else { i < m }
            }
            None => {
                if s.exclusive_minimum {
                    f <= min
                } else {
                    f < min
                }
            }
        };
        if below {
            let rel = if s.exclusive_minimum { "greater than" } else { "greater than or equal to" };
            out.push(err(Code::Other, path, data.clone(), format!("{path} in {IN} should be {rel} {}", show(min))));
        }
    }
    if let Some(max) = s.maximum {
        let above = match int {
            Some(i) => {
                let m = max as i64;
                if s.exclusive_maximum { i >= m } else { i > m }
            }
            None => {
                if s.exclusive_maximum {
                    f >= max
                } else {
                    f > max
                }
            }
        };
        if above {
            let rel = if s.exclusive_maximum { "less than" } else { "less than or equal to" };
            out.push(err(Code::Other, path, data.clone(), format!("{path} in {IN} should be {rel} {}", show(max))));
        }
    }
    out
}

fn slice_check(s: &Schema, path: &str, items: &[Value]) -> Res {
    let mut res = Res::default();
    if let Some(item_schema) = &s.items {
        for (i, v) in items.iter().enumerate() {
            res.merge(validate_node(item_schema, &format!("{path}[{i}]"), v));
        }
    }
    let size = items.len() as i64;
    if let Some(min) = s.min_items
        && size < min
    {
        res.add(err(Code::Other, path, size.into(), format!("{path} in {IN} should have at least {min} items")));
    }
    if let Some(max) = s.max_items
        && size > max
    {
        res.add(err(
            Code::TooMany { actual: size, max },
            path,
            size.into(),
            format!("{path} in {IN} should have at most {max} items"),
        ));
    }
    if s.unique_items {
        let dup = items.iter().enumerate().any(|(i, a)| items[..i].iter().any(|b| json_eq(a, b)));
        if dup {
            res.add(err(
                Code::Other,
                path,
                Value::String(String::new()),
                format!("{path} in {IN} shouldn't contain duplicates"),
            ));
        }
    }
    res
}

/// Equality as Go's `reflect.DeepEqual` after JSON decoding (numbers by value).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64() && x.is_i64() == y.is_i64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn enum_check(s: &Schema, path: &str, data: &Value) -> Option<OaError> {
    let values = s.enum_.as_ref().filter(|e| !e.is_empty())?;
    let matches = values.iter().any(|e| match (e, data) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => e == data,
    });
    if matches {
        return None;
    }
    let rendered: Vec<String> = values.iter().map(go_value).collect();
    Some(err(
        Code::Enum(values.clone()),
        path,
        data.clone(),
        format!("{path} in {IN} should be one of [{}]", rendered.join(" ")),
    ))
}

/// Go's `%v` of a decoded JSON value (enough for messages).
fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_i64().map(|i| i.to_string()).unwrap_or_else(|| go_float(n.as_f64().unwrap_or(0.0))),
        Value::Bool(b) => b.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{k}:{}", go_value(&m[*k]))).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn object_check(s: &Schema, path: &str, map: &serde_json::Map<String, Value>) -> Res {
    let mut res = Res::default();
    let n = map.len() as i64;
    if let Some(min) = s.min_properties
        && n < min
    {
        res.add(err(Code::Other, path, n.into(), format!("{path} in {IN} should have at least {min} properties")));
    }
    if let Some(max) = s.max_properties
        && n > max
    {
        res.add(err(
            Code::TooMany { actual: n, max },
            path,
            n.into(),
            format!("{path} in {IN} should have at most {max} properties"),
        ));
    }
    match &s.additional_properties {
        Some(Additional::Allows(false)) => {
            for k in map.keys() {
                if !s.properties.contains_key(k) {
                    res.add(err(
                        Code::Other,
                        path,
                        Value::String(k.clone()),
                        format!("{path}.{k} in {IN} is a forbidden property"),
                    ));
                }
            }
        }
        Some(Additional::Schema(add)) => {
            for (k, v) in map {
                if !s.properties.contains_key(k) {
                    res.merge(validate_node(add, &format!("{path}.{k}"), v));
                }
            }
        }
        _ => {}
    }
    for (name, prop) in &s.properties {
        if let Some(v) = map.get(name) {
            res.merge(validate_node(prop, &field_name(path, name), v));
        }
    }
    for k in &s.required {
        if !map.contains_key(k) {
            let name = format!("{path}.{k}");
            res.add(err(Code::Required, &name, Value::Null, format!("{name} in {IN} is required")));
        }
    }
    res
}

fn composite(path: &str, message: String) -> OaError {
    err(Code::Composite, path, Value::String(String::new()), message)
}

fn schema_props(s: &Schema, path: &str, data: &Value) -> Res {
    let mut main = Res::default();
    if !s.any_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut succeeded = false;
        for alt in &s.any_of {
            let r = validate_node(alt, path, data);
            if r.valid() {
                succeeded = true;
                best = None;
                break;
            }
            if best.as_ref().is_none_or(|b| r.matches > b.matches) {
                best = Some(r);
            }
        }
        if !succeeded {
            main.add(composite(path, format!("{} must validate at least one schema (anyOf)", quote(path))));
        }
        if let Some(b) = best {
            main.merge(b);
        }
    }
    if !s.one_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut validated = 0;
        for alt in &s.one_of {
            let r = validate_node(alt, path, data);
            if r.valid() {
                validated += 1;
                best = None;
                continue;
            }
            if validated == 0 && best.as_ref().is_none_or(|b| r.matches > b.matches) {
                best = Some(r);
            }
        }
        if validated != 1 {
            let extra = if validated == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {validated} valid alternatives")
            };
            main.add(composite(
                path,
                format!("{} must validate one and only one schema (oneOf). {extra}", quote(path)),
            ));
            if let Some(b) = best {
                main.merge(b);
            }
        }
    }
    if !s.all_of.is_empty() {
        let mut validated = 0;
        for alt in &s.all_of {
            let r = validate_node(alt, path, data);
            if r.valid() {
                validated += 1;
            }
            main.merge(r);
        }
        if validated != s.all_of.len() {
            let extra = if validated == 0 { ". None validated" } else { "" };
            main.add(composite(path, format!("{} must validate all the schemas (allOf){extra}", quote(path))));
        }
    }
    if let Some(not) = &s.not
        && validate_node(not, path, data).valid()
    {
        main.add(composite(path, format!("{} must not validate the schema (not)", quote(path))));
    }
    main
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(schema: Value, obj: Value) -> Vec<String> {
        validate(&Schema::from_value(&schema), &obj, None).iter().map(ToString::to_string).collect()
    }

    fn spec(props: Value) -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": props}}})
    }

    #[test]
    fn numbers() {
        let s = spec(json!({"size": {"type": "integer", "maximum": 10, "minimum": 1},
            "ratio": {"type": "number", "exclusiveMaximum": true, "maximum": 1.5, "multipleOf": 0.5}}));
        assert_eq!(
            errs(s.clone(), json!({"spec": {"size": 12}})),
            vec!["spec.size: Invalid value: 12: spec.size in body should be less than or equal to 10"]
        );
        assert_eq!(
            errs(s.clone(), json!({"spec": {"size": 0}})),
            vec!["spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"]
        );
        assert_eq!(
            errs(s.clone(), json!({"spec": {"ratio": 1.5}})),
            vec!["spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1.5"]
        );
        assert_eq!(
            errs(s, json!({"spec": {"ratio": 0.7}})),
            vec!["spec.ratio: Invalid value: 0.7: spec.ratio in body should be a multiple of 0.5"]
        );
    }

    #[test]
    fn types_strings_and_enums() {
        let s = spec(json!({"size": {"type": "integer"}, "name": {"type": "string", "maxLength": 3, "minLength": 2,
            "pattern": "^[a-z]+$"}, "color": {"type": "string", "enum": ["red", "blue"]},
            "port": {"x-kubernetes-int-or-string": true}, "when": {"type": "string", "format": "date-time"}}));
        assert_eq!(
            errs(s.clone(), json!({"spec": {"size": "big"}})),
            vec![r#"spec.size: Invalid value: "string": spec.size in body must be of type integer: "string""#]
        );
        assert_eq!(
            errs(s.clone(), json!({"spec": {"name": "abcd"}})),
            vec!["spec.name: Too long: may not be more than 3 bytes"]
        );
        assert_eq!(
            errs(s.clone(), json!({"spec": {"name": "a"}})),
            vec![r#"spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long"#]
        );
        assert_eq!(
            errs(s.clone(), json!({"spec": {"name": "A1"}})),
            vec![r#"spec.name: Invalid value: "A1": spec.name in body should match '^[a-z]+$'"#]
        );
        assert_eq!(
            errs(s.clone(), json!({"spec": {"color": "pink"}})),
            vec![r#"spec.color: Unsupported value: "pink": supported values: "red", "blue""#]
        );
        assert!(errs(s.clone(), json!({"spec": {"port": 80}})).is_empty());
        assert!(errs(s.clone(), json!({"spec": {"port": "http"}})).is_empty());
        assert_eq!(
            errs(s.clone(), json!({"spec": {"port": true}})),
            vec![r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#]
        );
        assert_eq!(
            errs(s.clone(), json!({"spec": {"when": "yesterday"}})),
            vec![r#"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#]
        );
        assert_eq!(
            errs(s, json!({"spec": {"size": null}})),
            vec![r#"spec.size: Invalid value: "null": spec.size in body must be of type integer: "null""#]
        );
    }

    #[test]
    fn objects_and_arrays() {
        let s = json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object",
            "required": ["a"], "maxProperties": 2, "properties": {"a": {"type": "string"}, "b": {"type": "string"},
            "c": {"type": "string"}, "l": {"type": "array", "maxItems": 1, "minItems": 1, "items": {"type": "integer"}}}}}});
        assert_eq!(errs(s.clone(), json!({})), vec!["spec: Required value"]);
        assert_eq!(
            errs(s.clone(), json!({"spec": {"a": "x", "b": "y", "c": "z"}})),
            vec!["spec: Too many: 3: must have at most 2 items"]
        );
        assert_eq!(errs(s.clone(), json!({"spec": {"b": "y"}})), vec!["spec.a: Required value"]);
        assert_eq!(
            errs(s.clone(), json!({"spec": {"a": "x", "l": [1, 2]}})),
            vec!["spec.l: Too many: 2: must have at most 1 items"]
        );
        assert_eq!(
            errs(s, json!({"spec": {"a": "x", "l": []}})),
            vec!["spec.l: Invalid value: 0: spec.l in body should have at least 1 items"]
        );
    }

    #[test]
    fn junctors() {
        let s = spec(json!({"x": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}}));
        assert!(errs(s.clone(), json!({"spec": {"x": {"a": "1"}}})).is_empty());
        assert_eq!(
            errs(s.clone(), json!({"spec": {"x": {"a": "1", "b": "2"}}})),
            vec![
                r#"<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found 2 valid alternatives"#
            ]
        );
        assert_eq!(
            errs(s, json!({"spec": {"x": {}}})),
            vec![
                r#"<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found none valid"#,
                "spec.x.a: Required value"
            ]
        );
        let s =
            spec(json!({"y": {"type": "integer", "not": {"enum": [3]}, "anyOf": [{"minimum": 5}, {"maximum": 1}]}}));
        assert_eq!(
            errs(s, json!({"spec": {"y": 3}})),
            vec![
                r#"<nil>: Invalid value: "": "spec.y" must validate at least one schema (anyOf)"#,
                "spec.y: Invalid value: 3: spec.y in body should be greater than or equal to 5",
                r#"<nil>: Invalid value: "": "spec.y" must not validate the schema (not)"#
            ]
        );
    }

    #[test]
    fn status_root() {
        let s = json!({"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 0}}});
        let out: Vec<String> = validate(&Schema::from_value(&s), &json!({"replicas": -1}), Some("status"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            out,
            vec!["status.replicas: Invalid value: -1: replicas in body should be greater than or equal to 0"]
        );
    }
}
