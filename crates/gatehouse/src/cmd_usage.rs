//! `gatehouse usage`: settled token and cost usage, per day, principal, team, key and model.

use gatehouse_limits::{UsageFilter, UsageRecord, UsageStore};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `gatehouse usage`.
#[derive(Debug, clap::Args)]
pub struct UsageArgs {
    /// Configuration file (its `store.path`, the gateway's SQLite data file, is used).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The usage store: a SQLite file, or a `postgres://` URL (default: the config's store, else
    /// gatehouse-data/gatehouse.db).
    #[arg(long, env = "GATEHOUSE_USAGE_STORE", hide_env_values = true)]
    store: Option<String>,
    /// Only this principal (`user:alice`, `service:bot`).
    #[arg(long)]
    principal: Option<String>,
    /// Only this team.
    #[arg(long)]
    team: Option<String>,
    /// Only this API key id.
    #[arg(long)]
    key: Option<String>,
    /// Only this model.
    #[arg(long)]
    model: Option<String>,
    /// From this day on: `YYYY-MM-DD`, or `7d` for the last seven days (UTC).
    #[arg(long)]
    since: Option<String>,
    /// Up to and including this day, `YYYY-MM-DD`.
    #[arg(long)]
    until: Option<String>,
    /// Print JSON (an array of rows).
    #[arg(long)]
    json: bool,
}

fn resolve_since(s: &str) -> Result<String, String> {
    if let Some(days) = s.strip_suffix('d')
        && let Ok(n) = days.parse::<i64>()
    {
        let today = time::OffsetDateTime::now_utc().date();
        let d = today
            .checked_sub(time::Duration::days(n.saturating_sub(1).max(0)))
            .ok_or("--since: too far back")?;
        return Ok(format!(
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        ));
    }
    Ok(s.to_owned())
}

fn usd(micros: u64) -> String {
    format!("{:.4}", micros as f64 / 1_000_000.0)
}

fn print_table(rows: &[UsageRecord]) {
    println!(
        "{:<10}  {:<24}  {:<12}  {:<14}  {:<20}  {:>8}  {:>12}  {:>12}  {:>12}",
        "day", "principal", "team", "key", "model", "requests", "input", "output", "cost_usd"
    );
    let (mut req, mut inp, mut out, mut cost) = (0u64, 0u64, 0u64, 0u64);
    for r in rows {
        println!(
            "{:<10}  {:<24}  {:<12}  {:<14}  {:<20}  {:>8}  {:>12}  {:>12}  {:>12}",
            r.day,
            r.principal,
            r.team,
            r.key_id,
            r.model,
            r.requests,
            r.input_tokens,
            r.output_tokens,
            usd(r.cost_micros)
        );
        req += r.requests;
        inp += r.input_tokens;
        out += r.output_tokens;
        cost += r.cost_micros;
    }
    println!(
        "{:<10}  {:<24}  {:<12}  {:<14}  {:<20}  {:>8}  {:>12}  {:>12}  {:>12}",
        "total",
        "",
        "",
        "",
        "",
        req,
        inp,
        out,
        usd(cost)
    );
}

/// Runs `gatehouse usage`.
pub fn run(args: UsageArgs) -> ExitCode {
    let target = match (&args.store, &args.config) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => match gatehouse_server::Config::load(c) {
            Ok(cfg) => cfg.store.path.display().to_string(),
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
    let is_pg = target.starts_with("postgres://") || target.starts_with("postgresql://");
    if !is_pg && !std::path::Path::new(&target).exists() {
        eprintln!("no usage store at {target} (give --store or --config)");
        return ExitCode::from(2);
    }
    let since = match args.since.as_deref().map(resolve_since).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let filter = UsageFilter {
        principal: args.principal,
        team: args.team,
        key_id: args.key,
        model: args.model,
        since,
        until: args.until,
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
    let rows = rt.block_on(async {
        let store = UsageStore::open(&target).await?;
        store.query(&filter).await
    });
    match rows {
        Ok(rows) => {
            if args.json {
                match serde_json::to_string_pretty(&rows) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("{e}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                print_table(&rows);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_and_day_counts() {
        assert_eq!(resolve_since("2026-01-02").unwrap(), "2026-01-02");
        let today = time::OffsetDateTime::now_utc().date();
        let one = resolve_since("1d").unwrap();
        assert_eq!(
            one,
            format!(
                "{:04}-{:02}-{:02}",
                today.year(),
                u8::from(today.month()),
                today.day()
            )
        );
    }
}
