//! STUB until field management lands.
use serde_json::Value;

use crate::registry::schema::Node;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

pub fn default_manager(user_agent: &str) -> String {
    user_agent.split('/').next().unwrap_or("unknown").to_string()
}

pub fn update_managed_fields(
    _old: Option<&Value>,
    _new: &mut Value,
    _manager: &str,
    _operation: Operation,
    _subresource: &str,
    _now: jiff::Timestamp,
    _node: Node<'_>,
) {
}
