//! The derived-key PRF (DESIGN §4.1) end to end, cross-checked against `blst` used
//! directly, and under random committees with a malicious party.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use blst::min_pk;
use blst::BLST_ERROR;
use blstrs::G1Affine;
use dkg::bls::{BlsKeyShare, BlsPublicKeys};
use dkg::insecure_dealer::deal_bls;
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tss::prf::{DST, G2_LEN};
use tss::{combine, make_share, verify_share, Error, Identity, PartyIndex, PrfInput, PrfShare};

fn must_deal(t: u16, n: u16, seed: u64) -> (BlsPublicKeys, Vec<BlsKeyShare>) {
    deal_bls(t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap()
}

fn identity() -> Identity {
    let app_id: [u8; 32] = core::array::from_fn(|i| i as u8);
    Identity::new(app_id, "disk").unwrap()
}

fn shares_of(keys: &[BlsKeyShare], input: &PrfInput) -> BTreeMap<PartyIndex, PrfShare> {
    keys.iter()
        .map(|k| (k.index(), make_share(k, input)))
        .collect()
}

#[test]
fn hash_to_g2__should_equal_blst_sign_with_unit_key() {
    // blst's own hash-and-sign with sk = 1 is exactly H(msg).
    let mut one = [0u8; 32];
    one[31] = 1;
    let sk = min_pk::SecretKey::from_bytes(&one).unwrap();
    let msg = identity().message();
    let h = tss::prf::hash_to_g2(&msg, DST).to_affine();
    assert_eq!(sk.sign(&msg, DST, &[]).compress(), h.to_compressed());
}

#[test]
fn derive__should_verify_under_blst_min_pk_directly() {
    let (public, keys) = must_deal(3, 5, 1);
    let id = identity();
    let input = PrfInput::new(id.clone());
    let msg = id.message();
    let shares = shares_of(&keys[1..4], &input);
    for (i, s) in &shares {
        let pk = min_pk::PublicKey::from_bytes(&public.share(*i).unwrap().to_compressed()).unwrap();
        let sig = min_pk::Signature::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(
            sig.verify(true, &msg, DST, &[], &pk, true),
            BLST_ERROR::BLST_SUCCESS
        );
    }
    let combined = combine(&public, &input, &shares).unwrap();
    assert!(combined.culprits.is_empty());
    let pk = min_pk::PublicKey::from_bytes(&public.group_key().to_compressed()).unwrap();
    let sigma = min_pk::Signature::from_bytes(combined.sigma.to_bytes().as_ref()).unwrap();
    assert_eq!(
        sigma.verify(true, &msg, DST, &[], &pk, true),
        BLST_ERROR::BLST_SUCCESS
    );
    // A wrong message does not verify: the check above is not vacuous.
    assert_ne!(
        sigma.verify(true, b"other", DST, &[], &pk, true),
        BLST_ERROR::BLST_SUCCESS
    );
}

#[test]
fn derive__should_give_same_key_for_every_subset() {
    let (public, keys) = must_deal(3, 6, 2);
    let id = identity();
    let input = PrfInput::new(id.clone());
    let a = combine(&public, &input, &shares_of(&keys[0..3], &input)).unwrap();
    let b = combine(&public, &input, &shares_of(&keys[3..6], &input)).unwrap();
    let c = combine(&public, &input, &shares_of(&keys, &input)).unwrap();
    assert_eq!(*a.sigma.to_bytes(), *b.sigma.to_bytes());
    assert_eq!(*a.sigma.to_bytes(), *c.sigma.to_bytes());
    assert!(a.sigma.derive_key(&id).ct_eq(&b.sigma.derive_key(&id)));
    let other = Identity::new(*id.app_id(), "wallet/0").unwrap();
    assert!(!a.sigma.derive_key(&id).ct_eq(&a.sigma.derive_key(&other)));
}

#[test]
fn verify_share__should_reject_share_of_other_party() {
    let (public, keys) = must_deal(2, 3, 3);
    let input = PrfInput::new(identity());
    let s1 = make_share(&keys[0], &input);
    let p1 = keys[0].index();
    let p2 = keys[1].index();
    assert_eq!(verify_share(&public, &input, p1, &s1), Ok(()));
    assert_eq!(
        verify_share(&public, &input, p2, &s1),
        Err(Error::InvalidShare { culprit: p2 })
    );
}

#[test]
fn combine__should_fail_naming_culprits_below_threshold() {
    let (public, keys) = must_deal(3, 4, 4);
    let input = PrfInput::new(identity());
    let mut shares = shares_of(&keys[0..3], &input);
    let bad = keys[2].index();
    shares.insert(
        bad,
        PrfShare::from_bytes(&blstrs::G2Affine::generator().to_compressed()).unwrap(),
    );
    match combine(&public, &input, &shares) {
        Err(Error::NotEnoughShares {
            needed: 3,
            valid: 2,
            culprits,
        }) => assert_eq!(culprits, vec![bad]),
        Err(e) => panic!("unexpected error {e:?}"),
        Ok(_) => panic!("combined with a bad share below threshold"),
    }
}

#[test]
fn combine__should_name_sender_outside_committee_and_still_succeed() {
    let (public, keys) = must_deal(2, 3, 6);
    let input = PrfInput::new(identity());
    let mut shares = shares_of(&keys[..2], &input);
    let stranger = PartyIndex::new(9).unwrap();
    shares.insert(stranger, make_share(&keys[2], &input));
    let combined = combine(&public, &input, &shares).unwrap();
    assert_eq!(combined.culprits, vec![stranger]);
    assert_eq!(
        verify_share(&public, &input, stranger, &shares[&stranger]),
        Err(Error::UnknownSender { culprit: stranger })
    );
}

#[test]
fn sigma_from_bytes__should_reject_wrong_sigma() {
    let (public, keys) = must_deal(2, 2, 5);
    let input = PrfInput::new(identity());
    let sigma = combine(&public, &input, &shares_of(&keys, &input))
        .unwrap()
        .sigma;
    assert!(tss::Sigma::from_bytes(&sigma.to_bytes(), public.group_key(), &input).is_ok());
    let other = PrfInput::new(Identity::new([9; 32], "disk").unwrap());
    assert_eq!(
        tss::Sigma::from_bytes(&sigma.to_bytes(), public.group_key(), &other).err(),
        Some(Error::InvalidSigma)
    );
    assert!(matches!(
        tss::Sigma::from_bytes(&[0xff; G2_LEN], public.group_key(), &input),
        Err(Error::MalformedPoint { .. })
    ));
}

/// How the malicious party misbehaves.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// A random valid G2 point.
    RandomPoint,
    /// Another party's (valid for them) share.
    Replay,
    /// Its share for a different identity.
    WrongMessage,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn combine__should_succeed_with_t_good_shares_and_name_the_bad_one(
        n in 2u16..=16,
        t_frac in 0.0f64..1.0,
        extra in 0usize..=16,
        fault in prop_oneof![Just(Fault::RandomPoint), Just(Fault::Replay), Just(Fault::WrongMessage)],
        seed in any::<u64>(),
    ) {
        let t = 1 + ((f64::from(n - 1)) * t_frac) as u16;
        let (public, keys) = must_deal(t, n, seed);
        let id = identity();
        let input = PrfInput::new(id.clone());
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5eed);

        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.shuffle(&mut rng);
        let size = (usize::from(t) + extra).min(keys.len());
        let chosen = &order[..size];
        let mut shares: BTreeMap<PartyIndex, PrfShare> =
            chosen.iter().map(|&k| (keys[k].index(), make_share(&keys[k], &input))).collect();

        // Reference sigma from an honest t-subset.
        let honest: BTreeMap<_, _> = shares.iter().take(usize::from(t)).map(|(i, s)| (*i, *s)).collect();
        let reference = combine(&public, &input, &honest).unwrap();
        prop_assert!(reference.culprits.is_empty());

        // One chosen party turns malicious.
        let bad_key = &keys[chosen[0]];
        let bad = bad_key.index();
        let bad_share = match fault {
            Fault::RandomPoint => PrfShare::from_bytes(
                &(blstrs::G2Projective::random(&mut rng)).to_affine().to_compressed()).unwrap(),
            // With t = 1 every share equals sigma, so a replay is not a fault.
            Fault::Replay if t > 1 => {
                let other = &keys[(chosen[0] + 1) % keys.len()];
                make_share(other, &input)
            }
            Fault::WrongMessage | Fault::Replay => make_share(bad_key, &PrfInput::new(Identity::new([1; 32], "x").unwrap())),
        };
        shares.insert(bad, bad_share);

        let good = size - 1;
        match combine(&public, &input, &shares) {
            Ok(c) => {
                prop_assert!(good >= usize::from(t));
                prop_assert_eq!(c.culprits, vec![bad]);
                prop_assert_eq!(*c.sigma.to_bytes(), *reference.sigma.to_bytes());
                prop_assert!(c.sigma.derive_key(&id).ct_eq(&reference.sigma.derive_key(&id)));
            }
            Err(Error::NotEnoughShares { culprits, valid, .. }) => {
                prop_assert!(good < usize::from(t));
                prop_assert_eq!(valid, good);
                prop_assert_eq!(culprits, vec![bad]);
            }
            Err(e) => prop_assert!(false, "unexpected error {:?}", e),
        }
    }
}

#[test]
fn shares_verify__should_accept_a_good_batch_and_refuse_one_bad_share() {
    let (public, keys) = must_deal(3, 5, 21);
    let input = PrfInput::new(identity());
    let shares = shares_of(&keys, &input);
    let pks: BTreeMap<PartyIndex, _> = shares
        .keys()
        .map(|i| (*i, *public.share(*i).unwrap()))
        .collect();
    let batch: Vec<_> = shares.iter().map(|(i, s)| (*i, &pks[i], s)).collect();
    assert!(tss::prf::shares_verify(&input, &batch));
    for (i, pk, s) in &batch {
        assert!(tss::prf::share_verifies(pk, &input, s), "party {i}");
    }
    // Party 2's share presented as party 3's: the batch fails, and only that one.
    let mut swapped = batch.clone();
    swapped[2].2 = batch[1].2;
    assert!(!tss::prf::shares_verify(&input, &swapped));
    let failing: Vec<PartyIndex> = swapped
        .iter()
        .filter(|(_, pk, s)| !tss::prf::share_verifies(pk, &input, s))
        .map(|(i, _, _)| *i)
        .collect();
    assert_eq!(failing, vec![batch[2].0]);
}

#[test]
fn prepare__should_give_the_same_verdicts_as_an_unprepared_input() {
    let (public, keys) = must_deal(3, 5, 22);
    let (other_public, _) = must_deal(3, 5, 23);
    let plain = PrfInput::new(identity());
    let prepared = PrfInput::new(identity());
    prepared.prepare(public.group_key());
    // A second key is not kept: checks against it take the whole path.
    prepared.prepare(other_public.group_key());
    let shares = shares_of(&keys, &plain);
    let sigma = combine(&public, &plain, &shares).unwrap().sigma;
    // sigma for another identity, valid there.
    let elsewhere = PrfInput::new(Identity::new([9; 32], "disk").unwrap());
    let wrong = combine(&public, &elsewhere, &shares_of(&keys[..3], &elsewhere))
        .unwrap()
        .sigma;
    for input in [&plain, &prepared] {
        // sigma under the prepared key, and under a key the input was not prepared for.
        assert!(sigma.verify(public.group_key(), input).is_ok());
        assert_eq!(
            sigma.verify(other_public.group_key(), input),
            Err(Error::InvalidSigma)
        );
        assert_eq!(
            wrong.verify(public.group_key(), input),
            Err(Error::InvalidSigma)
        );
        // Shares, checked under their own public key shares (not the prepared key).
        for (i, s) in &shares {
            assert!(verify_share(&public, input, *i, s).is_ok());
        }
        let first = PartyIndex::new(1).unwrap();
        let second = PartyIndex::new(2).unwrap();
        assert_eq!(
            verify_share(&public, input, first, &shares[&second]),
            Err(Error::InvalidShare { culprit: first })
        );
        // The whole combine through the prepared input gives the same sigma.
        let again = combine(&public, input, &shares).unwrap();
        assert!(again.culprits.is_empty());
        assert_eq!(again.sigma.to_bytes().as_ref(), sigma.to_bytes().as_ref());
    }
}

#[test]
fn prepare_shares__should_give_the_same_verdicts_as_an_unprepared_batch() {
    let (public, keys) = must_deal(3, 5, 24);
    let (other_public, other_keys) = must_deal(3, 5, 25);
    let plain = PrfInput::new(identity());
    let shares = shares_of(&keys, &plain);
    let other_shares = shares_of(&other_keys, &plain);
    let pk = |i: u16| *public.share(PartyIndex::new(i).unwrap()).unwrap();
    let at = |i: u16| PartyIndex::new(i).unwrap();
    let prepared = PrfInput::new(identity());
    let mut rng = ChaCha20Rng::seed_from_u64(26);
    prepared.prepare_shares(&[(at(2), pk(2)), (at(4), pk(4)), (at(5), pk(5))], &mut rng);
    let pks: BTreeMap<u16, G1Affine> = (1..=5).map(|i| (i, pk(i))).collect();
    let other_pk4 = *other_public.share(at(4)).unwrap();
    // (party, its claimed key share and its share: from the dealing, or from another
    // dealing under which it verifies; the share of which party).
    type Entries<'a> = &'a [(u16, bool, u16)];
    #[rustfmt::skip]
    let cases: [(&str, Entries, bool); 7] = [
        // The prepared parties, in another order.
        ("prepared", &[(5, true, 5), (2, true, 2), (4, true, 4)], true),
        ("prepared, one share swapped", &[(2, true, 4), (4, true, 4), (5, true, 5)], false),
        // Party 4 claims another key share, under which its share verifies: only an
        // unprepared batch gets this right.
        ("another key claimed", &[(2, true, 2), (4, false, 4), (5, true, 5)], true),
        ("other parties", &[(1, true, 1), (4, true, 4), (5, true, 5)], true),
        ("a prepared party twice", &[(2, true, 2), (2, true, 2), (5, true, 5)], true),
        ("fewer", &[(2, true, 2), (5, true, 5)], true),
        ("fewer, bad", &[(2, true, 5), (5, true, 5)], false),
    ];
    let cases = cases.map(|(name, entries, expected)| {
        let batch: Vec<(PartyIndex, &G1Affine, &PrfShare)> = entries
            .iter()
            .map(|&(i, own, s)| match own {
                true => (at(i), &pks[&i], &shares[&at(s)]),
                false => (at(i), &other_pk4, &other_shares[&at(s)]),
            })
            .collect();
        (name, batch, expected)
    });
    for (name, batch, expected) in &cases {
        assert_eq!(
            tss::prf::shares_verify(&plain, batch),
            *expected,
            "{name}, unprepared"
        );
        assert_eq!(
            tss::prf::shares_verify(&prepared, batch),
            *expected,
            "{name}, prepared"
        );
    }
    // combine through the prepared input: same sigma, and the bad share named.
    let mut picked: BTreeMap<PartyIndex, PrfShare> = [2u16, 4, 5]
        .iter()
        .map(|i| (at(*i), shares[&at(*i)]))
        .collect();
    let sigma = combine(&public, &plain, &picked).unwrap().sigma;
    let again = combine(&public, &prepared, &picked).unwrap();
    assert!(again.culprits.is_empty());
    assert_eq!(again.sigma.to_bytes().as_ref(), sigma.to_bytes().as_ref());
    picked.insert(at(4), shares[&at(5)]);
    assert!(matches!(
        combine(&public, &prepared, &picked),
        Err(Error::NotEnoughShares { culprits, .. }) if culprits == vec![at(4)]
    ));
}
