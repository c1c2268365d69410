//! Appraisal: genuine claims against the expected binding and governance policy
//! (DESIGN §5). Genuineness is checked first by a verifier; [`appraise`] only runs on
//! [`Claims`] that a verifier produced, and is the only way to obtain [`Accepted`].

use std::collections::{BTreeMap, BTreeSet};

use subtle::ConstantTimeEq;

use crate::binding::Binding;
use crate::claims::{Claims, RawClaims, SevSnpRaw};
use crate::error::Error;
use crate::types::{
    Measurement, Platform, ProductLine, SnpTcb, SnpTcbComponent, TcbStatus, UnixTime,
};

/// What governance allows (DESIGN §5). The network-wide values live in the governance
/// contract and are converted into a `Policy` by one function shared by `kms-node` and
/// the CLI; tests build one by hand with [`Policy::new`] and the `with_*` builders.
///
/// Fields are public for reading and for adjusting a policy in place; a `Policy` can
/// only be created by [`Policy::new`] (the type is `#[non_exhaustive]`), so a field
/// added later always gets its production default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Measurement digests voters approved (docs/PROTOCOL.md).
    pub approved_measurements: BTreeSet<Measurement>,
    /// Platforms admitted. [`Platform::Simulated`] is admitted only if listed here.
    pub allowed_platforms: BTreeSet<Platform>,
    /// The worst TCB status admitted, for platforms that report one (Intel).
    pub minimum_tcb_status: TcbStatus,
    /// Maximum age of evidence, in seconds, counted from the binding's `issued_at` (and
    /// from the evidence's own timestamp where it has one).
    pub max_evidence_age_secs: u64,
    /// How far in the future `issued_at` may lie (clock skew between parties), seconds.
    pub max_clock_skew_secs: u64,
    /// Admit debug-mode enclaves. Never in production: their memory is readable by the
    /// host.
    pub insecure_allow_debug: bool,
    /// SEV-SNP: the minimum SPLs of REPORTED_TCB, per product line. Every component the
    /// line has must be at least the floor's value (FMC only on Turin). A product line
    /// with no entry is refused ([`PolicyViolation::SnpTcbFloorMissing`]): SEV-SNP has no
    /// TCB status, so without a floor a report from vulnerable firmware would pass.
    /// Empty in [`Policy::new`]; set with [`Policy::with_snp_minimum_tcb`].
    pub snp_minimum_tcb: BTreeMap<ProductLine, SnpTcb>,
    /// TDX and SGX: the minimum `tcbEvaluationDataNumber` of the TCB info used to
    /// verify the quote. Raising it after an Intel TCB recovery refuses collateral
    /// issued before the recovery (which would still say `UpToDate`). `None`: not
    /// checked.
    pub dcap_min_tcb_evaluation_data_number: Option<u32>,
    /// TDX and SGX: the maximum age, in seconds, of the TCB info used (counted from its
    /// `issueDate` to the appraisal time). `None`: only the collateral's own
    /// `nextUpdate` bounds it.
    pub dcap_max_collateral_age_secs: Option<u64>,
    /// TDX: compare the measurement digest that includes RTMR3
    /// ([`crate::TdxRaw::measurement_with_rtmr3`]) against `approved_measurements`,
    /// instead of the default one that leaves RTMR3 out (docs/PROTOCOL.md).
    pub tdx_pin_rtmr3: bool,
}

impl Policy {
    /// A production policy: the hardware platforms (not `Simulated`), TCB `UpToDate`,
    /// evidence at most 10 minutes old, 60 s of clock skew, debug refused, no SEV-SNP
    /// TCB floors (so SEV-SNP is refused until [`Policy::with_snp_minimum_tcb`] sets
    /// one per product line), no DCAP collateral floors, RTMR3 not pinned.
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
            snp_minimum_tcb: BTreeMap::new(),
            dcap_min_tcb_evaluation_data_number: None,
            dcap_max_collateral_age_secs: None,
            tdx_pin_rtmr3: false,
        }
    }

    /// Replaces the admitted platforms.
    pub fn with_allowed_platforms(mut self, platforms: impl IntoIterator<Item = Platform>) -> Self {
        self.allowed_platforms = platforms.into_iter().collect();
        self
    }

    /// Sets the worst TCB status admitted (Intel).
    pub fn with_minimum_tcb_status(mut self, status: TcbStatus) -> Self {
        self.minimum_tcb_status = status;
        self
    }

    /// Sets the maximum evidence age, seconds.
    pub fn with_max_evidence_age_secs(mut self, secs: u64) -> Self {
        self.max_evidence_age_secs = secs;
        self
    }

    /// Sets the allowed clock skew, seconds.
    pub fn with_max_clock_skew_secs(mut self, secs: u64) -> Self {
        self.max_clock_skew_secs = secs;
        self
    }

    /// Admits (or refuses) debug-mode enclaves. Never in production.
    pub fn with_insecure_allow_debug(mut self, allow: bool) -> Self {
        self.insecure_allow_debug = allow;
        self
    }

    /// Sets the SEV-SNP TCB floor of one product line (replacing an earlier one).
    pub fn with_snp_minimum_tcb(mut self, line: ProductLine, floor: SnpTcb) -> Self {
        self.snp_minimum_tcb.insert(line, floor);
        self
    }

    /// Sets the minimum DCAP `tcbEvaluationDataNumber`.
    pub fn with_dcap_min_tcb_evaluation_data_number(mut self, number: u32) -> Self {
        self.dcap_min_tcb_evaluation_data_number = Some(number);
        self
    }

    /// Sets the maximum age of DCAP TCB info, seconds from its `issueDate`.
    pub fn with_dcap_max_collateral_age_secs(mut self, secs: u64) -> Self {
        self.dcap_max_collateral_age_secs = Some(secs);
        self
    }

    /// Pins (or unpins) RTMR3 into the TDX measurement digest.
    pub fn with_tdx_rtmr3_pinned(mut self, pinned: bool) -> Self {
        self.tdx_pin_rtmr3 = pinned;
        self
    }

    /// The measurement digest of `claims` that this policy compares against
    /// `approved_measurements`: [`Claims::measurement`], except for TDX with
    /// [`Policy::tdx_pin_rtmr3`], where it is the digest that includes RTMR3.
    pub fn measurement_of(&self, claims: &Claims) -> Measurement {
        match claims.raw() {
            RawClaims::Tdx(t) if self.tdx_pin_rtmr3 => t.measurement_with_rtmr3(),
            _ => claims.measurement(),
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
    /// SEV-SNP: the policy has no TCB floor for the report's product line.
    #[error("the policy sets no SEV-SNP TCB floor for product line {0}")]
    SnpTcbFloorMissing(ProductLine),
    /// SEV-SNP: one SPL of REPORTED_TCB is below the policy's floor.
    #[error("SEV-SNP {line} REPORTED_TCB {component} SPL is {have}, below the minimum {need}")]
    SnpTcbBelowMinimum {
        /// The product line.
        line: ProductLine,
        /// The component.
        component: SnpTcbComponent,
        /// Its value in REPORTED_TCB.
        have: u8,
        /// The floor.
        need: u8,
    },
    /// TDX/SGX: the TCB info's `tcbEvaluationDataNumber` is below the minimum.
    #[error("the TCB info's tcbEvaluationDataNumber is {have}, below the minimum {need}")]
    TcbEvaluationDataNumberBelowMinimum {
        /// The collateral's number.
        have: u32,
        /// The minimum.
        need: u32,
    },
    /// TDX/SGX: the TCB info was issued longer ago than the policy allows.
    #[error("the collateral was issued {age_secs} s ago, more than the allowed {max_secs} s")]
    CollateralTooOld {
        /// Age (from `issueDate`).
        age_secs: u64,
        /// Allowed.
        max_secs: u64,
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
            PolicyViolation::SnpTcbFloorMissing(_) => "snp_tcb_floor_missing",
            PolicyViolation::SnpTcbBelowMinimum { .. } => "snp_tcb_below_minimum",
            PolicyViolation::TcbEvaluationDataNumberBelowMinimum { .. } => {
                "tcb_evaluation_data_number_below_minimum"
            }
            PolicyViolation::CollateralTooOld { .. } => "collateral_too_old",
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
/// TCB status, SEV-SNP TCB floor, DCAP collateral floors, evidence age. The first failing rule is returned.
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
    let measurement = policy.measurement_of(&claims);
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
    if let RawClaims::SevSnp(snp) = claims.raw() {
        check_snp_tcb(snp, policy)?;
    }
    if matches!(platform, Platform::Tdx | Platform::Sgx) {
        check_dcap_collateral(&claims, policy, now)?;
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

/// Every SPL of REPORTED_TCB against the policy's floor for the report's product line.
fn check_snp_tcb(snp: &SevSnpRaw, policy: &Policy) -> Result<(), Error> {
    let (Some(line), Some(have)) = (snp.product_line, snp.reported_tcb_spls()) else {
        return Err(Error::TcbMismatch {
            what: "the SEV-SNP product line is unknown",
        });
    };
    let floor = policy
        .snp_minimum_tcb
        .get(&line)
        .ok_or(PolicyViolation::SnpTcbFloorMissing(line))?;
    for ((component, have), (_, need)) in have
        .components(line)
        .into_iter()
        .zip(floor.components(line))
    {
        if have < need {
            return Err(PolicyViolation::SnpTcbBelowMinimum {
                line,
                component,
                have,
                need,
            }
            .into());
        }
    }
    Ok(())
}

/// The TCB info's evaluation data number and age against the policy's DCAP floors.
fn check_dcap_collateral(claims: &Claims, policy: &Policy, now: UnixTime) -> Result<(), Error> {
    if policy.dcap_min_tcb_evaluation_data_number.is_none()
        && policy.dcap_max_collateral_age_secs.is_none()
    {
        return Ok(());
    }
    let dcap = claims.dcap().ok_or(Error::MissingCollateral {
        what: "DCAP TCB info facts (tcbEvaluationDataNumber, issueDate)",
    })?;
    if let Some(need) = policy.dcap_min_tcb_evaluation_data_number {
        let have = dcap.tcb_evaluation_data_number;
        if have < need {
            return Err(PolicyViolation::TcbEvaluationDataNumberBelowMinimum { have, need }.into());
        }
    }
    if let Some(max_secs) = policy.dcap_max_collateral_age_secs {
        let age_secs = now.0.saturating_sub(dcap.tcb_info_issued_at.0);
        if age_secs > max_secs {
            return Err(PolicyViolation::CollateralTooOld { age_secs, max_secs }.into());
        }
    }
    Ok(())
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
    use crate::claims::{SgxRaw, SimulatedRaw, TdxRaw};
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
            config_id: [0; 64],
            config_svn: 0,
            isv_ext_prod_id: [0; 16],
            isv_family_id: [0; 16],
        });
        Claims::new(raw)
            .with_report_data(Some(rd))
            .with_tcb_status(Some(tcb))
    }

    fn simulated(rd: ReportData, issued_at: UnixTime) -> Claims {
        let raw = RawClaims::Simulated(SimulatedRaw::new("dev-a".into(), [9; 32], false));
        Claims::new(raw)
            .with_report_data(Some(rd))
            .with_issued_at(issued_at)
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
            config_id: [0; 64],
            config_svn: 0,
            isv_ext_prod_id: [0; 16],
            isv_family_id: [0; 16],
        });
        let none = Claims::new(raw);
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

    fn tdx(rtmr3: [u8; 48], rd: ReportData) -> Claims {
        let raw = RawClaims::Tdx(TdxRaw {
            mrtd: [1; 48],
            rtmr0: [2; 48],
            rtmr1: [3; 48],
            rtmr2: [4; 48],
            rtmr3,
            mrseam: [6; 48],
            td_attributes: [0, 0, 0, 0x10, 0, 0, 0, 0],
            xfam: [7; 8],
            mrconfigid: [0; 48],
            mrowner: [0; 48],
            mrownerconfig: [0; 48],
            tee_tcb_svn: [0; 16],
        });
        Claims::new(raw)
            .with_report_data(Some(rd))
            .with_tcb_status(Some(TcbStatus::UpToDate))
    }

    #[test]
    fn appraise__should_compare_the_rtmr3_digest_only_when_the_policy_pins_it() {
        let rd = *binding().report_data();
        let a = tdx([5; 48], rd);
        let b = tdx([6; 48], rd);
        // Unpinned: RTMR3 does not matter.
        let p = Policy::new([a.measurement()]);
        assert!(appraise(b.clone(), &binding(), &p, T).is_ok());
        // Pinned: the approved digest is the one with RTMR3, and another RTMR3 fails.
        let RawClaims::Tdx(raw_a) = a.raw() else {
            unreachable!()
        };
        let pinned = Policy::new([raw_a.measurement_with_rtmr3()]).with_tdx_rtmr3_pinned(true);
        assert_ne!(raw_a.measurement_with_rtmr3(), a.measurement());
        assert!(appraise(a.clone(), &binding(), &pinned, T).is_ok());
        assert!(matches!(
            appraise(b, &binding(), &pinned, T),
            Err(Error::Policy(PolicyViolation::MeasurementNotApproved(_)))
        ));
        // A pinned policy that approved the unpinned digest does not accept it.
        let confused = Policy::new([a.measurement()]).with_tdx_rtmr3_pinned(true);
        assert!(appraise(a, &binding(), &confused, T).is_err());
    }

    #[test]
    fn policy_builders__should_set_each_field() {
        let floor = SnpTcb::new(1, 2, 3, 4, 5);
        let p = Policy::new([])
            .with_allowed_platforms([Platform::Simulated])
            .with_minimum_tcb_status(TcbStatus::OutOfDate)
            .with_max_evidence_age_secs(7)
            .with_max_clock_skew_secs(8)
            .with_insecure_allow_debug(true)
            .with_snp_minimum_tcb(ProductLine::Turin, floor)
            .with_dcap_min_tcb_evaluation_data_number(17)
            .with_dcap_max_collateral_age_secs(9)
            .with_tdx_rtmr3_pinned(true);
        assert_eq!(
            p.allowed_platforms,
            [Platform::Simulated].into_iter().collect()
        );
        assert_eq!(p.minimum_tcb_status, TcbStatus::OutOfDate);
        assert_eq!(p.max_evidence_age_secs, 7);
        assert_eq!(p.max_clock_skew_secs, 8);
        assert!(p.insecure_allow_debug);
        assert_eq!(p.snp_minimum_tcb.get(&ProductLine::Turin), Some(&floor));
        assert_eq!(p.snp_minimum_tcb.get(&ProductLine::Milan), None);
        assert_eq!(p.dcap_min_tcb_evaluation_data_number, Some(17));
        assert_eq!(p.dcap_max_collateral_age_secs, Some(9));
        assert!(p.tdx_pin_rtmr3);
    }

    fn snp(line: Option<ProductLine>, reported_tcb: u64, rd: ReportData) -> Claims {
        let raw = RawClaims::SevSnp(SevSnpRaw {
            measurement: [1; 48],
            host_data: [0; 32],
            chip_id: [0; 64],
            policy: 0x30000,
            reported_tcb,
            version: 3,
            vmpl: 0,
            id_key_digest: [0; 48],
            author_key_digest: [0; 48],
            signer: crate::claims::SnpSigner::Vcek,
            product_line: line,
        });
        Claims::new(raw).with_report_data(Some(rd))
    }

    #[test]
    fn appraise__should_check_the_turin_fmc_spl_and_refuse_an_unknown_line() {
        let rd = *binding().report_data();
        // Turin layout: FMC 2, BL 3, TEE 4, SNP 5, ucode 9 at bytes 0, 1, 2, 3, 7.
        let tcb = u64::from_le_bytes([2, 3, 4, 5, 0, 0, 0, 9]);
        let c = snp(Some(ProductLine::Turin), tcb, rd);
        let floor = SnpTcb::new(2, 3, 4, 5, 9);
        let p = Policy::new([c.measurement()]).with_snp_minimum_tcb(ProductLine::Turin, floor);
        assert!(appraise(c.clone(), &binding(), &p, T).is_ok());
        let p = p.with_snp_minimum_tcb(ProductLine::Turin, SnpTcb { fmc: 3, ..floor });
        assert!(matches!(
            appraise(c.clone(), &binding(), &p, T),
            Err(Error::Policy(PolicyViolation::SnpTcbBelowMinimum {
                line: ProductLine::Turin,
                component: SnpTcbComponent::Fmc,
                have: 2,
                need: 3
            }))
        ));
        // A floor for another line does not apply.
        let other = Policy::new([c.measurement()]).with_snp_minimum_tcb(ProductLine::Genoa, floor);
        assert!(matches!(
            appraise(c, &binding(), &other, T),
            Err(Error::Policy(PolicyViolation::SnpTcbFloorMissing(
                ProductLine::Turin
            )))
        ));
        let unknown = snp(None, tcb, rd);
        let p =
            Policy::new([unknown.measurement()]).with_snp_minimum_tcb(ProductLine::Turin, floor);
        assert!(matches!(
            appraise(unknown, &binding(), &p, T),
            Err(Error::TcbMismatch { .. })
        ));
    }

    #[test]
    fn violation_kinds__should_be_snake_case_and_distinct() {
        let all = [
            PolicyViolation::PlatformNotAllowed(Platform::Tdx),
            PolicyViolation::MeasurementNotApproved(Measurement([0; 32])),
            PolicyViolation::TcbBelowMinimum {
                status: TcbStatus::OutOfDate,
                minimum: TcbStatus::UpToDate,
            },
            PolicyViolation::DebugForbidden,
            PolicyViolation::EvidenceTooOld {
                age_secs: 1,
                max_secs: 0,
            },
            PolicyViolation::EvidenceFromFuture { ahead_secs: 1 },
            PolicyViolation::SnpTcbFloorMissing(ProductLine::Milan),
            PolicyViolation::SnpTcbBelowMinimum {
                line: ProductLine::Milan,
                component: SnpTcbComponent::Tee,
                have: 0,
                need: 1,
            },
            PolicyViolation::TcbEvaluationDataNumberBelowMinimum { have: 1, need: 2 },
            PolicyViolation::CollateralTooOld {
                age_secs: 2,
                max_secs: 1,
            },
        ];
        let kinds: BTreeSet<_> = all.iter().map(PolicyViolation::kind).collect();
        assert_eq!(kinds.len(), all.len());
        for k in kinds {
            assert!(
                k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{k}"
            );
        }
    }
}
