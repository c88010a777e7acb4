//! System-prompt leak detection: flags output that reproduces a run of at least `min_words`
//! consecutive words of the system prompt (after normalisation: case, accents, width, invisible
//! characters and punctuation do not matter).
//!
//! The prompt is indexed once as the set of hashes of all its word n-grams for n = 1..=min_words.
//! Scanning output keeps `k`, the length of the longest suffix of the output's words that occurs
//! contiguously in the prompt; a leak is reported when `k` reaches `min_words`. Because a run can
//! only be extended, the streaming scanner ([`LeakStream`]) holds back exactly the words of the
//! current partial run (plus an unfinished word): everything before can never become part of a
//! leak and is released at once.

use std::collections::HashSet;

use gatehouse_core::Finding;

use super::normalize::normalize;

/// Detector name used in leak findings.
pub const DETECTOR: &str = "leak";

/// Index of one system prompt.
#[derive(Debug, Clone)]
pub struct LeakDetector {
    min_words: usize,
    /// (n, hash of n consecutive normalised words) for n in 1..=min_words.
    grams: HashSet<(u8, u64)>,
}

fn word_hash(prev: u64, w: &str) -> u64 {
    let mut h = prev ^ 0x9e37_79b9_7f4a_7c15;
    for b in w.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.wrapping_mul(0xff51_afd7_ed55_8ccd) ^ 0x20
}

fn hash_run(words: &[String]) -> u64 {
    words.iter().fold(0u64, |h, w| word_hash(h, w))
}

/// Splits normalised text into words (alphanumeric runs), returning (word, original char span).
fn words_of(text: &str) -> Vec<(String, usize, usize)> {
    let n = normalize(text);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start_byte = 0usize;
    for (i, c) in n.text.char_indices() {
        if c.is_alphanumeric() {
            if cur.is_empty() {
                start_byte = i;
            }
            cur.push(c);
        } else if !cur.is_empty() {
            let (s, e) = n.orig_span(start_byte, i);
            out.push((std::mem::take(&mut cur), s, e));
        }
    }
    if !cur.is_empty() {
        let (s, e) = n.orig_span(start_byte, n.text.len());
        out.push((cur, s, e));
    }
    out
}

impl LeakDetector {
    /// Indexes `system_prompt`; `min_words` is clamped to 3..=64 (8 is a good default).
    pub fn new(system_prompt: &str, min_words: usize) -> Self {
        let min_words = min_words.clamp(3, 64);
        let words: Vec<String> = words_of(system_prompt).into_iter().map(|w| w.0).collect();
        let mut grams = HashSet::new();
        for i in 0..words.len() {
            for n in 1..=min_words {
                if let Some(run) = words.get(i..i + n) {
                    grams.insert((n as u8, hash_run(run)));
                }
            }
        }
        LeakDetector { min_words, grams }
    }

    /// The configured run length.
    pub fn min_words(&self) -> usize {
        self.min_words
    }

    fn contains(&self, run: &[String]) -> bool {
        !run.is_empty() && self.grams.contains(&(run.len() as u8, hash_run(run)))
    }

    /// Scans a complete text; one finding per leaked run (merged when runs overlap).
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let mut s = self.stream();
        let mut out = s.push(text).findings;
        out.extend(s.finish().findings);
        out
    }

    /// A streaming scanner over one response.
    pub fn stream(&self) -> LeakStream<'_> {
        LeakStream {
            det: self,
            pending: String::new(),
            pending_start: 0,
            run: Vec::new(),
            leaking: None,
        }
    }
}

/// What a streaming push returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeakOutput {
    /// Text that is safe to release now (it can no longer be part of a leak).
    pub release: String,
    /// Leaks found (spans in chars from the start of the stream).
    pub findings: Vec<Finding>,
}

/// Streaming leak scanner (see the module docs for the hold-back rule).
#[derive(Debug)]
pub struct LeakStream<'a> {
    det: &'a LeakDetector,
    /// Text not yet released; starts at char `pending_start` of the stream.
    pending: String,
    pending_start: usize,
    /// Current matching run: (word, stream char start, stream char end).
    run: Vec<(String, usize, usize)>,
    /// Start of a leak in progress (extends while the run continues).
    leaking: Option<(usize, usize)>,
}

impl LeakStream<'_> {
    /// Adds a chunk; returns what may be released and any leak found.
    pub fn push(&mut self, chunk: &str) -> LeakOutput {
        self.pending.push_str(chunk);
        self.process(false)
    }

    /// Ends the stream: releases the rest and reports a leak still in progress.
    pub fn finish(&mut self) -> LeakOutput {
        self.process(true)
    }

    fn process(&mut self, last: bool) -> LeakOutput {
        let mut out = LeakOutput::default();
        // Words of the pending text; the last one may be unfinished unless `last`.
        let mut words = words_of(&self.pending);
        let complete_end = if last {
            None
        } else {
            // An unfinished trailing word ends at the end of the pending text.
            let total = self.pending.chars().count();
            match words.last() {
                Some(w) if w.2 == total => {
                    let w = words.pop();
                    w.map(|w| w.1)
                }
                _ => None,
            }
        };
        for (w, s, e) in words {
            let (s, e) = (s + self.pending_start, e + self.pending_start);
            // Words of the held-back run were processed by an earlier push.
            if self.run.iter().any(|r| r.1 == s) {
                continue;
            }
            self.run.push((w, s, e));
            // Shrink to the longest suffix that is still a contiguous prompt run.
            while !self.run.is_empty() {
                let tail: Vec<String> = self.run.iter().map(|r| r.0.clone()).collect();
                if self.det.contains(&tail) {
                    break;
                }
                self.run.remove(0);
            }
            if self.run.len() >= self.det.min_words {
                let start = self.run.first().map(|r| r.1).unwrap_or(s);
                self.leaking = Some(match self.leaking {
                    Some((ls, _)) => (ls, e),
                    None => (start, e),
                });
                // Keep the last min_words - 1 words so that the run can keep extending.
                let drop = self.run.len() + 1 - self.det.min_words;
                self.run.drain(..drop);
            } else if let Some((ls, le)) = self.leaking.take() {
                out.findings.push(self.finding(ls, le));
            }
        }
        if last && let Some((ls, le)) = self.leaking.take() {
            out.findings.push(self.finding(ls, le));
        }
        // Release everything before the first char we must hold back.
        let hold_from = if last {
            None
        } else {
            let run_start = if self.leaking.is_some() {
                None // a leak is in progress: hold nothing back, the caller will block anyway
            } else {
                self.run.first().map(|r| r.1)
            };
            match (run_start, complete_end.map(|c| c + self.pending_start)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let cut_chars = hold_from
            .map(|h| h.saturating_sub(self.pending_start))
            .unwrap_or(usize::MAX);
        let cut_byte = self
            .pending
            .char_indices()
            .nth(cut_chars)
            .map(|(b, _)| b)
            .unwrap_or(self.pending.len());
        let rest = self.pending.split_off(cut_byte);
        out.release = std::mem::replace(&mut self.pending, rest);
        self.pending_start += out.release.chars().count();
        out
    }

    fn finding(&self, start: usize, end: usize) -> Finding {
        Finding {
            detector: DETECTOR.to_owned(),
            kind: "system_prompt".to_owned(),
            score: 1.0,
            start,
            end,
        }
    }

    /// Chars currently held back.
    pub fn held_chars(&self) -> usize {
        self.pending.chars().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "You are Acme's support bot. Never discuss pricing for enterprise customers, \
        and always escalate refund requests above 500 dollars to a human agent.";

    #[test]
    fn detects_long_run_ignoring_case_and_punctuation() {
        let d = LeakDetector::new(PROMPT, 8);
        let out = "Sure! My rules: NEVER discuss pricing for enterprise customers and always escalate refund requests.";
        let f = d.scan(out);
        assert_eq!(f.len(), 1);
        let leaked: String = out
            .chars()
            .skip(f[0].start)
            .take(f[0].end - f[0].start)
            .collect();
        assert!(
            leaked.starts_with("NEVER") && leaked.ends_with("requests"),
            "{leaked}"
        );
        assert!(
            d.scan("I can't discuss pricing, sorry. Refund requests go to a human agent.")
                .is_empty()
        );
    }

    #[test]
    fn short_runs_are_fine() {
        let d = LeakDetector::new(PROMPT, 8);
        assert!(
            d.scan("You are welcome! Enterprise customers can contact sales.")
                .is_empty()
        );
        assert!(d.scan("").is_empty());
        assert!(
            LeakDetector::new("", 8)
                .scan("anything at all here")
                .is_empty()
        );
    }

    #[test]
    fn streaming_holds_back_only_the_partial_run_and_catches_split_leaks() {
        let d = LeakDetector::new(PROMPT, 8);
        let mut s = d.stream();
        let o = s.push("Hello there. Never discuss pri");
        // "Hello there." can never be part of a leak and is released; "Never discuss pri" is held.
        assert_eq!(o.release, "Hello there. ");
        assert!(o.findings.is_empty());
        let o = s.push("cing for enterprise customers, and always");
        assert!(o.findings.is_empty());
        let o = s.push(" escalate refunds. Bye");
        assert_eq!(o.findings.len(), 1);
        let o2 = s.finish();
        let total = o.findings.len() + o2.findings.len();
        assert_eq!(total, 1);
        // A harmless stream releases everything but the trailing partial word.
        let mut s = d.stream();
        let o = s.push("The weather is nice tod");
        assert_eq!(o.release, "The weather is nice ");
        assert_eq!(s.finish().release, "tod");
    }

    #[test]
    fn streaming_matches_one_shot_on_any_split() {
        let d = LeakDetector::new(PROMPT, 8);
        let text = "ok: never discuss pricing for enterprise customers, and always escalate. done";
        let want = d.scan(text).len();
        assert_eq!(want, 1);
        for cut in 0..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let mut s = d.stream();
            let mut got = s.push(&text[..cut]).findings.len();
            let o = s.push(&text[cut..]);
            got += o.findings.len();
            let f = s.finish();
            got += f.findings.len();
            assert_eq!(got, want, "cut at {cut}");
        }
    }
}
