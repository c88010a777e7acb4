//! OpenAI-style `x-ratelimit-*` response headers.

use crate::memory::After;
use crate::plan::{Check, Kind, Unit};
use std::time::Duration;

/// Values for the `x-ratelimit-*` headers of an admitted request: the most constraining request
/// limit and the most constraining token limit (the one with the fewest units left). `None`
/// where no such limit applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RateHeaders {
    /// `x-ratelimit-limit-requests`.
    pub limit_requests: Option<u64>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-reset-requests`: time until the limit is fully replenished.
    pub reset_requests: Option<Duration>,
    /// `x-ratelimit-limit-tokens`.
    pub limit_tokens: Option<u64>,
    /// `x-ratelimit-remaining-tokens`.
    pub remaining_tokens: Option<u64>,
    /// `x-ratelimit-reset-tokens`.
    pub reset_tokens: Option<Duration>,
}

fn dur(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns.max(0)).unwrap_or(0))
}

pub(crate) fn from_checks(checks: &[Check], after: &[After]) -> RateHeaders {
    let mut h = RateHeaders::default();
    for (c, a) in checks.iter().zip(after) {
        let (limit, remaining, reset) = match (c.kind, c.unit) {
            (Kind::Gcra { .. }, Unit::Requests) => (
                &mut h.limit_requests,
                &mut h.remaining_requests,
                &mut h.reset_requests,
            ),
            (Kind::Gcra { .. } | Kind::Calendar { .. }, Unit::Tokens) => (
                &mut h.limit_tokens,
                &mut h.remaining_tokens,
                &mut h.reset_tokens,
            ),
            _ => continue,
        };
        if remaining.is_none_or(|r| a.remaining < r) {
            *limit = Some(c.limit);
            *remaining = Some(a.remaining);
            *reset = Some(dur(a.reset_ns));
        }
    }
    h
}

/// A duration the way OpenAI writes it in `x-ratelimit-reset-*` and the way rejection messages
/// say "resets in": `20ms`, `1s`, `6m0s`, `3h12m`, `2d4h`. At most two units; rounded up.
pub fn format_duration(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < 1_000_000_000 {
        let ms = (ns + 999_999) / 1_000_000;
        return format!("{ms}ms");
    }
    let secs = (ns + 999_999_999) / 1_000_000_000;
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

impl RateHeaders {
    /// Header name/value pairs to add to the response (only those that apply).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let d = |x: &Duration| format_duration(i64::try_from(x.as_nanos()).unwrap_or(i64::MAX));
        if let Some(v) = self.limit_requests {
            out.push(("x-ratelimit-limit-requests", v.to_string()));
        }
        if let Some(v) = self.remaining_requests {
            out.push(("x-ratelimit-remaining-requests", v.to_string()));
        }
        if let Some(v) = &self.reset_requests {
            out.push(("x-ratelimit-reset-requests", d(v)));
        }
        if let Some(v) = self.limit_tokens {
            out.push(("x-ratelimit-limit-tokens", v.to_string()));
        }
        if let Some(v) = self.remaining_tokens {
            out.push(("x-ratelimit-remaining-tokens", v.to_string()));
        }
        if let Some(v) = &self.reset_tokens {
            out.push(("x-ratelimit-reset-tokens", d(v)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_openai() {
        assert_eq!(format_duration(20_000_000), "20ms");
        assert_eq!(format_duration(1_000_000_000), "1s");
        assert_eq!(format_duration(360_000_000_000), "6m0s");
        assert_eq!(
            format_duration((3 * 3600 + 12 * 60) * 1_000_000_000),
            "3h12m"
        );
        assert_eq!(format_duration(0), "0ms");
    }
}
