//! The derived-key threshold PRF of DESIGN §4.1 (normative).
//!
//! ```text
//! msg     = "keynet/derive/v1" || app_id || u8(len(path)) || path
//! H       = hash_to_curve G2 (RFC 9380, BLS12381G2_XMD:SHA-256_SSWU_RO_) with DST
//! share_i = sk_i · H(msg)          verified by e(g1, share_i) == e(PK_i, H(msg))
//! sigma   = Σ λ_i · share_i        over any t valid shares (Lagrange at 0)
//! check   : e(g1, sigma) == e(PK, H(msg))
//! key     = HKDF-SHA256(IKM = compress(sigma), salt = "keynet/derive/v1",
//!                       info = app_id || path, L = 32)
//! ```
//!
//! This is threshold BLS (Boldyreva, PKC 2003) with keys in G1 and signatures in G2;
//! `sigma` is unique, so it doubles as a PRF output and as the Boneh–Franklin identity
//! key used by [`crate::seal`].
//!
//! Every pairing equation is checked as one multi-Miller loop with a single final
//! exponentiation. [`combine`] first checks all received shares at once with random
//! linear combination (coefficients derived by hashing every received share, so a party
//! cannot choose its share after seeing them) and falls back to one check per share
//! only when that batch fails, to name the culprits.

use core::sync::atomic::{compiler_fence, Ordering};
use std::collections::BTreeMap;
use std::sync::OnceLock;

use blstrs::{Bls12, G1Affine, G1Projective, G2Affine, G2Prepared, G2Projective, Scalar};
use dkg::bls::{BlsKeyShare, BlsPublicKeys};
use dkg::suite::blst_msm;
use dkg::PartyIndex;
use ff::Field;
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use pairing::{MillerLoopResult, MultiMillerLoop};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::Error;

/// Domain label of the derivation message, also the HKDF salt (DESIGN §4.1).
pub const DERIVE_LABEL: &[u8] = b"keynet/derive/v1";

/// Hash-to-curve domain separation tag (DESIGN §4.1).
pub const DST: &[u8] = b"KEYNET-V1_BLS12381G2_XMD:SHA-256_SSWU_RO_";

/// Length of a compressed G2 point (a PRF share or `sigma`).
pub const G2_LEN: usize = 96;

/// Length of a compressed G1 point (a public key).
pub const G1_LEN: usize = 48;

/// Domain label of the batch-verification coefficients.
const BATCH_LABEL: &[u8] = b"keynet/derive/batch/v1";

/// RFC 9380 `hash_to_curve` for the suite `BLS12381G2_XMD:SHA-256_SSWU_RO_` with an
/// arbitrary DST (the RFC's test vectors use their own; keynet uses [`DST`]).
pub fn hash_to_g2(msg: &[u8], dst: &[u8]) -> G2Projective {
    G2Projective::hash_to_curve(msg, dst, &[])
}

/// An application identity: the pair `(app_id, path)` of DESIGN §4.1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    app_id: [u8; 32],
    path: String,
}

impl Identity {
    /// Fails unless `path` is 1..=255 bytes (it is UTF-8 by type).
    pub fn new(app_id: [u8; 32], path: &str) -> Result<Self, Error> {
        let len = path.len();
        if !(1..=255).contains(&len) {
            return Err(Error::InvalidPathLength { len });
        }
        Ok(Self {
            app_id,
            path: path.to_owned(),
        })
    }

    /// The on-chain application identifier.
    pub fn app_id(&self) -> &[u8; 32] {
        &self.app_id
    }

    /// The application-chosen path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `app_id || u8(len(path)) || path`, the common suffix of the PRF message and the
    /// signing tweak input.
    pub fn encode_tail(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.app_id);
        // `new` guarantees 1..=255 bytes.
        out.push(u8::try_from(self.path.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.path.as_bytes());
    }

    /// `msg = "keynet/derive/v1" || app_id || u8(len(path)) || path`.
    pub fn message(&self) -> Vec<u8> {
        let mut msg = Vec::with_capacity(DERIVE_LABEL.len() + 32 + 1 + self.path.len());
        msg.extend_from_slice(DERIVE_LABEL);
        self.encode_tail(&mut msg);
        msg
    }
}

/// An identity with its hashed point `H(msg)`, computed once and reused by every share
/// check, the combination and the final check.
#[derive(Debug, Clone)]
pub struct PrfInput {
    identity: Identity,
    h: G2Projective,
    h_affine: OnceLock<G2Affine>,
    /// Miller-loop line coefficients of `h`, computed on first use: a node that only
    /// makes its share never needs them.
    h_prepared: OnceLock<G2Prepared>,
    /// The Miller loop of `(key, h)` for the one key given to [`PrfInput::prepare`].
    prepared_key: OnceLock<(G1Affine, blstrs::MillerLoopResult)>,
    /// The shares' half of a batch check, from [`PrfInput::prepare_shares`].
    prepared_shares: OnceLock<PreparedShares>,
}

/// The half of a batch check of shares from known parties that does not depend on the
/// shares: a coefficient per party and the Miller loop of `(Σ ρ_i PK_i, H(msg))`.
///
/// # Security
///
/// The coefficients are drawn at random before the shares exist, so they must stay
/// unknown to the nodes: a node that knew them could send bad shares that cancel in the
/// sum. They are never sent, and `Debug` leaves them out.
#[derive(Clone)]
struct PreparedShares {
    parties: Vec<(PartyIndex, G1Affine, Scalar)>,
    key_h: blstrs::MillerLoopResult,
}

impl core::fmt::Debug for PreparedShares {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let parties: Vec<PartyIndex> = self.parties.iter().map(|(i, _, _)| *i).collect();
        f.debug_struct("PreparedShares")
            .field("parties", &parties)
            .finish_non_exhaustive()
    }
}

impl PreparedShares {
    /// The coefficients of `candidates`, in their order, when they are exactly the
    /// prepared parties (each once) under the prepared public key shares.
    fn coefficients(
        &self,
        candidates: &[(PartyIndex, &G1Affine, &PrfShare)],
    ) -> Option<Vec<Scalar>> {
        if candidates.len() != self.parties.len() {
            return None;
        }
        let mut used = vec![false; self.parties.len()];
        let mut rhos = Vec::with_capacity(candidates.len());
        for (index, pk, _) in candidates {
            let k = self
                .parties
                .iter()
                .position(|(i, p, _)| i == index && p == *pk)?;
            if core::mem::replace(used.get_mut(k)?, true) {
                return None;
            }
            rhos.push(self.parties.get(k)?.2);
        }
        Some(rhos)
    }
}

impl PrfInput {
    /// Hashes the identity's message to G2 with [`DST`].
    pub fn new(identity: Identity) -> Self {
        let h = hash_to_g2(&identity.message(), DST);
        Self {
            identity,
            h,
            h_affine: OnceLock::new(),
            h_prepared: OnceLock::new(),
            prepared_key: OnceLock::new(),
            prepared_shares: OnceLock::new(),
        }
    }

    /// Computes, ahead of the shares, the half of every later check against `key` that
    /// does not depend on them: `H(msg)`'s line coefficients and the Miller loop of
    /// `(key, H(msg))`. A client calls it with the group key while it waits for the
    /// nodes, so the check of `sigma` ([`interpolate`], [`Sigma::verify`]) is left
    /// with the Miller loop of `sigma` and the final exponentiation. The same
    /// arithmetic either way; only the first key given is kept.
    pub fn prepare(&self, key: &G1Affine) {
        let h_prepared = self.h_prepared();
        self.prepared_key
            .get_or_init(|| (*key, Bls12::multi_miller_loop(&[(key, h_prepared)])));
    }

    /// Computes, ahead of the shares, the half of a batch check ([`shares_verify`],
    /// [`combine`]) that does not depend on them, for shares from exactly `parties`
    /// under these public key shares: a 128-bit coefficient per party drawn from `rng`
    /// and the Miller loop of `(Σ ρ_i PK_i, H(msg))`. A batch of other parties or other
    /// keys takes the unprepared path, whose coefficients are hashed from the shares; the
    /// prepared ones are fixed before the shares exist, which is sound because the nodes
    /// never learn them (they are never sent, and `Debug` leaves them out). The same
    /// arithmetic either way. Only the first call counts; an empty list or a party given
    /// twice prepares nothing.
    pub fn prepare_shares(&self, parties: &[(PartyIndex, G1Affine)], rng: &mut impl CryptoRngCore) {
        let distinct = parties
            .iter()
            .enumerate()
            .all(|(k, (i, _))| parties.iter().skip(k + 1).all(|(j, _)| j != i));
        if parties.is_empty() || !distinct {
            return;
        }
        let h_prepared = self.h_prepared();
        self.prepared_shares.get_or_init(|| {
            let parties: Vec<(PartyIndex, G1Affine, Scalar)> = parties
                .iter()
                .map(|(i, pk)| (*i, *pk, random_rho(rng)))
                .collect();
            let pks: Vec<G1Projective> = parties.iter().map(|(_, pk, _)| pk.into()).collect();
            let rhos: Vec<Scalar> = parties.iter().map(|(_, _, rho)| *rho).collect();
            let p = blst_msm(&pks, &rhos, G1Projective::multi_exp).to_affine();
            let key_h = Bls12::multi_miller_loop(&[(&p, h_prepared)]);
            PreparedShares { parties, key_h }
        });
    }

    fn h_prepared(&self) -> &G2Prepared {
        self.h_prepared
            .get_or_init(|| G2Prepared::from(*self.point()))
    }

    /// The identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// `H(msg)`.
    pub fn point(&self) -> &G2Affine {
        self.h_affine.get_or_init(|| self.h.to_affine())
    }

    /// `e(-g1, s) · e(P, H) == 1`, i.e. `e(g1, s) == e(P, H)`, with one final
    /// exponentiation.
    fn check(&self, p: &G1Affine, s: &G2Affine) -> bool {
        match self.prepared_key.get() {
            Some((key, key_h)) if key == p => check_prepared(key_h, s),
            _ => {
                let neg_g1 = -G1Affine::generator();
                let s_prepared = G2Prepared::from(*s);
                let lhs =
                    Bls12::multi_miller_loop(&[(&neg_g1, &s_prepared), (p, self.h_prepared())]);
                bool::from(lhs.final_exponentiation().is_identity())
            }
        }
    }
}

/// `e(-g1, s) · key_h == 1` after the final exponentiation, `key_h` being the Miller loop
/// of `(P, H(msg))`: the check of [`PrfInput::check`] with its key's half computed
/// earlier. blstrs runs a multi-Miller loop pair by pair and multiplies the results,
/// so the split costs nothing extra.
fn check_prepared(key_h: &blstrs::MillerLoopResult, s: &G2Affine) -> bool {
    let neg_g1 = -G1Affine::generator();
    let lhs = Bls12::multi_miller_loop(&[(&neg_g1, &G2Prepared::from(*s))]) + key_h;
    bool::from(lhs.final_exponentiation().is_identity())
}

/// A uniformly random 128-bit coefficient of a batch check.
fn random_rho(rng: &mut impl CryptoRngCore) -> Scalar {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    rho_from(&bytes).unwrap_or(Scalar::ONE)
}

/// The batch coefficient of 16 bytes, read little-endian. A 128-bit value is always a
/// canonical scalar, so this is `None` never in practice.
fn rho_from(bytes: &[u8; 16]) -> Option<Scalar> {
    let mut wide = [0u8; 32];
    wide[..16].copy_from_slice(bytes);
    Option::<Scalar>::from(Scalar::from_bytes_le(&wide))
}

/// One node's PRF share `sk_i · H(msg)`. Public once verified, but `t` of them give
/// `sigma`: send it only to the attested application (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrfShare(G2Affine);

impl PrfShare {
    /// Decodes a compressed G2 point (with subgroup check).
    pub fn from_bytes(bytes: &[u8; G2_LEN]) -> Result<Self, Error> {
        Option::<G2Affine>::from(G2Affine::from_compressed(bytes))
            .map(Self)
            .ok_or(Error::MalformedPoint { what: "PRF share" })
    }

    /// The compressed point.
    pub fn to_bytes(&self) -> [u8; G2_LEN] {
        self.0.to_compressed()
    }

    /// The point.
    pub fn point(&self) -> &G2Affine {
        &self.0
    }
}

/// Node side: `share_i = sk_i · H(msg)`.
pub fn make_share(key: &BlsKeyShare, input: &PrfInput) -> PrfShare {
    PrfShare(key.mul_g2(&input.h).to_affine())
}

/// Checks `e(g1, share) == e(pk_i, H(msg))` for a share under the public key share
/// `pk_i` a node claims (the application's check, before it knows which `t` it will
/// combine): one multi-Miller loop and one final exponentiation, `H(msg)` prepared once
/// per input.
pub fn share_verifies(pk_i: &G1Affine, input: &PrfInput, share: &PrfShare) -> bool {
    input.check(pk_i, &share.0)
}

/// Whether every share verifies under the public key share given with it, in one
/// batch (a random linear combination of the checks, as [`combine`] does): a single
/// multi-Miller loop over `n + 1` pairs. `false` says only that at least one does not;
/// [`share_verifies`] finds which.
pub fn shares_verify(input: &PrfInput, shares: &[(PartyIndex, &G1Affine, &PrfShare)]) -> bool {
    batch_check(input, shares)
}

/// Checks `e(g1, share) == e(PK_i, H(msg))` for the share of party `index`.
pub fn verify_share(
    public: &BlsPublicKeys,
    input: &PrfInput,
    index: PartyIndex,
    share: &PrfShare,
) -> Result<(), Error> {
    let pk_i = public
        .share(index)
        .ok_or(Error::UnknownSender { culprit: index })?;
    if input.check(pk_i, &share.0) {
        Ok(())
    } else {
        Err(Error::InvalidShare { culprit: index })
    }
}

/// The combined PRF output `sigma = sk · H(msg)`: the application's IBE private key and
/// the input of its derived key.
///
/// # Security
///
/// Secret. Zeroized on drop (the point is overwritten with the identity, the bytes with
/// zeros); no `Debug`, `Clone` or `Serialize`.
pub struct Sigma {
    point: G2Affine,
    bytes: [u8; G2_LEN],
}

impl Sigma {
    /// Decodes `sigma` received in compressed form and checks it against the group key.
    pub fn from_bytes(
        bytes: &[u8; G2_LEN],
        group_key: &G1Affine,
        input: &PrfInput,
    ) -> Result<Self, Error> {
        let point = Option::<G2Affine>::from(G2Affine::from_compressed(bytes))
            .ok_or(Error::MalformedPoint { what: "sigma" })?;
        let sigma = Self::from_point(point);
        sigma.verify(group_key, input)?;
        Ok(sigma)
    }

    fn from_point(point: G2Affine) -> Self {
        Self {
            bytes: point.to_compressed(),
            point,
        }
    }

    /// `e(g1, sigma) == e(PK, H(msg))`.
    pub fn verify(&self, group_key: &G1Affine, input: &PrfInput) -> Result<(), Error> {
        if input.check(group_key, &self.point) {
            Ok(())
        } else {
            Err(Error::InvalidSigma)
        }
    }

    /// The compressed point (96 bytes), in a buffer zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; G2_LEN]> {
        Zeroizing::new(self.bytes)
    }

    pub(crate) fn point(&self) -> &G2Affine {
        &self.point
    }

    /// `key = HKDF-SHA256(IKM = compress(sigma), salt = "keynet/derive/v1",
    /// info = app_id || path, L = 32)` (DESIGN §4.1).
    pub fn derive_key(&self, identity: &Identity) -> DerivedKey {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(DERIVE_LABEL), &self.bytes);
        let mut info = Vec::with_capacity(32 + identity.path.len());
        info.extend_from_slice(&identity.app_id);
        info.extend_from_slice(identity.path.as_bytes());
        let mut key = DerivedKey([0; 32]);
        // 32 bytes is far below HKDF-SHA256's 255 * 32 limit, so expand cannot fail.
        if hk.expand(&info, &mut key.0).is_err() {
            key.0.zeroize();
        }
        key
    }
}

impl Drop for Sigma {
    fn drop(&mut self) {
        self.bytes.zeroize();
        // blstrs points do not implement Zeroize; overwrite with a public value.
        self.point = G2Affine::identity();
        compiler_fence(Ordering::SeqCst);
    }
}

/// An application's 32-byte derived secret.
///
/// # Security
///
/// Secret: zeroized on drop, no `Debug`, `Clone` or `Serialize`; compare with
/// [`DerivedKey::ct_eq`].
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DerivedKey([u8; 32]);

impl DerivedKey {
    /// The key bytes.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// Result of [`combine`]: `sigma`, verified against the group key, and the parties whose
/// shares were invalid (to report; they did not prevent success).
pub struct Combined {
    /// The verified PRF output.
    pub sigma: Sigma,
    /// Parties whose shares failed verification or who are not committee members.
    pub culprits: Vec<PartyIndex>,
}

/// Client side: verifies every received share, combines `t` valid ones with Lagrange
/// coefficients at 0, and checks the result against the group key.
///
/// Succeeds when at least `t` valid shares are present, whatever the others contain;
/// `shares` is keyed by the party each share was received from (over its attested
/// channel), not by anything inside the share.
pub fn combine(
    public: &BlsPublicKeys,
    input: &PrfInput,
    shares: &BTreeMap<PartyIndex, PrfShare>,
) -> Result<Combined, Error> {
    let needed = public.threshold();
    let mut culprits = Vec::new();
    let mut candidates: Vec<(PartyIndex, &G1Affine, &PrfShare)> = Vec::new();
    for (index, share) in shares {
        match public.share(*index) {
            Some(pk) => candidates.push((*index, pk, share)),
            None => culprits.push(*index),
        }
    }

    let valid: Vec<(PartyIndex, &PrfShare)> = if batch_check(input, &candidates) {
        candidates.iter().map(|(i, _, s)| (*i, *s)).collect()
    } else {
        let mut ok = Vec::new();
        for (index, pk, share) in &candidates {
            if input.check(pk, &share.0) {
                ok.push((*index, *share));
            } else {
                culprits.push(*index);
            }
        }
        ok
    };
    culprits.sort();

    if valid.len() < usize::from(needed) || needed == 0 {
        return Err(Error::NotEnoughShares {
            needed,
            valid: valid.len(),
            culprits,
        });
    }
    let chosen: Vec<(PartyIndex, PrfShare)> = valid
        .into_iter()
        .take(usize::from(needed))
        .map(|(i, s)| (i, *s))
        .collect();
    let sigma = interpolate(public.group_key(), input, &chosen)?;
    Ok(Combined { sigma, culprits })
}

/// Combines shares the caller has already verified (any `t` of them) with Lagrange
/// coefficients at 0, as one multi-scalar multiplication, and checks the result
/// against `group_key`. [`combine`] is the entry point for unverified shares.
pub fn interpolate(
    group_key: &G1Affine,
    input: &PrfInput,
    shares: &[(PartyIndex, PrfShare)],
) -> Result<Sigma, Error> {
    let indices: Vec<PartyIndex> = shares.iter().map(|(i, _)| *i).collect();
    let lambdas = lagrange_at_zero(&indices)?;
    let points: Vec<G2Projective> = shares
        .iter()
        .map(|(_, s)| G2Projective::from(s.0))
        .collect();
    let sigma = Sigma::from_point(blst_msm(&points, &lambdas, G2Projective::multi_exp).to_affine());
    sigma.verify(group_key, input)?;
    Ok(sigma)
}

/// Lagrange coefficients at 0 for distinct nonzero indices:
/// `λ_i = Π_{j≠i} x_j / (x_j - x_i)`.
pub fn lagrange_at_zero(indices: &[PartyIndex]) -> Result<Vec<Scalar>, Error> {
    let xs: Vec<Scalar> = indices
        .iter()
        .map(|i| Scalar::from(u64::from(i.get())))
        .collect();
    let mut out = Vec::with_capacity(xs.len());
    for (i, (xi, index)) in xs.iter().zip(indices).enumerate() {
        let mut num = Scalar::ONE;
        let mut den = Scalar::ONE;
        for (j, xj) in xs.iter().enumerate() {
            if i != j {
                num *= xj;
                den *= *xj - xi;
            }
        }
        // Only a repeated index makes the denominator zero.
        let inv = Option::<Scalar>::from(den.invert())
            .ok_or(Error::UnexpectedSigner { index: *index })?;
        out.push(num * inv);
    }
    Ok(out)
}

/// Random-linear-combination check of all candidate shares at once:
/// `e(-g1, Σ ρ_i s_i) · e(Σ ρ_i PK_i, H) == 1`, with 128-bit `ρ_i` derived by hashing
/// the message and every (index, share) pair, so they are fixed only after all shares
/// are; or, when the input was prepared for exactly these parties and public key shares
/// ([`PrfInput::prepare_shares`]), drawn at random before the shares and never sent.
/// A bad share passes with probability about 2^-128.
fn batch_check(input: &PrfInput, candidates: &[(PartyIndex, &G1Affine, &PrfShare)]) -> bool {
    if candidates.is_empty() {
        return true;
    }
    let shares: Vec<G2Projective> = candidates
        .iter()
        .map(|(_, _, s)| G2Projective::from(s.0))
        .collect();
    let prepared = input
        .prepared_shares
        .get()
        .and_then(|p| Some((p, p.coefficients(candidates)?)));
    if let Some((prepared, rhos)) = prepared {
        let s = blst_msm(&shares, &rhos, G2Projective::multi_exp).to_affine();
        return check_prepared(&prepared.key_h, &s);
    }
    let mut seed = Sha256::new();
    seed.update(BATCH_LABEL);
    seed.update(input.identity.message());
    for (index, pk, share) in candidates {
        seed.update(index.get().to_be_bytes());
        seed.update(pk.to_compressed());
        seed.update(share.0.to_compressed());
    }
    let seed = seed.finalize();
    let mut rhos = Vec::with_capacity(candidates.len());
    for (index, _, _) in candidates {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(seed)
            .chain_update(index.get().to_be_bytes())
            .finalize()
            .into();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        match rho_from(&first) {
            Some(rho) => rhos.push(rho),
            None => return false,
        }
    }
    let pks: Vec<G1Projective> = candidates
        .iter()
        .map(|(_, pk, _)| G1Projective::from(**pk))
        .collect();
    let s = blst_msm(&shares, &rhos, G2Projective::multi_exp).to_affine();
    let p = blst_msm(&pks, &rhos, G1Projective::multi_exp).to_affine();
    input.check(&p, &s)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn identity__should_reject_empty_and_long_paths() {
        assert_eq!(
            Identity::new([0; 32], ""),
            Err(Error::InvalidPathLength { len: 0 })
        );
        let long = "a".repeat(256);
        assert_eq!(
            Identity::new([0; 32], &long),
            Err(Error::InvalidPathLength { len: 256 })
        );
        assert!(Identity::new([0; 32], &"a".repeat(255)).is_ok());
    }

    #[test]
    fn message__should_follow_design_4_1() {
        let id = Identity::new([7; 32], "disk").unwrap();
        let mut expected = b"keynet/derive/v1".to_vec();
        expected.extend_from_slice(&[7; 32]);
        expected.push(4);
        expected.extend_from_slice(b"disk");
        assert_eq!(id.message(), expected);
    }

    #[test]
    fn prepared_shares__should_match_only_the_prepared_parties_and_keys_each_once() {
        use rand::SeedableRng;
        let at = |i: u16| PartyIndex::new(i).unwrap();
        let pk = |k: u64| (G1Projective::generator() * Scalar::from(k)).to_affine();
        let share = PrfShare(G2Affine::generator());
        let input = PrfInput::new(Identity::new([1; 32], "disk").unwrap());
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        // A party given twice prepares nothing.
        input.prepare_shares(&[(at(1), pk(1)), (at(1), pk(1))], &mut rng);
        assert!(input.prepared_shares.get().is_none());
        input.prepare_shares(&[(at(1), pk(1)), (at(3), pk(3))], &mut rng);
        let prepared = input.prepared_shares.get().unwrap();
        let (k1, k3, k2) = (pk(1), pk(3), pk(2));
        let rhos = prepared
            .coefficients(&[(at(3), &k3, &share), (at(1), &k1, &share)])
            .unwrap();
        assert_eq!(rhos, vec![prepared.parties[1].2, prepared.parties[0].2]);
        assert_ne!(rhos[0], rhos[1]);
        for other in [
            vec![(at(1), &k1, &share)],
            vec![(at(1), &k1, &share), (at(3), &k2, &share)],
            vec![(at(1), &k1, &share), (at(2), &k3, &share)],
            vec![(at(1), &k1, &share), (at(1), &k1, &share)],
            vec![
                (at(1), &k1, &share),
                (at(3), &k3, &share),
                (at(3), &k3, &share),
            ],
        ] {
            assert!(prepared.coefficients(&other).is_none(), "{other:?}");
        }
        // Debug names the parties and not the coefficients.
        let shown = format!("{prepared:?}");
        assert!(shown.contains("P1") && !shown.contains("Scalar"), "{shown}");
    }

    #[test]
    fn lagrange__should_interpolate_constant_term() {
        // f(x) = 5 + 3x + 2x^2 at x = 2, 5, 9.
        let f = |x: u64| Scalar::from(5 + 3 * x + 2 * x * x);
        let idx: Vec<PartyIndex> = [2u16, 5, 9]
            .iter()
            .map(|i| PartyIndex::new(*i).unwrap())
            .collect();
        let l = lagrange_at_zero(&idx).unwrap();
        let at0 = l[0] * f(2) + l[1] * f(5) + l[2] * f(9);
        assert_eq!(at0, Scalar::from(5u64));
    }
}
