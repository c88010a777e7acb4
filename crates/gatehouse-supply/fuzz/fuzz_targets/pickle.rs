//! The pickle interpreter must never panic, hang or allocate by a length field.
#![no_main]
use gatehouse_supply::pickle::{Pickles, analyze, policy::Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let a = analyze(data, &Policy::new(), Pickles::UntilEnd, "fuzz");
    assert!(a.bytes <= data.len() as u64);
});
