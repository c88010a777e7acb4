//! Gatehouse audit: one event per checkpoint decision.
//!
//! [`AuditEvent`] is the record (schema version [`SCHEMA_VERSION`]); it carries who, what, the
//! decision, findings (types and spans, never values), tokens and latency — never a body or a
//! secret. [`Auditor`] hands events to a writer thread through a bounded queue so that writing
//! never sits on the request path; in `strict` mode the request waits for the write to be
//! acknowledged and is refused if it fails, so nothing is answered that was not recorded.

pub mod anomaly;

use gatehouse_core::{Finding, Hop};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// Version of the event schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    /// Input tokens.
    pub input: u32,
    /// Output tokens.
    pub output: u32,
}

/// One audited decision.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// Schema version.
    pub v: u32,
    /// RFC 3339 UTC timestamp with milliseconds.
    pub ts: String,
    /// Request id.
    pub request_id: String,
    /// Boundary crossed.
    pub hop: Hop,
    /// Route (`/v1/chat/completions`).
    pub route: &'static str,
    /// Action (`invoke_model`, `list_models`).
    pub action: &'static str,
    /// Principal id, when identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// API key id, when a key authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Public model name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Provider that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `allow`, `block`, `error`, `cancelled`.
    pub decision: &'static str,
    /// Stable error code when not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Reason code (e.g. `revoked_key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Stage that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<&'static str>,
    /// HTTP status returned to the caller.
    pub status: u16,
    /// Findings (never values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Tokens.
    pub tokens: Tokens,
    /// Whether the answer was streamed.
    pub stream: bool,
    /// Upstream attempts made.
    pub upstream_attempts: u32,
    /// Status of the last upstream answer, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    /// Total time in the gateway, microseconds.
    pub latency_us: u64,
    /// Client address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// Current time as RFC 3339 with milliseconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt).unwrap_or_default()
}

/// Where events go.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkConfig {
    /// Discard (for benchmarks of other stages only).
    None,
    /// JSON lines on standard output.
    Stdout,
    /// JSON lines appended to a file.
    Jsonl(PathBuf),
}

/// Auditor failures.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The sink could not be opened.
    #[error("audit sink: {0}")]
    Open(String),
    /// The event could not be written (strict mode) or queued.
    #[error("audit event could not be recorded: {0}")]
    Write(&'static str),
}

enum Msg {
    Event(Box<AuditEvent>, Option<tokio::sync::oneshot::Sender<bool>>),
    Flush(std::sync::mpsc::Sender<()>),
}

/// Counters an operator watches.
#[derive(Debug, Default)]
pub struct AuditStats {
    /// Events written.
    pub written: AtomicU64,
    /// Events dropped because the queue was full (non-strict mode only).
    pub dropped: AtomicU64,
    /// Write errors.
    pub errors: AtomicU64,
}

/// The recording stage's handle; cheap to clone.
#[derive(Clone)]
pub struct Auditor {
    tx: Option<SyncSender<Msg>>,
    strict: bool,
    healthy: Arc<AtomicBool>,
    stats: Arc<AuditStats>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl Auditor {
    /// Starts the writer thread for `sink`. `queue` bounds the events waiting to be written.
    pub fn start(sink: SinkConfig, strict: bool, queue: usize) -> Result<Auditor, AuditError> {
        let healthy = Arc::new(AtomicBool::new(true));
        let stats = Arc::new(AuditStats::default());
        let out: Box<dyn Write + Send> = match &sink {
            SinkConfig::None => {
                return Ok(Auditor {
                    tx: None,
                    strict,
                    healthy,
                    stats,
                });
            }
            SinkConfig::Stdout => Box::new(std::io::stdout()),
            SinkConfig::Jsonl(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| AuditError::Open(format!("{}: {e}", dir.display())))?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| AuditError::Open(format!("{}: {e}", path.display())))?;
                Box::new(f)
            }
        };
        let (tx, rx) = sync_channel(queue.max(1));
        let h = healthy.clone();
        let s = stats.clone();
        std::thread::Builder::new()
            .name("gatehouse-audit".into())
            .spawn(move || writer(rx, out, h, s, strict))
            .map_err(|e| AuditError::Open(e.to_string()))?;
        Ok(Auditor {
            tx: Some(tx),
            strict,
            healthy,
            stats,
        })
    }

    /// Whether the sink is currently writing successfully.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Whether requests wait for their event to be written.
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// Counters.
    pub fn stats(&self) -> &AuditStats {
        &self.stats
    }

    /// Records an event. In strict mode waits for the write and fails if it failed; otherwise
    /// queues it and returns at once (dropping and counting it if the queue is full).
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        let Some(tx) = &self.tx else { return Ok(()) };
        if self.strict {
            let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
            match tx.try_send(Msg::Event(Box::new(event), Some(ack_tx))) {
                Ok(()) => {}
                Err(_) => return Err(AuditError::Write("audit queue full or closed")),
            }
            match ack_rx.await {
                Ok(true) => Ok(()),
                _ => Err(AuditError::Write("audit sink write failed")),
            }
        } else {
            match tx.try_send(Msg::Event(Box::new(event), None)) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(TrySendError::Disconnected(_)) => {
                    Err(AuditError::Write("audit writer stopped"))
                }
            }
        }
    }

    /// Records without waiting (for events produced where no caller can wait, e.g. a stream
    /// dropped by its client). Strict-mode failures are counted.
    pub fn record_detached(&self, event: AuditEvent) {
        if let Some(tx) = &self.tx
            && tx.try_send(Msg::Event(Box::new(event), None)).is_err()
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Blocks until everything queued so far is written (shutdown, tests).
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            if tx.send(Msg::Flush(done_tx)).is_ok() {
                let _ = done_rx.recv_timeout(Duration::from_secs(5));
            }
        }
    }
}

/// How long the non-strict writer sleeps between batches. Polling instead of parking on the
/// queue means a request never pays for waking the writer thread (a futex syscall and a context
/// switch per event); an event waits at most this long before it is written.
const BATCH_INTERVAL: Duration = Duration::from_millis(5);

fn writer(
    rx: Receiver<Msg>,
    mut out: Box<dyn Write + Send>,
    healthy: Arc<AtomicBool>,
    stats: Arc<AuditStats>,
    strict: bool,
) {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut acks: Vec<tokio::sync::oneshot::Sender<bool>> = Vec::new();
    let mut flushes = Vec::new();
    loop {
        // Strict mode parks on the queue so a waiting request is acknowledged at once; otherwise
        // sleep a batch interval. Then drain what is queued: one write per batch.
        let first = if strict {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match rx.try_recv() {
                Ok(m) => m,
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    std::thread::sleep(BATCH_INTERVAL);
                    continue;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
            }
        };
        let mut n = 0u64;
        let mut handle =
            |m: Msg, buf: &mut Vec<u8>, acks: &mut Vec<_>, flushes: &mut Vec<_>| match m {
                Msg::Event(ev, ack) => {
                    if serde_json::to_writer(&mut *buf, &ev).is_ok() {
                        buf.push(b'\n');
                        n += 1;
                    }
                    if let Some(a) = ack {
                        acks.push(a);
                    }
                }
                Msg::Flush(done) => flushes.push(done),
            };
        handle(first, &mut buf, &mut acks, &mut flushes);
        while buf.len() < 1024 * 1024 {
            match rx.try_recv() {
                Ok(m) => handle(m, &mut buf, &mut acks, &mut flushes),
                Err(_) => break,
            }
        }
        let ok = out.write_all(&buf).and_then(|_| out.flush()).is_ok();
        buf.clear();
        healthy.store(ok, Ordering::Relaxed);
        if ok {
            stats.written.fetch_add(n, Ordering::Relaxed);
        } else {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(events = n, "audit sink write failed");
        }
        for a in acks.drain(..) {
            let _ = a.send(ok);
        }
        for f in flushes.drain(..) {
            let _ = f.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent {
            v: SCHEMA_VERSION,
            ts: now_rfc3339(),
            request_id: "req_x".into(),
            hop: Hop::ModelCall,
            route: "/v1/chat/completions",
            action: "invoke_model",
            principal: Some("user:alice".into()),
            key_id: None,
            model: Some("m".into()),
            provider: None,
            decision: "allow",
            code: None,
            reason: None,
            stage: None,
            status: 200,
            findings: Vec::new(),
            tokens: Tokens::default(),
            stream: false,
            upstream_attempts: 1,
            upstream_status: Some(200),
            latency_us: 10,
            client: None,
        }
    }

    #[tokio::test]
    async fn jsonl_sink_writes_one_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let a = Auditor::start(SinkConfig::Jsonl(path.clone()), true, 16).unwrap();
        a.record(event()).await.unwrap();
        a.record(event()).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["principal"], "user:alice");
        assert_eq!(v["v"], 1);
    }

    #[tokio::test]
    async fn strict_mode_reports_a_failing_sink() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let a = Auditor::start(SinkConfig::Jsonl("/dev/full".into()), true, 16).unwrap();
        assert!(a.record(event()).await.is_err());
        assert!(!a.healthy());
    }
}
