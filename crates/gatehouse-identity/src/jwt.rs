//! JWT / OIDC bearer-token verification.
//!
//! A [`JwtVerifier`] trusts several issuers. Each issuer's signing keys come from its JWKS, found
//! either through OIDC discovery (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) or
//! from an explicit `jwks_url`. Keys are cached and refreshed
//!
//! * on a schedule (`refresh_secs`), by the task [`JwtVerifier::spawn_refresh`] starts (or by
//!   [`JwtVerifier::run_refresh`] under the caller's own task tracker);
//! * when a token names a key id (`kid`) the cache does not hold — at most once per
//!   `min_refresh_interval_secs` per issuer, and single-flight: concurrent requests with unknown
//!   kids share one fetch, so random kids cannot be used to hammer the identity provider.
//!
//! When the identity provider is down, the last good keys stay in use. A fetch that succeeds
//! replaces the key set entirely (a key the provider removed stops verifying).
//!
//! Verification is fail-closed and cheap for garbage: the size cap is checked before anything is
//! decoded, the header and payload are parsed before any key lookup, the issuer must be configured
//! and the algorithm allowed for it before any network fetch can happen. Only asymmetric
//! algorithms exist here (`RS256/384/512`, `PS256/384/512`, `ES256/384`, `EdDSA`); `HS*` and
//! `none` are never accepted, so an RSA public key can never be used as an HMAC secret. Failures
//! carry a stable reason code ([`JwtFailure::reason`]) and never contain the token.
//!
//! # Configuration
//!
//! The lead can copy this into `gatehouse.example.toml` (the table name is the server's choice):
//!
//! ```toml
//! [identity.jwt]
//! # Header that carries an on-behalf-of user token next to the caller's own credential.
//! header = "x-gatehouse-user-token"
//! max_token_bytes = 8192
//!
//! [[identity.jwt.issuers]]
//! name = "corp-sso"                         # shown in status, audit and the `issuer` attribute
//! issuer = "https://sso.corp.example"       # the exact `iss` claim
//! discovery = true                          # {issuer}/.well-known/openid-configuration
//! audiences = ["gatehouse"]
//! algorithms = ["RS256", "ES256"]           # never HS*, never none
//! leeway_secs = 30
//! refresh_secs = 300
//! min_refresh_interval_secs = 10            # unknown kids refetch at most this often
//! http_timeout_ms = 3000
//! [identity.jwt.issuers.claims]
//! principal_claim = "sub"                   # → user:<sub>
//! principal_kind = "user"                   # or "service" → service:<value>
//! groups_claims = ["groups", "roles"]       # string or array claims
//! team_claim = "team"
//! attributes = { tenant = "tenant_id", department = "org.department" }
//!
//! [[identity.jwt.issuers]]
//! name = "ci"
//! issuer = "https://ci.corp.example"
//! jwks_url = "https://ci.corp.example/keys.json"   # instead of discovery
//! audiences = ["gatehouse"]
//! algorithms = ["EdDSA"]
//! [identity.jwt.issuers.claims]
//! principal_kind = "service"
//! principal_prefix = "ci/"                  # service:ci/<sub>: cannot collide with corp-sso
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::{Principal, PrincipalKind};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// Largest discovery document or JWKS accepted from an identity provider.
const MAX_FETCH_BYTES: usize = 1024 * 1024;
/// Most keys kept from one JWKS.
const MAX_KEYS: usize = 64;
/// Most groups taken from one token.
const MAX_GROUPS: usize = 256;
/// Longest group, team or attribute value taken from one token.
const MAX_VALUE_BYTES: usize = 1024;

fn default_max_token_bytes() -> usize {
    8192
}
fn default_algorithms() -> Vec<String> {
    vec!["RS256".to_owned(), "ES256".to_owned()]
}
fn default_leeway() -> u64 {
    30
}
fn default_refresh() -> u64 {
    300
}
fn default_min_refresh() -> u64 {
    10
}
fn default_http_timeout() -> u64 {
    3000
}
fn default_principal_claim() -> String {
    "sub".to_owned()
}
fn default_groups_claims() -> Vec<String> {
    vec!["groups".to_owned(), "roles".to_owned()]
}
fn default_principal_kind() -> PrincipalKind {
    PrincipalKind::User
}

/// JWT verification settings: the trusted issuers and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The trusted issuers; a token whose `iss` is none of theirs fails with `unknown_issuer`.
    pub issuers: Vec<IssuerConfig>,
    /// Tokens longer than this many bytes are rejected before any decoding (default 8192).
    #[serde(default = "default_max_token_bytes")]
    pub max_token_bytes: usize,
    /// Request header that carries an on-behalf-of user token (e.g. `x-gatehouse-user-token`).
    /// The verifier does not read headers; the server does, and passes the value to `verify`.
    #[serde(default)]
    pub header: Option<String>,
}

/// One trusted token issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Short name: shown in status and logs, and set as the principal's `issuer` attribute.
    pub name: String,
    /// The expected `iss` claim, exactly. With `discovery`, also the base URL of the discovery
    /// document.
    pub issuer: String,
    /// Find the JWKS through `{issuer}/.well-known/openid-configuration`. Exactly one of
    /// `discovery` and `jwks_url` must be set.
    #[serde(default)]
    pub discovery: bool,
    /// The JWKS URL, when discovery is not used.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Accepted `aud` values; a token must name at least one (and must have `aud`).
    pub audiences: Vec<String>,
    /// Allowed signing algorithms (default `["RS256", "ES256"]`): any of `RS256`, `RS384`,
    /// `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA`.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock-skew allowance for `exp` and `nbf`, in seconds (default 30, at most 300).
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// Scheduled JWKS refresh period in seconds (default 300).
    #[serde(default = "default_refresh")]
    pub refresh_secs: u64,
    /// Least time between two fetches for this issuer, in seconds (default 10, at least 1). Bounds
    /// the refetches that tokens with unknown key ids can cause.
    #[serde(default = "default_min_refresh")]
    pub min_refresh_interval_secs: u64,
    /// Timeout of one HTTP request to the identity provider, in milliseconds (default 3000).
    #[serde(default = "default_http_timeout")]
    pub http_timeout_ms: u64,
    /// How claims become the principal.
    #[serde(default)]
    pub claims: ClaimsMapping,
}

/// How a verified token's claims become a [`Principal`].
///
/// A claim path is first looked up as one top-level claim name (so URL-style names such as
/// `https://corp.example/roles` work), then as a dotted path into nested objects (`org.team`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsMapping {
    /// The claim holding the principal's name (default `sub`). It must be a string or an integer;
    /// the resulting id must pass `Principal::parse_id`, else the token fails with
    /// `invalid_claim`. A missing claim fails with `missing_claim`.
    #[serde(default = "default_principal_claim")]
    pub principal_claim: String,
    /// `user` (default) or `service`: the id becomes `user:<name>` or `service:<name>`.
    #[serde(default = "default_principal_kind")]
    pub principal_kind: PrincipalKind,
    /// Prepended to the claim value (`user:<prefix><name>`), e.g. `ci/`. Set it when two issuers'
    /// subject spaces could overlap, so that one issuer cannot mint another's principals.
    #[serde(default)]
    pub principal_prefix: Option<String>,
    /// Claims whose values become groups (default `["groups", "roles"]`). A string claim is one
    /// group; an array claim contributes its string elements; anything else is ignored.
    #[serde(default = "default_groups_claims")]
    pub groups_claims: Vec<String>,
    /// A string claim naming the principal's team.
    #[serde(default)]
    pub team_claim: Option<String>,
    /// Principal attribute name → claim path. Strings are taken as they are, numbers and booleans
    /// as their JSON text, arrays of scalars joined with `,`; objects, nulls and missing claims
    /// are skipped. The name `issuer` is reserved (it is always the issuer's configured name).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl Default for ClaimsMapping {
    fn default() -> Self {
        ClaimsMapping {
            principal_claim: default_principal_claim(),
            principal_kind: default_principal_kind(),
            principal_prefix: None,
            groups_claims: default_groups_claims(),
            team_claim: None,
            attributes: BTreeMap::new(),
        }
    }
}

/// A configuration error, found by [`JwtConfig::validate`] or [`JwtVerifier::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The configuration is invalid; the message names the field.
    #[error("invalid JWT configuration: {0}")]
    Config(String),
    /// The HTTP client could not be built.
    #[error("cannot build the JWKS HTTP client: {0}")]
    Client(String),
}

/// Why a token was refused. [`JwtFailure::reason`] is the stable code for audit and metrics;
/// neither it, `Display` nor `Debug` ever contains the token or any part of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtFailure {
    /// The token is longer than `max_token_bytes`.
    #[error("token too large")]
    TooLarge,
    /// Not a compact JWS: wrong number of segments, bad base64url, bad JSON, unsupported `crit`.
    #[error("malformed token")]
    Malformed,
    /// `iss` names no configured issuer.
    #[error("token issuer is not trusted")]
    UnknownIssuer,
    /// The header's `alg` is not allowed for the issuer (including `none` and every `HS*`), or
    /// does not fit the key it names.
    #[error("token algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// No key of the issuer has the token's `kid`, even after a (rate-limited) refresh.
    #[error("token key id is unknown")]
    UnknownKid,
    /// The issuer has no keys yet (its identity provider was never reachable).
    #[error("issuer keys are not available")]
    KeysUnavailable,
    /// The signature does not verify.
    #[error("invalid token signature")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `aud` names none of the issuer's audiences.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A required claim is absent (the name is a configured claim path or a registered claim).
    #[error("token lacks the claim {0:?}")]
    MissingClaim(String),
    /// A claim has the wrong type or yields an unacceptable principal id.
    #[error("token claim {0:?} is invalid")]
    InvalidClaim(String),
}

impl JwtFailure {
    /// The stable reason code, e.g. `expired_token`.
    pub fn reason(&self) -> &'static str {
        match self {
            JwtFailure::TooLarge => "token_too_large",
            JwtFailure::Malformed => "malformed_token",
            JwtFailure::UnknownIssuer => "unknown_issuer",
            JwtFailure::AlgorithmNotAllowed => "algorithm_not_allowed",
            JwtFailure::UnknownKid => "unknown_kid",
            JwtFailure::KeysUnavailable => "keys_unavailable",
            JwtFailure::InvalidSignature => "invalid_signature",
            JwtFailure::Expired => "expired_token",
            JwtFailure::NotYetValid => "token_not_yet_valid",
            JwtFailure::WrongAudience => "wrong_audience",
            JwtFailure::MissingClaim(_) => "missing_claim",
            JwtFailure::InvalidClaim(_) => "invalid_claim",
        }
    }
}

/// Per-issuer state, as [`JwtVerifier::status`] reports it. Holds no key material or URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerStatus {
    /// The issuer's configured name.
    pub name: String,
    /// Usable signing keys in the cache.
    pub keys_loaded: usize,
    /// Time since the last successful JWKS fetch; `None` if there never was one.
    pub last_success_age: Option<Duration>,
    /// Why the latest fetch failed (`None` if it succeeded). A short class such as `timeout`,
    /// `connect failed` or `HTTP status 503`.
    pub last_error: Option<String>,
}

impl IssuerStatus {
    /// Whether tokens of this issuer can be verified: keys were loaded at least once.
    pub fn ready(&self) -> bool {
        self.last_success_age.is_some()
    }
}

fn parse_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

fn key_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

fn family_of(alg: Algorithm) -> AlgorithmFamily {
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => AlgorithmFamily::Ec,
        Algorithm::EdDSA => AlgorithmFamily::Ed,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
        _ => AlgorithmFamily::Rsa,
    }
}

/// `https://…`, or `http://` to a loopback host only (local identity providers and tests).
fn check_url(what: &str, url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("{what} is not a valid URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{what} must not contain credentials"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(format!(
                    "{what} must use https (plain http only to 127.0.0.1, [::1] or localhost)"
                ))
            }
        }
        _ => Err(format!("{what} must use https")),
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl JwtConfig {
    /// Checks the configuration without touching the network: known asymmetric algorithms only,
    /// exactly one of `discovery`/`jwks_url`, https URLs (http only to loopback), at least one
    /// audience, unique issuer names and `iss` values, sane limits.
    pub fn validate(&self) -> Result<(), JwtError> {
        let err = |m: String| Err(JwtError::Config(m));
        if self.issuers.is_empty() {
            return err("at least one issuer is required".to_owned());
        }
        if !(512..=65536).contains(&self.max_token_bytes) {
            return err("max_token_bytes must be between 512 and 65536".to_owned());
        }
        if let Some(h) = &self.header
            && (h.is_empty()
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        {
            return err("header must be a lowercase HTTP header name".to_owned());
        }
        let mut names = HashSet::new();
        let mut isses = HashSet::new();
        for i in &self.issuers {
            let n = &i.name;
            if !valid_name(n) {
                return err(format!(
                    "issuer name {n:?} must be 1-64 characters of [A-Za-z0-9._-]"
                ));
            }
            if !names.insert(n.as_str()) {
                return err(format!("issuer name {n:?} is used twice"));
            }
            if i.issuer.is_empty() {
                return err(format!("issuers.{n}.issuer must not be empty"));
            }
            if !isses.insert(i.issuer.as_str()) {
                return err(format!("issuers.{n}.issuer is used by two issuers"));
            }
            match (i.discovery, &i.jwks_url) {
                (true, None) => check_url(&format!("issuers.{n}.issuer"), &i.issuer)
                    .map_err(JwtError::Config)?,
                (false, Some(u)) => {
                    check_url(&format!("issuers.{n}.jwks_url"), u).map_err(JwtError::Config)?
                }
                _ => {
                    return err(format!(
                        "issuers.{n}: set exactly one of discovery = true and jwks_url"
                    ));
                }
            }
            if i.audiences.is_empty() || i.audiences.iter().any(String::is_empty) {
                return err(format!(
                    "issuers.{n}.audiences must list at least one non-empty audience"
                ));
            }
            if i.algorithms.is_empty() {
                return err(format!("issuers.{n}.algorithms must not be empty"));
            }
            for a in &i.algorithms {
                if parse_algorithm(a).is_none() {
                    let why = if a.to_ascii_uppercase().starts_with("HS")
                        || a.eq_ignore_ascii_case("none")
                    {
                        "symmetric and unsigned algorithms are never accepted"
                    } else {
                        "allowed: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA"
                    };
                    return err(format!(
                        "issuers.{n}.algorithms: {a:?} is not allowed ({why})"
                    ));
                }
            }
            if i.leeway_secs > 300 {
                return err(format!("issuers.{n}.leeway_secs must be at most 300"));
            }
            if i.min_refresh_interval_secs == 0 || i.min_refresh_interval_secs > 3600 {
                return err(format!(
                    "issuers.{n}.min_refresh_interval_secs must be between 1 and 3600"
                ));
            }
            if i.refresh_secs < i.min_refresh_interval_secs || i.refresh_secs > 86400 {
                return err(format!(
                    "issuers.{n}.refresh_secs must be between min_refresh_interval_secs and 86400"
                ));
            }
            if !(100..=60000).contains(&i.http_timeout_ms) {
                return err(format!(
                    "issuers.{n}.http_timeout_ms must be between 100 and 60000"
                ));
            }
            let c = &i.claims;
            if c.principal_claim.is_empty() {
                return err(format!(
                    "issuers.{n}.claims.principal_claim must not be empty"
                ));
            }
            if let Some(prefix) = &c.principal_prefix
                && Principal::parse_id(&format!("user:{prefix}")).is_none()
            {
                return err(format!(
                    "issuers.{n}.claims.principal_prefix must be printable ASCII without spaces or quotes"
                ));
            }
            if c.groups_claims.iter().any(String::is_empty) || c.team_claim.as_deref() == Some("") {
                return err(format!("issuers.{n}.claims: claim names must not be empty"));
            }
            for (attr, path) in &c.attributes {
                if attr == "issuer" {
                    return err(format!(
                        "issuers.{n}.claims.attributes: `issuer` is reserved for the issuer name"
                    ));
                }
                if attr.is_empty() || path.is_empty() {
                    return err(format!(
                        "issuers.{n}.claims.attributes: names and claim paths must not be empty"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One usable signing key.
struct KeyEntry {
    kid: Option<String>,
    key: DecodingKey,
    family: AlgorithmFamily,
    alg: Option<Algorithm>,
    curve: Option<EllipticCurve>,
}

impl KeyEntry {
    fn fits(&self, alg: Algorithm) -> bool {
        if self.family != family_of(alg) || self.alg.is_some_and(|a| a != alg) {
            return false;
        }
        match (alg, &self.curve) {
            (Algorithm::ES256, Some(EllipticCurve::P256)) => true,
            (Algorithm::ES384, Some(EllipticCurve::P384)) => true,
            (Algorithm::EdDSA, Some(EllipticCurve::Ed25519)) => true,
            (Algorithm::ES256 | Algorithm::ES384 | Algorithm::EdDSA, _) => false,
            _ => true,
        }
    }
}

#[derive(Default)]
struct KeySet {
    keys: Vec<KeyEntry>,
}

enum Lookup {
    Found(usize),
    /// The kid exists but its key does not fit the algorithm.
    Mismatch,
    NotFound,
}

impl KeySet {
    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
        match kid {
            Some(kid) => match self.keys.iter().position(|k| k.kid.as_deref() == Some(kid)) {
                Some(i) if self.keys[i].fits(alg) => Lookup::Found(i),
                Some(_) => Lookup::Mismatch,
                None => Lookup::NotFound,
            },
            None => {
                // Without a kid, only an unambiguous key is used.
                let mut fitting = self.keys.iter().enumerate().filter(|(_, k)| k.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some((i, _)), None) => Lookup::Found(i),
                    _ => Lookup::NotFound,
                }
            }
        }
    }

    /// Parses a JWKS document, keeping usable signature keys and skipping everything else
    /// (encryption keys, symmetric keys, unknown key types, keys for algorithms we do not verify).
    fn from_jwks(doc: &Value) -> Result<KeySet, String> {
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| "JWKS has no `keys` array".to_owned())?;
        let mut out = Vec::new();
        for raw in keys.iter().take(MAX_KEYS) {
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
                continue;
            };
            if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
                continue;
            }
            let alg = match jwk.common.key_algorithm {
                None => None,
                Some(a) => match key_algorithm(a) {
                    Some(a) => Some(a),
                    None => continue,
                },
            };
            let (family, curve) = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => (AlgorithmFamily::Rsa, None),
                AlgorithmParameters::EllipticCurve(p) => {
                    (AlgorithmFamily::Ec, Some(p.curve.clone()))
                }
                AlgorithmParameters::OctetKeyPair(p) => {
                    (AlgorithmFamily::Ed, Some(p.curve.clone()))
                }
                _ => continue,
            };
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            out.push(KeyEntry {
                kid: jwk.common.key_id.clone(),
                key,
                family,
                alg,
                curve,
            });
        }
        Ok(KeySet { keys: out })
    }
}

#[derive(Default)]
struct RefreshMeta {
    last_attempt: Option<Instant>,
    last_success: Option<Instant>,
    last_error: Option<String>,
    /// Bumped after every fetch attempt; lets waiters see that a fetch happened meanwhile.
    generation: u64,
}

struct IssuerState {
    cfg: IssuerConfig,
    algorithms: Vec<Algorithm>,
    keys: RwLock<Arc<KeySet>>,
    meta: StdMutex<RefreshMeta>,
    /// Held for the duration of a fetch: single-flight.
    flight: tokio::sync::Mutex<()>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Initial,
    Scheduled,
    UnknownKid { seen_generation: u64 },
}

impl IssuerState {
    fn keys(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    fn meta(&self) -> std::sync::MutexGuard<'_, RefreshMeta> {
        self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn min_interval(&self) -> Duration {
        Duration::from_secs(self.cfg.min_refresh_interval_secs)
    }

    /// Fetches the JWKS unless the rate limit or another flight makes it unnecessary.
    async fn refresh(&self, http: &reqwest::Client, trigger: Trigger) {
        let _flight = self.flight.lock().await;
        {
            let meta = self.meta();
            if let Trigger::UnknownKid { seen_generation } = trigger
                && meta.generation != seen_generation
            {
                // A fetch finished while this request waited; its result is what we would get.
                return;
            }
            if trigger != Trigger::Initial
                && meta
                    .last_attempt
                    .is_some_and(|t| t.elapsed() < self.min_interval())
            {
                return;
            }
        }
        let started = Instant::now();
        let result = self.fetch(http).await;
        let mut meta = self.meta();
        meta.last_attempt = Some(started);
        meta.generation = meta.generation.wrapping_add(1);
        match result {
            Ok(set) => {
                tracing::debug!(issuer = %self.cfg.name, keys = set.keys.len(), "JWKS refreshed");
                let set = Arc::new(set);
                match self.keys.write() {
                    Ok(mut g) => *g = set,
                    Err(p) => *p.into_inner() = set,
                }
                meta.last_success = Some(Instant::now());
                meta.last_error = None;
            }
            Err(e) => {
                tracing::warn!(issuer = %self.cfg.name, error = %e, "JWKS refresh failed; keeping the last good keys");
                meta.last_error = Some(e);
            }
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<KeySet, String> {
        let timeout = Duration::from_millis(self.cfg.http_timeout_ms);
        let jwks_url = match &self.cfg.jwks_url {
            Some(u) => u.clone(),
            None => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.cfg.issuer.trim_end_matches('/')
                );
                let doc = get_json(http, &url, timeout)
                    .await
                    .map_err(|e| format!("discovery: {e}"))?;
                if doc.get("issuer").and_then(Value::as_str) != Some(self.cfg.issuer.as_str()) {
                    return Err("discovery: document names another issuer".to_owned());
                }
                let uri = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "discovery: no jwks_uri".to_owned())?;
                check_url("discovered jwks_uri", uri)?;
                uri.to_owned()
            }
        };
        let doc = get_json(http, &jwks_url, timeout)
            .await
            .map_err(|e| format!("jwks: {e}"))?;
        KeySet::from_jwks(&doc)
    }

    fn status(&self) -> IssuerStatus {
        let keys_loaded = self.keys().keys.len();
        let meta = self.meta();
        IssuerStatus {
            name: self.cfg.name.clone(),
            keys_loaded,
            last_success_age: meta.last_success.map(|t| t.elapsed()),
            last_error: meta.last_error.clone(),
        }
    }

    /// Time until the next scheduled refresh: the regular period after a success, the minimum
    /// interval while the provider is failing or was never reached.
    fn next_wait(&self) -> Duration {
        let meta = self.meta();
        if meta.last_success.is_none() || meta.last_error.is_some() {
            self.min_interval()
        } else {
            Duration::from_secs(self.cfg.refresh_secs)
        }
    }
}

/// GET a JSON document with a timeout and a size cap. Errors are short classes without URLs.
async fn get_json(http: &reqwest::Client, url: &str, timeout: Duration) -> Result<Value, String> {
    let class = |e: reqwest::Error| {
        if e.is_timeout() {
            "timeout".to_owned()
        } else if e.is_connect() {
            "connect failed".to_owned()
        } else {
            "request failed".to_owned()
        }
    };
    let mut resp = http
        .get(url)
        .timeout(timeout)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(class)?;
    if !resp.status().is_success() {
        return Err(format!("HTTP status {}", resp.status().as_u16()));
    }
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_FETCH_BYTES as u64)
    {
        return Err("response too large".to_owned());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(class)? {
        if body.len() + chunk.len() > MAX_FETCH_BYTES {
            return Err("response too large".to_owned());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|_| "invalid JSON".to_owned())
}

struct Inner {
    issuers: Vec<Arc<IssuerState>>,
    max_token_bytes: usize,
    header: Option<String>,
    http: reqwest::Client,
}

/// Verifies bearer JWTs against the configured issuers. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field(
                "issuers",
                &self
                    .inner
                    .issuers
                    .iter()
                    .map(|i| i.cfg.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

fn decode_segment<T: serde::de::DeserializeOwned>(seg: &str) -> Result<T, JwtFailure> {
    let bytes = URL_SAFE_NO_PAD
        .decode(seg)
        .map_err(|_| JwtFailure::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtFailure::Malformed)
}

/// Looks a claim up as a top-level name first, then as a dotted path.
fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    if !path.contains('.') {
        return None;
    }
    path.split('.').try_fold(claims, |cur, seg| cur.get(seg))
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn acceptable_value(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_VALUE_BYTES && !s.chars().any(char::is_control)
}

impl JwtVerifier {
    /// Validates the configuration and starts with an initial JWKS fetch for every issuer. An
    /// unreachable identity provider does not fail this: its tokens fail with `keys_unavailable`
    /// until a later refresh succeeds ([`JwtVerifier::status`] shows it).
    pub async fn new(cfg: &JwtConfig) -> Result<Self, JwtError> {
        cfg.validate()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|_| JwtError::Client("TLS backend unavailable".to_owned()))?;
        let issuers = cfg
            .issuers
            .iter()
            .map(|i| {
                Arc::new(IssuerState {
                    algorithms: i
                        .algorithms
                        .iter()
                        .filter_map(|a| parse_algorithm(a))
                        .collect(),
                    cfg: i.clone(),
                    keys: RwLock::new(Arc::new(KeySet::default())),
                    meta: StdMutex::new(RefreshMeta::default()),
                    flight: tokio::sync::Mutex::new(()),
                })
            })
            .collect::<Vec<_>>();
        let verifier = JwtVerifier {
            inner: Arc::new(Inner {
                issuers,
                max_token_bytes: cfg.max_token_bytes,
                header: cfg.header.clone(),
                http,
            }),
        };
        let mut set = tokio::task::JoinSet::new();
        for st in &verifier.inner.issuers {
            let st = Arc::clone(st);
            let http = verifier.inner.http.clone();
            set.spawn(async move { st.refresh(&http, Trigger::Initial).await });
        }
        while set.join_next().await.is_some() {}
        Ok(verifier)
    }

    /// The configured on-behalf-of header name, if any.
    pub fn header(&self) -> Option<&str> {
        self.inner.header.as_deref()
    }

    /// Verifies a compact JWS (without the `Bearer ` prefix) and maps it to a principal:
    /// `id` = `<kind>:<principal claim>`, groups, team and attributes per the issuer's claims
    /// mapping, attribute `issuer` = the issuer's name, `auth_method` = `jwt`.
    pub async fn verify(&self, token: &str) -> Result<Principal, JwtFailure> {
        if token.len() > self.inner.max_token_bytes {
            return Err(JwtFailure::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtFailure::Malformed);
        };
        if h.is_empty() || p.is_empty() {
            return Err(JwtFailure::Malformed);
        }
        let header: RawHeader = decode_segment(h)?;
        if header.crit.is_some() {
            // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
            return Err(JwtFailure::Malformed);
        }
        let claims: Value = decode_segment(p)?;
        if !claims.is_object() {
            return Err(JwtFailure::Malformed);
        }
        let iss = match claims.get("iss") {
            None => return Err(JwtFailure::MissingClaim("iss".to_owned())),
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(JwtFailure::InvalidClaim("iss".to_owned())),
        };
        let issuer = self
            .inner
            .issuers
            .iter()
            .find(|i| i.cfg.issuer == iss)
            .ok_or(JwtFailure::UnknownIssuer)?;
        let alg = parse_algorithm(&header.alg)
            .filter(|a| issuer.algorithms.contains(a))
            .ok_or(JwtFailure::AlgorithmNotAllowed)?;
        if s.is_empty() {
            return Err(JwtFailure::Malformed);
        }

        let (keys, index) = match self.find_key(issuer, header.kid.as_deref(), alg).await {
            Ok(found) => found,
            Err(e) => return Err(e),
        };
        let key = &keys.keys[index].key;

        let mut validation = Validation::new(alg);
        validation.leeway = issuer.cfg.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_audience(&issuer.cfg.audiences);
        validation.set_issuer(&[issuer.cfg.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let verified = jsonwebtoken::decode::<Value>(token, key, &validation)
            .map_err(|e| map_error(e.kind()))?;
        map_claims(issuer, &verified.claims)
    }

    async fn find_key(
        &self,
        issuer: &IssuerState,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(Arc<KeySet>, usize), JwtFailure> {
        let seen_generation = issuer.meta().generation;
        let keys = issuer.keys();
        match keys.lookup(kid, alg) {
            Lookup::Found(i) => return Ok((keys, i)),
            Lookup::Mismatch => return Err(JwtFailure::AlgorithmNotAllowed),
            Lookup::NotFound => {}
        }
        issuer
            .refresh(&self.inner.http, Trigger::UnknownKid { seen_generation })
            .await;
        let keys = issuer.keys();
        match keys.lookup(kid, alg) {
            Lookup::Found(i) => Ok((keys, i)),
            Lookup::Mismatch => Err(JwtFailure::AlgorithmNotAllowed),
            Lookup::NotFound if keys.keys.is_empty() && issuer.meta().last_success.is_none() => {
                Err(JwtFailure::KeysUnavailable)
            }
            Lookup::NotFound => Err(JwtFailure::UnknownKid),
        }
    }

    /// Refreshes every issuer's keys on its schedule, forever (retrying failed issuers every
    /// `min_refresh_interval_secs`). Spawn it under the server's task tracker, or use
    /// [`JwtVerifier::spawn_refresh`].
    pub async fn run_refresh(self) {
        let mut set = tokio::task::JoinSet::new();
        for st in &self.inner.issuers {
            let st = Arc::clone(st);
            let http = self.inner.http.clone();
            set.spawn(async move {
                loop {
                    tokio::time::sleep(st.next_wait()).await;
                    st.refresh(&http, Trigger::Scheduled).await;
                }
            });
        }
        while set.join_next().await.is_some() {}
    }

    /// Spawns [`JwtVerifier::run_refresh`] on the current tokio runtime. Aborting the handle
    /// stops all refreshing.
    pub fn spawn_refresh(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.clone().run_refresh())
    }

    /// Per-issuer key state, for readiness checks and the admin API.
    pub fn status(&self) -> Vec<IssuerStatus> {
        self.inner.issuers.iter().map(|i| i.status()).collect()
    }

    /// Whether every issuer has keys loaded at least once.
    pub fn ready(&self) -> bool {
        self.status().iter().all(IssuerStatus::ready)
    }
}

fn map_error(kind: &ErrorKind) -> JwtFailure {
    match kind {
        ErrorKind::ExpiredSignature => JwtFailure::Expired,
        ErrorKind::ImmatureSignature => JwtFailure::NotYetValid,
        ErrorKind::InvalidAudience => JwtFailure::WrongAudience,
        ErrorKind::InvalidIssuer => JwtFailure::UnknownIssuer,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            JwtFailure::AlgorithmNotAllowed
        }
        ErrorKind::MissingRequiredClaim(c) => JwtFailure::MissingClaim(c.clone()),
        ErrorKind::InvalidClaimFormat(c) => JwtFailure::InvalidClaim(c.clone()),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => JwtFailure::Malformed,
        _ => JwtFailure::InvalidSignature,
    }
}

fn map_claims(issuer: &IssuerState, claims: &Value) -> Result<Principal, JwtFailure> {
    let m = &issuer.cfg.claims;
    let name = match claim(claims, &m.principal_claim) {
        None | Some(Value::Null) => {
            return Err(JwtFailure::MissingClaim(m.principal_claim.clone()));
        }
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(_) => return Err(JwtFailure::InvalidClaim(m.principal_claim.clone())),
    };
    let kind = match m.principal_kind {
        PrincipalKind::User => "user",
        PrincipalKind::Service => "service",
    };
    let prefix = m.principal_prefix.as_deref().unwrap_or_default();
    let mut principal = Principal::new(&format!("{kind}:{prefix}{name}"))
        .ok_or_else(|| JwtFailure::InvalidClaim(m.principal_claim.clone()))?;

    let mut groups: Vec<String> = Vec::new();
    for c in &m.groups_claims {
        let values: Vec<&str> = match claim(claims, c) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        for g in values {
            if groups.len() >= MAX_GROUPS {
                break;
            }
            if acceptable_value(g) && !groups.iter().any(|x| x == g) {
                groups.push(g.to_owned());
            }
        }
    }
    principal.groups = groups;

    principal.team = m
        .team_claim
        .as_deref()
        .and_then(|c| claim(claims, c))
        .and_then(scalar_text)
        .filter(|t| acceptable_value(t));

    for (attr, path) in &m.attributes {
        let text = match claim(claims, path) {
            Some(Value::Array(items)) => {
                let parts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                parts.map(|p| p.join(","))
            }
            Some(v) => scalar_text(v),
            None => None,
        };
        if let Some(t) = text.filter(|t| acceptable_value(t)) {
            principal.attributes.insert(attr.clone(), t);
        }
    }
    principal
        .attributes
        .insert("issuer".to_owned(), issuer.cfg.name.clone());
    principal.auth_method = Some("jwt".to_owned());
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(name: &str, iss: &str) -> IssuerConfig {
        IssuerConfig {
            name: name.to_owned(),
            issuer: iss.to_owned(),
            discovery: true,
            jwks_url: None,
            audiences: vec!["gatehouse".to_owned()],
            algorithms: default_algorithms(),
            leeway_secs: 30,
            refresh_secs: 300,
            min_refresh_interval_secs: 10,
            http_timeout_ms: 3000,
            claims: ClaimsMapping::default(),
        }
    }

    fn config(issuers: Vec<IssuerConfig>) -> JwtConfig {
        JwtConfig {
            issuers,
            max_token_bytes: 8192,
            header: None,
        }
    }

    #[test]
    fn accepts_a_sound_config() {
        let cfg = config(vec![
            issuer("a", "https://sso.example"),
            issuer("b", "http://127.0.0.1:8080"),
            issuer("c", "http://localhost:1"),
        ]);
        assert_eq!(cfg.validate(), Ok(()));
    }

    #[test]
    fn rejects_unsafe_configs() {
        let mut cases: Vec<(&str, JwtConfig)> = Vec::new();
        let mut i = issuer("a", "https://sso.example");
        i.algorithms = vec!["HS256".to_owned()];
        cases.push(("HS256", config(vec![i])));
        let mut i = issuer("a", "https://sso.example");
        i.algorithms = vec!["none".to_owned()];
        cases.push(("none", config(vec![i])));
        cases.push((
            "plain http",
            config(vec![issuer("a", "http://sso.example")]),
        ));
        let mut i = issuer("a", "https://sso.example");
        i.jwks_url = Some("https://sso.example/jwks".to_owned());
        cases.push(("both discovery and jwks_url", config(vec![i])));
        let mut i = issuer("a", "https://sso.example");
        i.discovery = false;
        cases.push(("neither", config(vec![i])));
        let mut i = issuer("a", "https://sso.example");
        i.audiences.clear();
        cases.push(("no audience", config(vec![i])));
        cases.push((
            "duplicate name",
            config(vec![
                issuer("a", "https://x.example"),
                issuer("a", "https://y.example"),
            ]),
        ));
        let mut i = issuer("a", "https://sso.example");
        i.claims
            .attributes
            .insert("issuer".to_owned(), "iss".to_owned());
        cases.push(("reserved attribute", config(vec![i])));
        let mut i = issuer("a", "https://sso.example");
        i.min_refresh_interval_secs = 0;
        cases.push(("no rate limit", config(vec![i])));
        cases.push(("no issuers", config(vec![])));
        let mut i = issuer("a", "https://sso.example");
        i.claims.principal_prefix = Some("a b/".to_owned());
        cases.push(("prefix with a space", config(vec![i])));
        for (what, cfg) in cases {
            assert!(cfg.validate().is_err(), "{what} was accepted");
        }
    }

    #[test]
    fn config_parses_from_toml_with_defaults_and_rejects_unknown_fields() {
        let cfg: JwtConfig = serde_json::from_value(serde_json::json!({
            "issuers": [{"name": "a", "issuer": "https://sso.example", "discovery": true,
                         "audiences": ["gh"]}]
        }))
        .unwrap();
        assert_eq!(cfg.max_token_bytes, 8192);
        assert_eq!(cfg.issuers[0].algorithms, ["RS256", "ES256"]);
        assert_eq!(cfg.issuers[0].claims.principal_claim, "sub");
        assert_eq!(cfg.issuers[0].claims.groups_claims, ["groups", "roles"]);
        let bad = serde_json::from_value::<JwtConfig>(serde_json::json!({
            "issuers": [], "surprise": 1
        }));
        assert!(bad.is_err());
    }

    #[test]
    fn claim_paths_prefer_exact_names_then_dots() {
        let v = serde_json::json!({"a.b": 1, "a": {"b": 2, "c": {"d": "x"}}});
        assert_eq!(claim(&v, "a.b"), Some(&serde_json::json!(1)));
        assert_eq!(claim(&v, "a.c.d"), Some(&serde_json::json!("x")));
        assert_eq!(claim(&v, "a.z"), None);
    }

    #[test]
    fn reasons_are_stable() {
        assert_eq!(JwtFailure::Expired.reason(), "expired_token");
        assert_eq!(JwtFailure::NotYetValid.reason(), "token_not_yet_valid");
        assert_eq!(JwtFailure::TooLarge.reason(), "token_too_large");
        assert_eq!(
            JwtFailure::MissingClaim("sub".into()).reason(),
            "missing_claim"
        );
    }
}
