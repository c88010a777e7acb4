//! A real local upstream for the integration tests: an HTTP server on 127.0.0.1 that speaks the
//! OpenAI and Anthropic APIs, and misbehaves on request (by model name) so the gateway's
//! timeouts, retries, fallbacks and cancellation are tested over real sockets.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Seen {
    pub hits: Mutex<Vec<(String, String)>>, // (model, authorization or x-api-key)
    pub stream_dropped: AtomicBool,
    pub chunks_sent: AtomicUsize,
    pub bodies: Mutex<Vec<Value>>,
    /// The `traceparent` header of every chat request ("" when absent).
    pub traceparents: Mutex<Vec<String>>,
}

impl Seen {
    pub fn hits_for(&self, model: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == model)
            .count()
    }
}

pub struct Upstream {
    pub url: String,
    pub seen: Arc<Seen>,
}

struct DropFlag(Arc<Seen>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.stream_dropped.store(true, Ordering::SeqCst);
    }
}

fn sse(data: &str) -> String {
    format!("data: {data}\n\n")
}

async fn openai_chat(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: String) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let model = v["model"].as_str().unwrap_or("").to_owned();
    let auth = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    seen.hits.lock().unwrap().push((model.clone(), auth));
    seen.bodies.lock().unwrap().push(v.clone());
    seen.traceparents.lock().unwrap().push(
        headers
            .get("traceparent")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    );
    let last = v["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    match model.as_str() {
        "fail500" => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "upstream exploded: internal detail sk-upstream-secret",
            )
                .into_response();
        }
        "fail400" => return (StatusCode::BAD_REQUEST, "bad").into_response(),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        _ => {}
    }
    if model == "echo-system" {
        // Answers with the request's system prompt (as a model tricked into revealing it would),
        // streamed in 7-character chunks.
        let system: String = v["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "system")
            .filter_map(|m| m["content"].as_str())
            .collect();
        let answer = format!("Sure! My instructions are: {system}");
        if v["stream"].as_bool() != Some(true) {
            return axum::Json(json!({"id": "c", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]}))
            .into_response();
        }
        let chars: Vec<char> = answer.chars().collect();
        let mut body = String::new();
        for c in chars.chunks(7) {
            let piece: String = c.iter().collect();
            body.push_str(&sse(
                &json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]})
                .to_string(),
            ));
        }
        body.push_str("data: [DONE]\n\n");
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from(body))
            .unwrap();
    }
    if v["stream"].as_bool() == Some(true) {
        let slow = model == "slow-stream";
        let seen2 = seen.clone();
        let stream = async_stream(
            seen2,
            slow,
            last,
            v["stream_options"]["include_usage"].as_bool() == Some(true),
        );
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap();
    }
    axum::Json(json!({
        "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": model,
        "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("upstream says: {last}")}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}
    }))
    .into_response()
}

fn async_stream(
    seen: Arc<Seen>,
    slow: bool,
    text: String,
    usage: bool,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> {
    let n = if slow { 200 } else { 3 };
    let guard = DropFlag(seen.clone());
    futures_util::stream::unfold(
        (0usize, guard, seen, text),
        move |(i, guard, seen, text)| async move {
            if i > n + 2 {
                return None;
            }
            if slow && i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let chunk = |delta: Value, finish: Value| {
                sse(&json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string())
            };
            let out = if i == 0 {
                chunk(json!({"role": "assistant", "content": ""}), Value::Null)
            } else if i <= n {
                chunk(json!({"content": format!("[{i}:{text}]")}), Value::Null)
            } else if i == n + 1 {
                let mut s = chunk(json!({}), json!("stop"));
                if usage {
                    s.push_str(&sse(&json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
                    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}).to_string()));
                }
                s
            } else {
                "data: [DONE]\n\n".to_owned()
            };
            seen.chunks_sent.fetch_add(1, Ordering::SeqCst);
            Some((Ok(out), (i + 1, guard, seen, text)))
        },
    )
}

async fn anthropic_messages(
    State(seen): State<Arc<Seen>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let model = v["model"].as_str().unwrap_or("").to_owned();
    let key = headers
        .get("x-api-key")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let version_ok = headers.get("anthropic-version").is_some();
    seen.hits.lock().unwrap().push((model.clone(), key));
    seen.bodies.lock().unwrap().push(v.clone());
    if !version_ok {
        return (StatusCode::BAD_REQUEST, "missing anthropic-version").into_response();
    }
    let text = format!(
        "claude heard {} message(s)",
        v["messages"].as_array().map(|a| a.len()).unwrap_or(0)
    );
    if v["stream"].as_bool() == Some(true) {
        let events = [
            (
                "message_start",
                json!({"type":"message_start","message":{"id":"msg_up","type":"message","role":"assistant","model":model,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":21,"output_tokens":1}}}),
            ),
            (
                "content_block_start",
                json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
            ),
            ("ping", json!({"type":"ping"})),
            (
                "content_block_delta",
                json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"claude "}}),
            ),
            (
                "content_block_delta",
                json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"streams"}}),
            ),
            (
                "content_block_stop",
                json!({"type":"content_block_stop","index":0}),
            ),
            (
                "message_delta",
                json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}),
            ),
            ("message_stop", json!({"type":"message_stop"})),
        ];
        let body: String = events
            .iter()
            .map(|(e, d)| format!("event: {e}\r\ndata: {d}\r\n\r\n"))
            .collect();
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from(body))
            .unwrap();
    }
    axum::Json(
        json!({"id":"msg_up","type":"message","role":"assistant","model":model,
        "content":[{"type":"text","text":text}],"stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":21,"output_tokens":5}}),
    )
    .into_response()
}

async fn openai_embeddings(State(seen): State<Arc<Seen>>, body: String) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    seen.hits
        .lock()
        .unwrap()
        .push((v["model"].as_str().unwrap_or("").to_owned(), String::new()));
    axum::Json(
        json!({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],
        "model": v["model"], "usage": {"prompt_tokens": 2, "total_tokens": 2}}),
    )
    .into_response()
}

pub async fn start() -> Upstream {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/v1/messages", post(anthropic_messages))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Upstream {
        url: format!("http://{addr}"),
        seen,
    }
}
