//! Gatehouse limits: the checkpoint's **admit** stage.
//!
//! A [`Limiter`] decides whether a model call may go ahead, against every limit that applies to
//! it (per API key, principal, team, model, provider, combinations of these, and org-wide), and
//! reserves the call's estimated size in all of them at once:
//!
//! - request rates (`requests_per_second`, `requests_per_minute`): rolling windows by GCRA (a
//!   burst of at most the limit, refilled evenly; no fixed buckets that allow 2× at a boundary);
//! - token rates (`tokens_per_minute`, `tokens_per_hour`): rolling, GCRA with a cost per request;
//! - budgets (`tokens_per_day`, `cost_per_day_usd`, `cost_per_month_usd`): calendar periods in
//!   the configured time zone, restored from the [`UsageStore`] after a restart;
//! - `concurrent` in-flight requests, `max_prompt_tokens`, and a clamp on the output allowance;
//! - a cool-down that refuses a principal for a while after repeated rejections.
//!
//! **Reserve, then settle.** [`Limiter::admit`] reserves the prompt's tokens (counted with the
//! model family's tokenizer, see [`tokens`]) plus the output allowance, and their price.
//! [`Reservation::settle`] charges what the upstream reported instead, refunding the difference
//! (or charging the excess), releases the concurrency slot and records the usage. A reservation
//! dropped without `settle` (a cancelled or failed request) is settled as *the reserved input
//! tokens and zero output*: the prompt was most likely sent, and nothing was received. With the
//! memory backend that happens in `Drop`; with Redis (which needs a round trip) it is queued and
//! applied by the next call on the limiter, or by [`Limiter::flush_pending`].
//!
//! **Backends.** `memory` (one instance) or `redis` (several instances): one atomic Lua script
//! call per admit (`EVALSHA`, one round trip) checks and reserves every counter, so a limit of N
//! means N across all instances. When Redis cannot be reached the limiter refuses with
//! `unavailable` (fail closed) or, with `on_redis_error = "local"`, enforces the same limits per
//! instance in memory until Redis is back; the connection manager reconnects by itself.
//!
//! ```no_run
//! # async fn f(p: &gatehouse_core::Principal) -> Result<(), Box<dyn std::error::Error>> {
//! use gatehouse_limits::*;
//! let limiter = Limiter::new(LimitsConfig::default(), None).await?;
//! let admission = limiter
//!     .admit(&AdmitRequest {
//!         principal: p,
//!         model: "gpt-4o-mini",
//!         provider: "openai",
//!         prompt: Prompt::Text("hello"),
//!         requested_max_output: Some(256),
//!         overrides: None,
//!     })
//!     .await?;
//! // forward with admission.clamp_max_output, add admission.headers.pairs() to the response…
//! admission.reservation.settle(Usage { input: 5, output: 120 }).await;
//! # Ok(()) }
//! ```

pub mod clock;
mod config;
mod headers;
mod memory;
mod plan;
mod redis_backend;
pub mod tokens;
mod usage;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    BackendKind, CooldownConfig, Defaults, Dim, LimitOverrides, LimitSet, LimitsConfig,
    OnRedisError, Price, Rule, Scope,
};
pub use headers::{RateHeaders, format_duration};
pub use usage::{UsageError, UsageFilter, UsageRecord, UsageStore};

use gatehouse_core::{ErrorCode, Principal, Rejection};
use memory::{Adjust, After, Cooldowns, Memory, Refused};
use plan::{Amount, CalPeriod, Check, CompiledRule, Kind, NS_PER_SEC, Subject, Unit};
use redis_backend::RedisBackend;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The stage name on rejections.
pub const STAGE: &str = "admit";

/// Model names longer than this are refused before they become counter keys.
const MAX_NAME: usize = 256;

/// Errors creating a limiter.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    /// The configuration is invalid; every problem with its path.
    #[error("invalid limits configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// Loading current-period usage failed.
    #[error(transparent)]
    Usage(#[from] UsageError),
}

/// The prompt of a request: its text (counted here) or a token count the caller already has.
#[derive(Debug, Clone, Copy)]
pub enum Prompt<'a> {
    /// The prompt text (all messages, as sent upstream).
    Text(&'a str),
    /// Already counted.
    Tokens(u32),
}

/// What the admit stage needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub struct AdmitRequest<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// The model as the client named it.
    pub model: &'a str,
    /// The provider that will serve it.
    pub provider: &'a str,
    /// The prompt.
    pub prompt: Prompt<'a>,
    /// `max_tokens` / `max_completion_tokens` from the request, if any.
    pub requested_max_output: Option<u32>,
    /// The authenticating key's overrides (from the key store), if any.
    pub overrides: Option<&'a LimitOverrides>,
}

/// Real usage reported by the upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input (prompt) tokens.
    pub input: u32,
    /// Output (completion) tokens.
    pub output: u32,
}

/// A request let through.
#[derive(Debug)]
pub struct Admission {
    /// Settle it with the real usage; dropping it settles the reserved input and no output.
    pub reservation: Reservation,
    /// When set, forward the request with `max_tokens` (or `max_completion_tokens`) set to
    /// this: the request asked for more, or for nothing, while a rule clamps output.
    pub clamp_max_output: Option<u32>,
    /// `x-ratelimit-*` values for the response.
    pub headers: RateHeaders,
    /// The prompt's token count (counted or estimated).
    pub prompt_tokens: u32,
}

/// How the limiter is doing, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// `memory` or `redis`.
    pub backend: &'static str,
    /// Whether requests can be admitted (false while Redis is down and the limiter fails
    /// closed).
    pub ready: bool,
    /// Whether the limiter enforces per-instance limits because Redis is down.
    pub degraded: bool,
    /// Whether Redis answered (`None` for the memory backend).
    pub redis_ok: Option<bool>,
}

/// Counters for metrics. Monotonic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Requests admitted.
    pub admitted: u64,
    /// Refused by a request, token or concurrency limit.
    pub rejected_rate: u64,
    /// Refused by a token or cost budget.
    pub rejected_budget: u64,
    /// Refused by a cool-down.
    pub rejected_cooldown: u64,
    /// Refused because the limiter could not reach Redis (fail closed).
    pub rejected_unavailable: u64,
    /// Refused by `max_prompt_tokens` or a missing price.
    pub rejected_invalid: u64,
    /// Redis calls that failed.
    pub redis_errors: u64,
    /// Requests admitted by the per-instance fallback while Redis was down.
    pub fallback_admits: u64,
    /// Cool-downs started.
    pub cooldowns_started: u64,
    /// Usage records dropped because the writer's queue was full.
    pub usage_dropped: u64,
    /// Usage batches that failed to write.
    pub usage_write_errors: u64,
}

#[derive(Debug, Default)]
struct AtomicCounters {
    admitted: AtomicU64,
    rejected_rate: AtomicU64,
    rejected_budget: AtomicU64,
    rejected_cooldown: AtomicU64,
    rejected_unavailable: AtomicU64,
    rejected_invalid: AtomicU64,
    redis_errors: AtomicU64,
    fallback_admits: AtomicU64,
    cooldowns_started: AtomicU64,
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Where a reservation was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    Memory,
    Redis,
}

/// A reservation not settled yet.
#[derive(Debug)]
struct Reserved {
    checks: Vec<Check>,
    placed: Placed,
    member: String,
    input: u64,
    output: u64,
    cost_micros: u64,
    principal: String,
    team: Option<String>,
    key: Option<String>,
    model: String,
    provider: String,
}

struct Inner {
    cfg: LimitsConfig,
    tz: jiff::tz::TimeZone,
    rules: Vec<CompiledRule>,
    clock: Arc<dyn Clock>,
    memory: Memory,
    cooldowns: Cooldowns,
    redis: Option<RedisBackend>,
    redis_ok: AtomicBool,
    usage: Option<UsageStore>,
    counters: AtomicCounters,
    /// Redis reservations dropped without settle, applied by the next call.
    pending: Mutex<Vec<Reserved>>,
    has_pending: AtomicBool,
    seq: AtomicU64,
    instance: String,
    any_cost_rule: bool,
}

/// The limiter. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("backend", &self.inner.cfg.backend)
            .finish_non_exhaustive()
    }
}

/// Remaining allowance of one counter, from [`Limiter::remaining`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Remaining {
    /// Who the counter belongs to (`team payments`).
    pub scope: String,
    /// `requests_per_minute`, `tokens_per_day`, `cost_per_month_usd`, …
    pub limit_name: &'static str,
    /// The limit (micro-USD for costs).
    pub limit: u64,
    /// Used in the current window or period (micro-USD for costs).
    pub used: u64,
    /// `limit - used`, at least 0.
    pub remaining: u64,
    /// Seconds until a calendar period resets (calendar limits only).
    pub resets_in_secs: Option<u64>,
}

/// Whose limits to look up in [`Limiter::remaining`].
#[derive(Debug, Clone, Copy)]
pub struct SubjectRef<'a> {
    /// Principal.
    pub principal: &'a Principal,
    /// Model.
    pub model: &'a str,
    /// Provider.
    pub provider: &'a str,
    /// The key's overrides, if any.
    pub overrides: Option<&'a LimitOverrides>,
}

fn limit_name(c: &Check) -> &'static str {
    match (c.kind, c.unit) {
        (Kind::Gcra { period_ns }, Unit::Requests) if period_ns == NS_PER_SEC => {
            "requests_per_second"
        }
        (Kind::Gcra { .. }, Unit::Requests) => "requests_per_minute",
        (Kind::Gcra { period_ns }, _) if period_ns == 60 * NS_PER_SEC => "tokens_per_minute",
        (Kind::Gcra { .. }, _) => "tokens_per_hour",
        (Kind::Calendar { .. }, Unit::Tokens) => "tokens_per_day",
        (
            Kind::Calendar {
                period: CalPeriod::Day,
            },
            _,
        ) => "cost_per_day_usd",
        (Kind::Calendar { .. }, _) => "cost_per_month_usd",
        (Kind::Concurrent, _) => "concurrent",
    }
}

fn ns_to_secs_ceil(ns: i64) -> u64 {
    u64::try_from(ns.max(0))
        .unwrap_or(0)
        .div_ceil(1_000_000_000)
}

/// The caller-facing refusal for check `c`.
fn refusal(c: &Check, retry_ns: Option<i64>) -> Rejection {
    let period = |p: i64| match p / NS_PER_SEC {
        1 => "second",
        60 => "minute",
        _ => "hour",
    };
    let when = |prefix: &str| match retry_ns {
        Some(ns) => format!("; {prefix} {}", format_duration(ns)),
        None => String::new(),
    };
    let too_big = retry_ns.is_none() && c.cost > c.limit;
    let (code, msg) = match (c.kind, c.unit) {
        (Kind::Gcra { period_ns }, Unit::Requests) => (
            ErrorCode::RateLimited,
            format!(
                "request rate limit exceeded: {}, {} requests per {}{}",
                c.label,
                c.limit,
                period(period_ns),
                when("retry in")
            ),
        ),
        (Kind::Gcra { period_ns }, _) => (
            ErrorCode::RateLimited,
            if too_big {
                format!(
                    "token rate limit exceeded: {}, {} tokens per {}; this request needs {} tokens",
                    c.label,
                    c.limit,
                    period(period_ns),
                    c.cost
                )
            } else {
                format!(
                    "token rate limit exceeded: {}, {} tokens per {}{}",
                    c.label,
                    c.limit,
                    period(period_ns),
                    when("retry in")
                )
            },
        ),
        (Kind::Calendar { period }, Unit::Tokens) => (
            ErrorCode::BudgetExceeded,
            format!(
                "token limit exceeded: {}, {} tokens per {}{}{}",
                c.label,
                c.limit,
                if period == CalPeriod::Day {
                    "day"
                } else {
                    "month"
                },
                if too_big {
                    format!("; this request needs {} tokens", c.cost)
                } else {
                    String::new()
                },
                when("resets in")
            ),
        ),
        (Kind::Calendar { period }, _) => (
            ErrorCode::BudgetExceeded,
            format!(
                "cost budget exceeded: {}, ${:.2} per {}{}",
                c.label,
                c.limit as f64 / 1_000_000.0,
                if period == CalPeriod::Day {
                    "day"
                } else {
                    "month"
                },
                when("resets in")
            ),
        ),
        (Kind::Concurrent, _) => (
            ErrorCode::RateLimited,
            format!(
                "concurrency limit exceeded: {}, {} requests in flight{}",
                c.label,
                c.limit,
                when("retry in")
            ),
        ),
    };
    let mut r = Rejection::new(code, msg).at(STAGE);
    r.retry_after_secs = retry_ns.map(|ns| ns_to_secs_ceil(ns).max(1));
    // The exhausted counter, in the OpenAI header vocabulary.
    let reset = headers::format_duration(retry_ns.unwrap_or(0));
    let mut h: Vec<(&'static str, String)> = Vec::new();
    match (c.kind, c.unit) {
        (Kind::Concurrent, _) => {}
        (_, Unit::Requests) => {
            h.push(("x-ratelimit-limit-requests", c.limit.to_string()));
            h.push(("x-ratelimit-remaining-requests", "0".into()));
            h.push(("x-ratelimit-reset-requests", reset));
        }
        (_, Unit::Tokens) => {
            h.push(("x-ratelimit-limit-tokens", c.limit.to_string()));
            h.push(("x-ratelimit-remaining-tokens", "0".into()));
            h.push(("x-ratelimit-reset-tokens", reset));
        }
        _ => {}
    }
    if !h.is_empty() {
        r.headers = Some(Box::new(h));
    }
    r
}

impl Limiter {
    /// A limiter on the system clock. With a usage store, the memory backend (and the Redis
    /// fallback) load the current day's and month's consumption from it, and settled usage is
    /// recorded in it.
    pub async fn new(cfg: LimitsConfig, usage: Option<UsageStore>) -> Result<Limiter, LimitsError> {
        Limiter::with_clock(cfg, usage, Arc::new(SystemClock)).await
    }

    /// A limiter on `clock` (tests use [`ManualClock`]). The Redis backend's rolling windows use
    /// the Redis server's clock; calendar periods use `clock`.
    pub async fn with_clock(
        cfg: LimitsConfig,
        usage: Option<UsageStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Limiter, LimitsError> {
        cfg.validate().map_err(LimitsError::Config)?;
        let tz = jiff::tz::TimeZone::get(&cfg.timezone)
            .map_err(|_| LimitsError::Config(vec!["limits.timezone: unknown".into()]))?;
        let rules = plan::compile(&cfg);
        let redis = match (cfg.backend, &cfg.redis_url) {
            (BackendKind::Redis, Some(url)) => Some(
                RedisBackend::new(
                    url,
                    &cfg.redis_prefix,
                    Duration::from_millis(cfg.redis_timeout_ms),
                )
                .map_err(|e| LimitsError::Config(vec![e]))?,
            ),
            _ => None,
        };
        let any_cost_rule = rules
            .iter()
            .any(|r| r.limits.cost_per_day_usd.is_some() || r.limits.cost_per_month_usd.is_some());
        let instance = format!("{:016x}", rand_u64());
        let inner = Inner {
            cfg,
            tz,
            rules,
            clock,
            memory: Memory::default(),
            cooldowns: Cooldowns::default(),
            redis,
            redis_ok: AtomicBool::new(true),
            usage,
            counters: AtomicCounters::default(),
            pending: Mutex::new(Vec::new()),
            has_pending: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            instance,
            any_cost_rule,
        };
        let limiter = Limiter {
            inner: Arc::new(inner),
        };
        let local_state_used = limiter.inner.redis.is_none()
            || limiter.inner.cfg.on_redis_error == OnRedisError::Local;
        if local_state_used && let Some(store) = &limiter.inner.usage {
            limiter.load_usage(store).await?;
        }
        Ok(limiter)
    }

    /// Adds the current day's and month's settled usage to the in-memory budget counters.
    async fn load_usage(&self, store: &UsageStore) -> Result<(), UsageError> {
        let now = self.inner.clock.now_ns();
        let cal = plan::calendar(&self.inner.tz, now);
        let filter = UsageFilter {
            since: Some(format!("{}-01", cal.month)),
            ..UsageFilter::default()
        };
        let rows = store.query(&filter).await?;
        // Budgets of key-level rules are loaded whatever the key's overrides are.
        let all_budgets = LimitSet {
            tokens_per_day: Some(u64::MAX),
            cost_per_day_usd: Some(1.0),
            cost_per_month_usd: Some(1.0),
            ..LimitSet::default()
        };
        for row in rows {
            let s = Subject {
                principal: &row.principal,
                team: (!row.team.is_empty()).then_some(row.team.as_str()),
                key: (!row.key_id.is_empty()).then_some(row.key_id.as_str()),
                model: &row.model,
                provider: &row.provider,
            };
            let app = plan::applicable(&self.inner.rules, &s, Some(&all_budgets));
            let amount = Amount {
                tokens: row.input_tokens.saturating_add(row.output_tokens),
                cost_micros: row.cost_micros,
            };
            for c in plan::checks(&app, &s, &cal, amount) {
                if let Kind::Calendar { period } = c.kind {
                    if period == CalPeriod::Day && row.day != cal.day {
                        continue;
                    }
                    self.inner.memory.load(&c.key, c.cost, cal.end_ns(period));
                }
            }
        }
        Ok(())
    }

    fn cost_of(&self, model: &str, input: u64, output: u64) -> Option<u64> {
        let p = self
            .inner
            .cfg
            .prices
            .get(model)
            .or(self.inner.cfg.default_price.as_ref())?;
        Some(plan::cost_micros(p, input, output))
    }

    fn invalid(&self, msg: String) -> Rejection {
        inc(&self.inner.counters.rejected_invalid);
        Rejection::new(ErrorCode::InvalidRequest, msg).at(STAGE)
    }

    fn count_refusal(&self, r: &Rejection) {
        let c = &self.inner.counters;
        match r.code {
            ErrorCode::BudgetExceeded => inc(&c.rejected_budget),
            _ => inc(&c.rejected_rate),
        }
    }

    fn cooldown_rejection(&self, principal: &str, left_ns: i64) -> Rejection {
        inc(&self.inner.counters.rejected_cooldown);
        let mut r = Rejection::new(
            ErrorCode::RateLimited,
            format!(
                "cooldown: principal {principal} is refused after repeated rejected requests; \
                 retry in {}",
                format_duration(left_ns)
            ),
        )
        .at(STAGE);
        r.retry_after_secs = Some(ns_to_secs_ceil(left_ns).max(1));
        r
    }

    /// Decides whether the request may go ahead and, if so, reserves its estimated size in
    /// every applicable limit (all or nothing).
    pub async fn admit(&self, req: &AdmitRequest<'_>) -> Result<Admission, Rejection> {
        self.flush_pending().await;
        let inner = &self.inner;
        let p = req.principal;
        if req.model.len() > MAX_NAME || req.provider.len() > MAX_NAME {
            return Err(self.invalid("model or provider name too long".into()));
        }
        let s = Subject {
            principal: &p.id,
            team: p.team.as_deref(),
            key: p.key_id.as_deref(),
            model: req.model,
            provider: req.provider,
        };
        let now = inner.clock.now_ns();
        let use_redis = inner.redis.is_some();
        if !use_redis && let Some(left) = inner.cooldowns.active(&p.id, now) {
            return Err(self.cooldown_rejection(&p.id, left));
        }
        let app = plan::applicable(&inner.rules, &s, req.overrides);
        let prompt_tokens = match req.prompt {
            Prompt::Tokens(n) => n,
            Prompt::Text(t) => tokens::count_tokens(req.model, t),
        };
        let mut max_prompt: Option<(u32, &CompiledRule)> = None;
        let mut clamp: Option<u32> = None;
        for (r, l) in &app {
            if let Some(m) = l.max_prompt_tokens
                && max_prompt.is_none_or(|(cur, _)| m < cur)
            {
                max_prompt = Some((m, r));
            }
            if let Some(m) = l.max_output_tokens {
                clamp = Some(clamp.map_or(m, |c| c.min(m)));
            }
        }
        if let Some((m, _)) = max_prompt
            && prompt_tokens > m
        {
            let r = self.invalid(format!(
                "prompt too long: {prompt_tokens} tokens, the limit is {m} tokens"
            ));
            self.auto_cooldown(&p.id).await;
            return Err(r);
        }
        let clamp_max_output = match (clamp, req.requested_max_output) {
            (Some(c), Some(want)) if want > c => Some(c),
            (Some(c), None) => Some(c),
            _ => None,
        };
        let output = u64::from(
            clamp_max_output
                .or(req.requested_max_output)
                .unwrap_or(inner.cfg.default_output_allowance),
        );
        let input = u64::from(prompt_tokens);
        let cal = plan::calendar(&inner.tz, now);
        let has_cost = inner.any_cost_rule
            || req
                .overrides
                .is_some_and(|o| o.cost_per_day_usd.is_some() || o.cost_per_month_usd.is_some());
        let cost_micros = match self.cost_of(req.model, input, output) {
            Some(c) => c,
            None if has_cost
                && app.iter().any(|(_, l)| {
                    l.cost_per_day_usd.is_some() || l.cost_per_month_usd.is_some()
                }) =>
            {
                return Err(self.invalid(format!(
                    "model {} has no price in [limits.prices]; requests under a cost budget are \
                     refused",
                    req.model
                )));
            }
            None => 0,
        };
        let amount = Amount {
            tokens: input + output,
            cost_micros,
        };
        let checks = plan::checks(&app, &s, &cal, amount);
        let member = format!(
            "{}:{}",
            inner.instance,
            inner.seq.fetch_add(1, Ordering::Relaxed)
        );

        let mut placed = Placed::Memory;
        let decided: Result<Vec<After>, Rejection> = match &inner.redis {
            None => self.admit_memory(&checks, now, &cal),
            Some(redis) => {
                let cooldown = inner.cfg.cooldown.as_ref().map(|c| (p.id.as_str(), c));
                let lease_ms = inner.cfg.concurrency_lease_secs.saturating_mul(1000);
                match redis
                    .admit(cooldown, &checks, &member, lease_ms, &cal, now)
                    .await
                {
                    Ok(Ok(after)) => {
                        inner.redis_ok.store(true, Ordering::Relaxed);
                        placed = Placed::Redis;
                        Ok(after)
                    }
                    Ok(Err(refused)) => {
                        inner.redis_ok.store(true, Ordering::Relaxed);
                        if refused.cooldown_started {
                            inc(&inner.counters.cooldowns_started);
                        }
                        let Some(i) = refused.index else {
                            return Err(
                                self.cooldown_rejection(&p.id, refused.retry_ns.unwrap_or(0))
                            );
                        };
                        let r = match checks.get(i) {
                            Some(c) => refusal(c, refused.retry_ns),
                            None => Rejection::internal("admit"),
                        };
                        // Counted towards the cool-down by the script itself (same round trip).
                        self.count_refusal(&r);
                        return Err(r);
                    }
                    Err(e) => {
                        inc(&inner.counters.redis_errors);
                        inner.redis_ok.store(false, Ordering::Relaxed);
                        match inner.cfg.on_redis_error {
                            OnRedisError::Closed => {
                                tracing::warn!(error = %e.0, "limits: Redis unreachable; refusing (fail closed)");
                                inc(&inner.counters.rejected_unavailable);
                                let mut r = Rejection::new(
                                    ErrorCode::Unavailable,
                                    "rate limiter unavailable: the limits store cannot be \
                                     reached; the request was refused",
                                )
                                .at(STAGE);
                                r.retry_after_secs = Some(1);
                                return Err(r);
                            }
                            OnRedisError::Local => {
                                tracing::warn!(error = %e.0, "limits: Redis unreachable; per-instance limits");
                                if let Some(left) = inner.cooldowns.active(&p.id, now) {
                                    return Err(self.cooldown_rejection(&p.id, left));
                                }
                                let r = self.admit_memory(&checks, now, &cal);
                                if r.is_ok() {
                                    inc(&inner.counters.fallback_admits);
                                }
                                r
                            }
                        }
                    }
                }
            }
        };
        let after = match decided {
            Ok(a) => a,
            Err(r) => {
                self.count_refusal(&r);
                self.auto_cooldown(&p.id).await;
                return Err(r);
            }
        };
        inc(&inner.counters.admitted);
        let headers = headers::from_checks(&checks, &after);
        Ok(Admission {
            reservation: Reservation {
                inner: Some(self.inner.clone()),
                state: Some(Reserved {
                    checks,
                    placed,
                    member,
                    input,
                    output,
                    cost_micros,
                    principal: p.id.clone(),
                    team: p.team.clone(),
                    key: p.key_id.clone(),
                    model: req.model.to_owned(),
                    provider: req.provider.to_owned(),
                }),
            },
            clamp_max_output,
            headers,
            prompt_tokens,
        })
    }

    fn admit_memory(
        &self,
        checks: &[Check],
        now: i64,
        cal: &plan::Calendar,
    ) -> Result<Vec<After>, Rejection> {
        self.inner.memory.admit(checks, now, cal).map_err(
            |Refused { index, retry_ns }| match checks.get(index) {
                Some(c) => refusal(c, retry_ns),
                None => Rejection::internal("admit"),
            },
        )
    }

    async fn auto_cooldown(&self, principal: &str) {
        if let Some(c) = &self.inner.cfg.cooldown
            && c.count_limit_rejections
        {
            self.record_rejection(principal).await;
        }
    }

    /// Counts a blocked or rejected request of `principal` towards its cool-down (call it for
    /// guardrail blocks and other refusals; the limiter's own refusals count by themselves when
    /// `count_limit_rejections` is on). Returns true when this started a cool-down.
    pub async fn record_rejection(&self, principal: &str) -> bool {
        let inner = &self.inner;
        let Some(cfg) = &inner.cfg.cooldown else {
            return false;
        };
        let started = match &inner.redis {
            Some(r) => match r.record_rejection(principal, cfg).await {
                Ok(s) => s,
                Err(e) => {
                    inc(&inner.counters.redis_errors);
                    tracing::warn!(error = %e.0, "limits: Redis unreachable recording a rejection");
                    inner.cooldowns.record(principal, inner.clock.now_ns(), cfg)
                }
            },
            None => inner.cooldowns.record(principal, inner.clock.now_ns(), cfg),
        };
        if started {
            inc(&inner.counters.cooldowns_started);
        }
        started
    }

    /// Applies Redis settlements of reservations dropped without `settle`. Called by every
    /// `admit`; call it at shutdown too.
    pub async fn flush_pending(&self) {
        if !self.inner.has_pending.load(Ordering::Relaxed) {
            return;
        }
        let batch: Vec<Reserved> = {
            let mut p = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
            self.inner.has_pending.store(false, Ordering::Relaxed);
            std::mem::take(&mut *p)
        };
        for r in batch {
            let usage = Usage {
                input: u32::try_from(r.input).unwrap_or(u32::MAX),
                output: 0,
            };
            settle_inner(&self.inner, r, usage).await;
        }
    }

    /// Health for `/readyz`. With Redis, sends a `PING`.
    pub async fn health(&self) -> Health {
        let inner = &self.inner;
        match &inner.redis {
            None => Health {
                backend: "memory",
                ready: true,
                degraded: false,
                redis_ok: None,
            },
            Some(r) => {
                let ok = r.ping().await.is_ok();
                inner.redis_ok.store(ok, Ordering::Relaxed);
                let local = inner.cfg.on_redis_error == OnRedisError::Local;
                Health {
                    backend: "redis",
                    ready: ok || local,
                    degraded: !ok && local,
                    redis_ok: Some(ok),
                }
            }
        }
    }

    /// Counters for metrics.
    pub fn counters(&self) -> Counters {
        let c = &self.inner.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (dropped, werr) = match &self.inner.usage {
            Some(u) => (l(&u.counters().dropped), l(&u.counters().write_errors)),
            None => (0, 0),
        };
        Counters {
            admitted: l(&c.admitted),
            rejected_rate: l(&c.rejected_rate),
            rejected_budget: l(&c.rejected_budget),
            rejected_cooldown: l(&c.rejected_cooldown),
            rejected_unavailable: l(&c.rejected_unavailable),
            rejected_invalid: l(&c.rejected_invalid),
            redis_errors: l(&c.redis_errors),
            fallback_admits: l(&c.fallback_admits),
            cooldowns_started: l(&c.cooldowns_started),
            usage_dropped: dropped,
            usage_write_errors: werr,
        }
    }

    /// The usage store, if any (for `GET /admin/v1/usage`).
    pub fn usage_store(&self) -> Option<&UsageStore> {
        self.inner.usage.as_ref()
    }

    /// The remaining allowance of every limit that applies to `subject` (for
    /// `GET /admin/v1/usage`). Reads the backend in use (Redis, or memory).
    pub async fn remaining(&self, subject: &SubjectRef<'_>) -> Vec<Remaining> {
        let inner = &self.inner;
        let p = subject.principal;
        let s = Subject {
            principal: &p.id,
            team: p.team.as_deref(),
            key: p.key_id.as_deref(),
            model: subject.model,
            provider: subject.provider,
        };
        let now = inner.clock.now_ns();
        let cal = plan::calendar(&inner.tz, now);
        let app = plan::applicable(&inner.rules, &s, subject.overrides);
        let checks = plan::checks(&app, &s, &cal, Amount::default());
        let redis_vals = match &inner.redis {
            Some(r) => r.read(&checks).await.ok(),
            None => None,
        };
        checks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let used = match &redis_vals {
                    Some(v) => {
                        let raw = v.get(i).cloned().flatten();
                        match c.kind {
                            Kind::Gcra { period_ns } => {
                                let tat_us: f64 = raw.and_then(|x| x.parse().ok()).unwrap_or(0.0);
                                let ahead_ns = (tat_us * 1000.0) as i64 - now;
                                let per_unit = (period_ns as f64 / c.limit.max(1) as f64).max(1.0);
                                (ahead_ns.max(0) as f64 / per_unit) as u64
                            }
                            _ => raw.and_then(|x| x.parse().ok()).unwrap_or(0),
                        }
                    }
                    None => inner.memory.used(c, now),
                };
                Remaining {
                    scope: c.label.to_string(),
                    limit_name: limit_name(c),
                    limit: c.limit,
                    used,
                    remaining: c.limit.saturating_sub(used),
                    resets_in_secs: match c.kind {
                        Kind::Calendar { period } => {
                            Some(ns_to_secs_ceil(cal.end_ns(period) - now))
                        }
                        _ => None,
                    },
                }
            })
            .collect()
    }
}

fn rand_u64() -> u64 {
    rand::random()
}

/// A reservation in every applicable limit. Settle it with [`Reservation::settle`]; dropping it
/// unsettled settles the reserved input tokens and zero output, and releases concurrency.
pub struct Reservation {
    inner: Option<Arc<Inner>>,
    state: Option<Reserved>,
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (input, output) = self
            .state
            .as_ref()
            .map(|s| (s.input, s.output))
            .unwrap_or_default();
        f.debug_struct("Reservation")
            .field("input", &input)
            .field("output", &output)
            .finish_non_exhaustive()
    }
}

impl Reservation {
    /// Reserved tokens (input + output allowance).
    pub fn reserved_tokens(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.input + s.output)
    }

    /// Reserved cost in micro-USD.
    pub fn reserved_cost_micros(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.cost_micros)
    }

    /// Charges the real usage instead of the estimate (refunding or charging the difference),
    /// releases the concurrency slot, and records the usage.
    pub async fn settle(mut self, usage: Usage) {
        if let (Some(inner), Some(state)) = (self.inner.take(), self.state.take()) {
            settle_inner(&inner, state, usage).await;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let (Some(inner), Some(state)) = (self.inner.take(), self.state.take()) else {
            return;
        };
        let usage = Usage {
            input: u32::try_from(state.input).unwrap_or(u32::MAX),
            output: 0,
        };
        match state.placed {
            Placed::Memory => {
                let now = inner.clock.now_ns();
                let (adjust, rec) = settlement(&inner, &state, usage, now);
                inner.memory.settle(&adjust, now);
                if let (Some(store), Some(rec)) = (&inner.usage, rec) {
                    store.record(rec);
                }
            }
            Placed::Redis => {
                let mut p = inner.pending.lock().unwrap_or_else(|e| e.into_inner());
                p.push(state);
                inner.has_pending.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// The adjustments and the usage record for settling `state` with `usage`.
fn settlement<'a>(
    inner: &Inner,
    state: &'a Reserved,
    usage: Usage,
    now: i64,
) -> (Vec<Adjust<'a>>, Option<UsageRecord>) {
    let input = u64::from(usage.input);
    let output = u64::from(usage.output);
    let tokens = input + output;
    let cost = inner
        .cfg
        .prices
        .get(&state.model)
        .or(inner.cfg.default_price.as_ref())
        .map_or(0, |p| plan::cost_micros(p, input, output));
    let reserved_tokens = state.input + state.output;
    let diff = |actual: u64, reserved: u64| -> i64 {
        i64::try_from(actual).unwrap_or(i64::MAX) - i64::try_from(reserved).unwrap_or(i64::MAX)
    };
    let adjust = state
        .checks
        .iter()
        .filter_map(|c| {
            let delta = match (c.kind, c.unit) {
                (Kind::Concurrent, _) => 0,
                (_, Unit::Requests) => return None,
                (_, Unit::Tokens) => diff(tokens, reserved_tokens),
                (_, Unit::Cost) => diff(cost, state.cost_micros),
            };
            if delta == 0 && c.kind != Kind::Concurrent {
                return None;
            }
            Some(Adjust { check: c, delta })
        })
        .collect();
    let rec = inner.usage.as_ref().map(|_| UsageRecord {
        day: plan::calendar(&inner.tz, now).day,
        principal: state.principal.clone(),
        team: state.team.clone().unwrap_or_default(),
        key_id: state.key.clone().unwrap_or_default(),
        model: state.model.clone(),
        provider: state.provider.clone(),
        requests: 1,
        input_tokens: input,
        output_tokens: output,
        cost_micros: cost,
    });
    (adjust, rec)
}

async fn settle_inner(inner: &Inner, state: Reserved, usage: Usage) {
    let now = inner.clock.now_ns();
    let (adjust, rec) = settlement(inner, &state, usage, now);
    match (state.placed, &inner.redis) {
        (Placed::Redis, Some(r)) => {
            // Calendar counters keep their TTL; a fresh one (expired meanwhile) gets two days.
            if let Err(e) = r.settle(&adjust, &state.member, 2 * 86_400).await {
                inc(&inner.counters.redis_errors);
                tracing::warn!(error = %e.0, "limits: could not settle on Redis; leases expire by themselves");
            }
        }
        _ => inner.memory.settle(&adjust, now),
    }
    if let (Some(store), Some(rec)) = (&inner.usage, rec) {
        store.record(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_messages_name_the_scope_and_reset() {
        let c = Check {
            key: "x".into(),
            label: Arc::from("team payments"),
            kind: Kind::Calendar {
                period: CalPeriod::Day,
            },
            unit: Unit::Tokens,
            limit: 100_000,
            cost: 10,
        };
        let r = refusal(&c, Some((3 * 3600 + 12 * 60) * NS_PER_SEC));
        assert_eq!(r.code, ErrorCode::BudgetExceeded);
        assert_eq!(
            r.message,
            "token limit exceeded: team payments, 100000 tokens per day; resets in 3h12m"
        );
        assert_eq!(r.retry_after_secs, Some(11_520));
        assert_eq!(r.stage, "admit");
    }
}
