//! ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding.

use serde_json::Value;

use crate::registry::field_error::FieldError;

/// The spec rules of a policy or binding (metadata is checked by the caller).
pub fn validate(_kind: &str, _obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    Vec::new()
}
