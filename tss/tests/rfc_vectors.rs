//! Known-answer tests: RFC 9380 hash_to_curve (J.10.1), RFC 9591 FROST(secp256k1,
//! SHA-256) (E.5) and the ZF FROST(secp256k1, SHA-256-TR) vectors, all run through this
//! crate's own code paths (`prf::hash_to_g2`, `sign::commit` / `Coordinator` / `sign` /
//! `aggregate`).
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use frost_core::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_core::{Ciphersuite, Identifier, VerifyingKey};
use group::Curve;
use rand_core::{CryptoRng, RngCore};
use serde_json::Value;
use tss::sign::{commit, Coordinator};
use tss::PartyIndex;

/// An RNG that replays fixed bytes, so `commit` draws the RFC's nonce randomness.
struct ReplayRng(Vec<u8>);

impl RngCore for ReplayRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(self.0.len() >= dest.len(), "replay rng exhausted");
        let rest = self.0.split_off(dest.len());
        dest.copy_from_slice(&self.0);
        self.0 = rest;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for ReplayRng {}

fn must_hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn must_load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn hash_to_g2__should_match_rfc9380_j10_1() {
    let v = must_load("rfc9380_bls12381g2_xmd_sha256_sswu_ro.json");
    let dst = v["dst"].as_str().unwrap().as_bytes();
    let vectors = v["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 5);
    for case in vectors {
        let msg = case["msg"].as_str().unwrap().as_bytes();
        let p = tss::prf::hash_to_g2(msg, dst).to_affine();
        // Uncompressed ZCash encoding: x.c1 || x.c0 || y.c1 || y.c0 (with flag bits clear
        // for a finite point).
        let mut expected = Vec::new();
        for coord in ["x", "y"] {
            expected.extend(must_hex(&case["P"][coord]["c1"]));
            expected.extend(must_hex(&case["P"][coord]["c0"]));
        }
        assert_eq!(
            p.to_uncompressed().to_vec(),
            expected,
            "msg {:?}",
            String::from_utf8_lossy(msg)
        );
    }
}

fn run_frost_vectors<C: Ciphersuite>(v: &Value) {
    let inputs = &v["inputs"];
    let min: u16 = v["config"]["MIN_PARTICIPANTS"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let message = must_hex(&inputs["message"]);
    let group_key =
        VerifyingKey::<C>::deserialize(&must_hex(&inputs["verifying_key_key"])).unwrap();

    let mut verifying_shares = BTreeMap::new();
    let mut key_packages = BTreeMap::new();
    for p in inputs["participant_shares"].as_array().unwrap() {
        let index = PartyIndex::new(p["identifier"].as_u64().unwrap() as u16).unwrap();
        let id = Identifier::<C>::try_from(index.get()).unwrap();
        let share = SigningShare::<C>::deserialize(&must_hex(&p["participant_share"])).unwrap();
        let vs = VerifyingShare::<C>::from(share);
        verifying_shares.insert(id, vs);
        key_packages.insert(index, KeyPackage::new(id, share, vs, group_key, min));
    }
    let public = PublicKeyPackage::new(verifying_shares, group_key, Some(min));

    let signers: BTreeSet<PartyIndex> = inputs["participant_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| PartyIndex::new(i.as_u64().unwrap() as u16).unwrap())
        .collect();

    // Round 1 through `commit`, with the RFC's nonce randomness.
    let mut states = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for out in v["round_one_outputs"]["outputs"].as_array().unwrap() {
        let index = PartyIndex::new(out["identifier"].as_u64().unwrap() as u16).unwrap();
        let mut bytes = must_hex(&out["hiding_nonce_randomness"]);
        bytes.extend(must_hex(&out["binding_nonce_randomness"]));
        let (state, c) = commit(&key_packages[&index], &mut ReplayRng(bytes));
        assert_eq!(
            c.hiding().serialize().unwrap(),
            must_hex(&out["hiding_nonce_commitment"])
        );
        assert_eq!(
            c.binding().serialize().unwrap(),
            must_hex(&out["binding_nonce_commitment"])
        );
        states.insert(index, state);
        commitments.insert(index, c);
    }

    let (awaiting, package) = Coordinator::new(public, &message, &signers)
        .unwrap()
        .package(commitments)
        .unwrap();

    // Round 2 through `AwaitingPackage::sign`.
    let expected_shares: BTreeMap<u64, Vec<u8>> = v["round_two_outputs"]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["identifier"].as_u64().unwrap(), must_hex(&o["sig_share"])))
        .collect();
    let mut shares = BTreeMap::new();
    for (index, state) in states {
        let share = state.sign(&package).unwrap();
        assert_eq!(share.serialize(), expected_shares[&u64::from(index.get())]);
        shares.insert(index, share);
    }

    let signature = awaiting.aggregate(shares).unwrap();
    assert_eq!(
        signature.serialize().unwrap(),
        must_hex(&v["final_output"]["sig"])
    );
}

#[test]
fn frost_signing__should_match_rfc9591_secp256k1_vectors() {
    let v = must_load("rfc9591_frost_secp256k1_sha256.json");
    assert_eq!(v["config"]["name"], "FROST(secp256k1, SHA-256)");
    run_frost_vectors::<frost_secp256k1::Secp256K1Sha256>(&v);
}

#[test]
fn frost_signing__should_match_zf_secp256k1_tr_vectors() {
    let v = must_load("zf_frost_secp256k1_sha256_tr.json");
    run_frost_vectors::<frost_secp256k1_tr::Secp256K1Sha256TR>(&v);
}
