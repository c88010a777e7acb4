//! Output inspection: the contract every response-side stage implements, and the blocklist stage.
//!
//! An [`OutputInspector`] sees the answer's text as it streams. It returns only text that is
//! safe to release; anything that might be the beginning of a match is held back — and only
//! that much, never a fixed buffer — so a term split across chunks never reaches the client in
//! part, and text that cannot start a match is released at once.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use gatehouse_core::{ErrorCode, Finding, Rejection};

/// A response-side stage, fed text deltas in order.
pub trait OutputInspector: Send {
    /// Accepts the next text; returns what may be released now, or a rejection that ends the
    /// answer (nothing held back is released).
    fn push(&mut self, text: &str) -> Result<String, Rejection>;
    /// The answer ended; returns whatever was held back, or a rejection.
    fn finish(&mut self) -> Result<String, Rejection>;
    /// Findings so far (types and spans only).
    fn findings(&self) -> &[Finding];
}

/// A case-insensitive term list (compiled once, shared by all requests).
#[derive(Debug)]
pub struct Blocklist {
    ac: AhoCorasick,
    terms: Vec<String>,
    max_bytes: usize,
}

impl Blocklist {
    /// Compiles the terms.
    pub fn new(terms: &[String]) -> Result<Blocklist, String> {
        let lower: Vec<String> = terms.iter().map(|t| t.to_ascii_lowercase()).collect();
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&lower)
            .map_err(|e| format!("blocklist: {e}"))?;
        let max_bytes = lower.iter().map(String::len).max().unwrap_or(0);
        Ok(Blocklist {
            ac,
            terms: lower,
            max_bytes,
        })
    }

    /// Byte span of the first term in `text`.
    pub fn find(&self, text: &str) -> Option<(usize, usize)> {
        self.ac.find(text).map(|m| (m.start(), m.end()))
    }

    /// Length in bytes of the longest suffix of `text` that is a proper prefix of some term
    /// (what must be held back because the next chunk could complete a term).
    fn pending_suffix(&self, text: &str) -> usize {
        let max = self.max_bytes.saturating_sub(1).min(text.len());
        for k in (1..=max).rev() {
            let start = text.len() - k;
            if !text.is_char_boundary(start) {
                continue;
            }
            let suffix = &text.as_bytes()[start..];
            if self
                .terms
                .iter()
                .any(|t| t.len() > k && t.as_bytes()[..k].eq_ignore_ascii_case(suffix))
            {
                return k;
            }
        }
        0
    }

    /// A streaming scanner over this list.
    pub fn scanner(self: &std::sync::Arc<Self>) -> BlocklistScanner {
        BlocklistScanner {
            list: self.clone(),
            held: String::new(),
            released_chars: 0,
            findings: Vec::new(),
        }
    }
}

/// Per-answer state of the blocklist stage.
#[derive(Debug)]
pub struct BlocklistScanner {
    list: std::sync::Arc<Blocklist>,
    held: String,
    released_chars: usize,
    findings: Vec<Finding>,
}

impl BlocklistScanner {
    fn block(&mut self, start: usize, end: usize) -> Rejection {
        let s = self.released_chars + self.held[..start].chars().count();
        let e = s + self.held[start..end].chars().count();
        self.findings.push(Finding {
            detector: "blocklist".into(),
            kind: "blocked_term".into(),
            score: 1.0,
            start: s,
            end: e,
        });
        self.held.clear();
        let mut r = Rejection::new(
            ErrorCode::BlockedByGuardrail,
            "the response was stopped by a content guardrail (blocked_term)",
        );
        r.finding_types = vec!["blocked_term".into()];
        r.at("inspect_out")
    }
}

impl OutputInspector for BlocklistScanner {
    fn push(&mut self, text: &str) -> Result<String, Rejection> {
        self.held.push_str(text);
        if let Some((s, e)) = self.list.find(&self.held) {
            return Err(self.block(s, e));
        }
        let keep = self.list.pending_suffix(&self.held);
        let split = self.held.len() - keep;
        let rest = self.held.split_off(split);
        let release = std::mem::replace(&mut self.held, rest);
        self.released_chars += release.chars().count();
        Ok(release)
    }

    fn finish(&mut self) -> Result<String, Rejection> {
        let release = std::mem::take(&mut self.held);
        self.released_chars += release.chars().count();
        Ok(release)
    }

    fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

/// The ordered output stages of one answer: text flows through each in turn.
#[derive(Default)]
pub struct OutputChain {
    stages: Vec<Box<dyn OutputInspector>>,
}

impl OutputChain {
    /// Adds a stage.
    pub fn push_stage(&mut self, s: Box<dyn OutputInspector>) {
        self.stages.push(s);
    }

    /// Whether any stage is active.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Feeds text through every stage.
    pub fn push(&mut self, text: &str) -> Result<String, Rejection> {
        let mut t = text.to_owned();
        for s in &mut self.stages {
            t = s.push(&t)?;
        }
        Ok(t)
    }

    /// Ends the answer: each stage's held text flows through the stages after it.
    pub fn finish(&mut self) -> Result<String, Rejection> {
        let mut carried = String::new();
        for s in &mut self.stages {
            let mut t = s.push(&carried)?;
            t.push_str(&s.finish()?);
            carried = t;
        }
        Ok(carried)
    }

    /// All findings.
    pub fn findings(&self) -> Vec<Finding> {
        self.stages
            .iter()
            .flat_map(|s| s.findings().iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn chain() -> OutputChain {
        let list = Arc::new(
            Blocklist::new(&["Forbidden".to_owned(), "zebra crossing".to_owned()]).unwrap(),
        );
        let mut c = OutputChain::default();
        c.push_stage(Box::new(list.scanner()));
        c
    }

    #[test]
    fn term_split_at_every_boundary_never_leaks() {
        let text = "All clear, then the FORBIDDEN word appears.";
        let term_at = text.find("FORBIDDEN").unwrap();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                if !text.is_char_boundary(i) || !text.is_char_boundary(j) {
                    continue;
                }
                let mut c = chain();
                let mut out = String::new();
                let mut blocked = false;
                for part in [&text[..i], &text[i..j], &text[j..]] {
                    match c.push(part) {
                        Ok(t) => out.push_str(&t),
                        Err(r) => {
                            assert_eq!(r.code, ErrorCode::BlockedByGuardrail);
                            blocked = true;
                            break;
                        }
                    }
                }
                assert!(blocked, "split {i}/{j}");
                assert!(
                    out.len() <= term_at,
                    "released part of the term at split {i}/{j}: {out:?}"
                );
                assert!(!out.to_ascii_lowercase().contains("forb"), "{out:?}");
            }
        }
    }

    #[test]
    fn clean_text_is_released_immediately_and_completely() {
        let mut c = chain();
        assert_eq!(c.push("Hello ").unwrap(), "Hello ");
        // "zeb" may start "zebra crossing": held back, and only that.
        assert_eq!(c.push("the zeb").unwrap(), "the ");
        assert_eq!(c.push("ra is striped").unwrap(), "zebra is striped");
        assert_eq!(c.push(" forb").unwrap(), " ");
        assert_eq!(c.finish().unwrap(), "forb");
    }

    #[test]
    fn finding_span_is_in_chars_of_the_whole_answer() {
        let mut c = chain();
        c.push("héllo ").unwrap();
        assert!(c.push("forbidden").is_err());
        let f = &c.findings()[0];
        assert_eq!((f.start, f.end), (6, 15));
    }
}
