//! ECDSA keys (P-256 with SHA-256, P-384 with SHA-384), loaded from PEM.

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use sha2::{Digest as _, Sha256};

use super::SignError;

/// A private signing key.
#[derive(Clone)]
pub enum SigningKey {
    /// NIST P-256.
    P256(p256::ecdsa::SigningKey),
    /// NIST P-384.
    P384(p384::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SigningKey::P256(_) => "SigningKey::P256(..)",
            SigningKey::P384(_) => "SigningKey::P384(..)",
        })
    }
}

/// A public verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyingKey {
    /// NIST P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// NIST P-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl SigningKey {
    /// Loads a PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM key.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
            return Ok(SigningKey::P256(k.into()));
        }
        if let Ok(k) = p384::SecretKey::from_pkcs8_pem(pem) {
            return Ok(SigningKey::P384(k.into()));
        }
        if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
            return Ok(SigningKey::P256(k.into()));
        }
        if let Ok(k) = p384::SecretKey::from_sec1_pem(pem) {
            return Ok(SigningKey::P384(k.into()));
        }
        Err(SignError::Key(
            "not an unencrypted P-256 or P-384 private key in PEM (PKCS#8 or SEC1)".into(),
        ))
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            SigningKey::P384(k) => VerifyingKey::P384(*k.verifying_key()),
        }
    }

    /// Signs `msg` (hashing it with the curve's hash) and returns a DER signature.
    pub fn sign_der(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
        }
    }
}

impl VerifyingKey {
    /// Loads a `PUBLIC KEY` (SubjectPublicKeyInfo) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(VerifyingKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(VerifyingKey::P384(k));
        }
        Err(SignError::Key(
            "not a P-256 or P-384 public key in PEM (SubjectPublicKeyInfo)".into(),
        ))
    }

    /// Loads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, SignError> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(VerifyingKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(VerifyingKey::P384(k));
        }
        Err(SignError::Certificate(
            "certificate key is not P-256 or P-384".into(),
        ))
    }

    /// PEM SubjectPublicKeyInfo with LF line endings.
    pub fn to_pem(&self) -> Result<String, SignError> {
        match self {
            VerifyingKey::P256(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::P384(k) => k.to_public_key_pem(LineEnding::LF),
        }
        .map_err(|e| SignError::Key(e.to_string()))
    }

    /// The bundle's key hint: SHA-256 of the PEM encoding, hex.
    pub fn hint(&self) -> Result<String, SignError> {
        Ok(hex::encode(Sha256::digest(self.to_pem()?.as_bytes())))
    }

    /// Verifies a DER ECDSA signature over `msg`.
    pub fn verify_der(&self, msg: &[u8], sig: &[u8]) -> Result<(), SignError> {
        let bad = |e: &dyn std::fmt::Display| SignError::BadSignature(e.to_string());
        match self {
            VerifyingKey::P256(k) => {
                let s = p256::ecdsa::Signature::from_der(sig).map_err(|e| bad(&e))?;
                k.verify(msg, &s).map_err(|e| bad(&e))
            }
            VerifyingKey::P384(k) => {
                let s = p384::ecdsa::Signature::from_der(sig).map_err(|e| bad(&e))?;
                k.verify(msg, &s).map_err(|e| bad(&e))
            }
        }
    }

    /// Verifies a DER ECDSA signature over an already computed digest.
    pub fn verify_prehash_der(&self, digest: &[u8], sig: &[u8]) -> Result<(), SignError> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        let bad = |e: &dyn std::fmt::Display| SignError::Certificate(format!("signature: {e}"));
        match self {
            VerifyingKey::P256(k) => {
                let s = p256::ecdsa::Signature::from_der(sig).map_err(|e| bad(&e))?;
                k.verify_prehash(digest, &s).map_err(|e| bad(&e))
            }
            VerifyingKey::P384(k) => {
                let s = p384::ecdsa::Signature::from_der(sig).map_err(|e| bad(&e))?;
                k.verify_prehash(digest, &s).map_err(|e| bad(&e))
            }
        }
    }
}
