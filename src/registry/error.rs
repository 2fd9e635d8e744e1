//! API errors: every failure leaves the server as a `metav1.Status` with the
//! reason, code and message the real API server uses (apimachinery's
//! `k8s.io/apimachinery/pkg/api/errors`).

use serde_json::{Value, json};

use super::field_error::{FieldError, aggregate};

/// A `metav1.Status` failure.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// Boxed: it is rarely set, and keeps `ApiResult` small.
    pub details: Option<Box<Value>>,
    /// Warnings for the client that arose before the failure (from admission webhooks
    /// and policies); they leave as `Warning` headers, as with a success.
    pub warnings: Vec<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.reason, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// `pods`, or `deployments.apps`: a group-qualified resource as the messages print it.
pub fn qualified(group: &str, name: &str) -> String {
    if group.is_empty() { name.to_string() } else { format!("{name}.{group}") }
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None, warnings: Vec::new() }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    fn details_for(group: &str, kind: &str, name: &str) -> Value {
        let mut d = serde_json::Map::new();
        if !name.is_empty() {
            d.insert("name".into(), name.into());
        }
        if !group.is_empty() {
            d.insert("group".into(), group.into());
        }
        d.insert("kind".into(), kind.into());
        Value::Object(d)
    }

    /// 404 `pods "x" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{} {:?} not found", qualified(group, resource), name))
            .with_details(Self::details_for(group, resource, name))
    }

    /// 404 for a path that names nothing we serve.
    pub fn path_not_found() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource").with_details(json!({}))
    }

    /// 409 `pods "x" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::new(409, "AlreadyExists", format!("{} {:?} already exists", qualified(group, resource), name))
            .with_details(Self::details_for(group, resource, name))
    }

    /// 409 Conflict with the usual optimistic-concurrency text.
    pub fn conflict_modified(group: &str, resource: &str, name: &str) -> Self {
        Self::conflict(
            group,
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {} {:?}: {}", qualified(group, resource), name, why),
        )
        .with_details(Self::details_for(group, resource, name))
    }

    /// 422 Invalid with one cause per field error.
    pub fn invalid(group: &str, kind: &str, name: &str, errs: &[FieldError]) -> Self {
        let qkind = qualified(group, kind);
        let message = if errs.is_empty() {
            format!("{qkind} {name:?} is invalid")
        } else {
            format!("{qkind} {name:?} is invalid: {}", aggregate(errs))
        };
        let causes: Vec<Value> =
            errs.iter().map(|e| json!({"reason": e.kind.reason(), "message": e.body(), "field": e.field})).collect();
        let mut details = Self::details_for(group, kind, name);
        details["causes"] = Value::Array(causes);
        Self::new(422, "Invalid", message).with_details(details)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn forbidden(group: &str, resource: &str, name: &str, why: impl std::fmt::Display) -> Self {
        let what = qualified(group, resource);
        let message = if name.is_empty() {
            format!("{what} is forbidden: {why}")
        } else {
            format!("{what} {name:?} is forbidden: {why}")
        };
        Self::new(403, "Forbidden", message).with_details(Self::details_for(group, resource, name))
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 405 `create is not supported on resources of kind "componentstatuses"`.
    pub fn method_not_supported(group: &str, resource: &str, verb: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("{verb} is not supported on resources of kind {:?}", qualified(group, resource)),
        )
        .with_details(json!({"group": group, "kind": resource}))
    }

    /// 405 for a method no route of the path accepts (PUT on a collection, POST on an object).
    pub fn method_not_allowed() -> Self {
        Self::new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            .with_details(json!({}))
    }

    /// 410 Expired for a watch or list from a compacted revision.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(413, "RequestEntityTooLarge", format!("Request entity too large: limit is {limit}"))
    }

    pub fn unsupported_media_type(content_type: &str, accepted: &[&str]) -> Self {
        let _ = content_type;
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    pub fn not_acceptable(accepted: &[&str]) -> Self {
        Self::new(406, "NotAcceptable", format!("only the following media types are accepted: {}", accepted.join(", ")))
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(500, "InternalError", format!("Internal error occurred: {message}"))
            .with_details(json!({"causes": [{"message": message.to_string()}]}))
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self::new(429, "TooManyRequests", message)
    }

    /// The `metav1.Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        });
        // Go omits an empty reason.
        if !self.reason.is_empty() {
            s["reason"] = self.reason.into();
        }
        if let Some(d) = &self.details {
            s["details"] = (**d).clone();
        }
        s["code"] = self.code.into();
        s
    }
}

/// Shorthand for results in the registry and API layers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_text() {
        let e = ApiError::not_found("apps", "deployments", "web");
        assert_eq!(e.message, "deployments.apps \"web\" not found");
        assert_eq!(e.to_status()["code"], 404);
        assert_eq!(e.to_status()["details"]["kind"], "deployments");
    }

    #[test]
    fn invalid_text() {
        let e = ApiError::invalid("", "Pod", "x", &[FieldError::required("spec.containers", "")]);
        assert_eq!(e.message, "Pod \"x\" is invalid: spec.containers: Required value");
        assert_eq!(e.to_status()["details"]["causes"][0]["reason"], "FieldValueRequired");
    }
}
