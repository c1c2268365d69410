//! The SEV-SNP `ATTESTATION_REPORT` structure (SNP ABI spec 56860, table 23), read at
//! fixed offsets without trusting any length inside it.

use crate::claims::SnpSigner;
use crate::error::Error;

/// Size of a report.
pub const REPORT_LEN: usize = 0x4A0;
/// End of the signed region (start of the signature).
pub const SIGNED_LEN: usize = 0x2A0;
/// Width of each of R and S in the signature field (little-endian, zero-extended).
const SCALAR_FIELD: usize = 72;
/// Bytes of a P-384 scalar; the rest of each 72-byte field must be zero.
const SCALAR: usize = 48;
/// Start of the signature field's reserved tail (after R and S), which must be zero.
pub const SIGNATURE_RESERVED: usize = SIGNED_LEN + 2 * SCALAR_FIELD;

/// A parsed report. Fields are copies; [`SnpReport::signed_bytes`] is the exact signed
/// region of the bytes it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnpReport {
    bytes: Vec<u8>,
    /// Report format version (2 to 5).
    pub version: u32,
    /// Guest policy (bit 19: debug).
    pub policy: u64,
    /// VM privilege level.
    pub vmpl: u32,
    /// Which key signed the report.
    pub signer: SnpSigner,
    /// REPORT_DATA.
    pub report_data: [u8; 64],
    /// MEASUREMENT.
    pub measurement: [u8; 48],
    /// HOST_DATA.
    pub host_data: [u8; 32],
    /// ID_KEY_DIGEST.
    pub id_key_digest: [u8; 48],
    /// AUTHOR_KEY_DIGEST.
    pub author_key_digest: [u8; 48],
    /// REPORTED_TCB (u64 LE).
    pub reported_tcb: u64,
    /// CHIP_ID.
    pub chip_id: [u8; 64],
    /// CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP (0x188..0x18B), present from report
    /// version 3 on (before, these bytes are reserved).
    pub cpuid: Option<[u8; 3]>,
}

fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The unsigned bytes the ABI fixes to zero (SNP ABI `SIGNATURE` for ECDSA P-384: R and
/// S as 72-byte little-endian fields holding 48-byte scalars, then 368 reserved bytes):
/// the top 24 bytes of R, of S, and the reserved tail. The signature covers none of
/// them, so each must be zero or the report has many encodings.
fn check_unsigned_zeros(bytes: &[u8]) -> Result<(), Error> {
    const R_HIGH: usize = SIGNED_LEN + SCALAR;
    const S: usize = SIGNED_LEN + SCALAR_FIELD;
    const S_HIGH: usize = S + SCALAR;
    let zero_ranges = [
        R_HIGH..S,
        S_HIGH..SIGNATURE_RESERVED,
        SIGNATURE_RESERVED..REPORT_LEN,
    ];
    for range in zero_ranges {
        let start = range.start;
        let slice = bytes.get(range).ok_or(Error::Malformed {
            what: "SEV-SNP report",
        })?;
        if let Some(i) = slice.iter().position(|b| *b != 0) {
            return Err(Error::NonCanonical {
                what: "SEV-SNP report signature field",
                offset: start.saturating_add(i),
            });
        }
    }
    Ok(())
}

impl SnpReport {
    /// Parses a report; never panics.
    pub fn parse(bytes: &[u8]) -> Result<SnpReport, Error> {
        let bad = |what| Error::Malformed { what };
        if bytes.len() != REPORT_LEN {
            return Err(bad("SEV-SNP report (must be 1184 bytes)"));
        }
        let u32_at = |at| array::<4>(bytes, at).map(u32::from_le_bytes);
        let u64_at = |at| array::<8>(bytes, at).map(u64::from_le_bytes);
        let version = u32_at(0x00).ok_or(bad("SEV-SNP report"))?;
        if !(2..=5).contains(&version) {
            return Err(bad("SEV-SNP report version"));
        }
        let sig_algo = u32_at(0x34).ok_or(bad("SEV-SNP report"))?;
        if sig_algo != 1 {
            return Err(bad("SEV-SNP signature algorithm (expected ECDSA P-384)"));
        }
        let flags = u32_at(0x48).ok_or(bad("SEV-SNP report"))?;
        let signer = match (flags >> 2) & 0b111 {
            0 => SnpSigner::Vcek,
            1 => SnpSigner::Vlek,
            _ => return Err(bad("SEV-SNP signing key field")),
        };
        check_unsigned_zeros(bytes)?;
        let r = || bad("SEV-SNP report");
        Ok(SnpReport {
            bytes: bytes.to_vec(),
            version,
            policy: u64_at(0x08).ok_or_else(r)?,
            vmpl: u32_at(0x30).ok_or_else(r)?,
            signer,
            report_data: array(bytes, 0x50).ok_or_else(r)?,
            measurement: array(bytes, 0x90).ok_or_else(r)?,
            host_data: array(bytes, 0xC0).ok_or_else(r)?,
            id_key_digest: array(bytes, 0xE0).ok_or_else(r)?,
            author_key_digest: array(bytes, 0x110).ok_or_else(r)?,
            reported_tcb: u64_at(0x180).ok_or_else(r)?,
            chip_id: array(bytes, 0x1A0).ok_or_else(r)?,
            cpuid: if version >= 3 {
                Some(array(bytes, 0x188).ok_or_else(r)?)
            } else {
                None
            },
        })
    }

    /// The signed region, bytes `0x000..0x2A0`.
    pub fn signed_bytes(&self) -> &[u8] {
        self.bytes.get(..SIGNED_LEN).unwrap_or_default()
    }

    /// The signature: R and S, 72 bytes little-endian each, at `0x2A0`; the top 24 bytes
    /// of each must be zero for P-384. `None` if not a valid P-384 signature.
    pub fn signature(&self) -> Option<p384::ecdsa::Signature> {
        let be48 = |at: usize| -> Option<[u8; 48]> {
            let le: [u8; 72] = array(&self.bytes, at)?;
            let (low, high) = le.split_at(48);
            if high.iter().any(|b| *b != 0) {
                return None;
            }
            let mut be: [u8; 48] = low.try_into().ok()?;
            be.reverse();
            Some(be)
        };
        let r = be48(SIGNED_LEN)?;
        let s = be48(SIGNED_LEN.checked_add(72)?)?;
        p384::ecdsa::Signature::from_scalars(r, s).ok()
    }
}
