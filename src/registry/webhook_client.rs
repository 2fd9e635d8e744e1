//! The HTTPS client of the webhooks the API server calls (CRD conversion and admission):
//! trusts the webhook's `caBundle` (or the system's roots when it has none), POSTs JSON
//! with a per-call timeout, and words failures as Go's HTTP client does, since the real
//! server's messages embed that text (`Post "https://…": context deadline exceeded`).
//!
//! A [`Client`] is built once per webhook configuration and reused for every call.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// Why a POST got no usable JSON answer.
#[derive(Debug, Clone, PartialEq)]
pub enum PostError {
    /// No answer (connection, TLS, timeout): Go's `*url.Error` text, `Post "<url>": <why>`.
    Transport(String),
    /// An answer with a status outside 2xx: its body, and whether it was `text/plain`
    /// (client-go quotes only such bodies in its message).
    Status { code: u16, body: String, text: bool },
    /// A 2xx answer whose body is not JSON: Go's json error text.
    Decode(String),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Transport(s) | PostError::Decode(s) => f.write_str(s),
            PostError::Status { code, body, text } => {
                f.write_str(&generic_server_response(*code, text.then_some(body.as_str())))
            }
        }
    }
}

/// client-go's `NewGenericServerResponse` text for a non-2xx answer that carries no Status.
pub fn generic_server_response(code: u16, text_body: Option<&str>) -> String {
    let server_message = text_body.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("unknown");
    match code {
        409 => "the server reported a conflict".into(),
        404 => "the server could not find the requested resource".into(),
        400 => "the server rejected our request for an unknown reason".into(),
        401 => "the server has asked for the client to provide credentials".into(),
        403 => "the server does not allow access to the requested resource".into(),
        405 => "the server does not allow this method on the requested resource".into(),
        406 => "the server was unable to respond with a content type that the client supports".into(),
        415 => "the server was unable to respond with a content type that the client supports".into(),
        422 => "the server rejected our request due to an error in our request".into(),
        503 => "the server is currently unable to handle the request".into(),
        504 => {
            "the server was unable to return a response in the time allotted, but may still be processing the request"
                .into()
        }
        429 => "the server has received too many requests and has asked us to try again later".into(),
        c if c >= 500 => {
            format!("an error on the server ({server_message:?}) has prevented the request from succeeding")
        }
        c => format!("the server responded with the status code {c} but did not return more information"),
    }
}

/// An HTTPS client trusting one CA bundle.
pub struct Client {
    inner: hyper_util::client::legacy::Client<Connector, Full<Bytes>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("webhook_client::Client")
    }
}

impl Client {
    /// A client trusting `ca_bundle` (PEM), or the system's roots when `None`.
    pub fn new(ca_bundle: Option<&[u8]>) -> Result<Client, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(ca_bundle)?)
            .https_only()
            .enable_http1()
            .build();
        let inner = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        Ok(Client { inner })
    }

    /// POST `body` as JSON to `url` and read the JSON answer, all within `timeout`.
    pub async fn post_json(&self, url: &str, body: &Value, timeout: Duration) -> Result<Value, PostError> {
        let transport = |why: String| PostError::Transport(format!("Post {url:?}: {why}"));
        let bytes = serde_json::to_vec(body).map_err(|e| transport(e.to_string()))?;
        let req = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json, */*")
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| transport(e.to_string()))?;
        let exchange = async {
            let resp = self.inner.request(req).await.map_err(|e| transport(go_transport_error(url, &e)))?;
            let status = resp.status();
            let text = resp
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("text/plain"));
            let body = resp.into_body().collect().await.map_err(|e| transport(error_chain(&e)))?.to_bytes();
            Ok::<_, PostError>((status, text, body))
        };
        let (status, text, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| transport("context deadline exceeded".into()))??;
        if !(200..=206).contains(&status.as_u16()) {
            return Err(PostError::Status {
                code: status.as_u16(),
                body: String::from_utf8_lossy(&body).into_owned(),
                text,
            });
        }
        serde_json::from_slice(&body).map_err(|e| PostError::Decode(go_json_error(&body, &e)))
    }
}

/// POST once with a client made for this call.
pub async fn post_json(
    url: &str,
    ca_bundle: Option<&[u8]>,
    body: &Value,
    timeout: Duration,
) -> Result<Value, PostError> {
    let client = Client::new(ca_bundle).map_err(PostError::Transport)?;
    client.post_json(url, body, timeout).await
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
            for c in native_roots() {
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
fn native_roots() -> Vec<rustls::pki_types::CertificateDer<'static>> {
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

/// An error and its sources, `: `-separated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The text Go's HTTP client gives for the common failures (refused connection, unknown
/// host, untrusted certificate); the error chain otherwise.
fn go_transport_error(url: &str, e: &(dyn std::error::Error + 'static)) -> String {
    let authority =
        url.split_once("://").map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or("")).unwrap_or("").to_string();
    let host = authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(&authority).to_string();
    let addr = if authority.contains(':') { authority.clone() } else { format!("{authority}:443") };
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return go_tls_error(tls, &host);
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return format!("dial tcp {addr}: connect: connection refused");
                }
                std::io::ErrorKind::ConnectionReset => return "read: connection reset by peer".into(),
                std::io::ErrorKind::UnexpectedEof => return "EOF".into(),
                _ => {}
            }
            let text = io.to_string();
            if text.contains("failed to lookup address") || text.contains("Name or service not known") {
                return format!("dial tcp: lookup {host}: no such host");
            }
        }
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return go_tls_error(tls, &host);
        }
        cur = err.source();
    }
    let chain = error_chain(e);
    if chain.contains("invalid peer certificate: UnknownIssuer") {
        return go_tls_error(&rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer), &host);
    }
    chain
}

fn go_tls_error(e: &rustls::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "tls: failed to verify certificate: x509: certificate signed by unknown authority".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            format!("tls: failed to verify certificate: x509: certificate is not valid for {host}")
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid".into()
        }
        other => format!("tls: {other}"),
    }
}

/// Go's `encoding/json` wording for the common syntax errors of a body.
pub fn go_json_error(body: &[u8], e: &serde_json::Error) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    match trimmed.chars().next() {
        None => "unexpected end of JSON input".into(),
        Some(c) if !matches!(c, '{' | '[' | '"' | '-' | '0'..='9' | 't' | 'f' | 'n') => {
            format!("invalid character {} looking for beginning of value", go_char(c))
        }
        _ if e.is_eof() => "unexpected end of JSON input".into(),
        _ => e.to_string(),
    }
}

fn go_char(c: char) -> String {
    match c {
        '\'' => r"'\''".into(),
        '"' => r#"'"'"#.into(),
        c if c.is_control() => format!("{:?}", c.to_string()).replace('"', "'"),
        c => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_wording_of_json_errors() {
        let e = serde_json::from_slice::<Value>(b"garbage").unwrap_err();
        assert_eq!(go_json_error(b"garbage", &e), "invalid character 'g' looking for beginning of value");
        let e = serde_json::from_slice::<Value>(b"").unwrap_err();
        assert_eq!(go_json_error(b"", &e), "unexpected end of JSON input");
        let e = serde_json::from_slice::<Value>(b"{\"a\":").unwrap_err();
        assert_eq!(go_json_error(b"{\"a\":", &e), "unexpected end of JSON input");
    }

    #[test]
    fn generic_responses() {
        assert_eq!(
            generic_server_response(500, Some("boom\n")),
            "an error on the server (\"boom\") has prevented the request from succeeding"
        );
        assert_eq!(
            generic_server_response(502, None),
            "an error on the server (\"unknown\") has prevented the request from succeeding"
        );
        assert_eq!(generic_server_response(404, None), "the server could not find the requested resource");
    }

    #[tokio::test]
    async fn refused_connection_is_worded_as_go() {
        let err = post_json("https://127.0.0.1:1/x?timeout=1s", None, &Value::Null, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            PostError::Transport(
                "Post \"https://127.0.0.1:1/x?timeout=1s\": dial tcp 127.0.0.1:1: connect: connection refused".into()
            )
        );
    }
}
