//! Trusted-dealer key generation for tests and benchmarks.
//!
//! # Security
//!
//! **Never use in production.** The dealer sees the whole secret key. This module exists
//! only behind the `insecure-dealer` feature so `tss` tests and benches can get keys
//! without running a DKG.

use std::collections::BTreeMap;

use ff::Field;
use group::Group;
use rand_core::CryptoRngCore;

use crate::bls::{BlsKeyShare, BlsPublicKeys};
use crate::keys::{KeyShare, PublicKeys};
use crate::party::PartyIndex;
use crate::secp::{SecpKeyShare, SecpPublicKeys};
use crate::secret::{SecretPoly, SecretScalar};
use crate::suite::{Bls12381G1, Secp256k1, Suite};
use crate::Error;

/// Shamir-shares a fresh random key among parties `1..=n` with threshold `t`.
pub fn deal<S: Suite>(
    t: u16,
    n: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<(PublicKeys<S>, Vec<KeyShare<S>>), Error> {
    if t == 0 || t > n {
        return Err(Error::InvalidParameters {
            reason: crate::error::ParamError::Threshold { t, n },
        });
    }
    let a0 = S::Scalar::random(&mut *rng);
    let poly = SecretPoly::random(a0, usize::from(t).saturating_sub(1), &mut *rng);
    let secrets: Vec<(PartyIndex, SecretScalar<S::Scalar>)> = (1..=n)
        .filter_map(PartyIndex::new)
        .map(|i| (i, SecretScalar::new(poly.eval::<S>(i))))
        .collect();
    let shares: BTreeMap<PartyIndex, S::Point> = secrets
        .iter()
        .map(|(i, s)| (*i, S::Point::generator() * s.expose()))
        .collect();
    let group_key = S::Point::generator() * poly.constant();
    let public = PublicKeys::new(t, group_key, shares).map_err(Error::from)?;
    let key_shares = secrets
        .into_iter()
        .map(|(i, s)| KeyShare::new(i, s, public.clone()).map_err(Error::from))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((public, key_shares))
}

/// [`deal`] for the BLS12-381 root key.
pub fn deal_bls(
    t: u16,
    n: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<(BlsPublicKeys, Vec<BlsKeyShare>), Error> {
    let (public, shares) = deal::<Bls12381G1>(t, n, rng)?;
    Ok((
        BlsPublicKeys::from_generic(public),
        shares.into_iter().map(BlsKeyShare::from_generic).collect(),
    ))
}

/// [`deal`] for the secp256k1 FROST key.
pub fn deal_secp(
    t: u16,
    n: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<(SecpPublicKeys, Vec<SecpKeyShare>), Error> {
    let (public, shares) = deal::<Secp256k1>(t, n, rng)?;
    Ok((
        SecpPublicKeys::from_generic(public),
        shares.into_iter().map(SecpKeyShare::from_generic).collect(),
    ))
}

/// frost's `KeyPackage` of a share, to compare keynet's signing with plain frost in
/// tests and benches. Test-only (feature `insecure-dealer`): the package is `Clone` and
/// `Serialize`, which is why [`SecpKeyShare`] never hands it out otherwise.
pub fn frost_key_package(share: &SecpKeyShare) -> frost_secp256k1_tr::keys::KeyPackage {
    share.key_package().clone()
}
