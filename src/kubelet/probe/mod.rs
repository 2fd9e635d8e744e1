//! Container probes: liveness, readiness and startup, with the exec, httpGet,
//! tcpSocket and grpc handlers, behaving and reporting as the real kubelet does
//! (`pkg/probe/*` and `pkg/kubelet/prober` in Kubernetes).
//!
//! [`run_once`] runs one probe attempt and returns a [`ProbeOutcome`] whose text
//! is what the kubelet puts in its events (`Liveness probe failed: <text>`).
//! [`spawn_worker`] runs one probe of one container periodically, applies
//! `initialDelaySeconds`, `periodSeconds`, `successThreshold` and
//! `failureThreshold`, and reports through a channel:
//! - a [`ProbeReport::Event`] for every failed, warned or errored attempt
//!   (reason `Unhealthy` or `ProbeWarning`, as the kubelet's events), and
//! - a [`ProbeReport::Result`] only when the container's result flips.
//!
//! What the caller (the pod worker) does with it, as the kubelet:
//! - Initial results, before any update: readiness is *not ready*, liveness is
//!   *alive*, startup is *not started*. A container without a startup probe is
//!   started as soon as it runs; without a readiness probe it is ready when
//!   started; without a liveness probe it is alive.
//! - Startup gates the others: spawn the liveness and readiness workers only
//!   after the startup probe reported success (or right away without one).
//! - A liveness or startup failure means kill and restart the container (event
//!   `Killing`: `Container <name> failed liveness probe, will be restarted`),
//!   honouring the probe's `terminationGracePeriodSeconds` if set. The worker
//!   stops after reporting it; spawn new workers for the new container.
//! - The startup worker stops after its success; the readiness worker runs until
//!   its [`ProbeHandle`] is dropped (container gone or pod deleted). On pod
//!   deletion drop the liveness and startup handles first, as the kubelet stops
//!   those probes when the pod is being deleted.
//! - One worker is one container instance: `started_at` is that instance's start.

mod exec;
mod grpc;
mod http;
mod tcp;
mod worker;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::net::TcpStream;
use tokio::time::Instant;

pub use worker::{
    Observation, ProbeEvent, ProbeHandle, ProbeReport, ProbeResultUpdate, ProbeTarget, ProbeTiming, ProbeWorker,
    REASON_PROBE_WARNING, REASON_UNHEALTHY, spawn_worker, spawn_worker_with_timing,
};

/// The `User-Agent` the kubelet 1.33 sends on HTTP and gRPC probes.
pub const USER_AGENT: &str = "kube-probe/1.33";

/// The kubelet keeps at most this much of a probe's output or response body.
pub const MAX_OUTPUT: usize = 10 * 1024;

/// A boxed, sendable future (the same type as `futures::future::BoxFuture`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`ExecRunner::exec`] returns: the exit code and the output, or a
/// runtime error.
pub type ExecResult = Result<(i32, Vec<u8>), String>;

/// Which of a container's probes this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        })
    }
}

/// The outcome of one probe attempt, with the kubelet's text for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The container passed.
    Success,
    /// The container failed; the text is the event message's tail
    /// (`HTTP probe failed with statuscode: 500`, the exec output, …).
    Failure(String),
    /// Passed with a warning: an HTTP redirect that was not followed
    /// (`Probe terminated redirects, Response body: …`).
    Warning(String),
    /// The probe could not run (a named port that does not exist, an exec
    /// runtime error). The kubelet retries such an attempt and then ignores it.
    Unknown(String),
}

impl ProbeOutcome {
    /// Whether the kubelet counts this outcome as a pass (`Success` or `Warning`).
    /// `None` for [`ProbeOutcome::Unknown`], which counts neither way.
    pub fn passed(&self) -> Option<bool> {
        match self {
            ProbeOutcome::Success | ProbeOutcome::Warning(_) => Some(true),
            ProbeOutcome::Failure(_) => Some(false),
            ProbeOutcome::Unknown(_) => None,
        }
    }
}

/// Runs a command inside a container (the kubelet's CRI `ExecSync`).
pub trait ExecRunner: Send + Sync {
    /// Runs `command` in the probed container and returns its exit code and its
    /// stdout followed by its stderr. `timeout` is the probe's; the caller also
    /// drops the future when it elapses, so the runner should kill the process
    /// when dropped. `Err` is a runtime failure (not a non-zero exit).
    fn exec(&self, command: Vec<String>, timeout: Duration) -> BoxFuture<'_, ExecResult>;
}

/// Runs `probe` once against `container` (whose pod has `pod_ip`), bounded by
/// the probe's `timeoutSeconds`.
pub async fn run_once(probe: &Probe, pod_ip: &str, container: &Container, exec: &dyn ExecRunner) -> ProbeOutcome {
    let timeout = probe_timeout(probe);
    if let Some(action) = &probe.exec {
        let command = action.command.clone().unwrap_or_default();
        return exec::probe(command, container, timeout, exec).await;
    }
    if let Some(action) = &probe.http_get {
        return http::probe(action, container, pod_ip, timeout).await;
    }
    if let Some(action) = &probe.tcp_socket {
        let port = match resolve_port(&action.port, container) {
            Ok(port) => port,
            Err(e) => return ProbeOutcome::Unknown(e),
        };
        let host = action.host.as_deref().filter(|h| !h.is_empty()).unwrap_or(pod_ip);
        return tcp::probe(host, port, timeout).await;
    }
    if let Some(action) = &probe.grpc {
        let service = action.service.as_deref().unwrap_or_default();
        return grpc::probe(pod_ip, action.port, service, timeout).await;
    }
    ProbeOutcome::Unknown(format!("missing probe handler for container {:?}", container.name))
}

/// `timeoutSeconds`, defaulted to 1 as the API server does.
fn probe_timeout(probe: &Probe) -> Duration {
    Duration::from_secs(positive_or(probe.timeout_seconds, 1))
}

/// A positive `i32` field as `u64`, or `default` when unset or not positive
/// (the API server's defaulting turns a zero into the default).
fn positive_or(value: Option<i32>, default: u64) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).filter(|v| *v > 0).unwrap_or(default)
}

/// Resolves a probe port: a number, a container port's name, or a number in a
/// string; the errors are the kubelet's (`ResolveContainerPort`).
fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let number = match port {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(name) => match named_port(container, name) {
            Some(n) => i64::from(n),
            None => {
                name.parse::<i64>().map_err(|_| format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(name)))?
            }
        },
    };
    u16::try_from(number).ok().filter(|n| *n > 0).ok_or_else(|| format!("invalid port number: {number}"))
}

fn named_port(container: &Container, name: &str) -> Option<i32> {
    container.ports.iter().flatten().find(|p| p.name.as_deref() == Some(name)).map(|p| p.container_port)
}

/// `host:port`, with brackets around an IPv6 address (Go's `net.JoinHostPort`).
fn join_host_port(host: &str, port: impl fmt::Display) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// A Go duration as `%v` prints whole seconds (`1s`, `10s`) or milliseconds.
fn go_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

/// A string quoted as Go's `%q` does.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// At most [`MAX_OUTPUT`] bytes of `bytes` as text.
fn limited_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_OUTPUT)]).into_owned()
}

/// An OS error as Go prints a syscall error: `connection refused`.
fn errno_text(err: &io::Error) -> String {
    let text = match err.raw_os_error() {
        Some(code) => {
            let full = io::Error::from_raw_os_error(code).to_string();
            full.strip_suffix(&format!(" (os error {code})")).map(str::to_string).unwrap_or(full)
        }
        None => err.to_string(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// A failed dial, worded as Go's dialer words it.
#[derive(Debug)]
struct DialError {
    message: String,
    timed_out: bool,
}

impl DialError {
    fn failed(message: String) -> Self {
        DialError { message, timed_out: false }
    }

    fn timed_out(message: String) -> Self {
        DialError { message, timed_out: true }
    }

    /// The text Go's HTTP client gives when its timeout hit during the dial.
    fn while_awaiting_headers(self) -> String {
        if self.timed_out {
            format!("{} (Client.Timeout exceeded while awaiting headers)", self.message)
        } else {
            self.message
        }
    }
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Connects as Go's `net.Dialer` with a deadline, with its error texts:
/// `dial tcp 10.42.0.5:81: connect: connection refused`, `… i/o timeout`.
async fn dial(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, DialError> {
    let addr = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => resolve_host(host, port, deadline).await?,
    };
    match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(DialError::failed(format!("dial tcp {addr}: connect: {}", errno_text(&e)))),
        Err(_) => Err(DialError::timed_out(format!("dial tcp {addr}: i/o timeout"))),
    }
}

async fn resolve_host(host: &str, port: u16, deadline: Instant) -> Result<SocketAddr, DialError> {
    let no_such_host = || DialError::failed(format!("dial tcp: lookup {host}: no such host"));
    match tokio::time::timeout_at(deadline, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(mut addrs)) => addrs.next().ok_or_else(no_such_host),
        Ok(Err(_)) => Err(no_such_host()),
        Err(_) => Err(DialError::timed_out(format!("dial tcp: lookup {host}: i/o timeout"))),
    }
}

/// An [`ExecRunner`] for tests of the other handlers.
#[cfg(test)]
struct NoExec;

#[cfg(test)]
impl ExecRunner for NoExec {
    fn exec(&self, _: Vec<String>, _: Duration) -> BoxFuture<'_, ExecResult> {
        Box::pin(async { Err("no exec in this test".to_string()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ContainerPort;

    fn container_with_port(name: &str, port: i32) -> Container {
        Container {
            name: "web".into(),
            ports: Some(vec![ContainerPort { name: Some(name.into()), container_port: port, ..Default::default() }]),
            ..Default::default()
        }
    }

    #[test]
    fn ports_resolve_as_the_kubelet() {
        let c = container_with_port("http", 8080);
        assert_eq!(resolve_port(&IntOrString::Int(81), &c), Ok(81));
        assert_eq!(resolve_port(&IntOrString::String("http".into()), &c), Ok(8080));
        assert_eq!(resolve_port(&IntOrString::String("9090".into()), &c), Ok(9090));
        assert_eq!(
            resolve_port(&IntOrString::String("metrics".into()), &c),
            Err(r#"strconv.Atoi: parsing "metrics": invalid syntax"#.into())
        );
        assert_eq!(resolve_port(&IntOrString::Int(0), &c), Err("invalid port number: 0".into()));
        assert_eq!(resolve_port(&IntOrString::Int(70000), &c), Err("invalid port number: 70000".into()));
    }

    #[test]
    fn go_formatting_helpers() {
        assert_eq!(join_host_port("10.42.0.5", 80), "10.42.0.5:80");
        assert_eq!(join_host_port("fd00::1", 80), "[fd00::1]:80");
        assert_eq!(go_duration(Duration::from_secs(3)), "3s");
        assert_eq!(go_quote("sh -c \"exit 1\"\n"), r#""sh -c \"exit 1\"\n""#);
        assert_eq!(errno_text(&io::Error::from_raw_os_error(111)), "connection refused");
    }

    #[test]
    fn defaults_apply_to_unset_and_zero_fields() {
        assert_eq!(probe_timeout(&Probe::default()), Duration::from_secs(1));
        assert_eq!(probe_timeout(&Probe { timeout_seconds: Some(0), ..Default::default() }), Duration::from_secs(1));
        assert_eq!(probe_timeout(&Probe { timeout_seconds: Some(5), ..Default::default() }), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_probe_without_handler_is_unknown() {
        let outcome = run_once(&Probe::default(), "10.42.0.5", &Container::default(), &NoExec).await;
        assert!(matches!(outcome, ProbeOutcome::Unknown(_)));
    }
}
