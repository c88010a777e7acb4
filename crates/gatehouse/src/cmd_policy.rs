//! `gatehouse policy validate|test|schema`.

use gatehouse_policy::{CaseOutcome, Policies, PolicyConfig};
use std::path::PathBuf;
use std::process::ExitCode;

/// `gatehouse policy …`.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Validate policies strictly against the schema. Exit 0 valid, 1 invalid, 2 unreadable.
    Validate(Source),
    /// Run policy test cases (`[[case]]` entries of a TOML file). Exit 0 all pass, 1 any
    /// mismatch, 2 the cases or policies could not be loaded.
    Test {
        /// The cases file.
        cases: PathBuf,
        #[command(flatten)]
        source: Source,
        /// Print every case, not only failures.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Print the Cedar schema (with the configured tool arguments).
    Schema(Source),
}

/// Where the policies come from.
#[derive(Debug, clap::Args)]
pub struct Source {
    /// A gatehouse.toml: its `[policy]` section, models and tool arguments are used.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Policy files (globs) instead of a config; repeatable.
    #[arg(long = "policy")]
    policies: Vec<String>,
    /// A tool argument visible to policies, `name=Long|String|Bool|Set<String>`; repeatable.
    #[arg(long = "tool-arg")]
    tool_args: Vec<String>,
}

fn load(src: &Source) -> Result<Policies, (u8, String)> {
    if let Some(path) = &src.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| (2, format!("{}: cannot read: {e}", path.display())))?;
        let mut cfg = gatehouse_server::Config::parse_syntax(&text).map_err(|errs| {
            (
                2,
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        cfg.base_dir = path.parent().map(PathBuf::from).unwrap_or_default();
        return cfg.compile_policies().map_err(|e| match e {
            gatehouse_policy::PolicyError::Io(m) => (2, m),
            e @ gatehouse_policy::PolicyError::Invalid(_) => (1, e.to_string()),
        });
    }
    if src.policies.is_empty() {
        return Err((2, "give --config FILE or --policy GLOB".into()));
    }
    let mut cfg = PolicyConfig {
        files: src.policies.clone(),
        builtin_guardrails: false,
        ..PolicyConfig::default()
    };
    for a in &src.tool_args {
        let (name, ty) = a
            .split_once('=')
            .ok_or_else(|| (2, format!("--tool-arg {a:?}: expected name=Type")))?;
        let ty: gatehouse_policy::ArgType =
            serde_json::from_value(serde_json::json!(ty)).map_err(|_| {
                (
                    2,
                    format!("--tool-arg {a:?}: type must be Long, String, Bool or Set<String>"),
                )
            })?;
        cfg.tool_arguments.insert(name.to_owned(), ty);
    }
    let sources =
        gatehouse_server::policy_files::read_sources(&cfg.files, std::path::Path::new(""))
            .map_err(|e| (2, e.to_string()))?;
    Policies::compile(&cfg, &sources, &[]).map_err(|e| (1, e.to_string()))
}

/// Runs a policy subcommand.
pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::Validate(src) => match load(&src) {
            Ok(p) => {
                println!("ok: {} policies valid against the schema", p.ids().len());
                ExitCode::SUCCESS
            }
            Err((code, msg)) => {
                eprintln!("{msg}");
                ExitCode::from(code)
            }
        },
        PolicyCommand::Schema(src) => {
            let args = if let Some(path) = &src.config {
                match std::fs::read_to_string(path)
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        gatehouse_server::Config::parse_syntax(&t).map_err(|e| {
                            e.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                    }) {
                    Ok(c) => c.policy.tool_arguments,
                    Err(e) => {
                        eprintln!("{e}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                Default::default()
            };
            match gatehouse_policy::schema_text(&args) {
                Ok(s) => {
                    print!("{s}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        PolicyCommand::Test {
            cases,
            source,
            verbose,
        } => {
            let policies = match load(&source) {
                Ok(p) => p,
                Err((_, msg)) => {
                    eprintln!("{msg}");
                    return ExitCode::from(2);
                }
            };
            let text = match std::fs::read_to_string(&cases) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{}: cannot read: {e}", cases.display());
                    return ExitCode::from(2);
                }
            };
            let reports = match gatehouse_policy::run_cases(&text, &policies) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{}: {e}", cases.display());
                    return ExitCode::from(2);
                }
            };
            let (mut pass, mut fail, mut error) = (0, 0, 0);
            for r in &reports {
                let decided = r
                    .decision
                    .as_ref()
                    .map(|d| {
                        format!(
                            "{} [{}]",
                            if d.allowed { "allow" } else { "deny" },
                            d.policies.join(", ")
                        )
                    })
                    .unwrap_or_default();
                match &r.outcome {
                    CaseOutcome::Pass => {
                        pass += 1;
                        if verbose {
                            println!("PASS  {}: {decided}", r.name);
                        }
                    }
                    CaseOutcome::Fail(why) => {
                        fail += 1;
                        println!("FAIL  {}: {why}", r.name);
                    }
                    CaseOutcome::Error(why) => {
                        error += 1;
                        println!("ERROR {}: {why}", r.name);
                    }
                }
            }
            println!(
                "{pass} passed, {fail} failed, {error} malformed ({} cases)",
                reports.len()
            );
            if error > 0 {
                ExitCode::from(2)
            } else if fail > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
