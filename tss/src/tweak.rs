//! Per-application signing keys (DESIGN §4.3, normative).
//!
//! ```text
//! tweak = int(tagged_hash("keynet/tweak/v1", xonly(P) || app_id || u8(len(path)) || path)) mod n
//!         tagged_hash(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m)
//! P_app = P + tweak·G
//! ```
//!
//! Shamir sharing is linear, so shifting every share `s_i` by the same `tweak` shares
//! `x + tweak`: each party signs with `s_i + tweak`, the coordinator checks shares under
//! `Y_i + tweak·G`, and the result is a BIP-340 signature under `xonly(P_app)`. This is
//! the only module that builds frost key packages from parts (through the `internals`
//! constructors); nothing else in the crate touches signing shares.
//!
//! frost-secp256k1-tr applies the BIP-341 taproot tweak only in `post_dkg` (frost's own
//! DKG, which keynet does not use) and in the `*_with_tweak` functions (which keynet
//! does not call). Its signing path only negates keys and nonces to even `y` (BIP-340),
//! so `P_app` is the key the signature verifies under. A test checks this with an
//! independent BIP-340 verifier.

use std::collections::BTreeMap;
use std::sync::Arc;

use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use frost_secp256k1_tr::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_secp256k1_tr::round1::{SigningCommitments, SigningNonces};
use frost_secp256k1_tr::round2::SignatureShare;
use frost_secp256k1_tr::{Identifier, Secp256K1Sha256TR, SigningPackage, VerifyingKey};
use k256::elliptic_curve::ops::Reduce;
use k256::{ProjectivePoint, Scalar, U256};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, FrostFailure};
use crate::prf::Identity;
use crate::sign::FrostKey;

/// BIP-340-style tag of the per-application tweak.
pub const TWEAK_TAG: &str = "keynet/tweak/v1";

/// `SHA256(SHA256(tag) || SHA256(tag) || m)` (BIP-340).
pub fn tagged_hash(tag: &str, m: &[u8]) -> [u8; 32] {
    let t = Sha256::digest(tag.as_bytes());
    Sha256::new()
        .chain_update(t)
        .chain_update(t)
        .chain_update(m)
        .finalize()
        .into()
}

/// 33-byte SEC1 compressed encoding of a verifying key.
pub fn compressed(key: &VerifyingKey) -> Result<[u8; 33], Error> {
    key.serialize()
        .ok()
        .and_then(|v| <[u8; 33]>::try_from(v.as_slice()).ok())
        .ok_or(Error::Frost(FrostFailure::Malformed))
}

/// The application's signing key `P_app` and the `tweak` that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSigningKey {
    tweak: Scalar,
    tweak_point: ProjectivePoint,
    key: VerifyingKey,
}

impl AppSigningKey {
    /// Computes `tweak` and `P_app` for `identity` from the group key `P`.
    pub fn new(group_key: &VerifyingKey, identity: &Identity) -> Result<Self, Error> {
        let p = compressed(group_key)?;
        let mut m = Vec::with_capacity(32 + 32 + 1 + identity.path().len());
        m.extend_from_slice(p.get(1..).unwrap_or_default());
        identity.encode_tail(&mut m);
        let digest = tagged_hash(TWEAK_TAG, &m);
        let tweak = <Scalar as Reduce<U256>>::reduce_bytes(&digest.into());
        let tweak_point = ProjectivePoint::GENERATOR * tweak;
        let key = VerifyingKey::new(group_key.to_element() + tweak_point);
        Ok(Self {
            tweak,
            tweak_point,
            key,
        })
    }

    /// `tweak` as a scalar.
    pub fn tweak(&self) -> &Scalar {
        &self.tweak
    }

    /// `P_app`, with its actual `y` parity.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// `xonly(P_app)`: the application's BIP-340 public key.
    pub fn xonly(&self) -> Result<[u8; 32], Error> {
        let c = compressed(&self.key)?;
        c.get(1..)
            .and_then(|x| <[u8; 32]>::try_from(x).ok())
            .ok_or(Error::Frost(FrostFailure::Malformed))
    }

    /// The committee's public package shifted by `tweak`: verifying shares
    /// `Y_i + tweak·G` and group key `P_app`. The coordinator aggregates with it.
    pub fn public_package(&self, public: &SecpPublicKeys) -> PublicKeyPackage {
        self.shift_public(public.package())
    }

    /// [`AppSigningKey::public_package`] for a bare frost package.
    pub fn shift_public(&self, package: &PublicKeyPackage) -> PublicKeyPackage {
        let shares: BTreeMap<_, _> = package
            .verifying_shares()
            .iter()
            .map(|(id, y)| (*id, VerifyingShare::new(y.to_element() + self.tweak_point)))
            .collect();
        PublicKeyPackage::new(shares, self.key, package.min_signers())
    }

    /// A signer's key shifted by `tweak`: signing share `s_i + tweak`, verifying
    /// share `Y_i + tweak·G`, group key `P_app` (`dkg::secp::SecpKeyShare::tweaked`).
    pub fn key_package(&self, share: &SecpKeyShare) -> TweakedKeyPackage {
        TweakedKeyPackage(Arc::new(share.tweaked(&self.tweak)))
    }

    /// [`AppSigningKey::key_package`] for a bare frost package (tests, benches).
    pub fn shift_secret(&self, package: &KeyPackage) -> KeyPackage {
        KeyPackage::new(
            *package.identifier(),
            SigningShare::new(package.signing_share().to_scalar() + self.tweak),
            VerifyingShare::new(package.verifying_share().to_element() + self.tweak_point),
            self.key,
            *package.min_signers(),
        )
    }
}

/// A signer's FROST key for one application.
///
/// # Security
///
/// Secret. No `Clone`, `Debug` or `Serialize`; the share stays inside
/// `dkg::secp::SecpKeyShare` (zeroized on drop), which runs frost's round functions.
pub struct TweakedKeyPackage(Arc<SecpKeyShare>);

impl TweakedKeyPackage {
    /// The key, for [`crate::sign::commit`].
    pub fn package(&self) -> &Self {
        self
    }
}

impl FrostKey<Secp256K1Sha256TR> for TweakedKeyPackage {
    fn identifier(&self) -> Identifier {
        self.0.identifier()
    }
    fn commit(&self, rng: &mut dyn CryptoRngCore) -> (SigningNonces, SigningCommitments) {
        self.0.commit(&mut &mut *rng)
    }
    fn sign(
        &self,
        package: &SigningPackage,
        nonces: &SigningNonces,
    ) -> Result<SignatureShare, frost_secp256k1_tr::Error> {
        self.0.sign(package, nonces)
    }
    fn handle(&self) -> Arc<dyn FrostKey<Secp256K1Sha256TR>> {
        Arc::new(TweakedKeyPackage(Arc::clone(&self.0)))
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn tagged_hash__should_match_bip340_definition() {
        // SHA256(SHA256("BIP0340/challenge") x2 || "") computed independently.
        let t = Sha256::digest(b"BIP0340/challenge");
        let mut m = t.to_vec();
        m.extend_from_slice(&t);
        let expected: [u8; 32] = Sha256::digest(&m).into();
        assert_eq!(tagged_hash("BIP0340/challenge", b""), expected);
    }
}
