//! Bodies: encrypted with the key ring, unreadable without it, never on disk in plaintext.

use super::{config, event};
use gatehouse_audit::crypto::generate_kek_hex;
use gatehouse_audit::{
    AuditBody, AuditReader, AuditSource, Auditor, BodyMode, Filter, KeyRing, SinkSpec,
};
use std::sync::Arc;

const SECRET: &str = "plaintext-body-7f3a9c-marker";

fn body() -> Option<AuditBody> {
    Some(AuditBody::Redacted {
        request: Some(format!("please summarise {SECRET}")),
        response: Some("ok".into()),
    })
}

fn grep_dir(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let bytes = std::fs::read(e.path()).unwrap_or_default();
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            hits.push(e.path().display().to_string());
        }
    }
    hits
}

#[tokio::test]
async fn encrypted_bodies_are_readable_only_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let old_key = generate_kek_hex();
    let new_key = generate_kek_hex();
    // Written under k1 …
    let (mut c, _) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone())]);
    c.body = BodyMode::Encrypted;
    c.keys = Some(Arc::new(KeyRing::single("k1", &old_key).unwrap()));
    let a = Auditor::start(c).unwrap();
    let mut e = event("req_enc_1", "user:alice", "allow");
    e.body = body();
    a.record(e).await.unwrap();
    a.flush();
    drop(a);
    // … then rotated to k2 (k1 kept for reading).
    std::fs::write(dir.path().join("k1.key"), old_key.as_str()).unwrap();
    std::fs::write(dir.path().join("k2.key"), new_key.as_str()).unwrap();
    let ring = KeyRing::load(
        "k2",
        &[
            (
                "k1".into(),
                gatehouse_audit::KeySource::File(dir.path().join("k1.key")),
            ),
            (
                "k2".into(),
                gatehouse_audit::KeySource::File(dir.path().join("k2.key")),
            ),
        ],
    )
    .unwrap();
    let ring = Arc::new(ring);
    let (mut c, _) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone())]);
    c.body = BodyMode::Encrypted;
    c.keys = Some(ring.clone());
    let a = Auditor::start(c).unwrap();
    let mut e = event("req_enc_2", "user:alice", "allow");
    e.body = body();
    a.record(e).await.unwrap();
    a.flush();
    drop(a);

    assert!(
        grep_dir(dir.path(), SECRET).is_empty(),
        "plaintext on disk: {:?}",
        grep_dir(dir.path(), SECRET)
    );
    let rows = AuditReader::open(AuditSource::Sqlite(db))
        .unwrap()
        .query(&Filter::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].event["body"]["kid"], "k1");
    assert_eq!(rows[1].event["body"]["kid"], "k2");
    for r in &rows {
        assert_eq!(r.event["body"]["mode"], "encrypted");
        let b = r.decrypted_body(&ring).unwrap().unwrap();
        assert_eq!(b["request"], format!("please summarise {SECRET}"));
        assert_eq!(b["mode"], "decrypted");
    }
    let wrong = KeyRing::single("k2", &generate_kek_hex()).unwrap();
    assert!(rows[1].decrypted_body(&wrong).is_err());
    let only_old = KeyRing::single("k1", &old_key).unwrap();
    assert!(rows[0].decrypted_body(&only_old).is_ok());
}

#[tokio::test]
async fn body_mode_none_drops_bodies_and_redacted_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    for (mode, expect) in [(BodyMode::None, false), (BodyMode::Redacted, true)] {
        let db = dir.path().join(format!("{mode:?}.db"));
        let (mut c, _) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone())]);
        c.body = mode;
        let a = Auditor::start(c).unwrap();
        let mut e = event("req_b", "user:alice", "allow");
        e.body = body();
        a.record(e).await.unwrap();
        a.flush();
        let rows = AuditReader::open(AuditSource::Sqlite(db))
            .unwrap()
            .query(&Filter::default())
            .await
            .unwrap();
        assert_eq!(rows[0].event.get("body").is_some(), expect, "{mode:?}");
    }
}

#[test]
fn encrypted_mode_without_keys_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, _) = config(dir.path(), vec![SinkSpec::Sqlite(dir.path().join("a.db"))]);
    c.body = BodyMode::Encrypted;
    assert!(Auditor::start(c).is_err());
}
