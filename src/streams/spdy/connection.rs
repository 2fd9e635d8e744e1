//! A server-side SPDY/3.1 session over any byte stream, behaving like moby/spdystream's server side.
//!
//! The client (kubectl) opens streams with SYN_STREAM; the server answers each it accepts with an empty
//! SYN_REPLY (spdystream drops data for a stream until it has seen the reply) or rejects it with
//! RST_STREAM. Either side half-closes a stream with FLAG_FIN, aborts it with RST_STREAM, and the server
//! echoes the client's (odd-numbered) PINGs. Closing sends GOAWAY, which must be the last frame: on
//! receiving it spdystream stops reading. spdystream does no flow control (it never sends WINDOW_UPDATE
//! and ignores those it gets), so neither does this: reads push back on the whole connection when a
//! stream's consumer is slow, as spdystream's frame workers do, and writes are bounded by a per-connection
//! byte budget.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};

use super::frame::{FLAG_FIN, Frame, FrameDecoder, FrameEncoder, GoAwayStatus, HeaderBlock, RstStatus};
use crate::streams::pipe::{WriteBudget, new_budget};

/// How long a closed connection keeps reading (and discarding) so that the peer reads everything it was
/// sent before the socket goes away.
const LINGER: Duration = Duration::from_secs(5);
/// Frames buffered per stream before the connection stops reading.
const STREAM_BUFFER: usize = 32;
/// Streams waiting in [`SpdyConnection::accept`].
const ACCEPT_BACKLOG: usize = 16;
/// Bytes gathered before the writer task flushes.
const WRITE_BATCH: usize = 64 * 1024;

enum Outgoing {
    Frame(Frame, Option<OwnedSemaphorePermit>),
    Close(GoAwayStatus, Option<oneshot::Sender<()>>),
}

struct StreamState {
    id: u32,
    data_tx: Mutex<Option<mpsc::Sender<Bytes>>>,
    reset: AtomicBool,
    local_fin: AtomicBool,
    remote_fin: AtomicBool,
}

impl StreamState {
    fn sender(&self) -> MutexGuard<'_, Option<mpsc::Sender<Bytes>>> {
        self.data_tx.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_done(&self) -> bool {
        self.reset.load(Ordering::Acquire)
            || (self.local_fin.load(Ordering::Acquire) && self.remote_fin.load(Ordering::Acquire))
    }
}

struct Shared {
    out: mpsc::UnboundedSender<Outgoing>,
    budget: Arc<Semaphore>,
    streams: Mutex<HashMap<u32, Arc<StreamState>>>,
    last_stream_id: Arc<AtomicU32>,
    closing: AtomicBool,
    closed: watch::Receiver<bool>,
}

impl Shared {
    fn send(&self, frame: Frame) -> bool {
        self.out.send(Outgoing::Frame(frame, None)).is_ok()
    }

    fn streams(&self) -> MutexGuard<'_, HashMap<u32, Arc<StreamState>>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stream(&self, id: u32) -> Option<Arc<StreamState>> {
        self.streams().get(&id).cloned()
    }

    fn forget_if_done(&self, state: &StreamState) {
        if state.is_done() {
            self.streams().remove(&state.id);
        }
    }

    fn reset(&self, state: &StreamState, status: RstStatus) {
        if !state.reset.swap(true, Ordering::AcqRel) {
            self.send(Frame::RstStream { stream_id: state.id, status });
        }
        state.sender().take();
        self.streams().remove(&state.id);
    }
}

/// A cloneable handle to close a connection or wait for its end.
#[derive(Clone)]
pub struct ConnectionControl {
    shared: Arc<Shared>,
}

impl ConnectionControl {
    /// Sends GOAWAY after everything already queued, half-closes the transport and waits until that is
    /// written. The connection then keeps reading for a few seconds (or until the peer closes) so the
    /// peer gets every byte before the socket is dropped. Calling it again is harmless.
    pub async fn close(&self) {
        self.shared.closing.store(true, Ordering::Release);
        let (ack, done) = oneshot::channel();
        if self.shared.out.send(Outgoing::Close(GoAwayStatus::OK, Some(ack))).is_ok() {
            let _ = done.await;
        }
    }

    /// Starts [`ConnectionControl::close`] without waiting.
    pub fn start_close(&self) {
        self.shared.closing.store(true, Ordering::Release);
        let _ = self.shared.out.send(Outgoing::Close(GoAwayStatus::OK, None));
    }

    /// Resolves once the peer has closed the connection (or it failed, or lingering ended).
    pub async fn closed(&self) {
        let mut closed = self.shared.closed.clone();
        let _ = closed.wait_for(|c| *c).await;
    }

    /// True once the connection's read side has ended.
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }
}

/// A server-side SPDY/3.1 connection. Dropping it closes the connection (see [`ConnectionControl::close`]).
pub struct SpdyConnection {
    incoming: mpsc::Receiver<IncomingStream>,
    control: ConnectionControl,
}

impl SpdyConnection {
    /// Starts serving SPDY on `io` (the upgraded connection); spawns a reader and a writer task.
    pub fn new<T>(io: T) -> Self
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read_half, write_half) = tokio::io::split(io);
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (incoming_tx, incoming) = mpsc::channel(ACCEPT_BACKLOG);
        let (closed_tx, closed_rx) = watch::channel(false);
        let (stop_tx, stop_rx) = watch::channel(false);
        let last_stream_id = Arc::new(AtomicU32::new(0));
        let shared = Arc::new(Shared {
            out: out_tx,
            budget: new_budget(),
            streams: Mutex::new(HashMap::new()),
            last_stream_id: last_stream_id.clone(),
            closing: AtomicBool::new(false),
            closed: closed_rx.clone(),
        });
        let reader = Reader { shared: shared.clone(), incoming: Some(incoming_tx), stop: stop_rx };
        tokio::spawn(reader.run(read_half, closed_tx));
        tokio::spawn(write_loop(write_half, out_rx, last_stream_id, closed_rx, stop_tx));
        Self { incoming, control: ConnectionControl { shared } }
    }

    /// The next stream the client opened; `None` once the client sent GOAWAY or the connection ended.
    pub async fn accept(&mut self) -> Option<IncomingStream> {
        self.incoming.recv().await
    }

    /// A handle to close the connection or wait for its end.
    pub fn control(&self) -> ConnectionControl {
        self.control.clone()
    }

    /// Closes the connection (see [`ConnectionControl::close`]).
    pub async fn close(self) {
        self.control.close().await;
    }
}

impl Drop for SpdyConnection {
    fn drop(&mut self) {
        self.control.start_close();
    }
}

/// A stream the client opened, not yet answered. Dropping it rejects it.
pub struct IncomingStream {
    state: Arc<StreamState>,
    headers: HeaderBlock,
    data_rx: Option<mpsc::Receiver<Bytes>>,
    shared: Arc<Shared>,
    answered: bool,
}

impl IncomingStream {
    /// The stream id (odd: opened by the client).
    pub fn id(&self) -> u32 {
        self.state.id
    }

    /// The headers of the SYN_STREAM.
    pub fn headers(&self) -> &HeaderBlock {
        &self.headers
    }

    /// Accepts the stream by sending an empty SYN_REPLY.
    pub fn accept(mut self) -> SpdyStream {
        self.shared.send(Frame::SynReply { stream_id: self.state.id, flags: 0, headers: HeaderBlock::new() });
        self.answered = true;
        let rx = self.data_rx.take();
        SpdyStream {
            headers: std::mem::take(&mut self.headers),
            recv: RecvHalf { rx, buf: Bytes::new() },
            send: SendHalf {
                state: self.state.clone(),
                budget: WriteBudget::new(self.shared.budget.clone()),
                shared: self.shared.clone(),
            },
        }
    }

    /// Rejects the stream with RST_STREAM (status CANCEL, as spdystream's `Reset` does).
    pub fn reject(self) {
        drop(self);
    }
}

impl Drop for IncomingStream {
    fn drop(&mut self) {
        if !self.answered {
            self.shared.reset(&self.state, RstStatus::CANCEL);
        }
    }
}

/// An accepted SPDY stream: read what the client sends, write back, half-close with
/// [`AsyncWriteExt::shutdown`] (FLAG_FIN). Dropping the write side also half-closes.
pub struct SpdyStream {
    headers: HeaderBlock,
    recv: RecvHalf,
    send: SendHalf,
}

impl SpdyStream {
    /// The stream id.
    pub fn id(&self) -> u32 {
        self.send.state.id
    }

    /// The headers the client opened the stream with.
    pub fn headers(&self) -> &HeaderBlock {
        &self.headers
    }

    /// Splits the stream into independently owned read and write halves.
    pub fn split(self) -> (RecvHalf, SendHalf) {
        (self.recv, self.send)
    }

    /// Aborts the stream with RST_STREAM (CANCEL).
    pub fn reset(self) {
        self.send.reset();
    }
}

impl AsyncRead for SpdyStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.recv).poll_read(cx, buf)
    }
}

impl AsyncWrite for SpdyStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.send).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.send).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.send).poll_shutdown(cx)
    }
}

/// The read half of a [`SpdyStream`]: EOF when the client half-closes or resets the stream or the
/// connection ends.
pub struct RecvHalf {
    rx: Option<mpsc::Receiver<Bytes>>,
    buf: Bytes,
}

impl AsyncRead for RecvHalf {
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

/// The write half of a [`SpdyStream`]. Dropping it half-closes the stream (FLAG_FIN) unless it was
/// already closed or reset.
pub struct SendHalf {
    state: Arc<StreamState>,
    budget: WriteBudget,
    shared: Arc<Shared>,
}

impl SendHalf {
    /// The stream id.
    pub fn id(&self) -> u32 {
        self.state.id
    }

    /// Aborts the stream with RST_STREAM (CANCEL).
    pub fn reset(&self) {
        self.state.local_fin.store(true, Ordering::Release);
        self.shared.reset(&self.state, RstStatus::CANCEL);
    }

    fn send_fin(&self) {
        if self.state.reset.load(Ordering::Acquire) || self.state.local_fin.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.send(Frame::Data { stream_id: self.state.id, flags: FLAG_FIN, data: Bytes::new() });
        self.shared.forget_if_done(&self.state);
    }
}

impl AsyncWrite for SendHalf {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.state.reset.load(Ordering::Acquire) || self.state.local_fin.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let (permit, n) = ready!(self.budget.poll_reserve(cx, buf.len()))?;
        let frame = Frame::Data { stream_id: self.state.id, flags: 0, data: Bytes::copy_from_slice(&buf[..n]) };
        if self.shared.out.send(Outgoing::Frame(frame, Some(permit))).is_err() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.send_fin();
        Poll::Ready(Ok(()))
    }
}

impl Drop for SendHalf {
    fn drop(&mut self) {
        self.send_fin();
    }
}

struct Reader {
    shared: Arc<Shared>,
    incoming: Option<mpsc::Sender<IncomingStream>>,
    stop: watch::Receiver<bool>,
}

impl Reader {
    async fn run<R: AsyncRead>(mut self, read_half: R, closed: watch::Sender<bool>) {
        let mut read_half = std::pin::pin!(read_half);
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::with_capacity(16 * 1024);
        'read: loop {
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(frame)) => {
                        let mut stop = self.stop.clone();
                        tokio::select! {
                            biased;
                            _ = stop.wait_for(|s| *s) => break 'read,
                            () = self.handle(frame) => {}
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::debug!(%err, "spdy: protocol error, closing connection");
                        let _ = self.shared.out.send(Outgoing::Close(GoAwayStatus::PROTOCOL_ERROR, None));
                        break 'read;
                    }
                }
            }
            let mut stop = self.stop.clone();
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                read = read_half.read_buf(&mut buf) => match read {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::debug!(%err, "spdy: read error");
                        break;
                    }
                },
            }
        }
        self.finish();
        let _ = closed.send(true);
    }

    fn finish(&mut self) {
        self.incoming = None;
        let streams: Vec<_> = self.shared.streams().drain().map(|(_, s)| s).collect();
        for state in streams {
            state.sender().take();
        }
    }

    async fn handle(&mut self, frame: Frame) {
        match frame {
            Frame::SynStream { stream_id, flags, headers, .. } => self.open_stream(stream_id, flags, headers).await,
            Frame::Data { stream_id, flags, data } => self.data(stream_id, flags, data).await,
            Frame::Headers { stream_id, flags, .. } if flags & FLAG_FIN != 0 => self.remote_fin(stream_id),
            Frame::RstStream { stream_id, .. } => {
                if let Some(state) = self.shared.stream(stream_id) {
                    state.reset.store(true, Ordering::Release);
                    state.sender().take();
                    self.shared.streams().remove(&stream_id);
                }
            }
            Frame::Ping { id } if id % 2 == 1 => {
                self.shared.send(Frame::Ping { id });
            }
            Frame::GoAway { .. } => self.incoming = None,
            other => tracing::trace!(?other, "spdy: ignoring frame"),
        }
    }

    async fn open_stream(&mut self, stream_id: u32, flags: u8, headers: HeaderBlock) {
        let last = self.shared.last_stream_id.load(Ordering::Acquire);
        if stream_id.is_multiple_of(2) || stream_id <= last {
            self.shared.send(Frame::RstStream { stream_id, status: RstStatus::PROTOCOL_ERROR });
            return;
        }
        self.shared.last_stream_id.store(stream_id, Ordering::Release);
        let Some(incoming) = self.incoming.clone().filter(|_| !self.shared.closing.load(Ordering::Acquire)) else {
            self.shared.send(Frame::RstStream { stream_id, status: RstStatus::REFUSED_STREAM });
            return;
        };
        let fin = flags & FLAG_FIN != 0;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let state = Arc::new(StreamState {
            id: stream_id,
            data_tx: Mutex::new((!fin).then_some(tx)),
            reset: AtomicBool::new(false),
            local_fin: AtomicBool::new(false),
            remote_fin: AtomicBool::new(fin),
        });
        self.shared.streams().insert(stream_id, state.clone());
        let stream = IncomingStream { state, headers, data_rx: Some(rx), shared: self.shared.clone(), answered: false };
        if incoming.send(stream).await.is_err() {
            self.incoming = None;
        }
    }

    async fn data(&mut self, stream_id: u32, flags: u8, data: Bytes) {
        let Some(state) = self.shared.stream(stream_id) else { return };
        if !data.is_empty() {
            let tx = state.sender().clone();
            if let Some(tx) = tx
                && tx.send(data).await.is_err()
            {
                state.sender().take();
            }
        }
        if flags & FLAG_FIN != 0 {
            self.remote_fin(stream_id);
        }
    }

    fn remote_fin(&mut self, stream_id: u32) {
        if let Some(state) = self.shared.stream(stream_id) {
            state.remote_fin.store(true, Ordering::Release);
            state.sender().take();
            self.shared.forget_if_done(&state);
        }
    }
}

async fn write_loop<W: AsyncWrite>(
    write_half: W,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    last_stream_id: Arc<AtomicU32>,
    mut closed: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
) {
    let mut write_half = std::pin::pin!(write_half);
    let mut encoder = match FrameEncoder::new() {
        Ok(encoder) => encoder,
        Err(err) => {
            tracing::error!(%err, "spdy: cannot create header compressor");
            let _ = stop.send(true);
            return;
        }
    };
    let mut buf = BytesMut::with_capacity(WRITE_BATCH);
    let mut permits = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut close_ack = None;
        let mut closing = None;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Outgoing::Frame(frame, permit) => {
                    if let Err(err) = encoder.encode(&frame, &mut buf) {
                        tracing::warn!(%err, "spdy: cannot encode frame");
                    }
                    permits.extend(permit);
                }
                Outgoing::Close(status, ack) => {
                    closing = Some(status);
                    close_ack = ack;
                    break;
                }
            }
            if buf.len() < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if let Some(status) = closing {
            let goaway = Frame::GoAway { last_good_stream_id: last_stream_id.load(Ordering::Acquire), status };
            let _ = encoder.encode(&goaway, &mut buf);
        }
        let written = write_half.write_all(&buf).await.and(write_half.flush().await);
        buf.clear();
        permits.clear();
        if let Err(err) = written {
            tracing::debug!(%err, "spdy: write error");
            break;
        }
        if closing.is_some() {
            let _ = write_half.shutdown().await;
            if let Some(ack) = close_ack {
                let _ = ack.send(());
            }
            rx.close();
            let _ = tokio::time::timeout(LINGER, closed.wait_for(|c| *c)).await;
            break;
        }
    }
    let _ = stop.send(true);
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, DuplexStream};

    use super::*;

    /// The client side of a connection, speaking raw frames.
    struct Client {
        io: DuplexStream,
        encoder: FrameEncoder,
        decoder: FrameDecoder,
        buf: BytesMut,
    }

    impl Client {
        fn new() -> (Self, SpdyConnection) {
            let (client, server) = tokio::io::duplex(1 << 16);
            let client = Client {
                io: client,
                encoder: FrameEncoder::new().expect("encoder"),
                decoder: FrameDecoder::new(),
                buf: BytesMut::new(),
            };
            (client, SpdyConnection::new(server))
        }

        async fn send(&mut self, frame: Frame) {
            let mut wire = BytesMut::new();
            self.encoder.encode(&frame, &mut wire).expect("encode");
            self.io.write_all(&wire).await.expect("write");
        }

        async fn open(&mut self, stream_id: u32, stream_type: &str) {
            let headers = HeaderBlock::new().with("streamType", stream_type);
            self.send(Frame::SynStream { stream_id, associated_to: 0, priority: 0, slot: 0, flags: 0, headers }).await;
        }

        async fn recv(&mut self) -> Option<Frame> {
            tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    if let Some(frame) = self.decoder.decode(&mut self.buf).expect("decode") {
                        return Some(frame);
                    }
                    if self.io.read_buf(&mut self.buf).await.expect("read") == 0 {
                        return None;
                    }
                }
            })
            .await
            .expect("timed out waiting for a frame")
        }
    }

    fn data(stream_id: u32, flags: u8, bytes: &'static [u8]) -> Frame {
        Frame::Data { stream_id, flags, data: Bytes::from_static(bytes) }
    }

    #[tokio::test]
    async fn accepted_streams_carry_data_both_ways_and_half_close() {
        let (mut client, mut conn) = Client::new();
        client.open(1, "stdout").await;
        let incoming = conn.accept().await.expect("stream");
        assert_eq!((incoming.id(), incoming.headers().get("streamtype")), (1, Some("stdout")));
        let mut stream = incoming.accept();
        assert_eq!(client.recv().await, Some(Frame::SynReply { stream_id: 1, flags: 0, headers: HeaderBlock::new() }));

        client.send(data(1, 0, b"in")).await;
        client.send(data(1, FLAG_FIN, b"put")).await;
        let mut input = String::new();
        stream.read_to_string(&mut input).await.expect("read");
        assert_eq!(input, "input");

        stream.write_all(b"out").await.expect("write");
        stream.shutdown().await.expect("shutdown");
        assert_eq!(client.recv().await, Some(data(1, 0, b"out")));
        assert_eq!(client.recv().await, Some(data(1, FLAG_FIN, b"")));
        assert!(stream.write_all(b"late").await.is_err());
    }

    #[tokio::test]
    async fn client_pings_are_echoed_and_replies_to_ours_are_not() {
        let (mut client, _conn) = Client::new();
        client.send(Frame::Ping { id: 2 }).await;
        client.send(Frame::Ping { id: 7 }).await;
        assert_eq!(client.recv().await, Some(Frame::Ping { id: 7 }));
    }

    #[tokio::test]
    async fn rejected_and_invalid_streams_are_reset() {
        let (mut client, mut conn) = Client::new();
        client.open(1, "error").await;
        conn.accept().await.expect("stream").reject();
        assert_eq!(client.recv().await, Some(Frame::RstStream { stream_id: 1, status: RstStatus::CANCEL }));
        client.open(4, "error").await;
        assert_eq!(client.recv().await, Some(Frame::RstStream { stream_id: 4, status: RstStatus::PROTOCOL_ERROR }));
        client.open(1, "error").await;
        assert_eq!(client.recv().await, Some(Frame::RstStream { stream_id: 1, status: RstStatus::PROTOCOL_ERROR }));
    }

    #[tokio::test]
    async fn a_client_reset_ends_the_stream() {
        let (mut client, mut conn) = Client::new();
        client.open(1, "data").await;
        let mut stream = conn.accept().await.expect("stream").accept();
        let _ = client.recv().await;
        client.send(Frame::RstStream { stream_id: 1, status: RstStatus::CANCEL }).await;
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.expect("read");
        assert!(rest.is_empty());
        assert!(stream.write_all(b"x").await.is_err());
    }

    #[tokio::test]
    async fn close_sends_goaway_last_and_dropping_the_write_half_sends_fin() {
        let (mut client, mut conn) = Client::new();
        client.open(1, "error").await;
        client.open(3, "stdout").await;
        let first = conn.accept().await.expect("first").accept();
        let second = conn.accept().await.expect("second").accept();
        let (_recv, send) = second.split();
        drop(send);
        drop(first);
        let control = conn.control();
        conn.close().await;
        let mut frames = Vec::new();
        while let Some(frame) = client.recv().await {
            frames.push(frame);
        }
        assert_eq!(
            frames,
            vec![
                Frame::SynReply { stream_id: 1, flags: 0, headers: HeaderBlock::new() },
                Frame::SynReply { stream_id: 3, flags: 0, headers: HeaderBlock::new() },
                data(3, FLAG_FIN, b""),
                data(1, FLAG_FIN, b""),
                Frame::GoAway { last_good_stream_id: 3, status: GoAwayStatus::OK },
            ]
        );
        drop(client);
        control.closed().await;
    }

    #[tokio::test]
    async fn writes_are_split_into_bounded_frames() {
        let (mut client, mut conn) = Client::new();
        client.open(1, "stdout").await;
        let mut stream = conn.accept().await.expect("stream").accept();
        let _ = client.recv().await;
        let payload = vec![7u8; 100_000];
        let writer = tokio::spawn(async move {
            stream.write_all(&payload).await.expect("write");
        });
        let mut received = 0;
        while received < 100_000 {
            match client.recv().await {
                Some(Frame::Data { stream_id: 1, data, .. }) => {
                    assert!(data.len() <= crate::streams::pipe::CHUNK);
                    received += data.len();
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        writer.await.expect("writer");
    }
}
