//! Attesters: produce evidence on the running platform (DESIGN §5), behind the
//! `attester` feature. Verifiers never import this module.
//!
//! Every attester takes the **device root** as an argument (`/` in production), so tests
//! run against fake directory trees:
//!
//! | attester | device under the root | produces |
//! |---|---|---|
//! | [`tsm::ConfigfsTsm`] | `sys/kernel/config/tsm/report` (Linux ≥ 6.7) | TDX quote or SEV-SNP report, per the kernel's `provider` |
//! | [`sev_guest::SevGuest`] | `dev/sev-guest` (`SNP_GET_EXT_REPORT` / `SNP_GET_REPORT`) | SEV-SNP report (+ the host's certificate table) |
//! | [`tdx_guest::TdxGuest`] | `dev/tdx_guest` (`TDX_CMD_GET_REPORT0`) + the host's QGS through a caller-given [`tdx_guest::QuoteTransport`] | TDX quote |
//! | [`nsm::Nsm`] | `dev/nsm` | Nitro attestation document |
//! | [`crate::simulated::SimulatedAttester`] | none | simulated evidence |
//!
//! The `/dev/tdx_guest` and `/dev/sev-guest` ioctls are issued by the crate's one module
//! with `unsafe` code, `attest/ioctl.rs` (Linux x86_64 only; elsewhere these attesters
//! return [`AttestError::Unsupported`]).
//!
//! What is and is not tested on real hardware: docs/ATTESTERS.md.

pub mod cert_table;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod ioctl;
pub mod nsm;
pub mod qgs;
pub mod sev_guest;
pub mod tdx_guest;
pub mod tsm;

use std::path::{Path, PathBuf};

use crate::collateral::Collateral;
pub use crate::evidence::Evidence;
use crate::types::{Platform, ReportData};

impl Evidence {
    /// The collateral that came with the evidence, named as [`Collateral`] expects: for
    /// SEV-SNP, the VCEK (`vcek.der`) or VLEK (`vlek.der`) from the host's certificate
    /// table in [`Evidence::aux`]. Empty when the platform returned none; the caller
    /// then fetches it (AMD KDS) or, for TDX, uses a PCCS.
    pub fn collateral(&self) -> Result<Collateral, AttestError> {
        let mut c = Collateral::new();
        if let (Platform::SevSnp, Some(aux)) = (self.platform, &self.aux) {
            for entry in cert_table::parse(aux)? {
                match entry.guid {
                    cert_table::VCEK_GUID => c.insert("vcek.der", entry.data),
                    cert_table::VLEK_GUID => c.insert("vlek.der", entry.data),
                    _ => {}
                }
            }
        }
        Ok(c)
    }
}

/// Why an attester could not produce evidence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttestError {
    /// No supported attestation device exists under the root.
    #[error("no attestation device under {0}")]
    NoDevice(PathBuf),

    /// A file operation on the device failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The operation.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },

    /// configfs-tsm: another writer changed the report entry while we used it (the
    /// `generation` counter moved), so the outblob may not be ours.
    #[error("configfs-tsm report generation changed from {before} to {after}")]
    GenerationChanged {
        /// Generation after our writes.
        before: u64,
        /// Generation after reading the outblob.
        after: u64,
    },

    /// The device returned something this crate does not accept.
    #[error("unexpected device response: {what}")]
    UnexpectedResponse {
        /// What was wrong.
        what: &'static str,
    },

    /// The device (or its firmware) reported an error.
    #[error("the device reported an error: {what}")]
    Device {
        /// The device's error, by name.
        what: String,
    },

    /// The device exists but this build cannot drive it.
    #[error("unsupported: {what}")]
    Unsupported {
        /// Why.
        what: &'static str,
    },

    /// The device file does not exist (`ENOENT`).
    #[error("{path}: no such device")]
    DeviceNotFound {
        /// The device file.
        path: PathBuf,
    },

    /// Opening or driving the device was refused (`EACCES` or `EPERM`): the process lacks
    /// access to it.
    #[error("{path}: permission denied ({op})")]
    PermissionDenied {
        /// The device file.
        path: PathBuf,
        /// The operation (`open` or the ioctl's name).
        op: &'static str,
    },

    /// The file does not understand the request (`ENOTTY`): a regular file, or a device
    /// of another driver, not the TEE guest device.
    #[error("{path} is not a TEE guest device ({request} is not supported there)")]
    NotATeeDevice {
        /// The file.
        path: PathBuf,
        /// The ioctl.
        request: &'static str,
    },

    /// TDX: `TDX_CMD_GET_REPORT0` failed with `EIO`, i.e. TDCALL[TDG.MR.REPORT] failed (the
    /// uapi returns no further code).
    #[error("{path}: TDCALL[TDG.MR.REPORT] failed")]
    TdcallFailed {
        /// The device file.
        path: PathBuf,
    },

    /// SEV-SNP: the guest request failed with `EIO`; the codes are the kernel's
    /// `exitinfo2` (bits 0-31 firmware error, 32-63 VMM error).
    #[error(
        "{path}: SEV-SNP guest request failed: firmware error {fw_error:#x} ({fw}), VMM error {vmm_error:#x} ({vmm})",
        fw = sev_guest::status_name(*fw_error),
        vmm = sev_guest::vmm_error_name(*vmm_error)
    )]
    SnpGuestRequest {
        /// The device file.
        path: PathBuf,
        /// Firmware error (`sev_ret_code`).
        fw_error: u32,
        /// VMM error (`SNP_GUEST_VMM_ERR_*`).
        vmm_error: u32,
    },

    /// SEV-SNP: `/dev/sev-guest` refused the request with `ENOTTY` after writing
    /// `exitinfo2` back, which only the sev-guest driver does: it has disabled its VMPCK
    /// (it wipes the key after a failed guest request, to avoid AES-GCM IV reuse) and
    /// refuses every guest request until the guest reboots. Kernels that check the key
    /// before writing `exitinfo2` back report this as [`AttestError::NotATeeDevice`].
    #[error("{path}: the sev-guest driver has disabled its VMPCK after an earlier failed request (exitinfo2 {exitinfo2:#x}); guest requests need a reboot")]
    SnpVmpckDisabled {
        /// The device file.
        path: PathBuf,
        /// The `exitinfo2` the driver wrote back.
        exitinfo2: u64,
    },

    /// SEV-SNP: the firmware answered the report request with a non-zero status in
    /// `MSG_REPORT_RSP`.
    #[error("SEV-SNP firmware report status {status:#x} ({name})", name = sev_guest::status_name(*status))]
    SnpReportStatus {
        /// `MSG_REPORT_RSP.status`.
        status: u32,
    },

    /// SEV-SNP: the firmware answered the derived-key request with a non-zero status in
    /// `MSG_KEY_RSP` (e.g. `INVALID_PARAM` for a VMPL below the caller's).
    #[error("SEV-SNP firmware derived-key status {status:#x} ({name})", name = sev_guest::status_name(*status))]
    SnpKeyStatus {
        /// `MSG_KEY_RSP.status`.
        status: u32,
    },

    /// TDX: the QGS response does not decode.
    #[error("malformed QGS response: {0}")]
    QgsMalformed(#[from] qgs::Malformed),

    /// TDX: the QGS answered with an error code.
    #[error("the TDX quote generation service answered error {code:#x} ({name})", name = qgs::error_name(*code))]
    QgsService {
        /// `qgs_msg_header_t.error_code`.
        code: u32,
    },

    /// TDX: the transport to the QGS failed.
    #[error("QGS transport: {0}")]
    QgsTransport(#[source] std::io::Error),
}

/// Produces evidence bound to 64 bytes of report data.
pub trait Attester {
    /// The platform, when known before attesting (configfs-tsm learns it from the
    /// kernel's `provider` file).
    fn platform(&self) -> Option<Platform>;

    /// Evidence whose report data (Nitro: `user_data`) is exactly `report_data`.
    fn attest(&self, report_data: &ReportData) -> Result<Evidence, AttestError>;
}

/// What [`detect`] found under a root, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detected {
    /// `sys/kernel/config/tsm/report` (TDX or SEV-SNP; quotes for TDX).
    ConfigfsTsm,
    /// `dev/sev-guest`.
    SevGuest,
    /// `dev/nsm`.
    Nsm,
    /// `dev/tdx_guest` (or `dev/tdx-guest`) without configfs-tsm: quotes need the host's
    /// QGS, through [`tdx_guest::TdxGuest`] and a transport the caller supplies.
    TdxGuestOnly,
}

/// Which attestation device exists under `root`. configfs-tsm is preferred over the
/// per-vendor devices because it is the kernel's common interface and, for TDX, the
/// kernel then fetches the quote itself (no QGS transport in the application).
pub fn detect(root: &Path) -> Option<Detected> {
    if root.join(tsm::REPORT_DIR).is_dir() {
        return Some(Detected::ConfigfsTsm);
    }
    if root.join(sev_guest::DEVICE).exists() {
        return Some(Detected::SevGuest);
    }
    if root.join(nsm::DEVICE).exists() {
        return Some(Detected::Nsm);
    }
    if tdx_guest::DEVICES.iter().any(|d| root.join(d).exists()) {
        return Some(Detected::TdxGuestOnly);
    }
    None
}

/// The attester for whatever device exists under `root` ([`detect`]).
pub fn auto(root: &Path) -> Result<Box<dyn Attester>, AttestError> {
    match detect(root) {
        Some(Detected::ConfigfsTsm) => Ok(Box::new(tsm::ConfigfsTsm::new(root))),
        Some(Detected::SevGuest) => Ok(Box::new(sev_guest::SevGuest::new(root))),
        Some(Detected::Nsm) => Ok(Box::new(nsm::Nsm::new(root))),
        Some(Detected::TdxGuestOnly) => Err(AttestError::Unsupported {
            what: "TDX without configfs-tsm: /dev/tdx_guest gives only a local TDREPORT; \
                   use attest::tdx_guest::TdxGuest with a QGS transport, or a kernel with \
                   CONFIG_TSM_REPORTS",
        }),
        None => Err(AttestError::NoDevice(root.to_path_buf())),
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn detect__should_find_nothing_in_an_empty_root() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(detect(dir.path()), None);
        assert!(matches!(auto(dir.path()), Err(AttestError::NoDevice(_))));
    }

    #[test]
    fn detect__should_prefer_configfs_tsm() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        std::fs::write(dir.path().join("dev/sev-guest"), b"").unwrap();
        assert_eq!(detect(dir.path()), Some(Detected::SevGuest));
        std::fs::create_dir_all(dir.path().join(tsm::REPORT_DIR)).unwrap();
        assert_eq!(detect(dir.path()), Some(Detected::ConfigfsTsm));
    }

    #[test]
    fn auto__should_refuse_tdx_guest_alone_and_pick_nsm() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        std::fs::write(dir.path().join("dev/tdx_guest"), b"").unwrap();
        assert_eq!(detect(dir.path()), Some(Detected::TdxGuestOnly));
        assert!(matches!(
            auto(dir.path()),
            Err(AttestError::Unsupported { .. })
        ));
        std::fs::write(dir.path().join("dev/nsm"), b"").unwrap();
        let a = auto(dir.path()).unwrap();
        assert_eq!(a.platform(), Some(Platform::Nitro));
    }
}
