//! The shim's wire protocol, over its unix socket (`/run/coracle/<instance>/s/<id>.sock`).
//!
//! A connection carries one request: the client writes one JSON [`Request`] line, the shim answers
//! with one JSON [`Response`] line. `attach` and `exec` then turn the connection into a stream of
//! frames, each `[channel: u8][length: u32 big-endian][payload]`, with the channel numbers of
//! Kubernetes' remote command protocol (`v4.channel.k8s.io` / `v5.channel.k8s.io`), so a kubelet
//! bridges a frame to a websocket message by dropping the length:
//!
//! | channel | direction | payload |
//! |---|---|---|
//! | 0 stdin | client → shim | bytes |
//! | 1 stdout, 2 stderr | shim → client | bytes |
//! | 3 status | shim → client | JSON [`ExitStatus`], last frame: the process ended (exec) or the container did (attach) |
//! | 4 resize | client → shim | JSON `{"Width": w, "Height": h}` (Kubernetes' `TerminalSize`) |
//! | 255 close | client → shim | `[0]`: stdin is closed (v5's close signal) |

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::request::ExecRequest;
use super::state::StateFile;

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const STATUS: u8 = 3;
pub const RESIZE: u8 = 4;
pub const CLOSE: u8 = 255;

/// Frames larger than this are refused (data frames are at most 32 KiB).
pub const MAX_FRAME: usize = 1 << 20;

/// What a client asks of the shim.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Request {
    /// Start the created container.
    Start,
    /// The current state record.
    State,
    /// Send a signal to the container's init process (`all`: to every process in it).
    Kill { signal: i32, all: bool },
    /// Answer when the container has exited (with its final state).
    Wait,
    /// Stream the container's output (and feed its stdin, if it was created with stdin open).
    Attach { stdin: bool, stdout: bool, stderr: bool },
    /// Run a process in the container and stream it.
    Exec(ExecRequest),
    /// Resize the container's terminal.
    Resize { width: u16, height: u16 },
}

/// The kind of a failed request, for callers that map it to their own errors.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    NotRunning,
    ExecutableNotFound,
    Invalid,
    Failed,
}

/// The shim's answer.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Response {
    pub error: Option<String>,
    pub kind: Option<ErrorKind>,
    pub state: Option<StateFile>,
}

impl Response {
    pub fn ok() -> Response {
        Response::default()
    }
    pub fn state(st: StateFile) -> Response {
        Response { state: Some(st), ..Default::default() }
    }
    pub fn err(kind: ErrorKind, msg: impl Into<String>) -> Response {
        Response { error: Some(msg.into()), kind: Some(kind), state: None }
    }
}

/// How a process ended: the payload of the last frame (channel 3).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ExitStatus {
    /// As a shell reports it: the exit code, or 128 + the signal.
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub oom_killed: bool,
    pub message: Option<String>,
}

/// Kubernetes' `TerminalSize` (channel 4).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TerminalSize {
    #[serde(rename = "Width")]
    pub width: u16,
    #[serde(rename = "Height")]
    pub height: u16,
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub channel: u8,
    pub payload: Vec<u8>,
}

pub fn encode_frame(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(channel);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

pub fn write_frame(w: &mut impl Write, channel: u8, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&encode_frame(channel, payload))?;
    w.flush()
}

/// The next frame, or None at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> std::io::Result<Option<Frame>> {
    let mut head = [0u8; 5];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("frame of {len} bytes")));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some(Frame { channel: head[0], payload }))
}

/// Write a JSON value as one line.
pub fn write_line<T: Serialize>(w: &mut impl Write, value: &T) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    w.write_all(&bytes)?;
    w.flush()
}

/// Read one JSON line, byte by byte (so nothing after it is consumed).
pub fn read_line<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> std::io::Result<T> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match r.read(&mut b) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(_) if b[0] == b'\n' => break,
            Ok(_) => {
                line.push(b[0]);
                if line.len() > MAX_FRAME {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "line too long"));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    serde_json::from_slice(&line).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, STDOUT, b"hello").unwrap();
        write_frame(&mut buf, STATUS, br#"{"exitCode":3}"#).unwrap();
        assert_eq!(&buf[..5], &[1, 0, 0, 0, 5]);
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r).unwrap(), Some(Frame { channel: STDOUT, payload: b"hello".to_vec() }));
        let f = read_frame(&mut r).unwrap().unwrap();
        let st: ExitStatus = serde_json::from_slice(&f.payload).unwrap();
        assert_eq!(st.exit_code, 3);
        assert_eq!(read_frame(&mut r).unwrap(), None);
        let mut cut = &buf[..3];
        assert!(read_frame(&mut cut).is_err());
    }

    #[test]
    fn requests_are_tagged_json_lines() {
        let mut buf = Vec::new();
        write_line(&mut buf, &Request::Kill { signal: 15, all: false }).unwrap();
        assert_eq!(buf, b"{\"op\":\"kill\",\"signal\":15,\"all\":false}\n");
        write_line(&mut buf, &Request::Start).unwrap();
        let mut r = &buf[..];
        assert_eq!(read_line::<Request>(&mut r).unwrap(), Request::Kill { signal: 15, all: false });
        assert_eq!(read_line::<Request>(&mut r).unwrap(), Request::Start);
        let size: TerminalSize = serde_json::from_str(r#"{"Width":80,"Height":24}"#).unwrap();
        assert_eq!(size, TerminalSize { width: 80, height: 24 });
    }
}
