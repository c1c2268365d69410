//! Every TDX, SGX and SEV-SNP sample in `shared/fixtures/attestation/` gets the outcome
//! its README gives, with exactly the listed facts; then the README's broken variants.
//! Generic tests are written once and instantiated per sample (STYLE.md §8).

#![cfg(all(
    feature = "tdx",
    feature = "sgx",
    feature = "sev_snp",
    feature = "nitro",
    feature = "simulated"
))]
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/samples.rs"]
mod samples;

#[path = "support/verify_bytes.rs"]
mod verify_bytes;
use verify_bytes::VerifyBytes;

use attestation_gate::{
    appraise, Binding, Collateral, Error, Platform, Policy, PolicyViolation, ProductLine,
    RawClaims, ReportData, SnpTcb, SnpTcbComponent, TcbStatus, UnixTime, Verifiers,
};
use samples::{Expect, Sample};

fn verify(
    s: &Sample,
    evidence: &[u8],
    collateral: &Collateral,
    now: UnixTime,
) -> Result<attestation_gate::Claims, Error> {
    Verifiers::new()
        .verify_any(evidence, collateral, now)
        .map(|(d, c)| {
            assert_eq!(d.platform, s.platform, "{}: detected platform", s.name);
            c
        })
}

fn must_accept(s: &Sample) -> attestation_gate::Claims {
    verify(s, &s.evidence_bytes(), &s.collateral(), s.t)
        .unwrap_or_else(|e| panic!("{}: {e} ({})", s.name, e.kind()))
}

// ---- generic tests -------------------------------------------------------------------

fn outcome__should_match_the_readme(s: &Sample) {
    let result = verify(s, &s.evidence_bytes(), &s.collateral(), s.t);
    match &s.expect {
        Expect::Reject(kind) => {
            let e = result.expect_err(s.name);
            assert_eq!(e.kind(), *kind, "{}: {e}", s.name);
        }
        Expect::Accept {
            raw,
            report_data,
            debug,
            tcb_status,
        } => {
            let c = result.unwrap_or_else(|e| panic!("{}: {e} ({})", s.name, e.kind()));
            assert_eq!(c.platform(), s.platform);
            assert_eq!(c.vendor(), s.platform.vendor().unwrap());
            let map = c.raw().to_hex_map();
            for (k, v) in *raw {
                assert_eq!(
                    map.get(k).cloned().flatten().as_deref(),
                    Some(*v),
                    "{}: raw {k}",
                    s.name
                );
            }
            assert_eq!(
                c.report_data().unwrap().to_hex(),
                *report_data,
                "{}",
                s.name
            );
            assert_eq!(c.debug(), *debug, "{}", s.name);
            assert_eq!(c.tcb_status(), *tcb_status, "{}", s.name);
            assert_eq!(c.measurement(), c.raw().measurement());
            let v = c.validity().unwrap();
            assert!(
                v.not_before <= s.t && s.t <= v.not_after,
                "{}: {v:?}",
                s.name
            );
            assert!(
                s.before < v.not_before && v.not_after < s.after,
                "{}: {v:?}",
                s.name
            );
        }
    }
}

fn after_window__should_be_expired(s: &Sample) {
    let e = verify(s, &s.evidence_bytes(), &s.collateral(), s.after).expect_err(s.name);
    assert!(matches!(e, Error::Expired { .. }), "{}: {e:?}", s.name);
}

fn before_window__should_be_not_yet_valid(s: &Sample) {
    let e = verify(s, &s.evidence_bytes(), &s.collateral(), s.before).expect_err(s.name);
    assert!(matches!(e, Error::NotYetValid { .. }), "{}: {e:?}", s.name);
}

/// The window the verifier reports is exact: valid at both ends, refused one second
/// outside with the time kinds.
fn window_edges__should_be_inclusive(s: &Sample) {
    let Expect::Accept { .. } = s.expect else {
        return;
    };
    let v = must_accept(s).validity().unwrap();
    let (ev, c) = (s.evidence_bytes(), s.collateral());
    for t in [v.not_before, v.not_after] {
        verify(s, &ev, &c, t).unwrap_or_else(|e| panic!("{} at {t}: {e}", s.name));
    }
    let e = verify(s, &ev, &c, UnixTime(v.not_after.0 + 1)).unwrap_err();
    assert!(matches!(e, Error::Expired { .. }), "{}: {e:?}", s.name);
    let e = verify(s, &ev, &c, UnixTime(v.not_before.0 - 1)).unwrap_err();
    assert!(matches!(e, Error::NotYetValid { .. }), "{}: {e:?}", s.name);
}

/// A policy approving exactly this sample's measurement and platform, at its TCB.
fn policy_for(c: &attestation_gate::Claims) -> Policy {
    let mut p = Policy::new([c.measurement()]);
    p.minimum_tcb_status = c.tcb_status().unwrap_or(TcbStatus::UpToDate);
    if let Some((line, tcb)) = snp_tcb(c) {
        p = p.with_snp_minimum_tcb(line, tcb);
    }
    p
}

/// The product line and decoded REPORTED_TCB of SEV-SNP claims.
fn snp_tcb(c: &attestation_gate::Claims) -> Option<(ProductLine, SnpTcb)> {
    match c.raw() {
        RawClaims::SevSnp(r) => Some((r.product_line?, r.reported_tcb_spls()?)),
        _ => None,
    }
}

/// TDX/SGX: a minimum tcbEvaluationDataNumber equal to the collateral's passes and one
/// above is refused; a maximum collateral age equal to the TCB info's age at `t` passes
/// and one second less is refused.
fn dcap_floor__should_accept_at_the_collateral_values_and_refuse_one_past(s: &Sample) {
    let Expect::Accept { .. } = s.expect else {
        return;
    };
    let c = must_accept(s);
    let Some(d) = c.dcap().cloned() else {
        assert!(
            !matches!(s.platform, Platform::Tdx | Platform::Sgx),
            "{}",
            s.name
        );
        return;
    };
    let binding = Binding::from_report_data(*c.report_data().unwrap(), s.t);
    let n = d.tcb_evaluation_data_number;
    let age = s.t.0 - d.tcb_info_issued_at.0;
    let base = policy_for(&c);
    let at_floor = base
        .clone()
        .with_dcap_min_tcb_evaluation_data_number(n)
        .with_dcap_max_collateral_age_secs(age);
    assert!(
        appraise(c.clone(), &binding, &at_floor, s.t).is_ok(),
        "{}",
        s.name
    );
    let e = appraise(
        c.clone(),
        &binding,
        &base.clone().with_dcap_min_tcb_evaluation_data_number(n + 1),
        s.t,
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Policy(PolicyViolation::TcbEvaluationDataNumberBelowMinimum { have, need }) if have == n && need == n + 1),
        "{}: {e:?}",
        s.name
    );
    assert_eq!(e.kind(), "tcb_evaluation_data_number_below_minimum");
    let e = appraise(
        c,
        &binding,
        &base.with_dcap_max_collateral_age_secs(age - 1),
        s.t,
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Policy(PolicyViolation::CollateralTooOld { age_secs, max_secs }) if age_secs == age && max_secs == age - 1),
        "{}: {e:?}",
        s.name
    );
    assert_eq!(e.kind(), "collateral_too_old");
}

/// The TCB info facts of each DCAP sample, as its collateral states them (README §2, §3).
#[test]
fn dcap_claims__should_carry_the_tcb_info_facts_and_advisories() {
    for (s, issued, advisories) in [
        (&samples::TDX_V4_UPTODATE, "2025-06-19T10:16:03Z", &[][..]),
        (
            &samples::TDX_V4_OUTOFDATE,
            "2025-01-21T11:14:05Z",
            &["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"][..],
        ),
        (
            &samples::SGX_V3,
            "2025-06-19T10:56:11Z",
            &["INTEL-SA-00289", "INTEL-SA-00615"][..],
        ),
    ] {
        let c = must_accept(s);
        let d = c.dcap().unwrap();
        assert_eq!(d.tcb_evaluation_data_number, 17, "{}", s.name);
        let want = match issued {
            "2025-06-19T10:16:03Z" => 1_750_328_163,
            "2025-01-21T11:14:05Z" => 1_737_458_045,
            _ => 1_750_330_571,
        };
        assert_eq!(d.tcb_info_issued_at, UnixTime(want), "{}: {issued}", s.name);
        let mut got = d.advisory_ids.clone();
        got.sort();
        assert_eq!(got, advisories, "{}", s.name);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["advisory_ids"].as_array().unwrap().len(),
            advisories.len()
        );
        assert_eq!(json["tcb_evaluation_data_number"], 17);
    }
}

/// SEV-SNP: a floor equal to REPORTED_TCB passes; one SPL one above it is refused,
/// naming that component; a line without a floor is refused.
fn snp_floor__should_accept_at_the_reported_tcb_and_refuse_one_above(s: &Sample) {
    let Expect::Accept { .. } = s.expect else {
        return;
    };
    let c = must_accept(s);
    let Some((line, tcb)) = snp_tcb(&c) else {
        return;
    };
    let binding = Binding::from_report_data(*c.report_data().unwrap(), s.t);
    let base = policy_for(&c).with_insecure_allow_debug(true);
    assert!(
        appraise(c.clone(), &binding, &base, s.t).is_ok(),
        "{}",
        s.name
    );
    type Field = fn(&mut SnpTcb) -> &mut u8;
    let bumps: [(SnpTcbComponent, Field); 4] = [
        (SnpTcbComponent::Bootloader, |t| &mut t.bootloader),
        (SnpTcbComponent::Tee, |t| &mut t.tee),
        (SnpTcbComponent::Snp, |t| &mut t.snp),
        (SnpTcbComponent::Microcode, |t| &mut t.microcode),
    ];
    for (component, field) in bumps {
        let mut floor = tcb;
        let have = *field(&mut floor);
        *field(&mut floor) = have + 1;
        let p = base.clone().with_snp_minimum_tcb(line, floor);
        let e = appraise(c.clone(), &binding, &p, s.t).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Policy(PolicyViolation::SnpTcbBelowMinimum { line: l, component: k, have: h, need: n })
                    if l == line && k == component && h == have && n == have + 1
            ),
            "{}: {e:?}",
            s.name
        );
        assert_eq!(e.kind(), "snp_tcb_below_minimum");
    }
    // Milan/Genoa have no FMC: a floor's fmc is ignored there.
    let mut fmc = tcb;
    fmc.fmc = u8::MAX;
    let p = base.clone().with_snp_minimum_tcb(line, fmc);
    assert_eq!(
        appraise(c.clone(), &binding, &p, s.t).is_ok(),
        line != ProductLine::Turin
    );
    // No floor for the line: refused.
    let mut none = base.clone();
    none.snp_minimum_tcb.clear();
    assert!(matches!(
        appraise(c, &binding, &none, s.t),
        Err(Error::Policy(PolicyViolation::SnpTcbFloorMissing(l))) if l == line
    ));
}

fn accepted__should_pass_appraisal_only_if_not_debug(s: &Sample) {
    let Expect::Accept { debug, .. } = s.expect else {
        return;
    };
    let c = must_accept(s);
    let binding = Binding::from_report_data(*c.report_data().unwrap(), s.t);
    let policy = policy_for(&c);
    let r = appraise(c.clone(), &binding, &policy, s.t);
    if debug {
        assert!(
            matches!(r, Err(Error::Policy(PolicyViolation::DebugForbidden))),
            "{}: {r:?}",
            s.name
        );
    } else {
        let a = r.unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(a.claims(), &c);
    }
    // Any other binding is refused, before any policy rule.
    let other = Binding::from_report_data(ReportData([0xAB; 64]), s.t);
    assert!(matches!(
        appraise(c.clone(), &other, &policy, s.t),
        Err(Error::ReportDataMismatch)
    ));
    // A measurement nobody approved is refused.
    let mut unapproved = policy.clone();
    unapproved.approved_measurements.clear();
    unapproved.insecure_allow_debug = true;
    assert!(matches!(
        appraise(c.clone(), &binding, &unapproved, s.t),
        Err(Error::Policy(PolicyViolation::MeasurementNotApproved(m))) if m == c.measurement()
    ));
    // A platform not listed is refused.
    let mut no_platform = policy.clone();
    no_platform.allowed_platforms.remove(&s.platform);
    assert!(matches!(
        appraise(c, &binding, &no_platform, s.t),
        Err(Error::Policy(PolicyViolation::PlatformNotAllowed(p))) if p == s.platform
    ));
}

/// `kms attest measure` (unverified parsing) prints the digest verification reports.
fn measure__should_equal_the_verified_measurement(s: &Sample) {
    let (d, raw) = attestation_gate::measure::measure_unverified(&s.evidence_bytes()).unwrap();
    assert_eq!(d.platform, s.platform);
    if let Expect::Accept { .. } = s.expect {
        let c = must_accept(s);
        // Unverified SEV-SNP fields do not know the product line (only the chain says).
        let mut verified = c.raw().clone();
        if let RawClaims::SevSnp(r) = &mut verified {
            r.product_line = None;
        }
        assert_eq!(raw, verified, "{}", s.name);
        assert_eq!(raw.measurement(), c.measurement(), "{}", s.name);
    }
}

macro_rules! per_sample {
    ($($name:ident => $sample:expr),* $(,)?) => {
        mod outcome { use super::*; $( #[test] fn $name() { outcome__should_match_the_readme(&$sample) } )* }
        mod expired { use super::*; $( #[test] fn $name() { after_window__should_be_expired(&$sample) } )* }
        mod not_yet_valid { use super::*; $( #[test] fn $name() { before_window__should_be_not_yet_valid(&$sample) } )* }
        mod window_edges { use super::*; $( #[test] fn $name() { window_edges__should_be_inclusive(&$sample) } )* }
        mod measure { use super::*; $( #[test] fn $name() { measure__should_equal_the_verified_measurement(&$sample) } )* }
        mod appraisal { use super::*; $( #[test] fn $name() { accepted__should_pass_appraisal_only_if_not_debug(&$sample) } )* }
        mod dcap_floor { use super::*; $( #[test] fn $name() { dcap_floor__should_accept_at_the_collateral_values_and_refuse_one_past(&$sample) } )* }
        mod snp_floor { use super::*; $( #[test] fn $name() { snp_floor__should_accept_at_the_reported_tcb_and_refuse_one_above(&$sample) } )* }
    };
}

per_sample! {
    tdx_v4_uptodate => samples::TDX_V4_UPTODATE,
    tdx_v4_near_gas => samples::TDX_V4_NEAR_GAS,
    tdx_v5_no_tcb_match => samples::TDX_V5_NO_TCB_MATCH,
    tdx_v4_outofdate => samples::TDX_V4_OUTOFDATE,
    sgx_v3 => samples::SGX_V3,
    snp_milan_vcek => samples::SNP_MILAN_VCEK,
    snp_milan_debug => samples::SNP_MILAN_DEBUG,
    snp_milan_vlek => samples::SNP_MILAN_VLEK,
}

// ---- broken variants -----------------------------------------------------------------

fn xor(bytes: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= mask;
    b
}

fn binary(s: &Sample) -> Vec<u8> {
    attestation_gate::detect::detect(&s.evidence_bytes())
        .unwrap()
        .bytes
}

fn must_fail(s: &Sample, evidence: &[u8], collateral: &Collateral) -> Error {
    verify(s, evidence, collateral, s.t).expect_err(s.name)
}

fn assert_bad_signature(e: Error, expected_what: &str) {
    match e {
        Error::BadSignature { what } => assert_eq!(what, expected_what),
        other => panic!("expected BadSignature({expected_what}), got {other:?}"),
    }
}

#[test]
fn tdx_quote__should_fail_signature_when_body_or_signature_flipped() {
    let s = &samples::TDX_V4_UPTODATE;
    let q = binary(s);
    let c = s.collateral();
    for at in [184, 568, 646] {
        assert_bad_signature(must_fail(s, &xor(&q, at, 0x01), &c), "quote body");
    }
    assert_bad_signature(must_fail(s, &xor(&q, 834, 0x01), &c), "QE report");
}

#[test]
fn tdx_v5_quote__should_fail_signature_when_mrtd_flipped() {
    let s = &samples::TDX_V5_NO_TCB_MATCH;
    let q = binary(s);
    assert_bad_signature(
        must_fail(s, &xor(&q, 190, 0x01), &s.collateral()),
        "quote body",
    );
}

fn with_json_field(
    c: &Collateral,
    field: &str,
    f: impl FnOnce(&mut serde_json::Value),
) -> Collateral {
    let mut json: serde_json::Value =
        serde_json::from_slice(c.get("collateral.json").unwrap()).unwrap();
    f(&mut json[field]);
    c.clone()
        .with("collateral.json", serde_json::to_vec(&json).unwrap())
}

fn flip_hex_bit(v: &mut serde_json::Value) {
    let mut b = hex::decode(v.as_str().unwrap()).unwrap();
    b[10] ^= 0x01;
    *v = serde_json::Value::String(hex::encode(b));
}

#[test]
fn tdx_collateral__should_fail_signature_when_tampered() {
    let s = &samples::TDX_V4_UPTODATE;
    let q = binary(s);
    let c = s.collateral();
    let e = must_fail(
        s,
        &q,
        &with_json_field(&c, "tcb_info_signature", flip_hex_bit),
    );
    assert_bad_signature(e, "TCB info");
    let e = must_fail(
        s,
        &q,
        &with_json_field(&c, "qe_identity_signature", flip_hex_bit),
    );
    assert_bad_signature(e, "QE identity");
    let e = must_fail(
        s,
        &q,
        &with_json_field(&c, "tcb_info", |v| {
            let t = v.as_str().unwrap().replacen(
                "\"tcbEvaluationDataNumber\":",
                "\"tcbEvaluationDataNumber\":1",
                1,
            );
            *v = serde_json::Value::String(t);
        }),
    );
    assert_bad_signature(e, "TCB info");
}

/// Flips one byte inside the signature of the TCB signing certificate in the collateral.
#[test]
fn tdx_collateral__should_fail_when_a_certificate_byte_is_flipped() {
    let s = &samples::TDX_V4_UPTODATE;
    let q = binary(s);
    let c = s.collateral();
    let tampered = with_json_field(&c, "tcb_info_issuer_chain", |v| {
        let pem = v.as_str().unwrap();
        let first_end = pem.find("-----END CERTIFICATE-----").unwrap();
        let body: String = pem["-----BEGIN CERTIFICATE-----".len()..first_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        use base64::Engine;
        let mut der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let n = der.len();
        der[n - 5] ^= 0x01; // inside the ECDSA signature value
        let new = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n{}",
            base64::engine::general_purpose::STANDARD.encode(der),
            &pem[first_end..]
        );
        *v = serde_json::Value::String(new);
    });
    let e = must_fail(s, &q, &tampered);
    assert_bad_signature(e, "certificate on a DCAP chain");
}

#[test]
fn sgx_quote__should_fail_signature_when_flipped() {
    let s = &samples::SGX_V3;
    let q = binary(s);
    let c = s.collateral();
    for at in [112, 441] {
        assert_bad_signature(must_fail(s, &xor(&q, at, 0x01), &c), "quote body");
    }
}

#[test]
fn sgx_quote__should_refuse_tdx_collateral() {
    let s = &samples::SGX_V3;
    let tdx_collateral = samples::TDX_V4_UPTODATE.collateral();
    let e = must_fail(s, &binary(s), &tdx_collateral);
    assert!(matches!(e, Error::CollateralMismatch { .. }), "{e:?}");
}

#[test]
fn dcap__should_refuse_missing_collateral() {
    let s = &samples::TDX_V4_UPTODATE;
    let e = must_fail(s, &binary(s), &Collateral::new());
    assert!(
        matches!(
            e,
            Error::MissingCollateral {
                what: "collateral.json"
            }
        ),
        "{e:?}"
    );
}

#[test]
fn snp_report__should_fail_signature_when_flipped() {
    let s = &samples::SNP_MILAN_VCEK;
    let r = binary(s);
    let c = s.collateral();
    for at in [0x90, 0x50, 0x2A0] {
        assert_bad_signature(must_fail(s, &xor(&r, at, 0x01), &c), "SEV-SNP report");
    }
}

#[test]
fn snp_report__should_fail_with_another_chips_vcek() {
    let s = &samples::SNP_MILAN_VCEK;
    let other = samples::SNP_MILAN_DEBUG.collateral();
    assert_bad_signature(must_fail(s, &binary(s), &other), "SEV-SNP report");
}

#[test]
fn snp_report__should_fail_against_other_product_lines() {
    use attestation_gate::sev_snp::{ProductLine, SevSnpVerifier};
    let s = &samples::SNP_MILAN_VCEK;
    let report = binary(s);
    let vcek = Collateral::new().with(
        "vcek.der",
        samples::must_read("sev-snp/virtee-milan-vcek/vcek.der"),
    );
    for lines in [
        &[ProductLine::Genoa][..],
        &[ProductLine::Turin],
        &[ProductLine::Genoa, ProductLine::Turin],
    ] {
        let e = SevSnpVerifier::with_product_lines(lines)
            .verify_bytes(&report, &vcek, s.t)
            .unwrap_err();
        assert!(matches!(e, Error::UntrustedRoot { .. }), "{e:?}");
    }
    assert!(SevSnpVerifier::with_product_lines(&[ProductLine::Milan])
        .verify_bytes(&report, &vcek, s.t)
        .is_ok());
}

#[test]
fn snp_vcek__should_fail_when_a_certificate_byte_is_flipped() {
    let s = &samples::SNP_MILAN_VCEK;
    let mut vcek = samples::must_read("sev-snp/virtee-milan-vcek/vcek.der");
    let n = vcek.len();
    vcek[n - 10] ^= 0x01; // inside the RSA-PSS signature by the ASK
    let c = Collateral::new().with("vcek.der", vcek);
    let e = must_fail(s, &binary(s), &c);
    assert!(
        matches!(
            e,
            Error::UntrustedRoot {
                what: "VCEK certificate chain"
            }
        ),
        "{e:?}"
    );
}

#[test]
fn snp_vlek__should_need_the_vlek_and_refuse_a_vcek_in_its_place() {
    let s = &samples::SNP_MILAN_VLEK;
    let vlek = samples::must_read("sev-snp/trustee-milan-vlek/vlek.der");
    // Offered under the VCEK name, the report (signed by a VLEK) does not use it.
    let e = must_fail(s, &binary(s), &Collateral::new().with("vcek.der", vlek));
    assert!(
        matches!(e, Error::MissingCollateral { what: "vlek.der" }),
        "{e:?}"
    );
}

#[test]
fn snp_vlek__should_not_chain_through_the_ask() {
    use attestation_gate::sev_snp::SevSnpVerifier;
    use attestation_gate::SnpSigner;
    let s = &samples::SNP_MILAN_VLEK;
    let vlek = samples::must_read("sev-snp/trustee-milan-vlek/vlek.der");
    let v = SevSnpVerifier::new();
    assert!(v.chain_endorsement(SnpSigner::Vlek, &vlek, s.t).is_ok());
    let e = v
        .chain_endorsement(SnpSigner::Vcek, &vlek, s.t)
        .unwrap_err();
    assert!(matches!(e, Error::UntrustedRoot { .. }), "{e:?}");
}

#[test]
fn turin_vcek__should_chain_to_the_pinned_turin_root_only() {
    use attestation_gate::sev_snp::{ProductLine, SevSnpVerifier};
    let vcek = samples::must_read("sev-snp/virtee-turin-chain-only/vcek.der");
    let t = UnixTime(1767225600); // 2026-01-01, inside 2024-11-06 .. 2031-11-06
    let (line, validity) = SevSnpVerifier::new().chain_vcek(&vcek, t).unwrap();
    assert_eq!(line, ProductLine::Turin);
    assert!(validity.not_before.0 <= t.0 && t.0 <= validity.not_after.0);
    let e = SevSnpVerifier::with_product_lines(&[ProductLine::Milan, ProductLine::Genoa])
        .chain_vcek(&vcek, t)
        .unwrap_err();
    assert!(matches!(e, Error::UntrustedRoot { .. }), "{e:?}");
    let e = SevSnpVerifier::new()
        .chain_vcek(&vcek, UnixTime(1700000000))
        .unwrap_err();
    assert!(matches!(e, Error::NotYetValid { .. }), "{e:?}");
}

#[test]
fn disabled_or_unknown__should_be_refused() {
    let e = Verifiers::new()
        .verify_any(b"definitely not evidence", &Collateral::new(), UnixTime(0))
        .unwrap_err();
    assert!(matches!(e, Error::UnknownFormat));
    assert_eq!(Platform::Tdx.is_enabled(), cfg!(feature = "tdx"));
}

#[test]
fn measure__should_equal_the_verified_measurement_for_nitro() {
    let doc = samples::must_read("nitro/evervault-2022-nondebug/attestation_doc.cbor");
    let c = attestation_gate::nitro::NitroVerifier::new()
        .verify_bytes(&doc, &Collateral::new(), UnixTime(1665651482))
        .unwrap();
    let (d, raw) = attestation_gate::measure::measure_unverified(&doc).unwrap();
    assert_eq!(d.platform, Platform::Nitro);
    assert_eq!(&raw, c.raw());
    let b64 = samples::must_read("nitro/blocky-2024-debug/attestation_doc.b64");
    let (d, raw) = attestation_gate::measure::measure_unverified(&b64).unwrap();
    assert_eq!(d.encoding, attestation_gate::detect::Encoding::Base64);
    assert!(raw.debug());
}

#[test]
fn measure__should_equal_the_verified_measurement_for_simulated() {
    use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester, SimulatedVerifier};
    let key = DevnetSigningKey::from_seed(&[7; 32]);
    let attester = SimulatedAttester::new(key, "sim-intel", [5; 32]).unwrap();
    let ev = attester.attest_bytes(&ReportData([1; 64]), UnixTime(100));
    let c = SimulatedVerifier::new([attester.public_key()])
        .verify_bytes(&ev, &Collateral::new(), UnixTime(0))
        .unwrap();
    let (d, raw) = attestation_gate::measure::measure_unverified(&ev).unwrap();
    assert_eq!(d.platform, Platform::Simulated);
    assert_eq!(&raw, c.raw());
    // And through the dispatcher: refused without a trusted devnet key.
    let e = Verifiers::new()
        .verify_any(&ev, &Collateral::new(), UnixTime(100))
        .unwrap_err();
    assert!(matches!(e, Error::UntrustedRoot { .. }), "{e:?}");
    let v = Verifiers::new().with_simulated(SimulatedVerifier::new([attester.public_key()]));
    assert_eq!(
        v.verify_any(&ev, &Collateral::new(), UnixTime(100))
            .unwrap()
            .1,
        c
    );
}

/// The PROTOCOL.md digests, recomputed independently (python `hashlib` over the README's
/// field values and the documented encodings), for one sample per platform.
#[test]
fn measurement__should_match_the_protocol_definition() {
    for (s, want) in [
        (
            &samples::TDX_V4_UPTODATE,
            "e91c1d2239472d4ddaed42b36efa11ca4d7965b7199c429d4fc652745541c8b4",
        ),
        (
            &samples::SGX_V3,
            "fa128a2004d57e15fe0ea7b0362b8c22664baa4a1437f889e072701191f4ea2f",
        ),
        (
            &samples::SNP_MILAN_VCEK,
            "c1ea2572871310e76ee45fe57d59d9eae9e0f2abd5b1108aaf22521399f757b7",
        ),
    ] {
        assert_eq!(must_accept(s).measurement().to_hex(), want, "{}", s.name);
    }
}
