//! Keys: body encryption (XChaCha20-Poly1305, envelope) and checkpoint signing (Ed25519).
//!
//! Each encrypted body gets a fresh random 256-bit data key (DEK). The body is sealed with the
//! DEK (AAD: the event's request id, so a sealed body cannot be moved to another event); the DEK
//! is sealed with the active key-encryption key (KEK, AAD: its key id). Several KEKs may be
//! configured: the active one writes, all of them read, so keys rotate without re-encrypting.
//!
//! Key files hold 32 bytes as 64 hex characters (whitespace around is ignored); environment
//! variables hold the same text. Keys never appear in errors, logs or `Debug` output.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Key loading, sealing and signature failures. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("key file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why (I/O error kind; never contents).
        reason: String,
    },
    /// An environment variable named for a key is unset.
    #[error("key environment variable {0} is not set")]
    Env(String),
    /// The key text is not 64 hex characters.
    #[error("key {0}: expected 32 bytes as 64 hex characters")]
    Format(String),
    /// No key with this id is configured.
    #[error("no key with id {0:?} is configured")]
    UnknownKey(String),
    /// Sealing failed.
    #[error("encryption failed")]
    Seal,
    /// Opening failed: wrong key or tampered data.
    #[error("decryption failed: wrong key or corrupted data")]
    Open,
    /// A signature or public key is malformed or does not verify.
    #[error("signature: {0}")]
    Signature(&'static str),
}

/// Where a key comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    /// A file holding 64 hex characters.
    File(PathBuf),
    /// An environment variable holding 64 hex characters.
    Env(String),
}

fn parse_hex32(text: &str, what: &str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let t = text.trim();
    let mut out = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(t, &mut out[..]).map_err(|_| KeyError::Format(what.to_owned()))?;
    Ok(out)
}

fn read_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| KeyError::File {
            path: path.to_owned(),
            reason: e.kind().to_string(),
        })
}

impl KeySource {
    fn load(&self, id: &str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        match self {
            KeySource::File(p) => parse_hex32(&read_file(p)?, id),
            KeySource::Env(v) => {
                let text = Zeroizing::new(std::env::var(v).map_err(|_| KeyError::Env(v.clone()))?);
                parse_hex32(&text, id)
            }
        }
    }
}

/// Writes `text` to a new file readable only by its owner; refuses to overwrite.
pub fn write_secret_file(path: &Path, text: &str) -> Result<(), KeyError> {
    use std::io::Write;
    let err = |e: std::io::Error| KeyError::File {
        path: path.to_owned(),
        reason: e.kind().to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)
}

/// A fresh random 32-byte key as 64 hex characters (for `gatehouse audit keygen --kek`).
pub fn generate_kek_hex() -> Zeroizing<String> {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(&mut k[..]);
    Zeroizing::new(hex::encode(&k[..]))
}

/// A body sealed with a per-event data key. All binary fields are standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedBody {
    /// Algorithm (`xchacha20poly1305`).
    pub alg: String,
    /// Id of the key-encryption key that wrapped the data key.
    pub kid: String,
    /// Nonce (24 bytes) and sealed data key.
    pub wrapped_key: String,
    /// Nonce (24 bytes) and sealed body JSON (`{"request":..,"response":..}`).
    pub ct: String,
}

/// Key-encryption keys by id; one is active for writing.
pub struct KeyRing {
    active: String,
    keys: BTreeMap<String, Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

const ALG: &str = "xchacha20poly1305";

fn seal(key: &[u8; 32], msg: &[u8], aad: &[u8]) -> Result<String, KeyError> {
    let c = XChaCha20Poly1305::new_from_slice(key).map_err(|_| KeyError::Seal)?;
    let mut n = [0u8; 24];
    rand::rng().fill_bytes(&mut n);
    let ct = c
        .encrypt(&XNonce::from(n), Payload { msg, aad })
        .map_err(|_| KeyError::Seal)?;
    let mut out = Vec::with_capacity(24 + ct.len());
    out.extend_from_slice(&n);
    out.extend_from_slice(&ct);
    Ok(B64.encode(out))
}

fn open(key: &[u8; 32], sealed: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let raw = B64.decode(sealed).map_err(|_| KeyError::Open)?;
    if raw.len() < 24 {
        return Err(KeyError::Open);
    }
    let (n, ct) = raw.split_at(24);
    let mut nonce = [0u8; 24];
    nonce.copy_from_slice(n);
    let c = XChaCha20Poly1305::new_from_slice(key).map_err(|_| KeyError::Open)?;
    c.decrypt(&XNonce::from(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Open)
}

fn wrap_aad(kid: &str) -> Vec<u8> {
    let mut a = b"gatehouse-audit-dek/v1|".to_vec();
    a.extend_from_slice(kid.as_bytes());
    a
}

impl KeyRing {
    /// Loads every key; `active` must be one of them.
    pub fn load(active: &str, keys: &[(String, KeySource)]) -> Result<KeyRing, KeyError> {
        let mut map = BTreeMap::new();
        for (id, src) in keys {
            map.insert(id.clone(), src.load(id)?);
        }
        if !map.contains_key(active) {
            return Err(KeyError::UnknownKey(active.to_owned()));
        }
        Ok(KeyRing {
            active: active.to_owned(),
            keys: map,
        })
    }

    /// A ring of one key given as 64 hex characters (tests, `--key-file`).
    pub fn single(id: &str, hex_key: &str) -> Result<KeyRing, KeyError> {
        let mut keys = BTreeMap::new();
        keys.insert(id.to_owned(), parse_hex32(hex_key, id)?);
        Ok(KeyRing {
            active: id.to_owned(),
            keys,
        })
    }

    /// Adds a read-only key from a file (`audit export --key-file`, repeatable).
    pub fn add_file(&mut self, id: &str, path: &Path) -> Result<(), KeyError> {
        let k = KeySource::File(path.to_owned()).load(id)?;
        self.keys.insert(id.to_owned(), k);
        Ok(())
    }

    /// Id of the key that encrypts new bodies.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// Seals `plaintext` (the body JSON) for the event `request_id`.
    pub fn encrypt(&self, plaintext: &[u8], request_id: &str) -> Result<EncryptedBody, KeyError> {
        let kek = self
            .keys
            .get(&self.active)
            .ok_or_else(|| KeyError::UnknownKey(self.active.clone()))?;
        let mut dek = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut dek[..]);
        Ok(EncryptedBody {
            alg: ALG.to_owned(),
            kid: self.active.clone(),
            wrapped_key: seal(kek, &dek[..], &wrap_aad(&self.active))?,
            ct: seal(&dek, plaintext, request_id.as_bytes())?,
        })
    }

    /// Opens a sealed body. With a single key whose id differs from `kid`, that key is tried
    /// anyway (a key file given on the command line carries no id).
    pub fn decrypt(
        &self,
        body: &EncryptedBody,
        request_id: &str,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if body.alg != ALG {
            return Err(KeyError::Open);
        }
        let kek = match self.keys.get(&body.kid) {
            Some(k) => k,
            None if self.keys.len() == 1 => self.keys.values().next().ok_or(KeyError::Open)?,
            None => return Err(KeyError::UnknownKey(body.kid.clone())),
        };
        let dek_bytes = open(kek, &body.wrapped_key, &wrap_aad(&body.kid))?;
        let dek: Zeroizing<[u8; 32]> = Zeroizing::new(
            dek_bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::Open)?,
        );
        open(&dek, &body.ct, request_id.as_bytes())
    }
}

/// The Ed25519 key that signs checkpoints and retention anchors.
pub struct CheckpointSigner {
    key: SigningKey,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("public", &self.public_hex())
            .finish()
    }
}

/// Path of the public key that belongs to a signing-key file (`<file>.pub`).
pub fn public_key_path(secret: &Path) -> PathBuf {
    let mut s = secret.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

impl CheckpointSigner {
    /// A new random key.
    pub fn generate() -> CheckpointSigner {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut seed[..]);
        CheckpointSigner {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Loads a key file (64 hex characters: the secret seed).
    pub fn load(path: &Path) -> Result<CheckpointSigner, KeyError> {
        let seed = parse_hex32(&read_file(path)?, &path.display().to_string())?;
        Ok(CheckpointSigner {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Loads `path`, or creates it (mode 0600) with its `.pub` beside it when it does not exist.
    pub fn load_or_generate(path: &Path) -> Result<CheckpointSigner, KeyError> {
        if path.exists() {
            return CheckpointSigner::load(path);
        }
        let s = CheckpointSigner::generate();
        s.save(path)?;
        Ok(s)
    }

    /// Writes the secret to `path` (0600, never overwriting) and the public key to `path.pub`.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let secret = Zeroizing::new(hex::encode(self.key.to_bytes()));
        write_secret_file(path, &format!("{}\n", secret.as_str()))?;
        let pubp = public_key_path(path);
        std::fs::write(&pubp, format!("{}\n", self.public_hex())).map_err(|e| KeyError::File {
            path: pubp,
            reason: e.kind().to_string(),
        })
    }

    /// The public key as 64 hex characters.
    pub fn public_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    /// Signs `msg`; hex signature.
    pub fn sign(&self, msg: &[u8]) -> String {
        hex::encode(self.key.sign(msg).to_bytes())
    }
}

/// An Ed25519 public key that checks checkpoint signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Result<PublicKey, KeyError> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut b)
            .map_err(|_| KeyError::Signature("bad public key"))?;
        VerifyingKey::from_bytes(&b)
            .map(PublicKey)
            .map_err(|_| KeyError::Signature("bad public key"))
    }

    /// Reads a `.pub` file.
    pub fn load(path: &Path) -> Result<PublicKey, KeyError> {
        PublicKey::from_hex(&read_file(path)?)
    }

    /// As 64 hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// Checks a hex signature over `msg`.
    pub fn verify(&self, msg: &[u8], sig_hex: &str) -> Result<(), KeyError> {
        let mut b = [0u8; 64];
        hex::decode_to_slice(sig_hex, &mut b).map_err(|_| KeyError::Signature("malformed"))?;
        let sig = ed25519_dalek::Signature::from_bytes(&b);
        self.0
            .verify(msg, &sig)
            .map_err(|_| KeyError::Signature("does not verify"))
    }
}

/// Short fingerprint of a public key (first 16 hex characters of its SHA-256).
pub fn key_fingerprint(public_hex: &str) -> String {
    let d = Sha256::digest(public_hex.as_bytes());
    hex::encode(&d[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_bind_to_the_request() {
        let ring = KeyRing::single("k1", &generate_kek_hex()).unwrap();
        let sealed = ring.encrypt(b"{\"request\":\"hi\"}", "req_1").unwrap();
        assert_eq!(
            &ring.decrypt(&sealed, "req_1").unwrap()[..],
            b"{\"request\":\"hi\"}"
        );
        assert!(ring.decrypt(&sealed, "req_2").is_err());
        let other = KeyRing::single("k1", &generate_kek_hex()).unwrap();
        assert!(other.decrypt(&sealed, "req_1").is_err());
    }

    #[test]
    fn signatures_verify_only_with_the_right_key() {
        let s = CheckpointSigner::generate();
        let sig = s.sign(b"m");
        assert!(s.public().verify(b"m", &sig).is_ok());
        assert!(s.public().verify(b"n", &sig).is_err());
        assert!(
            CheckpointSigner::generate()
                .public()
                .verify(b"m", &sig)
                .is_err()
        );
    }
}
