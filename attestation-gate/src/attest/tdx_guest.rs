//! `/dev/tdx_guest` (Linux `include/uapi/linux/tdx-guest.h`): the request layout of
//! `TDX_CMD_GET_REPORT0` and the parsing of the TDREPORT it returns.
//!
//! No attester here issues this ioctl: the raw ioctl needs `unsafe`, which the crate
//! forbids, and no maintained crate wraps it with a caller-chosen device path. A
//! TDREPORT is MAC'ed for the local CPU and is not remotely verifiable anyway; remote
//! TDX evidence (a quote) comes from [`super::tsm::ConfigfsTsm`]. These functions are
//! what a future ioctl module would use, and are tested as pure functions.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use crate::types::ReportData;

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

/// Parses the ioctl's response buffer (`struct tdx_report_req` after the call).
pub fn parse_response(response: &[u8]) -> Option<TdReport> {
    if response.len() != REQUEST_LEN {
        return None;
    }
    let tdreport = response.get(REPORT_DATA_LEN..)?;
    Some(TdReport {
        report_data: ReportData(field(tdreport, 128)?),
        td_attributes: field(tdreport, 512)?,
        mrtd: field(tdreport, 528)?,
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
        assert!(parse_response(&resp[..1087]).is_none());
    }
}
