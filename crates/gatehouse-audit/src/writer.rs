//! The [`Auditor`]: hands events to one writer thread through a bounded queue. The writer
//! computes the chain (seq + hash) once, stores the same rows in every sink, spools what a sink
//! cannot take, signs checkpoints and applies retention.

use crate::chain::{Anchor, ChainedRecord, Checkpoint, GENESIS, Hash};
use crate::crypto::{CheckpointSigner, KeyRing};
use crate::event::{AuditBody, AuditEvent, BodyMode};
use crate::sink::{Sink, SinkError, SinkSpec, Tail};
use crate::spool::{Spool, Spooled};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// Everything the writer needs.
#[derive(Debug, Clone)]
pub struct AuditorConfig {
    /// Sinks; the first is the primary (the chain continues from its tail on restart). Empty:
    /// auditing is off.
    pub sinks: Vec<SinkSpec>,
    /// Requests wait for the durable write of their event and fail if it fails.
    pub strict: bool,
    /// Events that may wait for the writer.
    pub queue: usize,
    /// Directory for spool files.
    pub spool_dir: PathBuf,
    /// How bodies are stored.
    pub body: BodyMode,
    /// Key-encryption keys (required for [`BodyMode::Encrypted`]).
    pub keys: Option<Arc<KeyRing>>,
    /// Signs checkpoints and retention anchors; without it no checkpoints are written.
    pub signer: Option<Arc<CheckpointSigner>>,
    /// Sign a checkpoint after this many events (0: only by time and on flush).
    pub checkpoint_every: u64,
    /// … or when this long has passed since the last one with events since.
    pub checkpoint_interval: Duration,
    /// Delete rows older than this many days (None: keep forever).
    pub retention_days: Option<u32>,
}

impl AuditorConfig {
    /// Defaults around the given sinks: non-strict, 65,536 queued, redacted bodies, a
    /// checkpoint every 1,000 events or 60 s, no retention, spool in the current directory.
    pub fn new(sinks: Vec<SinkSpec>) -> AuditorConfig {
        AuditorConfig {
            sinks,
            strict: false,
            queue: 65_536,
            spool_dir: PathBuf::from("."),
            body: BodyMode::Redacted,
            keys: None,
            signer: None,
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(60),
            retention_days: None,
        }
    }
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
    Retain(std::sync::mpsc::Sender<Result<u64, String>>),
}

/// Counters an operator watches.
#[derive(Debug, Default)]
pub struct AuditStats {
    /// Events written (to the primary sink or its spool).
    pub written: AtomicU64,
    /// Events dropped because the queue was full (non-strict mode only).
    pub dropped: AtomicU64,
    /// Write errors (sink or spool).
    pub errors: AtomicU64,
    /// Rows that went to a spool instead of their sink.
    pub spooled: AtomicU64,
    /// Checkpoints signed.
    pub checkpoints: AtomicU64,
    /// Events waiting in the queue for the writer (a gauge).
    pub queued: AtomicU64,
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
    /// Opens the sinks, finds the chain's tail and starts the writer thread. Fails when the
    /// primary sink cannot be opened or read, or when encrypted bodies lack keys.
    pub fn start(cfg: AuditorConfig) -> Result<Auditor, AuditError> {
        let healthy = Arc::new(AtomicBool::new(true));
        let stats = Arc::new(AuditStats::default());
        let strict = cfg.strict;
        if cfg.sinks.is_empty() {
            return Ok(Auditor {
                tx: None,
                strict,
                healthy,
                stats,
            });
        }
        if cfg.body == BodyMode::Encrypted && cfg.keys.is_none() {
            return Err(AuditError::Open(
                "encrypted bodies need a key-encryption key".into(),
            ));
        }
        if cfg.retention_days.is_some() && cfg.signer.is_none() {
            return Err(AuditError::Open(
                "retention needs a signing key (for the retention anchor)".into(),
            ));
        }
        let (tx, rx) = sync_channel(cfg.queue.max(1));
        let (init_tx, init_rx) = std::sync::mpsc::channel();
        let h = healthy.clone();
        let s = stats.clone();
        std::thread::Builder::new()
            .name("gatehouse-audit".into())
            .spawn(move || match Writer::open(cfg, h, s) {
                Ok(mut w) => {
                    let _ = init_tx.send(Ok(()));
                    w.run(rx);
                }
                Err(e) => {
                    let _ = init_tx.send(Err(e));
                }
            })
            .map_err(|e| AuditError::Open(e.to_string()))?;
        match init_rx.recv() {
            Ok(Ok(())) => Ok(Auditor {
                tx: Some(tx),
                strict,
                healthy,
                stats,
            }),
            Ok(Err(e)) => Err(AuditError::Open(e)),
            Err(_) => Err(AuditError::Open("audit writer failed to start".into())),
        }
    }

    fn unqueue(&self) {
        self.stats.queued.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether every sink is currently writing directly (not spooling).
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

    /// Records an event. In strict mode waits until it is durably stored (in every sink or its
    /// spool) and fails otherwise; else queues it and returns at once (dropping and counting it
    /// if the queue is full).
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        let Some(tx) = &self.tx else { return Ok(()) };
        if self.strict {
            let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
            if tx
                .try_send(Msg::Event(Box::new(event), Some(ack_tx)))
                .is_err()
            {
                self.unqueue();
                return Err(AuditError::Write("audit queue full or closed"));
            }
            match ack_rx.await {
                Ok(true) => Ok(()),
                _ => Err(AuditError::Write("audit sink write failed")),
            }
        } else {
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
            match tx.try_send(Msg::Event(Box::new(event), None)) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => {
                    self.unqueue();
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.unqueue();
                    Err(AuditError::Write("audit writer stopped"))
                }
            }
        }
    }

    /// Records from synchronous code, waiting for the durable write in strict mode (CLI admin
    /// events). Must not be called from inside an async runtime's worker thread in strict mode.
    pub fn record_blocking(&self, event: AuditEvent) -> Result<(), AuditError> {
        let Some(tx) = &self.tx else { return Ok(()) };
        let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        tx.send(Msg::Event(Box::new(event), Some(ack_tx)))
            .map_err(|_| {
                self.unqueue();
                AuditError::Write("audit writer stopped")
            })?;
        match ack_rx.blocking_recv() {
            Ok(true) => Ok(()),
            _ => Err(AuditError::Write("audit sink write failed")),
        }
    }

    /// Records without waiting (for events produced where no caller can wait, e.g. a stream
    /// dropped by its client). Failures are counted.
    pub fn record_detached(&self, event: AuditEvent) {
        if let Some(tx) = &self.tx {
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
            if tx.try_send(Msg::Event(Box::new(event), None)).is_err() {
                self.unqueue();
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Blocks until everything queued so far is written and a checkpoint covers it
    /// (shutdown, tests).
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            if tx.send(Msg::Flush(done_tx)).is_ok() {
                let _ = done_rx.recv_timeout(Duration::from_secs(10));
            }
        }
    }

    /// Applies retention now (it also runs at start and hourly); returns rows deleted.
    pub fn apply_retention(&self) -> Result<u64, AuditError> {
        let Some(tx) = &self.tx else { return Ok(0) };
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        tx.send(Msg::Retain(done_tx))
            .map_err(|_| AuditError::Write("audit writer stopped"))?;
        match done_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(_)) => Err(AuditError::Write("retention failed")),
            Err(_) => Err(AuditError::Write("audit writer stopped")),
        }
    }
}

/// How long the non-strict writer sleeps between batches. Polling instead of parking on the
/// queue means a request never pays for waking the writer thread (a futex syscall and a context
/// switch per event); an event waits at most this long before it is written.
const BATCH_INTERVAL: Duration = Duration::from_millis(5);
const MAX_BATCH: usize = 4096;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(30);
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

struct Slot {
    sink: Box<dyn Sink>,
    spool: Spool,
    behind: bool,
    next_retry: Instant,
    backoff: Duration,
}

impl Slot {
    fn fail(&mut self, e: &SinkError) {
        if !self.behind {
            tracing::error!(sink = self.sink.id(), error = %e, "audit sink failed; spooling");
        }
        self.behind = true;
        self.next_retry = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(RETRY_MAX);
    }

    /// Stores rows in the sink, or in the spool when the sink is down or behind. Returns
    /// whether they are durable somewhere.
    fn store(&mut self, items: &[Spooled], stats: &AuditStats) -> Result<(), SinkError> {
        if !self.behind {
            match write_items(self.sink.as_mut(), items) {
                Ok(()) => return Ok(()),
                Err(SinkError::Conflict(s)) => return Err(SinkError::Conflict(s)),
                Err(e) => self.fail(&e),
            }
        }
        let rows = items
            .iter()
            .filter(|i| matches!(i, Spooled::Row(_)))
            .count();
        stats.spooled.fetch_add(rows as u64, Ordering::Relaxed);
        self.spool.append(items)
    }

    fn replay(&mut self) {
        let items = match self.spool.read() {
            Ok(i) => i,
            Err(e) => {
                self.fail(&e);
                return;
            }
        };
        for chunk in items.chunks(1000) {
            if let Err(e) = write_items(self.sink.as_mut(), chunk) {
                self.fail(&e);
                return;
            }
        }
        match self.spool.clear() {
            Ok(()) => {
                tracing::info!(
                    sink = self.sink.id(),
                    rows = items.len(),
                    "audit spool replayed"
                );
                self.behind = false;
                self.backoff = RETRY_MIN;
            }
            Err(e) => self.fail(&e),
        }
    }
}

fn write_items(sink: &mut dyn Sink, items: &[Spooled]) -> Result<(), SinkError> {
    let mut rows: Vec<ChainedRecord> = Vec::new();
    for it in items {
        match it {
            Spooled::Row(r) => rows.push(r.clone()),
            Spooled::Checkpoint(c) => {
                if !rows.is_empty() {
                    sink.write(&rows)?;
                    rows.clear();
                }
                sink.checkpoint(c)?;
            }
        }
    }
    if rows.is_empty() {
        Ok(())
    } else {
        sink.write(&rows)
    }
}

struct Writer {
    slots: Vec<Slot>,
    seq: u64,
    last: Hash,
    cfg: AuditorConfig,
    since_cp: u64,
    last_cp: Instant,
    last_retention: Instant,
    healthy: Arc<AtomicBool>,
    stats: Arc<AuditStats>,
}

impl Writer {
    fn open(
        cfg: AuditorConfig,
        healthy: Arc<AtomicBool>,
        stats: Arc<AuditStats>,
    ) -> Result<Writer, String> {
        let mut slots = Vec::new();
        for spec in &cfg.sinks {
            let sink = spec.open(cfg.strict).map_err(|e| e.to_string())?;
            let spool = Spool::new(&cfg.spool_dir, sink.id());
            let behind = spool.pending();
            slots.push(Slot {
                sink,
                spool,
                behind,
                next_retry: Instant::now(),
                backoff: RETRY_MIN,
            });
        }
        // The chain continues from the primary's tail, or from its spool when the primary was
        // down when the last rows were written.
        let mut tail: Option<Tail> = None;
        if let Some(p) = slots.first_mut() {
            let t = p
                .sink
                .tail()
                .map_err(|e| format!("reading the audit tail: {e}"))?;
            let s = p.spool.tail().map_err(|e| e.to_string())?;
            tail = [t, s].into_iter().flatten().max_by_key(|t| t.seq);
        }
        let mut w = Writer {
            slots,
            seq: tail.map_or(0, |t| t.seq),
            last: tail.map_or(GENESIS, |t| t.hash),
            since_cp: 0,
            last_cp: Instant::now(),
            last_retention: Instant::now(),
            healthy,
            stats,
            cfg,
        };
        w.retry(true);
        if w.cfg.retention_days.is_some()
            && let Err(e) = w.retain()
        {
            tracing::error!(error = %e, "audit retention failed");
        }
        Ok(w)
    }

    fn run(&mut self, rx: Receiver<Msg>) {
        let mut batch: Vec<(Box<AuditEvent>, Option<tokio::sync::oneshot::Sender<bool>>)> =
            Vec::new();
        loop {
            let first = if self.cfg.strict {
                match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(std::sync::mpsc::TryRecvError::Empty) => {
                        std::thread::sleep(BATCH_INTERVAL);
                        None
                    }
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                }
            };
            let mut control = Vec::new();
            if let Some(m) = first {
                let mut m = Some(m);
                while let Some(msg) = m.take() {
                    match msg {
                        Msg::Event(e, a) => {
                            // Counted before it was sent, so this never goes below zero.
                            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
                            batch.push((e, a));
                        }
                        other => {
                            control.push(other);
                            break;
                        }
                    }
                    if batch.len() >= MAX_BATCH {
                        break;
                    }
                    m = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit(&mut batch);
            }
            for c in control {
                match c {
                    Msg::Flush(done) => {
                        self.retry(true);
                        self.checkpoint();
                        let _ = done.send(());
                    }
                    Msg::Retain(done) => {
                        let _ = done.send(self.retain().map_err(|e| e.to_string()));
                    }
                    Msg::Event(..) => {}
                }
            }
            self.retry(false);
            self.maybe_checkpoint();
            if self.cfg.retention_days.is_some()
                && self.last_retention.elapsed() >= RETENTION_EVERY
                && let Err(e) = self.retain()
            {
                tracing::error!(error = %e, "audit retention failed");
            }
        }
        self.checkpoint();
    }

    fn encode(&self, mut ev: AuditEvent) -> (String, String) {
        ev.body = match (self.cfg.body, ev.body.take()) {
            (BodyMode::None, _) | (_, None) => None,
            (BodyMode::Redacted, b) => b,
            (BodyMode::Encrypted, Some(AuditBody::Encrypted(e))) => Some(AuditBody::Encrypted(e)),
            (BodyMode::Encrypted, Some(plain)) => {
                let sealed = self.cfg.keys.as_ref().and_then(|k| {
                    let text = serde_json::to_vec(&plain).ok()?;
                    k.encrypt(&text, &ev.request_id).ok()
                });
                if sealed.is_none() {
                    // Never store plaintext where ciphertext was asked for.
                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(request_id = %ev.request_id, "audit body encryption failed; body dropped");
                }
                sealed.map(AuditBody::Encrypted)
            }
        };
        let json = serde_json::to_string(&ev).unwrap_or_else(|_| {
            // Serializing a plain struct of strings and numbers does not fail; keep the row anyway.
            format!(
                "{{\"v\":{},\"request_id\":{:?},\"error\":\"unserializable\"}}",
                ev.v, ev.request_id
            )
        });
        (json, ev.ts)
    }

    fn chain(&self, events: &[String], ts: &[String]) -> Vec<ChainedRecord> {
        let mut seq = self.seq;
        let mut prev = self.last;
        let mut out = Vec::with_capacity(events.len());
        for (e, t) in events.iter().zip(ts) {
            let r = ChainedRecord::new(seq, prev, e.clone(), t.clone());
            seq = r.seq;
            prev = r.hash;
            out.push(r);
        }
        out
    }

    fn commit(
        &mut self,
        batch: &mut Vec<(Box<AuditEvent>, Option<tokio::sync::oneshot::Sender<bool>>)>,
    ) {
        let mut events = Vec::with_capacity(batch.len());
        let mut tss = Vec::with_capacity(batch.len());
        let mut acks = Vec::new();
        for (ev, ack) in batch.drain(..) {
            let (j, ts) = self.encode(*ev);
            events.push(j);
            tss.push(ts);
            if let Some(a) = ack {
                acks.push(a);
            }
        }
        let mut rows = self.chain(&events, &tss);
        let mut ok = true;
        for i in 0..self.slots.len() {
            let mut attempts = 0;
            loop {
                let items: Vec<Spooled> = rows.iter().cloned().map(Spooled::Row).collect();
                match self.slots[i].store(&items, &self.stats) {
                    Ok(()) => break,
                    Err(SinkError::Conflict(seq)) if i == 0 && attempts < 3 => {
                        // Another writer (e.g. `gatehouse audit export` appending its admin
                        // event) extended the primary: continue from its new tail.
                        attempts += 1;
                        tracing::warn!(seq, "audit chain advanced by another writer; re-chaining");
                        match self.slots[0].sink.tail() {
                            Ok(Some(t)) => {
                                self.seq = t.seq;
                                self.last = t.hash;
                                rows = self.chain(&events, &tss);
                            }
                            _ => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::error!(sink = self.slots[i].sink.id(), error = %e, "audit event could not be stored or spooled");
                        self.stats.errors.fetch_add(1, Ordering::Relaxed);
                        ok = false;
                        break;
                    }
                }
            }
        }
        if let Some(r) = rows.last() {
            self.seq = r.seq;
            self.last = r.hash;
        }
        let n = rows.len() as u64;
        self.since_cp += n;
        if ok {
            self.stats.written.fetch_add(n, Ordering::Relaxed);
        }
        self.update_health(ok);
        for a in acks {
            let _ = a.send(ok);
        }
    }

    fn update_health(&self, last_ok: bool) {
        self.healthy.store(
            last_ok && self.slots.iter().all(|s| !s.behind),
            Ordering::Relaxed,
        );
    }

    fn retry(&mut self, now: bool) {
        let t = Instant::now();
        let mut any = false;
        for s in &mut self.slots {
            if s.behind && (now || t >= s.next_retry) {
                s.replay();
                any = true;
            }
        }
        if any {
            self.update_health(true);
        }
    }

    fn maybe_checkpoint(&mut self) {
        let due = (self.cfg.checkpoint_every > 0 && self.since_cp >= self.cfg.checkpoint_every)
            || (self.since_cp > 0 && self.last_cp.elapsed() >= self.cfg.checkpoint_interval);
        if due {
            self.checkpoint();
        }
    }

    fn checkpoint(&mut self) {
        self.last_cp = Instant::now();
        if self.since_cp == 0 || self.seq == 0 {
            return;
        }
        let Some(signer) = self.cfg.signer.clone() else {
            return;
        };
        let cp = Checkpoint::sign(&signer, self.seq, &self.last);
        self.since_cp = 0;
        self.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
        let item = [Spooled::Checkpoint(cp)];
        for s in &mut self.slots {
            if let Err(e) = s.store(&item, &self.stats) {
                tracing::error!(sink = s.sink.id(), error = %e, "audit checkpoint could not be stored");
            }
        }
    }

    fn retain(&mut self) -> Result<u64, String> {
        self.last_retention = Instant::now();
        let (Some(days), Some(signer)) = (self.cfg.retention_days, self.cfg.signer.clone()) else {
            return Ok(0);
        };
        let cutoff = crate::event::format_rfc3339(
            time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(days)),
        );
        let mut total = 0;
        for s in &mut self.slots {
            if s.behind {
                continue; // its rows are partly in the spool; next time
            }
            let mut anchor = |seq: u64, prev: &Hash| Anchor::sign(&signer, seq, prev);
            total += s
                .sink
                .retain(&cutoff, &mut anchor)
                .map_err(|e| e.to_string())?;
        }
        if total > 0 {
            tracing::info!(rows = total, days, "audit retention deleted old rows");
        }
        Ok(total)
    }
}
