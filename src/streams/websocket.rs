//! The Kubernetes WebSocket transports, over tokio-tungstenite (server role).
//!
//! * The channel protocol (`channel.k8s.io`, `base64.channel.k8s.io`, `v4.channel.k8s.io`,
//!   `v4.base64.channel.k8s.io`, `v5.channel.k8s.io`): every message carries one channel's data, the
//!   first byte naming the channel. The base64 variants use text messages whose first character is the
//!   channel digit (`'0' + n`) followed by the base64 of the data. In v5 a binary message `[255, n]`
//!   from the client closes channel `n` (its reader sees EOF). At the end the server sends a close
//!   frame with status 1000, which client-go reads as a clean EOF on every channel.
//! * The tunnel (`SPDY/3.1+portforward.k8s.io`): the WebSocket carries a SPDY byte stream in binary
//!   messages of any size, without channel bytes; [`WebSocketByteStream`] turns it back into bytes.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Buf, Bytes};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use crate::streams::pipe::{WriteBudget, new_budget};

/// The first byte of a v5 close-channel message.
pub const CLOSE_CHANNEL: u8 = 255;
/// How long a closing connection waits for the client's close frame.
const LINGER: Duration = Duration::from_secs(5);
/// Messages buffered per channel before the connection stops reading.
const CHANNEL_BUFFER: usize = 32;

/// Wraps an upgraded connection (after the 101 response was sent) as a server-side WebSocket.
pub async fn server_websocket<T>(io: T) -> WebSocketStream<T>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    WebSocketStream::from_raw_socket(io, Role::Server, None).await
}

/// What a channel is used for, as in apimachinery's wsstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Data received for it is dropped and nothing is sent on it.
    Ignore,
    /// The client writes, the server reads.
    Read,
    /// The server writes.
    Write,
    /// Both.
    ReadWrite,
}

impl ChannelKind {
    fn readable(self) -> bool {
        matches!(self, ChannelKind::Read | ChannelKind::ReadWrite)
    }

    fn writable(self) -> bool {
        matches!(self, ChannelKind::Write | ChannelKind::ReadWrite)
    }
}

/// How a negotiated channel subprotocol encodes messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelCodec {
    /// Text messages with base64 payloads (`*base64.channel.k8s.io`) instead of binary ones.
    pub base64: bool,
    /// The client may close single channels with `[255, n]` (v5).
    pub close_signals: bool,
}

impl ChannelCodec {
    /// The codec of a channel subprotocol ("" means the default binary protocol).
    pub fn for_subprotocol(subprotocol: &str) -> Self {
        Self {
            base64: subprotocol.contains("base64.channel.k8s.io"),
            close_signals: subprotocol == "v5.channel.k8s.io",
        }
    }

    fn encode(self, channel: u8, data: &[u8]) -> Message {
        if self.base64 {
            let mut text = String::with_capacity(1 + data.len().div_ceil(3) * 4);
            text.push(char::from(b'0'.wrapping_add(channel)));
            BASE64.encode_string(data, &mut text);
            Message::text(text)
        } else {
            let mut frame = Vec::with_capacity(data.len() + 1);
            frame.push(channel);
            frame.extend_from_slice(data);
            Message::binary(frame)
        }
    }
}

enum Outgoing {
    Message(Message, Option<OwnedSemaphorePermit>),
    Close(Option<oneshot::Sender<()>>),
}

struct Shared {
    out: mpsc::UnboundedSender<Outgoing>,
    budget: Arc<Semaphore>,
    codec: ChannelCodec,
    kinds: Vec<ChannelKind>,
    closed: watch::Receiver<bool>,
}

/// A cloneable handle on a channel connection: send whole messages, close, wait for the end.
#[derive(Clone)]
pub struct ChannelConnection {
    shared: Arc<Shared>,
}

impl ChannelConnection {
    /// Starts the channel protocol on `ws` with one entry of `kinds` per channel; returns the control
    /// handle and, per channel, its reader (readable kinds) and writer (writable kinds).
    pub fn start<T>(ws: WebSocketStream<T>, codec: ChannelCodec, kinds: &[ChannelKind]) -> (Self, Vec<Channel>)
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sink, stream) = ws.split();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (closed_tx, closed_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            out: out_tx,
            budget: new_budget(),
            codec,
            kinds: kinds.to_vec(),
            closed: closed_rx.clone(),
        });
        let mut senders = Vec::with_capacity(kinds.len());
        let mut channels = Vec::with_capacity(kinds.len());
        for (index, kind) in kinds.iter().enumerate() {
            let (tx, rx) = mpsc::channel(CHANNEL_BUFFER);
            senders.push(kind.readable().then_some(tx));
            channels.push(Channel {
                reader: kind.readable().then(|| ChannelReader { rx: Some(rx), buf: Bytes::new() }),
                writer: kind.writable().then(|| ChannelWriter {
                    channel: index as u8,
                    shared: shared.clone(),
                    budget: WriteBudget::new(shared.budget.clone()),
                    closed: false,
                }),
            });
        }
        tokio::spawn(read_loop(stream, codec, senders, closed_tx));
        tokio::spawn(write_loop(sink, out_rx, closed_rx));
        (Self { shared }, channels)
    }

    /// Queues one whole message on `channel` (even an empty one, which sends just the channel byte).
    /// Sending on a channel that is not writable does nothing, as in wsstream.
    pub fn send(&self, channel: u8, data: &[u8]) -> io::Result<()> {
        if !self.shared.kinds.get(usize::from(channel)).is_some_and(|k| k.writable()) {
            return Ok(());
        }
        let message = self.shared.codec.encode(channel, data);
        self.shared.out.send(Outgoing::Message(message, None)).map_err(|_| io::ErrorKind::BrokenPipe.into())
    }

    /// Sends a close frame (1000, normal closure) after everything already queued and waits until it is
    /// written; the connection then waits a few seconds for the client's close frame.
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.shared.out.send(Outgoing::Close(Some(ack))).is_ok() {
            let _ = done.await;
        }
    }

    /// Starts [`ChannelConnection::close`] without waiting.
    pub fn start_close(&self) {
        let _ = self.shared.out.send(Outgoing::Close(None));
    }

    /// Resolves once the client closed the connection (or it failed).
    pub async fn closed(&self) {
        let mut closed = self.shared.closed.clone();
        let _ = closed.wait_for(|c| *c).await;
    }
}

/// One channel's halves.
pub struct Channel {
    /// Data the client sends on the channel (readable kinds only).
    pub reader: Option<ChannelReader>,
    /// Writes data to the client on the channel (writable kinds only).
    pub writer: Option<ChannelWriter>,
}

/// Reads what the client sends on one channel; EOF when the client closes the channel (v5) or the
/// connection ends.
pub struct ChannelReader {
    rx: Option<mpsc::Receiver<Bytes>>,
    buf: Bytes,
}

impl AsyncRead for ChannelReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        while self.buf.is_empty() {
            let Some(rx) = self.rx.as_mut() else { return Poll::Ready(Ok(())) };
            match ready!(rx.poll_recv(cx)) {
                Some(data) => self.buf = data,
                None => {
                    self.rx = None;
                    return Poll::Ready(Ok(()));
                }
            }
        }
        let n = self.buf.len().min(out.remaining());
        out.put_slice(&self.buf[..n]);
        self.buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// Writes to the client on one channel, one message per write. Shutting it down only stops further
/// writes: the protocol has no server-side channel close.
pub struct ChannelWriter {
    channel: u8,
    shared: Arc<Shared>,
    budget: WriteBudget,
    closed: bool,
}

impl ChannelWriter {
    /// The channel number.
    pub fn channel(&self) -> u8 {
        self.channel
    }
}

impl AsyncWrite for ChannelWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let (permit, n) = ready!(self.budget.poll_reserve(cx, buf.len()))?;
        let message = self.shared.codec.encode(self.channel, &buf[..n]);
        if self.shared.out.send(Outgoing::Message(message, Some(permit))).is_err() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.closed = true;
        Poll::Ready(Ok(()))
    }
}

/// Splits an incoming message into (channel, payload); `None` for messages to skip.
fn parse_message(codec: ChannelCodec, message: Message) -> Result<Option<(u8, Bytes)>, &'static str> {
    let mut data = match message {
        Message::Binary(data) => data,
        Message::Text(text) => Bytes::from(text),
        _ => return Ok(None),
    };
    if data.is_empty() {
        return Ok(None);
    }
    let channel = data.get_u8();
    if codec.base64 {
        let decoded = BASE64.decode(&data).map_err(|_| "invalid base64 data")?;
        return Ok(Some((channel.wrapping_sub(b'0'), Bytes::from(decoded))));
    }
    Ok(Some((channel, data)))
}

async fn read_loop<S>(
    mut stream: S,
    codec: ChannelCodec,
    mut senders: Vec<Option<mpsc::Sender<Bytes>>>,
    closed: watch::Sender<bool>,
) where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(message) = stream.next().await {
        let message = match message {
            Ok(Message::Close(_)) => break,
            Ok(message) => message,
            Err(err) => {
                tracing::debug!(%err, "websocket: read error");
                break;
            }
        };
        let (channel, data) = match parse_message(codec, message) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => continue,
            Err(reason) => {
                tracing::debug!(reason, "websocket: dropping malformed message");
                continue;
            }
        };
        if codec.close_signals && channel == CLOSE_CHANNEL {
            let [target] = data[..] else {
                tracing::debug!("websocket: a close signal must name exactly one channel");
                break;
            };
            match senders.get_mut(usize::from(target)) {
                Some(sender) => *sender = None,
                None => break,
            }
            continue;
        }
        let Some(slot) = senders.get_mut(usize::from(channel)) else { continue };
        if let Some(sender) = slot
            && sender.send(data).await.is_err()
        {
            *slot = None;
        }
    }
    senders.clear();
    let _ = closed.send(true);
}

async fn write_loop<S>(mut sink: S, mut rx: mpsc::UnboundedReceiver<Outgoing>, mut closed: watch::Receiver<bool>)
where
    S: futures::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut close_ack = None;
        let mut closing = false;
        let mut failed = false;
        while let Some(item) = next.take() {
            match item {
                Outgoing::Message(message, _permit) => {
                    if let Err(err) = sink.feed(message).await {
                        tracing::debug!(%err, "websocket: write error");
                        failed = true;
                        break;
                    }
                }
                Outgoing::Close(ack) => {
                    closing = true;
                    close_ack = ack;
                    break;
                }
            }
            next = rx.try_recv().ok();
        }
        if failed {
            break;
        }
        if closing {
            let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
            let _ = sink.feed(Message::Close(Some(frame))).await;
        }
        if let Err(err) = sink.flush().await {
            tracing::debug!(%err, "websocket: flush error");
            break;
        }
        if closing {
            if let Some(ack) = close_ack {
                let _ = ack.send(());
            }
            rx.close();
            let _ = tokio::time::timeout(LINGER, closed.wait_for(|c| *c)).await;
            break;
        }
    }
}

/// A WebSocket seen as a byte stream: binary messages in, binary messages out (the
/// `SPDY/3.1+portforward.k8s.io` tunnel). Shutting it down sends a close frame (1000), which client-go
/// treats as a clean EOF.
pub struct WebSocketByteStream<T> {
    ws: WebSocketStream<T>,
    read_buf: Bytes,
    read_done: bool,
    close_sent: bool,
}

impl<T> WebSocketByteStream<T> {
    /// Wraps a server-side WebSocket.
    pub fn new(ws: WebSocketStream<T>) -> Self {
        Self { ws, read_buf: Bytes::new(), read_done: false, close_sent: false }
    }
}

fn ws_io_error(err: tokio_tungstenite::tungstenite::Error) -> io::Error {
    match err {
        tokio_tungstenite::tungstenite::Error::Io(err) => err,
        other => io::Error::other(other),
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for WebSocketByteStream<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        use tokio_tungstenite::tungstenite::Error as WsError;
        while self.read_buf.is_empty() {
            if self.read_done {
                return Poll::Ready(Ok(()));
            }
            match ready!(self.ws.poll_next_unpin(cx)) {
                Some(Ok(Message::Binary(data))) => self.read_buf = data,
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "unexpected text message")));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    self.read_done = true
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Poll::Ready(Err(ws_io_error(err))),
            }
        }
        let n = self.read_buf.len().min(out.remaining());
        out.put_slice(&self.read_buf[..n]);
        self.read_buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WebSocketByteStream<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.close_sent {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        ready!(self.ws.poll_ready_unpin(cx)).map_err(ws_io_error)?;
        self.ws.start_send_unpin(Message::binary(Bytes::copy_from_slice(buf))).map_err(ws_io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ws.poll_flush_unpin(cx).map_err(ws_io_error)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.close_sent {
            ready!(self.ws.poll_ready_unpin(cx)).map_err(ws_io_error)?;
            let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
            self.ws.start_send_unpin(Message::Close(Some(frame))).map_err(ws_io_error)?;
            self.close_sent = true;
        }
        match ready!(self.ws.poll_flush_unpin(cx)) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed) => Poll::Ready(Ok(())),
            Err(err) => Poll::Ready(Err(ws_io_error(err))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_follow_the_subprotocol() {
        assert_eq!(
            ChannelCodec::for_subprotocol("v5.channel.k8s.io"),
            ChannelCodec { base64: false, close_signals: true }
        );
        assert_eq!(
            ChannelCodec::for_subprotocol("v4.channel.k8s.io"),
            ChannelCodec { base64: false, close_signals: false }
        );
        assert_eq!(
            ChannelCodec::for_subprotocol("v4.base64.channel.k8s.io"),
            ChannelCodec { base64: true, close_signals: false }
        );
        assert!(ChannelCodec::for_subprotocol("base64.channel.k8s.io").base64);
        assert_eq!(ChannelCodec::for_subprotocol(""), ChannelCodec { base64: false, close_signals: false });
    }

    #[test]
    fn encodes_binary_and_base64_messages() {
        let binary = ChannelCodec::for_subprotocol("v5.channel.k8s.io");
        assert_eq!(binary.encode(1, b"hi"), Message::binary(vec![1, b'h', b'i']));
        assert_eq!(binary.encode(3, b""), Message::binary(vec![3]));
        let text = ChannelCodec::for_subprotocol("base64.channel.k8s.io");
        assert_eq!(text.encode(1, b"hello"), Message::text("1aGVsbG8="));
        assert_eq!(text.encode(2, b""), Message::text("2"));
    }

    #[test]
    fn parses_incoming_messages() {
        let binary = ChannelCodec::for_subprotocol("v5.channel.k8s.io");
        assert_eq!(parse_message(binary, Message::binary(vec![0, b'x'])), Ok(Some((0, Bytes::from_static(b"x")))));
        assert_eq!(parse_message(binary, Message::binary(vec![255, 0])), Ok(Some((255, Bytes::from_static(&[0])))));
        assert_eq!(parse_message(binary, Message::binary(Vec::new())), Ok(None));
        let text = ChannelCodec::for_subprotocol("v4.base64.channel.k8s.io");
        assert_eq!(parse_message(text, Message::text("0aGk=")), Ok(Some((0, Bytes::from_static(b"hi")))));
        assert_eq!(parse_message(text, Message::text("0!!")), Err("invalid base64 data"));
    }
}
