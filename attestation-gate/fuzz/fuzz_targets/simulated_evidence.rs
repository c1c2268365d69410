#![no_main]
//! Simulated evidence decoder and verifier.
use attestation_gate::simulated::{DevnetSigningKey, SimulatedVerifier};
use attestation_gate::{Collateral, Evidence, Platform, UnixTime, VerifyEvidence};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = DevnetSigningKey::from_seed(&[1; 32]).public_key();
    let evidence = Evidence::new(Platform::Simulated, data);
    let _ = SimulatedVerifier::new([key]).verify(&evidence, &Collateral::new(), UnixTime(0));
});
