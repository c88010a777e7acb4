//! The normaliser and decoder on arbitrary text: no panic, spans inside the original.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let n = gatehouse_detect::normalize::normalize(text);
    let len = n.text.len();
    let (s, e) = n.to_original(text, 0, len);
    assert!(s <= e && e <= text.len());
    for o in &n.obfuscations {
        assert!(o.start <= o.end && o.end <= text.len());
    }
    let _ = gatehouse_detect::decode::decode_runs(
        &n.text,
        &gatehouse_detect::decode::DecodeLimits::default(),
    );
});
