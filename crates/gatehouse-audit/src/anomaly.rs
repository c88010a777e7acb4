//! Per-principal anomaly detection over the audited traffic. Pure: no I/O, no clock, no HTTP
//! types; the caller passes each decision's [`Observation`] with its time and gets back the
//! [`Alert`]s it triggers.
//!
//! # Method
//!
//! Time is cut into fixed buckets (`bucket_secs`, default 60 s). For every principal the
//! detector keeps, per bucket, four sums: requests, tokens, blocked requests, and injection score
//! (the sum of the per-request scores in `[0, 1]`). When a bucket closes its sums update an
//! exponentially weighted mean and variance (weight `alpha` per bucket; empty buckets count as
//! zeros, so idle hours pull the baseline down). While a bucket is still open its running sum is
//! compared with the baseline after every observation:
//!
//! ```text
//! z = (x − mean) / max(std, floor)      floor = max(min_std, 0.25 · mean, √mean)
//! alert when z ≥ z_threshold
//! ```
//!
//! Only the upper tail alerts (a running sum only grows, so an early alert is never withdrawn).
//! The floor keeps a near-constant baseline (variance ≈ 0) from turning any change into an
//! infinite z-score, and the √mean term is the Poisson noise of a count. `min_std` is 2 requests,
//! 0.5 blocked requests and 0.3 of injection score per bucket; for tokens it is the request floor
//! times the principal's usual tokens per request (an EWMA over requests; at least 200), since a
//! token sum is a compound count. Nothing alerts before a
//! principal has `warmup_buckets` buckets of history, and each (principal, kind) alerts at most
//! once per `cooldown_secs`.
//!
//! Novelty alerts: after the warm-up, the first call of a model the principal has never used,
//! and the first call of a tool named in `sensitive_tools`, alert once each. Each principal
//! remembers at most [`MAX_DISTINCT`] models and tools.
//!
//! State is bounded: at most `max_principals` principals are tracked; beyond that the least
//! recently seen are forgotten (and start a fresh warm-up when they return).

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Most distinct models (and, separately, tools) remembered per principal.
pub const MAX_DISTINCT: usize = 64;

/// Detector settings (`[anomaly]` in `gatehouse.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Bucket length in seconds (fractions allowed, e.g. in tests).
    pub bucket_secs: f64,
    /// EWMA weight of the newest bucket, in (0, 1].
    pub alpha: f64,
    /// z-score at or above which a rate alerts.
    pub z_threshold: f64,
    /// Buckets of history a principal needs before anything alerts.
    pub warmup_buckets: u32,
    /// Least time between two alerts of the same kind for the same principal (seconds).
    pub cooldown_secs: f64,
    /// Tools whose first call by a principal alerts (after its warm-up).
    pub sensitive_tools: Vec<String>,
    /// Alert on the first use of a model by a principal (after its warm-up).
    pub new_model_alerts: bool,
    /// Most principals tracked at once.
    pub max_principals: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            bucket_secs: 60.0,
            alpha: 0.05,
            z_threshold: 6.0,
            warmup_buckets: 60,
            cooldown_secs: 900.0,
            sensitive_tools: Vec::new(),
            new_model_alerts: true,
            max_principals: 100_000,
        }
    }
}

impl DetectorConfig {
    /// Problems with the settings, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if !(self.bucket_secs.is_finite() && self.bucket_secs >= 0.01) {
            p.push(("bucket_secs", "must be at least 0.01".to_owned()));
        }
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            p.push(("alpha", "must be in (0, 1]".to_owned()));
        }
        if !(self.z_threshold.is_finite() && self.z_threshold > 0.0) {
            p.push(("z_threshold", "must be greater than 0".to_owned()));
        }
        if !(self.cooldown_secs.is_finite() && self.cooldown_secs >= 0.0) {
            p.push(("cooldown_secs", "must be 0 or more".to_owned()));
        }
        if self.max_principals == 0 {
            p.push(("max_principals", "must be greater than 0".to_owned()));
        }
        p
    }
}

/// What kind of departure an alert reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Requests per bucket far above the baseline.
    RequestRate,
    /// Tokens per bucket far above the baseline.
    TokenRate,
    /// Blocked requests per bucket far above the baseline.
    BlockRate,
    /// Injection score per bucket far above the baseline.
    InjectionScore,
    /// First use of a model.
    NewModel,
    /// First call of a sensitive tool.
    NewSensitiveTool,
}

impl AlertKind {
    /// Stable name for audit rows, metrics and webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::RequestRate => "request_rate",
            AlertKind::TokenRate => "token_rate",
            AlertKind::BlockRate => "block_rate",
            AlertKind::InjectionScore => "injection_score",
            AlertKind::NewModel => "new_model",
            AlertKind::NewSensitiveTool => "new_sensitive_tool",
        }
    }

    /// Every kind, in a fixed order.
    pub const ALL: [AlertKind; 6] = [
        AlertKind::RequestRate,
        AlertKind::TokenRate,
        AlertKind::BlockRate,
        AlertKind::InjectionScore,
        AlertKind::NewModel,
        AlertKind::NewSensitiveTool,
    ];
}

/// One audited decision, as the detector sees it.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The principal's id.
    pub principal: &'a str,
    /// When, in milliseconds since the Unix epoch (any monotone clock works).
    pub at_ms: u64,
    /// Input + output tokens.
    pub tokens: u64,
    /// Whether the request was refused by a guardrail or policy.
    pub blocked: bool,
    /// Highest prompt-injection score of the request, in `[0, 1]`.
    pub injection_score: f64,
    /// Model used, if any.
    pub model: Option<&'a str>,
    /// Tools called, if any.
    pub tools: &'a [&'a str],
}

/// An alert: a principal departed from its baseline, or did something for the first time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The principal.
    pub principal: String,
    /// What departed.
    pub kind: AlertKind,
    /// When (ms since the epoch, as observed).
    pub at_ms: u64,
    /// The bucket's running value (rates) or 1 (novelty).
    pub observed: f64,
    /// Baseline mean per bucket (rates) or 0.
    pub mean: f64,
    /// Baseline standard deviation used (after the floor), or 0.
    pub std: f64,
    /// z-score (rates) or 0.
    pub z: f64,
    /// The new model or tool (novelty alerts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Alert {
    /// A one-line summary without user data beyond the principal id and model/tool name.
    pub fn summary(&self) -> String {
        match self.kind {
            AlertKind::NewModel | AlertKind::NewSensitiveTool => format!(
                "{}: first use of {:?} after warm-up",
                self.kind.as_str(),
                self.subject.as_deref().unwrap_or("")
            ),
            _ => format!(
                "{}: {:.1} in the current bucket vs baseline {:.2} ± {:.2} (z = {:.1})",
                self.kind.as_str(),
                self.observed,
                self.mean,
                self.std,
                self.z
            ),
        }
    }
}

/// Exponentially weighted mean and variance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ewma {
    /// Mean.
    pub mean: f64,
    /// Variance.
    pub var: f64,
}

impl Ewma {
    /// Folds in one value with weight `alpha` (West's incremental form).
    pub fn update(&mut self, x: f64, alpha: f64) {
        let diff = x - self.mean;
        let incr = alpha * diff;
        self.mean += incr;
        self.var = (1.0 - alpha) * (self.var + diff * incr);
    }

    /// Standard deviation.
    pub fn std(&self) -> f64 {
        self.var.max(0.0).sqrt()
    }
}

/// Index of each rate series.
const REQ: usize = 0;
const TOK: usize = 1;
const BLK: usize = 2;
const INJ: usize = 3;
const RATE_KINDS: [AlertKind; 4] = [
    AlertKind::RequestRate,
    AlertKind::TokenRate,
    AlertKind::BlockRate,
    AlertKind::InjectionScore,
];
/// Smallest standard deviation used per series (requests, tokens, blocks, injection score).
const MIN_STD: [f64; 4] = [2.0, 200.0, 0.5, 0.3];
/// EWMA weight of one request in the tokens-per-request mean.
const TOKENS_PER_REQUEST_ALPHA: f64 = 0.05;

#[derive(Debug, Clone)]
struct PrincipalState {
    bucket: u64,
    buckets_seen: u32,
    current: [f64; 4],
    base: [Ewma; 4],
    last_alert_ms: [Option<u64>; 6],
    tokens_per_request: f64,
    models: HashSet<String>,
    tools: HashSet<String>,
    last_seen_ms: u64,
}

impl PrincipalState {
    fn new(bucket: u64, at_ms: u64) -> PrincipalState {
        PrincipalState {
            bucket,
            buckets_seen: 0,
            current: [0.0; 4],
            base: [Ewma::default(); 4],
            last_alert_ms: [None; 6],
            tokens_per_request: 0.0,
            models: HashSet::new(),
            tools: HashSet::new(),
            last_seen_ms: at_ms,
        }
    }

    /// Closes buckets up to `bucket` (exclusive): the current one with its sums, the empty ones
    /// in between with zeros.
    fn advance(&mut self, bucket: u64, alpha: f64) {
        if bucket <= self.bucket {
            return;
        }
        for (i, b) in self.base.iter_mut().enumerate() {
            b.update(self.current[i], alpha);
        }
        self.buckets_seen = self.buckets_seen.saturating_add(1);
        let gap = bucket - self.bucket - 1;
        // After ~ 20 / alpha zero updates both mean and variance are ~0; stop there.
        let cap = (20.0 / alpha).ceil() as u64;
        for _ in 0..gap.min(cap) {
            for b in &mut self.base {
                b.update(0.0, alpha);
            }
        }
        self.buckets_seen = self
            .buckets_seen
            .saturating_add(u32::try_from(gap).unwrap_or(u32::MAX));
        self.current = [0.0; 4];
        self.bucket = bucket;
    }

    fn cooled(&mut self, kind: AlertKind, at_ms: u64, cooldown_ms: u64) -> bool {
        let i = AlertKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        match self.last_alert_ms[i] {
            Some(t) if at_ms.saturating_sub(t) < cooldown_ms => false,
            _ => {
                self.last_alert_ms[i] = Some(at_ms);
                true
            }
        }
    }
}

/// The effective standard deviation for a series: the estimate, floored.
pub fn floored_std(e: &Ewma, min_std: f64) -> f64 {
    e.std()
        .max(min_std)
        .max(0.25 * e.mean)
        .max(e.mean.max(0.0).sqrt())
}

/// The per-principal detector.
#[derive(Debug)]
pub struct Detector {
    cfg: DetectorConfig,
    bucket_ms: f64,
    principals: HashMap<String, PrincipalState>,
    sensitive: HashSet<String>,
}

impl Detector {
    /// A detector with `cfg` (assumed valid: see [`DetectorConfig::problems`]; invalid numbers
    /// are clamped to safe values).
    pub fn new(cfg: DetectorConfig) -> Detector {
        let mut cfg = cfg;
        if cfg.problems().iter().any(|(f, _)| *f == "alpha") {
            cfg.alpha = 0.05;
        }
        let bucket_ms = if cfg.bucket_secs.is_finite() {
            (cfg.bucket_secs * 1000.0).max(10.0)
        } else {
            60_000.0
        };
        let sensitive = cfg.sensitive_tools.iter().cloned().collect();
        Detector {
            cfg,
            bucket_ms,
            principals: HashMap::new(),
            sensitive,
        }
    }

    /// The settings.
    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// Principals currently tracked.
    pub fn tracked(&self) -> usize {
        self.principals.len()
    }

    /// The baseline (mean, floored std) of a principal's request rate, for diagnostics.
    pub fn request_baseline(&self, principal: &str) -> Option<(f64, f64)> {
        self.principals
            .get(principal)
            .map(|s| (s.base[REQ].mean, floored_std(&s.base[REQ], MIN_STD[REQ])))
    }

    fn evict(&mut self) {
        // Forget the least recently seen sixteenth (at least one) in one pass.
        let n = (self.principals.len() / 16).max(1);
        let mut seen: Vec<u64> = self.principals.values().map(|s| s.last_seen_ms).collect();
        let k = n.min(seen.len()).saturating_sub(1);
        if seen.is_empty() {
            return;
        }
        let (_, cutoff, _) = seen.select_nth_unstable(k);
        let cutoff = *cutoff;
        let mut removed = 0;
        self.principals.retain(|_, s| {
            if removed < n && s.last_seen_ms <= cutoff {
                removed += 1;
                false
            } else {
                true
            }
        });
    }

    /// Folds in one observation; returns the alerts it triggers (usually none).
    pub fn observe(&mut self, o: &Observation<'_>) -> Vec<Alert> {
        let bucket = (o.at_ms as f64 / self.bucket_ms) as u64;
        if !self.principals.contains_key(o.principal)
            && self.principals.len() >= self.cfg.max_principals
        {
            self.evict();
        }
        let alpha = self.cfg.alpha;
        let z_threshold = self.cfg.z_threshold;
        let warm = self.cfg.warmup_buckets;
        let cooldown_ms = (self.cfg.cooldown_secs * 1000.0) as u64;
        let new_model_alerts = self.cfg.new_model_alerts;
        let st = self
            .principals
            .entry(o.principal.to_owned())
            .or_insert_with(|| PrincipalState::new(bucket, o.at_ms));
        st.advance(bucket, alpha);
        st.last_seen_ms = st.last_seen_ms.max(o.at_ms);
        st.current[REQ] += 1.0;
        st.current[TOK] += o.tokens as f64;
        if o.blocked {
            st.current[BLK] += 1.0;
        }
        st.current[INJ] += o.injection_score.clamp(0.0, 1.0);
        let warmed = st.buckets_seen >= warm;
        // Token sums are compound counts: their noise scale is the request-count noise times the
        // usual tokens per request.
        let request_floor = floored_std(&st.base[REQ], MIN_STD[REQ]);
        let token_floor = MIN_STD[TOK].max(st.tokens_per_request * request_floor);
        st.tokens_per_request = if st.tokens_per_request == 0.0 {
            o.tokens as f64
        } else {
            st.tokens_per_request
                + TOKENS_PER_REQUEST_ALPHA * (o.tokens as f64 - st.tokens_per_request)
        };
        let mut alerts = Vec::new();
        let mut alert = |st: &mut PrincipalState, a: Alert| {
            if st.cooled(a.kind, o.at_ms, cooldown_ms) {
                alerts.push(a);
            }
        };
        if warmed {
            for (i, kind) in RATE_KINDS.iter().enumerate() {
                let x = st.current[i];
                let mean = st.base[i].mean;
                let floor = if i == TOK { token_floor } else { MIN_STD[i] };
                let std = floored_std(&st.base[i], floor);
                let z = (x - mean) / std;
                if z >= z_threshold {
                    alert(
                        st,
                        Alert {
                            principal: o.principal.to_owned(),
                            kind: *kind,
                            at_ms: o.at_ms,
                            observed: x,
                            mean,
                            std,
                            z,
                            subject: None,
                        },
                    );
                }
            }
        }
        if let Some(m) = o.model
            && !st.models.contains(m)
            && st.models.len() < MAX_DISTINCT
        {
            st.models.insert(m.to_owned());
            if warmed && new_model_alerts {
                // Distinct models are distinct events: no cooldown (bounded by MAX_DISTINCT).
                alerts.push(novelty(o, AlertKind::NewModel, m));
            }
        }
        for t in o.tools {
            if !st.tools.contains(*t) && st.tools.len() < MAX_DISTINCT {
                st.tools.insert((*t).to_owned());
                if warmed && self.sensitive.contains(*t) {
                    // Novelty alerts of different tools are distinct events: no cooldown.
                    alerts.push(novelty(o, AlertKind::NewSensitiveTool, t));
                }
            }
        }
        alerts
    }
}

fn novelty(o: &Observation<'_>, kind: AlertKind, subject: &str) -> Alert {
    Alert {
        principal: o.principal.to_owned(),
        kind,
        at_ms: o.at_ms,
        observed: 1.0,
        mean: 0.0,
        std: 0.0,
        z: 0.0,
        subject: Some(subject.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(p: &str, at_ms: u64) -> Observation<'_> {
        Observation {
            principal: p,
            at_ms,
            tokens: 100,
            blocked: false,
            injection_score: 0.0,
            model: Some("m"),
            tools: &[],
        }
    }

    fn cfg() -> DetectorConfig {
        DetectorConfig {
            bucket_secs: 1.0,
            alpha: 0.1,
            z_threshold: 5.0,
            warmup_buckets: 20,
            cooldown_secs: 10.0,
            ..DetectorConfig::default()
        }
    }

    #[test]
    fn ewma_converges_to_mean_and_variance_of_a_stationary_series() {
        let mut e = Ewma::default();
        // Alternating 2 and 4: mean 3, variance 1.
        for i in 0..2000 {
            e.update(if i % 2 == 0 { 2.0 } else { 4.0 }, 0.01);
        }
        assert!((e.mean - 3.0).abs() < 0.05, "{e:?}");
        assert!((e.var - 1.0).abs() < 0.1, "{e:?}");
        let mut c = Ewma::default();
        for _ in 0..500 {
            c.update(7.0, 0.1);
        }
        assert!((c.mean - 7.0).abs() < 1e-9 && c.var < 1e-9, "{c:?}");
    }

    #[test]
    fn the_floor_keeps_a_constant_baseline_from_infinite_z_scores() {
        let e = Ewma {
            mean: 4.0,
            var: 0.0,
        };
        assert_eq!(floored_std(&e, 2.0), 2.0);
        let big = Ewma {
            mean: 400.0,
            var: 1.0,
        };
        assert_eq!(floored_std(&big, 2.0), 100.0);
    }

    #[test]
    fn steady_traffic_never_alerts_and_a_twenty_fold_burst_does() {
        let mut d = Detector::new(cfg());
        // 2 requests a second for 60 s.
        for s in 0..60u64 {
            for k in 0..2 {
                assert!(d.observe(&obs("u", s * 1000 + k * 400)).is_empty(), "t={s}");
            }
        }
        let (mean, _) = d.request_baseline("u").unwrap();
        assert!((mean - 2.0).abs() < 0.1, "{mean}");
        // 40 in the next second.
        let mut alerts = Vec::new();
        for k in 0..40 {
            alerts.extend(d.observe(&obs("u", 60_000 + k * 20)));
        }
        let rate: Vec<_> = alerts
            .iter()
            .filter(|a| a.kind == AlertKind::RequestRate)
            .collect();
        assert_eq!(rate.len(), 1, "one alert per cooldown: {alerts:?}");
        assert!(
            rate[0].z >= 5.0 && rate[0].observed >= 12.0,
            "{:?}",
            rate[0]
        );
        // Alerts fire as soon as the threshold is crossed: mean 2 + 5 × floor 2 = 12.
        assert_eq!(rate[0].observed, 12.0);
        // Tokens rose 20× too.
        assert!(alerts.iter().any(|a| a.kind == AlertKind::TokenRate));
    }

    #[test]
    fn nothing_alerts_during_warm_up() {
        let mut d = Detector::new(cfg());
        let mut all = Vec::new();
        for k in 0..200 {
            all.extend(d.observe(&obs("new", k * 5)));
        }
        let mut o = obs("new", 2000);
        o.model = Some("other");
        all.extend(d.observe(&o));
        assert!(all.is_empty(), "{all:?}");
    }

    #[test]
    fn idle_buckets_count_as_zeros() {
        let mut d = Detector::new(cfg());
        for s in 0..30u64 {
            for k in 0..10 {
                d.observe(&obs("u", s * 1000 + k * 50));
            }
        }
        let (before, _) = d.request_baseline("u").unwrap();
        // Ten silent seconds, then one request closes them.
        d.observe(&obs("u", 41_000));
        let (after, _) = d.request_baseline("u").unwrap();
        // Mean × 0.9^10 (+ the last full bucket folded in first).
        assert!(after < before * 0.5, "{before} -> {after}");
    }

    #[test]
    fn first_use_of_a_model_and_a_sensitive_tool_alert_once_after_warm_up() {
        let mut c = cfg();
        c.sensitive_tools = vec!["shell".into()];
        let mut d = Detector::new(c);
        for s in 0..30u64 {
            d.observe(&obs("u", s * 1000));
        }
        let mut o = obs("u", 30_500);
        o.model = Some("gpt-big");
        let tools = ["search", "shell"];
        o.tools = &tools;
        let a = d.observe(&o);
        let kinds: Vec<_> = a.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            vec![AlertKind::NewModel, AlertKind::NewSensitiveTool]
        );
        assert_eq!(a[0].subject.as_deref(), Some("gpt-big"));
        assert_eq!(a[1].subject.as_deref(), Some("shell"));
        // The second time is not new.
        o.at_ms = 60_000;
        assert!(d.observe(&o).is_empty());
    }

    #[test]
    fn blocks_and_injection_scores_have_their_own_baselines() {
        let mut d = Detector::new(cfg());
        for s in 0..40u64 {
            d.observe(&obs("u", s * 1000));
        }
        let mut kinds = HashSet::new();
        for k in 0..12 {
            let mut o = obs("u", 40_000 + k * 10);
            o.blocked = true;
            o.injection_score = 0.9;
            for a in d.observe(&o) {
                kinds.insert(a.kind);
            }
        }
        assert!(kinds.contains(&AlertKind::BlockRate), "{kinds:?}");
        assert!(kinds.contains(&AlertKind::InjectionScore), "{kinds:?}");
    }

    #[test]
    fn principals_are_bounded() {
        let mut c = cfg();
        c.max_principals = 32;
        let mut d = Detector::new(c);
        for i in 0..1000u64 {
            d.observe(&obs(&format!("p{i}"), i));
        }
        assert!(d.tracked() <= 32);
        // The most recent one is still there.
        assert!(d.request_baseline("p999").is_some());
    }

    #[test]
    fn invalid_settings_are_reported() {
        let c = DetectorConfig {
            alpha: 0.0,
            bucket_secs: 0.0,
            ..DetectorConfig::default()
        };
        let fields: Vec<_> = c.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["bucket_secs", "alpha"]);
    }
}
