//! The API-key store: one [`KeyStore`] type over two backends (SQLite file, PostgreSQL).
//!
//! Both backends hold the same `api_keys` table and the same `schema_migrations(component,
//! version)` bookkeeping (component `keys`), with the same version numbers: v1 is the original
//! table, v2 adds the rotation columns (`replaced_by`, `rotated_from`) and `attributes`. A
//! database of either kind is migrated on open; opening twice (or from two gateways at once) is
//! safe: SQLite migrates inside an `IMMEDIATE` transaction, PostgreSQL under a transaction-scoped
//! advisory lock.
//!
//! Lookups by key id are read-through cached for `cache_ttl` (default 2 s). A revocation, a
//! rotation's grace end or any other change made through another store instance (another gateway,
//! the CLI) reaches this instance within that time; a cache hit never touches the database.

mod postgres;
mod sqlite;

use gatehouse_core::Principal;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

const ID_LEN: usize = 12;
const SECRET_LEN: usize = 40;
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Most cached lookups (hits and misses) kept; the cache is cleared when full.
const CACHE_CAP: usize = 100_000;
/// Most attributes on one key.
const MAX_ATTRIBUTES: usize = 32;
/// Longest team, model, attribute key or attribute value.
const MAX_FIELD: usize = 256;

/// A store failure (the database, not the caller's key).
///
/// Display never contains a key secret, a hash or the store URL's password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("key store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed or could not be reached.
    #[error("key store (postgres): {0}")]
    Postgres(#[from] sqlx::Error),
    /// A lock was poisoned by a panic elsewhere.
    #[error("key store: lock poisoned")]
    Poisoned,
    /// A background database task failed.
    #[error("key store: background task failed")]
    Task,
    /// A field or the store location was invalid.
    #[error("key store: {0}")]
    Invalid(String),
    /// No key with this id.
    #[error("key store: no key with id {0}")]
    NotFound(String),
    /// The key is in a state that does not allow the operation (e.g. rotating a revoked key).
    #[error("key store: {0}")]
    Conflict(String),
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
    /// The key has expired (including a rotated key whose grace period is over).
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

/// A stored key (never the secret; the hash is kept private and never serialized or printed).
#[derive(Clone, PartialEq, serde::Serialize)]
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
    /// Attributes copied into [`Principal::attributes`] (e.g. `tenant`), for policies.
    pub attributes: BTreeMap<String, String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds. A rotated key's expiry is the end of its grace period.
    pub expires_at: Option<i64>,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
    /// Id of the key that replaced this one by rotation.
    pub replaced_by: Option<String>,
    /// Id of the key this one replaced by rotation.
    pub rotated_from: Option<String>,
    #[serde(skip)]
    hash: [u8; 32],
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("principal", &self.principal)
            .field("team", &self.team)
            .field("models", &self.models)
            .field("attributes", &self.attributes)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("replaced_by", &self.replaced_by)
            .field("rotated_from", &self.rotated_from)
            .finish_non_exhaustive()
    }
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
    /// Attributes for policies (`tenant` → `acme`); at most 32.
    pub attributes: BTreeMap<String, String>,
}

/// The clock the store reads for creation, expiry and grace times (Unix seconds).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

type CacheEntry = (Option<Arc<KeyRecord>>, Instant);

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// The API-key store: a SQLite file or a PostgreSQL database, with a read-through cache.
pub struct KeyStore {
    backend: Backend,
    cache: RwLock<HashMap<String, CacheEntry>>,
    cache_ttl: Duration,
    clock: Clock,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("backend", &self.backend_name())
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
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

fn hash_from_bytes(h: &[u8]) -> [u8; 32] {
    // A wrong-length stored hash becomes all zeros, which no SHA-256 output will equal.
    let mut out = [0u8; 32];
    if h.len() == 32 {
        out.copy_from_slice(h);
    }
    out
}

/// A fresh id and the full key string `gh_<id>_<secret>`.
fn new_secret() -> (String, String) {
    let id = random_string(BASE32, ID_LEN);
    let secret = format!("gh_{id}_{}", random_string(BASE62, SECRET_LEN));
    (id, secret)
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

fn models_to_column(models: &[String]) -> String {
    models.join(",")
}

fn models_from_column(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn attributes_to_column(a: &BTreeMap<String, String>) -> String {
    serde_json::to_string(a).unwrap_or_else(|_| "{}".to_owned())
}

fn attributes_from_column(s: &str) -> Result<BTreeMap<String, String>, serde_json::Error> {
    serde_json::from_str(s)
}

fn safe_text(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_FIELD && !s.chars().any(char::is_control)
}

fn validate(new: &NewKey) -> Result<(), StoreError> {
    let bad = |m: String| Err(StoreError::Invalid(m));
    if Principal::parse_id(&new.principal).is_none() {
        return bad(format!(
            "principal must be user:<name> or service:<name>, got {:?}",
            new.principal
        ));
    }
    if let Some(t) = &new.team
        && !safe_text(t)
    {
        return bad(format!(
            "team must be 1-{MAX_FIELD} characters without control characters"
        ));
    }
    if let Some(n) = &new.name
        && !safe_text(n)
    {
        return bad(format!(
            "name must be 1-{MAX_FIELD} characters without control characters"
        ));
    }
    for m in &new.models {
        if !(safe_text(m) && !m.contains(',') && !m.chars().any(char::is_whitespace)) {
            return bad(format!(
                "model names must be 1-{MAX_FIELD} characters without commas or whitespace, got {m:?}"
            ));
        }
    }
    if new.attributes.len() > MAX_ATTRIBUTES {
        return bad(format!("at most {MAX_ATTRIBUTES} attributes per key"));
    }
    for (k, v) in &new.attributes {
        let key_ok = !k.is_empty()
            && k.len() <= 64
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !key_ok {
            return bad(format!(
                "attribute names use 1-64 letters, digits, '_', '-' and '.', got {k:?}"
            ));
        }
        if v.len() > MAX_FIELD || v.chars().any(char::is_control) {
            return bad(format!(
                "attribute {k}: value must be at most {MAX_FIELD} characters without control characters"
            ));
        }
    }
    Ok(())
}

/// How a store location string is interpreted.
enum Location<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
}

fn parse_location(location: &str) -> Result<Location<'_>, StoreError> {
    let l = location.trim();
    if l.starts_with("postgres://") || l.starts_with("postgresql://") {
        return Ok(Location::Postgres(l));
    }
    let path = l
        .strip_prefix("sqlite://")
        .or_else(|| l.strip_prefix("sqlite:"))
        .unwrap_or(l);
    if path.is_empty() {
        return Err(StoreError::Invalid(
            "the store location is empty: give a file path, sqlite:<path> or postgres://…".into(),
        ));
    }
    if let Some((scheme, _)) = path.split_once("://") {
        return Err(StoreError::Invalid(format!(
            "unsupported store URL scheme {scheme:?}: use a file path, sqlite:<path> or postgres://…"
        )));
    }
    Ok(Location::Sqlite(Path::new(path)))
}

/// Builds the replacement of `old` for a rotation at `now` with `grace` seconds: the new record
/// and the old key's new expiry. Refuses revoked, expired and already-rotated keys.
fn plan_rotation(
    old: &KeyRecord,
    new_id: &str,
    new_hash: [u8; 32],
    now: i64,
    grace: i64,
) -> Result<(KeyRecord, i64), StoreError> {
    if old.revoked_at.is_some() {
        return Err(StoreError::Conflict(format!(
            "key {} is revoked and cannot be rotated",
            old.id
        )));
    }
    if let Some(by) = &old.replaced_by {
        return Err(StoreError::Conflict(format!(
            "key {} was already rotated (replaced by {by})",
            old.id
        )));
    }
    if old.expires_at.is_some_and(|e| e <= now) {
        return Err(StoreError::Conflict(format!(
            "key {} has expired and cannot be rotated; create a new key",
            old.id
        )));
    }
    // The replacement gets the same lifetime the old key was created with, counted from now.
    let expires_at = old
        .expires_at
        .map(|e| now.saturating_add(e.saturating_sub(old.created_at).max(0)));
    let grace_end = now.saturating_add(grace);
    let old_expiry = old.expires_at.map_or(grace_end, |e| e.min(grace_end));
    let new = KeyRecord {
        id: new_id.to_owned(),
        name: old.name.clone(),
        principal: old.principal.clone(),
        team: old.team.clone(),
        models: old.models.clone(),
        attributes: old.attributes.clone(),
        created_at: now,
        expires_at,
        revoked_at: None,
        replaced_by: None,
        rotated_from: Some(old.id.clone()),
        hash: new_hash,
    };
    Ok((new, old_expiry))
}

impl KeyStore {
    /// Opens (creating and migrating if needed) the store at `location`: a file path,
    /// `sqlite:<path>`, or a `postgres://…` / `postgresql://…` URL (the password may also come
    /// from `PGPASSWORD`). Other URL schemes are refused.
    pub async fn open(location: &str) -> Result<KeyStore, StoreError> {
        match parse_location(location)? {
            Location::Sqlite(p) => Self::open_path(p).await,
            Location::Postgres(url) => Ok(Self::with_backend(Backend::Postgres(
                postgres::Postgres::open(url).await?,
            ))),
        }
    }

    /// Opens (creating and migrating if needed) the SQLite store file at `path`, in WAL mode.
    pub async fn open_path(path: &Path) -> Result<KeyStore, StoreError> {
        let path = path.to_path_buf();
        let db = tokio::task::spawn_blocking(move || sqlite::Sqlite::open(&path))
            .await
            .map_err(|_| StoreError::Task)??;
        Ok(Self::with_backend(Backend::Sqlite(db)))
    }

    fn with_backend(backend: Backend) -> KeyStore {
        KeyStore {
            backend,
            cache: RwLock::new(HashMap::new()),
            cache_ttl: Duration::from_secs(2),
            clock: Arc::new(system_now),
        }
    }

    /// Sets how long lookups are cached (changes made elsewhere reach this instance within it).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> KeyStore {
        self.cache_ttl = ttl;
        self
    }

    /// Replaces the wall clock (Unix seconds) used for creation, expiry and rotation grace;
    /// for tests and simulations.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> KeyStore {
        self.clock = Arc::new(clock);
        self
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn forget(&self, id: &str) {
        if let Ok(mut c) = self.cache.write() {
            c.remove(id);
        }
    }

    /// Creates a key; returns its record and the secret, which is never retrievable again.
    pub async fn create(&self, new: &NewKey) -> Result<(KeyRecord, String), StoreError> {
        validate(new)?;
        let (id, secret) = new_secret();
        let created_at = self.now();
        let rec = KeyRecord {
            id,
            name: new.name.clone(),
            principal: new.principal.clone(),
            team: new.team.clone(),
            models: new.models.clone(),
            attributes: new.attributes.clone(),
            created_at,
            expires_at: new.expires_in.map(|d| created_at.saturating_add(secs(d))),
            revoked_at: None,
            replaced_by: None,
            rotated_from: None,
            hash: hash(&secret),
        };
        match &self.backend {
            Backend::Sqlite(db) => db.insert(rec.clone()).await?,
            Backend::Postgres(db) => db.insert(&rec).await?,
        }
        self.forget(&rec.id);
        Ok((rec, secret))
    }

    /// All keys, newest first.
    pub async fn list(&self) -> Result<Vec<KeyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.list().await,
            Backend::Postgres(db) => db.list().await,
        }
    }

    /// One key by id, read from the database (not the cache).
    pub async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.get(id.to_owned()).await,
            Backend::Postgres(db) => db.get(id).await,
        }
    }

    /// Revokes a key by id; `false` if there is no such key or it was already revoked.
    pub async fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let done = match &self.backend {
            Backend::Sqlite(db) => db.revoke(id.to_owned(), now).await?,
            Backend::Postgres(db) => db.revoke(id, now).await?,
        };
        self.forget(id);
        Ok(done)
    }

    /// Rotates key `id`: creates a replacement with the same principal, team, models, name,
    /// attributes and lifetime, and returns it with its secret (shown once). The old key keeps
    /// working for `grace` (never past its own expiry), then stops; the old row records
    /// `replaced_by`, the new one `rotated_from`. Other gateway instances see the old key's new
    /// end within their cache TTL. Errors: [`StoreError::NotFound`]; [`StoreError::Conflict`]
    /// for a revoked, expired or already-rotated key.
    pub async fn rotate(
        &self,
        id: &str,
        grace: Duration,
    ) -> Result<(KeyRecord, String), StoreError> {
        let (new_id, secret) = new_secret();
        let new_hash = hash(&secret);
        let now = self.now();
        let grace = secs(grace);
        let plan = move |old: &KeyRecord| plan_rotation(old, &new_id, new_hash, now, grace);
        let rec = match &self.backend {
            Backend::Sqlite(db) => db.rotate(id.to_owned(), plan).await?,
            Backend::Postgres(db) => db.rotate(id, plan).await?,
        };
        self.forget(id);
        match rec {
            Some(r) => Ok((r, secret)),
            None => Err(StoreError::NotFound(id.to_owned())),
        }
    }

    async fn fetch(&self, id: &str) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        if let Ok(c) = self.cache.read()
            && let Some((rec, at)) = c.get(id)
            && at.elapsed() < self.cache_ttl
        {
            return Ok(rec.clone());
        }
        let rec = self.get(id).await?.map(Arc::new);
        if let Ok(mut c) = self.cache.write() {
            if c.len() >= CACHE_CAP {
                c.clear();
            }
            c.insert(id.to_owned(), (rec.clone(), Instant::now()));
        }
        Ok(rec)
    }

    /// Verifies a presented key. `Ok(Err(_))` is a refusal with a reason; `Err(_)` is a store
    /// failure (e.g. PostgreSQL unreachable), which the caller must treat as a refusal too
    /// (fail closed: 500/503, never a pass).
    pub async fn verify(
        &self,
        presented: &str,
    ) -> Result<Result<Principal, AuthFailure>, StoreError> {
        let Some(id) = parse_key(presented) else {
            return Ok(Err(AuthFailure::Malformed));
        };
        let Some(rec) = self.fetch(id).await? else {
            return Ok(Err(AuthFailure::UnknownKey));
        };
        let presented_hash = hash(presented);
        if !bool::from(presented_hash.ct_eq(&rec.hash)) {
            return Ok(Err(AuthFailure::WrongSecret));
        }
        if rec.revoked_at.is_some() {
            return Ok(Err(AuthFailure::Revoked));
        }
        if rec.expires_at.is_some_and(|e| e <= self.now()) {
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
        p.attributes = rec.attributes.clone();
        p.auth_method = Some("api_key".to_owned());
        Ok(Ok(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_classified() {
        assert!(matches!(
            parse_location("postgres://u@h/db"),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            parse_location("postgresql://u@h/db"),
            Ok(Location::Postgres(_))
        ));
        assert!(
            matches!(parse_location("sqlite:/tmp/k.db"), Ok(Location::Sqlite(p)) if p == Path::new("/tmp/k.db"))
        );
        assert!(
            matches!(parse_location("data/k.db"), Ok(Location::Sqlite(p)) if p == Path::new("data/k.db"))
        );
        assert!(parse_location("mysql://h/db").is_err());
        assert!(parse_location("").is_err());
        assert!(parse_location("sqlite:").is_err());
    }

    #[test]
    fn keys_parse_only_in_their_exact_shape() {
        let (id, secret) = new_secret();
        assert_eq!(parse_key(&secret), Some(id.as_str()));
        assert_eq!(parse_key("gh_short_x"), None);
        assert_eq!(parse_key(&secret.replacen("gh_", "gx_", 1)), None);
        assert_eq!(parse_key(&format!("{secret}!")), None);
    }

    #[test]
    fn rotation_plan_keeps_the_lifetime_and_caps_the_grace() {
        let old = KeyRecord {
            id: "aaaaaaaaaaaa".into(),
            name: Some("n".into()),
            principal: "user:a".into(),
            team: None,
            models: vec![],
            attributes: BTreeMap::new(),
            created_at: 100,
            expires_at: Some(1_100),
            revoked_at: None,
            replaced_by: None,
            rotated_from: None,
            hash: [0; 32],
        };
        let (new, old_end) = plan_rotation(&old, "bbbbbbbbbbbb", [1; 32], 500, 60).unwrap();
        assert_eq!(new.expires_at, Some(1_500));
        assert_eq!(new.rotated_from.as_deref(), Some("aaaaaaaaaaaa"));
        assert_eq!(old_end, 560);
        let (_, old_end) = plan_rotation(&old, "b", [1; 32], 500, 10_000).unwrap();
        assert_eq!(old_end, 1_100, "grace never extends the old key");
        let mut revoked = old.clone();
        revoked.revoked_at = Some(1);
        assert!(matches!(
            plan_rotation(&revoked, "b", [1; 32], 500, 60),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn invalid_new_keys_are_rejected() {
        let ok = NewKey {
            principal: "user:a".into(),
            ..NewKey::default()
        };
        assert!(validate(&ok).is_ok());
        let mut k = ok.clone();
        k.principal = "alice".into();
        assert!(validate(&k).is_err());
        let mut k = ok.clone();
        k.models = vec!["a,b".into()];
        assert!(validate(&k).is_err());
        let mut k = ok.clone();
        k.attributes.insert("bad key".into(), "v".into());
        assert!(validate(&k).is_err());
        let mut k = ok;
        k.attributes.insert("tenant".into(), "line\nbreak".into());
        assert!(validate(&k).is_err());
    }

    #[test]
    fn debug_output_hides_the_hash() {
        let rec = KeyRecord {
            id: "aaaaaaaaaaaa".into(),
            name: None,
            principal: "user:a".into(),
            team: None,
            models: vec![],
            attributes: BTreeMap::new(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
            replaced_by: None,
            rotated_from: None,
            hash: [0xab; 32],
        };
        let d = format!("{rec:?}");
        assert!(!d.contains("171") && !d.contains("hash"), "{d}");
        let j = serde_json::to_string(&rec).unwrap();
        assert!(!j.contains("hash"), "{j}");
    }
}
