use super::*;
use crate::event::{
    AnthropicDecoder, AnthropicEncoder, ChatEvent, Decoded, OpenAiDecoder, OpenAiEncoder,
};
use crate::parse_json;

fn openai_request() -> ChatRequest {
    parse_json(
        br#"{
        "model": "gpt-small",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
            {"role": "user", "content": [{"type": "text", "text": "Thanks. And tomorrow?"}]}
        ],
        "max_tokens": 200,
        "temperature": 0.5,
        "stop": ["END"],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required"
    }"#,
    )
    .unwrap()
}

fn anthropic_request() -> MessagesRequest {
    parse_json(
        br#"{
        "model": "claude-small",
        "system": [{"type": "text", "text": "You are terse."}],
        "max_tokens": 300,
        "messages": [
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
                {"type": "text", "text": "And tomorrow?"}
            ]}
        ],
        "stop_sequences": ["END"],
        "tools": [{"name": "get_weather", "description": "Weather by city", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "get_weather"}
    }"#,
    )
    .unwrap()
}

#[test]
fn openai_request_to_anthropic() {
    insta::assert_json_snapshot!(chat_to_messages(&openai_request()));
}

#[test]
fn anthropic_request_to_openai() {
    insta::assert_json_snapshot!(messages_to_chat(&anthropic_request()));
}

#[test]
fn anthropic_response_to_openai() {
    let resp: MessagesResponse = parse_json(
        br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
        "content":[{"type":"text","text":"Sunny."},{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}],
        "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":7}}"#,
    )
    .unwrap();
    insta::assert_json_snapshot!(messages_response_to_chat(&resp, 1_700_000_000));
}

#[test]
fn openai_response_to_anthropic() {
    let resp: ChatCompletion = parse_json(
        br#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-x",
        "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there."},"finish_reason":"length"}],
        "usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}"#,
    )
    .unwrap();
    insta::assert_json_snapshot!(chat_response_to_messages(&resp));
}

fn frames_to_string(frames: Vec<bytes::Bytes>) -> String {
    frames
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect()
}

#[test]
fn anthropic_stream_to_openai_stream() {
    let upstream = [
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"ping"}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}"#,
        r#"{"type":"message_stop"}"#,
    ];
    let mut dec = AnthropicDecoder::default();
    let mut enc = OpenAiEncoder::new(
        "chatcmpl-gh".into(),
        "claude-small".into(),
        1_700_000_000,
        true,
    );
    let mut frames = Vec::new();
    let mut events = Vec::new();
    for data in upstream {
        match dec.decode(data).unwrap() {
            Decoded::Events(evs) => {
                for ev in evs {
                    frames.extend(enc.encode(&ev));
                    events.push(ev);
                }
            }
            Decoded::Done => frames.push(enc.done()),
        }
    }
    assert_eq!(events[1], ChatEvent::Text("Hel".into()));
    insta::assert_snapshot!(frames_to_string(frames));
}

#[test]
fn openai_stream_to_anthropic_stream() {
    let upstream = [
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"content":"Hi "},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9","type":"function","function":{"name":"lookup","arguments":"{\"q\":"}}]},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"x\"}"}}]},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":6,"total_tokens":10}}"#,
        "[DONE]",
    ];
    let mut dec = OpenAiDecoder::default();
    let mut enc = AnthropicEncoder::new("msg_gh".into(), "gpt-small".into());
    let mut frames = Vec::new();
    for data in upstream {
        match dec.decode(data).unwrap() {
            Decoded::Events(evs) => frames.extend(evs.iter().filter_map(|ev| enc.encode(ev))),
            Decoded::Done => frames.push(enc.done()),
        }
    }
    insta::assert_snapshot!(frames_to_string(frames));
}

#[test]
fn malformed_upstream_chunks_are_errors_not_panics() {
    let mut dec = OpenAiDecoder::default();
    assert!(dec.decode("{not json").is_err());
    assert!(dec.decode(r#"{"error":{"message":"overloaded"}}"#).is_err());
    let mut dec = AnthropicDecoder::default();
    assert!(dec.decode(r#"{"type":"nope"}"#).is_err());
}

#[test]
fn parse_errors_name_the_field() {
    let err =
        parse_json::<ChatRequest>(br#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#)
            .unwrap_err();
    assert!(
        err.starts_with("messages[0].role: unknown variant `wizard`"),
        "{err}"
    );
    let err = parse_json::<ChatRequest>(br#"{"model":"m","messages":[}"#).unwrap_err();
    assert!(err.contains("malformed JSON"), "{err}");
    let err = parse_json::<ChatRequest>(br#"{"messages":[]}"#).unwrap_err();
    assert!(err.contains("missing field `model`"), "{err}");
}

#[test]
fn duplicate_keys_are_rejected_so_no_parser_differential_hides_a_message() {
    // Some JSON parsers keep the first duplicate, others the last: an attacker could show the
    // gateway one conversation and the upstream another. The gateway refuses such bodies.
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"messages":[{"role":"user","content":"evil"}]}"#;
    assert!(parse_json::<ChatRequest>(body).is_err());
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi","content":"evil"}]}"#;
    assert!(parse_json::<ChatRequest>(body).is_err());
    let body = br#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"system":"a","system":"b"}"#;
    assert!(parse_json::<MessagesRequest>(body).is_err());
}
