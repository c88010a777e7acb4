//! `gatehouse scan` and `gatehouse eval`: placeholder until the detect crate lands.
use std::process::ExitCode;

/// Arguments of `gatehouse scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Read JSON lines from stdin and write one verdict line per input.
    #[arg(long)]
    pub jsonl: bool,
}

/// Arguments of `gatehouse eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// pii | secrets | injection
    #[arg(long)]
    pub task: String,
    /// JSONL dataset file.
    #[arg(long)]
    pub data: std::path::PathBuf,
}

/// Runs `gatehouse scan`.
pub fn run_scan(_args: ScanArgs) -> ExitCode {
    eprintln!("scan: not available in this build");
    ExitCode::from(2)
}

/// Runs `gatehouse eval`.
pub fn run_eval(_args: EvalArgs) -> ExitCode {
    eprintln!("eval: not available in this build");
    ExitCode::from(2)
}
