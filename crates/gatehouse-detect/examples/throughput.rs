//! Measures scan throughput (MB/s, one thread) of PII + secrets on generated mixed English text.
//!
//! `cargo run --release -p gatehouse-detect --example throughput [MB]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use gatehouse_core::Direction;
use gatehouse_detect::{DetectConfig, Engine};
use std::time::Instant;

#[path = "common/corpus.rs"]
mod common_corpus;
use common_corpus::corpus;

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::cpu_ns;

/// Streaming: 16-byte deltas (about four tokens each); time per push and bytes held back.
fn stream_latency(text: &str) {
    // Secrets redacted instead of blocked, so the stream keeps flowing through the corpus.
    let mut cfg = DetectConfig::default();
    cfg.actions
        .insert("secrets".to_owned(), gatehouse_detect::Action::Redact);
    let engine = Engine::new(&cfg).expect("engine");
    let mut s = engine.stream_scanner(Direction::Output);
    let mut times = Vec::new();
    let mut max_held = 0usize;
    let mut held_sum = 0usize;
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + 16).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let t0 = Instant::now();
        let _ = s.push(&text[start..end]);
        times.push(t0.elapsed().as_secs_f64() * 1e6);
        max_held = max_held.max(s.held_back());
        held_sum += s.held_back();
        start = end;
    }
    let _ = s.finish();
    times.sort_by(f64::total_cmp);
    let n = times.len().max(1);
    println!(
        "stream: {} pushes of 16 B: p50 {:.1} us, p99 {:.1} us per push; held back avg {:.1} B, max {} B (bound {} B)",
        times.len(),
        times[n / 2],
        times[(n * 99 / 100).min(n - 1)],
        held_sum as f64 / n as f64,
        max_held,
        engine.max_pattern_len()
    );
}

fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(8);
    let text = corpus(mb << 20);
    let variants: Vec<(&str, DetectConfig)> = vec![
        (
            "default (pii+secrets+names+decode)",
            DetectConfig::default(),
        ),
        (
            "pii patterns only",
            DetectConfig {
                secrets: false,
                names: false,
                decode: false,
                ..DetectConfig::default()
            },
        ),
        (
            "secrets only",
            DetectConfig {
                pii: false,
                names: false,
                decode: false,
                ..DetectConfig::default()
            },
        ),
        (
            "pii + names",
            DetectConfig {
                secrets: false,
                decode: false,
                ..DetectConfig::default()
            },
        ),
    ];
    stream_latency(&text[..text.len().min(256 << 10)]);
    let which = std::env::var("VARIANTS")
        .map(|v| v == "all")
        .unwrap_or(false);
    for (name, cfg) in variants.into_iter().take(if which { 4 } else { 1 }) {
        println!("{name}");
        let engine = Engine::new(&cfg).expect("engine");
        // Scan in 2 KiB documents (a prompt-sized unit) and as one large text.
        for chunk_size in [2048usize, 64 << 10] {
            let docs = common_corpus::split(&text, chunk_size);
            // Warm the lazy DFA caches on the first documents.
            for d in docs.iter().take(64) {
                let _ = engine.scan(d, Direction::Input);
            }
            let t0 = Instant::now();
            let c0 = cpu_ns();
            let mut findings = 0usize;
            for d in &docs {
                findings += engine.scan(d, Direction::Input).findings.len();
            }
            let secs = t0.elapsed().as_secs_f64();
            let cpu = match (c0, cpu_ns()) {
                (Some(a), Some(b)) => (b - a) as f64 / 1e9,
                _ => secs,
            };
            println!(
                "docs of {:>6} B: {:>8.1} MB/s per CPU-second ({:>8.1} MB/s wall)  ({} findings, {} MB)",
                chunk_size,
                text.len() as f64 / 1e6 / cpu,
                text.len() as f64 / 1e6 / secs,
                findings,
                mb
            );
        }
    }
}
