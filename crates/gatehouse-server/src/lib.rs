//! Gatehouse's HTTP server: it wires the checkpoint stages, it does not contain them.
//!
//! - [`config`]: the one configuration model, parsed and validated here.
//! - [`app`]: runtime state built from a validated config (providers, routes, key store, auditor).
//! - [`checkpoint`]: the stages identify → authorize → inspect(in) → admit → forward →
//!   inspect(out) → record over a typed request context; any stage can reject.
//! - [`inspect`]: the output-inspection contract and the streaming blocklist stage.
//! - [`error`]: the only place a [`gatehouse_core::Rejection`] becomes an HTTP response, in the
//!   caller's protocol shape.
//! - [`routes`] and [`stream`]: the OpenAI / Anthropic endpoints and the SSE response body.
//! - [`listener`]: accept loop, TLS, connection cap, header and body limits, graceful shutdown.
//! - [`observe`], [`telemetry`], [`alerts`]: Prometheus metrics, OpenTelemetry traces and
//!   anomaly alerts, all fed at the record stage.

pub mod admin;
pub mod alerts;
pub mod app;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod inspect;
pub mod listener;
pub mod ml;
pub mod observe;
pub mod policy_files;
pub mod routes;
pub mod stream;
pub mod telemetry;

pub use app::App;
pub use config::Config;
