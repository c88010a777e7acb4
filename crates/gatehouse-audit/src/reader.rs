//! Reading the log back: queries (`GET /admin/v1/audit`, `gatehouse audit query|tail|export`)
//! and verification (`gatehouse audit verify`).

use crate::chain::{Anchor, Checkpoint, Verifier, VerifyReport};
use crate::crypto::PublicKey;
use crate::sink::jsonl::{Line, log_files};
use crate::sink::postgres::valid_schema;
use rusqlite::{OpenFlags, OptionalExtension, params};
use serde::Serialize;
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Row};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Read failures.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The log could not be opened or read.
    #[error("audit log: {0}")]
    Io(String),
    /// A filter value is malformed.
    #[error("invalid filter: {0}")]
    Filter(String),
}

fn rio<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> ReadError {
    move |e| ReadError::Io(format!("{what}: {e}"))
}

/// Which log to read. `Debug` never shows a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub enum AuditSource {
    /// A SQLite audit database.
    Sqlite(PathBuf),
    /// PostgreSQL tables in `schema`.
    Postgres {
        /// Connection URL (a secret: never logged).
        url: String,
        /// Schema.
        schema: String,
    },
    /// A (rotated) JSONL log: the active file's path.
    Jsonl(PathBuf),
}

impl std::fmt::Debug for AuditSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditSource::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            AuditSource::Jsonl(p) => f.debug_tuple("Jsonl").field(p).finish(),
            AuditSource::Postgres { schema, .. } => f
                .debug_struct("Postgres")
                .field("url", &"<redacted>")
                .field("schema", schema)
                .finish(),
        }
    }
}

/// Which events a query returns. Every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Principal id.
    pub principal: Option<String>,
    /// Events at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Events before this RFC 3339 time.
    pub until: Option<String>,
    /// Decision (`allow`, `block`, `error`, `cancelled`; `blocked`/`allowed` accepted).
    pub decision: Option<String>,
    /// A finding type or detector (`prompt_injection`, `EMAIL_ADDRESS`, `secrets`).
    pub finding: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Only rows with a greater seq (paging, `tail --follow`).
    pub after_seq: Option<u64>,
    /// Most rows returned (default 100, at most 10,000).
    pub limit: Option<u32>,
    /// Newest first (then `limit` takes the newest).
    pub newest_first: bool,
}

/// Most rows one query returns.
pub const MAX_LIMIT: u32 = 10_000;

fn normalize_decision(d: &str) -> String {
    match d {
        "blocked" => "block".into(),
        "allowed" => "allow".into(),
        "errored" => "error".into(),
        other => other.to_owned(),
    }
}

/// Parses `--since`/`--until`: RFC 3339, or a duration ago (`30s`, `15m`, `2h`, `7d`).
pub fn parse_time_arg(s: &str) -> Result<String, ReadError> {
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(crate::event::format_rfc3339(t));
    }
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num
        .parse()
        .map_err(|_| ReadError::Filter(format!("not a time or duration: {s:?}")))?;
    let d = match unit {
        "s" => time::Duration::seconds(n),
        "m" => time::Duration::minutes(n),
        "h" => time::Duration::hours(n),
        "d" => time::Duration::days(n),
        _ => return Err(ReadError::Filter(format!("not a time or duration: {s:?}"))),
    };
    Ok(crate::event::format_rfc3339(
        time::OffsetDateTime::now_utc() - d,
    ))
}

impl Filter {
    fn limit(&self) -> u32 {
        self.limit.unwrap_or(100).clamp(1, MAX_LIMIT)
    }

    fn decision(&self) -> Option<String> {
        self.decision.as_deref().map(normalize_decision)
    }

    /// Whether an event (as JSON) matches (JSONL logs filter in memory).
    pub fn matches(&self, seq: u64, ev: &serde_json::Value) -> bool {
        let s = |k: &str| ev.get(k).and_then(|v| v.as_str());
        let ts = s("ts").unwrap_or("");
        self.principal
            .as_deref()
            .is_none_or(|p| s("principal") == Some(p))
            && self.since.as_deref().is_none_or(|t| ts >= t)
            && self.until.as_deref().is_none_or(|t| ts < t)
            && self
                .decision()
                .as_deref()
                .is_none_or(|d| s("decision") == Some(d))
            && self
                .request_id
                .as_deref()
                .is_none_or(|r| s("request_id") == Some(r))
            && self.after_seq.is_none_or(|a| seq > a)
            && self.finding.as_deref().is_none_or(|f| {
                ev.get("findings")
                    .and_then(|v| v.as_array())
                    .is_some_and(|fs| {
                        fs.iter().any(|x| {
                            x.get("type").and_then(|v| v.as_str()) == Some(f)
                                || x.get("detector").and_then(|v| v.as_str()) == Some(f)
                        })
                    })
            })
    }
}

/// One stored row.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    /// Position in the chain.
    pub seq: u64,
    /// Hash of the previous row (hex).
    pub prev_hash: String,
    /// This row's hash (hex).
    pub hash: String,
    /// The event.
    pub event: serde_json::Value,
    /// The event's exact stored JSON text (what the hash covers).
    #[serde(skip)]
    pub event_json: String,
}

impl StoredEvent {
    fn new(seq: u64, prev_hash: String, hash: String, event_json: String) -> StoredEvent {
        StoredEvent {
            seq,
            prev_hash,
            hash,
            event: serde_json::from_str(&event_json).unwrap_or(serde_json::Value::Null),
            event_json,
        }
    }
}

enum Inner {
    Sqlite(PathBuf),
    Postgres { pool: PgPool, schema: String },
    Jsonl(PathBuf),
}

/// Reads an audit log. Async; SQLite and file work runs on the blocking pool.
pub struct AuditReader {
    inner: Inner,
}

impl std::fmt::Debug for AuditReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.inner {
            Inner::Sqlite(_) => "AuditReader(sqlite)",
            Inner::Postgres { .. } => "AuditReader(postgres)",
            Inner::Jsonl(_) => "AuditReader(jsonl)",
        })
    }
}

fn open_ro(path: &Path) -> Result<rusqlite::Connection, ReadError> {
    if !path.is_file() {
        return Err(ReadError::Io(format!("{}: no such file", path.display())));
    }
    let c = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(rio("open"))?;
    c.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(rio("open"))?;
    Ok(c)
}

fn u(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}

fn i(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ReadError> + Send + 'static,
) -> Result<T, ReadError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ReadError::Io("reader task failed".into()))?
}

impl AuditReader {
    /// Opens a log. PostgreSQL connects on first use.
    pub fn open(src: AuditSource) -> Result<AuditReader, ReadError> {
        Ok(AuditReader {
            inner: match src {
                AuditSource::Sqlite(p) => Inner::Sqlite(p),
                AuditSource::Jsonl(p) => Inner::Jsonl(p),
                AuditSource::Postgres { url, schema } => {
                    if !valid_schema(&schema) {
                        return Err(ReadError::Filter(format!("invalid schema {schema:?}")));
                    }
                    let pool = crate::sink::postgres::pool(&url)
                        .map_err(|e| ReadError::Io(e.to_string()))?;
                    Inner::Postgres { pool, schema }
                }
            },
        })
    }

    /// Events matching `f`, in seq order (or newest first when asked).
    pub async fn query(&self, f: &Filter) -> Result<Vec<StoredEvent>, ReadError> {
        let f = f.clone();
        match &self.inner {
            Inner::Sqlite(p) => {
                let p = p.clone();
                blocking(move || sqlite_query(&p, &f)).await
            }
            Inner::Jsonl(p) => {
                let p = p.clone();
                blocking(move || {
                    let (rows, _) = jsonl_read(&p)?;
                    let mut out: Vec<StoredEvent> = rows
                        .into_iter()
                        .filter(|r| f.matches(r.seq, &r.event))
                        .collect();
                    if f.newest_first {
                        out.reverse();
                    }
                    out.truncate(f.limit() as usize);
                    Ok(out)
                })
                .await
            }
            Inner::Postgres { pool, schema } => pg_query(pool, schema, &f).await,
        }
    }

    /// Checkpoints, oldest first.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, ReadError> {
        match &self.inner {
            Inner::Sqlite(p) => {
                let p = p.clone();
                blocking(move || Ok(sqlite_meta(&open_ro(&p)?)?.0)).await
            }
            Inner::Jsonl(p) => {
                let p = p.clone();
                blocking(move || Ok(jsonl_read(&p)?.1)).await
            }
            Inner::Postgres { pool, schema } => Ok(pg_meta(pool, schema).await?.0),
        }
    }

    /// Verifies the whole chain, checkpoints and retention anchor. `key`: the operator's public
    /// key (without it, signatures are checked against the key they carry).
    pub async fn verify(&self, key: Option<PublicKey>) -> Result<VerifyReport, ReadError> {
        match &self.inner {
            Inner::Sqlite(p) => {
                let p = p.clone();
                blocking(move || {
                    let c = open_ro(&p)?;
                    // One read transaction: a consistent snapshot while the gateway appends.
                    c.execute_batch("BEGIN").map_err(rio("verify"))?;
                    let (cps, anchor) = sqlite_meta(&c)?;
                    let mut v = Verifier::new(&cps, anchor, key);
                    let mut st = c
                        .prepare(
                            "SELECT seq, prev_hash, hash, event FROM audit_events ORDER BY seq",
                        )
                        .map_err(rio("verify"))?;
                    let mut rows = st.query([]).map_err(rio("verify"))?;
                    while let Some(r) = rows.next().map_err(rio("verify"))? {
                        let seq: i64 = r.get(0).map_err(rio("verify"))?;
                        let prev: String = r.get(1).map_err(rio("verify"))?;
                        let hash: String = r.get(2).map_err(rio("verify"))?;
                        let ev: String = r.get(3).map_err(rio("verify"))?;
                        v.row(u(seq), &prev, &hash, &ev);
                    }
                    Ok(v.finish(&cps))
                })
                .await
            }
            Inner::Jsonl(p) => {
                let p = p.clone();
                blocking(move || {
                    let (rows, cps) = jsonl_read(&p)?;
                    let mut v = Verifier::new(&cps, None, key);
                    for r in &rows {
                        v.row(r.seq, &r.prev_hash, &r.hash, &r.event_json);
                    }
                    Ok(v.finish(&cps))
                })
                .await
            }
            Inner::Postgres { pool, schema } => {
                let (cps, anchor) = pg_meta(pool, schema).await?;
                let mut v = Verifier::new(&cps, anchor, key);
                let sql = format!(
                    "SELECT seq, prev_hash, hash, event FROM {schema}.audit_events WHERE seq > $1 ORDER BY seq LIMIT 5000"
                );
                let mut after = -1i64;
                loop {
                    let rows = sqlx::query(AssertSqlSafe(sql.as_str()))
                        .bind(after)
                        .fetch_all(pool)
                        .await
                        .map_err(rio("postgres verify"))?;
                    if rows.is_empty() {
                        break;
                    }
                    for r in &rows {
                        let seq: i64 = r.try_get(0).map_err(rio("postgres verify"))?;
                        let prev: String = r.try_get(1).map_err(rio("postgres verify"))?;
                        let hash: String = r.try_get(2).map_err(rio("postgres verify"))?;
                        let ev: String = r.try_get(3).map_err(rio("postgres verify"))?;
                        v.row(u(seq), &prev, &hash, &ev);
                        after = seq;
                    }
                }
                Ok(v.finish(&cps))
            }
        }
    }
}

fn sqlite_query(path: &Path, f: &Filter) -> Result<Vec<StoredEvent>, ReadError> {
    let c = open_ro(path)?;
    let order = if f.newest_first { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT seq, prev_hash, hash, event FROM audit_events WHERE
           (?1 IS NULL OR principal = ?1)
           AND (?2 IS NULL OR ts >= ?2) AND (?3 IS NULL OR ts < ?3)
           AND (?4 IS NULL OR decision = ?4)
           AND (?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(audit_events.event, '$.findings') f
                 WHERE json_extract(f.value, '$.type') = ?5 OR json_extract(f.value, '$.detector') = ?5))
           AND (?6 IS NULL OR request_id = ?6)
           AND seq > ?7
         ORDER BY seq {order} LIMIT ?8"
    );
    let mut st = c.prepare(&sql).map_err(rio("query"))?;
    let rows = st
        .query_map(
            params![
                f.principal,
                f.since,
                f.until,
                f.decision(),
                f.finding,
                f.request_id,
                f.after_seq.map_or(0, i),
                f.limit()
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .map_err(rio("query"))?;
    let mut out = Vec::new();
    for r in rows {
        let (seq, p, h, e) = r.map_err(rio("query"))?;
        out.push(StoredEvent::new(u(seq), p, h, e));
    }
    Ok(out)
}

fn sqlite_meta(c: &rusqlite::Connection) -> Result<(Vec<Checkpoint>, Option<Anchor>), ReadError> {
    let mut st = c
        .prepare("SELECT seq, hash, ts, key, signature FROM audit_checkpoints ORDER BY seq")
        .map_err(rio("checkpoints"))?;
    let cps = st
        .query_map([], |r| {
            Ok(Checkpoint {
                seq: u(r.get(0)?),
                hash: r.get(1)?,
                ts: r.get(2)?,
                key: r.get(3)?,
                signature: r.get(4)?,
            })
        })
        .map_err(rio("checkpoints"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(rio("checkpoints"))?;
    let anchor = c
        .query_row(
            "SELECT seq, prev_hash, ts, key, signature FROM audit_anchor WHERE id = 1",
            [],
            |r| {
                Ok(Anchor {
                    seq: u(r.get(0)?),
                    prev_hash: r.get(1)?,
                    ts: r.get(2)?,
                    key: r.get(3)?,
                    signature: r.get(4)?,
                })
            },
        )
        .optional()
        .map_err(rio("anchor"))?;
    Ok((cps, anchor))
}

async fn pg_query(pool: &PgPool, s: &str, f: &Filter) -> Result<Vec<StoredEvent>, ReadError> {
    let order = if f.newest_first { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT seq, prev_hash, hash, event FROM {s}.audit_events WHERE
           ($1::text IS NULL OR event::jsonb->>'principal' = $1)
           AND ($2::text IS NULL OR ts >= $2) AND ($3::text IS NULL OR ts < $3)
           AND ($4::text IS NULL OR event::jsonb->>'decision' = $4)
           AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(event::jsonb->'findings', '[]'::jsonb)) f
                 WHERE f->>'type' = $5 OR f->>'detector' = $5))
           AND ($6::text IS NULL OR event::jsonb->>'request_id' = $6)
           AND seq > $7
         ORDER BY seq {order} LIMIT $8"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&f.principal)
        .bind(&f.since)
        .bind(&f.until)
        .bind(f.decision())
        .bind(&f.finding)
        .bind(&f.request_id)
        .bind(f.after_seq.map_or(0, i))
        .bind(i64::from(f.limit()))
        .fetch_all(pool)
        .await
        .map_err(rio("postgres query"))?;
    let mut out = Vec::new();
    for r in rows {
        let seq: i64 = r.try_get(0).map_err(rio("postgres query"))?;
        out.push(StoredEvent::new(
            u(seq),
            r.try_get(1).map_err(rio("postgres query"))?,
            r.try_get(2).map_err(rio("postgres query"))?,
            r.try_get(3).map_err(rio("postgres query"))?,
        ));
    }
    Ok(out)
}

async fn pg_meta(pool: &PgPool, s: &str) -> Result<(Vec<Checkpoint>, Option<Anchor>), ReadError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT seq, hash, ts, key, signature FROM {s}.audit_checkpoints ORDER BY seq"
    )))
    .fetch_all(pool)
    .await
    .map_err(rio("postgres checkpoints"))?;
    let mut cps = Vec::new();
    for r in rows {
        cps.push(Checkpoint {
            seq: u(r.try_get(0).map_err(rio("postgres checkpoints"))?),
            hash: r.try_get(1).map_err(rio("postgres checkpoints"))?,
            ts: r.try_get(2).map_err(rio("postgres checkpoints"))?,
            key: r.try_get(3).map_err(rio("postgres checkpoints"))?,
            signature: r.try_get(4).map_err(rio("postgres checkpoints"))?,
        });
    }
    let a = sqlx::query(AssertSqlSafe(format!(
        "SELECT seq, prev_hash, ts, key, signature FROM {s}.audit_anchor WHERE id = 1"
    )))
    .fetch_optional(pool)
    .await
    .map_err(rio("postgres anchor"))?;
    let anchor = match a {
        None => None,
        Some(r) => Some(Anchor {
            seq: u(r.try_get(0).map_err(rio("postgres anchor"))?),
            prev_hash: r.try_get(1).map_err(rio("postgres anchor"))?,
            ts: r.try_get(2).map_err(rio("postgres anchor"))?,
            key: r.try_get(3).map_err(rio("postgres anchor"))?,
            signature: r.try_get(4).map_err(rio("postgres anchor"))?,
        }),
    };
    Ok((cps, anchor))
}

fn jsonl_read(path: &Path) -> Result<(Vec<StoredEvent>, Vec<Checkpoint>), ReadError> {
    let files = log_files(path);
    if files.is_empty() {
        return Err(ReadError::Io(format!("{}: no such file", path.display())));
    }
    let mut rows = Vec::new();
    let mut cps = Vec::new();
    for f in files {
        let file = std::fs::File::open(&f).map_err(rio("open jsonl"))?;
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(rio("read jsonl"))?;
            if line.trim().is_empty() {
                continue;
            }
            let l: Line = serde_json::from_str(&line).map_err(|_| {
                ReadError::Io(format!(
                    "{}:{}: not a chained audit line",
                    f.display(),
                    n + 1
                ))
            })?;
            if let Some(c) = l.checkpoint {
                cps.push(c);
                continue;
            }
            match (l.seq, l.prev_hash, l.hash, l.event) {
                (Some(seq), Some(p), Some(h), Some(e)) => {
                    rows.push(StoredEvent::new(seq, p, h, e.get().to_owned()))
                }
                _ => {
                    return Err(ReadError::Io(format!(
                        "{}:{}: not a chained audit line",
                        f.display(),
                        n + 1
                    )));
                }
            }
        }
    }
    Ok((rows, cps))
}

impl StoredEvent {
    /// The event's body with an encrypted body opened (`{"mode":"decrypted","request":…}`);
    /// `Ok(None)` when the event has no body. Fails on a wrong key or tampered ciphertext.
    pub fn decrypted_body(
        &self,
        ring: &crate::crypto::KeyRing,
    ) -> Result<Option<serde_json::Value>, crate::crypto::KeyError> {
        let Some(body) = self.event.get("body") else {
            return Ok(None);
        };
        match serde_json::from_value::<crate::event::AuditBody>(body.clone()) {
            Ok(crate::event::AuditBody::Encrypted(e)) => {
                let rid = self
                    .event
                    .get("request_id")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let plain = ring.decrypt(&e, rid)?;
                let mut v: serde_json::Value =
                    serde_json::from_slice(&plain).map_err(|_| crate::crypto::KeyError::Open)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("mode".into(), "decrypted".into());
                }
                Ok(Some(v))
            }
            _ => Ok(Some(body.clone())),
        }
    }
}
