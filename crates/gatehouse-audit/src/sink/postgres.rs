//! PostgreSQL sink (sqlx). Tables live in a configurable schema; the writer thread drives the
//! async driver on a runtime of its own.

use super::{Sink, SinkError, Tail, io};
use crate::chain::{Anchor, ChainedRecord, Checkpoint, Hash, parse_hash};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};
use std::time::Duration;

/// Checks a schema name (`[a-z_][a-z0-9_]*`, at most 63 bytes): it is interpolated into SQL.
pub fn valid_schema(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Connects lazily (a server that is down at start is retried) and migrates once reachable.
pub(crate) fn pool(url: &str) -> Result<PgPool, SinkError> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(url)
        // sqlx's URL parse errors may echo the URL (and its password): say only that it failed.
        .map_err(|_| SinkError::Io("postgres: invalid connection URL".into()))
}

fn pg_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> SinkError {
    move |e| {
        // Database errors carry the server's message; connection errors never echo the URL.
        SinkError::Io(format!("postgres {what}: {e}"))
    }
}

pub(crate) async fn migrate(pool: &PgPool, schema: &str) -> Result<(), SinkError> {
    let s = schema;
    let sql = format!(
        "CREATE SCHEMA IF NOT EXISTS {s};
         CREATE TABLE IF NOT EXISTS {s}.schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.audit_events (
             seq BIGINT PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
             event TEXT NOT NULL, ts TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS audit_events_ts ON {s}.audit_events (ts);
         CREATE TABLE IF NOT EXISTS {s}.audit_checkpoints (
             seq BIGINT PRIMARY KEY, hash TEXT NOT NULL, ts TEXT NOT NULL, key TEXT NOT NULL, signature TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.audit_anchor (
             id INT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, prev_hash TEXT NOT NULL,
             ts TEXT NOT NULL, key TEXT NOT NULL, signature TEXT NOT NULL);
         INSERT INTO {s}.schema_migrations (version, applied_at) VALUES (1, now()::text) ON CONFLICT DO NOTHING;"
    );
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(pool)
        .await
        .map_err(pg_err("migrate"))?;
    Ok(())
}

fn to_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The PostgreSQL sink.
pub struct PostgresSink {
    id: String,
    rt: tokio::runtime::Runtime,
    pool: PgPool,
    schema: String,
    migrated: bool,
}

impl PostgresSink {
    /// Prepares a sink; the first write connects and creates the tables.
    pub fn connect(url: &str, schema: &str) -> Result<PostgresSink, SinkError> {
        if !valid_schema(schema) {
            return Err(SinkError::Io(format!(
                "postgres: invalid schema name {schema:?}"
            )));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("postgres runtime"))?;
        let pool = {
            let _g = rt.enter();
            pool(url)?
        };
        Ok(PostgresSink {
            id: super::SinkSpec::Postgres {
                url: url.to_owned(),
                schema: schema.to_owned(),
            }
            .id(),
            rt,
            pool,
            schema: schema.to_owned(),
            migrated: false,
        })
    }

    fn ensure(&mut self) -> Result<(), SinkError> {
        if !self.migrated {
            self.rt.block_on(migrate(&self.pool, &self.schema))?;
            self.migrated = true;
        }
        Ok(())
    }
}

impl Sink for PostgresSink {
    fn id(&self) -> &str {
        &self.id
    }

    fn write(&mut self, rows: &[ChainedRecord]) -> Result<(), SinkError> {
        self.ensure()?;
        let s = self.schema.clone();
        let r = self.rt.block_on(async {
            let mut tx = self.pool.begin().await.map_err(pg_err("begin"))?;
            let ins = format!(
                "INSERT INTO {s}.audit_events (seq, prev_hash, hash, event, ts) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING"
            );
            let get = format!("SELECT hash FROM {s}.audit_events WHERE seq = $1");
            for r in rows {
                let hash = hex::encode(r.hash);
                let done = sqlx::query(AssertSqlSafe(ins.as_str()))
                    .bind(to_i64(r.seq))
                    .bind(hex::encode(r.prev_hash))
                    .bind(&hash)
                    .bind(&r.event_json)
                    .bind(&r.ts)
                    .execute(&mut *tx)
                    .await
                    .map_err(pg_err("insert"))?;
                if done.rows_affected() == 0 {
                    let row = sqlx::query(AssertSqlSafe(get.as_str()))
                        .bind(to_i64(r.seq))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(pg_err("select"))?;
                    let existing: String = row.try_get(0).map_err(pg_err("select"))?;
                    if existing != hash {
                        return Err(SinkError::Conflict(r.seq));
                    }
                }
            }
            tx.commit().await.map_err(pg_err("commit"))
        });
        if r.is_err() {
            // The schema may have been dropped: recreate it on the next attempt.
            self.migrated = false;
        }
        r
    }

    fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), SinkError> {
        self.ensure()?;
        let sql = format!(
            "INSERT INTO {}.audit_checkpoints (seq, hash, ts, key, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO UPDATE SET hash = EXCLUDED.hash, ts = EXCLUDED.ts, key = EXCLUDED.key, signature = EXCLUDED.signature",
            self.schema
        );
        self.rt
            .block_on(
                sqlx::query(AssertSqlSafe(sql))
                    .bind(to_i64(cp.seq))
                    .bind(&cp.hash)
                    .bind(&cp.ts)
                    .bind(&cp.key)
                    .bind(&cp.signature)
                    .execute(&self.pool),
            )
            .map_err(pg_err("checkpoint"))?;
        Ok(())
    }

    fn tail(&mut self) -> Result<Option<Tail>, SinkError> {
        self.ensure()?;
        let sql = format!(
            "SELECT seq, hash FROM {}.audit_events ORDER BY seq DESC LIMIT 1",
            self.schema
        );
        let row = self
            .rt
            .block_on(sqlx::query(AssertSqlSafe(sql)).fetch_optional(&self.pool))
            .map_err(pg_err("tail"))?;
        let Some(row) = row else { return Ok(None) };
        let seq: i64 = row.try_get(0).map_err(pg_err("tail"))?;
        let hash: String = row.try_get(1).map_err(pg_err("tail"))?;
        Ok(Some(Tail {
            seq: u64::try_from(seq).map_err(io("postgres tail"))?,
            hash: parse_hash(&hash)
                .ok_or_else(|| SinkError::Io("postgres tail: malformed hash".into()))?,
        }))
    }

    fn retain(
        &mut self,
        cutoff: &str,
        anchor: &mut dyn FnMut(u64, &Hash) -> Anchor,
    ) -> Result<u64, SinkError> {
        self.ensure()?;
        let s = self.schema.clone();
        self.rt.block_on(async {
            let mut tx = self.pool.begin().await.map_err(pg_err("begin"))?;
            let b = sqlx::query(AssertSqlSafe(format!(
                "SELECT MIN(seq), MAX(seq), (SELECT MIN(seq) FROM {s}.audit_events WHERE ts >= $1) FROM {s}.audit_events"
            )))
            .bind(cutoff)
            .fetch_one(&mut *tx)
            .await
            .map_err(pg_err("retention"))?;
            let min: Option<i64> = b.try_get(0).map_err(pg_err("retention"))?;
            let max: Option<i64> = b.try_get(1).map_err(pg_err("retention"))?;
            let first_new: Option<i64> = b.try_get(2).map_err(pg_err("retention"))?;
            let (Some(min), Some(max)) = (min, max) else {
                return Ok(0);
            };
            let keep = first_new.unwrap_or(max).min(max);
            if keep <= min {
                return Ok(0);
            }
            let prev: String = sqlx::query(AssertSqlSafe(format!(
                "SELECT prev_hash FROM {s}.audit_events WHERE seq = $1"
            )))
            .bind(keep)
            .fetch_one(&mut *tx)
            .await
            .map_err(pg_err("retention"))?
            .try_get(0)
            .map_err(pg_err("retention"))?;
            let prev = parse_hash(&prev)
                .ok_or_else(|| SinkError::Io("postgres retention: malformed hash".into()))?;
            let a = anchor(u64::try_from(keep).unwrap_or(0), &prev);
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {s}.audit_anchor (id, seq, prev_hash, ts, key, signature) VALUES (1, $1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, prev_hash = EXCLUDED.prev_hash, ts = EXCLUDED.ts, key = EXCLUDED.key, signature = EXCLUDED.signature"
            )))
            .bind(keep)
            .bind(&a.prev_hash)
            .bind(&a.ts)
            .bind(&a.key)
            .bind(&a.signature)
            .execute(&mut *tx)
            .await
            .map_err(pg_err("retention"))?;
            let n = sqlx::query(AssertSqlSafe(format!("DELETE FROM {s}.audit_events WHERE seq < $1")))
                .bind(keep)
                .execute(&mut *tx)
                .await
                .map_err(pg_err("retention"))?
                .rows_affected();
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {s}.audit_checkpoints WHERE seq < $1")))
                .bind(keep)
                .execute(&mut *tx)
                .await
                .map_err(pg_err("retention"))?;
            tx.commit().await.map_err(pg_err("retention"))?;
            Ok(n)
        })
    }
}
