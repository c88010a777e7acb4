//! The binary as its users run it: `serve --demo` and its printed curl, `config check`, `keys`, `usage`.
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

#[test]
fn usage_lists_recorded_usage_with_filters() {
    use gatehouse_limits::{UsageRecord, UsageStore};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gatehouse.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = UsageStore::open_sqlite(&db).unwrap();
        for (day, principal, team, input) in [
            ("2026-03-01", "user:alice", "payments", 100),
            ("2026-03-02", "user:alice", "payments", 200),
            ("2026-03-02", "user:bob", "search", 300),
        ] {
            store.record(UsageRecord {
                day: day.into(),
                principal: principal.into(),
                team: team.into(),
                key_id: String::new(),
                model: "gpt-4o-mini".into(),
                provider: "openai".into(),
                requests: 1,
                input_tokens: input,
                output_tokens: 10,
                cost_micros: 1500,
            });
        }
        store.flush().await.unwrap();
    });
    let db = db.to_str().unwrap();
    let out = Command::new(BIN)
        .args([
            "usage",
            "--store",
            db,
            "--team",
            "payments",
            "--since",
            "2026-03-02",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["principal"], "user:alice");
    assert_eq!(rows[0]["input_tokens"], 200);
    let out = Command::new(BIN)
        .args(["usage", "--store", db])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let total = table.lines().last().unwrap();
    assert!(total.starts_with("total"), "{table}");
    assert!(
        total.contains(" 600 ") && total.ends_with("0.0045"),
        "{total}"
    );
    // Bad input is an error with a clear message, not a panic.
    let out = Command::new(BIN)
        .args(["usage", "--store", db, "--since", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("YYYY-MM-DD"));
    let out = Command::new(BIN)
        .args(["usage", "--store", "/nonexistent/x.db"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
