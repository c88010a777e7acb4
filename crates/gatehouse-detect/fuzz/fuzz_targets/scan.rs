//! The whole engine on arbitrary text: no panic, every span maps back to the original.
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
    let out = engine().scan(text, Direction::Input);
    for d in &out.detections {
        assert!(text.is_char_boundary(d.byte_start) && text.is_char_boundary(d.byte_end));
        assert_eq!(text[..d.byte_start].chars().count(), d.start);
    }
});
