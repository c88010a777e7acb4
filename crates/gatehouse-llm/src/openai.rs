//! OpenAI Chat Completions and Embeddings wire types.
//!
//! Known fields are typed (and validated by serde); everything else is kept in `extra` and passed
//! through unchanged to OpenAI-compatible upstreams.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Message roles accepted on the Chat Completions API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System instructions.
    System,
    /// Developer instructions (newer name for system on some models).
    Developer,
    /// End-user content.
    User,
    /// Model output.
    Assistant,
    /// A tool result.
    Tool,
    /// A legacy function result.
    Function,
}

/// `messages[].content`: a string or an array of typed parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Typed parts (`text`, `image_url`, `input_audio`, …).
    Parts(Vec<ContentPart>),
}

impl Content {
    /// All text in this content, parts joined with newlines.
    pub fn text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => {
                let mut out = String::new();
                for p in parts {
                    if let Some(t) = &p.text {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(t);
                    }
                }
                out
            }
        }
    }

    /// Mutable access to every text segment, for redaction in place.
    pub fn texts_mut(&mut self) -> Vec<&mut String> {
        match self {
            Content::Text(t) => vec![t],
            Content::Parts(parts) => parts.iter_mut().filter_map(|p| p.text.as_mut()).collect(),
        }
    }
}

/// One content part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentPart {
    /// Part type (`text`, `image_url`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Text, for `text` parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Everything else (image URLs, audio, cache hints).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// The content (absent on assistant messages that only call tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Optional participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// For `tool` messages: which call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Unknown fields, passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// A text message.
    pub fn text(role: Role, text: impl Into<String>) -> Message {
        Message {
            role,
            content: Some(Content::Text(text.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
            extra: Map::new(),
        }
    }
}

/// A tool call in an assistant message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id.
    pub id: String,
    /// Always `function` today.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its JSON-encoded arguments.
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".to_owned()
}

/// Function name and arguments (a JSON string, as the API sends it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// JSON-encoded arguments.
    #[serde(default)]
    pub arguments: String,
}

/// `stream_options`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Send a final chunk with `usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /v1/chat/completions` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Public model name (an alias in the gateway's config).
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Stream the answer as SSE.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// Stream options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Output token cap (legacy name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Output token cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences (string or array).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Value>,
    /// Tool definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Unknown fields, passed through to OpenAI-compatible upstreams.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// Checks what serde cannot: non-empty model and messages, sane numbers.
    pub fn validate(&self) -> Result<(), String> {
        if self.model.trim().is_empty() {
            return Err("model: must not be empty".to_owned());
        }
        if self.messages.is_empty() {
            return Err("messages: must contain at least one message".to_owned());
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err("temperature: must be between 0 and 2".to_owned());
        }
        if self.max_tokens == Some(0) || self.max_completion_tokens == Some(0) {
            return Err("max_tokens: must be at least 1".to_owned());
        }
        for (i, m) in self.messages.iter().enumerate() {
            if m.role == Role::Tool && m.tool_call_id.is_none() {
                return Err(format!(
                    "messages[{i}].tool_call_id: required for tool messages"
                ));
            }
        }
        Ok(())
    }

    /// Whether the client asked for a final usage chunk.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The effective output cap.
    pub fn output_cap(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

/// Token usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
    /// Sum.
    pub total_tokens: u32,
}

impl Usage {
    /// Usage from its two parts.
    pub fn new(prompt: u32, completion: u32) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt.saturating_add(completion),
        }
    }
}

/// One choice of a non-streamed completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Choice index.
    pub index: u32,
    /// The assistant message.
    pub message: Message,
    /// Why generation stopped.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Unknown fields (logprobs, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `chat.completion` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// Completion id.
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// Model that answered.
    pub model: String,
    /// Choices.
    pub choices: Vec<Choice>,
    /// Usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Unknown fields (system_fingerprint, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The delta of a streamed chunk.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Delta {
    /// Role, on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Partial tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Unknown fields (refusal, reasoning, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A partial tool call in a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call this extends.
    pub index: u32,
    /// Id, on the first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function`, on the first fragment.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name and argument fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDelta>,
}

/// Function name / argument fragment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionDelta {
    /// Name, on the first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Argument fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// One choice of a streamed chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Choice index.
    pub index: u32,
    /// The delta.
    #[serde(default)]
    pub delta: Delta,
    /// Why generation stopped, on the last chunk.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// `chat.completion.chunk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    /// Completion id (same on every chunk).
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// Model.
    pub model: String,
    /// Choices (empty on the usage chunk).
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the final chunk when requested.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// `POST /v1/embeddings` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    /// Public model name.
    pub model: String,
    /// A string, an array of strings, or token arrays.
    pub input: EmbeddingInput,
    /// Unknown fields (encoding_format, dimensions, user).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Embedding input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One string.
    One(String),
    /// Several strings.
    Many(Vec<String>),
    /// Pre-tokenized input.
    Tokens(Vec<Vec<u32>>),
}

impl EmbeddingInput {
    /// The text inputs (none for token arrays).
    pub fn texts(&self) -> Vec<&str> {
        match self {
            EmbeddingInput::One(s) => vec![s.as_str()],
            EmbeddingInput::Many(v) => v.iter().map(String::as_str).collect(),
            EmbeddingInput::Tokens(_) => Vec::new(),
        }
    }

    /// Number of inputs.
    pub fn len(&self) -> usize {
        match self {
            EmbeddingInput::One(_) => 1,
            EmbeddingInput::Many(v) => v.len(),
            EmbeddingInput::Tokens(v) => v.len(),
        }
    }

    /// Whether there are no inputs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
