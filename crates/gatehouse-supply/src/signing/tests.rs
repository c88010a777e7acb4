use std::str::FromStr;
use std::time::Duration;

use der::Encode;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::Validity;

use super::*;

fn key(seed: u8) -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[31] = seed;
    bytes[0] = 0x11;
    let sk = p256::ecdsa::SigningKey::from_slice(&bytes).ok();
    SigningKey::P256(sk.unwrap_or_else(unreachable_key))
}

fn unreachable_key() -> p256::ecdsa::SigningKey {
    let mut b = [7u8; 32];
    b[0] = 1;
    p256::ecdsa::SigningKey::from_slice(&b).unwrap_or_else(|_| std::process::abort())
}

fn p256_of(k: &SigningKey) -> p256::ecdsa::SigningKey {
    match k {
        SigningKey::P256(k) => k.clone(),
        SigningKey::P384(_) => unreachable_key(),
    }
}

fn model_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap_or_else(|_| std::process::abort());
    std::fs::create_dir_all(d.path().join("sub")).ok();
    std::fs::write(d.path().join("config.json"), b"{\"a\":1}").ok();
    std::fs::write(d.path().join("sub/weights.bin"), vec![7u8; 100_000]).ok();
    std::fs::write(d.path().join(".gitignore"), b"x").ok();
    d
}

#[test]
fn key_sign_verify_roundtrip_and_tamper_detection() {
    let d = model_dir();
    let k = key(1);
    let m =
        hash_model(d.path(), &HashOptions::default(), &[], None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.items.len(), 2, "{m:?}");
    assert_eq!(
        m.items.first().map(|i| i.name.as_str()),
        Some("config.json")
    );
    let bundle = sign(&m, &k, &Material::PublicKey).unwrap_or_default();
    let sig = d.path().join("model.sig");
    std::fs::write(&sig, &bundle).ok();
    let trust = Trust::Key(k.verifying_key());
    let v = verify_model(d.path(), &sig, &trust, false, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(v.diffs.is_empty(), "{:?}", v.diffs);

    std::fs::write(d.path().join("sub/weights.bin"), vec![8u8; 100_000]).ok();
    std::fs::write(d.path().join("extra.pkl"), b"x").ok();
    std::fs::remove_file(d.path().join("config.json")).ok();
    let v = verify_model(d.path(), &sig, &trust, false, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(v.diffs.contains(&Diff::Changed("sub/weights.bin".into())));
    assert!(v.diffs.contains(&Diff::Added("extra.pkl".into())));
    assert!(v.diffs.contains(&Diff::Missing("config.json".into())));
    let v = verify_model(d.path(), &sig, &trust, true, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(!v.diffs.contains(&Diff::Added("extra.pkl".into())));

    // The wrong key fails as a verification failure, not as a malformed bundle.
    let other = Trust::Key(key(2).verifying_key());
    let e = verify_model(d.path(), &sig, &other, false, &[]).err();
    assert!(matches!(e, Some(SignError::BadSignature(_))), "{e:?}");
}

#[test]
fn payload_tampering_breaks_the_signature() {
    let d = model_dir();
    let k = key(3);
    let m =
        hash_model(d.path(), &HashOptions::default(), &[], None).unwrap_or_else(|e| panic!("{e}"));
    let bundle = sign(&m, &k, &Material::PublicKey).unwrap_or_default();
    let mut v: Value = serde_json::from_str(&bundle).unwrap_or_default();
    let mut st = statement(&m);
    st["predicate"]["resources"][0]["digest"] = json!("00".repeat(32));
    let forged = serde_json::to_vec(&st).unwrap_or_default();
    v["dsseEnvelope"]["payload"] = json!(B64.encode(forged));
    let e = verify_bundle(v.to_string().as_bytes(), &Trust::Key(k.verifying_key())).err();
    assert!(matches!(e, Some(SignError::BadSignature(_))), "{e:?}");
}

#[test]
fn malformed_bundles_are_malformed() {
    let t = Trust::Key(key(1).verifying_key());
    for b in [
        &b"not json"[..],
        b"{}",
        br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
    ] {
        let e = verify_bundle(b, &t).err();
        assert!(e.as_ref().is_some_and(SignError::is_malformed), "{e:?}");
    }
}

#[test]
fn symlinks_error_unless_allowed() {
    let d = model_dir();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(d.path().join("config.json"), d.path().join("link.json")).ok();
        let e = hash_model(d.path(), &HashOptions::default(), &[], None).err();
        assert!(matches!(e, Some(SignError::Symlink(_))), "{e:?}");
        let opts = HashOptions {
            allow_symlinks: true,
            ..HashOptions::default()
        };
        let m = hash_model(d.path(), &opts, &[], None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.items.len(), 3);
    }
}

#[test]
fn ignore_paths_and_single_file_and_shards() {
    let d = model_dir();
    let mut opts = HashOptions::default();
    opts.ignore_paths.push("sub".into());
    let m = hash_model(d.path(), &opts, &[], None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.items.len(), 1);
    let single = hash_model(
        &d.path().join("config.json"),
        &HashOptions::default(),
        &[],
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(single.items.first().map(|i| i.name.as_str()), Some("."));
    assert_eq!(single.model_name, "config.json");
    let shards = HashOptions {
        method: Method::Shards(40_000),
        ..HashOptions::default()
    };
    let m = hash_model(d.path(), &shards, &[], None).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = m.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "config.json:0:7",
            "sub/weights.bin:0:40000",
            "sub/weights.bin:40000:80000",
            "sub/weights.bin:80000:100000"
        ]
    );
    assert!(
        m.items
            .iter()
            .all(|i| i.algorithm == "sha256-sharded-40000")
    );
}

#[test]
fn python_path_ordering() {
    let mut items: Vec<Item> = ["a.txt", "a/b", "B", "a/a.txt"]
        .iter()
        .map(|n| Item {
            name: (*n).into(),
            algorithm: "sha256".into(),
            digest: vec![0; 32],
        })
        .collect();
    manifest::sort_items(&mut items, Method::Files);
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["B", "a/a.txt", "a/b", "a.txt"]);
}

#[test]
fn float_shard_size_from_the_reference_tool_is_accepted() {
    let o = manifest::options_from_serialization(
        &json!({"method":"shards","hash_type":"sha256","shard_size":1000000000.0,"allow_symlinks":false}),
    );
    assert!(matches!(
        o.map(|o| o.method),
        Ok(Method::Shards(1_000_000_000))
    ));
}

// --- certificate chains -------------------------------------------------------------------

struct Profile {
    issuer: Name,
    subject: Name,
    ca: bool,
    extra: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let bc = BasicConstraints {
            ca: self.ca,
            path_len_constraint: None,
        };
        let usage = if self.ca {
            KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
        } else {
            KeyUsage(KeyUsages::DigitalSignature.into())
        };
        let mut v = vec![
            bc.to_extension(tbs.subject(), &[])?,
            usage.to_extension(tbs.subject(), &[])?,
        ];
        v.extend(self.extra.iter().cloned());
        Ok(v)
    }
}

pub(crate) fn make_cert(
    subject: &str,
    issuer: &str,
    subject_key: &SigningKey,
    issuer_key: &SigningKey,
    ca: bool,
    validity: Validity,
) -> Vec<u8> {
    make_cert_ext(
        subject,
        issuer,
        subject_key,
        issuer_key,
        ca,
        validity,
        Vec::new(),
    )
}

#[allow(clippy::too_many_arguments)]
fn make_cert_ext(
    subject: &str,
    issuer: &str,
    subject_key: &SigningKey,
    issuer_key: &SigningKey,
    ca: bool,
    validity: Validity,
    extra: Vec<Extension>,
) -> Vec<u8> {
    let spki = SubjectPublicKeyInfo::from_key(p256_of(subject_key).verifying_key());
    let spki = spki.unwrap_or_else(|_| std::process::abort());
    let profile = Profile {
        issuer: Name::from_str(issuer).unwrap_or_default(),
        subject: Name::from_str(subject).unwrap_or_default(),
        ca,
        extra,
    };
    let b = CertificateBuilder::new(profile, SerialNumber::from(7u32), validity, spki)
        .unwrap_or_else(|_| std::process::abort());
    let cert = b
        .build::<_, p256::ecdsa::DerSignature>(&p256_of(issuer_key))
        .unwrap_or_else(|_| std::process::abort());
    cert.to_der().unwrap_or_default()
}

fn year() -> Validity {
    Validity::from_now(Duration::from_secs(365 * 86400)).unwrap_or_else(|_| std::process::abort())
}

#[test]
fn certificate_chain_sign_and_verify() {
    let d = model_dir();
    let (ca_k, int_k, leaf_k) = (key(10), key(11), key(12));
    let ca = make_cert("CN=Test Root", "CN=Test Root", &ca_k, &ca_k, true, year());
    let int = make_cert(
        "CN=Test Intermediate",
        "CN=Test Root",
        &int_k,
        &ca_k,
        true,
        year(),
    );
    let leaf = make_cert(
        "CN=model-signer",
        "CN=Test Intermediate",
        &leaf_k,
        &int_k,
        false,
        year(),
    );
    let m =
        hash_model(d.path(), &HashOptions::default(), &[], None).unwrap_or_else(|e| panic!("{e}"));
    let bundle = sign(
        &m,
        &leaf_k,
        &Material::Certificates(vec![leaf.clone(), int.clone()]),
    )
    .unwrap_or_default();
    let trust = Trust::Ca {
        roots: vec![ca.clone()],
        now: unix_now(),
    };
    let v = verify_bundle(bundle.as_bytes(), &trust).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.signer.as_deref(), Some("CN=model-signer"));

    // An unrelated CA does not anchor the chain.
    let other_ca = make_cert("CN=Other", "CN=Other", &key(20), &key(20), true, year());
    let e = verify_bundle(
        bundle.as_bytes(),
        &Trust::Ca {
            roots: vec![other_ca],
            now: unix_now(),
        },
    )
    .err();
    assert!(matches!(e, Some(SignError::Certificate(_))), "{e:?}");

    // Validity periods are checked: two years from now the chain has expired.
    let later = unix_now() + 2 * 365 * 86400;
    let e = verify_bundle(
        bundle.as_bytes(),
        &Trust::Ca {
            roots: vec![ca.clone()],
            now: later,
        },
    )
    .err();
    assert!(
        matches!(e, Some(SignError::Certificate(ref m)) if m.contains("not valid")),
        "{e:?}"
    );

    // A leaf used as an issuer (not a CA) is refused.
    let rogue_k = key(13);
    let rogue = make_cert(
        "CN=rogue",
        "CN=model-signer",
        &rogue_k,
        &leaf_k,
        false,
        year(),
    );
    let bundle = sign(
        &m,
        &rogue_k,
        &Material::Certificates(vec![rogue, leaf, int]),
    )
    .unwrap_or_default();
    let e = verify_bundle(bundle.as_bytes(), &trust).err();
    assert!(matches!(e, Some(SignError::Certificate(_))), "{e:?}");
}

#[test]
fn pem_keys_load() {
    let k = p256_of(&key(5));
    let pem = k
        .to_pkcs8_pem(LineEnding::LF)
        .map(|p| p.to_string())
        .unwrap_or_default();
    let loaded = SigningKey::from_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
    let pubpem = loaded.verifying_key().to_pem().unwrap_or_default();
    assert!(pubpem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_eq!(
        VerifyingKey::from_pem(&pubpem).ok(),
        Some(loaded.verifying_key())
    );
    assert!(SigningKey::from_pem("garbage").is_err());
}

// --- keyless ------------------------------------------------------------------------------

fn fulcio_leaf(leaf_k: &SigningKey, int_k: &SigningKey, email: &str, issuer: &str) -> Vec<u8> {
    use der::asn1::{Ia5String, OctetString, Utf8StringRef};
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let san = SubjectAltName(vec![GeneralName::Rfc822Name(
        Ia5String::new(email).unwrap_or_else(|_| std::process::abort()),
    )]);
    let subject = Name::default();
    let san = san
        .to_extension(&subject, &[])
        .unwrap_or_else(|_| std::process::abort());
    let iss = Extension {
        extn_id: der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8"),
        critical: false,
        extn_value: OctetString::new(
            Utf8StringRef::new(issuer)
                .and_then(|u| u.to_der())
                .unwrap_or_default(),
        )
        .unwrap_or_else(|_| std::process::abort()),
    };
    make_cert_ext(
        "CN=sigstore",
        "CN=fulcio-intermediate",
        leaf_k,
        int_k,
        false,
        year(),
        vec![san, iss],
    )
}

struct KeylessWorld {
    root: Vec<u8>,
    int: Vec<u8>,
    rekor: SigningKey,
    leaf_k: SigningKey,
    leaf: Vec<u8>,
}

fn keyless_world(email: &str) -> KeylessWorld {
    let (root_k, int_k, leaf_k, rekor) = (key(30), key(31), key(32), key(33));
    let root = make_cert(
        "CN=fulcio-root",
        "CN=fulcio-root",
        &root_k,
        &root_k,
        true,
        year(),
    );
    let int = make_cert(
        "CN=fulcio-intermediate",
        "CN=fulcio-root",
        &int_k,
        &root_k,
        true,
        year(),
    );
    let leaf = fulcio_leaf(&leaf_k, &int_k, email, "https://issuer.example");
    KeylessWorld {
        root,
        int,
        rekor,
        leaf_k,
        leaf,
    }
}

fn rekor_spki(k: &SigningKey) -> Vec<u8> {
    use p256::pkcs8::EncodePublicKey;
    p256_of(k)
        .verifying_key()
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default()
}

fn keyless_bundle(w: &KeylessWorld, m: &Manifest, logged_payload: Option<&[u8]>) -> String {
    use sha2::{Digest as _, Sha256};
    let payload = serde_json::to_vec(&statement(m)).unwrap_or_default();
    let sig = w.leaf_k.sign_der(&pae(PAYLOAD_TYPE, &payload));
    let body = json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(logged_payload.unwrap_or(&payload)))},
        "signatures": [{"signature": B64.encode(&sig), "verifier": "x"}]}});
    let body_b64 = B64.encode(body.to_string());
    let log_id = Sha256::digest(rekor_spki(&w.rekor)).to_vec();
    let t = unix_now() as i64;
    let set_payload = format!(
        "{{\"body\":\"{body_b64}\",\"integratedTime\":{t},\"logID\":\"{}\",\"logIndex\":7}}",
        hex::encode(&log_id)
    );
    let set = w.rekor.sign_der(set_payload.as_bytes());
    json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "certificate": {"rawBytes": B64.encode(&w.leaf)},
            "tlogEntries": [{
                "logIndex": "7",
                "logId": {"keyId": B64.encode(&log_id)},
                "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                "integratedTime": t.to_string(),
                "inclusionPromise": {"signedEntryTimestamp": B64.encode(set)},
                "canonicalizedBody": body_b64,
            }],
        },
        "dsseEnvelope": {"payload": B64.encode(&payload), "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": B64.encode(&sig), "keyid": ""}]},
    })
    .to_string()
}

fn trusted_root(w: &KeylessWorld) -> Vec<u8> {
    json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": B64.encode(&w.int)}, {"rawBytes": B64.encode(&w.root)}]}}],
        "tlogs": [{"publicKey": {"rawBytes": B64.encode(rekor_spki(&w.rekor))}}],
    })
    .to_string()
    .into_bytes()
}

#[test]
fn keyless_bundle_verifies_offline_with_identity_and_issuer() {
    let d = model_dir();
    let m =
        hash_model(d.path(), &HashOptions::default(), &[], None).unwrap_or_else(|e| panic!("{e}"));
    let w = keyless_world("alice@example.com");
    let bundle = keyless_bundle(&w, &m, None);
    let root = trusted_root(&w);
    let policy = |id: &str, iss: &str| {
        keyless::KeylessPolicy::from_trusted_root(&root, id, iss).unwrap_or_else(|e| panic!("{e}"))
    };
    let v = verify_bundle(
        bundle.as_bytes(),
        &Trust::Keyless(policy("alice@example.com", "https://issuer.example")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.signer.as_deref(), Some("alice@example.com"));

    // Wrong identity, wrong issuer.
    let e = verify_bundle(
        bundle.as_bytes(),
        &Trust::Keyless(policy("mallory@example.com", "https://issuer.example")),
    )
    .err();
    assert!(matches!(e, Some(SignError::Certificate(_))), "{e:?}");
    let e = verify_bundle(
        bundle.as_bytes(),
        &Trust::Keyless(policy("alice@example.com", "https://other")),
    )
    .err();
    assert!(matches!(e, Some(SignError::Certificate(_))), "{e:?}");

    // A log entry for another payload, or a forged signed entry timestamp.
    let other = keyless_bundle(&w, &m, Some(b"something else"));
    let e = verify_bundle(
        other.as_bytes(),
        &Trust::Keyless(policy("alice@example.com", "https://issuer.example")),
    )
    .err();
    assert!(matches!(e, Some(SignError::BadSignature(_))), "{e:?}");
    let mut forged: Value = serde_json::from_str(&bundle).unwrap_or_default();
    forged["verificationMaterial"]["tlogEntries"][0]["logIndex"] = json!("8");
    let e = verify_bundle(
        forged.to_string().as_bytes(),
        &Trust::Keyless(policy("alice@example.com", "https://issuer.example")),
    )
    .err();
    assert!(matches!(e, Some(SignError::BadSignature(_))), "{e:?}");

    // No log entry at all.
    let mut unlogged: Value = serde_json::from_str(&bundle).unwrap_or_default();
    unlogged["verificationMaterial"]["tlogEntries"] = json!([]);
    let e = verify_bundle(
        unlogged.to_string().as_bytes(),
        &Trust::Keyless(policy("alice@example.com", "https://issuer.example")),
    )
    .err();
    assert!(matches!(e, Some(SignError::BadSignature(_))), "{e:?}");

    // A certificate from a CA outside the trusted root.
    let rogue_ca = key(40);
    let mut w2 = keyless_world("alice@example.com");
    w2.leaf = fulcio_leaf(
        &w2.leaf_k,
        &rogue_ca,
        "alice@example.com",
        "https://issuer.example",
    );
    let rogue = keyless_bundle(&w2, &m, None);
    let e = verify_bundle(
        rogue.as_bytes(),
        &Trust::Keyless(policy("alice@example.com", "https://issuer.example")),
    )
    .err();
    assert!(matches!(e, Some(SignError::Certificate(_))), "{e:?}");
}
