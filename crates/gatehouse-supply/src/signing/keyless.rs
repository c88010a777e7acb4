//! Offline verification of Sigstore keyless bundles against a supplied trusted root.
//!
//! A keyless signature is made with a short-lived Fulcio certificate that binds the signing key to
//! an OIDC identity; the signature is logged in Rekor. Offline we check, in order:
//!
//! 1. the signing certificate chains to a certificate authority of the trusted root
//!    (`trusted_root.json`: `certificateAuthorities[].certChain`), valid at the log's integration
//!    time;
//! 2. its subject alternative name equals the expected identity and its OIDC-issuer extension
//!    (`1.3.6.1.4.1.57264.1.8`, or the legacy `…1.1`) equals the expected issuer;
//! 3. a transparency-log entry is present, its signed entry timestamp verifies with the matching
//!    Rekor key of the trusted root, and its body is a `dsse` entry for this very payload and
//!    signature.
//!
//! Bundles that carry only an inclusion proof without a signed entry timestamp are reported as
//! unsupported rather than accepted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::Decode;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::{SignError, VerifyingKey, x509};

/// OIDC issuer (v2, DER UTF8String).
const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// OIDC issuer (v1, raw bytes).
const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";

/// What a keyless signature must prove.
#[derive(Debug, Clone)]
pub struct KeylessPolicy {
    /// Trusted root CA certificates (DER), from `trusted_root.json`.
    pub ca_certs: Vec<Vec<u8>>,
    /// Rekor public keys (DER SubjectPublicKeyInfo) by log id (SHA-256 of the key).
    pub tlog_keys: Vec<(Vec<u8>, Vec<u8>)>,
    /// Expected certificate identity (email or URI SAN).
    pub identity: String,
    /// Expected OIDC issuer.
    pub issuer: String,
}

fn bad(m: impl Into<String>) -> SignError {
    SignError::Bundle(m.into())
}

fn b64_field(v: &Value, what: &str) -> Result<Vec<u8>, SignError> {
    let s = v
        .as_str()
        .ok_or_else(|| bad(format!("`{what}` is not a string")))?;
    B64.decode(s.trim())
        .map_err(|e| bad(format!("`{what}` is not base64: {e}")))
}

impl KeylessPolicy {
    /// Reads a Sigstore `trusted_root.json`.
    pub fn from_trusted_root(json: &[u8], identity: &str, issuer: &str) -> Result<Self, SignError> {
        let v: Value = serde_json::from_slice(json)
            .map_err(|e| bad(format!("trusted root is not JSON: {e}")))?;
        let mut ca_certs = Vec::new();
        for ca in v
            .get("certificateAuthorities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for c in ca
                .pointer("/certChain/certificates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                ca_certs.push(b64_field(
                    c.get("rawBytes").unwrap_or(&Value::Null),
                    "rawBytes",
                )?);
            }
        }
        let mut tlog_keys = Vec::new();
        for t in v
            .get("tlogs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = b64_field(
                t.pointer("/publicKey/rawBytes").unwrap_or(&Value::Null),
                "publicKey.rawBytes",
            )?;
            let id = match t.pointer("/logId/keyId") {
                Some(k) => b64_field(k, "logId.keyId")?,
                None => Sha256::digest(&key).to_vec(),
            };
            tlog_keys.push((id, key));
        }
        if ca_certs.is_empty() || tlog_keys.is_empty() {
            return Err(bad(
                "trusted root lists no certificate authority or no transparency log",
            ));
        }
        Ok(KeylessPolicy {
            ca_certs,
            tlog_keys,
            identity: identity.to_string(),
            issuer: issuer.to_string(),
        })
    }
}

fn leaf_identity(c: &Certificate) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some((_, SubjectAltName(names)))) =
        c.tbs_certificate().get_extension::<SubjectAltName>()
    {
        for n in names {
            match n {
                GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => {
                    out.push(s.to_string())
                }
                _ => {}
            }
        }
    }
    out
}

fn leaf_issuer(c: &Certificate) -> Option<String> {
    let exts = c.tbs_certificate().extensions()?;
    for e in exts.iter() {
        let oid = e.extn_id.to_string();
        if oid == OID_ISSUER_V2
            && let Ok(s) = der::asn1::Utf8StringRef::from_der(e.extn_value.as_bytes())
        {
            return Some(s.as_str().to_string());
        }
    }
    exts.iter()
        .find(|e| e.extn_id.to_string() == OID_ISSUER_V1)
        .map(|e| String::from_utf8_lossy(e.extn_value.as_bytes()).into_owned())
}

/// Canonical JSON of the signed entry timestamp payload (keys sorted, no whitespace).
fn set_payload(body_b64: &str, integrated_time: i64, log_id_hex: &str, log_index: i64) -> Vec<u8> {
    format!(
        "{{\"body\":{},\"integratedTime\":{integrated_time},\"logID\":{},\"logIndex\":{log_index}}}",
        Value::from(body_b64),
        Value::from(log_id_hex)
    )
    .into_bytes()
}

fn as_i64(v: Option<&Value>, what: &str) -> Result<i64, SignError> {
    let v = v.ok_or_else(|| bad(format!("missing `{what}`")))?;
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| bad(format!("`{what}` is not an integer")))
}

/// Verifies the keyless material of a bundle; returns the signing key and identity.
pub(crate) fn verify(
    vm: &Value,
    payload: &[u8],
    sig: &[u8],
    policy: &KeylessPolicy,
) -> Result<(VerifyingKey, String), SignError> {
    let leaf_der = match vm.pointer("/certificate/rawBytes") {
        Some(r) => b64_field(r, "certificate.rawBytes")?,
        None => b64_field(
            vm.pointer("/x509CertificateChain/certificates/0/rawBytes")
                .ok_or_else(|| bad("no signing certificate"))?,
            "rawBytes",
        )?,
    };
    let entries = vm
        .get("tlogEntries")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no tlogEntries"))?;
    let entry = entries.first().ok_or_else(|| {
        SignError::BadSignature(
            "no transparency-log entry: keyless signatures must be logged".into(),
        )
    })?;
    let integrated = as_i64(entry.get("integratedTime"), "integratedTime")?;
    let log_index = as_i64(entry.get("logIndex"), "logIndex")?;
    let log_id = b64_field(
        entry.pointer("/logId/keyId").unwrap_or(&Value::Null),
        "logId.keyId",
    )?;
    let body_b64 = entry
        .get("canonicalizedBody")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing canonicalizedBody"))?;
    let body = B64
        .decode(body_b64)
        .map_err(|e| bad(format!("canonicalizedBody: {e}")))?;

    // 1. chain and time
    let now = u64::try_from(integrated).map_err(|_| bad("negative integratedTime"))?;
    let (key, _) = x509::validate_chain(std::slice::from_ref(&leaf_der), &policy.ca_certs, now)?;
    let leaf =
        Certificate::from_der(&leaf_der).map_err(|e| SignError::Certificate(e.to_string()))?;
    // 2. identity and issuer
    let ids = leaf_identity(&leaf);
    if !ids.contains(&policy.identity) {
        return Err(SignError::Certificate(format!(
            "certificate identity {ids:?} is not `{}`",
            policy.identity
        )));
    }
    match leaf_issuer(&leaf) {
        Some(i) if i == policy.issuer => {}
        other => {
            return Err(SignError::Certificate(format!(
                "certificate OIDC issuer {other:?} is not `{}`",
                policy.issuer
            )));
        }
    }
    // 3. transparency log: signed entry timestamp by a trusted log key
    let set = entry
        .pointer("/inclusionPromise/signedEntryTimestamp")
        .ok_or_else(|| {
            SignError::Unsupported("transparency-log entry without a signed entry timestamp".into())
        })?;
    let set = b64_field(set, "signedEntryTimestamp")?;
    let (_, log_key) = policy
        .tlog_keys
        .iter()
        .find(|(id, _)| *id == log_id)
        .ok_or_else(|| {
            SignError::BadSignature("transparency log is not in the trusted root".into())
        })?;
    let log_key = VerifyingKey::from_spki_der(log_key)?;
    log_key
        .verify_der(
            &set_payload(body_b64, integrated, &hex::encode(&log_id), log_index),
            &set,
        )
        .map_err(|_| SignError::BadSignature("signed entry timestamp does not verify".into()))?;
    // The logged entry must be this payload and this signature.
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("log entry body: {e}")))?;
    if body.get("kind").and_then(Value::as_str) != Some("dsse") {
        return Err(SignError::Unsupported(
            "transparency-log entry kind is not dsse".into(),
        ));
    }
    let payload_hash = body
        .pointer("/spec/payloadHash/value")
        .and_then(Value::as_str)
        .unwrap_or("");
    if payload_hash != hex::encode(Sha256::digest(payload)) {
        return Err(SignError::BadSignature(
            "transparency-log entry is for another payload".into(),
        ));
    }
    let logged_sigs: Vec<Vec<u8>> = body
        .pointer("/spec/signatures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("signature").and_then(Value::as_str))
        .filter_map(|s| B64.decode(s).ok())
        .collect();
    if !logged_sigs.iter().any(|s| s == sig) {
        return Err(SignError::BadSignature(
            "transparency-log entry is for another signature".into(),
        ));
    }
    Ok((key, ids.join(", ")))
}
