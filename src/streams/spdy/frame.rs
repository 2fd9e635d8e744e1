//! SPDY/3.1 frames: their wire encoding and the zlib-compressed name/value header blocks.
//!
//! Every frame starts with 8 bytes. A control frame has the high bit set, a 15-bit version (3) and a
//! 16-bit type, then 8 bits of flags and a 24-bit payload length. A data frame has the high bit clear
//! and a 31-bit stream id, then flags and length. Header blocks (in SYN_STREAM, SYN_REPLY and HEADERS)
//! are compressed with zlib primed with the SPDY/3 dictionary; each direction of a connection keeps one
//! compression context for its whole life and every block ends with a sync flush, exactly as Go's
//! `spdy.Framer` (used by kubectl through moby/spdystream) does.

use std::sync::LazyLock;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The SPDY protocol version carried by every control frame.
pub const VERSION: u16 = 3;
/// FLAG_FIN: the sender will send nothing more on the stream.
pub const FLAG_FIN: u8 = 0x01;
/// FLAG_UNIDIRECTIONAL (SYN_STREAM only): the recipient must not send on the stream.
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// FLAG_SETTINGS_CLEAR_SETTINGS (SETTINGS only).
pub const FLAG_SETTINGS_CLEAR: u8 = 0x01;
/// The largest payload a frame's 24-bit length can describe.
pub const MAX_FRAME_PAYLOAD: usize = (1 << 24) - 1;
/// The largest decompressed header block accepted from a peer.
pub const MAX_HEADER_BLOCK: usize = 256 * 1024;

const FRAME_HEADER_LEN: usize = 8;
const STREAM_ID_MASK: u32 = 0x7fff_ffff;

const TYPE_SYN_STREAM: u16 = 1;
const TYPE_SYN_REPLY: u16 = 2;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_SETTINGS: u16 = 4;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const TYPE_HEADERS: u16 = 8;
const TYPE_WINDOW_UPDATE: u16 = 9;

/// The words at the start of the SPDY/3 header dictionary, each preceded on the wire by its 32-bit length.
const DICTIONARY_WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The raw text that ends the SPDY/3 header dictionary.
const DICTIONARY_TAIL: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized",
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,",
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
);

/// The SPDY/3 zlib dictionary (1423 bytes, Adler-32 0xe3c6a7c2), built from its words and tail.
pub static DICTIONARY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut dict = Vec::with_capacity(1423);
    for word in DICTIONARY_WORDS {
        dict.put_u32(word.len() as u32);
        dict.put_slice(word.as_bytes());
    }
    dict.put_slice(DICTIONARY_TAIL.as_bytes());
    dict
});

/// Why a frame could not be encoded or decoded. Any of these ends the connection.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// zlib failed on a header block.
    #[error("header block compression error: {0}")]
    Compression(String),
    /// A decompressed header block was malformed.
    #[error("invalid header block: {0}")]
    InvalidHeaderBlock(&'static str),
    /// A control frame's payload did not match its type.
    #[error("invalid {kind} frame: {reason}")]
    InvalidFrame {
        /// The frame type.
        kind: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// A frame (or header block) exceeded the protocol's size limits.
    #[error("frame too large: {0} bytes")]
    TooLarge(usize),
}

/// A name/value header block. Names are lowercase; a value may hold several values separated by NUL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderBlock {
    entries: Vec<(String, String)>,
}

impl HeaderBlock {
    /// An empty header block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header (the name is lowercased; a repeated name gets the value appended after a NUL).
    pub fn insert(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push('\0');
                existing.push_str(value);
            }
            None => self.entries.push((name, value.to_owned())),
        }
    }

    /// Builder form of [`HeaderBlock::insert`].
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.insert(name, value);
        self
    }

    /// The first value of a header, looked up case-insensitively (like Go's `http.Header.Get`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split('\0').next().unwrap_or_default())
    }

    /// All entries as sent on the wire (multi-values still NUL-joined).
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// True when the block has no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn encode_plain(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.entries.iter().map(|(n, v)| 8 + n.len() + v.len()).sum::<usize>());
        out.put_u32(self.entries.len() as u32);
        for (name, value) in &self.entries {
            out.put_u32(name.len() as u32);
            out.put_slice(name.as_bytes());
            out.put_u32(value.len() as u32);
            out.put_slice(value.as_bytes());
        }
        out
    }

    fn decode_plain(mut data: &[u8]) -> Result<Self, FrameError> {
        let count = take_u32(&mut data).ok_or(FrameError::InvalidHeaderBlock("truncated header count"))?;
        let mut block = HeaderBlock::new();
        for _ in 0..count {
            let name = take_string(&mut data).ok_or(FrameError::InvalidHeaderBlock("truncated header name"))?;
            let value = take_string(&mut data).ok_or(FrameError::InvalidHeaderBlock("truncated header value"))?;
            let name = name.to_ascii_lowercase();
            if block.entries.iter().any(|(n, _)| *n == name) {
                return Err(FrameError::InvalidHeaderBlock("multiple headers with same name"));
            }
            block.entries.push((name, value));
        }
        if !data.is_empty() {
            return Err(FrameError::InvalidHeaderBlock("trailing bytes after headers"));
        }
        Ok(block)
    }
}

fn take_u32(data: &mut &[u8]) -> Option<u32> {
    if data.len() < 4 {
        return None;
    }
    Some(data.get_u32())
}

fn take_string(data: &mut &[u8]) -> Option<String> {
    let len = take_u32(data)? as usize;
    if data.len() < len {
        return None;
    }
    let (text, rest) = data.split_at(len);
    *data = rest;
    Some(String::from_utf8_lossy(text).into_owned())
}

/// The status of a RST_STREAM frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RstStatus(pub u32);

impl RstStatus {
    /// PROTOCOL_ERROR.
    pub const PROTOCOL_ERROR: Self = Self(1);
    /// INVALID_STREAM.
    pub const INVALID_STREAM: Self = Self(2);
    /// REFUSED_STREAM.
    pub const REFUSED_STREAM: Self = Self(3);
    /// UNSUPPORTED_VERSION.
    pub const UNSUPPORTED_VERSION: Self = Self(4);
    /// CANCEL (what spdystream's `Stream.Reset` sends).
    pub const CANCEL: Self = Self(5);
    /// INTERNAL_ERROR.
    pub const INTERNAL_ERROR: Self = Self(6);
    /// FLOW_CONTROL_ERROR.
    pub const FLOW_CONTROL_ERROR: Self = Self(7);
    /// STREAM_IN_USE.
    pub const STREAM_IN_USE: Self = Self(8);
    /// STREAM_ALREADY_CLOSED.
    pub const STREAM_ALREADY_CLOSED: Self = Self(9);
}

/// The status of a GOAWAY frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoAwayStatus(pub u32);

impl GoAwayStatus {
    /// OK: a normal shutdown.
    pub const OK: Self = Self(0);
    /// PROTOCOL_ERROR.
    pub const PROTOCOL_ERROR: Self = Self(1);
    /// INTERNAL_ERROR.
    pub const INTERNAL_ERROR: Self = Self(2);
}

/// One entry of a SETTINGS frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// FLAG_SETTINGS_PERSIST_VALUE (1) / FLAG_SETTINGS_PERSISTED (2).
    pub flags: u8,
    /// The 24-bit setting id (e.g. 7 = SETTINGS_INITIAL_WINDOW_SIZE).
    pub id: u32,
    /// The value.
    pub value: u32,
}

/// A SPDY/3.1 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// SYN_STREAM: opens a stream.
    SynStream {
        /// The new stream's id (odd when opened by the client).
        stream_id: u32,
        /// The stream this one is associated with (0 for none).
        associated_to: u32,
        /// Priority, 0 (highest) to 7.
        priority: u8,
        /// Credential slot.
        slot: u8,
        /// FLAG_FIN and/or FLAG_UNIDIRECTIONAL.
        flags: u8,
        /// The stream's headers.
        headers: HeaderBlock,
    },
    /// SYN_REPLY: accepts a stream opened by the peer.
    SynReply {
        /// The stream.
        stream_id: u32,
        /// FLAG_FIN.
        flags: u8,
        /// Reply headers.
        headers: HeaderBlock,
    },
    /// RST_STREAM: aborts a stream.
    RstStream {
        /// The stream.
        stream_id: u32,
        /// Why.
        status: RstStatus,
    },
    /// SETTINGS.
    Settings {
        /// FLAG_SETTINGS_CLEAR_SETTINGS.
        flags: u8,
        /// The settings.
        entries: Vec<Setting>,
    },
    /// PING: echoed back by the receiver when the id's parity shows the peer sent it.
    Ping {
        /// Odd from clients, even from servers.
        id: u32,
    },
    /// GOAWAY: the sender will accept no new streams.
    GoAway {
        /// The last stream id the sender accepted.
        last_good_stream_id: u32,
        /// Why.
        status: GoAwayStatus,
    },
    /// HEADERS: more headers for a stream.
    Headers {
        /// The stream.
        stream_id: u32,
        /// FLAG_FIN.
        flags: u8,
        /// The headers.
        headers: HeaderBlock,
    },
    /// WINDOW_UPDATE (stream 0 = the whole session in SPDY/3.1).
    WindowUpdate {
        /// The stream.
        stream_id: u32,
        /// Bytes added to the window.
        delta: u32,
    },
    /// A data frame.
    Data {
        /// The stream.
        stream_id: u32,
        /// FLAG_FIN.
        flags: u8,
        /// The payload.
        data: Bytes,
    },
    /// A control frame of a type this implementation does not know (e.g. CREDENTIAL); ignored.
    Unknown {
        /// The control frame type.
        frame_type: u16,
    },
}

impl Frame {
    /// The stream a frame belongs to, if any.
    pub fn stream_id(&self) -> Option<u32> {
        match self {
            Frame::SynStream { stream_id, .. }
            | Frame::SynReply { stream_id, .. }
            | Frame::RstStream { stream_id, .. }
            | Frame::Headers { stream_id, .. }
            | Frame::WindowUpdate { stream_id, .. }
            | Frame::Data { stream_id, .. } => Some(*stream_id),
            _ => None,
        }
    }

    /// True when the frame carries FLAG_FIN for its stream.
    pub fn is_fin(&self) -> bool {
        match self {
            Frame::SynStream { flags, .. }
            | Frame::SynReply { flags, .. }
            | Frame::Headers { flags, .. }
            | Frame::Data { flags, .. } => flags & FLAG_FIN != 0,
            _ => false,
        }
    }
}

/// The compressing half of a connection's header-block zlib context.
pub struct HeaderCompressor {
    zlib: Compress,
}

impl HeaderCompressor {
    /// A fresh context, primed with the SPDY dictionary.
    pub fn new() -> Result<Self, FrameError> {
        let mut zlib = Compress::new(Compression::best(), true);
        zlib.set_dictionary(&DICTIONARY).map_err(|e| FrameError::Compression(e.to_string()))?;
        Ok(Self { zlib })
    }

    /// Compresses one header block, ending it with a sync flush so the peer can decode it at once.
    pub fn compress(&mut self, plain: &[u8]) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::with_capacity(plain.len() + 64);
        let mut consumed = 0;
        loop {
            let before = self.zlib.total_in();
            self.zlib
                .compress_vec(&plain[consumed..], &mut out, FlushCompress::Sync)
                .map_err(|e| FrameError::Compression(e.to_string()))?;
            consumed += (self.zlib.total_in() - before) as usize;
            if consumed == plain.len() && out.len() < out.capacity() {
                return Ok(out);
            }
            out.reserve(out.capacity().max(64));
        }
    }
}

/// The decompressing half of a connection's header-block zlib context.
pub struct HeaderDecompressor {
    zlib: Decompress,
}

impl Default for HeaderDecompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderDecompressor {
    /// A fresh context; the dictionary is supplied when the zlib stream asks for it.
    pub fn new() -> Self {
        Self { zlib: Decompress::new(true) }
    }

    /// Decompresses one header block (all of `compressed`, which must end on a flush boundary).
    pub fn decompress(&mut self, compressed: &[u8]) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::with_capacity(compressed.len() * 4 + 64);
        let mut consumed = 0;
        loop {
            let (before_in, before_out) = (self.zlib.total_in(), self.zlib.total_out());
            let result = self.zlib.decompress_vec(&compressed[consumed..], &mut out, FlushDecompress::Sync);
            consumed += (self.zlib.total_in() - before_in) as usize;
            let progressed = self.zlib.total_in() != before_in || self.zlib.total_out() != before_out;
            match result {
                Ok(Status::Ok) | Ok(Status::BufError) => {}
                Ok(Status::StreamEnd) => return Err(FrameError::Compression("unexpected end of zlib stream".into())),
                Err(e) if e.needs_dictionary().is_some() => {
                    self.zlib.set_dictionary(&DICTIONARY).map_err(|e| FrameError::Compression(e.to_string()))?;
                    continue;
                }
                Err(e) => return Err(FrameError::Compression(e.to_string())),
            }
            if out.len() < out.capacity() {
                if consumed == compressed.len() {
                    return Ok(out);
                }
                if !progressed {
                    return Err(FrameError::Compression("header block did not decompress".into()));
                }
                continue;
            }
            if out.len() >= MAX_HEADER_BLOCK {
                return Err(FrameError::TooLarge(out.len()));
            }
            out.reserve(out.capacity());
        }
    }
}

/// Encodes frames for one direction of a connection (owning that direction's compression context).
pub struct FrameEncoder {
    compressor: HeaderCompressor,
}

impl FrameEncoder {
    /// A new encoder.
    pub fn new() -> Result<Self, FrameError> {
        Ok(Self { compressor: HeaderCompressor::new()? })
    }

    /// Appends the wire form of `frame` to `dst`.
    pub fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        match frame {
            Frame::SynStream { stream_id, associated_to, priority, slot, flags, headers } => {
                let block = self.compressor.compress(&headers.encode_plain())?;
                control_header(dst, TYPE_SYN_STREAM, *flags, 10 + block.len())?;
                dst.put_u32(stream_id & STREAM_ID_MASK);
                dst.put_u32(associated_to & STREAM_ID_MASK);
                dst.put_u8((priority & 0x07) << 5);
                dst.put_u8(*slot);
                dst.put_slice(&block);
            }
            Frame::SynReply { stream_id, flags, headers } => {
                self.encode_headers(dst, TYPE_SYN_REPLY, *stream_id, *flags, headers)?
            }
            Frame::Headers { stream_id, flags, headers } => {
                self.encode_headers(dst, TYPE_HEADERS, *stream_id, *flags, headers)?
            }
            Frame::RstStream { stream_id, status } => {
                control_header(dst, TYPE_RST_STREAM, 0, 8)?;
                dst.put_u32(stream_id & STREAM_ID_MASK);
                dst.put_u32(status.0);
            }
            Frame::Settings { flags, entries } => {
                control_header(dst, TYPE_SETTINGS, *flags, 4 + 8 * entries.len())?;
                dst.put_u32(entries.len() as u32);
                for entry in entries {
                    dst.put_u32(u32::from(entry.flags) << 24 | (entry.id & 0x00ff_ffff));
                    dst.put_u32(entry.value);
                }
            }
            Frame::Ping { id } => {
                control_header(dst, TYPE_PING, 0, 4)?;
                dst.put_u32(*id);
            }
            Frame::GoAway { last_good_stream_id, status } => {
                control_header(dst, TYPE_GOAWAY, 0, 8)?;
                dst.put_u32(last_good_stream_id & STREAM_ID_MASK);
                dst.put_u32(status.0);
            }
            Frame::WindowUpdate { stream_id, delta } => {
                control_header(dst, TYPE_WINDOW_UPDATE, 0, 8)?;
                dst.put_u32(stream_id & STREAM_ID_MASK);
                dst.put_u32(delta & STREAM_ID_MASK);
            }
            Frame::Data { stream_id, flags, data } => {
                if data.len() > MAX_FRAME_PAYLOAD {
                    return Err(FrameError::TooLarge(data.len()));
                }
                dst.put_u32(stream_id & STREAM_ID_MASK);
                dst.put_u32(u32::from(*flags) << 24 | data.len() as u32);
                dst.put_slice(data);
            }
            Frame::Unknown { .. } => {
                return Err(FrameError::InvalidFrame { kind: "unknown", reason: "cannot encode an unknown frame" });
            }
        }
        Ok(())
    }

    fn encode_headers(
        &mut self,
        dst: &mut BytesMut,
        frame_type: u16,
        stream_id: u32,
        flags: u8,
        headers: &HeaderBlock,
    ) -> Result<(), FrameError> {
        let block = self.compressor.compress(&headers.encode_plain())?;
        control_header(dst, frame_type, flags, 4 + block.len())?;
        dst.put_u32(stream_id & STREAM_ID_MASK);
        dst.put_slice(&block);
        Ok(())
    }
}

fn control_header(dst: &mut BytesMut, frame_type: u16, flags: u8, len: usize) -> Result<(), FrameError> {
    if len > MAX_FRAME_PAYLOAD {
        return Err(FrameError::TooLarge(len));
    }
    dst.reserve(FRAME_HEADER_LEN + len);
    dst.put_u16(0x8000 | VERSION);
    dst.put_u16(frame_type);
    dst.put_u32(u32::from(flags) << 24 | len as u32);
    Ok(())
}

/// Decodes frames for one direction of a connection (owning that direction's decompression context).
#[derive(Default)]
pub struct FrameDecoder {
    decompressor: HeaderDecompressor,
}

impl FrameDecoder {
    /// A new decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one whole frame off the front of `src`; `Ok(None)` when more bytes are needed.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if src.len() < FRAME_HEADER_LEN {
            return Ok(None);
        }
        let len = (u32::from_be_bytes([0, src[5], src[6], src[7]])) as usize;
        if src.len() < FRAME_HEADER_LEN + len {
            src.reserve(FRAME_HEADER_LEN + len - src.len());
            return Ok(None);
        }
        let first = src.get_u32();
        let flags = src.get_u8();
        src.advance(3);
        let payload = src.split_to(len).freeze();
        if first & 0x8000_0000 == 0 {
            return Ok(Some(Frame::Data { stream_id: first & STREAM_ID_MASK, flags, data: payload }));
        }
        self.decode_control((first & 0xffff) as u16, flags, payload).map(Some)
    }

    fn decode_control(&mut self, frame_type: u16, flags: u8, mut p: Bytes) -> Result<Frame, FrameError> {
        let frame = match frame_type {
            TYPE_SYN_STREAM => {
                need(&p, 10, "SYN_STREAM")?;
                let stream_id = p.get_u32() & STREAM_ID_MASK;
                let associated_to = p.get_u32() & STREAM_ID_MASK;
                let priority = p.get_u8() >> 5;
                let slot = p.get_u8();
                let headers = self.headers(&p)?;
                Frame::SynStream { stream_id, associated_to, priority, slot, flags, headers }
            }
            TYPE_SYN_REPLY | TYPE_HEADERS => {
                need(&p, 4, if frame_type == TYPE_HEADERS { "HEADERS" } else { "SYN_REPLY" })?;
                let stream_id = p.get_u32() & STREAM_ID_MASK;
                let headers = self.headers(&p)?;
                if frame_type == TYPE_HEADERS {
                    Frame::Headers { stream_id, flags, headers }
                } else {
                    Frame::SynReply { stream_id, flags, headers }
                }
            }
            TYPE_RST_STREAM => {
                need(&p, 8, "RST_STREAM")?;
                Frame::RstStream { stream_id: p.get_u32() & STREAM_ID_MASK, status: RstStatus(p.get_u32()) }
            }
            TYPE_SETTINGS => decode_settings(flags, p)?,
            TYPE_PING => {
                need(&p, 4, "PING")?;
                Frame::Ping { id: p.get_u32() }
            }
            TYPE_GOAWAY => {
                need(&p, 8, "GOAWAY")?;
                Frame::GoAway { last_good_stream_id: p.get_u32() & STREAM_ID_MASK, status: GoAwayStatus(p.get_u32()) }
            }
            TYPE_WINDOW_UPDATE => {
                need(&p, 8, "WINDOW_UPDATE")?;
                Frame::WindowUpdate { stream_id: p.get_u32() & STREAM_ID_MASK, delta: p.get_u32() & STREAM_ID_MASK }
            }
            other => Frame::Unknown { frame_type: other },
        };
        Ok(frame)
    }

    fn headers(&mut self, compressed: &[u8]) -> Result<HeaderBlock, FrameError> {
        HeaderBlock::decode_plain(&self.decompressor.decompress(compressed)?)
    }
}

fn need(p: &Bytes, len: usize, kind: &'static str) -> Result<(), FrameError> {
    if p.len() < len {
        return Err(FrameError::InvalidFrame { kind, reason: "payload too short" });
    }
    Ok(())
}

fn decode_settings(flags: u8, mut p: Bytes) -> Result<Frame, FrameError> {
    need(&p, 4, "SETTINGS")?;
    let count = p.get_u32() as usize;
    if p.len() != count.saturating_mul(8) {
        return Err(FrameError::InvalidFrame { kind: "SETTINGS", reason: "length does not match entry count" });
    }
    let entries = (0..count)
        .map(|_| {
            let flag_id = p.get_u32();
            Setting { flags: (flag_id >> 24) as u8, id: flag_id & 0x00ff_ffff, value: p.get_u32() }
        })
        .collect();
    Ok(Frame::Settings { flags, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(frames: &[Frame]) -> Vec<Frame> {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let mut decoder = FrameDecoder::new();
        let mut wire = BytesMut::new();
        for frame in frames {
            encoder.encode(frame, &mut wire).expect("encode");
        }
        let mut out = Vec::new();
        while let Some(frame) = decoder.decode(&mut wire).expect("decode") {
            out.push(frame);
        }
        assert!(wire.is_empty());
        out
    }

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        b << 16 | a
    }

    #[test]
    fn dictionary_matches_the_spdy3_dictionary() {
        assert_eq!(DICTIONARY.len(), 1423);
        assert_eq!(adler32(&DICTIONARY), 0xe3c6_a7c2);
        assert_eq!(&DICTIONARY[..11], b"\0\0\0\x07options");
    }

    #[test]
    fn control_frames_roundtrip() {
        let frames = vec![
            Frame::RstStream { stream_id: 3, status: RstStatus::CANCEL },
            Frame::Settings { flags: 0, entries: vec![Setting { flags: 1, id: 7, value: 65536 }] },
            Frame::Ping { id: 1 },
            Frame::GoAway { last_good_stream_id: 9, status: GoAwayStatus::OK },
            Frame::WindowUpdate { stream_id: 0, delta: 1 << 20 },
        ];
        assert_eq!(roundtrip(&frames), frames);
    }

    #[test]
    fn ping_wire_format() {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let mut wire = BytesMut::new();
        encoder.encode(&Frame::Ping { id: 1 }, &mut wire).expect("encode");
        assert_eq!(&wire[..], &[0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]);
    }

    #[test]
    fn data_frame_wire_format() {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let mut wire = BytesMut::new();
        let frame = Frame::Data { stream_id: 5, flags: FLAG_FIN, data: Bytes::from_static(b"hi") };
        encoder.encode(&frame, &mut wire).expect("encode");
        assert_eq!(&wire[..], &[0, 0, 0, 5, 0x01, 0, 0, 2, b'h', b'i']);
        assert_eq!(roundtrip(std::slice::from_ref(&frame)), vec![frame]);
    }

    #[test]
    fn header_frames_share_one_compression_context() {
        let frames: Vec<Frame> = (0..5u32)
            .map(|i| Frame::SynStream {
                stream_id: 2 * i + 1,
                associated_to: 0,
                priority: 0,
                slot: 0,
                flags: if i == 4 { FLAG_FIN } else { 0 },
                headers: HeaderBlock::new()
                    .with("streamType", if i % 2 == 0 { "error" } else { "data" })
                    .with("port", "80")
                    .with("requestID", &i.to_string()),
            })
            .chain([
                Frame::SynReply { stream_id: 1, flags: 0, headers: HeaderBlock::new() },
                Frame::Headers {
                    stream_id: 3,
                    flags: FLAG_FIN,
                    headers: HeaderBlock::new().with("x", "a").with("x", "b"),
                },
            ])
            .collect();
        let decoded = roundtrip(&frames);
        assert_eq!(decoded, frames);
        let Frame::SynStream { headers, .. } = &decoded[0] else { panic!("not a SYN_STREAM") };
        assert_eq!(headers.get("StreamType"), Some("error"));
        assert_eq!(headers.entries()[0].0, "streamtype");
        let Frame::Headers { headers, .. } = &decoded[6] else { panic!("not HEADERS") };
        assert_eq!(headers.get("x"), Some("a"));
        assert_eq!(headers.entries()[0].1, "a\0b");
    }

    #[test]
    fn later_header_blocks_depend_on_earlier_ones() {
        let block = HeaderBlock::new().with("streamtype", "stdout").with("port", "8080");
        let frame = |id| Frame::SynReply { stream_id: id, flags: 0, headers: block.clone() };
        let mut encoder = FrameEncoder::new().expect("encoder");
        let (mut first, mut second) = (BytesMut::new(), BytesMut::new());
        encoder.encode(&frame(1), &mut first).expect("encode");
        encoder.encode(&frame(3), &mut second).expect("encode");
        // The repeated block compresses to back-references into the shared window.
        assert!(second.len() < first.len());
        // A fresh decoder cannot decode the second block alone: the context is per connection.
        assert!(FrameDecoder::new().decode(&mut second.clone()).is_err());
        let mut decoder = FrameDecoder::new();
        assert_eq!(decoder.decode(&mut first).expect("first"), Some(frame(1)));
        assert_eq!(decoder.decode(&mut second).expect("second"), Some(frame(3)));
    }

    #[test]
    fn decodes_a_block_compressed_without_our_encoder_settings() {
        // A block produced by an independent zlib context at default level, as another peer might.
        let mut zlib = Compress::new(Compression::default(), true);
        zlib.set_dictionary(&DICTIONARY).expect("dict");
        let plain = HeaderBlock::new().with("streamtype", "error").encode_plain();
        let mut block = Vec::with_capacity(256);
        zlib.compress_vec(&plain, &mut block, FlushCompress::Sync).expect("compress");
        let mut wire = BytesMut::new();
        wire.put_u16(0x8003);
        wire.put_u16(TYPE_SYN_STREAM);
        wire.put_u32(10 + block.len() as u32);
        wire.put_u32(1);
        wire.put_u32(0);
        wire.put_u16(0);
        wire.put_slice(&block);
        let frame = FrameDecoder::new().decode(&mut wire).expect("decode").expect("frame");
        let Frame::SynStream { stream_id: 1, headers, .. } = frame else { panic!("unexpected {frame:?}") };
        assert_eq!(headers.get("streamtype"), Some("error"));
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let mut wire = BytesMut::new();
        encoder
            .encode(&Frame::Data { stream_id: 1, flags: 0, data: Bytes::from_static(b"abcdef") }, &mut wire)
            .unwrap();
        let mut decoder = FrameDecoder::new();
        let mut partial = wire.split_to(9);
        assert_eq!(decoder.decode(&mut partial).expect("partial"), None);
        partial.unsplit(wire);
        assert!(decoder.decode(&mut partial).expect("whole").is_some());
    }

    #[test]
    fn rejects_malformed_frames() {
        let mut decoder = FrameDecoder::new();
        let mut short_rst = BytesMut::from(&[0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1][..]);
        assert_eq!(
            decoder.decode(&mut short_rst),
            Err(FrameError::InvalidFrame { kind: "RST_STREAM", reason: "payload too short" })
        );
        let mut garbage_headers =
            BytesMut::from(&[0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0, 0, 0, 1, 1, 2][..]);
        assert!(matches!(FrameDecoder::new().decode(&mut garbage_headers), Err(FrameError::Compression(_))));
    }

    #[test]
    fn unknown_control_frames_are_skipped() {
        let mut wire = BytesMut::from(&[0x80, 0x03, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb][..]);
        assert_eq!(FrameDecoder::new().decode(&mut wire).expect("decode"), Some(Frame::Unknown { frame_type: 10 }));
        assert!(wire.is_empty());
    }
}
