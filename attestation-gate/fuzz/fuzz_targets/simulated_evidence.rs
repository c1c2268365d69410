#![no_main]
//! Simulated evidence decoder and verifier.
use attestation_gate::simulated::{DevnetSigningKey, SimulatedVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = DevnetSigningKey::from_seed(&[1; 32]).public_key();
    let _ = SimulatedVerifier::new([key]).verify_evidence(data);
});
