//! Masks, reversible pseudonymisation and restoration (also over a stream).
//!
//! A [`Pseudonymizer`] lives for one request: it hands out consistent placeholders
//! (`[EMAIL_ADDRESS_1]`; the same value always gets the same placeholder) and remembers the
//! originals so that [`Pseudonymizer::restore`] can put them back in the model's answer. It is
//! never persisted, and its `Debug` output shows only counts, never values.

use crate::config::MaskStyle;
use crate::engine::Detection;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Per-request mapping between placeholders and original values.
#[derive(Default, Clone)]
pub struct Pseudonymizer {
    forward: HashMap<(String, String), String>,
    reverse: HashMap<String, String>,
    counters: HashMap<String, usize>,
    longest: usize,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("placeholders", &self.reverse.len())
            .finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    /// An empty mapping.
    pub fn new() -> Pseudonymizer {
        Pseudonymizer::default()
    }

    /// The placeholder for `value` of type `kind`, allocating one if needed.
    pub fn placeholder(&mut self, kind: &str, value: &str) -> String {
        let key = (kind.to_owned(), value.to_owned());
        if let Some(p) = self.forward.get(&key) {
            return p.clone();
        }
        let n = self.counters.entry(kind.to_owned()).or_insert(0);
        *n += 1;
        let p = format!("[{kind}_{n}]");
        self.longest = self.longest.max(p.len());
        self.reverse.insert(p.clone(), value.to_owned());
        self.forward.insert(key, p.clone());
        p
    }

    /// Number of placeholders handed out.
    pub fn len(&self) -> usize {
        self.reverse.len()
    }

    /// Whether no placeholder was handed out.
    pub fn is_empty(&self) -> bool {
        self.reverse.is_empty()
    }

    /// Replaces every known placeholder in `text` with its original value.
    pub fn restore(&self, text: &str) -> String {
        if self.reverse.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('[') {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            match tail.find(']') {
                Some(j) if j < 128 => {
                    let cand = &tail[..=j];
                    if let Some(v) = self.reverse.get(cand) {
                        out.push_str(v);
                        rest = &tail[j + 1..];
                    } else {
                        out.push('[');
                        rest = &tail[1..];
                    }
                }
                _ => {
                    out.push('[');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// A streaming restorer over this mapping.
    pub fn restorer(&self) -> Restorer<'_> {
        Restorer {
            ps: self,
            pending: String::new(),
        }
    }
    /// An owning streaming restorer (no borrow to keep alive across an async stream).
    pub fn into_restore_stream(self) -> RestoreStream {
        RestoreStream {
            ps: self,
            pending: String::new(),
        }
    }
}

/// Like [`Restorer`], but owns its [`Pseudonymizer`].
#[derive(Debug)]
pub struct RestoreStream {
    ps: Pseudonymizer,
    pending: String,
}

impl RestoreStream {
    /// Feeds a delta; returns what can be emitted now.
    pub fn push(&mut self, delta: &str) -> String {
        let mut r = Restorer {
            ps: &self.ps,
            pending: std::mem::take(&mut self.pending),
        };
        let out = r.push(delta);
        self.pending = r.pending;
        out
    }

    /// Ends the stream; returns the rest.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        self.ps.restore(&rest)
    }
}

/// Restores placeholders in a stream of deltas, holding back only a suffix that could still
/// become a placeholder (`[` followed by placeholder characters, at most the longest
/// placeholder handed out).
#[derive(Debug)]
pub struct Restorer<'a> {
    ps: &'a Pseudonymizer,
    pending: String,
}

impl Restorer<'_> {
    /// Feeds a delta; returns what can be emitted now.
    pub fn push(&mut self, delta: &str) -> String {
        self.pending.push_str(delta);
        let keep_from = self.partial_start();
        let ready: String = self.pending[..keep_from].to_owned();
        self.pending.drain(..keep_from);
        self.ps.restore(&ready)
    }

    /// Ends the stream; returns the rest.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        self.ps.restore(&rest)
    }

    fn partial_start(&self) -> usize {
        let p = &self.pending;
        if let Some(i) = p.rfind('[') {
            let tail = &p[i + 1..];
            let could_be = tail.len() < self.ps.longest.max(2)
                && tail
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if could_be {
                return i;
            }
        }
        p.len()
    }
}

fn keyed_hash(key: &[u8], value: &str) -> String {
    // HMAC-SHA-256 (RFC 2104).
    let mut k = [0u8; 64];
    if key.len() > 64 {
        let d = Sha256::digest(key);
        k[..32].copy_from_slice(&d);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for i in 0..64 {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(value.as_bytes())
        .finalize();
    let outer = Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize();
    outer.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

fn partial(value: &str) -> String {
    let n = value.chars().count();
    if n < 8 {
        return "****".to_owned();
    }
    let last: String = value.chars().skip(n - 4).collect();
    format!("****{last}")
}

/// Rewrites `text`, masking the spans of `dets` (original byte offsets). Overlapping spans are
/// merged; the first detection of a merged span names its placeholder.
pub(crate) fn apply(
    text: &str,
    dets: &[&Detection],
    style: MaskStyle,
    key: &[u8],
    ps: &mut Pseudonymizer,
) -> String {
    let mut spans: Vec<(usize, usize, &str)> = dets
        .iter()
        .filter(|d| d.byte_start < d.byte_end && d.byte_end <= text.len())
        .map(|d| (d.byte_start, d.byte_end, &*d.kind))
        .collect();
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut merged: Vec<(usize, usize, &str)> = Vec::new();
    for s in spans {
        if let Some(last) = merged.last_mut()
            && s.0 < last.1
        {
            last.1 = last.1.max(s.1);
            continue;
        }
        merged.push(s);
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (s, e, kind) in merged {
        let (Some(before), Some(value)) = (text.get(pos..s), text.get(s..e)) else {
            continue;
        };
        out.push_str(before);
        let mask = match style {
            MaskStyle::Placeholder => ps.placeholder(kind, value),
            MaskStyle::Partial => partial(value),
            MaskStyle::Hash => format!("[{kind}:{}]", keyed_hash(key, value)),
        };
        out.push_str(&mask);
        pos = e;
    }
    out.push_str(text.get(pos..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_roundtrip_and_debug_hides_values() {
        let mut ps = Pseudonymizer::new();
        let p1 = ps.placeholder("EMAIL_ADDRESS", "a@b.com");
        let p2 = ps.placeholder("EMAIL_ADDRESS", "c@d.com");
        assert_eq!(p1, "[EMAIL_ADDRESS_1]");
        assert_eq!(p2, "[EMAIL_ADDRESS_2]");
        assert_eq!(ps.placeholder("EMAIL_ADDRESS", "a@b.com"), p1);
        let t = format!("write to {p1} and {p2} [UNKNOWN_1] [");
        assert_eq!(ps.restore(&t), "write to a@b.com and c@d.com [UNKNOWN_1] [");
        let dbg = format!("{ps:?}");
        assert!(!dbg.contains("a@b.com"));
    }

    #[test]
    fn streaming_restore_every_split() {
        let mut ps = Pseudonymizer::new();
        let p = ps.placeholder("PERSON", "Ada Lovelace");
        let t = format!("Hello {p}, [x] bye {p}");
        let want = ps.restore(&t);
        for i in 0..=t.len() {
            for j in i..=t.len() {
                if !(t.is_char_boundary(i) && t.is_char_boundary(j)) {
                    continue;
                }
                let mut r = ps.restorer();
                let mut got = r.push(&t[..i]);
                got += &r.push(&t[i..j]);
                got += &r.push(&t[j..]);
                got += &r.finish();
                assert_eq!(got, want, "split at {i},{j}");
                let mut o = ps.clone().into_restore_stream();
                let mut got2 = o.push(&t[..i]);
                got2 += &o.push(&t[i..j]);
                got2 += &o.push(&t[j..]);
                got2 += &o.finish();
                assert_eq!(got2, want, "owned, split at {i},{j}");
            }
        }
    }

    #[test]
    fn hmac_known_vector() {
        // RFC 4231 test case 2, first four bytes.
        assert_eq!(
            keyed_hash(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146"
        );
    }
}
