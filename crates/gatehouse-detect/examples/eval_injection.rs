//! Evaluates the built-in injection detector (committed weights) on a labelled JSONL file.
//!
//! ```text
//! cargo run --release -p gatehouse-detect --example eval_injection -- \
//!     --data ../shared/datasets/injection/dev.jsonl [--threshold 0.8] [--errors 20]
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;

use gatehouse_core::Direction;
use gatehouse_detect::injection::{InjectionConfig, InjectionDetector, eval};

fn main() -> Result<(), Box<dyn Error>> {
    let mut data = None;
    let mut threshold = None;
    let mut errors = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next(),
            "--threshold" => threshold = args.next().map(|t| t.parse::<f32>()).transpose()?,
            "--errors" => errors = args.next().map(|t| t.parse()).transpose()?.unwrap_or(0),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let data = data.ok_or("--data FILE is required")?;
    let cfg = InjectionConfig {
        threshold,
        ..InjectionConfig::default()
    };
    let det = InjectionDetector::new(&cfg)?;
    let rows = eval::parse_jsonl(&std::fs::read_to_string(&data)?)?;
    // Warm-up pass so that lazily built automata do not count against throughput.
    for r in rows.iter().take(50) {
        let _ = det.score(&r.text, Direction::Input);
    }
    let report = eval::evaluate(&det, &rows);
    println!("{data}:\n{report}");
    if errors > 0 {
        let mut shown = 0;
        for r in &rows {
            let s = det.score(&r.text, r.direction.unwrap_or(Direction::Input));
            if s.is_attack != r.is_attack() && shown < errors {
                shown += 1;
                let t: String = r.text.chars().take(160).collect();
                println!(
                    "{:.3} {} {:<14} {}",
                    s.score,
                    r.label,
                    r.kind,
                    t.replace('\n', " ")
                );
            }
        }
    }
    Ok(())
}
