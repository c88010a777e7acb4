//! Provider adapters and the routing of one public model to ordered upstream targets.
//!
//! A [`Provider`] is an enum, not a trait object: the set is closed (OpenAI-compatible,
//! Anthropic, mock), dispatch is a match, and no future is boxed on the hot path.
//!
//! Credentials live in [`Secret`], whose `Debug` prints nothing; each provider owns its own HTTP
//! client and its own credential, and the client's own `Authorization` header is never
//! forwarded, so a key can only ever reach the provider it was configured for.

use crate::event::{AnthropicDecoder, ChatEvent, Decoded, OpenAiDecoder};
use crate::openai::{
    ChatCompletion, ChatRequest, Choice, EmbeddingsRequest, Message, Role, StreamOptions, Usage,
};
use crate::sse::SseDecoder;
use crate::translate;
use crate::{UpstreamError, UpstreamErrorKind, anthropic, estimate_tokens};
use futures_util::Stream;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

tokio::task_local! {
    static EXTRA_HEADERS: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>;
}

/// Runs `fut` with `headers` added to every upstream HTTP request it makes (e.g. the W3C
/// `traceparent`). Headers that carry credentials (`authorization`, `x-api-key`, `api-key`) or
/// that the provider sets itself are ignored, so this can never replace the provider's
/// credential. Without this wrapper requests are unchanged.
pub async fn with_extra_headers<F: std::future::Future>(
    headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    fut: F,
) -> F::Output {
    EXTRA_HEADERS.scope(headers, fut).await
}

fn reserved_header(name: &reqwest::header::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "authorization"
            | "x-api-key"
            | "api-key"
            | "anthropic-version"
            | "content-type"
            | "host"
            | "content-length"
    )
}

/// Most bytes read from a non-streamed upstream answer.
pub const MAX_UPSTREAM_BODY: usize = 32 * 1024 * 1024;

/// A credential. Never printed, never serialized.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for building the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where and how to reach an HTTP provider.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Provider name from the config (for logs).
    pub name: String,
    /// Base URL: for OpenAI-compatible providers up to and including `/v1`; for Anthropic the
    /// host root (`https://api.anthropic.com`).
    pub base_url: String,
    /// Credential, if the provider needs one.
    pub api_key: Option<Secret>,
    /// Header that carries the credential: `authorization` (Bearer) or e.g. `api-key` (Azure).
    pub auth_header: String,
    /// Extra query parameters (Azure `api-version`).
    pub query: Vec<(String, String)>,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Longest wait for the response head or the next stream chunk.
    pub read_timeout: Duration,
}

/// An OpenAI-compatible or Anthropic HTTP provider.
#[derive(Debug)]
pub struct HttpProvider {
    settings: HttpSettings,
    client: reqwest::Client,
}

/// What the mock answers.
#[derive(Debug, Clone, PartialEq)]
pub enum MockReply {
    /// The last user message, verbatim.
    Echo,
    /// A fixed text.
    Fixed(String),
}

/// The built-in deterministic provider, for the demo, tests and benchmarks.
#[derive(Debug, Clone)]
pub struct MockProvider {
    /// Delay before the answer (or its first chunk).
    pub latency: Duration,
    /// Characters per streamed chunk.
    pub chunk_chars: usize,
    /// Delay between streamed chunks.
    pub chunk_delay: Duration,
    /// What to answer.
    pub reply: MockReply,
}

/// A provider.
#[derive(Debug)]
pub enum Provider {
    /// OpenAI-compatible (`/chat/completions`, `/embeddings`).
    OpenAi(HttpProvider),
    /// Anthropic Messages.
    Anthropic(HttpProvider),
    /// Built-in mock.
    Mock(MockProvider),
}

/// A stream of events from an upstream.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ChatEvent, UpstreamError>> + Send>>;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn classify(e: &reqwest::Error) -> UpstreamErrorKind {
    if e.is_timeout() {
        UpstreamErrorKind::Timeout
    } else if e.is_connect() {
        UpstreamErrorKind::Connect
    } else {
        UpstreamErrorKind::Protocol
    }
}

impl HttpProvider {
    /// Builds the client. Fails only if the TLS stack cannot initialise.
    pub fn new(settings: HttpSettings) -> Result<HttpProvider, UpstreamError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| UpstreamError::new(UpstreamErrorKind::Connect, e.to_string()))?;
        Ok(HttpProvider { settings, client })
    }

    fn request(&self, path: &str, anthropic: bool) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.settings.base_url.trim_end_matches('/'), path);
        let mut rb = self.client.post(url).query(&self.settings.query);
        if let Some(key) = &self.settings.api_key {
            let value = if anthropic || self.settings.auth_header != "authorization" {
                key.expose().to_owned()
            } else {
                format!("Bearer {}", key.expose())
            };
            let header = if anthropic {
                "x-api-key"
            } else {
                self.settings.auth_header.as_str()
            };
            if let Ok(mut v) = reqwest::header::HeaderValue::from_str(&value) {
                v.set_sensitive(true);
                rb = rb.header(header, v);
            }
        }
        if anthropic {
            rb = rb.header("anthropic-version", "2023-06-01");
        }
        let extra = EXTRA_HEADERS.try_with(Clone::clone).unwrap_or_default();
        for (k, v) in extra {
            if !reserved_header(&k) {
                rb = rb.header(k, v);
            }
        }
        rb
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, UpstreamError> {
        let resp = rb.send().await.map_err(|e| {
            UpstreamError::new(classify(&e), format!("{}: {}", self.settings.name, e))
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        // Keep a bounded prefix of the upstream's error for operators; never for the client.
        let detail = match read_bounded(resp, 2048).await {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => String::new(),
        };
        Err(UpstreamError::new(
            UpstreamErrorKind::Status(status.as_u16()),
            format!("{}: {}", self.settings.name, detail),
        ))
    }

    async fn json(&self, resp: reqwest::Response) -> Result<Value, UpstreamError> {
        let body = read_bounded(resp, MAX_UPSTREAM_BODY).await?;
        serde_json::from_slice(&body).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Protocol,
                format!("{}: body is not JSON: {e}", self.settings.name),
            )
        })
    }
}

async fn read_bounded(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, UpstreamError> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if out.len() + c.len() > limit {
                    if limit < MAX_UPSTREAM_BODY {
                        out.extend_from_slice(&c[..limit.saturating_sub(out.len())]);
                        return Ok(out);
                    }
                    return Err(UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        "upstream body too large",
                    ));
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(UpstreamError::new(classify(&e), e.to_string())),
        }
    }
}

enum StreamDecoder {
    OpenAi(OpenAiDecoder),
    Anthropic(AnthropicDecoder),
}

struct HttpStream {
    resp: reqwest::Response,
    sse: SseDecoder,
    decoder: StreamDecoder,
    pending: VecDeque<Result<ChatEvent, UpstreamError>>,
    done: bool,
    read_timeout: Duration,
}

impl HttpStream {
    fn decode(&mut self, events: Vec<crate::sse::SseEvent>) {
        for ev in events {
            if self.done {
                return;
            }
            let decoded = match &mut self.decoder {
                StreamDecoder::OpenAi(d) => d.decode(&ev.data),
                StreamDecoder::Anthropic(d) => d.decode(&ev.data),
            };
            match decoded {
                Ok(Decoded::Events(evs)) => self.pending.extend(evs.into_iter().map(Ok)),
                Ok(Decoded::Done) => self.done = true,
                Err(e) => {
                    self.pending
                        .push_back(Err(UpstreamError::new(UpstreamErrorKind::Protocol, e)));
                    self.done = true;
                }
            }
        }
    }
}

fn http_event_stream(
    resp: reqwest::Response,
    decoder: StreamDecoder,
    read_timeout: Duration,
) -> EventStream {
    let state = HttpStream {
        resp,
        sse: SseDecoder::default(),
        decoder,
        pending: VecDeque::new(),
        done: false,
        read_timeout,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.pending.pop_front() {
                return Some((ev, st));
            }
            if st.done {
                return None;
            }
            match tokio::time::timeout(st.read_timeout, st.resp.chunk()).await {
                Err(_) => {
                    st.done = true;
                    return Some((
                        Err(UpstreamError::new(
                            UpstreamErrorKind::Timeout,
                            "no stream chunk within the read timeout",
                        )),
                        st,
                    ));
                }
                Ok(Err(e)) => {
                    st.done = true;
                    return Some((Err(UpstreamError::new(classify(&e), e.to_string())), st));
                }
                Ok(Ok(None)) => {
                    let mut out = Vec::new();
                    let res = st.sse.finish(&mut out);
                    st.decode(out);
                    if let Err(e) = res {
                        st.pending.push_back(Err(UpstreamError::new(
                            UpstreamErrorKind::Protocol,
                            e.to_string(),
                        )));
                    }
                    st.done = true;
                }
                Ok(Ok(Some(bytes))) => {
                    let mut out = Vec::new();
                    let res = st.sse.push(&bytes, &mut out);
                    st.decode(out);
                    if let Err(e) = res {
                        st.pending.push_back(Err(UpstreamError::new(
                            UpstreamErrorKind::Protocol,
                            e.to_string(),
                        )));
                        st.done = true;
                    }
                }
            }
        }
    }))
}

impl MockProvider {
    fn reply_text(&self, req: &ChatRequest) -> String {
        match &self.reply {
            MockReply::Fixed(t) => t.clone(),
            MockReply::Echo => req
                .messages
                .iter()
                .rev()
                .find(|m| m.role == Role::User)
                .and_then(|m| m.content.as_ref())
                .map(|c| c.text())
                .unwrap_or_default(),
        }
    }

    fn prompt_tokens(req: &ChatRequest) -> u32 {
        let chars: usize = req
            .messages
            .iter()
            .filter_map(|m| m.content.as_ref())
            .map(|c| c.text().chars().count())
            .sum();
        estimate_tokens(chars)
    }

    fn chunks(&self, text: &str) -> Vec<String> {
        let n = self.chunk_chars.max(1);
        let chars: Vec<char> = text.chars().collect();
        chars.chunks(n).map(|c| c.iter().collect()).collect()
    }
}

impl Provider {
    /// The provider kind, as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            Provider::OpenAi(_) => "openai",
            Provider::Anthropic(_) => "anthropic",
            Provider::Mock(_) => "mock",
        }
    }

    /// A non-streamed chat completion in OpenAI shape.
    ///
    /// `raw` is the client's original OpenAI-shaped body, when the checkpoint did not change the
    /// request: an OpenAI-compatible upstream with the same model name then receives those exact
    /// bytes (no re-serialisation, which was a quarter of the gateway's work per request).
    pub async fn chat(
        &self,
        req: &ChatRequest,
        upstream_model: &str,
        raw: Option<&bytes::Bytes>,
    ) -> Result<ChatCompletion, UpstreamError> {
        match self {
            Provider::OpenAi(p) => {
                let rb = p.request("/chat/completions", false);
                let rb = match raw {
                    Some(raw) if upstream_model == req.model && !req.stream => rb
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(raw.clone()),
                    _ => {
                        let mut body = req.clone();
                        body.model = upstream_model.to_owned();
                        body.stream = false;
                        body.stream_options = None;
                        rb.json(&body)
                    }
                };
                let resp = p.send(rb).await?;
                let v = p.json(resp).await?;
                serde_json::from_value(v).map_err(|e| {
                    UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        format!("unexpected completion shape: {e}"),
                    )
                })
            }
            Provider::Anthropic(p) => {
                let mut body = translate::chat_to_messages(req);
                body.model = upstream_model.to_owned();
                body.stream = false;
                let resp = p.send(p.request("/v1/messages", true).json(&body)).await?;
                let v = p.json(resp).await?;
                let msg: anthropic::MessagesResponse = serde_json::from_value(v).map_err(|e| {
                    UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        format!("unexpected message shape: {e}"),
                    )
                })?;
                Ok(translate::messages_response_to_chat(&msg, now_secs()))
            }
            Provider::Mock(m) => {
                if !m.latency.is_zero() {
                    tokio::time::sleep(m.latency).await;
                }
                let text = m.reply_text(req);
                let completion = estimate_tokens(text.chars().count());
                Ok(ChatCompletion {
                    id: format!("chatcmpl-mock-{}", rand::random::<u32>()),
                    object: "chat.completion".to_owned(),
                    created: now_secs(),
                    model: upstream_model.to_owned(),
                    choices: vec![Choice {
                        index: 0,
                        message: Message::text(Role::Assistant, text),
                        finish_reason: Some("stop".to_owned()),
                        extra: Map::new(),
                    }],
                    usage: Some(Usage::new(MockProvider::prompt_tokens(req), completion)),
                    extra: Map::new(),
                })
            }
        }
    }

    /// A streamed chat completion. Returns once the upstream has accepted the request (response
    /// head received); errors after that arrive in the stream.
    pub async fn chat_stream(
        &self,
        req: &ChatRequest,
        upstream_model: &str,
    ) -> Result<EventStream, UpstreamError> {
        match self {
            Provider::OpenAi(p) => {
                let mut body = req.clone();
                body.model = upstream_model.to_owned();
                body.stream = true;
                // Always ask for usage so the gateway can account for tokens; the client encoder
                // only forwards it when the client asked.
                body.stream_options = Some(StreamOptions {
                    include_usage: Some(true),
                    extra: Map::new(),
                });
                let rb = p.request("/chat/completions", false).json(&body);
                let resp = match tokio::time::timeout(p.settings.read_timeout, p.send(rb)).await {
                    Ok(r) => r?,
                    Err(_) => {
                        return Err(UpstreamError::new(
                            UpstreamErrorKind::Timeout,
                            "no response head",
                        ));
                    }
                };
                Ok(http_event_stream(
                    resp,
                    StreamDecoder::OpenAi(OpenAiDecoder::default()),
                    p.settings.read_timeout,
                ))
            }
            Provider::Anthropic(p) => {
                let mut body = translate::chat_to_messages(req);
                body.model = upstream_model.to_owned();
                body.stream = true;
                let rb = p.request("/v1/messages", true).json(&body);
                let resp = match tokio::time::timeout(p.settings.read_timeout, p.send(rb)).await {
                    Ok(r) => r?,
                    Err(_) => {
                        return Err(UpstreamError::new(
                            UpstreamErrorKind::Timeout,
                            "no response head",
                        ));
                    }
                };
                Ok(http_event_stream(
                    resp,
                    StreamDecoder::Anthropic(AnthropicDecoder::default()),
                    p.settings.read_timeout,
                ))
            }
            Provider::Mock(m) => {
                let text = m.reply_text(req);
                let usage = Usage::new(
                    MockProvider::prompt_tokens(req),
                    estimate_tokens(text.chars().count()),
                );
                let mut events: VecDeque<ChatEvent> = VecDeque::new();
                events.push_back(ChatEvent::Start {
                    id: format!("chatcmpl-mock-{}", rand::random::<u32>()),
                    model: upstream_model.to_owned(),
                });
                events.extend(m.chunks(&text).into_iter().map(ChatEvent::Text));
                events.push_back(ChatEvent::Finish("stop".to_owned()));
                events.push_back(ChatEvent::Usage(usage));
                let m = m.clone();
                let state = (events, true);
                Ok(Box::pin(futures_util::stream::unfold(
                    state,
                    move |(mut events, first)| {
                        let m = m.clone();
                        async move {
                            let ev = events.pop_front()?;
                            let delay = if first {
                                m.latency
                            } else if matches!(ev, ChatEvent::Text(_)) {
                                m.chunk_delay
                            } else {
                                Duration::ZERO
                            };
                            if !delay.is_zero() {
                                tokio::time::sleep(delay).await;
                            }
                            Some((Ok(ev), (events, false)))
                        }
                    },
                )))
            }
        }
    }

    /// Embeddings in OpenAI shape.
    pub async fn embeddings(
        &self,
        req: &EmbeddingsRequest,
        upstream_model: &str,
    ) -> Result<Value, UpstreamError> {
        match self {
            Provider::OpenAi(p) => {
                let mut body = req.clone();
                body.model = upstream_model.to_owned();
                let resp = p.send(p.request("/embeddings", false).json(&body)).await?;
                p.json(resp).await
            }
            Provider::Anthropic(_) => Err(UpstreamError::new(
                UpstreamErrorKind::Unsupported,
                "the anthropic provider has no embeddings endpoint",
            )),
            Provider::Mock(m) => {
                if !m.latency.is_zero() {
                    tokio::time::sleep(m.latency).await;
                }
                let texts = req.input.texts();
                let data: Vec<Value> = texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": mock_embedding(t)}))
                    .collect();
                let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
                let tokens = estimate_tokens(chars);
                Ok(
                    json!({"object": "list", "data": data, "model": upstream_model,
                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}),
                )
            }
        }
    }
}

/// A deterministic 16-dimensional unit vector derived from the text (FNV-1a seeded per dimension).
fn mock_embedding(text: &str) -> Vec<f32> {
    let mut v: Vec<f32> = (0..16u64)
        .map(|d| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ d;
            for b in text.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            ((h >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect();
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// One upstream target of a route.
#[derive(Debug, Clone)]
pub struct Target {
    /// Provider name (config key).
    pub provider_name: String,
    /// The provider.
    pub provider: Arc<Provider>,
    /// Model name at the provider.
    pub upstream_model: String,
    /// Retry behaviour on this target.
    pub retry: RetryPolicy,
}

/// Retry behaviour for one target.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = none).
    pub max_retries: u32,
    /// Backoff before the first retry; doubled each time, with full jitter.
    pub base_backoff: Duration,
    /// Cap on one backoff.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_backoff.saturating_mul(1u32 << attempt.min(16));
        let cap = exp.min(self.max_backoff);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(if nanos == 0 {
            0
        } else {
            rand::random::<u64>() % nanos
        })
    }
}

/// The outcome of a routed call: the answer and which target gave it.
#[derive(Debug)]
pub struct Routed<T> {
    /// The answer.
    pub value: T,
    /// Index of the target that answered.
    pub target: usize,
    /// Attempts made in total (including retries and fallbacks).
    pub attempts: u32,
}

/// Tries each target in order; retries retryable errors on the same target with jittered
/// backoff, then falls back to the next. Returns the last error if every target failed.
pub async fn route<'a, T, F, Fut>(
    targets: &'a [Target],
    mut call: F,
) -> Result<Routed<T>, UpstreamError>
where
    F: FnMut(&'a Target) -> Fut,
    Fut: std::future::Future<Output = Result<T, UpstreamError>>,
{
    let mut attempts = 0;
    let mut last = UpstreamError::new(UpstreamErrorKind::Unsupported, "no targets configured");
    for (i, target) in targets.iter().enumerate() {
        let mut attempt = 0;
        loop {
            attempts += 1;
            match call(target).await {
                Ok(value) => {
                    return Ok(Routed {
                        value,
                        target: i,
                        attempts,
                    });
                }
                Err(e) => {
                    tracing::warn!(provider = %target.provider_name, model = %target.upstream_model, error = %e, "upstream attempt failed");
                    let retry_here = e.retryable() && attempt < target.retry.max_retries;
                    let fall_back = e.try_fallback();
                    last = e;
                    if retry_here {
                        tokio::time::sleep(target.retry.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    if !fall_back {
                        return Err(last);
                    }
                    break;
                }
            }
        }
    }
    Err(last)
}
