//! Gatehouse AI supply chain: what a model file would do when loaded, who signed it, and what it
//! is made of.
//!
//! * [`scan`] detects each file's format by content and walks directories and containers; pickle
//!   streams go through a faithful opcode interpreter ([`pickle`]) with a default-deny allowlist,
//!   other formats through structural validators. Anything not fully analysed is *incomplete*.
//! * [`signing`] implements the OpenSSF model-signing v1.0 format (Sigstore bundle, DSSE envelope,
//!   in-toto statement) with ECDSA keys, certificate chains, and offline verification of Sigstore
//!   keyless bundles against a trusted root.
//! * [`bom`] emits a CycloneDX 1.6 ML-BOM.
//! * [`report`] renders scan results as a table, JSON or SARIF 2.1.0.
#![deny(missing_docs)]

pub mod bom;
pub mod finding;
pub mod pickle;
pub mod report;
pub mod scan;
pub mod signing;

pub use finding::{Finding, Severity};
