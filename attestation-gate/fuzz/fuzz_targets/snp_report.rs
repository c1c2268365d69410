#![no_main]
use attestation_gate::sev_snp::{SevSnpVerifier, SnpReport};
use attestation_gate::{Collateral, UnixTime, VerifyEvidence};
use libfuzzer_sys::fuzz_target;

const VCEK: &[u8] =
    include_bytes!("../../../../shared/fixtures/attestation/sev-snp/virtee-milan-vcek/vcek.der");

fuzz_target!(|data: &[u8]| {
    let _ = SnpReport::parse(data);
    let c = Collateral::new().with("vcek.der", VCEK).with("vlek.der", VCEK);
    let _ = SevSnpVerifier::new().verify(data, &c, UnixTime(1735689600));
});
