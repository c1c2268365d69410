#![no_main]
//! The AMD CRL (collateral `crl.der`): DER parsing and verification against a pinned ARK
//! (via a recorded Milan report and VCEK, so the whole CRL path runs).
use attestation_gate::sev_snp::{crl, SevSnpVerifier, CRL, VCEK};
use attestation_gate::{Collateral, Evidence, Platform, UnixTime, VerifyEvidence};
use libfuzzer_sys::fuzz_target;

const REPORT_HEX: &str =
    include_str!("../../../../shared/fixtures/attestation/sev-snp/virtee-milan-vcek/report.hex");
const VCEK_DER: &[u8] =
    include_bytes!("../../../../shared/fixtures/attestation/sev-snp/virtee-milan-vcek/vcek.der");

static VERIFIER: std::sync::OnceLock<SevSnpVerifier> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let _ = crl::parse(data);
    let Ok(bytes) = hex::decode(REPORT_HEX.trim()) else {
        return;
    };
    let evidence = Evidence::new(Platform::SevSnp, bytes);
    let collateral = Collateral::new().with(VCEK, VCEK_DER).with(CRL, data);
    let r = VERIFIER.get_or_init(SevSnpVerifier::new).verify(
        &evidence,
        &collateral,
        UnixTime(1_735_689_600),
    );
    assert!(r.is_err());
});
