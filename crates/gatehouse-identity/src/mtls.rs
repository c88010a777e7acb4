//! mTLS client identity.
//!
//! The listener verifies the client certificate chain during the TLS handshake with the verifier
//! [`client_cert_verifier`] builds (rustls `WebPkiClientVerifier` over a PEM CA bundle, aws-lc-rs
//! provider). After the handshake, [`principal_from_cert`] maps the verified end-entity
//! certificate to a service principal: a SAN URI (typically a SPIFFE ID such as
//! `spiffe://corp/ns/x/sa/bot` → `service:spiffe://corp/ns/x/sa/bot`) or the subject CN
//! (`service:<cn>`), as configured.
//!
//! `principal_from_cert` does not check the chain, validity period or revocation: it must only
//! be given a certificate that the handshake verified.
//!
//! # Configuration
//!
//! ```toml
//! [listen.mtls]                            # the table name is the server's choice
//! ca_bundle = "/etc/gatehouse/clients-ca.pem"
//! required = true                          # false: clients without a certificate may connect
//! identity = "san_uri"                     # "san_uri" (default), "cn", or "san_uri_or_cn"
//! trust_domains = ["corp"]                 # SPIFFE trust domains accepted (empty: any URI)
//! allowed_uri_prefixes = ["spiffe://corp/ns/prod/"]   # empty: any
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatehouse_core::Principal;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// Which certificate field names the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MtlsIdentitySource {
    /// A SAN URI (e.g. a SPIFFE ID). Certificates without an acceptable one are refused.
    #[default]
    SanUri,
    /// The subject common name.
    Cn,
    /// The SAN URI when the certificate has any SAN URI (never falling back to the CN when a URI
    /// is present but not allowed), else the subject CN.
    SanUriOrCn,
}

/// mTLS settings: the CA bundle and how certificates map to principals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtlsConfig {
    /// PEM file with the CA certificates that client certificates must chain to.
    pub ca_bundle: PathBuf,
    /// Whether every client must present a certificate (`false`: a certificate is optional and
    /// clients without one authenticate otherwise, e.g. with an API key).
    #[serde(default)]
    pub required: bool,
    /// Which certificate field names the principal (default `san_uri`).
    #[serde(default)]
    pub identity: MtlsIdentitySource,
    /// When not empty, a SAN URI must be a `spiffe://<trust domain>/…` ID with one of these
    /// trust domains.
    #[serde(default)]
    pub trust_domains: Vec<String>,
    /// When not empty, a SAN URI must start with one of these prefixes.
    #[serde(default)]
    pub allowed_uri_prefixes: Vec<String>,
}

impl MtlsConfig {
    /// A config with the given CA bundle and defaults otherwise (optional client certificates,
    /// SAN URI identity, no URI restrictions).
    pub fn new(ca_bundle: impl Into<PathBuf>) -> MtlsConfig {
        MtlsConfig {
            ca_bundle: ca_bundle.into(),
            required: false,
            identity: MtlsIdentitySource::default(),
            trust_domains: Vec::new(),
            allowed_uri_prefixes: Vec::new(),
        }
    }

    /// Builds the handshake verifier for this config (see [`client_cert_verifier`]).
    pub fn verifier(&self) -> Result<Arc<dyn ClientCertVerifier>, MtlsError> {
        client_cert_verifier(&self.ca_bundle, self.required)
    }
}

/// Building the verifier failed.
#[derive(Debug, thiserror::Error)]
pub enum MtlsError {
    /// The CA bundle could not be read.
    #[error("cannot read the client CA bundle {path}: {source}")]
    Read {
        /// The bundle's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The CA bundle is not valid PEM, holds no certificate, or a certificate is unusable.
    #[error("invalid client CA bundle {path}: {why}")]
    Invalid {
        /// The bundle's path.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// Why a verified client certificate yields no principal. [`MtlsFailure::reason`] is the stable
/// code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MtlsFailure {
    /// The certificate is not parseable DER X.509.
    #[error("malformed client certificate")]
    MalformedCertificate,
    /// The certificate has no field the configured identity source uses.
    #[error("client certificate carries no identity")]
    NoIdentity,
    /// The certificate's SAN URIs are all outside the allowed trust domains / prefixes.
    #[error("client certificate identity is not allowed")]
    IdentityNotAllowed,
    /// More than one allowed SAN URI: the identity is ambiguous.
    #[error("client certificate has several identities")]
    AmbiguousIdentity,
    /// The identity is not a valid principal name (spaces, quotes, non-ASCII, over 128 bytes).
    #[error("client certificate identity is not a valid principal name")]
    InvalidPrincipal,
}

impl MtlsFailure {
    /// The stable reason code, e.g. `cert_identity_not_allowed`.
    pub fn reason(&self) -> &'static str {
        match self {
            MtlsFailure::MalformedCertificate => "malformed_certificate",
            MtlsFailure::NoIdentity => "cert_no_identity",
            MtlsFailure::IdentityNotAllowed => "cert_identity_not_allowed",
            MtlsFailure::AmbiguousIdentity => "cert_ambiguous_identity",
            MtlsFailure::InvalidPrincipal => "cert_invalid_principal",
        }
    }
}

/// Builds a rustls client-certificate verifier from a PEM CA bundle (aws-lc-rs provider).
/// `required = false` lets clients without a certificate complete the handshake; a certificate
/// that is presented must still verify.
pub fn client_cert_verifier(
    ca_bundle: &Path,
    required: bool,
) -> Result<Arc<dyn ClientCertVerifier>, MtlsError> {
    let invalid = |why: String| MtlsError::Invalid {
        path: ca_bundle.to_owned(),
        why,
    };
    let pem = std::fs::read(ca_bundle).map_err(|source| MtlsError::Read {
        path: ca_bundle.to_owned(),
        source,
    })?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| invalid(format!("bad PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| invalid(format!("unusable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(invalid("no CA certificate found".to_owned()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = if required {
        builder
    } else {
        builder.allow_unauthenticated()
    };
    builder
        .build()
        .map_err(|e| invalid(format!("cannot build verifier: {e}")))
}

/// The trust domain of a `spiffe://` URI, if it is one.
fn spiffe_trust_domain(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("spiffe://")?;
    let td = rest.split('/').next()?;
    (!td.is_empty()).then_some(td)
}

fn uri_allowed(uri: &str, cfg: &MtlsConfig) -> bool {
    let domain_ok = cfg.trust_domains.is_empty()
        || spiffe_trust_domain(uri).is_some_and(|td| cfg.trust_domains.iter().any(|d| d == td));
    let prefix_ok = cfg.allowed_uri_prefixes.is_empty()
        || cfg
            .allowed_uri_prefixes
            .iter()
            .any(|p| uri.starts_with(p.as_str()));
    domain_ok && prefix_ok
}

/// Maps a verified end-entity certificate (DER) to a `service:` principal with
/// `auth_method = "mtls"`. Attributes: `cert_sha256` (hex fingerprint), `cert_serial`,
/// `cert_subject_cn` (when present), and for SPIFFE IDs `spiffe_id` and `spiffe_trust_domain`.
pub fn principal_from_cert(
    cert_der: &[u8],
    mapping: &MtlsConfig,
) -> Result<Principal, MtlsFailure> {
    let (rest, cert) =
        X509Certificate::from_der(cert_der).map_err(|_| MtlsFailure::MalformedCertificate)?;
    if !rest.is_empty() {
        return Err(MtlsFailure::MalformedCertificate);
    }
    let mut uris: Vec<&str> = Vec::new();
    match cert.subject_alternative_name() {
        Ok(Some(san)) => {
            for name in &san.value.general_names {
                if let GeneralName::URI(u) = name {
                    uris.push(u);
                }
            }
        }
        Ok(None) => {}
        Err(_) => return Err(MtlsFailure::MalformedCertificate),
    }
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok());

    let pick_uri = |uris: &[&str]| -> Result<String, MtlsFailure> {
        if uris.is_empty() {
            return Err(MtlsFailure::NoIdentity);
        }
        let allowed: Vec<&&str> = uris.iter().filter(|u| uri_allowed(u, mapping)).collect();
        match allowed.as_slice() {
            [] => Err(MtlsFailure::IdentityNotAllowed),
            [one] => Ok((**one).to_owned()),
            _ => Err(MtlsFailure::AmbiguousIdentity),
        }
    };
    let identity = match mapping.identity {
        MtlsIdentitySource::SanUri => pick_uri(&uris)?,
        MtlsIdentitySource::Cn => cn.ok_or(MtlsFailure::NoIdentity)?.to_owned(),
        MtlsIdentitySource::SanUriOrCn if !uris.is_empty() => pick_uri(&uris)?,
        MtlsIdentitySource::SanUriOrCn => cn.ok_or(MtlsFailure::NoIdentity)?.to_owned(),
    };

    let mut principal =
        Principal::new(&format!("service:{identity}")).ok_or(MtlsFailure::InvalidPrincipal)?;
    let attrs = &mut principal.attributes;
    attrs.insert(
        "cert_sha256".to_owned(),
        hex::encode(Sha256::digest(cert_der)),
    );
    attrs.insert("cert_serial".to_owned(), hex::encode(cert.raw_serial()));
    if let Some(cn) = cn.filter(|c| !c.is_empty() && !c.chars().any(char::is_control)) {
        attrs.insert("cert_subject_cn".to_owned(), cn.to_owned());
    }
    if let Some(td) = spiffe_trust_domain(&identity) {
        attrs.insert("spiffe_trust_domain".to_owned(), td.to_owned());
        attrs.insert("spiffe_id".to_owned(), identity.clone());
    }
    principal.auth_method = Some("mtls".to_owned());
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_domains_and_prefixes_filter_uris() {
        let mut cfg = MtlsConfig::new("/nonexistent");
        assert!(uri_allowed("https://x", &cfg));
        cfg.trust_domains = vec!["corp".to_owned()];
        assert!(uri_allowed("spiffe://corp/ns/x", &cfg));
        assert!(!uri_allowed("spiffe://corp.evil/ns/x", &cfg));
        assert!(!uri_allowed("https://corp/ns/x", &cfg));
        cfg.allowed_uri_prefixes = vec!["spiffe://corp/ns/prod/".to_owned()];
        assert!(!uri_allowed("spiffe://corp/ns/x", &cfg));
        assert!(uri_allowed("spiffe://corp/ns/prod/sa/bot", &cfg));
    }

    #[test]
    fn garbage_is_malformed() {
        let cfg = MtlsConfig::new("/nonexistent");
        for bad in [&b""[..], b"\x30\x03\x02\x01\x01", b"not a certificate"] {
            assert_eq!(
                principal_from_cert(bad, &cfg),
                Err(MtlsFailure::MalformedCertificate)
            );
        }
    }

    #[test]
    fn missing_bundle_is_an_error() {
        assert!(client_cert_verifier(Path::new("/nonexistent/ca.pem"), true).is_err());
    }
}
