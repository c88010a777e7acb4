//! The prompt-attack detector and the output-side checks on arbitrary text: no panic, scores in
//! [0, 1], finding spans inside the text; the streaming leak/canary/exfiltration scanners fed
//! arbitrary chunks.
#![no_main]
use gatehouse_core::Direction;
use gatehouse_detect::injection::canary::Canary;
use gatehouse_detect::injection::exfil::{ExfilConfig, ExfilDetector};
use gatehouse_detect::injection::leak::LeakDetector;
use gatehouse_detect::injection::{InjectionConfig, InjectionDetector};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn detector() -> &'static InjectionDetector {
    static D: OnceLock<InjectionDetector> = OnceLock::new();
    D.get_or_init(|| InjectionDetector::new(&InjectionConfig::default()).expect("default builds"))
}

fn exfil() -> &'static ExfilDetector {
    static D: OnceLock<ExfilDetector> = OnceLock::new();
    D.get_or_init(|| ExfilDetector::new(&ExfilConfig::default()).expect("default builds"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let n = text.chars().count();
    for dir in [Direction::Input, Direction::ToolResult, Direction::Output] {
        let r = detector().score(text, dir);
        assert!((0.0..=1.0).contains(&r.score));
        for f in &r.findings {
            assert!(f.start <= f.end && f.end <= n);
        }
    }
    let (_, found) = exfil().sanitize(text);
    for f in &found {
        assert!(f.start <= f.end && f.end <= n);
    }
    // Streams: the first half of the text is the system prompt, the whole text is streamed.
    let mid = text.char_indices().nth(n / 2).map(|(i, _)| i).unwrap_or(0);
    let leak = LeakDetector::new(&text[..mid], 8);
    let canary = Canary::from_seed([data.len() as u8; 16]);
    let mut ls = leak.stream();
    let mut cs = canary.stream();
    let mut es = exfil().stream();
    let mut last = 0;
    for (i, _) in text.char_indices().filter(|(i, _)| i % 5 == 0) {
        let chunk = &text[last..i];
        let _ = ls.push(chunk);
        let _ = cs.push(chunk);
        let _ = es.push(chunk);
        last = i;
    }
    let _ = ls.push(&text[last..]);
    let _ = cs.push(&text[last..]);
    let _ = es.push(&text[last..]);
    let _ = ls.finish();
    let _ = cs.finish();
    let _ = es.finish();
});
