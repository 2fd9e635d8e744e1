//! The tcpSocket handler: a connection that opens passes; the dial error is the
//! failure text (`dial tcp 10.42.0.5:81: connect: connection refused`).

use std::time::Duration;

use tokio::time::Instant;

use super::{ProbeOutcome, dial};

/// Opens and closes a TCP connection to `host:port` within `timeout`.
pub(super) async fn probe(host: &str, port: u16, timeout: Duration) -> ProbeOutcome {
    match dial(host, port, Instant::now() + timeout).await {
        Ok(stream) => {
            drop(stream);
            ProbeOutcome::Success
        }
        Err(e) => ProbeOutcome::Failure(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{NoExec, run_once};
    use super::*;
    use k8s_openapi::api::core::v1::{Container, ContainerPort, Probe, TCPSocketAction};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use tokio::net::TcpListener;

    fn tcp_probe(port: IntOrString) -> Probe {
        Probe { tcp_socket: Some(TCPSocketAction { host: None, port }), ..Default::default() }
    }

    /// A port on 127.0.0.1 that nothing listens on.
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr").port()
    }

    #[tokio::test]
    async fn an_open_port_passes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let container = Container {
            ports: Some(vec![ContainerPort {
                name: Some("redis".into()),
                container_port: port.into(),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let outcome = run_once(&tcp_probe(IntOrString::String("redis".into())), "127.0.0.1", &container, &NoExec).await;
        assert_eq!(outcome, ProbeOutcome::Success);
    }

    #[tokio::test]
    async fn a_closed_port_fails_with_the_dial_error() {
        let port = closed_port().await;
        let outcome =
            run_once(&tcp_probe(IntOrString::Int(port.into())), "127.0.0.1", &Container::default(), &NoExec).await;
        assert_eq!(outcome, ProbeOutcome::Failure(format!("dial tcp 127.0.0.1:{port}: connect: connection refused")));
    }

    #[tokio::test]
    async fn an_unknown_port_name_is_unknown() {
        let probe = tcp_probe(IntOrString::String("redis".into()));
        let outcome = run_once(&probe, "127.0.0.1", &Container::default(), &NoExec).await;
        assert_eq!(outcome, ProbeOutcome::Unknown(r#"strconv.Atoi: parsing "redis": invalid syntax"#.into()));
    }

    #[tokio::test]
    async fn an_explicit_host_wins_over_the_pod_ip() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let probe = Probe {
            tcp_socket: Some(TCPSocketAction { host: Some("127.0.0.1".into()), port: IntOrString::Int(port.into()) }),
            ..Default::default()
        };
        assert_eq!(run_once(&probe, "192.0.2.1", &Container::default(), &NoExec).await, ProbeOutcome::Success);
    }

    #[tokio::test]
    async fn an_unreachable_address_times_out() {
        // 192.0.2.0/24 (TEST-NET-1) is not routed: the connect either hangs until
        // the timeout or fails at once with an OS error, depending on the host.
        let outcome = probe("192.0.2.1", 81, Duration::from_millis(100)).await;
        match outcome {
            ProbeOutcome::Failure(text) => assert!(text.starts_with("dial tcp 192.0.2.1:81: "), "{text}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
