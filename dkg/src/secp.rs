//! The secp256k1 root key (DESIGN §4 key 2) for frost-secp256k1-tr.
//!
//! Public keys are an ordinary frost `PublicKeyPackage`. A share is kept behind
//! [`SecpKeyShare`], which runs frost's signing round functions with it
//! ([`SecpKeyShare::commit`], [`SecpKeyShare::sign`]) and never hands out frost's
//! `KeyPackage` (which is `Clone` and `Serialize`).

use frost_secp256k1_tr::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_secp256k1_tr::round1::{SigningCommitments, SigningNonces};
use frost_secp256k1_tr::round2::SignatureShare;
use frost_secp256k1_tr::{Identifier, SigningPackage, VerifyingKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keys::{ImportError, InvalidPublicKeys, KeyShare, PublicKeys};
use crate::party::PartyIndex;
use crate::suite::Secp256k1;

/// FROST identifier of a party index (same number).
#[expect(
    clippy::expect_used,
    reason = "Identifier::try_from fails only for 0 and a PartyIndex is never 0"
)]
pub fn identifier(i: PartyIndex) -> Identifier {
    Identifier::try_from(i.get()).expect("nonzero identifier")
}

/// Group key and public shares as a frost `PublicKeyPackage` plus the threshold.
#[derive(Clone, PartialEq, Eq)]
pub struct SecpPublicKeys {
    inner: PublicKeys<Secp256k1>,
    package: PublicKeyPackage,
}

impl core::fmt::Debug for SecpPublicKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner.fmt(f)
    }
}

impl SecpPublicKeys {
    /// Wraps generic public keys, building the frost package with its constructor.
    pub fn from_generic(inner: PublicKeys<Secp256k1>) -> Self {
        let verifying_shares = inner
            .shares()
            .iter()
            .map(|(i, p)| (identifier(*i), VerifyingShare::new(*p)))
            .collect();
        let package = PublicKeyPackage::new(
            verifying_shares,
            VerifyingKey::new(*inner.group_key()),
            Some(inner.threshold()),
        );
        Self { inner, package }
    }

    /// The generic form, as the resharing protocols take it.
    pub fn as_generic(&self) -> &PublicKeys<Secp256k1> {
        &self.inner
    }

    /// The frost public key package.
    pub fn package(&self) -> &PublicKeyPackage {
        &self.package
    }

    /// Group key `P`.
    pub fn group_key(&self) -> &VerifyingKey {
        self.package.verifying_key()
    }

    /// Threshold `t` (frost's `min_signers`).
    pub fn threshold(&self) -> u16 {
        self.inner.threshold()
    }

    /// See [`PublicKeys::check_consistent`].
    pub fn check_consistent(&self) -> Result<(), InvalidPublicKeys> {
        self.inner.check_consistent()
    }
}

impl Serialize for SecpPublicKeys {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SecpPublicKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PublicKeys::deserialize(deserializer).map(Self::from_generic)
    }
}

/// One party's FROST share.
///
/// # Security
///
/// Secret: no `Clone`/`Serialize`, `Debug` redacts, the scalar is zeroed on drop (ours
/// by [`KeyShare`], frost's `KeyPackage` by its own `ZeroizeOnDrop`). The frost package
/// never leaves the type: signing goes through [`SecpKeyShare::commit`] and
/// [`SecpKeyShare::sign`].
pub struct SecpKeyShare {
    inner: KeyShare<Secp256k1>,
    key_package: KeyPackage,
    public: SecpPublicKeys,
}

impl core::fmt::Debug for SecpKeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner.fmt(f)
    }
}

impl SecpKeyShare {
    /// Wraps a generic share, building the `KeyPackage` with frost's constructor.
    pub fn from_generic(inner: KeyShare<Secp256k1>) -> Self {
        let public = SecpPublicKeys::from_generic(inner.public().clone());
        let index = inner.index();
        let verifying_share = VerifyingShare::new(
            inner
                .public()
                .share(index)
                .copied()
                .unwrap_or_else(|| inner.mul(&k256::ProjectivePoint::GENERATOR)),
        );
        let key_package = KeyPackage::new(
            identifier(index),
            SigningShare::new(*inner.secret()),
            verifying_share,
            VerifyingKey::new(*inner.public().group_key()),
            inner.public().threshold(),
        );
        Self {
            inner,
            key_package,
            public,
        }
    }

    /// The generic form, as the resharing protocols take it.
    pub fn as_generic(&self) -> &KeyShare<Secp256k1> {
        &self.inner
    }

    /// Party index `i`.
    pub fn index(&self) -> PartyIndex {
        self.inner.index()
    }

    /// The frost key package, for this crate's test-only dealer (see the type's
    /// security note).
    #[cfg(feature = "insecure-dealer")]
    pub(crate) fn key_package(&self) -> &KeyPackage {
        &self.key_package
    }

    /// This party's FROST identifier (the party index).
    pub fn identifier(&self) -> Identifier {
        *self.key_package.identifier()
    }

    /// FROST round 1 (RFC 9591 §5.1, `frost_secp256k1_tr::round1::commit`) with this
    /// share: fresh nonces (secret, use once) and their public commitments.
    pub fn commit(&self, rng: &mut impl CryptoRngCore) -> (SigningNonces, SigningCommitments) {
        frost_secp256k1_tr::round1::commit(self.key_package.signing_share(), rng)
    }

    /// FROST round 2 (RFC 9591 §5.2, `frost_secp256k1_tr::round2::sign`) with this
    /// share: the signature share for `package`, with the `nonces` of
    /// [`SecpKeyShare::commit`].
    pub fn sign(
        &self,
        package: &SigningPackage,
        nonces: &SigningNonces,
    ) -> Result<SignatureShare, frost_secp256k1_tr::Error> {
        frost_secp256k1_tr::round2::sign(package, nonces, &self.key_package)
    }

    /// This share shifted by the public scalar `tweak`: the share `x_i + tweak` of the
    /// key `P + tweak·G`, with public shares `P_j + tweak·G` (DESIGN §4.3, keynet's
    /// per-application signing keys). As secret as this share.
    pub fn tweaked(&self, tweak: &k256::Scalar) -> SecpKeyShare {
        Self::from_generic(self.inner.shifted(tweak))
    }

    /// Public keys of the committee.
    pub fn public(&self) -> &SecpPublicKeys {
        &self.public
    }

    /// Serializes the share (secret included) for sealed storage.
    pub fn export_for_sealing(&self) -> Zeroizing<Vec<u8>> {
        self.inner.export_for_sealing()
    }

    /// Inverse of [`SecpKeyShare::export_for_sealing`]; checks `x_i·G == P_i`.
    pub fn import_from_sealing(bytes: &[u8]) -> Result<Self, ImportError> {
        KeyShare::import_from_sealing(bytes).map(Self::from_generic)
    }
}
