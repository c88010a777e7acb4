//! OpenAI ↔ Anthropic translation of requests and non-streamed responses.
//!
//! Text, system prompts, tool definitions, tool calls and tool results map both ways. Fields one
//! protocol has and the other lacks (OpenAI `logprobs`, Anthropic `thinking` blocks) are dropped
//! when crossing, never invented. Golden snapshots in `tests.rs` pin every translation.

use crate::anthropic::{self, Block, MessageContent, MessagesRequest, MessagesResponse, System};
use crate::event::{finish_from_anthropic, finish_to_anthropic};
use crate::openai::{
    ChatCompletion, ChatRequest, Choice, Content, ContentPart, FunctionCall, Message, Role,
    ToolCall, Usage,
};
use serde_json::{Map, Value, json};

/// Output cap sent to Anthropic when an OpenAI client gave none (the Messages API requires one).
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 4096;

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(|b| b.get("text").and_then(|t| t.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// Anthropic request → OpenAI request (for an Anthropic client reaching an OpenAI-style provider).
pub fn messages_to_chat(req: &MessagesRequest) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        messages.push(Message::text(Role::System, system.text()));
    }
    for m in &req.messages {
        match (&m.role, &m.content) {
            (anthropic::Role::User, MessageContent::Text(t)) => {
                messages.push(Message::text(Role::User, t.clone()))
            }
            (anthropic::Role::Assistant, MessageContent::Text(t)) => {
                messages.push(Message::text(Role::Assistant, t.clone()))
            }
            (anthropic::Role::User, MessageContent::Blocks(blocks)) => {
                let mut parts = Vec::new();
                for b in blocks {
                    match b.kind.as_str() {
                        "tool_result" => {
                            let text = b.content.as_ref().map(value_text).unwrap_or_default();
                            let mut msg = Message::text(Role::Tool, text);
                            msg.tool_call_id = b.tool_use_id.clone();
                            messages.push(msg);
                        }
                        "text" => parts.push(ContentPart {
                            kind: "text".to_owned(),
                            text: b.text.clone(),
                            extra: Map::new(),
                        }),
                        "image" => {
                            let url = b.extra.get("source").and_then(|s| {
                                let media = s.get("media_type")?.as_str()?;
                                let data = s.get("data")?.as_str()?;
                                Some(format!("data:{media};base64,{data}"))
                            });
                            if let Some(url) = url {
                                let mut extra = Map::new();
                                extra.insert("image_url".to_owned(), json!({ "url": url }));
                                parts.push(ContentPart {
                                    kind: "image_url".to_owned(),
                                    text: None,
                                    extra,
                                });
                            }
                        }
                        _ => {}
                    }
                }
                if !parts.is_empty() {
                    let content = if parts.len() == 1 && parts[0].kind == "text" {
                        Content::Text(parts[0].text.clone().unwrap_or_default())
                    } else {
                        Content::Parts(parts)
                    };
                    let mut msg = Message::text(Role::User, "");
                    msg.content = Some(content);
                    messages.push(msg);
                }
            }
            (anthropic::Role::Assistant, MessageContent::Blocks(blocks)) => {
                let text: Vec<&str> = blocks
                    .iter()
                    .filter(|b| b.kind == "text")
                    .filter_map(|b| b.text.as_deref())
                    .collect();
                let calls: Vec<ToolCall> = blocks
                    .iter()
                    .filter(|b| b.kind == "tool_use")
                    .map(|b| ToolCall {
                        id: b.id.clone().unwrap_or_default(),
                        kind: "function".to_owned(),
                        function: FunctionCall {
                            name: b.name.clone().unwrap_or_default(),
                            arguments: b
                                .input
                                .as_ref()
                                .map(Value::to_string)
                                .unwrap_or_else(|| "{}".to_owned()),
                        },
                    })
                    .collect();
                let mut msg = Message::text(Role::Assistant, text.join(""));
                if text.is_empty() {
                    msg.content = None;
                }
                if !calls.is_empty() {
                    msg.tool_calls = Some(calls);
                }
                messages.push(msg);
            }
        }
    }
    let tools = req.tools.as_ref().map(|tools| {
        tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.get("name").cloned().unwrap_or(Value::Null),
                    "description": t.get("description").cloned().unwrap_or(Value::Null),
                    "parameters": t.get("input_schema").cloned().unwrap_or_else(|| json!({"type": "object"})),
                }})
            })
            .collect()
    });
    let tool_choice = req.tool_choice.as_ref().map(|c| match c.get("type").and_then(|t| t.as_str()) {
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => json!({"type": "function", "function": {"name": c.get("name").cloned().unwrap_or(Value::Null)}}),
        _ => json!("auto"),
    });
    ChatRequest {
        model: req.model.clone(),
        messages,
        stream: req.stream,
        stream_options: None,
        max_tokens: Some(req.max_tokens),
        max_completion_tokens: None,
        temperature: req.temperature,
        top_p: req.top_p,
        stop: req.stop_sequences.as_ref().map(|s| json!(s)),
        tools,
        tool_choice,
        extra: Map::new(),
    }
}

/// OpenAI request → Anthropic request (for an OpenAI client reaching an Anthropic provider).
pub fn chat_to_messages(req: &ChatRequest) -> MessagesRequest {
    let mut system = Vec::new();
    let mut messages: Vec<anthropic::Message> = Vec::new();
    let push = |messages: &mut Vec<anthropic::Message>, role: anthropic::Role, block: Block| {
        // The Messages API wants alternating roles: merge consecutive same-role turns.
        if let Some(last) = messages.last_mut()
            && last.role == role
            && let MessageContent::Blocks(b) = &mut last.content
        {
            b.push(block);
            return;
        }
        messages.push(anthropic::Message {
            role,
            content: MessageContent::Blocks(vec![block]),
        });
    };
    for m in &req.messages {
        let text = m.content.as_ref().map(Content::text).unwrap_or_default();
        match m.role {
            Role::System | Role::Developer => system.push(text),
            Role::User => push(&mut messages, anthropic::Role::User, Block::text(text)),
            Role::Assistant => {
                if !text.is_empty() {
                    push(&mut messages, anthropic::Role::Assistant, Block::text(text));
                }
                for call in m.tool_calls.iter().flatten() {
                    let mut b = Block::text("");
                    b.kind = "tool_use".to_owned();
                    b.text = None;
                    b.id = Some(call.id.clone());
                    b.name = Some(call.function.name.clone());
                    b.input = Some(
                        serde_json::from_str(&call.function.arguments)
                            .unwrap_or_else(|_| json!({})),
                    );
                    push(&mut messages, anthropic::Role::Assistant, b);
                }
            }
            Role::Tool | Role::Function => {
                let mut b = Block::text("");
                b.kind = "tool_result".to_owned();
                b.text = None;
                b.tool_use_id = m.tool_call_id.clone();
                b.content = Some(Value::String(text));
                push(&mut messages, anthropic::Role::User, b);
            }
        }
    }
    let tools = req.tools.as_ref().map(|tools| {
        tools
            .iter()
            .filter_map(|t| t.get("function"))
            .map(|f| {
                json!({
                    "name": f.get("name").cloned().unwrap_or(Value::Null),
                    "description": f.get("description").cloned().unwrap_or(Value::Null),
                    "input_schema": f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object"})),
                })
            })
            .collect()
    });
    let tool_choice = req.tool_choice.as_ref().map(|c| match c {
        Value::String(s) if s == "required" => json!({"type": "any"}),
        Value::String(s) if s == "none" => json!({"type": "none"}),
        Value::Object(_) => json!({"type": "tool", "name": c.pointer("/function/name").cloned().unwrap_or(Value::Null)}),
        _ => json!({"type": "auto"}),
    });
    let stop_sequences = req.stop.as_ref().map(|s| match s {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    });
    MessagesRequest {
        model: req.model.clone(),
        messages,
        system: (!system.is_empty()).then(|| System::Text(system.join("\n\n"))),
        max_tokens: req.output_cap().unwrap_or(DEFAULT_ANTHROPIC_MAX_TOKENS),
        stream: req.stream,
        temperature: req.temperature.map(|t| t.min(1.0)),
        top_p: req.top_p,
        top_k: None,
        stop_sequences,
        tools,
        tool_choice,
        extra: Map::new(),
    }
}

/// Anthropic response → OpenAI response.
pub fn messages_response_to_chat(resp: &MessagesResponse, created: u64) -> ChatCompletion {
    let text: String = resp
        .content
        .iter()
        .filter(|b| b.kind == "text")
        .filter_map(|b| b.text.as_deref())
        .collect();
    let calls: Vec<ToolCall> = resp
        .content
        .iter()
        .filter(|b| b.kind == "tool_use")
        .map(|b| ToolCall {
            id: b.id.clone().unwrap_or_default(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: b.name.clone().unwrap_or_default(),
                arguments: b
                    .input
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_else(|| "{}".to_owned()),
            },
        })
        .collect();
    let mut message = Message::text(Role::Assistant, text);
    if !calls.is_empty() {
        message.tool_calls = Some(calls);
    }
    ChatCompletion {
        id: resp.id.clone(),
        object: "chat.completion".to_owned(),
        created,
        model: resp.model.clone(),
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: resp.stop_reason.as_deref().map(finish_from_anthropic),
            extra: Map::new(),
        }],
        usage: Some(Usage::new(
            resp.usage.input_tokens,
            resp.usage.output_tokens,
        )),
        extra: Map::new(),
    }
}

/// OpenAI response → Anthropic response (first choice).
pub fn chat_response_to_messages(resp: &ChatCompletion) -> MessagesResponse {
    let mut content = Vec::new();
    let mut finish = None;
    if let Some(choice) = resp.choices.first() {
        let text = choice
            .message
            .content
            .as_ref()
            .map(Content::text)
            .unwrap_or_default();
        if !text.is_empty() {
            content.push(Block::text(text));
        }
        for call in choice.message.tool_calls.iter().flatten() {
            let mut b = Block::text("");
            b.kind = "tool_use".to_owned();
            b.text = None;
            b.id = Some(call.id.clone());
            b.name = Some(call.function.name.clone());
            b.input =
                Some(serde_json::from_str(&call.function.arguments).unwrap_or_else(|_| json!({})));
            content.push(b);
        }
        finish = choice.finish_reason.as_deref().map(finish_to_anthropic);
    }
    let usage = resp.usage.unwrap_or_default();
    MessagesResponse {
        id: resp.id.clone(),
        kind: "message".to_owned(),
        role: anthropic::Role::Assistant,
        model: resp.model.clone(),
        content,
        stop_reason: finish.or_else(|| Some("end_turn".to_owned())),
        stop_sequence: None,
        usage: anthropic::Usage {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
        },
    }
}

#[cfg(test)]
mod tests;
