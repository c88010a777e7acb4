//! Property tests of the limiter algorithms over random arrival patterns (manual clock).

use super::*;
use proptest::prelude::*;
use std::time::Duration;

fn run<F: std::future::Future<Output = Result<(), TestCaseError>>>(
    f: F,
) -> Result<(), TestCaseError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// GCRA with a limit of N per minute: in any window of length W there are at most
    /// N (the burst) + N·W/60 s (the refill) admissions, whatever the arrival pattern — so
    /// never the 2N-in-a-moment of fixed buckets at a boundary.
    #[test]
    fn request_rate_never_exceeds_burst_plus_refill(
        gaps_ms in prop::collection::vec(0u64..4_000, 1..150),
        limit in 1u32..20,
    ) {
        run(async {
            let clock = clock_at("2026-03-29T00:59:00Z");
            let l = limiter(cfg(&format!("[defaults.principal]\nrequests_per_minute = {limit}")), &clock).await;
            let p = principal("user:prop", None, None);
            let mut at_ms: Vec<i64> = Vec::new();
            let mut t = 0i64;
            for g in gaps_ms {
                clock.advance(Duration::from_millis(g));
                t += i64::try_from(g).unwrap();
                if let Ok(a) = l.admit(&req(&p, "m", 1, Some(0))).await {
                    a.reservation.settle(Usage { input: 1, output: 0 }).await;
                    at_ms.push(t);
                }
            }
            let limit = i64::from(limit);
            for (i, &start) in at_ms.iter().enumerate() {
                for w in [1i64, 1_000, 15_000, 60_000, 120_000] {
                    let n = at_ms[i..].iter().take_while(|&&x| x < start + w).count() as i64;
                    let bound = limit + (w * limit + 59_999) / 60_000;
                    prop_assert!(n <= bound, "{n} admissions in {w} ms from {start} (limit {limit}/min)");
                }
            }
            Ok(())
        })?;
    }

    /// Requests spaced at least one emission interval apart are never refused.
    #[test]
    fn evenly_spaced_requests_are_always_admitted(limit in 1u32..60, n in 1usize..80, extra_ms in 0u64..500) {
        run(async {
            let clock = clock_at("2026-10-25T00:30:00Z");
            let l = limiter(cfg(&format!("[defaults.principal]\nrequests_per_minute = {limit}")), &clock).await;
            let p = principal("user:even", None, None);
            let interval = Duration::from_millis(60_000 / u64::from(limit) + extra_ms);
            for i in 0..n {
                let r = l.admit(&req(&p, "m", 1, Some(0))).await;
                prop_assert!(r.is_ok(), "request {i} refused at interval {interval:?}");
                if let Ok(a) = r {
                    a.reservation.settle(Usage { input: 1, output: 0 }).await;
                }
                clock.advance(interval);
            }
            Ok(())
        })?;
    }

    /// A daily token budget: whatever the sizes, the tokens charged within one calendar day never
    /// exceed the budget by more than the last request's overrun at settle, and a refused request
    /// charges nothing.
    #[test]
    fn a_daily_token_budget_holds(sizes in prop::collection::vec(1u32..400, 1..60), budget in 100u64..2_000) {
        run(async {
            let clock = clock_at("2026-06-01T08:00:00Z");
            let l = limiter(cfg(&format!("[defaults.principal]\ntokens_per_day = {budget}")), &clock).await;
            let p = principal("user:budget", None, None);
            let mut charged = 0u64;
            for s in sizes {
                match l.admit(&req(&p, "m", s, Some(0))).await {
                    Ok(a) => {
                        prop_assert!(charged + u64::from(s) <= budget, "admitted past the budget");
                        a.reservation.settle(Usage { input: s, output: 0 }).await;
                        charged += u64::from(s);
                    }
                    Err(e) => prop_assert_eq!(e.code, gatehouse_core::ErrorCode::BudgetExceeded),
                }
                clock.advance(Duration::from_secs(60));
            }
            prop_assert!(charged <= budget);
            Ok(())
        })?;
    }
}
