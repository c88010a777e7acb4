//! Gatehouse load benchmark.
//!
//! Starts a fast mock upstream (in this process), starts `gatehouse serve` (a separate process,
//! the release binary) in front of it with identify (API key), authorize, an output-inspection
//! stage (blocklist, also on streams) and the record stage (JSONL audit) on, and drives both the
//! direct path and the gateway path in the same run with a 2 KB chat prompt:
//!
//! 1. one connection, closed loop: latency percentiles; added = gateway − direct;
//! 2. fixed request rates (open loop: requests are sent on a fixed schedule whatever the answers
//!    do; requests that start more than 2 ms behind their slot are counted, so a stall is not
//!    hidden by coordinated omission);
//! 3. 32 connections, closed loop: maximum throughput;
//! 4. streaming: time to first token, direct vs gateway;
//! 5. the gateway's resident memory after the load.
//!
//! Results go to stdout and, with `--out FILE`, to a Markdown report.
//!
//! `--audit [--events N] [--pg-url URL]` instead measures the audit writer alone (in process):
//! events/s into the SQLite sink and, with a PostgreSQL URL (`--pg-url` or
//! `GATEHOUSE_TEST_POSTGRES_URL`), into the PostgreSQL sink (a fresh schema per run, dropped
//! afterwards), each non-strict (queued, batched) and strict (each event awaited, 64 in flight).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

const COMPLETION: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},"finish_reason":"stop"}],"usage":{"prompt_tokens":512,"completion_tokens":10,"total_tokens":522}}"#;

type BoxBody = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

fn chunk(content: &str) -> Bytes {
    Bytes::from(format!(
        "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"b\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":null}}]}}\n\n"
    ))
}

async fn upstream_handler(
    req: http::Request<Incoming>,
) -> Result<http::Response<BoxBody>, std::convert::Infallible> {
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let stream = body.windows(13).any(|w| w == b"\"stream\":true");
    if stream {
        // First chunk at once, then 20 chunks 5 ms apart.
        let s = futures_util::stream::unfold(0u32, |i| async move {
            match i {
                0 => Some((Ok(Frame::data(chunk("Hello"))), 1)),
                1..=20 => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Some((Ok(Frame::data(chunk(&format!(" word{i}")))), i + 1))
                }
                21 => Some((
                    Ok(Frame::data(Bytes::from_static(
                        b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"b\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
                    ))),
                    22,
                )),
                _ => None,
            }
        });
        let body = BodyExt::boxed(http_body_util::StreamBody::new(s));
        return Ok(http::Response::builder()
            .header("content-type", "text/event-stream")
            .body(body)
            .unwrap());
    }
    let body = BodyExt::boxed(Full::new(Bytes::from_static(COMPLETION.as_bytes())));
    Ok(http::Response::builder()
        .header("content-type", "application/json")
        .body(body)
        .unwrap())
}

async fn mock_upstream(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(upstream_handler);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

struct Target {
    addr: SocketAddr,
    auth: Option<String>,
}

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

fn request(t: &Target, body: &Bytes) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::post("/v1/chat/completions")
        .header("host", "bench")
        .header("content-type", "application/json");
    if let Some(a) = &t.auth {
        b = b.header("authorization", a);
    }
    b.body(Full::new(body.clone())).unwrap()
}

/// One request; returns (latency, time to first body byte).
async fn one(
    sender: &mut SendRequest<Full<Bytes>>,
    t: &Target,
    body: &Bytes,
) -> (Duration, Duration) {
    let start = Instant::now();
    sender.ready().await.unwrap();
    let resp = sender.send_request(request(t, body)).await.unwrap();
    assert!(resp.status().is_success(), "status {}", resp.status());
    let mut body = resp.into_body();
    let mut first = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap();
        if first.is_none() && frame.data_ref().is_some_and(|d| !d.is_empty()) {
            first = Some(start.elapsed());
        }
    }
    let total = start.elapsed();
    (total, first.unwrap_or(total))
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[derive(Clone, Copy)]
struct Pcts {
    p50: Duration,
    p90: Duration,
    p99: Duration,
}

fn pcts(mut v: Vec<Duration>) -> Pcts {
    v.sort();
    Pcts {
        p50: pct(&v, 0.5),
        p90: pct(&v, 0.9),
        p99: pct(&v, 0.99),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn added(g: Duration, d: Duration) -> f64 {
    ms(g) - ms(d)
}

async fn closed_loop_one(t: &Target, body: &Bytes, n: usize, stream: bool) -> Vec<Duration> {
    let mut s = connect(t.addr).await;
    for _ in 0..n / 10 {
        one(&mut s, t, body).await; // warm-up
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (total, first) = one(&mut s, t, body).await;
        out.push(if stream { first } else { total });
    }
    out
}

/// Open loop at `rate` req/s for `secs` over `conns` connections.
async fn fixed_rate(
    t: &Target,
    body: &Bytes,
    rate: u64,
    secs: u64,
    conns: usize,
) -> (Vec<Duration>, usize) {
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let total = (rate * secs) as usize;
    let start = Instant::now() + Duration::from_millis(50);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Duration, bool)>();
    let per = total.div_ceil(conns);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let addr = t.addr;
        let auth = t.auth.clone();
        let body = body.clone();
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            let t = Target { addr, auth };
            let mut s = connect(t.addr).await;
            for k in 0..per {
                let idx = k * conns + c;
                if idx >= total {
                    break;
                }
                let scheduled = start + interval * idx as u32;
                tokio::time::sleep_until(scheduled.into()).await;
                // tokio's timer wakes up to 1 ms late; that slack is the generator's, not the
                // server's, so latency counts from the actual send. A request that could not
                // start within 2 ms of its slot (the server fell behind) is counted as late.
                let late_by = scheduled.elapsed();
                let (lat, _) = one(&mut s, &t, &body).await;
                let _ = tx.send((lat, late_by > Duration::from_millis(2)));
            }
        }));
    }
    drop(tx);
    for t in tasks {
        t.await.unwrap();
    }
    let mut v = Vec::new();
    let mut late = 0;
    while let Ok((d, l)) = rx.try_recv() {
        v.push(d);
        late += usize::from(l);
    }
    (v, late)
}

async fn max_throughput(t: &Target, body: &Bytes, conns: usize, secs: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let addr = t.addr;
        let auth = t.auth.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let t = Target { addr, auth };
            let mut s = connect(t.addr).await;
            let mut n = 0u64;
            while Instant::now() < deadline {
                one(&mut s, &t, &body).await;
                n += 1;
            }
            n
        }));
    }
    let mut n = 0;
    for t in tasks {
        n += t.await.unwrap();
    }
    n as f64 / secs as f64
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

struct Gateway(Child);
impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// `--audit`: SQLite and PostgreSQL sink throughput, in process.
fn audit_bench() -> anyhow::Result<()> {
    use gatehouse_audit::{AuditEvent, Auditor, AuditorConfig, CheckpointSigner, SinkSpec};
    let n: usize = arg("--events")
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let pg_url = arg("--pg-url").or_else(|| std::env::var("GATEHOUSE_TEST_POSTGRES_URL").ok());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let event = |i: usize| {
        let mut e = AuditEvent::new(
            format!("req_{i:012}"),
            gatehouse_core::Hop::ModelCall,
            "/v1/chat/completions",
            "invoke_model",
            "allow",
            200,
        );
        e.principal = Some("user:bench".into());
        e.model = Some("gpt-4o-mini".into());
        e.latency_us = 120;
        e
    };
    // The record stage as the request path sees it: events offered at 2,000/s (one every
    // 500 µs) for 5 s to the SQLite sink; the time each `record` call takes is what recording
    // adds to a request.
    for strict in [false, true] {
        let dir = tempfile::tempdir()?;
        let mut c = AuditorConfig::new(vec![SinkSpec::Sqlite(dir.path().join("audit.db"))]);
        c.strict = strict;
        c.spool_dir = dir.path().to_owned();
        c.signer = Some(std::sync::Arc::new(CheckpointSigner::generate()));
        let a = Auditor::start(c)?;
        let mut lat: Vec<u128> = Vec::with_capacity(10_000);
        rt.block_on(async {
            let start = Instant::now();
            for i in 0..10_000usize {
                let due = start + std::time::Duration::from_micros(500 * i as u64);
                let now = Instant::now();
                if due > now {
                    tokio::time::sleep(due - now).await;
                }
                let t = Instant::now();
                a.record(event(i)).await.unwrap();
                lat.push(t.elapsed().as_nanos());
            }
        });
        a.flush();
        lat.sort_unstable();
        let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!(
            "audit sqlite {} at 2000 events/s: record() p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs",
            if strict {
                "strict (waits for the durable write)"
            } else {
                "non-strict"
            },
            p(0.5),
            p(0.99),
            p(0.999)
        );
    }
    let mut kinds = vec!["sqlite"];
    match &pg_url {
        Some(url) => {
            let version: String = rt.block_on(async {
                let pool = sqlx::PgPool::connect(url).await?;
                let v: (String,) = sqlx::query_as("SHOW server_version")
                    .fetch_one(&pool)
                    .await?;
                anyhow::Ok(v.0)
            })?;
            println!("postgres server {version} (local, loopback)");
            kinds.push("postgres");
        }
        None => println!(
            "postgres skipped: set GATEHOUSE_TEST_POSTGRES_URL or pass --pg-url to measure it"
        ),
    }
    for kind in kinds {
        for strict in [false, true] {
            let dir = tempfile::tempdir()?;
            let schema = format!("gh_bench_{:016x}", rand::random::<u64>());
            let spec = match (kind, &pg_url) {
                ("postgres", Some(url)) => SinkSpec::Postgres {
                    url: url.clone(),
                    schema: schema.clone(),
                },
                _ => SinkSpec::Sqlite(dir.path().join("audit.db")),
            };
            let mut c = AuditorConfig::new(vec![spec]);
            c.strict = strict;
            c.queue = n.max(1);
            c.spool_dir = dir.path().to_owned();
            c.signer = Some(std::sync::Arc::new(CheckpointSigner::generate()));
            let a = Auditor::start(c)?;
            let n = if strict { n / 4 } else { n };
            let t = Instant::now();
            rt.block_on(async {
                if strict {
                    // 64 requests in flight, as under load: each waits for its durable write.
                    let mut tasks = Vec::new();
                    for w in 0..64 {
                        let a = a.clone();
                        tasks.push(tokio::spawn(async move {
                            for i in (w..n).step_by(64) {
                                a.record(event(i)).await.unwrap();
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                } else {
                    for i in 0..n {
                        a.record(event(i)).await.unwrap();
                    }
                }
            });
            a.flush();
            let secs = t.elapsed().as_secs_f64();
            let stats = a.stats();
            let dropped = stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
            let spooled = stats.spooled.load(std::sync::atomic::Ordering::Relaxed);
            drop(a);
            println!(
                "audit {kind} {}: {n} events in {secs:.2} s = {:.0} events/s (dropped {dropped}, spooled {spooled})",
                if strict {
                    "strict, 64 in flight"
                } else {
                    "non-strict"
                },
                n as f64 / secs
            );
            if let ("postgres", Some(url)) = (kind, &pg_url) {
                rt.block_on(async {
                    let pool = sqlx::PgPool::connect(url).await?;
                    let (rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) FROM {schema}.audit_events"
                    )))
                    .fetch_one(&pool)
                    .await?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE"
                    )))
                    .execute(&pool)
                    .await?;
                    anyhow::ensure!(rows == n as i64, "postgres holds {rows} rows, expected {n}");
                    anyhow::Ok(())
                })?;
            }
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--audit") {
        return audit_bench();
    }
    let gateway_bin = arg("--gateway").unwrap_or_else(|| "target/release/gatehouse".to_owned());
    let out = arg("--out");
    let scale: f64 = arg("--scale").and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let detectors = std::env::args().any(|a| a == "--detectors");
    // The load generator and the mock share one runtime with one worker: the gateway gets the
    // other core, as on a 2-core machine where everything shares the cores.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(run(gateway_bin, out, scale, detectors))
}

async fn run(
    gateway_bin: String,
    out: Option<String>,
    scale: f64,
    detectors: bool,
) -> anyhow::Result<()> {
    // `--audit-sink jsonl|sqlite|none` (default jsonl): compare the record stage's cost.
    let audit_sink = arg("--audit-sink").unwrap_or_else(|| "jsonl".to_owned());
    // `--extra FILE`: TOML appended to the gateway's config (e.g. to switch a stage off).
    let extra = match arg("--extra") {
        Some(p) => std::fs::read_to_string(p)?,
        None => String::new(),
    };
    let up = TcpListener::bind("127.0.0.1:0").await?;
    let up_addr = up.local_addr()?;
    tokio::spawn(mock_upstream(up));

    let dir = tempfile::tempdir()?;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let cfg = format!(
        r#"[server]
listen = "127.0.0.1:{port}"
[store]
path = "{db}"
[audit]
sink = "{sink}"
{audit_path}
[providers.up]
kind = "openai"
base_url = "http://{up_addr}/v1"
max_retries = 0
[[models]]
name = "bench"
provider = "up"
[guardrails]
blocklist = ["kryptonite", "exfiltrate-now", "do-not-say-this"]
{detect}
{extra}"#,
        db = dir.path().join("g.db").display(),
        sink = audit_sink,
        extra = extra,
        audit_path = match audit_sink.as_str() {
            "jsonl" => format!("path = \"{}\"", dir.path().join("audit.jsonl").display()),
            "sqlite" => format!("path = \"{}\"", dir.path().join("audit.db").display()),
            _ => String::new(),
        },
        detect = if detectors {
            "[detect]\n[injection]\n"
        } else {
            ""
        },
    );
    let cfg_path = dir.path().join("gatehouse.toml");
    std::fs::write(&cfg_path, cfg)?;
    let key_out = Command::new(&gateway_bin)
        .args(["keys", "create", "--principal", "user:bench", "--config"])
        .arg(&cfg_path)
        .output()?;
    anyhow::ensure!(
        key_out.status.success(),
        "keys create failed: {}",
        String::from_utf8_lossy(&key_out.stderr)
    );
    let key = String::from_utf8(key_out.stdout)?.trim().to_owned();
    let child = Command::new(&gateway_bin)
        .args(["serve", "--config"])
        .arg(&cfg_path)
        .env("GATEHOUSE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let _guard = Gateway(child);
    let gw_addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    for _ in 0..100 {
        if TcpStream::connect(gw_addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let direct = Target {
        addr: up_addr,
        auth: None,
    };
    let gateway = Target {
        addr: gw_addr,
        auth: Some(format!("Bearer {key}")),
    };

    // A 2 KB prompt of ordinary text.
    let sentence = "Please summarise the quarterly report for the operations team and list the three main risks. ";
    let mut prompt = String::new();
    while prompt.len() < 2048 {
        prompt.push_str(sentence);
    }
    prompt.truncate(2048);
    let body = Bytes::from(
        serde_json::json!({"model": "bench", "messages": [{"role": "user", "content": prompt}]})
            .to_string(),
    );
    let sbody = Bytes::from(
        serde_json::json!({"model": "bench", "stream": true, "messages": [{"role": "user", "content": prompt}]}).to_string(),
    );

    let n = (5000.0 * scale) as usize;
    let mut report = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    writeln!(
        report,
        "Machine: {cores} cores, {cpu}; load generator, mock upstream and gateway share the cores.\n"
    )?;

    // 1. One connection, closed loop, interleaved in blocks so drift hits both paths alike.
    let mut d_all = Vec::new();
    let mut g_all = Vec::new();
    for _ in 0..5 {
        d_all.extend(closed_loop_one(&direct, &body, n / 5, false).await);
        g_all.extend(closed_loop_one(&gateway, &body, n / 5, false).await);
    }
    let (d, g) = (pcts(d_all), pcts(g_all));
    writeln!(
        report,
        "## Non-streaming, 1 connection, closed loop ({n} requests per path, 2 KB prompt)\n"
    )?;
    writeln!(
        report,
        "| path | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|"
    )?;
    writeln!(
        report,
        "| direct | {:.3} | {:.3} | {:.3} |",
        ms(d.p50),
        ms(d.p90),
        ms(d.p99)
    )?;
    writeln!(
        report,
        "| gateway | {:.3} | {:.3} | {:.3} |",
        ms(g.p50),
        ms(g.p90),
        ms(g.p99)
    )?;
    writeln!(
        report,
        "| **added** | **{:.3}** | **{:.3}** | **{:.3}** |\n",
        added(g.p50, d.p50),
        added(g.p90, d.p90),
        added(g.p99, d.p99)
    )?;
    println!("{report}");

    // 2. Fixed rates.
    writeln!(
        report,
        "## Non-streaming, fixed rates (open loop, 16 connections, {}s per rate; latency from the actual send)\n",
        (5.0 * scale).max(1.0) as u64
    )?;
    writeln!(
        report,
        "| rate req/s | direct p50 | direct p99 | gateway p50 | gateway p99 | added p50 ms | added p90 ms | added p99 ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for rate in [500u64, 1000, 2000] {
        let secs = (5.0 * scale).max(1.0) as u64;
        let (dv, _) = fixed_rate(&direct, &body, rate, secs, 16).await;
        let (gv, late) = fixed_rate(&gateway, &body, rate, secs, 16).await;
        let (d, g) = (pcts(dv), pcts(gv));
        writeln!(
            report,
            "| {rate} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |{}",
            ms(d.p50),
            ms(d.p99),
            ms(g.p50),
            ms(g.p99),
            added(g.p50, d.p50),
            added(g.p90, d.p90),
            added(g.p99, d.p99),
            if late > 0 {
                format!(" ({late} gateway requests started > 2 ms behind schedule)")
            } else {
                String::new()
            }
        )?;
        println!("rate {rate} done");
    }
    writeln!(report)?;

    // 3. Throughput at 32 connections.
    let secs = (5.0 * scale).max(1.0) as u64;
    let dt = max_throughput(&direct, &body, 32, secs).await;
    let gt = max_throughput(&gateway, &body, 32, secs).await;
    writeln!(
        report,
        "## Non-streaming, 32 connections, closed loop ({secs}s each)\n"
    )?;
    writeln!(
        report,
        "| path | req/s |\n|---|---:|\n| direct | {dt:.0} |\n| gateway | {gt:.0} |\n"
    )?;
    let (rss, hwm) = rss_kib(pid);
    println!("throughput direct {dt:.0} gateway {gt:.0}");

    // 4. Streaming time to first token.
    let sn = (200.0 * scale) as usize;
    let ds = pcts(closed_loop_one(&direct, &sbody, sn, true).await);
    let gs = pcts(closed_loop_one(&gateway, &sbody, sn, true).await);
    writeln!(
        report,
        "## Streaming, time to first token, 1 connection ({sn} requests per path; output blocklist inspection on)\n"
    )?;
    writeln!(
        report,
        "| path | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|"
    )?;
    writeln!(
        report,
        "| direct | {:.3} | {:.3} | {:.3} |",
        ms(ds.p50),
        ms(ds.p90),
        ms(ds.p99)
    )?;
    writeln!(
        report,
        "| gateway | {:.3} | {:.3} | {:.3} |",
        ms(gs.p50),
        ms(gs.p90),
        ms(gs.p99)
    )?;
    writeln!(
        report,
        "| **added** | **{:.3}** | **{:.3}** | **{:.3}** |\n",
        added(gs.p50, ds.p50),
        added(gs.p90, ds.p90),
        added(gs.p99, ds.p99)
    )?;

    // 5. Memory.
    writeln!(
        report,
        "## Gateway memory\n\nResident after the 32-connection run: {:.1} MiB (peak {:.1} MiB).\n",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    )?;
    println!("{report}");
    if let Some(path) = out {
        std::fs::write(path, report)?;
    }
    Ok(())
}
