//! `appraise_peer`: the check a node runs on every peer against its on-chain record.
//! Real evidence cannot bind our keys, so the recorded samples exercise the platform
//! and binding refusals, and simulated evidence bound to a record the success path.
#![cfg(all(
    feature = "simulated",
    feature = "sev_snp",
    feature = "tdx",
    feature = "sgx"
))]
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/samples.rs"]
mod samples;

#[path = "support/verify_bytes.rs"]
mod verify_bytes;
use verify_bytes::VerifyBytes;

use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester, SimulatedVerifier};
use attestation_gate::{
    appraise_peer, Collateral, Error, PeerRecord, Platform, Policy, PolicyViolation, UnixTime,
    Verifiers,
};

const T: UnixTime = UnixTime(1_800_000_000);

fn record(platform: Platform) -> PeerRecord {
    PeerRecord::new(
        platform,
        vec![0x08, 0x01, 0x12, 0x20, 7, 7, 7],
        [8; 32],
        [9; 20],
    )
}

fn policy(c: &attestation_gate::Claims) -> Policy {
    Policy::new([c.measurement()])
        .with_allowed_platforms(Platform::ALL)
        .with_minimum_tcb_status(
            c.tcb_status()
                .unwrap_or(attestation_gate::TcbStatus::UpToDate),
        )
        .with_insecure_allow_debug(true)
}

#[test]
fn real_evidence__should_fail_platform_mismatch_then_binding_mismatch() {
    for s in [
        &samples::SNP_MILAN_VCEK,
        &samples::TDX_V4_UPTODATE,
        &samples::SGX_V3,
    ] {
        let (_, c) = Verifiers::new()
            .verify_any(&s.evidence_bytes(), &s.collateral(), s.t)
            .unwrap();
        let other = if s.platform == Platform::Tdx {
            Platform::SevSnp
        } else {
            Platform::Tdx
        };
        let e = appraise_peer(c.clone(), &record(other), s.t, &policy(&c), s.t).unwrap_err();
        assert!(
            matches!(e, Error::PlatformMismatch { expected, found } if expected == other && found == s.platform),
            "{}: {e:?}",
            s.name
        );
        assert_eq!(e.kind(), "platform_mismatch");
        // The right platform, but the evidence binds other report data.
        let e = appraise_peer(c.clone(), &record(s.platform), s.t, &policy(&c), s.t).unwrap_err();
        assert!(matches!(e, Error::BindingMismatch), "{}: {e:?}", s.name);
        assert_eq!(e.kind(), "binding_mismatch");
    }
}

fn simulated(record: &PeerRecord, issued_at: UnixTime) -> attestation_gate::Claims {
    let a = SimulatedAttester::new(DevnetSigningKey::from_seed(&[3; 32]), "sim-amd", [0xcd; 32])
        .unwrap();
    let evidence = a.attest_bytes(&record.report_data(issued_at), issued_at);
    SimulatedVerifier::new([a.public_key()])
        .verify_bytes(&evidence, &Collateral::new(), issued_at)
        .unwrap()
}

#[test]
fn simulated_evidence_bound_to_the_record__should_be_accepted() {
    let r = record(Platform::Simulated);
    let c = simulated(&r, T);
    let p = policy(&c);
    let a = appraise_peer(c.clone(), &r, T, &p, UnixTime(T.0 + 30)).unwrap();
    assert_eq!(a.claims(), &c);
    assert_eq!(a.binding(), &r.binding(T));
}

#[test]
fn simulated_evidence__should_fail_binding_for_any_other_key_or_time() {
    let r = record(Platform::Simulated);
    let c = simulated(&r, T);
    let p = policy(&c);
    let mut others = Vec::new();
    let mut x = r.clone();
    x.p2p_public_key[4] ^= 1;
    others.push(x);
    let mut x = r.clone();
    x.noise_static_key[0] ^= 1;
    others.push(x);
    let mut x = r.clone();
    x.signer[19] ^= 1;
    others.push(x);
    for other in others {
        let e = appraise_peer(c.clone(), &other, T, &p, T).unwrap_err();
        assert!(matches!(e, Error::BindingMismatch), "{e:?}");
    }
    let e = appraise_peer(c.clone(), &r, UnixTime(T.0 + 1), &p, T).unwrap_err();
    assert!(matches!(e, Error::BindingMismatch), "{e:?}");
    // The same keys bound for another purpose (node-identity over the Noise key alone)
    // do not pass either.
    let a = SimulatedAttester::new(DevnetSigningKey::from_seed(&[3; 32]), "sim-amd", [0xcd; 32])
        .unwrap();
    let rd = attestation_gate::ReportData::bind(
        attestation_gate::Purpose::NodeIdentity,
        &r.noise_static_key,
        T,
    );
    let ev = a.attest_bytes(&rd, T);
    let c2 = SimulatedVerifier::new([a.public_key()])
        .verify_bytes(&ev, &Collateral::new(), T)
        .unwrap();
    assert!(matches!(
        appraise_peer(c2, &r, T, &p, T),
        Err(Error::BindingMismatch)
    ));
}

#[test]
fn simulated_evidence__should_still_meet_the_policy() {
    let r = record(Platform::Simulated);
    let c = simulated(&r, T);
    let e = appraise_peer(c.clone(), &r, T, &Policy::new([c.measurement()]), T).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Policy(PolicyViolation::PlatformNotAllowed(Platform::Simulated))
        ),
        "{e:?}"
    );
    let late = UnixTime(T.0 + 10_000);
    let e = appraise_peer(c.clone(), &r, T, &policy(&c), late).unwrap_err();
    assert!(
        matches!(e, Error::Policy(PolicyViolation::EvidenceTooOld { .. })),
        "{e:?}"
    );
}
