//! `/dev/tdx_guest` (Linux `include/uapi/linux/tdx-guest.h`) and the TDX Quote Generation
//! Service: the [`TdxGuest`] attester.
//!
//! `TDX_CMD_GET_REPORT0` yields a TDREPORT, MAC'ed for the local CPU and not remotely
//! verifiable. A quote is made from it by the host's Quote Generation Service (Intel DCAP
//! `qgs`), which the guest reaches over vsock (Intel `libtdx_attest`: host CID, port from
//! `/etc/tdx-attest.conf`). This crate does no networking (DESIGN §3), so the attester
//! takes a [`QuoteTransport`] that moves one framed QGS message each way; the messages
//! themselves are encoded and decoded here ([`super::qgs`]).
//!
//! configfs-tsm ([`super::tsm::ConfigfsTsm`]) is preferred where the kernel has it
//! (Linux ≥ 6.7, `CONFIG_TSM_REPORTS`): the kernel then talks to the QGS itself.
//! [`TdxGuest`] is for kernels with only `/dev/tdx_guest`.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::path::{Path, PathBuf};

use super::{qgs, AttestError, Attester, Evidence};
use crate::types::{Platform, ReportData};

/// The device nodes (the driver's name is `tdx_guest`; some docs say `tdx-guest`).
pub const DEVICES: [&str; 2] = ["dev/tdx_guest", "dev/tdx-guest"];

/// `TDX_REPORTDATA_LEN`.
pub const REPORT_DATA_LEN: usize = 64;
/// `TDX_REPORT_LEN`.
pub const TDREPORT_LEN: usize = 1024;
/// `sizeof(struct tdx_report_req)`.
pub const REQUEST_LEN: usize = REPORT_DATA_LEN + TDREPORT_LEN;

/// `TDX_CMD_GET_REPORT0 = _IOWR('T', 1, struct tdx_report_req)`: direction read|write
/// (3) in bits 30-31, size in bits 16-29, type in bits 8-15, number in bits 0-7.
pub const GET_REPORT0: u32 = ioctl_iowr(b'T', 1, REQUEST_LEN);

/// Linux `_IOWR(type, nr, size)` for the asm-generic layout (x86).
pub const fn ioctl_iowr(ty: u8, nr: u8, size: usize) -> u32 {
    const READ_WRITE: u32 = 3;
    // `size` is 14 bits in this layout; the mask keeps the constant well-formed.
    (READ_WRITE << 30) | (((size as u32) & 0x3fff) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `struct tdx_report_req { reportdata[64]; tdreport[1024]; }` with our report data and
/// a zeroed output buffer.
pub fn encode_request(report_data: &ReportData) -> [u8; REQUEST_LEN] {
    let mut req = [0u8; REQUEST_LEN];
    let (head, _) = req.split_at_mut(REPORT_DATA_LEN);
    head.copy_from_slice(report_data.as_bytes());
    req
}

/// The fields of a TDREPORT (TDX module ABI, `TDREPORT_STRUCT`) that keynet reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReport {
    /// `REPORTMACSTRUCT.REPORTDATA` (offset 128).
    pub report_data: ReportData,
    /// `TDINFO.ATTRIBUTES` (offset 512).
    pub td_attributes: [u8; 8],
    /// `TDINFO.MRTD` (offset 528).
    pub mrtd: [u8; 48],
}

fn field<const N: usize>(bytes: &[u8], offset: usize) -> Option<[u8; N]> {
    let end = offset.checked_add(N)?;
    bytes.get(offset..end)?.try_into().ok()
}

/// Parses a TDREPORT (exactly [`TDREPORT_LEN`] bytes).
pub fn parse_tdreport(tdreport: &[u8]) -> Option<TdReport> {
    if tdreport.len() != TDREPORT_LEN {
        return None;
    }
    Some(TdReport {
        report_data: ReportData(field(tdreport, 128)?),
        td_attributes: field(tdreport, 512)?,
        mrtd: field(tdreport, 528)?,
    })
}

/// Parses the ioctl's response buffer (`struct tdx_report_req` after the call).
pub fn parse_response(response: &[u8]) -> Option<TdReport> {
    if response.len() != REQUEST_LEN {
        return None;
    }
    parse_tdreport(response.get(REPORT_DATA_LEN..)?)
}

/// Carries one QGS message to the host's Quote Generation Service and its answer back.
///
/// `request` is a complete framed message (4-byte big-endian length, then the message),
/// as [`qgs::encode_get_quote_request`] builds it; the transport writes it as is and
/// returns the complete framed response: it reads 4 bytes, passes them to
/// [`qgs::frame_len`] (which refuses oversized answers) and reads that many more.
/// `kms-node` implements it over vsock (host CID 2, the QGS port, 4050 in Intel's sample
/// `/etc/tdx-attest.conf`), with its own timeouts; tests implement it in memory.
pub trait QuoteTransport {
    /// One request/response exchange.
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, std::io::Error>;
}

impl<T: QuoteTransport + ?Sized> QuoteTransport for &T {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        (**self).exchange(request)
    }
}

/// The `/dev/tdx_guest` attester: TDREPORT from the device, quote from the QGS.
pub struct TdxGuest<T> {
    root: PathBuf,
    transport: T,
}

impl<T> std::fmt::Debug for TdxGuest<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TdxGuest")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl<T: QuoteTransport> TdxGuest<T> {
    /// An attester for `<root>/dev/tdx_guest` (or `<root>/dev/tdx-guest`) that reaches
    /// the QGS through `transport`.
    pub fn new(root: &Path, transport: T) -> Self {
        TdxGuest {
            root: root.to_path_buf(),
            transport,
        }
    }

    /// The device path: the first of [`DEVICES`] that exists, else `dev/tdx_guest`.
    pub fn device(&self) -> PathBuf {
        DEVICES
            .iter()
            .map(|d| self.root.join(d))
            .find(|p| p.exists())
            .unwrap_or_else(|| self.root.join(DEVICES[0]))
    }

    /// The TDREPORT binding `report_data` (`TDX_CMD_GET_REPORT0`), checked to carry it.
    pub fn tdreport(&self, report_data: &ReportData) -> Result<[u8; TDREPORT_LEN], AttestError> {
        let tdreport = get_report0(&self.device(), report_data)?;
        let parsed = parse_tdreport(&tdreport).ok_or(AttestError::UnexpectedResponse {
            what: "TDREPORT does not parse",
        })?;
        if parsed.report_data != *report_data {
            return Err(AttestError::UnexpectedResponse {
                what: "the TDREPORT does not carry the requested report data",
            });
        }
        Ok(tdreport)
    }

    /// Exchanges `tdreport` for a quote with the QGS and checks that the quote carries
    /// `report_data` (a stale or foreign quote is refused).
    pub fn quote(
        &self,
        tdreport: &[u8; TDREPORT_LEN],
        report_data: &ReportData,
    ) -> Result<Evidence, AttestError> {
        let request = qgs::encode_get_quote_request(tdreport);
        let response = self
            .transport
            .exchange(&request)
            .map_err(AttestError::QgsTransport)?;
        let quote = qgs::decode_get_quote_response(&response)?.quote;
        super::tsm::check_report_data(Platform::Tdx, &quote, report_data)?;
        Ok(Evidence {
            platform: Platform::Tdx,
            bytes: quote,
            aux: None,
        })
    }
}

impl<T: QuoteTransport> Attester for TdxGuest<T> {
    fn platform(&self) -> Option<Platform> {
        Some(Platform::Tdx)
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence, AttestError> {
        let tdreport = self.tdreport(report_data)?;
        self.quote(&tdreport, report_data)
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn get_report0(path: &Path, report_data: &ReportData) -> Result<[u8; TDREPORT_LEN], AttestError> {
    super::ioctl::tdx_get_report0(path, report_data.as_bytes())
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn get_report0(_path: &Path, _report_data: &ReportData) -> Result<[u8; TDREPORT_LEN], AttestError> {
    Err(AttestError::Unsupported {
        what: "/dev/tdx_guest exists only on Linux x86_64",
    })
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn get_report0__should_match_the_kernel_constant() {
        // _IOWR('T', 1, 1088) = 0xc0000000 | 1088 << 16 | 0x54 << 8 | 1.
        assert_eq!(GET_REPORT0, 0xc440_5401);
    }

    #[test]
    fn encode_request__should_put_report_data_first_and_zero_the_rest() {
        let req = encode_request(&ReportData([7; 64]));
        assert_eq!(&req[..64], &[7; 64]);
        assert!(req[64..].iter().all(|b| *b == 0));
    }

    #[test]
    fn parse_response__should_read_fields_at_abi_offsets() {
        let mut resp = encode_request(&ReportData([7; 64])).to_vec();
        resp[64 + 128..64 + 192].copy_from_slice(&[7; 64]);
        resp[64 + 512] = 1;
        resp[64 + 528..64 + 576].copy_from_slice(&[0xaa; 48]);
        let r = parse_response(&resp).unwrap();
        assert_eq!(r.report_data, ReportData([7; 64]));
        assert_eq!(r.td_attributes[0], 1);
        assert_eq!(r.mrtd, [0xaa; 48]);
        assert_eq!(parse_tdreport(&resp[64..]), Some(r));
        assert!(parse_response(&resp[..1087]).is_none());
        assert!(parse_tdreport(&resp[65..]).is_none());
    }
}
