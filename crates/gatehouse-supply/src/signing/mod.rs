//! OpenSSF model-signing v1.0: sign a model directory and verify it later.
//!
//! The signature is a Sigstore bundle (`application/vnd.dev.sigstore.bundle.v0.3+json`) whose DSSE
//! envelope (`application/vnd.in-toto+json`) carries an in-toto Statement v1. The statement's
//! predicate (`https://model_signing/signature/v1.0`) lists every file with its SHA-256 digest and
//! the serialization parameters; its single subject's digest is SHA-256 over the concatenated file
//! digests in predicate order. The DSSE pre-authentication encoding is signed with ECDSA (P-256 with
//! SHA-256, P-384 with SHA-384), DER-encoded — the same bytes the reference Python tool produces
//! and accepts, so either tool verifies the other's signatures.
//!
//! Trust comes from a public key (the bundle carries a SHA-256 hint of its PEM encoding) or from a
//! certificate chain (leaf first in the bundle) validated against CA certificates the verifier
//! supplies, with validity periods checked.

pub mod keyless;
mod keys;
pub mod manifest;
pub mod x509;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

pub use keys::{SigningKey, VerifyingKey};
pub use manifest::{HashOptions, Item, Manifest, Method, hash_model};

/// Bundle media type.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// DSSE payload type.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// model-signing predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";

/// Signing and verification errors.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// Reading a file failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A symbolic link was found and links are not allowed.
    #[error("{0}: symbolic link (pass --allow-symlinks to follow links)")]
    Symlink(PathBuf),
    /// A key could not be loaded.
    #[error("key: {0}")]
    Key(String),
    /// A certificate could not be loaded or failed validation.
    #[error("certificate: {0}")]
    Certificate(String),
    /// The bundle is malformed.
    #[error("malformed signature bundle: {0}")]
    Bundle(String),
    /// A feature of the bundle this implementation does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The signature does not verify.
    #[error("signature does not verify: {0}")]
    BadSignature(String),
}

impl SignError {
    /// True for problems with the signature file itself (exit 2), false for verification
    /// failures (exit 1).
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            SignError::Bundle(_)
                | SignError::Unsupported(_)
                | SignError::Io(..)
                | SignError::Key(_)
        )
    }
}

/// Where verification material comes from when signing.
#[derive(Debug, Clone)]
pub enum Material {
    /// Only a hint (SHA-256 of the public key's PEM) is embedded.
    PublicKey,
    /// The signing certificate followed by its chain, DER.
    Certificates(Vec<Vec<u8>>),
}

/// How a verifier decides whom to trust.
#[derive(Debug, Clone)]
pub enum Trust {
    /// The signer's public key.
    Key(VerifyingKey),
    /// CA certificates (DER) that must anchor the bundle's chain, and the time to validate at
    /// (seconds since the Unix epoch).
    Ca {
        /// Trusted certificates, DER.
        roots: Vec<Vec<u8>>,
        /// Validation time.
        now: u64,
    },
    /// A Sigstore keyless signature: Fulcio certificate for an identity, logged in Rekor.
    Keyless(keyless::KeylessPolicy),
}

/// The in-toto statement for a manifest (the DSSE payload).
pub fn statement(m: &Manifest) -> Value {
    let resources: Vec<Value> = m
        .items
        .iter()
        .map(
            |i| json!({"name": i.name, "algorithm": i.algorithm, "digest": hex::encode(&i.digest)}),
        )
        .collect();
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": m.model_name, "digest": {"sha256": hex::encode(m.root_digest())}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"serialization": m.serialization, "resources": resources},
    })
}

/// DSSE pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v
}

/// Signs a manifest and returns the bundle JSON.
pub fn sign(m: &Manifest, key: &SigningKey, material: &Material) -> Result<String, SignError> {
    let payload =
        serde_json::to_vec_pretty(&statement(m)).map_err(|e| SignError::Bundle(e.to_string()))?;
    let sig = key.sign_der(&pae(PAYLOAD_TYPE, &payload));
    let vm = match material {
        Material::PublicKey => {
            json!({"publicKey": {"hint": key.verifying_key().hint()?}, "tlogEntries": []})
        }
        Material::Certificates(chain) => {
            let certs: Vec<Value> = chain
                .iter()
                .map(|c| json!({"rawBytes": B64.encode(c)}))
                .collect();
            json!({"x509CertificateChain": {"certificates": certs}, "tlogEntries": []})
        }
    };
    let bundle = json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": vm,
        "dsseEnvelope": {
            "payload": B64.encode(&payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": B64.encode(sig), "keyid": ""}],
        },
    });
    serde_json::to_string_pretty(&bundle).map_err(|e| SignError::Bundle(e.to_string()))
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Result<&'a Value, SignError> {
    let mut cur = v;
    for p in path {
        cur = cur
            .get(p)
            .ok_or_else(|| SignError::Bundle(format!("missing `{}`", path.join("."))))?;
    }
    Ok(cur)
}

fn b64(v: &Value, what: &str) -> Result<Vec<u8>, SignError> {
    let s = v
        .as_str()
        .ok_or_else(|| SignError::Bundle(format!("`{what}` is not a string")))?;
    B64.decode(s.trim())
        .map_err(|e| SignError::Bundle(format!("`{what}` is not base64: {e}")))
}

/// What a verified bundle says.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signed manifest.
    pub manifest: Manifest,
    /// Subject of the signing certificate, when certificates were used.
    pub signer: Option<String>,
}

/// Verifies a bundle's signature and trust, and returns the manifest it signs.
pub fn verify_bundle(bundle: &[u8], trust: &Trust) -> Result<Verified, SignError> {
    let v: Value =
        serde_json::from_slice(bundle).map_err(|e| SignError::Bundle(format!("not JSON: {e}")))?;
    let media = field(&v, &["mediaType"])?.as_str().unwrap_or("");
    if media != BUNDLE_MEDIA_TYPE {
        return Err(SignError::Bundle(format!(
            "media type `{media}`, expected `{BUNDLE_MEDIA_TYPE}`"
        )));
    }
    let env = field(&v, &["dsseEnvelope"])?;
    let payload_type = field(env, &["payloadType"])?.as_str().unwrap_or("");
    if payload_type != PAYLOAD_TYPE {
        return Err(SignError::Bundle(format!("payload type `{payload_type}`")));
    }
    let payload = b64(field(env, &["payload"])?, "payload")?;
    let sigs = field(env, &["signatures"])?
        .as_array()
        .ok_or_else(|| SignError::Bundle("`signatures` is not a list".into()))?;
    let [sig] = sigs.as_slice() else {
        return Err(SignError::Bundle(format!(
            "expected exactly one signature, found {}",
            sigs.len()
        )));
    };
    let sig = b64(field(sig, &["sig"])?, "sig")?;
    let vm = field(&v, &["verificationMaterial"])?;
    let mut signer = None;
    let key = match trust {
        Trust::Key(k) => {
            if let Some(hint) = vm
                .get("publicKey")
                .and_then(|p| p.get("hint"))
                .and_then(Value::as_str)
                && !hint.is_empty()
                && hint != k.hint()?
            {
                return Err(SignError::BadSignature(
                    "the bundle's public-key hint does not match the supplied key".into(),
                ));
            }
            k.clone()
        }
        Trust::Ca { roots, now } => {
            let certs = field(vm, &["x509CertificateChain", "certificates"])?
                .as_array()
                .ok_or_else(|| SignError::Bundle("certificates is not a list".into()))?;
            let chain: Vec<Vec<u8>> = certs
                .iter()
                .map(|c| field(c, &["rawBytes"]).and_then(|r| b64(r, "rawBytes")))
                .collect::<Result<_, _>>()?;
            let (key, subject) = x509::validate_chain(&chain, roots, *now)?;
            signer = Some(subject);
            key
        }
        Trust::Keyless(policy) => {
            let (key, identity) = keyless::verify(vm, &payload, &sig, policy)?;
            signer = Some(identity);
            key
        }
    };
    key.verify_der(&pae(PAYLOAD_TYPE, &payload), &sig)?;
    Ok(Verified {
        manifest: parse_statement(&payload)?,
        signer,
    })
}

/// Parses a verified statement into a manifest and checks the subject digest.
pub fn parse_statement(payload: &[u8]) -> Result<Manifest, SignError> {
    let st: Value = serde_json::from_slice(payload)
        .map_err(|e| SignError::Bundle(format!("payload is not JSON: {e}")))?;
    let t = field(&st, &["_type"])?.as_str().unwrap_or("");
    if t != STATEMENT_TYPE {
        return Err(SignError::Bundle(format!("statement type `{t}`")));
    }
    let pt = field(&st, &["predicateType"])?.as_str().unwrap_or("");
    if pt != PREDICATE_TYPE {
        return Err(SignError::Unsupported(format!("predicate type `{pt}`")));
    }
    let subjects = field(&st, &["subject"])?
        .as_array()
        .ok_or_else(|| SignError::Bundle("subject is not a list".into()))?;
    let [subject] = subjects.as_slice() else {
        return Err(SignError::Bundle(format!(
            "expected one subject, found {}",
            subjects.len()
        )));
    };
    let model_name = field(subject, &["name"])?
        .as_str()
        .unwrap_or("")
        .to_string();
    let expected = field(subject, &["digest", "sha256"])?
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    let pred = field(&st, &["predicate"])?;
    let serialization = field(pred, &["serialization"])?.clone();
    let opts = manifest::options_from_serialization(&serialization)?;
    let resources = field(pred, &["resources"])?
        .as_array()
        .ok_or_else(|| SignError::Bundle("resources is not a list".into()))?;
    let mut items = Vec::with_capacity(resources.len().min(1 << 20));
    for r in resources {
        let name = field(r, &["name"])?
            .as_str()
            .ok_or_else(|| SignError::Bundle("resource name".into()))?
            .to_string();
        let algorithm = field(r, &["algorithm"])?.as_str().unwrap_or("").to_string();
        if !algorithm.starts_with("sha256") {
            return Err(SignError::Unsupported(format!(
                "digest algorithm `{algorithm}`"
            )));
        }
        let digest = hex::decode(field(r, &["digest"])?.as_str().unwrap_or(""))
            .map_err(|e| SignError::Bundle(format!("digest of `{name}`: {e}")))?;
        if digest.len() != 32 {
            return Err(SignError::Bundle(format!(
                "digest of `{name}` is not 32 bytes"
            )));
        }
        if let Method::Shards(_) = opts.method {
            let mut parts = name.rsplitn(3, ':');
            let ok = parts.next().is_some_and(|e| e.parse::<u64>().is_ok())
                && parts.next().is_some_and(|s| s.parse::<u64>().is_ok())
                && parts.next().is_some();
            if !ok {
                return Err(SignError::Bundle(format!(
                    "shard name `{name}` is not path:start:end"
                )));
            }
        }
        items.push(Item {
            name,
            algorithm,
            digest,
        });
    }
    let m = Manifest {
        model_name,
        items,
        serialization,
    };
    if hex::encode(m.root_digest()) != expected {
        return Err(SignError::BadSignature(
            "subject digest does not match the listed resources".into(),
        ));
    }
    Ok(m)
}

/// One difference between a signed manifest and the model on disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Diff {
    /// On disk, not signed.
    Added(String),
    /// Signed, not on disk.
    Missing(String),
    /// Digest differs.
    Changed(String),
}

/// Compares a signed manifest with the model as hashed now.
pub fn compare(signed: &Manifest, actual: &Manifest, ignore_unsigned: bool) -> Vec<Diff> {
    use std::collections::BTreeMap;
    let s: BTreeMap<&str, &[u8]> = signed
        .items
        .iter()
        .map(|i| (i.name.as_str(), i.digest.as_slice()))
        .collect();
    let a: BTreeMap<&str, &[u8]> = actual
        .items
        .iter()
        .map(|i| (i.name.as_str(), i.digest.as_slice()))
        .collect();
    let mut out = Vec::new();
    for (name, d) in &a {
        match s.get(name) {
            None if !ignore_unsigned => out.push(Diff::Added((*name).to_string())),
            None => {}
            Some(sd) if sd != d => out.push(Diff::Changed((*name).to_string())),
            Some(_) => {}
        }
    }
    for name in s.keys() {
        if !a.contains_key(name) {
            out.push(Diff::Missing((*name).to_string()));
        }
    }
    out
}

/// Verification outcome for a model directory.
#[derive(Debug, Clone)]
pub struct Verification {
    /// What the bundle signs.
    pub verified: Verified,
    /// Differences with the model on disk (empty: the model matches).
    pub diffs: Vec<Diff>,
}

/// Verifies `model` against the bundle at `signature`.
pub fn verify_model(
    model: &Path,
    signature: &Path,
    trust: &Trust,
    ignore_unsigned: bool,
    extra_ignores: &[String],
) -> Result<Verification, SignError> {
    let bytes = std::fs::read(signature).map_err(|e| SignError::Io(signature.to_path_buf(), e))?;
    if bytes.len() > 256 * 1024 * 1024 {
        return Err(SignError::Bundle(
            "signature file larger than 256 MiB".into(),
        ));
    }
    let verified = verify_bundle(&bytes, trust)?;
    let mut opts = manifest::options_from_serialization(&verified.manifest.serialization)?;
    for p in manifest::DEFAULT_IGNORES {
        if !opts.ignore_paths.iter().any(|x| x == p) {
            opts.ignore_paths.push((*p).to_string());
        }
    }
    opts.ignore_paths.extend(extra_ignores.iter().cloned());
    let only: Option<Vec<String>> = ignore_unsigned.then(|| {
        verified
            .manifest
            .items
            .iter()
            .map(|i| match opts.method {
                Method::Files => i.name.clone(),
                Method::Shards(_) => i.name.rsplitn(3, ':').nth(2).unwrap_or("").to_string(),
            })
            .collect()
    });
    let actual = hash_model(model, &opts, &[signature.to_path_buf()], only.as_deref())?;
    let diffs = compare(&verified.manifest, &actual, ignore_unsigned);
    Ok(Verification { verified, diffs })
}

/// Current time in seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
