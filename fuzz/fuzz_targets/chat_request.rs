//! OpenAI request bodies: parse, validate, translate to Anthropic. No input may panic.
#![no_main]
use gatehouse_llm::openai::ChatRequest;
use gatehouse_llm::{parse_json, translate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = parse_json::<ChatRequest>(data) {
        let _ = req.validate();
        let m = translate::chat_to_messages(&req);
        let back = translate::messages_to_chat(&m);
        let _ = back.validate();
    }
});
