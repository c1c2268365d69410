//! Pinned AMD roots per product line: ASK, ARK and ASVK, as AMD's KDS publishes them
//! (`/vcek/v1/{line}/cert_chain`, `/vlek/v1/{line}/cert_chain`); copies from
//! `shared/fixtures/attestation/sev-snp/amd-roots/`. SHA-256 of each ARK DER is pinned
//! in the tests.

use x509_cert::Certificate;

use crate::error::Error;

/// An AMD EPYC product line with its own ARK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProductLine {
    /// EPYC 7003 (Zen 3).
    Milan,
    /// EPYC 9004 (Zen 4).
    Genoa,
    /// EPYC 9005 (Zen 5).
    Turin,
}

/// The certificates pinned for one product line.
#[derive(Debug, Clone)]
pub(crate) struct Roots {
    pub(crate) ask: Certificate,
    pub(crate) ark: Certificate,
    pub(crate) asvk: Certificate,
}

impl ProductLine {
    /// Every pinned product line.
    pub const ALL: [ProductLine; 3] = [ProductLine::Milan, ProductLine::Genoa, ProductLine::Turin];

    fn pem(self) -> &'static [u8] {
        match self {
            ProductLine::Milan => include_bytes!("milan_ask_ark_asvk.pem"),
            ProductLine::Genoa => include_bytes!("genoa_ask_ark_asvk.pem"),
            ProductLine::Turin => include_bytes!("turin_ask_ark_asvk.pem"),
        }
    }

    /// The pinned ASK, ARK and ASVK.
    pub(crate) fn roots(self) -> Result<Roots, Error> {
        let bad = || Error::UntrustedRoot {
            what: "pinned AMD root bundle",
        };
        let certs = Certificate::load_pem_chain(self.pem()).map_err(|_| bad())?;
        match <[Certificate; 3]>::try_from(certs) {
            Ok([ask, ark, asvk]) => Ok(Roots { ask, ark, asvk }),
            Err(_) => Err(bad()),
        }
    }
}
