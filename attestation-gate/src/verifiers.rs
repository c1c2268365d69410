//! One entry point over every compiled-in verifier: route evidence to its platform's
//! verifier, or report [`Error::PlatformDisabled`].

use std::sync::Arc;

use crate::cache::VerifiedCache;
use crate::claims::Claims;
use crate::collateral::Collateral;
use crate::detect::{self, Detected};
use crate::error::Error;
use crate::types::{Platform, UnixTime};
#[allow(unused_imports)] // unused when every platform feature is off
use crate::VerifyEvidence;

/// The set of verifiers a node or the CLI uses.
///
/// Hardware platforms use their pinned roots. Simulated evidence is verified only when
/// a `simulated::SimulatedVerifier` with devnet keys is installed; without
/// one it fails with [`Error::UntrustedRoot`]. (Policy still refuses it unless the
/// simulated platform is explicitly allowed.)
///
/// Each `Verifiers` holds a [`VerifiedCache`] (clones share it) through which TDX,
/// SGX, SEV-SNP and Nitro verifications reuse collateral and certificate-chain checks
/// made before (see [`crate::cache`]); a cache hit never accepts what a cold
/// verification would refuse. [`Verifiers::with_cache`] shares one cache between
/// several `Verifiers`, and a cache of capacity 0 turns caching off.
#[derive(Debug, Clone, Default)]
pub struct Verifiers {
    #[cfg(feature = "sev_snp")]
    sev_snp: crate::sev_snp::SevSnpVerifier,
    #[cfg(feature = "simulated")]
    simulated: Option<crate::simulated::SimulatedVerifier>,
    cache: Arc<VerifiedCache>,
}

impl Verifiers {
    /// Verifiers for every compiled-in hardware platform, with a cache of
    /// [`crate::cache::DEFAULT_CAPACITY`] entries per platform.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `cache` instead of this value's own.
    pub fn with_cache(mut self, cache: Arc<VerifiedCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The cache in use.
    pub fn cache(&self) -> &Arc<VerifiedCache> {
        &self.cache
    }

    /// Also verify simulated evidence signed by the devnet keys `v` trusts.
    #[cfg(feature = "simulated")]
    pub fn with_simulated(mut self, v: crate::simulated::SimulatedVerifier) -> Self {
        self.simulated = Some(v);
        self
    }

    /// Verifies binary `evidence` of `platform`.
    #[cfg_attr(
        not(any(
            feature = "tdx",
            feature = "sgx",
            feature = "sev_snp",
            feature = "simulated"
        )),
        allow(unused_variables)
    )]
    pub fn verify(
        &self,
        platform: Platform,
        evidence: &[u8],
        collateral: &Collateral,
        now: UnixTime,
    ) -> Result<Claims, Error> {
        if !platform.is_enabled() {
            return Err(Error::PlatformDisabled(platform));
        }
        match platform {
            #[cfg(feature = "tdx")]
            Platform::Tdx => {
                crate::dcap::TdxVerifier.verify_cached(evidence, collateral, now, &self.cache)
            }
            #[cfg(feature = "sgx")]
            Platform::Sgx => {
                crate::dcap::SgxVerifier.verify_cached(evidence, collateral, now, &self.cache)
            }
            #[cfg(feature = "sev_snp")]
            Platform::SevSnp => self
                .sev_snp
                .verify_cached(evidence, collateral, now, &self.cache),
            #[cfg(feature = "nitro")]
            Platform::Nitro => crate::nitro::NitroVerifier::new().verify_document_cached(
                evidence,
                now,
                &self.cache,
            ),
            #[cfg(feature = "simulated")]
            Platform::Simulated => match &self.simulated {
                Some(v) => v.verify(evidence, collateral, now),
                None => Err(Error::UntrustedRoot {
                    what: "simulated evidence (no devnet key is trusted here)",
                }),
            },
            #[allow(unreachable_patterns)]
            other => Err(Error::PlatformDisabled(other)),
        }
    }

    /// Decodes `input` (raw, hex, base64 or CBOR-wrapped), recognises the platform and
    /// verifies it.
    pub fn verify_any(
        &self,
        input: &[u8],
        collateral: &Collateral,
        now: UnixTime,
    ) -> Result<(Detected, Claims), Error> {
        let detected = detect::detect(input)?;
        let claims = self.verify(detected.platform, &detected.bytes, collateral, now)?;
        Ok((detected, claims))
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    /// Runs in builds without the `tdx` feature, e.g.
    /// `cargo test -p attestation-gate --no-default-features --features sgx --lib`.
    #[cfg(not(feature = "tdx"))]
    #[test]
    fn verify__should_report_a_disabled_platform() {
        let quote = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/attestation/tdx/dcapqvl-v4-uptodate/quote.bin"
        ))
        .unwrap();
        let e = Verifiers::new()
            .verify_any(&quote, &Collateral::new(), UnixTime(1751328000))
            .unwrap_err();
        assert!(matches!(e, Error::PlatformDisabled(Platform::Tdx)), "{e:?}");
        assert_eq!(e.kind(), "platform_disabled");
    }

    #[test]
    fn verify__should_refuse_simulated_without_devnet_keys() {
        let e = Verifiers::new()
            .verify(
                Platform::Simulated,
                b"kn-simev",
                &Collateral::new(),
                UnixTime(0),
            )
            .unwrap_err();
        if Platform::Simulated.is_enabled() {
            assert!(matches!(e, Error::UntrustedRoot { .. }), "{e:?}");
        } else {
            assert!(
                matches!(e, Error::PlatformDisabled(Platform::Simulated)),
                "{e:?}"
            );
        }
    }
}
