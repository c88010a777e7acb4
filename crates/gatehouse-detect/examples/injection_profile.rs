//! Profiling harness for the prompt-attack detector: scores every text of a JSONL file once to
//! warm the lazy DFA, then again inside one non-inlined function, so that
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*'` counts the
//! steady-state scoring alone (construction, parsing and determinisation excluded).
//!
//! ```text
//! cargo build --release -p gatehouse-detect --example injection_profile
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/examples/injection_profile ../shared/datasets/injection/dev.jsonl
//! ```
//! Instructions per KiB = the callgrind total / the KiB it prints.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use gatehouse_core::Direction;
use gatehouse_detect::injection::{InjectionConfig, InjectionDetector, eval};

#[inline(never)]
fn warm_up(det: &InjectionDetector, texts: &[&str]) -> usize {
    texts
        .iter()
        .filter(|t| det.score(t, Direction::Input).is_attack)
        .count()
}

#[inline(never)]
fn measured(det: &InjectionDetector, texts: &[&str]) -> usize {
    // Not the same body as `warm_up` (identical functions may be folded into one symbol).
    texts
        .iter()
        .map(|t| usize::from(det.score(t, Direction::Input).is_attack))
        .sum()
}

fn main() {
    let path = std::env::args().nth(1).expect("JSONL file");
    let rows = eval::parse_jsonl(&std::fs::read_to_string(&path).expect("read")).expect("parse");
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let mut cfg = InjectionConfig::default();
    // PROFILE_ONLY=rules|classifier: one layer alone.
    if let Ok(only) = std::env::var("PROFILE_ONLY") {
        cfg.signatures = only == "rules";
        cfg.classifier = only == "classifier";
    }
    let det = InjectionDetector::new(&cfg).expect("detector");
    let warm = warm_up(&det, &texts);
    let t0 = std::time::Instant::now();
    let n = measured(&det, &texts);
    let secs = t0.elapsed().as_secs_f64();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let kib = bytes as f64 / 1024.0;
    println!(
        "{warm} {n} attacks over {} texts, {kib:.1} KiB; steady state {:.1} µs/KiB (wall)",
        texts.len(),
        secs * 1e6 / kib
    );
}
