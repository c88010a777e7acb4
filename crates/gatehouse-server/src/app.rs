//! Runtime state built once from a validated [`Config`].

use crate::config::{Config, ProviderKind};
use crate::inspect::Blocklist;
use gatehouse_audit::Auditor;
use gatehouse_identity::KeyStore;
use gatehouse_llm::provider::{
    HttpProvider, HttpSettings, MockProvider, MockReply, Provider, RetryPolicy, Secret, Target,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A public model and its ordered upstream targets.
#[derive(Debug)]
pub struct ModelRoute {
    /// Public name.
    pub name: String,
    /// Targets in fallback order.
    pub targets: Vec<Target>,
    /// Why the model may not be used (its signed artifacts failed verification at start-up).
    pub unavailable: Option<String>,
    /// The route's own system prompt.
    pub system_prompt: Option<String>,
    /// Whether clients may add system/developer messages when the route has its own.
    pub allow_client_system_prompt: bool,
}

/// Verifies a model's signed artifact directory; `Err` says why it must not be served.
fn verify_artifact(a: &crate::config::ArtifactConfig) -> Result<(), String> {
    use gatehouse_supply::signing::{self, Trust, VerifyingKey};
    let trust = if let Some(p) = &a.public_key {
        let pem = std::fs::read_to_string(p)
            .map_err(|e| format!("public key {}: {}", p.display(), e.kind()))?;
        Trust::Key(VerifyingKey::from_pem(&pem).map_err(|e| e.to_string())?)
    } else {
        let mut roots = Vec::new();
        for p in &a.ca_certificates {
            let pem = std::fs::read(p).map_err(|e| format!("CA {}: {}", p.display(), e.kind()))?;
            roots.extend(signing::x509::pem_certificates(&pem).map_err(|e| e.to_string())?);
        }
        Trust::Ca {
            roots,
            now: signing::unix_now(),
        }
    };
    let sig = a
        .signature
        .clone()
        .unwrap_or_else(|| a.path.join("model.sig"));
    let v = signing::verify_model(&a.path, &sig, &trust, false, &[]).map_err(|e| e.to_string())?;
    if v.diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} file(s) differ from the signed manifest",
            v.diffs.len()
        ))
    }
}

/// Everything a request needs, shared by all connections.
#[derive(Debug)]
pub struct App {
    /// The validated configuration.
    pub config: Config,
    /// API keys.
    pub keys: KeyStore,
    /// The record stage.
    pub auditor: Auditor,
    /// Public model name → route.
    pub models: HashMap<String, ModelRoute>,
    /// Public model names in config order (for `/v1/models`).
    pub model_order: Vec<String>,
    /// Blocklist guardrail, when configured.
    pub blocklist: Option<Arc<Blocklist>>,
    /// PII / secret engine, when `[detect]` is configured.
    pub detect: Option<gatehouse_detect::Engine>,
    /// Prompt-injection detector, when `[injection]` is configured.
    pub injection: Option<gatehouse_detect::injection::InjectionDetector>,
    /// Exfiltration / active-content sanitizer, when configured.
    pub exfil: Option<Arc<gatehouse_detect::injection::exfil::ExfilDetector>>,
    /// Masks every PII/secret finding in bodies stored in the audit log (`audit.body.mode =
    /// "redacted"`), whatever the guardrails do with them.
    pub audit_redactor: Option<gatehouse_detect::Engine>,
    /// The admit stage: rate limits, token quotas, budgets.
    pub limiter: gatehouse_limits::Limiter,
    /// JWT/OIDC verifier, when `[identity.jwt]` is configured.
    pub jwt: Option<gatehouse_identity::JwtVerifier>,
    /// The current, validated policy set; replaced whole on reload.
    pub policies: arc_swap::ArcSwap<gatehouse_policy::Policies>,
    /// Why the last reload was refused (the previous set stays in force), for `/readyz`.
    pub policy_error: std::sync::Mutex<Option<String>>,
    /// Prometheus metrics.
    pub metrics: crate::observe::Metrics,
    /// Trace export.
    pub telemetry: crate::telemetry::Telemetry,
    /// Anomaly detection and alerts.
    pub anomalies: crate::alerts::Anomalies,
    /// Provider name → kind (`openai`, `anthropic`, `mock`), for `gen_ai.provider.name`.
    pub provider_kinds: HashMap<String, &'static str>,
    /// Which learned models are in use (`[ml]`), for `/readyz`.
    pub ml_status: crate::ml::MlStatus,
    /// Whether a detector has a model attached (inference then runs off the async workers).
    pub models_attached: bool,
}

/// Why the app could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A provider credential could not be read.
    #[error("providers.{0}: {1}")]
    Credential(String, String),
    /// A provider client could not be created.
    #[error("providers.{0}: {1}")]
    Provider(String, String),
    /// The key store could not be opened.
    #[error("store: {0}")]
    Store(String),
    /// The audit sink could not be opened.
    #[error("audit: {0}")]
    Audit(String),
    /// A guardrail could not be built.
    #[error("guardrails: {0}")]
    Guardrail(String),
    /// The policy set is invalid.
    #[error("{0}")]
    Policy(String),
    /// Tracing or anomaly alerts could not start.
    #[error("{0}")]
    Observability(String),
}

fn read_credential(
    name: &str,
    env: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<Option<Secret>, BuildError> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim().to_owned()))),
            _ => Err(BuildError::Credential(
                name.to_owned(),
                format!("environment variable {var} is not set"),
            )),
        };
    }
    if let Some(path) = file {
        return match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim().to_owned()))),
            Ok(_) => Err(BuildError::Credential(
                name.to_owned(),
                format!("{} is empty", path.display()),
            )),
            Err(e) => Err(BuildError::Credential(
                name.to_owned(),
                format!("cannot read {}: {}", path.display(), e.kind()),
            )),
        };
    }
    Ok(None)
}

impl App {
    /// Builds providers, routes, the key store and the auditor.
    pub async fn build(config: Config) -> Result<App, BuildError> {
        let mut providers: HashMap<String, (Arc<Provider>, RetryPolicy)> = HashMap::new();
        for (name, p) in &config.providers {
            let retry = RetryPolicy {
                max_retries: p.max_retries,
                base_backoff: Duration::from_millis(p.retry_backoff_ms),
                max_backoff: Duration::from_secs(5),
            };
            let provider = match p.kind {
                ProviderKind::Mock => Provider::Mock(MockProvider {
                    latency: Duration::from_millis(p.latency_ms),
                    chunk_chars: p.chunk_chars,
                    chunk_delay: Duration::from_millis(p.chunk_delay_ms),
                    reply: if p.reply == "echo" {
                        MockReply::Echo
                    } else {
                        MockReply::Fixed(p.reply.clone())
                    },
                }),
                kind @ (ProviderKind::Openai | ProviderKind::Anthropic) => {
                    let api_key =
                        read_credential(name, p.api_key_env.as_deref(), p.api_key_file.as_deref())?;
                    let base_url = match (&p.base_url, kind) {
                        (Some(u), _) => u.clone(),
                        (None, _) => "https://api.anthropic.com".to_owned(),
                    };
                    let settings = HttpSettings {
                        name: name.clone(),
                        base_url,
                        api_key,
                        auth_header: p.auth_header.clone(),
                        query: p
                            .query
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        connect_timeout: Duration::from_millis(p.connect_timeout_ms),
                        read_timeout: Duration::from_millis(p.read_timeout_ms),
                    };
                    let http = HttpProvider::new(settings)
                        .map_err(|e| BuildError::Provider(name.clone(), e.to_string()))?;
                    if kind == ProviderKind::Openai {
                        Provider::OpenAi(http)
                    } else {
                        Provider::Anthropic(http)
                    }
                }
            };
            providers.insert(name.clone(), (Arc::new(provider), retry));
        }
        let mut models = HashMap::new();
        let mut model_order = Vec::new();
        for m in &config.models {
            let targets = m
                .resolved_targets()
                .into_iter()
                .filter_map(|t| {
                    let (provider, retry) = providers.get(&t.provider)?.clone();
                    Some(Target {
                        provider_name: t.provider.clone(),
                        provider,
                        upstream_model: t.model.clone().unwrap_or_else(|| m.name.clone()),
                        retry,
                    })
                })
                .collect();
            let unavailable = match &m.artifact {
                None => None,
                Some(a) => match verify_artifact(a) {
                    Ok(()) => {
                        tracing::info!(model = %m.name, "model artifacts verified");
                        None
                    }
                    Err(why) => {
                        tracing::error!(model = %m.name, reason = %why, "model artifacts failed verification; the model will not be served");
                        Some(why)
                    }
                },
            };
            model_order.push(m.name.clone());
            models.insert(
                m.name.clone(),
                ModelRoute {
                    name: m.name.clone(),
                    targets,
                    unavailable,
                    system_prompt: m.system_prompt.clone(),
                    allow_client_system_prompt: m.allow_client_system_prompt,
                },
            );
        }
        let keys = match &config.store.url {
            Some(url) => KeyStore::open(url).await,
            None => KeyStore::open_path(&config.store.path).await,
        }
        .map_err(|e| BuildError::Store(e.to_string()))?
        .with_cache_ttl(Duration::from_secs(config.store.key_cache_ttl_secs));
        let audit_cfg = config
            .audit
            .auditor_config(&config.data_dir())
            .map_err(BuildError::Audit)?;
        let auditor = Auditor::start(audit_cfg).map_err(|e| BuildError::Audit(e.to_string()))?;
        for m in &config.models {
            if m.artifact.is_some() {
                let why = models
                    .get(&m.name)
                    .and_then(|r: &ModelRoute| r.unavailable.clone());
                auditor.record_detached(gatehouse_audit::AuditEvent {
                    v: gatehouse_audit::SCHEMA_VERSION,
                    ts: gatehouse_audit::now_rfc3339(),
                    request_id: gatehouse_core::RequestId::new().as_str().to_owned(),
                    trace_id: None,
                    resource: None,
                    on_behalf_of: None,
                    policies: Vec::new(),
                    obligations: Vec::new(),
                    cost_usd_micros: None,
                    stage_us: Default::default(),
                    body: None,
                    hop: gatehouse_core::Hop::Admin,
                    route: "startup",
                    action: "verify_model",
                    principal: None,
                    key_id: None,
                    model: Some(m.name.clone()),
                    provider: None,
                    decision: if why.is_some() { "block" } else { "allow" },
                    code: why.as_ref().map(|_| "unavailable"),
                    reason: why,
                    stage: Some("verify_artifacts"),
                    status: 0,
                    findings: Vec::new(),
                    tokens: gatehouse_audit::Tokens::default(),
                    stream: false,
                    upstream_attempts: 0,
                    upstream_status: None,
                    latency_us: 0,
                    client: None,
                });
            }
        }
        let blocklist = if config.guardrails.blocklist.is_empty() {
            None
        } else {
            Some(Arc::new(
                Blocklist::new(&config.guardrails.blocklist).map_err(BuildError::Guardrail)?,
            ))
        };
        let detect = config
            .detect
            .as_ref()
            .map(gatehouse_detect::Engine::new)
            .transpose()
            .map_err(|e| BuildError::Guardrail(format!("detect: {e}")))?;
        let injection = config
            .injection
            .as_ref()
            .map(gatehouse_detect::injection::InjectionDetector::new)
            .transpose()
            .map_err(|e| BuildError::Guardrail(format!("injection: {e}")))?;
        let loaded = crate::ml::load(&config.ml, &config.base_dir, injection.is_some())
            .map_err(BuildError::Guardrail)?;
        let models_attached = loaded.attack.is_some() || loaded.entity.is_some();
        let injection = match (injection, &loaded.attack) {
            (Some(d), Some(m)) => Some(d.with_attack_model(m.clone())),
            (d, _) => d,
        };
        let detect = match (detect, &loaded.entity) {
            (Some(e), Some(m)) => Some(e.with_entity_model(m.clone())),
            (e, _) => e,
        };
        if let Some(s) = &loaded.status.semantic {
            let (lo, hi) = injection
                .as_ref()
                .map(|d| d.model_band())
                .unwrap_or_default();
            tracing::info!(model = %s, band = %format!("[{lo}, {hi})"), "prompt-attack layer 3 loaded");
        } else if let Some(why) = &loaded.status.semantic_unavailable {
            tracing::warn!(
                "prompt-attack layer 3 unavailable: {why}; scoring with signatures + classifier"
            );
        }
        if let Some(s) = &loaded.status.ner {
            tracing::info!(model = %s, "NER model loaded");
        }
        let ml_status = loaded.status;
        let exfil = config
            .guardrails
            .exfiltration
            .as_ref()
            .map(|c| gatehouse_detect::injection::exfil::ExfilDetector::new(c).map(Arc::new))
            .transpose()
            .map_err(|e| BuildError::Guardrail(format!("exfiltration: {e}")))?;
        let policies = config
            .compile_policies()
            .map_err(|e| BuildError::Policy(e.to_string()))?;
        tracing::info!(
            policies = policies.ids().len(),
            files = config.policy.files.len(),
            "policy set loaded"
        );
        let metrics = crate::observe::Metrics::new(
            &config.metrics,
            config.models.iter().map(|m| m.name.as_str()),
        );
        let telemetry = crate::telemetry::Telemetry::start(&config.tracing)
            .map_err(BuildError::Observability)?;
        let anomalies = crate::alerts::Anomalies::start(&config.anomaly, &config.base_dir)
            .map_err(BuildError::Observability)?;
        let provider_kinds = providers
            .iter()
            .map(|(name, (p, _))| {
                let kind = match p.as_ref() {
                    Provider::OpenAi(_) => "openai",
                    Provider::Anthropic(_) => "anthropic",
                    Provider::Mock(_) => "gatehouse.mock",
                };
                (name.clone(), kind)
            })
            .collect();
        let jwt = match &config.identity.jwt {
            None => None,
            Some(j) => {
                let v = gatehouse_identity::JwtVerifier::new(j)
                    .await
                    .map_err(|e| BuildError::Store(format!("identity.jwt: {e}")))?;
                v.spawn_refresh();
                for st in v.status() {
                    if !st.ready() {
                        tracing::warn!(issuer = %st.name, "JWT issuer has no keys yet; its tokens are refused until its keys load");
                    }
                }
                Some(v)
            }
        };
        gatehouse_limits::tokens::warm_up_for(config.models.iter().map(|m| m.name.as_str()));
        let usage_target = match &config.store.url {
            Some(u) => u.clone(),
            None => config.store.path.display().to_string(),
        };
        let usage = gatehouse_limits::UsageStore::open(&usage_target)
            .await
            .map_err(|e| BuildError::Store(format!("usage store: {e}")))?;
        let limiter = gatehouse_limits::Limiter::new(config.limits.clone(), Some(usage))
            .await
            .map_err(|e| BuildError::Store(format!("limits: {e}")))?;
        let audit_redactor = match config.audit.body.mode {
            crate::config::AuditBodyMode::Redacted => Some(
                gatehouse_detect::Engine::new(&gatehouse_detect::DetectConfig::default())
                    .map_err(|e| BuildError::Audit(format!("body redaction: {e}")))?,
            ),
            _ => None,
        };
        Ok(App {
            ml_status,
            models_attached,
            audit_redactor,
            limiter,
            metrics,
            telemetry,
            anomalies,
            provider_kinds,
            jwt,
            policies: arc_swap::ArcSwap::from_pointee(policies),
            policy_error: std::sync::Mutex::new(None),
            config,
            keys,
            auditor,
            models,
            model_order,
            blocklist,
            detect,
            injection,
            exfil,
        })
    }

    /// Problems that do not stop the gateway from serving but need an operator: a rejected
    /// policy reload (the previous, valid set stays in force — taking every instance out of
    /// the load balancer over a bad policy push would turn a typo into an outage).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Ok(g) = self.policy_error.lock()
            && let Some(e) = g.as_ref()
        {
            // The details (file, line, message) are in the log; /readyz is unauthenticated
            // and does not describe policies.
            let n = e.lines().count().saturating_sub(1).max(1);
            w.push(format!(
                "the last policy reload was rejected with {n} error(s); the previous policy set is in force (see the log)"
            ));
        }
        w
    }

    /// Why the gateway is not ready, if it is not.
    pub fn not_ready_reasons(&self) -> Vec<String> {
        let mut r = Vec::new();
        if let Some(j) = &self.jwt {
            for st in j.status() {
                if !st.ready() {
                    r.push(format!(
                        "JWT issuer {:?} has no signing keys (its identity provider was not reachable)",
                        st.name
                    ));
                }
            }
        }
        if !self.auditor.healthy() {
            r.push("audit sink is failing".to_owned());
        }
        for name in &self.model_order {
            if let Some(why) = self.models.get(name).and_then(|m| m.unavailable.as_ref()) {
                r.push(format!(
                    "model {name:?} failed artifact verification: {why}"
                ));
            }
        }
        r
    }

    /// Re-reads and validates the policy files. A valid set replaces the current one; an invalid
    /// one is refused (the current set stays in force, the error shows on `/readyz`). Returns the
    /// number of policies now loaded, or the error. Audited either way.
    pub fn reload_policies(&self) -> Result<usize, String> {
        let result = self.config.compile_policies();
        let (decision, reason, out) = match result {
            Ok(p) => {
                let n = p.ids().len();
                self.policies.store(Arc::new(p));
                if let Ok(mut g) = self.policy_error.lock() {
                    *g = None;
                }
                tracing::info!(policies = n, "policy set reloaded");
                ("allow", None, Ok(n))
            }
            Err(e) => {
                let msg = e.to_string();
                tracing::error!(error = %msg, "policy reload rejected; the previous policy set stays in force");
                if let Ok(mut g) = self.policy_error.lock() {
                    *g = Some(msg.clone());
                }
                ("block", Some("invalid_policy_set".to_owned()), Err(msg))
            }
        };
        let mut ev = gatehouse_audit::AuditEvent::new(
            gatehouse_core::RequestId::new().as_str(),
            gatehouse_core::Hop::Admin,
            "policy",
            "reload_policies",
            decision,
            0,
        );
        ev.reason = reason;
        ev.stage = Some("policy_reload");
        self.auditor.record_detached(ev);
        out
    }

    /// Reloads the policies on SIGHUP and, with `policy.watch`, when a policy file changes.
    /// Runs until the process ends.
    pub fn spawn_policy_reloader(self: &Arc<App>) {
        let weak = Arc::downgrade(self);
        let files = self.config.policy.files.clone();
        let base = self.config.base_dir.clone();
        let watch = self.config.policy.watch && !files.is_empty();
        let interval = Duration::from_millis(self.config.policy.watch_interval_ms.max(50));
        tokio::spawn(async move {
            let mut last = crate::policy_files::sources_fingerprint(&files, &base);
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            #[cfg(unix)]
            let mut hup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(s) => s.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<Option<()>>();
                tokio::select! {
                    _ = hangup => {
                        let Some(app) = weak.upgrade() else { break };
                        tracing::info!("SIGHUP: reloading policies");
                        let _ = app.reload_policies();
                        last = crate::policy_files::sources_fingerprint(&files, &base);
                    }
                    _ = tick.tick() => {
                        let Some(app) = weak.upgrade() else { break };
                        if !watch {
                            continue;
                        }
                        let now = crate::policy_files::sources_fingerprint(&files, &base);
                        if now != last {
                            last = now;
                            tracing::info!("policy files changed: reloading");
                            let _ = app.reload_policies();
                        }
                    }
                }
            }
        });
    }

    /// Whether audit events keep bodies (`audit.body.mode` is not `none`): callers skip
    /// gathering the text otherwise.
    pub fn stores_bodies(&self) -> bool {
        self.config.audit.body.mode != crate::config::AuditBodyMode::None
    }

    /// The text an audit event stores as a body, per `audit.body.mode`: `None` when bodies are
    /// not stored; with every PII and secret finding masked (`[TYPE]`) in `redacted` mode; the
    /// original in `encrypted` mode (the writer seals it before it reaches any sink). At most
    /// [`AUDIT_BODY_MAX`] bytes are kept.
    pub fn audit_body_text(&self, text: &str) -> Option<String> {
        use crate::config::AuditBodyMode;
        let text = truncate_utf8(text, AUDIT_BODY_MAX);
        match self.config.audit.body.mode {
            AuditBodyMode::None => None,
            AuditBodyMode::Encrypted => Some(text.to_owned()),
            AuditBodyMode::Redacted => Some(self.audit_redactor.as_ref()?.mask_for_storage(text)),
        }
    }
}

/// Most bytes of a request or response body an audit event keeps.
pub const AUDIT_BODY_MAX: usize = 64 * 1024;

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}
