//! `gatehouse keys create|list|revoke|rotate`.

use gatehouse_identity::{KeyStore, NewKey, StoreError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `gatehouse keys`.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// Configuration file (its `store.url`, else its `store.path`, is used).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Key store overriding the config: a SQLite file path, `sqlite:<path>` or a
    /// `postgres://…` URL (default gatehouse-data/gatehouse.db).
    #[arg(long, global = true)]
    store: Option<String>,
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
        /// An attribute for policies, `key=value` (e.g. `tenant=acme`); repeatable.
        #[arg(long = "attr", value_name = "KEY=VALUE")]
        attrs: Vec<String>,
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
    /// Replace a key with a new one (same principal, team, models, name, attributes); the new
    /// secret is printed once and the old key keeps working for the grace period.
    Rotate {
        /// Key id.
        id: String,
        /// How long the old key keeps working, e.g. 24h, 30m, 0s.
        #[arg(long, default_value = "24h")]
        grace: String,
    },
}

use gatehouse_core::parse_lifetime;

fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn parse_attrs(attrs: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for a in attrs {
        let Some((k, v)) = a.split_once('=') else {
            return Err(format!("--attr: use key=value, got {a:?}"));
        };
        if out
            .insert(k.trim().to_owned(), v.trim().to_owned())
            .is_some()
        {
            return Err(format!("--attr: {} given twice", k.trim()));
        }
    }
    Ok(out)
}

fn status(k: &gatehouse_identity::KeyRecord, now: i64) -> &'static str {
    if k.revoked_at.is_some() {
        "revoked"
    } else if k.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else if k.replaced_by.is_some() {
        "rotating"
    } else {
        "active"
    }
}

/// Exit code for a store error: 1 when the key is missing or in the wrong state, else 2.
fn fail(e: &StoreError) -> ExitCode {
    eprintln!("{e}");
    match e {
        StoreError::NotFound(_) | StoreError::Conflict(_) => ExitCode::from(1),
        _ => ExitCode::from(2),
    }
}

/// Runs a keys subcommand.
pub fn run(args: KeysArgs) -> ExitCode {
    // With --config, key changes are recorded in that gateway's audit log.
    let mut audit_cfg: Option<gatehouse_server::Config> = None;
    let location = match (&args.store, &args.config) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => match gatehouse_server::Config::load(c) {
            Ok(cfg) => {
                let loc = match &cfg.store.url {
                    Some(url) => url.clone(),
                    None => cfg.store.path.display().to_string(),
                };
                audit_cfg = Some(cfg);
                loc
            }
            Err(errors) => {
                for e in errors {
                    eprintln!("{e}");
                }
                return ExitCode::from(2);
            }
        },
        (None, None) => gatehouse_server::config::StoreConfig::default()
            .path
            .display()
            .to_string(),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async move {
        let store = match KeyStore::open(&location).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let (code, change) = command(&store, args.command).await;
        if let (Some(cfg), Some((resource, reason))) = (&audit_cfg, change)
            && let Err(e) =
                crate::cmd_audit::record_cli_event(cfg, "manage_keys", &resource, reason)
        {
            eprintln!(
                "warning: the change was made but could not be recorded in the audit log: {e}"
            );
            return ExitCode::from(2);
        }
        code
    })
}

/// Runs the subcommand; returns the exit code and, for a change, what to audit
/// (resource, reason).
async fn command(store: &KeyStore, command: KeysCommand) -> (ExitCode, Option<(String, String)>) {
    let mut change = None;
    let code = command_inner(store, command, &mut change).await;
    (code, change)
}

async fn command_inner(
    store: &KeyStore,
    command: KeysCommand,
    change: &mut Option<(String, String)>,
) -> ExitCode {
    match command {
        KeysCommand::Create {
            principal,
            team,
            expires,
            models,
            name,
            attrs,
        } => {
            let expires_in = match expires.as_deref().map(parse_lifetime) {
                Some(None) => {
                    eprintln!("--expires: use a number and a unit, e.g. 30d, 12h, 90m");
                    return ExitCode::from(2);
                }
                Some(Some(d)) => Some(d),
                None => None,
            };
            let attributes = match parse_attrs(&attrs) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            match store
                .create(&NewKey {
                    principal,
                    team,
                    name,
                    models,
                    expires_in,
                    attributes,
                })
                .await
            {
                Ok((rec, secret)) => {
                    println!("{secret}");
                    eprintln!(
                        "created key {} for {} (the secret above is shown only once)",
                        rec.id, rec.principal
                    );
                    *change = Some((
                        format!("key:{}", rec.id),
                        format!("created_key:{} principal={}", rec.id, rec.principal),
                    ));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        KeysCommand::List { json } => match store.list().await {
            Ok(keys) => {
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&keys).unwrap_or_default()
                    );
                } else {
                    println!(
                        "{:<14} {:<24} {:<12} {:<9} {:<26} models",
                        "id", "principal", "team", "status", "expires"
                    );
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    for k in keys {
                        println!(
                            "{:<14} {:<24} {:<12} {:<9} {:<26} {}",
                            k.id,
                            k.principal,
                            k.team.as_deref().unwrap_or("-"),
                            status(&k, now),
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
            Err(e) => fail(&e),
        },
        KeysCommand::Revoke { id } => match store.revoke(&id).await {
            Ok(true) => {
                eprintln!("revoked {id}");
                *change = Some((format!("key:{id}"), format!("revoked_key:{id}")));
                ExitCode::SUCCESS
            }
            Ok(false) => {
                eprintln!("no active key with id {id}");
                ExitCode::from(1)
            }
            Err(e) => fail(&e),
        },
        KeysCommand::Rotate { id, grace } => {
            let Some(grace) = parse_lifetime(&grace) else {
                eprintln!("--grace: use a number and a unit, e.g. 24h, 30m, 0s");
                return ExitCode::from(2);
            };
            match store.rotate(&id, grace).await {
                Ok((rec, secret)) => {
                    println!("{secret}");
                    let until = store
                        .get(&id)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|old| old.expires_at)
                        .map(fmt_time)
                        .unwrap_or_else(|| "now".into());
                    eprintln!(
                        "rotated key {id} to {} for {}; the old key works until {until} (the secret above is shown only once)",
                        rec.id, rec.principal
                    );
                    *change = Some((
                        format!("key:{id}"),
                        format!(
                            "rotated_key:{id}->{} grace_secs={}",
                            rec.id,
                            grace.as_secs()
                        ),
                    ));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}
