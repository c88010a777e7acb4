//! The endpoints. Each handler runs the checkpoint stages in order and renders the result; the
//! decisions live in the stages.

use crate::app::App;
use crate::checkpoint::{ClientAddr, Ctx, PeerIdentity, apply_rate_headers, upstream_rejection};
use crate::error::{Protocol, error_response};
use crate::stream::sse_response;
use crate::telemetry::Stage;
use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::response::Response;
use axum::routing::{get, post};
use gatehouse_core::{ErrorCode, Rejection, RequestId};
use gatehouse_llm::openai::{ChatRequest, EmbeddingsRequest};
use gatehouse_llm::provider::{route as forward, with_extra_headers};
use gatehouse_llm::{anthropic, parse_json, translate};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

type AppState = State<Arc<App>>;

/// The router with every endpoint.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/messages", post(messages))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::admin::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

fn json_response(status: StatusCode, body: String, ctx: &Ctx) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(ctx.rid.as_str()) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn client(addr: Option<Extension<ClientAddr>>) -> Option<std::net::SocketAddr> {
    addr.map(|Extension(ClientAddr(a))| a)
}

async fn chat_completions(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    chat_route(
        app,
        Protocol::OpenAi,
        "/v1/chat/completions",
        addr,
        peer,
        headers,
        body,
    )
    .await
}

async fn messages(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    chat_route(
        app,
        Protocol::Anthropic,
        "/v1/messages",
        addr,
        peer,
        headers,
        body,
    )
    .await
}

async fn chat_route(
    app: Arc<App>,
    protocol: Protocol,
    route: &'static str,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new(protocol, route, "invoke_model", client(addr));
    ctx.trace.begin(&headers, &app.telemetry);
    ctx.peer = peer.map(|Extension(p)| p);
    match chat(&app, &mut ctx, &headers, body).await {
        Ok(r) => r,
        Err(rej) => app.reject(&mut ctx, rej).await,
    }
}

/// The chat pipeline, shared by both protocols: Anthropic requests are translated to the
/// OpenAI shape on the way in and answers back on the way out.
async fn chat(
    app: &Arc<App>,
    ctx: &mut Ctx,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Rejection> {
    let principal = app.identify(ctx, headers).await?;
    let bytes = app.read_body(body).await?;
    let req: ChatRequest = match ctx.protocol {
        Protocol::OpenAi => {
            let r: ChatRequest =
                parse_json(&bytes).map_err(|m| Rejection::invalid(m).at("validate"))?;
            r.validate()
                .map_err(|m| Rejection::invalid(m).at("validate"))?;
            r
        }
        Protocol::Anthropic => {
            let r: anthropic::MessagesRequest =
                parse_json(&bytes).map_err(|m| Rejection::invalid(m).at("validate"))?;
            r.validate()
                .map_err(|m| Rejection::invalid(m).at("validate"))?;
            translate::messages_to_chat(&r)
        }
    };
    let mut req = req;
    if app.stores_bodies() {
        ctx.body_request = app.audit_body_text(&prompt_text(&req));
    }
    ctx.token_estimate = (bytes.len() / 4) as u64;
    ctx.stream = req.stream;
    let model_route = app.authorize(ctx, &principal, &req.model)?;
    let guards = app.inspect_request(ctx, &principal, model_route, &mut req)?;
    let prompt = prompt_text(&req);
    let clamp = app
        .admit(ctx, &principal, model_route, &prompt, req.output_cap())
        .await?;
    let mut modified = guards.modified;
    if let Some(n) = clamp {
        if req.max_completion_tokens.is_some() {
            req.max_completion_tokens = Some(n);
        } else {
            req.max_tokens = Some(n);
        }
        modified = true;
    }
    let raw = (ctx.protocol == Protocol::OpenAi && !modified).then_some(&bytes);
    ctx.stream = req.stream;

    ctx.trace.enter(Stage::Forward);
    if req.stream {
        let routed = with_extra_headers(
            ctx.trace.upstream_headers(),
            forward(&model_route.targets, |t| {
                t.provider.chat_stream(&req, &t.upstream_model)
            }),
        )
        .await
        .map_err(|e| upstream_rejection(ctx, &e))?;
        ctx.attempts = routed.attempts;
        let target = model_route.targets.get(routed.target);
        ctx.provider = target.map(|t| t.provider_name.clone());
        ctx.trace.response_model = target.map(|t| t.upstream_model.clone());
        ctx.upstream_status = Some(200);
        ctx.trace.enter(Stage::InspectOut);
        let moved = std::mem::replace(
            ctx,
            Ctx::new(ctx.protocol, ctx.route, ctx.action, ctx.client),
        );
        let chain = app.output_chain(guards);
        let rate = moved.rate_headers.clone();
        let mut resp = sse_response(
            app.clone(),
            moved,
            routed.value,
            chain,
            req.model.clone(),
            req.include_usage(),
            now_secs(),
        );
        apply_rate_headers(rate.as_ref(), &mut resp);
        return Ok(resp);
    }

    let routed = with_extra_headers(
        ctx.trace.upstream_headers(),
        forward(&model_route.targets, |t| {
            t.provider.chat(&req, &t.upstream_model, raw)
        }),
    )
    .await
    .map_err(|e| upstream_rejection(ctx, &e))?;
    ctx.attempts = routed.attempts;
    let target = model_route.targets.get(routed.target);
    ctx.provider = target.map(|t| t.provider_name.clone());
    ctx.trace.response_model = target.map(|t| t.upstream_model.clone());
    ctx.upstream_status = Some(200);
    ctx.trace.enter(Stage::InspectOut);
    let mut completion = routed.value;
    completion.model = req.model.clone();
    if let Some(u) = completion.usage {
        ctx.tokens.input = u.prompt_tokens;
        ctx.tokens.output = u.completion_tokens;
    }
    // inspect(out): the same chain as for streams, fed the whole text at once. Only the first
    // choice is inspected, so n > 1 answers are refused rather than passed uninspected.
    let mut chain = app.output_chain(guards);
    if completion.choices.len() > 1 && !chain.is_empty() {
        return Err(
            Rejection::invalid("n > 1 is not supported while output guardrails are on")
                .at("inspect_out"),
        );
    }
    if let Some(content) = completion
        .choices
        .first_mut()
        .and_then(|c| c.message.content.as_mut())
    {
        let texts = content.texts_mut();
        let n = texts.len();
        for (i, t) in texts.into_iter().enumerate() {
            let mut out = chain
                .push(t)
                .inspect_err(|_| ctx.findings.extend(chain.findings()))?;
            if i + 1 == n {
                out.push_str(
                    &chain
                        .finish()
                        .inspect_err(|_| ctx.findings.extend(chain.findings()))?,
                );
            }
            *t = out;
        }
    }
    ctx.findings.extend(chain.findings());
    if app.stores_bodies()
        && let Some(c) = completion
            .choices
            .first()
            .and_then(|c| c.message.content.as_ref())
    {
        ctx.body_response = app.audit_body_text(&c.text());
    }
    let body = match ctx.protocol {
        Protocol::OpenAi => serde_json::to_string(&completion),
        Protocol::Anthropic => {
            serde_json::to_string(&translate::chat_response_to_messages(&completion))
        }
    }
    .map_err(|_| Rejection::internal("respond").at("respond"))?;
    let resp = json_response(StatusCode::OK, body, ctx);
    Ok(app.record_success(ctx, resp).await)
}

async fn embeddings(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new(
        Protocol::OpenAi,
        "/v1/embeddings",
        "invoke_model",
        client(addr),
    );
    ctx.trace.begin(&headers, &app.telemetry);
    ctx.peer = peer.map(|Extension(p)| p);
    let result: Result<Response, Rejection> = async {
        let principal = app.identify(&mut ctx, &headers).await?;
        let bytes = app.read_body(body).await?;
        let req: EmbeddingsRequest =
            parse_json(&bytes).map_err(|m| Rejection::invalid(m).at("validate"))?;
        if req.input.is_empty() {
            return Err(Rejection::invalid("input: must not be empty").at("validate"));
        }
        let model_route = app.authorize(&mut ctx, &principal, &req.model)?;
        app.inspect_input(&mut ctx, &principal, req.input.texts())?;
        let prompt = req.input.texts().join("\n");
        app.admit(&mut ctx, &principal, model_route, &prompt, Some(1))
            .await?;
        ctx.trace.enter(Stage::Forward);
        let routed = with_extra_headers(
            ctx.trace.upstream_headers(),
            forward(&model_route.targets, |t| {
                t.provider.embeddings(&req, &t.upstream_model)
            }),
        )
        .await
        .map_err(|e| upstream_rejection(&mut ctx, &e))?;
        ctx.trace.leave();
        ctx.attempts = routed.attempts;
        let target = model_route.targets.get(routed.target);
        ctx.provider = target.map(|t| t.provider_name.clone());
        ctx.trace.response_model = target.map(|t| t.upstream_model.clone());
        let mut v = routed.value;
        v["model"] = json!(req.model);
        ctx.tokens.input = v
            .pointer("/usage/prompt_tokens")
            .and_then(|t| t.as_u64())
            .unwrap_or(0) as u32;
        let resp = json_response(StatusCode::OK, v.to_string(), &ctx);
        Ok(app.record_success(&mut ctx, resp).await)
    }
    .await;
    match result {
        Ok(r) => r,
        Err(rej) => app.reject(&mut ctx, rej).await,
    }
}

async fn models(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    headers: HeaderMap,
) -> Response {
    let mut ctx = Ctx::new(Protocol::OpenAi, "/v1/models", "list_models", client(addr));
    ctx.trace.begin(&headers, &app.telemetry);
    ctx.peer = peer.map(|Extension(p)| p);
    let principal = match app.identify(&mut ctx, &headers).await {
        Ok(p) => p,
        Err(rej) => return app.reject(&mut ctx, rej).await,
    };
    let data: Vec<_> = app
        .visible_models(&ctx, &principal)
        .into_iter()
        .map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "gatehouse"}))
        .collect();
    let resp = json_response(
        StatusCode::OK,
        json!({"object": "list", "data": data}).to_string(),
        &ctx,
    );
    app.record_success(&mut ctx, resp).await
}

async fn healthz() -> Response {
    let mut r = Response::new(Body::from(r#"{"status":"ok"}"#));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn readyz(State(app): AppState) -> Response {
    let mut reasons = app.not_ready_reasons();
    let mut warnings = app.warnings();
    let limits = app.limiter.health().await;
    if !limits.ready {
        reasons.push("the limiter cannot reach Redis and fails closed".to_owned());
    } else if limits.degraded {
        warnings
            .push("the limiter cannot reach Redis: per-instance limits are enforced".to_owned());
    }
    let (status, mut body) = if reasons.is_empty() {
        (StatusCode::OK, json!({"status": "ready"}))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "not_ready", "reasons": reasons}),
        )
    };
    if app.injection.is_some() {
        let semantic = match (&app.ml_status.semantic, app.ml_status.semantic_hint) {
            (Some(m), _) => json!({"status": "active", "model": m}),
            (None, why) => {
                warnings.push(
                    "prompt-attack layer 3 (transformer) is unavailable: scoring with signatures + classifier".to_owned(),
                );
                json!({"status": "unavailable", "reason": why})
            }
        };
        let layers = if app.ml_status.semantic.is_some() {
            json!(["signatures", "classifier", "semantic"])
        } else {
            json!(["signatures", "classifier"])
        };
        body["detectors"] = json!({
            "injection": {"layers": layers, "semantic": semantic},
        });
    }
    if let Some(n) = &app.ml_status.ner {
        body["detectors"]["pii"] = json!({"ner": n});
    }
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn protocol_for(uri: &http::Uri) -> Protocol {
    if uri.path().starts_with("/v1/messages") {
        Protocol::Anthropic
    } else {
        Protocol::OpenAi
    }
}

async fn not_found(uri: http::Uri) -> Response {
    let rej = Rejection::new(ErrorCode::NotFound, "no such endpoint");
    error_response(protocol_for(&uri), &rej, &RequestId::new())
}

async fn method_not_allowed(uri: http::Uri) -> Response {
    let rej = Rejection::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed on this endpoint",
    );
    error_response(protocol_for(&uri), &rej, &RequestId::new())
}

/// All message text of a chat request, as the admit stage counts it.
fn prompt_text(req: &ChatRequest) -> String {
    let mut out = String::new();
    for m in &req.messages {
        if let Some(c) = &m.content {
            out.push_str(&c.text());
            out.push('\n');
        }
    }
    out
}
