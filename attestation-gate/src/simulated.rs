//! Simulated evidence: a development-only platform signed by a devnet Ed25519 key
//! (DESIGN §5). The byte format is normative in docs/PROTOCOL.md ("Simulated evidence
//! format"); Ed25519 is RFC 8032, verified strictly (`verify_strict`: no small-order
//! keys, canonical `S`).
//!
//! Simulated evidence is genuine only in the sense that a trusted devnet key signed it.
//! It never passes by itself: [`crate::appraise`] refuses [`crate::Platform::Simulated`]
//! unless the policy lists it, and the claims carry
//! [`crate::Vendor::Simulated`]`(label)` so a devnet can still mix simulated vendors
//! (`sim-intel`, `sim-amd`, `sim-aws`) for the committee diversity rule.
//!
//! # Security
//!
//! A devnet signing key is a secret: [`DevnetSigningKey`] zeroizes on drop and has no
//! `Debug`, `Clone` or `Display`. Anyone holding it can produce simulated evidence for
//! any measurement, which is why the platform must be refused in production policy.

mod format;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::claims::{Claims, RawClaims, SimulatedRaw};
use crate::collateral::Collateral;
use crate::error::Error;
use crate::evidence::Evidence;
use crate::types::{Platform, ReportData, UnixTime};
use crate::VerifyEvidence;

pub use format::{
    SimulatedEvidence, LABEL_PREFIX, MAGIC, MAX_LABEL_LEN, SIGNATURE_DOMAIN, VERSION,
};

/// The public half of a devnet key, trusted by a [`SimulatedVerifier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DevnetPublicKey(VerifyingKey);

impl DevnetPublicKey {
    /// Parses a 32-byte Ed25519 public key; refuses points that do not decode and
    /// small-order (weak) keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::Malformed {
            what: "devnet public key",
        })?;
        if key.is_weak() {
            return Err(Error::Malformed {
                what: "devnet public key (small order)",
            });
        }
        Ok(DevnetPublicKey(key))
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Lower-case hex of the 32 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
}

/// A devnet signing key (Ed25519 seed). Zeroized on drop; no `Debug`, no `Clone`.
pub struct DevnetSigningKey(SigningKey);

impl DevnetSigningKey {
    /// The key with this 32-byte seed. The caller draws the seed from a CSPRNG (this
    /// crate takes randomness as an argument) and should zeroize its copy.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        DevnetSigningKey(SigningKey::from_bytes(seed))
    }

    /// The public half.
    pub fn public_key(&self) -> DevnetPublicKey {
        DevnetPublicKey(self.0.verifying_key())
    }
}

// `SigningKey` zeroizes itself on drop (ed25519-dalek `zeroize` feature); this assertion
// keeps that true if the dependency's features change.
const _: fn() = || {
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<SigningKey>();
};

/// Produces simulated evidence: the "attester" of the simulated platform.
///
/// It lives next to the format (not in the `attest` module) so that devnet nodes and
/// tests need no device access; it is still an attester, and the verifier never
/// calls it.
pub struct SimulatedAttester {
    key: DevnetSigningKey,
    vendor_label: String,
    image: [u8; 32],
    debug: bool,
}

impl SimulatedAttester {
    /// An attester for a simulated enclave running `image` (the digest that stands in
    /// for a launch measurement) under the simulated vendor `vendor_label`
    /// (`sim-` followed by `[a-z0-9-]`, at most [`MAX_LABEL_LEN`] bytes in all).
    pub fn new(key: DevnetSigningKey, vendor_label: &str, image: [u8; 32]) -> Result<Self, Error> {
        format::check_label(vendor_label.as_bytes())?;
        Ok(SimulatedAttester {
            key,
            vendor_label: vendor_label.to_owned(),
            image,
            debug: false,
        })
    }

    /// Claims debug mode in the evidence (policy refuses it unless it allows debug).
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The devnet public key a verifier must trust.
    pub fn public_key(&self) -> DevnetPublicKey {
        self.key.public_key()
    }

    /// Signed evidence binding `report_data`, stamped `issued_at`, labelled
    /// [`Platform::Simulated`] as evidence on the wire must be.
    ///
    /// Unlike the hardware attesters this is not an `attest::Attester`: the issue time
    /// comes from the caller, so tests and the devnet can stamp evidence at any time.
    pub fn attest(&self, report_data: &ReportData, issued_at: UnixTime) -> Evidence {
        Evidence::new(
            Platform::Simulated,
            self.attest_bytes(report_data, issued_at),
        )
    }

    /// The bytes of [`SimulatedAttester::attest`] alone (the simulated format of
    /// docs/PROTOCOL.md), for files and fuzz corpora that hold raw evidence.
    pub fn attest_bytes(&self, report_data: &ReportData, issued_at: UnixTime) -> Vec<u8> {
        let body = SimulatedEvidence {
            vendor_label: self.vendor_label.clone(),
            image: self.image,
            debug: self.debug,
            report_data: *report_data,
            issued_at,
            signer: self.public_key().to_bytes(),
        };
        let signed = body.signed_bytes();
        let signature = self.key.0.sign(&signed);
        body.encode(&signature.to_bytes())
    }
}

/// Verifies simulated evidence against a set of trusted devnet keys.
#[derive(Debug, Clone)]
pub struct SimulatedVerifier {
    trusted: Vec<DevnetPublicKey>,
}

impl SimulatedVerifier {
    /// A verifier that trusts exactly these devnet keys.
    pub fn new(trusted_devnet_keys: impl IntoIterator<Item = DevnetPublicKey>) -> Self {
        SimulatedVerifier {
            trusted: trusted_devnet_keys.into_iter().collect(),
        }
    }

    /// Order: decode (exact length, strict fields), the signer key is one of the
    /// trusted devnet keys ([`Error::UntrustedRoot`] otherwise), the Ed25519 signature
    /// ([`Error::BadSignature`]).
    fn verify_bytes(&self, evidence: &[u8]) -> Result<Claims, Error> {
        let (body, signature) = format::decode(evidence)?;
        let key = self
            .trusted
            .iter()
            .find(|k| k.to_bytes() == body.signer)
            .ok_or(Error::UntrustedRoot {
                what: "simulated evidence (signer is not a trusted devnet key)",
            })?;
        let signature = ed25519_dalek::Signature::from_bytes(&signature);
        key.0
            .verify_strict(&body.signed_bytes(), &signature)
            .map_err(|_| Error::BadSignature {
                what: "simulated evidence",
            })?;
        let raw = SimulatedRaw::new(body.vendor_label, body.image, body.debug);
        Ok(Claims::new(RawClaims::Simulated(raw))
            .with_report_data(Some(body.report_data))
            .with_issued_at(body.issued_at))
    }
}

/// The identity fields of simulated evidence, decoded with the verifier's strict
/// decoder but **not verified** (no key, no signature): for `kms attest measure`.
pub(crate) fn raw_unverified(evidence: &[u8]) -> Result<SimulatedRaw, Error> {
    let (body, _signature) = format::decode(evidence)?;
    Ok(SimulatedRaw::new(body.vendor_label, body.image, body.debug))
}

impl VerifyEvidence for SimulatedVerifier {
    fn platform(&self) -> Platform {
        Platform::Simulated
    }

    /// Simulated evidence needs no collateral; `now` is not used either (there are no
    /// certificates; the evidence age is a policy rule applied by [`crate::appraise`]).
    fn verify(
        &self,
        evidence: &Evidence,
        _collateral: &Collateral,
        _now: UnixTime,
    ) -> Result<Claims, Error> {
        crate::expect_platform(Platform::Simulated, evidence)?;
        self.verify_bytes(&evidence.bytes)
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn devnet_public_key__should_refuse_small_order_points() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(DevnetPublicKey::from_bytes(&identity).is_err());
    }

    #[test]
    fn attester__should_refuse_bad_labels() {
        for label in [
            "",
            "intel",
            "sim-",
            "sim-Intel",
            "sim-intel!",
            &"sim-a".repeat(10),
        ] {
            let key = DevnetSigningKey::from_seed(&[7; 32]);
            assert!(
                SimulatedAttester::new(key, label, [0; 32]).is_err(),
                "{label}"
            );
        }
    }
}
