//! Anthropic Messages API wire types (`POST /v1/messages`), including its SSE event types.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A content block (`text`, `image`, `tool_use`, `tool_result`, `thinking`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Block type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text, for `text` blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Tool-use id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool input (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// For `tool_result`: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// For `tool_result`: a string or blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// Everything else (source, cache_control, is_error, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Block {
    /// A text block.
    pub fn text(t: impl Into<String>) -> Block {
        Block {
            kind: "text".to_owned(),
            text: Some(t.into()),
            id: None,
            name: None,
            input: None,
            tool_use_id: None,
            content: None,
            extra: Map::new(),
        }
    }
}

/// Message content: a string or blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Blocks.
    Blocks(Vec<Block>),
}

/// Conversation roles (system is a top-level field on this API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// User turn.
    User,
    /// Assistant turn.
    Assistant,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Content.
    pub content: MessageContent,
}

/// The top-level `system` field: a string or text blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum System {
    /// Plain text.
    Text(String),
    /// Blocks.
    Blocks(Vec<Block>),
}

impl System {
    /// The system prompt as text.
    pub fn text(&self) -> String {
        match self {
            System::Text(t) => t.clone(),
            System::Blocks(b) => b
                .iter()
                .filter_map(|b| b.text.as_deref())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// `POST /v1/messages` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    /// Public model name.
    pub model: String,
    /// Conversation.
    pub messages: Vec<Message>,
    /// System prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    /// Output cap (required by the API).
    pub max_tokens: u32,
    /// Stream as SSE.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// Temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Tools `{name, description, input_schema}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Unknown fields (metadata, thinking, …), passed through to Anthropic upstreams.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MessagesRequest {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.model.trim().is_empty() {
            return Err("model: must not be empty".to_owned());
        }
        if self.messages.is_empty() {
            return Err("messages: must contain at least one message".to_owned());
        }
        if self.max_tokens == 0 {
            return Err("max_tokens: must be at least 1".to_owned());
        }
        if let Some(t) = self.temperature
            && !(0.0..=1.0).contains(&t)
        {
            return Err("temperature: must be between 0 and 1".to_owned());
        }
        Ok(())
    }
}

/// Usage on this API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: u32,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u32,
}

/// Non-streamed response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesResponse {
    /// Message id.
    pub id: String,
    /// Always `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always `assistant`.
    pub role: Role,
    /// Model that answered.
    pub model: String,
    /// Content blocks.
    pub content: Vec<Block>,
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Which stop sequence matched.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Usage.
    #[serde(default)]
    pub usage: Usage,
}

/// A streamed event (`event:` name + `data:` JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// First event: the message shell.
    MessageStart {
        /// The message so far (empty content).
        message: MessagesResponse,
    },
    /// A content block opens.
    ContentBlockStart {
        /// Block index.
        index: u32,
        /// The block shell.
        content_block: Block,
    },
    /// A piece of a block.
    ContentBlockDelta {
        /// Block index.
        index: u32,
        /// `{type:text_delta,text}` or `{type:input_json_delta,partial_json}` or others.
        delta: Value,
    },
    /// A block closes.
    ContentBlockStop {
        /// Block index.
        index: u32,
    },
    /// Top-level changes (stop reason, output usage).
    MessageDelta {
        /// `{stop_reason, stop_sequence}`.
        delta: Value,
        /// `{output_tokens}`.
        #[serde(default)]
        usage: Option<Value>,
    },
    /// Last event.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// An error mid-stream.
    Error {
        /// `{type, message}`.
        error: Value,
    },
}

impl StreamEvent {
    /// The SSE `event:` name for this event.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Ping => "ping",
            StreamEvent::Error { .. } => "error",
        }
    }
}
