//! Time source. The limiter reads the wall clock through [`Clock`] so that tests can move time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// A source of wall-clock time in nanoseconds since the Unix epoch.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in nanoseconds since 1970-01-01T00:00:00Z.
    fn now_ns(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to (tests, simulations). Cloning shares the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `ts`.
    pub fn at(ts: jiff::Timestamp) -> ManualClock {
        let ns = i64::try_from(ts.as_nanosecond()).unwrap_or(i64::MAX);
        ManualClock(Arc::new(AtomicI64::new(ns)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ns = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.0.fetch_add(ns, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, ts: jiff::Timestamp) {
        let ns = i64::try_from(ts.as_nanosecond()).unwrap_or(i64::MAX);
        self.0.store(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
