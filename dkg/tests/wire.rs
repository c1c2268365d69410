//! Every wire decoder returns a typed error on random or corrupted bytes, never panics.
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use dkg::bls::{BlsKeyShare, BlsPublicKeys};
use dkg::repair::{step1, step2};
use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use dkg::vss::{round1, round2, round3, round4};
use dkg::wire::{self, DecodeError, Header};
use dkg::{sim, PartyIndex};
use proptest::prelude::*;
use rand::SeedableRng;

fn decode_all(bytes: &[u8]) -> Vec<Result<(), String>> {
    fn d<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<(), String> {
        wire::decode::<T>(b)
            .map(|_| ())
            .map_err(|e: DecodeError| e.to_string())
    }
    vec![
        d::<Header>(bytes),
        d::<PartyIndex>(bytes),
        d::<round1::Broadcast>(bytes),
        d::<round2::Direct>(bytes),
        d::<round3::Broadcast>(bytes),
        d::<round4::Broadcast>(bytes),
        d::<step1::Broadcast>(bytes),
        d::<step1::Direct>(bytes),
        d::<step2::Direct>(bytes),
        d::<BlsPublicKeys>(bytes),
        d::<SecpPublicKeys>(bytes),
        BlsKeyShare::import_from_sealing(bytes)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        SecpKeyShare::import_from_sealing(bytes)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    ]
}

/// Valid encodings of every message type, from a real run (computed once).
fn valid_messages() -> &'static Vec<Vec<u8>> {
    static CELL: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CELL.get_or_init(compute_valid_messages)
}

fn compute_valid_messages() -> Vec<Vec<u8>> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let parties = sim::committee(3);
    let params = dkg::pedersen::Params {
        run_id: [1; 32],
        me: PartyIndex::new(1).unwrap(),
        parties,
        threshold: 2,
    };
    let (_, b1) = dkg::pedersen::start::<dkg::suite::Bls12381G1>(&params, &mut rng).unwrap();
    let (public, shares, _) = sim::dkg_bls(2, 3, &mut rng).unwrap();
    vec![
        wire::encode(&b1).unwrap(),
        wire::encode(&public).unwrap(),
        shares[0].export_for_sealing().to_vec(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/wire.txt"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn decoders__should_reject_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Header and PartyIndex are small enough that random bytes can be valid (the
        // CBOR integer 5 is party 5); the messages and key material never are.
        prop_assert!(decode_all(&bytes)[2..].iter().all(Result::is_err));
    }

    #[test]
    fn decoders__should_not_panic_on_corrupted_messages(
        which in 0usize..3,
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        cut in any::<bool>(),
    ) {
        let mut msg = valid_messages()[which].clone();
        let i = pos.index(msg.len());
        if cut {
            msg.truncate(i);
        } else {
            msg[i] ^= xor;
        }
        let _ = decode_all(&msg);
    }
}

#[test]
fn decode__should_reject_oversized_input() {
    let big = vec![0u8; wire::MAX_MESSAGE_LEN + 1];
    assert!(matches!(
        wire::decode::<Header>(&big),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn party_index__should_not_decode_zero() {
    let zero = wire::encode(&0u16).unwrap();
    assert!(matches!(
        wire::decode::<PartyIndex>(&zero),
        Err(DecodeError::Semantic { .. })
    ));
}
