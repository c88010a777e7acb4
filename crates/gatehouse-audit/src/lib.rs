//! Gatehouse audit: one tamper-evident event per checkpoint decision.
//!
//! - [`event`]: [`AuditEvent`] (schema version [`SCHEMA_VERSION`]): who, what, the decision,
//!   the deciding policies, findings (types and spans, never values), tokens, cost and latency;
//!   bodies only redacted or encrypted.
//! - [`writer`]: [`Auditor`] hands events to one writer thread through a bounded queue so that
//!   writing never sits on the request path. The writer chains every event (seq + SHA-256 over
//!   the previous hash), stores the same rows in every sink, spools what a sink cannot take and
//!   replays it in order, signs checkpoints and applies retention. In `strict` mode the request
//!   waits for the durable write and is refused if it fails.
//! - [`sink`]: SQLite (default), PostgreSQL, rotated JSONL, stdout, OTLP logs (OTLP/HTTP JSON).
//! - [`chain`]: hashing, checkpoints, anchors and the [`Verifier`].
//! - [`reader`]: [`AuditReader`] queries and verifies a stored log.
//! - [`crypto`]: body encryption keys and the checkpoint signing key.
//! - [`anomaly`]: the per-principal anomaly detector (pure; fed by the server at the record
//!   stage).
//!
//! The format is documented in `docs/AUDIT.md`.

pub mod anomaly;
pub mod chain;
pub mod crypto;
pub mod event;
pub mod reader;
pub mod sink;
pub mod spool;
pub mod writer;

pub use chain::{Anchor, ChainedRecord, Checkpoint, Verifier, VerifyReport};
pub use crypto::{CheckpointSigner, KeyRing, KeySource, PublicKey};
pub use event::{
    AuditBody, AuditEvent, BodyMode, SCHEMA_VERSION, Tokens, format_rfc3339, now_rfc3339,
};
pub use reader::{AuditReader, AuditSource, Filter, ReadError, StoredEvent};
pub use sink::{Sink, SinkError, SinkSpec};
pub use writer::{AuditError, AuditStats, Auditor, AuditorConfig};
