//! One entry point over every compiled-in verifier: route evidence to its platform's
//! verifier, or report [`Error::PlatformDisabled`].

use crate::cache::CacheStats;
use crate::claims::Claims;
use crate::collateral::Collateral;
use crate::detect::{self, Detected};
use crate::error::Error;
use crate::evidence::Evidence;
use crate::types::{Platform, UnixTime};
use crate::VerifyEvidence;

/// The set of verifiers a node or the CLI uses, each built once.
///
/// Hardware platforms use their pinned roots. Simulated evidence is verified only when
/// a `simulated::SimulatedVerifier` with devnet keys is installed; without
/// one it fails with [`Error::UntrustedRoot`]. (Policy still refuses it unless the
/// simulated platform is explicitly allowed.)
///
/// The TDX, SGX, SEV-SNP and Nitro verifiers each own a cache (see [`crate::cache`])
/// through which they reuse collateral and certificate-chain checks made before;
/// clones of a `Verifiers` share them, and a cache hit never accepts what a cold
/// verification would refuse. [`Verifiers::with_cache_capacity`] sets their size (0
/// turns caching off).
#[derive(Debug, Clone, Default)]
pub struct Verifiers {
    #[cfg(feature = "tdx")]
    tdx: crate::dcap::TdxVerifier,
    #[cfg(feature = "sgx")]
    sgx: crate::dcap::SgxVerifier,
    #[cfg(feature = "sev_snp")]
    sev_snp: crate::sev_snp::SevSnpVerifier,
    #[cfg(feature = "nitro")]
    nitro: crate::nitro::NitroVerifier,
    #[cfg(feature = "simulated")]
    simulated: Option<crate::simulated::SimulatedVerifier>,
}

impl Verifiers {
    /// Verifiers for every compiled-in hardware platform, each with a cache of
    /// [`crate::cache::DEFAULT_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same verifiers with new caches of `capacity` entries each (`0`: none).
    #[allow(unused_mut, unused_variables)] // no cached platform compiled in
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        #[cfg(feature = "tdx")]
        {
            self.tdx = self.tdx.with_cache_capacity(capacity);
        }
        #[cfg(feature = "sgx")]
        {
            self.sgx = self.sgx.with_cache_capacity(capacity);
        }
        #[cfg(feature = "sev_snp")]
        {
            self.sev_snp = self.sev_snp.with_cache_capacity(capacity);
        }
        #[cfg(feature = "nitro")]
        {
            self.nitro = self.nitro.with_cache_capacity(capacity);
        }
        self
    }

    /// The counters of every verifier's cache, added up.
    pub fn cache_stats(&self) -> CacheStats {
        #[allow(unused_mut)] // no cached platform compiled in
        let mut stats = CacheStats::default();
        #[cfg(feature = "tdx")]
        {
            stats = stats.plus(self.tdx.cache_stats());
        }
        #[cfg(feature = "sgx")]
        {
            stats = stats.plus(self.sgx.cache_stats());
        }
        #[cfg(feature = "sev_snp")]
        {
            stats = stats.plus(self.sev_snp.cache().stats());
        }
        #[cfg(feature = "nitro")]
        {
            stats = stats.plus(self.nitro.cache().stats());
        }
        stats
    }

    /// Also verify simulated evidence signed by the devnet keys `v` trusts.
    #[cfg(feature = "simulated")]
    pub fn with_simulated(mut self, v: crate::simulated::SimulatedVerifier) -> Self {
        self.simulated = Some(v);
        self
    }

    /// The verifier of `platform`, if compiled in (and, for simulated evidence,
    /// installed).
    fn verifier(&self, platform: Platform) -> Result<&dyn VerifyEvidence, Error> {
        if !platform.is_enabled() {
            return Err(Error::PlatformDisabled(platform));
        }
        match platform {
            #[cfg(feature = "tdx")]
            Platform::Tdx => Ok(&self.tdx),
            #[cfg(feature = "sgx")]
            Platform::Sgx => Ok(&self.sgx),
            #[cfg(feature = "sev_snp")]
            Platform::SevSnp => Ok(&self.sev_snp),
            #[cfg(feature = "nitro")]
            Platform::Nitro => Ok(&self.nitro),
            #[cfg(feature = "simulated")]
            Platform::Simulated => match &self.simulated {
                Some(v) => Ok(v),
                None => Err(Error::UntrustedRoot {
                    what: "simulated evidence (no devnet key is trusted here)",
                }),
            },
            #[allow(unreachable_patterns)]
            other => Err(Error::PlatformDisabled(other)),
        }
    }

    /// Verifies `evidence` with the verifier of the platform it names.
    pub fn verify(
        &self,
        evidence: &Evidence,
        collateral: &Collateral,
        now: UnixTime,
    ) -> Result<Claims, Error> {
        self.verifier(evidence.platform)?
            .verify(evidence, collateral, now)
    }

    /// Decodes `input` (raw, hex, base64 or CBOR-wrapped), recognises the platform and
    /// verifies it. For the CLI: evidence on the wire names its platform
    /// ([`Verifiers::verify`]).
    pub fn verify_any(
        &self,
        input: &[u8],
        collateral: &Collateral,
        now: UnixTime,
    ) -> Result<(Detected, Claims), Error> {
        let detected = detect::detect(input)?;
        let evidence = Evidence::new(detected.platform, detected.bytes.clone());
        let claims = self.verify(&evidence, collateral, now)?;
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
                &Evidence::new(Platform::Simulated, *b"kn-simev"),
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
