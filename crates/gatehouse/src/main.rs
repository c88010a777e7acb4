//! `gatehouse`: the CLI. It parses arguments and calls the library crates; nothing else.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cmd_audit;
mod cmd_keys;
mod cmd_model;
mod cmd_models;
mod cmd_policy;
mod cmd_scan;
mod cmd_serve;
mod cmd_usage;

use clap::{Parser, Subcommand};

/// mimalloc: the request path allocates many small, short-lived buffers; glibc malloc spent
/// about 15% of a request's instructions in the profile (callgrind, `bench/`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::process::ExitCode;

/// Gatehouse: an AI security gateway.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(cmd_serve::ServeArgs),
    /// Validate a configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage API keys.
    Keys(cmd_keys::KeysArgs),
    /// The tamper-evident audit log: verify, tail, query, export, keygen.
    Audit(cmd_audit::AuditArgs),
    /// Scan text for PII, secrets and attacks.
    Scan(cmd_scan::ScanArgs),
    /// Measure a detector on a labelled dataset.
    Eval(cmd_scan::EvalArgs),
    /// Authorization policies: validate, test, print the schema.
    Policy {
        #[command(subcommand)]
        command: cmd_policy::PolicyCommand,
    },
    /// Model supply chain: scan, sign, verify, bill of materials.
    Model {
        #[command(subcommand)]
        command: cmd_model::ModelCommand,
    },
    /// Settled token and cost usage, per day, principal, team, key and model.
    Usage(cmd_usage::UsageArgs),
    /// Learned detector models: install all-MiniLM-L6-v2, show what is installed.
    Models {
        #[command(subcommand)]
        command: cmd_models::ModelsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check a config file; prints every error with its path. Exit 0 valid, 1 invalid.
    Check {
        /// The file.
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => cmd_serve::run(args),
        Command::Config {
            command: ConfigCommand::Check { config },
        } => config_check(&config),
        Command::Keys(args) => cmd_keys::run(args),
        Command::Audit(args) => cmd_audit::run(args),
        Command::Scan(args) => cmd_scan::run_scan(args),
        Command::Eval(args) => cmd_scan::run_eval(args),
        Command::Model { command } => cmd_model::run_model(command),
        Command::Policy { command } => cmd_policy::run(command),
        Command::Usage(args) => cmd_usage::run(args),
        Command::Models { command } => cmd_models::run(command),
    }
}

fn config_check(path: &std::path::Path) -> ExitCode {
    match gatehouse_server::Config::load(path) {
        Ok(_) => {
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{}: {} error(s)", path.display(), errors.len());
            ExitCode::from(1)
        }
    }
}
