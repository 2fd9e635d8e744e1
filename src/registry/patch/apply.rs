//! STUB until server-side apply lands.
use serde_json::Value;

use crate::registry::schema::Node;

#[derive(Debug, Clone)]
pub enum ApplyError {
    Conflict { message: String, causes: Vec<Value> },
    Invalid(String),
}

pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    _manager: &str,
    _force: bool,
    _now: jiff::Timestamp,
    _node: Node<'_>,
) -> Result<Value, ApplyError> {
    let mut out = live.cloned().unwrap_or(Value::Null);
    json_patch::merge(&mut out, applied);
    Ok(out)
}
