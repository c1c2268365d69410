// `deny`, not `forbid`: src/attest/ioctl.rs (feature `attester`, Linux x86_64) is the
// one module allowed to use `unsafe`, for the raw /dev/tdx_guest and /dev/sev-guest
// ioctls. Everything else stays free of it.
#![deny(unsafe_code)]
#![deny(missing_docs)]
// The README's example (a doctest) uses the simulated platform.
#![cfg_attr(feature = "simulated", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "simulated"),
    doc = "Offline verification of TEE attestation evidence into normalized claims, \
           measurement policy, and attesters. The crate README (shown with the \
           `simulated` feature) has the overview and an example."
)]

#[cfg(feature = "attester")]
pub mod attest;
pub mod binding;
pub mod cache;
pub mod claims;
pub mod collateral;
#[cfg(any(feature = "tdx", feature = "sgx"))]
pub mod dcap;
pub mod detect;
pub mod error;
pub mod evidence;
pub mod measure;
#[cfg(feature = "nitro")]
pub mod nitro;
pub mod peer;
pub mod policy;
#[cfg(feature = "sev_snp")]
pub mod sev_snp;
#[cfg(feature = "simulated")]
pub mod simulated;
pub mod types;
pub mod verifiers;

pub use binding::{Binding, Purpose};
pub use cache::{Cache, CacheStats};
pub use claims::{
    Claims, DcapTcb, NitroRaw, RawClaims, SevSnpRaw, SgxRaw, SimulatedRaw, SnpSigner, TdxRaw,
    Validity,
};
pub use collateral::Collateral;
pub use error::Error;
pub use evidence::Evidence;
pub use peer::{appraise_peer, PeerRecord};
pub use policy::{appraise, Accepted, Policy, PolicyViolation};
pub use types::{
    Measurement, Platform, ProductLine, ReportData, SnpTcb, SnpTcbComponent, TcbStatus, UnixTime,
    UnknownCode, Vendor,
};
pub use verifiers::Verifiers;

/// One verifier per platform (STYLE.md §3); [`VerifyEvidence::verify`] is the one
/// public way to verify evidence ([`Verifiers`] dispatches to it by platform).
///
/// Verification is offline and pure: signatures and certificate chains are checked
/// against roots pinned in this crate, and every certificate, CRL and collateral item
/// must be valid at `now`. Genuine evidence becomes [`Claims`]; policy is applied
/// afterwards by [`appraise`]. A verifier that caches (see [`cache`]) owns its cache
/// from construction; a cache hit never accepts what a cold verification would refuse.
pub trait VerifyEvidence {
    /// The platform this verifier handles.
    fn platform(&self) -> Platform;

    /// Verifies `evidence` (its `bytes` in the platform's binary form, already decoded
    /// from any text encoding) with `collateral` at `now`. Evidence of another platform
    /// than [`VerifyEvidence::platform`] is refused ([`Error::PlatformMismatch`]).
    fn verify(
        &self,
        evidence: &Evidence,
        collateral: &Collateral,
        now: UnixTime,
    ) -> Result<Claims, Error>;
}

/// Refuses evidence that names another platform than the verifier's.
#[allow(dead_code)] // no platform compiled in
pub(crate) fn expect_platform(expected: Platform, evidence: &Evidence) -> Result<(), Error> {
    if evidence.platform == expected {
        Ok(())
    } else {
        Err(Error::PlatformMismatch {
            expected,
            found: evidence.platform,
        })
    }
}
