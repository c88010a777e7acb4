//! Traces: W3C trace context in and out, one span per checkpoint stage with the OpenTelemetry
//! GenAI attributes, exported over OTLP/HTTP (protobuf) by a background task.
//!
//! Each request carries a [`RequestTrace`] in its context: the stage boundaries (taken as the
//! stages run) and the trace/span ids. The spans are built once, when the request is recorded,
//! with their real start and end times, and handed to the exporter through a bounded queue: a
//! full queue drops spans (counted), a slow or absent collector never delays a request.
//!
//! The incoming `traceparent` is honoured (the gateway's spans join the caller's trace, and its
//! sampled flag decides); the upstream receives a `traceparent` whose parent is the gateway's
//! `forward` span. With tracing off, an incoming `traceparent` is passed to the upstream as it
//! came (and `tracestate` with it), so traces still connect across the gateway.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// `[tracing]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// OTLP/HTTP collector base URL (`http://127.0.0.1:4318`; `/v1/traces` is appended unless
    /// the URL already ends with it). Absent = no traces exported.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported resource.
    pub service_name: String,
    /// Share of new traces (no incoming `traceparent`) that are sampled, 0–1. An incoming
    /// `traceparent`'s sampled flag is followed as it is.
    pub sample_ratio: f64,
    /// Requests whose spans may wait for the exporter; more are dropped and counted.
    pub queue: usize,
    /// Timeout of one export call (ms).
    pub timeout_ms: u64,
}

impl Default for TracingConfig {
    fn default() -> Self {
        TracingConfig {
            otlp_endpoint: None,
            service_name: "gatehouse".to_owned(),
            sample_ratio: 1.0,
            queue: 4096,
            timeout_ms: 5_000,
        }
    }
}

impl TracingConfig {
    /// Problems, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(u) = &self.otlp_endpoint
            && !((u.starts_with("http://") || u.starts_with("https://"))
                && u.parse::<http::Uri>().is_ok())
        {
            p.push((
                "otlp_endpoint",
                "must be an http:// or https:// URL".to_owned(),
            ));
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            p.push(("sample_ratio", "must be between 0 and 1".to_owned()));
        }
        if self.queue == 0 {
            p.push(("queue", "must be greater than 0".to_owned()));
        }
        if self.timeout_ms == 0 {
            p.push(("timeout_ms", "must be greater than 0".to_owned()));
        }
        p
    }
}

/// The checkpoint stages, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Who is calling.
    Identify,
    /// First policy decision.
    Authorize,
    /// Detectors on the request and the second decision.
    InspectIn,
    /// Limits and budgets.
    Admit,
    /// The upstream call (until the response head for streams).
    Forward,
    /// Detectors on the answer (the whole stream for streamed answers).
    InspectOut,
    /// The audit write.
    Record,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 7] = [
        Stage::Identify,
        Stage::Authorize,
        Stage::InspectIn,
        Stage::Admit,
        Stage::Forward,
        Stage::InspectOut,
        Stage::Record,
    ];

    /// Stable name (span names, metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Identify => "identify",
            Stage::Authorize => "authorize",
            Stage::InspectIn => "inspect_in",
            Stage::Admit => "admit",
            Stage::Forward => "forward",
            Stage::InspectOut => "inspect_out",
            Stage::Record => "record",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A parsed W3C `traceparent` (version 00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// Trace id (not all zero).
    pub trace_id: [u8; 16],
    /// The caller's span id (not all zero).
    pub parent_id: [u8; 8],
    /// Sampled flag.
    pub sampled: bool,
}

fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

impl TraceParent {
    /// Parses a header value; `None` for anything malformed (then a new trace starts).
    pub fn parse(value: &str) -> Option<TraceParent> {
        let v = value.trim();
        let mut parts = v.split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let parent = parts.next()?;
        let flags = parts.next()?;
        // Version 00 has exactly four fields; higher versions may append more.
        if version.len() != 2 || version == "ff" || hex_array::<1>(version).is_none() {
            return None;
        }
        if version == "00" && parts.next().is_some() {
            return None;
        }
        let trace_id = hex_array::<16>(trace)?;
        let parent_id = hex_array::<8>(parent)?;
        let flags = hex_array::<1>(flags)?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(TraceParent {
            trace_id,
            parent_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    /// The header value.
    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{}",
            hex::encode(self.trace_id),
            hex::encode(self.parent_id),
            if self.sampled { "01" } else { "00" }
        )
    }
}

/// One request's trace: ids and stage timings.
#[derive(Debug)]
pub struct RequestTrace {
    wall: SystemTime,
    start: Instant,
    stages: [Option<(u64, u64)>; 7],
    open: Option<(Stage, u64)>,
    remote: Option<TraceParent>,
    tracestate: Option<String>,
    /// Ids of the gateway's own spans, when it traces this request.
    ids: Option<Ids>,
    /// The model name at the provider that answered (`gen_ai.response.model`).
    pub response_model: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Ids {
    trace_id: [u8; 16],
    root: [u8; 8],
    forward: [u8; 8],
    sampled: bool,
}

fn nonzero<const N: usize>() -> [u8; N] {
    loop {
        let b: [u8; N] = rand::random();
        if b != [0; N] {
            return b;
        }
    }
}

impl Default for RequestTrace {
    fn default() -> Self {
        RequestTrace {
            wall: SystemTime::now(),
            start: Instant::now(),
            stages: [None; 7],
            open: None,
            remote: None,
            tracestate: None,
            ids: None,
            response_model: None,
        }
    }
}

impl RequestTrace {
    /// Reads the incoming trace context and decides whether the gateway traces this request.
    pub fn begin(&mut self, headers: &http::HeaderMap, telemetry: &Telemetry) {
        self.remote = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(TraceParent::parse);
        if self.remote.is_some() {
            self.tracestate = headers
                .get("tracestate")
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.len() <= 512)
                .map(str::to_owned);
        }
        if telemetry.enabled() {
            let (trace_id, sampled) = match &self.remote {
                Some(p) => (p.trace_id, p.sampled),
                None => (
                    nonzero::<16>(),
                    telemetry.sample_ratio >= 1.0 || rand::random::<f64>() < telemetry.sample_ratio,
                ),
            };
            self.ids = Some(Ids {
                trace_id,
                root: nonzero::<8>(),
                forward: nonzero::<8>(),
                sampled,
            });
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Ends the open stage (if any) and starts `stage`.
    pub fn enter(&mut self, stage: Stage) {
        let now = self.now_us();
        self.close_at(now);
        self.open = Some((stage, now));
    }

    /// Ends the open stage, if any.
    pub fn leave(&mut self) {
        let now = self.now_us();
        self.close_at(now);
    }

    fn close_at(&mut self, now: u64) {
        if let Some((s, t0)) = self.open.take() {
            let slot = &mut self.stages[s.index()];
            *slot = Some(match *slot {
                Some((first, _)) => (first, now),
                None => (t0, now),
            });
        }
    }

    /// The stage that is open now (the one a refusal happened in).
    pub fn open_stage(&self) -> Option<Stage> {
        self.open.map(|(s, _)| s)
    }

    /// Time spent in each finished stage.
    pub fn stage_durations(&self) -> impl Iterator<Item = (Stage, Duration)> + '_ {
        Stage::ALL.into_iter().filter_map(|s| {
            self.stages[s.index()].map(|(a, b)| (s, Duration::from_micros(b.saturating_sub(a))))
        })
    }

    /// Microseconds per finished stage, for the audit event.
    pub fn stage_us(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.stage_durations()
            .map(|(s, d)| (s.as_str(), u64::try_from(d.as_micros()).unwrap_or(u64::MAX)))
            .collect()
    }

    /// The trace id (32 lower-case hex digits), when the request is part of a trace.
    pub fn trace_id_hex(&self) -> Option<String> {
        self.ids
            .map(|i| i.trace_id)
            .or(self.remote.map(|r| r.trace_id))
            .map(hex::encode)
    }

    /// Headers for the upstream request: `traceparent` (parent: the gateway's forward span, or
    /// the caller's span when the gateway does not trace) and `tracestate` as received.
    pub fn upstream_headers(&self) -> Vec<(http::HeaderName, http::HeaderValue)> {
        let tp = match (self.ids, self.remote) {
            (Some(i), _) => TraceParent {
                trace_id: i.trace_id,
                parent_id: i.forward,
                sampled: i.sampled,
            },
            (None, Some(r)) => r,
            (None, None) => return Vec::new(),
        };
        let mut out = Vec::with_capacity(2);
        if let Ok(v) = http::HeaderValue::from_str(&tp.header()) {
            out.push((http::HeaderName::from_static("traceparent"), v));
        }
        if let Some(ts) = &self.tracestate
            && let Ok(v) = http::HeaderValue::from_str(ts)
        {
            out.push((http::HeaderName::from_static("tracestate"), v));
        }
        out
    }

    /// Whether spans should be exported for this request.
    pub fn sampled(&self) -> bool {
        self.ids.is_some_and(|i| i.sampled)
    }

    /// Builds the request's spans: a root server span `name` with `attrs`, one internal span per
    /// finished stage (the forward stage is a client span carrying `forward_attrs`). `error`
    /// marks the root span and the stage named `failed_stage` as failed.
    pub fn spans(
        &mut self,
        telemetry: &Telemetry,
        name: String,
        attrs: Vec<opentelemetry::KeyValue>,
        forward_attrs: Vec<opentelemetry::KeyValue>,
        error: Option<&'static str>,
        failed_stage: Option<&str>,
    ) -> Vec<SpanData> {
        self.leave();
        let Some(ids) = self.ids.filter(|i| i.sampled) else {
            return Vec::new();
        };
        let end = self.now_us();
        let at = |us: u64| self.wall + Duration::from_micros(us);
        let trace_id = TraceId::from_bytes(ids.trace_id);
        let ctx = |span: [u8; 8]| {
            SpanContext::new(
                trace_id,
                SpanId::from_bytes(span),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            )
        };
        let status = |failed: bool| match (failed, error) {
            (true, Some(e)) => opentelemetry::trace::Status::error(e),
            _ => opentelemetry::trace::Status::Unset,
        };
        let mut spans = Vec::with_capacity(8);
        spans.push(SpanData {
            span_context: ctx(ids.root),
            parent_span_id: self
                .remote
                .map(|r| SpanId::from_bytes(r.parent_id))
                .unwrap_or(SpanId::INVALID),
            parent_span_is_remote: self.remote.is_some(),
            span_kind: opentelemetry::trace::SpanKind::Server,
            name: name.into(),
            start_time: at(0),
            end_time: at(end),
            attributes: attrs,
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: status(true),
            instrumentation_scope: telemetry.scope.clone(),
        });
        let mut forward_attrs = Some(forward_attrs);
        for s in Stage::ALL {
            let Some((a, b)) = self.stages[s.index()] else {
                continue;
            };
            let (id, kind, attributes) = if s == Stage::Forward {
                (
                    ids.forward,
                    opentelemetry::trace::SpanKind::Client,
                    forward_attrs.take().unwrap_or_default(),
                )
            } else {
                (
                    nonzero::<8>(),
                    opentelemetry::trace::SpanKind::Internal,
                    Vec::new(),
                )
            };
            spans.push(SpanData {
                span_context: ctx(id),
                parent_span_id: SpanId::from_bytes(ids.root),
                parent_span_is_remote: false,
                span_kind: kind,
                name: s.as_str().into(),
                start_time: at(a),
                end_time: at(b),
                attributes,
                dropped_attributes_count: 0,
                events: Default::default(),
                links: Default::default(),
                status: status(failed_stage == Some(s.as_str())),
                instrumentation_scope: telemetry.scope.clone(),
            });
        }
        spans
    }
}

/// Exporter counters.
#[derive(Debug, Default)]
pub struct TelemetryStats {
    /// Spans handed to the exporter.
    pub exported: AtomicU64,
    /// Spans dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Failed export calls.
    pub errors: AtomicU64,
}

/// The trace exporter handle (one per gateway).
#[derive(Debug)]
pub struct Telemetry {
    tx: Option<tokio::sync::mpsc::Sender<Vec<SpanData>>>,
    sample_ratio: f64,
    scope: opentelemetry::InstrumentationScope,
    /// Counters.
    pub stats: Arc<TelemetryStats>,
}

/// The OTLP traces URL for a configured endpoint.
pub fn traces_url(endpoint: &str) -> String {
    let e = endpoint.trim_end_matches('/');
    if e.ends_with("/v1/traces") {
        e.to_owned()
    } else {
        format!("{e}/v1/traces")
    }
}

impl Telemetry {
    /// No export; ids are still read from and passed on to `traceparent`.
    pub fn disabled() -> Telemetry {
        Telemetry {
            tx: None,
            sample_ratio: 0.0,
            scope: opentelemetry::InstrumentationScope::builder("gatehouse").build(),
            stats: Arc::default(),
        }
    }

    /// Starts the exporter task when an endpoint is configured. Must run inside a Tokio runtime.
    pub fn start(cfg: &TracingConfig) -> Result<Telemetry, String> {
        let Some(endpoint) = &cfg.otlp_endpoint else {
            return Ok(Telemetry::disabled());
        };
        use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("tracing: {e}"))?;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .with_timeout(Duration::from_millis(cfg.timeout_ms))
            .build()
            .map_err(|e| format!("tracing.otlp_endpoint: {e}"))?;
        exporter.set_resource(
            &opentelemetry_sdk::Resource::builder()
                .with_service_name(cfg.service_name.clone())
                .build(),
        );
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<SpanData>>(cfg.queue);
        let stats: Arc<TelemetryStats> = Arc::default();
        let s = stats.clone();
        tokio::spawn(async move {
            while let Some(mut batch) = rx.recv().await {
                while batch.len() < 1024 {
                    match rx.try_recv() {
                        Ok(mut more) => batch.append(&mut more),
                        Err(_) => break,
                    }
                }
                let n = batch.len() as u64;
                match exporter.export(batch).await {
                    Ok(()) => {
                        s.exported.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => {
                        s.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(spans = n, error = %e, "trace export failed");
                    }
                }
            }
        });
        Ok(Telemetry {
            tx: Some(tx),
            sample_ratio: cfg.sample_ratio,
            scope: opentelemetry::InstrumentationScope::builder("gatehouse")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
            stats,
        })
    }

    /// Whether spans are exported.
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues one request's spans; never waits (a full queue drops them, counted).
    pub fn export(&self, spans: Vec<SpanData>) {
        if spans.is_empty() {
            return;
        }
        if let Some(tx) = &self.tx {
            let n = spans.len() as u64;
            if tx.try_send(spans).is_err() {
                self.stats.dropped.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_malformed_values() {
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let p = TraceParent::parse(v).unwrap();
        assert!(p.sampled);
        assert_eq!(p.header(), v);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad}");
        }
        // A future version may carry more fields.
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x")
                .is_some()
        );
    }

    #[test]
    fn without_tracing_an_incoming_traceparent_is_passed_on_unchanged() {
        let mut h = http::HeaderMap::new();
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        h.insert("traceparent", v.parse().unwrap());
        h.insert("tracestate", "congo=t61rcWkgMzE".parse().unwrap());
        let mut t = RequestTrace::default();
        t.begin(&h, &Telemetry::disabled());
        let out = t.upstream_headers();
        assert_eq!(out[0].1, v);
        assert_eq!(out[1].1, "congo=t61rcWkgMzE");
        assert_eq!(
            t.trace_id_hex().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let mut none = RequestTrace::default();
        none.begin(&http::HeaderMap::new(), &Telemetry::disabled());
        assert!(none.upstream_headers().is_empty() && none.trace_id_hex().is_none());
    }

    #[test]
    fn stages_record_their_durations_in_order() {
        let mut t = RequestTrace::default();
        t.enter(Stage::Identify);
        t.enter(Stage::Authorize);
        t.leave();
        t.enter(Stage::Forward);
        t.leave();
        let names: Vec<_> = t.stage_durations().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, vec!["identify", "authorize", "forward"]);
        assert_eq!(
            traces_url("http://127.0.0.1:4318/"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(traces_url("http://c/v1/traces"), "http://c/v1/traces");
    }
}
