//! Simulated evidence: round trip, wrong key, tampering, and the policy gate.
#![cfg(feature = "simulated")]
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/verify_bytes.rs"]
mod verify_bytes;
use verify_bytes::VerifyBytes;

use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester, SimulatedVerifier, MAGIC};
use attestation_gate::{
    appraise, Binding, Collateral, Error, Platform, Policy, PolicyViolation, Purpose, RawClaims,
    UnixTime, Vendor,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

const T: UnixTime = UnixTime(1_800_000_000);
const IMAGE: [u8; 32] = [0xab; 32];

fn binding() -> Binding {
    Binding::new(Purpose::NodeIdentity, b"noise static key", T)
}

fn attester(seed: u8, label: &str) -> SimulatedAttester {
    SimulatedAttester::new(DevnetSigningKey::from_seed(&[seed; 32]), label, IMAGE).unwrap()
}

fn simulated_policy(measurement: attestation_gate::Measurement) -> Policy {
    let mut p = Policy::new([measurement]);
    p.allowed_platforms.insert(Platform::Simulated);
    p
}

#[test]
fn round_trip__should_verify_with_the_trusted_key_and_give_the_fields() {
    let a = attester(1, "sim-intel");
    let evidence = a.attest_bytes(binding().report_data(), T);
    let verifier = SimulatedVerifier::new([a.public_key()]);
    let claims = verifier
        .verify_bytes(&evidence, &Collateral::new(), T)
        .unwrap();
    assert_eq!(claims.platform(), Platform::Simulated);
    assert_eq!(claims.vendor(), Vendor::Simulated("sim-intel".into()));
    assert_eq!(claims.report_data(), Some(binding().report_data()));
    assert_eq!(claims.issued_at(), Some(T));
    assert!(!claims.debug());
    let RawClaims::Simulated(raw) = claims.raw() else {
        panic!("not simulated")
    };
    assert_eq!(raw.image, IMAGE);
    let mut h = Sha256::new();
    h.update(b"keynet/measurement/simulated/v1");
    h.update(IMAGE);
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(claims.measurement().as_bytes(), &expected);

    let accepted = appraise(
        claims.clone(),
        &binding(),
        &simulated_policy(claims.measurement()),
        T,
    )
    .unwrap();
    assert_eq!(accepted.claims().platform(), Platform::Simulated);
}

/// Genuine evidence labelled with another platform is refused by name, before it is
/// read (the verifier must not be asked to verify another platform's bytes).
#[test]
fn verify__should_refuse_evidence_labelled_with_another_platform() {
    let a = attester(1, "sim-intel");
    let verifier = SimulatedVerifier::new([a.public_key()]);
    let bytes = a.attest_bytes(binding().report_data(), T);
    let e = attestation_gate::VerifyEvidence::verify(
        &verifier,
        &attestation_gate::Evidence::new(Platform::Nitro, bytes),
        &Collateral::new(),
        T,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::PlatformMismatch {
                expected: Platform::Simulated,
                found: Platform::Nitro
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.kind(), "platform_mismatch");
}

#[test]
fn devnet__should_mix_simulated_vendors() {
    let labels = ["sim-intel", "sim-amd", "sim-aws"];
    let attesters: Vec<_> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| attester(10 + i as u8, l))
        .collect();
    let verifier = SimulatedVerifier::new(attesters.iter().map(|a| a.public_key()));
    for (a, label) in attesters.iter().zip(labels) {
        let claims = verifier
            .verify_bytes(
                &a.attest_bytes(binding().report_data(), T),
                &Collateral::new(),
                UnixTime(0),
            )
            .unwrap();
        assert_eq!(claims.vendor().label(), Some(label));
    }
}

#[test]
fn wrong_key__should_fail_untrusted_root() {
    let a = attester(1, "sim-intel");
    let evidence = a.attest_bytes(binding().report_data(), T);
    let other = attester(2, "sim-intel").public_key();
    let err = SimulatedVerifier::new([other])
        .verify_bytes(&evidence, &Collateral::new(), UnixTime(0))
        .unwrap_err();
    assert!(matches!(err, Error::UntrustedRoot { .. }), "{err:?}");
    let err = SimulatedVerifier::new([])
        .verify_bytes(&evidence, &Collateral::new(), UnixTime(0))
        .unwrap_err();
    assert!(matches!(err, Error::UntrustedRoot { .. }), "{err:?}");
}

#[test]
fn signer_swapped_for_a_trusted_key__should_fail_bad_signature() {
    // Evidence signed by key 1 but claiming trusted key 2 as its signer.
    let a = attester(1, "sim-intel");
    let trusted = attester(2, "sim-intel").public_key();
    let mut evidence = a.attest_bytes(binding().report_data(), T);
    let signer_at = evidence.len() - 64 - 32;
    evidence[signer_at..signer_at + 32].copy_from_slice(&trusted.to_bytes());
    let err = SimulatedVerifier::new([trusted])
        .verify_bytes(&evidence, &Collateral::new(), UnixTime(0))
        .unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err:?}");
}

#[test]
fn tampered_fields__should_fail_bad_signature() {
    let a = attester(1, "sim-intel");
    let evidence = a.attest_bytes(binding().report_data(), T);
    let verifier = SimulatedVerifier::new([a.public_key()]);
    // label byte, image, debug flag (0 -> 1 stays well-formed), report data, issued_at,
    // signature: each flip must fail with BadSignature.
    let label_len = "sim-intel".len();
    let image_at = 11 + label_len;
    let debug_at = image_at + 32;
    let rd_at = debug_at + 1;
    let time_at = rd_at + 64;
    let sig_at = time_at + 8 + 32;
    for (at, flip) in [
        (11 + 4, 0x01), // 'i' -> 'h'
        (image_at, 0x01),
        (debug_at, 0x01),
        (rd_at + 63, 0x80),
        (time_at + 7, 0x01),
        (sig_at, 0x01),
        (evidence.len() - 1, 0x01),
    ] {
        let mut t = evidence.clone();
        t[at] ^= flip;
        let err = verifier
            .verify_bytes(&t, &Collateral::new(), UnixTime(0))
            .unwrap_err();
        assert!(
            matches!(err, Error::BadSignature { .. }),
            "byte {at}: {err:?}"
        );
    }
}

#[test]
fn policy_without_simulated__should_refuse() {
    let a = attester(1, "sim-aws");
    let evidence = a.attest_bytes(binding().report_data(), T);
    let claims = SimulatedVerifier::new([a.public_key()])
        .verify_bytes(&evidence, &Collateral::new(), UnixTime(0))
        .unwrap();
    // A production policy, even one approving this very measurement.
    let policy = Policy::new([claims.measurement()]);
    assert!(!policy.allowed_platforms.contains(&Platform::Simulated));
    let err = appraise(claims, &binding(), &policy, T).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Policy(PolicyViolation::PlatformNotAllowed(Platform::Simulated))
        ),
        "{err:?}"
    );
}

#[test]
fn debug_simulated_evidence__should_fail_debug_forbidden() {
    let a = attester(1, "sim-amd").with_debug(true);
    let claims = SimulatedVerifier::new([a.public_key()])
        .verify_bytes(
            &a.attest_bytes(binding().report_data(), T),
            &Collateral::new(),
            UnixTime(0),
        )
        .unwrap();
    assert!(claims.debug());
    let err = appraise(
        claims.clone(),
        &binding(),
        &simulated_policy(claims.measurement()),
        T,
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Policy(PolicyViolation::DebugForbidden)),
        "{err:?}"
    );
}

#[test]
fn evidence_for_another_binding__should_fail_report_data_mismatch() {
    let a = attester(1, "sim-intel");
    let other = Binding::new(Purpose::AppKeyRequest, b"noise static key", T);
    let claims = SimulatedVerifier::new([a.public_key()])
        .verify_bytes(
            &a.attest_bytes(other.report_data(), T),
            &Collateral::new(),
            UnixTime(0),
        )
        .unwrap();
    let err = appraise(
        claims.clone(),
        &binding(),
        &simulated_policy(claims.measurement()),
        T,
    )
    .unwrap_err();
    assert!(matches!(err, Error::ReportDataMismatch), "{err:?}");
}

/// Known answer: the same evidence encoded independently from docs/PROTOCOL.md
/// ("Simulated evidence format") with python `cryptography` 48:
///
/// ```text
/// sk = Ed25519PrivateKey.from_private_bytes(bytes([1]*32)); pk = raw public key
/// body = b"kn-simev" + u16be(1) + u8(9) + b"sim-intel" + bytes([2]*32) + b"\x00"
///        + bytes([3]*64) + u64be(1800000000) + pk
/// evidence = body + sk.sign(b"keynet/simulated-evidence/v1" + body)
/// ```
#[test]
fn attest__should_match_an_independent_encoding() {
    const EXPECTED: &str = "6b6e2d73696d657600010973696d2d696e74656c02020202020202020202020202020202020202020202020202020202020202020003030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303000000006b49d2008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c69fc376b60bc393ec2b7238f9b4afafd5c21f98aec8974f2ea730fa4c5e939e88c78dc748841e7c11d612b13c325df24f61d72e712b3370c1e8a3b4e34befe0e";
    let a = SimulatedAttester::new(DevnetSigningKey::from_seed(&[1; 32]), "sim-intel", [2; 32])
        .unwrap();
    let evidence = a.attest_bytes(&attestation_gate::ReportData([3; 64]), T);
    assert_eq!(hex::encode(&evidence), EXPECTED);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verify__should_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let verifier = SimulatedVerifier::new([attester(1, "sim-intel").public_key()]);
        let _ = verifier.verify_bytes(&bytes, &Collateral::new(), UnixTime(0));
        let mut with_magic = MAGIC.to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = verifier.verify_bytes(&with_magic, &Collateral::new(), UnixTime(0));
    }

    #[test]
    fn verify__should_accept_no_single_byte_change(at in 0usize..230, flip in 1u8..=255) {
        let a = attester(1, "sim-intel");
        let evidence = a.attest_bytes(binding().report_data(), T);
        let at = at % evidence.len();
        let mut t = evidence.clone();
        t[at] ^= flip;
        prop_assert!(SimulatedVerifier::new([a.public_key()]).verify_bytes(&t, &Collateral::new(), UnixTime(0)).is_err());
    }
}
