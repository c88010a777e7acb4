//! The checkpoint: identify → authorize → inspect(in) → admit → forward → inspect(out) → record.
//!
//! Each stage is a method over the request's [`Ctx`] that returns `Result<_, Rejection>`; a stage
//! that fails internally returns a rejection too (fail closed: an error never lets a request
//! through). Routes call the stages in order; they contain no decisions of their own.

use crate::app::{App, ModelRoute};
use crate::error::{Protocol, error_response};
use crate::inspect::{OutputChain, stages};
use crate::telemetry::{RequestTrace, Stage};
use axum::response::Response;
use bytes::Bytes;
use gatehouse_audit::{AuditEvent, SCHEMA_VERSION, Tokens, now_rfc3339};
use gatehouse_core::Direction;
use gatehouse_core::{ErrorCode, Finding, Hop, Principal, Rejection, RequestId};
use gatehouse_detect::Pseudonymizer;
use gatehouse_detect::injection::canary::Canary;
use gatehouse_detect::injection::leak::LeakDetector;
use gatehouse_identity::AuthFailure;
use gatehouse_llm::openai::{ChatRequest, Content, ContentPart, Message, Role};
use gatehouse_policy::{Action, DataAction, Facts, Phase, Query, Resource};
use http::HeaderMap;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The client's address, put in request extensions by the listener.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// The client certificate's identity (mTLS), put in request extensions by the listener after a
/// handshake that verified the chain: the mapped service principal, or the reason code why the
/// certificate maps to none.
#[derive(Debug, Clone)]
pub struct PeerIdentity(pub std::sync::Arc<Result<Principal, &'static str>>);

/// What the checkpoint knows about one request; becomes its audit event.
#[derive(Debug)]
pub struct Ctx {
    /// Request id.
    pub rid: RequestId,
    /// When the gateway started on it.
    pub started: Instant,
    /// The caller's protocol.
    pub protocol: Protocol,
    /// Boundary crossed.
    pub hop: Hop,
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
    /// The user a service acts for (`context.on_behalf_of`).
    pub on_behalf_of: Option<Principal>,
    /// The client certificate's identity, on an mTLS connection.
    pub peer: Option<PeerIdentity>,
    /// Determining policy ids of the decisions made so far.
    pub policies: Vec<String>,
    /// Obligations applied.
    pub obligations: Vec<String>,
    /// Estimated prompt tokens (request bytes / 4 until the limits stage counts them).
    pub token_estimate: u64,
    /// The admit stage's reservation, settled with the real usage when the answer is complete.
    pub reservation: Option<gatehouse_limits::Reservation>,
    /// `x-ratelimit-*` values for the response.
    pub rate_headers: Option<gatehouse_limits::RateHeaders>,
    /// The request text for the audit event's body (per `audit.body.mode`: redacted, or the
    /// original to be sealed; `None` when bodies are not stored).
    pub body_request: Option<String>,
    /// The answer's text for the audit event's body, likewise.
    pub body_response: Option<String>,
    /// What the request cost, from `limits.prices` and the settled usage (micro-USD).
    pub cost_usd_micros: Option<u64>,
    /// Trace context and stage timings.
    pub trace: RequestTrace,
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

/// What inspection found, summarised for the second decision.
#[derive(Debug, Default)]
struct Inspected {
    injection_attack: bool,
    attack_kind: Option<&'static str>,
    data_action: DataAction,
}

impl Inspected {
    /// Folds one PII/secret scan into the request's inspection result.
    fn add_data(&mut self, ctx: &mut Ctx, out: gatehouse_detect::ScanOutcome) {
        if out.model_error {
            tracing::warn!("NER model failed on a text; the rule-based findings apply");
        }
        self.data_action = self.data_action.max(DataAction::from_verdict(out.verdict));
        ctx.findings.extend(out.findings);
    }
}

fn finding_facts(ctx: &Ctx, ins: &Inspected, facts: &mut Facts) {
    facts.phase = Phase::Post;
    facts.injection_score = ctx.injection_score;
    facts.injection_attack = ins.injection_attack;
    facts.data_action = ins.data_action;
    facts.add_findings(&ctx.findings);
}

/// The refusal for a policy deny. The body names the deciding policies (never their text) and,
/// for the second decision, what was found.
fn policy_rejection(
    ctx: &Ctx,
    d: &gatehouse_policy::Decision,
    phase: Phase,
    ins: Option<&Inspected>,
) -> Rejection {
    let stage = match phase {
        Phase::Pre => "authorize",
        Phase::Post => "inspect_in",
    };
    let mut r = if d.error.is_some() {
        Rejection::new(
            ErrorCode::Forbidden,
            "the request was denied: a policy could not be evaluated (failing closed)",
        )
    } else if phase == Phase::Pre {
        let what = ctx.model.as_deref().unwrap_or("this resource");
        if d.policies.is_empty() {
            Rejection::new(
                ErrorCode::Forbidden,
                format!("no policy permits this principal to use {what:?}"),
            )
        } else {
            Rejection::new(
                ErrorCode::Forbidden,
                format!("a policy forbids this principal to use {what:?}"),
            )
        }
    } else {
        let mut types: Vec<String> = Vec::new();
        let attack = d.reason.as_deref() == Some("prompt_attack")
            || (d.reason.is_none() && ins.is_some_and(|i| i.injection_attack));
        for f in &ctx.findings {
            let keep = if attack {
                f.detector == "injection"
            } else {
                f.detector != "injection"
            };
            if keep && !types.contains(&f.kind) && types.len() < 5 {
                types.push(f.kind.clone());
            }
        }
        let message = if attack {
            let kind = ins
                .and_then(|i| i.attack_kind)
                .unwrap_or("prompt_injection");
            if types.is_empty() {
                types.push(kind.to_owned());
            }
            format!("the request was blocked by a guardrail: prompt attack detected ({kind})")
        } else if types.is_empty() {
            "the request was blocked by policy".to_owned()
        } else {
            format!(
                "the request was blocked by a guardrail: it contains a secret or sensitive data ({})",
                types.join(", ")
            )
        };
        let mut r = Rejection::new(ErrorCode::BlockedByGuardrail, message);
        r.finding_types = types;
        r
    };
    if !d.policies.is_empty() {
        r.policy = Some(d.policies.join(","));
    }
    r.at(stage)
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
            hop: Hop::ModelCall,
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
            on_behalf_of: None,
            peer: None,
            policies: Vec::new(),
            obligations: Vec::new(),
            token_estimate: 0,
            reservation: None,
            rate_headers: None,
            body_request: None,
            body_response: None,
            cost_usd_micros: None,
            trace: RequestTrace::default(),
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
            trace_id: self.trace.trace_id_hex(),
            resource: self.model.as_ref().map(|m| format!("Model::{m:?}")),
            on_behalf_of: self.on_behalf_of.as_ref().map(|p| p.id.clone()),
            policies: self.policies.clone(),
            obligations: self.obligations.clone(),
            cost_usd_micros: self.cost_usd_micros,
            stage_us: self.trace.stage_us(),
            body: (self.body_request.is_some() || self.body_response.is_some()).then(|| {
                gatehouse_audit::AuditBody::Redacted {
                    request: self.body_request.clone(),
                    response: self.body_response.clone(),
                }
            }),
            hop: self.hop,
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

/// A compact JWS: three base64url segments, the first a JSON object (`eyJ`). Gatehouse API keys
/// (`gh_…`) never look like this.
fn looks_like_jwt(t: &str) -> bool {
    t.starts_with("eyJ") && t.bytes().filter(|b| *b == b'.').count() == 2
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    strip_bearer(headers.get(http::header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token of a `Bearer <token>` value (scheme case-insensitive).
fn strip_bearer(v: &str) -> Option<&str> {
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl App {
    /// identify: who is calling. In order: a bearer JWT from a configured issuer (a token shaped
    /// `header.payload.signature`), a Gatehouse API key (`Authorization: Bearer` in both
    /// protocols, `x-api-key` for Anthropic), else the verified client certificate (mTLS). A
    /// service may name the user it acts for with a JWT in the configured on-behalf-of header.
    /// Every refusal is a 401 with a reason code (audited, never the credential); a store failure
    /// is a 500 (never a pass).
    pub async fn identify(
        &self,
        ctx: &mut Ctx,
        headers: &HeaderMap,
    ) -> Result<Principal, Rejection> {
        ctx.trace.enter(Stage::Identify);
        let peer = ctx.peer.clone();
        let principal = self.identify_caller(ctx, headers, peer.as_ref()).await?;
        ctx.principal = Some(principal.clone());
        self.identify_on_behalf_of(ctx, headers, &principal).await?;
        ctx.trace.leave();
        Ok(principal)
    }

    async fn identify_caller(
        &self,
        ctx: &mut Ctx,
        headers: &HeaderMap,
        peer: Option<&PeerIdentity>,
    ) -> Result<Principal, Rejection> {
        let token = bearer(headers).or_else(|| match ctx.protocol {
            Protocol::Anthropic => headers.get("x-api-key").and_then(|v| v.to_str().ok()),
            Protocol::OpenAi => None,
        });
        let unauthenticated = |ctx: &mut Ctx, reason: &str, msg: &str| {
            ctx.reason = Some(reason.to_owned());
            Rejection::new(ErrorCode::Unauthenticated, msg).at("identify")
        };
        if let Some(t) = token
            && looks_like_jwt(t)
        {
            let Some(jwt) = &self.jwt else {
                return Err(unauthenticated(
                    ctx,
                    "jwt_not_accepted",
                    "bearer tokens are not accepted here; use an API key",
                ));
            };
            return match jwt.verify(t).await {
                Ok(p) => Ok(p),
                Err(f) => Err(unauthenticated(
                    ctx,
                    f.reason(),
                    &format!("invalid token ({})", f.reason()),
                )),
            };
        }
        let failure = match token {
            None => {
                if let Some(PeerIdentity(id)) = peer {
                    return match id.as_ref() {
                        Ok(p) => Ok(p.clone()),
                        Err(reason) => Err(unauthenticated(
                            ctx,
                            reason,
                            &format!("the client certificate maps to no principal ({reason})"),
                        )),
                    };
                }
                AuthFailure::Missing
            }
            Some(t) => match self.keys.verify(t).await {
                Ok(Ok(p)) => return Ok(p),
                Ok(Err(f)) => f,
                Err(e) => {
                    tracing::error!(request_id = %ctx.rid, error = %e, "identify stage failed");
                    return Err(Rejection::internal("identify").at("identify"));
                }
            },
        };
        let msg = match failure {
            AuthFailure::Missing => "no API key: send Authorization: Bearer <key>",
            AuthFailure::Revoked => "the API key has been revoked",
            AuthFailure::Expired => "the API key has expired",
            _ => "invalid API key",
        };
        Err(unauthenticated(ctx, failure.reason(), msg))
    }

    /// The user a service acts for: a JWT in the configured header, verified like any other.
    /// Only services may act for someone; the user must be a user principal.
    async fn identify_on_behalf_of(
        &self,
        ctx: &mut Ctx,
        headers: &HeaderMap,
        principal: &Principal,
    ) -> Result<(), Rejection> {
        let Some(jwt) = &self.jwt else {
            return Ok(());
        };
        let Some(name) = jwt.header() else {
            return Ok(());
        };
        let Some(value) = headers.get(name) else {
            return Ok(());
        };
        let fail = |ctx: &mut Ctx, code: ErrorCode, reason: String, msg: String| {
            ctx.reason = Some(reason);
            Err(Rejection::new(code, msg).at("identify"))
        };
        if principal.kind != gatehouse_core::PrincipalKind::Service {
            return fail(
                ctx,
                ErrorCode::Forbidden,
                "on_behalf_of_not_a_service".into(),
                "only services may act on behalf of a user".into(),
            );
        }
        // The header carries the bare token or `Bearer <token>`.
        let raw = value.to_str().unwrap_or("");
        let token = strip_bearer(raw).unwrap_or(raw.trim());
        match jwt.verify(token).await {
            Ok(user) if user.kind == gatehouse_core::PrincipalKind::User => {
                ctx.on_behalf_of = Some(user);
                Ok(())
            }
            Ok(_) => fail(
                ctx,
                ErrorCode::Unauthenticated,
                "on_behalf_of_not_a_user".into(),
                "the on-behalf-of token must identify a user".into(),
            ),
            Err(f) => fail(
                ctx,
                ErrorCode::Unauthenticated,
                format!("on_behalf_of_{}", f.reason()),
                format!("invalid on-behalf-of token ({})", f.reason()),
            ),
        }
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

    /// The request attributes of the context, before inspection.
    pub fn facts(&self, ctx: &Ctx) -> Facts {
        Facts {
            phase: Phase::Pre,
            protocol: match ctx.protocol {
                Protocol::OpenAi => "openai",
                Protocol::Anthropic => "anthropic",
            }
            .to_owned(),
            source_ip: ctx.client.map(|a| a.ip()),
            time: unix_now(),
            token_estimate: ctx.token_estimate,
            stream: ctx.stream,
            ..Facts::default()
        }
    }

    fn decide(
        &self,
        ctx: &Ctx,
        principal: &Principal,
        model: &str,
        facts: &Facts,
    ) -> gatehouse_policy::Decision {
        let resource = Resource::Model {
            id: model.to_owned(),
            attrs: None,
        };
        let d = self.policies.load().authorize(&Query {
            principal,
            on_behalf_of: ctx.on_behalf_of.as_ref(),
            action: Action::InvokeModel,
            resource: &resource,
            facts,
        });
        if let Some(e) = &d.error {
            tracing::error!(request_id = %ctx.rid, error = %e, policies = ?d.policies, "authorization failed closed");
        }
        d
    }

    /// authorize (first decision): the model must be configured and available, allowed for
    /// this credential, and permitted by policy for this principal. Default deny.
    pub fn authorize(
        &self,
        ctx: &mut Ctx,
        principal: &Principal,
        model: &str,
    ) -> Result<&ModelRoute, Rejection> {
        ctx.trace.enter(Stage::Authorize);
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
        let facts = self.facts(ctx);
        let d = self.decide(ctx, principal, model, &facts);
        ctx.policies.clone_from(&d.policies);
        if !d.allowed {
            ctx.reason = Some(d.reason.clone().unwrap_or_else(|| "policy_deny".into()));
            return Err(policy_rejection(ctx, &d, Phase::Pre, None));
        }
        ctx.trace.leave();
        Ok(route)
    }

    /// Models this principal may invoke (first decision for each), in config order.
    pub fn visible_models(&self, ctx: &Ctx, principal: &Principal) -> Vec<&str> {
        let facts = self.facts(ctx);
        self.model_order
            .iter()
            .filter(|m| principal.allowed_models.is_empty() || principal.allowed_models.contains(m))
            .filter(|m| {
                self.models
                    .get(m.as_str())
                    .is_some_and(|r| r.unavailable.is_none())
                    && self.decide(ctx, principal, m, &facts).allowed
            })
            .map(String::as_str)
            .collect()
    }

    /// The second decision, given what inspection found. A deny refuses the request; an allow
    /// returns the obligations to apply.
    fn decide_after_inspection(
        &self,
        ctx: &mut Ctx,
        principal: &Principal,
        ins: &Inspected,
    ) -> Result<Vec<String>, Rejection> {
        let model = ctx.model.clone().unwrap_or_default();
        let mut facts = self.facts(ctx);
        finding_facts(ctx, ins, &mut facts);
        let d = self.decide(ctx, principal, &model, &facts);
        ctx.policies.clone_from(&d.policies);
        if !d.allowed {
            ctx.reason = Some(d.reason.clone().unwrap_or_else(|| "policy_deny".into()));
            return Err(policy_rejection(ctx, &d, Phase::Post, Some(ins)));
        }
        ctx.obligations.clone_from(&d.obligations);
        Ok(d.obligations)
    }

    /// Runs a detector call; with a model attached (inference takes milliseconds) it runs
    /// without stalling the async workers.
    fn run_detector<T>(&self, f: impl FnOnce() -> T) -> T {
        if self.models_attached {
            crate::ml::blocking(f)
        } else {
            f()
        }
    }

    /// Scores one text for prompt attacks; the detector's findings are kept when it calls the
    /// text an attack.
    fn score_injection(&self, ctx: &mut Ctx, ins: &mut Inspected, t: &str, direction: Direction) {
        if let Some(inj) = &self.injection {
            let r = self.run_detector(|| inj.score(t, direction));
            if let Some(e) = &r.model_error {
                tracing::warn!(error = %e, "prompt-attack model failed; the text counts as an attack (fail closed)");
            }
            ctx.injection_score = ctx.injection_score.max(r.score_milli);
            if r.is_attack {
                ins.injection_attack = true;
                if ins.attack_kind.is_none() {
                    ins.attack_kind = Some(r.kind.map(|k| k.as_str()).unwrap_or("injection"));
                }
                ctx.findings.extend(r.findings);
            }
        }
    }

    /// inspect(in) for texts that are not rewritten (embeddings): the blocklist, the detectors,
    /// and the second decision. Redaction is not applied to embedding inputs.
    pub fn inspect_input<'a>(
        &self,
        ctx: &mut Ctx,
        principal: &Principal,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Rejection> {
        ctx.trace.enter(Stage::InspectIn);
        let mut ins = Inspected::default();
        for t in texts {
            self.check_blocklist(ctx, t)?;
            self.score_injection(ctx, &mut ins, t, Direction::Input);
            if let Some(engine) = &self.detect {
                let out = self.run_detector(|| engine.scan(t, Direction::Input));
                ins.add_data(ctx, out);
            }
        }
        self.decide_after_inspection(ctx, principal, &ins)?;
        ctx.trace.leave();
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
    /// instructions are suspicious by themselves) and the PII/secret engine. Their findings go
    /// into the second policy decision, which blocks (attacks and secrets with the built-in
    /// policies) or allows with obligations: `redact` replaces PII in place by placeholders
    /// (restored in the answer by the output chain) or masks. Adds the canary to the system
    /// prompt when configured.
    pub fn inspect_request(
        &self,
        ctx: &mut Ctx,
        principal: &Principal,
        route: &ModelRoute,
        req: &mut ChatRequest,
    ) -> Result<RequestGuards, Rejection> {
        ctx.trace.enter(Stage::InspectIn);
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
        let mut ins = Inspected::default();
        // The rewritten form of every text, in iteration order, applied only if policy asks.
        let mut rewritten: Vec<Option<String>> = Vec::new();
        for m in &mut req.messages {
            let direction = match m.role {
                Role::Tool | Role::Function => Direction::ToolResult,
                _ => Direction::Input,
            };
            let is_instructions = matches!(m.role, Role::System | Role::Developer);
            let scored = matches!(m.role, Role::User | Role::Tool | Role::Function);
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
                } else if scored {
                    self.score_injection(ctx, &mut ins, t, direction);
                }
                let mut out_text = None;
                if let Some(engine) = &self.detect {
                    let mut out = self.run_detector(|| {
                        if self.config.guardrails.pseudonymize {
                            engine.pseudonymize(t, direction, &mut ps)
                        } else {
                            engine.scan(t, direction)
                        }
                    });
                    out_text = out.redacted.take();
                    ins.add_data(ctx, out);
                }
                rewritten.push(out_text);
            }
        }
        let obligations = self.decide_after_inspection(ctx, principal, &ins)?;
        if obligations.iter().any(|o| o == "redact") && rewritten.iter().any(Option::is_some) {
            let mut next = rewritten.into_iter();
            for m in &mut req.messages {
                let Some(content) = m.content.as_mut() else {
                    continue;
                };
                for t in content.texts_mut() {
                    if let Some(Some(r)) = next.next() {
                        *t = r;
                        modified = true;
                    }
                }
            }
        } else {
            // Nothing was replaced, so nothing may be "restored" in the answer.
            ps = Pseudonymizer::new();
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
        ctx.trace.leave();
        Ok(RequestGuards {
            pseudonyms: ps,
            canary,
            system_prompt,
            modified,
        })
    }

    /// admit: rate limits, token quotas, budgets and concurrency for every level that applies
    /// (key, principal, team, model, provider, org). Reserves the prompt's tokens plus the output
    /// allowance; the reservation is settled with the real usage when the answer is complete
    /// (or with what was used, when it fails or is cancelled). Returns the output clamp to apply
    /// to the request, if a rule caps `max_tokens`.
    pub async fn admit(
        &self,
        ctx: &mut Ctx,
        principal: &Principal,
        route: &ModelRoute,
        prompt: &str,
        requested_max_output: Option<u32>,
    ) -> Result<Option<u32>, Rejection> {
        ctx.trace.enter(Stage::Admit);
        let provider = route
            .targets
            .first()
            .map(|t| t.provider_name.as_str())
            .unwrap_or("");
        let adm = self
            .limiter
            .admit(&gatehouse_limits::AdmitRequest {
                principal,
                model: &route.name,
                provider,
                prompt: gatehouse_limits::Prompt::Text(prompt),
                requested_max_output,
                overrides: None,
            })
            .await;
        ctx.trace.leave();
        let adm = adm.map_err(|r| {
            ctx.reason = Some(r.code.as_str().to_owned());
            r.at("admit")
        })?;
        ctx.token_estimate = u64::from(adm.prompt_tokens);
        ctx.rate_headers = Some(adm.headers);
        ctx.reservation = Some(adm.reservation);
        Ok(adm.clamp_max_output)
    }

    /// The request's cost from the price table (`limits.prices`, else `limits.default_price`)
    /// and the tokens the upstream reported.
    pub fn price(&self, ctx: &mut Ctx) {
        let limits = &self.config.limits;
        let price = ctx
            .model
            .as_deref()
            .and_then(|m| limits.prices.get(m))
            .or(limits.default_price.as_ref());
        if let Some(p) = price
            && (ctx.tokens.input > 0 || ctx.tokens.output > 0)
        {
            let usd = f64::from(ctx.tokens.input) * p.input_per_mtok / 1e6
                + f64::from(ctx.tokens.output) * p.output_per_mtok / 1e6;
            if usd.is_finite() && usd >= 0.0 {
                ctx.cost_usd_micros = Some((usd * 1e6).round() as u64);
            }
        }
    }

    /// Settles the request's reservation with the usage the upstream reported; when it
    /// answered without reporting usage, with the counted prompt; when it never answered
    /// (refused, failed), with nothing.
    pub async fn settle(&self, ctx: &mut Ctx) {
        self.price(ctx);
        if let Some(r) = ctx.reservation.take() {
            r.settle(settled_usage(ctx)).await;
        }
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
    pub async fn record_success(&self, ctx: &mut Ctx, mut resp: Response) -> Response {
        self.settle(ctx).await;
        add_rate_headers(ctx, &mut resp);
        ctx.trace.enter(Stage::Record);
        let ev = ctx.event("allow", resp.status().as_u16(), None);
        let written = self.auditor.record(ev.clone()).await;
        self.observe(ctx, &ev);
        match written {
            Ok(()) => resp,
            Err(e) => {
                tracing::error!(request_id = %ctx.rid, error = %e, "record stage failed");
                let rej = Rejection::internal("record").at("record");
                error_response(ctx.protocol, &rej, &ctx.rid)
            }
        }
    }

    /// record for a refusal, then the refusal itself.
    pub async fn reject(&self, ctx: &mut Ctx, rej: Rejection) -> Response {
        // A refused or failed request is charged what it used: nothing, unless the upstream
        // answered.
        self.settle(ctx).await;
        if matches!(
            rej.code,
            ErrorCode::BlockedByGuardrail | ErrorCode::Forbidden | ErrorCode::Unauthenticated
        ) && let Some(p) = &ctx.principal
            && self.limiter.record_rejection(&p.id).await
        {
            tracing::warn!(request_id = %ctx.rid, principal = %p.id, "cool-down started after repeated refusals");
            let mut ev = gatehouse_audit::AuditEvent::new(
                ctx.rid.as_str(),
                Hop::Admin,
                ctx.route,
                "cooldown",
                "block",
                0,
            );
            ev.principal = Some(p.id.clone());
            ev.reason = Some("cooldown_started".into());
            ev.stage = Some("admit");
            self.auditor.record_detached(ev);
        }
        let decision = match rej.code {
            ErrorCode::InternalError
            | ErrorCode::UpstreamError
            | ErrorCode::UpstreamTimeout
            | ErrorCode::Unavailable => "error",
            _ => "block",
        };
        ctx.trace.enter(Stage::Record);
        let ev = ctx.event(decision, rej.code.http_status(), Some(&rej));
        if let Err(e) = self.auditor.record(ev.clone()).await {
            tracing::error!(request_id = %ctx.rid, error = %e, "record stage failed for a refusal");
        }
        self.observe(ctx, &ev);
        tracing::info!(request_id = %ctx.rid, code = rej.code.as_str(), stage = rej.stage, "request refused");
        let mut resp = error_response(ctx.protocol, &rej, &ctx.rid);
        add_rate_headers(ctx, &mut resp);
        resp
    }
}

/// The `x-ratelimit-*` headers of the admit stage's decision.
pub fn add_rate_headers(ctx: &Ctx, resp: &mut Response) {
    apply_rate_headers(ctx.rate_headers.as_ref(), resp);
}

/// Sets the `x-ratelimit-*` headers of `h` on `resp`.
pub fn apply_rate_headers(h: Option<&gatehouse_limits::RateHeaders>, resp: &mut Response) {
    if let Some(h) = h {
        for (name, value) in h.pairs() {
            if let Ok(v) = http::HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
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

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What a request is charged at settlement: the usage the upstream reported; when it answered
/// without reporting usage, the counted prompt; when it never answered, nothing.
pub fn settled_usage(ctx: &Ctx) -> gatehouse_limits::Usage {
    let answered = ctx.upstream_status.is_some_and(|s| (200..300).contains(&s));
    let input = if ctx.tokens.input > 0 || !answered {
        ctx.tokens.input
    } else {
        u32::try_from(ctx.token_estimate).unwrap_or(u32::MAX)
    };
    gatehouse_limits::Usage {
        input,
        output: ctx.tokens.output,
    }
}
