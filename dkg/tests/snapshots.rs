//! Wire encodings and the transcript hash are stable (insta snapshots). A change here is
//! a wire-format change: bump `wire::VERSION` and update docs/PROTOCOL.md.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::{pedersen, sim, wire, PartyIndex};
use rand::SeedableRng;

/// Encodings of one party's messages in a seeded 2-of-2 DKG.
fn messages<S: Suite>() -> String {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2024);
    let parties = sim::committee(2);
    let one = PartyIndex::new(1).unwrap();
    let two = PartyIndex::new(2).unwrap();
    let keys = sim::identity_keys(&[0xab; 32], &parties);
    let params = |me| pedersen::Params {
        run_id: [0xab; 32],
        me,
        parties: parties.clone(),
        threshold: 2,
        identities: sim::verifying_keys(&keys),
    };
    let (s1, b1) = pedersen::start::<S>(&params(one), &keys[&one], &mut rng).unwrap();
    let (s2, b2) = pedersen::start::<S>(&params(two), &keys[&two], &mut rng).unwrap();
    let (s1, d1) = s1.advance(&BTreeMap::from([(two, b2.clone())])).unwrap();
    let (s2, d2) = s2.advance(&BTreeMap::from([(one, b1.clone())])).unwrap();
    let (d1, d2) = (
        d1.into_values().next().unwrap(),
        d2.into_values().next().unwrap(),
    );
    let direct = wire::encode(&d1).unwrap();
    let (s1, c1) = s1.advance(&BTreeMap::from([(two, d2)])).unwrap();
    // Dealer 1's share to party 2 is lost (`d1` is only encoded): party 2 complains,
    // and dealer 1 reveals the share in round 4, the only round-4 message (dealer 2
    // owes nothing).
    let (s2, c2) = s2.advance(&BTreeMap::new()).unwrap();
    let (c1, c2) = (c1.unwrap(), c2.unwrap());
    let (s1, j1) = s1.advance(&BTreeMap::from([(two, c2.clone())])).unwrap();
    let (s2, j2) = s2.advance(&BTreeMap::from([(one, c1.clone())])).unwrap();
    assert!(j2.is_none());
    let j1 = j1.unwrap();
    let o1 = s1.finish(&BTreeMap::new()).unwrap();
    let o2 = s2.finish(&BTreeMap::from([(one, j1.clone())])).unwrap();
    assert_eq!(o1.transcript_hash(), o2.transcript_hash());
    let share = o1.into_key_share().unwrap();
    [
        ("header", wire::encode(b1.header()).unwrap()),
        ("round1", wire::encode(&b1).unwrap()),
        ("round2", direct),
        ("round3", wire::encode(&c1).unwrap()),
        ("round4", wire::encode(&j1).unwrap()),
        ("public_keys", wire::encode(share.public()).unwrap()),
        ("sealed_share", share.export_for_sealing().to_vec()),
        ("transcript", o2.transcript_hash().to_vec()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}: {}\n", hex::encode(v)))
    .collect()
}

#[test]
fn wire_encoding_bls__should_be_stable() {
    insta::assert_snapshot!(messages::<Bls12381G1>());
}

#[test]
fn wire_encoding_secp__should_be_stable() {
    insta::assert_snapshot!(messages::<Secp256k1>());
}
