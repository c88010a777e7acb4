//! The Redis backend: a shared server (`GATEHOUSE_TEST_REDIS_URL`, random key prefixes) for the
//! multi-instance tests, and private `redis-server` processes for outages and round trips.

use super::*;
use gatehouse_core::ErrorCode;
use std::time::Duration;

fn redis_cfg(url: &str, prefix: &str, extra: &str) -> LimitsConfig {
    cfg(&format!(
        "backend = \"redis\"\nredis_url = \"{url}\"\nredis_prefix = \"{prefix}:\"\n{extra}"
    ))
}

async fn instances(url: &str, prefix: &str, extra: &str) -> Vec<Limiter> {
    let mut v = Vec::new();
    for _ in 0..3 {
        v.push(
            Limiter::new(redis_cfg(url, prefix, extra), None)
                .await
                .unwrap(),
        );
    }
    v
}

/// 3 instances × 16 tasks × `per_task` attempts; returns the admissions still held.
async fn hammer(ls: &[Limiter], user: &str, per_task: usize) -> Vec<Admission> {
    let mut tasks = tokio::task::JoinSet::new();
    for l in ls {
        for _ in 0..16 {
            let l = l.clone();
            let user = user.to_owned();
            tasks.spawn(async move {
                let p = principal(&format!("user:{user}"), Some("t"), None);
                let mut held = Vec::new();
                for _ in 0..per_task {
                    match l.admit(&req(&p, "m", 10, Some(0))).await {
                        Ok(a) => held.push(a),
                        Err(e) => assert!(
                            matches!(e.code, ErrorCode::RateLimited | ErrorCode::BudgetExceeded),
                            "{e}"
                        ),
                    }
                }
                held
            });
        }
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_admit_exactly_n() {
    let Some(url) = redis_url() else { return };
    let prefix = random_name();
    let extra = r#"
[[rules]]
scope = { user = "rpm" }
requests_per_minute = 10
[[rules]]
scope = { user = "budget" }
tokens_per_day = 250
[[rules]]
scope = { user = "conc" }
concurrent = 7
"#;
    let ls = instances(&url, &prefix, extra).await;
    let rpm = hammer(&ls, "rpm", 6).await;
    assert_eq!(
        rpm.len(),
        10,
        "requests_per_minute = 10 across three instances"
    );
    for a in rpm {
        a.reservation
            .settle(Usage {
                input: 10,
                output: 0,
            })
            .await;
    }
    let budget = hammer(&ls, "budget", 6).await;
    assert_eq!(
        budget.len(),
        25,
        "250 tokens per day at 10 tokens a request"
    );
    for a in budget {
        a.reservation
            .settle(Usage {
                input: 10,
                output: 0,
            })
            .await;
    }
    let held = hammer(&ls, "conc", 4).await;
    assert_eq!(held.len(), 7, "7 in flight across three instances");
    // Settling releases the slots everywhere.
    for a in held {
        a.reservation.settle(Usage::default()).await;
    }
    let again = hammer(&ls, "conc", 1).await;
    assert_eq!(again.len(), 7);
    // Dropped reservations are settled on Redis by the instance's next call.
    drop(again);
    let p = principal("user:conc", Some("t"), None);
    for l in &ls {
        l.flush_pending().await;
    }
    let rem = ls[0]
        .remaining(&SubjectRef {
            principal: &p,
            model: "m",
            provider: "openai",
            overrides: None,
        })
        .await;
    assert_eq!(rem[0].limit_name, "concurrent");
    assert_eq!(rem[0].used, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_and_budget_messages_on_redis() {
    let Some(url) = redis_url() else { return };
    let prefix = random_name();
    let extra = "timezone = \"Europe/Berlin\"\n[defaults.team]\ntokens_per_day = 1000\ntokens_per_minute = 5000\n";
    let l = Limiter::new(redis_cfg(&url, &prefix, extra), None)
        .await
        .unwrap();
    let alice = principal("user:alice", Some("payments"), None);
    let bob = principal("user:bob", Some("payments"), None);
    let a = l.admit(&req(&alice, "m", 100, Some(800))).await.unwrap();
    assert_eq!(a.headers.remaining_tokens, Some(100));
    let e = l.admit(&req(&bob, "m", 100, Some(100))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::BudgetExceeded);
    assert!(
        e.message
            .starts_with("token limit exceeded: team payments, 1000 tokens per day; resets in"),
        "{}",
        e.message
    );
    assert!(e.retry_after_secs.is_some());
    a.reservation
        .settle(Usage {
            input: 100,
            output: 50,
        })
        .await;
    // 150 used: 850 left for the team, shared by bob.
    let b = l.admit(&req(&bob, "m", 100, Some(700))).await.unwrap();
    assert_eq!(b.headers.remaining_tokens, Some(50));
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldown_is_shared_through_redis() {
    let Some(url) = redis_url() else { return };
    let prefix = random_name();
    let extra = "[cooldown]\nmax_rejections = 2\nwindow_secs = 60\nduration_secs = 60\n[[rules]]\nscope = { user = \"spammer\" }\nrequests_per_minute = 1\n";
    let ls = instances(&url, &prefix, extra).await;
    let p = principal("user:mallory", None, None);
    assert!(ls[0].admit(&req(&p, "m", 1, Some(0))).await.is_ok());
    assert!(!ls[0].record_rejection("user:mallory").await);
    assert!(ls[1].record_rejection("user:mallory").await);
    let e = ls[2].admit(&req(&p, "m", 1, Some(0))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert!(e.message.starts_with("cooldown:"), "{}", e.message);
    assert!(e.retry_after_secs.is_some_and(|s| s <= 60));
    // The limiter's own refusals count too (inside the admit script, no extra round trip).
    let s = principal("user:spammer", None, None);
    assert!(ls[0].admit(&req(&s, "m", 1, Some(0))).await.is_ok());
    for l in &ls[1..] {
        let e = l.admit(&req(&s, "m", 1, Some(0))).await.unwrap_err();
        assert!(
            e.message.starts_with("request rate limit exceeded"),
            "{}",
            e.message
        );
    }
    assert_eq!(ls[2].counters().cooldowns_started, 1);
    let e = ls[0].admit(&req(&s, "m", 1, Some(0))).await.unwrap_err();
    assert!(e.message.starts_with("cooldown:"), "{}", e.message);
}

/// A `redis-server` child on a fixed port, killed on drop.
struct Server {
    child: std::process::Child,
    port: u16,
}

impl Server {
    fn start(port: u16) -> Option<Server> {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let s = Server { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn have_redis_server() -> bool {
    let ok = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: no redis-server binary to start a private Redis");
    }
    ok
}

/// Calls per command name (`INFO commandstats`).
async fn command_calls(url: &str) -> std::collections::BTreeMap<String, u64> {
    let client = ::redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = ::redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut con)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// Commands the client sent between two snapshots: script-internal commands (which Redis
/// counts too) and our own INFO calls left out.
fn client_commands(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    const IN_SCRIPTS: [&str; 14] = [
        "time",
        "get",
        "set",
        "pttl",
        "ttl",
        "expire",
        "pexpire",
        "incrby",
        "incr",
        "zadd",
        "zcard",
        "zremrangebyscore",
        "zrem",
        "del",
    ];
    after
        .iter()
        .filter(|(k, _)| !IN_SCRIPTS.contains(&k.as_str()) && k.as_str() != "info")
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, d)| *d > 0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_per_admit() {
    if !have_redis_server() {
        return;
    }
    let server = Server::start(free_port()).expect("redis-server starts");
    let extra = "[defaults.principal]\nrequests_per_minute = 1000\ntokens_per_day = 1000000\nconcurrent = 100\n[defaults.team]\ntokens_per_minute = 100000\n[[rules]]\ncost_per_month_usd = 100\n[prices.m]\ninput_per_mtok = 1\noutput_per_mtok = 1\n";
    let l = Limiter::new(redis_cfg(&server.url(), "rt", extra), None)
        .await
        .unwrap();
    let p = principal("user:alice", Some("payments"), Some("k1"));
    // Warm-up: connection set-up and loading the script.
    drop(l.admit(&req(&p, "m", 10, Some(10))).await.unwrap());
    l.flush_pending().await;
    let mut held = Vec::new();
    let before = command_calls(&server.url()).await;
    for _ in 0..20 {
        held.push(l.admit(&req(&p, "m", 10, Some(10))).await.unwrap());
    }
    let after = command_calls(&server.url()).await;
    // 20 admits over 5 counters each: 20 EVALSHA, nothing else.
    let sent = client_commands(&before, &after);
    assert_eq!(sent, [("evalsha".to_owned(), 20)].into_iter().collect());
    let before = after;
    for a in held {
        a.reservation
            .settle(Usage {
                input: 10,
                output: 5,
            })
            .await;
    }
    let after = command_calls(&server.url()).await;
    let sent = client_commands(&before, &after);
    assert_eq!(
        sent,
        [("evalsha".to_owned(), 20)].into_iter().collect(),
        "one round trip per settle"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_closed_or_falls_back_and_recovers() {
    if !have_redis_server() {
        return;
    }
    let port = free_port();
    let server = Server::start(port).expect("redis-server starts");
    let url = server.url();
    let extra = "redis_timeout_ms = 200\n[defaults.principal]\nrequests_per_minute = 3\n";
    let closed = Limiter::new(redis_cfg(&url, "c", extra), None)
        .await
        .unwrap();
    let local = Limiter::new(
        redis_cfg(&url, "l", &format!("on_redis_error = \"local\"\n{extra}")),
        None,
    )
    .await
    .unwrap();
    let p = principal("user:alice", None, None);
    assert!(closed.admit(&req(&p, "m", 1, Some(0))).await.is_ok());
    assert!(local.admit(&req(&p, "m", 1, Some(0))).await.is_ok());
    assert!(closed.health().await.ready);

    drop(server);
    // Fail closed: `unavailable`, and not ready.
    let e = closed.admit(&req(&p, "m", 1, Some(0))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable);
    assert!(
        e.message.starts_with("rate limiter unavailable"),
        "{}",
        e.message
    );
    let h = closed.health().await;
    assert!(!h.ready && h.redis_ok == Some(false));
    assert!(closed.counters().rejected_unavailable >= 1);
    // Local fallback: the same limits, per instance (3 per minute here, in memory).
    let mut ok = 0;
    for _ in 0..5 {
        if local.admit(&req(&p, "m", 1, Some(0))).await.is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 3);
    let h = local.health().await;
    assert!(h.ready && h.degraded);
    assert_eq!(local.counters().fallback_admits, 3);

    // Redis comes back on the same port: both recover by themselves.
    let _server = Server::start(port).expect("redis-server restarts");
    let mut recovered = false;
    for _ in 0..100 {
        if closed.admit(&req(&p, "m", 1, Some(0))).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "admits again once Redis is back");
    assert!(closed.health().await.ready);
    let h = local.health().await;
    assert!(h.ready && !h.degraded);
}
