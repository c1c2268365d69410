//! Intel DCAP: TDX (quote v4, v5) and SGX (quote v3) via [`dcap_qvl`].
//!
//! dcap-qvl checks, offline and at the given time: the quote signature by the
//! attestation key, the QE report signature by the PCK certificate, the QE report data
//! binding of the attestation key, the PCK, TCB-info and QE-identity certificate chains
//! to the trust anchor we give it (the pinned Intel SGX Root CA, never the one in the
//! collateral) with both CRLs, the TCB-info and QE-identity signatures and validity
//! dates, and matches the platform's TCB level. We then
//!
//! * require the verification time to lie inside the collateral window it computes
//!   (the intersection of every certificate, CRL, TCB-info and QE-identity validity
//!   period, Intel QVL's `qve_get_collateral_dates`), and report a time outside it as
//!   [`Error::Expired`] / [`Error::NotYetValid`];
//! * map dcap-qvl's TCB status to [`TcbStatus`];
//! * leave debug-mode reports to policy (dcap-qvl is told to allow them, so that
//!   [`crate::appraise`] can refuse them with a named rule).
//!
//! dcap-qvl reports failures as `anyhow` strings; the private `errors` module maps them to
//! typed kinds.

#![cfg(any(feature = "tdx", feature = "sgx"))]
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod canonical;
mod errors;

use dcap_qvl::quote::Report;
use dcap_qvl::verify::QuoteVerifier;
use dcap_qvl::{QuoteClaims, QuoteCollateralV3};

use std::sync::Arc;

use crate::cache::{Cache, CacheStats};
use crate::claims::{Claims, DcapTcb, RawClaims, SgxRaw, TdxRaw, Validity};
use crate::collateral::Collateral;
use crate::error::Error;
use crate::evidence::Evidence;
use crate::types::{Platform, ReportData, TcbStatus, UnixTime};
use crate::VerifyEvidence;

/// DER of the Intel SGX Root CA (CN=Intel SGX Root CA), the trust anchor of every DCAP
/// chain. SHA-256 `44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3`.
pub const INTEL_SGX_ROOT_CA_DER: &[u8] = include_bytes!("dcap/intel_sgx_root_ca.der");

/// Collateral file name for DCAP quotes.
pub const COLLATERAL_JSON: &str = "collateral.json";

/// Verifies Intel TDX quotes (v4, v5). Clones share the cache of results (see
/// [`crate::cache`] for why DCAP caches whole results).
#[derive(Debug, Clone, Default)]
pub struct TdxVerifier {
    cache: Arc<Cache<Claims>>,
}

/// Verifies Intel SGX quotes (v3). Clones share the cache of results.
#[derive(Debug, Clone, Default)]
pub struct SgxVerifier {
    cache: Arc<Cache<Claims>>,
}

macro_rules! dcap_verifier {
    ($ty:ident, $platform:expr) => {
        impl $ty {
            /// A verifier with a cache of [`crate::cache::DEFAULT_CAPACITY`] results.
            pub fn new() -> Self {
                Self::default()
            }

            /// The same verifier with a new cache of `capacity` results (`0`: none).
            pub fn with_cache_capacity(self, capacity: usize) -> Self {
                $ty {
                    cache: Arc::new(Cache::with_capacity(capacity)),
                }
            }

            /// The cache's counters.
            pub fn cache_stats(&self) -> CacheStats {
                self.cache.stats()
            }
        }

        impl VerifyEvidence for $ty {
            fn platform(&self) -> Platform {
                $platform
            }

            /// The result for this exact quote and `collateral.json` is reused while
            /// `now` is inside its collateral window.
            fn verify(
                &self,
                evidence: &Evidence,
                collateral: &Collateral,
                now: UnixTime,
            ) -> Result<Claims, Error> {
                crate::expect_platform($platform, evidence)?;
                verify_dcap($platform, &evidence.bytes, collateral, now, &self.cache)
            }
        }
    };
}

dcap_verifier!(TdxVerifier, Platform::Tdx);
dcap_verifier!(SgxVerifier, Platform::Sgx);

/// Parses `collateral.json` (dcap-qvl's `QuoteCollateralV3` JSON shape).
pub fn parse_collateral(collateral: &Collateral) -> Result<QuoteCollateralV3, Error> {
    let json = collateral
        .get(COLLATERAL_JSON)
        .ok_or(Error::MissingCollateral {
            what: COLLATERAL_JSON,
        })?;
    serde_json::from_slice(json).map_err(|_| Error::malformed("DCAP collateral.json"))
}

/// Accepts every claim set: keynet applies its own policy in [`crate::appraise`]; this
/// only exists to obtain dcap-qvl's [`QuoteClaims`] (which carry the collateral window).
struct CollectClaims;

impl dcap_qvl::Policy for CollectClaims {
    fn validate(&self, _data: &QuoteClaims) -> anyhow::Result<()> {
        Ok(())
    }
}

fn verify_dcap(
    expected: Platform,
    evidence: &[u8],
    collateral: &Collateral,
    now: UnixTime,
    cache: &Cache<Claims>,
) -> Result<Claims, Error> {
    if !expected.is_enabled() {
        return Err(Error::PlatformDisabled(expected));
    }
    let quote_platform = quote_platform(evidence)?;
    if quote_platform != expected {
        return Err(Error::malformed(match expected {
            Platform::Sgx => "SGX quote (this is a TDX quote)",
            _ => "TDX quote (this is an SGX quote)",
        }));
    }
    // Keyed by the collateral.json bytes, so that a hit costs no JSON parsing; the parsed
    // collateral is a function of those bytes.
    let key = || {
        let json = collateral.get(COLLATERAL_JSON).unwrap_or_default();
        crate::cache::key(
            "keynet/cache/dcap-result-json/v1",
            &[INTEL_SGX_ROOT_CA_DER, evidence, json],
        )
    };
    cache.through(key, now, Ok, || {
        let claims = verify_with_collateral(evidence, parse_collateral(collateral)?, now)?;
        let entry = claims.validity().map(|window| (claims.clone(), window));
        Ok((claims, entry))
    })
}

/// Checks only the bytes of `quote` that no signature covers (docs/PROTOCOL.md,
/// "Unsigned bytes"): exact length fields, certification data types, a strict PEM chain
/// ending at the pinned Intel root, zero padding only. The verifiers run this on every
/// quote dcap-qvl accepted; on its own it proves nothing about genuineness.
pub fn check_encoding(quote: &[u8]) -> Result<(), Error> {
    canonical::check(quote, INTEL_SGX_ROOT_CA_DER).map(|_| ())
}

/// Verifies a quote with already-parsed collateral, without a cache. Not an entry point
/// for evidence (use [`VerifyEvidence::verify`]): the benchmarks time it against a
/// direct dcap-qvl call, and tests reach dcap-qvl's checks with it.
pub fn verify_with_collateral(
    quote: &[u8],
    collateral: QuoteCollateralV3,
    now: UnixTime,
) -> Result<Claims, Error> {
    verify_with_root(quote, collateral, now, INTEL_SGX_ROOT_CA_DER)
}

fn verify_with_root(
    quote: &[u8],
    collateral: QuoteCollateralV3,
    now: UnixTime,
    root_der: &[u8],
) -> Result<Claims, Error> {
    // Read after dcap-qvl verified its signature.
    let tcb_info = collateral.tcb_info.clone();
    let pck_override = collateral.pck_certificate_chain.clone();
    let verifier = QuoteVerifier::new(root_der.to_vec()).allow_debug(true);
    let qc = verifier
        .verify_with_policy(quote, collateral, now.0, &CollectClaims)
        .map_err(|e| errors::classify(&e, now))?;
    let quote_chain = canonical::check(quote, root_der)?;
    if let Some(pem) = &pck_override {
        canonical::check_collateral_chain(pem, &quote_chain)?;
    }
    // webpki treats a CRL's nextUpdate as exclusive, and the earliest expiration is
    // often the PCK CRL's: the last second accepted everywhere is one before it.
    let validity = Validity {
        not_before: UnixTime(qc.latest_issue_date),
        not_after: UnixTime(qc.earliest_expiration_date.saturating_sub(1)),
    };
    if now < validity.not_before {
        return Err(Error::NotYetValid {
            what: "DCAP collateral",
            not_before: Some(validity.not_before),
            now,
        });
    }
    if now > validity.not_after {
        return Err(Error::Expired {
            what: "DCAP collateral",
            not_after: Some(validity.not_after),
            now,
        });
    }
    let dcap = DcapTcb {
        tcb_evaluation_data_number: qc.tcb.eval_data_number,
        tcb_info_issued_at: tcb_info_issue_date(&tcb_info)?,
        advisory_ids: qc.tcb.advisory_ids.clone(),
    };
    let tcb_status = Some(map_tcb_status(qc.tcb.status));
    let (raw, report_data) = raw_claims(&qc.report);
    Ok(Claims::new(raw)
        .with_report_data(Some(ReportData(report_data)))
        .with_tcb_status(tcb_status)
        .with_validity(validity)
        .with_dcap(dcap))
}

/// The `issueDate` of a (verified) TCB info JSON text, as Intel writes it:
/// `YYYY-MM-DDThh:mm:ssZ` (also accepted with fractional seconds). Hand-read at fixed
/// positions: the format is fixed by Intel's PCS API and no date crate is in the tree;
/// `der::DateTime` checks the ranges and converts to Unix time.
fn tcb_info_issue_date(tcb_info: &str) -> Result<UnixTime, Error> {
    #[derive(serde::Deserialize)]
    struct Dates {
        #[serde(rename = "issueDate")]
        issue_date: String,
    }
    let bad = || Error::malformed("TCB info issueDate");
    let dates: Dates = serde_json::from_str(tcb_info).map_err(|_| bad())?;
    let d = dates.issue_date.as_bytes();
    let num = |from: usize, len: usize| -> Option<u16> {
        let digits = d.get(from..from.checked_add(len)?)?;
        digits.iter().try_fold(0u16, |acc, c| {
            c.is_ascii_digit()
                .then(|| {
                    acc.checked_mul(10)?
                        .checked_add(u16::from(c.checked_sub(b'0')?))
                })
                .flatten()
        })
    };
    let sep = |at: usize, c: u8| d.get(at) == Some(&c);
    let ok_shape = sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':');
    let tail_ok = d.last() == Some(&b'Z')
        && (d.len() == 20
            || (sep(19, b'.')
                && d.get(20..d.len().saturating_sub(1))
                    .is_some_and(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))));
    if !ok_shape || !tail_ok {
        return Err(bad());
    }
    let field = |from, len| num(from, len).ok_or_else(bad);
    let narrow = |v: u16| u8::try_from(v).map_err(|_| bad());
    let dt = x509_cert::der::DateTime::new(
        field(0, 4)?,
        narrow(field(5, 2)?)?,
        narrow(field(8, 2)?)?,
        narrow(field(11, 2)?)?,
        narrow(field(14, 2)?)?,
        narrow(field(17, 2)?)?,
    )
    .map_err(|_| bad())?;
    Ok(UnixTime(dt.unix_duration().as_secs()))
}

/// The typed fields and REPORT_DATA of a quote body.
pub(crate) fn raw_claims(report: &Report) -> (RawClaims, [u8; 64]) {
    match report {
        Report::SgxEnclave(r) => (RawClaims::Sgx(sgx_raw(r)), r.report_data),
        Report::TD10(r) => (RawClaims::Tdx(tdx_raw(r)), r.report_data),
        Report::TD15(r) => (RawClaims::Tdx(tdx_raw(&r.base)), r.base.report_data),
        Report::TD15Ex(r) => (
            RawClaims::Tdx(tdx_raw(&r.base.base)),
            r.base.base.report_data,
        ),
    }
}

/// The SGX report body's fields. dcap-qvl names only the pre-KSS fields; the KSS fields
/// sit in its `reserved*` arrays at the `sgx_report_body_t` offsets: ISVEXTPRODID at
/// 32..48 (reserved1[12..28]), CONFIGID at 192..256 (reserved3[32..96]), CONFIGSVN at
/// 260..262 (reserved4[0..2], LE), ISVFAMILYID at 304..320 (reserved4[44..60]).
fn sgx_raw(r: &dcap_qvl::quote::EnclaveReport) -> SgxRaw {
    fn copy<const N: usize>(src: &[u8], from: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(s) = from.checked_add(N).and_then(|to| src.get(from..to)) {
            out.copy_from_slice(s);
        }
        out
    }
    SgxRaw {
        mrenclave: r.mr_enclave,
        mrsigner: r.mr_signer,
        isv_prod_id: r.isv_prod_id,
        isv_svn: r.isv_svn,
        attributes: r.attributes,
        cpu_svn: r.cpu_svn,
        isv_ext_prod_id: copy(&r.reserved1, 12),
        config_id: copy(&r.reserved3, 32),
        config_svn: u16::from_le_bytes(copy(&r.reserved4, 0)),
        isv_family_id: copy(&r.reserved4, 44),
    }
}

fn tdx_raw(r: &dcap_qvl::quote::TDReport10) -> TdxRaw {
    TdxRaw {
        mrtd: r.mr_td,
        rtmr0: r.rt_mr0,
        rtmr1: r.rt_mr1,
        rtmr2: r.rt_mr2,
        rtmr3: r.rt_mr3,
        mrseam: r.mr_seam,
        td_attributes: r.td_attributes,
        xfam: r.xfam,
        mrconfigid: r.mr_config_id,
        mrowner: r.mr_owner,
        mrownerconfig: r.mr_owner_config,
        tee_tcb_svn: r.tee_tcb_svn,
    }
}

/// Maps dcap-qvl's status. The two TD 1.5 "relaunch advised" statuses mean the TD was
/// launched on an out-of-date TCB (its current TCB is newer): the launch TCB is what
/// the quote attests, so they map to the out-of-date statuses.
fn map_tcb_status(s: dcap_qvl::TcbStatus) -> TcbStatus {
    use dcap_qvl::TcbStatus as D;
    match s {
        D::UpToDate => TcbStatus::UpToDate,
        D::SWHardeningNeeded => TcbStatus::SwHardeningNeeded,
        D::ConfigurationNeeded => TcbStatus::ConfigurationNeeded,
        D::ConfigurationAndSWHardeningNeeded => TcbStatus::ConfigurationAndSwHardeningNeeded,
        D::OutOfDate | D::TDRelaunchAdvised => TcbStatus::OutOfDate,
        D::OutOfDateConfigurationNeeded | D::TDRelaunchAdvisedConfigurationNeeded => {
            TcbStatus::OutOfDateConfigurationNeeded
        }
        D::Revoked => TcbStatus::Revoked,
    }
}

/// The platform of a DCAP quote header ([`crate::detect::intel_quote`]), or
/// [`Error::Malformed`].
pub fn quote_platform(quote: &[u8]) -> Result<Platform, Error> {
    crate::detect::intel_quote(quote).ok_or(Error::malformed("DCAP quote header"))
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/attestation"
    );

    fn must_sample() -> (Vec<u8>, QuoteCollateralV3) {
        let dir = format!("{FIXTURES}/tdx/dcapqvl-v4-uptodate");
        let quote = std::fs::read(format!("{dir}/quote.bin")).unwrap();
        let json = std::fs::read(format!("{dir}/collateral.json")).unwrap();
        (quote, serde_json::from_slice(&json).unwrap())
    }

    #[test]
    fn pinned_root__should_be_the_intel_sgx_root_ca() {
        assert_eq!(
            hex::encode(Sha256::digest(INTEL_SGX_ROOT_CA_DER)),
            "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"
        );
    }

    #[test]
    fn verify__should_refuse_a_chain_to_an_unpinned_root() {
        let (quote, collateral) = must_sample();
        // Any other self-signed root, here AMD's Milan ARK.
        let pem = include_bytes!("sev_snp/milan_ask_ark_asvk.pem");
        let certs = x509_cert::Certificate::load_pem_chain(pem).unwrap();
        use x509_cert::der::Encode;
        let other_root = certs[1].to_der().unwrap();
        let e = verify_with_root(
            &quote,
            collateral.clone(),
            UnixTime(1751328000),
            &other_root,
        )
        .unwrap_err();
        assert!(
            matches!(e, Error::UntrustedRoot { .. } | Error::BadSignature { .. }),
            "{e:?}"
        );
        assert!(verify_with_root(
            &quote,
            collateral,
            UnixTime(1751328000),
            INTEL_SGX_ROOT_CA_DER
        )
        .is_ok());
    }

    #[test]
    fn tcb_status__should_map_relaunch_advised_to_out_of_date() {
        assert_eq!(
            map_tcb_status(dcap_qvl::TcbStatus::TDRelaunchAdvised),
            TcbStatus::OutOfDate
        );
        assert_eq!(
            map_tcb_status(dcap_qvl::TcbStatus::SWHardeningNeeded),
            TcbStatus::SwHardeningNeeded
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Random bytes and random single-byte corruptions of a real quote never panic.
        #[test]
        fn verify__should_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..6000),
                                      at in 0usize..5006, x in 1u8..=255) {
            let (quote, collateral) = must_sample();
            let _ = verify_with_collateral(&bytes, collateral.clone(), UnixTime(1751328000));
            let mut q = quote;
            q[at] ^= x;
            let _ = verify_with_collateral(&q, collateral, UnixTime(1751328000));
        }
    }

    #[test]
    fn tcb_info_issue_date__should_read_intel_dates_and_refuse_others() {
        let d = |s: &str| tcb_info_issue_date(&format!("{{\"issueDate\":\"{s}\"}}"));
        assert_eq!(d("2025-06-19T10:16:03Z").unwrap(), UnixTime(1_750_328_163));
        assert_eq!(
            d("2025-06-19T10:16:03.123Z").unwrap(),
            UnixTime(1_750_328_163)
        );
        for bad in [
            "2025-06-19 10:16:03Z",
            "2025-06-19T10:16:03",
            "2025-13-19T10:16:03Z",
            "2025-06-19T10:16:03.Z",
            "2025-06-19T10:16:03+00:00",
            "+025-06-19T10:16:03Z",
            "",
        ] {
            assert!(d(bad).is_err(), "{bad}");
        }
        assert!(tcb_info_issue_date("{}").is_err());
    }

    proptest::proptest! {
        #[test]
        fn tcb_info_issue_date__should_never_panic(s in "\\PC{0,30}") {
            let _ = tcb_info_issue_date(&serde_json::json!({ "issueDate": s }).to_string());
        }
    }

    proptest::proptest! {
        #[test]
        fn check_encoding__should_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let _ = check_encoding(&bytes);
        }

        #[test]
        fn check_encoding__should_never_panic_on_a_mutated_quote(at in 0usize..5006, b in proptest::prelude::any::<u8>(), cut in 0usize..5006) {
            let mut q = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/fixtures/attestation/tdx/dcapqvl-v4-uptodate/quote.bin"
            )).unwrap();
            q[at] = b;
            let _ = check_encoding(&q);
            q.truncate(cut);
            let _ = check_encoding(&q);
        }
    }

    /// A PCK chain of only line breaks (or nothing) is malformed, not a panic inside
    /// x509-cert's PEM chain reader (found by the dcap_encoding fuzz target).
    #[test]
    fn check_encoding__should_refuse_an_empty_or_blank_pck_chain() {
        let q = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/attestation/sgx/dcapqvl-v3/quote.bin"
        ))
        .unwrap();
        // v3: the PCK chain is the last field; its u32 size sits 4 bytes before it.
        let pem_at = q.windows(10).position(|w| w == b"-----BEGIN").unwrap();
        for chain in [&b""[..], b"\n", b"\r\n\n", b"\0"] {
            let mut m = q[..pem_at].to_vec();
            let size = u32::try_from(chain.len()).unwrap().to_le_bytes();
            m[pem_at - 4..pem_at].copy_from_slice(&size);
            m.extend_from_slice(chain);
            let sig_len = u32::try_from(m.len() - 436).unwrap().to_le_bytes();
            m[432..436].copy_from_slice(&sig_len);
            assert!(
                matches!(check_encoding(&m), Err(Error::Malformed { .. })),
                "{chain:?}"
            );
        }
    }

    #[test]
    fn check_encoding__should_accept_the_recorded_quotes() {
        for p in [
            "tdx/dcapqvl-v4-uptodate/quote.bin",
            "sgx/dcapqvl-v3/quote.bin",
            "tdx/dcapqvl-v5-no-tcb-match/quote.bin",
            "tdx/zkdcap-v4-outofdate/quote.bin",
        ] {
            let q = std::fs::read(format!(
                "{}/../../shared/fixtures/attestation/{p}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            check_encoding(&q).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }
}
