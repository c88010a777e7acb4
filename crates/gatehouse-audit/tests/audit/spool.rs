//! A sink taken away and brought back: events go to the durable spool and are replayed in
//! order; strict requests are still acknowledged; a restart while the sink is down continues
//! the chain from the spool.

use super::{config, record, verify_sqlite};
use gatehouse_audit::chain::{ChainedRecord, Checkpoint};
use gatehouse_audit::sink::sqlite::SqliteSink;
use gatehouse_audit::sink::{SharedSink, Tail};
use gatehouse_audit::{Auditor, Sink, SinkError, SinkSpec};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A SQLite sink that can be switched off.
struct Flaky {
    inner: SqliteSink,
    down: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&self) -> Result<(), SinkError> {
        if self.down.load(Ordering::SeqCst) {
            Err(SinkError::Io("sink is down (test)".into()))
        } else {
            Ok(())
        }
    }
}

impl Sink for Flaky {
    fn id(&self) -> &str {
        "flaky"
    }
    fn write(&mut self, rows: &[ChainedRecord]) -> Result<(), SinkError> {
        self.check()?;
        self.inner.write(rows)
    }
    fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), SinkError> {
        self.check()?;
        self.inner.checkpoint(cp)
    }
    fn tail(&mut self) -> Result<Option<Tail>, SinkError> {
        self.inner.tail()
    }
}

fn flaky(db: &Path, down: &Arc<AtomicBool>) -> SinkSpec {
    SinkSpec::Custom(SharedSink(Arc::new(Mutex::new(Box::new(Flaky {
        inner: SqliteSink::open(db, true).unwrap(),
        down: down.clone(),
    })))))
}

fn count(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM audit_events", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_secondary_sink_that_goes_down_is_spooled_and_replayed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let primary = dir.path().join("primary.db");
    let secondary = dir.path().join("secondary.db");
    let down = Arc::new(AtomicBool::new(false));
    let (c, signer) = config(
        dir.path(),
        vec![SinkSpec::Sqlite(primary.clone()), flaky(&secondary, &down)],
    );
    let a = Auditor::start(c).unwrap();
    record(&a, 1, 2).await;
    down.store(true, Ordering::SeqCst);
    // Strict requests are still acknowledged: the spool is durable.
    record(&a, 3, 6).await;
    assert!(!a.healthy());
    assert!(a.stats().spooled.load(Ordering::Relaxed) >= 6);
    assert!(dir.path().join("spool-flaky.jsonl").exists());
    assert_eq!(count(&secondary), 2);
    down.store(false, Ordering::SeqCst);
    a.flush(); // retries at once
    assert!(a.healthy());
    assert!(!dir.path().join("spool-flaky.jsonl").exists());
    record(&a, 9, 1).await;
    a.flush();
    drop(a);
    for db in [&primary, &secondary] {
        let r = verify_sqlite(db, &signer).await;
        assert!(r.ok(), "{}: {:?}", db.display(), r.problems);
        assert_eq!(r.last_seq, Some(9));
    }
}

#[tokio::test]
async fn the_primary_down_across_a_restart_continues_from_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("primary.db");
    let down = Arc::new(AtomicBool::new(false));
    let (c, signer) = config(dir.path(), vec![flaky(&db, &down)]);
    let a = Auditor::start(c).unwrap();
    record(&a, 1, 2).await;
    down.store(true, Ordering::SeqCst);
    record(&a, 3, 3).await;
    a.flush();
    drop(a);
    assert_eq!(count(&db), 2);
    // Restart while still down: seq continues after the spooled rows, not the stored ones.
    let (mut c, _) = config(dir.path(), vec![flaky(&db, &down)]);
    c.signer = Some(signer.clone());
    let a = Auditor::start(c).unwrap();
    record(&a, 6, 2).await;
    down.store(false, Ordering::SeqCst);
    a.flush();
    drop(a);
    let r = verify_sqlite(&db, &signer).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!((r.rows, r.last_seq), (7, Some(7)));
}

#[tokio::test]
async fn strict_mode_fails_when_neither_the_sink_nor_the_spool_can_take_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let down = Arc::new(AtomicBool::new(true));
    let (mut c, _) = config(dir.path(), vec![flaky(&dir.path().join("p.db"), &down)]);
    c.spool_dir = "/dev/full/spool".into();
    let a = Auditor::start(c).unwrap();
    assert!(
        a.record(super::event("r", "user:a", "allow"))
            .await
            .is_err()
    );
    assert!(!a.healthy());
}
