//! Gatehouse's model-facing half: what goes over the wire to and from LLM providers.
//!
//! - [`openai`] and [`anthropic`]: the two client protocols, as typed wire structs that keep
//!   unknown fields (`extra`) so pass-through loses nothing the gateway does not understand.
//! - [`translate`]: OpenAI ↔ Anthropic request and response translation, so either client
//!   protocol can reach either kind of provider.
//! - [`event`]: the protocol-neutral stream of [`event::ChatEvent`]s that every upstream stream is
//!   decoded into and every client stream is encoded from; output inspection runs on it.
//! - [`sse`]: a bounded Server-Sent-Events decoder (limits on line and event size) and encoder.
//! - [`provider`]: the adapters (`openai`, `anthropic`, `mock`) with timeouts and typed errors.
//!
//! Nothing here knows about identity, policy or HTTP servers: the server crate owns the pipeline
//! and calls [`provider::Provider`] for the forward stage.

pub mod anthropic;
pub mod event;
pub mod openai;
pub mod provider;
pub mod sse;
pub mod translate;

mod error;
pub use error::{UpstreamError, UpstreamErrorKind};

/// Parses a JSON body into `T`, naming the path of the first problem
/// (`messages[2].role: unknown variant …`). The message never echoes the body.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    // Fast path: plain serde_json. Only a failing body is parsed again with path tracking,
    // which costs about a tenth of a request's CPU when done on every body.
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            if de.end().is_err() {
                return Err("body: trailing characters after the JSON value".to_owned());
            }
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let what = describe_json_error(&inner);
            if path == "." || path.is_empty() {
                Err(format!("body: {what}"))
            } else {
                Err(format!("{path}: {what}"))
            }
        }
    }
}

fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax => format!("malformed JSON at line {} column {}", e.line(), e.column()),
        Category::Eof => "unexpected end of JSON".to_owned(),
        Category::Io => "could not read the body".to_owned(),
        // serde's data messages name types and fields, not the values sent.
        Category::Data => {
            let msg = e.to_string();
            match msg.find(" at line ") {
                Some(i) => msg[..i].to_owned(),
                None => msg,
            }
        }
    }
}

/// A rough token estimate (4 characters per token) used where no tokenizer is configured.
pub fn estimate_tokens(chars: usize) -> u32 {
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX)
}
