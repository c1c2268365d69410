#![no_main]
use attestation_gate::sev_snp::{SevSnpVerifier, SnpReport};
use attestation_gate::{Collateral, Evidence, Platform, UnixTime, VerifyEvidence};
use libfuzzer_sys::fuzz_target;

const VCEK: &[u8] =
    include_bytes!("../../../../shared/fixtures/attestation/sev-snp/virtee-milan-vcek/vcek.der");

fuzz_target!(|data: &[u8]| {
    let _ = SnpReport::parse(data);
    let c = Collateral::new()
        .with("vcek.der", VCEK)
        .with("vlek.der", VCEK);
    let evidence = Evidence::new(Platform::SevSnp, data);
    let _ = SevSnpVerifier::new().verify(&evidence, &c, UnixTime(1735689600));
});
