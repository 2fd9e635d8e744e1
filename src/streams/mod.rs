//! Streaming subresources (`exec`, `attach`, `portforward`) as kubectl speaks them.
//!
//! A handler first negotiates the protocol from the request headers ([`negotiate_remotecommand`],
//! [`negotiate_portforward`]), answers `101 Switching Protocols` with [`upgrade_response`], and, once
//! the connection is upgraded (e.g. `hyper::upgrade::on(req)` wrapped in `hyper_util::rt::TokioIo`),
//! runs the session with [`accept_remotecommand`] or [`accept_portforward`]. A proxy (API server to
//! kubelet) can instead forward the upgraded bytes unchanged with [`proxy_upgraded`].
//!
//! Transports: WebSocket channel protocols (`v5.channel.k8s.io` … `channel.k8s.io`, and the base64
//! variants), SPDY/3.1 (`X-Stream-Protocol-Version: v4.channel.k8s.io` … / `portforward.k8s.io`), and
//! SPDY tunnelled in WebSocket binary messages (`SPDY/3.1+portforward.k8s.io`).

mod pipe;
pub mod portforward;
pub mod remotecommand;
pub mod spdy;
pub mod websocket;

use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};

pub use portforward::{
    PortForwardErrors, PortForwardRequest, PortForwardSession, PortForwardStream, accept_portforward,
};
pub use remotecommand::{
    CommandOutcome, RemoteCommandOptions, RemoteCommandSession, ResizeEvents, TerminalSize, accept_remotecommand,
};

/// `X-Stream-Protocol-Version`: the SPDY subprotocols the client offers / the one the server chose.
pub const HEADER_PROTOCOL_VERSION: &str = "X-Stream-Protocol-Version";
/// `X-Accepted-Stream-Protocol-Versions`: sent with a 403 when no SPDY subprotocol matched.
pub const HEADER_ACCEPTED_PROTOCOL_VERSIONS: &str = "X-Accepted-Stream-Protocol-Versions";
/// The `Upgrade` token of SPDY.
pub const SPDY_31: &str = "SPDY/3.1";
/// The prefix of WebSocket subprotocols that tunnel SPDY.
pub const TUNNELING_PREFIX: &str = "SPDY/3.1+";

/// remote command v1 (`channel.k8s.io`).
pub const STREAM_PROTOCOL_V1: &str = "channel.k8s.io";
/// remote command v2.
pub const STREAM_PROTOCOL_V2: &str = "v2.channel.k8s.io";
/// remote command v3 (adds the resize stream).
pub const STREAM_PROTOCOL_V3: &str = "v3.channel.k8s.io";
/// remote command v4 (the error stream carries a JSON metav1.Status).
pub const STREAM_PROTOCOL_V4: &str = "v4.channel.k8s.io";
/// remote command v5 (WebSocket only: adds the `[255, n]` close-channel signal).
pub const STREAM_PROTOCOL_V5: &str = "v5.channel.k8s.io";
/// The port-forward SPDY subprotocol.
pub const PORT_FORWARD_PROTOCOL_V1: &str = "portforward.k8s.io";

/// The SPDY remote-command subprotocols the kubelet accepts, in its order.
pub const SPDY_REMOTECOMMAND_PROTOCOLS: &[&str] =
    &[STREAM_PROTOCOL_V4, STREAM_PROTOCOL_V3, STREAM_PROTOCOL_V2, STREAM_PROTOCOL_V1];
/// The WebSocket remote-command subprotocols accepted: v5 (the API server's stream translator) and
/// the kubelet's own list.
pub const WEBSOCKET_REMOTECOMMAND_PROTOCOLS: &[&str] =
    &[STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4, "v4.base64.channel.k8s.io", STREAM_PROTOCOL_V1, "base64.channel.k8s.io"];
/// The legacy WebSocket port-forward subprotocols (ports from the `port` query parameter).
pub const WEBSOCKET_PORTFORWARD_PROTOCOLS: &[&str] = &["v4.channel.k8s.io", "v4.base64.channel.k8s.io"];

/// The protocol negotiated from a request's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiated {
    /// A WebSocket upgrade with this subprotocol ("" when the client offered none).
    WebSocket {
        /// The chosen `Sec-WebSocket-Protocol`.
        subprotocol: String,
    },
    /// A SPDY/3.1 upgrade with this `X-Stream-Protocol-Version`.
    Spdy {
        /// The chosen subprotocol.
        protocol: String,
    },
}

impl Negotiated {
    /// The chosen subprotocol name.
    pub fn protocol(&self) -> &str {
        match self {
            Negotiated::WebSocket { subprotocol } => subprotocol,
            Negotiated::Spdy { protocol } => protocol,
        }
    }
}

/// Why a streaming request cannot be upgraded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// Neither a WebSocket nor a SPDY upgrade request.
    #[error("Upgrade request required")]
    UpgradeRequired,
    /// A SPDY upgrade without `X-Stream-Protocol-Version`.
    #[error("unable to upgrade: X-Stream-Protocol-Version is required")]
    MissingProtocolVersion,
    /// No SPDY subprotocol in common (the kubelet answers 403 with the accepted list in a header).
    #[error("unable to upgrade: unable to negotiate protocol: client supports [{}], server accepts [{}]", .client.join(" "), .server.join(" "))]
    NoCommonProtocol {
        /// What the client offered.
        client: Vec<String>,
        /// What the server accepts.
        server: Vec<String>,
    },
    /// No WebSocket subprotocol in common.
    #[error("requested protocol(s) are not supported: [{}]; supports [{}]", .client.join(" "), .server.join(" "))]
    UnsupportedSubprotocol {
        /// What the client offered.
        client: Vec<String>,
        /// What the server accepts.
        server: Vec<String>,
    },
    /// A malformed WebSocket handshake.
    #[error("websocket: {0}")]
    BadWebSocketHandshake(&'static str),
    /// Legacy WebSocket port-forward without ports.
    #[error("query parameter \"port\" is required")]
    MissingPorts,
    /// A `port` query parameter that is empty, not a number, or 0.
    #[error("{0}")]
    InvalidPort(String),
}

impl NegotiationError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            NegotiationError::NoCommonProtocol { .. } => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A plain-text response like Go's `http.Error` (with `X-Accepted-Stream-Protocol-Versions` for
    /// [`NegotiationError::NoCommonProtocol`]).
    pub fn response(&self) -> Response<String> {
        let mut response = Response::new(format!("{self}\n"));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        headers.insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
        if let NegotiationError::NoCommonProtocol { server, .. } = self {
            for protocol in server {
                if let Ok(value) = HeaderValue::from_str(protocol) {
                    headers.append(HEADER_ACCEPTED_PROTOCOL_VERSIONS, value);
                }
            }
        }
        response
    }
}

/// Errors while running a streaming session.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The client did not open the expected streams in time.
    #[error("timed out waiting for client to create streams")]
    StreamCreationTimeout,
    /// The connection ended before the session was set up.
    #[error("connection closed before the streams were created")]
    ConnectionClosed,
    /// I/O on the upgraded connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// All values of a header, split on commas and trimmed (like apimachinery's `commaSeparatedHeaderValues`).
fn header_list(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn first_header(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> &str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn connection_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("upgrade"))
}

/// True for a WebSocket upgrade request (`Upgrade: websocket` and `Connection: …upgrade…`).
pub fn is_websocket_request(headers: &HeaderMap) -> bool {
    first_header(headers, UPGRADE).eq_ignore_ascii_case("websocket") && connection_upgrade(headers)
}

/// True for a SPDY/3.1 upgrade request.
pub fn is_spdy_request(headers: &HeaderMap) -> bool {
    connection_upgrade(headers) && first_header(headers, UPGRADE).to_ascii_lowercase().contains("spdy/3.1")
}

fn check_websocket_handshake(headers: &HeaderMap) -> Result<(), NegotiationError> {
    if first_header(headers, SEC_WEBSOCKET_VERSION) != "13" {
        return Err(NegotiationError::BadWebSocketHandshake(
            "unsupported version: 13 not found in 'Sec-Websocket-Version' header",
        ));
    }
    if first_header(headers, SEC_WEBSOCKET_KEY).is_empty() {
        return Err(NegotiationError::BadWebSocketHandshake(
            "not a websocket handshake: 'Sec-WebSocket-Key' header is missing or blank",
        ));
    }
    Ok(())
}

/// Picks the first client protocol the server supports (the client's order wins, as in apimachinery).
fn pick(client: &[String], server: &[&str]) -> Option<String> {
    client.iter().find(|c| server.contains(&c.as_str())).cloned()
}

fn negotiate_spdy(headers: &HeaderMap, server: &[&str]) -> Result<Negotiated, NegotiationError> {
    let client = header_list(headers, HEADER_PROTOCOL_VERSION);
    if client.is_empty() {
        return Err(NegotiationError::MissingProtocolVersion);
    }
    match pick(&client, server) {
        Some(protocol) => Ok(Negotiated::Spdy { protocol }),
        None => {
            Err(NegotiationError::NoCommonProtocol { client, server: server.iter().map(|s| s.to_string()).collect() })
        }
    }
}

fn negotiate_websocket(headers: &HeaderMap, server: &[&str]) -> Result<Negotiated, NegotiationError> {
    check_websocket_handshake(headers)?;
    let client = header_list(headers, SEC_WEBSOCKET_PROTOCOL);
    if client.is_empty() {
        return Ok(Negotiated::WebSocket { subprotocol: String::new() });
    }
    match pick(&client, server) {
        Some(subprotocol) => Ok(Negotiated::WebSocket { subprotocol }),
        None => Err(NegotiationError::UnsupportedSubprotocol {
            client,
            server: server.iter().map(|s| s.to_string()).collect(),
        }),
    }
}

/// Negotiates `exec` / `attach`: a WebSocket channel protocol or SPDY (v4 … v1, as the kubelet).
pub fn negotiate_remotecommand(headers: &HeaderMap) -> Result<Negotiated, NegotiationError> {
    if is_websocket_request(headers) {
        negotiate_websocket(headers, WEBSOCKET_REMOTECOMMAND_PROTOCOLS)
    } else if is_spdy_request(headers) {
        negotiate_spdy(headers, SPDY_REMOTECOMMAND_PROTOCOLS)
    } else {
        Err(NegotiationError::UpgradeRequired)
    }
}

/// Negotiates `portforward`: SPDY tunnelled in WebSocket (`SPDY/3.1+portforward.k8s.io`), the legacy
/// WebSocket channel protocol (ports from the query), or plain SPDY (`portforward.k8s.io`).
pub fn negotiate_portforward(headers: &HeaderMap) -> Result<Negotiated, NegotiationError> {
    if is_websocket_request(headers) {
        let offered = header_list(headers, SEC_WEBSOCKET_PROTOCOL);
        let tunneled: Vec<String> = offered
            .iter()
            .filter(|p| p.starts_with(TUNNELING_PREFIX) && p.ends_with(".k8s.io"))
            .map(|p| p[TUNNELING_PREFIX.len()..].to_owned())
            .collect();
        if tunneled.is_empty() {
            return negotiate_websocket(headers, WEBSOCKET_PORTFORWARD_PROTOCOLS);
        }
        check_websocket_handshake(headers)?;
        return match pick(&tunneled, &[PORT_FORWARD_PROTOCOL_V1]) {
            Some(protocol) => Ok(Negotiated::WebSocket { subprotocol: format!("{TUNNELING_PREFIX}{protocol}") }),
            None => Err(NegotiationError::NoCommonProtocol {
                client: tunneled,
                server: vec![PORT_FORWARD_PROTOCOL_V1.to_owned()],
            }),
        };
    }
    if is_spdy_request(headers) {
        negotiate_spdy(headers, &[PORT_FORWARD_PROTOCOL_V1])
    } else {
        Err(NegotiationError::UpgradeRequired)
    }
}

/// Parses the `port` query parameters of a legacy WebSocket port-forward (`?port=80&port=81,82`),
/// with the kubelet's messages.
pub fn parse_port_query(query: &str) -> Result<Vec<u16>, NegotiationError> {
    let values: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(k, _)| *k == "port")
        .map(|(_, v)| v)
        .collect();
    if values.is_empty() {
        return Err(NegotiationError::MissingPorts);
    }
    let mut ports = Vec::new();
    for value in values {
        if value.is_empty() {
            return Err(NegotiationError::InvalidPort("query parameter \"port\" cannot be empty".into()));
        }
        for part in value.split("%2C").flat_map(|p| p.split(',')) {
            let port: u16 = part
                .parse()
                .map_err(|_| NegotiationError::InvalidPort(format!("unable to parse \"{value}\" as a port")))?;
            if port == 0 {
                return Err(NegotiationError::InvalidPort(format!("port \"{value}\" must be > 0")));
            }
            ports.push(port);
        }
    }
    Ok(ports)
}

/// The `101 Switching Protocols` response for a negotiated protocol.
pub fn upgrade_response(negotiated: &Negotiated, request_headers: &HeaderMap) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    match negotiated {
        Negotiated::WebSocket { subprotocol } => {
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            let key = first_header(request_headers, SEC_WEBSOCKET_KEY);
            let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            if let Ok(value) = HeaderValue::from_str(&accept) {
                headers.insert(SEC_WEBSOCKET_ACCEPT, value);
            }
            if let Ok(value) = HeaderValue::from_str(subprotocol)
                && !subprotocol.is_empty()
            {
                headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
            }
        }
        Negotiated::Spdy { protocol } => {
            headers.insert(UPGRADE, HeaderValue::from_static(SPDY_31));
            if let Ok(value) = HeaderValue::from_str(protocol) {
                headers.insert(HEADER_PROTOCOL_VERSION, value);
            }
        }
    }
    response
}

/// Copies bytes both ways between an upgraded client connection and an upgraded backend connection
/// (e.g. the API server relaying to a kubelet) until both directions end.
pub async fn proxy_upgraded<A, B>(mut client: A, mut backend: B) -> std::io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    tokio::io::copy_bidirectional(&mut client, &mut backend).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    const WS: &[(&str, &str)] = &[
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    fn ws_with(protocols: &'static str) -> HeaderMap {
        let mut map = headers(WS);
        map.append(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(protocols));
        map
    }

    fn spdy_with(versions: &[&'static str]) -> HeaderMap {
        let mut map = headers(&[("connection", "Upgrade"), ("upgrade", "SPDY/3.1")]);
        for v in versions {
            map.append(HEADER_PROTOCOL_VERSION, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn remotecommand_websocket_takes_the_clients_first_supported_protocol() {
        let n = negotiate_remotecommand(&ws_with("v5.channel.k8s.io")).expect("v5");
        assert_eq!(n, Negotiated::WebSocket { subprotocol: "v5.channel.k8s.io".into() });
        let n = negotiate_remotecommand(&ws_with("v9.channel.k8s.io, base64.channel.k8s.io")).expect("base64");
        assert_eq!(n.protocol(), "base64.channel.k8s.io");
        assert_eq!(
            negotiate_remotecommand(&headers(WS)).expect("none"),
            Negotiated::WebSocket { subprotocol: "".into() }
        );
        let err = negotiate_remotecommand(&ws_with("v9.channel.k8s.io")).expect_err("unsupported");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn remotecommand_spdy_negotiates_like_the_kubelet() {
        // kubectl 1.30+ offers v5 first; the kubelet's SPDY server stops at v4.
        let offered =
            ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];
        let n = negotiate_remotecommand(&spdy_with(&offered)).expect("spdy");
        assert_eq!(n, Negotiated::Spdy { protocol: "v4.channel.k8s.io".into() });
        assert_eq!(negotiate_remotecommand(&spdy_with(&[])), Err(NegotiationError::MissingProtocolVersion));
        let err = negotiate_remotecommand(&spdy_with(&["v9.channel.k8s.io"])).expect_err("no match");
        assert_eq!(
            err.to_string(),
            "unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts \
             [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]"
        );
        let response = err.response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.headers().get_all(HEADER_ACCEPTED_PROTOCOL_VERSIONS).iter().count(), 4);
        assert_eq!(negotiate_remotecommand(&HeaderMap::new()), Err(NegotiationError::UpgradeRequired));
    }

    #[test]
    fn portforward_negotiation() {
        let n = negotiate_portforward(&ws_with("SPDY/3.1+portforward.k8s.io")).expect("tunnel");
        assert_eq!(n, Negotiated::WebSocket { subprotocol: "SPDY/3.1+portforward.k8s.io".into() });
        let n = negotiate_portforward(&ws_with("v4.channel.k8s.io")).expect("legacy");
        assert_eq!(n.protocol(), "v4.channel.k8s.io");
        let n = negotiate_portforward(&spdy_with(&["portforward.k8s.io"])).expect("spdy");
        assert_eq!(n, Negotiated::Spdy { protocol: "portforward.k8s.io".into() });
        let err = negotiate_portforward(&ws_with("SPDY/3.1+portforward.v2.k8s.io")).expect_err("unknown tunnel");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn websocket_upgrade_response() {
        let request = ws_with("v5.channel.k8s.io");
        let response = upgrade_response(&negotiate_remotecommand(&request).expect("ok"), &request);
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        // The RFC 6455 example key.
        assert_eq!(response.headers()[SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(response.headers()[SEC_WEBSOCKET_PROTOCOL], "v5.channel.k8s.io");
        assert_eq!(response.headers()[UPGRADE], "websocket");
        let bad = headers(&[("connection", "Upgrade"), ("upgrade", "websocket"), ("sec-websocket-version", "13")]);
        assert!(matches!(negotiate_remotecommand(&bad), Err(NegotiationError::BadWebSocketHandshake(_))));
    }

    #[test]
    fn spdy_upgrade_response() {
        let response = upgrade_response(&Negotiated::Spdy { protocol: "portforward.k8s.io".into() }, &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers()[UPGRADE], "SPDY/3.1");
        assert_eq!(response.headers()[CONNECTION], "Upgrade");
        assert_eq!(response.headers()[HEADER_PROTOCOL_VERSION], "portforward.k8s.io");
    }

    #[test]
    fn port_query() {
        assert_eq!(parse_port_query("port=80&port=81,82&x=1"), Ok(vec![80, 81, 82]));
        assert_eq!(parse_port_query("x=1"), Err(NegotiationError::MissingPorts));
        assert_eq!(parse_port_query("port=0").map_err(|e| e.to_string()), Err("port \"0\" must be > 0".to_owned()));
        assert_eq!(
            parse_port_query("port=http").map_err(|e| e.to_string()),
            Err("unable to parse \"http\" as a port".to_owned())
        );
    }
}
