//! The checkpoint: identify → authorize → inspect(in) → admit → forward → inspect(out) → record.
//!
//! Each stage is a method over the request's [`Ctx`] that returns `Result<_, Rejection>`; a stage
//! that fails internally returns a rejection too (fail closed: an error never lets a request
//! through). Routes call the stages in order; they contain no decisions of their own.

use crate::app::{App, ModelRoute};
use crate::error::{Protocol, error_response};
use crate::inspect::OutputChain;
use axum::response::Response;
use bytes::Bytes;
use gatehouse_audit::{AuditEvent, SCHEMA_VERSION, Tokens, now_rfc3339};
use gatehouse_core::{ErrorCode, Finding, Hop, Principal, Rejection, RequestId};
use gatehouse_identity::AuthFailure;
use http::HeaderMap;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The client's address, put in request extensions by the listener.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// What the checkpoint knows about one request; becomes its audit event.
#[derive(Debug)]
pub struct Ctx {
    /// Request id.
    pub rid: RequestId,
    /// When the gateway started on it.
    pub started: Instant,
    /// The caller's protocol.
    pub protocol: Protocol,
    /// Route.
    pub route: &'static str,
    /// Action.
    pub action: &'static str,
    /// Client address.
    pub client: Option<SocketAddr>,
    /// Who, once identified.
    pub principal: Option<Principal>,
    /// Public model.
    pub model: Option<String>,
    /// Provider that answered.
    pub provider: Option<String>,
    /// Findings of all inspect stages.
    pub findings: Vec<Finding>,
    /// Tokens.
    pub tokens: Tokens,
    /// Streamed answer.
    pub stream: bool,
    /// Upstream attempts.
    pub attempts: u32,
    /// Last upstream status.
    pub upstream_status: Option<u16>,
    /// Reason code of a refusal.
    pub reason: Option<String>,
}

impl Ctx {
    /// A context for a new request.
    pub fn new(
        protocol: Protocol,
        route: &'static str,
        action: &'static str,
        client: Option<SocketAddr>,
    ) -> Ctx {
        Ctx {
            rid: RequestId::new(),
            started: Instant::now(),
            protocol,
            route,
            action,
            client,
            principal: None,
            model: None,
            provider: None,
            findings: Vec::new(),
            tokens: Tokens::default(),
            stream: false,
            attempts: 0,
            upstream_status: None,
            reason: None,
        }
    }

    /// The audit event for this request with the given outcome.
    pub fn event(
        &self,
        decision: &'static str,
        status: u16,
        rej: Option<&Rejection>,
    ) -> AuditEvent {
        AuditEvent {
            v: SCHEMA_VERSION,
            ts: now_rfc3339(),
            request_id: self.rid.as_str().to_owned(),
            hop: Hop::ModelCall,
            route: self.route,
            action: self.action,
            principal: self.principal.as_ref().map(|p| p.id.clone()),
            key_id: self.principal.as_ref().and_then(|p| p.key_id.clone()),
            model: self.model.clone(),
            provider: self.provider.clone(),
            decision,
            code: rej.map(|r| r.code.as_str()),
            reason: self.reason.clone(),
            stage: rej.map(|r| r.stage).filter(|s| !s.is_empty()),
            status,
            findings: self.findings.clone(),
            tokens: self.tokens,
            stream: self.stream,
            upstream_attempts: self.attempts,
            upstream_status: self.upstream_status,
            latency_us: u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX),
            client: self.client.map(|a| a.to_string()),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl App {
    /// identify: the API key in `Authorization: Bearer` (both protocols) or `x-api-key`
    /// (Anthropic). Unknown, malformed, revoked and expired keys are 401 with a reason code; a
    /// store failure is a 500 (never a pass).
    pub fn identify(&self, ctx: &mut Ctx, headers: &HeaderMap) -> Result<Principal, Rejection> {
        let token = bearer(headers).or_else(|| match ctx.protocol {
            Protocol::Anthropic => headers.get("x-api-key").and_then(|v| v.to_str().ok()),
            Protocol::OpenAi => None,
        });
        let failure = match token {
            None => AuthFailure::Missing,
            Some(t) => match self.keys.verify(t) {
                Ok(Ok(p)) => {
                    ctx.principal = Some(p.clone());
                    return Ok(p);
                }
                Ok(Err(f)) => f,
                Err(e) => {
                    tracing::error!(request_id = %ctx.rid, error = %e, "identify stage failed");
                    return Err(Rejection::internal("identify").at("identify"));
                }
            },
        };
        ctx.reason = Some(failure.reason().to_owned());
        let msg = match failure {
            AuthFailure::Missing => "no API key: send Authorization: Bearer <key>",
            AuthFailure::Revoked => "the API key has been revoked",
            AuthFailure::Expired => "the API key has expired",
            _ => "invalid API key",
        };
        Err(Rejection::new(ErrorCode::Unauthenticated, msg).at("identify"))
    }

    /// Reads the body within the size and time limits.
    pub async fn read_body(&self, body: axum::body::Body) -> Result<Bytes, Rejection> {
        let max = self.config.server.max_body_bytes;
        let limited = http_body_util::Limited::new(body, max);
        let timeout = Duration::from_millis(self.config.server.body_read_timeout_ms);
        match tokio::time::timeout(timeout, limited.collect()).await {
            Err(_) => Err(Rejection::invalid(
                "the request body was not received within the time limit",
            )
            .at("read")),
            Ok(Err(e)) => {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    Err(Rejection::new(
                        ErrorCode::PayloadTooLarge,
                        format!("request body exceeds {max} bytes"),
                    )
                    .at("read"))
                } else {
                    Err(Rejection::invalid("the request body could not be read").at("read"))
                }
            }
            Ok(Ok(c)) => Ok(c.to_bytes()),
        }
    }

    /// authorize: the model must be configured (default deny) and allowed for this credential.
    pub fn authorize(
        &self,
        ctx: &mut Ctx,
        principal: &Principal,
        model: &str,
    ) -> Result<&ModelRoute, Rejection> {
        ctx.model = Some(model.to_owned());
        let Some(route) = self.models.get(model) else {
            return Err(Rejection::new(
                ErrorCode::NotFound,
                format!("model {model:?} does not exist or you do not have access to it"),
            )
            .at("authorize"));
        };
        if !principal.allowed_models.is_empty()
            && !principal.allowed_models.iter().any(|m| m == model)
        {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                format!("this API key may not use model {model:?}"),
            )
            .at("authorize"));
        }
        Ok(route)
    }

    /// Models this principal may invoke, in config order.
    pub fn visible_models(&self, principal: &Principal) -> Vec<&str> {
        self.model_order
            .iter()
            .filter(|m| principal.allowed_models.is_empty() || principal.allowed_models.contains(m))
            .map(String::as_str)
            .collect()
    }

    /// inspect(in): guardrails over every text the caller sends.
    pub fn inspect_input<'a>(
        &self,
        ctx: &mut Ctx,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Rejection> {
        let Some(list) = &self.blocklist else {
            return Ok(());
        };
        for t in texts {
            if let Some((s, e)) = list.find(t) {
                let start = t[..s].chars().count();
                ctx.findings.push(Finding {
                    detector: "blocklist".into(),
                    kind: "blocked_term".into(),
                    score: 1.0,
                    start,
                    end: start + t[s..e].chars().count(),
                });
                let mut r = Rejection::new(
                    ErrorCode::BlockedByGuardrail,
                    "the request was blocked by a content guardrail (blocked_term)",
                );
                r.finding_types = vec!["blocked_term".into()];
                return Err(r.at("inspect_in"));
            }
        }
        Ok(())
    }

    /// admit: limits and budgets. The limits issue makes this real; until then every
    /// identified and authorized request is admitted.
    pub fn admit(&self, _ctx: &mut Ctx) -> Result<(), Rejection> {
        Ok(())
    }

    /// A fresh output-inspection chain for one answer.
    pub fn output_chain(&self) -> OutputChain {
        let mut c = OutputChain::default();
        if let Some(list) = &self.blocklist {
            c.push_stage(Box::new(list.scanner()));
        }
        c
    }

    /// record for a completed, non-streamed answer: in strict mode a failed write turns the
    /// answer into a 500 (nothing is answered that was not recorded).
    pub async fn record_success(&self, ctx: &Ctx, resp: Response) -> Response {
        let ev = ctx.event("allow", resp.status().as_u16(), None);
        match self.auditor.record(ev).await {
            Ok(()) => resp,
            Err(e) => {
                tracing::error!(request_id = %ctx.rid, error = %e, "record stage failed");
                let rej = Rejection::internal("record").at("record");
                error_response(ctx.protocol, &rej, &ctx.rid)
            }
        }
    }

    /// record for a refusal, then the refusal itself.
    pub async fn reject(&self, ctx: &Ctx, rej: Rejection) -> Response {
        let decision = match rej.code {
            ErrorCode::InternalError
            | ErrorCode::UpstreamError
            | ErrorCode::UpstreamTimeout
            | ErrorCode::Unavailable => "error",
            _ => "block",
        };
        if let Err(e) = self
            .auditor
            .record(ctx.event(decision, rej.code.http_status(), Some(&rej)))
            .await
        {
            tracing::error!(request_id = %ctx.rid, error = %e, "record stage failed for a refusal");
        }
        tracing::info!(request_id = %ctx.rid, code = rej.code.as_str(), stage = rej.stage, "request refused");
        error_response(ctx.protocol, &rej, &ctx.rid)
    }
}

/// Maps an upstream failure to the caller-safe rejection (the detail stays in the log).
pub fn upstream_rejection(ctx: &mut Ctx, e: &gatehouse_llm::UpstreamError) -> Rejection {
    use gatehouse_llm::UpstreamErrorKind as K;
    tracing::warn!(request_id = %ctx.rid, error = %e, "forward stage failed");
    if let K::Status(s) = e.kind {
        ctx.upstream_status = Some(s);
    }
    let r = match e.kind {
        K::Timeout => Rejection::new(
            ErrorCode::UpstreamTimeout,
            "the upstream provider did not answer in time",
        ),
        K::Unsupported => {
            Rejection::invalid("this model's provider does not support this operation")
        }
        K::Status(s) => Rejection::new(
            ErrorCode::UpstreamError,
            format!("the upstream provider answered with status {s}"),
        ),
        K::Connect => Rejection::new(
            ErrorCode::UpstreamError,
            "the upstream provider could not be reached",
        ),
        K::Protocol => Rejection::new(
            ErrorCode::UpstreamError,
            "the upstream provider sent an invalid answer",
        ),
    };
    r.at("forward")
}
