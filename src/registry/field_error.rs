//! Field-level validation errors, shaped like apimachinery's `field.Error`.
//!
//! The text they render is the text the real API server puts in a `422 Invalid`
//! Status, so kubectl users see the messages they know.

use serde_json::Value;

/// The kind of problem a field has (apimachinery `field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
}

impl ErrorType {
    /// The human text (`field.ErrorType.String()`).
    pub fn text(self) -> &'static str {
        match self {
            ErrorType::NotFound => "Not found",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
            ErrorType::TypeInvalid => "Invalid value",
        }
    }

    /// The machine reason used as a `StatusCause.reason`.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
            ErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }
}

/// One invalid field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub kind: ErrorType,
    /// Path like `spec.containers[0].name` or `metadata.labels[app]`.
    pub field: String,
    /// The offending value; `None` omits it from the message.
    pub bad_value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    fn new(kind: ErrorType, field: impl Into<String>, bad_value: Option<Value>, detail: impl Into<String>) -> Self {
        FieldError { kind, field: field.into(), bad_value, detail: detail.into() }
    }
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Required, field, None, detail)
    }
    pub fn invalid(field: impl Into<String>, value: impl Into<Value>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, field, Some(value.into()), detail)
    }
    /// `Invalid value: <rendered>: detail`, for bad values Go prints in its own syntax
    /// (e.g. `[]string{"10.0.0.1"}`).
    pub fn invalid_rendered(
        field: impl Into<String>,
        rendered: impl std::fmt::Display,
        detail: impl std::fmt::Display,
    ) -> Self {
        Self::new(ErrorType::Invalid, field, None, format!("{rendered}: {detail}"))
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Forbidden, field, None, detail)
    }
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(ErrorType::Duplicate, field, Some(value.into()), "")
    }
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(ErrorType::NotFound, field, Some(value.into()), "")
    }
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(ErrorType::TooLong, field, None, format!("may not be more than {max} bytes"))
    }
    pub fn too_many(field: impl Into<String>, actual: usize, max: usize) -> Self {
        Self::new(ErrorType::TooMany, field, Some(Value::from(actual)), format!("must have at most {max} items"))
    }
    pub fn internal(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, field, None, detail)
    }
    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<String>, value: impl Into<Value>, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, field, Some(value.into()), detail)
    }
    pub fn type_invalid(field: impl Into<String>, value: impl Into<Value>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::TypeInvalid, field, Some(value.into()), detail)
    }

    /// The message without the field path (`field.Error.ErrorBody`).
    pub fn body(&self) -> String {
        let mut s = match (&self.kind, &self.bad_value) {
            (ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal, _) | (_, None) => {
                self.kind.text().to_string()
            }
            (_, Some(v)) => format!("{}: {}", self.kind.text(), render_value(v)),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Render a bad value the way Go's `%q` / `%v` would for the common types.
fn render_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Joins errors the way `utilerrors.NewAggregate(...).Error()` does:
/// one error alone, several as `[a, b]` (duplicates removed).
pub fn aggregate(errs: &[FieldError]) -> String {
    let mut seen = Vec::<String>::new();
    for e in errs {
        let m = e.to_string();
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    if seen.len() == 1 { seen.pop().unwrap_or_default() } else { format!("[{}]", seen.join(", ")) }
}

/// Builds field paths such as `spec.containers[0].ports[1].containerPort`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    pub fn new(root: &str) -> Self {
        Path(root.to_string())
    }
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() { Path(name.to_string()) } else { Path(format!("{}.{}", self.0, name)) }
    }
    pub fn index(&self, i: usize) -> Self {
        Path(format!("{}[{}]", self.0, i))
    }
    pub fn key(&self, k: &str) -> Self {
        Path(format!("{}[{}]", self.0, k))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Path> for String {
    fn from(p: Path) -> String {
        p.0
    }
}

impl From<&Path> for String {
    fn from(p: &Path) -> String {
        p.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_apimachinery() {
        let p = Path::new("spec").child("containers").index(0).child("name");
        assert_eq!(FieldError::required(&p, "").to_string(), "spec.containers[0].name: Required value");
        let e = FieldError::invalid("metadata.name", "Bad_Name", "a lowercase RFC 1123 subdomain must consist of");
        assert_eq!(e.body(), "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of");
        let e = FieldError::not_supported("spec.restartPolicy", "Sometimes", &["Always", "Never"]);
        assert_eq!(
            e.to_string(),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\""
        );
        assert_eq!(
            FieldError::invalid("spec.replicas", -1, "must be greater than or equal to 0").body(),
            "Invalid value: -1: must be greater than or equal to 0"
        );
        let one = vec![FieldError::required("a", "")];
        assert_eq!(aggregate(&one), "a: Required value");
        let two = vec![FieldError::required("a", ""), FieldError::required("b", ""), FieldError::required("a", "")];
        assert_eq!(aggregate(&two), "[a: Required value, b: Required value]");
    }
}
