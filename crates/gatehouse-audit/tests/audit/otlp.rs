//! OTLP logs sink against an in-test OTLP/HTTP receiver on 127.0.0.1: records arrive in order
//! with the documented attributes; a receiver that answers 503 or is not listening makes the
//! writer spool, and the spool is replayed in order once it is back (also across a restart).

use super::{config, event, record};
use gatehouse_audit::sink::otlp::OtlpSink;
use gatehouse_audit::{Auditor, ChainedRecord, Sink, SinkSpec};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const API_KEY: &str = "otlp-test-key-5f1c9e";

#[derive(Default)]
struct State {
    /// Log records from the requests answered 200, in arrival order.
    records: Mutex<Vec<Value>>,
    /// Answer 503 (and keep nothing) while set.
    down: AtomicBool,
    /// Requests answered 503.
    refused: AtomicU64,
    /// Requests that lacked the API key or the JSON content type.
    bad: AtomicU64,
}

/// An OTLP/HTTP logs receiver on its own thread and runtime (the auditor's writer posts to it
/// synchronously, so it must not share the test's runtime).
struct Receiver {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start() -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap())
    }

    fn start_on(addr: SocketAddr) -> Receiver {
        use axum::http::{HeaderMap, StatusCode};
        let state = Arc::new(State::default());
        let l = std::net::TcpListener::bind(addr).unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let s = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let handler = move |headers: HeaderMap, body: axum::body::Bytes| {
                    let s = s.clone();
                    async move {
                        let key_ok = headers.get("x-api-key").is_some_and(|v| v == API_KEY);
                        let json = headers
                            .get("content-type")
                            .is_some_and(|v| v == "application/json");
                        if !key_ok || !json {
                            s.bad.fetch_add(1, Ordering::SeqCst);
                            return (StatusCode::UNAUTHORIZED, String::new());
                        }
                        if s.down.load(Ordering::SeqCst) {
                            s.refused.fetch_add(1, Ordering::SeqCst);
                            return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                        }
                        let req: Value = serde_json::from_slice(&body).unwrap();
                        let rl = &req["resourceLogs"][0];
                        assert_eq!(
                            rl["resource"]["attributes"][0]["value"]["stringValue"],
                            "gatehouse"
                        );
                        let sl = &rl["scopeLogs"][0];
                        assert_eq!(sl["scope"]["name"], "gatehouse.audit");
                        s.records
                            .lock()
                            .unwrap()
                            .extend(sl["logRecords"].as_array().unwrap().iter().cloned());
                        (StatusCode::OK, "{}".to_owned())
                    }
                };
                let app = axum::Router::new().route("/v1/logs", axum::routing::post(handler));
                let l = tokio::net::TcpListener::from_std(l).unwrap();
                axum::serve(l, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Receiver {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Event records received, in order.
    fn events(&self) -> Vec<Value> {
        self.state
            .records
            .lock()
            .unwrap()
            .iter()
            .filter(|r| attr(r, "gatehouse.record") == "event")
            .cloned()
            .collect()
    }

    fn seqs(&self) -> Vec<u64> {
        self.events().iter().map(seq).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn otlp(endpoint: &str) -> SinkSpec {
    SinkSpec::Otlp {
        endpoint: endpoint.to_owned(),
        headers: vec![("x-api-key".into(), API_KEY.into())],
        timeout: Duration::from_secs(5),
    }
}

/// An attribute's value as text (`stringValue` or `intValue`).
fn attr(r: &Value, key: &str) -> String {
    r["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| {
            let v = &a["value"];
            v["stringValue"]
                .as_str()
                .or(v["intValue"].as_str())
                .unwrap()
                .to_owned()
        })
        .unwrap_or_default()
}

fn seq(r: &Value) -> u64 {
    attr(r, "gatehouse.seq").parse().unwrap()
}

/// The rows stored in a SQLite sink: (seq, prev_hash, hash, event).
fn sqlite_rows(db: &std::path::Path) -> Vec<(i64, String, String, String)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT seq, prev_hash, hash, event FROM audit_events ORDER BY seq")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn records_arrive_in_order_with_the_chain_and_event_attributes() {
    let rx = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("primary.db");
    let (c, _) = config(
        dir.path(),
        vec![SinkSpec::Sqlite(db.clone()), otlp(&rx.endpoint())],
    );
    let a = Auditor::start(c).unwrap();
    record(&a, 1, 6).await;
    let mut traced = event("req_traced", "service:ci", "allow");
    traced.trace_id = Some("4bf92f3577b34da6a3ce929d0e0e4736".into());
    a.record(traced).await.unwrap();
    a.flush();
    drop(a);

    let events = rx.events();
    let stored = sqlite_rows(&db);
    assert_eq!(rx.seqs(), (1..=7).collect::<Vec<_>>());
    assert_eq!(events.len(), stored.len());
    for (r, (seq, prev, hash, ev)) in events.iter().zip(&stored) {
        // The body is the exact event text the hash covers, so a receiver can check the chain.
        assert_eq!(r["body"]["stringValue"], ev.as_str());
        assert_eq!(attr(r, "gatehouse.seq"), seq.to_string());
        assert_eq!(&attr(r, "gatehouse.hash"), hash);
        assert_eq!(&attr(r, "gatehouse.prev_hash"), prev);
        let e: Value = serde_json::from_str(ev).unwrap();
        assert_eq!(attr(r, "gatehouse.request_id"), e["request_id"]);
        assert_eq!(attr(r, "gatehouse.decision"), e["decision"]);
        assert_eq!(attr(r, "gatehouse.principal"), e["principal"]);
        let ts = time::OffsetDateTime::parse(
            e["ts"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(
            r["timeUnixNano"],
            ts.unix_timestamp_nanos().to_string().as_str()
        );
        let warn = e["decision"] == "block";
        assert_eq!(r["severityText"], if warn { "WARN" } else { "INFO" });
        assert_eq!(r["severityNumber"], if warn { 13 } else { 9 });
    }
    assert_eq!(events[6]["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(events[0].get("traceId").is_none());
    // Checkpoints (every 4 events, and on flush) arrive too.
    let cps: Vec<u64> = rx
        .state
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| attr(r, "gatehouse.record") == "checkpoint")
        .map(seq)
        .collect();
    assert_eq!(cps, [4, 7]);
    assert_eq!(rx.state.bad.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_collector_answering_503_gets_the_spooled_records_in_order_once_it_recovers() {
    let rx = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = otlp(&rx.endpoint());
    let spool = dir.path().join(format!("spool-{}.jsonl", spec.id()));
    let (c, _) = config(
        dir.path(),
        vec![SinkSpec::Sqlite(dir.path().join("p.db")), spec],
    );
    let a = Auditor::start(c).unwrap();
    record(&a, 1, 2).await;
    rx.state.down.store(true, Ordering::SeqCst);
    // Strict requests are still acknowledged: the rows are durable in the spool.
    record(&a, 3, 5).await;
    assert!(!a.healthy());
    assert!(rx.state.refused.load(Ordering::SeqCst) >= 1);
    assert!(spool.exists());
    assert_eq!(rx.seqs(), [1, 2]);
    rx.state.down.store(false, Ordering::SeqCst);
    a.flush(); // retries at once
    assert!(a.healthy());
    assert!(!spool.exists());
    record(&a, 8, 2).await;
    a.flush();
    drop(a);
    // Nothing lost, in order; the collector never stored a refused request, and rows it
    // acknowledged are not sent again by this process.
    assert_eq!(rx.seqs(), (1..=9).collect::<Vec<_>>());
}

#[tokio::test]
async fn records_spooled_while_the_collector_is_unreachable_are_replayed_after_a_restart() {
    // A port with nothing listening: connection refused.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let spec = otlp(&format!("http://{addr}"));
    let spool = dir.path().join(format!("spool-{}.jsonl", spec.id()));
    let (c, signer) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone()), spec.clone()]);
    let a = Auditor::start(c).unwrap();
    record(&a, 1, 3).await;
    assert!(!a.healthy());
    a.flush();
    drop(a);
    assert!(spool.exists());
    // The collector comes up on that address; a restarted writer replays the spool first.
    let rx = Receiver::start_on(addr);
    let (mut c, _) = config(dir.path(), vec![SinkSpec::Sqlite(db.clone()), spec]);
    c.signer = Some(signer);
    let a = Auditor::start(c).unwrap();
    assert!(a.healthy());
    record(&a, 4, 2).await;
    a.flush();
    drop(a);
    assert!(!spool.exists());
    assert_eq!(rx.seqs(), (1..=5).collect::<Vec<_>>());
    let stored: Vec<String> = sqlite_rows(&db).into_iter().map(|r| r.2).collect();
    let sent: Vec<String> = rx
        .events()
        .iter()
        .map(|r| attr(r, "gatehouse.hash"))
        .collect();
    assert_eq!(sent, stored);
}

#[test]
fn sink_errors_name_neither_the_key_nor_the_body() {
    let rx = Receiver::start();
    rx.state.down.store(true, Ordering::SeqCst);
    let mut s = OtlpSink::new(
        &rx.endpoint(),
        &[("x-api-key".into(), API_KEY.into())],
        Duration::from_secs(5),
    )
    .unwrap();
    let secret_body =
        r#"{"v":2,"request_id":"r","body":{"mode":"redacted","request":"top-secret-prompt"}}"#;
    let row = ChainedRecord::new(0, [0u8; 32], secret_body.into(), String::new());
    let e = s.write(std::slice::from_ref(&row)).unwrap_err().to_string();
    assert!(e.contains("503"), "{e}");
    assert!(!e.contains(API_KEY) && !e.contains("top-secret"), "{e}");
    // Unreachable: the error says why, without the key.
    drop(rx);
    let e = s.write(&[row]).unwrap_err().to_string();
    assert!(!e.contains(API_KEY) && !e.contains("top-secret"), "{e}");
}
