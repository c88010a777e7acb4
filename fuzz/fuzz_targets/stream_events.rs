//! Upstream stream events (both protocols) decoded and re-encoded for both client protocols.
#![no_main]
use gatehouse_llm::event::{AnthropicDecoder, AnthropicEncoder, Decoded, OpenAiDecoder, OpenAiEncoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut oa = OpenAiDecoder::default();
    let mut an = AnthropicDecoder::default();
    let mut e1 = OpenAiEncoder::new("id".into(), "m".into(), 0, true);
    let mut e2 = AnthropicEncoder::new("id".into(), "m".into());
    for line in text.split('\n') {
        for res in [oa.decode(line), an.decode(line)] {
            if let Ok(Decoded::Events(evs)) = res {
                for ev in &evs {
                    let _ = e1.encode(ev);
                    let _ = e2.encode(ev);
                }
            }
        }
    }
    let _ = e1.done();
    let _ = e2.done();
});
