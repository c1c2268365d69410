//! FROST signing with per-application keys (DESIGN §4.3), checked with an independent
//! BIP-340 verifier (`k256::schnorr`) and an independent recomputation of the tweak.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use dkg::insecure_dealer::deal_secp;
use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use frost_secp256k1_tr::round2::SignatureShare;
use frost_secp256k1_tr::Secp256K1Sha256TR;
use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use tss::sign::{commit, Coordinator};
use tss::{AppSigningKey, Error, Identity, PartyIndex};

fn identity() -> Identity {
    let app_id: [u8; 32] = core::array::from_fn(|i| i as u8);
    Identity::new(app_id, "disk").unwrap()
}

fn must_deal(t: u16, n: u16, seed: u64) -> (SecpPublicKeys, Vec<SecpKeyShare>) {
    deal_secp(t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap()
}

/// Runs all rounds in one process; `corrupt` replaces one signer's share.
fn must_run(
    public: &SecpPublicKeys,
    keys: &[&SecpKeyShare],
    app: &AppSigningKey,
    message: &[u8],
    corrupt: Option<PartyIndex>,
    rng: &mut ChaCha20Rng,
) -> Result<[u8; 64], Error> {
    let signers: BTreeSet<PartyIndex> = keys.iter().map(|k| k.index()).collect();
    let mut states = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for k in keys {
        let tweaked = app.key_package(k);
        let (state, c) = commit::<Secp256K1Sha256TR>(tweaked.package(), rng);
        states.insert(k.index(), state);
        commitments.insert(k.index(), c);
    }
    let (awaiting, package) =
        Coordinator::new(app.public_package(public), message, &signers)?.package(commitments)?;
    let mut shares = BTreeMap::new();
    for (i, state) in states {
        let share = if corrupt == Some(i) {
            let mut b = [0u8; 32];
            b[31] = 7;
            SignatureShare::deserialize(&b).unwrap()
        } else {
            state.sign(&package)?
        };
        shares.insert(i, share);
    }
    let sig = awaiting.aggregate(shares)?;
    Ok(sig.serialize().unwrap().try_into().unwrap())
}

/// DESIGN §4.3 recomputed from scratch with k256 and sha2.
fn independent_app_xonly(public: &SecpPublicKeys, id: &Identity) -> [u8; 32] {
    let p = public.group_key().serialize().unwrap();
    let tag = Sha256::digest(b"keynet/tweak/v1");
    let mut h = Sha256::new();
    h.update(tag);
    h.update(tag);
    h.update(&p[1..]);
    h.update(id.app_id());
    h.update([id.path().len() as u8]);
    h.update(id.path().as_bytes());
    let tweak = <k256::Scalar as Reduce<k256::U256>>::reduce_bytes(&h.finalize());
    let point = k256::PublicKey::from_sec1_bytes(&p)
        .unwrap()
        .to_projective()
        + k256::ProjectivePoint::GENERATOR * tweak;
    let enc = point.to_affine().to_encoded_point(true);
    enc.as_bytes()[1..].try_into().unwrap()
}

fn bip340_verify(xonly: &[u8; 32], message: &[u8], sig: &[u8; 64]) -> bool {
    let key = k256::schnorr::VerifyingKey::from_bytes(xonly).unwrap();
    let sig = k256::schnorr::Signature::try_from(&sig[..]).unwrap();
    // `verify_raw` is BIP-340 over the message bytes (`Verifier::verify` pre-hashes).
    key.verify_raw(message, &sig).is_ok()
}

#[test]
fn sign__should_produce_bip340_signature_under_app_key() {
    let (public, keys) = must_deal(3, 5, 11);
    let id = identity();
    let app = AppSigningKey::new(public.group_key(), &id).unwrap();
    assert_eq!(app.xonly().unwrap(), independent_app_xonly(&public, &id));
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let signers = [&keys[0], &keys[2], &keys[4]];
    let sig = must_run(&public, &signers, &app, b"hello world", None, &mut rng).unwrap();
    assert!(bip340_verify(&app.xonly().unwrap(), b"hello world", &sig));
    assert!(!bip340_verify(&app.xonly().unwrap(), b"hello world!", &sig));
    // Not a signature under the untweaked group key, nor under a BIP-341 (TapTweak) key.
    let p = public.group_key().serialize().unwrap();
    let untweaked: [u8; 32] = p[1..].try_into().unwrap();
    assert!(!bip340_verify(&untweaked, b"hello world", &sig));
}

#[test]
fn app_key__should_differ_per_path_and_app() {
    let (public, _) = must_deal(2, 3, 12);
    let a = AppSigningKey::new(public.group_key(), &identity()).unwrap();
    let b = AppSigningKey::new(
        public.group_key(),
        &Identity::new(*identity().app_id(), "disk2").unwrap(),
    )
    .unwrap();
    let c = AppSigningKey::new(
        public.group_key(),
        &Identity::new([0xaa; 32], "disk").unwrap(),
    )
    .unwrap();
    assert_ne!(a.xonly().unwrap(), b.xonly().unwrap());
    assert_ne!(a.xonly().unwrap(), c.xonly().unwrap());
}

#[test]
fn coordinator__should_reject_too_few_and_unknown_signers() {
    let (public, _) = must_deal(3, 4, 13);
    let app = AppSigningKey::new(public.group_key(), &identity()).unwrap();
    let two: BTreeSet<_> = [1, 2]
        .iter()
        .map(|i| PartyIndex::new(*i).unwrap())
        .collect();
    assert!(matches!(
        Coordinator::<Secp256K1Sha256TR>::new(app.public_package(&public), b"m", &two),
        Err(Error::TooFewSigners { needed: 3, got: 2 })
    ));
    let stranger: BTreeSet<_> = [1, 2, 9]
        .iter()
        .map(|i| PartyIndex::new(*i).unwrap())
        .collect();
    assert!(matches!(
        Coordinator::<Secp256K1Sha256TR>::new(app.public_package(&public), b"m", &stranger),
        Err(Error::NotACommitteeMember { .. })
    ));
}

#[test]
fn coordinator__should_reject_missing_and_extra_commitments() {
    let (public, keys) = must_deal(2, 3, 14);
    let app = AppSigningKey::new(public.group_key(), &identity()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let signers: BTreeSet<_> = [keys[0].index(), keys[1].index()].into();
    let mut commitments = BTreeMap::new();
    for k in &keys {
        let (_, c) = commit::<Secp256K1Sha256TR>(app.key_package(k).package(), &mut rng);
        commitments.insert(k.index(), c);
    }
    let coord = Coordinator::new(app.public_package(&public), b"m", &signers).unwrap();
    assert_eq!(
        coord.package(commitments.clone()).err(),
        Some(Error::UnexpectedSigner {
            index: keys[2].index()
        })
    );
    commitments.remove(&keys[1].index());
    commitments.remove(&keys[2].index());
    let coord = Coordinator::new(app.public_package(&public), b"m", &signers).unwrap();
    assert_eq!(
        coord.package(commitments).err(),
        Some(Error::MissingSigner {
            index: keys[1].index()
        })
    );
}

#[test]
fn sign__should_refuse_package_without_own_commitment() {
    let (public, keys) = must_deal(2, 3, 15);
    let app = AppSigningKey::new(public.group_key(), &identity()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (s0, _c0) = commit::<Secp256K1Sha256TR>(app.key_package(&keys[0]).package(), &mut rng);
    let (_s1, c1) = commit::<Secp256K1Sha256TR>(app.key_package(&keys[1]).package(), &mut rng);
    let (_s2, c2) = commit::<Secp256K1Sha256TR>(app.key_package(&keys[2]).package(), &mut rng);
    let signers: BTreeSet<_> = [keys[1].index(), keys[2].index()].into();
    let (_, package) = Coordinator::new(app.public_package(&public), b"m", &signers)
        .unwrap()
        .package([(keys[1].index(), c1), (keys[2].index(), c2)].into())
        .unwrap();
    assert_eq!(s0.sign(&package).err(), Some(Error::OwnCommitmentMissing));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sign__should_verify_for_random_committees_or_name_the_cheater(
        n in 2u16..=16,
        t_frac in 0.0f64..1.0,
        extra in 0usize..=4,
        cheat in any::<bool>(),
        seed in any::<u64>(),
        path in "[a-z0-9/]{1,40}",
    ) {
        // frost requires min_signers >= 2.
        let t = 2 + ((f64::from(n - 2)) * t_frac) as u16;
        let (public, keys) = must_deal(t, n, seed);
        let id = Identity::new([seed as u8; 32], &path).unwrap();
        let app = AppSigningKey::new(public.group_key(), &id).unwrap();
        prop_assert_eq!(app.xonly().unwrap(), independent_app_xonly(&public, &id));
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut order: Vec<&SecpKeyShare> = keys.iter().collect();
        order.shuffle(&mut rng);
        let size = (usize::from(t) + extra).min(keys.len());
        let signers = &order[..size];
        let cheater = cheat.then(|| signers[size / 2].index());
        match must_run(&public, signers, &app, path.as_bytes(), cheater, &mut rng) {
            Ok(sig) => {
                prop_assert!(cheater.is_none());
                prop_assert!(bip340_verify(&app.xonly().unwrap(), path.as_bytes(), &sig));
            }
            Err(e) => {
                prop_assert!(cheater.is_some(), "honest run failed: {:?}", e);
                prop_assert_eq!(e.culprits(), vec![cheater.unwrap()]);
                let is_share_fault = matches!(e, Error::InvalidSignatureShares { .. });
                prop_assert!(is_share_fault);
            }
        }
    }
}
