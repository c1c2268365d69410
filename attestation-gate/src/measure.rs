//! Reading the identity fields of evidence **without verifying it**, for
//! `kms attest measure`: a voter takes the evidence of a build they reviewed and prints
//! the 32-byte digest to approve (docs/PROTOCOL.md). Nothing here is a trust decision;
//! the result is [`RawClaims`], never [`crate::Claims`].
//!
//! Parsing is the verifiers' own, strict parsing (dcap-qvl's quote parser,
//! `sev_snp::SnpReport`, the Nitro document decoder and the simulated evidence
//! decoder), stopped before any signature or certificate check; so evidence the
//! verifier could not even decode is not measured either. Tests check that the digest
//! equals the one the verifier reports for the same evidence.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

#[allow(unused_imports)] // unused when every platform feature is off
use crate::claims::RawClaims;
use crate::detect::{self, Detected};
use crate::error::Error;
use crate::types::Platform;

/// Decodes `input`, recognises the platform and reads its identity fields, unverified.
pub fn measure_unverified(input: &[u8]) -> Result<(Detected, RawClaims), Error> {
    let detected = detect::detect(input)?;
    let raw = raw_fields(detected.platform, &detected.bytes)?;
    Ok((detected, raw))
}

#[cfg_attr(
    not(all(
        feature = "tdx",
        feature = "sgx",
        feature = "sev_snp",
        feature = "nitro",
        feature = "simulated"
    )),
    allow(unused_variables)
)]
fn raw_fields(platform: Platform, bytes: &[u8]) -> Result<RawClaims, Error> {
    match platform {
        #[cfg(any(feature = "tdx", feature = "sgx"))]
        Platform::Tdx | Platform::Sgx if platform.is_enabled() => dcap_raw(bytes),
        #[cfg(feature = "sev_snp")]
        Platform::SevSnp => {
            let r = crate::sev_snp::SnpReport::parse(bytes)?;
            Ok(RawClaims::SevSnp(crate::sev_snp::raw_claims(&r, None)))
        }
        #[cfg(feature = "nitro")]
        Platform::Nitro => crate::nitro::raw_unverified(bytes).map(RawClaims::Nitro),
        #[cfg(feature = "simulated")]
        Platform::Simulated => crate::simulated::raw_unverified(bytes).map(RawClaims::Simulated),
        other => Err(Error::PlatformDisabled(other)),
    }
}

#[cfg(any(feature = "tdx", feature = "sgx"))]
fn dcap_raw(bytes: &[u8]) -> Result<RawClaims, Error> {
    let quote = dcap_qvl::quote::Quote::parse(bytes).map_err(|_| Error::malformed("DCAP quote"))?;
    Ok(crate::dcap::raw_claims(&quote.report).0)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn measure__should_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = measure_unverified(&bytes);
        }

        #[test]
        fn measure__should_never_panic_on_platform_prefixes(
            prefix in prop_oneof![
                Just(b"kn-simev\x00\x01".to_vec()),
                Just(vec![0x84u8]),
                Just(vec![0xd2u8, 0x84]),
            ],
            tail in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let mut b = prefix;
            b.extend_from_slice(&tail);
            let _ = measure_unverified(&b);
        }
    }
}
