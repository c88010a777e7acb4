//! The SSE decoder on untrusted upstream bytes, split at an arbitrary point: no panic, limits hold,
//! and the split never changes the result.
#![no_main]
use gatehouse_llm::sse::SseDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let cut = data[0] as usize % data.len();
    let body = &data[1..];
    let cut = cut.min(body.len());
    let run = |parts: &[&[u8]]| {
        let mut d = SseDecoder::new(256, 1024);
        let mut out = Vec::new();
        let mut res = Ok(());
        for p in parts {
            res = res.and_then(|_| d.push(p, &mut out));
        }
        let res = res.and_then(|_| d.finish(&mut out));
        for e in &out {
            assert!(e.data.len() <= 1024);
        }
        (res, out)
    };
    let whole = run(&[body]);
    let split = run(&[&body[..cut], &body[cut..]]);
    if whole.0.is_ok() && split.0.is_ok() {
        assert_eq!(whole.1, split.1);
    }
});
