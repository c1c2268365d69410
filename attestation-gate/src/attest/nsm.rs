//! The Nitro Secure Module (`/dev/nsm`) through `aws-nitro-enclaves-nsm-api`, which owns
//! the ioctl and its `unsafe`. We open the device under the root ourselves and hand the
//! crate the file descriptor, so the root argument is honoured.
//!
//! Request: `Attestation { user_data: report_data (64 bytes), nonce: None, public_key:
//! None }`. The document returned must be an untagged COSE_Sign1 and, when the `nitro`
//! feature is on, carry our report data as `user_data` (checked without verifying the
//! signature: verification is the verifier's job, on the other side).

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use aws_nitro_enclaves_nsm_api::api::{Request, Response};
use serde_bytes::ByteBuf;

use super::{AttestError, Attester, Evidence};
use crate::types::{Platform, ReportData};

/// The device, relative to the root.
pub const DEVICE: &str = "dev/nsm";

/// Largest document accepted (the NSM response buffer is 12 KiB).
const MAX_DOCUMENT_LEN: usize = 16 * 1024;

/// The NSM attester.
#[derive(Debug, Clone)]
pub struct Nsm {
    root: PathBuf,
}

impl Nsm {
    /// An attester for `<root>/dev/nsm`.
    pub fn new(root: &Path) -> Self {
        Nsm {
            root: root.to_path_buf(),
        }
    }
}

impl Attester for Nsm {
    fn platform(&self) -> Option<Platform> {
        Some(Platform::Nitro)
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence, AttestError> {
        let path = self.root.join(DEVICE);
        let device = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| AttestError::Io {
                what: "open",
                path,
                source,
            })?;
        // The crate only borrows the descriptor for the ioctl; `device` closes it.
        let response = aws_nitro_enclaves_nsm_api::driver::nsm_process_request(
            device.as_raw_fd(),
            attestation_request(report_data),
        );
        evidence_from_response(response, report_data)
    }
}

/// The NSM request for a document binding `report_data`.
pub fn attestation_request(report_data: &ReportData) -> Request {
    Request::Attestation {
        user_data: Some(ByteBuf::from(report_data.as_bytes().to_vec())),
        nonce: None,
        public_key: None,
    }
}

/// The document from the NSM's response, checked to be a COSE_Sign1 carrying our
/// report data.
pub fn evidence_from_response(
    response: Response,
    report_data: &ReportData,
) -> Result<Evidence, AttestError> {
    let document = match response {
        Response::Attestation { document } => document,
        Response::Error(code) => {
            return Err(AttestError::Device {
                what: format!("NSM error {code:?}"),
            })
        }
        _ => {
            return Err(AttestError::UnexpectedResponse {
                what: "NSM answered an attestation request with another response",
            })
        }
    };
    if document.len() > MAX_DOCUMENT_LEN || document.first() != Some(&0x84) {
        return Err(AttestError::UnexpectedResponse {
            what: "NSM document is not an untagged COSE_Sign1 of sane size",
        });
    }
    #[cfg(feature = "nitro")]
    {
        let user_data = crate::nitro::unverified_user_data(&document).map_err(|_| {
            AttestError::UnexpectedResponse {
                what: "NSM document does not decode",
            }
        })?;
        if user_data.as_deref() != Some(report_data.as_bytes().as_slice()) {
            return Err(AttestError::UnexpectedResponse {
                what: "NSM document does not carry the requested user_data",
            });
        }
    }
    #[cfg(not(feature = "nitro"))]
    let _ = report_data;
    Ok(Evidence {
        platform: Platform::Nitro,
        bytes: document,
        aux: None,
    })
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use aws_nitro_enclaves_nsm_api::api::ErrorCode;

    #[test]
    fn attestation_request__should_put_report_data_in_user_data() {
        let rd = ReportData([5; 64]);
        match attestation_request(&rd) {
            Request::Attestation {
                user_data,
                nonce,
                public_key,
            } => {
                assert_eq!(user_data.unwrap().into_vec(), vec![5; 64]);
                assert!(nonce.is_none() && public_key.is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn evidence_from_response__should_map_errors_and_refuse_non_cose() {
        let rd = ReportData([5; 64]);
        assert!(matches!(
            evidence_from_response(Response::Error(ErrorCode::InvalidArgument), &rd),
            Err(AttestError::Device { .. })
        ));
        assert!(matches!(
            evidence_from_response(Response::LockPCR, &rd),
            Err(AttestError::UnexpectedResponse { .. })
        ));
        assert!(matches!(
            evidence_from_response(
                Response::Attestation {
                    document: vec![0xa0]
                },
                &rd
            ),
            Err(AttestError::UnexpectedResponse { .. })
        ));
    }

    #[test]
    fn attest__should_fail_cleanly_on_a_file_that_is_not_the_nsm() {
        // A regular file: the ioctl fails with ENOTTY and the crate reports an error.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        std::fs::write(dir.path().join(DEVICE), b"").unwrap();
        let err = Nsm::new(dir.path())
            .attest(&ReportData([0; 64]))
            .unwrap_err();
        assert!(matches!(err, AttestError::Device { .. }), "{err:?}");
        let missing = tempfile::tempdir().unwrap();
        let err = Nsm::new(missing.path())
            .attest(&ReportData([0; 64]))
            .unwrap_err();
        assert!(matches!(err, AttestError::Io { .. }), "{err:?}");
    }
}
