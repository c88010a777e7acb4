//! Throughput of the injection detector by layer, in on-CPU time of this thread (read from
//! `/proc/thread-self/schedstat`, so a busy machine does not inflate the numbers).
//!
//! ```text
//! cargo run --release -p gatehouse-detect --example eval_injection_bench -- --data FILE.jsonl
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;

use gatehouse_core::Direction;
use gatehouse_detect::injection::{InjectionConfig, InjectionDetector, eval};

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::cpu_ns;

fn main() -> Result<(), Box<dyn Error>> {
    let mut data = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next(),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let data = data.ok_or("--data FILE is required")?;
    let rows = eval::parse_jsonl(&std::fs::read_to_string(&data)?)?;
    let bytes: usize = rows.iter().map(|r| r.text.len()).sum();
    let kib = bytes as f64 / 1024.0;
    println!("{} texts, {:.0} KiB", rows.len(), kib);
    for (name, cfg) in [
        ("rules + classifier", InjectionConfig::default()),
        (
            "classifier only",
            InjectionConfig {
                signatures: false,
                ..Default::default()
            },
        ),
        (
            "rules only",
            InjectionConfig {
                classifier: false,
                ..Default::default()
            },
        ),
    ] {
        let d = InjectionDetector::new(&cfg)?;
        for r in &rows {
            let _ = d.score(&r.text, Direction::Input);
        }
        let mut per_text = Vec::with_capacity(rows.len());
        let t0 = cpu_ns().ok_or("no schedstat")?;
        for r in &rows {
            let a = std::time::Instant::now();
            let _ = d.score(&r.text, Direction::Input);
            per_text.push(a.elapsed().as_nanos() as u64);
        }
        let total = cpu_ns().unwrap_or(0).saturating_sub(t0) as f64 / 1000.0;
        per_text.sort_unstable();
        let median = per_text.get(per_text.len() / 2).copied().unwrap_or(0) as f64 / 1000.0;
        println!(
            "{name:<20} {:>8.1} µs/KiB   median {:>7.1} µs/text",
            total / kib,
            median
        );
    }
    Ok(())
}
