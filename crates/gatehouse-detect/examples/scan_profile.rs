//! Profiling harness: scans the throughput corpus once with the default configuration inside
//! one non-inlined function, so that `valgrind --tool=callgrind --toggle-collect='*measured*'`
//! counts the scan alone (engine construction and warm-up excluded). `WARM_ALL=1` warms on every
//! document first, so the count is the steady state (no lazy-DFA states left to build).
//!
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*'
//!  target/release/examples/scan_profile [KiB per document] [MB]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use gatehouse_core::Direction;
use gatehouse_detect::{DetectConfig, Engine};

#[path = "common/corpus.rs"]
mod throughput_corpus;

/// The warm-up pass, outside the collected function (lazy DFA states, one-time tables).
#[inline(never)]
fn warm_up(engine: &Engine, docs: &[&str]) -> usize {
    // Counts documents with findings (a different body, so the two are not merged).
    docs.iter()
        .filter(|d| !engine.scan(d, Direction::Input).findings.is_empty())
        .count()
}

#[inline(never)]
fn measured(engine: &Engine, docs: &[&str]) -> usize {
    docs.iter()
        .map(|d| engine.scan(d, Direction::Input).findings.len())
        .sum()
}

fn main() {
    let kib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2);
    let mb: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let text = throughput_corpus::corpus(mb << 20);
    let docs = throughput_corpus::split(&text, kib << 10);
    let mut cfg = DetectConfig::default();
    // PROFILE_ONLY=pii|secrets|names|decode: that family alone (what the others add is the
    // difference to the default run).
    if let Ok(only) = std::env::var("PROFILE_ONLY") {
        cfg.pii = only == "pii" || only == "names";
        cfg.names = only == "names";
        cfg.secrets = only == "secrets";
        cfg.decode = only == "decode";
    }
    let engine = Engine::new(&cfg).expect("engine");
    // WARM_ALL=1: warm on every document (what is left is steady-state work, no cache growth).
    let warm_n = if std::env::var_os("WARM_ALL").is_some() {
        docs.len()
    } else {
        docs.len().min(64)
    };
    let warm = warm_up(&engine, &docs[..warm_n]);
    let n = measured(&engine, &docs);
    println!("{warm} {n} findings over {} bytes", text.len());
}
