//! Gatehouse's shared vocabulary.
//!
//! Every hop through the gateway (a model call, a tool call, a retrieval, an admin action) passes
//! the same checkpoint: identify → authorize → inspect(in) → admit → forward → inspect(out) →
//! record. The types here are what those stages exchange, and nothing else: no I/O, no HTTP types,
//! so that detection, policy and audit crates can share them without depending on the server.
//!
//! - [`Principal`]: who is calling (and, for agents, on whose behalf).
//! - [`Hop`]: which kind of boundary is being crossed.
//! - [`Finding`] and [`Verdict`]: what a detector saw and what the checkpoint decided.
//! - [`Rejection`] and [`ErrorCode`]: the one way any stage says "no"; the server turns it into a
//!   protocol-shaped error response in exactly one place.
//! - [`RequestId`]: the id that ties a response, a log line and an audit event together.

mod finding;
mod lifetime;
mod principal;
mod rejection;
mod request_id;

pub use finding::{Direction, Finding, Verdict};
pub use lifetime::parse_lifetime;
pub use principal::{Principal, PrincipalKind};
pub use rejection::{ErrorCode, Rejection};
pub use request_id::RequestId;

use serde::{Deserialize, Serialize};

/// The kind of trust boundary a request crosses. Audit events and policy decisions carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hop {
    /// A caller invoking a model (chat, messages, embeddings, model listing).
    ModelCall,
    /// A model or agent invoking a tool.
    ToolCall,
    /// A retrieval from a document store.
    Retrieval,
    /// An administrative action (keys, policy, audit).
    Admin,
}

impl Hop {
    /// Stable lower-case name used in logs, metrics and audit rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Hop::ModelCall => "model_call",
            Hop::ToolCall => "tool_call",
            Hop::Retrieval => "retrieval",
            Hop::Admin => "admin",
        }
    }
}
