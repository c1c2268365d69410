//! The BLS12-381 root key (DESIGN §4 key 1): group key and public shares in G1.

use std::collections::BTreeMap;

use blstrs::{G1Affine, G2Projective};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keys::{ImportError, InvalidPublicKeys, KeyShare, PublicKeys};
use crate::party::PartyIndex;
use crate::suite::Bls12381G1;

/// Threshold, group key `PK = sk·g1` and every party's `PK_i = sk_i·g1`.
///
/// Serialized (serde) as the suite-tagged form of [`PublicKeys`]; deserializing
/// re-validates every point.
#[derive(Clone, PartialEq, Eq)]
pub struct BlsPublicKeys {
    inner: PublicKeys<Bls12381G1>,
    group_key: G1Affine,
    shares: BTreeMap<PartyIndex, G1Affine>,
}

impl core::fmt::Debug for BlsPublicKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner.fmt(f)
    }
}

impl BlsPublicKeys {
    /// Wraps generic public keys.
    pub fn from_generic(inner: PublicKeys<Bls12381G1>) -> Self {
        let group_key = G1Affine::from(inner.group_key());
        let shares = inner
            .shares()
            .iter()
            .map(|(i, p)| (*i, G1Affine::from(p)))
            .collect();
        Self {
            inner,
            group_key,
            shares,
        }
    }

    /// The generic form, as the resharing protocols take it.
    pub fn as_generic(&self) -> &PublicKeys<Bls12381G1> {
        &self.inner
    }

    /// Threshold `t`.
    pub fn threshold(&self) -> u16 {
        self.inner.threshold()
    }

    /// Group key `PK`.
    pub fn group_key(&self) -> &G1Affine {
        &self.group_key
    }

    /// `PK_i` of party `i`.
    pub fn share(&self, i: PartyIndex) -> Option<&G1Affine> {
        self.shares.get(&i)
    }

    /// All public shares.
    pub fn shares(&self) -> &BTreeMap<PartyIndex, G1Affine> {
        &self.shares
    }

    /// See [`PublicKeys::check_consistent`].
    pub fn check_consistent(&self) -> Result<(), InvalidPublicKeys> {
        self.inner.check_consistent()
    }
}

impl Serialize for BlsPublicKeys {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for BlsPublicKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PublicKeys::deserialize(deserializer).map(Self::from_generic)
    }
}

/// One party's share `sk_i` of the BLS12-381 root key.
///
/// # Security
///
/// Secret: zeroed on drop, no `Clone`/`Serialize`, `Debug` redacts the scalar. The scalar
/// is only used through [`BlsKeyShare::mul_g2`]; [`BlsKeyShare::export_for_sealing`] is
/// for the node's sealed storage only.
pub struct BlsKeyShare {
    inner: KeyShare<Bls12381G1>,
    public: BlsPublicKeys,
}

impl core::fmt::Debug for BlsKeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner.fmt(f)
    }
}

impl BlsKeyShare {
    /// Wraps a generic share.
    pub fn from_generic(inner: KeyShare<Bls12381G1>) -> Self {
        let public = BlsPublicKeys::from_generic(inner.public().clone());
        Self { inner, public }
    }

    /// The generic form, as the resharing protocols take it.
    pub fn as_generic(&self) -> &KeyShare<Bls12381G1> {
        &self.inner
    }

    /// Party index `i`.
    pub fn index(&self) -> PartyIndex {
        self.inner.index()
    }

    /// Public keys of the committee.
    pub fn public(&self) -> &BlsPublicKeys {
        &self.public
    }

    /// `sk_i·p` in G2 (a partial PRF evaluation / IBE key share when `p = H(msg)`).
    pub fn mul_g2(&self, p: &G2Projective) -> G2Projective {
        p * self.inner.secret()
    }

    /// Serializes the share (secret included) for sealed storage.
    pub fn export_for_sealing(&self) -> Zeroizing<Vec<u8>> {
        self.inner.export_for_sealing()
    }

    /// Inverse of [`BlsKeyShare::export_for_sealing`]; checks `sk_i·g1 == PK_i`.
    pub fn import_from_sealing(bytes: &[u8]) -> Result<Self, ImportError> {
        KeyShare::import_from_sealing(bytes).map(Self::from_generic)
    }
}
