//! Gatehouse detectors: the data-protection half of the `inspect` stages.
//!
//! This crate is pure and synchronous: no I/O, no async, no HTTP types. It turns a text (or a
//! stream of text deltas) into [`Finding`](gatehouse_core::Finding)s, a
//! [`Verdict`](gatehouse_core::Verdict) and, where configured, a redacted text.
//!
//! # How the pieces fit
//!
//! - [`DetectConfig`] (serde, `deny_unknown_fields`, sensible `Default`) says which detectors run,
//!   which action each finding type gets (`flag` / `redact` / `block`, per direction) and how
//!   spans are masked ([`MaskStyle`]).
//! - [`Engine::new`] compiles every rule once: the built-in PII recognizers (with checksum and
//!   numbering-plan validators), the secret rules (data: `src/secrets.toml`, compiled in) and
//!   size-limited user patterns. Each detector family becomes **one** multi-pattern automaton
//!   (`regex_automata::meta::Regex::new_many`), so a text is searched once per family, never
//!   once per rule; context words are found with one Aho-Corasick pass.
//! - [`Engine::scan`] runs the [normaliser](normalize) (NFKC, invisible/bidi/tag characters removed
//!   and reported, homoglyphs folded, with an offset map back to the original), the pattern pass,
//!   the model-free PERSON recognizer and bounded decoding of base64/hex/percent-encoded runs;
//!   every span is mapped back to the original text (Unicode scalar *and* byte offsets, see
//!   [`Detection`]).
//! - [`Engine::pseudonymize`] + [`Pseudonymizer`] replace PII by consistent placeholders for one
//!   request and restore them in the answer ([`Pseudonymizer::restore`], or
//!   [`Pseudonymizer::restorer`] for a stream).
//! - [`Engine::stream_scanner`] gives a [`StreamScanner`] that holds back only what could still be
//!   part of a match (bounded by the longest rule) and redacts mid-stream.
//!
//! Other detectors (prompt injection, leak, exfiltration) plug in as further detector families
//! over the same normaliser and engine.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The rule samplers shared with the examples name the crate by its external name.
#[cfg(test)]
extern crate self as gatehouse_detect;

mod checksum;
mod config;
pub mod decode;
mod engine;
mod error;
pub mod eval_spans;
mod filters;
pub mod injection;
pub mod models;
mod names;
mod names_data;
pub mod normalize;
mod phone;
mod prefilter;
mod redact;
mod rules;
mod stream;

pub use config::{
    Action, CustomPattern, DetectConfig, MAX_CUSTOM_PATTERN_LEN, MAX_CUSTOM_PATTERNS, MaskStyle,
};
pub use engine::{Detection, Engine, ScanOutcome, expand_secret_macros};
pub use error::{Error, ErrorKind};
pub use redact::{Pseudonymizer, RestoreStream, Restorer};
pub use rules::{RuleDef, Validator, ValueFilter};
pub use stream::{StreamOutput, StreamScanner};

/// The detector families this crate reports, as used in `Finding::detector`.
pub const DETECTORS: &[&str] = &["pii", "secrets", "obfuscation"];
