//! Pinned AMD roots per product line: ASK, ARK and ASVK, as AMD's KDS publishes them
//! (`/vcek/v1/{line}/cert_chain`, `/vlek/v1/{line}/cert_chain`); copies from
//! `shared/fixtures/attestation/sev-snp/amd-roots/`. SHA-256 of each ARK DER is pinned
//! in the tests.

use sev::certs::snp::Verifiable;
use x509_cert::Certificate;

use crate::error::Error;
pub use crate::types::ProductLine;

/// The certificates pinned for one product line, parsed, also in the `sev` crate's
/// form.
#[derive(Debug, Clone)]
pub(crate) struct Roots {
    pub(crate) ask: Certificate,
    pub(crate) ark: Certificate,
    pub(crate) asvk: Certificate,
    pub(crate) ask_sev: sev::certs::snp::Certificate,
    pub(crate) asvk_sev: sev::certs::snp::Certificate,
}

impl Roots {
    /// ARK self-signed, ARK signs ASK, ARK signs ASVK (RSA-PSS, by the `sev` crate).
    pub(crate) fn self_check(&self) -> bool {
        let ark = sev::certs::snp::Certificate::from(self.ark.clone());
        (&ark, &ark).verify().is_ok()
            && (&ark, &self.ask_sev).verify().is_ok()
            && (&ark, &self.asvk_sev).verify().is_ok()
    }
}

impl ProductLine {
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
            Ok([ask, ark, asvk]) => Ok(Roots {
                ask_sev: ask.clone().into(),
                asvk_sev: asvk.clone().into(),
                ask,
                ark,
                asvk,
            }),
            Err(_) => Err(bad()),
        }
    }
}
