//! The event record: what one audited decision looks like on disk.

use gatehouse_core::{Finding, Hop};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the event schema; bumped on any incompatible change (see `docs/AUDIT.md`).
///
/// Version 2 added the chain envelope (`seq`, `prev_hash`, `hash` around each event), bodies,
/// deciding policies, obligations, cost, per-stage latency, trace and delegation fields.
pub const SCHEMA_VERSION: u32 = 2;

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Input tokens.
    pub input: u32,
    /// Output tokens.
    pub output: u32,
}

/// A request/response body attached to an event.
///
/// Callers hand over [`AuditBody::Redacted`] text (already redacted: the auditor never sees raw
/// bodies). The auditor then stores it according to its [`BodyMode`]: dropped, kept as given,
/// or encrypted into [`AuditBody::Encrypted`].
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum AuditBody {
    /// Text stored as given; the caller redacted it.
    Redacted {
        /// The request body (redacted).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
        /// The response body (redacted).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response: Option<String>,
    },
    /// The same, sealed with a per-event data key (see [`crate::crypto`]).
    Encrypted(crate::crypto::EncryptedBody),
}

impl std::fmt::Debug for AuditBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies never reach a log line, even redacted ones.
        match self {
            AuditBody::Redacted { request, response } => f
                .debug_struct("Redacted")
                .field("request_len", &request.as_ref().map(String::len))
                .field("response_len", &response.as_ref().map(String::len))
                .finish(),
            AuditBody::Encrypted(e) => f
                .debug_struct("Encrypted")
                .field("kid", &e.kid)
                .finish_non_exhaustive(),
        }
    }
}

/// How bodies are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyMode {
    /// Bodies are dropped.
    None,
    /// Bodies are stored as the caller passed them (already redacted).
    #[default]
    Redacted,
    /// Bodies are encrypted with a data key wrapped by the active key-encryption key.
    Encrypted,
}

/// One audited decision.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub v: u32,
    /// RFC 3339 UTC timestamp with milliseconds.
    pub ts: String,
    /// Request id.
    pub request_id: String,
    /// Distributed trace id (W3C trace-context), when one was propagated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Boundary crossed.
    pub hop: Hop,
    /// Route (`/v1/chat/completions`).
    pub route: &'static str,
    /// Action (`invoke_model`, `list_models`).
    pub action: &'static str,
    /// Resource acted on (model, tool or collection id), when it differs from `model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Principal id, when identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The user an agent or service acted for, when delegated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
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
    /// Ids of the policies that decided.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Obligations attached to the decision (e.g. `redact`, `log_body`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub obligations: Vec<String>,
    /// HTTP status returned to the caller.
    pub status: u16,
    /// Findings (never values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Tokens.
    pub tokens: Tokens,
    /// Cost of the request in micro-USD, when priced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd_micros: Option<u64>,
    /// Whether the answer was streamed.
    pub stream: bool,
    /// Upstream attempts made.
    pub upstream_attempts: u32,
    /// Status of the last upstream answer, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    /// Total time in the gateway, microseconds.
    pub latency_us: u64,
    /// Time per stage (`identify`, `authorize`, `inspect_in`, …), microseconds.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_us: BTreeMap<&'static str, u64>,
    /// Client address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Request/response body, stored per the auditor's [`BodyMode`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<AuditBody>,
}

impl AuditEvent {
    /// An event with the required fields set and every optional one empty; set the rest with
    /// struct update syntax or field assignment.
    pub fn new(
        request_id: impl Into<String>,
        hop: Hop,
        route: &'static str,
        action: &'static str,
        decision: &'static str,
        status: u16,
    ) -> AuditEvent {
        AuditEvent {
            v: SCHEMA_VERSION,
            ts: now_rfc3339(),
            request_id: request_id.into(),
            trace_id: None,
            hop,
            route,
            action,
            resource: None,
            principal: None,
            on_behalf_of: None,
            key_id: None,
            model: None,
            provider: None,
            decision,
            code: None,
            reason: None,
            stage: None,
            policies: Vec::new(),
            obligations: Vec::new(),
            status,
            findings: Vec::new(),
            tokens: Tokens::default(),
            cost_usd_micros: None,
            stream: false,
            upstream_attempts: 0,
            upstream_status: None,
            latency_us: 0,
            stage_us: BTreeMap::new(),
            client: None,
            body: None,
        }
    }
}

/// Current time as RFC 3339 with milliseconds.
pub fn now_rfc3339() -> String {
    format_rfc3339(time::OffsetDateTime::now_utc())
}

/// Formats a time as the audit timestamp (`2026-01-02T03:04:05.678Z`, UTC).
pub fn format_rfc3339(t: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}
