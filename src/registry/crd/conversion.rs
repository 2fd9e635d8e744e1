//! Conversion of custom resources between the versions of a CRD: `None` rewrites
//! `apiVersion`; `Webhook` sends a ConversionReview (v1, or v1beta1 when that is all the
//! webhook accepts) over HTTPS, trusting the CRD's `caBundle`, and checks the answer as the
//! real server's webhook converter does.
//!
//! Webhooks named by `url` are called directly. Those named by `service` are reached at
//! `https://<name>.<namespace>.svc:<port><path>`; that works once Services route (the
//! cluster DNS and service proxy of a later issue): the name is what their serving
//! certificates carry.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use super::serve::{Conversion, CustomResource, WebhookTarget};
use crate::registry::error::{ApiError, ApiResult};

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

fn tls_config(ca_bundle: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_bundle {
        Some(pem_bytes) => {
            for p in pem::parse_many(pem_bytes).map_err(|e| format!("invalid caBundle: {e}"))? {
                roots.add(rustls::pki_types::CertificateDer::from(p.contents().to_vec())).map_err(|e| e.to_string())?;
            }
        }
        None => {
            for c in rustls_native_roots() {
                let _ = roots.add(c);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The system's trusted roots (for webhooks without a caBundle).
fn rustls_native_roots() -> Vec<rustls::pki_types::CertificateDer<'static>> {
    let mut out = Vec::new();
    for path in ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"] {
        if let Ok(bytes) = std::fs::read(path)
            && let Ok(certs) = pem::parse_many(bytes)
        {
            out.extend(certs.into_iter().map(|c| rustls::pki_types::CertificateDer::from(c.contents().to_vec())));
            break;
        }
    }
    out
}

/// POST a JSON body over HTTPS and read the JSON answer.
pub async fn post_json(url: &str, ca_bundle: Option<&[u8]>, body: &Value) -> Result<Value, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(ca_bundle)?)
        .https_only()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
    let req = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json")
        .body(Full::new(bytes::Bytes::from(serde_json::to_vec(body).map_err(|e| e.to_string())?)))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(TIMEOUT, client.request(req))
        .await
        .map_err(|_| format!("Post {url:?}: context deadline exceeded"))?
        .map_err(|e| format!("Post {url:?}: {}", error_chain(&e)))?;
    let status = resp.status();
    let bytes = tokio::time::timeout(TIMEOUT, resp.into_body().collect())
        .await
        .map_err(|_| format!("Post {url:?}: context deadline exceeded"))?
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!(
            "conversion webhook returned HTTP {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&bytes)
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("unmarshal of conversion response failed: {e}"))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
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
    let answer = post_json(&url_of(target), ca_bundle, &review).await?;
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
