//! `gatehouse.toml`: parsed and validated in one place, handed down as typed structs.
//!
//! Parsing is strict (`deny_unknown_fields` everywhere); semantic validation collects every
//! problem with its path (`models[2].provider: unknown provider "opnai"`) instead of stopping
//! at the first.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener and input hardening.
    #[serde(default)]
    pub server: ServerConfig,
    /// Where keys and state live.
    #[serde(default)]
    pub store: StoreConfig,
    /// Audit sink.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Upstream providers by name.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Public models (aliases) and their upstream targets.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// Content guardrails.
    #[serde(default)]
    pub guardrails: GuardrailsConfig,
    /// PII and secret detection (`gatehouse-detect`); absent = off.
    #[serde(default)]
    pub detect: Option<gatehouse_detect::DetectConfig>,
    /// Prompt-injection / jailbreak detection; absent = off.
    #[serde(default)]
    pub injection: Option<gatehouse_detect::injection::InjectionConfig>,
    /// Identity sources besides API keys.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Authorization policies (Cedar).
    #[serde(default)]
    pub policy: gatehouse_policy::PolicyConfig,
    /// Rate limits, token quotas and budgets.
    #[serde(default)]
    pub limits: gatehouse_limits::LimitsConfig,
    /// Prometheus metrics listener.
    #[serde(default)]
    pub metrics: crate::observe::MetricsConfig,
    /// OpenTelemetry traces.
    #[serde(default)]
    pub tracing: crate::telemetry::TracingConfig,
    /// Per-principal anomaly detection and alerts.
    #[serde(default)]
    pub anomaly: crate::alerts::AnomalyConfig,
    /// Learned models for the detectors (layer 3 of the prompt-attack cascade, NER).
    #[serde(default)]
    pub ml: crate::ml::MlConfig,
    /// The directory relative paths in this file are resolved against (the file's directory).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[identity]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// `[identity.jwt]`: bearer JWTs from OIDC issuers (and the on-behalf-of user token header).
    pub jwt: Option<gatehouse_identity::JwtConfig>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: String,
    /// Largest request body accepted (bytes); larger gets 413.
    pub max_body_bytes: usize,
    /// Longest request URI (bytes); longer gets 414.
    pub max_uri_bytes: usize,
    /// Largest total size of request headers (bytes).
    pub max_header_bytes: usize,
    /// Most concurrent client connections; further ones wait in the accept backlog.
    pub max_connections: usize,
    /// Time a client has to send its request head (ms).
    pub header_read_timeout_ms: u64,
    /// Time a client has to send its body (ms); slower gets 408.
    pub body_read_timeout_ms: u64,
    /// Time connections get to finish on shutdown (ms).
    pub shutdown_grace_ms: u64,
    /// Optional TLS termination.
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8787".to_owned(),
            max_body_bytes: 4 * 1024 * 1024,
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            shutdown_grace_ms: 10_000,
            tls: None,
        }
    }
}

/// `[server.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// Client certificates (mTLS): validated against `ca_bundle`, mapped to service principals.
    #[serde(default)]
    pub client_auth: Option<gatehouse_identity::MtlsConfig>,
}

/// `[store]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// SQLite file for keys and state.
    pub path: PathBuf,
    /// PostgreSQL URL (`postgres://user@host:5432/db`) for the API keys; when set it is used
    /// instead of `path` for keys, so several gateways share them. Prefer `PGPASSWORD` over a
    /// password in the URL. Never printed (Debug redacts it).
    pub url: Option<String>,
    /// Seconds a key lookup is cached (revocations and rotation grace ends reach this gateway
    /// within it).
    pub key_cache_ttl_secs: u64,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("path", &self.path)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("key_cache_ttl_secs", &self.key_cache_ttl_secs)
            .finish()
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("gatehouse-data/gatehouse.db"),
            url: None,
            key_cache_ttl_secs: 2,
        }
    }
}

/// Audit sink kinds (the single-sink form `audit.sink = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditSinkKind {
    /// JSON lines on stdout.
    Stdout,
    /// JSON lines appended to `path`.
    Jsonl,
    /// SQLite file at `path` (default `<data dir>/audit.db`).
    Sqlite,
    /// Nothing (not recommended).
    None,
}

/// One entry of `[[audit.sinks]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum AuditSinkConfig {
    /// SQLite (WAL, STRICT tables).
    Sqlite {
        /// The file; default `<data dir>/audit.db`.
        #[serde(default)]
        path: Option<PathBuf>,
    },
    /// PostgreSQL.
    Postgres {
        /// Environment variable holding the connection URL (credentials never go in this file).
        #[serde(default)]
        url_env: Option<String>,
        /// File holding the connection URL.
        #[serde(default)]
        url_file: Option<PathBuf>,
        /// Schema for the tables (`[a-z_][a-z0-9_]*`), created when missing.
        #[serde(default = "default_pg_schema")]
        schema: String,
    },
    /// JSON lines, rotated by size.
    Jsonl {
        /// The active file.
        path: PathBuf,
        /// Rotate when a file would exceed this many bytes (0: never).
        #[serde(default = "default_rotate_bytes")]
        max_bytes: u64,
    },
    /// JSON lines on stdout.
    Stdout {},
    /// OpenTelemetry logs over OTLP/HTTP (JSON encoding) to `{endpoint}/v1/logs`. Cannot be
    /// read back: not usable as the primary for `gatehouse audit`.
    Otlp {
        /// Collector base URL (`http://127.0.0.1:4318`); `/v1/logs` is appended.
        endpoint: String,
        /// Request header name → environment variable holding its value (e.g. an API key).
        #[serde(default)]
        headers_env: BTreeMap<String, String>,
        /// Request header name → file holding its value.
        #[serde(default)]
        headers_file: BTreeMap<String, PathBuf>,
        /// Per-request timeout (connect and answer), milliseconds.
        #[serde(default = "default_otlp_timeout_ms")]
        timeout_ms: u64,
    },
}

fn default_otlp_timeout_ms() -> u64 {
    5_000
}

fn default_pg_schema() -> String {
    "gatehouse_audit".to_owned()
}

fn default_rotate_bytes() -> u64 {
    100 * 1024 * 1024
}

/// How audit bodies are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditBodyMode {
    /// Dropped.
    None,
    /// Stored as the caller passed them (already redacted).
    #[default]
    Redacted,
    /// Encrypted (XChaCha20-Poly1305, per-event data key wrapped by `active_key`).
    Encrypted,
}

/// A key-encryption key: `{ id = "k1", file = "…" }` or `{ id = "k1", env = "VAR" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditKeyConfig {
    /// Key id (stored with each encrypted body).
    pub id: String,
    /// File holding 64 hex characters.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Environment variable holding 64 hex characters.
    #[serde(default)]
    pub env: Option<String>,
}

/// `[audit.body]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditBodyConfig {
    /// `none`, `redacted` (default) or `encrypted`.
    pub mode: AuditBodyMode,
    /// Id of the key that encrypts new bodies.
    pub active_key: Option<String>,
    /// Every key that may be needed to read (the active one included).
    pub keys: Vec<AuditKeyConfig>,
}

/// `[audit]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Single-sink form; ignored when `sinks` is set. Neither set: SQLite in the data dir.
    pub sink: Option<AuditSinkKind>,
    /// File for `sink = "jsonl"` (required) or `sink = "sqlite"`.
    pub path: Option<PathBuf>,
    /// Several sinks; the first is the primary (the chain continues from it on restart).
    pub sinks: Vec<AuditSinkConfig>,
    /// Refuse requests whose event cannot be durably written (to its sinks or the spool).
    pub strict: bool,
    /// Events that may wait for the writer.
    pub queue: usize,
    /// Directory for spool files (default: the data dir).
    pub spool_dir: Option<PathBuf>,
    /// Ed25519 key that signs checkpoints (`gatehouse audit keygen`); default
    /// `<data dir>/audit-signing.key`, created on first start.
    pub signing_key: Option<PathBuf>,
    /// Sign a checkpoint every this many events …
    pub checkpoint_every: u64,
    /// … or this many seconds, whichever first.
    pub checkpoint_interval_secs: u64,
    /// Delete events older than this many days (absent: keep forever).
    pub retention_days: Option<u32>,
    /// Bodies.
    pub body: AuditBodyConfig,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            sink: None,
            path: None,
            sinks: Vec::new(),
            strict: false,
            queue: 65_536,
            spool_dir: None,
            signing_key: None,
            checkpoint_every: 1000,
            checkpoint_interval_secs: 60,
            retention_days: None,
            body: AuditBodyConfig::default(),
        }
    }
}

impl Config {
    /// The data directory: the directory of `store.path` (default `gatehouse-data`).
    pub fn data_dir(&self) -> PathBuf {
        self.store
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

impl AuditConfig {
    /// The sinks in effect, the primary first.
    pub fn resolved_sinks(&self, data_dir: &Path) -> Vec<AuditSinkConfig> {
        if !self.sinks.is_empty() {
            return self
                .sinks
                .iter()
                .map(|s| match s {
                    AuditSinkConfig::Sqlite { path: None } => AuditSinkConfig::Sqlite {
                        path: Some(data_dir.join("audit.db")),
                    },
                    other => other.clone(),
                })
                .collect();
        }
        match self.sink {
            Some(AuditSinkKind::None) => Vec::new(),
            Some(AuditSinkKind::Stdout) => vec![AuditSinkConfig::Stdout {}],
            Some(AuditSinkKind::Jsonl) => vec![AuditSinkConfig::Jsonl {
                path: self.path.clone().unwrap_or_default(),
                max_bytes: 0,
            }],
            Some(AuditSinkKind::Sqlite) | None => vec![AuditSinkConfig::Sqlite {
                path: Some(
                    self.path
                        .clone()
                        .unwrap_or_else(|| data_dir.join("audit.db")),
                ),
            }],
        }
    }

    /// Builds the writer's configuration: reads URLs and keys, and creates the default
    /// signing key when none is configured.
    pub fn auditor_config(
        &self,
        data_dir: &Path,
    ) -> Result<gatehouse_audit::AuditorConfig, String> {
        use gatehouse_audit::{BodyMode, CheckpointSigner, KeyRing, KeySource, SinkSpec};
        let mut specs = Vec::new();
        for s in self.resolved_sinks(data_dir) {
            specs.push(match s {
                AuditSinkConfig::Sqlite { path } => {
                    SinkSpec::Sqlite(path.unwrap_or_else(|| data_dir.join("audit.db")))
                }
                AuditSinkConfig::Postgres {
                    url_env,
                    url_file,
                    schema,
                } => SinkSpec::Postgres {
                    url: postgres_url(url_env.as_deref(), url_file.as_deref())?,
                    schema,
                },
                AuditSinkConfig::Jsonl { path, max_bytes } => SinkSpec::Jsonl { path, max_bytes },
                AuditSinkConfig::Stdout {} => SinkSpec::Stdout,
                AuditSinkConfig::Otlp {
                    endpoint,
                    headers_env,
                    headers_file,
                    timeout_ms,
                } => SinkSpec::Otlp {
                    endpoint,
                    headers: otlp_headers(&headers_env, &headers_file)?,
                    timeout: std::time::Duration::from_millis(timeout_ms.max(1)),
                },
            });
        }
        let mut cfg = gatehouse_audit::AuditorConfig::new(specs);
        cfg.strict = self.strict;
        cfg.queue = self.queue;
        cfg.spool_dir = self
            .spool_dir
            .clone()
            .unwrap_or_else(|| data_dir.to_path_buf());
        cfg.checkpoint_every = self.checkpoint_every;
        cfg.checkpoint_interval =
            std::time::Duration::from_secs(self.checkpoint_interval_secs.max(1));
        cfg.retention_days = self.retention_days;
        cfg.body = match self.body.mode {
            AuditBodyMode::None => BodyMode::None,
            AuditBodyMode::Redacted => BodyMode::Redacted,
            AuditBodyMode::Encrypted => BodyMode::Encrypted,
        };
        if !self.body.keys.is_empty() {
            let keys: Vec<(String, KeySource)> = self
                .body
                .keys
                .iter()
                .filter_map(|k| match (&k.file, &k.env) {
                    (Some(f), _) => Some((k.id.clone(), KeySource::File(f.clone()))),
                    (None, Some(e)) => Some((k.id.clone(), KeySource::Env(e.clone()))),
                    (None, None) => None,
                })
                .collect();
            let active = self
                .body
                .active_key
                .clone()
                .unwrap_or_else(|| self.body.keys[0].id.clone());
            cfg.keys = Some(std::sync::Arc::new(
                KeyRing::load(&active, &keys).map_err(|e| format!("audit.body: {e}"))?,
            ));
        }
        if !cfg.sinks.is_empty() {
            let signer = match &self.signing_key {
                Some(p) => CheckpointSigner::load(p),
                None => CheckpointSigner::load_or_generate(&data_dir.join("audit-signing.key")),
            }
            .map_err(|e| format!("audit.signing_key: {e}"))?;
            cfg.signer = Some(std::sync::Arc::new(signer));
        }
        Ok(cfg)
    }

    /// Where `gatehouse audit` reads this log: the primary sink.
    pub fn audit_source(&self, data_dir: &Path) -> Result<gatehouse_audit::AuditSource, String> {
        use gatehouse_audit::AuditSource;
        match self.resolved_sinks(data_dir).into_iter().next() {
            Some(AuditSinkConfig::Sqlite { path }) => Ok(AuditSource::Sqlite(
                path.unwrap_or_else(|| data_dir.join("audit.db")),
            )),
            Some(AuditSinkConfig::Postgres {
                url_env,
                url_file,
                schema,
            }) => Ok(AuditSource::Postgres {
                url: postgres_url(url_env.as_deref(), url_file.as_deref())?,
                schema,
            }),
            Some(AuditSinkConfig::Jsonl { path, .. }) => Ok(AuditSource::Jsonl(path)),
            Some(AuditSinkConfig::Stdout {} | AuditSinkConfig::Otlp { .. }) | None => Err(
                "the audit log is not stored here (primary sink is stdout, otlp or none)".into(),
            ),
        }
    }
}

/// Reads the OTLP sink's header values (secrets) from their environment variables and files.
/// Errors name the header and the variable or file, never the value.
fn otlp_headers(
    env: &BTreeMap<String, String>,
    files: &BTreeMap<String, PathBuf>,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (name, var) in env {
        let v = std::env::var(var).map_err(|_| {
            format!("audit otlp sink: header {name}: environment variable {var} is not set")
        })?;
        out.push((name.clone(), v.trim().to_owned()));
    }
    for (name, f) in files {
        let v = std::fs::read_to_string(f).map_err(|e| {
            format!(
                "audit otlp sink: header {name}: {}: {}",
                f.display(),
                e.kind()
            )
        })?;
        out.push((name.clone(), v.trim().to_owned()));
    }
    Ok(out)
}

fn postgres_url(env: Option<&str>, file: Option<&Path>) -> Result<String, String> {
    match (env, file) {
        (Some(v), _) => std::env::var(v)
            .map_err(|_| format!("audit postgres sink: environment variable {v} is not set")),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map(|s| s.trim().to_owned())
            .map_err(|e| format!("audit postgres sink: {}: {}", f.display(), e.kind())),
        (None, None) => Err("audit postgres sink: url_env or url_file is required".into()),
    }
}

/// Provider kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenAI-compatible API.
    Openai,
    /// Anthropic Messages API.
    Anthropic,
    /// Built-in mock.
    Mock,
}

/// `[providers.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Kind.
    pub kind: ProviderKind,
    /// Base URL (openai: up to `/v1`; anthropic: host root).
    pub base_url: Option<String>,
    /// Environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// File holding the API key.
    pub api_key_file: Option<PathBuf>,
    /// Header carrying the key for openai-kind providers: `authorization` (Bearer) or `api-key` (Azure).
    #[serde(default = "default_auth_header")]
    pub auth_header: String,
    /// Extra query parameters (e.g. Azure `api-version`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Connect timeout (ms).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    /// Longest wait for the response head or the next stream chunk (ms).
    #[serde(default = "default_read_timeout")]
    pub read_timeout_ms: u64,
    /// Retries on connect errors, 429 and 5xx before falling back.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First retry backoff (ms), doubled per retry with full jitter.
    #[serde(default = "default_backoff")]
    pub retry_backoff_ms: u64,
    /// Mock: delay before the answer (ms).
    #[serde(default)]
    pub latency_ms: u64,
    /// Mock: characters per streamed chunk.
    #[serde(default = "default_chunk_chars")]
    pub chunk_chars: usize,
    /// Mock: delay between streamed chunks (ms).
    #[serde(default)]
    pub chunk_delay_ms: u64,
    /// Mock: `"echo"` (repeat the last user message) or a fixed text.
    #[serde(default = "default_reply")]
    pub reply: String,
}

fn default_auth_header() -> String {
    "authorization".to_owned()
}
fn default_connect_timeout() -> u64 {
    5_000
}
fn default_read_timeout() -> u64 {
    60_000
}
fn default_retries() -> u32 {
    2
}
fn default_backoff() -> u64 {
    100
}
fn default_chunk_chars() -> usize {
    16
}
fn default_reply() -> String {
    "echo".to_owned()
}

/// One upstream target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Provider name.
    pub provider: String,
    /// Model name at the provider (defaults to the public name).
    pub model: Option<String>,
}

/// `[[models]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Public name clients send.
    pub name: String,
    /// Shorthand for a single target: provider name.
    pub provider: Option<String>,
    /// Shorthand for a single target: upstream model.
    pub upstream_model: Option<String>,
    /// Ordered targets: the first that answers wins.
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
    /// A local model directory signed with OpenSSF model-signing: verified at start-up; if the
    /// verification fails the gateway refuses to route to this model (503, `/readyz`, audit).
    pub artifact: Option<ArtifactConfig>,
    /// The route's own system prompt, put first in every request to this model.
    pub system_prompt: Option<String>,
    /// With `system_prompt` set: whether clients may add their own system/developer messages.
    /// Default false: a request that tries to set or override the system prompt is refused, and
    /// clients may only add user content.
    #[serde(default)]
    pub allow_client_system_prompt: bool,
    /// Tier, visible to policies as `resource.tier` (default `standard`).
    #[serde(default)]
    pub tier: Option<String>,
    /// Data classification the model is approved for, `resource.classification` (default
    /// `internal`).
    #[serde(default)]
    pub classification: Option<String>,
}

/// `[models.artifact]`: where the model's files and signature are and whom to trust.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactConfig {
    /// The model directory.
    pub path: PathBuf,
    /// The signature bundle (default `<path>/model.sig`).
    pub signature: Option<PathBuf>,
    /// PEM public key of the signer (ECDSA P-256/P-384).
    pub public_key: Option<PathBuf>,
    /// PEM CA certificates that must anchor the signing certificate chain.
    #[serde(default)]
    pub ca_certificates: Vec<PathBuf>,
}

impl ModelConfig {
    /// The targets, with the shorthand expanded.
    pub fn resolved_targets(&self) -> Vec<TargetConfig> {
        let mut t = Vec::new();
        if let Some(p) = &self.provider {
            t.push(TargetConfig {
                provider: p.clone(),
                model: self.upstream_model.clone(),
            });
        }
        t.extend(self.targets.iter().cloned());
        t
    }
}

/// `[guardrails]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardrailsConfig {
    /// Terms that block a request containing them, and stop a response (also mid-stream)
    /// before any part of them reaches the client. Case-insensitive.
    pub blocklist: Vec<String>,
    /// PII redacted from a prompt is replaced by consistent placeholders (`[EMAIL_ADDRESS_1]`)
    /// and restored in the answer to the same caller. The mapping lives only for the request.
    pub pseudonymize: bool,
    /// Insert a random per-request canary into the system prompt and stop any answer that
    /// contains it (also mid-stream).
    pub canary: bool,
    /// Stop answers that reproduce this many consecutive words of the request's system prompt
    /// (after normalisation); 0 = off.
    pub leak_min_words: usize,
    /// Markdown/HTML links and images to hosts not on the allow-list, and active content, are
    /// removed from answers (also mid-stream); absent = off.
    pub exfiltration: Option<gatehouse_detect::injection::exfil::ExfilConfig>,
}

impl Default for GuardrailsConfig {
    fn default() -> Self {
        GuardrailsConfig {
            blocklist: Vec::new(),
            pseudonymize: true,
            canary: false,
            leak_min_words: 0,
            exfiltration: None,
        }
    }
}

/// One configuration problem, with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path (`models[2].provider`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Config {
    /// Parses TOML text. A syntax or type error is reported with its path.
    pub fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
        let cfg = Config::parse_unchecked(text)?;
        let errors = cfg.validate();
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// Parses TOML text without the semantic checks (policy tools read the `[policy]` and
    /// `[[models]]` sections of a file whose other parts may not be complete).
    pub fn parse_syntax(text: &str) -> Result<Config, Vec<ConfigError>> {
        Config::parse_unchecked(text)
    }

    fn parse_unchecked(text: &str) -> Result<Config, Vec<ConfigError>> {
        let de = toml::Deserializer::parse(text).map_err(|e| {
            vec![ConfigError {
                path: "(file)".into(),
                message: e.to_string().trim().replace('\n', " "),
            }]
        })?;
        let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let message = inner
                .lines()
                .last()
                .unwrap_or("invalid value")
                .trim()
                .to_owned();
            vec![ConfigError { path, message }]
        })?;
        Ok(cfg)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                path: path.display().to_string(),
                message: format!("cannot read: {e}"),
            }]
        })?;
        let mut cfg = Config::parse_unchecked(&text)?;
        cfg.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let errors = cfg.validate();
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// The `Model` entities policies see.
    pub fn model_attrs(&self) -> Vec<gatehouse_policy::ModelAttrs> {
        self.models
            .iter()
            .map(|m| gatehouse_policy::ModelAttrs {
                name: m.name.clone(),
                provider: m
                    .resolved_targets()
                    .first()
                    .map(|t| t.provider.clone())
                    .unwrap_or_default(),
                tier: m.tier.clone().unwrap_or_else(|| "standard".into()),
                classification: m
                    .classification
                    .clone()
                    .unwrap_or_else(|| "internal".into()),
            })
            .collect()
    }

    /// Reads the policy files and compiles them with this configuration's models.
    pub fn compile_policies(
        &self,
    ) -> Result<gatehouse_policy::Policies, gatehouse_policy::PolicyError> {
        let sources = crate::policy_files::read_sources(&self.policy.files, &self.base_dir)?;
        gatehouse_policy::Policies::compile(&self.policy, &sources, &self.model_attrs())
    }

    /// Every semantic problem, each with its path.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let mut err = |path: String, message: String| errs.push(ConfigError { path, message });
        if self.server.listen.parse::<SocketAddr>().is_err() {
            err(
                "server.listen".into(),
                format!("not a socket address: {:?}", self.server.listen),
            );
        }
        if self.server.max_body_bytes == 0 {
            err(
                "server.max_body_bytes".into(),
                "must be greater than 0".into(),
            );
        }
        if self.server.max_connections == 0 {
            err(
                "server.max_connections".into(),
                "must be greater than 0".into(),
            );
        }
        if self.server.max_header_bytes < 8192 {
            err(
                "server.max_header_bytes".into(),
                "must be at least 8192".into(),
            );
        }
        if let Some(u) = &self.store.url
            && !((u.starts_with("postgres://") || u.starts_with("postgresql://"))
                && u.len() > "postgres://".len()
                && !u.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            // The value is not echoed: it may hold a password.
            err(
                "store.url".into(),
                "must be a postgres:// or postgresql:// URL without spaces".into(),
            );
        }
        if self.audit.sinks.is_empty()
            && self.audit.sink == Some(AuditSinkKind::Jsonl)
            && self.audit.path.is_none()
        {
            err(
                "audit.path".into(),
                "required when audit.sink = \"jsonl\"".into(),
            );
        }
        for (i, s) in self.audit.sinks.iter().enumerate() {
            if let AuditSinkConfig::Otlp {
                endpoint,
                headers_env,
                headers_file,
                timeout_ms,
            } = s
            {
                if let Err(e) = gatehouse_audit::sink::otlp::logs_url(endpoint) {
                    err(format!("audit.sinks[{i}].endpoint"), e);
                }
                for name in headers_env.keys().chain(headers_file.keys()) {
                    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        err(
                            format!("audit.sinks[{i}]"),
                            format!("not a header name: {name:?}"),
                        );
                    }
                }
                if headers_env.keys().any(|k| headers_file.contains_key(k)) {
                    err(
                        format!("audit.sinks[{i}]"),
                        "a header is set in both headers_env and headers_file".into(),
                    );
                }
                if *timeout_ms == 0 {
                    err(
                        format!("audit.sinks[{i}].timeout_ms"),
                        "must be greater than 0".into(),
                    );
                }
            }
            if let AuditSinkConfig::Postgres {
                url_env,
                url_file,
                schema,
            } = s
            {
                if url_env.is_none() && url_file.is_none() {
                    err(
                        format!("audit.sinks[{i}]"),
                        "postgres needs url_env or url_file".into(),
                    );
                }
                if !gatehouse_audit::sink::postgres::valid_schema(schema) {
                    err(
                        format!("audit.sinks[{i}].schema"),
                        format!("not a schema name ([a-z_][a-z0-9_]*): {schema:?}"),
                    );
                }
            }
        }
        if self.audit.queue == 0 {
            err("audit.queue".into(), "must be greater than 0".into());
        }
        let body = &self.audit.body;
        for (i, k) in body.keys.iter().enumerate() {
            if k.file.is_some() == k.env.is_some() {
                err(
                    format!("audit.body.keys[{i}]"),
                    "exactly one of file or env is required".into(),
                );
            }
        }
        if body.mode == AuditBodyMode::Encrypted {
            match &body.active_key {
                None => err(
                    "audit.body.active_key".into(),
                    "required when mode = \"encrypted\"".into(),
                ),
                Some(a) if !body.keys.iter().any(|k| &k.id == a) => err(
                    "audit.body.active_key".into(),
                    format!("no key with id {a:?} in audit.body.keys"),
                ),
                Some(_) => {}
            }
        }
        for (name, p) in &self.providers {
            let at = format!("providers.{name}");
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                err(
                    at.clone(),
                    "provider names use letters, digits, '-' and '_'".into(),
                );
            }
            match p.kind {
                ProviderKind::Openai | ProviderKind::Anthropic => {
                    if p.kind == ProviderKind::Openai && p.base_url.is_none() {
                        err(
                            format!("{at}.base_url"),
                            "required for openai providers".into(),
                        );
                    }
                    if let Some(u) = &p.base_url
                        && !(u.starts_with("http://") || u.starts_with("https://"))
                    {
                        err(
                            format!("{at}.base_url"),
                            format!("must start with http:// or https://, got {u:?}"),
                        );
                    }
                    if p.api_key_env.is_some() && p.api_key_file.is_some() {
                        err(
                            at.clone(),
                            "set api_key_env or api_key_file, not both".into(),
                        );
                    }
                    if !matches!(
                        p.auth_header.as_str(),
                        "authorization" | "api-key" | "x-api-key"
                    ) {
                        err(
                            format!("{at}.auth_header"),
                            "must be \"authorization\", \"api-key\" or \"x-api-key\"".into(),
                        );
                    }
                }
                ProviderKind::Mock => {
                    if p.chunk_chars == 0 {
                        err(format!("{at}.chunk_chars"), "must be at least 1".into());
                    }
                }
            }
            if p.read_timeout_ms == 0 || p.connect_timeout_ms == 0 {
                err(at.clone(), "timeouts must be greater than 0".into());
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.models.iter().enumerate() {
            let at = format!("models[{i}]");
            if m.name.trim().is_empty() {
                err(format!("{at}.name"), "must not be empty".into());
            }
            if !seen.insert(m.name.as_str()) {
                err(
                    format!("{at}.name"),
                    format!("duplicate model name {:?}", m.name),
                );
            }
            if m.provider.is_none() && m.upstream_model.is_some() {
                err(format!("{at}.upstream_model"), "needs provider".into());
            }
            if let Some(p) = &m.provider
                && !self.providers.contains_key(p)
            {
                err(format!("{at}.provider"), format!("unknown provider {p:?}"));
            }
            for (j, t) in m.targets.iter().enumerate() {
                if !self.providers.contains_key(&t.provider) {
                    err(
                        format!("{at}.targets[{j}].provider"),
                        format!("unknown provider {:?}", t.provider),
                    );
                }
            }
            if let Some(a) = &m.artifact
                && a.public_key.is_some() != a.ca_certificates.is_empty()
            {
                err(
                    format!("{at}.artifact"),
                    "set exactly one of public_key or ca_certificates".into(),
                );
            }
            if m.resolved_targets().is_empty() {
                err(at.clone(), "needs provider or targets".into());
            }
        }
        for (i, t) in self.guardrails.blocklist.iter().enumerate() {
            if t.trim().is_empty() || t.chars().count() > 256 {
                err(
                    format!("guardrails.blocklist[{i}]"),
                    "terms must be 1 to 256 characters".into(),
                );
            }
        }
        for (f, m) in self.metrics.problems() {
            err(format!("metrics.{f}"), m);
        }
        for (f, m) in self.tracing.problems() {
            err(format!("tracing.{f}"), m);
        }
        for (f, m) in self.anomaly.problems() {
            err(format!("anomaly.{f}"), m);
        }
        if let Some(j) = &self.identity.jwt
            && let Err(e) = j.validate()
        {
            err("identity.jwt".into(), e.to_string());
        }
        if let Err(list) = self.limits.validate() {
            for m in list {
                match m.split_once(": ") {
                    Some((path, msg)) => err(path.to_owned(), msg.to_owned()),
                    None => err("limits".into(), m),
                }
            }
        }
        if let Err(e) = self.compile_policies() {
            match e {
                gatehouse_policy::PolicyError::Io(m) => err("policy.files".into(), m),
                gatehouse_policy::PolicyError::Invalid(list) => {
                    for m in list {
                        err("policy".into(), m);
                    }
                }
            }
        }
        errs
    }

    /// The demo configuration: mock provider, local SQLite, no file needed.
    pub fn demo() -> Config {
        let mut providers = BTreeMap::new();
        providers.insert(
            "mock".to_owned(),
            ProviderConfig {
                kind: ProviderKind::Mock,
                base_url: None,
                api_key_env: None,
                api_key_file: None,
                auth_header: default_auth_header(),
                query: BTreeMap::new(),
                connect_timeout_ms: default_connect_timeout(),
                read_timeout_ms: default_read_timeout(),
                max_retries: 0,
                retry_backoff_ms: default_backoff(),
                latency_ms: 0,
                chunk_chars: 8,
                chunk_delay_ms: 20,
                reply: "echo".to_owned(),
            },
        );
        let model = |name: &str| ModelConfig {
            name: name.to_owned(),
            provider: Some("mock".to_owned()),
            upstream_model: None,
            targets: Vec::new(),
            artifact: None,
            system_prompt: None,
            allow_client_system_prompt: false,
            tier: Some("small".to_owned()),
            classification: None,
        };
        Config {
            server: ServerConfig::default(),
            store: StoreConfig::default(),
            audit: AuditConfig::default(),
            providers,
            models: vec![
                model("gpt-4o-mini"),
                model("claude-3-5-haiku-latest"),
                model("text-embedding-3-small"),
            ],
            guardrails: GuardrailsConfig {
                canary: true,
                leak_min_words: 8,
                exfiltration: Some(gatehouse_detect::injection::exfil::ExfilConfig::default()),
                ..GuardrailsConfig::default()
            },
            detect: Some(gatehouse_detect::DetectConfig::default()),
            injection: Some(gatehouse_detect::injection::InjectionConfig::default()),
            identity: IdentityConfig::default(),
            policy: gatehouse_policy::PolicyConfig::default(),
            limits: gatehouse_limits::LimitsConfig::default(),
            metrics: Default::default(),
            tracing: Default::default(),
            anomaly: Default::default(),
            ml: Default::default(),
            base_dir: PathBuf::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_audit_sink_reads_header_secrets_from_files_and_checks_the_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("otlp-key");
        std::fs::write(&key, "s3cret-otlp-key\n").unwrap();
        let text = format!(
            "[audit]\n[[audit.sinks]]\nkind = \"sqlite\"\n[[audit.sinks]]\nkind = \"otlp\"\nendpoint = \"http://127.0.0.1:4318\"\nheaders_file = {{ \"x-api-key\" = {:?} }}\ntimeout_ms = 2000\n",
            key.display().to_string()
        );
        let cfg = Config::parse(&text).unwrap();
        let a = cfg.audit.auditor_config(dir.path()).unwrap();
        match &a.sinks[1] {
            gatehouse_audit::SinkSpec::Otlp {
                endpoint,
                headers,
                timeout,
            } => {
                assert_eq!(endpoint, "http://127.0.0.1:4318");
                assert_eq!(
                    headers,
                    &[("x-api-key".to_owned(), "s3cret-otlp-key".to_owned())]
                );
                assert_eq!(*timeout, std::time::Duration::from_millis(2000));
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{a:?}").contains("s3cret"));
        let errs = Config::parse(
            "[audit]\n[[audit.sinks]]\nkind = \"otlp\"\nendpoint = \"http://u:s3cret@c:4318\"\nheaders_env = { \"bad header\" = \"X\" }\ntimeout_ms = 0\n",
        )
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text.iter().all(|t| !t.contains("s3cret")), "{text:?}");
        assert!(text[0].starts_with("audit.sinks[0].endpoint"), "{text:?}");
        // An unset variable names the variable, not a value.
        let cfg = Config::parse(
            "[audit]\n[[audit.sinks]]\nkind = \"otlp\"\nendpoint = \"http://c:4318\"\nheaders_env = { \"x-api-key\" = \"GATEHOUSE_TEST_SURELY_UNSET_OTLP_KEY\" }\n",
        )
        .unwrap();
        let e = cfg.audit.auditor_config(dir.path()).unwrap_err();
        assert!(e.contains("GATEHOUSE_TEST_SURELY_UNSET_OTLP_KEY"), "{e}");
        assert!(cfg.audit.audit_source(dir.path()).is_err());
    }

    #[test]
    fn reports_every_error_with_its_path() {
        let errs = Config::parse(
            r#"
            [providers.openai]
            kind = "openai"
            base_url = "https://api.openai.com/v1"
            [[models]]
            name = "a"
            provider = "openai"
            [[models]]
            name = "b"
            provider = "openai"
            [[models]]
            name = "c"
            provider = "opnai"
            [[models]]
            name = "a"
            targets = [{ provider = "nope" }]
            "#,
        )
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            text.contains(&"models[2].provider: unknown provider \"opnai\"".to_owned()),
            "{text:?}"
        );
        assert!(
            text.contains(&"models[3].name: duplicate model name \"a\"".to_owned()),
            "{text:?}"
        );
        assert!(
            text.contains(&"models[3].targets[0].provider: unknown provider \"nope\"".to_owned()),
            "{text:?}"
        );
    }

    #[test]
    fn unknown_fields_are_errors_with_paths() {
        let errs = Config::parse("[server]\nlisten = \"127.0.0.1:1\"\nlsten = 3\n").unwrap_err();
        assert!(errs[0].path.starts_with("server"), "{errs:?}");
        assert!(
            errs[0].message.contains("unknown field `lsten`"),
            "{errs:?}"
        );
        let errs = Config::parse("[server]\nmax_body_bytes = \"big\"\n").unwrap_err();
        assert_eq!(errs[0].path, "server.max_body_bytes");
    }

    #[test]
    fn store_url_must_be_postgres_and_is_never_printed() {
        let cfg =
            Config::parse("[store]\nurl = \"postgres://gh:s3cret@127.0.0.1/keys\"\n").unwrap();
        assert!(!format!("{cfg:?}").contains("s3cret"));
        let errs = Config::parse("[store]\nurl = \"mysql://gh:s3cret@db/keys\"\n").unwrap_err();
        assert_eq!(errs[0].path, "store.url", "{errs:?}");
        assert!(!errs[0].to_string().contains("s3cret"), "{errs:?}");
    }

    #[test]
    fn demo_config_is_valid() {
        assert!(Config::demo().validate().is_empty());
    }
}
