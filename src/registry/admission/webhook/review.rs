//! AdmissionReview: the request sent to a webhook (v1, or v1beta1 when that is all it
//! accepts) and the checks of its answer, with the real server's messages
//! (`webhook/request/admissionreview.go`, `webhook/errors/statuserror.go`).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::super::attributes::Attributes;
use crate::registry::error::ApiError;

/// The AdmissionReview versions this server sends, preferred first.
pub const KNOWN_VERSIONS: &[&str] = &["v1", "v1beta1"];

/// The first version of `accepted` this server can send.
pub fn pick_version(accepted: &[String]) -> Result<&'static str, String> {
    accepted
        .iter()
        .find_map(|v| KNOWN_VERSIONS.iter().find(|k| **k == v.as_str()).copied())
        .ok_or_else(|| "webhook does not accept known AdmissionReview versions (v1, v1beta1)".to_string())
}

/// The kind an admission request is about: the resource's kind, except for subresources
/// with a kind of their own.
fn kind_of(attrs: &Attributes<'_>) -> Value {
    match attrs.subresource {
        "scale" => json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
        "eviction" => json!({"group": "policy", "version": "v1", "kind": "Eviction"}),
        "binding" => json!({"group": "", "version": "v1", "kind": "Binding"}),
        _ => json!({"group": attrs.res.group, "version": attrs.res.version, "kind": attrs.res.kind}),
    }
}

/// The AdmissionReview of a request.
pub fn request(version: &str, uid: &str, attrs: &Attributes<'_>, obj: Option<&Value>) -> Value {
    let user = &attrs.ctx.user;
    let mut user_info = Map::new();
    if !user.username.is_empty() {
        user_info.insert("username".into(), user.username.clone().into());
    }
    if !user.uid.is_empty() {
        user_info.insert("uid".into(), user.uid.clone().into());
    }
    if !user.groups.is_empty() {
        user_info.insert("groups".into(), json!(user.groups));
    }
    if !user.extra.is_empty() {
        user_info.insert("extra".into(), json!(user.extra));
    }
    let kind = kind_of(attrs);
    let resource = json!({"group": attrs.res.group, "version": attrs.res.version, "resource": attrs.res.plural});
    let mut req = json!({
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "operation": attrs.operation.as_str(),
        "userInfo": user_info,
        "object": obj.cloned().unwrap_or(Value::Null),
        "oldObject": attrs.old.cloned().unwrap_or(Value::Null),
        "dryRun": attrs.ctx.dry_run,
        "options": attrs.options.clone(),
    });
    let m = req.as_object_mut().expect("object");
    if !attrs.subresource.is_empty() {
        m.insert("subResource".into(), attrs.subresource.into());
        m.insert("requestSubResource".into(), attrs.subresource.into());
    }
    if !attrs.name.is_empty() {
        m.insert("name".into(), attrs.name.clone().into());
    }
    if !attrs.namespace.is_empty() {
        m.insert("namespace".into(), attrs.namespace.clone().into());
    }
    json!({"kind": "AdmissionReview", "apiVersion": format!("admission.k8s.io/{version}"), "request": req})
}

/// What a webhook answered, once checked.
#[derive(Debug, Default)]
pub struct Answer {
    pub allowed: bool,
    /// The decoded JSON patch (mutating webhooks).
    pub patch: Option<Vec<u8>>,
    pub patch_type: Option<String>,
    pub status: Option<Value>,
    pub warnings: Vec<String>,
}

/// `VerifyAdmissionResponse`: the checks of an answer, with the real errors' texts.
pub fn verify(version: &str, uid: &str, mutating: bool, review: &Value) -> Result<Answer, String> {
    let Some(top) = review.as_object() else {
        return Err(format!(
            "couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
            go_type(review)
        ));
    };
    let response = match top.get("response") {
        Some(Value::Object(r)) => r,
        _ => return Err("webhook response was absent".into()),
    };
    let str_field = |k: &str| response.get(k).and_then(Value::as_str).unwrap_or("");
    let patch_b64 = response.get("patch").and_then(Value::as_str).filter(|s| !s.is_empty());
    let patch_type = response.get("patchType").filter(|v| !v.is_null());
    if version == "v1" {
        if str_field("uid") != uid {
            return Err(format!("expected response.uid={uid:?}, got {:?}", str_field("uid")));
        }
        let api_version = top.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = top.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version != "admission.k8s.io/v1" || kind != "AdmissionReview" {
            let shown = if api_version.contains('/') || api_version.is_empty() {
                format!("{}, Kind={kind}", if api_version.is_empty() { "/" } else { api_version })
            } else {
                format!("/{api_version}, Kind={kind}")
            };
            return Err(format!("expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {shown}"));
        }
        if mutating {
            if patch_b64.is_some() && patch_type.is_none() {
                return Err("webhook returned response.patch but not response.patchType".into());
            }
            if patch_b64.is_none() && patch_type.is_some() {
                return Err("webhook returned response.patchType but not response.patch".into());
            }
            if patch_type.and_then(Value::as_str) == Some("") {
                return Err("webhook returned invalid response.patchType of \"\"".into());
            }
        } else {
            if patch_b64.is_some() {
                return Err("validating webhook may not return response.patch".into());
            }
            if patch_type.is_some() {
                return Err("validating webhook may not return response.patchType".into());
            }
        }
    }
    let allowed = match response.get("allowed") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go struct field AdmissionResponse.response.allowed of type bool",
                go_type(other)
            ));
        }
    };
    let patch = match patch_b64.filter(|_| mutating) {
        Some(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("illegal base64 data at input byte {}", base64_offset(&e)))?,
        ),
        None => None,
    };
    let patch_type = match (version, &patch) {
        (_, None) => None,
        ("v1", Some(_)) => patch_type.and_then(Value::as_str).map(str::to_string),
        // v1beta1 answers were never checked for a patch type: JSONPatch is the only one.
        _ => Some("JSONPatch".to_string()),
    };
    let warnings = response
        .get("warnings")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Answer {
        allowed,
        patch,
        patch_type,
        status: response.get("status").filter(|s| s.is_object()).cloned(),
        warnings,
    })
}

fn base64_offset(e: &base64::DecodeError) -> usize {
    match e {
        base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => *i,
        _ => 0,
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `ToStatusErr`: the error a denial becomes. The webhook's status keeps its code (at least
/// 400), reason and details; the message says which webhook denied the request.
pub fn denial(webhook: &str, status: Option<&Value>) -> ApiError {
    let status = status.cloned().unwrap_or_default();
    let denied_by = format!("admission webhook {webhook:?} denied the request");
    let message = status.get("message").and_then(Value::as_str).unwrap_or("");
    let reason = status.get("reason").and_then(Value::as_str).unwrap_or("");
    let message = if !message.is_empty() {
        format!("{denied_by}: {message}")
    } else if !reason.is_empty() {
        format!("{denied_by}: {reason}")
    } else {
        format!("{denied_by} without explanation")
    };
    let code = status.get("code").and_then(Value::as_u64).unwrap_or(0);
    let code = if !(400..=599).contains(&code) { 400 } else { code as u16 };
    let mut e = ApiError::new(code, static_reason(reason), message);
    e.details = status.get("details").filter(|d| d.is_object()).cloned().map(Box::new);
    e
}

/// A status reason as the `&'static str` ApiError keeps: the known ones, or the
/// webhook's own (interned, so a webhook repeating one reason does not grow memory).
fn static_reason(reason: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "",
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "AlreadyExists",
        "Conflict",
        "Gone",
        "Invalid",
        "ServerTimeout",
        "StoreReadError",
        "Timeout",
        "TooManyRequests",
        "BadRequest",
        "MethodNotAllowed",
        "NotAcceptable",
        "RequestEntityTooLarge",
        "UnsupportedMediaType",
        "InternalError",
        "Expired",
        "ServiceUnavailable",
        "Unknown",
    ];
    if let Some(k) = KNOWN.iter().copied().find(|k| *k == reason) {
        return k;
    }
    static INTERNED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let Ok(mut interned) = INTERNED.lock() else { return "Unknown" };
    if let Some(k) = interned.iter().copied().find(|k| *k == reason) {
        return k;
    }
    if interned.len() >= 256 {
        return "Unknown";
    }
    let leaked: &'static str = Box::leak(reason.to_string().into_boxed_str());
    interned.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_first_known_version() {
        assert_eq!(pick_version(&["v2".into(), "v1beta1".into(), "v1".into()]), Ok("v1beta1"));
        assert!(pick_version(&["v2".into()]).unwrap_err().contains("(v1, v1beta1)"));
    }

    #[test]
    fn verify_checks_uid_kind_and_patches() {
        let ok = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u", "allowed": true, "warnings": ["w"]}});
        let a = verify("v1", "u", false, &ok).unwrap();
        assert!(a.allowed);
        assert_eq!(a.warnings, vec!["w".to_string()]);
        assert_eq!(verify("v1", "x", false, &ok).unwrap_err(), r#"expected response.uid="x", got "u""#);
        let no_kind = json!({"response": {"uid": "u", "allowed": true}});
        assert_eq!(
            verify("v1", "u", false, &no_kind).unwrap_err(),
            "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got /, Kind="
        );
        // v1beta1 answers are not checked for uid or kind.
        assert!(verify("v1beta1", "other", false, &no_kind).unwrap().allowed);
        assert_eq!(verify("v1", "u", false, &json!({})).unwrap_err(), "webhook response was absent");
        let patched = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u", "allowed": true, "patch": "W10="}});
        assert_eq!(
            verify("v1", "u", true, &patched).unwrap_err(),
            "webhook returned response.patch but not response.patchType"
        );
        assert_eq!(verify("v1", "u", false, &patched).unwrap_err(), "validating webhook may not return response.patch");
        let mut typed = patched.clone();
        typed["response"]["patchType"] = "JSONPatch".into();
        let a = verify("v1", "u", true, &typed).unwrap();
        assert_eq!(a.patch.as_deref(), Some(&b"[]"[..]));
        assert_eq!(a.patch_type.as_deref(), Some("JSONPatch"));
    }

    #[test]
    fn denials_read_as_the_real_server_renders_them() {
        let e = denial("deny.example.com", Some(&json!({"code": 403, "reason": "Forbidden", "message": "no"})));
        assert_eq!((e.code, e.reason), (403, "Forbidden"));
        assert_eq!(e.message, r#"admission webhook "deny.example.com" denied the request: no"#);
        let e = denial("d.example.com", None);
        assert_eq!((e.code, e.reason), (400, ""));
        assert_eq!(e.message, r#"admission webhook "d.example.com" denied the request without explanation"#);
        let e = denial("d.example.com", Some(&json!({"code": 200, "reason": "SomethingElse"})));
        assert_eq!((e.code, e.reason), (400, "SomethingElse"));
        assert_eq!(e.message, r#"admission webhook "d.example.com" denied the request: SomethingElse"#);
    }
}
