//! The SQLite backend: one connection behind a mutex; every call runs on tokio's blocking pool
//! (`spawn_blocking`) so a slow disk or a busy lock never stalls the runtime's workers.

use super::{
    KeyRecord, StoreError, attributes_from_column, attributes_to_column, hash_from_bytes,
    models_from_column, models_to_column,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Migrations of component `keys`, version = index + 1. Never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT,
    principal TEXT NOT NULL,
    team TEXT,
    models TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;
"#,
    r#"
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
ALTER TABLE api_keys ADD COLUMN rotated_from TEXT;
ALTER TABLE api_keys ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
"#,
];

const COLUMNS: &str = "id, name, principal, team, models, secret_sha256, created_at, expires_at, revoked_at, replaced_by, rotated_from, attributes";

pub(super) struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock first, so two processes opening a fresh file at once
    // migrate one after the other (the second waits up to the busy timeout, then sees the
    // versions already applied).
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version)) STRICT;")?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let v = i64::try_from(i + 1).unwrap_or(i64::MAX);
        let done: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE component = 'keys' AND version = ?1",
                params![v],
                |r| r.get(0),
            )
            .optional()?;
        if done.is_none() {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations VALUES ('keys', ?1)",
                params![v],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    let models: String = r.get(4)?;
    let h: Vec<u8> = r.get(5)?;
    let attrs: String = r.get(11)?;
    let attributes = attributes_from_column(&attrs).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(KeyRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        principal: r.get(2)?,
        team: r.get(3)?,
        models: models_from_column(&models),
        attributes,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        revoked_at: r.get(8)?,
        replaced_by: r.get(9)?,
        rotated_from: r.get(10)?,
        hash: hash_from_bytes(&h),
    })
}

fn insert(conn: &Connection, rec: &KeyRecord) -> Result<(), StoreError> {
    conn.execute(
        &format!("INSERT INTO api_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        params![
            rec.id,
            rec.name,
            rec.principal,
            rec.team,
            models_to_column(&rec.models),
            rec.hash.to_vec(),
            rec.created_at,
            rec.expires_at,
            rec.revoked_at,
            rec.replaced_by,
            rec.rotated_from,
            attributes_to_column(&rec.attributes),
        ],
    )?;
    Ok(())
}

fn get(conn: &Connection, id: &str) -> Result<Option<KeyRecord>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"),
            params![id],
            row_to_record,
        )
        .optional()?)
}

impl Sqlite {
    /// Opens and migrates; blocking (the caller runs it on the blocking pool).
    pub(super) fn open(path: &Path) -> Result<Sqlite, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut conn)?;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().map_err(|_| StoreError::Poisoned)?;
            f(&mut c)
        })
        .await
        .map_err(|_| StoreError::Task)?
    }

    pub(super) async fn insert(&self, rec: KeyRecord) -> Result<(), StoreError> {
        self.run(move |c| insert(c, &rec)).await
    }

    pub(super) async fn list(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.run(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id"
            ))?;
            let rows = stmt.query_map([], row_to_record)?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::from)
        })
        .await
    }

    pub(super) async fn get(&self, id: String) -> Result<Option<KeyRecord>, StoreError> {
        self.run(move |c| get(c, &id)).await
    }

    pub(super) async fn revoke(&self, id: String, now: i64) -> Result<bool, StoreError> {
        self.run(move |c| {
            let n = c.execute(
                "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                params![now, id],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub(super) async fn rotate(
        &self,
        id: String,
        plan: impl FnOnce(&KeyRecord) -> Result<(KeyRecord, i64), StoreError> + Send + 'static,
    ) -> Result<Option<KeyRecord>, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(old) = get(&tx, &id)? else {
                return Ok(None);
            };
            let (new, old_expiry) = plan(&old)?;
            insert(&tx, &new)?;
            let n = tx.execute(
                "UPDATE api_keys SET replaced_by = ?1, expires_at = ?2 WHERE id = ?3 AND replaced_by IS NULL AND revoked_at IS NULL",
                params![new.id, old_expiry, id],
            )?;
            if n != 1 {
                return Err(StoreError::Conflict(format!(
                    "key {id} changed during rotation; try again"
                )));
            }
            tx.commit()?;
            Ok(Some(new))
        })
        .await
    }
}
