//! OpenTelemetry traces: an in-test OTLP/HTTP receiver gets the request's spans (one per
//! checkpoint stage, GenAI attributes), the caller's `traceparent` is continued, and the
//! upstream receives a `traceparent` of the same trace whose parent is the forward span.

use super::{chat, gateway, upstream};
use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

/// An OTLP/HTTP receiver on 127.0.0.1: stores (content-type, body) of every `POST /v1/traces`.
async fn collector() -> (String, Received) {
    let got: Received = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let g = g.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                g.lock().unwrap().push((ct, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), got)
}

fn spans(got: &Received) -> Vec<Span> {
    got.lock()
        .unwrap()
        .iter()
        .flat_map(|(_, b)| {
            ExportTraceServiceRequest::decode(b.clone())
                .unwrap()
                .resource_spans
        })
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect()
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a AnyValue> {
    s.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

async fn wait_for_spans(got: &Received, n: usize) -> Vec<Span> {
    for _ in 0..200 {
        let s = spans(got);
        if s.len() >= n {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    spans(got)
}

#[tokio::test]
async fn stage_spans_with_genai_attributes_continue_the_callers_trace_to_the_upstream() {
    let up = upstream::start().await;
    let (otlp, got) = collector().await;
    let g = gateway(
        &up.url,
        &format!("[tracing]\notlp_endpoint = \"{otlp}\"\nservice_name = \"gh-test\"\n"),
    )
    .await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let r = g
        .post("/v1/chat/completions")
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&chat("ok", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The upstream got a traceparent of the same trace, with the gateway's span as parent.
    let tp = up.seen.traceparents.lock().unwrap().last().unwrap().clone();
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "{tp}");
    assert_eq!(parts[1], trace_id, "{tp}");
    assert_ne!(
        parts[2], caller_span,
        "the gateway's forward span is the parent: {tp}"
    );
    assert_eq!(parts[3], "01");

    // The audit row carries the trace id and the per-stage times.
    let row = super::audit_lines(&g).pop().unwrap();
    assert_eq!(row["trace_id"], trace_id, "{row}");
    for stage in [
        "identify",
        "authorize",
        "inspect_in",
        "forward",
        "inspect_out",
    ] {
        assert!(row["stage_us"][stage].is_u64(), "{stage}: {row}");
    }

    let spans = wait_for_spans(&got, 8).await;
    assert!(
        got.lock()
            .unwrap()
            .iter()
            .all(|(ct, _)| ct == "application/x-protobuf")
    );
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    for stage in [
        "identify",
        "authorize",
        "inspect_in",
        "admit",
        "forward",
        "inspect_out",
        "record",
    ] {
        assert!(names.contains(&stage), "{stage} missing from {names:?}");
    }
    assert!(spans.iter().all(|s| hex::encode(&s.trace_id) == trace_id));
    let root = spans
        .iter()
        .find(|s| s.name == "chat ok")
        .expect("root span");
    assert_eq!(
        hex::encode(&root.parent_span_id),
        caller_span,
        "the caller's span is the root's parent"
    );
    for s in spans.iter().filter(|s| s.name != "chat ok") {
        assert_eq!(s.parent_span_id, root.span_id, "{}", s.name);
    }
    let forward = spans.iter().find(|s| s.name == "forward").unwrap();
    assert_eq!(hex::encode(&forward.span_id), parts[2]);
    for s in [root, forward] {
        assert_eq!(
            attr(s, "gen_ai.operation.name"),
            Some(&AnyValue::StringValue("chat".into()))
        );
        assert_eq!(
            attr(s, "gen_ai.request.model"),
            Some(&AnyValue::StringValue("ok".into()))
        );
        assert_eq!(
            attr(s, "gen_ai.response.model"),
            Some(&AnyValue::StringValue("ok".into()))
        );
        assert_eq!(
            attr(s, "gen_ai.provider.name"),
            Some(&AnyValue::StringValue("openai".into()))
        );
        assert_eq!(
            attr(s, "gen_ai.usage.input_tokens"),
            Some(&AnyValue::IntValue(11))
        );
        assert_eq!(
            attr(s, "gen_ai.usage.output_tokens"),
            Some(&AnyValue::IntValue(4))
        );
    }
    // Stage spans follow the pipeline order in time.
    let start = |n: &str| {
        spans
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .start_time_unix_nano
    };
    assert!(start("identify") <= start("authorize"));
    assert!(start("authorize") <= start("forward"));
    assert!(start("forward") <= start("record"));
    let body = got.lock().unwrap()[0].1.clone();
    assert!(
        body.windows(7).any(|w| w == b"gh-test"),
        "service.name on the resource"
    );
}

#[tokio::test]
async fn a_refusal_is_traced_as_an_error_and_new_traces_start_without_a_traceparent() {
    let up = upstream::start().await;
    let (otlp, got) = collector().await;
    let g = gateway(
        &up.url,
        &format!("[tracing]\notlp_endpoint = \"{otlp}/v1/traces\"\n"),
    )
    .await;
    let r = g
        .post("/v1/chat/completions")
        .json(&chat("no-such-model", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let spans = wait_for_spans(&got, 3).await;
    let authorize = spans.iter().find(|s| s.name == "authorize").unwrap();
    assert_eq!(authorize.status.as_ref().unwrap().code, 2, "error status");
    let root = spans
        .iter()
        .find(|s| s.parent_span_id.is_empty())
        .expect("a new root");
    assert_eq!(
        attr(root, "error.type"),
        Some(&AnyValue::StringValue("not_found".into()))
    );
    assert!(!spans.iter().any(|s| s.name == "forward"));
}
