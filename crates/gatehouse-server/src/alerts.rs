//! Anomaly alerts: the pure detector from `gatehouse_audit::anomaly` fed at the record stage,
//! and what an alert becomes — an audit event (`decision = "alert"`, hop `admin`, action
//! `anomaly`), a metric (`gatehouse_anomaly_alerts_total{kind}`) and, when configured, a signed
//! webhook.
//!
//! Webhooks are delivered by one background task from a bounded queue: a full queue drops the
//! alert's webhook (counted; the audit event is still written), and a slow or failing receiver
//! never delays a request. Each delivery is a `POST` of a JSON body with
//! `x-gatehouse-timestamp: <unix seconds>` and
//! `x-gatehouse-signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`; failures
//! (connection errors, timeouts, 408, 429, 5xx) are retried with exponential backoff.

use crate::app::App;
use gatehouse_audit::anomaly::{Alert, AlertKind, Detector, DetectorConfig, Observation};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `[anomaly]`: see `gatehouse_audit::anomaly` for the method.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Run the detector.
    pub enabled: bool,
    /// Bucket length (seconds).
    pub bucket_secs: f64,
    /// EWMA weight of the newest bucket.
    pub alpha: f64,
    /// z-score that alerts.
    pub z_threshold: f64,
    /// Buckets of history before a principal can alert.
    pub warmup_buckets: u32,
    /// Least time between alerts of one kind for one principal (seconds).
    pub cooldown_secs: f64,
    /// Tools whose first call alerts.
    pub sensitive_tools: Vec<String>,
    /// Alert on a principal's first use of a model.
    pub new_model_alerts: bool,
    /// Most principals tracked.
    pub max_principals: usize,
    /// Signed webhook for alerts.
    pub webhook: Option<WebhookConfig>,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        let d = DetectorConfig::default();
        AnomalyConfig {
            enabled: true,
            bucket_secs: d.bucket_secs,
            alpha: d.alpha,
            z_threshold: d.z_threshold,
            warmup_buckets: d.warmup_buckets,
            cooldown_secs: d.cooldown_secs,
            sensitive_tools: d.sensitive_tools,
            new_model_alerts: d.new_model_alerts,
            max_principals: d.max_principals,
            webhook: None,
        }
    }
}

/// `[anomaly.webhook]`.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Receiver URL (http or https).
    pub url: String,
    /// Environment variable holding the signing secret.
    pub secret_env: Option<String>,
    /// File holding the signing secret.
    pub secret_file: Option<PathBuf>,
    /// Timeout of one delivery attempt (ms).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Retries after the first attempt.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First backoff (ms), doubled per retry, capped at 60 s.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Alerts that may wait for delivery; more are dropped and counted.
    #[serde(default = "default_queue")]
    pub queue: usize,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a token in its query: print the host part only.
        let shown = self.url.split(['?', '#']).next().unwrap_or("");
        f.debug_struct("WebhookConfig")
            .field("url", &shown)
            .field("secret_env", &self.secret_env)
            .field("secret_file", &self.secret_file)
            .finish_non_exhaustive()
    }
}

fn default_timeout() -> u64 {
    5_000
}
fn default_retries() -> u32 {
    5
}
fn default_backoff() -> u64 {
    500
}
fn default_queue() -> usize {
    1024
}

impl AnomalyConfig {
    /// The detector's settings.
    pub fn detector(&self) -> DetectorConfig {
        DetectorConfig {
            bucket_secs: self.bucket_secs,
            alpha: self.alpha,
            z_threshold: self.z_threshold,
            warmup_buckets: self.warmup_buckets,
            cooldown_secs: self.cooldown_secs,
            sensitive_tools: self.sensitive_tools.clone(),
            new_model_alerts: self.new_model_alerts,
            max_principals: self.max_principals,
        }
    }

    /// Problems, as `(field, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = self
            .detector()
            .problems()
            .into_iter()
            .map(|(f, m)| (f.to_owned(), m))
            .collect();
        if let Some(w) = &self.webhook {
            if !((w.url.starts_with("http://") || w.url.starts_with("https://"))
                && w.url.parse::<http::Uri>().is_ok())
            {
                p.push((
                    "webhook.url".into(),
                    "must be an http:// or https:// URL".into(),
                ));
            }
            if w.secret_env.is_some() == w.secret_file.is_some() {
                p.push((
                    "webhook".into(),
                    "set exactly one of secret_env or secret_file (webhooks are always signed)"
                        .into(),
                ));
            }
            if w.queue == 0 || w.timeout_ms == 0 {
                p.push((
                    "webhook".into(),
                    "queue and timeout_ms must be greater than 0".into(),
                ));
            }
        }
        p
    }
}

/// Webhook delivery counters.
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Delivered (2xx).
    pub delivered: AtomicU64,
    /// Given up after the retries or refused by the receiver.
    pub failed: AtomicU64,
    /// Dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Retries made.
    pub retries: AtomicU64,
}

/// The detector and its outputs; one per gateway.
#[derive(Debug)]
pub struct Anomalies {
    detector: Option<Mutex<Detector>>,
    webhook: Option<tokio::sync::mpsc::Sender<Alert>>,
    alerts: [AtomicU64; 6],
    /// Webhook counters.
    pub webhook_stats: Arc<WebhookStats>,
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>").
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this branch is unreachable in practice.
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn read_secret(env: Option<&str>, file: Option<&Path>, base: &Path) -> Result<Vec<u8>, String> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(v.trim().as_bytes().to_vec()),
            _ => Err(format!(
                "anomaly.webhook: environment variable {var} is not set"
            )),
        };
    }
    if let Some(f) = file {
        let path = if f.is_absolute() {
            f.to_path_buf()
        } else {
            base.join(f)
        };
        return match std::fs::read_to_string(&path) {
            Ok(v) if !v.trim().is_empty() => Ok(v.trim().as_bytes().to_vec()),
            Ok(_) => Err(format!("anomaly.webhook: {} is empty", path.display())),
            Err(e) => Err(format!(
                "anomaly.webhook: cannot read {}: {}",
                path.display(),
                e.kind()
            )),
        };
    }
    Err("anomaly.webhook: no secret configured".into())
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn kind_index(k: AlertKind) -> usize {
    AlertKind::ALL.iter().position(|x| *x == k).unwrap_or(0)
}

impl Anomalies {
    /// Nothing is detected.
    pub fn disabled() -> Anomalies {
        Anomalies {
            detector: None,
            webhook: None,
            alerts: Default::default(),
            webhook_stats: Arc::default(),
        }
    }

    /// Builds the detector and starts the webhook task (inside a Tokio runtime).
    pub fn start(cfg: &AnomalyConfig, base_dir: &Path) -> Result<Anomalies, String> {
        if !cfg.enabled {
            return Ok(Anomalies::disabled());
        }
        let mut a = Anomalies::disabled();
        a.detector = Some(Mutex::new(Detector::new(cfg.detector())));
        if let Some(w) = &cfg.webhook {
            let secret = read_secret(w.secret_env.as_deref(), w.secret_file.as_deref(), base_dir)?;
            let client = reqwest::Client::builder()
                .timeout(Duration::from_millis(w.timeout_ms))
                .connect_timeout(Duration::from_millis(w.timeout_ms))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("anomaly.webhook: {e}"))?;
            let (tx, rx) = tokio::sync::mpsc::channel(w.queue);
            tokio::spawn(deliver(
                rx,
                client,
                w.clone(),
                secret,
                a.webhook_stats.clone(),
            ));
            a.webhook = Some(tx);
        }
        Ok(a)
    }

    /// Feeds one decision; alerts become audit events, metrics and webhooks.
    pub fn observe(&self, app: &App, o: &Observation<'_>) {
        let Some(det) = &self.detector else { return };
        let alerts = match det.lock() {
            Ok(mut d) => d.observe(o),
            Err(_) => return,
        };
        for alert in alerts {
            self.alerts[kind_index(alert.kind)].fetch_add(1, Ordering::Relaxed);
            let rid = gatehouse_core::RequestId::new();
            tracing::warn!(alert_id = %rid, kind = alert.kind.as_str(), "anomaly alert");
            let mut ev = gatehouse_audit::AuditEvent::new(
                rid.as_str(),
                gatehouse_core::Hop::Admin,
                "anomaly",
                "anomaly",
                "alert",
                0,
            );
            ev.principal = Some(alert.principal.clone());
            if alert.kind == AlertKind::NewModel {
                ev.model = alert.subject.clone();
            }
            if alert.kind == AlertKind::NewSensitiveTool {
                ev.resource = alert.subject.clone();
            }
            ev.reason = Some(alert.summary());
            ev.stage = Some(alert.kind.as_str());
            app.auditor.record_detached(ev);
            if let Some(tx) = &self.webhook
                && tx.try_send(alert).is_err()
            {
                self.webhook_stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Copies the counters into the metrics registry.
    pub fn export_counters(&self, m: &crate::observe::Metrics) {
        for k in AlertKind::ALL {
            m.absolute(
                "gatehouse_anomaly_alerts_total",
                &[("kind", k.as_str().to_owned())],
                self.alerts[kind_index(k)].load(Ordering::Relaxed),
            );
        }
        let s = &self.webhook_stats;
        for (name, v) in [
            ("delivered", &s.delivered),
            ("failed", &s.failed),
            ("dropped", &s.dropped),
        ] {
            m.absolute(
                "gatehouse_anomaly_webhooks_total",
                &[("outcome", name.to_owned())],
                v.load(Ordering::Relaxed),
            );
        }
    }
}

async fn deliver(
    mut rx: tokio::sync::mpsc::Receiver<Alert>,
    client: reqwest::Client,
    cfg: WebhookConfig,
    secret: Vec<u8>,
    stats: Arc<WebhookStats>,
) {
    while let Some(alert) = rx.recv().await {
        let body = serde_json::json!({
            "type": "gatehouse.anomaly",
            "id": gatehouse_core::RequestId::new().as_str(),
            "ts": gatehouse_audit::now_rfc3339(),
            "alert": alert,
        })
        .to_string()
        .into_bytes();
        let mut attempt = 0u32;
        loop {
            let ts = unix_secs();
            let sent = client
                .post(&cfg.url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .header("x-gatehouse-timestamp", ts.to_string())
                .header("x-gatehouse-signature", sign(&secret, ts, &body))
                .body(body.clone())
                .send()
                .await;
            let retry = match &sent {
                Ok(r) if r.status().is_success() => {
                    stats.delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(r) => {
                    let s = r.status().as_u16();
                    s == 408 || s == 429 || s >= 500
                }
                Err(_) => true,
            };
            if !retry || attempt >= cfg.max_retries {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                let status = sent.as_ref().ok().map(|r| r.status().as_u16());
                tracing::warn!(
                    attempts = attempt + 1,
                    status,
                    "anomaly webhook delivery failed"
                );
                break;
            }
            stats.retries.fetch_add(1, Ordering::Relaxed);
            let backoff = Duration::from_millis(cfg.backoff_ms)
                .saturating_mul(1u32 << attempt.min(16))
                .min(Duration::from_secs(60));
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 with the message split as "<ts>.<body>".
        let s = sign(b"Jefe", 0, b"");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let expect = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            expect,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The same construction through sign(): timestamp "1", body "x" = message "1.x".
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k").unwrap();
        mac.update(b"1.x");
        assert_eq!(
            sign(b"k", 1, b"x"),
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
    }

    #[test]
    fn webhooks_must_be_signed() {
        let cfg: AnomalyConfig =
            toml::from_str("[webhook]\nurl = \"http://127.0.0.1:1/hook\"\n").unwrap();
        let p = cfg.problems();
        assert!(p.iter().any(|(f, _)| f == "webhook"), "{p:?}");
    }
}
