//! Anomaly alerts end to end: after a warm-up at one request per bucket, a principal's request
//! rate jumps twenty-fold; the detector raises a `request_rate` alert that becomes an audit
//! event (`decision = "alert"`), a metric, and a webhook with a valid HMAC signature delivered
//! (after a retry) to an in-test receiver.

use super::metrics::sample;
use super::{audit_lines, chat, gateway, upstream};
use axum::body::Bytes;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Hooks {
    attempts: AtomicUsize,
    delivered: Mutex<Vec<(String, String, Bytes)>>, // (timestamp, signature, body)
}

/// A webhook receiver that refuses the first attempt with 503, then accepts.
async fn receiver() -> (String, Arc<Hooks>) {
    let hooks = Arc::new(Hooks::default());
    let h = hooks.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let h = h.clone();
            async move {
                if h.attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let get = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                h.delivered.lock().unwrap().push((
                    get("x-gatehouse-timestamp"),
                    get("x-gatehouse-signature"),
                    body,
                ));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}/hook"), hooks)
}

fn alerts(rows: &[Value]) -> Vec<&Value> {
    rows.iter().filter(|r| r["decision"] == "alert").collect()
}

#[tokio::test]
async fn a_twenty_fold_burst_after_warm_up_alerts_in_audit_metrics_and_a_signed_webhook() {
    let up = upstream::start().await;
    let (hook_url, hooks) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_path = dir.path().join("hook.secret");
    let secret = format!("whsec-{}", rand::random::<u64>());
    std::fs::write(&secret_path, &secret).unwrap();
    let g = gateway(
        &up.url,
        &format!(
            r#"
[anomaly]
bucket_secs = 0.2
warmup_buckets = 8
alpha = 0.2
z_threshold = 4.0
cooldown_secs = 600
[anomaly.webhook]
url = "{hook_url}"
secret_file = "{}"
backoff_ms = 10
"#,
            secret_path.display()
        ),
    )
    .await;
    // Warm-up: one request per bucket (sequential, so never more than two per bucket).
    for _ in 0..12 {
        let r = g
            .post("/v1/chat/completions")
            .json(&chat("mock", "hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        alerts(&audit_lines(&g)).is_empty(),
        "no alert during normal traffic"
    );
    // The burst: 60 requests at once.
    let burst = (0..60).map(|_| {
        g.post("/v1/chat/completions")
            .json(&chat("mock", "hi"))
            .send()
    });
    for r in futures_util::future::join_all(burst).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    // The audit event.
    let rows = audit_lines(&g);
    let a = alerts(&rows);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["principal"], "user:alice");
    assert_eq!(a[0]["hop"], "admin");
    assert_eq!(a[0]["action"], "anomaly");
    assert_eq!(a[0]["stage"], "request_rate");
    assert!(
        a[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("request_rate:"),
        "{}",
        a[0]
    );
    // The metric.
    let m = g.app.render_metrics();
    assert_eq!(
        sample(
            &m,
            "gatehouse_anomaly_alerts_total",
            &[("kind", "request_rate")]
        ),
        Some(1.0),
        "{m}"
    );
    // The webhook, delivered after one refused attempt, signed over "<ts>.<body>".
    for _ in 0..200 {
        if !hooks.delivered.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let delivered = hooks.delivered.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1, "one alert, one delivery");
    assert_eq!(
        hooks.attempts.load(Ordering::SeqCst),
        2,
        "retried after the 503"
    );
    let (ts, sig, body) = &delivered[0];
    let ts_num: u64 = ts.parse().expect("numeric timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts_num <= now && now - ts_num < 600, "{ts_num} vs {now}");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(body);
    let expect = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(sig, &expect, "valid HMAC-SHA256 signature");
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["type"], "gatehouse.anomaly");
    assert_eq!(v["alert"]["kind"], "request_rate");
    assert_eq!(v["alert"]["principal"], "user:alice");
    assert!(v["alert"]["z"].as_f64().unwrap() >= 4.0, "{v}");
    // A wrong secret does not verify.
    let mut bad = Hmac::<sha2::Sha256>::new_from_slice(b"not-the-secret").unwrap();
    bad.update(format!("{ts}.").as_bytes());
    bad.update(body);
    assert_ne!(
        sig,
        &format!("sha256={}", hex::encode(bad.finalize().into_bytes()))
    );
}
