//! The streaming scanner fed arbitrary chunks: no panic, hold-back bounded.
#![no_main]
use gatehouse_core::Direction;
use gatehouse_detect::{DetectConfig, Engine};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::new(&DetectConfig::default()).expect("default config builds"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let e = engine();
    let mut s = e.stream_scanner(Direction::Output);
    // Split at every 7th char boundary.
    let mut last = 0;
    for (i, _) in text.char_indices().filter(|(i, _)| i % 7 == 0) {
        let _ = s.push(&text[last..i]);
        assert!(s.held_back() <= e.max_pattern_len() + 64 || s.held_back() <= text.len());
        last = i;
    }
    let _ = s.push(&text[last..]);
    let _ = s.finish();
});
