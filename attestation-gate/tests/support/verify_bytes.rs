//! Verifying bare bytes as evidence of a verifier's own platform (the tests hold
//! fixtures as bytes; [`VerifyEvidence::verify`] takes [`Evidence`]).

use attestation_gate::{Claims, Collateral, Error, Evidence, UnixTime, VerifyEvidence};

/// [`VerifyEvidence::verify`] of `bytes` labelled with the verifier's platform.
pub trait VerifyBytes: VerifyEvidence {
    fn verify_bytes(
        &self,
        bytes: &[u8],
        collateral: &Collateral,
        now: UnixTime,
    ) -> Result<Claims, Error> {
        self.verify(&Evidence::new(self.platform(), bytes), collateral, now)
    }
}

impl<T: VerifyEvidence + ?Sized> VerifyBytes for T {}
