//! The Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/library) that rules commonly
//! use: lists (`isSorted`, `sum`, `min`, `max`), regex (`find`, `findAll`), URLs
//! (`url`, `isURL`, `getScheme`, `getHost`, …) and quantities (`quantity`, `isQuantity`,
//! `compareTo`, `isLessThan`, `add`, `asInteger`, …).
//!
//! URLs and quantities are maps with one marker key, so they compare and print sensibly
//! without a type of their own.

use std::collections::HashMap;
use std::sync::Arc;

use cel::extractors::This;
use cel::objects::{Key, Map};
use cel::{ExecutionError, Value};

use crate::registry::quantity::Quantity;

const URL_KEY: &str = "__url__";
const QUANTITY_KEY: &str = "__quantity__";

/// Identifiers that name function namespaces rather than variables.
pub fn is_namespace(name: &str) -> bool {
    matches!(name, "math" | "strings" | "lists" | "optional" | "sets" | "base64")
}

fn err(function: &str, message: impl ToString) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

fn marker(key: &str, value: String) -> Value {
    let mut m = HashMap::new();
    m.insert(Key::String(Arc::new(key.to_string())), Value::String(Arc::new(value)));
    Value::Map(Map { map: Arc::new(m) })
}

fn marked(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::Map(m) if m.map.len() == 1 => match m.map.get(&Key::String(Arc::new(key.to_string()))) {
            Some(Value::String(s)) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn as_list(v: &Value, f: &str) -> Result<Arc<Vec<Value>>, ExecutionError> {
    match v {
        Value::List(l) => Ok(l.clone()),
        _ => Err(err(f, "expected a list")),
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.partial_cmp(y),
        (Value::UInt(x), Value::UInt(y)) => x.partial_cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::String(x), Value::String(y)) => x.partial_cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.partial_cmp(y),
        _ => None,
    }
}

fn is_sorted(This(this): This<Value>) -> Result<Value, ExecutionError> {
    let l = as_list(&this, "isSorted")?;
    Ok(Value::Bool(l.windows(2).all(|w| compare(&w[0], &w[1]).is_some_and(|o| o.is_le()))))
}

fn sum(This(this): This<Value>) -> Result<Value, ExecutionError> {
    let l = as_list(&this, "sum")?;
    let mut int: i64 = 0;
    let mut float: f64 = 0.0;
    let mut is_float = false;
    for v in l.iter() {
        match v {
            Value::Int(i) => int = int.checked_add(*i).ok_or_else(|| err("sum", "integer overflow"))?,
            Value::Float(f) => {
                is_float = true;
                float += f;
            }
            _ => return Err(err("sum", "list elements must be numbers")),
        }
    }
    Ok(if is_float { Value::Float(float + int as f64) } else { Value::Int(int) })
}

fn extreme(this: &Value, f: &str, want: std::cmp::Ordering) -> Result<Value, ExecutionError> {
    let l = as_list(this, f)?;
    let mut best: Option<&Value> = None;
    for v in l.iter() {
        best = match best {
            None => Some(v),
            Some(b) if compare(v, b) == Some(want) => Some(v),
            keep => keep,
        };
    }
    best.cloned().ok_or_else(|| err(f, "list is empty"))
}

fn min(This(this): This<Value>) -> Result<Value, ExecutionError> {
    extreme(&this, "min", std::cmp::Ordering::Less)
}

fn max(This(this): This<Value>) -> Result<Value, ExecutionError> {
    extreme(&this, "max", std::cmp::Ordering::Greater)
}

fn regex_of(pattern: &str, f: &str) -> Result<regex::Regex, ExecutionError> {
    regex::Regex::new(pattern).map_err(|e| err(f, e))
}

fn find(This(this): This<Arc<String>>, pattern: Arc<String>) -> Result<Value, ExecutionError> {
    let re = regex_of(&pattern, "find")?;
    Ok(Value::String(Arc::new(re.find(&this).map(|m| m.as_str().to_string()).unwrap_or_default())))
}

fn find_all(This(this): This<Arc<String>>, pattern: Arc<String>) -> Result<Value, ExecutionError> {
    let re = regex_of(&pattern, "findAll")?;
    Ok(Value::List(Arc::new(re.find_iter(&this).map(|m| Value::String(Arc::new(m.as_str().to_string()))).collect())))
}

fn parse_url(s: &str) -> Option<http::Uri> {
    let u: http::Uri = s.parse().ok()?;
    (u.scheme().is_some() || s.starts_with('/')).then_some(u)
}

fn url(s: Arc<String>) -> Result<Value, ExecutionError> {
    parse_url(&s)
        .map(|_| marker(URL_KEY, s.to_string()))
        .ok_or_else(|| err("url", format!("URL parse error during conversion from string: {s}")))
}

fn is_url(s: Arc<String>) -> bool {
    parse_url(&s).is_some()
}

fn url_part(this: &Value, f: &str, part: fn(&http::Uri) -> String) -> Result<Value, ExecutionError> {
    let s = marked(this, URL_KEY).ok_or_else(|| err(f, "not a URL"))?;
    let u = parse_url(&s).ok_or_else(|| err(f, "not a URL"))?;
    Ok(Value::String(Arc::new(part(&u))))
}

fn get_scheme(This(this): This<Value>) -> Result<Value, ExecutionError> {
    url_part(&this, "getScheme", |u| u.scheme_str().unwrap_or("").to_string())
}

fn get_host(This(this): This<Value>) -> Result<Value, ExecutionError> {
    url_part(&this, "getHost", |u| {
        u.authority().map(|a| a.as_str().rsplit('@').next().unwrap_or("").to_string()).unwrap_or_default()
    })
}

fn get_hostname(This(this): This<Value>) -> Result<Value, ExecutionError> {
    url_part(&this, "getHostname", |u| u.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_string())
}

fn get_port(This(this): This<Value>) -> Result<Value, ExecutionError> {
    url_part(&this, "getPort", |u| u.port_u16().map(|p| p.to_string()).unwrap_or_default())
}

fn get_escaped_path(This(this): This<Value>) -> Result<Value, ExecutionError> {
    url_part(&this, "getEscapedPath", |u| u.path().to_string())
}

fn get_query(This(this): This<Value>) -> Result<Value, ExecutionError> {
    let s = marked(&this, URL_KEY).ok_or_else(|| err("getQuery", "not a URL"))?;
    let u = parse_url(&s).ok_or_else(|| err("getQuery", "not a URL"))?;
    let mut out: HashMap<Key, Value> = HashMap::new();
    for (k, v) in form_urlencoded::parse(u.query().unwrap_or("").as_bytes()) {
        let key = Key::String(Arc::new(k.to_string()));
        let entry = out.entry(key).or_insert_with(|| Value::List(Arc::new(Vec::new())));
        if let Value::List(l) = entry {
            let mut items = l.as_ref().clone();
            items.push(Value::String(Arc::new(v.to_string())));
            *l = Arc::new(items);
        }
    }
    Ok(Value::Map(Map { map: Arc::new(out) }))
}

fn quantity_of(v: &Value, f: &str) -> Result<Quantity, ExecutionError> {
    let s = marked(v, QUANTITY_KEY).ok_or_else(|| err(f, "not a quantity"))?;
    Quantity::parse(&s).map_err(|e| err(f, e))
}

fn quantity(s: Arc<String>) -> Result<Value, ExecutionError> {
    Quantity::parse(&s).map(|_| marker(QUANTITY_KEY, s.to_string())).map_err(|e| err("quantity", e))
}

fn is_quantity(s: Arc<String>) -> bool {
    Quantity::parse(&s).is_ok()
}

fn other_quantity(v: &Value, f: &str) -> Result<Quantity, ExecutionError> {
    match v {
        Value::Int(i) => Ok(Quantity::from_units(*i as i128)),
        _ => quantity_of(v, f),
    }
}

fn compare_to(This(this): This<Value>, other: Value) -> Result<Value, ExecutionError> {
    let (a, b) = (quantity_of(&this, "compareTo")?, other_quantity(&other, "compareTo")?);
    Ok(Value::Int(a.cmp(&b) as i64))
}

fn is_less_than(This(this): This<Value>, other: Value) -> Result<Value, ExecutionError> {
    let (a, b) = (quantity_of(&this, "isLessThan")?, other_quantity(&other, "isLessThan")?);
    Ok(Value::Bool(a < b))
}

fn is_greater_than(This(this): This<Value>, other: Value) -> Result<Value, ExecutionError> {
    let (a, b) = (quantity_of(&this, "isGreaterThan")?, other_quantity(&other, "isGreaterThan")?);
    Ok(Value::Bool(a > b))
}

fn add(This(this): This<Value>, other: Value) -> Result<Value, ExecutionError> {
    let (a, b) = (quantity_of(&this, "add")?, other_quantity(&other, "add")?);
    let q = a.checked_add(&b).ok_or_else(|| err("add", "overflow"))?;
    Ok(marker(QUANTITY_KEY, q.canonical()))
}

fn sub(This(this): This<Value>, other: Value) -> Result<Value, ExecutionError> {
    let (a, b) = (quantity_of(&this, "sub")?, other_quantity(&other, "sub")?);
    let q = a.checked_sub(&b).ok_or_else(|| err("sub", "overflow"))?;
    Ok(marker(QUANTITY_KEY, q.canonical()))
}

fn as_integer(This(this): This<Value>) -> Result<Value, ExecutionError> {
    let q = quantity_of(&this, "asInteger")?;
    let v = q.value();
    if q.to_millis() % 1000 != 0 || v > i64::MAX as i128 || v < i64::MIN as i128 {
        return Err(err("asInteger", "cannot convert value to integer"));
    }
    Ok(Value::Int(v as i64))
}

fn is_integer(This(this): This<Value>) -> Result<Value, ExecutionError> {
    let q = quantity_of(&this, "isInteger")?;
    Ok(Value::Bool(q.to_millis() % 1000 == 0))
}

fn as_approximate_float(This(this): This<Value>) -> Result<Value, ExecutionError> {
    Ok(Value::Float(quantity_of(&this, "asApproximateFloat")?.as_f64()))
}

fn sign(This(this): This<Value>) -> Result<Value, ExecutionError> {
    Ok(Value::Int(quantity_of(&this, "sign")?.signum() as i64))
}

/// Register the libraries as functions of a root context.
pub fn register(ctx: &mut cel::Context<'static, 'static>) {
    let results = [
        ctx.add_function("isSorted", is_sorted),
        ctx.add_function("sum", sum),
        ctx.add_function("min", min),
        ctx.add_function("max", max),
        ctx.add_function("find", find),
        ctx.add_function("findAll", find_all),
        ctx.add_function("url", url),
        ctx.add_function("isURL", is_url),
        ctx.add_function("getScheme", get_scheme),
        ctx.add_function("getHost", get_host),
        ctx.add_function("getHostname", get_hostname),
        ctx.add_function("getPort", get_port),
        ctx.add_function("getEscapedPath", get_escaped_path),
        ctx.add_function("getQuery", get_query),
        ctx.add_function("quantity", quantity),
        ctx.add_function("isQuantity", is_quantity),
        ctx.add_function("compareTo", compare_to),
        ctx.add_function("isLessThan", is_less_than),
        ctx.add_function("isGreaterThan", is_greater_than),
        ctx.add_function("add", add),
        ctx.add_function("sub", sub),
        ctx.add_function("asInteger", as_integer),
        ctx.add_function("isInteger", is_integer),
        ctx.add_function("asApproximateFloat", as_approximate_float),
        ctx.add_function("sign", sign),
    ];
    for r in results {
        if let Err(e) = r {
            tracing::warn!(error = %e, "a CEL library function could not be registered");
        }
    }
}
