#!/usr/bin/env python3
"""Independent check of keynet's identity-based sealing (docs/PROTOCOL.md,
"Identity-based sealing", format version 2).

Written from the document alone, sharing no code with the Rust implementation (blst,
blstrs, the hkdf and chacha20poly1305 crates): py_ecc for BLS12-381 (RFC 9380
hash-to-curve, the pairing), hashlib/hmac for HKDF-SHA256 (RFC 5869) and the
`cryptography` package's ChaCha20-Poly1305 (RFC 8439).

Reads a known-answer vector (default: tss/tests/vectors/seal_kat.json) and checks:
  1. e(g1, g2) is the calibration value of the document (e = the textbook pairing cubed);
  2. PK = sk*g1, sigma = sk*H(msg), and sigma verifies under PK: e(g1, sigma) == e(PK, H);
  3. U = r*g1, and the sealed box opens with sigma (Z = e(U, sigma)) to the plaintext;
  4. sealing the plaintext again with the same r (Z = e(r*PK, H)) gives the same bytes.
Prints `ok` and exits 0 only when every check holds.

    python3 scripts/check_seal.py [tss/tests/vectors/seal_kat.json]
"""
import hashlib
import hmac
import json
import os
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from py_ecc.bls.g2_primitives import G1_to_pubkey, G2_to_signature
from py_ecc.bls.hash_to_curve import hash_to_G2
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import G1, G2, curve_order, field_modulus, multiply, pairing

DST = b"KEYNET-V1_BLS12381G2_XMD:SHA-256_SSWU_RO_"
DERIVE = b"keynet/derive/v1"
SEAL = b"keynet/seal/v2"
VERSION = 2


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def hkdf_sha256(ikm, salt, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def e(P, Q):
    """The document's pairing e(P in G1, Q in G2) = ê(P, Q)^3, the cube of the textbook
    optimal ate pairing. py_ecc's pairing(Q, P) runs the Miller loop over |x| without the
    inversion a negative x calls for and raises to exactly (p^12 - 1)/r, so it returns
    ê(P, Q)^-1."""
    return (FQ12.one() / pairing(Q, P)) ** 3


def gt_bytes(z):
    """Z as twelve 48-byte big-endian Fp coefficients in the tower
    Fp12 = Fp6[w]/(w^2 - v), Fp6 = Fp2[v]/(v^3 - (u + 1)), Fp2 = Fp[u]/(u^2 + 1),
    order c0.c0.c0, c0.c0.c1, c0.c1.c0, ..., c1.c2.c1 (power of w outermost).

    py_ecc writes Fp12 as Fp[W]/(W^12 - 2W^6 + 2), where W is the tower's w (W^2 = v) and
    u = W^6 - 1, so the tower coefficient of v^j w^i, (c0 + c1*u), sits at flat powers
    m = 2j + i (c0 - c1) and m + 6 (c1)."""
    a = [int(c) % field_modulus for c in z.coeffs]
    out = b""
    for i in range(2):
        for j in range(3):
            m = 2 * j + i
            c1 = a[m + 6]
            c0 = (a[m] + a[m + 6]) % field_modulus
            out += c0.to_bytes(48, "big") + c1.to_bytes(48, "big")
    return out


def tail(app_id, path):
    return app_id + bytes([len(path)]) + path


def seal_key(z, u, app_id, path):
    return hkdf_sha256(gt_bytes(z), SEAL, u + tail(app_id, path))


def associated_data(u, app_id, path):
    return SEAL + bytes([VERSION]) + tail(app_id, path) + u


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "tss", "tests", "vectors", "seal_kat.json")
    with open(sys.argv[1] if len(sys.argv) > 1 else default) as f:
        v = json.load(f)
    h = lambda k: bytes.fromhex(v[k])
    app_id, path, plaintext, sealed = h("app_id"), v["path"].encode(), h("plaintext"), h("sealed")
    sk, r = int(v["sk"], 16), int(v["r"], 16)
    if len(app_id) != 32 or not 1 <= len(path) <= 255:
        fail("app_id must be 32 bytes and path 1..=255 bytes")
    if not (0 < sk < curve_order and 0 < r < curve_order):
        fail("sk and r must be nonzero scalars below the group order")

    # 1. Calibration: the pairing itself, independent of any key.
    if gt_bytes(e(G1, G2)).hex() != v["e_g1_g2"]:
        fail("e(g1, g2) differs from the calibration value")

    # 2. Keys and sigma (DESIGN 4.1).
    H = hash_to_G2(DERIVE + tail(app_id, path), DST, hashlib.sha256)
    PK = multiply(G1, sk)
    sigma = multiply(H, sk)
    if G1_to_pubkey(PK).hex() != v["pk"]:
        fail("PK is not sk*g1")
    if G2_to_signature(sigma).hex() != v["sigma"]:
        fail("sigma is not sk*H(msg)")
    if e(G1, sigma) != e(PK, H):
        fail("sigma does not verify under PK")

    # 3. Open with sigma.
    if sealed[0] != VERSION or len(sealed) != 1 + 48 + len(plaintext) + 16:
        fail("sealed box does not have the version-2 layout")
    u = sealed[1:49]
    if G1_to_pubkey(multiply(G1, r)) != u or u.hex() != v["u"]:
        fail("U is not r*g1")
    z_open = e(multiply(G1, r), sigma)
    if gt_bytes(z_open).hex() != v["z"]:
        fail("Z = e(U, sigma) differs from the vector")
    k = seal_key(z_open, u, app_id, path)
    if k.hex() != v["k"]:
        fail("k = HKDF(Z) differs from the vector")
    try:
        opened = ChaCha20Poly1305(k).decrypt(bytes(12), sealed[49:], associated_data(u, app_id, path))
    except InvalidTag:
        fail("the sealed box does not open with sigma")
    if opened != plaintext:
        fail("the sealed box opens to another plaintext")

    # 4. Seal again with the same r, from PK only.
    z_seal = e(multiply(PK, r), H)
    if z_seal != z_open:
        fail("e(r*PK, H) != e(U, sigma)")
    k2 = seal_key(z_seal, u, app_id, path)
    resealed = bytes([VERSION]) + u + ChaCha20Poly1305(k2).encrypt(
        bytes(12), plaintext, associated_data(u, app_id, path))
    if resealed != sealed:
        fail("sealing with the same r gives other bytes")
    print("ok")


if __name__ == "__main__":
    main()
