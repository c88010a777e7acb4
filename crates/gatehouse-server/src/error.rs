//! The one place where a [`Rejection`] becomes an HTTP response, shaped for the caller's protocol.

use axum::body::Body;
use axum::response::Response;
use gatehouse_core::{ErrorCode, Rejection, RequestId};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// The protocol a caller speaks; decides the error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI: `{"error":{"message","type","code"}}`.
    OpenAi,
    /// Anthropic: `{"type":"error","error":{"type","message"}}`.
    Anthropic,
}

/// The JSON body of an error.
pub fn error_body(protocol: Protocol, rej: &Rejection, rid: &RequestId) -> Value {
    let mut inner = match protocol {
        Protocol::OpenAi => json!({
            "message": rej.message,
            "type": rej.code.openai_type(),
            "code": rej.code.as_str(),
            "param": null,
            "request_id": rid.as_str(),
        }),
        Protocol::Anthropic => json!({
            "type": rej.code.anthropic_type(),
            "message": rej.message,
            "code": rej.code.as_str(),
            "request_id": rid.as_str(),
        }),
    };
    if let Some(obj) = inner.as_object_mut() {
        if let Some(p) = &rej.policy {
            obj.insert("policy".into(), json!(p));
        }
        if !rej.finding_types.is_empty() {
            obj.insert("findings".into(), json!(rej.finding_types));
        }
    }
    match protocol {
        Protocol::OpenAi => json!({ "error": inner }),
        Protocol::Anthropic => {
            json!({ "type": "error", "error": inner, "request_id": rid.as_str() })
        }
    }
}

/// The full response for a rejection.
pub fn error_response(protocol: Protocol, rej: &Rejection, rid: &RequestId) -> Response {
    let body = error_body(protocol, rej, rid).to_string();
    let status =
        StatusCode::from_u16(rej.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(rid.as_str()) {
        h.insert("x-request-id", v);
    }
    if rej.code == ErrorCode::Unauthenticated {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    for (name, value) in rej.headers.iter().flat_map(|h| h.iter()) {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(*name, v);
        }
    }
    if let Some(s) = rej.retry_after_secs {
        h.insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    resp
}
