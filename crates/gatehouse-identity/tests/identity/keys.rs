//! The API-key store's behaviour, the same tests on both backends: a SQLite file in a temp dir,
//! and PostgreSQL (`GATEHOUSE_TEST_POSTGRES_URL`) in a fresh random schema per test, dropped at
//! the end. PostgreSQL tests print "skipped" and pass when the variable is unset.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use gatehouse_identity::{AuthFailure, KeyStore, NewKey, StoreError};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Sqlite,
    Postgres,
}

/// Where one test's store lives.
struct Fixture {
    location: String,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    /// A store instance without caching (every lookup reads the database).
    async fn open(&self) -> KeyStore {
        self.open_cached(Duration::ZERO).await
    }

    /// Another store instance on the same database, as a second gateway would open it.
    async fn open_cached(&self, ttl: Duration) -> KeyStore {
        KeyStore::open(&self.location)
            .await
            .unwrap_or_else(|e| panic!("open: {e}"))
            .with_cache_ttl(ttl)
    }
}

/// A settable clock for expiry and rotation grace (no sleeping).
#[derive(Clone)]
struct FakeClock(Arc<AtomicI64>);

impl FakeClock {
    fn new() -> FakeClock {
        FakeClock(Arc::new(AtomicI64::new(1_800_000_000)))
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    fn apply(&self, store: KeyStore) -> KeyStore {
        let c = Arc::clone(&self.0);
        store.with_clock(move || c.load(Ordering::SeqCst))
    }
}

fn pg_url() -> Option<String> {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

async fn run<F, Fut>(kind: Kind, test: F)
where
    F: FnOnce(Arc<Fixture>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let location = format!("sqlite:{}", dir.path().join("keys.db").display());
            test(Arc::new(Fixture {
                location,
                _dir: Some(dir),
            }))
            .await;
        }
        Kind::Postgres => {
            let Some(base) = pg_url() else {
                eprintln!("skipped: GATEHOUSE_TEST_POSTGRES_URL unset");
                return;
            };
            let schema = format!("gh_keys_test_{:016x}", rand::random::<u64>());
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            let location = format!("{base}{sep}options[search_path]={schema}");
            // Run the body as a task so a failing assertion still lets us drop the schema.
            let outcome = tokio::spawn(test(Arc::new(Fixture {
                location,
                _dir: None,
            })))
            .await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await
                .unwrap();
            if let Err(e) = outcome {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
}

/// Generates `sqlite::<test>` and `postgres::<test>` for each behaviour below.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(super::Kind::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(super::Kind::Postgres, super::$name).await;
                }
            )*
        }
    };
}

on_both_backends!(
    created_key_verifies_as_its_principal,
    wrong_malformed_and_unknown_keys_are_refused,
    revocation_reaches_another_instance_within_its_cache_ttl,
    keys_stop_working_when_they_expire,
    rotation_keeps_the_old_key_only_for_the_grace_period,
    rotation_refuses_unknown_revoked_and_rotated_keys,
    list_never_contains_secrets_or_hashes,
    opening_twice_migrates_once,
    concurrent_creates_all_succeed,
);

fn alice() -> NewKey {
    NewKey {
        principal: "user:alice".into(),
        team: Some("payments".into()),
        name: Some("laptop".into()),
        models: vec!["small".into(), "large".into()],
        attributes: BTreeMap::from([("tenant".to_owned(), "acme".to_owned())]),
        ..NewKey::default()
    }
}

/// The same key with its last secret character changed.
fn tampered(secret: &str) -> String {
    let mut s = secret.to_owned();
    let last = s.pop().unwrap();
    s.push(if last == 'a' { 'b' } else { 'a' });
    s
}

async fn created_key_verifies_as_its_principal(fx: Arc<Fixture>) {
    let s = fx.open().await;
    let (rec, secret) = s.create(&alice()).await.unwrap();
    assert_eq!(rec.id.len(), 12);
    let (prefix, rest) = secret.split_at(16);
    assert_eq!(prefix, format!("gh_{}_", rec.id));
    assert_eq!(rest.len(), 40);
    assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()));

    let p = s.verify(&secret).await.unwrap().unwrap();
    assert_eq!(p.id, "user:alice");
    assert_eq!(p.team.as_deref(), Some("payments"));
    assert_eq!(p.key_id.as_deref(), Some(rec.id.as_str()));
    assert_eq!(
        p.allowed_models,
        vec!["small".to_owned(), "large".to_owned()]
    );
    assert_eq!(p.auth_method.as_deref(), Some("api_key"));
    assert_eq!(p.attributes.get("tenant").map(String::as_str), Some("acme"));

    let stored = s.get(&rec.id).await.unwrap().unwrap();
    assert_eq!(stored, rec);
    assert!(s.get("aaaaaaaaaaaa").await.unwrap().is_none());

    // A second instance (another gateway) verifies the same key.
    let other = fx.open_cached(Duration::from_secs(60)).await;
    assert_eq!(other.verify(&secret).await.unwrap().unwrap(), p);
}

async fn wrong_malformed_and_unknown_keys_are_refused(fx: Arc<Fixture>) {
    let s = fx.open().await;
    let (_, secret) = s.create(&alice()).await.unwrap();
    assert_eq!(
        s.verify(&tampered(&secret)).await.unwrap(),
        Err(AuthFailure::WrongSecret)
    );
    for bad in [
        "",
        "sk-not-ours",
        "gh_",
        "gh_short_secret",
        &format!("{secret}x"),
        &secret.replacen("gh_", "GH_", 1),
        &secret.to_uppercase(),
    ] {
        assert_eq!(
            s.verify(bad).await.unwrap(),
            Err(AuthFailure::Malformed),
            "{bad:?}"
        );
    }
    assert_eq!(
        s.verify(&format!("gh_aaaaaaaaaaaa_{}", "A".repeat(40)))
            .await
            .unwrap(),
        Err(AuthFailure::UnknownKey)
    );
    assert!(
        s.create(&NewKey {
            principal: "alice".into(),
            ..NewKey::default()
        })
        .await
        .is_err(),
        "a principal without a kind is refused"
    );
}

async fn revocation_reaches_another_instance_within_its_cache_ttl(fx: Arc<Fixture>) {
    let admin = fx.open().await;
    let gateway_b = fx.open_cached(Duration::from_millis(300)).await;
    let gateway_c = fx.open_cached(Duration::from_secs(3600)).await;
    let (rec, secret) = admin.create(&alice()).await.unwrap();
    assert!(gateway_b.verify(&secret).await.unwrap().is_ok());
    assert!(gateway_c.verify(&secret).await.unwrap().is_ok());

    assert!(admin.revoke(&rec.id).await.unwrap());
    assert!(!admin.revoke(&rec.id).await.unwrap(), "already revoked");
    assert!(!admin.revoke("aaaaaaaaaaaa").await.unwrap(), "no such key");
    assert_eq!(
        admin.verify(&secret).await.unwrap(),
        Err(AuthFailure::Revoked)
    );
    // C cached the key for an hour: a cache hit does not go to the database (the documented
    // propagation delay is the TTL).
    assert!(gateway_c.verify(&secret).await.unwrap().is_ok());
    // Once B's TTL has passed, B sees the revocation.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        gateway_b.verify(&secret).await.unwrap(),
        Err(AuthFailure::Revoked)
    );
    assert!(
        admin
            .get(&rec.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}

async fn keys_stop_working_when_they_expire(fx: Arc<Fixture>) {
    let clock = FakeClock::new();
    let s = clock.apply(fx.open().await);
    let (rec, secret) = s
        .create(&NewKey {
            expires_in: Some(Duration::from_secs(3600)),
            ..alice()
        })
        .await
        .unwrap();
    assert_eq!(rec.expires_at, Some(rec.created_at + 3600));
    assert!(s.verify(&secret).await.unwrap().is_ok());
    clock.advance(3599);
    assert!(s.verify(&secret).await.unwrap().is_ok());
    clock.advance(1);
    assert_eq!(s.verify(&secret).await.unwrap(), Err(AuthFailure::Expired));

    let (_, instant) = s
        .create(&NewKey {
            expires_in: Some(Duration::ZERO),
            ..alice()
        })
        .await
        .unwrap();
    assert_eq!(s.verify(&instant).await.unwrap(), Err(AuthFailure::Expired));
    // The wrong secret of an expired key is still "wrong", not "expired": the state of a key
    // is only revealed to its holder.
    assert_eq!(
        s.verify(&tampered(&instant)).await.unwrap(),
        Err(AuthFailure::WrongSecret)
    );
}

async fn rotation_keeps_the_old_key_only_for_the_grace_period(fx: Arc<Fixture>) {
    let clock = FakeClock::new();
    let s = clock.apply(fx.open().await);
    let (old, old_secret) = s
        .create(&NewKey {
            expires_in: Some(Duration::from_secs(30 * 86_400)),
            ..alice()
        })
        .await
        .unwrap();
    clock.advance(86_400);
    let (new, new_secret) = s.rotate(&old.id, Duration::from_secs(600)).await.unwrap();
    assert_ne!(new.id, old.id);
    assert_ne!(new_secret, old_secret);
    assert_eq!(new.rotated_from.as_deref(), Some(old.id.as_str()));
    assert_eq!(
        (
            &new.principal,
            &new.team,
            &new.models,
            &new.name,
            &new.attributes
        ),
        (
            &old.principal,
            &old.team,
            &old.models,
            &old.name,
            &old.attributes
        )
    );
    assert_eq!(
        new.expires_at.unwrap() - new.created_at,
        30 * 86_400,
        "the replacement gets the old key's lifetime"
    );
    let old_now = s.get(&old.id).await.unwrap().unwrap();
    assert_eq!(old_now.replaced_by.as_deref(), Some(new.id.as_str()));
    assert_eq!(old_now.expires_at, Some(new.created_at + 600));
    assert_eq!(s.get(&new.id).await.unwrap().unwrap(), new);

    // Within the grace period both keys work, as the same principal.
    let p_old = s.verify(&old_secret).await.unwrap().unwrap();
    let p_new = s.verify(&new_secret).await.unwrap().unwrap();
    assert_eq!(p_old.id, p_new.id);
    assert_eq!(p_new.key_id.as_deref(), Some(new.id.as_str()));
    assert_eq!(p_new.attributes, p_old.attributes);
    clock.advance(599);
    assert!(s.verify(&old_secret).await.unwrap().is_ok());
    // After it, only the new one.
    clock.advance(1);
    assert_eq!(
        s.verify(&old_secret).await.unwrap(),
        Err(AuthFailure::Expired)
    );
    assert!(s.verify(&new_secret).await.unwrap().is_ok());

    // A zero grace stops the old key at once.
    let (_, next_secret) = s.rotate(&new.id, Duration::ZERO).await.unwrap();
    assert_eq!(
        s.verify(&new_secret).await.unwrap(),
        Err(AuthFailure::Expired)
    );
    assert!(s.verify(&next_secret).await.unwrap().is_ok());
}

async fn rotation_refuses_unknown_revoked_and_rotated_keys(fx: Arc<Fixture>) {
    let s = fx.open().await;
    assert!(matches!(
        s.rotate("aaaaaaaaaaaa", Duration::from_secs(60)).await,
        Err(StoreError::NotFound(_))
    ));
    let (revoked, _) = s.create(&alice()).await.unwrap();
    s.revoke(&revoked.id).await.unwrap();
    assert!(matches!(
        s.rotate(&revoked.id, Duration::from_secs(60)).await,
        Err(StoreError::Conflict(_))
    ));
    let (rec, _) = s.create(&alice()).await.unwrap();
    s.rotate(&rec.id, Duration::from_secs(60)).await.unwrap();
    assert!(
        matches!(
            s.rotate(&rec.id, Duration::from_secs(60)).await,
            Err(StoreError::Conflict(_))
        ),
        "a key is replaced at most once"
    );
    // The refusals left no stray rows: the two created keys and one replacement.
    assert_eq!(s.list().await.unwrap().len(), 3);
}

async fn list_never_contains_secrets_or_hashes(fx: Arc<Fixture>) {
    let s = fx.open().await;
    let mut secrets = Vec::new();
    for principal in ["user:alice", "service:bot"] {
        let (_, secret) = s
            .create(&NewKey {
                principal: principal.into(),
                ..alice()
            })
            .await
            .unwrap();
        secrets.push(secret);
    }
    let (rotated, _) = s.create(&alice()).await.unwrap();
    let (_, rotated_secret) = s
        .rotate(&rotated.id, Duration::from_secs(60))
        .await
        .unwrap();
    secrets.push(rotated_secret);

    let listed = s.list().await.unwrap();
    assert_eq!(listed.len(), 4);
    let debug = format!("{listed:?}");
    let json = serde_json::to_string(&listed).unwrap();
    for secret in &secrets {
        let secret_part = secret.rsplit('_').next().unwrap();
        let hash_hex = hex::encode(Sha256::digest(secret.as_bytes()));
        for out in [&debug, &json] {
            assert!(!out.contains(secret_part), "secret in list output");
            assert!(!out.contains(&hash_hex), "hash in list output");
        }
    }
    assert!(!json.contains("hash") && !json.contains("sha256"), "{json}");
}

async fn opening_twice_migrates_once(fx: Arc<Fixture>) {
    let first = fx.open().await;
    let (_, secret) = first.create(&alice()).await.unwrap();
    // Several instances starting at once, then once more: each open runs the migrations.
    let (a, b, c) = tokio::join!(fx.open(), fx.open(), fx.open());
    let again = fx.open().await;
    for s in [&a, &b, &c, &again] {
        assert!(s.verify(&secret).await.unwrap().is_ok());
        assert_eq!(s.list().await.unwrap().len(), 1);
    }
}

async fn concurrent_creates_all_succeed(fx: Arc<Fixture>) {
    let s = Arc::new(fx.open().await);
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                s.create(&NewKey {
                    principal: format!("service:worker-{i}"),
                    ..NewKey::default()
                })
                .await
                .unwrap()
            })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut secrets = Vec::new();
    for t in tasks {
        let (rec, secret) = t.await.unwrap();
        ids.insert(rec.id);
        secrets.push(secret);
    }
    assert_eq!(ids.len(), 24);
    let listed: HashSet<_> = s.list().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(listed, ids);
    for secret in &secrets {
        assert!(s.verify(secret).await.unwrap().is_ok());
    }
}

/// A file written by the version-1 schema (before rotation and attributes) is upgraded in place
/// and its keys keep working.
#[tokio::test]
async fn sqlite_version_1_file_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let secret = format!("gh_abcdefghijkl_{}", "Q".repeat(40));
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version)) STRICT;
             INSERT INTO schema_migrations VALUES ('keys', 1);
             CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT, principal TEXT NOT NULL, team TEXT, models TEXT NOT NULL, secret_sha256 BLOB NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER) STRICT;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO api_keys VALUES ('abcdefghijkl', NULL, 'user:old', 'ops', 'm1,m2', ?1, 1, NULL, NULL)",
            [Sha256::digest(secret.as_bytes()).to_vec()],
        )
        .unwrap();
    }
    let s = KeyStore::open_path(&path).await.unwrap();
    let p = s.verify(&secret).await.unwrap().unwrap();
    assert_eq!(p.id, "user:old");
    assert_eq!(p.allowed_models, vec!["m1".to_owned(), "m2".to_owned()]);
    assert!(p.attributes.is_empty());
    let (new, _) = s
        .rotate("abcdefghijkl", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(new.rotated_from.as_deref(), Some("abcdefghijkl"));
    drop(s);
    let versions: Vec<i64> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT version FROM schema_migrations WHERE component = 'keys' ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, vec![1, 2]);
}

/// An unreachable PostgreSQL is an error (fail closed), not a hang, a panic or a pass.
#[tokio::test]
async fn unreachable_postgres_is_an_error() {
    // Port 1 on loopback: nothing listens there.
    let r = KeyStore::open("postgres://gatehouse:hunter2@127.0.0.1:1/keys").await;
    let e = r.unwrap_err();
    assert!(matches!(e, StoreError::Postgres(_)), "{e:?}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
}

/// A database failure after start-up (here: the tables vanish) makes verify return an error,
/// which the gateway answers with a 5xx; never a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failure_during_verify_is_an_error() {
    run(Kind::Postgres, |fx: Arc<Fixture>| async move {
        let s = fx.open().await;
        let (_, secret) = s.create(&alice()).await.unwrap();
        let mut conn = sqlx::PgConnection::connect(&fx.location).await.unwrap();
        sqlx::raw_sql("DROP TABLE api_keys")
            .execute(&mut conn)
            .await
            .unwrap();
        assert!(matches!(
            s.verify(&secret).await,
            Err(StoreError::Postgres(_))
        ));
        // Malformed input is still refused without touching the database.
        assert_eq!(
            s.verify("nonsense").await.unwrap(),
            Err(AuthFailure::Malformed)
        );
    })
    .await;
}

#[test]
fn other_schemes_and_empty_locations_are_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for bad in ["", "mysql://h/db", "redis://127.0.0.1"] {
        assert!(
            matches!(
                rt.block_on(KeyStore::open(bad)),
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
}
