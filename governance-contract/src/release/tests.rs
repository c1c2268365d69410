use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester, SimulatedVerifier};
use attestation_gate::{
    Collateral, Platform, Purpose, ReportData, SnpTcbComponent, TcbStatus, VerifyEvidence,
};

use super::*;
use crate::types::{platforms_mask, NetworkPolicy};

const NOW: UnixTime = UnixTime(1_800_000_000);
const KEY: &[u8] = b"the app's noise static key......";

fn chain(platforms: &[Platform]) -> OnChainPolicy {
    OnChainPolicy {
        allowed_platforms: platforms_mask(platforms),
        values: NetworkPolicy::default(),
    }
}

fn simulated() -> OnChainPolicy {
    chain(&[Platform::Simulated, Platform::Tdx])
}

/// Verified simulated claims for the binding (`key`, `issued_at`).
fn claims(key: &[u8], issued_at: UnixTime, debug: bool) -> Claims {
    let attester = SimulatedAttester::new(DevnetSigningKey::from_seed(&[1; 32]), "sim-1", [5; 32])
        .unwrap()
        .with_debug(debug);
    let rd = ReportData::bind(Purpose::AppKeyRequest, key, issued_at);
    let evidence = attester.attest(&rd, issued_at);
    SimulatedVerifier::new([attester.public_key()])
        .verify(&evidence, &Collateral::new(), NOW)
        .unwrap()
}

fn binding(key: &[u8], issued_at: UnixTime) -> Binding {
    Binding::new(Purpose::AppKeyRequest, key, issued_at)
}

/// The rule `release` answers for fresh evidence bound to [`KEY`].
fn rule(chain: &OnChainPolicy, approval: AppApproval, debug: bool) -> Result<(), &'static str> {
    let c = claims(KEY, NOW, debug);
    release(c, Some(&binding(KEY, NOW)), NOW, chain, approval, NOW)
        .map(|_| ())
        .map_err(|r| r.rule())
}

#[test]
fn release__should_accept_approved_evidence_bound_to_the_key() {
    let c = claims(KEY, NOW, false);
    let m = measurement(&c, &simulated());
    let accepted = release(
        c,
        Some(&binding(KEY, NOW)),
        NOW,
        &simulated(),
        AppApproval::Approved,
        NOW,
    )
    .unwrap();
    assert_eq!(accepted.claims().measurement(), m);
}

#[test]
fn release__should_refuse_each_approval_state_by_its_rule() {
    assert_eq!(
        rule(&simulated(), AppApproval::NotApproved, false),
        Err("not_approved")
    );
    assert_eq!(
        rule(&simulated(), AppApproval::Revoked, false),
        Err("revoked")
    );
    assert_eq!(
        rule(&simulated(), AppApproval::UnknownApp, false),
        Err("unknown_app")
    );
}

#[test]
fn release__should_refuse_debug_even_when_approved() {
    assert_eq!(
        rule(&simulated(), AppApproval::Approved, true),
        Err("debug")
    );
}

#[test]
fn release__should_refuse_a_platform_the_chain_does_not_allow() {
    let tdx_only = chain(&[Platform::Tdx]);
    assert_eq!(
        rule(&tdx_only, AppApproval::Approved, false),
        Err("platform_not_allowed")
    );
}

#[test]
fn release__should_refuse_evidence_bound_to_another_key_before_any_other_rule() {
    let c = claims(b"another key", NOW, false);
    let r = release(
        c,
        Some(&binding(KEY, NOW)),
        NOW,
        &simulated(),
        AppApproval::UnknownApp,
        NOW,
    );
    assert_eq!(r.unwrap_err().rule(), "binding_mismatch");
}

#[test]
fn release__should_refuse_old_and_future_evidence() {
    let mut short = simulated();
    short.values.max_evidence_age_secs = 30;
    let old = UnixTime(NOW.0 - 31);
    let r = release(
        claims(KEY, old, false),
        Some(&binding(KEY, old)),
        old,
        &short,
        AppApproval::Approved,
        NOW,
    );
    assert_eq!(r.unwrap_err().rule(), "evidence_too_old");
    let edge = UnixTime(NOW.0 - 30);
    let r = release(
        claims(KEY, edge, false),
        Some(&binding(KEY, edge)),
        edge,
        &short,
        AppApproval::Approved,
        NOW,
    );
    assert!(r.is_ok());
    let future = UnixTime(NOW.0 + 3_600);
    let r = release(
        claims(KEY, future, false),
        Some(&binding(KEY, future)),
        future,
        &short,
        AppApproval::Approved,
        NOW,
    );
    assert_eq!(r.unwrap_err().rule(), "evidence_from_future");
}

#[test]
fn release_without_a_binding__should_apply_every_other_rule() {
    let r = release(
        claims(KEY, NOW, false),
        None,
        NOW,
        &simulated(),
        AppApproval::Approved,
        NOW,
    );
    assert!(r.is_ok());
    let r = release(
        claims(KEY, NOW, false),
        None,
        NOW,
        &simulated(),
        AppApproval::Revoked,
        NOW,
    );
    assert_eq!(r.unwrap_err().rule(), "revoked");
    let old = UnixTime(NOW.0 - 601);
    let r = release(
        claims(KEY, old, false),
        None,
        old,
        &simulated(),
        AppApproval::Approved,
        NOW,
    );
    assert_eq!(r.unwrap_err().rule(), "evidence_too_old");
}

#[test]
fn policy_rule__should_name_the_tcb_and_collateral_rules() {
    use attestation_gate::ProductLine;
    let cases = [
        (
            PolicyViolation::TcbBelowMinimum {
                status: TcbStatus::OutOfDate,
                minimum: TcbStatus::UpToDate,
            },
            "tcb_below_floor",
        ),
        (
            PolicyViolation::SnpTcbBelowMinimum {
                line: ProductLine::Milan,
                component: SnpTcbComponent::Snp,
                have: 1,
                need: 2,
            },
            "tcb_below_floor",
        ),
        (
            PolicyViolation::TcbEvaluationDataNumberBelowMinimum { have: 1, need: 2 },
            "tcb_below_floor",
        ),
        (
            PolicyViolation::SnpTcbFloorMissing(ProductLine::Genoa),
            "tcb_floor_missing",
        ),
        (
            PolicyViolation::CollateralTooOld {
                age_secs: 2,
                max_secs: 1,
            },
            "collateral_too_old",
        ),
        (PolicyViolation::DebugForbidden, "debug"),
        (
            PolicyViolation::PlatformNotAllowed(Platform::Sgx),
            "platform_not_allowed",
        ),
    ];
    for (violation, name) in cases {
        let refusal = Refusal::Policy(violation);
        assert_eq!(refusal.rule(), name);
        assert!(RULES.contains(&name));
    }
}

#[test]
fn rules__should_be_distinct_snake_case_names() {
    let mut seen = std::collections::BTreeSet::new();
    for r in RULES {
        assert!(
            r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{r}"
        );
        assert!(seen.insert(r), "{r} twice");
    }
    for r in [
        Refusal::BindingMismatch,
        Refusal::UnknownApp,
        Refusal::NotApproved(Measurement([0; 32])),
        Refusal::Revoked(Measurement([0; 32])),
        Refusal::Evidence(attestation_gate::Error::UnknownFormat),
    ] {
        assert!(RULES.contains(&r.rule()));
    }
}
