//! `/dev/sev-guest` (Linux `include/uapi/linux/sev-guest.h`): the SEV-SNP guest driver's
//! `SNP_GET_EXT_REPORT` (report plus the host's certificate table) or `SNP_GET_REPORT`,
//! issued by the crate's one `unsafe` module (`src/attest/ioctl.rs`) on
//! `<root>/dev/sev-guest`.
//!
//! The request is `struct snp_report_req { user_data[64]; u32 vmpl; rsvd[28] }`. The
//! driver returns the firmware's `MSG_REPORT_RSP` (SEV-SNP firmware ABI, "MSG_REPORT_RSP
//! message structure"; the kernel's `struct snp_msg_report_resp_hdr`) in
//! `struct snp_report_resp { data[4000] }`:
//!
//! ```text
//! 0x00 u32 status        0 = success, 0x16 INVALID_PARAM, 0x27 INVALID_KEY
//! 0x04 u32 report_size   0x4a0
//! 0x08 rsvd[24]
//! 0x20 report[report_size]
//! ```
//!
//! The report is checked by [`super::tsm::check_report_data`] (our report data at 0x50).
//!
//! [`SevGuest::derived_key`] asks the firmware for a key derived from a chip root key
//! (`SNP_GET_DERIVED_KEY`, firmware message `MSG_KEY_REQ`), with the guest fields the
//! request selects (measurement, policy, …) mixed in. The request is
//! `struct snp_derived_key_req` ([`DerivedKeyRequest::encode`]):
//!
//! ```text
//! 0x00 u32 root_key_select     bit 0: 0 = VCEK, 1 = VMRK; other bits 0
//! 0x04 u32 reserved
//! 0x08 u64 guest_field_select  bit 0 policy, 1 image id, 2 family id, 3 measurement,
//!                              4 guest svn, 5 tcb version (GUEST_FIELD_* below)
//! 0x10 u32 vmpl                ≥ the caller's VMPL
//! 0x14 u32 guest_svn
//! 0x18 u64 tcb_version
//! ```
//!
//! and the answer `MSG_KEY_RSP` in `struct snp_derived_key_resp { data[64] }`
//! ([`parse_derived_key_rsp`]): `0x00 u32 status`, `0x04 rsvd[28]`, `0x20 key[32]`.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{cert_table, AttestError, Attester, Evidence};
use crate::types::{Platform, ReportData};

/// The device, relative to the root.
pub const DEVICE: &str = "dev/sev-guest";

/// The VMPL the report is requested for. keynet runs its guest code at VMPL0 (no SVSM
/// between it and the firmware); a paravisor setup would need another value.
pub const VMPL: u32 = 0;

/// The guest message version passed to the driver (`msg_version`, must be non-zero; the
/// kernel's own configfs-tsm path uses 1).
pub const MSG_VERSION: u8 = 1;

/// `sizeof(struct snp_report_req)`.
pub const REPORT_REQ_LEN: usize = 96;
/// `sizeof(struct snp_report_resp)`.
pub const REPORT_RESP_LEN: usize = 4000;
/// Size of the `MSG_REPORT_RSP` header before the report.
pub const REPORT_RSP_HEADER_LEN: usize = 32;

/// `struct snp_report_req` for `report_data` at `vmpl`, reserved bytes zero.
pub fn encode_report_req(report_data: &ReportData, vmpl: u32) -> [u8; REPORT_REQ_LEN] {
    let mut req = [0u8; REPORT_REQ_LEN];
    let (user_data, rest) = req.split_at_mut(64);
    user_data.copy_from_slice(report_data.as_bytes());
    if let Some((v, _)) = rest.split_first_chunk_mut::<4>() {
        *v = vmpl.to_le_bytes();
    }
    req
}

/// The name of a `MSG_REPORT_RSP` status or SEV firmware error code
/// (`include/uapi/linux/psp-sev.h`, `sev_ret_code`).
pub fn status_name(code: u32) -> &'static str {
    match code {
        0x00 => "SUCCESS",
        0x01 => "INVALID_PLATFORM_STATE",
        0x02 => "INVALID_GUEST_STATE",
        0x03 => "INVALID_CONFIG",
        0x04 => "INVALID_LEN",
        0x05 => "ALREADY_OWNED",
        0x06 => "INVALID_CERTIFICATE",
        0x07 => "POLICY_FAILURE",
        0x08 => "INACTIVE",
        0x09 => "INVALID_ADDRESS",
        0x0a => "BAD_SIGNATURE",
        0x0b => "BAD_MEASUREMENT",
        0x0c => "ASID_OWNED",
        0x0d => "INVALID_ASID",
        0x0e => "WBINVD_REQUIRED",
        0x0f => "DFFLUSH_REQUIRED",
        0x10 => "INVALID_GUEST",
        0x11 => "INVALID_COMMAND",
        0x12 => "ACTIVE",
        0x13 => "HWSEV_RET_PLATFORM",
        0x14 => "HWSEV_RET_UNSAFE",
        0x15 => "UNSUPPORTED",
        0x16 => "INVALID_PARAM",
        0x17 => "RESOURCE_LIMIT",
        0x18 => "SECURE_DATA_INVALID",
        0x27 => "INVALID_KEY",
        0xffff_ffff => "NO_FW_CALL (the request never reached the firmware)",
        _ => "unknown",
    }
}

/// The name of the VMM error in `exitinfo2` bits 32-63 (`SNP_GUEST_VMM_ERR_*`).
pub fn vmm_error_name(code: u32) -> &'static str {
    match code {
        0 => "none",
        1 => "INVALID_LEN (certificate buffer too small)",
        2 => "BUSY",
        _ => "unknown",
    }
}

/// The report inside the driver's response buffer (`MSG_REPORT_RSP`): status must be 0
/// (else [`AttestError::SnpReportStatus`]) and the report exactly 1184 bytes inside the
/// buffer.
pub fn parse_report_rsp(resp: &[u8]) -> Result<&[u8], AttestError> {
    let bad = |what| AttestError::UnexpectedResponse { what };
    let (header, body) = resp
        .split_first_chunk::<REPORT_RSP_HEADER_LEN>()
        .ok_or(bad("SEV-SNP MSG_REPORT_RSP shorter than its header"))?;
    let (status, rest) = header
        .split_first_chunk::<4>()
        .ok_or(bad("SEV-SNP MSG_REPORT_RSP shorter than its header"))?;
    let (size, _) = rest
        .split_first_chunk::<4>()
        .ok_or(bad("SEV-SNP MSG_REPORT_RSP shorter than its header"))?;
    let status = u32::from_le_bytes(*status);
    if status != 0 {
        return Err(AttestError::SnpReportStatus { status });
    }
    let size = usize::try_from(u32::from_le_bytes(*size))
        .map_err(|_| bad("SEV-SNP report_size does not fit"))?;
    if size != super::tsm::SNP_REPORT_LEN {
        return Err(bad("SEV-SNP MSG_REPORT_RSP report_size is not 1184"));
    }
    body.get(..size)
        .ok_or(bad("SEV-SNP report_size exceeds the response buffer"))
}

/// `sizeof(struct snp_derived_key_req)`.
pub const DERIVED_KEY_REQ_LEN: usize = 32;
/// `sizeof(struct snp_derived_key_resp)`.
pub const DERIVED_KEY_RESP_LEN: usize = 64;

/// `GUEST_FIELD_SELECT` bit: mix the guest policy into the key.
pub const GUEST_FIELD_POLICY: u64 = 1 << 0;
/// `GUEST_FIELD_SELECT` bit: mix the image id (ID block) into the key.
pub const GUEST_FIELD_IMAGE_ID: u64 = 1 << 1;
/// `GUEST_FIELD_SELECT` bit: mix the family id (ID block) into the key.
pub const GUEST_FIELD_FAMILY_ID: u64 = 1 << 2;
/// `GUEST_FIELD_SELECT` bit: mix the launch measurement into the key.
pub const GUEST_FIELD_MEASUREMENT: u64 = 1 << 3;
/// `GUEST_FIELD_SELECT` bit: mix the request's `guest_svn` into the key.
pub const GUEST_FIELD_GUEST_SVN: u64 = 1 << 4;
/// `GUEST_FIELD_SELECT` bit: mix the request's `tcb_version` into the key.
pub const GUEST_FIELD_TCB_VERSION: u64 = 1 << 5;

/// The root key a derived key comes from (`ROOT_KEY_SELECT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootKey {
    /// The chip's VCEK: the key is bound to this chip.
    Vcek,
    /// The VM root key a migration agent installed at launch.
    Vmrk,
}

/// A `MSG_KEY_REQ`: which root key, and what the firmware mixes into the derived key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedKeyRequest {
    /// The root key.
    pub root_key: RootKey,
    /// `GUEST_FIELD_*` bits.
    pub guest_field_select: u64,
    /// The VMPL mixed in; must be at least the caller's.
    pub vmpl: u32,
    /// The guest SVN mixed in (with [`GUEST_FIELD_GUEST_SVN`]); at most the ID block's.
    pub guest_svn: u32,
    /// The TCB version mixed in (with [`GUEST_FIELD_TCB_VERSION`]); at most the
    /// committed TCB.
    pub tcb_version: u64,
}

impl DerivedKeyRequest {
    /// `struct snp_derived_key_req`, little-endian, reserved bytes zero.
    pub fn encode(&self) -> [u8; DERIVED_KEY_REQ_LEN] {
        let root: u32 = match self.root_key {
            RootKey::Vcek => 0,
            RootKey::Vmrk => 1,
        };
        let mut out = [0u8; DERIVED_KEY_REQ_LEN];
        let parts: [&[u8]; 6] = [
            &root.to_le_bytes(),
            &[0; 4],
            &self.guest_field_select.to_le_bytes(),
            &self.vmpl.to_le_bytes(),
            &self.guest_svn.to_le_bytes(),
            &self.tcb_version.to_le_bytes(),
        ];
        let mut rest = out.as_mut_slice();
        for part in parts {
            let (dst, tail) = rest.split_at_mut(part.len());
            dst.copy_from_slice(part);
            rest = tail;
        }
        out
    }
}

/// The derived key inside the driver's response (`MSG_KEY_RSP`): status must be 0
/// (else [`AttestError::SnpKeyStatus`]). The key is returned in a buffer wiped on drop.
pub fn parse_derived_key_rsp(
    resp: &[u8; DERIVED_KEY_RESP_LEN],
) -> Result<Zeroizing<[u8; 32]>, AttestError> {
    let (status, rest) = resp
        .split_first_chunk::<4>()
        .ok_or(AttestError::UnexpectedResponse {
            what: "SEV-SNP MSG_KEY_RSP shorter than its header",
        })?;
    let status = u32::from_le_bytes(*status);
    if status != 0 {
        return Err(AttestError::SnpKeyStatus { status });
    }
    let key = rest
        .get(28..60)
        .and_then(|k| <&[u8; 32]>::try_from(k).ok())
        .ok_or(AttestError::UnexpectedResponse {
            what: "SEV-SNP MSG_KEY_RSP shorter than its key",
        })?;
    Ok(Zeroizing::new(*key))
}

/// The `/dev/sev-guest` attester.
#[derive(Debug, Clone)]
pub struct SevGuest {
    root: PathBuf,
    certificates: bool,
}

impl SevGuest {
    /// An attester for `<root>/dev/sev-guest` that asks for the host's certificate table
    /// too (`SNP_GET_EXT_REPORT`, into [`Evidence::aux`]).
    pub fn new(root: &Path) -> Self {
        SevGuest {
            root: root.to_path_buf(),
            certificates: true,
        }
    }

    /// Uses `SNP_GET_REPORT` (no certificate table), for hosts that do not implement the
    /// extended guest request.
    pub fn without_certificates(mut self) -> Self {
        self.certificates = false;
        self
    }

    /// The device path.
    pub fn device(&self) -> PathBuf {
        self.root.join(DEVICE)
    }

    /// A key derived by the firmware for `request` (`SNP_GET_DERIVED_KEY`).
    ///
    /// # Security
    ///
    /// The key is secret: it comes back (and the driver's response buffer is wiped) in
    /// [`Zeroizing`] buffers; never log it.
    pub fn derived_key(
        &self,
        request: &DerivedKeyRequest,
    ) -> Result<Zeroizing<[u8; 32]>, AttestError> {
        let resp = derived_key_request(&self.device(), &request.encode())?;
        parse_derived_key_rsp(&resp)
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn derived_key_request(
    path: &Path,
    req: &[u8; DERIVED_KEY_REQ_LEN],
) -> Result<Zeroizing<[u8; DERIVED_KEY_RESP_LEN]>, AttestError> {
    super::ioctl::snp_get_derived_key(path, req, MSG_VERSION)
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn derived_key_request(
    _path: &Path,
    _req: &[u8; DERIVED_KEY_REQ_LEN],
) -> Result<Zeroizing<[u8; DERIVED_KEY_RESP_LEN]>, AttestError> {
    Err(AttestError::Unsupported {
        what: "/dev/sev-guest exists only on Linux x86_64",
    })
}

impl Attester for SevGuest {
    fn platform(&self) -> Option<Platform> {
        Some(Platform::SevSnp)
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence, AttestError> {
        let req = encode_report_req(report_data, VMPL);
        let (resp, certs) = request(&self.device(), &req, self.certificates)?;
        let report = parse_report_rsp(&resp)?;
        let mut evidence = evidence_from_report(report.to_vec(), report_data)?;
        evidence.aux = certs.and_then(|c| certificate_table(&c));
        Ok(evidence)
    }
}

/// The certificate table the host wrote, cut to the bytes its entries use; `None` when the
/// host wrote none (the buffer starts with the terminating entry). A table that does not
/// parse is kept whole, so [`Evidence::collateral`] reports it.
pub fn certificate_table(buf: &[u8]) -> Option<Vec<u8>> {
    if buf.iter().take(24).all(|b| *b == 0) {
        return None;
    }
    let len = cert_table::used_len(buf).unwrap_or(buf.len());
    buf.get(..len).map(<[u8]>::to_vec)
}

type ReportOutput = (Vec<u8>, Option<Vec<u8>>);

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn request(
    path: &Path,
    req: &[u8; REPORT_REQ_LEN],
    certs: bool,
) -> Result<ReportOutput, AttestError> {
    let out = super::ioctl::snp_get_report(path, req, MSG_VERSION, certs)?;
    Ok((out.resp.to_vec(), out.certs))
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn request(
    _path: &Path,
    _req: &[u8; REPORT_REQ_LEN],
    _certs: bool,
) -> Result<ReportOutput, AttestError> {
    Err(AttestError::Unsupported {
        what: "/dev/sev-guest exists only on Linux x86_64",
    })
}

/// Checks the firmware's report (1184 bytes, our report data) and wraps it.
pub fn evidence_from_report(
    report: Vec<u8>,
    report_data: &ReportData,
) -> Result<Evidence, AttestError> {
    if report.len() != super::tsm::SNP_REPORT_LEN {
        return Err(AttestError::UnexpectedResponse {
            what: "SEV-SNP report is not 1184 bytes",
        });
    }
    super::tsm::check_report_data(Platform::SevSnp, &report, report_data)?;
    Ok(Evidence {
        platform: Platform::SevSnp,
        bytes: report,
        aux: None,
    })
}

#[cfg(test)]
#[allow(non_snake_case, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn rsp(status: u32, size: u32, report: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; REPORT_RESP_LEN];
        r[..4].copy_from_slice(&status.to_le_bytes());
        r[4..8].copy_from_slice(&size.to_le_bytes());
        r[32..32 + report.len()].copy_from_slice(report);
        r
    }

    #[test]
    fn encode_report_req__should_follow_snp_report_req() {
        let req = encode_report_req(&ReportData([9; 64]), 2);
        assert_eq!(&req[..64], &[9; 64]);
        assert_eq!(&req[64..68], &[2, 0, 0, 0]);
        assert!(req[68..].iter().all(|b| *b == 0));
    }

    #[test]
    fn parse_report_rsp__should_return_the_report_or_the_status() {
        let report: Vec<u8> = (0..1184u32).map(|i| i as u8).collect();
        assert_eq!(
            parse_report_rsp(&rsp(0, 1184, &report)).unwrap(),
            &report[..]
        );
        let e = parse_report_rsp(&rsp(0x16, 0, &[])).unwrap_err();
        assert!(matches!(e, AttestError::SnpReportStatus { status: 0x16 }));
        assert!(e.to_string().contains("INVALID_PARAM"), "{e}");
        assert!(matches!(
            parse_report_rsp(&rsp(0x27, 0, &[])),
            Err(AttestError::SnpReportStatus { status: 0x27 })
        ));
        for size in [0, 1183, 1185, u32::MAX] {
            assert!(matches!(
                parse_report_rsp(&rsp(0, size, &report)),
                Err(AttestError::UnexpectedResponse { .. })
            ));
        }
        // A truncated buffer: the report would run past its end.
        assert!(parse_report_rsp(&rsp(0, 1184, &report)[..1200]).is_err());
        assert!(parse_report_rsp(&[0; 31]).is_err());
    }

    #[test]
    fn evidence_from_report__should_check_length_and_report_data() {
        let rd = ReportData([9; 64]);
        let mut report = vec![0u8; 1184];
        report[0x50..0x90].copy_from_slice(&rd.0);
        let ev = evidence_from_report(report.clone(), &rd).unwrap();
        assert_eq!(ev.platform, Platform::SevSnp);
        assert!(evidence_from_report(report[..1183].to_vec(), &rd).is_err());
        report[0x8f] ^= 1;
        assert!(evidence_from_report(report, &rd).is_err());
    }

    #[test]
    fn derived_key_request__should_follow_snp_derived_key_req() {
        let req = DerivedKeyRequest {
            root_key: RootKey::Vmrk,
            guest_field_select: GUEST_FIELD_POLICY | GUEST_FIELD_MEASUREMENT,
            vmpl: 2,
            guest_svn: 0x0102_0304,
            tcb_version: 0x1122_3344_5566_7788,
        };
        assert_eq!(
            hex::encode(req.encode()),
            concat!(
                "01000000",         // root_key_select = VMRK
                "00000000",         // reserved
                "0900000000000000", // guest_field_select: policy | measurement
                "02000000",         // vmpl
                "04030201",         // guest_svn
                "8877665544332211", // tcb_version
            )
        );
        let vcek = DerivedKeyRequest {
            root_key: RootKey::Vcek,
            ..req
        };
        assert_eq!(&vcek.encode()[..4], &[0; 4]);
    }

    #[test]
    fn parse_derived_key_rsp__should_return_the_key_or_the_status() {
        let mut rsp = [0u8; DERIVED_KEY_RESP_LEN];
        for (i, b) in rsp[32..].iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        let key = parse_derived_key_rsp(&rsp).unwrap();
        assert_eq!(&key[..], &rsp[32..]);
        rsp[..4].copy_from_slice(&0x16u32.to_le_bytes());
        let e = parse_derived_key_rsp(&rsp).unwrap_err();
        assert!(
            matches!(e, AttestError::SnpKeyStatus { status: 0x16 }),
            "{e:?}"
        );
        assert!(e.to_string().contains("INVALID_PARAM"), "{e}");
        // The error never carries the key bytes.
        assert!(!format!("{e:?}").contains("0x1, 0x2"), "{e:?}");
    }

    #[test]
    fn derived_key__should_report_a_missing_device() {
        let dir = tempfile::tempdir().unwrap();
        let e = SevGuest::new(dir.path())
            .derived_key(&DerivedKeyRequest {
                root_key: RootKey::Vcek,
                guest_field_select: GUEST_FIELD_MEASUREMENT,
                vmpl: 0,
                guest_svn: 0,
                tcb_version: 0,
            })
            .unwrap_err();
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert!(matches!(e, AttestError::DeviceNotFound { .. }), "{e:?}");
        } else {
            assert!(matches!(e, AttestError::Unsupported { .. }), "{e:?}");
        }
    }

    #[test]
    fn certificate_table__should_cut_to_the_entries_and_skip_empty_tables() {
        assert_eq!(certificate_table(&[0; 4096]), None);
        let table = cert_table::encode(&[cert_table::CertEntry {
            guid: cert_table::VCEK_GUID,
            data: b"vcek".to_vec(),
        }])
        .unwrap();
        let mut buf = table.clone();
        buf.resize(16 * 1024, 0);
        assert_eq!(certificate_table(&buf), Some(table));
    }
}
