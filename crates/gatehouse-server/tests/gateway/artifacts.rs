//! A model whose signed artifact directory does not verify is not served (issue: supply chain,
//! "In the gateway").

use super::{chat, gateway, upstream};
use gatehouse_supply::signing::{self, HashOptions, Material, SigningKey};
use serde_json::Value;

fn signed_model(dir: &std::path::Path, key: &SigningKey) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"architectures":["TinyModel"]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("weights.bin"), vec![7u8; 4096]).unwrap();
    let manifest = signing::hash_model(dir, &HashOptions::default(), &[], None).unwrap();
    let bundle = signing::sign(&manifest, key, &Material::PublicKey).unwrap();
    std::fs::write(dir.join("model.sig"), bundle).unwrap();
}

#[tokio::test]
async fn a_model_whose_artifacts_fail_verification_is_not_served() {
    let up = upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::P256(p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap());
    std::fs::write(
        dir.path().join("signer.pub"),
        key.verifying_key().to_pem().unwrap(),
    )
    .unwrap();
    signed_model(&dir.path().join("good"), &key);
    signed_model(&dir.path().join("bad"), &key);
    std::fs::write(dir.path().join("bad/weights.bin"), vec![8u8; 4096]).unwrap(); // swapped weights
    let extra = format!(
        r#"
[[models]]
name = "signed"
provider = "mock"
artifact = {{ path = "{good}", public_key = "{pk}" }}

[[models]]
name = "tampered"
provider = "mock"
artifact = {{ path = "{bad}", public_key = "{pk}" }}
"#,
        good = dir.path().join("good").display(),
        bad = dir.path().join("bad").display(),
        pk = dir.path().join("signer.pub").display(),
    );
    let g = gateway(&up.url, &extra).await;
    let r = g
        .post("/v1/chat/completions")
        .json(&chat("signed", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = g
        .post("/v1/chat/completions")
        .json(&chat("tampered", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unavailable");
    let ready = reqwest::get(format!("{}/readyz", g.url)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let v: Value = ready.json().await.unwrap();
    assert!(
        v["reasons"][0].as_str().unwrap().contains("tampered"),
        "{v}"
    );
    let audit = super::audit_lines(&g);
    assert!(audit.iter().any(|e| e["action"] == "verify_model"
        && e["model"] == "tampered"
        && e["decision"] == "block"));
    assert!(audit.iter().any(|e| e["action"] == "verify_model"
        && e["model"] == "signed"
        && e["decision"] == "allow"));
}
