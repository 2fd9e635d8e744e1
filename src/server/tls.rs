//! The HTTPS listener: rustls with optional client certificates verified against
//! the cluster CA, HTTP/1.1 and HTTP/2 (ALPN), upgrades for streaming, and the
//! verified client identity attached to every request.

use std::sync::Arc;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::certs::Certs;
use crate::apiserver::auth::PeerCertificate;

/// The rustls configuration of the API server.
pub fn server_config(certs: &Certs) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(certs.ca_pem.as_bytes()) {
        roots
            .add(c.map_err(|e| format!("bad CA certificate: {e}"))?)
            .map_err(|e| format!("bad CA certificate: {e}"))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| format!("client verifier: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(certs.serving_cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad serving certificate: {e}"))?;
    let key =
        PrivateKeyDer::from_pem_slice(certs.serving_key_pem.as_bytes()).map_err(|e| format!("bad serving key: {e}"))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls: {e}"))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The user a verified client certificate names.
fn peer_identity(der: &CertificateDer<'_>) -> Option<PeerCertificate> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let subject = cert.subject();
    let common_name = subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let organizations = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
    Some(PeerCertificate { common_name, organizations })
}

/// Accept connections until the listener fails.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, app: Router) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let stream = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let peer = stream.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(peer_identity);
            let svc = app.map_request(move |mut req: http::Request<Incoming>| {
                if let Some(p) = &peer {
                    req.extensions_mut().insert(p.clone());
                }
                req
            });
            let svc = TowerToHyperService::new(svc);
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http2().max_concurrent_streams(1000);
            if let Err(e) = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
}
