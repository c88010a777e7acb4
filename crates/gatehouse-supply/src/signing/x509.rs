//! Certificate-chain validation for the certificate signing method: the bundle carries the
//! signing certificate first, then intermediates; the verifier supplies trusted CA certificates.
//! Every certificate on the path must be within its validity period at the validation time, every
//! issuer must be a CA, and every signature (ECDSA with SHA-256/384) must verify.

use der::{Decode, Encode};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

use super::{SignError, VerifyingKey};

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";

fn parse(der: &[u8]) -> Result<Certificate, SignError> {
    Certificate::from_der(der).map_err(|e| SignError::Certificate(format!("cannot parse: {e}")))
}

fn key_of(c: &Certificate) -> Result<VerifyingKey, SignError> {
    let spki = c
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| SignError::Certificate(e.to_string()))?;
    VerifyingKey::from_spki_der(&spki)
}

fn check_time(c: &Certificate, now: u64) -> Result<(), SignError> {
    let v = c.tbs_certificate().validity();
    let nb = v.not_before.to_unix_duration().as_secs();
    let na = v.not_after.to_unix_duration().as_secs();
    if now < nb || now > na {
        return Err(SignError::Certificate(format!(
            "`{}` is not valid at the validation time (valid {} to {})",
            c.tbs_certificate().subject(),
            v.not_before,
            v.not_after
        )));
    }
    Ok(())
}

fn is_ca(c: &Certificate) -> bool {
    matches!(c.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
}

/// Verifies `child`'s signature with `issuer`'s key.
fn signed_by(child: &Certificate, issuer: &Certificate) -> Result<(), SignError> {
    if child.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Err(SignError::Certificate("issuer name mismatch".into()));
    }
    let tbs = child
        .tbs_certificate()
        .to_der()
        .map_err(|e| SignError::Certificate(e.to_string()))?;
    let oid = child.signature_algorithm().oid.to_string();
    let digest: Vec<u8> = match oid.as_str() {
        ECDSA_SHA256 => Sha256::digest(&tbs).to_vec(),
        ECDSA_SHA384 => Sha384::digest(&tbs).to_vec(),
        ECDSA_SHA512 => Sha512::digest(&tbs).to_vec(),
        other => {
            return Err(SignError::Certificate(format!(
                "unsupported signature algorithm {other}"
            )));
        }
    };
    let sig = child
        .signature()
        .as_bytes()
        .ok_or_else(|| SignError::Certificate("signature bit string".into()))?;
    key_of(issuer)?.verify_prehash_der(&digest, sig)
}

/// Validates `chain` (leaf first) against `roots` at `now`; returns the leaf's key and subject.
pub(crate) fn validate_chain(
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    now: u64,
) -> Result<(VerifyingKey, String), SignError> {
    let certs: Vec<Certificate> = chain.iter().map(|c| parse(c)).collect::<Result<_, _>>()?;
    let roots_parsed: Vec<Certificate> =
        roots.iter().map(|c| parse(c)).collect::<Result<_, _>>()?;
    let Some(leaf) = certs.first() else {
        return Err(SignError::Bundle("empty certificate chain".into()));
    };
    // Like the reference tool: the leaf must allow digital signatures or code signing.
    let ku = matches!(leaf.tbs_certificate().get_extension::<KeyUsage>(), Ok(Some((_, ku))) if ku.0.contains(KeyUsages::DigitalSignature));
    let eku = matches!(leaf.tbs_certificate().get_extension::<ExtendedKeyUsage>(), Ok(Some((_, e))) if e.0.iter().any(|o| o.to_string() == CODE_SIGNING));
    if !ku && !eku {
        return Err(SignError::Certificate(
            "signing certificate allows neither digitalSignature nor codeSigning".into(),
        ));
    }
    let mut current = leaf.clone();
    check_time(&current, now)?;
    for _depth in 0..10 {
        // Anchored: the current certificate is itself trusted, or signed by a trusted root.
        if roots
            .iter()
            .any(|r| current.to_der().ok().as_deref() == Some(r.as_slice()))
            && !std::ptr::eq(&current, leaf)
        {
            return Ok((key_of(leaf)?, leaf.tbs_certificate().subject().to_string()));
        }
        if let Some(root) = roots_parsed.iter().find(|r| signed_by(&current, r).is_ok()) {
            check_time(root, now)?;
            if !is_ca(root) {
                return Err(SignError::Certificate(
                    "trust anchor is not a CA certificate".into(),
                ));
            }
            return Ok((key_of(leaf)?, leaf.tbs_certificate().subject().to_string()));
        }
        let next = certs
            .iter()
            .skip(1)
            .find(|c| signed_by(&current, c).is_ok())
            .cloned();
        let Some(next) = next else {
            return Err(SignError::Certificate(format!(
                "no trusted issuer for `{}`",
                current.tbs_certificate().subject()
            )));
        };
        check_time(&next, now)?;
        if !is_ca(&next) {
            return Err(SignError::Certificate(
                "intermediate certificate is not a CA".into(),
            ));
        }
        current = next;
    }
    Err(SignError::Certificate("certificate chain too long".into()))
}

/// Reads PEM certificates (any number) into DER.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, SignError> {
    let certs = Certificate::load_pem_chain(pem)
        .map_err(|e| SignError::Certificate(format!("cannot parse PEM: {e}")))?;
    certs
        .iter()
        .map(|c| {
            c.to_der()
                .map_err(|e| SignError::Certificate(e.to_string()))
        })
        .collect()
}

/// The public key of a DER certificate.
pub fn leaf_key(der: &[u8]) -> Result<VerifyingKey, SignError> {
    key_of(&parse(der)?)
}
