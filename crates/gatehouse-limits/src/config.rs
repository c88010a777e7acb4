//! The `[limits]` configuration: a strict serde model the server embeds in `gatehouse.toml`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `[limits]` section.
///
/// ```toml
/// [limits]
/// backend = "memory"                 # or "redis"
/// redis_url = "redis://127.0.0.1:6379"
/// on_redis_error = "closed"          # or "local": per-instance limits while Redis is away
/// timezone = "Europe/Berlin"         # calendar periods (tokens_per_day, cost_per_*)
///
/// [limits.prices."gpt-4o-mini"]
/// input_per_mtok = 0.15
/// output_per_mtok = 0.6
///
/// [limits.defaults.principal]        # every principal separately
/// requests_per_minute = 600
///
/// [[limits.rules]]
/// scope = { team = "payments", model = "gpt-4o" }
/// requests_per_minute = 60
/// tokens_per_day = 1000000
/// cost_per_month_usd = 50
/// concurrent = 4
/// max_prompt_tokens = 8000
/// max_output_tokens = 1024
/// ```
///
/// `Debug` never prints `redis_url` (it may carry a password).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Where counters live.
    #[serde(default)]
    pub backend: BackendKind,
    /// Redis URL (`redis://` or `rediss://`); required with `backend = "redis"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this limiter writes. On Redis Cluster, put a hash tag in it
    /// (`{gatehouse}:limits:`) so that all keys of one admit live in one slot (the script
    /// touches them atomically).
    #[serde(default = "default_prefix")]
    pub redis_prefix: String,
    /// Per-call Redis timeout in milliseconds (connect and response).
    #[serde(default = "default_redis_timeout_ms")]
    pub redis_timeout_ms: u64,
    /// What to do when Redis cannot be reached.
    #[serde(default)]
    pub on_redis_error: OnRedisError,
    /// IANA time zone in which days and months begin (`UTC`, `Europe/Berlin`).
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Prices per model, USD per million tokens.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
    /// Price for models missing from `prices`. Without it, a request for an unpriced model under
    /// a cost budget is refused (a budget that cannot be measured is not enforced by letting
    /// everything through).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_price: Option<Price>,
    /// Output tokens reserved when the request names no `max_tokens` and no rule clamps it.
    #[serde(default = "default_output_allowance")]
    pub default_output_allowance: u32,
    /// Limits applied to every principal, key or team separately.
    #[serde(default)]
    pub defaults: Defaults,
    /// Limits by scope.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Temporary refusal after repeated rejections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<CooldownConfig>,
    /// Concurrency leases on Redis expire after this many seconds even if an instance died
    /// holding them.
    #[serde(default = "default_lease_secs")]
    pub concurrency_lease_secs: u64,
}

impl std::fmt::Debug for LimitsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitsConfig")
            .field("backend", &self.backend)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<redacted>"))
            .field("redis_prefix", &self.redis_prefix)
            .field("redis_timeout_ms", &self.redis_timeout_ms)
            .field("on_redis_error", &self.on_redis_error)
            .field("timezone", &self.timezone)
            .field("prices", &self.prices)
            .field("default_price", &self.default_price)
            .field("default_output_allowance", &self.default_output_allowance)
            .field("defaults", &self.defaults)
            .field("rules", &self.rules)
            .field("cooldown", &self.cooldown)
            .field("concurrency_lease_secs", &self.concurrency_lease_secs)
            .finish()
    }
}

fn default_prefix() -> String {
    "gatehouse:limits:".to_owned()
}
fn default_redis_timeout_ms() -> u64 {
    250
}
fn default_tz() -> String {
    "UTC".to_owned()
}
fn default_output_allowance() -> u32 {
    1024
}
fn default_lease_secs() -> u64 {
    600
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            backend: BackendKind::Memory,
            redis_url: None,
            redis_prefix: default_prefix(),
            redis_timeout_ms: default_redis_timeout_ms(),
            on_redis_error: OnRedisError::Closed,
            timezone: default_tz(),
            prices: BTreeMap::new(),
            default_price: None,
            default_output_allowance: default_output_allowance(),
            defaults: Defaults::default(),
            rules: Vec::new(),
            cooldown: None,
            concurrency_lease_secs: default_lease_secs(),
        }
    }
}

/// Counter storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// In this process (one instance).
    #[default]
    Memory,
    /// Shared through Redis (several instances; one atomic script call per admit).
    Redis,
}

/// Behaviour while Redis is unreachable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRedisError {
    /// Refuse requests with `unavailable` (default: fail closed).
    #[default]
    Closed,
    /// Enforce the same limits per instance, in memory, until Redis is back.
    Local,
}

/// A model's price in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// USD per million input (prompt) tokens.
    pub input_per_mtok: f64,
    /// USD per million output (completion) tokens.
    pub output_per_mtok: f64,
}

/// Limits that every principal, key or team gets separately.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Per principal (`user:…` / `service:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<LimitSet>,
    /// Per API key; a key's [`LimitOverrides`] replace these field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<LimitSet>,
    /// Per team (shared by the team's members and keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<LimitSet>,
}

/// Which requests a rule covers. Every field that is set must match; an empty scope matches
/// every request (an org-wide rule).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Principal id, `user:alice` or `service:bot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// User name (shorthand for `principal = "user:NAME"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Service name (shorthand for `principal = "service:NAME"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// API key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Model name as the client sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Provider name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// A dimension a rule can be split by (`per = ["principal"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// Principal id.
    Principal,
    /// API key id.
    Key,
    /// Team.
    Team,
    /// Model.
    Model,
    /// Provider.
    Provider,
}

/// `[[limits.rules]]`: limits for the requests in `scope`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name for messages and metrics; defaults to a description of the scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which requests.
    #[serde(default)]
    pub scope: Scope,
    /// Split the rule into one counter per value of these dimensions (e.g. `["principal"]`: each
    /// member of the team separately). Empty: one counter shared by every matching request. A
    /// request lacking a dimension (no team, no key) is not covered by the rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per: Vec<Dim>,
    /// The limits.
    #[serde(flatten)]
    pub limits: LimitSet,
}

/// The limits one rule sets. Every field is optional; unset means "no limit of this kind".
///
/// Request and token *rates* are rolling windows (GCRA). `tokens_per_day` and the cost budgets
/// are calendar periods in the configured time zone and survive restarts (usage store).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSet {
    /// Requests per second (rolling, GCRA, burst = the limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u64>,
    /// Requests per minute (rolling, GCRA, burst = the limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u64>,
    /// Input + output tokens per minute (rolling, GCRA with cost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    /// Input + output tokens per hour (rolling, GCRA with cost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_hour: Option<u64>,
    /// Input + output tokens per calendar day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    /// USD per calendar day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_day_usd: Option<f64>,
    /// USD per calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_month_usd: Option<f64>,
    /// Requests in flight at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<u64>,
    /// Largest prompt, in tokens; a larger one is refused (`invalid_request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prompt_tokens: Option<u32>,
    /// Clamp on `max_tokens` / `max_completion_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
}

/// Per-key overrides, stored with the key (JSON) and passed to [`crate::AdmitRequest`]. Each set
/// field replaces the same field of `[limits.defaults.key]` for that key.
pub type LimitOverrides = LimitSet;

impl LimitSet {
    /// `self` with every field `over` sets replaced.
    pub fn overlay(&self, over: &LimitSet) -> LimitSet {
        LimitSet {
            requests_per_second: over.requests_per_second.or(self.requests_per_second),
            requests_per_minute: over.requests_per_minute.or(self.requests_per_minute),
            tokens_per_minute: over.tokens_per_minute.or(self.tokens_per_minute),
            tokens_per_hour: over.tokens_per_hour.or(self.tokens_per_hour),
            tokens_per_day: over.tokens_per_day.or(self.tokens_per_day),
            cost_per_day_usd: over.cost_per_day_usd.or(self.cost_per_day_usd),
            cost_per_month_usd: over.cost_per_month_usd.or(self.cost_per_month_usd),
            concurrent: over.concurrent.or(self.concurrent),
            max_prompt_tokens: over.max_prompt_tokens.or(self.max_prompt_tokens),
            max_output_tokens: over.max_output_tokens.or(self.max_output_tokens),
        }
    }

    /// Checks the values: zero rates are allowed (they refuse everything), costs must be finite
    /// and not negative.
    pub fn validate(&self, at: &str) -> Result<(), String> {
        for (name, v) in [
            ("cost_per_day_usd", self.cost_per_day_usd),
            ("cost_per_month_usd", self.cost_per_month_usd),
        ] {
            if let Some(v) = v
                && (!v.is_finite() || v < 0.0)
            {
                return Err(format!("{at}.{name}: must be a finite number >= 0"));
            }
        }
        Ok(())
    }
}

/// `[limits.cooldown]`: refuse a principal for `duration_secs` after `max_rejections` rejected
/// or blocked requests within `window_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownConfig {
    /// Rejections that trigger the cool-down.
    pub max_rejections: u32,
    /// The window the rejections are counted in.
    pub window_secs: u64,
    /// How long the principal is refused.
    pub duration_secs: u64,
    /// Count the limiter's own refusals (rate limits, budgets) too, not only
    /// [`crate::Limiter::record_rejection`] calls.
    #[serde(default = "yes")]
    pub count_limit_rejections: bool,
}

fn yes() -> bool {
    true
}

impl LimitsConfig {
    /// Checks what serde cannot: the time zone exists, a Redis backend has a URL, prices and
    /// costs are finite, cool-down values are positive. Every problem is reported with its path.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if jiff::tz::TimeZone::get(&self.timezone).is_err() {
            errors.push(format!(
                "limits.timezone: unknown time zone {:?}",
                self.timezone
            ));
        }
        if self.backend == BackendKind::Redis {
            match &self.redis_url {
                None => errors.push("limits.redis_url: required with backend = \"redis\"".into()),
                Some(u) if !(u.starts_with("redis://") || u.starts_with("rediss://")) => errors
                    .push("limits.redis_url: must start with redis:// or rediss://".to_owned()),
                Some(_) => {}
            }
        }
        for (model, p) in self.prices.iter() {
            for (n, v) in [
                ("input_per_mtok", p.input_per_mtok),
                ("output_per_mtok", p.output_per_mtok),
            ] {
                if !v.is_finite() || v < 0.0 {
                    errors.push(format!(
                        "limits.prices.{model:?}.{n}: must be a finite number >= 0"
                    ));
                }
            }
        }
        let mut sets: Vec<(String, &LimitSet)> = Vec::new();
        if let Some(s) = &self.defaults.principal {
            sets.push(("limits.defaults.principal".into(), s));
        }
        if let Some(s) = &self.defaults.key {
            sets.push(("limits.defaults.key".into(), s));
        }
        if let Some(s) = &self.defaults.team {
            sets.push(("limits.defaults.team".into(), s));
        }
        for (i, r) in self.rules.iter().enumerate() {
            sets.push((format!("limits.rules[{i}]"), &r.limits));
            if r.scope.principal.is_some() && (r.scope.user.is_some() || r.scope.service.is_some())
            {
                errors.push(format!(
                    "limits.rules[{i}].scope: set principal, user or service, not several"
                ));
            }
        }
        for (at, s) in sets {
            if let Err(e) = s.validate(&at) {
                errors.push(e);
            }
        }
        if let Some(c) = &self.cooldown
            && (c.max_rejections == 0 || c.window_secs == 0 || c.duration_secs == 0)
        {
            errors.push(
                "limits.cooldown: max_rejections, window_secs and duration_secs must be > 0".into(),
            );
        }
        if self.redis_timeout_ms == 0 {
            errors.push("limits.redis_timeout_ms: must be > 0".into());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
backend = "memory"
timezone = "Europe/Berlin"
[prices."gpt-4o-mini"]
input_per_mtok = 0.15
output_per_mtok = 0.6
[defaults.principal]
requests_per_minute = 600
[[rules]]
scope = { team = "payments", model = "gpt-4o" }
requests_per_minute = 60
tokens_per_day = 1000000
cost_per_month_usd = 50
concurrent = 4
max_prompt_tokens = 8000
max_output_tokens = 1024
[cooldown]
max_rejections = 10
window_secs = 60
duration_secs = 300
"#;

    #[test]
    fn parses_the_documented_example() {
        let cfg: LimitsConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(cfg.rules.len(), 1);
        let r = &cfg.rules[0];
        assert_eq!(r.scope.team.as_deref(), Some("payments"));
        assert_eq!(r.limits.cost_per_month_usd, Some(50.0));
        assert_eq!(r.limits.concurrent, Some(4));
        assert_eq!(cfg.prices["gpt-4o-mini"].output_per_mtok, 0.6);
        assert!(cfg.cooldown.as_ref().unwrap().count_limit_rejections);
        cfg.validate().unwrap();
    }

    #[test]
    fn rejects_unknown_fields_everywhere() {
        for bad in [
            "bogus = 1",
            "[[rules]]\nrequests_per_mnute = 5",
            "[[rules]]\nscope = { tema = \"x\" }",
            "[defaults.principal]\nrps = 1",
            "[prices.m]\ninput_per_mtok = 1\noutput_per_mtok = 1\nextra = 2",
        ] {
            assert!(toml::from_str::<LimitsConfig>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_reports_paths() {
        let cfg: LimitsConfig = toml::from_str(
            "backend = \"redis\"\ntimezone = \"Mars/Olympus\"\n[[rules]]\ncost_per_day_usd = -1",
        )
        .unwrap();
        let errs = cfg.validate().unwrap_err();
        assert!(errs.iter().any(|e| e.starts_with("limits.timezone")));
        assert!(errs.iter().any(|e| e.starts_with("limits.redis_url")));
        assert!(
            errs.iter()
                .any(|e| e.starts_with("limits.rules[0].cost_per_day_usd"))
        );
    }

    #[test]
    fn debug_hides_the_redis_url() {
        let cfg: LimitsConfig =
            toml::from_str("backend = \"redis\"\nredis_url = \"redis://:hunter2@10.0.0.1\"")
                .unwrap();
        let d = format!("{cfg:?}");
        assert!(!d.contains("hunter2") && d.contains("<redacted>"), "{d}");
    }

    #[test]
    fn overrides_are_json_and_replace_fields() {
        let o: LimitOverrides = serde_json::from_str(r#"{"requests_per_minute": 5}"#).unwrap();
        let base = LimitSet {
            requests_per_minute: Some(60),
            tokens_per_day: Some(1000),
            ..LimitSet::default()
        };
        let m = base.overlay(&o);
        assert_eq!(m.requests_per_minute, Some(5));
        assert_eq!(m.tokens_per_day, Some(1000));
    }
}
