//! The PostgreSQL backend: a bounded `sqlx::PgPool`. The schema mirrors the SQLite one version
//! for version (same `schema_migrations` rows), with PostgreSQL types (`BYTEA`, `BIGINT`,
//! `JSONB`). Tables live in the connection's `search_path` (add
//! `?options[search_path]=<schema>` to the URL to use another schema than `public`).

use super::{
    KeyRecord, StoreError, attributes_from_column, attributes_to_column, hash_from_bytes,
    models_from_column, models_to_column,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Executor, Postgres as Pg, Row};
use std::str::FromStr;
use std::time::Duration;

/// Most connections one store opens.
const MAX_CONNECTIONS: u32 = 8;
/// How long a query waits for a connection (including connecting); then it fails closed.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Arbitrary constant naming the advisory lock taken while migrating.
const MIGRATION_LOCK: i64 = 0x6761_7465_6b65_7973; // "gatekeys"

/// Migrations of component `keys`, version = index + 1; each is a list of single statements.
/// Never edit one that has shipped.
const MIGRATIONS: &[&[&str]] = &[
    &["CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY,
        name TEXT,
        principal TEXT NOT NULL,
        team TEXT,
        models TEXT NOT NULL,
        secret_sha256 BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT
    )"],
    &[
        "ALTER TABLE api_keys ADD COLUMN replaced_by TEXT",
        "ALTER TABLE api_keys ADD COLUMN rotated_from TEXT",
        "ALTER TABLE api_keys ADD COLUMN attributes JSONB NOT NULL DEFAULT '{}'::jsonb",
    ],
];

const SELECT_BY_ID: &str = "SELECT id, name, principal, team, models, secret_sha256, created_at, expires_at, revoked_at, replaced_by, rotated_from, attributes::text AS attributes FROM api_keys WHERE id = $1";
const SELECT_BY_ID_FOR_UPDATE: &str = "SELECT id, name, principal, team, models, secret_sha256, created_at, expires_at, revoked_at, replaced_by, rotated_from, attributes::text AS attributes FROM api_keys WHERE id = $1 FOR UPDATE";
const SELECT_ALL: &str = "SELECT id, name, principal, team, models, secret_sha256, created_at, expires_at, revoked_at, replaced_by, rotated_from, attributes::text AS attributes FROM api_keys ORDER BY created_at DESC, id";
const INSERT: &str = "INSERT INTO api_keys (id, name, principal, team, models, secret_sha256, created_at, expires_at, revoked_at, replaced_by, rotated_from, attributes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)";

pub(super) struct Postgres {
    pool: PgPool,
}

fn decode(r: &PgRow) -> Result<KeyRecord, StoreError> {
    let models: String = r.try_get("models")?;
    let h: Vec<u8> = r.try_get("secret_sha256")?;
    let attrs: String = r.try_get("attributes")?;
    let attributes = attributes_from_column(&attrs)
        .map_err(|_| StoreError::Invalid("stored key attributes are not a string map".into()))?;
    Ok(KeyRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        principal: r.try_get("principal")?,
        team: r.try_get("team")?,
        models: models_from_column(&models),
        attributes,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        replaced_by: r.try_get("replaced_by")?,
        rotated_from: r.try_get("rotated_from")?,
        hash: hash_from_bytes(&h),
    })
}

async fn insert<'e, E: Executor<'e, Database = Pg>>(
    e: E,
    rec: &KeyRecord,
) -> Result<(), StoreError> {
    sqlx::query(INSERT)
        .bind(&rec.id)
        .bind(&rec.name)
        .bind(&rec.principal)
        .bind(&rec.team)
        .bind(models_to_column(&rec.models))
        .bind(rec.hash.to_vec())
        .bind(rec.created_at)
        .bind(rec.expires_at)
        .bind(rec.revoked_at)
        .bind(&rec.replaced_by)
        .bind(&rec.rotated_from)
        .bind(attributes_to_column(&rec.attributes))
        .execute(e)
        .await?;
    Ok(())
}

async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // Serializes concurrent migrations (several gateways starting at once); released at commit.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (component, version))")
        .execute(&mut *tx)
        .await?;
    for (i, stmts) in MIGRATIONS.iter().enumerate() {
        let v = i64::try_from(i + 1).unwrap_or(i64::MAX);
        let done = sqlx::query(
            "SELECT version FROM schema_migrations WHERE component = 'keys' AND version = $1",
        )
        .bind(v)
        .fetch_optional(&mut *tx)
        .await?;
        if done.is_none() {
            for s in *stmts {
                sqlx::query(*s).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (component, version) VALUES ('keys', $1)")
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

impl Postgres {
    /// Connects (a bounded pool; each acquire, connecting included, gives up after
    /// [`ACQUIRE_TIMEOUT`]) and migrates.
    pub(super) async fn open(url: &str) -> Result<Postgres, StoreError> {
        // The parse error is not passed on: it could quote parts of the URL (a password).
        let opts = PgConnectOptions::from_str(url).map_err(|_| {
            StoreError::Invalid("the PostgreSQL store URL could not be parsed".into())
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts)
            .await?;
        migrate(&pool).await?;
        Ok(Postgres { pool })
    }

    pub(super) async fn insert(&self, rec: &KeyRecord) -> Result<(), StoreError> {
        insert(&self.pool, rec).await
    }

    pub(super) async fn list(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(SELECT_ALL).fetch_all(&self.pool).await?;
        rows.iter().map(decode).collect()
    }

    pub(super) async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query(SELECT_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    pub(super) async fn revoke(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let r =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected() == 1)
    }

    pub(super) async fn rotate(
        &self,
        id: &str,
        plan: impl FnOnce(&KeyRecord) -> Result<(KeyRecord, i64), StoreError>,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(SELECT_BY_ID_FOR_UPDATE)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let old = decode(&row)?;
        let (new, old_expiry) = plan(&old)?;
        insert(&mut *tx, &new).await?;
        sqlx::query("UPDATE api_keys SET replaced_by = $1, expires_at = $2 WHERE id = $3")
            .bind(&new.id)
            .bind(old_expiry)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(new))
    }
}
