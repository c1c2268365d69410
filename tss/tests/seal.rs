//! Identity-based sealing (DESIGN §4.2): round trip, wrong identity, tampering.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use dkg::insecure_dealer::deal_bls;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tss::seal::{seal, unseal, OVERHEAD};
use tss::{combine, make_share, Error, Identity, PrfInput, Sigma};

fn must_sigma(seed: u64, id: &Identity) -> (blstrs::G1Affine, Sigma) {
    let (public, keys) = deal_bls(2, 3, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
    let input = PrfInput::new(id.clone());
    let shares: BTreeMap<_, _> = keys[..2]
        .iter()
        .map(|k| (k.index(), make_share(k, &input)))
        .collect();
    (
        *public.group_key(),
        combine(&public, &input, &shares).unwrap().sigma,
    )
}

fn disk() -> Identity {
    Identity::new([3; 32], "disk").unwrap()
}

#[test]
fn seal__should_round_trip() {
    let id = disk();
    let (pk, sigma) = must_sigma(1, &id);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let boxed = seal(&pk, &id, b"the disk key", &mut rng).unwrap();
    assert_eq!(boxed.len(), b"the disk key".len() + OVERHEAD);
    assert_eq!(boxed[0], 2);
    assert_eq!(unseal(&sigma, &id, &boxed).unwrap(), b"the disk key");
    // Fresh randomness: sealing twice gives different boxes.
    assert_ne!(seal(&pk, &id, b"the disk key", &mut rng).unwrap(), boxed);
}

#[test]
fn unseal__should_fail_for_other_identity() {
    let id = disk();
    let other = Identity::new([3; 32], "wallet").unwrap();
    let (pk, _) = must_sigma(2, &id);
    let (_, sigma_other) = {
        // Same committee (same seed), other identity.
        must_sigma(2, &other)
    };
    let boxed = seal(&pk, &id, b"secret", &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    assert_eq!(
        unseal(&sigma_other, &other, &boxed),
        Err(Error::DecryptionFailed)
    );
    // Right sigma, but claimed for another identity (associated data differs).
    let (_, sigma) = must_sigma(2, &id);
    assert_eq!(unseal(&sigma, &other, &boxed), Err(Error::DecryptionFailed));
    // Another committee's sigma for the same identity.
    let (_, foreign) = must_sigma(3, &id);
    assert_eq!(unseal(&foreign, &id, &boxed), Err(Error::DecryptionFailed));
}

#[test]
fn unseal__should_give_typed_errors_for_malformed_boxes() {
    let id = disk();
    let (pk, sigma) = must_sigma(4, &id);
    let boxed = seal(&pk, &id, b"x", &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    assert_eq!(
        unseal(&sigma, &id, &[]),
        Err(Error::CiphertextTooShort { len: 0 })
    );
    assert_eq!(
        unseal(&sigma, &id, &boxed[..OVERHEAD - 1]),
        Err(Error::CiphertextTooShort { len: OVERHEAD - 1 })
    );
    let mut v = boxed.clone();
    v[0] = 1;
    assert_eq!(
        unseal(&sigma, &id, &v),
        Err(Error::UnsupportedVersion { version: 1 })
    );
    let mut u = boxed.clone();
    u[1..49].copy_from_slice(&[0xff; 48]);
    assert!(matches!(
        unseal(&sigma, &id, &u),
        Err(Error::MalformedPoint { .. })
    ));
}

/// The known-answer vector of `docs/PROTOCOL.md` (also opened by
/// `scripts/check_seal.py`, which shares no code with this crate).
#[test]
fn unseal__should_open_the_known_answer_vector() {
    let v: serde_json::Value = serde_json::from_str(include_str!("vectors/seal_kat.json")).unwrap();
    let hex = |k: &str| hex::decode(v[k].as_str().unwrap()).unwrap();
    let app_id: [u8; 32] = hex("app_id").try_into().unwrap();
    let id = Identity::new(app_id, v["path"].as_str().unwrap()).unwrap();
    let pk = blstrs::G1Affine::from_compressed(&hex("pk").try_into().unwrap()).unwrap();
    let sigma = Sigma::from_bytes(
        &hex("sigma").try_into().unwrap(),
        &pk,
        &PrfInput::new(id.clone()),
    )
    .unwrap();
    assert_eq!(
        unseal(&sigma, &id, &hex("sealed")).unwrap(),
        hex("plaintext")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn unseal__should_reject_any_single_bit_flip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        bit in any::<proptest::sample::Index>(),
    ) {
        let id = disk();
        let (pk, sigma) = must_sigma(5, &id);
        let boxed = seal(&pk, &id, &plaintext, &mut ChaCha20Rng::seed_from_u64(7)).unwrap();
        prop_assert_eq!(unseal(&sigma, &id, &boxed).unwrap(), plaintext);
        let mut t = boxed.clone();
        let i = bit.index(t.len() * 8);
        t[i / 8] ^= 1 << (i % 8);
        prop_assert!(unseal(&sigma, &id, &t).is_err());
    }

    #[test]
    fn unseal__should_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let id = disk();
        let (_, sigma) = must_sigma(6, &id);
        prop_assert!(unseal(&sigma, &id, &bytes).is_err());
    }
}
