//! Evidence as it travels: the platform it says it comes from, its binary form, and any
//! extra bytes the platform returned with it.
//!
//! Evidence on the wire names its platform; [`crate::detect`] guesses the platform of
//! bare bytes for the CLI only.

use crate::types::Platform;

/// A piece of attestation evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The platform that produced it (and whose verifier must take it).
    pub platform: Platform,
    /// The evidence in the platform's binary form (what the verifiers take).
    pub bytes: Vec<u8>,
    /// Extra bytes the platform returned alongside, when any (configfs-tsm `auxblob`:
    /// the SEV-SNP certificate table with the VCEK/VLEK, if the host provides it).
    pub aux: Option<Vec<u8>>,
}

impl Evidence {
    /// Evidence of `platform` without extra bytes.
    pub fn new(platform: Platform, bytes: impl Into<Vec<u8>>) -> Evidence {
        Evidence {
            platform,
            bytes: bytes.into(),
            aux: None,
        }
    }
}
