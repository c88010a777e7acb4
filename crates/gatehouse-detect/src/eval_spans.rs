//! Span evaluation of the PII and secrets detectors on labelled JSONL rows
//! (`{"text", "spans": [{"start", "end", "type" | "rule"}], "label"}`, the format of
//! `../shared/datasets/pii` and `../shared/datasets/secrets`; offsets in Unicode scalars).
//!
//! Definitions (kept identical to the ones `gatehouse eval` has always printed, so numbers stay
//! comparable):
//!
//! - predictions are the findings of the task's detector family (`pii` or `secrets`), minus
//!   `placeholder` findings;
//! - gold and predicted spans are matched one-to-one, greedily in gold order, once with exact
//!   boundaries and once with any overlap;
//! - for [`Task::Pii`] a match needs equal types, and a row is counted per gold type (false
//!   positives per predicted type), plus a total over the [`PATTERN_TYPES`];
//! - for [`Task::Secrets`] the rule vocabularies differ (gitleaks ids, detect-secrets plugin
//!   names, ours), so spans match on location only: per-rule rows report recall by the gold rule,
//!   and unmatched predictions are attributed to `(ours) <our rule id>`; a row-level table counts
//!   rows labelled `secret` (or with gold spans) against rows with any prediction;
//! - throughput: one thread, scan including redaction, after an untimed warm-up pass.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use gatehouse_core::Direction;
use serde_json::Value;

use crate::Engine;

/// The PII types with a pattern recognizer (the DESIGN targets).
pub const PATTERN_TYPES: &[&str] = &[
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
];

/// Which span task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// `pii/*.jsonl`: typed spans (`spans[].type`).
    Pii,
    /// `secrets/*.jsonl`: spans matched on location (`spans[].rule`, `label`).
    Secrets,
}

impl Task {
    /// The detector family whose findings count as predictions.
    pub fn detector(self) -> &'static str {
        match self {
            Task::Pii => "pii",
            Task::Secrets => "secrets",
        }
    }
}

/// True positives, false positives and false negatives.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Matched gold spans.
    pub tp: usize,
    /// Unmatched predictions.
    pub fp: usize,
    /// Unmatched gold spans.
    pub fn_: usize,
}

impl Counts {
    /// Precision, recall and F1 (0 where undefined).
    pub fn prf(&self) -> (f64, f64, f64) {
        let p = if self.tp + self.fp == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        };
        let r = if self.tp + self.fn_ == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        };
        let f = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f)
    }

    fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// A span in Unicode scalar offsets with its type (or rule id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Start (inclusive).
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// Type or rule id.
    pub kind: String,
}

/// One labelled row.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The text (`None` when the row has no string `text`; such rows are skipped).
    pub text: Option<String>,
    /// Gold spans.
    pub spans: Vec<Span>,
    /// `label` (`secret` / `none` in the secrets set), if present.
    pub label: Option<String>,
}

/// Parses JSONL rows (blank lines skipped; rows without `text` are kept, counted in
/// [`Report::rows`] and skipped by [`evaluate`]). Errors name the 1-based line.
pub fn parse_jsonl(data: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        rows.push(row_from_value(&v));
    }
    Ok(rows)
}

/// Converts one parsed JSON row (malformed spans are dropped, as the CLI always did).
pub fn row_from_value(v: &Value) -> Row {
    let spans = v
        .get("spans")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    Some(Span {
                        start: usize::try_from(s.get("start")?.as_u64()?).ok()?,
                        end: usize::try_from(s.get("end")?.as_u64()?).ok()?,
                        kind: s
                            .get("type")
                            .or_else(|| s.get("rule"))?
                            .as_str()?
                            .to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Row {
        text: v.get("text").and_then(Value::as_str).map(str::to_owned),
        spans,
        label: v.get("label").and_then(Value::as_str).map(str::to_owned),
    }
}

/// One-to-one greedy matching of predictions to gold spans (gold order, first free prediction).
/// `same_type` requires equal types. Returns (gold matched, prediction matched).
pub fn match_spans(
    gold: &[Span],
    pred: &[Span],
    exact: bool,
    same_type: bool,
) -> (Vec<bool>, Vec<bool>) {
    let mut gold_hit = vec![false; gold.len()];
    let mut pred_hit = vec![false; pred.len()];
    for (gi, g) in gold.iter().enumerate() {
        for (pi, p) in pred.iter().enumerate() {
            if pred_hit[pi] || (same_type && p.kind != g.kind) {
                continue;
            }
            let ok = if exact {
                p.start == g.start && p.end == g.end
            } else {
                p.start < g.end && g.start < p.end
            };
            if ok {
                gold_hit[gi] = true;
                pred_hit[pi] = true;
                break;
            }
        }
    }
    (gold_hit, pred_hit)
}

/// Evaluation results; `Display` prints the table `gatehouse eval` prints.
#[derive(Debug, Clone)]
pub struct Report {
    /// The task.
    pub task: Task,
    /// Rows given (including rows without text).
    pub rows: usize,
    /// Bytes of text scanned.
    pub bytes: usize,
    /// Per type (PII) or per gold rule / `(ours) rule` (secrets): `[exact, overlap]`.
    pub per_type: [BTreeMap<String, Counts>; 2],
    /// All spans: `[exact, overlap]`.
    pub overall: [Counts; 2],
    /// PII pattern types only: `[exact, overlap]` (zero for secrets).
    pub pattern_overall: [Counts; 2],
    /// Secrets rows: positive row vs. any prediction (`fn_` = missed secret rows).
    pub row_counts: Counts,
    /// Secrets rows without a secret and without a prediction.
    pub tn_rows: usize,
    /// Timed scanning.
    pub elapsed: Duration,
    /// Up to `show_errors` missed gold spans (overlap matching) as `TYPE: "text"`.
    pub missed: Vec<String>,
    /// Up to `show_errors` spurious predictions (overlap matching) as `TYPE: "text"`.
    pub spurious: Vec<String>,
}

impl Report {
    /// Precision, recall and F1 of one type, `[exact, overlap]`.
    pub fn type_prf(&self, kind: &str) -> [(f64, f64, f64); 2] {
        [0, 1].map(|i| {
            self.per_type[i]
                .get(kind)
                .copied()
                .unwrap_or_default()
                .prf()
        })
    }

    /// Throughput in MB/s (10⁶ bytes per second).
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn chars_of(text: &str, s: &Span) -> String {
    text.chars()
        .skip(s.start)
        .take(s.end.saturating_sub(s.start))
        .collect()
}

/// Scans every row (after an untimed warm-up pass) and scores the findings of the task's
/// detector against the gold spans. `show_errors` bounds the lists of misses and spurious hits.
pub fn evaluate(engine: &Engine, task: Task, rows: &[Row], show_errors: usize) -> Report {
    let detector = task.detector();
    let typed = task == Task::Pii;
    let mut rep = Report {
        task,
        rows: rows.len(),
        bytes: 0,
        per_type: [BTreeMap::new(), BTreeMap::new()],
        overall: [Counts::default(); 2],
        pattern_overall: [Counts::default(); 2],
        row_counts: Counts::default(),
        tn_rows: 0,
        elapsed: Duration::ZERO,
        missed: Vec::new(),
        spurious: Vec::new(),
    };
    // Warm-up pass: compiles lazily built capture regexes and fills the lazy DFA caches, so the
    // timed pass measures steady-state scanning.
    for row in rows {
        if let Some(text) = &row.text {
            let _ = engine.scan(text, Direction::Input);
        }
    }
    for row in rows {
        let Some(text) = row.text.as_deref() else {
            continue;
        };
        let gold = &row.spans;
        let t0 = Instant::now();
        let out = engine.scan(text, Direction::Input);
        rep.elapsed += t0.elapsed();
        rep.bytes += text.len();
        let pred: Vec<Span> = out
            .findings
            .iter()
            .filter(|f| f.detector == detector && f.kind != "placeholder")
            .map(|f| Span {
                start: f.start,
                end: f.end,
                kind: f.kind.clone(),
            })
            .collect();
        if task == Task::Secrets {
            let gold_pos = row.label.as_deref() == Some("secret") || !gold.is_empty();
            match (gold_pos, !pred.is_empty()) {
                (true, true) => rep.row_counts.tp += 1,
                (true, false) => rep.row_counts.fn_ += 1,
                (false, true) => rep.row_counts.fp += 1,
                (false, false) => rep.tn_rows += 1,
            }
        }
        for (mi, exact) in [(0usize, true), (1usize, false)] {
            let (gh, ph) = match_spans(gold, &pred, exact, typed);
            let mut c = Counts::default();
            for (g, hit) in gold.iter().zip(&gh) {
                let e = rep.per_type[mi].entry(g.kind.clone()).or_default();
                if *hit {
                    e.tp += 1;
                    c.tp += 1;
                } else {
                    e.fn_ += 1;
                    c.fn_ += 1;
                    if mi == 1 && rep.missed.len() < show_errors {
                        rep.missed
                            .push(format!("{}: {:?}", g.kind, chars_of(text, g)));
                    }
                }
            }
            for (p, hit) in pred.iter().zip(&ph) {
                if !hit {
                    c.fp += 1;
                    let key = if typed {
                        p.kind.clone()
                    } else {
                        // Spurious secrets are attributed to our rule id, prefixed to keep the
                        // vocabularies apart.
                        format!("(ours) {}", p.kind)
                    };
                    rep.per_type[mi].entry(key).or_default().fp += 1;
                    if mi == 1 && rep.spurious.len() < show_errors {
                        rep.spurious
                            .push(format!("{}: {:?}", p.kind, chars_of(text, p)));
                    }
                }
            }
            rep.overall[mi].add(c);
            if typed {
                let is_pattern = |s: &&Span| PATTERN_TYPES.contains(&s.kind.as_str());
                let gp: Vec<Span> = gold.iter().filter(is_pattern).cloned().collect();
                let pp: Vec<Span> = pred.iter().filter(is_pattern).cloned().collect();
                let (gh2, ph2) = match_spans(&gp, &pp, exact, true);
                rep.pattern_overall[mi].add(Counts {
                    tp: gh2.iter().filter(|h| **h).count(),
                    fn_: gh2.iter().filter(|h| !**h).count(),
                    fp: ph2.iter().filter(|h| !**h).count(),
                });
            }
        }
    }
    rep
}

fn total_line(f: &mut fmt::Formatter<'_>, name: &str, c: &[Counts; 2]) -> fmt::Result {
    let (p, r, f1) = c[0].prf();
    let (p2, r2, f2) = c[1].prf();
    writeln!(
        f,
        "{:<44} {:>6} {:>6} {:>6} | {:>6.3} {:>6.3} {:>6.3} | {:>6.3} {:>6.3} {:>6.3}",
        name,
        c[0].tp + c[0].fn_,
        c[0].tp + c[0].fp,
        c[0].tp,
        p,
        r,
        f1,
        p2,
        r2,
        f2
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "task: {}   rows: {}   bytes: {}",
            self.task.detector(),
            self.rows,
            self.bytes
        )?;
        writeln!(
            f,
            "{:<44} {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6}",
            "type", "gold", "pred", "tp", "P", "R", "F1", "P~", "R~", "F1~"
        )?;
        writeln!(f, "(exact span | overlap~)")?;
        for (kind, exact_c) in &self.per_type[0] {
            let ov = self.per_type[1].get(kind).copied().unwrap_or_default();
            total_line(f, kind, &[*exact_c, ov])?;
        }
        if self.task == Task::Pii {
            total_line(
                f,
                "PATTERN TYPES (email,phone,card,iban,ssn,ip)",
                &self.pattern_overall,
            )?;
        }
        total_line(f, "OVERALL", &self.overall)?;
        if self.task == Task::Secrets {
            let c = self.row_counts;
            let (p, r, f1) = c.prf();
            writeln!(
                f,
                "rows (secret vs none): tp {} fp {} fn {} tn {}  P {p:.3} R {r:.3} F1 {f1:.3}",
                c.tp, c.fp, c.fn_, self.tn_rows
            )?;
        }
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "throughput: {:.1} MB/s ({} bytes in {:.3} s, one thread, scan incl. redaction)",
            self.bytes as f64 / 1e6 / secs,
            self.bytes,
            secs
        )?;
        for m in &self.missed {
            writeln!(f, "missed   {m}")?;
        }
        for s in &self.spurious {
            writeln!(f, "spurious {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::DetectConfig;

    fn sp(start: usize, end: usize, kind: &str) -> Span {
        Span {
            start,
            end,
            kind: kind.to_owned(),
        }
    }

    #[test]
    fn greedy_matching_is_one_to_one() {
        let gold = [sp(0, 5, "A"), sp(3, 8, "A")];
        let pred = [sp(2, 6, "A")];
        let (g, p) = match_spans(&gold, &pred, false, true);
        assert_eq!(g, vec![true, false]);
        assert_eq!(p, vec![true]);
        let (g, _) = match_spans(&gold, &pred, true, true);
        assert_eq!(g, vec![false, false]);
        let (g, _) = match_spans(&gold, &[sp(0, 5, "B")], true, true);
        assert_eq!(g, vec![false, false]);
        let (g, _) = match_spans(&gold, &[sp(0, 5, "B")], true, false);
        assert_eq!(g, vec![true, false]);
    }

    #[test]
    fn pii_report_counts_and_prints() {
        let data = concat!(
            r#"{"text":"mail bob@example.org now","spans":[{"start":5,"end":20,"type":"EMAIL_ADDRESS"}]}"#,
            "\n\n",
            r#"{"text":"nothing here at all","spans":[{"start":0,"end":7,"type":"EMAIL_ADDRESS"}]}"#,
            "\n"
        );
        let rows = parse_jsonl(data).unwrap();
        assert_eq!(rows.len(), 2);
        let engine = Engine::new(&DetectConfig::default()).unwrap();
        let rep = evaluate(&engine, Task::Pii, &rows, 5);
        let c = rep.per_type[0]["EMAIL_ADDRESS"];
        assert_eq!((c.tp, c.fn_, c.fp), (1, 1, 0));
        assert_eq!(rep.pattern_overall[0].tp, 1);
        assert_eq!(rep.missed, vec![r#"EMAIL_ADDRESS: "nothing""#.to_owned()]);
        let s = rep.to_string();
        assert!(s.starts_with("task: pii   rows: 2   bytes: "));
        assert!(s.contains("PATTERN TYPES (email,phone,card,iban,ssn,ip)"));
        assert!(!s.contains("rows (secret vs none)"));
    }

    #[test]
    fn secrets_rows_match_on_location() {
        let data = concat!(
            r#"{"text":"key = ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789","spans":[{"start":6,"end":46,"rule":"some-other-id"}],"label":"secret"}"#,
            "\n",
            r#"{"text":"just a sentence","spans":[],"label":"none"}"#,
        );
        let rows = parse_jsonl(data).unwrap();
        let engine = Engine::new(&DetectConfig::default()).unwrap();
        let rep = evaluate(&engine, Task::Secrets, &rows, 0);
        assert_eq!(rep.overall[1].tp, 1);
        assert_eq!(rep.row_counts.tp, 1);
        assert_eq!(rep.tn_rows, 1);
        assert!(
            rep.to_string()
                .contains("rows (secret vs none): tp 1 fp 0 fn 0 tn 1")
        );
    }

    #[test]
    fn bad_line_is_named() {
        let e = parse_jsonl("{}\n{oops").unwrap_err();
        assert!(e.starts_with("line 2:"));
    }
}
