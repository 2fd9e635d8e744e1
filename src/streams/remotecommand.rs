//! The remote-command protocol of `exec` and `attach`, server side, over SPDY or WebSocket.
//!
//! SPDY: the client opens one stream per purpose, named by the `streamType` header (`error`, `stdin`,
//! `stdout`, `stderr`, and from v3 `resize` when a TTY is used); the server answers each and waits
//! (30 s) until all expected ones exist. WebSocket: fixed channels 0 stdin, 1 stdout, 2 stderr,
//! 3 error, 4 resize; right after the upgrade the server sends an empty message on the first output
//! channel (stdout, else stderr, else error), as the kubelet and API server do.
//!
//! At the end the error stream gets the outcome: a JSON `metav1.Status` for v4/v5, or for older
//! protocols the failure message as plain text (nothing on success). Resize events are JSON objects
//! `{"Width":w,"Height":h}` written back to back.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::spdy::{ConnectionControl, SendHalf, SpdyConnection, SpdyStream};
use super::websocket::{ChannelCodec, ChannelConnection, ChannelKind, server_websocket};
use super::{Negotiated, STREAM_PROTOCOL_V4, STREAM_PROTOCOL_V5, StreamError};

/// How long the client has to open all streams (the kubelet's `DefaultStreamCreationTimeout`).
pub const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);

/// A readable stream handed to the command (stdin).
pub type CommandInput = Box<dyn AsyncRead + Send + Unpin>;
/// A writable stream handed to the command (stdout, stderr).
pub type CommandOutput = Box<dyn AsyncWrite + Send + Unpin>;

const STDIN_CHANNEL: u8 = 0;
const STDOUT_CHANNEL: u8 = 1;
const STDERR_CHANNEL: u8 = 2;
const ERROR_CHANNEL: u8 = 3;

/// Which streams a remote command uses (from the `stdin`, `stdout`, `stderr`, `tty` query parameters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteCommandOptions {
    /// Pass the client's stdin.
    pub stdin: bool,
    /// Send stdout.
    pub stdout: bool,
    /// Send stderr (never with a TTY).
    pub stderr: bool,
    /// Allocate a TTY (enables resize events).
    pub tty: bool,
}

impl RemoteCommandOptions {
    /// Reads the options from a request query. Flags are on when `true` or `1` (the API server's and
    /// the kubelet's forms); stderr is dropped with a TTY, and at least one stream is required.
    pub fn from_query(query: &str) -> Result<Self, String> {
        let flag = |name: &str| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .any(|(k, v)| k == name && (v == "true" || v == "1"))
        };
        let tty = flag("tty");
        let options = Self { stdin: flag("stdin"), stdout: flag("stdout"), stderr: flag("stderr") && !tty, tty };
        if !options.stdin && !options.stdout && !options.stderr {
            return Err("you must specify at least 1 of stdin, stdout, stderr".to_owned());
        }
        Ok(options)
    }
}

/// A terminal size from a resize event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

/// How the command ended; becomes the `metav1.Status` written on the error stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Exit code 0.
    Success,
    /// A non-zero exit code, with the runtime's description of the exit (kubectl shows only the code).
    ExitCode {
        /// The exit code (kubectl accepts 0–255).
        code: i32,
        /// The runtime's error text, e.g. `error executing command [sh -c exit 3], exit code 3`.
        description: String,
    },
    /// Any other failure; the message is used as is (see [`CommandOutcome::exec_error`]).
    Error(String),
}

impl CommandOutcome {
    /// A non-zero exit described as containerd's CRI describes it.
    pub fn exit_code(code: i32, command: &[String]) -> Self {
        CommandOutcome::ExitCode {
            code,
            description: format!("error executing command [{}], exit code {code}", command.join(" ")),
        }
    }

    /// An exec failure, worded as the kubelet words it.
    pub fn exec_error(err: impl std::fmt::Display) -> Self {
        CommandOutcome::Error(format!("error executing command in container: {err}"))
    }

    /// An attach failure, worded as the kubelet words it.
    pub fn attach_error(err: impl std::fmt::Display) -> Self {
        CommandOutcome::Error(format!("error attaching to container: {err}"))
    }

    /// The `metav1.Status` the kubelet writes for this outcome (JSON as Go's `json.Marshal` emits it).
    pub fn status(&self) -> Value {
        match self {
            CommandOutcome::Success => json!({"metadata": {}, "status": "Success"}),
            CommandOutcome::ExitCode { code, description } => json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("command terminated with non-zero exit code: {description}"),
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
            }),
            CommandOutcome::Error(message) => json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("Internal error occurred: {message}"),
                "reason": "InternalError",
                "details": {"causes": [{"message": message}]},
                "code": 500,
            }),
        }
    }

    /// The bytes for the error stream: the JSON status (v4/v5), else the failure message (nothing on
    /// success), as the kubelet's `v1WriteStatusFunc`.
    fn error_stream_bytes(&self, json_status: bool) -> Vec<u8> {
        let status = self.status();
        if json_status {
            return serde_json::to_vec(&status).unwrap_or_default();
        }
        match status.get("message").and_then(Value::as_str) {
            Some(message) if *self != CommandOutcome::Success => message.as_bytes().to_vec(),
            _ => Vec::new(),
        }
    }
}

/// Terminal resize events, in order; ends when the client closes the resize stream.
pub struct ResizeEvents {
    rx: mpsc::Receiver<TerminalSize>,
}

impl ResizeEvents {
    /// The next event.
    pub async fn recv(&mut self) -> Option<TerminalSize> {
        self.rx.recv().await
    }
}

impl futures::Stream for ResizeEvents {
    type Item = TerminalSize;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TerminalSize>> {
        self.rx.poll_recv(cx)
    }
}

/// Reads back-to-back JSON terminal sizes from `input` (like Go's `json.Decoder`, field names matched
/// case-insensitively), stopping at the first malformed value.
async fn read_resize_events<R: AsyncRead + Unpin>(mut input: R, tx: mpsc::Sender<TerminalSize>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let mut values = serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
        let mut sizes = Vec::new();
        let mut failed = false;
        for value in values.by_ref() {
            match value {
                Ok(value) => match terminal_size(&value) {
                    Some(size) => sizes.push(size),
                    None => failed = true,
                },
                Err(err) if err.is_eof() => break,
                Err(_) => failed = true,
            }
            if failed {
                break;
            }
        }
        let consumed = values.byte_offset();
        buf.drain(..consumed);
        for size in sizes {
            if tx.send(size).await.is_err() {
                return;
            }
        }
        if failed {
            return;
        }
        match input.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn terminal_size(value: &Value) -> Option<TerminalSize> {
    let object = value.as_object()?;
    let field = |name: &str| -> Option<u16> {
        match object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some((_, v)) => v.as_u64().and_then(|n| u16::try_from(n).ok()),
            None => Some(0),
        }
    };
    Some(TerminalSize { width: field("width")?, height: field("height")? })
}

fn resize_events<R: AsyncRead + Unpin + Send + 'static>(input: R) -> ResizeEvents {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(read_resize_events(input, tx));
    ResizeEvents { rx }
}

enum Finisher {
    Spdy {
        conn: SpdyConnection,
        error: Option<SendHalf>,
        /// Send halves kept open until the end (stdin's: closing it early makes kubectl stop sending).
        keep_open: Vec<SendHalf>,
    },
    WebSocket {
        conn: ChannelConnection,
    },
}

enum Disconnect {
    Spdy(ConnectionControl),
    WebSocket(ChannelConnection),
}

/// An accepted `exec` / `attach` session. Take the streams, run the command, then call
/// [`RemoteCommandSession::finish`] once its output has been written.
pub struct RemoteCommandSession {
    protocol: String,
    json_status: bool,
    tty: bool,
    stdin: Option<CommandInput>,
    stdout: Option<CommandOutput>,
    stderr: Option<CommandOutput>,
    resize: Option<ResizeEvents>,
    finisher: Finisher,
}

impl RemoteCommandSession {
    /// The negotiated subprotocol.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Whether a TTY was requested.
    pub fn tty(&self) -> bool {
        self.tty
    }

    /// The client's stdin, if requested (EOF when the client closes it).
    pub fn take_stdin(&mut self) -> Option<CommandInput> {
        self.stdin.take()
    }

    /// The client's stdout, if requested.
    pub fn take_stdout(&mut self) -> Option<CommandOutput> {
        self.stdout.take()
    }

    /// The client's stderr, if requested (never with a TTY).
    pub fn take_stderr(&mut self) -> Option<CommandOutput> {
        self.stderr.take()
    }

    /// Terminal resize events (TTY sessions).
    pub fn take_resize(&mut self) -> Option<ResizeEvents> {
        self.resize.take()
    }

    /// A future that resolves when the client has gone away (its side of the connection ended), e.g.
    /// to stop the command early.
    pub fn disconnected(&self) -> impl Future<Output = ()> + Send + 'static {
        let watch = match &self.finisher {
            Finisher::Spdy { conn, .. } => Disconnect::Spdy(conn.control()),
            Finisher::WebSocket { conn } => Disconnect::WebSocket(conn.clone()),
        };
        async move {
            match watch {
                Disconnect::Spdy(control) => control.closed().await,
                Disconnect::WebSocket(conn) => conn.closed().await,
            }
        }
    }

    /// Writes the outcome on the error stream and closes the connection (half-closing every stream,
    /// then GOAWAY or a WebSocket close frame), as the kubelet does when the command ends.
    pub async fn finish(mut self, outcome: CommandOutcome) -> Result<(), StreamError> {
        let bytes = outcome.error_stream_bytes(self.json_status);
        drop(self.stdout.take());
        drop(self.stderr.take());
        drop(self.stdin.take());
        drop(self.resize.take());
        match self.finisher {
            Finisher::Spdy { conn, error, keep_open } => {
                let mut result = Ok(());
                if let Some(mut error) = error {
                    if !bytes.is_empty() {
                        result = error.write_all(&bytes).await;
                    }
                    drop(error);
                }
                drop(keep_open);
                conn.close().await;
                result.map_err(StreamError::from)
            }
            Finisher::WebSocket { conn } => {
                let result = if bytes.is_empty() { Ok(()) } else { conn.send(ERROR_CHANNEL, &bytes) };
                conn.close().await;
                result.map_err(StreamError::from)
            }
        }
    }
}

/// Runs the server side of a remote-command session on an upgraded connection.
pub async fn accept_remotecommand<T>(
    io: T,
    negotiated: Negotiated,
    options: RemoteCommandOptions,
) -> Result<RemoteCommandSession, StreamError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let options = RemoteCommandOptions { stderr: options.stderr && !options.tty, ..options };
    match negotiated {
        Negotiated::Spdy { protocol } => accept_spdy(io, protocol, options, STREAM_CREATION_TIMEOUT).await,
        Negotiated::WebSocket { subprotocol } => Ok(accept_websocket(io, subprotocol, options).await),
    }
}

/// The protocol version number of a remote-command subprotocol (1 for `channel.k8s.io`).
fn protocol_version(protocol: &str) -> u8 {
    protocol.strip_prefix('v').and_then(|rest| rest.split('.').next()).and_then(|n| n.parse().ok()).unwrap_or(1)
}

#[derive(Default)]
struct SpdyStreams {
    error: Option<SpdyStream>,
    stdin: Option<SpdyStream>,
    stdout: Option<SpdyStream>,
    stderr: Option<SpdyStream>,
    resize: Option<SpdyStream>,
}

impl SpdyStreams {
    /// Files an accepted stream by type; false for types this protocol version does not have.
    fn file(&mut self, stream_type: &str, stream: SpdyStream, version: u8) -> bool {
        let slot = match stream_type {
            "error" => &mut self.error,
            "stdin" => &mut self.stdin,
            "stdout" => &mut self.stdout,
            "stderr" => &mut self.stderr,
            "resize" if version >= 3 => &mut self.resize,
            _ => return false,
        };
        *slot = Some(stream);
        true
    }
}

async fn accept_spdy<T>(
    io: T,
    protocol: String,
    options: RemoteCommandOptions,
    timeout: Duration,
) -> Result<RemoteCommandSession, StreamError>
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let version = protocol_version(&protocol);
    let mut conn = SpdyConnection::new(io);
    let expected = 1
        + usize::from(options.stdin)
        + usize::from(options.stdout)
        + usize::from(options.stderr)
        + usize::from(options.tty && version >= 3);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut streams = SpdyStreams::default();
    let mut received = 0;
    while received < expected {
        let incoming = tokio::time::timeout_at(deadline, conn.accept())
            .await
            .map_err(|_| StreamError::StreamCreationTimeout)?
            .ok_or(StreamError::ConnectionClosed)?;
        let stream_type = incoming.headers().get("streamtype").unwrap_or_default().to_owned();
        let stream = incoming.accept();
        if streams.file(&stream_type, stream, version) {
            received += 1;
        } else {
            tracing::warn!(stream_type, "remotecommand: unexpected stream type");
        }
    }
    let mut keep_open = Vec::new();
    let stdin = streams.stdin.take().map(|s| {
        let (recv, send) = s.split();
        keep_open.push(send);
        Box::new(recv) as CommandInput
    });
    let resize = streams.resize.take().map(|s| {
        let (recv, send) = s.split();
        keep_open.push(send);
        resize_events(recv)
    });
    let output = |s: SpdyStream| Box::new(s.split().1) as CommandOutput;
    Ok(RemoteCommandSession {
        json_status: version >= 4,
        protocol,
        tty: options.tty,
        stdin,
        stdout: streams.stdout.take().map(output),
        stderr: streams.stderr.take().map(output),
        resize,
        finisher: Finisher::Spdy { conn, error: streams.error.take().map(|s| s.split().1), keep_open },
    })
}

async fn accept_websocket<T>(io: T, subprotocol: String, options: RemoteCommandOptions) -> RemoteCommandSession
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ws = server_websocket(io).await;
    let pick = |on: bool, kind: ChannelKind| if on { kind } else { ChannelKind::Ignore };
    let kinds = [
        pick(options.stdin, ChannelKind::Read),
        pick(options.stdout, ChannelKind::Write),
        pick(options.stderr, ChannelKind::Write),
        ChannelKind::Write,
        ChannelKind::Read,
    ];
    let (conn, mut channels) = ChannelConnection::start(ws, ChannelCodec::for_subprotocol(&subprotocol), &kinds);
    let first_output = if options.stdout {
        STDOUT_CHANNEL
    } else if options.stderr {
        STDERR_CHANNEL
    } else {
        ERROR_CHANNEL
    };
    let _ = conn.send(first_output, &[]);
    let mut take_reader = |i: u8| channels.get_mut(usize::from(i)).and_then(|c| c.reader.take());
    let stdin = take_reader(STDIN_CHANNEL).map(|r| Box::new(r) as CommandInput);
    let resize = if options.tty { take_reader(4).map(resize_events) } else { None };
    let mut take_writer =
        |i: u8| channels.get_mut(usize::from(i)).and_then(|c| c.writer.take()).map(|w| Box::new(w) as CommandOutput);
    RemoteCommandSession {
        json_status: matches!(
            subprotocol.as_str(),
            STREAM_PROTOCOL_V5 | STREAM_PROTOCOL_V4 | "v4.base64.channel.k8s.io"
        ),
        tty: options.tty,
        stdin,
        stdout: take_writer(STDOUT_CHANNEL),
        stderr: take_writer(STDERR_CHANNEL),
        resize,
        protocol: subprotocol,
        finisher: Finisher::WebSocket { conn },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_the_kubelet() {
        assert_eq!(
            serde_json::to_string(&CommandOutcome::Success.status()).unwrap(),
            r#"{"metadata":{},"status":"Success"}"#
        );
        let exit = CommandOutcome::exit_code(3, &["sh".into(), "-c".into(), "exit 3".into()]);
        assert_eq!(
            serde_json::to_string(&exit.status()).unwrap(),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        );
        assert_eq!(
            serde_json::to_string(&CommandOutcome::exec_error("no such container").status()).unwrap(),
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: no such container","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: no such container"}]},"code":500}"#
        );
    }

    #[test]
    fn old_protocols_get_plain_messages() {
        assert!(CommandOutcome::Success.error_stream_bytes(false).is_empty());
        assert_eq!(
            CommandOutcome::Error("boom".into()).error_stream_bytes(false),
            b"Internal error occurred: boom".to_vec()
        );
        assert_eq!(CommandOutcome::Success.error_stream_bytes(true), br#"{"metadata":{},"status":"Success"}"#.to_vec());
    }

    #[test]
    fn options_from_query() {
        let o = RemoteCommandOptions::from_query("command=sh&stdin=true&stdout=true&stderr=true&tty=true").unwrap();
        assert_eq!(o, RemoteCommandOptions { stdin: true, stdout: true, stderr: false, tty: true });
        let o = RemoteCommandOptions::from_query("stdout=1&stderr=1").unwrap();
        assert_eq!(o, RemoteCommandOptions { stdin: false, stdout: true, stderr: true, tty: false });
        assert_eq!(
            RemoteCommandOptions::from_query("command=ls&tty=true&stderr=true"),
            Err("you must specify at least 1 of stdin, stdout, stderr".to_owned())
        );
    }

    #[test]
    fn protocol_versions() {
        assert_eq!(protocol_version("v4.channel.k8s.io"), 4);
        assert_eq!(protocol_version("v5.channel.k8s.io"), 5);
        assert_eq!(protocol_version("channel.k8s.io"), 1);
    }

    #[tokio::test]
    async fn resize_events_are_decoded_across_reads() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut events = resize_events(server);
        client.write_all(br#"{"Width":80,"Height":24}"#).await.unwrap();
        client.write_all(b"\n{\"width\":100,").await.unwrap();
        assert_eq!(events.recv().await, Some(TerminalSize { width: 80, height: 24 }));
        client.write_all(b"\"height\":40}\n").await.unwrap();
        assert_eq!(events.recv().await, Some(TerminalSize { width: 100, height: 40 }));
        client.write_all(b"{\"Width\":\"x\"}").await.unwrap();
        assert_eq!(events.recv().await, None);
    }
}
