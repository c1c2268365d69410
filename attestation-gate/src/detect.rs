//! Recognising evidence: its text encoding (raw bytes, hex, base64, a CBOR byte string)
//! and its platform, from the bytes alone.
//!
//! Detection only routes evidence to a verifier; it proves nothing. Every verifier
//! parses its input again, strictly.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use base64::Engine as _;

use crate::error::Error;
use crate::types::Platform;

/// How the evidence was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// The platform's binary form as is.
    Raw,
    /// Hex text (whitespace and a `0x` prefix allowed).
    Hex,
    /// Base64 text (standard or URL-safe alphabet, padding optional, whitespace allowed).
    Base64,
    /// A CBOR byte string wrapping the binary form.
    CborBytes,
}

impl Encoding {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
            Encoding::CborBytes => "cbor",
        }
    }
}

/// Evidence in binary form, with its platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The platform the bytes look like.
    pub platform: Platform,
    /// The encoding they came in.
    pub encoding: Encoding,
    /// The binary evidence.
    pub bytes: Vec<u8>,
}

/// Largest input accepted (Nitro documents with full optional fields and Intel quotes
/// with certification data are well below this).
pub const MAX_EVIDENCE_LEN: usize = 1 << 20;

/// Decodes `input` and recognises its platform.
pub fn detect(input: &[u8]) -> Result<Detected, Error> {
    if input.len() > MAX_EVIDENCE_LEN {
        return Err(Error::malformed("evidence (larger than 1 MiB)"));
    }
    if let Some(d) = classify(input, Encoding::Raw) {
        return Ok(d);
    }
    if let Some(text) = as_text(input) {
        if let Some(bytes) = decode_hex(&text) {
            if let Some(d) = classify_or_cbor(&bytes, Encoding::Hex) {
                return Ok(d);
            }
        }
        if let Some(bytes) = decode_base64(&text) {
            if let Some(d) = classify_or_cbor(&bytes, Encoding::Base64) {
                return Ok(d);
            }
        }
    }
    if let Some(inner) = cbor_byte_string(input) {
        if let Some(d) = classify(inner, Encoding::CborBytes) {
            return Ok(d);
        }
    }
    Err(Error::UnknownFormat)
}

fn classify_or_cbor(bytes: &[u8], encoding: Encoding) -> Option<Detected> {
    classify(bytes, encoding).or_else(|| {
        let inner = cbor_byte_string(bytes)?;
        classify(inner, encoding)
    })
}

fn classify(bytes: &[u8], encoding: Encoding) -> Option<Detected> {
    let platform = platform_of(bytes)?;
    Some(Detected {
        platform,
        encoding,
        bytes: bytes.to_vec(),
    })
}

/// The platform binary evidence looks like, if any.
pub fn platform_of(bytes: &[u8]) -> Option<Platform> {
    if let Some(p) = intel_quote(bytes) {
        return Some(p);
    }
    if looks_like_snp_report(bytes) {
        return Some(Platform::SevSnp);
    }
    if bytes.starts_with(SIMULATED_MAGIC) {
        return Some(Platform::Simulated);
    }
    // COSE_Sign1: an untagged CBOR array of 4 (0x84), or tag 18 (0xD2) then the array.
    if bytes.starts_with(&[0x84]) || bytes.starts_with(&[0xD2, 0x84]) {
        return Some(Platform::Nitro);
    }
    None
}

/// The magic of keynet's simulated evidence (`simulated::format`).
const SIMULATED_MAGIC: &[u8] = b"kn-simev";

const INTEL_QE_VENDOR_ID: [u8; 16] = [
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
];

/// A DCAP quote header: version (u16 LE) 3, 4 or 5, attestation key type 2 (ECDSA
/// P-256), TEE type 0 (SGX) or 0x81 (TDX), and the Intel QE vendor id at 12..28.
pub fn intel_quote(quote: &[u8]) -> Option<Platform> {
    let le16 = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes(
            quote.get(at..at.checked_add(2)?)?.try_into().ok()?,
        ))
    };
    let version = le16(0)?;
    let key_type = le16(2)?;
    let tee_type = u32::from_le_bytes(quote.get(4..8)?.try_into().ok()?);
    if key_type != 2 || quote.get(12..28)? != INTEL_QE_VENDOR_ID {
        return None;
    }
    match (version, tee_type) {
        (3, 0) => Some(Platform::Sgx),
        (4 | 5, 0x81) => Some(Platform::Tdx),
        _ => None,
    }
}

fn looks_like_snp_report(b: &[u8]) -> bool {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            b.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    b.len() == 0x4A0 && u32_at(0).is_some_and(|v| (2..=5).contains(&v)) && u32_at(0x34) == Some(1)
}

fn as_text(input: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(input).ok()?;
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() || !compact.is_ascii() {
        return None;
    }
    Some(compact)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let t = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    hex::decode(t).ok()
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(text).ok())
}

/// The content of a definite-length CBOR byte string (major type 2) that spans the
/// whole input.
fn cbor_byte_string(b: &[u8]) -> Option<&[u8]> {
    let (&first, rest) = b.split_first()?;
    if first >> 5 != 2 {
        return None;
    }
    let (len, body) = match first & 0x1f {
        n @ 0..=23 => (u64::from(n), rest),
        24 => (u64::from(*rest.first()?), rest.get(1..)?),
        25 => (
            u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
            rest.get(2..)?,
        ),
        26 => (
            u64::from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)),
            rest.get(4..)?,
        ),
        27 => (
            u64::from_be_bytes(rest.get(..8)?.try_into().ok()?),
            rest.get(8..)?,
        ),
        _ => return None,
    };
    (u64::try_from(body.len()).ok()? == len).then_some(body)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fake_tdx() -> Vec<u8> {
        let mut q = vec![0u8; 64];
        q[0] = 4;
        q[2] = 2;
        q[4] = 0x81;
        q[12..28].copy_from_slice(&INTEL_QE_VENDOR_ID);
        q
    }

    #[test]
    fn detect__should_find_tdx_in_every_encoding() {
        let q = fake_tdx();
        let hex_text = format!("0x{}\n", hex::encode(&q));
        let b64 = base64::engine::general_purpose::STANDARD.encode(&q);
        let mut cbor = vec![0x58, q.len() as u8];
        cbor.extend_from_slice(&q);
        for (input, enc) in [
            (q.clone(), Encoding::Raw),
            (hex_text.into_bytes(), Encoding::Hex),
            (b64.into_bytes(), Encoding::Base64),
            (cbor, Encoding::CborBytes),
        ] {
            let d = detect(&input).unwrap();
            assert_eq!((d.platform, d.encoding, &d.bytes), (Platform::Tdx, enc, &q));
        }
    }

    #[test]
    fn detect__should_refuse_unknown_bytes() {
        assert!(matches!(detect(b"hello"), Err(Error::UnknownFormat)));
        assert!(matches!(detect(b""), Err(Error::UnknownFormat)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn detect__should_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = detect(&bytes);
        }

        #[test]
        fn detect__should_never_panic_on_text(s in "[0-9a-fA-F+/=x \\n]{0,600}") {
            let _ = detect(s.as_bytes());
        }
    }
}
