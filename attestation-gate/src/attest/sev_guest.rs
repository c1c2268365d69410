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

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::path::{Path, PathBuf};

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
