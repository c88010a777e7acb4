//! Gatehouse identity: who is calling.
//!
//! This crate holds the API-key store. A key looks like `gh_<id>_<secret>`: the 12-character id
//! is public (it appears in `keys list`, audit rows and support tickets), the 40-character secret
//! (≈238 bits from the OS RNG) is shown once at creation and only its SHA-256 is stored. A
//! high-entropy secret needs no slow password hash: SHA-256 of it cannot be brute-forced, and the
//! comparison is constant-time so timing reveals nothing about how much of a guess matched.
//!
//! The store is a SQLite file (default) or a PostgreSQL database (`postgres://…`), one
//! [`KeyStore`] type with an async API for both; several gateways can share one PostgreSQL
//! database (or one SQLite file on one host). Lookups are read-through cached for a short time
//! (`cache_ttl`, default 2 s): a revocation or the end of a rotation's grace period reaches every
//! running gateway within that time, and garbage keys cannot turn every request into a query. A
//! database failure makes `verify` return `Err(StoreError)`, which the gateway answers with a 5xx
//! (fail closed), never a pass.
//!
//! Rotation (`KeyStore::rotate`) creates a replacement with the same principal, team, models,
//! name, attributes and lifetime; the old key keeps working for a grace period, then stops
//! (its `expires_at` becomes the grace end). The old row records `replaced_by`, the new one
//! `rotated_from`.
//!
//! [`jwt`] verifies bearer JWTs from several OIDC issuers (JWKS cached, refreshed on schedule and
//! on unknown key ids, rate-limited and single-flight). [`mtls`] builds the client-certificate
//! verifier for the TLS listener and maps verified certificates (SPIFFE IDs, CNs) to service
//! principals.

pub mod jwt;
pub mod mtls;
mod store;

pub use jwt::{
    ClaimsMapping, IssuerConfig, IssuerStatus, JwtConfig, JwtError, JwtFailure, JwtVerifier,
};
pub use mtls::{
    MtlsConfig, MtlsError, MtlsFailure, MtlsIdentitySource, client_cert_verifier,
    principal_from_cert,
};
pub use store::{AuthFailure, Clock, KeyRecord, KeyStore, NewKey, StoreError};
