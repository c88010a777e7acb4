//! Usage persisted across a restart, in SQLite and PostgreSQL.

use super::*;
use gatehouse_core::ErrorCode;
use std::time::Duration;

const LIMITS: &str = r#"
timezone = "Europe/Berlin"
[prices."gpt-4o-mini"]
input_per_mtok = 1000
output_per_mtok = 2000
[defaults.principal]
tokens_per_day = 1000
[[rules]]
scope = { team = "payments" }
cost_per_month_usd = 3
"#;

/// Spends 600 tokens of alice's daily 1000 ($1.00 of the team's $3 month), "restarts", and
/// checks that the budget was not reset; then moves to the next day.
async fn survives_restart(open: impl AsyncFn() -> UsageStore) {
    let clock = clock_at("2026-03-10T10:00:00Z");
    let alice = principal("user:alice", Some("payments"), Some("ka"));
    {
        let store = open().await;
        let l = Limiter::with_clock(cfg(LIMITS), Some(store.clone()), Arc::new(clock.clone()))
            .await
            .unwrap();
        let a = l
            .admit(&req(&alice, "gpt-4o-mini", 400, Some(500)))
            .await
            .unwrap();
        a.reservation
            .settle(Usage {
                input: 400,
                output: 200,
            })
            .await;
        store.flush().await.unwrap();
        let rows = store
            .query(&UsageFilter {
                principal: Some("user:alice".into()),
                ..UsageFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (
                r.day.as_str(),
                r.team.as_str(),
                r.key_id.as_str(),
                r.model.as_str()
            ),
            ("2026-03-10", "payments", "ka", "gpt-4o-mini")
        );
        assert_eq!((r.requests, r.input_tokens, r.output_tokens), (1, 400, 200));
        assert_eq!(r.cost_micros, 800_000);
    }
    // A new process: same day.
    let store = open().await;
    let l = Limiter::with_clock(cfg(LIMITS), Some(store.clone()), Arc::new(clock.clone()))
        .await
        .unwrap();
    let e = l
        .admit(&req(&alice, "gpt-4o-mini", 401, Some(0)))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::BudgetExceeded, "{e}");
    assert!(
        e.message
            .contains("principal user:alice, 1000 tokens per day"),
        "{}",
        e.message
    );
    let a = l
        .admit(&req(&alice, "gpt-4o-mini", 400, Some(0)))
        .await
        .unwrap();
    a.reservation
        .settle(Usage {
            input: 400,
            output: 0,
        })
        .await;
    store.flush().await.unwrap();
    drop(l);
    // Next day (after midnight in Berlin): the daily budget is fresh, the month is not.
    clock.advance(Duration::from_secs(14 * 3600));
    let l = Limiter::with_clock(cfg(LIMITS), Some(store.clone()), Arc::new(clock.clone()))
        .await
        .unwrap();
    // Month so far: $0.80 + $0.40 = $1.20 of $3; 1000 tokens at input price = $1.00 fits,
    // 1000 more would be $2.20 + … over the budget.
    let a = l
        .admit(&req(&alice, "gpt-4o-mini", 1000, Some(0)))
        .await
        .unwrap();
    a.reservation
        .settle(Usage {
            input: 1000,
            output: 0,
        })
        .await;
    let bob = principal("user:bob", Some("payments"), None);
    let e = l
        .admit(&req(&bob, "gpt-4o-mini", 900, Some(0)))
        .await
        .unwrap_err();
    assert!(
        e.message
            .starts_with("cost budget exceeded: team payments, $3.00 per month"),
        "{}",
        e.message
    );
    store.flush().await.unwrap();
    let rows = store
        .query(&UsageFilter {
            team: Some("payments".into()),
            since: Some("2026-03-11".into()),
            ..UsageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].input_tokens, 1000);
    assert!(
        store
            .query(&UsageFilter {
                since: Some("yesterday".into()),
                ..UsageFilter::default()
            })
            .await
            .is_err()
    );
}

#[tokio::test]
async fn sqlite_usage_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    survives_restart(async || UsageStore::open_sqlite(&path).unwrap()).await;
    // The table sits beside the other components' tables, with its own migration row.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row(
            "SELECT version FROM schema_migrations WHERE component = 'usage'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_usage_survives_a_restart() {
    let Some(url) = postgres_url() else { return };
    let schema = random_name();
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    survives_restart(async || {
        UsageStore::open_postgres(&url, Some(&schema))
            .await
            .unwrap()
    })
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}
