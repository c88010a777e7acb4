//! OTLP logs sink: each chained row becomes one OpenTelemetry `LogRecord`, sent with OTLP/HTTP
//! (JSON encoding) to `{endpoint}/v1/logs`.
//!
//! Mapping (see `docs/AUDIT.md`):
//!
//! - `body.stringValue`: the event's exact JSON text (the bytes the row hash covers);
//! - `timeUnixNano`: the event's `ts`; `observedTimeUnixNano`: when it was sent;
//! - `traceId`: the event's `trace_id` when it is a valid W3C trace id;
//! - `severityText`/`severityNumber`: `WARN`/13 for `block` and `alert` decisions, else `INFO`/9;
//! - attributes `gatehouse.record` (`event`), `gatehouse.seq`, `gatehouse.hash`,
//!   `gatehouse.prev_hash`, `gatehouse.request_id`, `gatehouse.decision`, `gatehouse.principal`
//!   (when known);
//! - resource `service.name = "gatehouse"`, scope `gatehouse.audit`.
//!
//! Checkpoints are sent as records with `gatehouse.record = "checkpoint"` and the checkpoint
//! line as body, so a receiver can verify the chain it holds.
//!
//! The writer thread calls [`Sink::write`] synchronously; the sink drives an async HTTP client on
//! a runtime of its own (like the PostgreSQL sink). One POST per batch (split above
//! [`MAX_RECORDS_PER_POST`] records or [`MAX_BYTES_PER_POST`] bytes). A connection error, a
//! timeout or a non-2xx answer is a [`SinkError`]: the writer spools the rows and replays them
//! later. Delivery is at least once: a collector that stored a batch but whose answer was lost
//! gets it again; `gatehouse.seq` + `gatehouse.hash` identify duplicates. Within one process the
//! sink never resends a row it saw acknowledged.

use super::{Sink, SinkError, io};
use crate::chain::{ChainedRecord, Checkpoint};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use std::time::Duration;

/// At most this many records per POST.
pub const MAX_RECORDS_PER_POST: usize = 1000;
/// A POST is closed once its body passes this many bytes (collectors commonly accept 20 MiB).
pub const MAX_BYTES_PER_POST: usize = 4 * 1024 * 1024;
/// How much of a collector's answer is read.
const MAX_ANSWER: usize = 64 * 1024;

/// Where records go: `endpoint` with `/v1/logs` appended (unless it already ends with it).
/// Refuses anything but an `http`/`https` URL with a host and without user info, query or
/// fragment (credentials go in headers). The error never echoes the URL.
pub fn logs_url(endpoint: &str) -> Result<String, String> {
    let u = reqwest::Url::parse(endpoint.trim())
        .map_err(|_| "otlp endpoint is not a valid URL".to_owned())?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err("otlp endpoint must be an http:// or https:// URL".into());
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("otlp endpoint has no host".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(
            "otlp endpoint must not hold credentials (use headers_env or headers_file)".into(),
        );
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err("otlp endpoint must not have a query or fragment".into());
    }
    let e = u.as_str().trim_end_matches('/');
    Ok(if e.ends_with("/v1/logs") {
        e.to_owned()
    } else {
        format!("{e}/v1/logs")
    })
}

/// The OTLP logs sink.
pub struct OtlpSink {
    id: String,
    url: String,
    headers: HeaderMap,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
    /// Highest row seq the collector acknowledged in this process.
    sent: u64,
    /// Highest checkpoint seq the collector acknowledged in this process.
    sent_cp: u64,
}

impl std::fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSink")
            .field("id", &self.id)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// Prepares a sink (nothing is sent until the first write). `headers` are added to every
    /// request (e.g. a collector API key); their values are never logged or shown.
    pub fn new(
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<OtlpSink, SinkError> {
        let url = logs_url(endpoint).map_err(SinkError::Io)?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| SinkError::Io(format!("otlp: invalid header name {name:?}")))?;
            let mut v = HeaderValue::from_str(value.trim()).map_err(|_| {
                SinkError::Io(format!(
                    "otlp: header {name}: value is not a valid header value"
                ))
            })?;
            v.set_sensitive(true);
            map.insert(n, v);
        }
        let timeout = timeout.max(Duration::from_millis(100));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SinkError::Io(format!("otlp client: {}", e.without_url())))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("otlp runtime"))?;
        Ok(OtlpSink {
            id: super::SinkSpec::Otlp {
                endpoint: endpoint.to_owned(),
                headers: Vec::new(),
                timeout,
            }
            .id(),
            url,
            headers: map,
            client,
            rt,
            sent: 0,
            sent_cp: 0,
        })
    }

    /// POSTs one `ExportLogsServiceRequest`.
    fn post(&self, records: Vec<Value>) -> Result<(), SinkError> {
        let n = records.len();
        let body = serde_json::to_vec(&export_request(records))
            .map_err(|e| SinkError::Io(format!("otlp encode: {e}")))?;
        let req = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let (status, answer) = self.rt.block_on(async {
            let mut resp = req.send().await.map_err(http_err)?;
            let status = resp.status();
            let mut answer = Vec::new();
            while answer.len() < MAX_ANSWER {
                match resp.chunk().await {
                    Ok(Some(c)) => answer.extend_from_slice(&c),
                    Ok(None) => break,
                    // A 2xx whose answer breaks off still stored the records.
                    Err(_) => break,
                }
            }
            Ok::<_, SinkError>((status, answer))
        })?;
        if !status.is_success() {
            // The answer body is not quoted: it may echo what was sent.
            return Err(SinkError::Io(format!(
                "otlp: collector answered {status} to {n} records"
            )));
        }
        let rejected = rejected_records(&answer);
        if rejected > 0 {
            // Partial success is final in OTLP (resending would be rejected again).
            tracing::warn!(
                sink = %self.id,
                rejected,
                "otlp collector rejected some audit records (partial success)"
            );
        }
        Ok(())
    }
}

/// `reqwest` errors without the URL, with their causes (connect refused, timeout, …).
fn http_err(e: reqwest::Error) -> SinkError {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut msg = format!("otlp: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    if timeout && !msg.contains("timed out") {
        msg.push_str(" (timed out)");
    }
    SinkError::Io(msg)
}

/// `partialSuccess.rejectedLogRecords` of an `ExportLogsServiceResponse` (0 when absent).
fn rejected_records(answer: &[u8]) -> u64 {
    let Ok(v) = serde_json::from_slice::<Value>(answer) else {
        return 0;
    };
    match v.pointer("/partialSuccess/rejectedLogRecords") {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn export_request(records: Vec<Value>) -> Value {
    json!({
        "resourceLogs": [{
            "resource": {
                "attributes": [str_attr("service.name", "gatehouse")]
            },
            "scopeLogs": [{
                "scope": { "name": "gatehouse.audit", "version": env!("CARGO_PKG_VERSION") },
                "logRecords": records
            }]
        }]
    })
}

fn str_attr(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

fn int_attr(key: &str, value: u64) -> Value {
    // OTLP/JSON encodes 64-bit integers as decimal strings.
    json!({ "key": key, "value": { "intValue": value.to_string() } })
}

/// RFC 3339 → Unix nanoseconds (as OTLP/JSON's decimal string); `None` when unparsable.
fn unix_nanos(ts: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos())
        .ok()
        .map(|n| n.to_string())
}

fn now_nanos() -> String {
    time::OffsetDateTime::now_utc()
        .unix_timestamp_nanos()
        .max(0)
        .to_string()
}

/// A W3C trace id: 32 lower-case hex digits, not all zero.
fn valid_trace_id(t: &str) -> bool {
    t.len() == 32
        && t.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && t.bytes().any(|b| b != b'0')
}

/// The fields of an event the mapping reads.
#[derive(serde::Deserialize, Default)]
struct Fields {
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    principal: Option<String>,
    #[serde(default)]
    decision: Option<String>,
}

/// The OTLP/JSON `LogRecord` for one chained row.
pub fn log_record(r: &ChainedRecord, observed_nanos: &str) -> Value {
    let f: Fields = serde_json::from_str(&r.event_json).unwrap_or_default();
    let decision = f.decision.as_deref().unwrap_or("");
    let (sev_text, sev_num) = if matches!(decision, "block" | "alert") {
        ("WARN", 13)
    } else {
        ("INFO", 9)
    };
    let mut attrs = vec![
        str_attr("gatehouse.record", "event"),
        int_attr("gatehouse.seq", r.seq),
        str_attr("gatehouse.hash", &hex::encode(r.hash)),
        str_attr("gatehouse.prev_hash", &hex::encode(r.prev_hash)),
    ];
    if let Some(id) = &f.request_id {
        attrs.push(str_attr("gatehouse.request_id", id));
    }
    if !decision.is_empty() {
        attrs.push(str_attr("gatehouse.decision", decision));
    }
    if let Some(p) = &f.principal {
        attrs.push(str_attr("gatehouse.principal", p));
    }
    let mut rec = json!({
        "timeUnixNano": unix_nanos(f.ts.as_deref().unwrap_or(&r.ts)).unwrap_or_else(|| "0".into()),
        "observedTimeUnixNano": observed_nanos,
        "severityNumber": sev_num,
        "severityText": sev_text,
        "body": { "stringValue": r.event_json },
        "attributes": attrs,
    });
    if let Some(t) = f.trace_id.as_deref().filter(|t| valid_trace_id(t))
        && let Some(o) = rec.as_object_mut()
    {
        o.insert("traceId".into(), Value::String(t.to_owned()));
    }
    rec
}

/// The OTLP/JSON `LogRecord` for a signed checkpoint.
pub fn checkpoint_record(cp: &Checkpoint, observed_nanos: &str) -> Value {
    json!({
        "timeUnixNano": unix_nanos(&cp.ts).unwrap_or_else(|| "0".into()),
        "observedTimeUnixNano": observed_nanos,
        "severityNumber": 9,
        "severityText": "INFO",
        "body": { "stringValue": cp.to_line() },
        "attributes": [
            str_attr("gatehouse.record", "checkpoint"),
            int_attr("gatehouse.seq", cp.seq),
            str_attr("gatehouse.hash", &cp.hash),
            str_attr("gatehouse.checkpoint.key", &cp.key),
            str_attr("gatehouse.checkpoint.signature", &cp.signature),
        ],
    })
}

impl Sink for OtlpSink {
    fn id(&self) -> &str {
        &self.id
    }

    fn write(&mut self, rows: &[ChainedRecord]) -> Result<(), SinkError> {
        let now = now_nanos();
        let mut batch = Vec::new();
        let mut bytes = 0;
        let acked = self.sent;
        let mut last = acked;
        for r in rows.iter().filter(|r| r.seq > acked) {
            bytes += r.event_json.len() + 512;
            batch.push(log_record(r, &now));
            last = r.seq;
            if batch.len() >= MAX_RECORDS_PER_POST || bytes >= MAX_BYTES_PER_POST {
                self.post(std::mem::take(&mut batch))?;
                self.sent = last;
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            self.post(batch)?;
            self.sent = last;
        }
        Ok(())
    }

    fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), SinkError> {
        if cp.seq <= self.sent_cp {
            return Ok(());
        }
        self.post(vec![checkpoint_record(cp, &now_nanos())])?;
        self.sent_cp = cp.seq;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_url_appends_the_path_and_refuses_credentials() {
        assert_eq!(
            logs_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/logs"
        );
        assert_eq!(
            logs_url("https://c.example/otlp/").unwrap(),
            "https://c.example/otlp/v1/logs"
        );
        assert_eq!(
            logs_url("http://c:4318/v1/logs").unwrap(),
            "http://c:4318/v1/logs"
        );
        for bad in [
            "ftp://c/",
            "c:4318",
            "http://u:hunter2@c/",
            "http://c/?key=hunter2",
            "not a url hunter2",
        ] {
            let e = logs_url(bad).unwrap_err();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn a_record_maps_the_event_fields() {
        let ev = r#"{"v":2,"ts":"2026-01-02T03:04:05.678Z","request_id":"req_1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","decision":"block","principal":"user:alice"}"#;
        let r = ChainedRecord::new(6, [7u8; 32], ev.into(), "2026-01-02T03:04:05.678Z".into());
        let v = log_record(&r, "1");
        assert_eq!(v["timeUnixNano"], "1767323045678000000");
        assert_eq!(v["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(v["severityText"], "WARN");
        assert_eq!(v["severityNumber"], 13);
        assert_eq!(v["body"]["stringValue"], ev);
        let attrs: Vec<(String, Value)> = v["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["key"].as_str().unwrap().to_owned(), a["value"].clone()))
            .collect();
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("gatehouse.seq").unwrap()["intValue"], "7");
        assert_eq!(
            get("gatehouse.prev_hash").unwrap()["stringValue"],
            hex::encode([7u8; 32])
        );
        assert_eq!(
            get("gatehouse.principal").unwrap()["stringValue"],
            "user:alice"
        );
        // An invalid trace id is left out rather than sent.
        let ev = ev.replace("4bf92f3577b34da6a3ce929d0e0e4736", "xyz");
        let r = ChainedRecord::new(0, [0u8; 32], ev, String::new());
        assert!(log_record(&r, "1").get("traceId").is_none());
    }

    #[test]
    fn debug_never_shows_header_values() {
        let s = OtlpSink::new(
            "http://127.0.0.1:4318",
            &[("x-api-key".into(), "hunter2".into())],
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(
            OtlpSink::new(
                "http://c",
                &[("bad name".into(), "v".into())],
                Duration::ZERO
            )
            .is_err()
        );
    }

    #[test]
    fn partial_success_is_read_in_both_encodings() {
        assert_eq!(
            rejected_records(br#"{"partialSuccess":{"rejectedLogRecords":"3"}}"#),
            3
        );
        assert_eq!(
            rejected_records(br#"{"partialSuccess":{"rejectedLogRecords":2}}"#),
            2
        );
        assert_eq!(rejected_records(b"{}"), 0);
        assert_eq!(rejected_records(b"not json"), 0);
    }
}
