//! The gateway with its API keys in PostgreSQL (`store.url`): keys work across gateways, and a
//! database failure fails closed (500, nothing reaches the upstream). Skipped when
//! `GATEHOUSE_TEST_POSTGRES_URL` is unset; each test uses a fresh schema, dropped at the end.
#![allow(clippy::print_stderr)]

use super::{App, Arc, NewKey, Value, chat, gateway, serve, upstream};
use sqlx::Connection;

#[tokio::test]
async fn keys_in_postgres_authenticate_and_a_database_failure_fails_closed() {
    let Some(base) = std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: GATEHOUSE_TEST_POSTGRES_URL unset");
        return;
    };
    let schema = format!("gh_gw_keys_{:016x}", rand_u64());
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let location = format!("{base}{sep}options[search_path]={schema}");

    let outcome = tokio::spawn({
        let location = location.clone();
        async move {
            let up = upstream::start().await;
            let g = gateway(&up.url, "").await;
            let mut cfg = g.app.config.clone();
            cfg.store.url = Some(location.clone());
            // Two gateways sharing the database: a key created on one works on the other.
            let one = Arc::new(App::build(cfg.clone()).await.unwrap());
            let two = Arc::new(App::build(cfg).await.unwrap());
            assert_eq!(one.keys.backend_name(), "postgres");
            let (_, key) = one
                .keys
                .create(&NewKey {
                    principal: "user:pg".into(),
                    ..NewKey::default()
                })
                .await
                .unwrap();
            let url = format!("http://{}", serve(two).await);
            let ask = || {
                reqwest::Client::new()
                    .post(format!("{url}/v1/chat/completions"))
                    .bearer_auth(&key)
                    .json(&chat("ok", "hello"))
                    .send()
            };
            assert_eq!(ask().await.unwrap().status(), 200);
            let hits = up.seen.hits_for("ok");

            // The database loses the table: identify cannot check the key, so the request is
            // refused with a 500 and never reaches the upstream.
            let mut conn = sqlx::PgConnection::connect(&location).await.unwrap();
            sqlx::raw_sql("DROP TABLE api_keys")
                .execute(&mut conn)
                .await
                .unwrap();
            let r = ask().await.unwrap();
            assert_eq!(r.status(), 500);
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "internal_error");
            assert_eq!(up.seen.hits_for("ok"), hits, "nothing reached the upstream");
        }
    })
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A random-enough schema suffix without another dependency.
fn rand_u64() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    t ^ u64::from(std::process::id()).rotate_left(32)
}
