//! The binary as its users run it: `serve --demo` and its printed curl, `config check`, `keys`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_prints_a_curl_that_gets_a_completion() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _guard = Kill(child);
    // Read stderr on a thread for the whole test, as a terminal would.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("curl ") {
                let _ = tx.send(line);
            }
        }
    });
    let curl = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the demo prints a curl command");
    // Pull the URL, key and body out of the printed command and send exactly that.
    let url = curl.split_whitespace().nth(2).unwrap().to_owned();
    let key = curl
        .split("Bearer ")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let body = curl
        .split("-d '")
        .nth(1)
        .unwrap()
        .trim_end_matches('\'')
        .to_owned();
    assert!(
        dir.path().join("gatehouse-data/gatehouse.db").exists(),
        "state lives under ./gatehouse-data"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "Hello, Gatehouse!");
    });
}

#[test]
fn config_check_prints_every_error_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[providers.openai]\nkind = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\n\
         [[models]]\nname = \"a\"\nprovider = \"openai\"\n[[models]]\nname = \"b\"\nprovider = \"openai\"\n\
         [[models]]\nname = \"c\"\nprovider = \"opnai\"\n[server]\nlisten = \"nowhere\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("models[2].provider: unknown provider \"opnai\""),
        "{err}"
    );
    assert!(err.contains("server.listen: not a socket address"), "{err}");

    let out = Command::new(BIN)
        .args([
            "config",
            "check",
            "--config",
            "../../gatehouse.example.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(&bad, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `lisen`"));
}

#[test]
fn keys_create_list_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("k.db");
    let out = Command::new(BIN)
        .args([
            "keys",
            "create",
            "--principal",
            "user:alice",
            "--team",
            "payments",
            "--expires",
            "30d",
            "--models",
            "a,b",
            "--store",
        ])
        .arg(&store)
        .output()
        .unwrap();
    assert!(out.status.success());
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(secret.starts_with("gh_"));
    let id = secret.split('_').nth(1).unwrap().to_owned();
    let list = Command::new(BIN)
        .args(["keys", "list", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.contains(&id) && listed.contains("user:alice") && listed.contains("active"));
    assert!(
        !listed.contains(secret.rsplit('_').next().unwrap()),
        "list never shows the secret"
    );
    let rev = Command::new(BIN)
        .args(["keys", "revoke", &id, "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(rev.status.success());
    let list = Command::new(BIN)
        .args(["keys", "list", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(String::from_utf8(list.stdout).unwrap().contains("revoked"));
    let bad = Command::new(BIN)
        .args(["keys", "create", "--principal", "alice", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

fn keys_cmd(store: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("keys")
        .args(args)
        .arg("--store")
        .arg(store)
        .output()
        .unwrap()
}

/// Verifies `secret` against the store file as a gateway would (no cache).
fn verify(store: &std::path::Path, secret: &str) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = gatehouse_identity::KeyStore::open_path(store)
            .await
            .unwrap()
            .with_cache_ttl(Duration::ZERO);
        match s.verify(secret).await.unwrap() {
            Ok(p) => Ok(format!(
                "{} key={} tenant={}",
                p.id,
                p.key_id.unwrap_or_default(),
                p.attributes.get("tenant").cloned().unwrap_or_default()
            )),
            Err(f) => Err(f.reason().to_owned()),
        }
    })
}

#[test]
fn keys_rotate_prints_a_new_secret_and_keeps_the_old_key_for_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("k.db");
    let out = keys_cmd(
        &store,
        &[
            "create",
            "--principal",
            "service:billing",
            "--attr",
            "tenant=acme",
            "--models",
            "a",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let old_secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let old_id = old_secret.split('_').nth(1).unwrap().to_owned();

    let out = keys_cmd(&store, &["rotate", &old_id, "--grace", "1h"]);
    assert!(out.status.success(), "{out:?}");
    let new_secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let new_id = new_secret.split('_').nth(1).unwrap().to_owned();
    assert!(new_secret.starts_with("gh_") && new_id != old_id);
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains(&old_id) && note.contains(&new_id) && !note.contains(&new_secret),
        "{note}"
    );

    // Both keys work during the grace period, as the same principal with the same attributes.
    assert_eq!(
        verify(&store, &old_secret),
        Ok(format!("service:billing key={old_id} tenant=acme"))
    );
    assert_eq!(
        verify(&store, &new_secret),
        Ok(format!("service:billing key={new_id} tenant=acme"))
    );

    let list = keys_cmd(&store, &["list", "--json"]);
    let keys: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let by_id = |id: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id(&old_id)["replaced_by"], new_id.as_str());
    assert_eq!(by_id(&new_id)["rotated_from"], old_id.as_str());
    assert_eq!(by_id(&new_id)["attributes"]["tenant"], "acme");
    assert_eq!(by_id(&new_id)["models"], serde_json::json!(["a"]));
    let text = String::from_utf8(keys_cmd(&store, &["list"]).stdout).unwrap();
    assert!(text.contains("rotating"), "{text}");
    assert!(!text.contains(old_secret.rsplit('_').next().unwrap()));
    assert!(!text.contains(new_secret.rsplit('_').next().unwrap()));

    // A key is replaced once; unknown ids and bad durations are clear errors.
    assert_eq!(
        keys_cmd(&store, &["rotate", &old_id]).status.code(),
        Some(1)
    );
    assert_eq!(
        keys_cmd(&store, &["rotate", "aaaaaaaaaaaa"]).status.code(),
        Some(1)
    );
    assert_eq!(
        keys_cmd(&store, &["rotate", &new_id, "--grace", "soon"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        keys_cmd(
            &store,
            &["create", "--principal", "user:x", "--attr", "novalue"]
        )
        .status
        .code(),
        Some(2)
    );

    // With no grace the old key stops at once.
    let out = keys_cmd(&store, &["rotate", &new_id, "--grace", "0s"]);
    assert!(out.status.success(), "{out:?}");
    let newest = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(verify(&store, &new_secret), Err("expired_key".to_owned()));
    assert!(verify(&store, &newest).is_ok());
}
