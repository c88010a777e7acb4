//! Integration tests for gatehouse-identity: JWT/OIDC verification against a real local
//! identity provider, and mTLS identity over real TLS handshakes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod idp;
mod jwt;
mod keys;
mod mtls;
