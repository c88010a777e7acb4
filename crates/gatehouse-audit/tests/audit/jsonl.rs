//! JSONL sink: size-based rotation, the chain continues across files and restarts.

use super::{config, record};
use gatehouse_audit::sink::jsonl::log_files;
use gatehouse_audit::{AuditReader, AuditSource, Auditor, Filter, SinkSpec};

#[tokio::test]
async fn rotation_keeps_one_verifiable_chain_across_files_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let spec = SinkSpec::Jsonl {
        path: path.clone(),
        max_bytes: 4096,
    };
    let (c, signer) = config(dir.path(), vec![spec.clone()]);
    let a = Auditor::start(c).unwrap();
    record(&a, 1, 30).await;
    a.flush();
    drop(a);
    let (mut c, _) = config(dir.path(), vec![spec]);
    c.signer = Some(signer.clone());
    let a = Auditor::start(c).unwrap();
    record(&a, 31, 10).await;
    a.flush();
    drop(a);
    let files = log_files(&path);
    assert!(files.len() >= 3, "rotated into {files:?}");
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() <= 4096 + 1024);
    }
    let reader = AuditReader::open(AuditSource::Jsonl(path.clone())).unwrap();
    let r = reader.verify(Some(signer.public())).await.unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!((r.rows, r.last_seq), (40, Some(40)));
    let rows = reader
        .query(&Filter {
            principal: Some("user:alice".into()),
            limit: Some(1000),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 20);
    // Removing a rotated file is detected.
    std::fs::remove_file(&files[1]).unwrap();
    let r = reader.verify(Some(signer.public())).await.unwrap();
    assert!(!r.ok());
    assert!(
        r.problems.iter().any(|p| p.contains("missing")),
        "{:?}",
        r.problems
    );
}
