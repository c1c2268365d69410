//! Every wire decoder returns a typed error on random or corrupted bytes, never panics.
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

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
    let keys = sim::identity_keys(&[1; 32], &parties);
    let one = PartyIndex::new(1).unwrap();
    let params = dkg::pedersen::Params {
        run_id: [1; 32],
        me: one,
        parties,
        threshold: 2,
        identities: sim::verifying_keys(&keys),
    };
    let (s1, b1) =
        dkg::pedersen::start::<dkg::suite::Bls12381G1>(&params, &keys[&one], &mut rng).unwrap();
    // A 2-of-2 run where party 2 misses party 1's round-1 broadcast: party 2's round-3
    // echo reports it missing, so party 1's round-4 message carries the re-broadcast.
    let two = PartyIndex::new(2).unwrap();
    let (s2, b2) = dkg::pedersen::start::<dkg::suite::Bls12381G1>(
        &dkg::pedersen::Params { me: two, ..params },
        &keys[&two],
        &mut rng,
    )
    .unwrap();
    let (s1, d1) = s1.advance(&BTreeMap::from([(two, b2)])).unwrap();
    let (s2, d2) = s2.advance(&BTreeMap::new()).unwrap();
    let from =
        |p: PartyIndex, d: BTreeMap<PartyIndex, _>| d.into_values().map(|m| (p, m)).collect();
    let (s1, c1) = s1.advance(&from(two, d2)).unwrap();
    let (s2, c2) = s2.advance(&from(one, d1)).unwrap();
    let (c1, c2) = (c1.unwrap(), c2.unwrap());
    let (_, j1) = s1.advance(&BTreeMap::from([(two, c2.clone())])).unwrap();
    let (_, _) = s2.advance(&BTreeMap::from([(one, c1.clone())])).unwrap();
    let (public, shares, _) = sim::dkg_bls(2, 3, &mut rng).unwrap();
    vec![
        wire::encode(&b1).unwrap(),
        wire::encode(&public).unwrap(),
        shares[0].export_for_sealing().to_vec(),
        wire::encode(&c2).unwrap(),
        wire::encode(&j1.unwrap()).unwrap(),
    ]
}

#[test]
fn round4__should_carry_the_rebroadcast_and_round3_the_signed_echo() {
    let m = valid_messages();
    let c2: round3::Broadcast = wire::decode(&m[3]).unwrap();
    let j1: round4::Broadcast = wire::decode(&m[4]).unwrap();
    // Decoded and re-encoded byte for byte.
    assert_eq!(wire::encode(&c2).unwrap(), m[3]);
    assert_eq!(wire::encode(&j1).unwrap(), m[4]);
    // Party 2 complained against party 1 (no commitment to check the share against).
    assert!(c2.complaints().contains(&PartyIndex::new(1).unwrap()));
    let round1: round1::Broadcast = wire::decode(&m[0]).unwrap();
    assert_eq!(j1.rebroadcast(), Some(&round1));
}

#[test]
fn echo__should_reject_a_signature_that_is_not_64_bytes() {
    let m = valid_messages();
    let mut v: ciborium::Value = ciborium::from_reader(m[3].as_slice()).unwrap();
    let ciborium::Value::Map(fields) = &mut v else {
        panic!("not a map")
    };
    let (_, echo) = fields
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some("echo"))
        .unwrap();
    let ciborium::Value::Map(echo) = echo else {
        panic!("echo not a map")
    };
    let (_, entry) = echo.first_mut().unwrap();
    let ciborium::Value::Map(entry) = entry else {
        panic!("entry not a map")
    };
    let (_, sig) = entry
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some("signature"))
        .unwrap();
    *sig = ciborium::Value::Bytes(vec![0; 63]);
    let mut bytes = Vec::new();
    ciborium::into_writer(&v, &mut bytes).unwrap();
    assert!(matches!(
        wire::decode::<round3::Broadcast>(&bytes),
        Err(DecodeError::Semantic { .. })
    ));
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
        which in 0usize..5,
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
