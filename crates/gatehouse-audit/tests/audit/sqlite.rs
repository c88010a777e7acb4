//! SQLite sink: chain, checkpoints, each kind of tampering, retention, restart, queries.

use super::{config, event, record, verify_sqlite};
use gatehouse_audit::chain::row_hash;
use gatehouse_audit::{AuditReader, AuditSource, Auditor, CheckpointSigner, Filter, SinkSpec};
use std::path::{Path, PathBuf};

/// A log of 10 events with checkpoints at 4, 8 and 10 (flush).
async fn log10() -> (tempfile::TempDir, PathBuf, std::sync::Arc<CheckpointSigner>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let (c, signer) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone())]);
    let a = Auditor::start(c).unwrap();
    record(&a, 1, 10).await;
    a.flush();
    drop(a);
    let r = verify_sqlite(&db, &signer).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.rows, 10);
    assert_eq!(r.latest_checkpoint.as_ref().unwrap().seq, 10);
    assert_eq!(r.unsigned_tail, 0);
    (dir, db, signer)
}

fn sql(db: &Path, s: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch(s).unwrap();
}

fn problems(r: &gatehouse_audit::VerifyReport) -> String {
    r.problems.join("\n")
}

#[tokio::test]
async fn a_modified_event_is_detected() {
    let (_d, db, signer) = log10().await;
    sql(
        &db,
        "UPDATE audit_events SET event = replace(event, 'user:alice', 'user:mallory') WHERE seq = 4",
    );
    let r = verify_sqlite(&db, &signer).await;
    assert!(!r.ok());
    assert!(
        problems(&r).contains("seq 4: hash mismatch"),
        "{}",
        problems(&r)
    );
}

#[tokio::test]
async fn a_modified_event_with_a_recomputed_hash_breaks_the_link_and_the_checkpoint() {
    let (_d, db, signer) = log10().await;
    let c = rusqlite::Connection::open(&db).unwrap();
    let (prev, ev): (String, String) = c
        .query_row(
            "SELECT prev_hash, event FROM audit_events WHERE seq = 4",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let forged = ev.replace("user:alice", "user:mallory");
    let mut p = [0u8; 32];
    hex::decode_to_slice(&prev, &mut p).unwrap();
    let h = hex::encode(row_hash(4, &p, &forged));
    c.execute(
        "UPDATE audit_events SET event = ?1, hash = ?2 WHERE seq = 4",
        rusqlite::params![forged, h],
    )
    .unwrap();
    let r = verify_sqlite(&db, &signer).await;
    let p = problems(&r);
    assert!(p.contains("seq 5: prev_hash does not match"), "{p}");
    assert!(p.contains("checkpoint at seq 4"), "{p}");
}

#[tokio::test]
async fn a_deleted_event_is_detected() {
    let (_d, db, signer) = log10().await;
    sql(&db, "DELETE FROM audit_events WHERE seq = 6");
    let r = verify_sqlite(&db, &signer).await;
    assert!(
        problems(&r).contains("seq 6..6 missing"),
        "{}",
        problems(&r)
    );
}

#[tokio::test]
async fn swapped_events_are_detected() {
    let (_d, db, signer) = log10().await;
    sql(
        &db,
        "UPDATE audit_events SET seq = -1 WHERE seq = 5;
         UPDATE audit_events SET seq = 5 WHERE seq = 6;
         UPDATE audit_events SET seq = 6 WHERE seq = -1;",
    );
    let r = verify_sqlite(&db, &signer).await;
    assert!(!r.ok());
    assert!(problems(&r).contains("seq 5"), "{}", problems(&r));
}

#[tokio::test]
async fn an_inserted_forged_event_is_detected() {
    let (_d, db, signer) = log10().await;
    // Make room after seq 3 and insert a row chained correctly onto seq 3.
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 4;
         UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000;",
    )
    .unwrap();
    let prev: String = c
        .query_row("SELECT hash FROM audit_events WHERE seq = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut p = [0u8; 32];
    hex::decode_to_slice(&prev, &mut p).unwrap();
    let ev = serde_json::to_string(&event("req_forged", "user:mallory", "allow")).unwrap();
    c.execute(
        "INSERT INTO audit_events (seq, prev_hash, hash, event, ts) VALUES (4, ?1, ?2, ?3, ?4)",
        rusqlite::params![
            prev,
            hex::encode(row_hash(4, &p, &ev)),
            ev,
            "2026-01-01T00:00:00.000Z"
        ],
    )
    .unwrap();
    let r = verify_sqlite(&db, &signer).await;
    let p = problems(&r);
    assert!(
        p.contains("seq 5: prev_hash does not match") || p.contains("seq 5: hash mismatch"),
        "{p}"
    );
    assert!(p.contains("checkpoint at seq 4"), "{p}");
}

#[tokio::test]
async fn a_truncated_tail_is_detected_against_the_latest_checkpoint() {
    let (_d, db, signer) = log10().await;
    sql(&db, "DELETE FROM audit_events WHERE seq > 7");
    let r = verify_sqlite(&db, &signer).await;
    assert!(
        problems(&r).contains("truncated: checkpoint at seq 10 but the log ends at seq 7"),
        "{}",
        problems(&r)
    );
}

#[tokio::test]
async fn checkpoints_signed_by_another_key_are_rejected() {
    let (_d, db, _signer) = log10().await;
    let other = CheckpointSigner::generate();
    let r = verify_sqlite(&db, &other).await;
    assert!(problems(&r).contains("signed by a key other than the one supplied"));
    // A checkpoint whose signature was altered fails too.
    sql(
        &db,
        "UPDATE audit_checkpoints SET signature = replace(signature, substr(signature, 1, 2), 'ff') WHERE seq = 8",
    );
    let r = AuditReader::open(AuditSource::Sqlite(db.clone()))
        .unwrap()
        .verify(None)
        .await
        .unwrap();
    assert!(
        problems(&r).contains("checkpoint at seq 8: bad signature"),
        "{}",
        problems(&r)
    );
}

#[tokio::test]
async fn restart_continues_the_chain_from_the_stored_tail() {
    let (dir, db, signer) = log10().await;
    let (mut c, _) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone())]);
    c.signer = Some(signer.clone());
    let a = Auditor::start(c).unwrap();
    record(&a, 11, 3).await;
    a.flush();
    drop(a);
    let r = verify_sqlite(&db, &signer).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!((r.first_seq, r.last_seq), (Some(1), Some(13)));
}

#[tokio::test]
async fn retention_deletes_old_rows_and_the_rest_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let (c, signer) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone())]);
    let a = Auditor::start(c).unwrap();
    for i in 1..=5 {
        let mut e = event(&format!("old_{i}"), "user:alice", "allow");
        e.ts = "2020-01-01T00:00:00.000Z".into();
        a.record(e).await.unwrap();
    }
    record(&a, 6, 5).await;
    a.flush();
    drop(a);
    // Restart with retention: it runs at start.
    let (mut c, _) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone())]);
    c.signer = Some(signer.clone());
    c.retention_days = Some(30);
    let a = Auditor::start(c).unwrap();
    record(&a, 11, 2).await;
    a.flush();
    assert_eq!(a.apply_retention().unwrap(), 0, "nothing more to delete");
    drop(a);
    let r = verify_sqlite(&db, &signer).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!((r.first_seq, r.last_seq), (Some(6), Some(12)));
    assert_eq!(r.anchor.as_ref().unwrap().seq, 6);
    // Deleting more from the front than retention did is still caught.
    sql(&db, "DELETE FROM audit_events WHERE seq = 6");
    let r = verify_sqlite(&db, &signer).await;
    assert!(
        problems(&r).contains("seq 6..6 missing"),
        "{}",
        problems(&r)
    );
}

#[tokio::test]
async fn retention_keeps_the_last_row_so_the_chain_can_continue() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let (mut c, signer) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone())]);
    c.retention_days = Some(1);
    let a = Auditor::start(c).unwrap();
    for i in 1..=3 {
        let mut e = event(&format!("old_{i}"), "user:alice", "allow");
        e.ts = "2020-01-01T00:00:00.000Z".into();
        a.record(e).await.unwrap();
    }
    a.flush();
    assert_eq!(a.apply_retention().unwrap(), 2);
    record(&a, 4, 1).await;
    a.flush();
    drop(a);
    let r = verify_sqlite(&db, &signer).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!((r.first_seq, r.last_seq), (Some(3), Some(4)));
}

#[tokio::test]
async fn queries_filter_by_principal_decision_finding_and_time() {
    let (_d, db, _) = log10().await;
    let reader = AuditReader::open(AuditSource::Sqlite(db)).unwrap();
    let all = reader.query(&Filter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let alice = reader
        .query(&Filter {
            principal: Some("user:alice".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(alice.len(), 5);
    assert!(alice.iter().all(|e| e.event["principal"] == "user:alice"));
    let blocked = reader
        .query(&Filter {
            decision: Some("blocked".into()),
            finding: Some("prompt_injection".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        blocked
            .iter()
            .map(|e| e.event["request_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["req_3", "req_6", "req_9"]
    );
    let newest = reader
        .query(&Filter {
            newest_first: true,
            limit: Some(2),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), [10, 9]);
    let future = reader
        .query(&Filter {
            since: Some("2999-01-01T00:00:00.000Z".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert!(future.is_empty());
    let after = reader
        .query(&Filter {
            after_seq: Some(8),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(after.len(), 2);
}
