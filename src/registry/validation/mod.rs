//! STUB until the validation module lands.
use serde_json::Value;

use super::field_error::FieldError;

pub fn validate(_group: &str, _version: &str, _kind: &str, obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    validate_name("", "", name, false).into_iter().map(|m| FieldError::invalid("metadata.name", name, m)).collect()
}

pub fn validate_status(group: &str, version: &str, kind: &str, obj: &Value, old: &Value) -> Vec<FieldError> {
    validate(group, version, kind, obj, Some(old))
}

pub fn validate_name(_group: &str, _kind: &str, name: &str, _prefix: bool) -> Vec<String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if ok {
        vec![]
    } else {
        vec!["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string()]
    }
}
