//! In-memory admit (+ settle) latency: `cargo bench -p gatehouse-limits --bench admit`.
//!
//! With `GATEHOUSE_BENCH_REDIS_URL` set, the Redis variants measure one admit (one EVALSHA round
//! trip) and one settle against that server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::print_stdout
)]

use gatehouse_core::Principal;
use gatehouse_limits::*;

fn main() {
    if std::env::var_os("GATEHOUSE_BENCH_P99").is_some() {
        percentiles();
        return;
    }
    divan::main();
}

/// Latency percentiles of single admit+settle calls (divan reports medians and means only):
/// `GATEHOUSE_BENCH_P99=1 cargo bench -p gatehouse-limits --bench admit`.
fn percentiles() {
    let (rt, l, p) = setup("");
    let mut ns: Vec<u64> = Vec::with_capacity(200_000);
    rt.block_on(async {
        for i in 0..220_000u32 {
            let t = std::time::Instant::now();
            let a = l.admit(&request(&p, Prompt::Tokens(500))).await.unwrap();
            let admit = t.elapsed();
            a.reservation
                .settle(Usage {
                    input: 500,
                    output: 100,
                })
                .await;
            if i >= 20_000 {
                ns.push(u64::try_from(admit.as_nanos()).unwrap());
            }
        }
    });
    ns.sort_unstable();
    let q = |f: f64| ns[((ns.len() as f64 - 1.0) * f) as usize];
    println!(
        "memory admit (5 counters, 3 rules), {} samples: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        ns.len(),
        q(0.5),
        q(0.99),
        q(0.999),
        ns[ns.len() - 1]
    );
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

const LIMITS: &str = r#"
[prices."gpt-4o-mini"]
input_per_mtok = 0.15
output_per_mtok = 0.6
[defaults.principal]
requests_per_minute = 1000000000
tokens_per_minute = 1000000000000
tokens_per_day = 1000000000000
[defaults.key]
concurrent = 1000
[[rules]]
scope = { team = "payments" }
cost_per_month_usd = 1000000000
max_output_tokens = 1024
"#;

fn setup(extra: &str) -> (tokio::runtime::Runtime, Limiter, Principal) {
    let rt = rt();
    let cfg: LimitsConfig = toml::from_str(&format!("{extra}\n{LIMITS}")).unwrap();
    let l = rt.block_on(Limiter::new(cfg, None)).unwrap();
    let mut p = Principal::new("user:alice").unwrap();
    p.team = Some("payments".into());
    p.key_id = Some("k1".into());
    (rt, l, p)
}

fn request<'a>(p: &'a Principal, prompt: Prompt<'a>) -> AdmitRequest<'a> {
    AdmitRequest {
        principal: p,
        model: "gpt-4o-mini",
        provider: "openai",
        prompt,
        requested_max_output: Some(256),
        overrides: None,
    }
}

/// Admit with a known token count, 5 counters over 3 rules, then settle.
#[divan::bench]
fn memory_admit_settle(b: divan::Bencher) {
    let (rt, l, p) = setup("");
    b.bench_local(|| {
        rt.block_on(async {
            let a = l.admit(&request(&p, Prompt::Tokens(500))).await.unwrap();
            a.reservation
                .settle(Usage {
                    input: 500,
                    output: 100,
                })
                .await;
        })
    });
}

/// Admit only (the reservation is dropped: memory settle in Drop).
#[divan::bench]
fn memory_admit_drop(b: divan::Bencher) {
    let (rt, l, p) = setup("");
    b.bench_local(|| rt.block_on(async { drop(l.admit(&request(&p, Prompt::Tokens(500))).await) }));
}

/// Admit with a 2 KB prompt counted with o200k.
#[divan::bench]
fn memory_admit_2kb_prompt_text(b: divan::Bencher) {
    let (rt, l, p) = setup("");
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(46);
    b.bench_local(|| rt.block_on(async { drop(l.admit(&request(&p, Prompt::Text(&text))).await) }));
}

/// One admit + one settle on Redis (two round trips), if `GATEHOUSE_BENCH_REDIS_URL` is set.
#[divan::bench(sample_count = 200)]
fn redis_admit_settle(b: divan::Bencher) {
    let Ok(url) = std::env::var("GATEHOUSE_BENCH_REDIS_URL") else {
        return;
    };
    let prefix = format!("bench{:x}", rand::random::<u32>());
    let (rt, l, p) = setup(&format!(
        "backend = \"redis\"\nredis_url = \"{url}\"\nredis_prefix = \"{prefix}:\"\n"
    ));
    b.bench_local(|| {
        rt.block_on(async {
            let a = l.admit(&request(&p, Prompt::Tokens(500))).await.unwrap();
            a.reservation
                .settle(Usage {
                    input: 500,
                    output: 100,
                })
                .await;
        })
    });
}
