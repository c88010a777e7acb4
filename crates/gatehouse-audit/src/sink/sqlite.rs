//! SQLite sink: the default store (`gatehouse-data/audit.db`), WAL, STRICT tables.

use super::{Sink, SinkError, Tail, io};
use crate::chain::{Anchor, ChainedRecord, Checkpoint, Hash, parse_hash};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// Schema migrations, applied in order; the version is recorded in `schema_migrations`.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    event      TEXT NOT NULL,
    ts         TEXT NOT NULL,
    request_id TEXT GENERATED ALWAYS AS (json_extract(event, '$.request_id')) VIRTUAL,
    principal  TEXT GENERATED ALWAYS AS (json_extract(event, '$.principal')) VIRTUAL,
    decision   TEXT GENERATED ALWAYS AS (json_extract(event, '$.decision')) VIRTUAL
) STRICT;
CREATE INDEX audit_events_ts ON audit_events (ts);
CREATE INDEX audit_events_request_id ON audit_events (request_id);
CREATE INDEX audit_events_principal ON audit_events (principal, seq);
CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    ts        TEXT NOT NULL,
    key       TEXT NOT NULL,
    signature TEXT NOT NULL
) STRICT;
CREATE TABLE audit_anchor (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    ts        TEXT NOT NULL,
    key       TEXT NOT NULL,
    signature TEXT NOT NULL
) STRICT;
"#];

/// Opens (creating and migrating) an audit database.
pub fn open_db(path: &Path, strict: bool) -> Result<Connection, SinkError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io("audit db directory"))?;
    }
    let conn = Connection::open(path).map_err(io("open audit db"))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(io("audit db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(io("audit db"))?;
    conn.pragma_update(None, "synchronous", if strict { "FULL" } else { "NORMAL" })
        .map_err(io("audit db"))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT;",
    )
    .map_err(io("audit db migrations"))?;
    let have: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(io("audit db migrations"))?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let v = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        if v <= have {
            continue;
        }
        let tx = conn
            .unchecked_transaction()
            .map_err(io("audit db migrations"))?;
        tx.execute_batch(sql).map_err(io("audit db migrations"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![v, crate::now_rfc3339()],
        )
        .map_err(io("audit db migrations"))?;
        tx.commit().map_err(io("audit db migrations"))?;
    }
    Ok(conn)
}

fn to_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The SQLite sink.
pub struct SqliteSink {
    id: String,
    conn: Connection,
}

impl SqliteSink {
    /// Opens `path`.
    pub fn open(path: &Path, strict: bool) -> Result<SqliteSink, SinkError> {
        Ok(SqliteSink {
            id: super::SinkSpec::Sqlite(path.to_owned()).id(),
            conn: open_db(path, strict)?,
        })
    }
}

impl Sink for SqliteSink {
    fn id(&self) -> &str {
        &self.id
    }

    fn write(&mut self, rows: &[ChainedRecord]) -> Result<(), SinkError> {
        let tx = self.conn.transaction().map_err(io("audit db"))?;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO audit_events (seq, prev_hash, hash, event, ts) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (seq) DO NOTHING",
                )
                .map_err(io("audit db"))?;
            let mut get = tx
                .prepare_cached("SELECT hash FROM audit_events WHERE seq = ?1")
                .map_err(io("audit db"))?;
            for r in rows {
                let hash = hex::encode(r.hash);
                let n = ins
                    .execute(params![
                        to_i64(r.seq),
                        hex::encode(r.prev_hash),
                        hash,
                        r.event_json,
                        r.ts
                    ])
                    .map_err(io("audit db insert"))?;
                if n == 0 {
                    let existing: String = get
                        .query_row([to_i64(r.seq)], |row| row.get(0))
                        .map_err(io("audit db"))?;
                    if existing != hash {
                        return Err(SinkError::Conflict(r.seq));
                    }
                }
            }
        }
        tx.commit().map_err(io("audit db commit"))
    }

    fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), SinkError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO audit_checkpoints (seq, hash, ts, key, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![to_i64(cp.seq), cp.hash, cp.ts, cp.key, cp.signature],
            )
            .map_err(io("audit db checkpoint"))?;
        Ok(())
    }

    fn tail(&mut self) -> Result<Option<Tail>, SinkError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(io("audit db tail"))?;
        match row {
            None => Ok(None),
            Some((seq, hash)) => Ok(Some(Tail {
                seq: u64::try_from(seq).map_err(io("audit db tail"))?,
                hash: parse_hash(&hash)
                    .ok_or_else(|| SinkError::Io("audit db tail: malformed hash".into()))?,
            })),
        }
    }

    fn retain(
        &mut self,
        cutoff: &str,
        anchor: &mut dyn FnMut(u64, &Hash) -> Anchor,
    ) -> Result<u64, SinkError> {
        let tx = self.conn.transaction().map_err(io("audit db"))?;
        let bounds: Option<(i64, i64)> = tx
            .query_row("SELECT MIN(seq), MAX(seq) FROM audit_events", [], |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
            })
            .map(|(a, b)| a.zip(b))
            .map_err(io("audit db retention"))?;
        let Some((min, max)) = bounds else {
            return Ok(0);
        };
        // First row to keep: the first at or after the cutoff, and never past the last row.
        let first_new: Option<i64> = tx
            .query_row(
                "SELECT MIN(seq) FROM audit_events WHERE ts >= ?1",
                [cutoff],
                |r| r.get(0),
            )
            .map_err(io("audit db retention"))?;
        let keep = first_new.unwrap_or(max).min(max);
        if keep <= min {
            return Ok(0);
        }
        let prev: String = tx
            .query_row(
                "SELECT prev_hash FROM audit_events WHERE seq = ?1",
                [keep],
                |r| r.get(0),
            )
            .map_err(io("audit db retention"))?;
        let prev = parse_hash(&prev)
            .ok_or_else(|| SinkError::Io("audit db retention: malformed hash".into()))?;
        let a = anchor(u64::try_from(keep).unwrap_or(0), &prev);
        tx.execute(
            "INSERT OR REPLACE INTO audit_anchor (id, seq, prev_hash, ts, key, signature) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            params![keep, a.prev_hash, a.ts, a.key, a.signature],
        )
        .map_err(io("audit db retention"))?;
        let n = tx
            .execute("DELETE FROM audit_events WHERE seq < ?1", [keep])
            .map_err(io("audit db retention"))?;
        tx.execute("DELETE FROM audit_checkpoints WHERE seq < ?1", [keep])
            .map_err(io("audit db retention"))?;
        tx.commit().map_err(io("audit db retention"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
