//! The memory backend, with a manual clock.

use super::*;
use gatehouse_core::ErrorCode;
use std::time::Duration;

async fn count_admitted(l: &Limiter, p: &Principal, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        if let Ok(a) = l.admit(&req(p, "m", 1, Some(0))).await {
            a.reservation
                .settle(Usage {
                    input: 1,
                    output: 0,
                })
                .await;
            ok += 1;
        }
    }
    ok
}

#[tokio::test]
async fn gcra_allows_the_limit_then_refills_evenly() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let l = limiter(cfg("[defaults.principal]\nrequests_per_minute = 6"), &clock).await;
    let p = principal("user:alice", None, None);
    assert_eq!(count_admitted(&l, &p, 10).await, 6, "burst up to the limit");
    let err = l.admit(&req(&p, "m", 1, Some(0))).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert!(
        err.message.starts_with(
            "request rate limit exceeded: principal user:alice, 6 requests per minute; retry in"
        ),
        "{}",
        err.message
    );
    assert_eq!(err.retry_after_secs, Some(10));
    // One emission interval (10 s) later, exactly one more.
    clock.advance(Duration::from_secs(10));
    assert_eq!(count_admitted(&l, &p, 5).await, 1);
    clock.advance(Duration::from_secs(9));
    assert_eq!(count_admitted(&l, &p, 5).await, 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(count_admitted(&l, &p, 5).await, 1);
    // After a full idle period, the full burst again.
    clock.advance(Duration::from_secs(60));
    assert_eq!(count_admitted(&l, &p, 10).await, 6);
}

#[tokio::test]
async fn no_double_burst_at_a_minute_boundary() {
    // A fixed-window counter would allow 60 at 00:00:59 and 60 more at 00:01:00.
    let clock = clock_at("2026-01-01T00:00:59Z");
    let l = limiter(
        cfg("[defaults.principal]\nrequests_per_minute = 60"),
        &clock,
    )
    .await;
    let p = principal("user:bob", None, None);
    assert_eq!(count_admitted(&l, &p, 100).await, 60);
    clock.advance(Duration::from_secs(1)); // 00:01:00, a new calendar minute
    assert_eq!(count_admitted(&l, &p, 100).await, 1, "only the 1 s refill");
    clock.advance(Duration::from_millis(999));
    assert_eq!(count_admitted(&l, &p, 100).await, 0);
    // Over any rolling minute: 60 + what refilled in it.
    clock.advance(Duration::from_millis(58_001)); // 00:01:59
    assert_eq!(count_admitted(&l, &p, 100).await, 59);
}

#[tokio::test]
async fn token_rate_window_charges_estimates_and_refunds_on_settle() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let l = limiter(
        cfg("[defaults.principal]\ntokens_per_minute = 1000"),
        &clock,
    )
    .await;
    let p = principal("user:carol", None, None);
    // Reserve 600 (100 prompt + 500 allowance) and settle 150 used.
    let a = l.admit(&req(&p, "m", 100, Some(500))).await.unwrap();
    assert_eq!(a.reservation.reserved_tokens(), 600);
    assert_eq!(a.headers.limit_tokens, Some(1000));
    assert_eq!(a.headers.remaining_tokens, Some(400));
    // While 600 are reserved, another 600 do not fit.
    let e = l.admit(&req(&p, "m", 100, Some(500))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert!(
        e.message.starts_with("token rate limit exceeded"),
        "{}",
        e.message
    );
    a.reservation
        .settle(Usage {
            input: 100,
            output: 50,
        })
        .await;
    // 150 used: 850 left, so 800 fit now.
    let b = l.admit(&req(&p, "m", 300, Some(500))).await.unwrap();
    assert_eq!(b.headers.remaining_tokens, Some(50));
    b.reservation
        .settle(Usage {
            input: 300,
            output: 500,
        })
        .await;
    assert!(l.admit(&req(&p, "m", 100, Some(0))).await.is_err());
    // Rolling: after 6 s, 100 tokens refilled (1000/min).
    clock.advance(Duration::from_secs(6));
    let c = l.admit(&req(&p, "m", 100, Some(0))).await.unwrap();
    drop(c);
    // A request larger than the whole window never fits and says so, with no retry time.
    let e = l.admit(&req(&p, "m", 2000, Some(0))).await.unwrap_err();
    assert!(
        e.message.contains("this request needs 2000 tokens"),
        "{}",
        e.message
    );
    assert_eq!(e.retry_after_secs, None);
}

#[tokio::test]
async fn team_budget_is_shared_and_every_level_is_charged() {
    let clock = clock_at("2026-01-01T12:00:00Z");
    let c = cfg(r#"
[defaults.principal]
tokens_per_day = 1000
[defaults.key]
tokens_per_day = 900
[[rules]]
scope = { team = "payments" }
tokens_per_day = 1500
[[rules]]
tokens_per_day = 100000
"#);
    let l = limiter(c, &clock).await;
    let alice = principal("user:alice", Some("payments"), Some("ka"));
    let bob = principal("user:bob", Some("payments"), Some("kb"));
    let a = l.admit(&req(&alice, "m", 700, Some(0))).await.unwrap();
    a.reservation
        .settle(Usage {
            input: 700,
            output: 0,
        })
        .await;
    let b = l.admit(&req(&bob, "m", 700, Some(0))).await.unwrap();
    b.reservation
        .settle(Usage {
            input: 700,
            output: 0,
        })
        .await;
    // Bob has 300 left as a user and 200 on his key, but the team has only 100.
    let e = l.admit(&req(&bob, "m", 150, Some(0))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::BudgetExceeded);
    assert_eq!(
        e.message,
        "token limit exceeded: team payments, 1500 tokens per day; resets in 12h0m"
    );
    let e = l.admit(&req(&alice, "m", 250, Some(0))).await.unwrap_err();
    assert!(
        e.message
            .starts_with("token limit exceeded: key ka, 900 tokens per day"),
        "{}",
        e.message
    );
    // Every level was charged: remaining() shows the same 1400 at team and org level.
    let rem = l
        .remaining(&SubjectRef {
            principal: &alice,
            model: "m",
            provider: "openai",
            overrides: None,
        })
        .await;
    let used = |scope: &str| rem.iter().find(|r| r.scope == scope).unwrap().used;
    assert_eq!(used("principal user:alice"), 700);
    assert_eq!(used("key ka"), 700);
    assert_eq!(used("team payments"), 1400);
    assert_eq!(used("organization"), 1400);
    // A member of another team is not affected by payments' budget.
    let carol = principal("user:carol", Some("search"), None);
    assert!(l.admit(&req(&carol, "m", 900, Some(0))).await.is_ok());
}

#[tokio::test]
async fn cost_budget_uses_the_price_table_and_refunds() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let c = cfg(r#"
[prices."gpt-4o-mini"]
input_per_mtok = 0.15
output_per_mtok = 0.6
[[rules]]
scope = { team = "payments" }
cost_per_day_usd = 1.0
"#);
    let l = limiter(c, &clock).await;
    let p = principal("user:alice", Some("payments"), None);
    // 1M input + 1M output = $0.75 reserved.
    let a = l
        .admit(&req(&p, "gpt-4o-mini", 1_000_000, Some(1_000_000)))
        .await
        .unwrap();
    assert_eq!(a.reservation.reserved_cost_micros(), 750_000);
    let e = l
        .admit(&req(&p, "gpt-4o-mini", 1_000_000, Some(1_000_000)))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::BudgetExceeded);
    assert!(
        e.message
            .starts_with("cost budget exceeded: team payments, $1.00 per day; resets in"),
        "{}",
        e.message
    );
    // Actual: 1M input, no output → $0.15; $0.85 left.
    a.reservation
        .settle(Usage {
            input: 1_000_000,
            output: 0,
        })
        .await;
    assert!(
        l.admit(&req(&p, "gpt-4o-mini", 1_000_000, Some(1_000_000)))
            .await
            .is_ok()
    );
    // A model without a price cannot be measured against a cost budget: refused.
    let e = l.admit(&req(&p, "unpriced", 1, Some(1))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(e.message.contains("no price"), "{}", e.message);
}

#[tokio::test]
async fn concurrency_is_released_on_settle_and_on_drop() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let l = limiter(cfg("[defaults.key]\nconcurrent = 2"), &clock).await;
    let p = principal("service:bot", None, Some("k1"));
    let a = l.admit(&req(&p, "m", 1, Some(1))).await.unwrap();
    let b = l.admit(&req(&p, "m", 1, Some(1))).await.unwrap();
    let e = l.admit(&req(&p, "m", 1, Some(1))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert!(
        e.message
            .starts_with("concurrency limit exceeded: key k1, 2 requests in flight")
    );
    drop(a); // a cancelled request
    let c = l.admit(&req(&p, "m", 1, Some(1))).await.unwrap();
    b.reservation.settle(Usage::default()).await;
    let d = l.admit(&req(&p, "m", 1, Some(1))).await.unwrap();
    assert!(l.admit(&req(&p, "m", 1, Some(1))).await.is_err());
    drop((c, d));
}

#[tokio::test]
async fn dropped_reservation_charges_the_reserved_input_and_no_output() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let l = limiter(cfg("[defaults.principal]\ntokens_per_day = 1000"), &clock).await;
    let p = principal("user:dora", None, None);
    let a = l.admit(&req(&p, "m", 300, Some(400))).await.unwrap();
    drop(a);
    let rem = l
        .remaining(&SubjectRef {
            principal: &p,
            model: "m",
            provider: "openai",
            overrides: None,
        })
        .await;
    assert_eq!(rem[0].used, 300);
    assert_eq!(rem[0].remaining, 700);
}

#[tokio::test]
async fn daily_budget_resets_at_midnight_in_the_configured_zone() {
    // 2026-06-30 23:30 in Tokyo is 14:30 UTC.
    let clock = clock_at("2026-06-30T14:30:00Z");
    let c = cfg(
        "timezone = \"Asia/Tokyo\"\n[defaults.principal]\ntokens_per_day = 100\ncost_per_month_usd = 1\n[prices.m]\ninput_per_mtok = 1000\noutput_per_mtok = 1000",
    );
    let l = limiter(c, &clock).await;
    let p = principal("user:erin", None, None);
    let a = l.admit(&req(&p, "m", 100, Some(0))).await.unwrap();
    a.reservation
        .settle(Usage {
            input: 100,
            output: 0,
        })
        .await;
    let e = l.admit(&req(&p, "m", 1, Some(0))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::BudgetExceeded);
    assert!(e.message.ends_with("resets in 30m0s"), "{}", e.message);
    assert_eq!(e.retry_after_secs, Some(1800));
    // 15:00 UTC is midnight in Tokyo (a UTC day would not have reset).
    clock.advance(Duration::from_secs(30 * 60));
    let a = l.admit(&req(&p, "m", 100, Some(0))).await.unwrap();
    a.reservation
        .settle(Usage {
            input: 100,
            output: 0,
        })
        .await;
    // The month budget ($1 = 1000 tokens at $1000/Mtok) carried over the day but reset with July.
    let rem = l
        .remaining(&SubjectRef {
            principal: &p,
            model: "m",
            provider: "openai",
            overrides: None,
        })
        .await;
    let month = rem
        .iter()
        .find(|r| r.limit_name == "cost_per_month_usd")
        .unwrap();
    assert_eq!(
        month.used, 100_000,
        "it is July 1st in Tokyo: only today's 100 tokens"
    );
}

#[tokio::test]
async fn cooldown_after_repeated_rejections() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let c = cfg(
        "[cooldown]\nmax_rejections = 3\nwindow_secs = 60\nduration_secs = 300\n[defaults.principal]\nrequests_per_second = 1",
    );
    let l = limiter(c, &clock).await;
    let p = principal("user:mallory", None, None);
    assert!(l.admit(&req(&p, "m", 1, Some(0))).await.is_ok());
    // Guardrail blocks reported by the server count…
    assert!(!l.record_rejection("user:mallory").await);
    // …and so do the limiter's own refusals (2 more → 3 in the window).
    assert!(l.admit(&req(&p, "m", 1, Some(0))).await.is_err());
    let e = l.admit(&req(&p, "m", 1, Some(0))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    clock.advance(Duration::from_secs(10));
    let e = l.admit(&req(&p, "m", 1, Some(0))).await.unwrap_err();
    assert!(e.message.starts_with("cooldown:"), "{}", e.message);
    assert_eq!(e.retry_after_secs, Some(290));
    assert_eq!(l.counters().cooldowns_started, 1);
    // Others are not affected; the principal is let through after the cool-down.
    let q = principal("user:quiet", None, None);
    assert!(l.admit(&req(&q, "m", 1, Some(0))).await.is_ok());
    clock.advance(Duration::from_secs(290));
    assert!(l.admit(&req(&p, "m", 1, Some(0))).await.is_ok());
}

#[tokio::test]
async fn max_tokens_is_clamped_and_long_prompts_refused() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let c = cfg(r#"
default_output_allowance = 4096
[[rules]]
scope = { team = "payments", model = "gpt-4o" }
max_prompt_tokens = 8000
max_output_tokens = 1024
[[rules]]
scope = { team = "payments" }
max_output_tokens = 2048
"#);
    let l = limiter(c, &clock).await;
    let p = principal("user:alice", Some("payments"), None);
    let a = l.admit(&req(&p, "gpt-4o", 10, Some(4000))).await.unwrap();
    assert_eq!(a.clamp_max_output, Some(1024), "the smallest clamp wins");
    assert_eq!(a.reservation.reserved_tokens(), 1034);
    let a = l.admit(&req(&p, "gpt-4o", 10, Some(500))).await.unwrap();
    assert_eq!(a.clamp_max_output, None, "a smaller request is left alone");
    let a = l.admit(&req(&p, "gpt-4o", 10, None)).await.unwrap();
    assert_eq!(
        a.clamp_max_output,
        Some(1024),
        "no max_tokens: the clamp is set"
    );
    let a = l.admit(&req(&p, "other", 10, None)).await.unwrap();
    assert_eq!(a.clamp_max_output, Some(2048));
    let e = l
        .admit(&req(&p, "gpt-4o", 8001, Some(1)))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert_eq!(
        e.message,
        "prompt too long: 8001 tokens, the limit is 8000 tokens"
    );
    // Another team: no clamp, the configured allowance is reserved.
    let q = principal("user:zed", Some("search"), None);
    let a = l.admit(&req(&q, "gpt-4o", 10, None)).await.unwrap();
    assert_eq!(a.clamp_max_output, None);
    assert_eq!(a.reservation.reserved_tokens(), 4106);
}

#[tokio::test]
async fn prompt_text_is_counted_with_the_model_tokenizer() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let l = limiter(cfg("[defaults.principal]\nmax_prompt_tokens = 2"), &clock).await;
    let p = principal("user:alice", None, None);
    let mut r = req(&p, "gpt-4o", 0, Some(0));
    r.prompt = Prompt::Text("hello world");
    assert_eq!(l.admit(&r).await.unwrap().prompt_tokens, 2);
    r.model = "claude-3-haiku"; // estimated: 11 bytes / 3 → 4
    assert!(l.admit(&r).await.is_err());
}

#[tokio::test]
async fn key_overrides_replace_key_defaults() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let l = limiter(cfg("[defaults.key]\nrequests_per_minute = 1"), &clock).await;
    let p = principal("service:bot", None, Some("k9"));
    let over: LimitOverrides = serde_json::from_str(r#"{"requests_per_minute": 3}"#).unwrap();
    let mut r = req(&p, "m", 1, Some(0));
    r.overrides = Some(&over);
    let mut ok = 0;
    for _ in 0..5 {
        if l.admit(&r).await.is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 3);
}

#[tokio::test]
async fn headers_describe_the_tightest_limits() {
    let clock = clock_at("2026-01-01T00:00:00Z");
    let c = cfg(r#"
[defaults.principal]
requests_per_minute = 60
tokens_per_minute = 10000
[[rules]]
requests_per_second = 5
"#);
    let l = limiter(c, &clock).await;
    let p = principal("user:alice", None, None);
    let a = l.admit(&req(&p, "m", 100, Some(100))).await.unwrap();
    let h = a.headers.pairs();
    let get = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
    assert_eq!(get("x-ratelimit-limit-requests").as_deref(), Some("5"));
    assert_eq!(get("x-ratelimit-remaining-requests").as_deref(), Some("4"));
    assert_eq!(get("x-ratelimit-reset-requests").as_deref(), Some("200ms"));
    assert_eq!(get("x-ratelimit-limit-tokens").as_deref(), Some("10000"));
    assert_eq!(get("x-ratelimit-remaining-tokens").as_deref(), Some("9800"));
    assert_eq!(get("x-ratelimit-reset-tokens").as_deref(), Some("2s"));
}

#[tokio::test]
async fn futures_and_reservations_can_cross_threads() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let clock = clock_at("2026-01-01T00:00:00Z");
    let l = limiter(cfg("[defaults.principal]\nconcurrent = 1"), &clock).await;
    let p = principal("user:alice", None, None);
    let r = req(&p, "m", 1, Some(1));
    let a = assert_send(l.admit(&r)).await.unwrap();
    // A reservation moved to another task and settled there releases the slot.
    let h = tokio::spawn(assert_send(a.reservation.settle(Usage {
        input: 1,
        output: 1,
    })));
    h.await.unwrap();
    assert!(l.admit(&r).await.is_ok());
}
