//! Integration tests of gatehouse-limits: in memory with a manual clock, on a real Redis (from
//! `GATEHOUSE_TEST_REDIS_URL`, plus private `redis-server` processes for the outage tests), and
//! the usage store on SQLite and PostgreSQL (`GATEHOUSE_TEST_POSTGRES_URL`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod memory;
mod props;
mod redis;
mod usage;

use gatehouse_core::Principal;
use gatehouse_limits::*;
use std::sync::Arc;

/// A principal with a team and a key.
pub fn principal(id: &str, team: Option<&str>, key: Option<&str>) -> Principal {
    let mut p = Principal::new(id).unwrap();
    p.team = team.map(str::to_owned);
    p.key_id = key.map(str::to_owned);
    p
}

/// Parses a `[limits]` body.
pub fn cfg(toml_text: &str) -> LimitsConfig {
    toml::from_str(toml_text).unwrap()
}

/// A manual clock at a fixed instant.
pub fn clock_at(ts: &str) -> ManualClock {
    ManualClock::at(ts.parse().unwrap())
}

pub async fn limiter(c: LimitsConfig, clock: &ManualClock) -> Limiter {
    Limiter::with_clock(c, None, Arc::new(clock.clone()))
        .await
        .unwrap()
}

/// A request of `tokens` prompt tokens and `out` output tokens.
pub fn req<'a>(
    p: &'a Principal,
    model: &'a str,
    tokens: u32,
    out: Option<u32>,
) -> AdmitRequest<'a> {
    AdmitRequest {
        principal: p,
        model,
        provider: "openai",
        prompt: Prompt::Tokens(tokens),
        requested_max_output: out,
        overrides: None,
    }
}

pub fn redis_url() -> Option<String> {
    match std::env::var("GATEHOUSE_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("skipped: GATEHOUSE_TEST_REDIS_URL unset");
            None
        }
    }
}

pub fn postgres_url() -> Option<String> {
    match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("skipped: GATEHOUSE_TEST_POSTGRES_URL unset");
            None
        }
    }
}

/// A random suffix for Redis key prefixes and PostgreSQL schemas.
pub fn random_name() -> String {
    format!("t{:016x}", rand::random::<u64>())
}
