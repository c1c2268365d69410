//! Node-to-node FROST wire messages: round trips and typed rejection of random bytes.
//! The app-to-node messages are tested in kms-api.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use dkg::insecure_dealer::deal_secp;
use frost_secp256k1_tr::Secp256K1Sha256TR;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tss::sign::{commit, Coordinator};
use tss::wire::{CommitmentPair, Commitments, SignatureShareMsg, SigningPackage};
use tss::{AppSigningKey, Identity};

fn id() -> Identity {
    Identity::new([5; 32], "wallet/0").unwrap()
}

#[test]
fn sign_messages__should_round_trip_through_a_run() {
    let (public, keys) = deal_secp(2, 3, &mut ChaCha20Rng::seed_from_u64(2)).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let identity = id();
    let message = b"msg";
    let header = dkg::wire::Header::new(dkg::wire::SuiteId::Secp256k1Tr, [2; 32]);
    let app = AppSigningKey::new(public.group_key(), &identity).unwrap();
    let mut states = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for k in &keys[..2] {
        let (s, c) = commit::<Secp256K1Sha256TR>(app.key_package(k).package(), &mut rng);
        let msg = Commitments {
            header,
            party: k.index(),
            commitments: CommitmentPair::from_frost(&c).unwrap(),
        };
        let msg = Commitments::decode(&msg.encode().unwrap()).unwrap();
        states.insert(k.index(), s);
        commitments.insert(msg.party, msg.commitments.to_frost().unwrap());
    }
    let signers: BTreeSet<_> = commitments.keys().copied().collect();
    let (awaiting, package) = Coordinator::new(app.public_package(&public), message, &signers)
        .unwrap()
        .package(commitments)
        .unwrap();
    let wire_pkg = SigningPackage::from_frost([2; 32], &identity, &package).unwrap();
    let wire_pkg = SigningPackage::decode(&wire_pkg.encode().unwrap()).unwrap();
    assert_eq!(wire_pkg.to_frost().unwrap(), package);
    let mut shares = BTreeMap::new();
    for (i, s) in states {
        let share = s.sign(&wire_pkg.to_frost().unwrap()).unwrap();
        let m = SignatureShareMsg::new([2; 32], i, &share).unwrap();
        let m = SignatureShareMsg::decode(&m.encode().unwrap()).unwrap();
        shares.insert(m.party, m.to_frost().unwrap());
    }
    let sig = awaiting.aggregate(shares).unwrap();
    assert!(app.verifying_key().verify(message, &sig).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decoders__should_reject_random_bytes_with_typed_errors(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        prop_assert!(Commitments::decode(&bytes).is_err());
        prop_assert!(SigningPackage::decode(&bytes).is_err());
        prop_assert!(SignatureShareMsg::decode(&bytes).is_err());
    }

    #[test]
    fn decoders__should_reject_mutated_valid_messages_without_panicking(
        which in 0usize..3,
        pos in any::<proptest::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = fixed_messages()[which].1.clone();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        // Either still valid (the byte did not matter or was unchanged) or a typed error.
        let _ = Commitments::decode(&bytes);
        let _ = SigningPackage::decode(&bytes);
        let _ = SignatureShareMsg::decode(&bytes);
    }
}

/// Every message built from fixed inputs, in a fixed order.
fn fixed_messages() -> Vec<(&'static str, Vec<u8>)> {
    let p1 = dkg::PartyIndex::new(1).unwrap();
    let p2 = dkg::PartyIndex::new(2).unwrap();
    // secp256k1 generator G, compressed.
    let g33: [u8; 33] =
        hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
            .unwrap()
            .try_into()
            .unwrap();
    let pair = CommitmentPair {
        hiding: g33,
        binding: g33,
    };
    let mut scalar = [0u8; 32];
    scalar[31] = 5;
    let hdr = |suite| dkg::wire::Header::new(suite, [0x22; 32]);
    let secp = dkg::wire::SuiteId::Secp256k1Tr;
    vec![
        (
            "Commitments",
            Commitments {
                header: hdr(secp),
                party: p2,
                commitments: pair,
            }
            .encode()
            .unwrap(),
        ),
        (
            "SigningPackage",
            SigningPackage {
                header: hdr(secp),
                app_id: [0x11; 32],
                path: "disk".into(),
                message: b"hello world".to_vec(),
                commitments: [(p1, pair), (p2, pair)].into(),
            }
            .encode()
            .unwrap(),
        ),
        (
            "SignatureShareMsg",
            SignatureShareMsg {
                header: hdr(secp),
                party: p2,
                share: scalar,
            }
            .encode()
            .unwrap(),
        ),
    ]
}

#[test]
fn wire_encodings__should_match_committed_snapshot() {
    let path = format!(
        "{}/tests/vectors/wire_snapshot.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let actual: BTreeMap<String, String> = fixed_messages()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), hex::encode(v)))
        .collect();
    let expected: BTreeMap<String, String> = match std::fs::read_to_string(&path) {
        Ok(s) => serde_json::from_str(&s).unwrap(),
        Err(_) => {
            std::fs::write(&path, serde_json::to_string_pretty(&actual).unwrap()).unwrap();
            panic!("snapshot {path} was missing; written, review and commit it");
        }
    };
    assert_eq!(actual, expected);
    // And every snapshot decodes back through the validating decoder.
    for (name, bytes) in fixed_messages() {
        let ok = match name {
            "Commitments" => Commitments::decode(&bytes).is_ok(),
            "SigningPackage" => SigningPackage::decode(&bytes).is_ok(),
            "SignatureShareMsg" => SignatureShareMsg::decode(&bytes).is_ok(),
            _ => false,
        };
        assert!(ok, "{name} does not decode");
    }
}
