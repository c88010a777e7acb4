//! Anthropic request bodies: parse, validate, translate to OpenAI. No input may panic.
#![no_main]
use gatehouse_llm::anthropic::MessagesRequest;
use gatehouse_llm::{parse_json, translate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = parse_json::<MessagesRequest>(data) {
        let _ = req.validate();
        let c = translate::messages_to_chat(&req);
        let _ = translate::chat_to_messages(&c);
    }
});
