//! `gatehouse model …`: placeholder until the supply crate lands.
use std::process::ExitCode;

/// `gatehouse model` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Scan model files for malicious content.
    Scan {
        /// Files or directories.
        paths: Vec<std::path::PathBuf>,
    },
}

/// Runs a `gatehouse model` subcommand.
pub fn run_model(_cmd: ModelCommand) -> ExitCode {
    eprintln!("model: not available in this build");
    ExitCode::from(2)
}
