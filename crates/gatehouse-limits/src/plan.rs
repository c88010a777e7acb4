//! Turning the configuration and one request into the list of counters it must fit.

use crate::config::{Dim, LimitSet, LimitsConfig, Rule, Scope};
use std::fmt::Write as _;
use std::sync::Arc;

pub(crate) const NS_PER_SEC: i64 = 1_000_000_000;

/// The request facts rules match on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub principal: &'a str,
    pub team: Option<&'a str>,
    pub key: Option<&'a str>,
    pub model: &'a str,
    pub provider: &'a str,
}

impl Subject<'_> {
    fn dim(&self, d: Dim) -> Option<&str> {
        match d {
            Dim::Principal => Some(self.principal),
            Dim::Key => self.key,
            Dim::Team => self.team,
            Dim::Model => Some(self.model),
            Dim::Provider => Some(self.provider),
        }
    }
}

/// A rule ready to match.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    /// Stable id used in counter keys (`r3`, `dp`, `dk`, `dt`).
    id: String,
    name: Option<String>,
    scope: Scope,
    principal: Option<String>,
    per: Vec<Dim>,
    pub limits: LimitSet,
    /// The per-key defaults rule: a key's overrides apply here.
    is_key_default: bool,
}

/// Which sort of counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Rolling window of `period_ns`, GCRA.
    Gcra { period_ns: i64 },
    /// Calendar period; the counter key carries the period id.
    Calendar { period: CalPeriod },
    /// In-flight requests.
    Concurrent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CalPeriod {
    Day,
    Month,
}

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Requests,
    Tokens,
    /// Micro-USD.
    Cost,
}

/// One counter a request must fit.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    /// Counter key, without the backend prefix.
    pub key: String,
    /// Who the counter belongs to, for messages (`team payments`).
    pub label: Arc<str>,
    pub kind: Kind,
    pub unit: Unit,
    pub limit: u64,
    /// Units this request reserves.
    pub cost: u64,
}

/// Calendar facts for "now" in the configured zone.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    pub day: String,
    pub month: String,
    pub day_end_ns: i64,
    pub month_end_ns: i64,
}

pub(crate) fn calendar(tz: &jiff::tz::TimeZone, now_ns: i64) -> Calendar {
    let ts =
        jiff::Timestamp::from_nanosecond(i128::from(now_ns)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let z = ts.to_zoned(tz.clone());
    let date = z.date();
    let day = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
    let month = format!("{:04}-{:02}", date.year(), date.month());
    let end = |d: Option<jiff::civil::Date>| -> i64 {
        d.and_then(|d| d.to_zoned(tz.clone()).ok())
            .map(|z| i64::try_from(z.timestamp().as_nanosecond()).unwrap_or(i64::MAX))
            .unwrap_or(now_ns.saturating_add(86_400 * NS_PER_SEC))
    };
    let day_end_ns = end(date.tomorrow().ok());
    let month_end_ns = end(date.last_of_month().tomorrow().ok());
    Calendar {
        day,
        month,
        day_end_ns,
        month_end_ns,
    }
}

impl Calendar {
    pub fn end_ns(&self, p: CalPeriod) -> i64 {
        match p {
            CalPeriod::Day => self.day_end_ns,
            CalPeriod::Month => self.month_end_ns,
        }
    }
}

pub(crate) fn compile(cfg: &LimitsConfig) -> Vec<CompiledRule> {
    let mut out = Vec::new();
    let mut default = |id: &str, per: Dim, set: &Option<LimitSet>, key: bool| {
        if set.is_some() || key {
            out.push(CompiledRule {
                id: id.to_owned(),
                name: None,
                scope: Scope::default(),
                principal: None,
                per: vec![per],
                limits: set.clone().unwrap_or_default(),
                is_key_default: key,
            });
        }
    };
    default("dp", Dim::Principal, &cfg.defaults.principal, false);
    default("dk", Dim::Key, &cfg.defaults.key, true);
    default("dt", Dim::Team, &cfg.defaults.team, false);
    for (i, r) in cfg.rules.iter().enumerate() {
        out.push(compile_rule(i, r));
    }
    out
}

fn compile_rule(i: usize, r: &Rule) -> CompiledRule {
    let principal = r
        .scope
        .principal
        .clone()
        .or_else(|| r.scope.user.as_ref().map(|u| format!("user:{u}")))
        .or_else(|| r.scope.service.as_ref().map(|s| format!("service:{s}")));
    let mut per = r.per.clone();
    per.sort();
    per.dedup();
    CompiledRule {
        id: format!("r{i}"),
        name: r.name.clone(),
        scope: r.scope.clone(),
        principal,
        per,
        limits: r.limits.clone(),
        is_key_default: false,
    }
}

fn eq(want: &Option<String>, have: Option<&str>) -> bool {
    match want {
        None => true,
        Some(w) => have == Some(w.as_str()),
    }
}

impl CompiledRule {
    fn matches(&self, s: &Subject<'_>) -> bool {
        eq(&self.principal, Some(s.principal))
            && eq(&self.scope.key, s.key)
            && eq(&self.scope.team, s.team)
            && eq(&self.scope.model, Some(s.model))
            && eq(&self.scope.provider, Some(s.provider))
            && self.per.iter().all(|d| s.dim(*d).is_some())
    }

    /// Counter id (without kind suffix) and the label for messages.
    fn bucket(&self, s: &Subject<'_>) -> (String, String) {
        let mut key = self.id.clone();
        let mut parts: Vec<(&str, &str)> = Vec::new();
        if let Some(p) = &self.principal {
            parts.push(("principal", p));
        }
        if let Some(k) = &self.scope.key {
            parts.push(("key", k));
        }
        if let Some(t) = &self.scope.team {
            parts.push(("team", t));
        }
        if let Some(m) = &self.scope.model {
            parts.push(("model", m));
        }
        if let Some(p) = &self.scope.provider {
            parts.push(("provider", p));
        }
        for d in &self.per {
            let name = match d {
                Dim::Principal => "principal",
                Dim::Key => "key",
                Dim::Team => "team",
                Dim::Model => "model",
                Dim::Provider => "provider",
            };
            parts.push((name, s.dim(*d).unwrap_or("")));
        }
        let mut label = String::new();
        for (n, v) in &parts {
            let _ = write!(key, "|{}={}", &n[..1], v);
            if !label.is_empty() {
                label.push_str(", ");
            }
            let _ = write!(label, "{n} {v}");
        }
        if label.is_empty() {
            label.push_str("organization");
        }
        if let Some(n) = &self.name {
            label = format!("{n} ({label})");
        }
        (key, label)
    }
}

/// Estimated (or settled) request size, for building the checks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Amount {
    pub tokens: u64,
    pub cost_micros: u64,
}

/// The applicable rules for a subject, with the limits in effect (key overrides applied).
pub(crate) fn applicable<'r>(
    rules: &'r [CompiledRule],
    s: &Subject<'_>,
    overrides: Option<&LimitSet>,
) -> Vec<(&'r CompiledRule, LimitSet)> {
    let mut out = Vec::new();
    for r in rules {
        if !r.matches(s) {
            continue;
        }
        let limits = match (r.is_key_default, overrides) {
            (true, Some(o)) => r.limits.overlay(o),
            _ => r.limits.clone(),
        };
        out.push((r, limits));
    }
    out
}

/// The counters the request must fit.
pub(crate) fn checks(
    applicable: &[(&CompiledRule, LimitSet)],
    s: &Subject<'_>,
    cal: &Calendar,
    amount: Amount,
) -> Vec<Check> {
    let mut out = Vec::new();
    for (rule, l) in applicable {
        let (bucket, label) = rule.bucket(s);
        let label: Arc<str> = Arc::from(label);
        let mut push = |suffix: &str, kind: Kind, unit: Unit, limit: u64| {
            let cost = match unit {
                Unit::Requests => 1,
                Unit::Tokens => amount.tokens,
                Unit::Cost => amount.cost_micros,
            };
            out.push(Check {
                key: format!("{bucket}|{suffix}"),
                label: label.clone(),
                kind,
                unit,
                limit,
                cost,
            });
        };
        let gcra = |secs: i64| Kind::Gcra {
            period_ns: secs * NS_PER_SEC,
        };
        if let Some(v) = l.requests_per_second {
            push("rps", gcra(1), Unit::Requests, v);
        }
        if let Some(v) = l.requests_per_minute {
            push("rpm", gcra(60), Unit::Requests, v);
        }
        if let Some(v) = l.tokens_per_minute {
            push("tpm", gcra(60), Unit::Tokens, v);
        }
        if let Some(v) = l.tokens_per_hour {
            push("tph", gcra(3600), Unit::Tokens, v);
        }
        let day = Kind::Calendar {
            period: CalPeriod::Day,
        };
        let month = Kind::Calendar {
            period: CalPeriod::Month,
        };
        if let Some(v) = l.tokens_per_day {
            push(&format!("tpd:{}", cal.day), day, Unit::Tokens, v);
        }
        if let Some(v) = l.cost_per_day_usd {
            push(
                &format!("cpd:{}", cal.day),
                day,
                Unit::Cost,
                usd_to_micros(v),
            );
        }
        if let Some(v) = l.cost_per_month_usd {
            push(
                &format!("cpm:{}", cal.month),
                month,
                Unit::Cost,
                usd_to_micros(v),
            );
        }
        if let Some(v) = l.concurrent {
            push("conc", Kind::Concurrent, Unit::Requests, v);
        }
    }
    out
}

pub(crate) fn usd_to_micros(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        // Saturating float-to-int conversion is what `as` does for f64 → u64.
        (usd * 1_000_000.0).round() as u64
    } else {
        0
    }
}

/// Cost of `input` + `output` tokens at a price, in micro-USD, rounded up.
pub(crate) fn cost_micros(p: &crate::config::Price, input: u64, output: u64) -> u64 {
    // USD per million tokens is micro-USD per token.
    let c = p.input_per_mtok * input as f64 + p.output_per_mtok * output as f64;
    if c.is_finite() && c > 0.0 {
        c.ceil() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_days_follow_the_zone() {
        let tz = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
        // 2026-03-31T16:00Z is 2026-04-01 01:00 in Tokyo.
        let ts: jiff::Timestamp = "2026-03-31T16:00:00Z".parse().unwrap();
        let c = calendar(&tz, ts.as_nanosecond() as i64);
        assert_eq!(c.day, "2026-04-01");
        assert_eq!(c.month, "2026-04");
        let end: jiff::Timestamp = "2026-04-01T15:00:00Z".parse().unwrap();
        assert_eq!(c.day_end_ns, end.as_nanosecond() as i64);
        let mend: jiff::Timestamp = "2026-04-30T15:00:00Z".parse().unwrap();
        assert_eq!(c.month_end_ns, mend.as_nanosecond() as i64);
    }

    #[test]
    fn cost_is_micro_usd_per_token_times_price() {
        let p = crate::config::Price {
            input_per_mtok: 0.15,
            output_per_mtok: 0.6,
        };
        assert_eq!(cost_micros(&p, 1_000_000, 0), 150_000);
        assert_eq!(cost_micros(&p, 10, 10), 8); // 1.5 + 6 = 7.5, rounded up
        assert_eq!(usd_to_micros(50.0), 50_000_000);
    }
}
