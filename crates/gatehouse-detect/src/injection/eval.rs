//! Evaluation of the input-side detector on labelled JSONL rows
//! (`{"text","label":"attack"|"benign","kind"}`, the format of `../shared/datasets/injection`).
//!
//! [`evaluate`] scores every row once and reports threshold metrics at the detector's decision
//! threshold, threshold-free metrics (ROC AUC, TPR at 1 % FPR), recall per attack kind, false
//! positive rate per benign kind and throughput. [`Report`] prints as a small table.

use std::collections::BTreeMap;
use std::time::Instant;

use gatehouse_core::Direction;
use serde::Deserialize;

use super::InjectionDetector;

/// One labelled example.
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    /// The text.
    pub text: String,
    /// `attack` or `benign`.
    pub label: String,
    /// `injection`, `jailbreak`, `extraction`, `benign`, `benign_trigger`, `harmful`, …
    #[serde(default)]
    pub kind: String,
    /// Upstream source (for analysis and group-aware cross-validation; never a feature).
    #[serde(default)]
    pub source: String,
    /// Optional direction (`input` when absent).
    #[serde(default)]
    pub direction: Option<Direction>,
}

impl Row {
    /// Whether the row is labelled as an attack.
    pub fn is_attack(&self) -> bool {
        self.label == "attack"
    }
}

/// Parses JSONL (blank lines skipped). Errors name the 1-based line.
pub fn parse_jsonl(data: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: Row = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        rows.push(r);
    }
    Ok(rows)
}

/// Evaluation results.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Rows evaluated.
    pub n: usize,
    /// Attack rows.
    pub n_attack: usize,
    /// Decision threshold used.
    pub threshold: f32,
    /// True positives at the threshold.
    pub tp: usize,
    /// False positives at the threshold.
    pub fp: usize,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall (TPR) at the threshold.
    pub recall: f64,
    /// F1 at the threshold.
    pub f1: f64,
    /// False-positive rate at the threshold.
    pub fpr: f64,
    /// Area under the ROC curve.
    pub roc_auc: f64,
    /// Best true-positive rate with a false-positive rate ≤ 1 % (threshold picked on these rows:
    /// an oracle number, reported because the targets are stated that way).
    pub tpr_at_1pct_fpr: f64,
    /// Recall per attack kind: (kind, detected, total).
    pub recall_by_kind: BTreeMap<String, (usize, usize)>,
    /// False positives per benign kind: (kind, flagged, total).
    pub fpr_by_kind: BTreeMap<String, (usize, usize)>,
    /// Mean scoring time in microseconds per KiB of text.
    pub us_per_kib: f64,
    /// Median scoring time per text in microseconds.
    pub median_us: f64,
    /// Texts the layer-3 model was consulted on (0 without a model).
    pub model_calls: usize,
    /// Texts on which the layer-3 model failed (scored as attacks: fail closed).
    pub model_errors: usize,
    /// Median time per text of the texts that reached layer 3, in microseconds.
    pub model_median_us: f64,
    /// Layer-3 time per KiB over the texts that reached it, in microseconds.
    pub model_us_per_kib: f64,
    /// Description of the layer-3 model, if one was attached.
    pub model: Option<String>,
}

impl Report {
    /// False-positive rate on `benign_trigger` rows (0 when there are none).
    pub fn benign_trigger_fpr(&self) -> f64 {
        self.fpr_by_kind
            .get("benign_trigger")
            .map(|(f, n)| ratio(*f, *n))
            .unwrap_or(0.0)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// ROC AUC via the rank statistic (ties count one half).
pub fn roc_auc(scores: &[(f32, bool)]) -> f64 {
    let mut v: Vec<(f32, bool)> = scores.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut n_pos) = (0f64, 0f64);
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v.get(j).map(|x| x.0) == v.get(i).map(|x| x.0) {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        for k in i..j {
            if v.get(k).is_some_and(|x| x.1) {
                rank_sum += avg;
                n_pos += 1.0;
            }
        }
        i = j;
    }
    let n_neg = v.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return 0.0;
    }
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// Highest TPR with FPR ≤ `max_fpr`, and the threshold that achieves it (score ≥ threshold).
pub fn tpr_at_fpr(scores: &[(f32, bool)], max_fpr: f64) -> (f64, f32) {
    let mut v: Vec<(f32, bool)> = scores.to_vec();
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n_pos = v.iter().filter(|x| x.1).count();
    let n_neg = v.len() - n_pos;
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut best = (0.0, f32::INFINITY);
    let mut i = 0;
    while i < v.len() {
        let t = v.get(i).map(|x| x.0).unwrap_or(0.0);
        while i < v.len() && v.get(i).map(|x| x.0) == Some(t) {
            if v.get(i).is_some_and(|x| x.1) {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        if ratio(fp, n_neg) <= max_fpr {
            best = (ratio(tp, n_pos), t);
        } else {
            break;
        }
    }
    best
}

/// Scores every row with `det` and computes the report.
pub fn evaluate(det: &InjectionDetector, rows: &[Row]) -> Report {
    let mut r = Report {
        n: rows.len(),
        threshold: det.threshold(),
        ..Report::default()
    };
    let mut scores = Vec::with_capacity(rows.len());
    let mut times = Vec::with_capacity(rows.len());
    let mut bytes = 0usize;
    let mut total_ns = 0u128;
    let mut model_times = Vec::new();
    let (mut model_bytes, mut model_ns) = (0usize, 0u128);
    r.model = det.attack_model();
    for row in rows {
        let t0 = Instant::now();
        let res = det.score(&row.text, row.direction.unwrap_or(Direction::Input));
        let dt = t0.elapsed().as_nanos();
        total_ns += dt;
        times.push(dt);
        bytes += row.text.len();
        if res.model_score.is_some() || res.model_error.is_some() {
            r.model_calls += 1;
            model_times.push(dt);
            model_bytes += row.text.len();
            model_ns += dt;
        }
        if res.model_error.is_some() {
            r.model_errors += 1;
        }
        let attack = row.is_attack();
        scores.push((res.score, attack));
        if attack {
            r.n_attack += 1;
            let e = r.recall_by_kind.entry(row.kind.clone()).or_default();
            e.1 += 1;
            if res.is_attack {
                e.0 += 1;
                r.tp += 1;
            }
        } else {
            let e = r.fpr_by_kind.entry(row.kind.clone()).or_default();
            e.1 += 1;
            if res.is_attack {
                e.0 += 1;
                r.fp += 1;
            }
        }
    }
    let n_neg = r.n - r.n_attack;
    r.precision = ratio(r.tp, r.tp + r.fp);
    r.recall = ratio(r.tp, r.n_attack);
    r.fpr = ratio(r.fp, n_neg);
    r.f1 = if r.precision + r.recall > 0.0 {
        2.0 * r.precision * r.recall / (r.precision + r.recall)
    } else {
        0.0
    };
    r.roc_auc = roc_auc(&scores);
    r.tpr_at_1pct_fpr = tpr_at_fpr(&scores, 0.01).0;
    r.us_per_kib = if bytes > 0 {
        total_ns as f64 / 1000.0 / (bytes as f64 / 1024.0)
    } else {
        0.0
    };
    times.sort_unstable();
    r.median_us = times.get(times.len() / 2).copied().unwrap_or(0) as f64 / 1000.0;
    model_times.sort_unstable();
    r.model_median_us =
        model_times.get(model_times.len() / 2).copied().unwrap_or(0) as f64 / 1000.0;
    r.model_us_per_kib = if model_bytes > 0 {
        model_ns as f64 / 1000.0 / (model_bytes as f64 / 1024.0)
    } else {
        0.0
    };
    r
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "rows {}  attacks {}  benign {}  threshold {:.3}",
            self.n,
            self.n_attack,
            self.n - self.n_attack,
            self.threshold
        )?;
        writeln!(
            f,
            "precision {:.4}  recall {:.4}  F1 {:.4}  FPR {:.4}  (tp {} fp {})",
            self.precision, self.recall, self.f1, self.fpr, self.tp, self.fp
        )?;
        writeln!(
            f,
            "ROC AUC {:.4}  TPR@1%FPR {:.4}",
            self.roc_auc, self.tpr_at_1pct_fpr
        )?;
        for (k, (d, n)) in self.recall_by_kind.iter() {
            writeln!(f, "  recall   {k:<16} {:.4}  ({d}/{n})", ratio(*d, *n))?;
        }
        for (k, (d, n)) in self.fpr_by_kind.iter() {
            writeln!(f, "  FPR      {k:<16} {:.4}  ({d}/{n})", ratio(*d, *n))?;
        }
        write!(
            f,
            "throughput {:.1} µs/KiB  median {:.1} µs/text",
            self.us_per_kib, self.median_us
        )?;
        match &self.model {
            Some(m) => write!(
                f,
                "\nlayer 3 ({m}): consulted on {}/{} texts ({:.1} %), {} errors; those texts: median {:.0} µs, {:.0} µs/KiB",
                self.model_calls,
                self.n,
                100.0 * ratio(self.model_calls, self.n),
                self.model_errors,
                self.model_median_us,
                self.model_us_per_kib
            ),
            None => write!(f, "\nlayer 3: not attached (signatures + classifier only)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_and_tpr() {
        let s = [(0.9, true), (0.8, true), (0.7, false), (0.1, false)];
        assert!((roc_auc(&s) - 1.0).abs() < 1e-9);
        let s2 = [(0.5, true), (0.5, false)];
        assert!((roc_auc(&s2) - 0.5).abs() < 1e-9);
        let (tpr, t) = tpr_at_fpr(&s, 0.0);
        assert!((tpr - 1.0).abs() < 1e-9);
        assert!((t - 0.8).abs() < 1e-6);
        assert_eq!(roc_auc(&[]), 0.0);
    }

    #[test]
    fn parses_jsonl() {
        let rows = parse_jsonl("{\"text\":\"a\",\"label\":\"attack\",\"kind\":\"injection\"}\n\n{\"text\":\"b\",\"label\":\"benign\",\"kind\":\"benign\",\"id\":\"x\"}").unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_attack());
        assert!(parse_jsonl("{").is_err());
    }
}
