//! AMD SEV-SNP attestation reports (SNP ABI spec 56860, `ATTESTATION_REPORT`).
//!
//! Checks, in order:
//!
//! 1. The report parses: 1184 bytes, version 2 to 5, signature algorithm 1
//!    (ECDSA P-384 with SHA-384). Fields are read at the ABI's fixed offsets.
//! 2. The endorsement key certificate (VCEK, or VLEK when the report's SIGNING_KEY field
//!    says so) chains to a pinned AMD root of one product line (Milan, Genoa, Turin):
//!    ARK self-signed, ARK signs ASK (or ASVK for a VLEK), ASK/ASVK signs the VCEK/VLEK,
//!    RSA-PSS/SHA-384, verified by the `sev` crate. The ARK and ASK/ASVK are compiled in;
//!    an ASK or ARK in the collateral is ignored.
//! 3. Every certificate of that chain is valid at `now` (the `sev` crate does not look
//!    at time, so we check notBefore/notAfter ourselves).
//! 4. The report signature verifies under the VCEK/VLEK over bytes `0x000..0x2A0` of the
//!    report *as received*. The `sev` crate's own report check hashes its
//!    re-serialisation of the parsed report, which would let bytes the parser skips
//!    escape the signature; so this one ECDSA verification is done here with `p384`.
//! 5. REPORTED_TCB equals the certificate's TCB extensions (bootloader, TEE, SNP,
//!    microcode, and FMC on Turin), and for a VCEK the hwID extension equals CHIP_ID
//!    (the `sev` crate checks neither).
//!
//! Debug is POLICY bit 19. SEV-SNP has no Intel-style TCB status: `tcb_status` is `None`;
//! governance pins TCB through the measurement and through `reported_tcb` in the raw
//! claims.

#![cfg(feature = "sev_snp")]
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

pub mod crl;
mod report;
mod roots;

pub use crl::CRL;
pub use report::{SnpReport, REPORT_LEN};
pub use roots::ProductLine;

use std::sync::OnceLock;

use p384::ecdsa::signature::Verifier;
use sev::certs::snp::{Certificate, Verifiable};
use x509_cert::der::{Decode, DecodePem};

use std::sync::Arc;

use crate::cache::Cache;
use crate::claims::{Claims, RawClaims, SevSnpRaw, SnpSigner, Validity};
use crate::collateral::Collateral;
use crate::error::Error;
use crate::evidence::Evidence;
use crate::types::{Platform, ReportData, UnixTime};
use crate::VerifyEvidence;

/// Collateral name of a VCEK certificate (DER or PEM).
pub const VCEK: &str = "vcek.der";
/// Collateral name of a VLEK certificate (DER or PEM).
pub const VLEK: &str = "vlek.der";

/// Verifies SEV-SNP reports against the pinned AMD roots.
///
/// The first use of a product line parses its pinned ASK/ARK/ASVK and verifies their
/// signatures (ARK self-signed, ARK signs ASK and ASVK); the verifier keeps the result
/// (compiled-in data only). A VCEK/VLEK chain verified before is taken from the
/// verifier's cache (clones share it) while `now` is inside its window (see
/// [`crate::cache`]); otherwise each verification checks the VCEK/VLEK signature by the
/// ASK/ASVK and every certificate's validity at `now`. The report is checked every time.
#[derive(Debug, Clone)]
pub struct SevSnpVerifier {
    lines: Vec<(ProductLine, OnceLock<Option<roots::Roots>>)>,
    cache: Arc<Cache<CachedChain>>,
}

impl Default for SevSnpVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl SevSnpVerifier {
    /// A verifier that accepts every product line whose root is pinned.
    pub fn new() -> Self {
        Self::with_product_lines(&ProductLine::ALL)
    }

    /// A verifier restricted to `lines` (a subset of the pinned roots; it can never add
    /// a root). A line whose pinned certificates fail their own checks is skipped (and
    /// then every chain to it fails with [`Error::UntrustedRoot`]).
    pub fn with_product_lines(lines: &[ProductLine]) -> Self {
        SevSnpVerifier {
            lines: lines.iter().map(|l| (*l, OnceLock::new())).collect(),
            cache: Arc::default(),
        }
    }

    /// The same verifier with a new cache of `capacity` chains (`0`: none).
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = Arc::new(Cache::with_capacity(capacity));
        self
    }

    /// The same verifier using `cache` (shared with other verifiers; entries are keyed
    /// by the verifier's product lines, so a restricted verifier never reuses a chain
    /// accepted through a line it does not trust).
    pub fn with_cache(mut self, cache: Arc<Cache<CachedChain>>) -> Self {
        self.cache = cache;
        self
    }

    /// The cache in use.
    pub fn cache(&self) -> &Arc<Cache<CachedChain>> {
        &self.cache
    }

    /// Verifies a parsed report with the endorsement certificate `vek` (DER or PEM) and,
    /// when given, the AMD CRL `crl` (DER, see [`crl`]): it must be signed by the product
    /// line's pinned ARK and valid at `now`, and must not list the ASK (VCEK) or ASVK
    /// (VLEK) of the chain.
    fn verify_report_with(
        &self,
        report: &SnpReport,
        vek: &[u8],
        crl: Option<&[u8]>,
        now: UnixTime,
    ) -> Result<Claims, Error> {
        let vek_x509 = parse_cert(vek, "VCEK/VLEK certificate")?;
        let finish = |chain: CachedChain| {
            let CachedChain {
                line,
                validity: chain_validity,
            } = chain;
            let validity = match crl {
                Some(der) => {
                    chain_validity.intersect(self.check_crl(line, report.signer, der, now)?)
                }
                None => chain_validity,
            };
            verify_report_signature(report, &vek_x509)?;
            check_tcb_extensions(report, &vek_x509, line)?;
            check_cpuid(report, line)?;
            Ok(claims(report, line, validity))
        };
        self.cache.through(
            || self.cache_key(report.signer, vek),
            now,
            finish,
            || {
                let (line, validity) = self.chain(report.signer, &vek_x509, now)?;
                let chain = CachedChain { line, validity };
                Ok((finish(chain)?, Some((chain, validity))))
            },
        )
    }

    /// The cache key of a chain: the endorsement key's bytes, its kind, and this
    /// verifier's product lines (a verifier restricted to fewer lines must not reuse a
    /// chain another verifier accepted through a line it does not trust).
    fn cache_key(&self, signer: SnpSigner, vek: &[u8]) -> crate::cache::Key {
        let lines: Vec<u8> = self.lines.iter().map(|(l, _)| l.tag()).collect();
        let signer = [match signer {
            SnpSigner::Vcek => 0u8,
            SnpSigner::Vlek => 1,
        }];
        crate::cache::key("keynet/cache/sev-snp-chain/v1", &[&signer, &lines, vek])
    }

    /// Checks that the VCEK `vek` (DER or PEM) chains to a pinned root and is valid at
    /// `now`; returns the product line and the chain's validity window.
    pub fn chain_vcek(&self, vek: &[u8], now: UnixTime) -> Result<(ProductLine, Validity), Error> {
        self.chain_endorsement(SnpSigner::Vcek, vek, now)
    }

    /// Like [`SevSnpVerifier::chain_vcek`] for either kind of endorsement key: a VCEK
    /// must be signed by the ASK, a VLEK by the ASVK.
    pub fn chain_endorsement(
        &self,
        signer: SnpSigner,
        vek: &[u8],
        now: UnixTime,
    ) -> Result<(ProductLine, Validity), Error> {
        let vek = parse_cert(vek, "VCEK/VLEK certificate")?;
        self.chain(signer, &vek, now)
    }

    /// The pinned roots of `line`, if this verifier trusts the line and they passed
    /// their own checks.
    fn roots(&self, line: ProductLine) -> Option<&roots::Roots> {
        let (_, cell) = self.lines.iter().find(|(l, _)| *l == line)?;
        cell.get_or_init(|| line.roots().ok().filter(roots::Roots::self_check))
            .as_ref()
    }

    /// Verifies the CRL `der` against `line`'s pinned ARK at `now` and refuses the
    /// chain's ASK (or ASVK) if listed. Returns the CRL's validity window.
    fn check_crl(
        &self,
        line: ProductLine,
        signer: SnpSigner,
        der: &[u8],
        now: UnixTime,
    ) -> Result<Validity, Error> {
        let roots = self.roots(line).ok_or(Error::UntrustedRoot {
            what: "pinned AMD root bundle",
        })?;
        let crl = crl::verify(der, &roots.ark, now)?;
        let (intermediate, what) = match signer {
            SnpSigner::Vcek => (&roots.ask, "ASK"),
            SnpSigner::Vlek => (&roots.asvk, "ASVK"),
        };
        if crl.lists(intermediate) {
            return Err(Error::Revoked { what });
        }
        Ok(crl.validity())
    }

    /// A verifier for `line` with the given roots, taken as they are (no self-check).
    /// Tests only: this is how a CRL signed by a throwaway "ARK" is tried.
    #[cfg(test)]
    pub(crate) fn with_roots_for_test(line: ProductLine, roots: roots::Roots) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(Some(roots));
        SevSnpVerifier {
            lines: vec![(line, cell)],
            cache: Arc::default(),
        }
    }

    /// Finds the pinned product line whose ASK (or ASVK) signs `vek`, checks the whole
    /// chain's signatures and validity at `now`, and returns the line and the window.
    pub(crate) fn chain(
        &self,
        signer: SnpSigner,
        vek: &x509_cert::Certificate,
        now: UnixTime,
    ) -> Result<(ProductLine, Validity), Error> {
        let vek_sev = Certificate::from(vek.clone());
        let what = match signer {
            SnpSigner::Vcek => "VCEK certificate chain",
            SnpSigner::Vlek => "VLEK certificate chain",
        };
        for (line, cell) in &self.lines {
            let roots = cell.get_or_init(|| line.roots().ok().filter(roots::Roots::self_check));
            let Some(roots) = roots else { continue };
            let (intermediate, intermediate_sev) = match signer {
                SnpSigner::Vcek => (&roots.ask, &roots.ask_sev),
                SnpSigner::Vlek => (&roots.asvk, &roots.asvk_sev),
            };
            if (intermediate_sev, &vek_sev).verify().is_err() {
                continue;
            }
            let mut validity = Validity::of_certificate(vek);
            for c in [&roots.ark, intermediate] {
                validity = validity.intersect(Validity::of_certificate(c));
            }
            validity.check(now, what)?;
            return Ok((*line, validity));
        }
        Err(Error::UntrustedRoot { what })
    }
}

impl VerifyEvidence for SevSnpVerifier {
    fn platform(&self) -> Platform {
        Platform::SevSnp
    }

    /// The VCEK or VLEK (the one the report's SIGNING_KEY names) and the optional AMD
    /// CRL come from `collateral`.
    fn verify(
        &self,
        evidence: &Evidence,
        collateral: &Collateral,
        now: UnixTime,
    ) -> Result<Claims, Error> {
        crate::expect_platform(Platform::SevSnp, evidence)?;
        let report = SnpReport::parse(&evidence.bytes)?;
        let vek = endorsement(&report, collateral)?;
        self.verify_report_with(&report, vek, collateral.get(CRL), now)
    }
}

/// The claims of a verified report.
fn claims(report: &SnpReport, line: ProductLine, validity: Validity) -> Claims {
    Claims::new(RawClaims::SevSnp(raw_claims(report, Some(line))))
        .with_report_data(Some(ReportData(report.report_data)))
        .with_validity(validity)
}

/// The VCEK or VLEK the report's SIGNING_KEY field names, from the collateral.
fn endorsement<'c>(report: &SnpReport, collateral: &'c Collateral) -> Result<&'c [u8], Error> {
    let name = match report.signer {
        SnpSigner::Vcek => VCEK,
        SnpSigner::Vlek => VLEK,
    };
    collateral
        .get(name)
        .ok_or(Error::MissingCollateral { what: name })
}

/// A verified endorsement-key chain, as a [`SevSnpVerifier`]'s cache keeps it.
#[derive(Debug, Clone, Copy)]
pub struct CachedChain {
    line: ProductLine,
    validity: Validity,
}

/// The typed fields of a report.
pub(crate) fn raw_claims(report: &SnpReport, product_line: Option<ProductLine>) -> SevSnpRaw {
    SevSnpRaw {
        measurement: report.measurement,
        host_data: report.host_data,
        chip_id: report.chip_id,
        policy: report.policy,
        reported_tcb: report.reported_tcb,
        version: report.version,
        vmpl: report.vmpl,
        id_key_digest: report.id_key_digest,
        author_key_digest: report.author_key_digest,
        signer: report.signer,
        product_line,
    }
}

/// Parses a certificate given as DER or PEM.
pub(crate) fn parse_cert(
    bytes: &[u8],
    what: &'static str,
) -> Result<x509_cert::Certificate, Error> {
    if bytes.starts_with(b"-----BEGIN") {
        x509_cert::Certificate::from_pem(bytes).map_err(|_| Error::malformed(what))
    } else {
        x509_cert::Certificate::from_der(bytes).map_err(|_| Error::malformed(what))
    }
}

fn verify_report_signature(report: &SnpReport, vek: &x509_cert::Certificate) -> Result<(), Error> {
    let bad = Error::BadSignature {
        what: "SEV-SNP report",
    };
    let spki = vek
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .as_bytes()
        .ok_or(Error::malformed("VCEK/VLEK public key"))?;
    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(spki)
        .map_err(|_| Error::malformed("VCEK/VLEK public key (not P-384)"))?;
    let sig = report.signature().ok_or(bad)?;
    key.verify(report.signed_bytes(), &sig)
        .map_err(|_| Error::BadSignature {
            what: "SEV-SNP report",
        })
}

/// The product line a CPUID family and model (combined extended and base fields, as
/// report version 3 carries them) belong to; `None` for models this crate does not know.
/// Ranges as the `sev` crate's `Generation::identify_cpu`.
pub fn product_line_of_cpuid(family: u8, model: u8) -> Option<ProductLine> {
    match (family, model) {
        (0x19, 0x00..=0x0F) => Some(ProductLine::Milan),
        (0x19, 0x10..=0x1F | 0xA0..=0xAF) => Some(ProductLine::Genoa),
        (0x1A, 0x00..=0x11) => Some(ProductLine::Turin),
        _ => None,
    }
}

/// From report version 3 on, the CPUID family/model in the (signed) report must not name
/// another product line than the one whose ARK the VCEK/VLEK chains to; this also fixes
/// which TCB layout REPORTED_TCB is read in. A model this crate does not know is left to
/// the chain.
fn check_cpuid(report: &SnpReport, line: ProductLine) -> Result<(), Error> {
    let Some([family, model, _]) = report.cpuid else {
        return Ok(());
    };
    match product_line_of_cpuid(family, model) {
        Some(l) if l != line => Err(Error::CollateralMismatch {
            what: "the report's CPUID family/model names another product line than its VCEK/VLEK",
        }),
        _ => Ok(()),
    }
}

/// AMD VCEK/VLEK extension OIDs (VCEK spec 57230, table 8), under 1.3.6.1.4.1.3704.1.
mod oid {
    use x509_cert::der::asn1::ObjectIdentifier as Oid;
    pub const BL_SPL: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.1");
    pub const TEE_SPL: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.2");
    pub const SNP_SPL: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.3");
    pub const UCODE_SPL: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.8");
    pub const FMC_SPL: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.9");
    pub const HW_ID: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.4");
}

fn extension(
    cert: &x509_cert::Certificate,
    id: x509_cert::der::asn1::ObjectIdentifier,
) -> Option<&[u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == id)
        .map(|e| e.extn_value.as_bytes())
}

/// An SPL extension: a DER INTEGER inside the extension's OCTET STRING.
fn spl(
    cert: &x509_cert::Certificate,
    id: x509_cert::der::asn1::ObjectIdentifier,
) -> Result<u8, Error> {
    let raw = extension(cert, id).ok_or(Error::TcbMismatch {
        what: "the VCEK/VLEK lacks a TCB extension",
    })?;
    u8::from_der(raw).map_err(|_| Error::malformed("VCEK/VLEK TCB extension"))
}

fn check_tcb_extensions(
    report: &SnpReport,
    vek: &x509_cert::Certificate,
    line: ProductLine,
) -> Result<(), Error> {
    let tcb = report.reported_tcb.to_le_bytes();
    // Byte positions of each SPL inside REPORTED_TCB (SNP ABI, TCB_VERSION).
    let positions: &[(x509_cert::der::asn1::ObjectIdentifier, usize)] = match line {
        ProductLine::Turin => &[
            (oid::FMC_SPL, 0),
            (oid::BL_SPL, 1),
            (oid::TEE_SPL, 2),
            (oid::SNP_SPL, 3),
            (oid::UCODE_SPL, 7),
        ],
        ProductLine::Milan | ProductLine::Genoa => &[
            (oid::BL_SPL, 0),
            (oid::TEE_SPL, 1),
            (oid::SNP_SPL, 6),
            (oid::UCODE_SPL, 7),
        ],
    };
    for (id, at) in positions {
        let want = spl(vek, *id)?;
        if tcb.get(*at) != Some(&want) {
            return Err(Error::TcbMismatch {
                what: "REPORTED_TCB differs from the VCEK/VLEK TCB extensions",
            });
        }
    }
    if report.signer == SnpSigner::Vcek {
        let hwid = extension(vek, oid::HW_ID).ok_or(Error::TcbMismatch {
            what: "the VCEK has no hwID extension",
        })?;
        if hwid.is_empty() || report.chip_id.get(..hwid.len()) != Some(hwid) {
            return Err(Error::TcbMismatch {
                what: "CHIP_ID differs from the VCEK hwID",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};
    use x509_cert::der::Encode;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/attestation"
    );

    fn must_milan() -> (SnpReport, x509_cert::Certificate) {
        let dir = format!("{FIXTURES}/sev-snp/virtee-milan-vcek");
        let hex_text = std::fs::read_to_string(format!("{dir}/report.hex")).unwrap();
        let report = SnpReport::parse(&hex::decode(hex_text.trim()).unwrap()).unwrap();
        let vcek = std::fs::read(format!("{dir}/vcek.der")).unwrap();
        (report, parse_cert(&vcek, "vcek").unwrap())
    }

    #[test]
    fn pinned_arks__should_have_the_published_fingerprints() {
        let want = [
            (
                ProductLine::Milan,
                "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
                "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
                "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5",
            ),
            (
                ProductLine::Genoa,
                "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
                "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
                "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372",
            ),
            (
                ProductLine::Turin,
                "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
                "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
                "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c",
            ),
        ];
        for (line, ark, ask, asvk) in want {
            let r = line.roots().unwrap();
            assert!(r.self_check(), "{line:?}");
            let fp = |c: &x509_cert::Certificate| hex::encode(Sha256::digest(c.to_der().unwrap()));
            assert_eq!(
                (
                    fp(&r.ark).as_str(),
                    fp(&r.ask).as_str(),
                    fp(&r.asvk).as_str()
                ),
                (ark, ask, asvk),
                "{line:?}"
            );
        }
    }

    #[test]
    fn tcb_extensions__should_accept_the_matching_report() {
        let (report, vcek) = must_milan();
        check_tcb_extensions(&report, &vcek, ProductLine::Milan).unwrap();
    }

    #[test]
    fn tcb_extensions__should_refuse_a_different_reported_tcb() {
        let (mut report, vcek) = must_milan();
        report.reported_tcb ^= 1 << 56; // microcode byte
        assert!(matches!(
            check_tcb_extensions(&report, &vcek, ProductLine::Milan),
            Err(Error::TcbMismatch { what }) if what.contains("REPORTED_TCB")
        ));
    }

    #[test]
    fn tcb_extensions__should_refuse_a_different_chip_id() {
        let (mut report, vcek) = must_milan();
        report.chip_id[63] ^= 1;
        assert!(matches!(
            check_tcb_extensions(&report, &vcek, ProductLine::Milan),
            Err(Error::TcbMismatch { what }) if what.contains("CHIP_ID")
        ));
    }

    #[test]
    fn report__should_expose_debug_bit_19() {
        let (report, _) = must_milan();
        assert_eq!(report.policy, 0x30000);
        assert_eq!(report.policy & (1 << 19), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn parse__should_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1400)) {
            let _ = SnpReport::parse(&bytes);
        }

        /// A non-zero byte anywhere the signature field must be zero (the top 24 bytes
        /// of R and of S, the 368-byte reserved tail) is refused by name, at its
        /// offset, although the signature still verifies.
        #[test]
        fn report__should_refuse_any_nonzero_byte_in_the_unsigned_zero_bytes(
            at in prop_oneof![0x2D0usize..0x2E8, 0x318usize..0x330, 0x330usize..REPORT_LEN],
            mask in 1u8..=255,
        ) {
            let dir = format!("{FIXTURES}/sev-snp/virtee-milan-vcek");
            let mut bytes = hex::decode(std::fs::read_to_string(format!("{dir}/report.hex")).unwrap().trim()).unwrap();
            bytes[at] ^= mask;
            let c = Collateral::new().with(VCEK, std::fs::read(format!("{dir}/vcek.der")).unwrap());
            let e = SevSnpVerifier::new().verify(&Evidence::new(Platform::SevSnp, bytes.clone()), &c, UnixTime(1735689600)).unwrap_err();
            prop_assert!(
                matches!(e, Error::NonCanonical { what: "SEV-SNP report signature field", offset } if offset == at),
                "{e:?}"
            );
            prop_assert_eq!(e.kind(), "non_canonical");
        }

        /// Any report-sized input runs the whole verifier without panicking.
        #[test]
        fn verify__should_never_panic_on_report_sized_input(
            mut bytes in proptest::collection::vec(any::<u8>(), REPORT_LEN..=REPORT_LEN),
            version in 2u32..=5,
        ) {
            bytes[..4].copy_from_slice(&version.to_le_bytes());
            bytes[0x34..0x38].copy_from_slice(&1u32.to_le_bytes());
            bytes[0x48..0x4C].copy_from_slice(&0u32.to_le_bytes());
            let vcek = std::fs::read(format!("{FIXTURES}/sev-snp/virtee-milan-vcek/vcek.der")).unwrap();
            let c = Collateral::new().with(VCEK, vcek);
            let _ = SevSnpVerifier::new().verify(&Evidence::new(Platform::SevSnp, bytes.clone()), &c, UnixTime(1735689600));
        }
    }
}

#[cfg(test)]
mod crl_tests;

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod cpuid_tests {
    use super::*;

    #[test]
    fn product_line_of_cpuid__should_follow_the_amd_families() {
        assert_eq!(product_line_of_cpuid(0x19, 0x01), Some(ProductLine::Milan));
        assert_eq!(product_line_of_cpuid(0x19, 0x11), Some(ProductLine::Genoa));
        assert_eq!(product_line_of_cpuid(0x19, 0xA0), Some(ProductLine::Genoa));
        assert_eq!(product_line_of_cpuid(0x1A, 0x02), Some(ProductLine::Turin));
        assert_eq!(product_line_of_cpuid(0x17, 0x31), None);
    }

    #[test]
    fn check_cpuid__should_refuse_another_line_and_allow_v2_and_unknown_models() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/attestation/sev-snp/trustee-milan-vlek/report.bin"
        ))
        .unwrap();
        let mut r = SnpReport::parse(&bytes).unwrap();
        assert_eq!(r.version, 3);
        assert_eq!(r.cpuid, Some([0x19, 0x01, 0x01]));
        check_cpuid(&r, ProductLine::Milan).unwrap();
        assert!(matches!(
            check_cpuid(&r, ProductLine::Genoa),
            Err(Error::CollateralMismatch { .. })
        ));
        r.cpuid = Some([0x1A, 0x02, 0x00]);
        assert!(check_cpuid(&r, ProductLine::Milan).is_err());
        r.cpuid = Some([0x30, 0x00, 0x00]);
        check_cpuid(&r, ProductLine::Milan).unwrap();
        r.cpuid = None;
        check_cpuid(&r, ProductLine::Turin).unwrap();
    }
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used, clippy::indexing_slicing)]
mod malleability_tests {
    use super::*;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/attestation/sev-snp/virtee-milan-vcek"
    );

    /// Every single-bit change of every unsigned byte (0x2A0..0x4A0) is refused: R and S
    /// scalar bytes by the signature, everything else as non-canonical.
    #[test]
    fn report__should_refuse_every_bit_flip_of_the_signature_field() {
        let bytes = hex::decode(
            std::fs::read_to_string(format!("{DIR}/report.hex"))
                .unwrap()
                .trim(),
        )
        .unwrap();
        let c = Collateral::new().with(VCEK, std::fs::read(format!("{DIR}/vcek.der")).unwrap());
        let v = SevSnpVerifier::new();
        let t = UnixTime(1735689600);
        assert!(v
            .verify(&Evidence::new(Platform::SevSnp, bytes.clone()), &c, t)
            .is_ok());
        for at in report::SIGNED_LEN..REPORT_LEN {
            for bit in [0x01u8, 0x80] {
                let mut m = bytes.clone();
                m[at] ^= bit;
                let e = v
                    .verify(&Evidence::new(Platform::SevSnp, m), &c, t)
                    .unwrap_err();
                let scalar = (0x2A0..0x2D0).contains(&at) || (0x2E8..0x318).contains(&at);
                if scalar {
                    assert!(matches!(e, Error::BadSignature { .. }), "{at:#x}: {e:?}");
                } else {
                    assert!(
                        matches!(e, Error::NonCanonical { offset, .. } if offset == at),
                        "{at:#x}: {e:?}"
                    );
                }
            }
        }
    }
}
