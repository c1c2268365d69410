//! The simulated evidence byte format (docs/PROTOCOL.md, "Simulated evidence format").
//!
//! ```text
//! magic "kn-simev" (8) | version u16 BE = 1 | label_len u8 | label (label_len)
//! | image (32) | debug u8 (0 or 1) | report_data (64) | issued_at u64 BE
//! | signer Ed25519 public key (32) | signature (64)
//! ```
//!
//! The signature is Ed25519 over `"keynet/simulated-evidence/v1" || every byte before
//! the signature`.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use crate::error::Error;
use crate::types::{ReportData, UnixTime};

/// The first 8 bytes.
pub const MAGIC: [u8; 8] = *b"kn-simev";
/// The only version.
pub const VERSION: u16 = 1;
/// Domain separation prefix of the signed message.
pub const SIGNATURE_DOMAIN: &[u8] = b"keynet/simulated-evidence/v1";
/// Every vendor label starts with this, so that it is never mistaken for a real vendor
/// (the one definition is [`crate::types::SIMULATED_LABEL_PREFIX`], which also names
/// the simulated vendors of chain codes 128 + N as `sim-N`).
pub const LABEL_PREFIX: &str = crate::types::SIMULATED_LABEL_PREFIX;
/// Longest vendor label, prefix included.
pub const MAX_LABEL_LEN: usize = 32;
/// Length of everything except the label.
const FIXED_LEN: usize = 8 + 2 + 1 + 32 + 1 + 64 + 8 + 32 + 64;

/// The fields of simulated evidence (everything except the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedEvidence {
    /// The simulated vendor, e.g. `sim-intel`.
    pub vendor_label: String,
    /// Digest of the simulated image (the measurement input).
    pub image: [u8; 32],
    /// Debug mode claimed.
    pub debug: bool,
    /// The 64 bytes bound by the evidence.
    pub report_data: ReportData,
    /// When the evidence was produced.
    pub issued_at: UnixTime,
    /// The devnet public key that signed it.
    pub signer: [u8; 32],
}

impl SimulatedEvidence {
    /// The encoded fields, without the signature.
    fn body(&self) -> Vec<u8> {
        let label = self.vendor_label.as_bytes();
        let mut out = Vec::with_capacity(FIXED_LEN.saturating_add(label.len()));
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        // `check_label` bounds the label at MAX_LABEL_LEN, so it fits in a byte; a label
        // that does not fit is encoded as 0xff and then refused by the decoder.
        out.push(u8::try_from(label.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(label);
        out.extend_from_slice(&self.image);
        out.push(u8::from(self.debug));
        out.extend_from_slice(self.report_data.as_bytes());
        out.extend_from_slice(&self.issued_at.0.to_be_bytes());
        out.extend_from_slice(&self.signer);
        out
    }

    /// The message the signature covers: domain prefix, then the body.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = SIGNATURE_DOMAIN.to_vec();
        out.extend_from_slice(&self.body());
        out
    }

    /// The full evidence with `signature` appended.
    pub fn encode(&self, signature: &[u8; 64]) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(signature);
        out
    }
}

/// `sim-` followed by at least one of `[a-z0-9-]`, at most [`MAX_LABEL_LEN`] bytes.
pub(crate) fn check_label(label: &[u8]) -> Result<(), Error> {
    let bad = Error::Malformed {
        what: "simulated vendor label",
    };
    let Some(rest) = label.strip_prefix(LABEL_PREFIX.as_bytes()) else {
        return Err(bad);
    };
    if rest.is_empty() || label.len() > MAX_LABEL_LEN {
        return Err(bad);
    }
    if !rest
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    {
        return Err(bad);
    }
    Ok(())
}

/// A cursor over untrusted bytes; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let (head, tail) = self.0.split_at_checked(n).ok_or(Error::Malformed {
            what: "simulated evidence (truncated)",
        })?;
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| Error::Malformed {
            what: "simulated evidence (truncated)",
        })
    }
}

/// Decodes evidence into its fields and signature. Exact length, no trailing bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<(SimulatedEvidence, [u8; 64]), Error> {
    let mut r = Reader(bytes);
    if r.array::<8>()? != MAGIC {
        return Err(Error::Malformed {
            what: "simulated evidence (magic)",
        });
    }
    if u16::from_be_bytes(r.array()?) != VERSION {
        return Err(Error::Malformed {
            what: "simulated evidence (version)",
        });
    }
    let [label_len] = r.array::<1>()?;
    let label = r.take(usize::from(label_len))?;
    check_label(label)?;
    let vendor_label = String::from_utf8(label.to_vec()).map_err(|_| Error::Malformed {
        what: "simulated vendor label",
    })?;
    let image = r.array::<32>()?;
    let debug = match r.array::<1>()? {
        [0] => false,
        [1] => true,
        _ => {
            return Err(Error::Malformed {
                what: "simulated evidence (debug flag is not 0 or 1)",
            })
        }
    };
    let report_data = ReportData(r.array::<64>()?);
    let issued_at = UnixTime(u64::from_be_bytes(r.array()?));
    let signer = r.array::<32>()?;
    let signature = r.array::<64>()?;
    if !r.0.is_empty() {
        return Err(Error::Malformed {
            what: "simulated evidence (trailing bytes)",
        });
    }
    Ok((
        SimulatedEvidence {
            vendor_label,
            image,
            debug,
            report_data,
            issued_at,
            signer,
        },
        signature,
    ))
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    fn sample() -> SimulatedEvidence {
        SimulatedEvidence {
            vendor_label: "sim-amd".into(),
            image: [3; 32],
            debug: true,
            report_data: ReportData([4; 64]),
            issued_at: UnixTime(0x0102_0304_0506_0708),
            signer: [5; 32],
        }
    }

    #[test]
    fn encode__should_follow_the_documented_layout() {
        let bytes = sample().encode(&[6; 64]);
        assert_eq!(bytes.len(), FIXED_LEN + 7);
        assert_eq!(&bytes[..8], b"kn-simev");
        assert_eq!(&bytes[8..11], &[0, 1, 7]);
        assert_eq!(&bytes[11..18], b"sim-amd");
        assert_eq!(&bytes[18..50], &[3; 32]);
        assert_eq!(bytes[50], 1);
        assert_eq!(&bytes[51..115], &[4; 64]);
        assert_eq!(&bytes[115..123], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[123..155], &[5; 32]);
        assert_eq!(&bytes[155..], &[6; 64]);
    }

    #[test]
    fn decode__should_invert_encode() {
        let bytes = sample().encode(&[6; 64]);
        let (body, sig) = decode(&bytes).unwrap();
        assert_eq!(body, sample());
        assert_eq!(sig, [6; 64]);
    }

    #[test]
    fn decode__should_refuse_truncation_trailing_bytes_and_bad_flags() {
        let bytes = sample().encode(&[6; 64]);
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "{n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode(&long).is_err());
        let mut flag = bytes.clone();
        flag[50] = 2;
        assert!(decode(&flag).is_err());
        let mut version = bytes;
        version[9] = 2;
        assert!(decode(&version).is_err());
    }
}
