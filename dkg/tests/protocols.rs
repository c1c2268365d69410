#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};

use dkg::keys::{KeyShare, PublicKeys};
use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::{sim, PartyIndex};
use group::Group;
use rand::SeedableRng;

fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(seed)
}

fn idx(i: u16) -> PartyIndex {
    PartyIndex::new(i).unwrap()
}

fn set(ix: &[u16]) -> BTreeSet<PartyIndex> {
    ix.iter().map(|i| idx(*i)).collect()
}

#[path = "common/agree.rs"]
mod agree;

/// [`agree::must_agree`] over every party's output.
fn must_agree<S: Suite>(outputs: &BTreeMap<PartyIndex, dkg::vss::Output<S>>) -> PublicKeys<S> {
    agree::must_agree(outputs.values())
}

fn must_sign_secp(public: &SecpPublicKeys, shares: &[&SecpKeyShare], seed: u64) {
    let mut rng = rng(seed);
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for s in shares {
        let (n, c) = s.commit(&mut rng);
        nonces.insert(s.identifier(), n);
        commitments.insert(s.identifier(), c);
    }
    let msg = b"keynet dkg test";
    let pkg = frost_secp256k1_tr::SigningPackage::new(commitments, msg);
    let mut sig_shares = BTreeMap::new();
    for s in shares {
        let id = s.identifier();
        sig_shares.insert(id, s.sign(&pkg, &nonces[&id]).unwrap());
    }
    let sig = frost_secp256k1_tr::aggregate(&pkg, &sig_shares, public.package()).unwrap();
    public.group_key().verify(msg, &sig).unwrap();
}

#[test]
fn secp_tweaked__should_sign_under_the_shifted_group_key() {
    let (public, shares, _) = sim::dkg_secp(2, 3, &mut rng(70)).unwrap();
    let tweak = k256::Scalar::from(12345u64);
    let tweaked: Vec<SecpKeyShare> = shares.iter().map(|s| s.tweaked(&tweak)).collect();
    let expected = public.group_key().to_element() + k256::ProjectivePoint::GENERATOR * tweak;
    assert_eq!(tweaked[0].public().group_key().to_element(), expected);
    tweaked[0].public().check_consistent().unwrap();
    must_sign_secp(tweaked[0].public(), &[&tweaked[0], &tweaked[2]], 71);
}

fn dkg__should_agree_on_keys<S: Suite>() {
    for (t, n) in [(1u16, 1u16), (2, 3), (3, 5), (5, 7)] {
        let outs = sim::dkg::<S>(t, n, &mut rng(u64::from(t * 100 + n))).unwrap();
        assert_eq!(outs.len(), usize::from(n));
        let public = must_agree(&outs);
        assert_eq!(public.threshold(), t);
        assert!(outs.values().all(|o| o.disqualified().is_empty()));
    }
}

#[test]
fn dkg__should_agree_on_keys_bls() {
    dkg__should_agree_on_keys::<Bls12381G1>();
}

#[test]
fn dkg__should_agree_on_keys_secp() {
    dkg__should_agree_on_keys::<Secp256k1>();
}

#[test]
fn dkg_secp__should_produce_frost_key_packages_that_sign() {
    let (public, shares, _) = sim::dkg_secp(3, 5, &mut rng(7)).unwrap();
    must_sign_secp(&public, &[&shares[0], &shares[2], &shares[4]], 8);
    must_sign_secp(&public, &[&shares[1], &shares[3], &shares[4]], 9);
}

#[test]
fn dkg_bls__should_produce_shares_whose_g2_partials_combine_to_the_group_key() {
    let (public, shares, _) = sim::dkg_bls(2, 3, &mut rng(10)).unwrap();
    let h = blstrs::G2Projective::random(&mut rng(11));
    // λ over {1, 3} at 0: λ1 = 3/2, λ3 = -1/2.
    let s = set(&[1, 3]);
    let two_inv =
        Option::<blstrs::Scalar>::from(ff::Field::invert(&blstrs::Scalar::from(2u64))).unwrap();
    let l1 = blstrs::Scalar::from(3u64) * two_inv;
    let l3 = -two_inv;
    let sigma = shares[0].mul_g2(&h) * l1 + shares[2].mul_g2(&h) * l3;
    let _ = s;
    // e(g1, sigma) == e(PK, h)
    let lhs = blstrs::pairing(
        &blstrs::G1Affine::from(blstrs::G1Projective::generator()),
        &sigma.into(),
    );
    let rhs = blstrs::pairing(public.group_key(), &h.into());
    assert_eq!(lhs, rhs);
}

fn reshare__should_keep_group_key<S: Suite>(
    t: u16,
    n: u16,
    dealers: &[u16],
    new: &[u16],
    t_new: u16,
    seed: u64,
) -> (PublicKeys<S>, Vec<KeyShare<S>>) {
    let outs = sim::dkg::<S>(t, n, &mut rng(seed)).unwrap();
    let old_public = must_agree(&outs);
    let shares: Vec<KeyShare<S>> = outs
        .into_values()
        .filter_map(|o| o.into_key_share())
        .collect();
    let dealer_shares: Vec<&KeyShare<S>> = shares
        .iter()
        .filter(|s| dealers.contains(&s.index().get()))
        .collect();
    let outs = sim::reshare(&dealer_shares, &set(new), t_new, &mut rng(seed + 1)).unwrap();
    let new_public = must_agree(&outs);
    assert_eq!(new_public.group_key(), old_public.group_key());
    assert_eq!(new_public.threshold(), t_new);
    assert_eq!(new_public.parties().collect::<BTreeSet<_>>(), set(new));
    let new_shares: Vec<KeyShare<S>> = outs
        .into_values()
        .filter_map(|o| o.into_key_share())
        .collect();
    assert_eq!(new_shares.len(), new.len());
    (new_public, new_shares)
}

#[test]
fn reshare__should_keep_group_key_for_overlapping_disjoint_and_new_thresholds() {
    reshare__should_keep_group_key::<Bls12381G1>(2, 3, &[1, 2, 3], &[2, 3, 4, 5], 3, 20);
    reshare__should_keep_group_key::<Bls12381G1>(3, 4, &[1, 3, 4], &[5, 6, 7, 8, 9], 4, 21);
    reshare__should_keep_group_key::<Secp256k1>(3, 5, &[2, 3, 5], &[6, 7], 2, 22);
    reshare__should_keep_group_key::<Secp256k1>(2, 4, &[1, 2, 3, 4], &[1, 2, 3, 4, 5, 6], 5, 23);
}

#[test]
fn reshare_secp__should_sign_with_frost_after_disjoint_reshare() {
    let (_, old_shares, _) = sim::dkg_secp(2, 3, &mut rng(30)).unwrap();
    let dealers: Vec<&SecpKeyShare> = old_shares.iter().skip(1).collect();
    let (public, shares, _) =
        sim::reshare_secp(&dealers, &set(&[4, 5, 6, 7]), 3, &mut rng(31)).unwrap();
    assert_eq!(public.group_key(), old_shares[0].public().group_key());
    must_sign_secp(&public, &[&shares[0], &shares[1], &shares[3]], 32);
}

/// The committee after removing the members at the (1-based) positions `removed` from
/// `1..=n` and appending `added` new members, numbered as the governance contract does
/// (index = position + 1): old index → new index of every member that stays, and the
/// new committee.
fn committee_change(
    n: u16,
    removed: &BTreeSet<u16>,
    added: u16,
) -> (BTreeMap<PartyIndex, PartyIndex>, BTreeSet<PartyIndex>) {
    let staying: Vec<u16> = (1..=n).filter(|i| !removed.contains(i)).collect();
    let stays: BTreeMap<PartyIndex, PartyIndex> = staying
        .iter()
        .enumerate()
        .map(|(pos, old)| (idx(*old), idx(pos as u16 + 1)))
        .collect();
    let new_n = staying.len() as u16 + added;
    (stays, (1..=new_n).map(idx).collect())
}

/// Reshares `shares` (all dealing) to the committee of [`committee_change`]: every
/// receiver's share sits at its new index, the group key is unchanged, any `t2` new
/// shares reconstruct it, and the new committee can refresh and repair.
fn reshare_committee_change<S: Suite>(
    shares: &[KeyShare<S>],
    removed: &BTreeSet<u16>,
    added: u16,
    t2: u16,
    seed: u64,
) -> Vec<KeyShare<S>> {
    let old_public = shares[0].public().clone();
    let n = shares.len() as u16;
    let (stays, new) = committee_change(n, removed, added);
    let dealers: Vec<&KeyShare<S>> = shares.iter().collect();
    let outs = sim::reshare_moving(&dealers, &stays, &new, t2, &mut rng(seed)).unwrap();
    let public = agree::must_agree(outs.iter().map(|(_, o)| o));
    assert_eq!(public.group_key(), old_public.group_key());
    assert_eq!(public.parties().collect::<BTreeSet<_>>(), new);
    for (roles, o) in &outs {
        // A member that stays receives at its new index; a leaver only deals.
        match (roles.dealer, roles.receiver) {
            (Some(d), r) => assert_eq!(r, stays.get(&d).copied()),
            (None, Some(j)) => assert!(!stays.values().any(|v| *v == j)),
            (None, None) => panic!("a participant without a role"),
        }
        assert_eq!(o.key_share().map(|s| s.index()), roles.receiver);
    }
    let new_shares: Vec<KeyShare<S>> = outs
        .into_iter()
        .filter_map(|(_, o)| o.into_key_share())
        .collect();
    assert_eq!(new_shares.len(), new.len());
    // Any t2 of the new shares reconstruct the secret behind the group key.
    let take = &new_shares[new_shares.len() - usize::from(t2)..];
    assert_eq!(&reconstruct(take), old_public.group_key());
    // The new committee refreshes and repairs with its own indices.
    let refs: Vec<&KeyShare<S>> = new_shares.iter().collect();
    let refreshed = agree::must_agree(sim::refresh(&refs, &mut rng(seed + 1)).unwrap().values());
    assert_eq!(refreshed.group_key(), old_public.group_key());
    if new_shares.len() > usize::from(t2) {
        let lost = new_shares[0].index();
        let helpers: Vec<&KeyShare<S>> = new_shares[1..=usize::from(t2)].iter().collect();
        let repaired = sim::repair(&helpers, lost, &mut rng(seed + 2)).unwrap();
        assert_eq!(
            Some(&repaired.mul(&S::Point::generator())),
            public.share(lost)
        );
    }
    new_shares
}

/// `Σ λ_i·x_i·G` over the given shares (Lagrange at 0 over their indices).
fn reconstruct<S: Suite>(shares: &[KeyShare<S>]) -> S::Point {
    use ff::Field;
    let xs: Vec<S::Scalar> = shares
        .iter()
        .map(|s| S::Scalar::from(u64::from(s.index().get())))
        .collect();
    let mut acc = S::Point::identity();
    for (i, s) in shares.iter().enumerate() {
        let mut l = S::Scalar::ONE;
        for (k, xk) in xs.iter().enumerate() {
            if k != i {
                l *= *xk * (*xk - xs[i]).invert().unwrap();
            }
        }
        acc += s.mul(&S::Point::generator()) * l;
    }
    acc
}

fn dkg_shares<S: Suite>(t: u16, n: u16, seed: u64) -> Vec<KeyShare<S>> {
    sim::dkg::<S>(t, n, &mut rng(seed))
        .unwrap()
        .into_values()
        .filter_map(|o| o.into_key_share())
        .collect()
}

#[test]
fn reshare__should_renumber_members_when_one_in_the_middle_leaves() {
    // [A, B, C, D, E] -> [A, C, D, E, F]: C 3 -> 2, D 4 -> 3, E 5 -> 4, F joins as 5.
    let (stays, new) = committee_change(5, &[2].into(), 1);
    assert_eq!(
        stays,
        BTreeMap::from([
            (idx(1), idx(1)),
            (idx(3), idx(2)),
            (idx(4), idx(3)),
            (idx(5), idx(4))
        ])
    );
    assert_eq!(new, set(&[1, 2, 3, 4, 5]));
    reshare_committee_change(&dkg_shares::<Bls12381G1>(3, 5, 60), &[2].into(), 1, 3, 61);
    let old = dkg_shares::<Secp256k1>(3, 5, 62);
    let new_shares = reshare_committee_change(&old, &[2].into(), 1, 3, 63);
    let new_shares: Vec<SecpKeyShare> = new_shares
        .into_iter()
        .map(SecpKeyShare::from_generic)
        .collect();
    // C (new 2), D (new 3) and F (new 5) sign under the unchanged key.
    let public = new_shares[0].public().clone();
    assert_eq!(
        public.group_key(),
        SecpKeyShare::from_generic(old.into_iter().next().unwrap())
            .public()
            .group_key()
    );
    must_sign_secp(
        &public,
        &[&new_shares[1], &new_shares[2], &new_shares[4]],
        64,
    );
}

#[test]
fn reshare__should_keep_the_key_for_a_disjoint_committee_with_its_own_numbering() {
    // [A, B, C] -> [D, E, F, G]: every old member leaves, new indices 1..=4 are new nodes.
    reshare_committee_change(
        &dkg_shares::<Bls12381G1>(2, 3, 65),
        &[1, 2, 3].into(),
        4,
        3,
        66,
    );
    reshare_committee_change(
        &dkg_shares::<Secp256k1>(2, 3, 67),
        &[1, 2, 3].into(),
        4,
        3,
        68,
    );
}

fn refresh__should_keep_group_key_and_change_shares<S: Suite>() {
    let outs = sim::dkg::<S>(3, 5, &mut rng(40)).unwrap();
    let old_public = must_agree(&outs);
    let shares: Vec<KeyShare<S>> = outs
        .into_values()
        .filter_map(|o| o.into_key_share())
        .collect();
    let refs: Vec<&KeyShare<S>> = shares.iter().collect();
    let outs = sim::refresh(&refs, &mut rng(41)).unwrap();
    let new_public = must_agree(&outs);
    assert_eq!(new_public.group_key(), old_public.group_key());
    for i in old_public.parties() {
        assert_ne!(new_public.share(i), old_public.share(i));
    }
}

#[test]
fn refresh__should_keep_group_key_and_change_shares_bls() {
    refresh__should_keep_group_key_and_change_shares::<Bls12381G1>();
}

#[test]
fn refresh__should_keep_group_key_and_change_shares_secp() {
    refresh__should_keep_group_key_and_change_shares::<Secp256k1>();
}

#[test]
fn refresh_secp__should_sign_with_frost() {
    let (_, shares, _) = sim::dkg_secp(2, 3, &mut rng(42)).unwrap();
    let refs: Vec<&KeyShare<Secp256k1>> = shares.iter().map(|s| s.as_generic()).collect();
    let outs = sim::refresh(&refs, &mut rng(43)).unwrap();
    let new: Vec<SecpKeyShare> = outs
        .into_values()
        .filter_map(|o| o.into_key_share())
        .map(SecpKeyShare::from_generic)
        .collect();
    must_sign_secp(new[0].public(), &[&new[0], &new[2]], 44);
}

fn repair__should_rebuild_the_lost_share<S: Suite>() {
    let outs = sim::dkg::<S>(3, 5, &mut rng(50)).unwrap();
    let shares: Vec<KeyShare<S>> = outs
        .into_values()
        .filter_map(|o| o.into_key_share())
        .collect();
    let helpers: Vec<&KeyShare<S>> = shares
        .iter()
        .filter(|s| s.index().get() != 2)
        .take(3)
        .collect();
    let repaired = sim::repair(&helpers, idx(2), &mut rng(51)).unwrap();
    let p = S::Point::generator();
    assert_eq!(repaired.mul(&p), shares[1].mul(&p));
    assert_eq!(repaired.index(), idx(2));
}

#[test]
fn repair__should_rebuild_the_lost_share_bls() {
    repair__should_rebuild_the_lost_share::<Bls12381G1>();
}

#[test]
fn repair__should_rebuild_the_lost_share_secp() {
    repair__should_rebuild_the_lost_share::<Secp256k1>();
}

#[test]
fn repair_secp__should_sign_with_the_repaired_share() {
    let (public, shares, _) = sim::dkg_secp(2, 4, &mut rng(52)).unwrap();
    let helpers: Vec<&KeyShare<Secp256k1>> = [&shares[0], &shares[3]]
        .iter()
        .map(|s| s.as_generic())
        .collect();
    let repaired = SecpKeyShare::from_generic(sim::repair(&helpers, idx(3), &mut rng(53)).unwrap());
    assert_eq!(
        *repaired.export_for_sealing(),
        *shares[2].export_for_sealing()
    );
    must_sign_secp(&public, &[&repaired, &shares[1]], 54);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn subset(n: u16, k: usize, seed: u64) -> BTreeSet<PartyIndex> {
        use rand::seq::SliceRandom;
        let mut all: Vec<u16> = (1..=n).collect();
        all.shuffle(&mut rng(seed));
        all.into_iter().take(k).map(idx).collect()
    }

    fn reshare_refresh_repair<S: Suite>(t: u16, n: u16, t2: u16, n2: u16, offset: u16, seed: u64) {
        let outs = sim::dkg::<S>(t, n, &mut rng(seed)).unwrap();
        let public = must_agree(&outs);
        let shares: Vec<KeyShare<S>> = outs
            .into_values()
            .filter_map(|o| o.into_key_share())
            .collect();
        // Random dealer subset of size >= t; new committee offset..offset+n2 (overlapping
        // or disjoint depending on offset).
        let k = usize::from(t) + (seed as usize % usize::from(n - t + 1));
        let dealers = subset(n, k, seed);
        let dealer_shares: Vec<&KeyShare<S>> = shares
            .iter()
            .filter(|s| dealers.contains(&s.index()))
            .collect();
        let new: BTreeSet<PartyIndex> = (offset + 1..=offset + n2).map(idx).collect();
        let outs = sim::reshare(&dealer_shares, &new, t2, &mut rng(seed + 1)).unwrap();
        let public2 = must_agree(&outs);
        assert_eq!(public2.group_key(), public.group_key());
        let shares2: Vec<KeyShare<S>> = outs
            .into_values()
            .filter_map(|o| o.into_key_share())
            .collect();
        assert_eq!(shares2.len(), usize::from(n2));
        // Refresh the new committee.
        let refs: Vec<&KeyShare<S>> = shares2.iter().collect();
        let public3 = must_agree(&sim::refresh(&refs, &mut rng(seed + 2)).unwrap());
        assert_eq!(public3.group_key(), public.group_key());
        // Repair one share of the new committee from a random t2-subset of the others.
        if n2 > t2 {
            let lost = shares2[seed as usize % shares2.len()].index();
            let order = subset(n2, usize::from(t2) + 1, seed + 3);
            let helpers: Vec<&KeyShare<S>> = order
                .iter()
                .map(|i| &shares2[usize::from(i.get() - 1)])
                .filter(|s| s.index() != lost)
                .take(usize::from(t2))
                .collect();
            let repaired = sim::repair(&helpers, lost, &mut rng(seed + 4)).unwrap();
            assert_eq!(
                Some(&repaired.mul(&S::Point::generator())),
                public2.share(lost)
            );
        }
    }

    /// A committee of `n` (threshold `t`) losing the members at `removed` (any, even
    /// all) and gaining `added`, resharing to threshold `t2`.
    fn change() -> impl Strategy<Value = (u16, u16, BTreeSet<u16>, u16, u16, u64)> {
        (1u16..=6).prop_flat_map(|n| {
            (
                1..=n,
                Just(n),
                proptest::collection::btree_set(1..=n, 0..=usize::from(n)),
                0u16..=3,
            )
                .prop_flat_map(|(t, n, removed, added)| {
                    let n2 = (n - removed.len() as u16 + added).max(1);
                    let added = n2 - (n - removed.len() as u16);
                    (
                        Just(t),
                        Just(n),
                        Just(removed),
                        Just(added),
                        1..=n2,
                        any::<u64>(),
                    )
                })
        })
    }

    fn params() -> impl Strategy<Value = (u16, u16, u16, u16, u16, u64)> {
        (1u16..=7, 1u16..=7)
            .prop_flat_map(|(n, n2)| (1..=n, Just(n), 1..=n2, Just(n2), 0u16..=8, any::<u64>()))
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 12,
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/protocols.txt"),
            )),
            ..ProptestConfig::default()
        })]

        #[test]
        fn reshare_refresh_repair__should_keep_the_group_key_bls((t, n, t2, n2, off, seed) in params()) {
            reshare_refresh_repair::<Bls12381G1>(t, n, t2, n2, off, seed);
        }

        #[test]
        fn reshare_committee_change__should_keep_the_key_at_the_new_indices_bls((t, n, removed, added, t2, seed) in change()) {
            reshare_committee_change(&dkg_shares::<Bls12381G1>(t, n, seed), &removed, added, t2, seed + 1);
        }

        #[test]
        fn reshare_committee_change__should_keep_the_key_at_the_new_indices_secp((t, n, removed, added, t2, seed) in change()) {
            reshare_committee_change(&dkg_shares::<Secp256k1>(t, n, seed), &removed, added, t2, seed + 1);
        }

        #[test]
        fn reshare_refresh_repair__should_keep_the_group_key_secp((t, n, t2, n2, off, seed) in params()) {
            reshare_refresh_repair::<Secp256k1>(t, n, t2, n2, off, seed);
        }
    }
}

mod repair_faults {
    use super::*;
    use dkg::repair::{self, step1, step2};
    use dkg::{wire, Error};
    use ff::{Field, PrimeField};

    fn tamper<T: serde::Serialize + serde::de::DeserializeOwned>(
        msg: &T,
        field: &str,
        new: ciborium::Value,
    ) -> T {
        let bytes = wire::encode(msg).unwrap();
        let mut v: ciborium::Value = ciborium::from_reader(bytes.as_slice()).unwrap();
        let ciborium::Value::Map(entries) = &mut v else {
            panic!("not a map")
        };
        for (k, val) in entries.iter_mut() {
            if k.as_text() == Some(field) {
                *val = new.clone();
            }
        }
        let mut out = Vec::new();
        ciborium::into_writer(&v, &mut out).unwrap();
        wire::decode(&out).unwrap()
    }

    /// Runs a repair of party 2 with helpers {1, 3, 4} (t = 3) where helper 3 cheats
    /// as `cheat` says; returns the lost party's result.
    fn repair_with_cheat<S: Suite>(cheat: u8) -> Result<KeyShare<S>, Error> {
        let outs = sim::dkg::<S>(3, 5, &mut rng(60)).unwrap();
        let shares: Vec<KeyShare<S>> = outs
            .into_values()
            .filter_map(|o| o.into_key_share())
            .collect();
        let params = repair::Params {
            run_id: [9; 32],
            lost: idx(2),
            helpers: set(&[1, 3, 4]),
            public: shares[0].public().clone(),
        };
        let mut r = rng(61);
        let mut states = BTreeMap::new();
        let mut b: BTreeMap<PartyIndex, step1::Broadcast> = BTreeMap::new();
        let mut inbox: BTreeMap<PartyIndex, BTreeMap<PartyIndex, step1::Direct>> = BTreeMap::new();
        for i in [1u16, 3, 4] {
            let (st, msg, d) =
                repair::start_helper(&params, &shares[usize::from(i - 1)], &mut r).unwrap();
            states.insert(idx(i), st);
            b.insert(idx(i), msg);
            for (to, m) in d {
                inbox.entry(to).or_default().insert(idx(i), m);
            }
        }
        let junk = ciborium::Value::Bytes(S::Scalar::random(&mut r).to_repr().as_ref().to_vec());
        if cheat == 1 {
            // Helper 3 sends helper 1 a part that does not match its broadcast.
            let m = inbox.get_mut(&idx(1)).unwrap().remove(&idx(3)).unwrap();
            inbox
                .get_mut(&idx(1))
                .unwrap()
                .insert(idx(3), tamper(&m, "delta", junk.clone()));
        }
        let mut sigmas: BTreeMap<PartyIndex, step2::Direct> = BTreeMap::new();
        for (p, st) in states {
            let others: BTreeMap<_, _> = b
                .iter()
                .filter(|(q, _)| **q != p)
                .map(|(q, m)| (*q, m.clone()))
                .collect();
            match st.advance(&others, &inbox.remove(&p).unwrap_or_default()) {
                Ok(s) => {
                    sigmas.insert(p, s);
                }
                Err(e) => return Err(e),
            }
        }
        if cheat == 2 {
            // Helper 3 sends the lost party a wrong sigma.
            let m = sigmas.remove(&idx(3)).unwrap();
            sigmas.insert(idx(3), tamper(&m, "sigma", junk));
        }
        repair::recover(&params, &b, &sigmas)
    }

    fn repair__should_name_the_cheating_helper<S: Suite>() {
        assert!(repair_with_cheat::<S>(0).is_ok());
        for cheat in [1u8, 2] {
            let err = repair_with_cheat::<S>(cheat).unwrap_err();
            assert_eq!(err.culprits(), vec![idx(3)], "cheat {cheat}: {err}");
        }
    }

    #[test]
    fn repair__should_name_the_cheating_helper_bls() {
        repair__should_name_the_cheating_helper::<Bls12381G1>();
    }

    #[test]
    fn repair__should_name_the_cheating_helper_secp() {
        repair__should_name_the_cheating_helper::<Secp256k1>();
    }
}

#[test]
fn reshare__should_refuse_roles_of_two_parties_or_none() {
    use dkg::error::ParamError;
    use dkg::{reshare, Error, Roles};
    let shares = dkg_shares::<Bls12381G1>(2, 3, 80);
    let keys = sim::identity_keys(&[80; 32], &sim::committee(4));
    let vk = sim::verifying_keys(&keys);
    let params = |me: Roles| reshare::Params {
        run_id: [80; 32],
        me,
        old: shares[0].public().clone(),
        dealers: vk
            .iter()
            .filter(|(i, _)| i.get() <= 3)
            .map(|(i, k)| (*i, *k))
            .collect(),
        // New committee [node 2, node 4]: node 2 receives as 1, node 4 as 2.
        receivers: BTreeMap::from([(idx(1), vk[&idx(2)]), (idx(2), vk[&idx(4)])]),
        new_threshold: 2,
    };
    let start = |me: Roles, signer: u16| {
        reshare::start(
            &params(me),
            shares.iter().find(|s| Some(s.index()) == me.dealer),
            &keys[&idx(signer)],
            &mut rng(81),
        )
        .map(|_| ())
    };
    // Node 2 deals as 2 and receives as 1: fine. Claiming receiver 2 (node 4's key) is not.
    let node2 = Roles {
        dealer: Some(idx(2)),
        receiver: Some(idx(1)),
    };
    assert!(start(node2, 2).is_ok());
    let wrong = Roles {
        receiver: Some(idx(2)),
        ..node2
    };
    assert!(matches!(
        start(wrong, 2),
        Err(Error::InvalidParameters {
            reason: ParamError::RolesOfTwoParties { .. }
        })
    ));
    assert!(matches!(
        start(Roles::default(), 2),
        Err(Error::InvalidParameters {
            reason: ParamError::NoRoles
        })
    ));
}
