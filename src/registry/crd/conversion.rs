//! Conversion of custom resources between the versions of a CRD: `None` rewrites
//! `apiVersion`; `Webhook` sends a ConversionReview (v1, or v1beta1 when that is all the
//! webhook accepts) over HTTPS, trusting the CRD's `caBundle`, and checks the answer as the
//! real server's webhook converter does.
//!
//! Webhooks named by `url` are called directly. Those named by `service` are reached at
//! `https://<name>.<namespace>.svc:<port><path>`; that works once Services route (the
//! cluster DNS and service proxy of a later issue): the name is what their serving
//! certificates carry.

use std::time::Duration;

use serde_json::{Value, json};

use super::serve::{Conversion, CustomResource, WebhookTarget};
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::webhook_client::{self, PostError};

/// How long a conversion webhook may take (the real server's 30 s).
const TIMEOUT: Duration = Duration::from_secs(30);

fn api_version_of(v: &Value) -> &str {
    v.get("apiVersion").and_then(Value::as_str).unwrap_or("")
}

/// Convert objects (of one custom resource kind) into `desired` (`group/version`).
pub async fn convert(cr: &CustomResource, kind: &str, objects: Vec<Value>, desired: &str) -> ApiResult<Vec<Value>> {
    if objects.iter().all(|o| api_version_of(o) == desired) {
        return Ok(objects);
    }
    match &cr.conversion {
        Conversion::None => Ok(objects
            .into_iter()
            .map(|mut o| {
                if let Some(m) = o.as_object_mut() {
                    m.insert("apiVersion".into(), desired.into());
                }
                o
            })
            .collect()),
        Conversion::Webhook { target, ca_bundle, review_versions } => {
            let gvk = format!("{desired}, Kind={kind}");
            webhook(target, ca_bundle.as_deref(), review_versions, objects, desired)
                .await
                .map_err(|e| ApiError::internal(format!("conversion webhook for {gvk} failed: {e}")))
        }
    }
}

fn url_of(target: &WebhookTarget) -> String {
    match target {
        WebhookTarget::Url(u) => u.clone(),
        WebhookTarget::Service { namespace, name, path, port } => {
            format!("https://{name}.{namespace}.svc:{port}{path}")
        }
    }
}

async fn webhook(
    target: &WebhookTarget,
    ca_bundle: Option<&[u8]>,
    review_versions: &[String],
    objects: Vec<Value>,
    desired: &str,
) -> Result<Vec<Value>, String> {
    let review_version = if review_versions.iter().any(|v| v == "v1") {
        "v1"
    } else if review_versions.iter().any(|v| v == "v1beta1") {
        "v1beta1"
    } else {
        return Err(format!(
            "webhook does not accept v1 or v1beta1 ConversionReview, accepted versions are {review_versions:?}"
        ));
    };
    let uid = uuid::Uuid::new_v4().to_string();
    let review = json!({
        "kind": "ConversionReview",
        "apiVersion": format!("apiextensions.k8s.io/{review_version}"),
        "request": {"uid": uid, "desiredAPIVersion": desired, "objects": objects},
    });
    let answer = match webhook_client::post_json(&url_of(target), ca_bundle, &review, TIMEOUT).await {
        Ok(a) => a,
        Err(PostError::Status { code, body, .. }) => {
            return Err(format!("conversion webhook returned HTTP {code}: {body}"));
        }
        Err(PostError::Decode(e)) => return Err(format!("unmarshal of conversion response failed: {e}")),
        Err(e @ PostError::Transport(_)) => return Err(e.to_string()),
    };
    let response = answer.get("response").ok_or("no response provided")?;
    if review_version == "v1" && response.get("uid").and_then(Value::as_str) != Some(uid.as_str()) {
        return Err(format!(
            "expected response.uid={uid:?}, got {:?}",
            response.get("uid").and_then(Value::as_str).unwrap_or("")
        ));
    }
    let result = response.get("result").cloned().unwrap_or_default();
    if result.get("status").and_then(Value::as_str) != Some("Success") {
        return Err(result.get("message").and_then(Value::as_str).unwrap_or("conversion failed").to_string());
    }
    let converted = response.get("convertedObjects").and_then(Value::as_array).cloned().unwrap_or_default();
    if converted.len() != objects.len() {
        return Err(format!("returned objects count is {}, but expected {}", converted.len(), objects.len()));
    }
    let mut out = Vec::with_capacity(converted.len());
    for (orig, mut conv) in objects.into_iter().zip(converted) {
        if api_version_of(&conv) != desired {
            return Err(format!("invalid apiVersion {:?}, expected {desired:?}", api_version_of(&conv)));
        }
        // Only labels and annotations of metadata may change; the rest stays the original's.
        let mut meta = orig.get("metadata").cloned().unwrap_or_else(|| json!({}));
        for f in ["labels", "annotations"] {
            match conv.pointer(&format!("/metadata/{f}")) {
                Some(v) => meta[f] = v.clone(),
                None => {
                    if let Some(m) = meta.as_object_mut() {
                        m.remove(f);
                    }
                }
            }
        }
        conv["metadata"] = meta;
        out.push(conv);
    }
    Ok(out)
}
