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

/// Detector-backed output stages. Each wraps a streaming scanner from `gatehouse-detect` (the
/// detection logic lives there); this module only adapts them to [`OutputInspector`]. Scanners
/// that borrow their detector are held together with it by `self_cell`.
pub mod stages {
    use super::OutputInspector;
    use gatehouse_core::{ErrorCode, Finding, Rejection, Verdict};
    use gatehouse_detect::injection::canary::{Canary, CanaryStream};
    use gatehouse_detect::injection::exfil::{ExfilDetector, ExfilStream};
    use gatehouse_detect::injection::leak::{LeakDetector, LeakStream};
    use gatehouse_detect::{Pseudonymizer, RestoreStream, StreamScanner};
    use std::sync::Arc;

    fn blocked(kind: &str, what: &str) -> Rejection {
        let mut r = Rejection::new(
            ErrorCode::BlockedByGuardrail,
            format!("the response was stopped by a guardrail: {what} ({kind})"),
        );
        r.finding_types = vec![kind.to_owned()];
        r.at("inspect_out")
    }

    /// PII and secrets in the answer: redacted mid-stream; a blocking finding ends it.
    pub struct Pii {
        scanner: StreamScanner,
        findings: Vec<Finding>,
    }

    impl Pii {
        /// Wraps a scanner.
        pub fn new(scanner: StreamScanner) -> Pii {
            Pii {
                scanner,
                findings: Vec::new(),
            }
        }
        fn take(&mut self, out: gatehouse_detect::StreamOutput) -> Result<String, Rejection> {
            let kinds: Vec<String> = out.findings.iter().map(|f| f.kind.clone()).collect();
            self.findings.extend(out.findings);
            if out.verdict == Verdict::Block {
                let kind = kinds
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "secret".to_owned());
                return Err(blocked(&kind, "sensitive data in the answer"));
            }
            Ok(out.text)
        }
    }

    impl OutputInspector for Pii {
        fn push(&mut self, text: &str) -> Result<String, Rejection> {
            let out = self.scanner.push(text);
            self.take(out)
        }
        fn finish(&mut self) -> Result<String, Rejection> {
            let out = self.scanner.finish();
            self.take(out)
        }
        fn findings(&self) -> &[Finding] {
            &self.findings
        }
    }

    /// Puts the caller's originals back where the prompt's PII was replaced by placeholders.
    pub struct Restore(RestoreStream);

    impl Restore {
        /// For this request's mapping.
        pub fn new(ps: Pseudonymizer) -> Restore {
            Restore(ps.into_restore_stream())
        }
    }

    impl OutputInspector for Restore {
        fn push(&mut self, text: &str) -> Result<String, Rejection> {
            Ok(self.0.push(text))
        }
        fn finish(&mut self) -> Result<String, Rejection> {
            Ok(self.0.finish())
        }
        fn findings(&self) -> &[Finding] {
            &[]
        }
    }

    self_cell::self_cell!(
        struct ExfilCell {
            owner: Arc<ExfilDetector>,
            #[covariant]
            dependent: ExfilStream,
        }
    );

    /// Links, images and active content pointing outside the allow-list are removed.
    pub struct Exfil {
        cell: ExfilCell,
        findings: Vec<Finding>,
    }

    impl Exfil {
        /// Over a shared detector.
        pub fn new(det: Arc<ExfilDetector>) -> Exfil {
            Exfil {
                cell: ExfilCell::new(det, |d| d.stream()),
                findings: Vec::new(),
            }
        }
    }

    impl OutputInspector for Exfil {
        fn push(&mut self, text: &str) -> Result<String, Rejection> {
            let out = self.cell.with_dependent_mut(|_, s| s.push(text));
            self.findings.extend(out.findings);
            Ok(out.release)
        }
        fn finish(&mut self) -> Result<String, Rejection> {
            let out = self.cell.with_dependent_mut(|_, s| s.finish());
            self.findings.extend(out.findings);
            Ok(out.release)
        }
        fn findings(&self) -> &[Finding] {
            &self.findings
        }
    }

    self_cell::self_cell!(
        struct CanaryCell {
            owner: Canary,
            #[covariant]
            dependent: CanaryStream,
        }
    );

    self_cell::self_cell!(
        struct LeakCell {
            owner: LeakDetector,
            #[covariant]
            dependent: LeakStream,
        }
    );

    /// A streaming scanner whose any finding ends the answer.
    trait TripStream: Send {
        /// Next chunk → (text safe to release, findings).
        fn step(&mut self, text: Option<&str>) -> (String, Vec<Finding>);
    }

    impl TripStream for CanaryCell {
        fn step(&mut self, text: Option<&str>) -> (String, Vec<Finding>) {
            let out = self.with_dependent_mut(|_, s| match text {
                Some(t) => s.push(t),
                None => s.finish(),
            });
            (out.release, out.findings)
        }
    }

    impl TripStream for LeakCell {
        fn step(&mut self, text: Option<&str>) -> (String, Vec<Finding>) {
            let out = self.with_dependent_mut(|_, s| match text {
                Some(t) => s.push(t),
                None => s.finish(),
            });
            (out.release, out.findings)
        }
    }

    /// Stops the answer at the first finding of its scanner (canary, system-prompt leak).
    pub struct Tripwire {
        stream: Box<dyn TripStream>,
        kind: &'static str,
        what: &'static str,
        findings: Vec<Finding>,
    }

    impl Tripwire {
        /// Stops an answer that contains this request's canary.
        pub fn canary(c: Canary) -> Tripwire {
            Tripwire::new(
                Box::new(CanaryCell::new(c, |c| c.stream())),
                "canary",
                "the system prompt's canary appeared in the answer",
            )
        }

        /// Stops an answer that reproduces a long run of the system prompt.
        pub fn leak(det: LeakDetector) -> Tripwire {
            Tripwire::new(
                Box::new(LeakCell::new(det, |d| d.stream())),
                "system_prompt_leak",
                "the answer reproduces the system prompt",
            )
        }

        fn new(stream: Box<dyn TripStream>, kind: &'static str, what: &'static str) -> Tripwire {
            Tripwire {
                stream,
                kind,
                what,
                findings: Vec::new(),
            }
        }

        fn step(&mut self, text: Option<&str>) -> Result<String, Rejection> {
            let (release, found) = self.stream.step(text);
            if !found.is_empty() {
                self.findings.extend(found);
                return Err(blocked(self.kind, self.what));
            }
            Ok(release)
        }
    }

    impl OutputInspector for Tripwire {
        fn push(&mut self, text: &str) -> Result<String, Rejection> {
            self.step(Some(text))
        }
        fn finish(&mut self) -> Result<String, Rejection> {
            self.step(None)
        }
        fn findings(&self) -> &[Finding] {
            &self.findings
        }
    }
}
