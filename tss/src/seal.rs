//! Identity-based sealing (DESIGN §4.2): Boneh–Franklin IBE (CRYPTO 2001, "BasicIdent"
//! with a hybrid KEM/DEM) over the same `H(msg)` as the derived-key PRF.
//!
//! Anyone holding only the group key `PK` seals to `(app_id, path)` offline; opening
//! needs `sigma = sk·H(msg)`, which the network releases only to an attested instance of
//! an approved build of that application.
//!
//! Byte format (normative, repeated in `docs/PROTOCOL.md` "Identity-based sealing"):
//!
//! ```text
//! sealed = 0x01 || U (48 bytes, compressed G1, U = r·g1) || AEAD ciphertext || tag (16)
//! Z      = e(r·PK, H(msg)) = e(U, sigma)                     (in GT)
//! k      = HKDF-SHA256(IKM = fp12_be(Z) (576 bytes), salt = "keynet/seal/v1",
//!                      info = U || app_id || u8(len(path)) || path, L = 32)
//! AEAD   = ChaCha20-Poly1305 (RFC 8439), key k, nonce 12 zero bytes,
//!          AD = "keynet/seal/v1" || 0x01 || app_id || u8(len(path)) || path || U
//! ```
//!
//! A fixed nonce is safe because `k` is fresh for every sealed box (fresh `r`).
//! `fp12_be` is blst's `blst_bendian_from_fp12`: the twelve base-field coefficients as
//! 48-byte big-endian integers in the order `c0.c0.c0, c0.c0.c1, c1.c0.c0, c1.c0.c1,
//! c0.c1.c0, c0.c1.c1, c1.c1.c0, c1.c1.c1, c0.c2.c0, c0.c2.c1, c1.c2.c0, c1.c2.c1`
//! (`Fp12 = Fp6[w]`, `Fp6 = Fp2[v]`, `Fp2 = Fp[u]`).
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
pub const VERSION: u8 = 1;

/// Domain label (HKDF salt, start of the associated data).
pub const SEAL_LABEL: &[u8] = b"keynet/seal/v1";

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
    if bool::from(group_key.is_identity()) {
        return Err(Error::MalformedPoint { what: "group key" });
    }
    let input = PrfInput::new(identity.clone());
    let (u, r_pk) = encapsulate(group_key, rng);
    let z = gt_bytes(&r_pk, input.point());
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
    let z = gt_bytes(&u, sigma.point());
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

/// `(U, r·PK) = (r·g1, r·PK)` for a fresh nonzero `r`.
#[expect(
    clippy::arithmetic_side_effects,
    reason = "group arithmetic, exempt per STYLE §5; no untrusted lengths involved"
)]
fn encapsulate(group_key: &G1Affine, rng: &mut impl CryptoRngCore) -> (G1Affine, G1Affine) {
    let mut r = Scalar::random(&mut *rng);
    while bool::from(r.is_zero()) {
        r = Scalar::random(&mut *rng);
    }
    let u = (G1Projective::generator() * r).to_affine();
    let r_pk = (G1Projective::from(*group_key) * r).to_affine();
    // `r` is not zeroized: blstrs scalars do not implement Zeroize. It protects one
    // sealed box only and never leaves this stack frame.
    (u, r_pk)
}

/// `fp12_be(e(p, q))`, see the module docs.
fn gt_bytes(p: &G1Affine, q: &G2Affine) -> Zeroizing<[u8; 576]> {
    let z = blst::blst_fp12::miller_loop(q.as_ref(), p.as_ref()).final_exp();
    Zeroizing::new(z.to_bendian())
}

fn aead(z: &[u8; 576], u: &[u8; G1_LEN], identity: &Identity) -> ChaCha20Poly1305 {
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
