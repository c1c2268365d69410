//! Messages of Intel's TDX Quote Generation Service (QGS), sans I/O: the `GET_QUOTE`
//! request for a TDREPORT and its response.
//!
//! Layout, from Intel DCAP (`SGXDataCenterAttestationPrimitives`):
//! `QuoteGeneration/quote_wrapper/qgs_msg_lib/inc/qgs_msg_lib.h` (packed structs,
//! little-endian on x86) and `qgs_msg_lib.cpp` (what is checked when inflating), and the
//! framing of `QuoteGeneration/quote_wrapper/tdx_attest/tdx_attest.c`
//! (`tdx_att_get_quote`: a 4-byte **big-endian** length, then the message, both ways).
//!
//! ```text
//! qgs_msg_header_t        { u16 major_version = 1; u16 minor_version = 1;
//!                           u32 type; u32 size /* whole message, header included */;
//!                           u32 error_code /* responses only */ }          16 bytes
//! qgs_msg_get_quote_req_t { header /* type GET_QUOTE_REQ = 0 */;
//!                           u32 report_size; u32 id_list_size; u8 report_id_list[] }
//! qgs_msg_get_quote_resp_t{ header /* type GET_QUOTE_RESP = 1 */;
//!                           u32 selected_id_size; u32 quote_size; u8 id_quote[] }
//! ```
//!
//! The decoder refuses exactly what `qgs_msg_inflate_get_quote_resp` refuses (major
//! version other than 1, wrong type, `size` not the message length, sizes that do not
//! add up, success without a quote, an error code with a payload, an error code at or
//! above `QGS_MSG_ERROR_MAX`), plus a length prefix that disagrees with the message and
//! messages above [`MAX_MESSAGE_LEN`]. Each case is a [`Malformed`] variant.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use super::tdx_guest::TDREPORT_LEN;
use super::AttestError;

/// Length of the big-endian length prefix.
pub const PREFIX_LEN: usize = 4;
/// `sizeof(qgs_msg_header_t)`.
pub const HEADER_LEN: usize = 16;
/// `sizeof(qgs_msg_get_quote_req_t)` and `sizeof(qgs_msg_get_quote_resp_t)`: the header
/// and two `u32` sizes.
pub const GET_QUOTE_FIXED_LEN: usize = HEADER_LEN + 8;
/// `QGS_MSG_LIB_MAJOR_VER`: the only major version accepted.
pub const MAJOR_VERSION: u16 = 1;
/// `QGS_MSG_LIB_MINOR_VER` (minor changes are compatible; not checked on responses).
pub const MINOR_VERSION: u16 = 1;
/// `GET_QUOTE_REQ`.
pub const GET_QUOTE_REQ: u32 = 0;
/// `GET_QUOTE_RESP`.
pub const GET_QUOTE_RESP: u32 = 1;
/// `QGS_MSG_ERROR_MAX`: error codes at or above it are malformed.
pub const ERROR_CODE_MAX: u32 = 0x0001_2008;
/// Largest message accepted. Intel's client reads at most 16 KiB less its headers; TDX
/// quotes with their PCK certificate chain are about 5-8 KiB.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// What is wrong with a QGS response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Fewer than 4 bytes: no length prefix.
    #[error("no 4-byte length prefix")]
    NoPrefix,
    /// The prefix announces more than [`MAX_MESSAGE_LEN`] bytes.
    #[error("the length prefix announces {0} bytes, more than the limit")]
    TooLong(u32),
    /// The prefix and the bytes that follow it disagree.
    #[error("the length prefix announces {prefix} bytes but {actual} follow")]
    PrefixMismatch {
        /// The prefix.
        prefix: u32,
        /// Bytes after the prefix.
        actual: usize,
    },
    /// Shorter than `qgs_msg_get_quote_resp_t`.
    #[error("shorter than the 24-byte GET_QUOTE_RESP header")]
    TooShort,
    /// `major_version` is not 1.
    #[error("major version {0}, expected 1")]
    Version(u16),
    /// `type` is not `GET_QUOTE_RESP`.
    #[error("message type {0}, expected GET_QUOTE_RESP (1)")]
    Type(u32),
    /// `header.size` is not the message length.
    #[error("header size {header} but the message has {actual} bytes")]
    SizeMismatch {
        /// `header.size`.
        header: u32,
        /// The message length.
        actual: usize,
    },
    /// `24 + selected_id_size + quote_size` is not `header.size`.
    #[error(
        "selected_id_size {selected_id_size} + quote_size {quote_size} do not fill the message"
    )]
    LengthsMismatch {
        /// `selected_id_size`.
        selected_id_size: u32,
        /// `quote_size`.
        quote_size: u32,
    },
    /// `error_code` is 0 but there is no quote.
    #[error("success without a quote")]
    EmptyQuote,
    /// `error_code` is non-zero but the message carries an id or a quote.
    #[error("error code {0:#x} with a payload")]
    ErrorWithPayload(u32),
    /// `error_code` is at or above `QGS_MSG_ERROR_MAX`.
    #[error("error code {0:#x} is not a QGS code")]
    ErrorCodeOutOfRange(u32),
}

/// A successful `GET_QUOTE_RESP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteResponse {
    /// The attestation key id the QGS chose (a 16-byte UUID in current QGS versions,
    /// empty in older ones).
    pub selected_id: Vec<u8>,
    /// The quote.
    pub quote: Vec<u8>,
}

/// The name of a QGS `error_code` (`qgs_msg_error_t`).
pub fn error_name(code: u32) -> &'static str {
    match code {
        0 => "QGS_MSG_SUCCESS",
        0x0001_2001 => "QGS_MSG_ERROR_UNEXPECTED",
        0x0001_2002 => "QGS_MSG_ERROR_OUT_OF_MEMORY",
        0x0001_2003 => "QGS_MSG_ERROR_INVALID_PARAMETER",
        0x0001_2004 => "QGS_MSG_ERROR_INVALID_VERSION",
        0x0001_2005 => "QGS_MSG_ERROR_INVALID_TYPE",
        0x0001_2006 => "QGS_MSG_ERROR_INVALID_SIZE",
        0x0001_2007 => "QGS_MSG_ERROR_INVALID_CODE",
        _ => "unknown code",
    }
}

fn frame(message: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(message.len()).ok()?;
    let mut out = Vec::with_capacity(message.len().checked_add(PREFIX_LEN)?);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Some(out)
}

/// `sizeof(qgs_msg_get_quote_req_t) + TDREPORT_LEN`: the request's `header.size`.
const GET_QUOTE_REQ_LEN: u32 = 24 + 1024;
const _: () = assert!(GET_QUOTE_REQ_LEN as usize == GET_QUOTE_FIXED_LEN + TDREPORT_LEN);
const GET_QUOTE_REQ_FRAMED_LEN: usize = 4 + 24 + 1024;

/// The framed `GET_QUOTE_REQ` for `tdreport`, with an empty attestation key id list (as
/// `tdx_att_get_quote` sends it: the QGS picks Intel's TDQE).
pub fn encode_get_quote_request(tdreport: &[u8; TDREPORT_LEN]) -> Vec<u8> {
    let mut out = Vec::with_capacity(GET_QUOTE_REQ_FRAMED_LEN);
    out.extend_from_slice(&GET_QUOTE_REQ_LEN.to_be_bytes());
    out.extend_from_slice(&MAJOR_VERSION.to_le_bytes());
    out.extend_from_slice(&MINOR_VERSION.to_le_bytes());
    out.extend_from_slice(&GET_QUOTE_REQ.to_le_bytes());
    out.extend_from_slice(&GET_QUOTE_REQ_LEN.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // error_code
    out.extend_from_slice(&(TDREPORT_LEN as u32).to_le_bytes()); // report_size
    out.extend_from_slice(&0u32.to_le_bytes()); // id_list_size
    out.extend_from_slice(tdreport);
    out
}

/// The message length announced by a 4-byte prefix, refused above [`MAX_MESSAGE_LEN`].
/// A transport reads the prefix, calls this, then reads that many bytes.
pub fn frame_len(prefix: [u8; PREFIX_LEN]) -> Result<usize, Malformed> {
    let n = u32::from_be_bytes(prefix);
    match usize::try_from(n) {
        Ok(len) if len <= MAX_MESSAGE_LEN => Ok(len),
        _ => Err(Malformed::TooLong(n)),
    }
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let end = offset.checked_add(4)?;
    Some(u32::from_le_bytes(bytes.get(offset..end)?.try_into().ok()?))
}

/// Decodes a framed `GET_QUOTE_RESP`: the quote, or [`AttestError::QgsService`] when the
/// QGS answered with an error code, or [`AttestError::QgsMalformed`].
pub fn decode_get_quote_response(framed: &[u8]) -> Result<QuoteResponse, AttestError> {
    let (prefix, message) = framed
        .split_first_chunk::<PREFIX_LEN>()
        .ok_or(Malformed::NoPrefix)?;
    let announced = frame_len(*prefix)?;
    if announced != message.len() {
        return Err(Malformed::PrefixMismatch {
            prefix: u32::from_be_bytes(*prefix),
            actual: message.len(),
        }
        .into());
    }
    let (fixed, rest) = message
        .split_first_chunk::<GET_QUOTE_FIXED_LEN>()
        .ok_or(Malformed::TooShort)?;
    let (versions, _) = fixed.split_first_chunk::<2>().ok_or(Malformed::TooShort)?;
    let major = u16::from_le_bytes(*versions);
    let field = |offset| u32_at(fixed, offset).ok_or(Malformed::TooShort);
    let (ty, size, error_code) = (field(4)?, field(8)?, field(12)?);
    let (id_size, quote_size) = (field(16)?, field(20)?);
    if major != MAJOR_VERSION {
        return Err(Malformed::Version(major).into());
    }
    if ty != GET_QUOTE_RESP {
        return Err(Malformed::Type(ty).into());
    }
    if usize::try_from(size).ok() != Some(message.len()) {
        return Err(Malformed::SizeMismatch {
            header: size,
            actual: message.len(),
        }
        .into());
    }
    let lengths = Malformed::LengthsMismatch {
        selected_id_size: id_size,
        quote_size,
    };
    let id_len = usize::try_from(id_size).map_err(|_| lengths)?;
    let quote_len = usize::try_from(quote_size).map_err(|_| lengths)?;
    if id_len.checked_add(quote_len) != Some(rest.len()) {
        return Err(lengths.into());
    }
    let (selected_id, quote) = rest.split_at_checked(id_len).ok_or(lengths)?;
    match error_code {
        0 if quote.is_empty() => Err(Malformed::EmptyQuote.into()),
        0 => Ok(QuoteResponse {
            selected_id: selected_id.to_vec(),
            quote: quote.to_vec(),
        }),
        code if code >= ERROR_CODE_MAX => Err(Malformed::ErrorCodeOutOfRange(code).into()),
        code if !rest.is_empty() => Err(Malformed::ErrorWithPayload(code).into()),
        code => Err(AttestError::QgsService { code }),
    }
}

fn encode_response(error_code: u32, selected_id: &[u8], quote: &[u8]) -> Option<Vec<u8>> {
    let size = GET_QUOTE_FIXED_LEN
        .checked_add(selected_id.len())?
        .checked_add(quote.len())?;
    let mut msg = Vec::with_capacity(size);
    msg.extend_from_slice(&MAJOR_VERSION.to_le_bytes());
    msg.extend_from_slice(&MINOR_VERSION.to_le_bytes());
    msg.extend_from_slice(&GET_QUOTE_RESP.to_le_bytes());
    msg.extend_from_slice(&u32::try_from(size).ok()?.to_le_bytes());
    msg.extend_from_slice(&error_code.to_le_bytes());
    msg.extend_from_slice(&u32::try_from(selected_id.len()).ok()?.to_le_bytes());
    msg.extend_from_slice(&u32::try_from(quote.len()).ok()?.to_le_bytes());
    msg.extend_from_slice(selected_id);
    msg.extend_from_slice(quote);
    frame(&msg)
}

/// A framed successful `GET_QUOTE_RESP` (what `qgs_msg_gen_get_quote_resp` builds), for
/// tests and fake QGS servers. `None` if a length does not fit in `u32`.
pub fn encode_get_quote_response(selected_id: &[u8], quote: &[u8]) -> Option<Vec<u8>> {
    encode_response(0, selected_id, quote)
}

/// A framed error `GET_QUOTE_RESP` (what `qgs_msg_gen_error_resp` builds).
pub fn encode_error_response(error_code: u32) -> Option<Vec<u8>> {
    encode_response(error_code, &[], &[])
}

#[cfg(test)]
#[allow(non_snake_case, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn must_malformed(framed: &[u8]) -> Malformed {
        match decode_get_quote_response(framed) {
            Err(AttestError::QgsMalformed(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encode_get_quote_request__should_match_qgs_msg_gen_get_quote_req() {
        let report = [0x33u8; TDREPORT_LEN];
        let req = encode_get_quote_request(&report);
        // 24 + 1024 = 1048 = 0x418, big-endian prefix.
        assert_eq!(&req[..4], &[0, 0, 0x04, 0x18]);
        assert_eq!(req.len(), 4 + 1048);
        let expected_header: [u8; 24] = [
            1, 0, 1, 0, // major 1, minor 1 (u16 LE)
            0, 0, 0, 0, // GET_QUOTE_REQ
            0x18, 0x04, 0, 0, // size 1048 (u32 LE)
            0, 0, 0, 0, // error_code
            0, 0x04, 0, 0, // report_size 1024
            0, 0, 0, 0, // id_list_size 0
        ];
        assert_eq!(&req[4..28], &expected_header);
        assert_eq!(&req[28..], &report[..]);
    }

    #[test]
    fn decode_get_quote_response__should_invert_encode() {
        let id = [0xe8u8; 16];
        let framed = encode_get_quote_response(&id, b"quote").unwrap();
        let r = decode_get_quote_response(&framed).unwrap();
        assert_eq!(r.quote, b"quote");
        assert_eq!(r.selected_id, id);
        let r = decode_get_quote_response(&encode_get_quote_response(&[], b"q").unwrap()).unwrap();
        assert!(r.selected_id.is_empty());
    }

    #[test]
    fn decode_get_quote_response__should_map_service_errors() {
        let framed = encode_error_response(0x0001_2001).unwrap();
        let e = decode_get_quote_response(&framed).unwrap_err();
        assert!(matches!(e, AttestError::QgsService { code: 0x0001_2001 }));
        assert!(e.to_string().contains("QGS_MSG_ERROR_UNEXPECTED"), "{e}");
        assert_eq!(
            must_malformed(&encode_error_response(ERROR_CODE_MAX).unwrap()),
            Malformed::ErrorCodeOutOfRange(ERROR_CODE_MAX)
        );
    }

    #[test]
    fn decode_get_quote_response__should_name_each_malformation() {
        let good = encode_get_quote_response(&[], b"quote").unwrap();
        assert_eq!(must_malformed(&good[..3]), Malformed::NoPrefix);
        assert_eq!(
            must_malformed(&good[..good.len() - 1]),
            Malformed::PrefixMismatch {
                prefix: 29,
                actual: 28
            }
        );
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&0x0010_0000u32.to_be_bytes());
        assert_eq!(must_malformed(&huge), Malformed::TooLong(0x0010_0000));
        assert_eq!(
            must_malformed(&frame(&good[4..20]).unwrap()),
            Malformed::TooShort
        );
        let patched = |offset: usize, value: &[u8]| {
            let mut b = good.clone();
            b[4 + offset..4 + offset + value.len()].copy_from_slice(value);
            b
        };
        assert_eq!(must_malformed(&patched(0, &[2, 0])), Malformed::Version(2));
        assert_eq!(
            must_malformed(&patched(4, &0u32.to_le_bytes())),
            Malformed::Type(0)
        );
        assert_eq!(
            must_malformed(&patched(8, &28u32.to_le_bytes())),
            Malformed::SizeMismatch {
                header: 28,
                actual: 29
            }
        );
        assert_eq!(
            must_malformed(&patched(20, &4u32.to_le_bytes())),
            Malformed::LengthsMismatch {
                selected_id_size: 0,
                quote_size: 4
            }
        );
        assert_eq!(
            must_malformed(&patched(16, &u32::MAX.to_le_bytes())),
            Malformed::LengthsMismatch {
                selected_id_size: u32::MAX,
                quote_size: 5
            }
        );
        assert_eq!(
            must_malformed(&patched(12, &0x0001_2003u32.to_le_bytes())),
            Malformed::ErrorWithPayload(0x0001_2003)
        );
        let empty = encode_response(0, &[1; 16], &[]).unwrap();
        assert_eq!(must_malformed(&empty), Malformed::EmptyQuote);
    }

    #[test]
    fn frame_len__should_refuse_oversized_messages() {
        assert_eq!(frame_len([0, 0, 0x10, 0]).unwrap(), 4096);
        assert_eq!(frame_len([0, 1, 0, 0]).unwrap(), MAX_MESSAGE_LEN);
        assert_eq!(
            frame_len([0, 1, 0, 1]),
            Err(Malformed::TooLong(0x0001_0001))
        );
    }
}
