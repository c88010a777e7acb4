//! GGUF structure walking and chat-template checks.
#![no_main]
use gatehouse_supply::scan::{ScanOptions, scan_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = b"GGUF\x03\x00\x00\x00".to_vec();
    file.extend_from_slice(data);
    let _ = scan_bytes("m.gguf", &file, &ScanOptions::default());
});
