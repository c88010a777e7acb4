//! Shared argument handling of the `eval_pii` / `eval_secrets` examples.

use gatehouse_detect::eval_spans::{Task, evaluate, parse_jsonl};
use gatehouse_detect::{DetectConfig, Engine};
use std::process::ExitCode;

/// Parses `--data FILE [--errors N]`, evaluates with the default configuration and prints the
/// report.
pub fn run(task: Task) -> ExitCode {
    let mut data = None;
    let mut errors = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next(),
            "--errors" => errors = args.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            _ => {
                eprintln!("usage: --data FILE [--errors N]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = data else {
        eprintln!("usage: --data FILE [--errors N]");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let rows = match parse_jsonl(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let engine = match Engine::new(&DetectConfig::default()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("engine: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", evaluate(&engine, task, &rows, errors));
    ExitCode::SUCCESS
}
