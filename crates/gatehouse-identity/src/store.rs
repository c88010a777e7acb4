use gatehouse_core::Principal;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

const ID_LEN: usize = 12;
const SECRET_LEN: usize = 40;
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Most cached lookups (hits and misses) kept; the cache is cleared when full.
const CACHE_CAP: usize = 100_000;

/// A store failure (the database, not the caller's key).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("key store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A lock was poisoned by a panic elsewhere.
    #[error("key store: lock poisoned")]
    Poisoned,
    /// A field was invalid.
    #[error("key store: {0}")]
    Invalid(String),
}

/// Why a presented key was refused. The reason code goes to the audit log and the 401 body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential was sent.
    Missing,
    /// The credential is not shaped like a Gatehouse key.
    Malformed,
    /// No key with that id.
    UnknownKey,
    /// The id exists but the secret does not match.
    WrongSecret,
    /// The key was revoked.
    Revoked,
    /// The key has expired.
    Expired,
}

impl AuthFailure {
    /// Stable reason code.
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing_credentials",
            AuthFailure::Malformed => "malformed_key",
            AuthFailure::UnknownKey | AuthFailure::WrongSecret => "invalid_key",
            AuthFailure::Revoked => "revoked_key",
            AuthFailure::Expired => "expired_key",
        }
    }
}

/// A stored key (never the secret).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyRecord {
    /// Public id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Principal id (`user:alice`).
    pub principal: String,
    /// Team.
    pub team: Option<String>,
    /// Models this key may use (empty: any the policy allows).
    pub models: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
    #[serde(skip)]
    hash: [u8; 32],
}

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    /// Principal id (`user:alice`, `service:bot`).
    pub principal: String,
    /// Team.
    pub team: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Model restriction.
    pub models: Vec<String>,
    /// Lifetime.
    pub expires_in: Option<Duration>,
}

type CacheEntry = (Option<Arc<KeyRecord>>, Instant);

/// The SQLite-backed key store.
pub struct KeyStore {
    conn: Mutex<Connection>,
    cache: RwLock<HashMap<String, CacheEntry>>,
    cache_ttl: Duration,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore").finish_non_exhaustive()
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    // Rejection sampling keeps every character uniform.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let b: u8 = rand::random();
        if (b as usize) < limit {
            out.push(alphabet[b as usize % alphabet.len()] as char);
        }
    }
    out
}

fn hash(key: &str) -> [u8; 32] {
    let d = Sha256::digest(key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(&d);
    out
}

/// Splits `gh_<id>_<secret>`; `None` if it is not that shape.
fn parse_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("gh_")?;
    let (id, secret) = rest.split_once('_')?;
    let ok = id.len() == ID_LEN
        && secret.len() == SECRET_LEN
        && id.bytes().all(|b| BASE32.contains(&b))
        && secret.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some(id)
}

const MIGRATIONS: &[&str] = &[r#"
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
"#];

impl KeyStore {
    /// Opens (creating if needed) the store at `path`, in WAL mode, and migrates it.
    pub fn open(path: &Path) -> Result<KeyStore, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version)) STRICT;")?;
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let v = i64::try_from(i + 1).unwrap_or(i64::MAX);
            let done: Option<i64> = conn
                .query_row(
                    "SELECT version FROM schema_migrations WHERE component = 'keys' AND version = ?1",
                    params![v],
                    |r| r.get(0),
                )
                .optional()?;
            if done.is_none() {
                conn.execute_batch(sql)?;
                conn.execute(
                    "INSERT INTO schema_migrations VALUES ('keys', ?1)",
                    params![v],
                )?;
            }
        }
        Ok(KeyStore {
            conn: Mutex::new(conn),
            cache: RwLock::new(HashMap::new()),
            cache_ttl: Duration::from_secs(2),
        })
    }

    /// Sets how long lookups are cached (revocation reaches running gateways within this).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> KeyStore {
        self.cache_ttl = ttl;
        self
    }

    /// Creates a key; returns its record and the secret, which is never retrievable again.
    pub fn create(&self, new: &NewKey) -> Result<(KeyRecord, String), StoreError> {
        if Principal::parse_id(&new.principal).is_none() {
            return Err(StoreError::Invalid(format!(
                "principal must be user:<name> or service:<name>, got {:?}",
                new.principal
            )));
        }
        let id = random_string(BASE32, ID_LEN);
        let secret = format!("gh_{id}_{}", random_string(BASE62, SECRET_LEN));
        let created_at = now();
        let expires_at = new
            .expires_in
            .map(|d| created_at.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
        let rec = KeyRecord {
            id: id.clone(),
            name: new.name.clone(),
            principal: new.principal.clone(),
            team: new.team.clone(),
            models: new.models.clone(),
            created_at,
            expires_at,
            revoked_at: None,
            hash: hash(&secret),
        };
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        conn.execute(
            "INSERT INTO api_keys (id, name, principal, team, models, secret_sha256, created_at, expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)",
            params![rec.id, rec.name, rec.principal, rec.team, rec.models.join(","), rec.hash.to_vec(), rec.created_at, rec.expires_at],
        )?;
        Ok((rec, secret))
    }

    /// All keys, newest first.
    pub fn list(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let mut stmt = conn.prepare("SELECT id, name, principal, team, models, secret_sha256, created_at, expires_at, revoked_at FROM api_keys ORDER BY created_at DESC, id")?;
        let rows = stmt.query_map([], row_to_record)?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::from)
    }

    /// Revokes a key by id; `false` if no such key.
    pub fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let n = conn.execute(
            "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![now(), id],
        )?;
        drop(conn);
        if let Ok(mut c) = self.cache.write() {
            c.remove(id);
        }
        Ok(n == 1)
    }

    fn fetch(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        if let Ok(c) = self.cache.read()
            && let Some((rec, at)) = c.get(id)
            && at.elapsed() < self.cache_ttl
        {
            return Ok(rec.clone());
        }
        let rec = {
            let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
            conn.query_row(
                "SELECT id, name, principal, team, models, secret_sha256, created_at, expires_at, revoked_at FROM api_keys WHERE id = ?1",
                params![id],
                row_to_record,
            )
            .optional()?
            .map(Arc::new)
        };
        if let Ok(mut c) = self.cache.write() {
            if c.len() >= CACHE_CAP {
                c.clear();
            }
            c.insert(id.to_owned(), (rec.clone(), Instant::now()));
        }
        Ok(rec)
    }

    /// Verifies a presented key. `Ok(Err(_))` is a refusal with a reason; `Err(_)` is a store
    /// failure, which the caller must treat as a refusal too (fail closed).
    pub fn verify(&self, presented: &str) -> Result<Result<Principal, AuthFailure>, StoreError> {
        let Some(id) = parse_key(presented) else {
            return Ok(Err(AuthFailure::Malformed));
        };
        let Some(rec) = self.fetch(id)? else {
            return Ok(Err(AuthFailure::UnknownKey));
        };
        let presented_hash = hash(presented);
        if !bool::from(presented_hash.ct_eq(&rec.hash)) {
            return Ok(Err(AuthFailure::WrongSecret));
        }
        if rec.revoked_at.is_some() {
            return Ok(Err(AuthFailure::Revoked));
        }
        if rec.expires_at.is_some_and(|e| e <= now()) {
            return Ok(Err(AuthFailure::Expired));
        }
        let Some(mut p) = Principal::new(&rec.principal) else {
            return Err(StoreError::Invalid(format!(
                "stored principal of key {} is invalid",
                rec.id
            )));
        };
        p.team = rec.team.clone();
        p.key_id = Some(rec.id.clone());
        p.allowed_models = rec.models.clone();
        Ok(Ok(p))
    }
}

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    let models: String = r.get(4)?;
    let h: Vec<u8> = r.get(5)?;
    let mut hash = [0u8; 32];
    if h.len() == 32 {
        hash.copy_from_slice(&h);
    }
    Ok(KeyRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        principal: r.get(2)?,
        team: r.get(3)?,
        models: models
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        revoked_at: r.get(8)?,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, KeyStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = KeyStore::open(&dir.path().join("k.db"))
            .unwrap()
            .with_cache_ttl(Duration::ZERO);
        (dir, s)
    }

    #[test]
    fn created_key_verifies_and_carries_its_attributes() {
        let (_d, s) = store();
        let (rec, secret) = s
            .create(&NewKey {
                principal: "user:alice".into(),
                team: Some("payments".into()),
                models: vec!["small".into()],
                ..NewKey::default()
            })
            .unwrap();
        assert!(secret.starts_with(&format!("gh_{}_", rec.id)));
        let p = s.verify(&secret).unwrap().unwrap();
        assert_eq!(p.id, "user:alice");
        assert_eq!(p.team.as_deref(), Some("payments"));
        assert_eq!(p.key_id.as_deref(), Some(rec.id.as_str()));
        assert_eq!(p.allowed_models, vec!["small".to_owned()]);
    }

    #[test]
    fn wrong_malformed_revoked_and_expired_keys_are_refused() {
        let (_d, s) = store();
        let (rec, secret) = s
            .create(&NewKey {
                principal: "user:bob".into(),
                ..NewKey::default()
            })
            .unwrap();
        let mut wrong = secret.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'a' { 'b' } else { 'a' });
        assert_eq!(s.verify(&wrong).unwrap(), Err(AuthFailure::WrongSecret));
        assert_eq!(
            s.verify("sk-not-ours").unwrap(),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(s.verify("").unwrap(), Err(AuthFailure::Malformed));
        assert_eq!(
            s.verify(&format!("gh_aaaaaaaaaaaa_{}", "A".repeat(40)))
                .unwrap(),
            Err(AuthFailure::UnknownKey)
        );
        assert!(s.revoke(&rec.id).unwrap());
        assert_eq!(s.verify(&secret).unwrap(), Err(AuthFailure::Revoked));

        let (_, expiring) = s
            .create(&NewKey {
                principal: "user:eve".into(),
                expires_in: Some(Duration::ZERO),
                ..NewKey::default()
            })
            .unwrap();
        assert_eq!(s.verify(&expiring).unwrap(), Err(AuthFailure::Expired));
    }

    #[test]
    fn list_never_contains_the_secret() {
        let (_d, s) = store();
        let (_, secret) = s
            .create(&NewKey {
                principal: "service:bot".into(),
                ..NewKey::default()
            })
            .unwrap();
        let listed = format!("{:?}", s.list().unwrap());
        let secret_part = secret.rsplit('_').next().unwrap();
        assert!(!listed.contains(secret_part));
    }

    #[test]
    fn invalid_principal_is_rejected() {
        let (_d, s) = store();
        assert!(
            s.create(&NewKey {
                principal: "alice".into(),
                ..NewKey::default()
            })
            .is_err()
        );
    }
}
