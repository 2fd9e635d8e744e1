//! SPDY/3.1 as kubectl speaks it (through moby/spdystream): framing and a server-side session.

pub mod connection;
pub mod frame;

pub use connection::{ConnectionControl, IncomingStream, RecvHalf, SendHalf, SpdyConnection, SpdyStream};
pub use frame::{Frame, FrameDecoder, FrameEncoder, FrameError, HeaderBlock};
