//! safetensors header validation: arbitrary header JSON behind a valid length prefix.
#![no_main]
use gatehouse_supply::scan::{ScanOptions, scan_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Prefix a length that points inside the input so the header parser is reached.
    let n = data.len().min(4096) as u64;
    let mut file = n.to_le_bytes().to_vec();
    file.extend_from_slice(data);
    let _ = scan_bytes("m.safetensors", &file, &ScanOptions::default());
});
