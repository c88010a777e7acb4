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

/// A gateway config with a mock model and a strict SQLite audit log under `dir/data`.
fn audit_config(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let cfg = dir.join("gatehouse.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n\
             [store]\npath = \"{}\"\nkey_cache_ttl_secs = 0\n\
             [audit]\nstrict = true\ncheckpoint_every = 25\n\
             [providers.mock]\nkind = \"mock\"\nchunk_chars = 64\nreply = \"echo\"\n\
             [[models]]\nname = \"mock\"\nprovider = \"mock\"\n",
            dir.join("data/gatehouse.db").display()
        ),
    )
    .unwrap();
    cfg
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_gateway(cfg: &std::path::Path) -> Kill {
    Kill(
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn wait_ready(base: &str) {
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gateway did not start");
}

/// Sends one completion; the request id when it was answered 200.
async fn complete(c: &reqwest::Client, base: &str, key: &str, i: usize) -> Option<String> {
    let r = c
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&serde_json::json!({
            "model": "mock",
            "messages": [{"role": "user", "content": format!("hello {i}")}],
        }))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let rid = r.headers().get("x-request-id")?.to_str().ok()?.to_owned();
    // Answered means the whole body arrived.
    r.bytes().await.ok()?;
    Some(rid)
}

fn audit(args: &[&str], cfg: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .arg("audit")
        .args(args)
        .arg("--config")
        .arg(cfg)
        .output()
        .unwrap()
}

#[test]
fn strict_audit_survives_kill_9_and_every_answered_request_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = audit_config(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let out = Command::new(BIN)
        .args(["keys", "create", "--principal", "user:alice", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let mut answered: Vec<String> = Vec::new();
    {
        let mut gw = start_gateway(&cfg);
        rt.block_on(wait_ready(&base));
        let c = reqwest::Client::new();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for t in 0..8 {
            let (c, base, key, done) = (c.clone(), base.clone(), key.clone(), done.clone());
            tasks.push(rt.spawn(async move {
                let mut ok = Vec::new();
                for i in 0..10_000 {
                    match complete(&c, &base, &key, t * 100_000 + i).await {
                        Some(rid) => {
                            ok.push(rid);
                            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        None => break, // the gateway is gone
                    }
                }
                ok
            }));
        }
        // Kill -9 under load.
        while done.load(std::sync::atomic::Ordering::Relaxed) < 150 {
            std::thread::sleep(Duration::from_millis(10));
        }
        gw.0.kill().unwrap(); // SIGKILL
        let _ = gw.0.wait();
        for t in tasks {
            answered.extend(rt.block_on(t).unwrap());
        }
    }
    assert!(answered.len() >= 150);
    // Restart: the chain continues and new requests are recorded too.
    {
        let _gw = start_gateway(&cfg);
        rt.block_on(async {
            wait_ready(&base).await;
            let c = reqwest::Client::new();
            for i in 0..5 {
                answered.push(
                    complete(&c, &base, &key, i)
                        .await
                        .expect("answered after restart"),
                );
            }
        });
    } // killed again
    let db = rusqlite::Connection::open(dir.path().join("data/audit.db")).unwrap();
    let mut missing = Vec::new();
    for rid in &answered {
        let n: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM audit_events WHERE request_id = ?1",
                [rid],
                |r| r.get(0),
            )
            .unwrap();
        if n != 1 {
            missing.push(rid.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} answered requests not audited: {missing:?}",
        missing.len()
    );
    let v = audit(&["verify"], &cfg);
    let stdout = String::from_utf8_lossy(&v.stdout);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(stdout.contains("audit log OK"), "{stdout}");
    assert!(stdout.contains("latest checkpoint: seq"), "{stdout}");
}

#[test]
fn audit_cli_verifies_queries_exports_and_decrypts_with_an_audited_export() {
    use gatehouse_audit::{
        AuditBody, AuditEvent, Auditor, AuditorConfig, BodyMode, CheckpointSigner, KeyRing,
        SinkSpec,
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    // Keys made by the CLI.
    let sk = dir.path().join("audit-signing.key");
    let kek = dir.path().join("kek.hex");
    let out = Command::new(BIN)
        .args(["audit", "keygen", "--out"])
        .arg(&sk)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = Command::new(BIN)
        .args(["audit", "keygen", "--kek", "--out"])
        .arg(&kek)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        Command::new(BIN)
            .args(["audit", "keygen", "--out"])
            .arg(&sk)
            .output()
            .unwrap()
            .status
            .code()
            == Some(2),
        "never overwrites"
    );
    // A log with encrypted bodies.
    let mut c = AuditorConfig::new(vec![SinkSpec::Sqlite(db.clone())]);
    c.strict = true;
    c.spool_dir = dir.path().to_owned();
    c.signer = Some(std::sync::Arc::new(CheckpointSigner::load(&sk).unwrap()));
    c.body = BodyMode::Encrypted;
    c.keys = Some(std::sync::Arc::new(
        KeyRing::single("k1", &std::fs::read_to_string(&kek).unwrap()).unwrap(),
    ));
    let a = Auditor::start(c).unwrap();
    for i in 0..6 {
        let mut e = AuditEvent::new(
            format!("req_{i}"),
            gatehouse_core::Hop::ModelCall,
            "/v1/chat/completions",
            "invoke_model",
            if i % 2 == 0 { "block" } else { "allow" },
            200,
        );
        e.principal = Some(if i < 3 { "user:alice" } else { "user:bob" }.into());
        e.body = Some(AuditBody::Redacted {
            request: Some(format!("body-secret-{i}")),
            response: None,
        });
        a.record_blocking(e).unwrap();
    }
    a.flush();
    drop(a);
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("audit")
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap()
    };
    let pubkey = format!("{}.pub", sk.display());
    let v = run(&["verify", "--public-key", &pubkey]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    let q = run(&[
        "query",
        "--principal",
        "user:alice",
        "--decision",
        "blocked",
    ]);
    let lines: Vec<serde_json::Value> = String::from_utf8(q.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["event"]["request_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["req_0", "req_2"]
    );
    let t = run(&["tail", "-n", "2"]);
    assert_eq!(String::from_utf8(t.stdout).unwrap().lines().count(), 2);
    let csv = String::from_utf8(run(&["export", "--format", "csv"]).stdout).unwrap();
    assert!(csv.starts_with("seq,ts,request_id,principal"));
    assert_eq!(csv.lines().count(), 7);
    assert!(!csv.contains("body-secret"));
    // Wrong key: error, no plaintext.
    let wrong = dir.path().join("wrong.hex");
    std::fs::write(&wrong, "11".repeat(32)).unwrap();
    let e = run(&["export", "--decrypt", "--key-file", wrong.to_str().unwrap()]);
    assert_eq!(e.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&e.stdout).contains("body-secret"));
    // Right key: bodies opened, and the export is on record before any output.
    let e = run(&[
        "export",
        "--decrypt",
        "--key-file",
        kek.to_str().unwrap(),
        "--principal",
        "user:bob",
    ]);
    assert_eq!(
        e.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&e.stderr)
    );
    let out = String::from_utf8(e.stdout).unwrap();
    assert!(out.contains("body-secret-3") && !out.contains("body-secret-0"));
    let q = run(&["query", "--request-id", "x", "--limit", "1"]);
    assert!(q.status.success());
    let all = String::from_utf8(run(&["query", "--limit", "100"]).stdout).unwrap();
    assert!(
        all.contains("audit_export_decrypt"),
        "the decrypting export is audited"
    );
    let v = run(&["verify", "--public-key", &pubkey]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    // Tampering: exit 1. Nothing to read: exit 2.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE audit_events SET event = replace(event, 'user:bob', 'user:eve') WHERE seq = 5",
            [],
        )
        .unwrap();
    let v = run(&["verify", "--public-key", &pubkey]);
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).contains("seq 5: hash mismatch"));
    let missing = Command::new(BIN)
        .args(["audit", "verify", "--db"])
        .arg(dir.path().join("nope.db"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
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

/// Every worked example of docs/POLICY.md is checked here (and so in CI).
#[test]
fn policy_examples_in_the_docs_pass_their_tests() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy-examples");
    let out = Command::new(BIN)
        .args(["policy", "test"])
        .arg(docs.join("cases.toml"))
        .arg("--config")
        .arg(docs.join("gatehouse.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" 0 failed, 0 malformed"), "{stdout}");

    let out = Command::new(BIN)
        .args(["policy", "validate", "--config"])
        .arg(docs.join("gatehouse.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn policy_test_exits_1_on_a_mismatch_and_validate_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.cedar"),
        "@id(\"small-only\")\npermit (principal, action == Action::\"invoke_model\", resource)\nwhen { resource.tier == \"small\" };\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cases.toml"),
        r#"
[[case]]
name = "small allowed"
principal = { id = "user:a" }
action = "invoke_model"
resource = { type = "Model", id = "s", tier = "small" }
expect = "allow"
policies = ["small-only"]

[[case]]
name = "wrongly expected allow"
principal = { id = "user:a" }
action = "invoke_model"
resource = { type = "Model", id = "l", tier = "large" }
expect = "allow"
"#,
    )
    .unwrap();
    let policy = dir.path().join("p.cedar").display().to_string();
    let out = Command::new(BIN)
        .args(["policy", "test"])
        .arg(dir.path().join("cases.toml"))
        .args(["--policy", &policy])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  wrongly expected allow: expected allow, got deny"),
        "{stdout}"
    );

    std::fs::write(
        dir.path().join("p.cedar"),
        "@id(\"typo\")\npermit (principal, action, resource)\nwhen { resource.teir == \"small\" };\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["policy", "validate", "--policy", &policy])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("p.cedar:3:"), "{stderr}");
    assert!(stderr.contains("teir"), "{stderr}");
}

#[test]
fn key_changes_made_with_a_config_are_audited_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = audit_config(dir.path(), free_port());
    let out = Command::new(BIN)
        .args(["keys", "create", "--principal", "user:carol", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let id = secret.split('_').nth(1).unwrap().to_owned();
    let out = Command::new(BIN)
        .args(["keys", "revoke", &id, "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let q = audit(&["query", "--limit", "10"], &cfg);
    let text = String::from_utf8_lossy(&q.stdout);
    assert!(q.status.success(), "{q:?}");
    assert!(text.contains(&format!("created_key:{id}")), "{text}");
    assert!(text.contains(&format!("revoked_key:{id}")), "{text}");
    assert!(text.contains("\"manage_keys\""), "{text}");
    assert!(!text.contains(&secret));
    assert!(audit(&["verify"], &cfg).status.success());
}

#[test]
fn the_stdout_audit_sink_writes_chained_events() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("gatehouse.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[store]\npath = \"{}\"\n[audit]\nsink = \"stdout\"\n[providers.mock]\nkind = \"mock\"\nreply = \"echo\"\n[[models]]\nname = \"mock\"\nprovider = \"mock\"\n",
            dir.path().join("data/g.db").display()
        ),
    )
    .unwrap();
    let key = Command::new(BIN)
        .args(["keys", "create", "--principal", "user:sam", "--store"])
        .arg(dir.path().join("data/g.db"))
        .output()
        .unwrap();
    let key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    let mut child = Kill(
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&cfg)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rid = rt.block_on(async {
        wait_ready(&base).await;
        complete(&reqwest::Client::new(), &base, &key, 1)
            .await
            .unwrap()
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut found = None;
    while std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && line.contains(&rid)
        {
            found = Some(line);
            break;
        }
    }
    let line = found.expect("the request's audit event on stdout");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert!(v["seq"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["hash"].as_str().unwrap().len(), 64, "{v}");
    assert_eq!(v["event"]["request_id"], rid.as_str());
    assert_eq!(v["event"]["decision"], "allow");
    assert!(!line.contains(&key));
}
