//! The checkpoint: identify → authorize → inspect(in) → admit → forward → inspect(out) → record.
//!
//! Each stage is a method over the request's [`Ctx`] that returns `Result<_, Rejection>`; a stage
//! that fails internally returns a rejection too (fail closed: an error never lets a request
//! through). Routes call the stages in order; they contain no decisions of their own.

use crate::app::{App, ModelRoute};
use crate::error::{Protocol, error_response};
use crate::inspect::{OutputChain, stages};
use axum::response::Response;
use bytes::Bytes;
use gatehouse_audit::{AuditEvent, SCHEMA_VERSION, Tokens, now_rfc3339};
use gatehouse_core::{Direction, Verdict};
use gatehouse_core::{ErrorCode, Finding, Hop, Principal, Rejection, RequestId};
use gatehouse_detect::Pseudonymizer;
use gatehouse_detect::injection::canary::Canary;
use gatehouse_detect::injection::leak::LeakDetector;
use gatehouse_identity::AuthFailure;
use gatehouse_llm::openai::{ChatRequest, Content, ContentPart, Message, Role};
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
    /// Highest injection score seen in the request, 0–1000.
    pub injection_score: u32,
}

/// What inspect(in) hands to inspect(out) for the same request. Lives only as long as the
/// request; the pseudonym mapping is never stored or logged.
#[derive(Debug, Default)]
pub struct RequestGuards {
    /// Placeholders given to the prompt's PII.
    pub pseudonyms: Pseudonymizer,
    /// The canary inserted into the system prompt.
    pub canary: Option<Canary>,
    /// The request's system prompt (for the leak check).
    pub system_prompt: String,
    /// Whether inspection rewrote the request (redaction, canary); if not, the original body
    /// may be forwarded as it came.
    pub modified: bool,
}

fn attack_rejection(kind: &str) -> Rejection {
    let mut r = Rejection::new(
        ErrorCode::BlockedByGuardrail,
        format!("the request was blocked by a guardrail: prompt attack detected ({kind})"),
    );
    r.finding_types = vec![kind.to_owned()];
    r.at("inspect_in")
}

fn data_rejection(ctx: &mut Ctx, findings: Vec<Finding>) -> Rejection {
    let mut kinds: Vec<String> = Vec::new();
    for f in &findings {
        if f.detector == "secrets" && !kinds.contains(&f.kind) {
            kinds.push(f.kind.clone());
        }
    }
    if kinds.is_empty() {
        kinds = findings.iter().map(|f| f.kind.clone()).take(3).collect();
    }
    ctx.findings.extend(findings);
    let mut r = Rejection::new(
        ErrorCode::BlockedByGuardrail,
        format!(
            "the request was blocked by a guardrail: it contains a secret or sensitive data ({})",
            kinds.join(", ")
        ),
    );
    r.finding_types = kinds;
    r.at("inspect_in")
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
            injection_score: 0,
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
            trace_id: None,
            resource: None,
            on_behalf_of: None,
            policies: Vec::new(),
            obligations: Vec::new(),
            cost_usd_micros: None,
            stage_us: Default::default(),
            body: None,
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
        if route.unavailable.is_some() {
            return Err(Rejection::new(
                ErrorCode::Unavailable,
                format!("model {model:?} is unavailable: its signed artifacts failed verification"),
            )
            .at("authorize"));
        }
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

    /// inspect(in) for texts that are not rewritten (embeddings): the blocklist, and a block
    /// on secrets or attacks. Redaction is not applied to embedding inputs.
    pub fn inspect_input<'a>(
        &self,
        ctx: &mut Ctx,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Rejection> {
        for t in texts {
            self.check_blocklist(ctx, t)?;
            if let Some(inj) = &self.injection {
                let r = inj.score(t, Direction::Input);
                ctx.injection_score = ctx.injection_score.max(r.score_milli);
                if r.is_attack {
                    ctx.findings.extend(r.findings);
                    return Err(attack_rejection(
                        r.kind.map(|k| k.as_str()).unwrap_or("injection"),
                    ));
                }
            }
            if let Some(engine) = &self.detect {
                let out = engine.scan(t, Direction::Input);
                if out.verdict == Verdict::Block {
                    return Err(data_rejection(ctx, out.findings));
                }
                ctx.findings.extend(out.findings);
            }
        }
        Ok(())
    }

    fn check_blocklist(&self, ctx: &mut Ctx, t: &str) -> Result<(), Rejection> {
        let Some(list) = &self.blocklist else {
            return Ok(());
        };
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
        Ok(())
    }

    /// inspect(in) for a chat request: every message's text passes the blocklist, the
    /// injection detector (user text as `input`, tool results as `tool_result`, where planted
    /// instructions are suspicious by themselves) and the PII/secret engine. Secrets and attacks
    /// block; PII is replaced in place by placeholders (restored in the answer by the output
    /// chain) or masks. Adds the canary to the system prompt when configured.
    pub fn inspect_request(
        &self,
        ctx: &mut Ctx,
        route: &ModelRoute,
        req: &mut ChatRequest,
    ) -> Result<RequestGuards, Rejection> {
        let mut ps = Pseudonymizer::new();
        let mut system_prompt = String::new();
        let mut modified = false;
        if let Some(own) = &route.system_prompt {
            let overrides = req
                .messages
                .iter()
                .any(|m| matches!(m.role, Role::System | Role::Developer));
            if overrides && !route.allow_client_system_prompt {
                let mut r = Rejection::new(
                    ErrorCode::BlockedByGuardrail,
                    "this model has its own system prompt; requests may not set or override it (send user messages only)",
                );
                r.finding_types = vec!["system_prompt_override".into()];
                return Err(r.at("inspect_in"));
            }
            req.messages
                .insert(0, Message::text(Role::System, own.clone()));
            modified = true;
        }
        for m in &mut req.messages {
            let direction = match m.role {
                Role::Tool | Role::Function => Direction::ToolResult,
                _ => Direction::Input,
            };
            let is_instructions = matches!(m.role, Role::System | Role::Developer);
            let Some(content) = m.content.as_mut() else {
                continue;
            };
            for t in content.texts_mut() {
                self.check_blocklist(ctx, t)?;
                if is_instructions {
                    // The application's own instructions: not scored as an attack, but kept for
                    // the leak check and still scanned for secrets and PII below.
                    system_prompt.push_str(t);
                    system_prompt.push('\n');
                } else if matches!(m.role, Role::User | Role::Tool | Role::Function)
                    && let Some(inj) = &self.injection
                {
                    let r = inj.score(t, direction);
                    ctx.injection_score = ctx.injection_score.max(r.score_milli);
                    if r.is_attack {
                        ctx.findings.extend(r.findings);
                        let kind = r.kind.map(|k| k.as_str()).unwrap_or("injection");
                        return Err(attack_rejection(kind));
                    }
                }
                if let Some(engine) = &self.detect {
                    let out = if self.config.guardrails.pseudonymize {
                        engine.pseudonymize(t, direction, &mut ps)
                    } else {
                        engine.scan(t, direction)
                    };
                    if out.verdict == Verdict::Block {
                        return Err(data_rejection(ctx, out.findings));
                    }
                    ctx.findings.extend(out.findings);
                    if let Some(r) = out.redacted {
                        *t = r;
                        modified = true;
                    }
                }
            }
        }
        let canary = self.config.guardrails.canary.then(Canary::random);
        if let Some(c) = &canary {
            let line = c.system_prompt_line();
            match req
                .messages
                .iter_mut()
                .find(|m| matches!(m.role, Role::System | Role::Developer))
            {
                Some(m) => match m.content.as_mut() {
                    Some(Content::Text(t)) => {
                        t.push_str("\n\n");
                        t.push_str(&line);
                    }
                    Some(Content::Parts(parts)) => parts.push(ContentPart {
                        kind: "text".into(),
                        text: Some(line),
                        extra: Default::default(),
                    }),
                    None => m.content = Some(Content::Text(line)),
                },
                None => req.messages.insert(0, Message::text(Role::System, line)),
            }
        }
        modified |= canary.is_some();
        Ok(RequestGuards {
            pseudonyms: ps,
            canary,
            system_prompt,
            modified,
        })
    }

    /// admit: limits and budgets. The limits issue makes this real; until then every
    /// identified and authorized request is admitted.
    pub fn admit(&self, _ctx: &mut Ctx) -> Result<(), Rejection> {
        Ok(())
    }

    /// A fresh output-inspection chain for one answer. Order: canary and leak checks see the
    /// model's own words, then links are sanitized, then PII/secrets are redacted, and last the
    /// caller's own values are put back in place of their placeholders.
    pub fn output_chain(&self, guards: RequestGuards) -> OutputChain {
        let mut c = OutputChain::default();
        if let Some(list) = &self.blocklist {
            c.push_stage(Box::new(list.scanner()));
        }
        if let Some(canary) = guards.canary {
            c.push_stage(Box::new(stages::Tripwire::canary(canary)));
        }
        let min_words = self.config.guardrails.leak_min_words;
        if min_words > 0 && !guards.system_prompt.trim().is_empty() {
            c.push_stage(Box::new(stages::Tripwire::leak(LeakDetector::new(
                &guards.system_prompt,
                min_words,
            ))));
        }
        if let Some(ex) = &self.exfil {
            c.push_stage(Box::new(stages::Exfil::new(ex.clone())));
        }
        if let Some(engine) = &self.detect {
            c.push_stage(Box::new(stages::Pii::new(
                engine.stream_scanner(Direction::Output),
            )));
        }
        if !guards.pseudonyms.is_empty() {
            c.push_stage(Box::new(stages::Restore::new(guards.pseudonyms)));
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
