//! A bounded Server-Sent-Events decoder and a small encoder.
//!
//! Upstream streams are untrusted bytes: a provider (or anything between it and us) can send a
//! line without end or an event without end. The decoder therefore limits line and event size and
//! returns an error instead of growing without bound; it accepts LF, CRLF and CR line ends (also a
//! CRLF split across two reads), multi-line `data:`, comments, and a leading BOM, as the WHATWG
//! EventSource parsing rules describe.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// A decoded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when present.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Why a stream could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseError {
    /// A line exceeded the line limit.
    LineTooLong,
    /// An event's data exceeded the event limit.
    EventTooLarge,
    /// A line was not UTF-8.
    InvalidUtf8,
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SseError::LineTooLong => "SSE line exceeds the limit",
            SseError::EventTooLarge => "SSE event exceeds the limit",
            SseError::InvalidUtf8 => "SSE line is not UTF-8",
        })
    }
}

impl std::error::Error for SseError {}

/// Incremental decoder. Feed it bytes as they arrive; it yields complete events.
#[derive(Debug)]
pub struct SseDecoder {
    line: Vec<u8>,
    data: String,
    has_data: bool,
    event: Option<String>,
    skip_lf: bool,
    at_start: bool,
    max_line: usize,
    max_event: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new(256 * 1024, 4 * 1024 * 1024)
    }
}

impl SseDecoder {
    /// A decoder with the given line and event limits (bytes).
    pub fn new(max_line: usize, max_event: usize) -> Self {
        SseDecoder {
            line: Vec::new(),
            data: String::new(),
            has_data: false,
            event: None,
            skip_lf: false,
            at_start: true,
            max_line,
            max_event,
        }
    }

    /// Feeds bytes; complete events are appended to `out`.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if self.at_start && !chunk.is_empty() {
            // A UTF-8 BOM may only appear at the very start; it can arrive split, so only the
            // common whole case is stripped and a partial BOM is treated as line bytes.
            if chunk.starts_with(&[0xEF, 0xBB, 0xBF]) {
                chunk = &chunk[3..];
            }
            self.at_start = false;
        }
        while !chunk.is_empty() {
            if self.skip_lf {
                self.skip_lf = false;
                if chunk[0] == b'\n' {
                    chunk = &chunk[1..];
                    continue;
                }
            }
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    if self.line.len() + i > self.max_line {
                        return Err(SseError::LineTooLong);
                    }
                    self.line.extend_from_slice(&chunk[..i]);
                    if chunk[i] == b'\r' {
                        self.skip_lf = true;
                    }
                    chunk = &chunk[i + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.process_line(&line, out)?;
                }
                None => {
                    if self.line.len() + chunk.len() > self.max_line {
                        return Err(SseError::LineTooLong);
                    }
                    self.line.extend_from_slice(chunk);
                    chunk = &[];
                }
            }
        }
        Ok(())
    }

    /// Ends the stream: an unterminated final event is dispatched only if its line was complete
    /// (per the spec an event without its blank line is discarded; we are lenient and keep
    /// complete `data:` lines, since some servers omit the final blank line).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out)?;
        }
        self.dispatch(out);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| SseError::InvalidUtf8)?;
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.data.len() + value.len() + 1 > self.max_event {
                    return Err(SseError::EventTooLarge);
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {} // id, retry and unknown fields are not used by LLM streams
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(SseEvent {
                event: self.event.take(),
                data: std::mem::take(&mut self.data),
            });
        }
        self.has_data = false;
        self.event = None;
    }
}

/// Encodes one event. Data with line breaks is split over several `data:` lines.
pub fn encode(event: Option<&str>, data: &str) -> Bytes {
    let mut b = BytesMut::with_capacity(data.len() + 32);
    if let Some(e) = event {
        b.put_slice(b"event: ");
        b.put_slice(e.as_bytes());
        b.put_u8(b'\n');
    }
    for line in data.split('\n') {
        b.put_slice(b"data: ");
        b.put_slice(line.trim_end_matches('\r').as_bytes());
        b.put_u8(b'\n');
    }
    b.put_u8(b'\n');
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(parts: &[&[u8]]) -> Result<Vec<SseEvent>, SseError> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for p in parts {
            d.push(p, &mut out)?;
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn decodes_every_line_ending_and_multiline_data() {
        let text = b"event: a\r\ndata: 1\r\ndata: 2\r\n\r\n: comment\rdata:x\r\rdata: y\n\n";
        let ev = decode_all(&[text]).unwrap();
        assert_eq!(
            ev,
            vec![
                SseEvent {
                    event: Some("a".into()),
                    data: "1\n2".into()
                },
                SseEvent {
                    event: None,
                    data: "x".into()
                },
                SseEvent {
                    event: None,
                    data: "y".into()
                },
            ]
        );
    }

    #[test]
    fn same_events_at_every_split_point() {
        let text: &[u8] =
            b"\xEF\xBB\xBFevent: e\r\ndata: {\"a\":1}\r\n\r\ndata: two\r\rdata: caf\xC3\xA9\n\n";
        let whole = decode_all(&[text]).unwrap();
        assert_eq!(whole.len(), 3);
        for i in 3..text.len() {
            let (a, b) = text.split_at(i);
            assert_eq!(decode_all(&[a, b]).unwrap(), whole, "split at {i}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let mut d = SseDecoder::new(16, 32);
        let mut out = Vec::new();
        assert_eq!(d.push(&[b'a'; 17], &mut out), Err(SseError::LineTooLong));
        let mut d = SseDecoder::new(64, 8);
        assert_eq!(
            d.push(b"data: 0123456789\n", &mut out),
            Err(SseError::EventTooLarge)
        );
        let mut d = SseDecoder::default();
        assert_eq!(
            d.push(b"data: \xFF\n", &mut out),
            Err(SseError::InvalidUtf8)
        );
    }

    #[test]
    fn encode_round_trips() {
        let b = encode(Some("message_delta"), "line1\nline2");
        let ev = decode_all(&[&b]).unwrap();
        assert_eq!(ev[0].data, "line1\nline2");
        assert_eq!(ev[0].event.as_deref(), Some("message_delta"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_respects_limits(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), split in 0usize..512) {
            let mut d = SseDecoder::new(64, 128);
            let mut out = Vec::new();
            let cut = split.min(bytes.len());
            let _ = d.push(&bytes[..cut], &mut out).and_then(|_| d.push(&bytes[cut..], &mut out));
            for e in &out {
                proptest::prop_assert!(e.data.len() <= 128);
            }
        }
    }
}
