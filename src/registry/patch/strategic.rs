//! STUB until strategic merge patch lands: behaves as a JSON merge patch.
use serde_json::Value;

use crate::registry::schema::Node;

#[derive(Debug, Clone, PartialEq)]
pub struct PatchError(pub String);

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn apply(original: &Value, patch: &Value, _node: Option<Node<'_>>) -> Result<Value, PatchError> {
    let mut out = original.clone();
    json_patch::merge(&mut out, patch);
    Ok(out)
}
