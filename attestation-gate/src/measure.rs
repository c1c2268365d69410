//! Reading the identity fields of evidence **without verifying it**, for
//! `kms attest measure`: a voter takes the evidence of a build they reviewed and prints
//! the 32-byte digest to approve (docs/PROTOCOL.md). Nothing here is a trust decision;
//! the result is [`RawClaims`], never [`crate::Claims`].
//!
//! Parsing reuses the verifiers' parsers where they are public (dcap-qvl's quote
//! parser, [`crate::sev_snp::SnpReport`]); the Nitro payload and the simulated layout
//! are read here field by field, and tests check that the digest equals the one the
//! verifier reports for the same evidence.

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
            Ok(RawClaims::SevSnp(crate::sev_snp::raw_claims(&r)))
        }
        #[cfg(feature = "nitro")]
        Platform::Nitro => nitro_raw(bytes),
        #[cfg(feature = "simulated")]
        Platform::Simulated => simulated_raw(bytes),
        other => Err(Error::PlatformDisabled(other)),
    }
}

#[cfg(any(feature = "tdx", feature = "sgx"))]
fn dcap_raw(bytes: &[u8]) -> Result<RawClaims, Error> {
    let quote = dcap_qvl::quote::Quote::parse(bytes).map_err(|_| Error::malformed("DCAP quote"))?;
    Ok(crate::dcap::raw_claims(&quote.report).0)
}

#[cfg(feature = "nitro")]
fn nitro_raw(bytes: &[u8]) -> Result<RawClaims, Error> {
    use ciborium::Value;
    let bad = || Error::malformed("Nitro attestation document");
    let cose: Value = ciborium::de::from_reader(bytes).map_err(|_| bad())?;
    let cose = match cose {
        Value::Tag(18, inner) => *inner,
        v => v,
    };
    let payload = match cose {
        Value::Array(items) => match items.get(2) {
            Some(Value::Bytes(p)) => p.clone(),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    let map = match ciborium::de::from_reader::<Value, _>(payload.as_slice()).map_err(|_| bad())? {
        Value::Map(m) => m,
        _ => return Err(bad()),
    };
    let field = |name: &str| {
        map.iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v)
    };
    let opt_bytes = |name: &str| match field(name) {
        Some(Value::Bytes(b)) => Some(b.clone()),
        _ => None,
    };
    let pcrs = match field("pcrs") {
        Some(Value::Map(m)) => m,
        _ => return Err(bad()),
    };
    let pcr = |i: u64| -> Result<Vec<u8>, Error> {
        pcrs.iter()
            .find(|(k, _)| k.as_integer().and_then(|n| u64::try_from(n).ok()) == Some(i))
            .and_then(|(_, v)| v.as_bytes().cloned())
            .ok_or_else(bad)
    };
    let module_id = match field("module_id") {
        Some(Value::Text(t)) => t.clone(),
        _ => return Err(bad()),
    };
    Ok(RawClaims::Nitro(crate::claims::NitroRaw::new(
        pcr(0)?,
        pcr(1)?,
        pcr(2)?,
        module_id,
        opt_bytes("user_data"),
        opt_bytes("public_key"),
        opt_bytes("nonce"),
    )))
}

/// Reads the simulated layout (`simulated` module docs): magic, version u16 BE,
/// label_len u8, label, image (32), debug u8.
#[cfg(feature = "simulated")]
fn simulated_raw(bytes: &[u8]) -> Result<RawClaims, Error> {
    let bad = || Error::malformed("simulated evidence");
    let rest = bytes
        .strip_prefix(&crate::simulated::MAGIC[..])
        .ok_or_else(bad)?;
    let (version, rest) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
    if u16::from_be_bytes(*version) != crate::simulated::VERSION {
        return Err(bad());
    }
    let (&label_len, rest) = rest.split_first().ok_or_else(bad)?;
    let label = rest.get(..usize::from(label_len)).ok_or_else(bad)?;
    let rest = rest.get(usize::from(label_len)..).ok_or_else(bad)?;
    let label = std::str::from_utf8(label).map_err(|_| bad())?;
    let (image, rest) = rest.split_first_chunk::<32>().ok_or_else(bad)?;
    let debug = match rest.first() {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(bad()),
    };
    Ok(RawClaims::Simulated(crate::claims::SimulatedRaw::new(
        label.to_owned(),
        *image,
        debug,
    )))
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
