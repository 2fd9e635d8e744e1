//! The httpGet handler, as `pkg/probe/http`: a GET with `User-Agent:
//! kube-probe/1.33` and `Accept: */*` (unless the probe sets them), HTTPS without
//! certificate verification, one connection per attempt. 200–299 passes;
//! redirects are followed (at most 10) only to the same host name, and a
//! redirect that is not followed passes with a warning; anything else fails with
//! `HTTP probe failed with statuscode: <code>`. At most 10 KiB of the body is read.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONNECTION, HOST, LOCATION, USER_AGENT as USER_AGENT_HEADER};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{Container, HTTPGetAction};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::{MAX_OUTPUT, ProbeOutcome, USER_AGENT, dial, go_quote, join_host_port, limited_text, resolve_port};

/// Go's HTTP client gives up after this many redirects.
const MAX_REDIRECTS: usize = 10;

/// Runs an httpGet probe against `pod_ip` (or the action's `host`) within `timeout`.
pub(super) async fn probe(
    action: &HTTPGetAction,
    container: &Container,
    pod_ip: &str,
    timeout: Duration,
) -> ProbeOutcome {
    let port = match resolve_port(&action.port, container) {
        Ok(port) => port,
        Err(e) => return ProbeOutcome::Unknown(e),
    };
    let scheme = action.scheme.as_deref().unwrap_or("http").to_ascii_lowercase();
    let host = action.host.as_deref().filter(|h| !h.is_empty()).unwrap_or(pod_ip);
    let url = Url::new(&scheme, host, port, action.path.as_deref().unwrap_or_default());
    let (headers, host_override) = match probe_headers(action) {
        Ok(headers) => headers,
        Err(e) => return ProbeOutcome::Failure(format!("Get {}: {e}", go_quote(&url.to_string()))),
    };
    let outcome = ProbeRequest { headers, host_override }.run(url, Instant::now() + timeout).await;
    tracing::debug!(?outcome, "http probe");
    outcome
}

/// The probe's headers plus the kubelet's defaults, and a `Host` override.
fn probe_headers(action: &HTTPGetAction) -> Result<(HeaderMap, Option<String>), String> {
    let mut headers = HeaderMap::new();
    let mut host = None;
    for header in action.http_headers.iter().flatten() {
        if header.name.eq_ignore_ascii_case("host") {
            host.get_or_insert_with(|| header.value.clone());
            continue;
        }
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| format!("net/http: invalid header field name {}", go_quote(&header.name)))?;
        let value = HeaderValue::from_str(&header.value)
            .map_err(|_| format!("net/http: invalid header field value for {}", go_quote(&header.name)))?;
        headers.append(name, value);
    }
    if !headers.contains_key(USER_AGENT_HEADER) {
        headers.insert(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
    }
    match headers.get(ACCEPT) {
        None => {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        Some(value) if value.is_empty() => {
            headers.remove(ACCEPT);
        }
        Some(_) => {}
    }
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    Ok((headers, host))
}

/// An `http(s)://` URL split the way the prober needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Url {
    scheme: String,
    /// `host:port` as it appears in the URL (and the `Host` header).
    authority: String,
    /// The host name or IP, without brackets, used to dial and to compare redirects.
    host: String,
    port: u16,
    /// Path and query, escaped; empty for the bare `http://host:port`.
    target: String,
}

impl Url {
    /// The URL the kubelet builds from scheme, host, port and path.
    fn new(scheme: &str, host: &str, port: u16, path: &str) -> Url {
        let path = escape(strip_fragment(path));
        let target = if path.is_empty() || path.starts_with('/') { path } else { format!("/{path}") };
        Url { scheme: scheme.into(), authority: join_host_port(host, port), host: host.into(), port, target }
    }

    /// Parses an absolute URL (`scheme://authority/path?query#fragment`).
    fn parse(s: &str) -> Result<Url, String> {
        let (scheme, rest) = s.split_once("://").ok_or_else(|| format!("invalid URL {}", go_quote(s)))?;
        let scheme = scheme.to_ascii_lowercase();
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = split_authority(authority, &scheme)?;
        let target = escape(strip_fragment(tail));
        Ok(Url { scheme, authority: authority.into(), host, port, target })
    }

    /// Resolves a `Location` header against this URL.
    fn resolve(&self, location: &str) -> Result<Url, String> {
        if has_scheme(location) {
            return Url::parse(location);
        }
        if location.starts_with("//") {
            return Url::parse(&format!("{}:{location}", self.scheme));
        }
        let location = escape(strip_fragment(location));
        let path = self.target.split('?').next().unwrap_or_default();
        let target = if location.starts_with('/') {
            location
        } else if location.starts_with('?') {
            format!("{path}{location}")
        } else {
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            format!("{dir}/{location}")
        };
        Ok(Url { target, ..self.clone() })
    }

    /// The request target: the path and query, `/` when empty.
    fn request_target(&self) -> &str {
        if self.target.is_empty() { "/" } else { &self.target }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.target)
    }
}

fn strip_fragment(s: &str) -> &str {
    s.split('#').next().unwrap_or_default()
}

/// Whether `s` starts with a URL scheme (`http:`, `https:`, …).
fn has_scheme(s: &str) -> bool {
    s.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Splits `host:port` (`[v6]:port`), defaulting the port from the scheme.
fn split_authority(authority: &str, scheme: &str) -> Result<(String, u16), String> {
    let (host, port) = match authority.strip_prefix('[').and_then(|a| a.split_once(']')) {
        Some((host, rest)) => (host, rest.strip_prefix(':')),
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port.filter(|p| !p.is_empty()) {
        Some(port) => port.parse().map_err(|_| format!("invalid port {} after host", go_quote(&format!(":{port}"))))?,
        None if scheme == "https" => 443,
        None => 80,
    };
    Ok((host.to_string(), port))
}

/// Percent-encodes the bytes that may not appear in a request target as is.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let allowed = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
        if allowed {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What every request of one probe attempt (and its redirects) carries.
struct ProbeRequest {
    headers: HeaderMap,
    host_override: Option<String>,
}

impl ProbeRequest {
    /// Sends the request, follows same-host redirects and classifies the answer.
    async fn run(&self, mut url: Url, deadline: Instant) -> ProbeOutcome {
        let first_host = url.host.clone();
        let mut host_header = self.host_override.clone().unwrap_or_else(|| url.authority.clone());
        let mut redirects = 0;
        loop {
            let quoted = go_quote(&url.to_string());
            let (response, connection) =
                match tokio::time::timeout_at(deadline, self.send(&url, &host_header, deadline)).await {
                    Ok(Ok(exchange)) => exchange,
                    Ok(Err(e)) => return ProbeOutcome::Failure(format!("Get {quoted}: {e}")),
                    Err(_) => {
                        return ProbeOutcome::Failure(format!(
                            "Get {quoted}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                        ));
                    }
                };
            let Some(location) = redirect_location(&response) else {
                return finish(response, connection, deadline).await;
            };
            let next = match url.resolve(&location) {
                Ok(next) => next,
                Err(e) => return ProbeOutcome::Failure(format!("Get {quoted}: {e}")),
            };
            if next.host != first_host {
                return finish(response, connection, deadline).await;
            }
            if redirects >= MAX_REDIRECTS {
                return ProbeOutcome::Failure(format!("Get {}: stopped after 10 redirects", go_quote(&location)));
            }
            redirects += 1;
            host_header = match &self.host_override {
                Some(host) if !has_scheme(&location) => host.clone(),
                _ => next.authority.clone(),
            };
            url = next;
        }
    }

    /// One request on a new connection; the response and the connection's task.
    async fn send(&self, url: &Url, host: &str, deadline: Instant) -> Result<(Response<Incoming>, Connection), String> {
        if url.scheme != "http" && url.scheme != "https" {
            return Err(format!("unsupported protocol scheme {}", go_quote(&url.scheme)));
        }
        let mut request = Request::get(url.request_target()).body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        *request.headers_mut() = self.headers.clone();
        let host = HeaderValue::from_str(host).map_err(|_| format!("invalid Host header {}", go_quote(host)))?;
        request.headers_mut().insert(HOST, host);
        let tcp = dial(&url.host, url.port, deadline).await.map_err(|e| e.while_awaiting_headers())?;
        if url.scheme == "http" {
            return exchange(tcp, request).await;
        }
        let server_name = ServerName::try_from(url.host.clone()).map_err(|e| e.to_string())?;
        let tls = tls_connector()?.connect(server_name, tcp).await.map_err(|e| tls_error_text(&e))?;
        exchange(tls, request).await
    }
}

/// The `Location` of a redirect Go's client would follow.
fn redirect_location(response: &Response<Incoming>) -> Option<String> {
    if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    response.headers().get(LOCATION)?.to_str().ok().filter(|l| !l.is_empty()).map(str::to_string)
}

/// Reads at most 10 KiB of the body and turns the status into an outcome.
async fn finish(response: Response<Incoming>, _connection: Connection, deadline: Instant) -> ProbeOutcome {
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let body = match tokio::time::timeout_at(deadline, read_limited(&mut body)).await {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => return ProbeOutcome::Unknown(e),
        Err(_) => {
            return ProbeOutcome::Unknown(
                "context deadline exceeded (Client.Timeout or context cancellation while reading body)".into(),
            );
        }
    };
    match status {
        200..=299 => ProbeOutcome::Success,
        300..=399 => {
            ProbeOutcome::Warning(format!("Probe terminated redirects, Response body: {}", limited_text(&body)))
        }
        _ => ProbeOutcome::Failure(format!("HTTP probe failed with statuscode: {status}")),
    }
}

async fn read_limited(body: &mut Incoming) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    while buf.len() < MAX_OUTPUT {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => return Err(e.to_string()),
        }
    }
    buf.truncate(MAX_OUTPUT);
    Ok(buf)
}

/// The task driving one HTTP/1 connection, stopped when dropped.
struct Connection(JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends `request` over `io` with HTTP/1.1 and waits for the response head.
async fn exchange<IO>(io: IO, request: Request<Empty<Bytes>>) -> Result<(Response<Incoming>, Connection), String>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(hyper_error_text)?;
    let connection = Connection(tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::trace!(error = %e, "http probe connection");
        }
    }));
    let response = sender.send_request(request).await.map_err(hyper_error_text)?;
    Ok((response, connection))
}

/// A hyper error as Go's client words the common ones.
fn hyper_error_text(e: hyper::Error) -> String {
    if e.is_incomplete_message() { "EOF".into() } else { e.to_string() }
}

/// A TLS failure; a plain HTTP answer gets Go's wording.
fn tls_error_text(e: &std::io::Error) -> String {
    let plain_http = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).is_some_and(|inner| {
        matches!(inner, rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType))
    });
    if plain_http { "http: server gave HTTP response to HTTPS client".into() } else { format!("tls: {e}") }
}

/// A TLS connector that accepts any server certificate, as the kubelet's
/// prober (`InsecureSkipVerify`); handshake signatures are still checked.
fn tls_connector() -> Result<TlsConnector, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG.get_or_init(insecure_client_config).clone().map(TlsConnector::from)
}

fn insecure_client_config() -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{NoExec, run_once};
    use super::*;
    use http::StatusCode;
    use http_body_util::Full;
    use hyper::service::service_fn;
    use k8s_openapi::api::core::v1::{ContainerPort, HTTPHeader, Probe};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::Mutex;
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;

    type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

    /// The test server's routes.
    async fn route(path: &str) -> Response<Full<Bytes>> {
        let (status, location, body) = match path {
            "/fail" => (500, None, "x".repeat(20 * 1024)),
            "/redirect-local" => (302, Some("/ok"), String::new()),
            "/redirect-loop" => (302, Some("/redirect-loop"), String::new()),
            "/redirect-away" => (302, Some("http://example.invalid/"), "moved".into()),
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                (200, None, String::new())
            }
            _ => (200, None, "ok".into()),
        };
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(location) = location {
            response.headers_mut().insert(LOCATION, HeaderValue::from_static(location));
        }
        response
    }

    async fn serve_connection<IO>(io: IO, seen: Seen)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = service_fn(move |req: Request<Incoming>| {
            let seen = seen.clone();
            async move {
                seen.lock().map(|mut s| s.push((req.uri().to_string(), req.headers().clone()))).ok();
                Ok::<_, Infallible>(route(req.uri().path()).await)
            }
        });
        let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service).await;
    }

    /// An HTTP/1 server (HTTPS with a self-signed certificate when `tls`).
    async fn serve(tls: bool) -> (SocketAddr, Seen) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Seen::default();
        let acceptor = tls.then(test_acceptor);
        let requests = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = requests.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve_connection(tls, seen).await;
                            }
                        }
                        None => serve_connection(stream, seen).await,
                    }
                });
            }
        });
        (addr, seen)
    }

    fn test_acceptor() -> TlsAcceptor {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
        let key = rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .expect("server config");
        TlsAcceptor::from(Arc::new(config))
    }

    fn http_probe(port: IntOrString, path: &str) -> Probe {
        Probe {
            http_get: Some(HTTPGetAction { port, path: Some(path.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    async fn run(probe: &Probe) -> ProbeOutcome {
        run_once(probe, "127.0.0.1", &Container::default(), &NoExec).await
    }

    fn requests(seen: &Seen) -> Vec<(String, HeaderMap)> {
        seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn a_2xx_answer_passes_and_the_request_looks_like_the_kubelets() {
        let (addr, seen) = serve(false).await;
        assert_eq!(run(&http_probe(IntOrString::Int(addr.port().into()), "/ok?full=1")).await, ProbeOutcome::Success);
        let requests = requests(&seen);
        let (target, headers) = &requests[0];
        assert_eq!(target, "/ok?full=1");
        assert_eq!(header(headers, "user-agent"), Some("kube-probe/1.33"));
        assert_eq!(header(headers, "accept"), Some("*/*"));
        assert_eq!(header(headers, "host"), Some(addr.to_string().as_str()));
    }

    #[tokio::test]
    async fn an_error_status_fails_without_the_body() {
        let (addr, _) = serve(false).await;
        assert_eq!(
            run(&http_probe(IntOrString::Int(addr.port().into()), "/fail")).await,
            ProbeOutcome::Failure("HTTP probe failed with statuscode: 500".into())
        );
    }

    #[tokio::test]
    async fn named_ports_and_probe_headers_are_used() {
        let (addr, seen) = serve(false).await;
        let container = Container {
            ports: Some(vec![ContainerPort {
                name: Some("http".into()),
                container_port: addr.port().into(),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let mut probe = http_probe(IntOrString::String("http".into()), "healthz");
        let headers = [("X-Custom", "a"), ("Host", "probe.example"), ("User-Agent", "custom"), ("Accept", "")];
        if let Some(action) = probe.http_get.as_mut() {
            action.http_headers =
                Some(headers.iter().map(|(n, v)| HTTPHeader { name: n.to_string(), value: v.to_string() }).collect());
        }
        assert_eq!(run_once(&probe, "127.0.0.1", &container, &NoExec).await, ProbeOutcome::Success);
        let requests = requests(&seen);
        let (target, headers) = &requests[0];
        assert_eq!(target, "/healthz");
        assert_eq!(header(headers, "x-custom"), Some("a"));
        assert_eq!(header(headers, "host"), Some("probe.example"));
        assert_eq!(header(headers, "user-agent"), Some("custom"));
        assert_eq!(header(headers, "accept"), None);
    }

    #[tokio::test]
    async fn same_host_redirects_are_followed() {
        let (addr, seen) = serve(false).await;
        let outcome = run(&http_probe(IntOrString::Int(addr.port().into()), "/redirect-local")).await;
        assert_eq!(outcome, ProbeOutcome::Success);
        let targets: Vec<String> = requests(&seen).into_iter().map(|(t, _)| t).collect();
        assert_eq!(targets, vec!["/redirect-local", "/ok"]);
    }

    #[tokio::test]
    async fn redirect_loops_stop_after_10() {
        let (addr, seen) = serve(false).await;
        let outcome = run(&http_probe(IntOrString::Int(addr.port().into()), "/redirect-loop")).await;
        assert_eq!(outcome, ProbeOutcome::Failure(r#"Get "/redirect-loop": stopped after 10 redirects"#.into()));
        assert_eq!(requests(&seen).len(), 11);
    }

    #[tokio::test]
    async fn a_redirect_to_another_host_is_a_warning() {
        let (addr, seen) = serve(false).await;
        let outcome = run(&http_probe(IntOrString::Int(addr.port().into()), "/redirect-away")).await;
        assert_eq!(outcome, ProbeOutcome::Warning("Probe terminated redirects, Response body: moved".into()));
        assert_eq!(requests(&seen).len(), 1);
    }

    #[tokio::test]
    async fn a_slow_answer_times_out_as_gos_client() {
        let (addr, _) = serve(false).await;
        let outcome = run(&http_probe(IntOrString::Int(addr.port().into()), "/slow")).await;
        assert_eq!(
            outcome,
            ProbeOutcome::Failure(format!(
                r#"Get "http://{addr}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"#
            ))
        );
    }

    #[tokio::test]
    async fn a_refused_connection_fails_with_the_dial_error() {
        let port = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr").port();
        assert_eq!(
            run(&http_probe(IntOrString::Int(port.into()), "/healthz")).await,
            ProbeOutcome::Failure(format!(
                r#"Get "http://127.0.0.1:{port}/healthz": dial tcp 127.0.0.1:{port}: connect: connection refused"#
            ))
        );
    }

    #[tokio::test]
    async fn https_accepts_any_certificate() {
        let (addr, seen) = serve(true).await;
        let mut probe = http_probe(IntOrString::Int(addr.port().into()), "/ok");
        if let Some(action) = probe.http_get.as_mut() {
            action.scheme = Some("HTTPS".into());
        }
        assert_eq!(run(&probe).await, ProbeOutcome::Success);
        assert_eq!(requests(&seen).len(), 1);
    }

    #[tokio::test]
    async fn https_against_plain_http_fails_as_go_says() {
        let (addr, _) = serve(false).await;
        let mut probe = http_probe(IntOrString::Int(addr.port().into()), "/ok");
        if let Some(action) = probe.http_get.as_mut() {
            action.scheme = Some("HTTPS".into());
        }
        assert_eq!(
            run(&probe).await,
            ProbeOutcome::Failure(format!(
                r#"Get "https://{addr}/ok": http: server gave HTTP response to HTTPS client"#
            ))
        );
    }

    #[test]
    fn urls_are_built_and_resolved_as_go() {
        let url = Url::new("http", "10.42.0.5", 8080, "healthz?x=1#frag");
        assert_eq!(url.to_string(), "http://10.42.0.5:8080/healthz?x=1");
        assert_eq!(Url::new("http", "10.42.0.5", 80, "").request_target(), "/");
        assert_eq!(Url::new("https", "fd00::5", 443, "/a b").to_string(), "https://[fd00::5]:443/a%20b");
        let base = Url::new("http", "10.42.0.5", 8080, "/a/b?q");
        let resolved = |loc: &str| base.resolve(loc).map(|u| (u.to_string(), u.host));
        assert_eq!(resolved("/c"), Ok(("http://10.42.0.5:8080/c".into(), "10.42.0.5".into())));
        assert_eq!(resolved("c?d"), Ok(("http://10.42.0.5:8080/a/c?d".into(), "10.42.0.5".into())));
        assert_eq!(resolved("?z"), Ok(("http://10.42.0.5:8080/a/b?z".into(), "10.42.0.5".into())));
        assert_eq!(resolved("https://Other:9443/x"), Ok(("https://Other:9443/x".into(), "Other".into())));
        assert_eq!(resolved("//[fd00::1]/y"), Ok(("http://[fd00::1]/y".into(), "fd00::1".into())));
        assert_eq!(base.resolve("https://other/").map(|u| u.port), Ok(443));
    }
}
