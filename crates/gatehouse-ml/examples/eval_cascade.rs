//! Measures the injection cascade with the real all-MiniLM-L6-v2 + built-in semantic head
//! attached (band and threshold from the head file) on a labelled JSONL file, next to the fast
//! layers alone (committed model, its own threshold).
//!
//! ```text
//! cargo run --release -p gatehouse-ml --example eval_cascade -- \
//!     --model-dir DIR --data ../shared/datasets/injection/dev.jsonl
//! ```
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::sync::Arc;

use gatehouse_detect::injection::{InjectionConfig, InjectionDetector, eval};
use gatehouse_ml::{Embedder, MiniLmAttackModel, SemanticHead};

fn main() -> Result<(), Box<dyn Error>> {
    let (mut dir, mut data) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model-dir" => dir = args.next(),
            "--data" => data = args.next(),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let dir = dir.ok_or("--model-dir DIR is required")?;
    let rows = eval::parse_jsonl(&std::fs::read_to_string(
        data.ok_or("--data FILE is required")?,
    )?)?;
    let fast = InjectionDetector::new(&InjectionConfig::default())?;
    println!("--- fast layers alone ---");
    println!("{}", eval::evaluate(&fast, &rows));

    let head = SemanticHead::builtin()?;
    let cfg = InjectionConfig {
        threshold: Some(head.threshold),
        ..InjectionConfig::default()
    };
    let model = MiniLmAttackModel::new(Embedder::load(std::path::Path::new(&dir))?, head)?;
    let det = InjectionDetector::new(&cfg)?.with_attack_model(Arc::new(model));
    let band = det.model_band();
    println!(
        "--- cascade: band [{}, {}), threshold {} ---",
        band.0,
        band.1,
        det.threshold()
    );
    println!("{}", eval::evaluate(&det, &rows));
    Ok(())
}
