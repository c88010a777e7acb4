//! The protocol-neutral stream: every upstream stream (OpenAI chunks or Anthropic events) is
//! decoded into [`ChatEvent`]s, the checkpoint's output inspection runs on them, and the client's
//! protocol encoder turns them back into SSE frames.

use crate::anthropic::{self, StreamEvent};
use crate::openai::{ChatChunk, ChunkChoice, Delta, FunctionDelta, Role, ToolCallDelta, Usage};
use crate::sse;
use bytes::Bytes;
use serde_json::json;

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The answer begins.
    Start {
        /// Upstream message id.
        id: String,
        /// Upstream model.
        model: String,
    },
    /// A piece of text.
    Text(String),
    /// A piece of a tool call.
    ToolCall {
        /// Which tool call.
        index: u32,
        /// Id, on the first piece.
        id: Option<String>,
        /// Name, on the first piece.
        name: Option<String>,
        /// Argument fragment (JSON text).
        arguments: String,
    },
    /// Generation stopped; the reason in OpenAI vocabulary (`stop`, `length`, `tool_calls`, …).
    Finish(String),
    /// Token usage (may come after `Finish`).
    Usage(Usage),
}

/// Maps an Anthropic stop reason to OpenAI's finish reason.
pub fn finish_from_anthropic(reason: &str) -> String {
    match reason {
        "end_turn" | "stop_sequence" | "pause_turn" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
    .to_owned()
}

/// Maps an OpenAI finish reason to Anthropic's stop reason.
pub fn finish_to_anthropic(reason: &str) -> String {
    match reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
    .to_owned()
}

/// Decodes OpenAI `chat.completion.chunk` data lines.
#[derive(Debug, Default)]
pub struct OpenAiDecoder {
    started: bool,
}

/// What one upstream data line meant.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// Zero or more events.
    Events(Vec<ChatEvent>),
    /// The stream is complete.
    Done,
}

impl OpenAiDecoder {
    /// Decodes one SSE event's data.
    pub fn decode(&mut self, data: &str) -> Result<Decoded, String> {
        if data.trim() == "[DONE]" {
            return Ok(Decoded::Done);
        }
        let v: serde_json::Value =
            serde_json::from_str(data).map_err(|e| format!("chunk is not JSON: {e}"))?;
        if let Some(err) = v.get("error") {
            let msg = err
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("error");
            return Err(format!("upstream error event: {msg}"));
        }
        let chunk: ChatChunk =
            serde_json::from_value(v).map_err(|e| format!("chunk has an unexpected shape: {e}"))?;
        let mut events = Vec::new();
        if !self.started {
            self.started = true;
            events.push(ChatEvent::Start {
                id: chunk.id.clone(),
                model: chunk.model.clone(),
            });
        }
        for c in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(t) = c.delta.content
                && !t.is_empty()
            {
                events.push(ChatEvent::Text(t));
            }
            for tc in c.delta.tool_calls.unwrap_or_default() {
                let f = tc.function.unwrap_or_default();
                events.push(ChatEvent::ToolCall {
                    index: tc.index,
                    id: tc.id,
                    name: f.name,
                    arguments: f.arguments.unwrap_or_default(),
                });
            }
            if let Some(r) = c.finish_reason {
                events.push(ChatEvent::Finish(r));
            }
        }
        if let Some(u) = chunk.usage {
            events.push(ChatEvent::Usage(u));
        }
        Ok(Decoded::Events(events))
    }
}

/// Decodes Anthropic Messages stream events.
#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    input_tokens: u32,
    /// Anthropic block index → OpenAI tool-call index.
    tool_blocks: Vec<(u32, u32)>,
    tools_seen: u32,
}

impl AnthropicDecoder {
    /// Decodes one SSE event's data.
    pub fn decode(&mut self, data: &str) -> Result<Decoded, String> {
        let ev: StreamEvent = serde_json::from_str(data)
            .map_err(|e| format!("event has an unexpected shape: {e}"))?;
        let mut out = Vec::new();
        match ev {
            StreamEvent::MessageStart { message } => {
                self.input_tokens = message.usage.input_tokens;
                out.push(ChatEvent::Start {
                    id: message.id,
                    model: message.model,
                });
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                if content_block.kind == "tool_use" {
                    let tool_index = self.tools_seen;
                    self.tools_seen += 1;
                    self.tool_blocks.push((index, tool_index));
                    out.push(ChatEvent::ToolCall {
                        index: tool_index,
                        id: content_block.id,
                        name: content_block.name,
                        arguments: String::new(),
                    });
                } else if let Some(t) = content_block.text.filter(|t| !t.is_empty()) {
                    out.push(ChatEvent::Text(t));
                }
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                match delta.get("type").and_then(|t| t.as_str()) {
                    Some("text_delta") => {
                        if let Some(t) = delta.get("text").and_then(|t| t.as_str()) {
                            out.push(ChatEvent::Text(t.to_owned()));
                        }
                    }
                    Some("input_json_delta") => {
                        let tool_index = self
                            .tool_blocks
                            .iter()
                            .find(|(b, _)| *b == index)
                            .map(|(_, t)| *t)
                            .unwrap_or(0);
                        let part = delta
                            .get("partial_json")
                            .and_then(|t| t.as_str())
                            .unwrap_or("");
                        out.push(ChatEvent::ToolCall {
                            index: tool_index,
                            id: None,
                            name: None,
                            arguments: part.to_owned(),
                        });
                    }
                    _ => {} // thinking / signature deltas are not forwarded across protocols
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(r) = delta.get("stop_reason").and_then(|r| r.as_str()) {
                    out.push(ChatEvent::Finish(finish_from_anthropic(r)));
                }
                if let Some(u) = usage {
                    let output =
                        u.get("output_tokens").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
                    out.push(ChatEvent::Usage(Usage::new(self.input_tokens, output)));
                }
            }
            StreamEvent::MessageStop => return Ok(Decoded::Done),
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping => {}
            StreamEvent::Error { error } => {
                let msg = error
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("error");
                return Err(format!("upstream error event: {msg}"));
            }
        }
        Ok(Decoded::Events(out))
    }
}

/// An error to put in the client's stream.
#[derive(Debug, Clone)]
pub struct StreamError<'a> {
    /// Stable code.
    pub code: &'a str,
    /// OpenAI `type`.
    pub openai_type: &'a str,
    /// Anthropic `type`.
    pub anthropic_type: &'a str,
    /// Message, safe for the caller.
    pub message: &'a str,
    /// Request id.
    pub request_id: &'a str,
}

/// Encodes events as OpenAI `chat.completion.chunk` SSE frames.
#[derive(Debug)]
pub struct OpenAiEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
}

impl OpenAiEncoder {
    /// An encoder; `model` is the public model name the client asked for.
    pub fn new(id: String, model: String, created: u64, include_usage: bool) -> Self {
        OpenAiEncoder {
            id,
            model,
            created,
            include_usage,
        }
    }

    fn chunk(&self, delta: Delta, finish: Option<String>) -> Bytes {
        let c = ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish,
            }],
            usage: None,
        };
        sse::encode(None, &serde_json::to_string(&c).unwrap_or_default())
    }

    /// Frames for one event (none for usage unless the client asked for it).
    pub fn encode(&mut self, ev: &ChatEvent) -> Option<Bytes> {
        match ev {
            ChatEvent::Start { .. } => Some(self.chunk(
                Delta {
                    role: Some(Role::Assistant),
                    content: Some(String::new()),
                    ..Delta::default()
                },
                None,
            )),
            ChatEvent::Text(t) => Some(self.chunk(
                Delta {
                    content: Some(t.clone()),
                    ..Delta::default()
                },
                None,
            )),
            ChatEvent::ToolCall {
                index,
                id,
                name,
                arguments,
            } => Some(self.chunk(
                Delta {
                    tool_calls: Some(vec![ToolCallDelta {
                        index: *index,
                        id: id.clone(),
                        kind: id.as_ref().map(|_| "function".to_owned()),
                        function: Some(FunctionDelta {
                            name: name.clone(),
                            arguments: Some(arguments.clone()),
                        }),
                    }]),
                    ..Delta::default()
                },
                None,
            )),
            ChatEvent::Finish(r) => Some(self.chunk(Delta::default(), Some(r.clone()))),
            ChatEvent::Usage(u) => {
                if !self.include_usage {
                    return None;
                }
                let c = ChatChunk {
                    id: self.id.clone(),
                    object: "chat.completion.chunk".to_owned(),
                    created: self.created,
                    model: self.model.clone(),
                    choices: Vec::new(),
                    usage: Some(*u),
                };
                Some(sse::encode(
                    None,
                    &serde_json::to_string(&c).unwrap_or_default(),
                ))
            }
        }
    }

    /// The end-of-stream marker.
    pub fn done(&mut self) -> Bytes {
        Bytes::from_static(b"data: [DONE]\n\n")
    }

    /// An error frame (the OpenAI SDKs raise on a chunk with an `error` key).
    pub fn error(&mut self, e: &StreamError<'_>) -> Bytes {
        let body = json!({"error": {
            "message": e.message, "type": e.openai_type, "code": e.code, "request_id": e.request_id
        }});
        sse::encode(None, &body.to_string())
    }
}

/// Encodes events as Anthropic Messages SSE events.
#[derive(Debug)]
pub struct AnthropicEncoder {
    id: String,
    model: String,
    open_block: Option<(u32, bool)>, // (index, is_text)
    next_block: u32,
    tool_blocks: Vec<(u32, u32)>, // tool index → block index
    stop_reason: Option<String>,
    usage: Usage,
    started: bool,
}

impl AnthropicEncoder {
    /// An encoder; `model` is the public model name the client asked for.
    pub fn new(id: String, model: String) -> Self {
        AnthropicEncoder {
            id,
            model,
            open_block: None,
            next_block: 0,
            tool_blocks: Vec::new(),
            stop_reason: None,
            usage: Usage::default(),
            started: false,
        }
    }

    fn frame(ev: &StreamEvent) -> Bytes {
        sse::encode(
            Some(ev.name()),
            &serde_json::to_string(ev).unwrap_or_default(),
        )
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open_block.take() {
            out.extend_from_slice(&Self::frame(&StreamEvent::ContentBlockStop { index }));
        }
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = anthropic::MessagesResponse {
            id: self.id.clone(),
            kind: "message".to_owned(),
            role: anthropic::Role::Assistant,
            model: self.model.clone(),
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: anthropic::Usage::default(),
        };
        out.extend_from_slice(&Self::frame(&StreamEvent::MessageStart { message }));
    }

    /// Frames for one event.
    pub fn encode(&mut self, ev: &ChatEvent) -> Option<Bytes> {
        let mut out = Vec::new();
        match ev {
            ChatEvent::Start { .. } => self.start(&mut out),
            ChatEvent::Text(t) => {
                self.start(&mut out);
                if !matches!(self.open_block, Some((_, true))) {
                    self.close_block(&mut out);
                    let index = self.next_block;
                    self.next_block += 1;
                    self.open_block = Some((index, true));
                    out.extend_from_slice(&Self::frame(&StreamEvent::ContentBlockStart {
                        index,
                        content_block: anthropic::Block::text(""),
                    }));
                }
                let index = self.open_block.map(|b| b.0).unwrap_or(0);
                out.extend_from_slice(&Self::frame(&StreamEvent::ContentBlockDelta {
                    index,
                    delta: json!({"type": "text_delta", "text": t}),
                }));
            }
            ChatEvent::ToolCall {
                index: tool,
                id,
                name,
                arguments,
            } => {
                self.start(&mut out);
                let known = self
                    .tool_blocks
                    .iter()
                    .find(|(t, _)| t == tool)
                    .map(|(_, b)| *b);
                let block = match known {
                    Some(b) => b,
                    None => {
                        self.close_block(&mut out);
                        let b = self.next_block;
                        self.next_block += 1;
                        self.tool_blocks.push((*tool, b));
                        self.open_block = Some((b, false));
                        let mut shell = anthropic::Block::text("");
                        shell.kind = "tool_use".to_owned();
                        shell.text = None;
                        shell.id = Some(id.clone().unwrap_or_else(|| format!("toolu_{b}")));
                        shell.name = Some(name.clone().unwrap_or_default());
                        shell.input = Some(json!({}));
                        out.extend_from_slice(&Self::frame(&StreamEvent::ContentBlockStart {
                            index: b,
                            content_block: shell,
                        }));
                        b
                    }
                };
                if !arguments.is_empty() {
                    out.extend_from_slice(&Self::frame(&StreamEvent::ContentBlockDelta {
                        index: block,
                        delta: json!({"type": "input_json_delta", "partial_json": arguments}),
                    }));
                }
            }
            ChatEvent::Finish(r) => self.stop_reason = Some(finish_to_anthropic(r)),
            ChatEvent::Usage(u) => self.usage = *u,
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    /// Closes open blocks, sends the stop reason and usage, then `message_stop`.
    pub fn done(&mut self) -> Bytes {
        let mut out = Vec::new();
        self.start(&mut out);
        self.close_block(&mut out);
        let stop = self
            .stop_reason
            .clone()
            .unwrap_or_else(|| "end_turn".to_owned());
        out.extend_from_slice(&Self::frame(&StreamEvent::MessageDelta {
            delta: json!({"stop_reason": stop, "stop_sequence": null}),
            usage: Some(json!({
                "input_tokens": self.usage.prompt_tokens,
                "output_tokens": self.usage.completion_tokens
            })),
        }));
        out.extend_from_slice(&Self::frame(&StreamEvent::MessageStop));
        Bytes::from(out)
    }

    /// An `error` event.
    pub fn error(&mut self, e: &StreamError<'_>) -> Bytes {
        let ev = StreamEvent::Error {
            error: json!({
                "type": e.anthropic_type, "message": e.message, "code": e.code,
                "request_id": e.request_id
            }),
        };
        Self::frame(&ev)
    }
}

/// Either client encoder.
#[derive(Debug)]
pub enum ClientEncoder {
    /// OpenAI chunks.
    OpenAi(OpenAiEncoder),
    /// Anthropic events.
    Anthropic(AnthropicEncoder),
}

impl ClientEncoder {
    /// Frames for one event.
    pub fn encode(&mut self, ev: &ChatEvent) -> Option<Bytes> {
        match self {
            ClientEncoder::OpenAi(e) => e.encode(ev),
            ClientEncoder::Anthropic(e) => e.encode(ev),
        }
    }

    /// End of stream.
    pub fn done(&mut self) -> Bytes {
        match self {
            ClientEncoder::OpenAi(e) => e.done(),
            ClientEncoder::Anthropic(e) => e.done(),
        }
    }

    /// Error frame.
    pub fn error(&mut self, err: &StreamError<'_>) -> Bytes {
        match self {
            ClientEncoder::OpenAi(e) => e.error(err),
            ClientEncoder::Anthropic(e) => e.error(err),
        }
    }
}
