//! The port-forward protocol, server side.
//!
//! SPDY (`portforward.k8s.io`, also tunnelled in WebSocket as `SPDY/3.1+portforward.k8s.io`): for every
//! local connection the client opens an `error` stream (which it half-closes at once) and a `data`
//! stream, both with headers `port` and `requestID`. The server pairs them by request id and forwards;
//! a failure is written as text on the error stream, after which both streams are reset. When the
//! forwarding ends the server half-closes both streams; client-go waits for the error stream's end.
//!
//! Legacy WebSocket (`v4.channel.k8s.io`, ports from the `port` query parameter): channel `2i` carries
//! the data of the i-th port and `2i+1` its errors; the server first sends the port (2 bytes, little
//! endian) on both channels.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;

use super::spdy::{IncomingStream, SendHalf, SpdyConnection, SpdyStream};
use super::websocket::{
    ChannelCodec, ChannelConnection, ChannelKind, ChannelReader, ChannelWriter, WebSocketByteStream, server_websocket,
};
use super::{Negotiated, StreamError, TUNNELING_PREFIX};

/// How long the second stream of a pair may take to arrive (the kubelet's stream creation timeout).
pub const STREAM_PAIR_TIMEOUT: Duration = Duration::from_secs(30);

/// The kubelet's message for a failed forward, written on the error stream.
pub fn forward_error_message(port: u16, pod: &str, uid: &str, err: impl std::fmt::Display) -> String {
    format!("error forwarding port {port} to pod {pod}, uid {uid}: {err}")
}

/// An accepted port-forward session: a stream of forwarding requests, one per client connection (SPDY)
/// or per requested port (legacy WebSocket). Ends when the client disconnects.
pub struct PortForwardSession {
    protocol: String,
    requests: mpsc::Receiver<PortForwardRequest>,
}

impl PortForwardSession {
    /// The negotiated subprotocol.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// The next forwarding request.
    pub async fn next_request(&mut self) -> Option<PortForwardRequest> {
        self.requests.recv().await
    }
}

impl futures::Stream for PortForwardSession {
    type Item = PortForwardRequest;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PortForwardRequest>> {
        self.requests.poll_recv(cx)
    }
}

/// One request to forward a connection to a port of the pod.
pub struct PortForwardRequest {
    port: u16,
    request_id: String,
    stream: PortForwardStream,
    errors: PortForwardErrors,
}

impl PortForwardRequest {
    /// The pod port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The client's request id (SPDY) or the port's index (legacy WebSocket).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The data stream and the error stream. Drop (or shut down) the data stream when the pod side
    /// closes, and drop the error stream when done: the client waits for its end.
    pub fn into_parts(self) -> (PortForwardStream, PortForwardErrors) {
        (self.stream, self.errors)
    }

    /// Reports a failure as the kubelet does: the message on the error stream, then both streams reset.
    pub async fn fail(self, message: &str) {
        let PortForwardRequest { stream, errors, .. } = self;
        errors.report(message).await;
        if let StreamInner::Spdy(stream) = stream.inner {
            stream.reset();
        }
    }
}

enum StreamInner {
    Spdy(SpdyStream),
    WebSocket { reader: ChannelReader, writer: ChannelWriter, _guard: Arc<SessionGuard> },
}

/// The bytes of one forwarded connection: read what the client sends, write what the pod answers.
pub struct PortForwardStream {
    inner: StreamInner,
}

impl AsyncRead for PortForwardStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            StreamInner::Spdy(stream) => Pin::new(stream).poll_read(cx, buf),
            StreamInner::WebSocket { reader, .. } => Pin::new(reader).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PortForwardStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.inner {
            StreamInner::Spdy(stream) => Pin::new(stream).poll_write(cx, buf),
            StreamInner::WebSocket { writer, .. } => Pin::new(writer).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            StreamInner::Spdy(stream) => Pin::new(stream).poll_flush(cx),
            StreamInner::WebSocket { writer, .. } => Pin::new(writer).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            StreamInner::Spdy(stream) => Pin::new(stream).poll_shutdown(cx),
            StreamInner::WebSocket { writer, .. } => Pin::new(writer).poll_shutdown(cx),
        }
    }
}

enum ErrorsInner {
    Spdy(SendHalf),
    WebSocket { writer: ChannelWriter, _guard: Arc<SessionGuard> },
}

/// The error stream of a forwarding request. Dropping it ends it cleanly (no error).
pub struct PortForwardErrors {
    inner: ErrorsInner,
}

impl PortForwardErrors {
    /// Writes a failure message (see [`forward_error_message`]) and ends the error stream (reset for
    /// SPDY, as the kubelet does).
    pub async fn report(self, message: &str) {
        match self.inner {
            ErrorsInner::Spdy(mut send) => {
                let _ = send.write_all(message.as_bytes()).await;
                send.reset();
            }
            ErrorsInner::WebSocket { mut writer, _guard } => {
                let _ = writer.write_all(message.as_bytes()).await;
            }
        }
    }
}

/// Closes a legacy WebSocket session once every request's streams are gone.
struct SessionGuard {
    conn: ChannelConnection,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.conn.start_close();
    }
}

/// Runs the server side of a port-forward session on an upgraded connection. `ports_from_query` is
/// used only by the legacy WebSocket protocol (see [`super::parse_port_query`]).
pub async fn accept_portforward<T>(
    io: T,
    negotiated: Negotiated,
    ports_from_query: Vec<u16>,
) -> Result<PortForwardSession, StreamError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, requests) = mpsc::channel(16);
    let protocol = negotiated.protocol().to_owned();
    match negotiated {
        Negotiated::Spdy { .. } => {
            tokio::spawn(serve_spdy(SpdyConnection::new(io), tx));
        }
        Negotiated::WebSocket { subprotocol } if subprotocol.starts_with(TUNNELING_PREFIX) => {
            let ws = server_websocket(io).await;
            tokio::spawn(serve_spdy(SpdyConnection::new(WebSocketByteStream::new(ws)), tx));
        }
        Negotiated::WebSocket { subprotocol } => {
            let ws = server_websocket(io).await;
            serve_websocket(ws, &subprotocol, &ports_from_query, tx);
        }
    }
    Ok(PortForwardSession { protocol, requests })
}

/// Checks a new stream's headers as the kubelet does; `Err` holds the reason for the log.
fn validate(stream: &IncomingStream) -> Result<(u16, bool), String> {
    let headers = stream.headers();
    let port = headers.get("port").filter(|p| !p.is_empty()).ok_or_else(|| "\"port\" header is required".to_owned())?;
    let port: u16 = port.parse().map_err(|_| format!("unable to parse \"{port}\" as a port"))?;
    if port == 0 {
        return Err(format!("port \"{port}\" must be > 0"));
    }
    match headers.get("streamtype").unwrap_or_default() {
        "" => Err("\"streamType\" header is required".to_owned()),
        "error" => Ok((port, true)),
        "data" => Ok((port, false)),
        other => Err(format!("invalid stream type \"{other}\"")),
    }
}

/// The request id of a stream; old clients sent none and the kubelet derived it from the stream ids.
fn request_id(stream: &IncomingStream, is_error: bool) -> String {
    match stream.headers().get("requestid") {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ if is_error => stream.id().to_string(),
        _ => stream.id().saturating_sub(2).to_string(),
    }
}

struct Pair {
    port: u16,
    data: Option<SpdyStream>,
    error: Option<SpdyStream>,
    created: tokio::time::Instant,
}

async fn serve_spdy(mut conn: SpdyConnection, tx: mpsc::Sender<PortForwardRequest>) {
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        let incoming = tokio::select! {
            incoming = conn.accept() => incoming,
            _ = sweep.tick() => {
                expire_pairs(&mut pairs).await;
                continue;
            }
        };
        let Some(incoming) = incoming else { break };
        let (port, is_error) = match validate(&incoming) {
            Ok(checked) => checked,
            Err(reason) => {
                tracing::warn!(reason, "portforward: stream rejected");
                incoming.reject();
                continue;
            }
        };
        let id = request_id(&incoming, is_error);
        let stream = incoming.accept();
        let pair = pairs.entry(id.clone()).or_insert_with(|| Pair {
            port,
            data: None,
            error: None,
            created: tokio::time::Instant::now(),
        });
        let slot = if is_error { &mut pair.error } else { &mut pair.data };
        if slot.is_some() {
            let kind = if is_error { "error" } else { "data" };
            let message = format!("error processing stream for request {id}: {kind} stream already assigned");
            tracing::warn!(message, "portforward");
            if let Some(error) = pair.error.as_mut() {
                let _ = error.write_all(message.as_bytes()).await;
            }
            continue;
        }
        *slot = Some(stream);
        if pair.data.is_some() && pair.error.is_some() {
            let Some(Pair { port, data: Some(data), error: Some(error), .. }) = pairs.remove(&id) else { continue };
            // Like the kubelet, forward to the data stream's port.
            let port = data.headers().get("port").and_then(|p| p.parse().ok()).unwrap_or(port);
            let request = PortForwardRequest {
                port,
                request_id: id,
                stream: PortForwardStream { inner: StreamInner::Spdy(data) },
                errors: PortForwardErrors { inner: ErrorsInner::Spdy(error.split().1) },
            };
            if let Err(mpsc::error::SendError(request)) = tx.send(request).await {
                request.fail("port forwarding session closed").await;
            }
        }
    }
    // Keep the connection (and the requests still forwarding) until the client goes away.
    conn.control().closed().await;
}

async fn expire_pairs(pairs: &mut HashMap<String, Pair>) {
    let expired: Vec<String> =
        pairs.iter().filter(|(_, p)| p.created.elapsed() >= STREAM_PAIR_TIMEOUT).map(|(id, _)| id.clone()).collect();
    for id in expired {
        if let Some(mut pair) = pairs.remove(&id) {
            let message = format!("(request={id}) timed out waiting for streams");
            tracing::warn!(message, "portforward");
            if let Some(error) = pair.error.as_mut() {
                let _ = error.write_all(message.as_bytes()).await;
            }
        }
    }
}

fn serve_websocket<T>(
    ws: tokio_tungstenite::WebSocketStream<T>,
    subprotocol: &str,
    ports: &[u16],
    tx: mpsc::Sender<PortForwardRequest>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let kinds: Vec<ChannelKind> = ports.iter().flat_map(|_| [ChannelKind::ReadWrite, ChannelKind::Write]).collect();
    let (conn, channels) = ChannelConnection::start(ws, ChannelCodec::for_subprotocol(subprotocol), &kinds);
    let guard = Arc::new(SessionGuard { conn: conn.clone() });
    let mut channels = channels.into_iter();
    let mut requests = Vec::with_capacity(ports.len());
    for (index, port) in ports.iter().enumerate() {
        let data_channel = (2 * index) as u8;
        let _ = conn.send(data_channel, &port.to_le_bytes());
        let _ = conn.send(data_channel + 1, &port.to_le_bytes());
        let (Some(data), Some(error)) = (channels.next(), channels.next()) else { break };
        let (Some(reader), Some(writer), Some(error_writer)) = (data.reader, data.writer, error.writer) else { break };
        let request = PortForwardRequest {
            port: *port,
            request_id: index.to_string(),
            stream: PortForwardStream { inner: StreamInner::WebSocket { reader, writer, _guard: guard.clone() } },
            errors: PortForwardErrors { inner: ErrorsInner::WebSocket { writer: error_writer, _guard: guard.clone() } },
        };
        requests.push(request);
    }
    tokio::spawn(async move {
        for request in requests {
            if let Err(mpsc::error::SendError(request)) = tx.send(request).await {
                request.fail("port forwarding session closed").await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_error_message() {
        assert_eq!(
            forward_error_message(80, "p", "1234", "connection refused"),
            "error forwarding port 80 to pod p, uid 1234: connection refused"
        );
    }
}
