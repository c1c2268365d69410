#![no_main]
//! Nitro attestation document decoder and verifier (COSE_Sign1, payload map, chain).
//! Seed with shared/fixtures/attestation/nitro/*/attestation_doc.* (decoded to CBOR).
use attestation_gate::nitro::NitroVerifier;
use attestation_gate::{Collateral, Evidence, Platform, UnixTime, VerifyEvidence};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Inside the window of the evervault-2022 document, so mutations of it get past the
    // chain checks and exercise the signature path.
    let evidence = Evidence::new(Platform::Nitro, data);
    let _ = NitroVerifier::new().verify(&evidence, &Collateral::new(), UnixTime(1665651482));
});
