//! JSON values as CEL values, typed by their OpenAPI schema (integers and numbers, maps,
//! lists), as apiextensions' `UnstructuredToVal` presents custom resources to rules.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::registry::crd::schema::Schema;

/// Convert `v` (typed by `schema` when known) into a CEL value.
pub fn to_cel(v: &Value, schema: Option<&Schema>, _root: bool) -> cel::Value {
    match v {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => {
            let wants_float = schema.is_some_and(|s| s.type_ == "number");
            match n.as_i64() {
                Some(i) if !wants_float => cel::Value::Int(i),
                _ => cel::Value::Float(n.as_f64().unwrap_or(0.0)),
            }
        }
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => {
            let item = schema.and_then(|s| s.items.as_deref());
            cel::Value::List(Arc::new(items.iter().map(|i| to_cel(i, item, false)).collect()))
        }
        Value::Object(map) => {
            let mut out: HashMap<cel::objects::Key, cel::Value> = HashMap::with_capacity(map.len());
            for (k, val) in map {
                let child = schema.and_then(|s| s.child(k));
                out.insert(cel::objects::Key::String(Arc::new(k.clone())), to_cel(val, child, false));
            }
            cel::Value::Map(cel::objects::Map { map: Arc::new(out) })
        }
    }
}
