//! Observability at the record stage: every audited decision also updates the Prometheus
//! metrics, exports its trace spans, and feeds the anomaly detector ([`App::observe`]).
//!
//! Metrics live in a per-gateway [`Metrics`] registry (not the process-global `metrics`
//! recorder), rendered by [`serve_metrics`] on their own listener (`[metrics] listen`).
//! Label values are bounded: routes and stages are fixed sets, models are the configured public
//! names (anything else is `other`), decisions and codes are enums, finding types come from the
//! configured detectors, and principal ids appear only with `metrics.principal_labels = true`.

use crate::app::App;
use crate::checkpoint::Ctx;
use gatehouse_audit::AuditEvent;
use metrics::{Key, Label, Metadata, Recorder as _, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use opentelemetry::KeyValue;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` (`gatehouse serve` binds `listen`).
    pub enabled: bool,
    /// Address of the metrics listener (separate from the API listener).
    pub listen: String,
    /// Add a `principal` label to the request counter. Off by default: principal ids are
    /// unbounded and personal.
    pub principal_labels: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: false,
            listen: "127.0.0.1:9464".to_owned(),
            principal_labels: false,
        }
    }
}

impl MetricsConfig {
    /// Problems, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            p.push(("listen", format!("not a socket address: {:?}", self.listen)));
        }
        p
    }
}

static META: Metadata<'static> = Metadata::new("gatehouse", metrics::Level::INFO, None);

/// Latency buckets (seconds): 50 µs to 60 s.
const LATENCY_BUCKETS: [f64; 18] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 15.0, 60.0,
];

/// The gateway's metrics registry.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    models: HashSet<String>,
    principal_labels: bool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("principal_labels", &self.principal_labels)
            .finish_non_exhaustive()
    }
}

fn labels(pairs: &[(&'static str, String)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(k, v)| Label::new(*k, v.clone()))
        .collect()
}

impl Metrics {
    /// A registry for the configured public `models`.
    pub fn new<'a>(cfg: &MetricsConfig, models: impl IntoIterator<Item = &'a str>) -> Metrics {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let m = Metrics {
            recorder,
            handle,
            models: models.into_iter().map(str::to_owned).collect(),
            principal_labels: cfg.principal_labels,
        };
        m.describe();
        m
    }

    fn describe(&self) {
        let c = |name: &'static str, unit: Option<Unit>, help: &'static str| {
            self.recorder
                .describe_counter(name.into(), unit, help.into());
        };
        c(
            "gatehouse_requests_total",
            None,
            "Requests by route, model and decision",
        );
        c(
            "gatehouse_findings_total",
            None,
            "Detector findings by detector and type",
        );
        c(
            "gatehouse_tokens_total",
            None,
            "Tokens by model and direction",
        );
        c(
            "gatehouse_upstream_errors_total",
            None,
            "Requests that failed at the upstream, by model and code",
        );
        c(
            "gatehouse_limiter_rejections_total",
            None,
            "Requests refused by limits and budgets, by code",
        );
        c(
            "gatehouse_anomaly_alerts_total",
            None,
            "Anomaly alerts by kind",
        );
        self.recorder.describe_histogram(
            "gatehouse_request_duration_seconds".into(),
            Some(Unit::Seconds),
            "Time in the gateway per request, by route and decision".into(),
        );
        self.recorder.describe_histogram(
            "gatehouse_stage_duration_seconds".into(),
            Some(Unit::Seconds),
            "Time per checkpoint stage".into(),
        );
    }

    /// The model label: a configured public name, or `other`.
    pub fn model_label(&self, model: Option<&str>) -> String {
        match model {
            Some(m) if self.models.contains(m) => m.to_owned(),
            Some(_) => "other".to_owned(),
            None => "none".to_owned(),
        }
    }

    /// Adds `n` to a counter.
    pub fn count(&self, name: &'static str, pairs: &[(&'static str, String)], n: u64) {
        let key = Key::from_parts(name, labels(pairs));
        self.recorder.register_counter(&key, &META).increment(n);
    }

    /// Records one histogram value.
    pub fn observe_value(&self, name: &'static str, pairs: &[(&'static str, String)], v: f64) {
        let key = Key::from_parts(name, labels(pairs));
        self.recorder.register_histogram(&key, &META).record(v);
    }

    /// Sets a gauge.
    pub fn gauge(&self, name: &'static str, pairs: &[(&'static str, String)], v: f64) {
        let key = Key::from_parts(name, labels(pairs));
        self.recorder.register_gauge(&key, &META).set(v);
    }

    /// Sets a counter to an absolute value (counters kept elsewhere, copied at scrape time).
    pub fn absolute(&self, name: &'static str, pairs: &[(&'static str, String)], v: u64) {
        let key = Key::from_parts(name, labels(pairs));
        self.recorder.register_counter(&key, &META).absolute(v);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// `gen_ai.operation.name` for a route.
fn operation(route: &str) -> Option<&'static str> {
    match route {
        "/v1/chat/completions" | "/v1/messages" => Some("chat"),
        "/v1/embeddings" => Some("embeddings"),
        _ => None,
    }
}

impl App {
    /// The record stage's side outputs for one decision: metrics, trace spans, anomaly
    /// detection. Called once per request, after its audit event was built (never sees bodies).
    pub fn observe(&self, ctx: &mut Ctx, ev: &AuditEvent) {
        let m = &self.metrics;
        let model = m.model_label(ev.model.as_deref());
        let decision = ev.decision.to_owned();
        let mut req = vec![
            ("route", ev.route.to_owned()),
            ("model", model.clone()),
            ("decision", decision.clone()),
        ];
        if m.principal_labels {
            req.push(("principal", ev.principal.clone().unwrap_or_default()));
        }
        m.count("gatehouse_requests_total", &req, 1);
        for f in &ev.findings {
            m.count(
                "gatehouse_findings_total",
                &[("detector", f.detector.clone()), ("type", f.kind.clone())],
                1,
            );
        }
        if ev.tokens.input > 0 {
            m.count(
                "gatehouse_tokens_total",
                &[("model", model.clone()), ("direction", "input".into())],
                u64::from(ev.tokens.input),
            );
        }
        if ev.tokens.output > 0 {
            m.count(
                "gatehouse_tokens_total",
                &[("model", model.clone()), ("direction", "output".into())],
                u64::from(ev.tokens.output),
            );
        }
        if let Some(cost) = ev.cost_usd_micros.filter(|c| *c > 0) {
            m.count(
                "gatehouse_cost_usd_micros_total",
                &[("model", model.clone())],
                cost,
            );
        }
        match ev.code {
            Some(code @ ("upstream_error" | "upstream_timeout")) => m.count(
                "gatehouse_upstream_errors_total",
                &[("model", model.clone()), ("code", code.to_owned())],
                1,
            ),
            Some(code @ ("rate_limited" | "budget_exceeded")) => m.count(
                "gatehouse_limiter_rejections_total",
                &[("code", code.to_owned())],
                1,
            ),
            _ => {}
        }
        // Spans first: building them closes the open stage.
        let error = (ev.decision != "allow").then_some(ev.code.unwrap_or(ev.decision));
        if ctx.trace.sampled() {
            let op = operation(ev.route);
            let mut attrs = vec![
                KeyValue::new("http.route", ev.route),
                KeyValue::new("http.response.status_code", i64::from(ev.status)),
                KeyValue::new("gatehouse.request_id", ev.request_id.clone()),
                KeyValue::new("gatehouse.decision", ev.decision),
            ];
            if let Some(code) = ev.code {
                attrs.push(KeyValue::new("error.type", code));
            }
            let mut genai = Vec::new();
            if let Some(op) = op {
                genai.push(KeyValue::new("gen_ai.operation.name", op));
            }
            if let Some(model) = &ev.model {
                genai.push(KeyValue::new("gen_ai.request.model", model.clone()));
            }
            if let Some(p) = ev
                .provider
                .as_deref()
                .and_then(|p| self.provider_kinds.get(p))
            {
                genai.push(KeyValue::new("gen_ai.provider.name", *p));
                genai.push(KeyValue::new("gen_ai.system", *p));
            }
            if let Some(rm) = &ctx.trace.response_model {
                genai.push(KeyValue::new("gen_ai.response.model", rm.clone()));
            }
            if ev.tokens.input > 0 || ev.tokens.output > 0 {
                genai.push(KeyValue::new(
                    "gen_ai.usage.input_tokens",
                    i64::from(ev.tokens.input),
                ));
                genai.push(KeyValue::new(
                    "gen_ai.usage.output_tokens",
                    i64::from(ev.tokens.output),
                ));
            }
            attrs.extend(genai.iter().cloned());
            let name = match (op, &ev.model) {
                (Some(op), Some(model)) => format!("{op} {model}"),
                _ => format!("{} {}", ev.action, ev.route),
            };
            let spans = ctx
                .trace
                .spans(&self.telemetry, name, attrs, genai, error, ev.stage);
            self.telemetry.export(spans);
        } else {
            ctx.trace.leave();
        }
        m.observe_value(
            "gatehouse_request_duration_seconds",
            &[("route", ev.route.to_owned()), ("decision", decision)],
            ev.latency_us as f64 / 1e6,
        );
        for (stage, d) in ctx.trace.stage_durations() {
            m.observe_value(
                "gatehouse_stage_duration_seconds",
                &[("stage", stage.as_str().to_owned())],
                d.as_secs_f64(),
            );
        }
        if let Some(principal) = &ev.principal {
            let model = ev.model.as_deref().filter(|m| self.models.contains_key(*m));
            self.anomalies.observe(
                self,
                &gatehouse_audit::anomaly::Observation {
                    principal,
                    at_ms: unix_ms(),
                    tokens: u64::from(ev.tokens.input) + u64::from(ev.tokens.output),
                    blocked: ev.decision == "block",
                    injection_score: f64::from(ctx.injection_score) / 1000.0,
                    model,
                    tools: &[],
                },
            );
        }
    }

    /// Copies counters kept by other parts (audit, exporter, webhook) into the registry and
    /// renders it.
    pub fn render_metrics(&self) -> String {
        let m = &self.metrics;
        let a = self.auditor.stats();
        m.absolute(
            "gatehouse_audit_events_written_total",
            &[],
            a.written.load(Ordering::Relaxed),
        );
        m.absolute(
            "gatehouse_audit_events_dropped_total",
            &[],
            a.dropped.load(Ordering::Relaxed),
        );
        m.absolute(
            "gatehouse_audit_sink_errors_total",
            &[],
            a.errors.load(Ordering::Relaxed),
        );
        m.absolute(
            "gatehouse_audit_events_spooled_total",
            &[],
            a.spooled.load(Ordering::Relaxed),
        );
        m.gauge(
            "gatehouse_audit_queue_depth",
            &[],
            a.queued.load(Ordering::Relaxed) as f64,
        );
        m.gauge(
            "gatehouse_audit_spool_bytes",
            &[],
            self.spool_bytes() as f64,
        );
        m.gauge(
            "gatehouse_audit_sink_healthy",
            &[],
            if self.auditor.healthy() { 1.0 } else { 0.0 },
        );
        let lc = self.limiter.counters();
        for (outcome, n) in [
            ("admitted", lc.admitted),
            ("rate_limited", lc.rejected_rate),
            ("budget_exceeded", lc.rejected_budget),
            ("cooldown", lc.rejected_cooldown),
            ("unavailable", lc.rejected_unavailable),
            ("invalid", lc.rejected_invalid),
            ("fallback_admitted", lc.fallback_admits),
        ] {
            m.absolute(
                "gatehouse_limiter_decisions_total",
                &[("outcome", outcome.to_owned())],
                n,
            );
        }
        m.absolute("gatehouse_limiter_redis_errors_total", &[], lc.redis_errors);
        m.absolute(
            "gatehouse_limiter_cooldowns_started_total",
            &[],
            lc.cooldowns_started,
        );
        let t = &self.telemetry.stats;
        m.absolute(
            "gatehouse_trace_spans_exported_total",
            &[],
            t.exported.load(Ordering::Relaxed),
        );
        m.absolute(
            "gatehouse_trace_spans_dropped_total",
            &[],
            t.dropped.load(Ordering::Relaxed),
        );
        m.absolute(
            "gatehouse_trace_export_errors_total",
            &[],
            t.errors.load(Ordering::Relaxed),
        );
        self.anomalies.export_counters(m);
        m.render()
    }
}

impl App {
    /// Bytes waiting in the audit spool files (rows a sink could not take yet).
    fn spool_bytes(&self) -> u64 {
        let dir = self
            .config
            .audit
            .spool_dir
            .clone()
            .unwrap_or_else(|| self.config.data_dir());
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("spool-") && n.ends_with(".jsonl")
            })
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Serves `GET /metrics` (Prometheus text format) on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::routing::get;
    let router = axum::Router::new()
        .route(
            "/metrics",
            get(
                |axum::extract::State(app): axum::extract::State<Arc<App>>| async move {
                    (
                        [(
                            http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        app.render_metrics(),
                    )
                },
            ),
        )
        .with_state(app);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
