//! Normalised claims (DESIGN §5): what a verifier returns once the evidence is genuine.
//!
//! `Claims` can only be built inside this crate, from a platform's typed raw fields, so
//! the derived values (platform, vendor, measurement digest, debug flag) always agree
//! with the raw fields they come from.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::types::{
    Measurement, Platform, ProductLine, ReportData, SnpTcb, TcbStatus, UnixTime, Vendor,
};

/// Genuine evidence, normalised. Returned by [`crate::VerifyEvidence::verify`]; turned
/// into [`crate::Accepted`] only by [`crate::appraise`].
///
/// Serialises to the `kms attest verify --json` shape of CLI.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    raw: RawClaims,
    report_data: Option<ReportData>,
    tcb_status: Option<TcbStatus>,
    issued_at: Option<UnixTime>,
    validity: Option<Validity>,
    dcap: Option<DcapTcb>,
}

/// What an Intel DCAP verification learned from the (signed) collateral, for policy:
/// the TCB evaluation data number, when the TCB info was issued, and the advisories
/// that apply to the matched TCB level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DcapTcb {
    /// The lower of the TCB info's and the QE identity's `tcbEvaluationDataNumber`.
    pub tcb_evaluation_data_number: u32,
    /// The TCB info's `issueDate`.
    pub tcb_info_issued_at: UnixTime,
    /// Intel security advisory IDs (`INTEL-SA-…`) of the matched platform and QE TCB
    /// levels.
    pub advisory_ids: Vec<String>,
}

/// The interval in which every certificate, CRL and collateral item that took part in a
/// verification is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Validity {
    /// Start (inclusive).
    pub not_before: UnixTime,
    /// End (inclusive).
    pub not_after: UnixTime,
}

impl Validity {
    /// The window that contains every time (the neutral element of
    /// [`Validity::intersect`]).
    pub fn always() -> Validity {
        Validity {
            not_before: UnixTime(0),
            not_after: UnixTime(u64::MAX),
        }
    }

    /// Whether `now` lies inside the window (both ends inclusive).
    pub fn contains(self, now: UnixTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// `Ok` if `now` lies inside the window, else [`Error::NotYetValid`] or
    /// [`Error::Expired`] naming `what`, with the window's edge.
    #[cfg_attr(not(any(feature = "sev_snp", feature = "nitro")), allow(dead_code))]
    pub(crate) fn check(self, now: UnixTime, what: &'static str) -> Result<(), Error> {
        if now < self.not_before {
            return Err(Error::NotYetValid {
                what,
                not_before: Some(self.not_before),
                now,
            });
        }
        if now > self.not_after {
            return Err(Error::Expired {
                what,
                not_after: Some(self.not_after),
                now,
            });
        }
        Ok(())
    }

    /// The notBefore..notAfter of an X.509 certificate.
    #[cfg_attr(not(any(feature = "sev_snp", feature = "nitro")), allow(dead_code))]
    pub(crate) fn of_certificate(c: &x509_cert::Certificate) -> Validity {
        let v = &c.tbs_certificate.validity;
        Validity {
            not_before: UnixTime(v.not_before.to_unix_duration().as_secs()),
            not_after: UnixTime(v.not_after.to_unix_duration().as_secs()),
        }
    }

    /// The intersection of two windows (may be empty: `not_before > not_after`).
    pub fn intersect(self, other: Validity) -> Validity {
        Validity {
            not_before: self.not_before.max(other.not_before),
            not_after: self.not_after.min(other.not_after),
        }
    }
}

impl Claims {
    /// Claims from a platform's raw fields. `report_data` is `None` only where the
    /// platform lets the enclave omit it (a Nitro document without 64-byte `user_data`);
    /// [`crate::appraise`] refuses such claims.
    #[cfg_attr(
        not(any(
            feature = "tdx",
            feature = "sgx",
            feature = "sev_snp",
            feature = "nitro",
            feature = "simulated"
        )),
        allow(dead_code)
    )]
    pub(crate) fn new(raw: RawClaims) -> Self {
        Claims {
            raw,
            report_data: None,
            tcb_status: None,
            issued_at: None,
            validity: None,
            dcap: None,
        }
    }

    /// These claims with the report data the evidence carries (if any).
    #[allow(dead_code)] // no platform compiled in
    pub(crate) fn with_report_data(mut self, report_data: Option<ReportData>) -> Self {
        self.report_data = report_data;
        self
    }

    /// These claims with the platform's TCB verdict (DCAP only).
    #[allow(dead_code)] // no platform compiled in
    pub(crate) fn with_tcb_status(mut self, tcb_status: Option<TcbStatus>) -> Self {
        self.tcb_status = tcb_status;
        self
    }

    /// These claims with the evidence's own timestamp (Nitro, simulated).
    #[allow(dead_code)] // no platform compiled in
    pub(crate) fn with_issued_at(mut self, issued_at: UnixTime) -> Self {
        self.issued_at = Some(issued_at);
        self
    }

    /// These claims with the validity window of the chain and collateral.
    #[allow(dead_code)] // no platform compiled in
    pub(crate) fn with_validity(mut self, validity: Validity) -> Self {
        self.validity = Some(validity);
        self
    }

    /// These claims with the DCAP collateral facts.
    #[cfg_attr(not(any(feature = "tdx", feature = "sgx")), allow(dead_code))]
    pub(crate) fn with_dcap(mut self, dcap: DcapTcb) -> Self {
        self.dcap = Some(dcap);
        self
    }

    /// TDX/SGX: the collateral facts policy checks (evaluation data number, TCB info
    /// issue date) and the advisory IDs; `None` for other platforms.
    pub fn dcap(&self) -> Option<&DcapTcb> {
        self.dcap.as_ref()
    }

    /// The platform.
    pub fn platform(&self) -> Platform {
        self.raw.platform()
    }

    /// The vendor whose root signed the evidence.
    pub fn vendor(&self) -> Vendor {
        self.raw.vendor()
    }

    /// keynet's measurement digest (docs/PROTOCOL.md).
    pub fn measurement(&self) -> Measurement {
        self.raw.measurement()
    }

    /// The platform's own fields.
    pub fn raw(&self) -> &RawClaims {
        &self.raw
    }

    /// The 64 bytes the enclave bound into the evidence.
    pub fn report_data(&self) -> Option<&ReportData> {
        self.report_data.as_ref()
    }

    /// Whether the enclave runs in debug mode (its memory is readable by the host).
    pub fn debug(&self) -> bool {
        self.raw.debug()
    }

    /// The TCB status, where the platform has one (Intel); `None` elsewhere.
    pub fn tcb_status(&self) -> Option<TcbStatus> {
        self.tcb_status
    }

    /// When the evidence says it was produced, where it carries a time (Nitro).
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.issued_at
    }

    /// The validity window of the certificates and collateral used.
    pub fn validity(&self) -> Option<Validity> {
        self.validity
    }

    /// Start of [`Claims::validity`].
    pub fn valid_from(&self) -> Option<UnixTime> {
        self.validity.map(|v| v.not_before)
    }

    /// End of [`Claims::validity`].
    pub fn valid_until(&self) -> Option<UnixTime> {
        self.validity.map(|v| v.not_after)
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("platform", &self.platform())?;
        let vendor = self.vendor();
        m.serialize_entry("vendor", vendor.as_str())?;
        if let Some(label) = vendor.label() {
            m.serialize_entry("vendor_label", label)?;
        }
        m.serialize_entry("measurement", &self.measurement())?;
        m.serialize_entry("report_data", &self.report_data)?;
        m.serialize_entry("debug", &self.debug())?;
        m.serialize_entry("tcb_status", &self.tcb_status)?;
        m.serialize_entry("issued_at", &self.issued_at)?;
        m.serialize_entry("valid_from", &self.valid_from())?;
        m.serialize_entry("valid_until", &self.valid_until())?;
        if let Some(d) = &self.dcap {
            m.serialize_entry("advisory_ids", &d.advisory_ids)?;
            m.serialize_entry("tcb_evaluation_data_number", &d.tcb_evaluation_data_number)?;
            m.serialize_entry("tcb_info_issued_at", &d.tcb_info_issued_at)?;
        }
        m.serialize_entry("raw", &self.raw.to_hex_map())?;
        m.end()
    }
}

/// The platform's own identity fields, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawClaims {
    /// Intel TDX TD report fields.
    Tdx(TdxRaw),
    /// Intel SGX enclave report fields.
    Sgx(SgxRaw),
    /// AMD SEV-SNP attestation report fields.
    SevSnp(SevSnpRaw),
    /// AWS Nitro attestation document fields.
    Nitro(NitroRaw),
    /// Simulated evidence fields.
    Simulated(SimulatedRaw),
}

impl RawClaims {
    /// The platform these fields come from.
    pub fn platform(&self) -> Platform {
        match self {
            RawClaims::Tdx(_) => Platform::Tdx,
            RawClaims::Sgx(_) => Platform::Sgx,
            RawClaims::SevSnp(_) => Platform::SevSnp,
            RawClaims::Nitro(_) => Platform::Nitro,
            RawClaims::Simulated(_) => Platform::Simulated,
        }
    }

    /// The vendor.
    pub fn vendor(&self) -> Vendor {
        match self {
            RawClaims::Tdx(_) | RawClaims::Sgx(_) => Vendor::Intel,
            RawClaims::SevSnp(_) => Vendor::Amd,
            RawClaims::Nitro(_) => Vendor::Aws,
            RawClaims::Simulated(r) => Vendor::Simulated(r.vendor_label.clone()),
        }
    }

    /// keynet's measurement digest of these fields (docs/PROTOCOL.md).
    pub fn measurement(&self) -> Measurement {
        match self {
            RawClaims::Tdx(r) => r.measurement(),
            RawClaims::Sgx(r) => r.measurement(),
            RawClaims::SevSnp(r) => r.measurement(),
            RawClaims::Nitro(r) => r.measurement(),
            RawClaims::Simulated(r) => r.measurement(),
        }
    }

    /// Whether the fields say debug mode.
    pub fn debug(&self) -> bool {
        match self {
            RawClaims::Tdx(r) => r.debug(),
            RawClaims::Sgx(r) => r.debug(),
            RawClaims::SevSnp(r) => r.debug(),
            RawClaims::Nitro(r) => r.debug(),
            RawClaims::Simulated(r) => r.debug,
        }
    }

    /// The CLI's `raw` object: CLI.md names to lower-case hex (byte strings as they
    /// appear in the evidence; integers as fixed-width big-endian hex of their value),
    /// text for text, `None` (JSON `null`) for an absent optional field.
    pub fn to_hex_map(&self) -> BTreeMap<&'static str, Option<String>> {
        let mut m = BTreeMap::new();
        match self {
            RawClaims::Tdx(r) => {
                m.insert("mrtd", Some(hex::encode(r.mrtd)));
                m.insert("rtmr0", Some(hex::encode(r.rtmr0)));
                m.insert("rtmr1", Some(hex::encode(r.rtmr1)));
                m.insert("rtmr2", Some(hex::encode(r.rtmr2)));
                m.insert("rtmr3", Some(hex::encode(r.rtmr3)));
                m.insert("mrseam", Some(hex::encode(r.mrseam)));
                m.insert("td_attributes", Some(hex::encode(r.td_attributes)));
                m.insert("xfam", Some(hex::encode(r.xfam)));
                m.insert("mrconfigid", Some(hex::encode(r.mrconfigid)));
                m.insert("mrowner", Some(hex::encode(r.mrowner)));
                m.insert("mrownerconfig", Some(hex::encode(r.mrownerconfig)));
                m.insert("tee_tcb_svn", Some(hex::encode(r.tee_tcb_svn)));
            }
            RawClaims::Sgx(r) => {
                m.insert("mrenclave", Some(hex::encode(r.mrenclave)));
                m.insert("mrsigner", Some(hex::encode(r.mrsigner)));
                m.insert("isv_prod_id", Some(format!("{:04x}", r.isv_prod_id)));
                m.insert("isv_svn", Some(format!("{:04x}", r.isv_svn)));
                m.insert("attributes", Some(hex::encode(r.attributes)));
                m.insert("cpu_svn", Some(hex::encode(r.cpu_svn)));
                m.insert("config_id", Some(hex::encode(r.config_id)));
                m.insert("config_svn", Some(format!("{:04x}", r.config_svn)));
                m.insert("isv_ext_prod_id", Some(hex::encode(r.isv_ext_prod_id)));
                m.insert("isv_family_id", Some(hex::encode(r.isv_family_id)));
            }
            RawClaims::SevSnp(r) => {
                m.insert("measurement", Some(hex::encode(r.measurement)));
                m.insert("host_data", Some(hex::encode(r.host_data)));
                m.insert("chip_id", Some(hex::encode(r.chip_id)));
                m.insert("policy", Some(format!("{:016x}", r.policy)));
                m.insert("reported_tcb", Some(format!("{:016x}", r.reported_tcb)));
                m.insert("version", Some(format!("{:08x}", r.version)));
                m.insert("vmpl", Some(format!("{:08x}", r.vmpl)));
                m.insert("signer", Some(r.signer.as_str().to_owned()));
                m.insert(
                    "product_line",
                    r.product_line.map(|l| l.as_str().to_owned()),
                );
            }
            RawClaims::Nitro(r) => {
                m.insert("pcr0", Some(hex::encode(&r.pcr0)));
                m.insert("pcr1", Some(hex::encode(&r.pcr1)));
                m.insert("pcr2", Some(hex::encode(&r.pcr2)));
                m.insert("module_id", Some(r.module_id.clone()));
                m.insert("user_data", r.user_data.as_ref().map(hex::encode));
                m.insert("public_key", r.public_key.as_ref().map(hex::encode));
                m.insert("nonce", r.nonce.as_ref().map(hex::encode));
            }
            RawClaims::Simulated(r) => {
                m.insert("vendor_label", Some(r.vendor_label.clone()));
                m.insert("image", Some(hex::encode(r.image)));
            }
        }
        m
    }
}

/// Hashes a domain label and fields: `SHA-256(label || f0 || f1 || …)`. The fields of
/// each platform have fixed lengths, so plain concatenation is unambiguous.
fn digest(label: &[u8], fields: &[&[u8]]) -> Measurement {
    let mut h = Sha256::new();
    h.update(label);
    for f in fields {
        h.update(f);
    }
    Measurement(h.finalize().into())
}

/// Intel TDX TD report fields (TDX module ABI, `TDREPORT_STRUCT.TDINFO`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TdxRaw {
    /// Build-time measurement of the TD (firmware image).
    pub mrtd: [u8; 48],
    /// Run-time measurement register 0 (firmware configuration, ACPI tables).
    pub rtmr0: [u8; 48],
    /// RTMR1 (OS loader, kernel).
    pub rtmr1: [u8; 48],
    /// RTMR2 (kernel command line, initrd).
    pub rtmr2: [u8; 48],
    /// RTMR3 (application-defined, extended at run time).
    pub rtmr3: [u8; 48],
    /// Measurement of the TDX module.
    pub mrseam: [u8; 48],
    /// TD attributes; byte 0 is TUD (bit 0 DEBUG), byte 3 SEC (SEPT_VE_DISABLE, …).
    pub td_attributes: [u8; 8],
    /// Extended features allowed (XFAM).
    pub xfam: [u8; 8],
    /// Software-defined configuration ID.
    pub mrconfigid: [u8; 48],
    /// Software-defined owner ID.
    pub mrowner: [u8; 48],
    /// Software-defined owner configuration.
    pub mrownerconfig: [u8; 48],
    /// TEE TCB SVN (TDX module version).
    pub tee_tcb_svn: [u8; 16],
}

impl TdxRaw {
    /// Domain label of the TDX measurement digest.
    pub const MEASUREMENT_LABEL: &'static [u8] = b"keynet/measurement/tdx/v1";

    /// `SHA-256("keynet/measurement/tdx/v1" || MRTD || RTMR0 || RTMR1 || RTMR2 ||
    /// MRCONFIGID || MROWNER || MROWNERCONFIG || TD_ATTRIBUTES)` (docs/PROTOCOL.md;
    /// RTMR3, MRSEAM and XFAM are left out on purpose, see there).
    pub fn measurement(&self) -> Measurement {
        digest(
            Self::MEASUREMENT_LABEL,
            &[
                &self.mrtd,
                &self.rtmr0,
                &self.rtmr1,
                &self.rtmr2,
                &self.mrconfigid,
                &self.mrowner,
                &self.mrownerconfig,
                &self.td_attributes,
            ],
        )
    }

    /// Domain label of the TDX measurement digest with RTMR3 pinned.
    pub const MEASUREMENT_RTMR3_LABEL: &'static [u8] = b"keynet/measurement/tdx-rtmr3/v1";

    /// The digest a policy with [`crate::Policy::tdx_pin_rtmr3`] approves:
    /// `SHA-256("keynet/measurement/tdx-rtmr3/v1" || MRTD || RTMR0 || RTMR1 || RTMR2 ||
    /// RTMR3 || MRCONFIGID || MROWNER || MROWNERCONFIG || TD_ATTRIBUTES)`
    /// (docs/PROTOCOL.md). Its own label, so it never equals the default digest.
    pub fn measurement_with_rtmr3(&self) -> Measurement {
        digest(
            Self::MEASUREMENT_RTMR3_LABEL,
            &[
                &self.mrtd,
                &self.rtmr0,
                &self.rtmr1,
                &self.rtmr2,
                &self.rtmr3,
                &self.mrconfigid,
                &self.mrowner,
                &self.mrownerconfig,
                &self.td_attributes,
            ],
        )
    }

    /// Any bit of the TUD ("TD under debug") byte of TD_ATTRIBUTES: DEBUG (bit 0) and
    /// the debug/profiling features next to it. dcap-qvl lets these through when asked
    /// to allow debug (we ask, so that policy refuses them by name), so all of them
    /// count as debug here.
    pub fn debug(&self) -> bool {
        self.td_attributes.first().is_some_and(|b| *b != 0)
    }
}

/// Intel SGX enclave report fields (`sgx_report_body_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SgxRaw {
    /// Enclave measurement.
    pub mrenclave: [u8; 32],
    /// Hash of the enclave signer's public key.
    pub mrsigner: [u8; 32],
    /// Product ID.
    pub isv_prod_id: u16,
    /// Security version.
    pub isv_svn: u16,
    /// Attributes (flags u64 LE, then XFRM u64 LE); flags bit 1 is DEBUG, bit 7 KSS.
    pub attributes: [u8; 16],
    /// CPU security version.
    pub cpu_svn: [u8; 16],
    /// KSS: CONFIGID, set by the loader (zero without KSS).
    pub config_id: [u8; 64],
    /// KSS: CONFIGSVN (zero without KSS).
    pub config_svn: u16,
    /// KSS: ISVEXTPRODID (zero without KSS).
    pub isv_ext_prod_id: [u8; 16],
    /// KSS: ISVFAMILYID (zero without KSS).
    pub isv_family_id: [u8; 16],
}

impl SgxRaw {
    /// Domain label of the SGX measurement digest (v2: ATTRIBUTES and, with KSS, the KSS
    /// fields were added; a v1 approval can never match a v2 digest).
    pub const MEASUREMENT_LABEL: &'static [u8] = b"keynet/measurement/sgx/v2";

    /// ATTRIBUTES.FLAGS.KSS (bit 7): Key Separation and Sharing enabled.
    pub fn kss(&self) -> bool {
        self.attributes.first().is_some_and(|b| b & 0x80 != 0)
    }

    /// `SHA-256("keynet/measurement/sgx/v2" || MRENCLAVE || MRSIGNER || ISVPRODID_be16 ||
    /// ISVSVN_be16 || ATTRIBUTES)`, and with KSS (ATTRIBUTES.FLAGS bit 7) also
    /// `|| CONFIGID || CONFIGSVN_be16 || ISVEXTPRODID || ISVFAMILYID`
    /// (docs/PROTOCOL.md). The KSS bit is inside ATTRIBUTES, so the two forms never
    /// collide.
    pub fn measurement(&self) -> Measurement {
        let prod = self.isv_prod_id.to_be_bytes();
        let svn = self.isv_svn.to_be_bytes();
        let config_svn = self.config_svn.to_be_bytes();
        let mut fields: Vec<&[u8]> = vec![
            &self.mrenclave,
            &self.mrsigner,
            &prod,
            &svn,
            &self.attributes,
        ];
        if self.kss() {
            fields.extend([
                &self.config_id[..],
                &config_svn[..],
                &self.isv_ext_prod_id[..],
                &self.isv_family_id[..],
            ]);
        }
        digest(Self::MEASUREMENT_LABEL, &fields)
    }

    /// ATTRIBUTES.FLAGS.DEBUG (bit 1).
    pub fn debug(&self) -> bool {
        self.attributes.first().is_some_and(|b| b & 2 == 2)
    }
}

/// Which AMD key signed an SEV-SNP report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnpSigner {
    /// Versioned Chip Endorsement Key (per chip and TCB).
    Vcek,
    /// Versioned Loaded Endorsement Key (per cloud provider).
    Vlek,
}

impl SnpSigner {
    /// `vcek` or `vlek`.
    pub fn as_str(self) -> &'static str {
        match self {
            SnpSigner::Vcek => "vcek",
            SnpSigner::Vlek => "vlek",
        }
    }
}

/// AMD SEV-SNP attestation report fields (SNP ABI, `ATTESTATION_REPORT`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SevSnpRaw {
    /// Launch measurement.
    pub measurement: [u8; 48],
    /// Data provided by the host at launch.
    pub host_data: [u8; 32],
    /// Chip identifier (all zero when signed by a VLEK).
    pub chip_id: [u8; 64],
    /// Guest policy; bit 19 is DEBUG.
    pub policy: u64,
    /// TCB version the report claims (bootloader, tee, snp, microcode bytes).
    pub reported_tcb: u64,
    /// Report format version.
    pub version: u32,
    /// VM privilege level that requested the report.
    pub vmpl: u32,
    /// ID key digest (zero when no ID block).
    pub id_key_digest: [u8; 48],
    /// Author key digest.
    pub author_key_digest: [u8; 48],
    /// The key that signed the report.
    pub signer: SnpSigner,
    /// The product line whose pinned ARK the endorsement key chains to; `None` only in
    /// unverified fields ([`crate::measure::measure_unverified`]).
    pub product_line: Option<ProductLine>,
}

impl SevSnpRaw {
    /// REPORTED_TCB split into its SPLs in the product line's layout; `None` if the
    /// line is unknown (unverified fields).
    pub fn reported_tcb_spls(&self) -> Option<SnpTcb> {
        self.product_line
            .map(|line| SnpTcb::decode(line, self.reported_tcb))
    }
}

impl SevSnpRaw {
    /// Domain label of the SEV-SNP measurement digest.
    pub const MEASUREMENT_LABEL: &'static [u8] = b"keynet/measurement/sev-snp/v1";

    /// `SHA-256("keynet/measurement/sev-snp/v1" || MEASUREMENT || HOST_DATA ||
    /// POLICY_le64 || VMPL_le32)` (docs/PROTOCOL.md).
    pub fn measurement(&self) -> Measurement {
        digest(
            Self::MEASUREMENT_LABEL,
            &[
                &self.measurement,
                &self.host_data,
                &self.policy.to_le_bytes(),
                &self.vmpl.to_le_bytes(),
            ],
        )
    }

    /// POLICY.DEBUG (bit 19).
    pub fn debug(&self) -> bool {
        self.policy & (1 << 19) != 0
    }
}

/// AWS Nitro attestation document fields, filled by the Nitro verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NitroRaw {
    /// PCR0: enclave image file.
    pub pcr0: Vec<u8>,
    /// PCR1: Linux kernel and bootstrap.
    pub pcr1: Vec<u8>,
    /// PCR2: application.
    pub pcr2: Vec<u8>,
    /// The enclave's module id.
    pub module_id: String,
    /// Optional user data (keynet puts the 64-byte report data here).
    pub user_data: Option<Vec<u8>>,
    /// Optional public key.
    pub public_key: Option<Vec<u8>>,
    /// Optional nonce.
    pub nonce: Option<Vec<u8>>,
}

impl NitroRaw {
    /// Builds the fields.
    pub fn new(
        pcr0: Vec<u8>,
        pcr1: Vec<u8>,
        pcr2: Vec<u8>,
        module_id: String,
        user_data: Option<Vec<u8>>,
        public_key: Option<Vec<u8>>,
        nonce: Option<Vec<u8>>,
    ) -> Self {
        NitroRaw {
            pcr0,
            pcr1,
            pcr2,
            module_id,
            user_data,
            public_key,
            nonce,
        }
    }

    /// Domain label of the Nitro measurement digest.
    pub const MEASUREMENT_LABEL: &'static [u8] = b"keynet/measurement/nitro/v1";

    /// `SHA-256("keynet/measurement/nitro/v1" || PCR0 || PCR1 || PCR2)` (each 48 bytes
    /// for SHA-384 documents).
    pub fn measurement(&self) -> Measurement {
        digest(
            Self::MEASUREMENT_LABEL,
            &[&self.pcr0, &self.pcr1, &self.pcr2],
        )
    }

    /// Debug-mode enclaves report PCR0, PCR1 and PCR2 as all zero.
    pub fn debug(&self) -> bool {
        [&self.pcr0, &self.pcr1, &self.pcr2]
            .iter()
            .all(|p| p.iter().all(|b| *b == 0))
    }
}

/// Simulated evidence fields, filled by the simulated verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatedRaw {
    /// The simulated vendor label (lets devnets exercise the diversity rule).
    pub vendor_label: String,
    /// The digest of the simulated image (stands in for a launch measurement).
    pub image: [u8; 32],
    /// Whether the simulated enclave claims debug mode.
    pub debug: bool,
}

impl SimulatedRaw {
    /// Builds the fields.
    pub fn new(vendor_label: String, image: [u8; 32], debug: bool) -> Self {
        SimulatedRaw {
            vendor_label,
            image,
            debug,
        }
    }

    /// Domain label of the simulated measurement digest.
    pub const MEASUREMENT_LABEL: &'static [u8] = b"keynet/measurement/simulated/v1";

    /// `SHA-256("keynet/measurement/simulated/v1" || image)`.
    pub fn measurement(&self) -> Measurement {
        digest(Self::MEASUREMENT_LABEL, &[&self.image])
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests;
