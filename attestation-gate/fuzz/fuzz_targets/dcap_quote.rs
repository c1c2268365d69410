#![no_main]
use attestation_gate::dcap::{SgxVerifier, TdxVerifier};
use attestation_gate::{Collateral, Evidence, Platform, UnixTime, VerifyEvidence};
use libfuzzer_sys::fuzz_target;

const COLLATERAL: &[u8] = include_bytes!(
    "../../../../shared/fixtures/attestation/tdx/dcapqvl-v4-uptodate/collateral.json"
);

fuzz_target!(|data: &[u8]| {
    let c = Collateral::new().with("collateral.json", COLLATERAL);
    // Uncached, so that every input runs the whole verification.
    let tdx = Evidence::new(Platform::Tdx, data);
    let sgx = Evidence::new(Platform::Sgx, data);
    let _ = TdxVerifier::new()
        .with_cache_capacity(0)
        .verify(&tdx, &c, UnixTime(1751328000));
    let _ = SgxVerifier::new()
        .with_cache_capacity(0)
        .verify(&sgx, &c, UnixTime(1751328000));
});
