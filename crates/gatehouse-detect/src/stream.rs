//! Streaming scanner: inspects text deltas (e.g. SSE chunks of a model answer) and releases
//! text as soon as no pattern can still be matching across the release point.
//!
//! After each delta the scanner runs one lazy DFA built from *all* rules (unanchored,
//! all-matches semantics) over the pending text and records the last position at which no
//! partial match is alive (the DFA is back in its start state). Everything before that point
//! (minus a trailing word, and a trailing run of capitalised words for the PERSON recognizer)
//! is scanned, redacted and released; the rest is held back. The hold-back is therefore bounded
//! by the longest match in flight — at most [`crate::Engine::max_pattern_len`] — and a delta
//! that cannot be the start of any pattern (e.g. one ending in a space after ordinary words) is
//! released at once.

use crate::engine::{Detection, Engine};
use crate::redact::Pseudonymizer;
use gatehouse_core::{Direction, Finding, Verdict};
use regex_automata::hybrid::dfa::Cache;
use regex_automata::{Anchored, util::start};

/// What a [`StreamScanner`] lets through after a delta.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamOutput {
    /// Text safe to forward now (already redacted). Empty once blocked.
    pub text: String,
    /// Findings made in the text released by this call, offsets in chars from the start of the
    /// stream.
    pub findings: Vec<Finding>,
    /// The strongest verdict so far in the stream; on `Block` stop forwarding.
    pub verdict: Verdict,
}

/// Scans a stream of text deltas. Create with [`Engine::stream_scanner`].
pub struct StreamScanner {
    engine: Engine,
    direction: Direction,
    pending: String,
    /// Chars of the stream already released (offset base for findings).
    released_chars: usize,
    /// Last byte released (look-behind for word boundaries).
    prev_byte: Option<u8>,
    /// Up to 64 bytes of released original text, for context words.
    context_tail: String,
    verdict: Verdict,
    cache: Option<Cache>,
    ps: Pseudonymizer,
    detections: Vec<Detection>,
}

impl std::fmt::Debug for StreamScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamScanner")
            .field("direction", &self.direction)
            .field("pending_bytes", &self.pending.len())
            .field("released_chars", &self.released_chars)
            .field("verdict", &self.verdict)
            .finish_non_exhaustive()
    }
}

/// Most warm caches kept per engine (one per concurrently streamed answer is enough).
const CACHE_POOL_MAX: usize = 256;

impl Drop for StreamScanner {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.take()
            && let Ok(mut pool) = self.engine.inner.liveness_caches.lock()
            && pool.len() < CACHE_POOL_MAX
        {
            pool.push(cache);
        }
    }
}

impl StreamScanner {
    pub(crate) fn new(engine: Engine, direction: Direction) -> StreamScanner {
        let cache = engine.inner.liveness.as_ref().map(|d| {
            engine
                .inner
                .liveness_caches
                .lock()
                .ok()
                .and_then(|mut pool| pool.pop())
                .unwrap_or_else(|| d.create_cache())
        });
        StreamScanner {
            engine,
            direction,
            pending: String::new(),
            released_chars: 0,
            prev_byte: None,
            context_tail: String::new(),
            verdict: Verdict::Allow,
            cache,
            ps: Pseudonymizer::new(),
            detections: Vec::new(),
        }
    }

    /// Bytes currently held back.
    pub fn held_back(&self) -> usize {
        self.pending.len()
    }

    /// All detections so far (offsets from the start of the stream).
    pub fn detections(&self) -> &[Detection] {
        &self.detections
    }

    /// The placeholders handed out while redacting this stream (to restore them later).
    pub fn pseudonymizer(&self) -> &Pseudonymizer {
        &self.ps
    }

    /// Feeds one delta; returns what may be forwarded now.
    pub fn push(&mut self, delta: &str) -> StreamOutput {
        if self.verdict == Verdict::Block {
            return self.blocked();
        }
        self.pending.push_str(delta);
        let safe = self.safe_point();
        self.release(safe)
    }

    /// Ends the stream: scans and releases everything held back.
    pub fn finish(&mut self) -> StreamOutput {
        if self.verdict == Verdict::Block {
            return self.blocked();
        }
        let all = self.pending.len();
        self.release(all)
    }

    fn blocked(&mut self) -> StreamOutput {
        self.pending.clear();
        StreamOutput {
            text: String::new(),
            findings: Vec::new(),
            verdict: Verdict::Block,
        }
    }

    /// Largest byte offset of `pending` before which text can be released.
    fn safe_point(&mut self) -> usize {
        let p = &self.pending;
        let bytes = p.as_bytes();
        let max = self.engine.max_pattern_len().max(1);
        let floor = p.len().saturating_sub(max);
        let dfa_point = match (&self.engine.inner.liveness, self.cache.as_mut()) {
            (Some(dfa), Some(cache)) => {
                quiescent_point(dfa, cache, bytes, self.prev_byte).unwrap_or(floor)
            }
            _ => floor,
        };
        // The trailing word may still grow (e-mail, token, encoded run); a trailing run of
        // capitalised words may still become a longer name.
        let mut word_start = p.len();
        for (i, c) in p.char_indices().rev() {
            if c.is_whitespace() {
                break;
            }
            word_start = i;
        }
        let mut name_start = word_start;
        if self.engine.config().names {
            let mut cur = word_start;
            for _ in 0..3 {
                let before = &p[..cur];
                let trimmed = before.trim_end_matches(' ');
                if trimmed.len() == before.len() || trimmed.is_empty() {
                    break;
                }
                let ws = trimmed
                    .rfind(|c: char| c.is_whitespace())
                    .map_or(0, |i| i + 1);
                let word = &trimmed[ws..];
                if word.chars().next().is_some_and(char::is_uppercase) {
                    cur = ws;
                    name_start = ws;
                } else {
                    break;
                }
            }
        }
        let mut safe = dfa_point.min(name_start).max(floor);
        while safe > 0 && !p.is_char_boundary(safe) {
            safe -= 1;
        }
        safe
    }

    fn release(&mut self, upto: usize) -> StreamOutput {
        if upto == 0 {
            return StreamOutput {
                text: String::new(),
                findings: Vec::new(),
                verdict: self.verdict,
            };
        }
        let segment: String = self.pending[..upto].to_owned();
        self.pending.drain(..upto);
        // Scan the context tail + segment so context words just before still count.
        let tail_len = self.context_tail.len();
        let joined = format!("{}{}", self.context_tail, segment);
        let all = self.engine.detect(&joined, self.direction);
        let tail_chars = self.context_tail.chars().count();
        let mut mine: Vec<Detection> = Vec::new();
        for mut d in all {
            if d.byte_end <= tail_len {
                continue;
            }
            // Clip to the segment.
            if d.byte_start < tail_len {
                d.byte_start = tail_len;
                d.start = tail_chars;
            }
            d.byte_start -= tail_len;
            d.byte_end -= tail_len;
            d.start -= tail_chars;
            d.end -= tail_chars;
            mine.push(d);
        }
        let verdict = mine
            .iter()
            .map(|d| d.action.verdict())
            .max()
            .unwrap_or(Verdict::Allow);
        self.verdict = self.verdict.max(verdict);
        let to_mask: Vec<&Detection> = mine
            .iter()
            .filter(|d| d.action >= crate::config::Action::Redact)
            .collect();
        let text = if self.verdict == Verdict::Block {
            self.pending.clear();
            String::new()
        } else if to_mask.is_empty() {
            segment.clone()
        } else {
            crate::redact::apply(
                &segment,
                &to_mask,
                self.engine.config().mask,
                &self.engine.inner.hash_key,
                &mut self.ps,
            )
        };
        let base = self.released_chars;
        let findings: Vec<Finding> = mine
            .iter()
            .map(|d| {
                let mut f = d.to_finding();
                f.start += base;
                f.end += base;
                f
            })
            .collect();
        for mut d in mine {
            d.start += base;
            d.end += base;
            self.detections.push(d);
        }
        self.released_chars += segment.chars().count();
        self.prev_byte = segment.as_bytes().last().copied();
        let mut tail = format!("{}{}", self.context_tail, segment);
        if tail.len() > 64 {
            let mut cut = tail.len() - 64;
            while !tail.is_char_boundary(cut) {
                cut += 1;
            }
            tail.drain(..cut);
        }
        self.context_tail = tail;
        StreamOutput {
            text,
            findings,
            verdict: self.verdict,
        }
    }
}

/// The last offset in `bytes` at which the unanchored DFA is in its start state, i.e. no
/// partial match of any rule is alive. `None` if the DFA gave up (cache thrashing).
fn quiescent_point(
    dfa: &regex_automata::hybrid::dfa::DFA,
    cache: &mut Cache,
    bytes: &[u8],
    prev: Option<u8>,
) -> Option<usize> {
    let clears = cache.clear_count();
    let cfg = |lb: Option<u8>| start::Config::new().anchored(Anchored::No).look_behind(lb);
    let mut sid = dfa.start_state(cache, &cfg(prev)).ok()?;
    let mut last = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        sid = dfa.next_state(cache, sid, b).ok()?;
        let st = dfa.start_state(cache, &cfg(Some(b))).ok()?;
        if cache.clear_count() != clears {
            return None;
        }
        if sid == st {
            last = i + 1;
        }
    }
    Some(last)
}
