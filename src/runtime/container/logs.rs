//! The CRI container log format, as containerd writes it and the kubelet reads it:
//! `<RFC 3339 nano timestamp> <stdout|stderr> <F|P> <content>\n`, where `P` marks a partial line
//! (longer than [`MAX_LINE`], or cut by the stream's end without a newline is written as `F`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;

/// Longest content of one log line before it is split (containerd's default, 16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub time: Timestamp,
    pub stream: Stream,
    /// `P`: the line goes on in the next record.
    pub partial: bool,
    pub content: Vec<u8>,
}

/// Parse one record (without its trailing newline).
pub fn parse_line(line: &[u8]) -> Option<LogLine> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time: Timestamp = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let partial = match parts.next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    let content = parts.next().unwrap_or_default().to_vec();
    Some(LogLine { time, stream, partial, content })
}

/// Splits a process's output into CRI records and appends them to a file.
pub struct LogWriter {
    file: File,
    pending: [Vec<u8>; 2],
    /// Terminal output: strip the `\r` of `\r\n` line ends.
    tty: bool,
}

impl LogWriter {
    pub fn open(path: &Path, tty: bool) -> std::io::Result<LogWriter> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(LogWriter { file, pending: [Vec::new(), Vec::new()], tty })
    }

    fn idx(s: Stream) -> usize {
        match s {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }

    fn record(&mut self, stream: Stream, partial: bool, content: &[u8]) -> std::io::Result<()> {
        let mut content = content;
        if self.tty && !partial && content.last() == Some(&b'\r') {
            content = &content[..content.len() - 1];
        }
        let mut buf = Vec::with_capacity(content.len() + 48);
        write!(buf, "{} {} {} ", Timestamp::now(), stream.as_str(), if partial { "P" } else { "F" })?;
        buf.extend_from_slice(content);
        buf.push(b'\n');
        self.file.write_all(&buf)
    }

    /// Output of `stream`; complete lines are written at once, the rest waits for more.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> std::io::Result<()> {
        let i = Self::idx(stream);
        while let Some(nl) = data.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut self.pending[i]);
            line.extend_from_slice(&data[..nl]);
            self.emit(stream, line)?;
            data = &data[nl + 1..];
        }
        self.pending[i].extend_from_slice(data);
        while self.pending[i].len() > MAX_LINE {
            let rest = self.pending[i].split_off(MAX_LINE);
            let head = std::mem::replace(&mut self.pending[i], rest);
            self.record(stream, true, &head)?;
        }
        Ok(())
    }

    fn emit(&mut self, stream: Stream, line: Vec<u8>) -> std::io::Result<()> {
        let mut chunks = line.chunks(MAX_LINE).peekable();
        if chunks.peek().is_none() {
            return self.record(stream, false, &[]);
        }
        while let Some(c) = chunks.next() {
            let last = chunks.peek().is_none();
            self.record(stream, !last, c)?;
        }
        Ok(())
    }

    /// The stream ended: what is left is a last (full) line.
    pub fn finish(&mut self, stream: Stream) -> std::io::Result<()> {
        let i = Self::idx(stream);
        let rest = std::mem::take(&mut self.pending[i]);
        if !rest.is_empty() {
            self.emit(stream, rest)?;
        }
        Ok(())
    }
}

/// Reads a CRI log file, optionally following it until `done` says the writer has finished.
pub struct LogReader {
    file: File,
    buf: Vec<u8>,
    follow: bool,
    done: Box<dyn FnMut() -> bool + Send>,
    finished: bool,
    last_check: bool,
}

impl LogReader {
    /// `done` is asked when the end of the file is reached in follow mode; once it says true the
    /// rest is read and the reader ends.
    pub fn open(path: &Path, follow: bool, done: Box<dyn FnMut() -> bool + Send>) -> std::io::Result<LogReader> {
        let file = File::open(path)?;
        Ok(LogReader { file, buf: Vec::new(), follow, done, finished: false, last_check: false })
    }

    /// Start at the last `n` records.
    pub fn tail(&mut self, n: usize) -> std::io::Result<()> {
        let len = self.file.seek(SeekFrom::End(0))?;
        let mut pos = len;
        let mut newlines = 0;
        let mut chunk = vec![0u8; 8192];
        'outer: while pos > 0 {
            let step = pos.min(chunk.len() as u64);
            pos -= step;
            self.file.seek(SeekFrom::Start(pos))?;
            self.file.read_exact(&mut chunk[..step as usize])?;
            for i in (0..step as usize).rev() {
                if chunk[i] == b'\n' && pos + i as u64 + 1 != len {
                    newlines += 1;
                    if newlines == n {
                        pos += i as u64 + 1;
                        break 'outer;
                    }
                }
            }
        }
        self.file.seek(SeekFrom::Start(if n == 0 { len } else { pos }))?;
        Ok(())
    }
}

impl Iterator for LogReader {
    type Item = std::io::Result<LogLine>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=nl).collect();
                match parse_line(&line[..line.len() - 1]) {
                    Some(l) => return Some(Ok(l)),
                    None => continue,
                }
            }
            if self.finished {
                return None;
            }
            let mut chunk = [0u8; 32 * 1024];
            match self.file.read(&mut chunk) {
                Ok(0) => {
                    if !self.follow || self.last_check {
                        self.finished = true;
                        continue;
                    }
                    if (self.done)() {
                        // One more pass for what was written before the writer finished.
                        self.last_check = true;
                        continue;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.last_check = false;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(path: &Path) -> Vec<LogLine> {
        LogReader::open(path, false, Box::new(|| true)).unwrap().map(|l| l.unwrap()).collect()
    }

    #[test]
    fn lines_partials_and_streams() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pod/c/0.log");
        let mut w = LogWriter::open(&p, false).unwrap();
        w.write(Stream::Stdout, b"hel").unwrap();
        w.write(Stream::Stderr, b"oops\n").unwrap();
        w.write(Stream::Stdout, b"lo\n\nlast").unwrap();
        w.finish(Stream::Stdout).unwrap();
        let long = vec![b'x'; MAX_LINE + 10];
        w.write(Stream::Stdout, &long).unwrap();
        w.write(Stream::Stdout, b"\n").unwrap();
        let lines = read_all(&p);
        let got: Vec<(Stream, bool, String)> =
            lines.iter().map(|l| (l.stream, l.partial, String::from_utf8_lossy(&l.content).into_owned())).collect();
        assert_eq!(got[0], (Stream::Stderr, false, "oops".into()));
        assert_eq!(got[1], (Stream::Stdout, false, "hello".into()));
        assert_eq!(got[2], (Stream::Stdout, false, "".into()));
        assert_eq!(got[3], (Stream::Stdout, false, "last".into()));
        assert_eq!((got[4].0, got[4].1, got[4].2.len()), (Stream::Stdout, true, MAX_LINE));
        assert_eq!((got[5].1, got[5].2.len()), (false, 10));
        let text = std::fs::read_to_string(&p).unwrap();
        let first = text.lines().next().unwrap();
        let ts = first.split(' ').next().unwrap();
        assert!(ts.ends_with('Z') && ts.contains('T'), "{first}");
    }

    #[test]
    fn parses_containerd_records() {
        let l = parse_line(b"2016-10-06T00:17:09.669794202Z stdout P log content 1").unwrap();
        assert_eq!(l.stream, Stream::Stdout);
        assert!(l.partial);
        assert_eq!(l.content, b"log content 1");
        assert!(parse_line(b"garbage").is_none());
    }

    #[test]
    fn tty_output_loses_carriage_returns_and_tail_reads_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.log");
        let mut w = LogWriter::open(&p, true).unwrap();
        w.write(Stream::Stdout, b"a\r\nb\r\nc\r\n").unwrap();
        let mut r = LogReader::open(&p, false, Box::new(|| true)).unwrap();
        r.tail(2).unwrap();
        let got: Vec<Vec<u8>> = r.map(|l| l.unwrap().content).collect();
        assert_eq!(got, vec![b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn follow_stops_when_done() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.log");
        let mut w = LogWriter::open(&p, false).unwrap();
        w.write(Stream::Stdout, b"one\n").unwrap();
        let mut calls = 0;
        let p2 = p.clone();
        let r = LogReader::open(
            &p,
            true,
            Box::new(move || {
                calls += 1;
                if calls == 1 {
                    let mut w = LogWriter::open(&p2, false).unwrap();
                    w.write(Stream::Stdout, b"two\n").unwrap();
                }
                calls > 1
            }),
        )
        .unwrap();
        let got: Vec<Vec<u8>> = r.map(|l| l.unwrap().content).collect();
        assert_eq!(got, vec![b"one".to_vec(), b"two".to_vec()]);
    }
}
