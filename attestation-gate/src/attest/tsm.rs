//! Linux configfs-tsm report interface (kernel ≥ 6.7,
//! `Documentation/ABI/testing/configfs-tsm-report`): one directory per report under
//! `/sys/kernel/config/tsm/report/`, with `inblob` (write up to 64 bytes of report
//! data), `outblob` (read: the TDX quote or SEV-SNP report), `auxblob` (SEV-SNP
//! certificate table, optional), `provider` (`tdx_guest` or `sev_guest`) and
//! `generation` (incremented on every write to the entry).
//!
//! Entries can be shared between processes; the ABI's answer to concurrent writers is
//! `generation`: the outblob belongs to our inblob only if the generation read after our
//! write equals the one read after the outblob. We check that, and also that the report
//! data inside the outblob is ours.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{AttestError, Attester, Evidence};
use crate::types::{Platform, ReportData};

/// The report directory, relative to the device root.
pub const REPORT_DIR: &str = "sys/kernel/config/tsm/report";

/// Largest outblob or auxblob accepted (TDX quotes with certification data are ~5-8 KiB,
/// SNP certificate tables a few KiB).
pub const MAX_BLOB_LEN: u64 = 64 * 1024;

static NEXT_ENTRY: AtomicU64 = AtomicU64::new(0);

/// The configfs-tsm attester.
#[derive(Debug, Clone)]
pub struct ConfigfsTsm {
    root: PathBuf,
    entry_name: Option<String>,
}

impl ConfigfsTsm {
    /// An attester using `<root>/sys/kernel/config/tsm/report`.
    pub fn new(root: &Path) -> Self {
        ConfigfsTsm {
            root: root.to_path_buf(),
            entry_name: None,
        }
    }

    /// Uses the entry `name` instead of a fresh `keynet-<pid>-<n>`. An existing entry is
    /// reused (the ABI allows sharing; the generation check guards it) and left in place.
    pub fn with_entry_name(mut self, name: &str) -> Self {
        self.entry_name = Some(name.to_owned());
        self
    }

    fn entry_path(&self) -> PathBuf {
        let name = self.entry_name.clone().unwrap_or_else(|| {
            let n = NEXT_ENTRY.fetch_add(1, Ordering::Relaxed);
            format!("keynet-{}-{n}", std::process::id())
        });
        self.root.join(REPORT_DIR).join(name)
    }
}

impl Attester for ConfigfsTsm {
    fn platform(&self) -> Option<Platform> {
        None
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence, AttestError> {
        let entry = self.entry_path();
        let created = match std::fs::create_dir(&entry) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(source) => {
                return Err(AttestError::Io {
                    what: "create report entry",
                    path: entry,
                    source,
                })
            }
        };
        let result = attest_in(&entry, report_data);
        if created {
            // configfs removes the attribute files with the directory. A failure leaves
            // a stale entry behind, which is harmless: the next attempt uses a new name.
            let _ = std::fs::remove_dir(&entry);
        }
        result
    }
}

/// The report protocol inside an existing entry directory.
fn attest_in(entry: &Path, report_data: &ReportData) -> Result<Evidence, AttestError> {
    write(entry, "inblob", report_data.as_bytes())?;
    let before = parse_generation(&read(entry, "generation", 64)?)?;
    let platform = parse_provider(&read(entry, "provider", 64)?)?;
    let outblob = read(entry, "outblob", MAX_BLOB_LEN)?;
    let aux = match read(entry, "auxblob", MAX_BLOB_LEN) {
        Ok(b) if !b.is_empty() => Some(b),
        Ok(_) => None,
        Err(AttestError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            None
        }
        Err(e) => return Err(e),
    };
    let after = parse_generation(&read(entry, "generation", 64)?)?;
    check_generation(before, after)?;
    check_report_data(platform, &outblob, report_data)?;
    Ok(Evidence {
        platform,
        bytes: outblob,
        aux,
    })
}

fn write(entry: &Path, name: &str, bytes: &[u8]) -> Result<(), AttestError> {
    let path = entry.join(name);
    std::fs::write(&path, bytes).map_err(|source| AttestError::Io {
        what: "write",
        path,
        source,
    })
}

fn read(entry: &Path, name: &str, max: u64) -> Result<Vec<u8>, AttestError> {
    use std::io::Read;
    let path = entry.join(name);
    let io = |what, source| AttestError::Io {
        what,
        path: path.clone(),
        source,
    };
    let file = std::fs::File::open(&path).map_err(|e| io("open", e))?;
    let mut out = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| io("read", e))?;
    if u64::try_from(out.len()).map_or(true, |n| n > max) {
        return Err(AttestError::UnexpectedResponse {
            what: "configfs-tsm blob larger than the limit",
        });
    }
    Ok(out)
}

/// `generation` is a decimal counter followed by a newline.
pub fn parse_generation(bytes: &[u8]) -> Result<u64, AttestError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or(AttestError::UnexpectedResponse {
            what: "configfs-tsm generation is not a decimal number",
        })
}

/// The outblob is ours only if nobody wrote to the entry between our write and our read.
pub fn check_generation(before: u64, after: u64) -> Result<(), AttestError> {
    if before == after {
        Ok(())
    } else {
        Err(AttestError::GenerationChanged { before, after })
    }
}

/// `provider` names the kernel driver: `tdx_guest` or `sev_guest`.
pub fn parse_provider(bytes: &[u8]) -> Result<Platform, AttestError> {
    match std::str::from_utf8(bytes).map(str::trim) {
        Ok("tdx_guest") => Ok(Platform::Tdx),
        Ok("sev_guest") => Ok(Platform::SevSnp),
        _ => Err(AttestError::UnexpectedResponse {
            what: "configfs-tsm provider is neither tdx_guest nor sev_guest",
        }),
    }
}

/// Offset of REPORT_DATA in a TDX quote v4 (48-byte header, then the TD report body,
/// REPORTDATA at body offset 520).
const TDX_V4_REPORT_DATA: usize = 48 + 520;
/// In a v5 quote the body is preceded by a 2-byte type and a 4-byte size.
const TDX_V5_REPORT_DATA: usize = 48 + 6 + 520;
/// Offset of REPORT_DATA in an SNP attestation report (SNP ABI, table "ATTESTATION_REPORT").
const SNP_REPORT_DATA: usize = 0x50;
/// Size of an SNP attestation report.
pub const SNP_REPORT_LEN: usize = 0x4a0;

/// Checks that `report` carries `expected` where its platform puts report data: a
/// stale or foreign outblob fails here even if the generation check was fooled.
pub fn check_report_data(
    platform: Platform,
    report: &[u8],
    expected: &ReportData,
) -> Result<(), AttestError> {
    let offset = match platform {
        Platform::Tdx => match report.get(..2) {
            Some([4, 0]) => TDX_V4_REPORT_DATA,
            Some([5, 0]) => TDX_V5_REPORT_DATA,
            _ => {
                return Err(AttestError::UnexpectedResponse {
                    what: "TDX quote version is neither 4 nor 5",
                })
            }
        },
        Platform::SevSnp => {
            if report.len() < SNP_REPORT_LEN {
                return Err(AttestError::UnexpectedResponse {
                    what: "SEV-SNP report shorter than 1184 bytes",
                });
            }
            SNP_REPORT_DATA
        }
        _ => {
            return Err(AttestError::Unsupported {
                what: "report data check for this platform",
            })
        }
    };
    let found = offset
        .checked_add(64)
        .and_then(|end| report.get(offset..end));
    if found == Some(expected.as_bytes().as_slice()) {
        Ok(())
    } else {
        Err(AttestError::UnexpectedResponse {
            what: "the report does not carry the requested report data",
        })
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn parse_generation__should_read_decimal_with_newline() {
        assert_eq!(parse_generation(b"7\n").unwrap(), 7);
        assert!(parse_generation(b"x\n").is_err());
        assert!(parse_generation(b"").is_err());
    }

    #[test]
    fn check_generation__should_refuse_a_moved_counter() {
        check_generation(3, 3).unwrap();
        assert!(matches!(
            check_generation(3, 4),
            Err(AttestError::GenerationChanged {
                before: 3,
                after: 4
            })
        ));
    }

    #[test]
    fn parse_provider__should_map_kernel_drivers() {
        assert_eq!(parse_provider(b"tdx_guest\n").unwrap(), Platform::Tdx);
        assert_eq!(parse_provider(b"sev_guest\n").unwrap(), Platform::SevSnp);
        assert!(parse_provider(b"arm_cca_guest\n").is_err());
    }
}
