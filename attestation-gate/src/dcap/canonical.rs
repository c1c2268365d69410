//! The bytes of a DCAP quote that no signature covers, held to one encoding.
//!
//! dcap-qvl verifies what it reads and ignores the rest, so a genuine quote used to stay
//! valid with many changes (measured on the recorded TDX v4 quote: 946 of 4,374
//! single-bit flips past the quote body still verified): the certification data type,
//! the length fields (which may grow into trailing padding), whitespace inside the PEM
//! chain, any byte of the root certificate copy (the pinned root is the trust anchor),
//! and the bytes after the signature data. This check, run on quotes dcap-qvl accepted,
//! requires:
//!
//! * every length field to fill its container exactly (Intel's `Quote` layout: v3 body
//!   384 bytes, v4 584, v5 the size its header gives; then the signature data: ECDSA
//!   signature 64, attestation key 64, and for v3 the QE report, its signature and QE
//!   authentication data directly, for v4/v5 certification data of type 6 wrapping
//!   them), with the inner certification data of type 5 (the PCK chain, PEM);
//! * the PEM chain to be exactly the RFC 7468 strict encoding (LF, 64 columns) of its
//!   certificates, optionally followed by one NUL byte (as Intel's QE writes it), to
//!   hold three certificates, and the last one to be the pinned root;
//! * every byte after the signature data to be zero (real quotes are zero-padded
//!   buffers; the recorded ones carry 70 and 3,065 such bytes).
//!
//! Hand-written reads at fixed offsets: dcap-qvl's parser does not report how many bytes
//! each field consumed, and these are plain little-endian length-prefixed fields.

use x509_cert::der::pem::LineEnding;
use x509_cert::der::EncodePem;
use x509_cert::Certificate;

use crate::error::Error;

const WHAT: &str = "DCAP quote";
const HEADER: usize = 48;
const QE_REPORT: usize = 384;
const SIG: usize = 64;
const KEY: usize = 64;
/// Certification data type: PCK certificate chain (PEM).
const PCK_CHAIN: u16 = 5;
/// Certification data type: QE report certification data (v4, v5).
const QE_REPORT_DATA: u16 = 6;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let next = self.at.checked_add(n).ok_or(Error::malformed(WHAT))?;
        if next > self.end {
            return Err(Error::malformed(WHAT));
        }
        let out = self
            .bytes
            .get(self.at..next)
            .ok_or(Error::malformed(WHAT))?;
        self.at = next;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes(
            b.try_into().map_err(|_| Error::malformed(WHAT))?,
        ))
    }

    fn u32(&mut self) -> Result<usize, Error> {
        let b = self.take(4)?;
        let v = u32::from_le_bytes(b.try_into().map_err(|_| Error::malformed(WHAT))?);
        usize::try_from(v).map_err(|_| Error::malformed(WHAT))
    }

    /// A reader over the next `n` bytes; this one skips past them.
    fn sub(&mut self, n: usize) -> Result<Reader<'a>, Error> {
        let start = self.at;
        self.take(n)?;
        Ok(Reader {
            bytes: self.bytes,
            at: start,
            end: self.at,
        })
    }

    /// All of this reader's bytes must have been read.
    fn finish(&self, what: &'static str) -> Result<(), Error> {
        if self.at != self.end {
            return Err(Error::NonCanonical {
                what,
                offset: self.at,
            });
        }
        Ok(())
    }
}

/// Checks the unsigned structure of `quote` (see the module documentation); `root_der`
/// is the pinned root the chain must end with. Returns the quote's PCK chain.
pub(crate) fn check(quote: &[u8], root_der: &[u8]) -> Result<Vec<Certificate>, Error> {
    let mut r = Reader {
        bytes: quote,
        at: 0,
        end: quote.len(),
    };
    let version = r.u16()?;
    r.take(HEADER.saturating_sub(2))?;
    match version {
        3 => {
            r.take(QE_REPORT)?;
        }
        4 => {
            r.take(584)?;
        }
        5 => {
            r.u16()?;
            let size = r.u32()?;
            r.take(size)?;
        }
        _ => return Err(Error::malformed(WHAT)),
    }
    let sig_len = r.u32()?;
    let mut sig = r.sub(sig_len)?;
    sig.take(SIG)?;
    sig.take(KEY)?;
    let chain = if version == 3 {
        qe_part(&mut sig, root_der)?
    } else {
        if sig.u16()? != QE_REPORT_DATA {
            return Err(Error::malformed(
                "DCAP certification data type (expected 6)",
            ));
        }
        let size = sig.u32()?;
        let mut inner = sig.sub(size)?;
        let chain = qe_part(&mut inner, root_der)?;
        inner.finish("DCAP QE report certification data")?;
        chain
    };
    sig.finish("DCAP quote signature data")?;
    // After the signature data: zero padding only.
    let tail_start = r.at;
    if let Some(i) = quote
        .get(tail_start..)
        .unwrap_or_default()
        .iter()
        .position(|b| *b != 0)
    {
        return Err(Error::NonCanonical {
            what: "DCAP quote (bytes after the signature data)",
            offset: tail_start.saturating_add(i),
        });
    }
    Ok(chain)
}

/// QE report, its signature, QE authentication data and the type-5 PCK chain; the chain
/// must be canonical.
fn qe_part(r: &mut Reader<'_>, root_der: &[u8]) -> Result<Vec<Certificate>, Error> {
    r.take(QE_REPORT)?;
    r.take(SIG)?;
    let auth = usize::from(r.u16()?);
    r.take(auth)?;
    if r.u16()? != PCK_CHAIN {
        return Err(Error::malformed(
            "DCAP certification data type (expected 5)",
        ));
    }
    let size = r.u32()?;
    let at = r.at;
    let pem = r.take(size)?;
    check_pem_chain(pem, at, root_der)
}

/// `pem` (at offset `at` of the quote) must be the strict PEM of three certificates,
/// the last the pinned root, optionally followed by one NUL.
fn check_pem_chain(pem: &[u8], at: usize, root_der: &[u8]) -> Result<Vec<Certificate>, Error> {
    let text = pem.strip_suffix(b"\0").unwrap_or(pem);
    // x509-cert 0.2's `load_pem_chain` computes `len - 1` after stripping trailing CR/LF,
    // which overflows (a panic with overflow checks) on input that is empty or only line
    // breaks; such a chain is malformed anyway.
    if text.iter().all(|b| *b == b'\r' || *b == b'\n') {
        return Err(Error::malformed("DCAP PCK certificate chain (PEM)"));
    }
    let certs = Certificate::load_pem_chain(text)
        .map_err(|_| Error::malformed("DCAP PCK certificate chain (PEM)"))?;
    let mut canonical = Vec::with_capacity(text.len());
    for c in &certs {
        let p = c
            .to_pem(LineEnding::LF)
            .map_err(|_| Error::malformed("DCAP PCK certificate chain (PEM)"))?;
        canonical.extend_from_slice(p.as_bytes());
    }
    if let Some(i) =
        (0..text.len().max(canonical.len())).find(|i| text.get(*i) != canonical.get(*i))
    {
        return Err(Error::NonCanonical {
            what: "DCAP PCK certificate chain (PEM)",
            offset: at.saturating_add(i),
        });
    }
    let root = certs
        .get(2)
        .and_then(|c| x509_cert::der::Encode::to_der(c).ok());
    if certs.len() != 3 || root.as_deref() != Some(root_der) {
        return Err(Error::NonCanonical {
            what: "DCAP PCK certificate chain (must be PCK, CA and the pinned root)",
            offset: at,
        });
    }
    Ok(certs)
}

/// A PCK chain given in the collateral (dcap-qvl then uses it instead of the quote's)
/// must hold the same certificates as the quote's own chain; otherwise the quote's
/// chain would be unverified bytes.
pub(crate) fn check_collateral_chain(pem: &str, quote_chain: &[Certificate]) -> Result<(), Error> {
    let mismatch = || Error::CollateralMismatch {
        what: "the collateral's PCK certificate chain is not the quote's",
    };
    // Trailing line breaks stripped here: x509-cert 0.2's `load_pem_chain` overflows on
    // input that is empty after stripping them.
    let text = pem.trim_end_matches(['\0', '\r', '\n']);
    if text.is_empty() {
        return Err(mismatch());
    }
    let certs = Certificate::load_pem_chain(text.as_bytes()).map_err(|_| mismatch())?;
    if certs != quote_chain {
        return Err(mismatch());
    }
    Ok(())
}
