#![no_main]
use attestation_gate::{Collateral, UnixTime, VerifyEvidence};
use libfuzzer_sys::fuzz_target;

const COLLATERAL: &[u8] = include_bytes!(
    "../../../../shared/fixtures/attestation/tdx/dcapqvl-v4-uptodate/collateral.json"
);

fuzz_target!(|data: &[u8]| {
    let c = Collateral::new().with("collateral.json", COLLATERAL);
    let _ = attestation_gate::dcap::TdxVerifier.verify(data, &c, UnixTime(1751328000));
    let _ = attestation_gate::dcap::SgxVerifier.verify(data, &c, UnixTime(1751328000));
});
