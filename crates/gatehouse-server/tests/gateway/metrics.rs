//! `/metrics` on its own listener: counters by route, model and decision, findings by type,
//! tokens, latency histograms per stage, and no principal ids in labels.

use super::{Gateway, chat, gateway, upstream};
use std::sync::Arc;

/// Serves the gateway's `/metrics` on a fresh port and returns its URL.
pub async fn metrics_url(g: &Gateway) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(gatehouse_server::observe::serve_metrics(
        Arc::clone(&g.app),
        l,
        std::future::pending(),
    ));
    format!("http://{addr}/metrics")
}

/// The value of the sample `name{...}` whose labels include all of `labels`.
pub fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_decisions_findings_tokens_and_stage_latency_without_principals() {
    let up = upstream::start().await;
    let g = gateway(&up.url, "[detect]\n[metrics]\nenabled = true\n").await;
    for _ in 0..2 {
        let r = g
            .post("/v1/chat/completions")
            .json(&chat("ok", "hello"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // PII is redacted (allowed); a live-looking secret is blocked.
    let r = g
        .post("/v1/chat/completions")
        .json(&chat("ok", "write to jane.doe@example.com please"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = g
        .post("/v1/chat/completions")
        .json(&chat(
            "ok",
            "aws_secret_access_key=Gm9vKz0PzR5xq1y3T7Lb2Wc8Ne4Hf6Ju0Ia9Sd2F with AKIAZ7QW3RTY5UIO2PLK",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Unknown models are counted as "other", never by the name the client sent.
    let r = g
        .post("/v1/chat/completions")
        .json(&chat("made-up-model-123", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // A bad key.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth("gh_nope_nope")
        .json(&chat("ok", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // An upstream that fails.
    let r = g
        .post("/v1/chat/completions")
        .json(&chat("hang", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);

    let body = reqwest::get(metrics_url(&g).await)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let route = ("route", "/v1/chat/completions");
    assert_eq!(
        sample(
            &body,
            "gatehouse_requests_total",
            &[route, ("model", "ok"), ("decision", "allow")]
        ),
        Some(3.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "gatehouse_requests_total",
            &[route, ("model", "ok"), ("decision", "block")]
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "gatehouse_requests_total",
            &[route, ("model", "other"), ("decision", "block")]
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "gatehouse_requests_total",
            &[route, ("model", "none"), ("decision", "block")]
        ),
        Some(1.0),
        "401: no model yet: {body}"
    );
    assert!(!body.contains("made-up-model-123"), "{body}");
    assert_eq!(
        sample(
            &body,
            "gatehouse_findings_total",
            &[("detector", "pii"), ("type", "EMAIL_ADDRESS")]
        ),
        Some(1.0),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("gatehouse_findings_total{detector=\"secrets\"")),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "gatehouse_tokens_total",
            &[("model", "ok"), ("direction", "input")]
        ),
        Some(33.0),
        "3 answers × 11 prompt tokens: {body}"
    );
    assert_eq!(
        sample(
            &body,
            "gatehouse_upstream_errors_total",
            &[("model", "hang"), ("code", "upstream_timeout")]
        ),
        Some(1.0),
        "{body}"
    );
    // Histograms: overall and per stage, with buckets.
    assert!(
        body.contains("gatehouse_request_duration_seconds_bucket{"),
        "{body}"
    );
    for stage in [
        "identify",
        "authorize",
        "inspect_in",
        "admit",
        "forward",
        "inspect_out",
        "record",
    ] {
        assert!(
            sample(
                &body,
                "gatehouse_stage_duration_seconds_count",
                &[("stage", stage)]
            )
            .is_some_and(|n| n >= 1.0),
            "stage {stage}: {body}"
        );
    }
    for audit in [
        "gatehouse_audit_events_written_total",
        "gatehouse_audit_queue_depth",
        "gatehouse_audit_spool_bytes",
        "gatehouse_audit_sink_healthy",
    ] {
        assert!(sample(&body, audit, &[]).is_some(), "{audit}: {body}");
    }
    assert_eq!(
        sample(&body, "gatehouse_audit_sink_healthy", &[]),
        Some(1.0)
    );
    assert!(
        sample(
            &body,
            "gatehouse_anomaly_alerts_total",
            &[("kind", "request_rate")]
        ) == Some(0.0),
        "{body}"
    );
    // No principal anywhere in the labels (the default).
    assert!(
        !body.contains("user:alice") && !body.contains("principal="),
        "{body}"
    );
}

#[tokio::test]
async fn principal_labels_appear_only_when_configured() {
    let up = upstream::start().await;
    let g = gateway(&up.url, "[metrics]\nprincipal_labels = true\n").await;
    let r = g
        .post("/v1/chat/completions")
        .json(&chat("ok", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = g.app.render_metrics();
    assert_eq!(
        sample(
            &body,
            "gatehouse_requests_total",
            &[("principal", "user:alice"), ("decision", "allow")]
        ),
        Some(1.0),
        "{body}"
    );
}
