//! The hash chain, signed checkpoints, retention anchors and the verifier.
//!
//! Each stored row is `(seq, prev_hash, hash, event)` where `event` is the exact JSON text of
//! the event and
//!
//! ```text
//! hash = SHA-256( "gatehouse-audit/v2\n" || seq as 8 bytes big-endian || prev_hash (32 bytes) || event )
//! ```
//!
//! The first row has `seq = 1` and a `prev_hash` of 32 zero bytes. A checkpoint signs
//! `"gatehouse-audit-checkpoint/v1\n" || seq (8 bytes BE) || hash (32 bytes) || ts`, a retention
//! anchor signs `"gatehouse-audit-anchor/v1\n" || seq || prev_hash || ts`, both with Ed25519.

use crate::crypto::{CheckpointSigner, PublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A 32-byte SHA-256 value.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first row.
pub const GENESIS: Hash = [0u8; 32];

/// Hash of one row.
pub fn row_hash(seq: u64, prev: &Hash, event_json: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(b"gatehouse-audit/v2\n");
    h.update(seq.to_be_bytes());
    h.update(prev);
    h.update(event_json.as_bytes());
    h.finalize().into()
}

/// Parses 64 hex characters.
pub fn parse_hash(text: &str) -> Option<Hash> {
    let mut h = [0u8; 32];
    hex::decode_to_slice(text, &mut h).ok()?;
    Some(h)
}

/// One chained row as every sink stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedRecord {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Hash of the previous row.
    pub prev_hash: Hash,
    /// Hash of this row.
    pub hash: Hash,
    /// The event's exact JSON text.
    pub event_json: String,
    /// The event's timestamp (copied from the event, for retention and range queries).
    pub ts: String,
}

impl ChainedRecord {
    /// Chains `event_json` after `(prev_seq, prev_hash)`.
    pub fn new(prev_seq: u64, prev_hash: Hash, event_json: String, ts: String) -> ChainedRecord {
        let seq = prev_seq + 1;
        ChainedRecord {
            seq,
            prev_hash,
            hash: row_hash(seq, &prev_hash, &event_json),
            event_json,
            ts,
        }
    }

    /// The JSON line used by the JSONL and stdout sinks and by the spool:
    /// `{"seq":N,"prev_hash":"…","hash":"…","event":{…}}`.
    pub fn to_line(&self) -> String {
        format!(
            "{{\"seq\":{},\"prev_hash\":\"{}\",\"hash\":\"{}\",\"event\":{}}}",
            self.seq,
            hex::encode(self.prev_hash),
            hex::encode(self.hash),
            self.event_json
        )
    }
}

/// A signed statement that the chain reached `seq` with `hash` at `ts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Last row covered.
    pub seq: u64,
    /// Its hash (hex).
    pub hash: String,
    /// When it was signed (RFC 3339).
    pub ts: String,
    /// Public key that signed it (hex).
    pub key: String,
    /// Ed25519 signature (hex).
    pub signature: String,
}

/// A signed statement that rows before `seq` were deleted by retention and that the row at
/// `seq` follows `prev_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// First kept row.
    pub seq: u64,
    /// Its `prev_hash` (hex).
    pub prev_hash: String,
    /// When retention ran.
    pub ts: String,
    /// Public key that signed it (hex).
    pub key: String,
    /// Ed25519 signature (hex).
    pub signature: String,
}

fn checkpoint_msg(seq: u64, hash: &Hash, ts: &str) -> Vec<u8> {
    let mut m = b"gatehouse-audit-checkpoint/v1\n".to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(ts.as_bytes());
    m
}

fn anchor_msg(seq: u64, prev: &Hash, ts: &str) -> Vec<u8> {
    let mut m = b"gatehouse-audit-anchor/v1\n".to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(prev);
    m.extend_from_slice(ts.as_bytes());
    m
}

impl Checkpoint {
    /// Signs `(seq, hash)` now.
    pub fn sign(signer: &CheckpointSigner, seq: u64, hash: &Hash) -> Checkpoint {
        let ts = crate::now_rfc3339();
        Checkpoint {
            seq,
            hash: hex::encode(hash),
            signature: signer.sign(&checkpoint_msg(seq, hash, &ts)),
            key: signer.public_hex(),
            ts,
        }
    }

    /// Checks the signature with `key`.
    pub fn verify(&self, key: &PublicKey) -> bool {
        parse_hash(&self.hash).is_some_and(|h| {
            key.verify(&checkpoint_msg(self.seq, &h, &self.ts), &self.signature)
                .is_ok()
        })
    }

    /// The JSONL/spool line: `{"checkpoint":{…}}`.
    pub fn to_line(&self) -> String {
        serde_json::json!({ "checkpoint": self }).to_string()
    }
}

impl Anchor {
    /// Signs that the row `seq` follows `prev`.
    pub fn sign(signer: &CheckpointSigner, seq: u64, prev: &Hash) -> Anchor {
        let ts = crate::now_rfc3339();
        Anchor {
            seq,
            prev_hash: hex::encode(prev),
            signature: signer.sign(&anchor_msg(seq, prev, &ts)),
            key: signer.public_hex(),
            ts,
        }
    }

    /// Checks the signature with `key`.
    pub fn verify(&self, key: &PublicKey) -> bool {
        parse_hash(&self.prev_hash).is_some_and(|h| {
            key.verify(&anchor_msg(self.seq, &h, &self.ts), &self.signature)
                .is_ok()
        })
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: u64,
    /// First and last seq seen.
    pub first_seq: Option<u64>,
    /// Last seq seen.
    pub last_seq: Option<u64>,
    /// Problems, in order; empty means the log verifies.
    pub problems: Vec<String>,
    /// The newest checkpoint.
    pub latest_checkpoint: Option<Checkpoint>,
    /// The retention anchor, if retention has deleted rows.
    pub anchor: Option<Anchor>,
    /// Rows after the latest checkpoint (not yet protected against truncation).
    pub unsigned_tail: u64,
    /// Whether signatures were checked against a key the operator supplied (otherwise against
    /// the key embedded in the checkpoints, which proves consistency only).
    pub key_supplied: bool,
}

impl VerifyReport {
    /// True when no problem was found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Most problems listed before the verifier only counts them.
const MAX_PROBLEMS: usize = 100;

/// Streaming verifier: feed rows in seq order, then finish with checkpoints and anchor.
#[derive(Debug)]
pub struct Verifier {
    expect_seq: u64,
    prev: Hash,
    report: VerifyReport,
    /// Stored hash by seq for checkpoint lookups (only for checkpointed seqs).
    checkpoint_seqs: std::collections::BTreeMap<u64, Option<Hash>>,
    suppressed: u64,
    key: Option<PublicKey>,
}

impl Verifier {
    /// Starts a verification. `checkpoints` and `anchor` come from the same store; `key` is the
    /// operator's public key, if any.
    pub fn new(
        checkpoints: &[Checkpoint],
        anchor: Option<Anchor>,
        key: Option<PublicKey>,
    ) -> Verifier {
        let mut v = Verifier {
            expect_seq: 1,
            prev: GENESIS,
            report: VerifyReport {
                key_supplied: key.is_some(),
                latest_checkpoint: checkpoints.iter().max_by_key(|c| c.seq).cloned(),
                ..VerifyReport::default()
            },
            checkpoint_seqs: checkpoints.iter().map(|c| (c.seq, None)).collect(),
            suppressed: 0,
            key,
        };
        if let Some(a) = &anchor {
            match v.signature_key(&a.key) {
                Some(k) if a.verify(&k) => {}
                Some(_) => v.problem(format!("retention anchor at seq {}: bad signature", a.seq)),
                None => v.problem(format!(
                    "retention anchor at seq {}: signed by a key other than the one supplied",
                    a.seq
                )),
            }
            match parse_hash(&a.prev_hash) {
                Some(h) => {
                    v.expect_seq = a.seq;
                    v.prev = h;
                }
                None => v.problem("retention anchor: malformed prev_hash".into()),
            }
        }
        v.report.anchor = anchor;
        v
    }

    fn signature_key(&self, embedded_hex: &str) -> Option<PublicKey> {
        match &self.key {
            Some(k) if k.to_hex() == embedded_hex.trim() => Some(*k),
            Some(_) => None,
            None => PublicKey::from_hex(embedded_hex).ok(),
        }
    }

    fn problem(&mut self, p: String) {
        if self.report.problems.len() < MAX_PROBLEMS {
            self.report.problems.push(p);
        } else {
            self.suppressed += 1;
        }
    }

    /// Checks the next stored row (`prev_hash` and `hash` as stored, hex).
    pub fn row(&mut self, seq: u64, prev_hash: &str, hash: &str, event_json: &str) {
        self.report.rows += 1;
        self.report.first_seq.get_or_insert(seq);
        self.report.last_seq = Some(seq);
        if seq != self.expect_seq {
            if seq > self.expect_seq {
                self.problem(format!(
                    "seq {}..{} missing (deleted rows?)",
                    self.expect_seq,
                    seq - 1
                ));
            } else {
                self.problem(format!(
                    "seq {seq} out of order (expected {}): reordered or inserted row",
                    self.expect_seq
                ));
            }
        }
        let stored_prev = parse_hash(prev_hash);
        let stored_hash = parse_hash(hash);
        match stored_prev {
            Some(p) if p == self.prev => {}
            _ => self.problem(format!(
                "seq {seq}: prev_hash does not match the previous row (deleted, inserted or reordered rows)"
            )),
        }
        let computed = row_hash(seq, &stored_prev.unwrap_or(self.prev), event_json);
        match stored_hash {
            Some(h) if h == computed => {}
            _ => self.problem(format!("seq {seq}: hash mismatch (row modified)")),
        }
        if let Some(slot) = self.checkpoint_seqs.get_mut(&seq) {
            *slot = stored_hash;
        }
        self.prev = stored_hash.unwrap_or(computed);
        self.expect_seq = seq.saturating_add(1);
    }

    /// Ends the verification: checks every checkpoint's signature and that the rows it covers
    /// are still there with the hash it signed.
    pub fn finish(mut self, checkpoints: &[Checkpoint]) -> VerifyReport {
        let first = self.report.first_seq.unwrap_or(self.expect_seq);
        let last = self.report.last_seq.unwrap_or(0);
        for c in checkpoints {
            if c.seq < first {
                continue; // covers rows deleted by retention; the anchor speaks for them
            }
            match self.signature_key(&c.key) {
                Some(k) if c.verify(&k) => {}
                Some(_) => self.problem(format!("checkpoint at seq {}: bad signature", c.seq)),
                None => self.problem(format!(
                    "checkpoint at seq {}: signed by a key other than the one supplied",
                    c.seq
                )),
            }
            if c.seq > last {
                self.problem(format!(
                    "truncated: checkpoint at seq {} but the log ends at seq {last}",
                    c.seq
                ));
                continue;
            }
            match self.checkpoint_seqs.get(&c.seq).copied().flatten() {
                Some(h) if hex::encode(h) == c.hash => {}
                Some(_) => self.problem(format!(
                    "checkpoint at seq {}: the stored row has another hash (rewritten history)",
                    c.seq
                )),
                None => self.problem(format!("checkpoint at seq {}: row missing", c.seq)),
            }
        }
        let covered = self.report.latest_checkpoint.as_ref().map_or(0, |c| c.seq);
        self.report.unsigned_tail = last.saturating_sub(covered.max(first.saturating_sub(1)));
        if self.suppressed > 0 {
            self.report
                .problems
                .push(format!("… and {} more problems", self.suppressed));
        }
        self.report
    }
}
