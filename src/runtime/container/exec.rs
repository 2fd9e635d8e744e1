//! The client side of an `exec` or `attach` stream (see [`super::protocol`] for the frames).
//!
//! A [`Session`] is a connected socket on which the shim has accepted the request. The CLI drives it
//! with [`Session::pump`] (stdin from one thread, output to the terminal); the kubelet takes the raw
//! socket with [`Session::into_stream`] and bridges frames to the API server's exec/attach streams
//! (same channel numbers; the payload of the last frame, channel 3, is an [`ExitStatus`] that it turns
//! into the `metav1.Status` Kubernetes clients expect).

use std::io::Write;
use std::os::unix::net::UnixStream;

use super::protocol::{self, ExitStatus, Frame, TerminalSize};

/// A stream with the shim, after it accepted an exec or attach request.
pub struct Session {
    stream: UnixStream,
}

/// The sending half of a session (stdin, resize, close), usable from another thread.
#[derive(Debug)]
pub struct SessionWriter {
    stream: UnixStream,
}

impl SessionWriter {
    pub fn stdin(&mut self, data: &[u8]) -> std::io::Result<()> {
        for chunk in data.chunks(32 * 1024) {
            protocol::write_frame(&mut self.stream, protocol::STDIN, chunk)?;
        }
        Ok(())
    }

    /// Tell the process its stdin has ended.
    pub fn close_stdin(&mut self) -> std::io::Result<()> {
        protocol::write_frame(&mut self.stream, protocol::CLOSE, &[protocol::STDIN])
    }

    pub fn resize(&mut self, width: u16, height: u16) -> std::io::Result<()> {
        let body = serde_json::to_vec(&TerminalSize { width, height }).expect("serialisable");
        protocol::write_frame(&mut self.stream, protocol::RESIZE, &body)
    }
}

impl Session {
    pub(crate) fn new(stream: UnixStream) -> Session {
        Session { stream }
    }

    /// The socket itself, for callers that speak the frame protocol on their own (e.g. with tokio:
    /// `tokio::net::UnixStream::from_std` after `set_nonblocking(true)`).
    pub fn into_stream(self) -> UnixStream {
        self.stream
    }

    pub fn writer(&self) -> std::io::Result<SessionWriter> {
        Ok(SessionWriter { stream: self.stream.try_clone()? })
    }

    /// The next frame from the shim; None when it closed the stream.
    pub fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        protocol::read_frame(&mut self.stream)
    }

    /// Copy output to `out` and `err` until the status frame arrives; returns it, or None if the
    /// stream ended without one (the shim went away).
    pub fn pump(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Option<ExitStatus>> {
        while let Some(f) = self.next_frame()? {
            match f.channel {
                protocol::STDOUT => {
                    out.write_all(&f.payload)?;
                    out.flush()?;
                }
                protocol::STDERR => {
                    err.write_all(&f.payload)?;
                    err.flush()?;
                }
                protocol::STATUS => {
                    let st: ExitStatus = serde_json::from_slice(&f.payload)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                    return Ok(Some(st));
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Run to the end with `input` as stdin (then closed); returns (stdout, stderr, status).
    pub fn collect(mut self, input: &[u8]) -> std::io::Result<(Vec<u8>, Vec<u8>, Option<ExitStatus>)> {
        let mut w = self.writer()?;
        let input = input.to_vec();
        let feeder = std::thread::spawn(move || {
            let _ = w.stdin(&input);
            let _ = w.close_stdin();
        });
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let st = self.pump(&mut out, &mut err)?;
        let _ = feeder.join();
        Ok((out, err, st))
    }
}
