//! Literal prefilter for a multi-pattern set.
//!
//! Running a large multi-pattern lazy DFA unanchored over ordinary prose is dominated by
//! determinisation: every search restart (a new document, the position after a match) walks
//! into NFA state sets never seen before, and each new DFA state of a 100-rule automaton costs
//! tens of thousands of instructions. Most secret rules, however, start with a literal
//! (`AKIA`, `ghp_`, `-----BEGIN`, a provider or keyword name). For such a set the engine
//! searches the text once with an Aho-Corasick automaton over those prefix literals and runs
//! the rule automaton *anchored* at each candidate position only (anchored searches die after a
//! few bytes on ordinary text). Rules without a literal prefix declare `token_run = N` (each
//! match contains a run of at least `N` token bytes): the automaton runs unanchored only over
//! windows around such runs, which ordinary prose rarely contains.
//!
//! For a set whose rules all start with a literal the result is exactly that of the full scan:
//! every match starts with one of the literals, so every match start is a candidate, and the
//! anchored search at a candidate picks the same rule (leftmost-first priority) as the
//! unanchored search starting there. A rule with neither property disables the prefilter for
//! its set (full scan).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_syntax::hir::literal::Extractor;

/// Shortest prefix literal used as an anchor; a rule with a shorter possible prefix is not
/// anchorable (too many candidates).
const MIN_ANCHOR_LEN: usize = 3;

/// Bytes counted as part of a token run (the alphabets of keys, tokens and their separators).
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'+' | b'/' | b'=' | b'_' | b'-' | b'.' | b'~' | b':' | b'%' | b'\\'
            );
        i += 1;
    }
    t
};

/// The prefilter of one pattern set.
#[derive(Debug)]
pub(crate) struct Prefilter {
    /// Prefix literals of the anchorable rules (ASCII case-insensitive, lower-cased).
    anchors: Option<AhoCorasick>,
    /// The literals themselves (for [`Shared`]).
    lits: Vec<Vec<u8>>,
    /// Shortest token run that any non-anchorable rule needs; `None` when all are anchorable.
    min_run: Option<usize>,
    /// How far before its token run a match may start (the window's reach backwards).
    back: usize,
}

/// Where to search: candidate starts (anchored searches) and windows (unanchored searches),
/// each sorted by position.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub starts: Vec<usize>,
    pub windows: Vec<(usize, usize)>,
}

/// Lower-cased prefix literals every match of `regex` starts with, or `None` when there is no
/// finite set of literals of at least [`MIN_ANCHOR_LEN`] bytes.
fn prefix_literals(regex: &str) -> Option<Vec<Vec<u8>>> {
    // Candidates are found ASCII case-insensitively, so case-insensitive groups are extracted
    // case-sensitively (one literal instead of 2^n case variants, which would exceed the
    // extractor's limits).
    let regex = regex.replace("(?i)", "").replace("(?i:", "(?:");
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .nest_limit(64)
        .build()
        .parse(&regex)
        .ok()?;
    let seq = Extractor::new().extract(&hir);
    let lits = seq.literals()?;
    if lits.is_empty() {
        return None;
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for l in lits {
        let b = l.as_bytes();
        if b.len() < MIN_ANCHOR_LEN {
            return None;
        }
        let lower = b.to_ascii_lowercase();
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    Some(out)
}

/// The lower-cased prefix literals of `regex` (empty when it has none).
pub(crate) fn prefix_literals_of(regex: &str) -> Vec<Vec<u8>> {
    prefix_literals(regex).unwrap_or_default()
}

/// Whether every match of `regex` starts with one of its prefix literals (the prefilter
/// finds its candidates by literal).
pub(crate) fn anchorable(regex: &str) -> bool {
    prefix_literals(regex).is_some()
}

impl Prefilter {
    /// Builds the prefilter for rules `(regex, token_run)`; `None` when some rule has neither a
    /// literal prefix nor a token-run bound (the set is then scanned in full).
    pub(crate) fn build(rules: &[(&str, Option<usize>)]) -> Option<Prefilter> {
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let mut min_run: Option<usize> = None;
        for (re, run) in rules {
            match prefix_literals(re) {
                Some(ls) => {
                    for l in ls {
                        if !lits.contains(&l) {
                            lits.push(l);
                        }
                    }
                }
                None => {
                    let r = (*run)?;
                    if r < 8 {
                        return None;
                    }
                    min_run = Some(min_run.map_or(r, |m| m.min(r)));
                }
            }
        }
        let anchors = build_ac(&lits)?;
        Some(Prefilter {
            anchors,
            lits,
            min_run,
            back: 2,
        })
    }

    /// Lets windows reach `back` bytes before their token run (for rules whose match starts
    /// before the run: `1234567890123456|abcdef…`); at least the default 2.
    pub(crate) fn set_back(&mut self, back: usize) {
        self.back = back.max(2);
    }

    /// Candidate starts and windows for `text`.
    pub(crate) fn plan(&self, text: &str) -> Plan {
        let b = text.as_bytes();
        let mut plan = Plan::default();
        if let Some(ac) = &self.anchors {
            for m in ac.find_overlapping_iter(b) {
                plan.starts.push(m.start());
            }
            plan.starts.sort_unstable();
            plan.starts.dedup();
        }
        add_windows(text, self.min_run, self.back, &mut plan);
        plan
    }
}

/// `None` when the automaton cannot be built; `Some(None)` when there are no literals.
#[allow(clippy::option_option)]
fn build_ac(lits: &[Vec<u8>]) -> Option<Option<AhoCorasick>> {
    if lits.is_empty() {
        return Some(None);
    }
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(lits)
        .ok()
        .map(Some)
}

/// The prefilters of several pattern sets run as one pass: one Aho-Corasick automaton over the
/// union of their literals (each literal remembers which sets it came from) and one scan for
/// token runs. Produces exactly the plans the individual prefilters would.
#[derive(Debug)]
pub(crate) struct Shared {
    anchors: Option<AhoCorasick>,
    /// Per literal of `anchors`: bit `i` set when member `i` has it.
    owners: Vec<u64>,
    /// Per member: its token-run bound.
    runs: Vec<Option<usize>>,
    /// Per member: its window reach backwards.
    backs: Vec<usize>,
}

impl Shared {
    /// Merges the prefilters (at most 64).
    pub(crate) fn new(members: &[&Prefilter]) -> Option<Shared> {
        if members.len() > 64 {
            return None;
        }
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<u64> = Vec::new();
        for (i, m) in members.iter().enumerate() {
            for l in &m.lits {
                match lits.iter().position(|x| x == l) {
                    Some(p) => owners[p] |= 1 << i,
                    None => {
                        lits.push(l.clone());
                        owners.push(1 << i);
                    }
                }
            }
        }
        Some(Shared {
            anchors: build_ac(&lits)?,
            owners,
            runs: members.iter().map(|m| m.min_run).collect(),
            backs: members.iter().map(|m| m.back).collect(),
        })
    }

    /// One plan per member, in member order.
    pub(crate) fn plans(&self, text: &str) -> Vec<Plan> {
        let mut plans: Vec<Plan> = self.runs.iter().map(|_| Plan::default()).collect();
        if let Some(ac) = &self.anchors {
            for m in ac.find_overlapping_iter(text.as_bytes()) {
                let mut bits = self
                    .owners
                    .get(m.pattern().as_usize())
                    .copied()
                    .unwrap_or(0);
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if let Some(p) = plans.get_mut(i) {
                        p.starts.push(m.start());
                    }
                }
            }
        }
        for plan in &mut plans {
            plan.starts.sort_unstable();
            plan.starts.dedup();
        }
        // One scan for token runs, long enough for the member with the smallest bound; each
        // member keeps the runs that reach its own bound.
        if let Some(min) = self.runs.iter().flatten().copied().min() {
            for_each_run(text.as_bytes(), min, |s, e| {
                for ((plan, run), back) in plans.iter_mut().zip(&self.runs).zip(&self.backs) {
                    if run.is_some_and(|r| e - s >= r) {
                        push_window(text, s, e, *back, plan);
                    }
                }
            });
        }
        plans
    }
}

/// Adds the windows around token runs of at least `min_run` bytes.
fn add_windows(text: &str, min_run: Option<usize>, back: usize, plan: &mut Plan) {
    if let Some(min_run) = min_run {
        for_each_run(text.as_bytes(), min_run, |s, e| {
            push_window(text, s, e, back, plan)
        });
    }
}

/// Calls `f(start, end)` for every maximal run of token bytes of at least `min_run` bytes, in
/// order. Every such run covers a position `k * min_run - 1`, so only those positions are
/// probed, and a run is measured only where a probe lands on a token byte (prose is mostly
/// words far shorter than `min_run`).
fn for_each_run(b: &[u8], min_run: usize, mut f: impl FnMut(usize, usize)) {
    let is_token = |p: usize| b.get(p).is_some_and(|&x| TOKEN[usize::from(x)]);
    let step = min_run.max(1);
    // Bytes before `done` belong to runs already measured.
    let mut done = 0usize;
    let mut p = step - 1;
    while p < b.len() {
        if !is_token(p) {
            p += step;
            continue;
        }
        let mut s = p;
        while s > done && is_token(s - 1) {
            s -= 1;
        }
        let mut e = p + 1;
        while is_token(e) {
            e += 1;
        }
        if e - s >= min_run {
            f(s, e);
        }
        done = e;
        // The first probe after `e` (not a token byte itself).
        p = ((e + 1) / step + 1) * step - 1;
    }
}

/// Adds the window around the token run `s..e`: `back` bytes before it (two by default, for
/// quotes and boundaries) and two after, widened to char boundaries, merged with the previous
/// window when they touch.
fn push_window(text: &str, s: usize, e: usize, back: usize, plan: &mut Plan) {
    let len = text.len();
    let mut ws = s.saturating_sub(back);
    while ws > 0 && !text.is_char_boundary(ws) {
        ws -= 1;
    }
    let mut we = (e + 2).min(len);
    while we < len && !text.is_char_boundary(we) {
        we += 1;
    }
    match plan.windows.last_mut() {
        Some(last) if last.1 >= ws => last.1 = we,
        _ => plan.windows.push((ws, we)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_prefixes_are_extracted() {
        let l = prefix_literals(r"(?i:aws)[\w.]*?secret").unwrap_or_default();
        assert_eq!(l, vec![b"aws".to_vec()]);
        assert!(prefix_literals(r"[a-z]{32}").is_none());
        // An optional prefix may be empty: not anchorable.
        assert!(prefix_literals(r"(?:ab)?cd").is_none_or(|l| l.iter().all(|x| x.len() >= 2)));
    }

    #[test]
    fn set_without_prefix_or_run_is_not_prefiltered() {
        assert!(Prefilter::build(&[("AKIA[A-Z0-9]{16}", None), ("[a-z]{32}", None)]).is_none());
        assert!(Prefilter::build(&[("AKIA[A-Z0-9]{16}", None), ("[a-z]{32}", Some(32))]).is_some());
    }

    #[test]
    fn shared_plans_equal_individual_plans() {
        let a = Prefilter::build(&[("AKIA[A-Z0-9]{16}", None), ("(?i:token)=\\w+", None)])
            .unwrap_or_else(|| unreachable!());
        let b = Prefilter::build(&[("(?i:token)[:=]\\w+", None), ("[a-z0-9]{20}", Some(20))])
            .unwrap_or_else(|| unreachable!());
        let sh = Shared::new(&[&a, &b]).unwrap_or_else(|| unreachable!());
        for t in [
            "",
            "x akia y TOKEN=abc and abcdefghij0123456789xyz end akia",
            "tokentoken token:1 AKIAAKIA",
        ] {
            let plans = sh.plans(t);
            for (got, want) in plans.iter().zip([a.plan(t), b.plan(t)]) {
                assert_eq!(got.starts, want.starts, "{t}");
                assert_eq!(got.windows, want.windows, "{t}");
            }
        }
    }

    /// Maximal token runs of at least `min_run` bytes, byte by byte.
    fn reference_runs(b: &[u8], min_run: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if !TOKEN[usize::from(b[i])] {
                i += 1;
                continue;
            }
            let s = i;
            while i < b.len() && TOKEN[usize::from(b[i])] {
                i += 1;
            }
            if i - s >= min_run {
                out.push((s, i));
            }
        }
        out
    }

    proptest::proptest! {
        /// Probing every `min_run`-th byte finds exactly the runs a byte-by-byte scan finds.
        #[test]
        fn probed_runs_equal_reference(
            text in "[a-z0-9 =:/\\n\"'.,é]{0,300}",
            min_run in 1usize..40,
        ) {
            let mut got = Vec::new();
            for_each_run(text.as_bytes(), min_run, |s, e| got.push((s, e)));
            proptest::prop_assert_eq!(got, reference_runs(text.as_bytes(), min_run));
        }
    }

    #[test]
    fn probed_runs_on_adjacent_runs() {
        let t = b"abcdefgh ijklmnop qrstuvwxyz0123456789 a b cdefghij klmnopqrs\ttuvwxyzab";
        for min_run in 1..24 {
            let mut got = Vec::new();
            for_each_run(t, min_run, |s, e| got.push((s, e)));
            assert_eq!(got, reference_runs(t, min_run), "min_run {min_run}");
        }
    }

    #[test]
    fn plan_finds_anchors_and_runs() {
        let p = Prefilter::build(&[("AKIA[A-Z0-9]{16}", None), ("[a-z0-9]{20}", Some(20))])
            .unwrap_or_else(|| unreachable!());
        let t = "x akia y and abcdefghij0123456789xyz end";
        let plan = p.plan(t);
        assert_eq!(plan.starts, vec![2]);
        assert_eq!(plan.windows.len(), 1);
        let (s, e) = plan.windows[0];
        assert!(t[s..e].contains("abcdefghij0123456789xyz"));
    }
}
#[cfg(test)]
#[path = "../examples/common/rule_sample.rs"]
mod rule_sample;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod equivalence {
    use crate::{DetectConfig, Engine};
    use gatehouse_core::Direction;
    use std::sync::Arc;

    /// Every built-in secret rule is anchorable or bounded by a token run, so no secrets set
    /// falls back to the full scan.
    #[test]
    fn every_secret_rule_is_prefilterable() {
        let file: crate::rules::RuleFile = toml::from_str(crate::rules::SECRETS_TOML).unwrap();
        for d in file.rule {
            let r = d.into_rule("secrets");
            let re = crate::engine::expand_macros_pub(&r.regex);
            assert!(
                super::prefix_literals(&re).is_some() || r.token_run.is_some(),
                "{} has neither a literal prefix nor token_run",
                r.kind
            );
        }
        let e = Engine::new(&DetectConfig::default()).unwrap();
        assert!(e.secrets_prefiltered());
    }

    const PIECES: &[&str] = &[
        "The quarterly report shows that revenue grew by 12 percent.",
        "Remember to rotate credentials regularly and never commit them.",
        "export AWS_ACCESS_KEY_ID=AKIAQYLPMN5HFIQR7XYZ",
        "aws_secret_access_key = \"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\"",
        "token = \"ghp_R2b7rN4tZ8qL1mK9xV3cW6yH0pJ5sD2fG7aB\"",
        "api_key: 'q8Zr3LmT9vXw2KpN7bYc4HdF'",
        "password = \"hunter2hunter2\"",
        "if (password == \"S3cr3tPa55\") {",
        "DATABASE_URL=postgres://admin:Sup3rS3cret@db.internal:5432/app",
        "curl -u alice:t0pS3cretPw https://api.example.org",
        "curl -H 'Authorization: Bearer abcDEF123456ghiJKL789' https://x.test",
        "Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==",
        "secret=\"ZmFrZXNlY3JldGZvcnRlc3RzMTIzNDU2Nzg5MA\"",
        "jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlT3BlbkFJAbCdEfGhIjKlMnOpQrStUvWx",
        "\"Zq8vR3nT6yW1pL4kM7jH0gF5dS2aQ9xC8bN3mV6cX1z\"",
        "mailchimp 0123456789abcdef0123456789abcdef-us12 end",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----",
        "heroku_api_key = 01234567-89AB-CDEF-0123-456789ABCDEF",
        "asana_client_secret = \"a1b2c3d4e5f6a7b8\"",
        "discord MTA4OTk2NTc0NjU0NzI2NzU1Mg.GaBcDe.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab",
        "Call me at +44 20 7946 0958, mail maria.garcia@example.com.",
        "x",
        "key",
        "\u{e9}t\u{e9} \u{fc}ber na\u{ef}ve token=\u{e9}A8fk3LmQ9zX2vB7nR4tY",
    ];

    fn disabled(e: Engine) -> Engine {
        let mut e = e;
        let inner = Arc::get_mut(&mut e.inner).expect("fresh engine");
        inner.prefilter = false;
        e
    }

    /// On samples of every rule's own regex (alone, after prose, glued to another sample), the
    /// prefiltered scan reports exactly what the full scan reports: a rule whose matches reach
    /// outside its prefilter window would differ here.
    #[test]
    fn prefiltered_scan_equals_full_scan_on_rule_samples() {
        use super::rule_sample::{Rng, Sampler, rules};
        let fast = Engine::new(&DetectConfig::default()).unwrap();
        let full = disabled(Engine::new(&DetectConfig::default()).unwrap());
        let mut rng = Rng(77);
        let mut prev = String::new();
        for r in rules() {
            let sampler = Sampler::new(&r).unwrap();
            for _ in 0..4 {
                let Some((t, _, _)) = sampler.minimal(&mut rng) else {
                    continue;
                };
                for text in [
                    t.clone(),
                    format!("We moved the cluster last week. {t}"),
                    format!("{prev}\n{t} and more"),
                ] {
                    let a = fast.scan(&text, Direction::Input).findings;
                    let b = full.scan(&text, Direction::Input).findings;
                    assert_eq!(a, b, "{}: {text:?}", r.id);
                }
                prev = t;
            }
        }
    }

    /// The prefiltered scan reports exactly what the full scan reports.
    #[test]
    fn prefiltered_scan_equals_full_scan() {
        let fast = Engine::new(&DetectConfig::default()).unwrap();
        let full = disabled(Engine::new(&DetectConfig::default()).unwrap());
        let mut texts: Vec<String> = PIECES.iter().map(|s| (*s).to_owned()).collect();
        // Pairs and triples glued with different separators.
        for (i, a) in PIECES.iter().enumerate() {
            for (j, b) in PIECES.iter().enumerate().skip(i) {
                let sep = ["\n", " ", "; ", ""][(i + j) % 4];
                texts.push(format!("{a}{sep}{b}"));
                texts.push(format!(
                    "{b}{sep}{a} {}",
                    PIECES[(i * 7 + j) % PIECES.len()]
                ));
            }
        }
        for t in &texts {
            let a = fast.scan(t, Direction::Input).findings;
            let b = full.scan(t, Direction::Input).findings;
            assert_eq!(a, b, "text {t:?}");
        }
    }
}
