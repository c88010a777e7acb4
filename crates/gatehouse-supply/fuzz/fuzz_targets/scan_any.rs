//! Format detection and every scanner behind it, on arbitrary bytes.
#![no_main]
use gatehouse_supply::scan::{ScanOptions, scan_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ScanOptions {
        max_buffered: 1 << 20,
        max_uncompressed: 1 << 24,
        ..ScanOptions::default()
    };
    let _ = scan_bytes("model.bin", data, &opts);
});
