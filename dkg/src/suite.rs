//! The group abstraction every protocol of this crate is generic over (as FROST's
//! `Ciphersuite`), with the two instances keynet uses.

use core::fmt::Debug;

use ff::{Field, PrimeField};
use group::{Group, GroupEncoding};
use sha2::{Digest, Sha512};

use crate::party::PartyIndex;
use crate::wire;

/// A prime-order group with its scalar field.
pub trait Suite: Copy + Debug + PartialEq + Eq + Send + Sync + 'static {
    /// Scalar field.
    type Scalar: PrimeField;
    /// Group element (projective).
    type Point: Group<Scalar = Self::Scalar> + GroupEncoding + Debug + Send + Sync;
    /// Wire identifier.
    const ID: wire::Suite;
    /// Domain-separation label, part of every hash of this crate.
    const LABEL: &'static [u8];

    /// Σ scalars[i]·points[i]. Implementations may use Pippenger.
    fn msm(points: &[Self::Point], scalars: &[Self::Scalar]) -> Self::Point {
        points
            .iter()
            .zip(scalars)
            .fold(Self::Point::identity(), |acc, (p, s)| acc + *p * s)
    }
}

/// BLS12-381 with keys in G1 (`blstrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bls12381G1;

impl Suite for Bls12381G1 {
    type Scalar = blstrs::Scalar;
    type Point = blstrs::G1Projective;
    const ID: wire::Suite = wire::Suite::Bls12381G1;
    const LABEL: &'static [u8] = b"keynet-dkg-v1/BLS12-381-G1";

    fn msm(points: &[Self::Point], scalars: &[Self::Scalar]) -> Self::Point {
        if points.len() < 4 {
            return points
                .iter()
                .zip(scalars)
                .fold(Self::Point::identity(), |acc, (p, s)| acc + *p * s);
        }
        blstrs::G1Projective::multi_exp(points, scalars)
    }
}

/// secp256k1 (`k256`, the arithmetic of `frost-secp256k1-tr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secp256k1;

impl Suite for Secp256k1 {
    type Scalar = k256::Scalar;
    type Point = k256::ProjectivePoint;
    const ID: wire::Suite = wire::Suite::Secp256k1Tr;
    const LABEL: &'static [u8] = b"keynet-dkg-v1/secp256k1";
}

/// The scalar `i` for party index `i`.
pub(crate) fn index_scalar<S: Suite>(i: PartyIndex) -> S::Scalar {
    S::Scalar::from(u64::from(i.get()))
}

/// Hash to a scalar: SHA-512 of the inputs (each length-prefixed), reduced from 64 bytes
/// so the bias is below 2^-250. The reduction runs Horner's rule in the field because
/// `ff` has no generic wide reduction.
pub(crate) fn hash_to_scalar<S: Suite>(domain: &[u8], parts: &[&[u8]]) -> S::Scalar {
    let mut h = Sha512::new();
    h.update(S::LABEL);
    h.update((domain.len() as u64).to_be_bytes());
    h.update(domain);
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let base = S::Scalar::from(256);
    digest.iter().fold(S::Scalar::ZERO, |acc, b| {
        acc * base + S::Scalar::from(u64::from(*b))
    })
}

/// Canonical encoding of a point.
pub(crate) fn point_bytes<S: Suite>(p: &S::Point) -> Vec<u8> {
    p.to_bytes().as_ref().to_vec()
}

/// Decodes a canonical point encoding (subgroup-checked by the libraries).
pub(crate) fn point_from_bytes<S: Suite>(bytes: &[u8]) -> Option<S::Point> {
    let mut repr = <S::Point as GroupEncoding>::Repr::default();
    if repr.as_ref().len() != bytes.len() {
        return None;
    }
    repr.as_mut().copy_from_slice(bytes);
    Option::from(S::Point::from_bytes(&repr))
}

/// Canonical encoding of a scalar.
pub(crate) fn scalar_bytes<S: Suite>(s: &S::Scalar) -> Vec<u8> {
    s.to_repr().as_ref().to_vec()
}

/// Decodes a canonical (fully reduced) scalar encoding.
pub(crate) fn scalar_from_bytes<S: Suite>(bytes: &[u8]) -> Option<S::Scalar> {
    let mut repr = <S::Scalar as PrimeField>::Repr::default();
    if repr.as_ref().len() != bytes.len() {
        return None;
    }
    repr.as_mut().copy_from_slice(bytes);
    Option::from(S::Scalar::from_repr(repr))
}

/// `k·p` for a small non-negative integer by double-and-add. Used by Horner evaluation
/// of commitments at party indices: much cheaper than a full scalar multiplication.
pub(crate) fn mul_small<S: Suite>(p: &S::Point, k: u16) -> S::Point {
    let mut acc = S::Point::identity();
    for bit in (0..16).rev() {
        acc = acc.double();
        if (k >> bit) & 1 == 1 {
            acc += p;
        }
    }
    acc
}

/// Evaluates the committed polynomial `Σ_k x^k·C_k` at a party index with Horner's rule.
pub(crate) fn eval_commitment<S: Suite>(coeffs: &[S::Point], x: PartyIndex) -> S::Point {
    coeffs.iter().rev().fold(S::Point::identity(), |acc, c| {
        mul_small::<S>(&acc, x.get()) + c
    })
}

/// Evaluates a secret polynomial at a party index.
pub(crate) fn eval_poly<S: Suite>(coeffs: &[S::Scalar], x: PartyIndex) -> S::Scalar {
    let x = index_scalar::<S>(x);
    coeffs
        .iter()
        .rev()
        .fold(S::Scalar::ZERO, |acc, c| acc * x + c)
}

/// Lagrange coefficient of `i` for interpolation at `at` over `set`.
/// `None` if `i` is not in `set` (or `set` has a repeated element, impossible for a set).
pub(crate) fn lagrange<S: Suite>(
    set: &std::collections::BTreeSet<PartyIndex>,
    i: PartyIndex,
    at: S::Scalar,
) -> Option<S::Scalar> {
    if !set.contains(&i) {
        return None;
    }
    let xi = index_scalar::<S>(i);
    let mut num = S::Scalar::ONE;
    let mut den = S::Scalar::ONE;
    for j in set.iter().filter(|j| **j != i) {
        let xj = index_scalar::<S>(*j);
        num *= xj - at;
        den *= xj - xi;
    }
    Option::from(den.invert()).map(|inv: S::Scalar| num * inv)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn eval_commitment__should_match_scalar_evaluation<S: Suite>() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let coeffs: Vec<S::Scalar> = (0..5).map(|_| S::Scalar::random(&mut rng)).collect();
        let commits: Vec<S::Point> = coeffs.iter().map(|c| S::Point::generator() * c).collect();
        for i in [1u16, 2, 17, 300] {
            let x = PartyIndex::new(i).unwrap();
            assert_eq!(
                eval_commitment::<S>(&commits, x),
                S::Point::generator() * eval_poly::<S>(&coeffs, x)
            );
        }
    }

    #[test]
    fn eval_commitment__should_match_scalar_evaluation_bls() {
        eval_commitment__should_match_scalar_evaluation::<Bls12381G1>();
    }

    #[test]
    fn eval_commitment__should_match_scalar_evaluation_secp() {
        eval_commitment__should_match_scalar_evaluation::<Secp256k1>();
    }

    #[test]
    fn msm__should_match_naive_sum() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let pts: Vec<_> = (0..9)
            .map(|_| blstrs::G1Projective::random(&mut rng))
            .collect();
        let sc: Vec<_> = (0..9).map(|_| blstrs::Scalar::random(&mut rng)).collect();
        let naive = pts
            .iter()
            .zip(&sc)
            .fold(blstrs::G1Projective::identity(), |a, (p, s)| a + p * s);
        assert_eq!(Bls12381G1::msm(&pts, &sc), naive);
    }
}
