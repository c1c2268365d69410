//! The key-release rule chain (DESIGN.md §5, §7 "Key release"): whether verified
//! evidence of an application gets its keys, under the chain's policy and the
//! application's approvals at one block. One sans-IO function, [`release`], that the
//! node runs before it answers an application and that `kms attest check` runs to tell
//! an author in advance, so the two cannot disagree.
//!
//! Order (the first failing rule is the answer):
//!
//! 1. `binding_mismatch`: the evidence's report data is not the expected binding;
//! 2. `unknown_app`: the application id is not registered;
//! 3. the rules of [`attestation_gate::appraise`] under [`attestation_policy`]: platform
//!    allowed, debug, the measurement (`revoked` or `not_approved`, told apart by
//!    [`AppApproval`]), TCB status and floors, DCAP collateral, evidence age.

use attestation_gate::{
    appraise, Accepted, Binding, Claims, Measurement, PolicyViolation, UnixTime,
};

use crate::policy::{attestation_policy, OnChainPolicy};

/// What the chain says about an application and one measurement, at the block the
/// decision is made at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppApproval {
    /// The application id is not registered (`app(appId)` reverts `UnknownApp`).
    UnknownApp,
    /// The measurement is approved for the application.
    Approved,
    /// The measurement was approved once and then revoked.
    Revoked,
    /// The measurement was never approved (or its approval is still pending).
    NotApproved,
}

/// Why [`release`] refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The evidence does not bind the expected key, purpose and time.
    #[error("the evidence is not bound to the expected key and time")]
    BindingMismatch,
    /// The application id is not registered.
    #[error("unknown application")]
    UnknownApp,
    /// The measurement is not approved for the application.
    #[error("measurement {0} is not approved for the application")]
    NotApproved(Measurement),
    /// The measurement's approval was revoked.
    #[error("measurement {0} is revoked for the application")]
    Revoked(Measurement),
    /// A rule of the network policy refused the evidence.
    #[error("policy refused the evidence: {0}")]
    Policy(PolicyViolation),
    /// Appraisal failed on the evidence itself (e.g. collateral facts the policy needs
    /// are missing, an unknown SEV-SNP product line).
    #[error("the evidence cannot be appraised: {0}")]
    Evidence(attestation_gate::Error),
}

impl Refusal {
    /// The stable snake_case name of the rule that refused (logs, metrics, the CLI).
    pub fn rule(&self) -> &'static str {
        match self {
            Refusal::BindingMismatch => "binding_mismatch",
            Refusal::UnknownApp => "unknown_app",
            Refusal::NotApproved(_) => "not_approved",
            Refusal::Revoked(_) => "revoked",
            Refusal::Policy(v) => policy_rule(v),
            Refusal::Evidence(_) => "evidence_invalid",
        }
    }
}

/// The rule name of a policy violation (other than the measurement, which
/// [`release`] reports as `revoked` or `not_approved`).
pub fn policy_rule(violation: &PolicyViolation) -> &'static str {
    match violation {
        PolicyViolation::PlatformNotAllowed(_) => "platform_not_allowed",
        PolicyViolation::MeasurementNotApproved(_) => "not_approved",
        PolicyViolation::DebugForbidden => "debug",
        PolicyViolation::TcbBelowMinimum { .. }
        | PolicyViolation::SnpTcbBelowMinimum { .. }
        | PolicyViolation::TcbEvaluationDataNumberBelowMinimum { .. } => "tcb_below_floor",
        PolicyViolation::SnpTcbFloorMissing(_) => "tcb_floor_missing",
        PolicyViolation::CollateralTooOld { .. } => "collateral_too_old",
        PolicyViolation::EvidenceTooOld { .. } => "evidence_too_old",
        PolicyViolation::EvidenceFromFuture { .. } => "evidence_from_future",
        _ => "policy",
    }
}

/// Every rule name [`Refusal::rule`] can return, for documentation and metrics.
pub const RULES: [&str; 13] = [
    "binding_mismatch",
    "unknown_app",
    "platform_not_allowed",
    "debug",
    "not_approved",
    "revoked",
    "tcb_below_floor",
    "tcb_floor_missing",
    "collateral_too_old",
    "evidence_too_old",
    "evidence_from_future",
    "evidence_invalid",
    "policy",
];

/// The measurement digest of `claims` that approvals are looked up for under `chain`
/// (the TDX digest with or without RTMR3, as the policy says). The caller asks the
/// chain about this value and passes the answer to [`release`].
pub fn measurement(claims: &Claims, chain: &OnChainPolicy) -> Measurement {
    attestation_policy(chain, []).measurement_of(claims)
}

/// Whether verified `claims` get keys at `now`.
///
/// - `expected`: the binding the evidence must carry (the node: its session's key and
///   purpose). `None` when the caller cannot know it (`kms attest check` has no key):
///   then the evidence's own report data stands in and only `issued_at` matters for
///   the age rule.
/// - `issued_at`: when the evidence says it was made (the hello's `issued_at`); used
///   only when `expected` is `None`.
/// - `approval`: what the chain says about `app_id` and [`measurement`] at the block
///   the caller pinned.
pub fn release(
    claims: Claims,
    expected: Option<&Binding>,
    issued_at: UnixTime,
    chain: &OnChainPolicy,
    approval: AppApproval,
    now: UnixTime,
) -> Result<Accepted, Refusal> {
    let measured = measurement(&claims, chain);
    let approved = (approval == AppApproval::Approved).then_some(measured.0);
    let policy = attestation_policy(chain, approved);
    let binding = match expected {
        Some(b) => *b,
        None => match claims.report_data() {
            Some(rd) => Binding::from_report_data(*rd, issued_at),
            None => return Err(Refusal::BindingMismatch),
        },
    };
    let result = appraise(claims, &binding, &policy, now);
    if matches!(result, Err(attestation_gate::Error::ReportDataMismatch)) {
        return Err(Refusal::BindingMismatch);
    }
    if approval == AppApproval::UnknownApp {
        return Err(Refusal::UnknownApp);
    }
    result.map_err(|e| refusal(e, approval, measured))
}

fn refusal(
    error: attestation_gate::Error,
    approval: AppApproval,
    measured: Measurement,
) -> Refusal {
    match error {
        attestation_gate::Error::ReportDataMismatch => Refusal::BindingMismatch,
        attestation_gate::Error::Policy(PolicyViolation::MeasurementNotApproved(_)) => {
            match approval {
                AppApproval::Revoked => Refusal::Revoked(measured),
                _ => Refusal::NotApproved(measured),
            }
        }
        attestation_gate::Error::Policy(v) => Refusal::Policy(v),
        other => Refusal::Evidence(other),
    }
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used, clippy::expect_used)]
mod tests;
