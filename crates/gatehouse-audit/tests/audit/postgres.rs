//! PostgreSQL sink against `GATEHOUSE_TEST_POSTGRES_URL`, in a fresh random schema.

use super::{config, record};
use gatehouse_audit::{AuditReader, AuditSource, Auditor, Filter, SinkSpec};
use rand::Rng;

struct Schema {
    url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE"
                    )))
                    .execute(&pool)
                    .await;
                }
            });
        })
        .join();
    }
}

fn schema() -> Option<Schema> {
    let Ok(url) = std::env::var("GATEHOUSE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: GATEHOUSE_TEST_POSTGRES_URL unset");
        return None;
    };
    let name = format!("gh_audit_{:016x}", rand::rng().random::<u64>());
    Some(Schema { url, name })
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_sink_chains_verifies_queries_and_detects_tampering() {
    let Some(s) = schema() else { return };
    let dir = tempfile::tempdir().unwrap();
    let spec = SinkSpec::Postgres {
        url: s.url.clone(),
        schema: s.name.clone(),
    };
    let (c, signer) = config(dir.path(), vec![spec.clone()]);
    let a = Auditor::start(c).unwrap();
    record(&a, 1, 6).await;
    a.flush();
    drop(a);
    // Restart continues the chain.
    let (mut c, _) = config(dir.path(), vec![spec]);
    c.signer = Some(signer.clone());
    let a = Auditor::start(c).unwrap();
    record(&a, 7, 3).await;
    a.flush();
    drop(a);
    let reader = AuditReader::open(AuditSource::Postgres {
        url: s.url.clone(),
        schema: s.name.clone(),
    })
    .unwrap();
    let r = reader.verify(Some(signer.public())).await.unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!((r.rows, r.last_seq), (9, Some(9)));
    assert_eq!(r.latest_checkpoint.unwrap().seq, 9);
    let blocked = reader
        .query(&Filter {
            decision: Some("block".into()),
            finding: Some("prompt_injection".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(blocked.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 6, 9]);
    let pool = sqlx::PgPool::connect(&s.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE {}.audit_events SET event = replace(event, 'user:bob', 'user:eve') WHERE seq = 5",
        s.name
    )))
    .execute(&pool)
    .await
    .unwrap();
    let r = reader.verify(Some(signer.public())).await.unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("seq 5: hash mismatch")),
        "{:?}",
        r.problems
    );
}
