//! Integration tests of the audit trail: sinks, tamper detection, retention, spool and replay,
//! encrypted bodies, restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod bodies;
mod jsonl;
mod otlp;
mod postgres;
mod schema;
mod spool;
mod sqlite;

use gatehouse_audit::{
    AuditEvent, AuditReader, AuditSource, Auditor, AuditorConfig, CheckpointSigner, SinkSpec,
    VerifyReport,
};
use gatehouse_core::{Finding, Hop};
use std::path::Path;
use std::sync::Arc;

/// An event for request `rid` by `principal`.
pub fn event(rid: &str, principal: &str, decision: &'static str) -> AuditEvent {
    let mut e = AuditEvent::new(
        rid,
        Hop::ModelCall,
        "/v1/chat/completions",
        "invoke_model",
        decision,
        200,
    );
    e.principal = Some(principal.to_owned());
    e.model = Some("gpt-test".into());
    if decision == "block" {
        e.status = 400;
        e.findings = vec![Finding {
            detector: "injection".into(),
            kind: "prompt_injection".into(),
            score: 0.97,
            start: 0,
            end: 10,
        }];
    }
    e
}

/// A strict config around `sinks` with a signer, spooling into `dir`.
pub fn config(dir: &Path, sinks: Vec<SinkSpec>) -> (AuditorConfig, Arc<CheckpointSigner>) {
    let signer = Arc::new(CheckpointSigner::generate());
    let mut c = AuditorConfig::new(sinks);
    c.strict = true;
    c.spool_dir = dir.to_path_buf();
    c.signer = Some(signer.clone());
    c.checkpoint_every = 4;
    (c, signer)
}

/// Records `n` events (strict) numbered from `from`.
pub async fn record(a: &Auditor, from: usize, n: usize) {
    for i in from..from + n {
        let d = if i % 3 == 0 { "block" } else { "allow" };
        let p = if i % 2 == 0 { "user:alice" } else { "user:bob" };
        a.record(event(&format!("req_{i}"), p, d)).await.unwrap();
    }
}

/// Verifies a SQLite log with `signer`'s public key.
pub async fn verify_sqlite(db: &Path, signer: &CheckpointSigner) -> VerifyReport {
    AuditReader::open(AuditSource::Sqlite(db.to_owned()))
        .unwrap()
        .verify(Some(signer.public()))
        .await
        .unwrap()
}
