//! Span evaluation of the PII detector (the same table as `gatehouse eval --task pii`).
//!
//! `cargo run --release -p gatehouse-detect --example eval_pii -- --data FILE [--errors N]`
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "common/eval_cli.rs"]
mod eval_cli;

fn main() -> std::process::ExitCode {
    eval_cli::run(gatehouse_detect::eval_spans::Task::Pii)
}
