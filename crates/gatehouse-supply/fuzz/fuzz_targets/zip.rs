//! Zip containers (PyTorch checkpoints, npz, keras): central directory, members, nesting.
#![no_main]
use gatehouse_supply::scan::{ScanOptions, scan_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = b"PK\x03\x04".to_vec();
    file.extend_from_slice(data);
    let opts = ScanOptions {
        max_buffered: 1 << 20,
        max_uncompressed: 1 << 24,
        ..ScanOptions::default()
    };
    let _ = scan_bytes("model.pt", &file, &opts);
});
