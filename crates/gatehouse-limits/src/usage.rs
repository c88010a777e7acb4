//! Settled usage, persisted per (day, principal, team, key, model, provider), written off the
//! request path by one writer thread in batches (one transaction per batch), in SQLite (the
//! gateway's data file) or PostgreSQL.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Records waiting for the writer; beyond this, records are dropped and counted.
const QUEUE: usize = 16_384;
/// Records written in one transaction at most.
const BATCH: usize = 1024;

/// One request's settled usage (or, from [`UsageStore::query`], the sum for its day and
/// dimensions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Calendar day in the limiter's time zone, `YYYY-MM-DD`.
    pub day: String,
    /// Principal id.
    pub principal: String,
    /// Team; empty when none.
    pub team: String,
    /// API key id; empty when none.
    pub key_id: String,
    /// Model.
    pub model: String,
    /// Provider.
    pub provider: String,
    /// Requests.
    pub requests: u64,
    /// Input (prompt) tokens.
    pub input_tokens: u64,
    /// Output (completion) tokens.
    pub output_tokens: u64,
    /// Cost in micro-USD (millionths of a dollar).
    pub cost_micros: u64,
}

/// Which usage rows to return. Unset fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFilter {
    /// Principal id.
    pub principal: Option<String>,
    /// Team.
    pub team: Option<String>,
    /// API key id.
    pub key_id: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// First day, inclusive, `YYYY-MM-DD`.
    pub since: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD`.
    pub until: Option<String>,
}

/// Errors of the usage store. Messages never contain a connection URL.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// Opening or migrating the store failed.
    #[error("usage store: {0}")]
    Open(String),
    /// A query or write failed.
    #[error("usage store: {0}")]
    Db(String),
    /// The writer is gone (its thread ended).
    #[error("usage store: the writer has stopped")]
    Closed,
    /// A filter value is malformed.
    #[error("usage filter: {0}")]
    Filter(String),
}

enum Msg {
    Record(UsageRecord),
    Flush(oneshot::Sender<Result<(), String>>),
    Query(
        UsageFilter,
        oneshot::Sender<Result<Vec<UsageRecord>, String>>,
    ),
}

/// Counters of the store, for metrics.
#[derive(Debug, Default)]
pub(crate) struct StoreCounters {
    pub dropped: AtomicU64,
    pub write_errors: AtomicU64,
    pub written: AtomicU64,
}

/// Handle to the usage store. Cheap to clone; the writer thread ends when the last handle is
/// dropped, after writing what was queued.
#[derive(Clone)]
pub struct UsageStore {
    tx: mpsc::Sender<Msg>,
    counters: Arc<StoreCounters>,
}

impl std::fmt::Debug for UsageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageStore").finish_non_exhaustive()
    }
}

const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS usage_daily (
  day TEXT NOT NULL,
  principal TEXT NOT NULL,
  team TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  provider TEXT NOT NULL,
  requests INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL,
  PRIMARY KEY (day, principal, team, key_id, model, provider)
) STRICT;
CREATE INDEX IF NOT EXISTS usage_daily_team ON usage_daily (team, day);
";

const PG_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS usage_daily (
  day TEXT NOT NULL,
  principal TEXT NOT NULL,
  team TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  provider TEXT NOT NULL,
  requests BIGINT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cost_micros BIGINT NOT NULL,
  PRIMARY KEY (day, principal, team, key_id, model, provider)
);
CREATE INDEX IF NOT EXISTS usage_daily_team ON usage_daily (team, day);
";

const UPSERT_SQLITE: &str = "INSERT INTO usage_daily VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (day, principal, team, key_id, model, provider) DO UPDATE SET
requests = requests + excluded.requests, input_tokens = input_tokens + excluded.input_tokens,
output_tokens = output_tokens + excluded.output_tokens, cost_micros = cost_micros + excluded.cost_micros";

const UPSERT_PG: &str = "INSERT INTO usage_daily VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (day, principal, team, key_id, model, provider) DO UPDATE SET
requests = usage_daily.requests + excluded.requests,
input_tokens = usage_daily.input_tokens + excluded.input_tokens,
output_tokens = usage_daily.output_tokens + excluded.output_tokens,
cost_micros = usage_daily.cost_micros + excluded.cost_micros";

fn valid_day(d: &str) -> bool {
    d.parse::<jiff::civil::Date>().is_ok() && d.len() == 10
}

impl UsageFilter {
    fn validate(&self) -> Result<(), UsageError> {
        for d in [&self.since, &self.until].into_iter().flatten() {
            if !valid_day(d) {
                return Err(UsageError::Filter(format!(
                    "day {d:?} is not a date in the form YYYY-MM-DD"
                )));
            }
        }
        Ok(())
    }

    /// SQL `WHERE` clause with numbered placeholders (`?N` or `$N`), and the values.
    fn sql(&self, dollar: bool) -> (String, Vec<String>) {
        let mut clauses = Vec::new();
        let mut vals = Vec::new();
        let mut add = |col: &str, op: &str, v: &Option<String>| {
            if let Some(v) = v {
                vals.push(v.clone());
                let p = if dollar {
                    format!("${}", vals.len())
                } else {
                    format!("?{}", vals.len())
                };
                clauses.push(format!("{col} {op} {p}"));
            }
        };
        add("principal", "=", &self.principal);
        add("team", "=", &self.team);
        add("key_id", "=", &self.key_id);
        add("model", "=", &self.model);
        add("day", ">=", &self.since);
        add("day", "<=", &self.until);
        let w = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        (
            format!(
                "SELECT day, principal, team, key_id, model, provider, requests, input_tokens, \
                 output_tokens, cost_micros FROM usage_daily{w} \
                 ORDER BY day, principal, team, key_id, model, provider"
            ),
            vals,
        )
    }
}

/// Sums records with the same day and dimensions, so a batch writes each row once.
fn aggregate(batch: Vec<UsageRecord>) -> Vec<UsageRecord> {
    let mut map: std::collections::BTreeMap<
        (String, String, String, String, String, String),
        UsageRecord,
    > = std::collections::BTreeMap::new();
    for r in batch {
        let k = (
            r.day.clone(),
            r.principal.clone(),
            r.team.clone(),
            r.key_id.clone(),
            r.model.clone(),
            r.provider.clone(),
        );
        match map.get_mut(&k) {
            Some(e) => {
                e.requests += r.requests;
                e.input_tokens += r.input_tokens;
                e.output_tokens += r.output_tokens;
                e.cost_micros += r.cost_micros;
            }
            None => {
                map.insert(k, r);
            }
        }
    }
    map.into_values().collect()
}

fn i64of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
fn u64of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl UsageStore {
    /// Opens the store named by `target`: a `postgres://` / `postgresql://` URL, or else the
    /// path of the gateway's SQLite data file (the `usage_daily` table is created beside the
    /// other tables).
    pub async fn open(target: &str) -> Result<UsageStore, UsageError> {
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            UsageStore::open_postgres(target, None).await
        } else {
            UsageStore::open_sqlite(Path::new(target))
        }
    }

    /// Opens (creating if needed) the SQLite file at `path` and starts the writer thread.
    pub fn open_sqlite(path: &Path) -> Result<UsageStore, UsageError> {
        let open = |p: &Path| -> Result<rusqlite::Connection, rusqlite::Error> {
            let conn = rusqlite::Connection::open(p)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version \
                 INTEGER NOT NULL, PRIMARY KEY (component, version)) STRICT;",
            )?;
            let done: i64 = conn.query_row(
                "SELECT COUNT(*) FROM schema_migrations WHERE component = 'usage' AND version = 1",
                [],
                |r| r.get(0),
            )?;
            if done == 0 {
                let tx = conn.unchecked_transaction()?;
                tx.execute_batch(SQLITE_SCHEMA)?;
                tx.execute("INSERT INTO schema_migrations VALUES ('usage', 1)", [])?;
                tx.commit()?;
            }
            Ok(conn)
        };
        let conn = open(path).map_err(|e| UsageError::Open(e.to_string()))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(StoreCounters::default());
        let c = counters.clone();
        std::thread::Builder::new()
            .name("gatehouse-usage".into())
            .spawn(move || sqlite_writer(conn, rx, c))
            .map_err(|e| UsageError::Open(format!("cannot start the writer thread: {e}")))?;
        Ok(UsageStore { tx, counters })
    }

    /// Connects to PostgreSQL, creates the table (under an advisory lock, so instances starting
    /// together do not race), and starts the writer thread. `schema`, when given, is put first
    /// on the `search_path` (it must exist; letters, digits and `_` only).
    pub async fn open_postgres(url: &str, schema: Option<&str>) -> Result<UsageStore, UsageError> {
        if let Some(s) = schema
            && (s.is_empty()
                || s.len() > 63
                || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(UsageError::Open("invalid schema name".into()));
        }
        use std::str::FromStr;
        let mut opts = sqlx::postgres::PgConnectOptions::from_str(url)
            .map_err(|_| UsageError::Open("invalid PostgreSQL URL".into()))?;
        if let Some(s) = schema {
            opts = opts.options([("search_path", s)]);
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(StoreCounters::default());
        let c = counters.clone();
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("gatehouse-usage".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(pg_writer(opts, rx, c, ready_tx));
            })
            .map_err(|e| UsageError::Open(format!("cannot start the writer thread: {e}")))?;
        match ready_rx.await {
            Ok(Ok(())) => Ok(UsageStore { tx, counters }),
            Ok(Err(e)) => Err(UsageError::Open(e)),
            Err(_) => Err(UsageError::Closed),
        }
    }

    /// Queues a record for writing; never blocks. A full queue drops the record (counted in
    /// [`crate::Counters::usage_dropped`]).
    pub fn record(&self, rec: UsageRecord) {
        if self.tx.try_send(Msg::Record(rec)).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until everything queued before this call is written.
    pub async fn flush(&self) -> Result<(), UsageError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Flush(tx))
            .await
            .map_err(|_| UsageError::Closed)?;
        rx.await
            .map_err(|_| UsageError::Closed)?
            .map_err(UsageError::Db)
    }

    /// Usage rows matching `filter` (written rows only: call [`UsageStore::flush`] first to
    /// include what is queued).
    pub async fn query(&self, filter: &UsageFilter) -> Result<Vec<UsageRecord>, UsageError> {
        filter.validate()?;
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Query(filter.clone(), tx))
            .await
            .map_err(|_| UsageError::Closed)?;
        rx.await
            .map_err(|_| UsageError::Closed)?
            .map_err(UsageError::Db)
    }

    pub(crate) fn counters(&self) -> &StoreCounters {
        &self.counters
    }
}

/// Takes one message, then whatever else is queued (up to a batch): records are written in one
/// transaction, then flushes and queries are answered in order.
fn split(first: Msg, rx: &mut mpsc::Receiver<Msg>) -> (Vec<UsageRecord>, Vec<Msg>) {
    let mut recs = Vec::new();
    let mut other = Vec::new();
    let mut push = |m: Msg| match m {
        Msg::Record(r) => recs.push(r),
        m => other.push(m),
    };
    push(first);
    for _ in 0..BATCH {
        match rx.try_recv() {
            Ok(m) => push(m),
            Err(_) => break,
        }
    }
    (recs, other)
}

fn sqlite_writer(
    mut conn: rusqlite::Connection,
    mut rx: mpsc::Receiver<Msg>,
    c: Arc<StoreCounters>,
) {
    while let Some(first) = rx.blocking_recv() {
        let (recs, other) = split(first, &mut rx);
        let mut last_err = None;
        if !recs.is_empty() {
            let rows = aggregate(recs);
            let n = rows.len() as u64;
            let res = (|| -> Result<(), rusqlite::Error> {
                let tx = conn.transaction()?;
                {
                    let mut st = tx.prepare_cached(UPSERT_SQLITE)?;
                    for r in &rows {
                        st.execute(rusqlite::params![
                            r.day,
                            r.principal,
                            r.team,
                            r.key_id,
                            r.model,
                            r.provider,
                            i64of(r.requests),
                            i64of(r.input_tokens),
                            i64of(r.output_tokens),
                            i64of(r.cost_micros)
                        ])?;
                    }
                }
                tx.commit()
            })();
            match res {
                Ok(()) => {
                    c.written.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    c.write_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, rows = n, "usage: write failed");
                    last_err = Some(e.to_string());
                }
            }
        }
        for m in other {
            match m {
                Msg::Flush(tx) => {
                    let _ = tx.send(last_err.clone().map_or(Ok(()), Err));
                }
                Msg::Query(f, tx) => {
                    let _ = tx.send(sqlite_query(&conn, &f).map_err(|e| e.to_string()));
                }
                Msg::Record(_) => {}
            }
        }
    }
}

fn sqlite_query(
    conn: &rusqlite::Connection,
    f: &UsageFilter,
) -> Result<Vec<UsageRecord>, rusqlite::Error> {
    let (sql, vals) = f.sql(false);
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(vals.iter()), |r| {
        Ok(UsageRecord {
            day: r.get(0)?,
            principal: r.get(1)?,
            team: r.get(2)?,
            key_id: r.get(3)?,
            model: r.get(4)?,
            provider: r.get(5)?,
            requests: u64of(r.get(6)?),
            input_tokens: u64of(r.get(7)?),
            output_tokens: u64of(r.get(8)?),
            cost_micros: u64of(r.get(9)?),
        })
    })?;
    rows.collect()
}

async fn pg_migrate(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The same lock and the same `schema_migrations` table as the key store (gatehouse-identity),
    // so that components migrating one database at the same moment do not race.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(0x6761_7465_6b65_7973_i64)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version BIGINT \
         NOT NULL, PRIMARY KEY (component, version))",
    )
    .execute(&mut *tx)
    .await?;
    let done: Option<(i64,)> = sqlx::query_as(
        "SELECT version::bigint FROM schema_migrations WHERE component = 'usage' AND version = 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    if done.is_none() {
        sqlx::raw_sql(PG_SCHEMA).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO schema_migrations VALUES ('usage', 1)")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

async fn pg_writer(
    opts: sqlx::postgres::PgConnectOptions,
    mut rx: mpsc::Receiver<Msg>,
    c: Arc<StoreCounters>,
    ready: oneshot::Sender<Result<(), String>>,
) {
    let pool = match sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(opts)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            let _ = ready.send(Err(pg_err(&e)));
            return;
        }
    };
    if let Err(e) = pg_migrate(&pool).await {
        let _ = ready.send(Err(pg_err(&e)));
        return;
    }
    if ready.send(Ok(())).is_err() {
        return;
    }
    while let Some(first) = rx.recv().await {
        let (recs, other) = split(first, &mut rx);
        let mut last_err = None;
        if !recs.is_empty() {
            let rows = aggregate(recs);
            let n = rows.len() as u64;
            let res = async {
                let mut tx = pool.begin().await?;
                for r in &rows {
                    sqlx::query(UPSERT_PG)
                        .bind(&r.day)
                        .bind(&r.principal)
                        .bind(&r.team)
                        .bind(&r.key_id)
                        .bind(&r.model)
                        .bind(&r.provider)
                        .bind(i64of(r.requests))
                        .bind(i64of(r.input_tokens))
                        .bind(i64of(r.output_tokens))
                        .bind(i64of(r.cost_micros))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
            .await;
            match res {
                Ok(()) => {
                    c.written.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    c.write_errors.fetch_add(1, Ordering::Relaxed);
                    let msg = pg_err(&e);
                    tracing::error!(error = %msg, rows = n, "usage: write failed");
                    last_err = Some(msg);
                }
            }
        }
        for m in other {
            match m {
                Msg::Flush(tx) => {
                    let _ = tx.send(last_err.clone().map_or(Ok(()), Err));
                }
                Msg::Query(f, tx) => {
                    let _ = tx.send(pg_query(&pool, &f).await.map_err(|e| pg_err(&e)));
                }
                Msg::Record(_) => {}
            }
        }
    }
    pool.close().await;
}

/// A PostgreSQL error without the connection details.
fn pg_err(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => format!("database error: {}", d.message()),
        sqlx::Error::Configuration(_) => "invalid PostgreSQL configuration".into(),
        sqlx::Error::Io(e) => format!("connection error: {}", e.kind()),
        sqlx::Error::PoolTimedOut => "timed out connecting to PostgreSQL".into(),
        _ => "PostgreSQL error".into(),
    }
}

async fn pg_query(pool: &sqlx::PgPool, f: &UsageFilter) -> Result<Vec<UsageRecord>, sqlx::Error> {
    use sqlx::Row;
    let (sql, vals) = f.sql(true);
    // The SQL is assembled from fixed column names and numbered placeholders only; every value
    // is bound.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for v in &vals {
        q = q.bind(v);
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(UsageRecord {
                day: r.try_get(0)?,
                principal: r.try_get(1)?,
                team: r.try_get(2)?,
                key_id: r.try_get(3)?,
                model: r.try_get(4)?,
                provider: r.try_get(5)?,
                requests: u64of(r.try_get(6)?),
                input_tokens: u64of(r.try_get(7)?),
                output_tokens: u64of(r.try_get(8)?),
                cost_micros: u64of(r.try_get(9)?),
            })
        })
        .collect()
}
