//! Prints, for each line of a JSONL file (or of stdin as plain lines), the detector's score,
//! kind and the signatures that matched — a development aid for reading the detector's
//! decisions on training data.
//!
//! ```text
//! cargo run --release -p gatehouse-detect --example explain_injection -- [--model FILE] < texts.txt
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::io::BufRead;

use gatehouse_core::Direction;
use gatehouse_detect::injection::{InjectionConfig, InjectionDetector};

fn main() -> Result<(), Box<dyn Error>> {
    let mut model = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model = args.next(),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let cfg = InjectionConfig::default();
    let det = match model {
        Some(p) => InjectionDetector::with_model(&cfg, &std::fs::read(p)?)?,
        None => InjectionDetector::new(&cfg)?,
    };
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let text = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or(line);
        let r = det.score(&text, Direction::Input);
        let fast = det.fast_score(&text, Direction::Input);
        let head: String = text
            .chars()
            .take(100)
            .collect::<String>()
            .replace('\n', " ");
        println!(
            "{:.3} (margin {:+.2}) {:?} {:?} | {head}",
            r.score, fast.margin, r.kind, r.signals
        );
    }
    Ok(())
}
