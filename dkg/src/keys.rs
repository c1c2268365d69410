//! Key material produced by the protocols of this crate.
//!
//! # For `tss` (what the consumer may rely on)
//!
//! - [`crate::bls::BlsKeyShare`]: one party's share `sk_i` of the BLS12-381 root key
//!   (DESIGN §4 key 1). `mul_g2(H)` returns `sk_i·H`; the scalar never leaves the type.
//!   `public()` is the [`crate::bls::BlsPublicKeys`]: threshold `t`, group key
//!   `PK = sk·g1` and every party's `PK_i = sk_i·g1` (all G1, compressed 48 bytes),
//!   so a partial result verifies as `e(g1, share_i) == e(PK_i, H(msg))`.
//! - [`crate::secp::SecpKeyShare`]: one party's FROST(secp256k1, SHA-256-TR) share; it
//!   runs frost's round functions itself (`commit`, `sign`) and never hands out the
//!   `frost_secp256k1_tr::keys::KeyPackage` it builds (that type is `Clone` and
//!   `Serialize`); `tweaked` gives the share of a per-application key. The matching
//!   [`crate::secp::SecpPublicKeys`] wrapping a `PublicKeyPackage`. The group key is the
//!   plain `P = x·G` of DESIGN §4.3: the DKG here does **not** apply frost's BIP-341
//!   `post_dkg` tweak (frost's own `keys::dkg::part3` does), because keynet derives
//!   per-application keys with its own tweak; `P` may have an odd y, and frost's signing
//!   functions normalise to even y themselves.
//! - Party indices are [`crate::PartyIndex`] (1-based); the FROST identifier of index
//!   `i` is `Identifier::try_from(i)`.
//! - Shares are secret: no `Clone`, `Serialize` or secret-revealing `Debug`; the only way
//!   out is `export_for_sealing`, matched by `import_from_sealing`, which re-checks the
//!   share against its public share.
//! - Tests and benches get keys from `crate::insecure_dealer` (feature
//!   `insecure-dealer`) or from the honest in-memory runner `crate::sim`.

#![deny(clippy::indexing_slicing)]

use std::collections::BTreeMap;

use group::Group;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::party::PartyIndex;
use crate::secret::SecretScalar;
use crate::suite::{self, Suite};
use crate::wire::{self, Bytes, DecodeError};

/// Public output of a key generation: threshold, group key and every party's public share.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKeys<S: Suite> {
    threshold: u16,
    group_key: S::Point,
    shares: BTreeMap<PartyIndex, S::Point>,
}

impl<S: Suite> core::fmt::Debug for PublicKeys<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PublicKeys")
            .field("suite", &S::ID)
            .field("threshold", &self.threshold)
            .field("group_key", &Hex(&suite::point_bytes::<S>(&self.group_key)))
            .field("parties", &self.shares.keys().collect::<Vec<_>>())
            .finish()
    }
}

struct Hex<'a>(&'a [u8]);
impl core::fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Public keys that cannot be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPublicKeys {
    /// Threshold 0, or larger than the number of parties.
    #[error("threshold {threshold} is invalid for {parties} parties")]
    Threshold {
        /// Threshold given.
        threshold: u16,
        /// Number of public shares.
        parties: usize,
    },
    /// A point does not decode (not canonical, not in the group).
    #[error("invalid group element")]
    Point,
    /// The public shares do not lie on one polynomial of degree `t-1` whose value at 0
    /// is the group key.
    #[error("public shares are inconsistent with the group key")]
    Inconsistent,
}

impl<S: Suite> PublicKeys<S> {
    pub(crate) fn new(
        threshold: u16,
        group_key: S::Point,
        shares: BTreeMap<PartyIndex, S::Point>,
    ) -> Result<Self, InvalidPublicKeys> {
        if threshold == 0 || usize::from(threshold) > shares.len() {
            return Err(InvalidPublicKeys::Threshold {
                threshold,
                parties: shares.len(),
            });
        }
        Ok(Self {
            threshold,
            group_key,
            shares,
        })
    }

    /// The keys of the sharing shifted by the public scalar `tweak`: group key
    /// `P + tweak·G`, every public share `P_j + tweak·G` (shares of `x + tweak`).
    pub(crate) fn shifted(&self, tweak: &S::Scalar) -> Self {
        let t = S::Point::generator() * tweak;
        Self {
            threshold: self.threshold,
            group_key: self.group_key + t,
            shares: self.shares.iter().map(|(j, p)| (*j, *p + t)).collect(),
        }
    }

    /// Checks that every public share lies on the degree `t-1` polynomial through the
    /// first `t` shares and that this polynomial's value at 0 is the group key
    /// (Lagrange interpolation in the exponent).
    pub fn check_consistent(&self) -> Result<(), InvalidPublicKeys> {
        let base: std::collections::BTreeSet<PartyIndex> = self
            .shares
            .keys()
            .copied()
            .take(usize::from(self.threshold))
            .collect();
        let interpolate = |at: S::Scalar| -> Option<S::Point> {
            let mut pts = Vec::with_capacity(base.len());
            let mut sc = Vec::with_capacity(base.len());
            for i in &base {
                sc.push(suite::lagrange::<S>(&base, *i, at)?);
                pts.push(*self.shares.get(i)?);
            }
            Some(S::msm(&pts, &sc))
        };
        if interpolate(<S::Scalar as ff::Field>::ZERO) != Some(self.group_key) {
            return Err(InvalidPublicKeys::Inconsistent);
        }
        for (i, p) in self.shares.iter().filter(|(i, _)| !base.contains(i)) {
            if interpolate(suite::index_scalar::<S>(*i)) != Some(*p) {
                return Err(InvalidPublicKeys::Inconsistent);
            }
        }
        Ok(())
    }

    /// Threshold `t`: any `t` shares determine the key, `t-1` reveal nothing.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// The group public key.
    pub fn group_key(&self) -> &S::Point {
        &self.group_key
    }

    /// Party `i`'s public share `sk_i·G`.
    pub fn share(&self, i: PartyIndex) -> Option<&S::Point> {
        self.shares.get(&i)
    }

    /// All public shares.
    pub fn shares(&self) -> &BTreeMap<PartyIndex, S::Point> {
        &self.shares
    }

    /// Committee members.
    pub fn parties(&self) -> impl Iterator<Item = PartyIndex> + '_ {
        self.shares.keys().copied()
    }

    pub(crate) fn to_repr(&self) -> PublicKeysRepr {
        PublicKeysRepr {
            suite: S::ID,
            threshold: self.threshold,
            group_key: Bytes(suite::point_bytes::<S>(&self.group_key)),
            shares: self
                .shares
                .iter()
                .map(|(i, p)| (*i, Bytes(suite::point_bytes::<S>(p))))
                .collect(),
        }
    }

    pub(crate) fn from_repr(repr: PublicKeysRepr) -> Result<Self, InvalidPublicKeys> {
        if repr.suite != S::ID {
            return Err(InvalidPublicKeys::Point);
        }
        let group_key =
            suite::point_from_bytes::<S>(&repr.group_key.0).ok_or(InvalidPublicKeys::Point)?;
        let shares = repr
            .shares
            .into_iter()
            .map(|(i, b)| {
                suite::point_from_bytes::<S>(&b.0)
                    .map(|p| (i, p))
                    .ok_or(InvalidPublicKeys::Point)
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Self::new(repr.threshold, group_key, shares)
    }
}

impl<S: Suite> Serialize for PublicKeys<S> {
    fn serialize<Ser: serde::Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        self.to_repr().serialize(serializer)
    }
}

impl<'de, S: Suite> Deserialize<'de> for PublicKeys<S> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = PublicKeysRepr::deserialize(deserializer)?;
        Self::from_repr(repr).map_err(serde::de::Error::custom)
    }
}

/// Serialized form of [`PublicKeys`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublicKeysRepr {
    suite: wire::SuiteId,
    threshold: u16,
    group_key: Bytes,
    shares: BTreeMap<PartyIndex, Bytes>,
}

/// One party's secret share with the public keys of its committee.
///
/// # Security
///
/// Secret. No `Clone`, `Serialize` or `Debug` of the scalar; zeroed on drop. The only
/// exit is [`KeyShare::export_for_sealing`].
pub struct KeyShare<S: Suite> {
    index: PartyIndex,
    secret: SecretScalar<S::Scalar>,
    public: PublicKeys<S>,
}

impl<S: Suite> core::fmt::Debug for KeyShare<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyShare")
            .field("index", &self.index)
            .field("secret", &"<redacted>")
            .field("public", &self.public)
            .finish()
    }
}

/// Why a sealed share could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The bytes are not a sealed share.
    #[error("sealed share does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// Unknown format version.
    #[error("sealed share has format version {0}")]
    Version(u16),
    /// The share is for another key type.
    #[error("sealed share is for suite {found:?}, expected {expected:?}")]
    WrongSuite {
        /// Suite in the bytes.
        found: wire::SuiteId,
        /// Suite of the type being imported.
        expected: wire::SuiteId,
    },
    /// The secret scalar is not canonical.
    #[error("sealed secret is not a canonical scalar")]
    Scalar,
    /// The public keys are invalid.
    #[error("sealed public keys are invalid: {0}")]
    PublicKeys(#[from] InvalidPublicKeys),
    /// `secret·G` differs from the recorded public share of this index (or the index has
    /// no public share).
    #[error("sealed secret does not match the public share of party {0}")]
    ShareMismatch(PartyIndex),
}

const SEALED_VERSION: u16 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    version: u16,
    index: PartyIndex,
    secret: Bytes,
    public: PublicKeysRepr,
}

impl Drop for Sealed {
    fn drop(&mut self) {
        self.secret.0.zeroize();
    }
}

impl<S: Suite> KeyShare<S> {
    /// Builds a share, checking `secret·G == public.share(index)`.
    pub(crate) fn new(
        index: PartyIndex,
        secret: SecretScalar<S::Scalar>,
        public: PublicKeys<S>,
    ) -> Result<Self, ImportError> {
        if public.share(index) != Some(&(S::Point::generator() * secret.expose())) {
            return Err(ImportError::ShareMismatch(index));
        }
        Ok(Self {
            index,
            secret,
            public,
        })
    }

    /// This party's index.
    pub fn index(&self) -> PartyIndex {
        self.index
    }

    /// The share shifted by the public scalar `tweak` (share `x_i + tweak` of
    /// `x + tweak`, public keys [`PublicKeys::shifted`]).
    pub(crate) fn shifted(&self, tweak: &S::Scalar) -> Self {
        Self {
            index: self.index,
            secret: SecretScalar::new(*self.secret.expose() + tweak),
            public: self.public.shifted(tweak),
        }
    }

    /// The committee's public keys.
    pub fn public(&self) -> &PublicKeys<S> {
        &self.public
    }

    /// `sk_i·p`. The scalar itself never leaves this type.
    pub fn mul(&self, p: &S::Point) -> S::Point {
        *p * self.secret.expose()
    }

    pub(crate) fn secret(&self) -> &S::Scalar {
        self.secret.expose()
    }

    /// Serializes the share (secret included) for the node's sealed storage only.
    pub fn export_for_sealing(&self) -> Zeroizing<Vec<u8>> {
        let sealed = Sealed {
            version: SEALED_VERSION,
            index: self.index,
            secret: Bytes(suite::scalar_bytes::<S>(self.secret.expose())),
            public: self.public.to_repr(),
        };
        // Encoding into a Vec cannot fail for this struct; an empty result would fail
        // to import, never silently succeed.
        Zeroizing::new(wire::encode(&sealed).unwrap_or_default())
    }

    /// Inverse of [`KeyShare::export_for_sealing`]; re-checks the share against its
    /// public share.
    pub fn import_from_sealing(bytes: &[u8]) -> Result<Self, ImportError> {
        let sealed: Sealed = wire::decode(bytes)?;
        if sealed.version != SEALED_VERSION {
            return Err(ImportError::Version(sealed.version));
        }
        if sealed.public.suite != S::ID {
            return Err(ImportError::WrongSuite {
                found: sealed.public.suite,
                expected: S::ID,
            });
        }
        let secret = SecretScalar::new(
            suite::scalar_from_bytes::<S>(&sealed.secret.0).ok_or(ImportError::Scalar)?,
        );
        let index = sealed.index;
        let mut sealed = sealed;
        let repr = core::mem::replace(
            &mut sealed.public,
            PublicKeysRepr {
                suite: S::ID,
                threshold: 0,
                group_key: Bytes(Vec::new()),
                shares: BTreeMap::new(),
            },
        );
        let public = PublicKeys::from_repr(repr)?;
        Self::new(index, secret, public)
    }
}
