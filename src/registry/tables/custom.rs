//! Tables of custom resources: the columns a CRD version declares in
//! `additionalPrinterColumns` (apiextensions-apiserver's tableconvertor), evaluated with the
//! simple JSONPath expressions CRDs use.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::descriptions::{OBJECT_META_CREATION_TIMESTAMP, OBJECT_META_NAME};
use super::format::{Ctx, name};

/// The metav1.Table of custom resources, for the `additionalPrinterColumns` of the served
/// CRD version (an empty list gets the default Age column, as the real server does).
/// The other arguments are those of [`super::table`].
pub fn custom_resource_table(
    printer_columns: &[Value],
    objects: &[Value],
    include_object: &str,
    list_meta: Value,
    now: Timestamp,
    with_columns: bool,
) -> Value {
    let columns = effective_columns(printer_columns);
    let ctx = Ctx { now };
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut row = Map::new();
            row.insert("cells".into(), custom_resource_cells(&columns, obj, &ctx).into());
            row.insert("object".into(), super::embedded_object(obj, include_object));
            Value::Object(row)
        })
        .collect();
    let mut t = Map::new();
    t.insert("kind".into(), "Table".into());
    t.insert("apiVersion".into(), "meta.k8s.io/v1".into());
    t.insert("metadata".into(), super::table_meta(&list_meta));
    t.insert("columnDefinitions".into(), if with_columns { headers(&columns).into() } else { Value::Null });
    t.insert("rows".into(), rows.into());
    Value::Object(t)
}

/// `serveDefaultColumnsIfEmpty`: Age when a version declares no columns.
fn effective_columns(printer_columns: &[Value]) -> Vec<Value> {
    if printer_columns.is_empty() {
        return vec![json!({
            "name": "Age",
            "type": "date",
            "description": OBJECT_META_CREATION_TIMESTAMP,
            "jsonPath": ".metadata.creationTimestamp",
        })];
    }
    printer_columns.to_vec()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn headers(columns: &[Value]) -> Vec<Value> {
    let mut out = vec![json!({
        "name": "Name", "type": "string", "format": "name", "description": OBJECT_META_NAME, "priority": 0
    })];
    for c in columns {
        let path = str_of(c, "jsonPath");
        let description = match str_of(c, "description") {
            "" => format!("Custom resource definition column (in JSONPath format): {path}"),
            d => d.to_string(),
        };
        out.push(json!({
            "name": str_of(c, "name"),
            "type": str_of(c, "type"),
            "format": str_of(c, "format"),
            "description": description,
            "priority": c.get("priority").and_then(Value::as_i64).unwrap_or(0),
        }));
    }
    out
}

fn custom_resource_cells(columns: &[Value], obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let mut cells = vec![Value::from(name(obj))];
    for c in columns {
        let value = find_first(obj, str_of(c, "jsonPath"));
        cells.push(match value {
            None => Value::Null,
            Some(v) if str_of(c, "type") == "string" => print_result(v).into(),
            Some(v) => cell_for_json_value(str_of(c, "type"), v, ctx),
        });
    }
    cells
}

/// `cellForJSONValue`.
fn cell_for_json_value(type_: &str, v: &Value, ctx: &Ctx) -> Value {
    match (type_, v) {
        ("integer", Value::Number(n)) => {
            n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).map_or(Value::Null, Value::from)
        }
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::from),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => {
            if s.is_empty() || s == "null" {
                return "<unknown>".into();
            }
            match s.parse::<Timestamp>() {
                Ok(_) => ctx.since(Some(v)).into(),
                Err(_) => "<invalid>".into(),
            }
        }
        _ => Value::Null,
    }
}

/// JSONPath `PrintResults` of one value: collections as compact JSON, scalars as Go prints them.
fn print_result(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().map_or_else(|| n.to_string(), go_float),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".to_string(),
        Value::Array(_) | Value::Object(_) => sorted_json(v),
    }
}

/// JSON with object keys sorted, as Go's encoding/json writes maps.
fn sorted_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> =
                keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), sorted_json(&m[*k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(sorted_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): shortest digits, with an
/// exponent when it is below -4 or at least 6.
fn go_float(f: f64) -> String {
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
    if f != 0.0 && !(-4..6).contains(&exp) { go_exp(mantissa, exp) } else { format!("{f}") }
}

fn go_exp(mantissa: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

// ----- a small JSONPath -----

#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    Wildcard,
    Filter { path: Vec<Step>, equal: bool, literal: Value },
}

/// The first result of a simple JSONPath (`.a.b`, `.a[0]`, `.a[*].b`, `.a['k.x']`,
/// `.a[?(@.type=="Ready")].status`); `None` when nothing matches or the path is unsupported.
fn find_first<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}').trim();
    let steps = parse_path(path)?;
    eval(obj, &steps).into_iter().next()
}

fn eval<'a>(obj: &'a Value, steps: &[Step]) -> Vec<&'a Value> {
    let mut current = vec![obj];
    for step in steps {
        let mut next = Vec::new();
        for v in current {
            match (step, v) {
                (Step::Field(f), Value::Object(m)) => next.extend(m.get(f)),
                (Step::Index(i), Value::Array(a)) => {
                    let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                    next.extend(usize::try_from(idx).ok().and_then(|i| a.get(i)));
                }
                (Step::Wildcard, Value::Array(a)) => next.extend(a.iter()),
                (Step::Wildcard, Value::Object(m)) => next.extend(m.values()),
                (Step::Filter { path, equal, literal }, Value::Array(a)) => next.extend(a.iter().filter(|item| {
                    let found = eval(item, path).into_iter().next();
                    found.is_some_and(|f| (f == literal) == *equal)
                })),
                _ => {}
            }
        }
        current = next;
    }
    current
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path.strip_prefix('@').unwrap_or(path);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let close = matching_bracket(r)?;
            steps.push(parse_bracket(r[..close].trim())?);
            rest = &r[close + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            if r.starts_with('.') {
                return None; // recursive descent is not supported
            }
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                steps.push(Step::Field(r[..end].to_string()));
            }
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some(steps)
}

/// The position of the `]` closing a bracket, skipping quoted text and nested brackets.
fn matching_bracket(s: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') if depth == 0 => return Some(i),
            (None, ']') => depth -= 1,
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<&str> {
    s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')).or_else(|| s.strip_prefix('"')?.strip_suffix('"'))
}

fn parse_bracket(inner: &str) -> Option<Step> {
    if inner == "*" {
        return Some(Step::Wildcard);
    }
    if let Some(key) = unquote(inner) {
        return Some(Step::Field(key.to_string()));
    }
    if let Ok(i) = inner.parse::<i64>() {
        return Some(Step::Index(i));
    }
    let expr = inner.strip_prefix("?(")?.strip_suffix(')')?.trim();
    let (lhs, equal, rhs) = if let Some((l, r)) = expr.split_once("!=") {
        (l, false, r)
    } else {
        let (l, r) = expr.split_once("==")?;
        (l, true, r)
    };
    let path = parse_path(lhs.trim())?;
    let rhs = rhs.trim();
    let literal = match unquote(rhs) {
        Some(s) => Value::String(s.to_string()),
        None => serde_json::from_str(rhs).ok()?,
    };
    Some(Step::Filter { path, equal, literal })
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;

    fn cert() -> Value {
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "web-tls", "namespace": "default", "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"secretName": "web-tls", "issuerRef": {"name": "letsencrypt"}, "replicas": 2, "ratio": 1.5,
                "dnsNames": ["a.example.com", "b.example.com"], "labels": {"z": "1", "a": "2"}},
            "status": {"conditions": [{"type": "Issuing", "status": "False"}, {"type": "Ready", "status": "True", "message": "ok"}],
                "notAfter": "2024-06-01T12:00:00Z"}
        })
    }

    #[test]
    fn printer_columns() {
        let columns = [
            json!({"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}),
            json!({"name": "Secret", "type": "string", "jsonPath": ".spec.secretName", "description": "The secret"}),
            json!({"name": "Issuer", "type": "string", "jsonPath": ".spec.issuerRef.name", "priority": 1}),
            json!({"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}),
            json!({"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"}),
            json!({"name": "DNS", "type": "string", "jsonPath": ".spec.dnsNames"}),
            json!({"name": "First", "type": "string", "jsonPath": ".spec.dnsNames[0]"}),
            json!({"name": "Labels", "type": "string", "jsonPath": ".spec.labels"}),
            json!({"name": "Missing", "type": "string", "jsonPath": ".spec.nothing"}),
            json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}),
            json!({"name": "Expires", "type": "date", "jsonPath": ".status.notAfter"}),
            json!({"name": "WrongType", "type": "integer", "jsonPath": ".spec.secretName"}),
        ];
        let t = custom_resource_table(&columns, &[cert()], "None", json!({"resourceVersion": "3"}), now(), true);
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "web-tls",
                "True",
                "web-tls",
                "letsencrypt",
                2,
                1.5,
                "[\"a.example.com\",\"b.example.com\"]",
                "a.example.com",
                "{\"a\":\"2\",\"z\":\"1\"}",
                null,
                "60m",
                "<invalid>",
                null
            ])
        );
        let h = &t["columnDefinitions"];
        assert_eq!(h[0]["name"], "Name");
        assert_eq!(
            h[1]["description"],
            "Custom resource definition column (in JSONPath format): .status.conditions[?(@.type==\"Ready\")].status"
        );
        assert_eq!(h[2]["description"], "The secret");
        assert_eq!(h[3]["priority"], 1);
        assert_eq!(t["metadata"], json!({"resourceVersion": "3"}));
    }

    #[test]
    fn default_age_column() {
        let t = custom_resource_table(&[], &[cert()], "", json!({}), now(), true);
        assert_eq!(t["columnDefinitions"][1]["name"], "Age");
        assert_eq!(t["columnDefinitions"][1]["type"], "date");
        assert_eq!(t["rows"][0]["cells"], json!(["web-tls", "60m"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        let t = custom_resource_table(&[], &[], "", json!({}), now(), false);
        assert_eq!((t["columnDefinitions"].clone(), t["rows"].clone()), (Value::Null, json!([])));
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(123456.5), "123456.5");
        assert_eq!(go_float(1.2345678e8), "1.2345678e+08");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(print_result(&json!(1.5)), "1.5");
        assert_eq!(print_result(&json!(true)), "true");
    }
}
