//! The group abstraction every protocol of this crate is generic over (as FROST's
//! `Ciphersuite`), with the two instances keynet uses.

use core::fmt::Debug;

use ff::{Field, PrimeField, PrimeFieldBits};
use group::{Curve, Group, GroupEncoding};
use sha2::{Digest, Sha512};

use crate::party::PartyIndex;
use crate::wire;

/// A prime-order group with its scalar field.
pub trait Suite: Copy + Debug + PartialEq + Eq + Send + Sync + 'static {
    /// Scalar field.
    type Scalar: PrimeField + PrimeFieldBits;
    /// Group element (projective).
    type Point: Group<Scalar = Self::Scalar>
        + Curve<AffineRepr = Self::Affine>
        + GroupEncoding
        + From<Self::Affine>
        + Debug
        + Send
        + Sync;
    /// Group element (affine); adding it to a projective point is cheaper.
    type Affine: Copy + Debug + PartialEq + Send + Sync + 'static;
    /// Wire identifier.
    const ID: wire::SuiteId;
    /// Domain-separation label, part of every hash of this crate.
    const LABEL: &'static [u8];

    /// `Σ scalars[i]·points[i]` (extra entries of the longer slice are ignored).
    fn msm(points: &[Self::Point], scalars: &[Self::Scalar]) -> Self::Point {
        pippenger::<Self>(points, scalars)
    }

    /// Uncompressed encoding, used for the many points of round-1 commitments so that
    /// decoding needs no square root.
    fn wide_bytes(p: &Self::Point) -> Vec<u8>;

    /// Decodes [`Suite::wide_bytes`]: checks the point is on the curve but, for curves
    /// with a cofactor, **not** that it is in the prime-order subgroup. Callers check
    /// subgroup membership of whatever they output with [`Suite::is_torsion_free`].
    fn wide_from_bytes(bytes: &[u8]) -> Option<Self::Affine>;

    /// Whether the point lies in the prime-order subgroup.
    fn is_torsion_free(p: &Self::Point) -> bool;
}

/// Bucket-method multi-scalar multiplication (Pippenger), generic over the suite.
/// `blstrs` has its own (faster) one, used by [`Bls12381G1`].
fn pippenger<S: Suite>(points: &[S::Point], scalars: &[S::Scalar]) -> S::Point {
    let n = points.len().min(scalars.len());
    if n < 8 {
        return points
            .iter()
            .zip(scalars)
            .fold(S::Point::identity(), |acc, (p, s)| acc + *p * s);
    }
    let c: usize = if n < 32 {
        3
    } else if n < 256 {
        5
    } else {
        7
    };
    let bits: Vec<Vec<bool>> = scalars
        .iter()
        .take(n)
        .map(|s| s.to_le_bits().iter().map(|b| *b).collect())
        .collect();
    let nbits = bits.iter().map(Vec::len).max().unwrap_or(0);
    let windows = nbits.div_ceil(c);
    let mut acc = S::Point::identity();
    for w in (0..windows).rev() {
        for _ in 0..c {
            acc = acc.double();
        }
        let mut buckets = vec![S::Point::identity(); (1 << c) - 1];
        for (p, b) in points.iter().zip(&bits) {
            let mut digit = 0usize;
            for k in 0..c {
                if b.get(w * c + k).copied().unwrap_or(false) {
                    digit |= 1 << k;
                }
            }
            if let Some(bucket) = digit.checked_sub(1).and_then(|i| buckets.get_mut(i)) {
                *bucket += p;
            }
        }
        let mut running = S::Point::identity();
        let mut sum = S::Point::identity();
        for bucket in buckets.iter().rev() {
            running += bucket;
            sum += running;
        }
        acc += sum;
    }
    acc
}

/// Below this many points, [`blst_msm`] multiplies point by point on the calling thread.
pub const BLST_SMALL_MSM: usize = 32;

/// `Σ scalars_i · points_i` over a BLS12-381 group, `big` being blstrs' `multi_exp` for
/// that group. blst's multi-scalar multiplication hands an input of fewer than 32 points
/// to its process-wide pool of one thread per core, one point per job: the same
/// multiplications plus a lock, a barrier and thread hand-offs on every call, with every
/// concurrent caller (a node's protocol runs, a client's releases) queueing on that one
/// pool (a fifth of a loaded client's CPU ran there, docs/PERFORMANCE.md "Key release").
/// So small inputs are multiplied here, point by point; larger ones keep blst's parallel
/// Pippenger. Used by the DKG's BLS suite and by `tss`'s share checks and combine.
pub fn blst_msm<G: Group<Scalar = blstrs::Scalar>>(
    points: &[G],
    scalars: &[blstrs::Scalar],
    big: fn(&[G], &[blstrs::Scalar]) -> G,
) -> G {
    debug_assert_eq!(points.len(), scalars.len());
    if points.len() < BLST_SMALL_MSM {
        return points.iter().zip(scalars).map(|(p, s)| *p * s).sum();
    }
    big(points, scalars)
}

/// BLS12-381 with keys in G1 (`blstrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bls12381G1;

impl Suite for Bls12381G1 {
    type Scalar = blstrs::Scalar;
    type Point = blstrs::G1Projective;
    type Affine = blstrs::G1Affine;
    const ID: wire::SuiteId = wire::SuiteId::Bls12381G1;
    const LABEL: &'static [u8] = b"keynet-dkg-v1/BLS12-381-G1";

    fn msm(points: &[Self::Point], scalars: &[Self::Scalar]) -> Self::Point {
        blst_msm(points, scalars, blstrs::G1Projective::multi_exp)
    }

    fn wide_bytes(p: &Self::Point) -> Vec<u8> {
        blstrs::G1Affine::from(p).to_uncompressed().to_vec()
    }

    fn wide_from_bytes(bytes: &[u8]) -> Option<Self::Affine> {
        let arr: &[u8; 96] = bytes.try_into().ok()?;
        let p: blstrs::G1Affine = Option::from(blstrs::G1Affine::from_uncompressed_unchecked(arr))?;
        bool::from(p.is_on_curve()).then_some(p)
    }

    fn is_torsion_free(p: &Self::Point) -> bool {
        blstrs::G1Affine::from(p).is_torsion_free().into()
    }
}

/// secp256k1 (`k256`, the arithmetic of `frost-secp256k1-tr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secp256k1;

impl Suite for Secp256k1 {
    type Scalar = k256::Scalar;
    type Point = k256::ProjectivePoint;
    type Affine = k256::AffinePoint;
    const ID: wire::SuiteId = wire::SuiteId::Secp256k1Tr;
    const LABEL: &'static [u8] = b"keynet-dkg-v1/secp256k1";

    fn wide_bytes(p: &Self::Point) -> Vec<u8> {
        use k256::elliptic_curve::sec1::ToEncodedPoint;
        p.to_affine().to_encoded_point(false).as_bytes().to_vec()
    }

    fn wide_from_bytes(bytes: &[u8]) -> Option<Self::Affine> {
        use k256::elliptic_curve::sec1::FromEncodedPoint;
        // Only the uncompressed form (or the identity) is accepted, so the encoding is
        // canonical.
        if bytes.len() != 65 && bytes != [0] {
            return None;
        }
        let ep = k256::EncodedPoint::from_bytes(bytes).ok()?;
        Option::from(k256::AffinePoint::from_encoded_point(&ep))
    }

    fn is_torsion_free(_p: &Self::Point) -> bool {
        // secp256k1 has prime order.
        true
    }
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

/// `k·p` for a small non-negative integer (public) by double-and-add over the
/// non-adjacent form of `k`, starting from `p` at the top digit. Used by Horner
/// evaluation of commitments at party indices: much cheaper than a full scalar
/// multiplication.
pub(crate) fn mul_small<S: Suite>(p: &S::Point, k: u16) -> S::Point {
    // NAF digits, least significant first.
    let mut digits = [0i8; 18];
    let mut len = 0usize;
    let mut v = u32::from(k);
    while v > 0 {
        let d: i8 = if v & 1 == 1 {
            if v & 3 == 3 {
                -1
            } else {
                1
            }
        } else {
            0
        };
        if let Some(slot) = digits.get_mut(len) {
            *slot = d;
        }
        len += 1;
        v = match d {
            -1 => (v + 1) >> 1,
            1 => (v - 1) >> 1,
            _ => v >> 1,
        };
    }
    let Some(top) = len.checked_sub(1) else {
        return S::Point::identity();
    };
    let mut acc = *p;
    for d in digits.iter().take(top).rev() {
        acc = acc.double();
        match d {
            1 => acc += p,
            -1 => acc -= p,
            _ => {}
        }
    }
    acc
}

/// Evaluates the committed polynomial `Σ_k x^k·C_k` at a party index with Horner's rule
/// (multiplications by the small index, mixed additions of the affine coefficients).
pub(crate) fn eval_commitment<S: Suite>(coeffs: &[S::Affine], x: PartyIndex) -> S::Point {
    coeffs.iter().rev().fold(S::Point::identity(), |acc, c| {
        mul_small::<S>(&acc, x.get()) + *c
    })
}

/// Evaluates the committed polynomial at every index in `xs`. When `xs` is `1..=n` with
/// `n` larger than the number of coefficients `t`, only `1..=t` are evaluated with
/// Horner's rule and the rest follow from the forward-difference table (the
/// `(t-1)`-th differences of a degree `t-1` polynomial are constant), `t-1` additions
/// per extra point.
pub(crate) fn eval_commitment_all<S: Suite>(
    coeffs: &[S::Affine],
    xs: &std::collections::BTreeSet<PartyIndex>,
) -> std::collections::BTreeMap<PartyIndex, S::Point> {
    let t = coeffs.len();
    let n = xs.len();
    let contiguous = xs
        .iter()
        .enumerate()
        .all(|(i, x)| usize::from(x.get()) == i + 1);
    if !contiguous || n <= t + 1 || t == 0 {
        return xs
            .iter()
            .map(|x| (*x, eval_commitment::<S>(coeffs, *x)))
            .collect();
    }
    // diag[k] = Δ^k A at the latest position, built from A(1..=t).
    let mut values: Vec<S::Point> = xs
        .iter()
        .take(t)
        .map(|x| eval_commitment::<S>(coeffs, *x))
        .collect();
    let mut out: std::collections::BTreeMap<PartyIndex, S::Point> =
        xs.iter().copied().zip(values.iter().copied()).collect();
    // Forward differences at the last point: diag[k] = Δ^k A(t - k).
    let mut diag: Vec<S::Point> = Vec::with_capacity(t);
    for k in 0..t {
        if let Some(last) = values.last() {
            diag.push(*last);
        }
        if k + 1 < t {
            values = values
                .windows(2)
                .map(|w| match w {
                    [a, b] => *b - *a,
                    _ => S::Point::identity(),
                })
                .collect();
        }
    }
    // diag[t-1] is constant; step every lower difference forward.
    for x in xs.iter().skip(t) {
        for k in (0..t.saturating_sub(1)).rev() {
            let next = diag.get(k + 1).copied().unwrap_or_else(S::Point::identity);
            if let Some(d) = diag.get_mut(k) {
                *d += next;
            }
        }
        if let Some(v) = diag.first() {
            out.insert(*x, *v);
        }
    }
    out
}

/// Projective points to affine with one field inversion.
pub(crate) fn to_affine<S: Suite>(points: &[S::Point]) -> Vec<S::Affine> {
    let mut out = vec![S::Point::identity().to_affine(); points.len()];
    S::Point::batch_normalize(points, &mut out);
    out
}

/// Affine to projective.
pub(crate) fn proj<S: Suite>(a: S::Affine) -> S::Point {
    <S::Point as From<S::Affine>>::from(a)
}

/// Evaluates a secret polynomial at a party index.
pub(crate) fn eval_poly<'a, S: Suite>(
    coeffs: impl DoubleEndedIterator<Item = &'a S::Scalar>,
    x: PartyIndex,
) -> S::Scalar {
    let x = index_scalar::<S>(x);
    coeffs.rev().fold(S::Scalar::ZERO, |acc, c| acc * x + c)
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
        let commits = to_affine::<S>(&commits);
        for i in [1u16, 2, 17, 300] {
            let x = PartyIndex::new(i).unwrap();
            assert_eq!(
                eval_commitment::<S>(&commits, x),
                S::Point::generator() * eval_poly::<S>(coeffs.iter(), x)
            );
        }
    }

    fn eval_commitment_all__should_match_horner<S: Suite>() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        for (t, n) in [(1usize, 5u16), (2, 3), (3, 9), (5, 12), (4, 4)] {
            let pts: Vec<S::Point> = (0..t).map(|_| S::Point::random(&mut rng)).collect();
            let aff = to_affine::<S>(&pts);
            let xs: std::collections::BTreeSet<PartyIndex> =
                (1..=n).filter_map(PartyIndex::new).collect();
            let all = eval_commitment_all::<S>(&aff, &xs);
            assert_eq!(all.len(), xs.len());
            for x in &xs {
                assert_eq!(all[x], eval_commitment::<S>(&aff, *x), "t={t} n={n} x={x}");
            }
        }
    }

    #[test]
    fn eval_commitment_all__should_match_horner_both_suites() {
        eval_commitment_all__should_match_horner::<Bls12381G1>();
        eval_commitment_all__should_match_horner::<Secp256k1>();
    }

    #[test]
    fn eval_commitment__should_match_scalar_evaluation_bls() {
        eval_commitment__should_match_scalar_evaluation::<Bls12381G1>();
    }

    #[test]
    fn eval_commitment__should_match_scalar_evaluation_secp() {
        eval_commitment__should_match_scalar_evaluation::<Secp256k1>();
    }

    fn msm__should_match_naive_sum_generic<S: Suite>() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        for n in [0usize, 3, 9, 40, 300] {
            let pts: Vec<S::Point> = (0..n).map(|_| S::Point::random(&mut rng)).collect();
            let sc: Vec<S::Scalar> = (0..n).map(|_| S::Scalar::random(&mut rng)).collect();
            let naive = pts
                .iter()
                .zip(&sc)
                .fold(S::Point::identity(), |a, (p, s)| a + *p * s);
            assert_eq!(S::msm(&pts, &sc), naive);
        }
    }

    #[test]
    fn msm__should_match_naive_sum_both_suites() {
        msm__should_match_naive_sum_generic::<Secp256k1>();
        msm__should_match_naive_sum_generic::<Bls12381G1>();
    }

    #[test]
    fn wide_bytes__should_roundtrip() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let p = blstrs::G1Projective::random(&mut rng);
        assert_eq!(
            Bls12381G1::wide_from_bytes(&Bls12381G1::wide_bytes(&p)),
            Some(p.into())
        );
        let q = k256::ProjectivePoint::random(&mut rng);
        assert_eq!(
            Secp256k1::wide_from_bytes(&Secp256k1::wide_bytes(&q)),
            Some(q.to_affine())
        );
        let id = k256::ProjectivePoint::IDENTITY;
        assert_eq!(
            Secp256k1::wide_from_bytes(&Secp256k1::wide_bytes(&id)),
            Some(id.to_affine())
        );
        let id = blstrs::G1Projective::identity();
        assert_eq!(
            Bls12381G1::wide_from_bytes(&Bls12381G1::wide_bytes(&id)),
            Some(id.into())
        );
    }

    #[test]
    fn mul_small__should_match_scalar_multiplication() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        let p = k256::ProjectivePoint::random(&mut rng);
        for k in (0u16..=300).chain([1023, 1024, 21845, 43690, u16::MAX]) {
            assert_eq!(
                mul_small::<Secp256k1>(&p, k),
                p * k256::Scalar::from(u64::from(k)),
                "k={k}"
            );
        }
    }

    #[test]
    fn blst_msm__should_match_naive_sum_on_both_sides_of_the_cutoff() {
        use blstrs::{G1Projective, G2Projective, Scalar};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        for n in [
            0,
            1,
            3,
            9,
            BLST_SMALL_MSM - 1,
            BLST_SMALL_MSM,
            BLST_SMALL_MSM + 5,
        ] {
            let g1: Vec<G1Projective> = (0..n).map(|_| G1Projective::random(&mut rng)).collect();
            let g2: Vec<G2Projective> = (0..n).map(|_| G2Projective::random(&mut rng)).collect();
            let sc: Vec<Scalar> = (0..n).map(|_| Scalar::random(&mut rng)).collect();
            let naive1: G1Projective = g1.iter().zip(&sc).map(|(p, s)| p * s).sum();
            let naive2: G2Projective = g2.iter().zip(&sc).map(|(p, s)| p * s).sum();
            assert_eq!(Bls12381G1::msm(&g1, &sc), naive1, "G1, n = {n}");
            assert_eq!(
                blst_msm(&g2, &sc, G2Projective::multi_exp),
                naive2,
                "G2, n = {n}"
            );
            if n > 0 {
                assert_eq!(G2Projective::multi_exp(&g2, &sc), naive2, "blst, n = {n}");
            }
        }
    }
}
