#![no_main]
//! The DCAP quote encoding check (the unsigned bytes: length fields, certification data
//! types, the PEM chain, padding) on arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = attestation_gate::dcap::check_encoding(data);
});
