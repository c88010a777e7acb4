//! The streamed answer: upstream events → inspect(out) → client encoder → SSE frames, with the
//! audit event written when the stream ends, fails, is blocked, or is dropped by its client.
//!
//! Dropping the response body (the client went away) drops the upstream stream with it, which
//! closes the upstream connection: the provider stops generating and the gateway stops paying.

use crate::app::App;
use crate::checkpoint::{Ctx, upstream_rejection};
use crate::error::Protocol;
use crate::inspect::OutputChain;
use axum::body::Body;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use gatehouse_audit::AuditEvent;
use gatehouse_core::Rejection;
use gatehouse_llm::event::{
    AnthropicEncoder, ChatEvent, ClientEncoder, OpenAiEncoder, StreamError,
};
use gatehouse_llm::provider::EventStream;
use http::{HeaderValue, header};
use std::sync::Arc;

struct StreamState {
    app: Arc<App>,
    ctx: Ctx,
    upstream: EventStream,
    encoder: ClientEncoder,
    chain: OutputChain,
    done: bool,
    recorded: bool,
    /// The text released to the client (for the audit body), bounded.
    released: String,
}

impl StreamState {
    fn keep(&mut self, text: &str) {
        if self.released.len() < crate::app::AUDIT_BODY_MAX && self.app.stores_bodies() {
            self.released.push_str(text);
        }
    }

    /// The stream's audit event (once), with its reservation settled.
    fn prepare(&mut self, decision: &'static str, rej: Option<&Rejection>) -> Option<AuditEvent> {
        if self.recorded {
            return None;
        }
        self.recorded = true;
        if !self.released.is_empty() {
            self.ctx.body_response = self.app.audit_body_text(&self.released);
        }
        self.ctx.findings.extend(self.chain.findings());
        let status = if decision == "allow" {
            200
        } else {
            rej.map(|r| r.code.http_status()).unwrap_or(499)
        };
        self.ctx.trace.enter(crate::telemetry::Stage::Record);
        self.app.price(&mut self.ctx);
        let ev = self.ctx.event(decision, status, rej);
        // Settle the admit stage's reservation with what the stream used.
        if let Ok(h) = tokio::runtime::Handle::try_current()
            && let Some(r) = self.ctx.reservation.take()
        {
            h.spawn(r.settle(crate::checkpoint::settled_usage(&self.ctx)));
        }
        Some(ev)
    }

    fn record(&mut self, decision: &'static str, rej: Option<&Rejection>) {
        if let Some(ev) = self.prepare(decision, rej) {
            self.app.auditor.record_detached(ev.clone());
            self.app.observe(&mut self.ctx, &ev);
        }
    }

    /// The end of a complete answer. In strict mode the event must be durable before the
    /// stream's terminator is sent; if it cannot be written the client gets an error event
    /// instead of a normal end (the text already sent cannot be taken back).
    async fn finish_recorded(&mut self, out: &mut BytesMut) {
        if !self.app.auditor.strict() {
            out.extend_from_slice(&self.encoder.done());
            self.record("allow", None);
            return;
        }
        let Some(ev) = self.prepare("allow", None) else {
            out.extend_from_slice(&self.encoder.done());
            return;
        };
        match self.app.auditor.record(ev.clone()).await {
            Ok(()) => {
                self.app.observe(&mut self.ctx, &ev);
                out.extend_from_slice(&self.encoder.done());
            }
            Err(e) => {
                tracing::error!(request_id = %self.ctx.rid, error = %e, "record stage failed at the end of a stream");
                let rej = Rejection::internal("record").at("record");
                out.extend_from_slice(&self.error_frame(&rej));
            }
        }
    }

    fn error_frame(&mut self, rej: &Rejection) -> Bytes {
        let rid = self.ctx.rid.as_str().to_owned();
        self.encoder.error(&StreamError {
            code: rej.code.as_str(),
            openai_type: rej.code.openai_type(),
            anthropic_type: rej.code.anthropic_type(),
            message: &rej.message,
            request_id: &rid,
        })
    }

    /// Ends the stream with an error frame.
    fn fail(&mut self, rej: Rejection, out: &mut BytesMut) {
        let decision = if rej.code == gatehouse_core::ErrorCode::BlockedByGuardrail {
            "block"
        } else {
            "error"
        };
        out.extend_from_slice(&self.error_frame(&rej));
        self.record(decision, Some(&rej));
        self.done = true;
    }

    fn flush_chain(&mut self, out: &mut BytesMut) -> bool {
        match self.chain.finish() {
            Ok(t) => {
                self.keep(&t);
                if !t.is_empty()
                    && let Some(b) = self.encoder.encode(&ChatEvent::Text(t))
                {
                    out.extend_from_slice(&b);
                }
                true
            }
            Err(rej) => {
                self.fail(rej, out);
                false
            }
        }
    }

    /// Produces the next non-empty batch of frames, or `None` at the end.
    async fn next_frames(&mut self) -> Option<Bytes> {
        let mut out = BytesMut::new();
        while out.is_empty() {
            if self.done {
                return None;
            }
            match self.upstream.next().await {
                Some(Ok(ChatEvent::Text(t))) => match self.chain.push(&t) {
                    Ok(release) if !release.is_empty() => {
                        self.keep(&release);
                        if let Some(b) = self.encoder.encode(&ChatEvent::Text(release)) {
                            out.extend_from_slice(&b);
                        }
                    }
                    Ok(_) => {}
                    Err(rej) => self.fail(rej, &mut out),
                },
                Some(Ok(ev @ ChatEvent::Finish(_))) => {
                    if self.flush_chain(&mut out)
                        && let Some(b) = self.encoder.encode(&ev)
                    {
                        out.extend_from_slice(&b);
                    }
                }
                Some(Ok(ChatEvent::Usage(u))) => {
                    self.ctx.tokens.input = u.prompt_tokens;
                    self.ctx.tokens.output = u.completion_tokens;
                    if let Some(b) = self.encoder.encode(&ChatEvent::Usage(u)) {
                        out.extend_from_slice(&b);
                    }
                }
                Some(Ok(ev)) => {
                    if let Some(b) = self.encoder.encode(&ev) {
                        out.extend_from_slice(&b);
                    }
                }
                Some(Err(e)) => {
                    let rej = upstream_rejection(&mut self.ctx, &e);
                    self.fail(rej, &mut out);
                }
                None => {
                    if self.flush_chain(&mut out) {
                        self.finish_recorded(&mut out).await;
                        self.done = true;
                    }
                }
            }
        }
        Some(out.freeze())
    }
}

impl Drop for StreamState {
    fn drop(&mut self) {
        if !self.recorded {
            // The client went away before the end: the upstream stream is dropped with us.
            self.ctx.reason = Some("client_disconnected".to_owned());
            self.record("cancelled", None);
        }
    }
}

/// Builds the SSE response for an established upstream stream.
pub fn sse_response(
    app: Arc<App>,
    ctx: Ctx,
    upstream: EventStream,
    chain: OutputChain,
    public_model: String,
    include_usage: bool,
    created: u64,
) -> Response {
    let encoder = match ctx.protocol {
        Protocol::OpenAi => ClientEncoder::OpenAi(OpenAiEncoder::new(
            format!("chatcmpl-{}", &ctx.rid.as_str()[4..]),
            public_model,
            created,
            include_usage,
        )),
        Protocol::Anthropic => ClientEncoder::Anthropic(AnthropicEncoder::new(
            format!("msg_{}", &ctx.rid.as_str()[4..]),
            public_model,
        )),
    };
    let rid = HeaderValue::from_str(ctx.rid.as_str()).ok();
    let state = StreamState {
        app,
        ctx,
        upstream,
        encoder,
        chain,
        done: false,
        recorded: false,
        released: String::new(),
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        let frames = st.next_frames().await?;
        Some((Ok::<Bytes, std::convert::Infallible>(frames), st))
    });
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(v) = rid {
        h.insert("x-request-id", v);
    }
    resp
}
