//! Appraisal: genuine claims against the expected binding and governance policy
//! (DESIGN §5). Genuineness is checked first by a verifier; [`appraise`] only runs on
//! [`Claims`] that a verifier produced, and is the only way to obtain [`Accepted`].

use std::collections::BTreeSet;

use subtle::ConstantTimeEq;

use crate::binding::Binding;
use crate::claims::Claims;
use crate::error::Error;
use crate::types::{Measurement, Platform, TcbStatus, UnixTime};

/// What governance allows. Read from the contract by `kms-node`; built by hand in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Measurement digests voters approved (docs/PROTOCOL.md).
    pub approved_measurements: BTreeSet<Measurement>,
    /// Platforms admitted. [`Platform::Simulated`] is admitted only if listed here.
    pub allowed_platforms: BTreeSet<Platform>,
    /// The worst TCB status admitted, for platforms that report one.
    pub minimum_tcb_status: TcbStatus,
    /// Maximum age of evidence, in seconds, counted from the binding's `issued_at` (and
    /// from the evidence's own timestamp where it has one).
    pub max_evidence_age_secs: u64,
    /// How far in the future `issued_at` may lie (clock skew between parties), seconds.
    pub max_clock_skew_secs: u64,
    /// Admit debug-mode enclaves. Never in production: their memory is readable by the
    /// host.
    pub insecure_allow_debug: bool,
}

impl Policy {
    /// A production policy: the hardware platforms (not `Simulated`), TCB `UpToDate`,
    /// evidence at most 10 minutes old, 60 s of clock skew, debug refused.
    pub fn new(approved_measurements: impl IntoIterator<Item = Measurement>) -> Policy {
        Policy {
            approved_measurements: approved_measurements.into_iter().collect(),
            allowed_platforms: [
                Platform::Tdx,
                Platform::Sgx,
                Platform::SevSnp,
                Platform::Nitro,
            ]
            .into_iter()
            .collect(),
            minimum_tcb_status: TcbStatus::UpToDate,
            max_evidence_age_secs: 600,
            max_clock_skew_secs: 60,
            insecure_allow_debug: false,
        }
    }
}

/// The rule a policy refusal is based on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// The platform is not in `allowed_platforms`.
    #[error("platform {0} is not allowed")]
    PlatformNotAllowed(Platform),
    /// The measurement digest is not approved.
    #[error("measurement {0} is not approved")]
    MeasurementNotApproved(Measurement),
    /// The TCB status is below the minimum.
    #[error("TCB status {status} is below the minimum {minimum}")]
    TcbBelowMinimum {
        /// Reported status.
        status: TcbStatus,
        /// Required minimum.
        minimum: TcbStatus,
    },
    /// The enclave runs in debug mode.
    #[error("debug-mode enclaves are forbidden")]
    DebugForbidden,
    /// The evidence is older than `max_evidence_age_secs`.
    #[error("the evidence is {age_secs} s old, more than the allowed {max_secs} s")]
    EvidenceTooOld {
        /// Age.
        age_secs: u64,
        /// Allowed.
        max_secs: u64,
    },
    /// The evidence claims to be from the future (beyond the allowed clock skew).
    #[error("the evidence claims to be issued {ahead_secs} s in the future")]
    EvidenceFromFuture {
        /// How far ahead.
        ahead_secs: u64,
    },
}

impl PolicyViolation {
    /// Stable snake_case kind (CLI).
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyViolation::PlatformNotAllowed(_) => "platform_not_allowed",
            PolicyViolation::MeasurementNotApproved(_) => "measurement_not_approved",
            PolicyViolation::TcbBelowMinimum { .. } => "tcb_below_minimum",
            PolicyViolation::DebugForbidden => "debug_forbidden",
            PolicyViolation::EvidenceTooOld { .. } => "evidence_too_old",
            PolicyViolation::EvidenceFromFuture { .. } => "evidence_from_future",
        }
    }
}

/// Claims that passed [`appraise`]. Only `appraise` builds one; `kms-node` calls that
/// admit a peer or release a key take `&Accepted`.
#[derive(Debug, Clone)]
pub struct Accepted {
    claims: Claims,
    binding: Binding,
    appraised_at: UnixTime,
}

impl Accepted {
    /// The accepted claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The binding the evidence matched.
    pub fn binding(&self) -> &Binding {
        &self.binding
    }

    /// When the appraisal ran.
    pub fn appraised_at(&self) -> UnixTime {
        self.appraised_at
    }
}

/// Checks genuine `claims` against the expected binding and `policy` at `now`.
///
/// Order: binding (exact 64-byte comparison, once, here), platform, debug, measurement,
/// TCB status, evidence age. The first failing rule is returned.
pub fn appraise(
    claims: Claims,
    expected: &Binding,
    policy: &Policy,
    now: UnixTime,
) -> Result<Accepted, Error> {
    let bound = claims
        .report_data()
        .is_some_and(|rd| bool::from(rd.as_bytes().ct_eq(expected.report_data().as_bytes())));
    if !bound {
        return Err(Error::ReportDataMismatch);
    }
    let platform = claims.platform();
    if !policy.allowed_platforms.contains(&platform) {
        return Err(PolicyViolation::PlatformNotAllowed(platform).into());
    }
    if claims.debug() && !policy.insecure_allow_debug {
        return Err(PolicyViolation::DebugForbidden.into());
    }
    let measurement = claims.measurement();
    if !policy.approved_measurements.contains(&measurement) {
        return Err(PolicyViolation::MeasurementNotApproved(measurement).into());
    }
    if let Some(status) = claims.tcb_status() {
        if status < policy.minimum_tcb_status {
            return Err(PolicyViolation::TcbBelowMinimum {
                status,
                minimum: policy.minimum_tcb_status,
            }
            .into());
        }
    }
    for issued in [Some(expected.issued_at()), claims.issued_at()]
        .into_iter()
        .flatten()
    {
        check_age(issued, policy, now)?;
    }
    Ok(Accepted {
        claims,
        binding: *expected,
        appraised_at: now,
    })
}

fn check_age(issued: UnixTime, policy: &Policy, now: UnixTime) -> Result<(), PolicyViolation> {
    if issued > now {
        let ahead_secs = issued.0.saturating_sub(now.0);
        if ahead_secs > policy.max_clock_skew_secs {
            return Err(PolicyViolation::EvidenceFromFuture { ahead_secs });
        }
        return Ok(());
    }
    let age_secs = now.0.saturating_sub(issued.0);
    if age_secs > policy.max_evidence_age_secs {
        return Err(PolicyViolation::EvidenceTooOld {
            age_secs,
            max_secs: policy.max_evidence_age_secs,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use crate::binding::Purpose;
    use crate::claims::{RawClaims, SgxRaw, SimulatedRaw};
    use crate::types::ReportData;

    const T: UnixTime = UnixTime(1_800_000_000);

    fn binding() -> Binding {
        Binding::new(Purpose::NodeIdentity, b"noise-static-key", T)
    }

    fn sgx(debug: bool, tcb: TcbStatus, rd: ReportData) -> Claims {
        let raw = RawClaims::Sgx(SgxRaw {
            mrenclave: [1; 32],
            mrsigner: [2; 32],
            isv_prod_id: 3,
            isv_svn: 4,
            attributes: [
                if debug { 0x07 } else { 0x05 },
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0xe7,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
            cpu_svn: [0; 16],
        });
        Claims::new(raw, Some(rd), Some(tcb), None, None)
    }

    fn simulated(rd: ReportData, issued_at: UnixTime) -> Claims {
        let raw = RawClaims::Simulated(SimulatedRaw::new("dev-a".into(), [9; 32], false));
        Claims::new(raw, Some(rd), None, Some(issued_at), None)
    }

    fn policy_for(c: &Claims) -> Policy {
        Policy::new([c.measurement()])
    }

    #[test]
    fn appraise__should_accept_bound_approved_claims() {
        let c = sgx(false, TcbStatus::UpToDate, *binding().report_data());
        let a = appraise(c.clone(), &binding(), &policy_for(&c), T).unwrap();
        assert_eq!(a.claims(), &c);
        assert_eq!(a.appraised_at(), T);
    }

    #[test]
    fn appraise__should_refuse_other_report_data_and_missing_report_data() {
        let c = sgx(false, TcbStatus::UpToDate, ReportData([0; 64]));
        let p = policy_for(&c);
        assert!(matches!(
            appraise(c, &binding(), &p, T),
            Err(Error::ReportDataMismatch)
        ));
        let raw = RawClaims::Sgx(SgxRaw {
            mrenclave: [0; 32],
            mrsigner: [0; 32],
            isv_prod_id: 0,
            isv_svn: 0,
            attributes: [0; 16],
            cpu_svn: [0; 16],
        });
        let none = Claims::new(raw, None, None, None, None);
        assert!(matches!(
            appraise(none, &binding(), &p, T),
            Err(Error::ReportDataMismatch)
        ));
    }

    #[test]
    fn appraise__should_refuse_debug_unless_insecurely_allowed() {
        let c = sgx(true, TcbStatus::UpToDate, *binding().report_data());
        let mut p = policy_for(&c);
        assert!(matches!(
            appraise(c.clone(), &binding(), &p, T),
            Err(Error::Policy(PolicyViolation::DebugForbidden))
        ));
        p.insecure_allow_debug = true;
        assert!(appraise(c, &binding(), &p, T).is_ok());
    }

    #[test]
    fn appraise__should_enforce_the_minimum_tcb_status() {
        let c = sgx(
            false,
            TcbStatus::SwHardeningNeeded,
            *binding().report_data(),
        );
        let mut p = policy_for(&c);
        assert!(matches!(
            appraise(c.clone(), &binding(), &p, T),
            Err(Error::Policy(PolicyViolation::TcbBelowMinimum {
                status: TcbStatus::SwHardeningNeeded,
                minimum: TcbStatus::UpToDate
            }))
        ));
        p.minimum_tcb_status = TcbStatus::SwHardeningNeeded;
        assert!(appraise(c, &binding(), &p, T).is_ok());
    }

    #[test]
    fn appraise__should_refuse_simulated_unless_listed() {
        let c = simulated(*binding().report_data(), T);
        let mut p = policy_for(&c);
        assert!(matches!(
            appraise(c.clone(), &binding(), &p, T),
            Err(Error::Policy(PolicyViolation::PlatformNotAllowed(
                Platform::Simulated
            )))
        ));
        p.allowed_platforms.insert(Platform::Simulated);
        assert!(appraise(c, &binding(), &p, T).is_ok());
    }

    #[test]
    fn appraise__should_refuse_old_and_future_evidence() {
        let c = sgx(false, TcbStatus::UpToDate, *binding().report_data());
        let p = policy_for(&c);
        let late = UnixTime(T.0 + p.max_evidence_age_secs + 1);
        assert!(matches!(
            appraise(c.clone(), &binding(), &p, late),
            Err(Error::Policy(PolicyViolation::EvidenceTooOld { .. }))
        ));
        let at_limit = UnixTime(T.0 + p.max_evidence_age_secs);
        assert!(appraise(c.clone(), &binding(), &p, at_limit).is_ok());
        let early = UnixTime(T.0 - p.max_clock_skew_secs - 1);
        assert!(matches!(
            appraise(c, &binding(), &p, early),
            Err(Error::Policy(PolicyViolation::EvidenceFromFuture { .. }))
        ));
        // The evidence's own timestamp (Nitro, simulated) is checked too.
        let stale = simulated(*binding().report_data(), UnixTime(T.0 - 10_000));
        let mut p = policy_for(&stale);
        p.allowed_platforms.insert(Platform::Simulated);
        assert!(matches!(
            appraise(stale, &binding(), &p, T),
            Err(Error::Policy(PolicyViolation::EvidenceTooOld { .. }))
        ));
    }
}
