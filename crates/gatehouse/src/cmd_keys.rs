//! `gatehouse keys create|list|revoke`.

use gatehouse_identity::{KeyStore, NewKey};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `gatehouse keys`.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// Configuration file (its `store.path` is used).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// SQLite store file, overriding the config (default gatehouse-data/gatehouse.db).
    #[arg(long, global = true)]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Create a key; the secret is printed once.
    Create {
        /// Principal, `user:<name>` or `service:<name>`.
        #[arg(long)]
        principal: String,
        /// Team.
        #[arg(long)]
        team: Option<String>,
        /// Lifetime, e.g. 30d, 12h, 90m.
        #[arg(long)]
        expires: Option<String>,
        /// Comma-separated models this key may use.
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (never secrets).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id.
    Revoke {
        /// Key id.
        id: String,
    },
}

fn parse_lifetime(s: &str) -> Option<Duration> {
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "d" => n.checked_mul(86_400)?,
        "h" => n.checked_mul(3_600)?,
        "m" => n.checked_mul(60)?,
        "s" => n,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// Runs a keys subcommand.
pub fn run(args: KeysArgs) -> ExitCode {
    let path = match (&args.store, &args.config) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => match gatehouse_server::Config::load(c) {
            Ok(cfg) => cfg.store.path,
            Err(errors) => {
                for e in errors {
                    eprintln!("{e}");
                }
                return ExitCode::from(2);
            }
        },
        (None, None) => gatehouse_server::config::StoreConfig::default().path,
    };
    let store = match KeyStore::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match args.command {
        KeysCommand::Create {
            principal,
            team,
            expires,
            models,
            name,
        } => {
            let expires_in = match expires.as_deref().map(parse_lifetime) {
                Some(None) => {
                    eprintln!("--expires: use a number and a unit, e.g. 30d, 12h, 90m");
                    return ExitCode::from(2);
                }
                Some(Some(d)) => Some(d),
                None => None,
            };
            match store.create(&NewKey {
                principal,
                team,
                name,
                models,
                expires_in,
            }) {
                Ok((rec, secret)) => {
                    println!("{secret}");
                    eprintln!(
                        "created key {} for {} (the secret above is shown only once)",
                        rec.id, rec.principal
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        KeysCommand::List { json } => match store.list() {
            Ok(keys) => {
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&keys).unwrap_or_default()
                    );
                } else {
                    println!(
                        "{:<14} {:<24} {:<12} {:<8} {:<26} models",
                        "id", "principal", "team", "status", "expires"
                    );
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    for k in keys {
                        let status = if k.revoked_at.is_some() {
                            "revoked"
                        } else if k.expires_at.is_some_and(|e| e <= now) {
                            "expired"
                        } else {
                            "active"
                        };
                        println!(
                            "{:<14} {:<24} {:<12} {:<8} {:<26} {}",
                            k.id,
                            k.principal,
                            k.team.as_deref().unwrap_or("-"),
                            status,
                            k.expires_at.map(fmt_time).unwrap_or_else(|| "never".into()),
                            if k.models.is_empty() {
                                "*".to_owned()
                            } else {
                                k.models.join(",")
                            }
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        KeysCommand::Revoke { id } => match store.revoke(&id) {
            Ok(true) => {
                eprintln!("revoked {id}");
                ExitCode::SUCCESS
            }
            Ok(false) => {
                eprintln!("no active key with id {id}");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
    }
}
