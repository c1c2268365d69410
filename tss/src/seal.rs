//! Identity-based sealing (DESIGN §4.2): Boneh–Franklin IBE (CRYPTO 2001, "BasicIdent"
//! with a hybrid KEM/DEM) over the same `H(msg)` as the derived-key PRF.
//!
//! Anyone holding only the group key `PK` seals to `(app_id, path)` offline; opening
//! needs `sigma = sk·H(msg)`, which the network releases only to an attested instance of
//! an approved build of that application.
//!
//! Byte format (normative, repeated with a known-answer vector in `docs/PROTOCOL.md`
//! "Identity-based sealing"):
//!
//! ```text
//! sealed = 0x02 || U (48 bytes, compressed G1, U = r·g1) || AEAD ciphertext || tag (16)
//! Z      = e(r·PK, H(msg)) = e(U, sigma)                     (in GT, e pinned below)
//! k      = HKDF-SHA256(IKM = gt_bytes(Z) (576 bytes), salt = "keynet/seal/v2",
//!                      info = U || app_id || u8(len(path)) || path, L = 32)
//! AEAD   = ChaCha20-Poly1305 (RFC 8439), key k, nonce 12 zero bytes,
//!          AD = "keynet/seal/v2" || 0x02 || app_id || u8(len(path)) || path || U
//! ```
//!
//! A fixed nonce is safe because `k` is fresh for every sealed box (fresh `r`).
//!
//! `e` is the pairing as blst, arkworks and zkcrypto's `bls12_381` return it
//! (`docs/PROTOCOL.md` says how each was checked): for
//! `P ∈ G1` and `Q' ∈ G2` (on the twist `y² = x³ + 4(u + 1)`), untwisted to
//! `Q = (x'/w², y'/w³)`, `e(P, Q') = f_{|x|,Q}(P)^(−3·(p¹² − 1)/r)` with
//! `|x| = 0xd201000000010000`. That is the cube of the textbook optimal ate pairing
//! `ê(P, Q') = f_{x,Q}(P)^((p¹² − 1)/r)` (`x` is negative, so `f_{x,Q} = 1/f_{|x|,Q}` up to
//! factors the final exponentiation removes): their final exponentiations raise to
//! `3·(p¹² − 1)/r`. py_ecc's `pairing(Q, P)` returns `ê(P, Q)⁻¹`, so `e = pairing(Q, P)⁻³`
//! there. `docs/PROTOCOL.md` gives `e(g1, g2)` to calibrate any other library.
//! `gt_bytes` writes `Z ∈ Fp12 = Fp6[w]/(w² − v)`, `Fp6 = Fp2[v]/(v³ − (u + 1))`,
//! `Fp2 = Fp[u]/(u² + 1)` as its twelve Fp coefficients, 48-byte big-endian each, the
//! power of `w` outermost and the power of `u` innermost: `c0.c0.c0, c0.c0.c1,
//! c0.c1.c0, c0.c1.c1, c0.c2.c0, c0.c2.c1, c1.c0.c0, …, c1.c2.c1`.
//!
//! Version 1 (`0x01`, label `keynet/seal/v1`) hashed the same `Z` in blst's interleaved
//! coefficient order and said only "element of GT", which other libraries could not
//! reproduce (issue 8); it is no longer accepted.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use blstrs::{G1Affine, G1Projective, G2Affine, Scalar};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ff::Field;
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::prf::{Identity, PrfInput, Sigma, G1_LEN};

/// Version byte of the sealed-box format.
pub const VERSION: u8 = 2;

/// Domain label (HKDF salt, start of the associated data).
pub const SEAL_LABEL: &[u8] = b"keynet/seal/v2";

/// Length of a serialized GT element (`gt_bytes`).
pub const GT_LEN: usize = 576;

const FP_LEN: usize = 48;

const INFO_CAPACITY: usize = G1_LEN + 32 + 1 + 255;
const AD_CAPACITY: usize = 14 + 1 + 32 + 1 + 255 + G1_LEN;

/// Bytes a sealed box adds to its plaintext: version, `U`, tag.
pub const OVERHEAD: usize = 1 + G1_LEN + 16;

/// Seals `plaintext` to `identity` under the group key `group_key`.
pub fn seal(
    group_key: &G1Affine,
    identity: &Identity,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, Error> {
    seal_with_nonce(group_key, identity, plaintext, &nonzero_scalar(rng))
}

/// [`seal`] with the caller's nonce `r` (nonzero). Crate-private: a repeated `r` reuses
/// the AEAD key; only the known-answer test fixes it.
pub(crate) fn seal_with_nonce(
    group_key: &G1Affine,
    identity: &Identity,
    plaintext: &[u8],
    r: &Scalar,
) -> Result<Vec<u8>, Error> {
    if bool::from(group_key.is_identity()) {
        return Err(Error::MalformedPoint { what: "group key" });
    }
    let input = PrfInput::new(identity.clone());
    let (u, r_pk) = encapsulate(group_key, r);
    let z = pairing(&r_pk, input.point());
    let u_bytes = u.to_compressed();
    let cipher = aead(&z, &u_bytes, identity);
    let ciphertext = cipher
        .encrypt(
            &Nonce::default(),
            Payload {
                msg: plaintext,
                aad: &associated_data(&u_bytes, identity),
            },
        )
        .map_err(|_| Error::DecryptionFailed)?;
    let mut out = Vec::with_capacity(ciphertext.len().saturating_add(1 + G1_LEN));
    out.push(VERSION);
    out.extend_from_slice(&u_bytes);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens a sealed box with `sigma` for `identity` (which the caller obtained and checked
/// with [`crate::combine`] or [`Sigma::from_bytes`]).
pub fn unseal(sigma: &Sigma, identity: &Identity, sealed: &[u8]) -> Result<Vec<u8>, Error> {
    let (version, rest) = sealed
        .split_first()
        .ok_or(Error::CiphertextTooShort { len: sealed.len() })?;
    if *version != VERSION {
        return Err(Error::UnsupportedVersion { version: *version });
    }
    if rest.len() < G1_LEN + 16 {
        return Err(Error::CiphertextTooShort { len: sealed.len() });
    }
    let (u_slice, ciphertext) = rest.split_at(G1_LEN);
    let u_bytes: [u8; G1_LEN] = u_slice
        .try_into()
        .map_err(|_| Error::CiphertextTooShort { len: sealed.len() })?;
    let u = Option::<G1Affine>::from(G1Affine::from_compressed(&u_bytes))
        .filter(|u| !bool::from(u.is_identity()))
        .ok_or(Error::MalformedPoint {
            what: "sealed box U",
        })?;
    let z = pairing(&u, sigma.point());
    let cipher = aead(&z, &u_bytes, identity);
    cipher
        .decrypt(
            &Nonce::default(),
            Payload {
                msg: ciphertext,
                aad: &associated_data(&u_bytes, identity),
            },
        )
        .map_err(|_| Error::DecryptionFailed)
}

/// A uniformly random nonzero scalar.
fn nonzero_scalar(rng: &mut impl CryptoRngCore) -> Scalar {
    let mut r = Scalar::random(&mut *rng);
    while bool::from(r.is_zero()) {
        r = Scalar::random(&mut *rng);
    }
    r
}

/// `(U, r·PK) = (r·g1, r·PK)`.
#[expect(
    clippy::arithmetic_side_effects,
    reason = "group arithmetic, exempt per STYLE §5; no untrusted lengths involved"
)]
fn encapsulate(group_key: &G1Affine, r: &Scalar) -> (G1Affine, G1Affine) {
    let u = (G1Projective::generator() * r).to_affine();
    let r_pk = (G1Projective::from(*group_key) * r).to_affine();
    // `r` is not zeroized: blstrs scalars do not implement Zeroize. It protects one
    // sealed box only and never leaves the caller's stack frame.
    (u, r_pk)
}

/// `gt_bytes(e(p, q))` for the pairing `e` of the module docs (blst's, unchanged).
fn pairing(p: &G1Affine, q: &G2Affine) -> Zeroizing<[u8; GT_LEN]> {
    let z = blst::blst_fp12::miller_loop(q.as_ref(), p.as_ref()).final_exp();
    gt_bytes(&Zeroizing::new(z.to_bendian()))
}

/// Reorders blst's `blst_bendian_from_fp12` output (`c0.c0.c0, c0.c0.c1, c1.c0.c0,
/// c1.c0.c1, c0.c1.c0, …`: the power of `v` outermost) into `gt_bytes` order
/// (`c0.c0.c0, c0.c0.c1, c0.c1.c0, …`: the power of `w` outermost).
fn gt_bytes(blst_order: &[u8; GT_LEN]) -> Zeroizing<[u8; GT_LEN]> {
    // Output coefficient c_a.c_b.c_c (index 6a + 2b + c) is blst's index 4b + 2a + c.
    const FROM: [usize; 12] = [0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11];
    let blst: Vec<&[u8]> = blst_order.chunks_exact(FP_LEN).collect();
    let mut out = Zeroizing::new([0u8; GT_LEN]);
    for (chunk, from) in out.chunks_exact_mut(FP_LEN).zip(FROM) {
        if let Some(src) = blst.get(from) {
            chunk.copy_from_slice(src);
        }
    }
    out
}

fn aead(z: &[u8; GT_LEN], u: &[u8; G1_LEN], identity: &Identity) -> ChaCha20Poly1305 {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(SEAL_LABEL), z);
    let mut info = Vec::with_capacity(INFO_CAPACITY);
    info.extend_from_slice(u);
    identity.encode_tail(&mut info);
    let mut k = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit; expand cannot fail.
    let _ = hk.expand(&info, k.as_mut());
    ChaCha20Poly1305::new(&Key::from(*k))
}

fn associated_data(u: &[u8; G1_LEN], identity: &Identity) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_CAPACITY);
    ad.extend_from_slice(SEAL_LABEL);
    ad.push(VERSION);
    identity.encode_tail(&mut ad);
    ad.extend_from_slice(u);
    ad
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// The known-answer vector of `docs/PROTOCOL.md`, checked independently by
    /// `scripts/check_seal.py`.
    fn must_vector() -> serde_json::Value {
        serde_json::from_str(include_str!("../tests/vectors/seal_kat.json")).unwrap()
    }

    fn must_hex(v: &serde_json::Value, key: &str) -> Vec<u8> {
        hex::decode(v[key].as_str().unwrap()).unwrap()
    }

    fn must_scalar(v: &serde_json::Value, key: &str) -> Scalar {
        let bytes: [u8; 32] = must_hex(v, key).try_into().unwrap();
        Option::from(Scalar::from_bytes_be(&bytes)).unwrap()
    }

    #[test]
    fn pairing__should_match_the_calibration_value() {
        let v = must_vector();
        let e = pairing(&G1Affine::generator(), &G2Affine::generator());
        assert_eq!(hex::encode(e.as_ref()), v["e_g1_g2"].as_str().unwrap());
    }

    #[test]
    fn seal_with_nonce__should_reproduce_the_known_answer_vector() {
        let v = must_vector();
        let sk = must_scalar(&v, "sk");
        let r = must_scalar(&v, "r");
        let pk = (G1Projective::generator() * sk).to_affine();
        assert_eq!(pk.to_compressed().to_vec(), must_hex(&v, "pk"));
        let app_id: [u8; 32] = must_hex(&v, "app_id").try_into().unwrap();
        let identity = Identity::new(app_id, v["path"].as_str().unwrap()).unwrap();
        let input = PrfInput::new(identity.clone());
        let r_pk = (G1Projective::from(pk) * r).to_affine();
        let z = pairing(&r_pk, input.point());
        assert_eq!(hex::encode(z.as_ref()), v["z"].as_str().unwrap());
        let sealed = seal_with_nonce(&pk, &identity, &must_hex(&v, "plaintext"), &r).unwrap();
        assert_eq!(hex::encode(&sealed), v["sealed"].as_str().unwrap());
    }

    #[test]
    fn gt_bytes__should_put_the_power_of_w_outermost() {
        // blst order c0.c0.c0, c0.c0.c1, c1.c0.c0, c1.c0.c1, c0.c1.c0, ...: tag each
        // coefficient with its blst position and check where it lands.
        let mut blst = [0u8; GT_LEN];
        for (i, chunk) in blst.chunks_exact_mut(FP_LEN).enumerate() {
            chunk[0] = u8::try_from(i).unwrap();
        }
        let out = gt_bytes(&blst);
        let order: Vec<u8> = out.chunks_exact(FP_LEN).map(|c| c[0]).collect();
        assert_eq!(order, [0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11]);
    }
}
