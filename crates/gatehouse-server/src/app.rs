//! Runtime state built once from a validated [`Config`].

use crate::config::{AuditSinkKind, Config, ProviderKind};
use crate::inspect::Blocklist;
use gatehouse_audit::{Auditor, SinkConfig};
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
    pub fn build(config: Config) -> Result<App, BuildError> {
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
            model_order.push(m.name.clone());
            models.insert(
                m.name.clone(),
                ModelRoute {
                    name: m.name.clone(),
                    targets,
                },
            );
        }
        let keys = KeyStore::open(&config.store.path)
            .map_err(|e| BuildError::Store(e.to_string()))?
            .with_cache_ttl(Duration::from_secs(config.store.key_cache_ttl_secs));
        let sink = match config.audit.sink {
            AuditSinkKind::None => SinkConfig::None,
            AuditSinkKind::Stdout => SinkConfig::Stdout,
            AuditSinkKind::Jsonl => {
                SinkConfig::Jsonl(config.audit.path.clone().unwrap_or_default())
            }
        };
        let auditor = Auditor::start(sink, config.audit.strict, config.audit.queue)
            .map_err(|e| BuildError::Audit(e.to_string()))?;
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
        let exfil = config
            .guardrails
            .exfiltration
            .as_ref()
            .map(|c| gatehouse_detect::injection::exfil::ExfilDetector::new(c).map(Arc::new))
            .transpose()
            .map_err(|e| BuildError::Guardrail(format!("exfiltration: {e}")))?;
        Ok(App {
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

    /// Why the gateway is not ready, if it is not.
    pub fn not_ready_reasons(&self) -> Vec<String> {
        let mut r = Vec::new();
        if !self.auditor.healthy() {
            r.push("audit sink is failing".to_owned());
        }
        r
    }
}
