//! `/dev/sev-guest`: the SEV-SNP guest driver's `SNP_GET_REPORT` ioctl, through the
//! `sev` crate (virtee), which owns the ioctl and its `unsafe`.
//!
//! The `sev` crate opens the fixed path `/dev/sev-guest`, so this attester drives the
//! device only when the root is `/`; under any other root it checks that the device
//! file exists and then refuses with [`AttestError::Unsupported`] rather than open a
//! device outside the root. The report returned is checked by
//! [`super::tsm::check_report_data`] (length, our report data at offset 0x50).

use std::path::{Path, PathBuf};

use super::{AttestError, Attester, Evidence};
use crate::types::{Platform, ReportData};

/// The device, relative to the root.
pub const DEVICE: &str = "dev/sev-guest";

/// The VMPL the report is requested for. keynet runs its guest code at VMPL0 (no SVSM
/// between it and the firmware); a paravisor setup would need another value.
pub const VMPL: u32 = 0;

/// The `/dev/sev-guest` attester.
#[derive(Debug, Clone)]
pub struct SevGuest {
    root: PathBuf,
}

impl SevGuest {
    /// An attester for `<root>/dev/sev-guest`.
    pub fn new(root: &Path) -> Self {
        SevGuest {
            root: root.to_path_buf(),
        }
    }
}

impl Attester for SevGuest {
    fn platform(&self) -> Option<Platform> {
        Some(Platform::SevSnp)
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence, AttestError> {
        let device = self.root.join(DEVICE);
        if !device.exists() {
            return Err(AttestError::NoDevice(self.root.clone()));
        }
        if self.root != Path::new("/") {
            return Err(AttestError::Unsupported {
                what: "the sev crate opens /dev/sev-guest itself; only the root / is supported",
            });
        }
        let report = request_report(report_data)?;
        evidence_from_report(report, report_data)
    }
}

#[cfg(target_os = "linux")]
fn request_report(report_data: &ReportData) -> Result<Vec<u8>, AttestError> {
    let mut fw = sev::firmware::guest::Firmware::open().map_err(|source| AttestError::Io {
        what: "open",
        path: PathBuf::from("/").join(DEVICE),
        source,
    })?;
    fw.get_report(None, Some(report_data.0), Some(VMPL))
        .map_err(|e| AttestError::Device {
            what: format!("SNP_GET_REPORT: {e}"),
        })
}

#[cfg(not(target_os = "linux"))]
fn request_report(_report_data: &ReportData) -> Result<Vec<u8>, AttestError> {
    Err(AttestError::Unsupported {
        what: "/dev/sev-guest exists only on Linux",
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
#[allow(non_snake_case)]
mod tests {
    use super::*;

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
    fn attest__should_refuse_roots_other_than_slash() {
        let dir = tempfile::tempdir().unwrap();
        let a = SevGuest::new(dir.path());
        assert!(matches!(
            a.attest(&ReportData([0; 64])),
            Err(AttestError::NoDevice(_))
        ));
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        std::fs::write(dir.path().join(DEVICE), b"").unwrap();
        assert!(matches!(
            a.attest(&ReportData([0; 64])),
            Err(AttestError::Unsupported { .. })
        ));
    }
}
