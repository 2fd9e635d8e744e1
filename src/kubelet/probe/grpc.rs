//! The grpc handler, as `pkg/probe/grpc`: `grpc.health.v1.Health/Check` over
//! HTTP/2 cleartext to the pod IP; `SERVING` passes, anything else fails with the
//! kubelet's texts (`service unhealthy (responded with "NOT_SERVING")`, …).
//! Like the kubelet's blocking dial, a connection that cannot be made is retried
//! until the timeout, which then is the failure.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{ProbeOutcome, USER_AGENT, dial, go_duration, go_quote, join_host_port};

const CHECK_PATH: &str = "/grpc.health.v1.Health/Check";
/// A health answer is a few bytes; anything bigger than this is not one.
const MAX_MESSAGE: usize = 64 * 1024;
/// gRPC's initial reconnect back-off.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// `grpc.health.v1.HealthCheckResponse` (the status enum as its wire integer).
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

/// `HealthCheckResponse.ServingStatus.SERVING`.
const SERVING: i32 = 1;

/// Go's name of a serving status (its number when unknown).
fn status_name(status: i32) -> String {
    match status {
        0 => "UNKNOWN".into(),
        1 => "SERVING".into(),
        2 => "NOT_SERVING".into(),
        3 => "SERVICE_UNKNOWN".into(),
        n => n.to_string(),
    }
}

/// Go's name of a gRPC status code.
fn code_name(code: u32) -> String {
    const NAMES: [&str; 17] = [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    usize::try_from(code).ok().and_then(|i| NAMES.get(i)).map_or_else(|| format!("Code({code})"), |n| n.to_string())
}

const UNKNOWN: u32 = 2;
const DEADLINE_EXCEEDED: u32 = 4;
const UNIMPLEMENTED: u32 = 12;
const INTERNAL: u32 = 13;
const UNAVAILABLE: u32 = 14;

/// A failed call: a gRPC status code and message.
#[derive(Debug, PartialEq, Eq)]
struct RpcError {
    code: u32,
    message: String,
}

impl RpcError {
    fn new(code: u32, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into() }
    }
}

/// Checks `service` on `host:port` within `timeout`.
pub(super) async fn probe(host: &str, port: i32, service: &str, timeout: Duration) -> ProbeOutcome {
    let addr = join_host_port(host, port);
    let deadline = Instant::now() + timeout;
    let Ok(port) = u16::try_from(port) else {
        return ProbeOutcome::Failure(format!("error: failed to connect service at {}: invalid port", go_quote(&addr)));
    };
    let Some((sender, _connection)) = connect(host, port, deadline).await else {
        return ProbeOutcome::Failure(format!(
            "timeout: failed to connect service {} within {}: context deadline exceeded",
            go_quote(&addr),
            go_duration(timeout)
        ));
    };
    let outcome = match tokio::time::timeout_at(deadline, check(sender, &addr, service, deadline)).await {
        Err(_) => rpc_failure(RpcError::new(DEADLINE_EXCEEDED, "context deadline exceeded"), timeout),
        Ok(Err(e)) => rpc_failure(e, timeout),
        Ok(Ok(status)) if status == SERVING => ProbeOutcome::Success,
        Ok(Ok(status)) => {
            ProbeOutcome::Failure(format!("service unhealthy (responded with {})", go_quote(&status_name(status))))
        }
    };
    tracing::debug!(%addr, service, ?outcome, "grpc probe");
    outcome
}

/// The kubelet's text for a failed health call.
fn rpc_failure(e: RpcError, timeout: Duration) -> ProbeOutcome {
    ProbeOutcome::Failure(match e.code {
        UNIMPLEMENTED => format!(
            "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {}",
            e.message
        ),
        DEADLINE_EXCEEDED => format!("timeout: health rpc did not complete within {}", go_duration(timeout)),
        code => format!("error: health rpc probe failed: rpc error: code = {} desc = {}", code_name(code), e.message),
    })
}

/// The task driving one HTTP/2 connection, stopped when dropped.
struct Connection(JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Opens an HTTP/2 connection, retrying until `deadline`.
async fn connect(host: &str, port: u16, deadline: Instant) -> Option<(SendRequest<Full<Bytes>>, Connection)> {
    loop {
        match try_connect(host, port, deadline).await {
            Ok(connected) => return Some(connected),
            Err(e) => tracing::debug!(host, port, error = %e, "grpc probe connect"),
        }
        let retry = Instant::now() + RECONNECT_DELAY;
        if retry >= deadline {
            tokio::time::sleep_until(deadline).await;
            return None;
        }
        tokio::time::sleep_until(retry).await;
    }
}

async fn try_connect(
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<(SendRequest<Full<Bytes>>, Connection), String> {
    let tcp = dial(host, port, deadline).await.map_err(|e| e.to_string())?;
    let handshake = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp));
    let (mut sender, conn) =
        tokio::time::timeout_at(deadline, handshake).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    let connection = Connection(tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::trace!(error = %e, "grpc probe connection");
        }
    }));
    tokio::time::timeout_at(deadline, sender.ready()).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    Ok((sender, connection))
}

/// Calls `Health/Check` and returns the serving status.
async fn check(
    mut sender: SendRequest<Full<Bytes>>,
    addr: &str,
    service: &str,
    deadline: Instant,
) -> Result<i32, RpcError> {
    let request = check_request(addr, service, deadline).map_err(|e| RpcError::new(INTERNAL, e))?;
    let response = sender.send_request(request).await.map_err(|e| RpcError::new(UNAVAILABLE, e.to_string()))?;
    let message = read_unary(response).await?;
    let response = HealthCheckResponse::decode(message)
        .map_err(|e| RpcError::new(INTERNAL, format!("grpc: failed to unmarshal the received message: {e}")))?;
    Ok(response.status)
}

fn check_request(addr: &str, service: &str, deadline: Instant) -> Result<Request<Full<Bytes>>, String> {
    let millis = deadline.saturating_duration_since(Instant::now()).as_millis().max(1);
    Request::post(format!("http://{addr}{CHECK_PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", USER_AGENT)
        .header("grpc-timeout", format!("{millis}m"))
        .body(Full::new(frame(&HealthCheckRequest { service: service.into() })))
        .map_err(|e| e.to_string())
}

/// A message in gRPC's length-prefixed framing, uncompressed.
fn frame(message: &impl Message) -> Bytes {
    let payload = message.encode_to_vec();
    let mut buf = BytesMut::with_capacity(payload.len() + 5);
    buf.put_u8(0);
    buf.put_u32(u32::try_from(payload.len()).unwrap_or(u32::MAX));
    buf.put_slice(&payload);
    buf.freeze()
}

/// Reads one response message and the call's status.
async fn read_unary(response: Response<Incoming>) -> Result<Bytes, RpcError> {
    if response.status() != StatusCode::OK {
        return Err(http_status_error(response.status()));
    }
    if let Some(status) = grpc_status(response.headers()) {
        return Err(
            status.unwrap_or_else(|| RpcError::new(INTERNAL, "server closed the stream without sending a message"))
        );
    }
    let mut body = response.into_body();
    let mut data = BytesMut::new();
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| RpcError::new(UNAVAILABLE, e.to_string()))?;
        match frame.into_data() {
            Ok(chunk) if data.len() + chunk.len() <= MAX_MESSAGE => data.extend_from_slice(&chunk),
            Ok(_) => return Err(RpcError::new(INTERNAL, "grpc: received message larger than max")),
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    match trailers.as_ref().and_then(grpc_status) {
        Some(Some(e)) => Err(e),
        Some(None) => unframe(data.freeze()),
        None => Err(RpcError::new(INTERNAL, "server closed the stream without sending trailers")),
    }
}

/// The `grpc-status` in `headers`: `None` when absent, `Some(None)` for OK.
fn grpc_status(headers: &HeaderMap) -> Option<Option<RpcError>> {
    let code = headers.get("grpc-status")?.to_str().ok().and_then(|c| c.parse::<u32>().ok()).unwrap_or(UNKNOWN);
    if code == 0 {
        return Some(None);
    }
    let message = headers.get("grpc-message").map(percent_decode).unwrap_or_default();
    Some(Some(RpcError::new(code, message)))
}

/// The status code and text Go's gRPC client gives for a non-200 answer.
fn http_status_error(status: StatusCode) -> RpcError {
    let code = match status.as_u16() {
        400 => INTERNAL,
        401 => 16,
        403 => 7,
        404 => UNIMPLEMENTED,
        429 | 502 | 503 | 504 => UNAVAILABLE,
        _ => UNKNOWN,
    };
    let reason = status.canonical_reason().unwrap_or_default();
    RpcError::new(code, format!("unexpected HTTP status code received from server: {} ({reason})", status.as_u16()))
}

/// The single message of a unary response.
fn unframe(mut data: Bytes) -> Result<Bytes, RpcError> {
    if data.len() < 5 {
        return Err(RpcError::new(INTERNAL, "grpc: server returned no response message"));
    }
    let compressed = data.get_u8();
    let len = usize::try_from(data.get_u32()).unwrap_or(usize::MAX);
    if compressed != 0 {
        return Err(RpcError::new(INTERNAL, "grpc: compressed message received but no compression was requested"));
    }
    if data.len() < len {
        return Err(RpcError::new(INTERNAL, "grpc: response message truncated"));
    }
    Ok(data.split_to(len))
}

/// Decodes the percent-encoding of `grpc-message`.
fn percent_decode(value: &HeaderValue) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::{NoExec, run_once};
    use super::*;
    use http_body_util::combinators::BoxBody;
    use hyper::service::service_fn;
    use k8s_openapi::api::core::v1::{Container, GRPCAction, Probe};
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use tokio::net::TcpListener;

    type Seen = Arc<Mutex<Vec<(String, String)>>>;

    fn grpc_response(
        headers: &[(&'static str, &'static str)],
        body: BoxBody<Bytes, Infallible>,
    ) -> Response<BoxBody<Bytes, Infallible>> {
        let mut response = Response::new(body);
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/grpc"));
        for (name, value) in headers {
            response.headers_mut().insert(*name, HeaderValue::from_static(value));
        }
        response
    }

    /// A health server: `""` is serving, `down` not serving, `missing` gets
    /// NOT_FOUND, `unimplemented` UNIMPLEMENTED (trailers-only), `slow` sleeps.
    async fn answer(service: &str) -> Response<BoxBody<Bytes, Infallible>> {
        let status = match service {
            "missing" => {
                return grpc_response(
                    &[("grpc-status", "5"), ("grpc-message", "unknown%20service")],
                    Full::default().boxed(),
                );
            }
            "unimplemented" => {
                let message = "unknown service grpc.health.v1.Health";
                return grpc_response(&[("grpc-status", "12"), ("grpc-message", message)], Full::default().boxed());
            }
            "slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                SERVING
            }
            "down" => 2,
            _ => SERVING,
        };
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let body = Full::new(frame(&HealthCheckResponse { status })).with_trailers(async { Some(Ok(trailers)) });
        grpc_response(&[], body.boxed())
    }

    async fn handle(req: Request<Incoming>, seen: Seen) -> Result<Response<BoxBody<Bytes, Infallible>>, Infallible> {
        let path = req.uri().path().to_string();
        let agent = req.headers().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let service = unframe(body).ok().and_then(|m| HealthCheckRequest::decode(m).ok()).map(|r| r.service);
        let service = service.unwrap_or_default();
        seen.lock().map(|mut s| s.push((path, agent))).ok();
        Ok(answer(&service).await)
    }

    async fn serve() -> (u16, Seen) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Seen::default();
        let requests = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = requests.clone();
                let service = service_fn(move |req| handle(req, seen.clone()));
                tokio::spawn(async move {
                    let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        (port, seen)
    }

    async fn run(port: u16, service: Option<&str>) -> ProbeOutcome {
        let probe = Probe {
            grpc: Some(GRPCAction { port: port.into(), service: service.map(str::to_string) }),
            ..Default::default()
        };
        run_once(&probe, "127.0.0.1", &Container::default(), &NoExec).await
    }

    #[tokio::test]
    async fn serving_passes() {
        let (port, seen) = serve().await;
        assert_eq!(run(port, None).await, ProbeOutcome::Success);
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, vec![("/grpc.health.v1.Health/Check".to_string(), "kube-probe/1.33".to_string())]);
    }

    #[tokio::test]
    async fn not_serving_fails() {
        let (port, _) = serve().await;
        assert_eq!(
            run(port, Some("down")).await,
            ProbeOutcome::Failure(r#"service unhealthy (responded with "NOT_SERVING")"#.into())
        );
    }

    #[tokio::test]
    async fn rpc_errors_are_worded_as_the_kubelet() {
        let (port, _) = serve().await;
        assert_eq!(
            run(port, Some("missing")).await,
            ProbeOutcome::Failure(
                "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service".into()
            )
        );
        assert_eq!(
            run(port, Some("unimplemented")).await,
            ProbeOutcome::Failure(
                "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): \
                 unknown service grpc.health.v1.Health"
                    .into()
            )
        );
    }

    #[tokio::test]
    async fn a_slow_answer_times_out() {
        let (port, _) = serve().await;
        assert_eq!(
            run(port, Some("slow")).await,
            ProbeOutcome::Failure("timeout: health rpc did not complete within 1s".into())
        );
    }

    #[tokio::test]
    async fn no_server_fails_after_the_timeout() {
        let port = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr").port();
        let started = Instant::now();
        assert_eq!(
            run(port, None).await,
            ProbeOutcome::Failure(format!(
                r#"timeout: failed to connect service "127.0.0.1:{port}" within 1s: context deadline exceeded"#
            ))
        );
        assert!(started.elapsed() >= Duration::from_millis(990));
    }

    #[test]
    fn names_and_decoding() {
        assert_eq!(status_name(3), "SERVICE_UNKNOWN");
        assert_eq!(status_name(7), "7");
        assert_eq!(code_name(14), "Unavailable");
        assert_eq!(code_name(20), "Code(20)");
        assert_eq!(percent_decode(&HeaderValue::from_static("a%20b%zz%")), "a b%zz%");
        let framed = frame(&HealthCheckResponse { status: 2 });
        assert_eq!(unframe(framed).ok().and_then(|m| HealthCheckResponse::decode(m).ok()).map(|r| r.status), Some(2));
        assert!(unframe(Bytes::from_static(&[0, 0, 0])).is_err());
    }
}
