//! `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward`: checked here as the
//! real API server checks them (the pod, its container, its phase), then proxied to the
//! kubelet of the pod's node over HTTPS (its `daemonEndpoints.kubeletEndpoint` port on the
//! node's InternalIP), authenticated with the API server's client certificate. Upgrades
//! (SPDY, WebSocket) are relayed byte for byte once both sides switched protocols.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::ApiState;
use super::request::ResourceRequest;
use super::response::error_response;
use crate::registry::error::{ApiError, ApiResult};

/// Serve one of the streaming pod subresources.
pub async fn pod_subresource(state: Arc<ApiState>, r: ResourceRequest, req: Request) -> Response {
    match handle(&state, &r, req).await {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    }
}

fn containers(pod: &Value, key: &str) -> Vec<String> {
    pod["spec"][key]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The container a request is for, with the real server's errors when it is missing or wrong.
fn pick_container(pod: &Value, name: &str, asked: Option<&str>) -> ApiResult<String> {
    let app = containers(pod, "containers");
    let init = containers(pod, "initContainers");
    let eph = containers(pod, "ephemeralContainers");
    match asked.filter(|c| !c.is_empty()) {
        Some(c) if app.iter().chain(&init).chain(&eph).any(|x| x == c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!("container {c} is not valid for pod {name}"))),
        None if app.len() == 1 => Ok(app[0].clone()),
        None => {
            let mut msg =
                format!("a container name must be specified for pod {name}, choose one of: [{}]", app.join(" "));
            if !init.is_empty() {
                msg.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
            }
            Err(ApiError::bad_request(msg))
        }
    }
}

fn container_state<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]
        .iter()
        .filter_map(|k| pod["status"][*k].as_array())
        .flatten()
        .find(|s| s["name"] == container)
}

async fn handle(state: &Arc<ApiState>, r: &ResourceRequest, req: Request) -> ApiResult<Response> {
    let reg = &state.registry;
    let res = reg.resource("", "v1", "pods").ok_or_else(ApiError::path_not_found)?;
    let name = r.name.clone().unwrap_or_default();
    let ns = r.namespace.clone().unwrap_or_else(|| "default".into());
    let sub = r.subresource.clone().unwrap_or_default();
    let is_upgrade = sub != "log";
    if !is_upgrade && req.method() != http::Method::GET {
        return Err(ApiError::method_not_supported("", "pods/log", req.method().as_str()));
    }
    let pod = reg.get(&res, Some(&ns), &name).await?;
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
    let asked = query.iter().rev().find(|(k, _)| k == "container").map(|(_, v)| v.as_str());
    let node = pod["spec"]["nodeName"].as_str().unwrap_or("").to_string();
    let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");

    let (path, container) = if sub == "portforward" {
        if phase != "Running" {
            return Err(ApiError::bad_request(format!(
                "pod {name} is not running and cannot be forwarded; current status is {phase}"
            )));
        }
        (format!("/portForward/{ns}/{name}"), None)
    } else {
        let c = pick_container(&pod, &name, asked)?;
        if is_upgrade && matches!(phase, "Succeeded" | "Failed") {
            return Err(ApiError::bad_request(format!(
                "cannot {sub} into a container in a completed pod; current phase is {phase}"
            )));
        }
        let prefix = match sub.as_str() {
            "log" => "containerLogs",
            "exec" => "exec",
            _ => "attach",
        };
        if sub == "log" {
            let previous = query.iter().any(|(k, v)| k == "previous" && (v == "true" || v == "1"));
            let st = container_state(&pod, &c);
            let waiting = st.and_then(|s| s["state"]["waiting"]["reason"].as_str());
            let never_ran = st.is_none_or(|s| s["lastState"].as_object().is_none_or(|m| m.is_empty()));
            if let Some(reason) = waiting
                && (never_ran || !previous)
                && st.and_then(|s| s["containerID"].as_str()).is_none()
            {
                return Err(ApiError::bad_request(format!(
                    "container \"{c}\" in pod \"{name}\" is waiting to start: {reason}"
                )));
            }
            if st.is_none() || node.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "container \"{c}\" in pod \"{name}\" is waiting to start: ContainerCreating"
                )));
            }
        }
        (format!("/{prefix}/{ns}/{name}/{c}"), Some(c))
    };
    let _ = container;
    if node.is_empty() {
        return Err(ApiError::bad_request(format!("pod {name} does not have a host assigned")));
    }
    let nodes = reg.resource("", "v1", "nodes").ok_or_else(ApiError::path_not_found)?;
    let node_obj = reg.get(&nodes, None, &node).await?;
    let port = node_obj["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"].as_u64().unwrap_or(10250) as u16;
    let ip = node_obj["status"]["addresses"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .and_then(|x| x["address"].as_str())
        .unwrap_or("127.0.0.1")
        .to_string();
    let kept: Vec<(String, String)> = query.into_iter().filter(|(k, _)| k != "container").collect();
    let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    let uri = if qs.is_empty() { path } else { format!("{path}?{qs}") };
    let tls = state.kubelet_tls.get().cloned().ok_or_else(|| ApiError::service_unavailable("no kubelet client"))?;
    forward(tls, &ip, port, &uri, req, is_upgrade).await
}

async fn connect(
    tls: Arc<rustls::ClientConfig>,
    ip: &str,
    port: u16,
) -> ApiResult<tokio_rustls::client::TlsStream<TcpStream>> {
    let unreachable =
        |e: &dyn std::fmt::Display| ApiError::internal(format!("error dialing backend: dial tcp {ip}:{port}: {e}"));
    let tcp = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect((ip, port)))
        .await
        .map_err(|_| unreachable(&"i/o timeout"))?
        .map_err(|e| unreachable(&e))?;
    let server = ServerName::try_from(ip.to_string()).map_err(|e| unreachable(&e))?;
    TlsConnector::from(tls).connect(server, tcp).await.map_err(|e| unreachable(&e))
}

async fn forward(
    tls: Arc<rustls::ClientConfig>,
    ip: &str,
    port: u16,
    uri: &str,
    mut req: Request,
    upgrade: bool,
) -> ApiResult<Response> {
    let stream = connect(tls, ip, port).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ApiError::internal(format!("error dialing backend: {e}")))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let mut builder = http::Request::builder().method(req.method().clone()).uri(uri);
    for (k, v) in req.headers() {
        if k == http::header::AUTHORIZATION || k == http::header::HOST {
            continue;
        }
        builder = builder.header(k, v);
    }
    builder = builder.header(http::header::HOST, format!("{ip}:{port}"));
    let client_upgrade = if upgrade { Some(hyper::upgrade::on(&mut req)) } else { None };
    let backend_req = builder.body(Body::empty()).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut resp = sender
        .send_request(backend_req)
        .await
        .map_err(|e| ApiError::internal(format!("error dialing backend: {e}")))?;
    if upgrade && resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        let backend_upgrade = hyper::upgrade::on(&mut resp);
        let (parts, _) = resp.into_parts();
        if let Some(client_upgrade) = client_upgrade {
            tokio::spawn(async move {
                let (c, b) = tokio::join!(client_upgrade, backend_upgrade);
                if let (Ok(c), Ok(b)) = (c, b) {
                    let _ = crate::streams::proxy_upgraded(TokioIo::new(c), TokioIo::new(b)).await;
                }
            });
        }
        return Ok(Response::from_parts(parts, Body::empty()));
    }
    let (parts, body) = resp.into_parts();
    Ok(Response::from_parts(parts, Body::new(body)))
}

/// The rustls client configuration for kubelets: the API server's client certificate, and
/// no check of the kubelet's self-signed serving certificate (the API server's default
/// without `--kubelet-certificate-authority`).
pub fn kubelet_client_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("kubelet client certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("kubelet client key: {e}"))?;
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        .with_client_auth_cert(chain, key)
        .map_err(|e| e.to_string())?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Accepts any kubelet serving certificate (signatures are still checked).
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
