//! `gatehouse audit verify|tail|query|export|keygen`.
//!
//! Exit codes: 0 ok, 1 verification failed, 2 could not complete.

use gatehouse_audit::crypto::{
    CheckpointSigner, KeyRing, PublicKey, generate_kek_hex, public_key_path, write_secret_file,
};
use gatehouse_audit::{
    AuditEvent, AuditReader, AuditSource, Auditor, AuditorConfig, Filter, SinkSpec, StoredEvent,
    reader::parse_time_arg,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `gatehouse audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Configuration file: the log is its primary audit sink.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// The log directly: a SQLite file, a `.jsonl` file, or a `postgres://` URL (prefer
    /// `--config` with `url_env`: a URL on the command line is visible to other users).
    #[arg(long, global = true)]
    db: Option<String>,
    /// PostgreSQL schema with `--db postgres://…`.
    #[arg(long, global = true, default_value = "gatehouse_audit")]
    schema: String,
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, clap::Args, Default)]
struct FilterArgs {
    /// Principal id (`user:alice`).
    #[arg(long)]
    principal: Option<String>,
    /// From this time: RFC 3339 or a duration ago (`15m`, `2h`, `7d`).
    #[arg(long)]
    since: Option<String>,
    /// Before this time (same forms).
    #[arg(long)]
    until: Option<String>,
    /// Decision: allow, block (blocked), error, cancelled.
    #[arg(long)]
    decision: Option<String>,
    /// A finding type or detector (`prompt_injection`, `EMAIL_ADDRESS`, `secrets`).
    #[arg(long)]
    finding: Option<String>,
    /// Request id.
    #[arg(long)]
    request_id: Option<String>,
    /// Most events (default 100, at most 10000).
    #[arg(long)]
    limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Jsonl,
    Csv,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Check the hash chain, checkpoints and retention anchor; print the latest checkpoint.
    /// Exit 0 intact, 1 tampered, 2 could not check.
    Verify {
        /// Ed25519 public key file (`gatehouse audit keygen` writes `<key>.pub`). Default: the
        /// configured signing key's public half.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the newest events.
    Tail {
        /// How many.
        #[arg(short = 'n', default_value_t = 20)]
        n: u32,
        /// Keep printing new events.
        #[arg(long, short)]
        follow: bool,
    },
    /// Print events matching filters, oldest first.
    Query {
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Export events (JSON lines or CSV). With `--decrypt`, encrypted bodies are opened with
    /// `--key-file`; this export is itself recorded in the audit log first.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// Decrypt bodies.
        #[arg(long, requires = "key_file")]
        decrypt: bool,
        /// Key-encryption key file (64 hex characters).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Id of that key (default: whatever id the bodies carry).
        #[arg(long, default_value = "cli")]
        key_id: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Create a checkpoint signing key (`--out FILE` and `FILE.pub`), or with `--kek` a
    /// key-encryption key for bodies.
    Keygen {
        /// Where to write it (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// A body key-encryption key instead of a signing key.
        #[arg(long)]
        kek: bool,
    },
}

struct Fail(u8, String);

fn fail<E: std::fmt::Display>(e: E) -> Fail {
    Fail(2, e.to_string())
}

/// Runs `gatehouse audit`.
pub fn run(args: AuditArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gatehouse audit: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run_inner(args)) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(code, msg)) => {
            eprintln!("gatehouse audit: {msg}");
            ExitCode::from(code)
        }
    }
}

struct Target {
    source: AuditSource,
    config: Option<gatehouse_server::Config>,
}

fn target(args: &AuditArgs) -> Result<Target, Fail> {
    if let Some(db) = &args.db {
        let source = if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            AuditSource::Postgres {
                url: db.clone(),
                schema: args.schema.clone(),
            }
        } else if db.ends_with(".jsonl") {
            AuditSource::Jsonl(PathBuf::from(db))
        } else {
            AuditSource::Sqlite(PathBuf::from(db))
        };
        return Ok(Target {
            source,
            config: None,
        });
    }
    let path = args
        .config
        .clone()
        .ok_or_else(|| Fail(2, "give --config FILE or --db PATH".into()))?;
    let config = gatehouse_server::Config::load(&path).map_err(|errs| {
        Fail(
            2,
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let source = config
        .audit
        .audit_source(&config.data_dir())
        .map_err(fail)?;
    Ok(Target {
        source,
        config: Some(config),
    })
}

fn filter(f: &FilterArgs) -> Result<Filter, Fail> {
    Ok(Filter {
        principal: f.principal.clone(),
        since: f
            .since
            .as_deref()
            .map(parse_time_arg)
            .transpose()
            .map_err(fail)?,
        until: f
            .until
            .as_deref()
            .map(parse_time_arg)
            .transpose()
            .map_err(fail)?,
        decision: f.decision.clone(),
        finding: f.finding.clone(),
        request_id: f.request_id.clone(),
        after_seq: None,
        limit: f.limit,
        newest_first: false,
    })
}

fn print_rows(rows: &[StoredEvent]) -> Result<(), Fail> {
    let mut out = std::io::stdout().lock();
    for r in rows {
        let line = serde_json::to_string(r).map_err(fail)?;
        writeln!(out, "{line}").map_err(fail)?;
    }
    out.flush().map_err(fail)
}

async fn run_inner(args: AuditArgs) -> Result<u8, Fail> {
    if let AuditCommand::Keygen { out, kek } = &args.command {
        return keygen(out, *kek);
    }
    let t = target(&args)?;
    let reader = AuditReader::open(t.source.clone()).map_err(fail)?;
    match &args.command {
        AuditCommand::Keygen { .. } => Ok(0),
        AuditCommand::Verify { public_key, json } => {
            let key = verify_key(public_key.as_deref(), &t)?;
            let report = reader.verify(key).await.map_err(fail)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(fail)?);
            } else {
                print_report(&report);
            }
            Ok(if report.ok() { 0 } else { 1 })
        }
        AuditCommand::Tail { n, follow } => {
            let mut rows = reader
                .query(&Filter {
                    newest_first: true,
                    limit: Some(*n),
                    ..Filter::default()
                })
                .await
                .map_err(fail)?;
            rows.reverse();
            print_rows(&rows)?;
            let mut last = rows.last().map_or(0, |r| r.seq);
            if !*follow {
                return Ok(0);
            }
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                let rows = reader
                    .query(&Filter {
                        after_seq: Some(last),
                        limit: Some(1000),
                        ..Filter::default()
                    })
                    .await
                    .map_err(fail)?;
                print_rows(&rows)?;
                last = rows.last().map_or(last, |r| r.seq);
            }
        }
        AuditCommand::Query { filter: f } => {
            print_rows(&reader.query(&filter(f)?).await.map_err(fail)?)?;
            Ok(0)
        }
        AuditCommand::Export {
            format,
            decrypt,
            key_file,
            key_id,
            filter: f,
        } => {
            let flt = filter(f)?;
            let ring = match (decrypt, key_file) {
                (true, Some(k)) => {
                    let text = zeroize::Zeroizing::new(
                        std::fs::read_to_string(k)
                            .map_err(|e| Fail(2, format!("{}: {}", k.display(), e.kind())))?,
                    );
                    Some(KeyRing::single(key_id, &text).map_err(fail)?)
                }
                _ => None,
            };
            if ring.is_some() {
                // Fail closed: no decrypted export unless the export itself is on record.
                record_export(&t, f)?;
            }
            let rows = reader.query(&flt).await.map_err(fail)?;
            export(&rows, *format, ring.as_ref())?;
            Ok(0)
        }
    }
}

fn keygen(out: &Path, kek: bool) -> Result<u8, Fail> {
    if kek {
        write_secret_file(out, &format!("{}\n", generate_kek_hex().as_str())).map_err(fail)?;
        eprintln!("wrote key-encryption key {}", out.display());
    } else {
        let s = CheckpointSigner::generate();
        s.save(out).map_err(fail)?;
        eprintln!(
            "wrote signing key {} and public key {}",
            out.display(),
            public_key_path(out).display()
        );
        println!("{}", s.public_hex());
    }
    Ok(0)
}

fn verify_key(explicit: Option<&Path>, t: &Target) -> Result<Option<PublicKey>, Fail> {
    if let Some(p) = explicit {
        return PublicKey::load(p).map(Some).map_err(fail);
    }
    let Some(c) = &t.config else {
        eprintln!(
            "note: no --public-key: checkpoint signatures are checked against the key they carry (consistency only)"
        );
        return Ok(None);
    };
    let secret = c
        .audit
        .signing_key
        .clone()
        .unwrap_or_else(|| c.data_dir().join("audit-signing.key"));
    let pubp = public_key_path(&secret);
    if pubp.exists() {
        return PublicKey::load(&pubp).map(Some).map_err(fail);
    }
    if secret.exists() {
        return CheckpointSigner::load(&secret)
            .map(|s| Some(s.public()))
            .map_err(fail);
    }
    eprintln!(
        "note: no signing key found: checkpoint signatures are checked against the key they carry"
    );
    Ok(None)
}

fn print_report(r: &gatehouse_audit::VerifyReport) {
    let range = match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => format!("seq {a}..{b}"),
        _ => "empty".into(),
    };
    if r.ok() {
        println!("audit log OK: {} rows, {range}", r.rows);
    } else {
        println!("audit log FAILED verification: {} rows, {range}", r.rows);
        for p in &r.problems {
            println!("  - {p}");
        }
    }
    match &r.latest_checkpoint {
        Some(c) => println!(
            "latest checkpoint: seq {} hash {} time {} key {} signature {}",
            c.seq, c.hash, c.ts, c.key, c.signature
        ),
        None => println!("latest checkpoint: none"),
    }
    if let Some(a) = &r.anchor {
        println!(
            "retention anchor: first kept seq {} prev_hash {} time {}",
            a.seq, a.prev_hash, a.ts
        );
    }
    if r.unsigned_tail > 0 {
        println!(
            "note: {} rows after the latest checkpoint are not yet covered by a signature",
            r.unsigned_tail
        );
    }
    if !r.key_supplied {
        println!("note: signatures checked against the embedded key only");
    }
}

/// Appends an admin event for a decrypting export (strict: fails if it cannot be recorded).
fn record_export(t: &Target, f: &FilterArgs) -> Result<(), Fail> {
    let cfg = match (&t.config, &t.source) {
        (Some(c), _) => {
            let mut a = c
                .audit
                .auditor_config(&c.data_dir())
                .map_err(|e| Fail(2, format!("cannot record the export: {e}")))?;
            // Only the primary sink: other sinks receive it when the gateway replays nothing;
            // the primary is what `verify` reads.
            a.sinks.truncate(1);
            a
        }
        (None, AuditSource::Sqlite(p)) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut a = AuditorConfig::new(vec![SinkSpec::Sqlite(p.clone())]);
            a.spool_dir = dir.to_path_buf();
            let key = dir.join("audit-signing.key");
            if key.exists() {
                a.signer = Some(Arc::new(CheckpointSigner::load(&key).map_err(fail)?));
            }
            a
        }
        (None, AuditSource::Postgres { url, schema }) => {
            AuditorConfig::new(vec![SinkSpec::Postgres {
                url: url.clone(),
                schema: schema.clone(),
            }])
        }
        (None, AuditSource::Jsonl(p)) => AuditorConfig::new(vec![SinkSpec::Jsonl {
            path: p.clone(),
            max_bytes: 0,
        }]),
    };
    let mut cfg = cfg;
    cfg.strict = true;
    cfg.retention_days = None;
    let auditor =
        Auditor::start(cfg).map_err(|e| Fail(2, format!("cannot record the export: {e}")))?;
    let mut ev = AuditEvent::new(
        gatehouse_core::RequestId::new().as_str().to_owned(),
        gatehouse_core::Hop::Admin,
        "cli",
        "audit_export_decrypt",
        "allow",
        0,
    );
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    ev.principal = Some(format!("cli:{user}"));
    ev.resource = Some("audit_log".into());
    let mut what = Vec::new();
    if let Some(p) = &f.principal {
        what.push(format!("principal={p}"));
    }
    if let Some(s) = &f.since {
        what.push(format!("since={s}"));
    }
    if let Some(d) = &f.decision {
        what.push(format!("decision={d}"));
    }
    if let Some(x) = &f.finding {
        what.push(format!("finding={x}"));
    }
    ev.reason = Some(if what.is_empty() {
        "all".into()
    } else {
        what.join(" ")
    });
    // Off the async runtime's thread: the strict ack is awaited synchronously.
    let r = std::thread::scope(|s| s.spawn(|| auditor.record_blocking(ev)).join());
    auditor.flush();
    match r {
        Ok(Ok(())) => Ok(()),
        _ => Err(Fail(
            2,
            "cannot record the export in the audit log; refusing to decrypt".into(),
        )),
    }
}

fn csv_cell(s: &str) -> String {
    // Spreadsheet formula injection: a cell starting with = + - @ is made text.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn export(rows: &[StoredEvent], format: Format, ring: Option<&KeyRing>) -> Result<(), Fail> {
    let mut out = std::io::stdout().lock();
    if let Format::Csv = format {
        writeln!(
            out,
            "seq,ts,request_id,principal,action,model,decision,code,reason,status,findings,hash"
        )
        .map_err(fail)?;
    }
    for r in rows {
        let mut row = r.clone();
        if let Some(ring) = ring {
            match row.decrypted_body(ring) {
                Ok(Some(b)) => {
                    if let Some(o) = row.event.as_object_mut() {
                        o.insert("body".into(), b);
                    }
                }
                Ok(None) => {}
                Err(e) => return Err(Fail(2, format!("seq {}: {e}", r.seq))),
            }
        }
        match format {
            Format::Jsonl => {
                writeln!(out, "{}", serde_json::to_string(&row).map_err(fail)?).map_err(fail)?
            }
            Format::Csv => {
                let s = |k: &str| {
                    row.event
                        .get(k)
                        .map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .unwrap_or_default()
                };
                let findings: Vec<String> = row
                    .event
                    .get("findings")
                    .and_then(|f| f.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|f| {
                                f.get("type").and_then(|t| t.as_str()).map(str::to_owned)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let cells = [
                    row.seq.to_string(),
                    s("ts"),
                    s("request_id"),
                    s("principal"),
                    s("action"),
                    s("model"),
                    s("decision"),
                    s("code"),
                    s("reason"),
                    s("status"),
                    findings.join(";"),
                    row.hash.clone(),
                ];
                let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                writeln!(out, "{}", line.join(",")).map_err(fail)?;
            }
        }
    }
    out.flush().map_err(fail)
}

/// Appends an admin event for a change made from the command line (e.g. `keys create`) to the
/// primary audit sink of `config`, and waits until it is durable.
pub(crate) fn record_cli_event(
    config: &gatehouse_server::Config,
    action: &'static str,
    resource: &str,
    reason: String,
) -> Result<(), String> {
    let mut a = config.audit.auditor_config(&config.data_dir())?;
    a.sinks.truncate(1);
    a.strict = true;
    a.retention_days = None;
    let auditor = Auditor::start(a).map_err(|e| e.to_string())?;
    let mut ev = AuditEvent::new(
        gatehouse_core::RequestId::new().as_str().to_owned(),
        gatehouse_core::Hop::Admin,
        "cli",
        action,
        "allow",
        0,
    );
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    ev.principal = Some(format!("cli:{user}"));
    ev.resource = Some(resource.to_owned());
    ev.reason = Some(reason);
    let r = std::thread::scope(|s| s.spawn(|| auditor.record_blocking(ev)).join());
    auditor.flush();
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the audit writer failed".into()),
    }
}
