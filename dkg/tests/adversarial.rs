//! One malicious party, dropped messages, random committees: honest parties agree on
//! consistent keys or all abort naming the culprit. The malicious party may be a dealer
//! (bad share, bad commitment, equivocation, silence, withheld round-1 broadcast) or a
//! lying reporter (forged or withheld round-3 echoes).
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};

use ciborium::Value;
use dkg::identity::{Signature, Signer, SigningKey, VerifyingKey};
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::vss::{round1, round2, round3, round4, Output};
use dkg::{pedersen, sim, vss, wire, Error, Fault, PartyIndex, Roles, SignedDigest};
use ff::{Field, PrimeField};
use group::Group;
use proptest::prelude::*;
use rand::SeedableRng;

#[path = "common/agree.rs"]
mod agree;

#[derive(Debug, Clone)]
enum Attack {
    None,
    /// Wrong shares to `victims`; in round 4 reveal the right share or a wrong one.
    BadShare {
        victims: Vec<u16>,
        justify_honestly: bool,
    },
    /// Proof of knowledge replaced.
    BadProof,
    /// One commitment coefficient replaced by a random point.
    BadCommitment,
    /// A second, independently valid round-1 broadcast to `victims`.
    Equivocate {
        victims: Vec<u16>,
    },
    /// No messages from this round on (1..=4).
    Silent {
        from_round: u8,
    },
    /// An honest dealer's share to one honest receiver is lost.
    DropDirect {
        from: u16,
        to: u16,
    },
    /// The round-1 commitment (encoded points) rewritten by a suite-specific function;
    /// the bad party then stays silent from round 3 on.
    RewriteCommitment(fn(&[Vec<u8>]) -> Vec<Vec<u8>>),
    /// The round-1 broadcast withheld from `victims`; in round 4 re-broadcast (as the
    /// protocol asks) or not.
    OmitRound1 {
        victims: Vec<u16>,
        rebroadcast: bool,
    },
    /// A lying reporter: its round-3 echoes about the honest dealers `victims` lie.
    LieEcho {
        victims: Vec<u16>,
        lie: Lie,
    },
}

#[derive(Debug, Clone, Copy)]
enum Lie {
    /// Claims it received nothing.
    Missing,
    /// Reports a different digest with the dealer's real signature.
    ForgedDigest,
    /// Reports a different digest with a random signature.
    GarbageSignature,
}

/// Re-signs a (tampered) round-1 broadcast with the dealer's real identity key, so the
/// tampering is the dealer's own signed statement.
fn resign(msg: &round1::Broadcast, dealer: PartyIndex, key: &SigningKey) -> round1::Broadcast {
    let sig: Signature = key.sign(&vss::signed_message(
        msg.header(),
        vss::Protocol::Dkg,
        dealer,
        &msg.digest(dealer),
    ));
    tamper(msg, "signature", |v| {
        *v = Value::Bytes(sig.to_bytes().to_vec())
    })
}

/// `e` is a valid signature by `dealer`'s identity key over a digest in the DKG run
/// [`run`] makes for `(n, seed)`.
fn signed_by<S: Suite>(n: u16, seed: u64, dealer: PartyIndex, e: &SignedDigest) -> bool {
    let header = wire::Header::new(S::ID, [seed as u8; 32]);
    keys_of(n, seed)[&dealer]
        .verify_strict(
            &vss::signed_message(&header, vss::Protocol::Dkg, dealer, &e.digest),
            &Signature::from_bytes(&e.signature),
        )
        .is_ok()
}

fn tamper<T: serde::Serialize + serde::de::DeserializeOwned>(
    msg: &T,
    field: &str,
    f: impl FnOnce(&mut Value),
) -> T {
    let bytes = wire::encode(msg).unwrap();
    let mut v: Value = ciborium::from_reader(bytes.as_slice()).unwrap();
    let Value::Map(entries) = &mut v else {
        panic!("not a map")
    };
    let (_, val) = entries
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(field))
        .unwrap();
    f(val);
    let mut out = Vec::new();
    ciborium::into_writer(&v, &mut out).unwrap();
    wire::decode(&out).unwrap()
}

fn random_scalar_bytes<S: Suite>(rng: &mut impl rand::RngCore) -> Vec<u8> {
    S::Scalar::random(rng).to_repr().as_ref().to_vec()
}

type Results<S> = BTreeMap<PartyIndex, Result<Output<S>, Error>>;

fn idx(i: u16) -> PartyIndex {
    PartyIndex::new(i).unwrap()
}

/// Runs a DKG where party `bad` (if any) deviates as `attack` says. Returns the
/// results of the honest parties.
fn run<S: Suite>(n: u16, t: u16, bad: u16, attack: &Attack, seed: u64) -> Results<S> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let parties = sim::committee(n);
    let run_id = [seed as u8; 32];
    let bad = idx(bad);
    let honest: BTreeSet<PartyIndex> = parties.iter().copied().filter(|p| *p != bad).collect();
    let silent = |round: u8| match attack {
        Attack::Silent { from_round } => *from_round <= round,
        Attack::RewriteCommitment(_) => round >= 3,
        _ => false,
    };
    let victim = |p: PartyIndex, v: &Vec<u16>| v.contains(&p.get());

    let keys = sim::identity_keys(&run_id, &parties);
    let identities = sim::verifying_keys(&keys);
    let mut results: Results<S> = BTreeMap::new();
    let (s1, b1): sim::Started<S> = sim::start_dkg(t, n, run_id, &mut rng).unwrap();
    // The equivocator's second broadcast: a valid one from a fresh polynomial, signed.
    let alt = {
        let params = pedersen::Params {
            run_id,
            me: bad,
            parties: parties.clone(),
            threshold: t,
            identities: identities.clone(),
        };
        pedersen::start::<S>(&params, &keys[&bad], &mut rng)
            .unwrap()
            .1
    };
    let bad_b1 = match attack {
        Attack::BadProof => tamper(&b1[&bad], "proof", |v| {
            let Value::Map(e) = v else { panic!() };
            for (k, val) in e.iter_mut() {
                if k.as_text() == Some("z") {
                    *val = Value::Bytes(random_scalar_bytes::<S>(
                        &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed + 1),
                    ));
                }
            }
        }),
        Attack::BadCommitment => tamper(&b1[&bad], "commitment", |v| {
            let Value::Array(a) = v else { panic!() };
            let p = S::Point::random(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed + 2));
            *a.last_mut().unwrap() = Value::Bytes(S::wide_bytes(&p));
        }),
        Attack::RewriteCommitment(f) => tamper(&b1[&bad], "commitment", |v| {
            let Value::Array(a) = v else { panic!() };
            let points: Vec<Vec<u8>> = a.iter().map(|p| p.as_bytes().unwrap().clone()).collect();
            *a = f(&points).into_iter().map(Value::Bytes).collect();
        }),
        _ => b1[&bad].clone(),
    };
    // Tampered broadcasts are signed by the bad dealer (otherwise they count as missing).
    let bad_b1 = resign(&bad_b1, bad, &keys[&bad]);

    // Round 1 -> 2.
    let mut s2 = BTreeMap::new();
    let mut inbox: BTreeMap<PartyIndex, BTreeMap<PartyIndex, round2::Direct>> = BTreeMap::new();
    for (me, st) in s1 {
        let mut received: BTreeMap<PartyIndex, round1::Broadcast> = b1
            .iter()
            .filter(|(p, _)| **p != me)
            .map(|(p, m)| (*p, m.clone()))
            .collect();
        if me != bad {
            if silent(1) {
                received.remove(&bad);
            } else if let Attack::OmitRound1 { victims, .. } = attack {
                if victim(me, victims) {
                    received.remove(&bad);
                }
            } else if let Attack::Equivocate { victims } = attack {
                if victim(me, victims) {
                    received.insert(bad, alt.clone());
                }
            } else {
                received.insert(bad, bad_b1.clone());
            }
        }
        match st.advance(&received) {
            Ok((next, directs)) => {
                for (to, mut m) in directs {
                    if me == bad {
                        if silent(2) {
                            continue;
                        }
                        if let Attack::BadShare { victims, .. } = attack {
                            if victim(to, victims) {
                                m = tamper(&m, "share", |v| {
                                    *v = Value::Bytes(random_scalar_bytes::<S>(
                                        &mut rand_chacha::ChaCha20Rng::seed_from_u64(
                                            seed + u64::from(to.get()),
                                        ),
                                    ));
                                });
                            }
                        }
                    }
                    if let Attack::DropDirect { from, to: dropped } = attack {
                        if me.get() == *from && to.get() == *dropped {
                            continue;
                        }
                    }
                    inbox.entry(to).or_default().insert(me, m);
                }
                s2.insert(me, next);
            }
            Err(e) => {
                results.insert(me, Err(e));
            }
        }
    }
    // Round 2 -> 3.
    let mut s3 = BTreeMap::new();
    let mut b3: BTreeMap<PartyIndex, round3::Broadcast> = BTreeMap::new();
    for (me, st) in s2 {
        match st.advance(&inbox.remove(&me).unwrap_or_default()) {
            Ok((next, msg)) => {
                let mut msg = msg.unwrap(); // every DKG party receives
                if me == bad {
                    if let Attack::LieEcho { victims, lie } = attack {
                        msg = lie_about(&msg, victims, *lie, bad, seed);
                    }
                }
                if !(me == bad && silent(3)) {
                    b3.insert(me, msg);
                }
                s3.insert(me, next);
            }
            Err(e) => {
                results.insert(me, Err(e));
            }
        }
    }
    // Round 3 -> 4.
    let mut s4 = BTreeMap::new();
    let mut b4: BTreeMap<PartyIndex, round4::Broadcast> = BTreeMap::new();
    for (me, st) in s3 {
        let received: BTreeMap<_, _> = b3
            .iter()
            .filter(|(p, _)| **p != me)
            .map(|(p, m)| (*p, m.clone()))
            .collect();
        match st.advance(&received) {
            Ok((next, msg)) => {
                // Only a dealer that owes an answer (complaint, missing report) sends one.
                if let Some(mut msg) = msg {
                    if me == bad {
                        if let Attack::BadShare {
                            justify_honestly: false,
                            ..
                        } = attack
                        {
                            msg = tamper(&msg, "revealed", |v| {
                                let Value::Map(e) = v else { panic!() };
                                for (_, val) in e.iter_mut() {
                                    *val = Value::Bytes(random_scalar_bytes::<S>(
                                        &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed + 99),
                                    ));
                                }
                            });
                        }
                        if let Attack::OmitRound1 {
                            rebroadcast: false, ..
                        } = attack
                        {
                            msg = tamper(&msg, "round1", |v| *v = Value::Null);
                        }
                    }
                    if !(me == bad && silent(4)) {
                        b4.insert(me, msg);
                    }
                }
                s4.insert(me, next);
            }
            Err(e) => {
                results.insert(me, Err(e));
            }
        }
    }
    for (me, st) in s4 {
        let received: BTreeMap<_, _> = b4
            .iter()
            .filter(|(p, _)| **p != me)
            .map(|(p, m)| (*p, m.clone()))
            .collect();
        results.insert(me, st.finish(&received));
    }
    results.retain(|p, _| honest.contains(p));
    results
}

/// The bad party's round-3 echoes about `victims` (other than itself) replaced by a lie.
fn lie_about(
    msg: &round3::Broadcast,
    victims: &[u16],
    lie: Lie,
    bad: PartyIndex,
    seed: u64,
) -> round3::Broadcast {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x11e);
    tamper(msg, "echo", |v| {
        let Value::Map(entries) = v else { panic!() };
        entries.retain_mut(|(k, e)| {
            let d: u16 = k.as_integer().unwrap().try_into().unwrap();
            if d == bad.get() || !victims.contains(&d) {
                return true;
            }
            let Value::Map(fields) = e else { panic!() };
            for (name, val) in fields.iter_mut() {
                match (name.as_text(), lie) {
                    (Some("digest"), Lie::ForgedDigest | Lie::GarbageSignature) => {
                        let mut dg = [0u8; 32];
                        rand::RngCore::fill_bytes(&mut rng, &mut dg);
                        *val = Value::Array(dg.iter().map(|b| Value::from(*b)).collect());
                    }
                    (Some("signature"), Lie::GarbageSignature) => {
                        let mut sig = [0u8; 64];
                        rand::RngCore::fill_bytes(&mut rng, &mut sig);
                        *val = Value::Bytes(sig.to_vec());
                    }
                    _ => {}
                }
            }
            !matches!(lie, Lie::Missing)
        });
    })
}

/// Honest parties all succeed with the same consistent keys, or all fail naming only
/// the bad party. Returns the common output's qualified set when they succeed.
fn must_be_consistent_or_blame<S: Suite>(
    results: &Results<S>,
    bad: u16,
) -> Option<(BTreeSet<PartyIndex>, BTreeMap<PartyIndex, Fault>)> {
    let oks: Vec<&Output<S>> = results.values().filter_map(|r| r.as_ref().ok()).collect();
    if oks.len() != results.len() {
        for r in results.values() {
            let e = r.as_ref().expect_err("honest parties disagree on success");
            let culprits = e.culprits();
            assert!(!culprits.is_empty(), "error without culprit: {e}");
            assert!(
                culprits.iter().all(|c| c.get() == bad),
                "honest party blamed: {e}"
            );
        }
        return None;
    }
    let first = oks[0];
    assert!(oks.iter().all(|o| o.key_share().is_some()));
    agree::must_agree(oks.iter().copied());
    for (p, f) in first.disqualified() {
        assert_eq!(p.get(), bad, "honest party {p} disqualified: {f:?}");
    }
    Some((first.qualified().clone(), first.disqualified().clone()))
}

fn attack_strategy(n: u16) -> impl Strategy<Value = (u16, Attack)> {
    let victims = proptest::collection::vec(1..=n, 1..=usize::from(n));
    (
        1..=n,
        prop_oneof![
            Just(Attack::None),
            (victims.clone(), any::<bool>()).prop_map(|(victims, justify_honestly)| {
                Attack::BadShare {
                    victims,
                    justify_honestly,
                }
            }),
            Just(Attack::BadProof),
            Just(Attack::BadCommitment),
            victims
                .clone()
                .prop_map(|victims| Attack::Equivocate { victims }),
            (victims.clone(), any::<bool>()).prop_map(|(victims, rebroadcast)| {
                Attack::OmitRound1 {
                    victims,
                    rebroadcast,
                }
            }),
            (
                victims,
                prop_oneof![
                    Just(Lie::Missing),
                    Just(Lie::ForgedDigest),
                    Just(Lie::GarbageSignature)
                ]
            )
                .prop_map(|(victims, lie)| Attack::LieEcho { victims, lie }),
            (1u8..=4).prop_map(|from_round| Attack::Silent { from_round }),
            (1..=n, 1..=n).prop_map(|(from, to)| Attack::DropDirect { from, to }),
        ],
    )
}

/// The identity keys [`run`] uses.
fn keys_of(n: u16, seed: u64) -> BTreeMap<PartyIndex, VerifyingKey> {
    sim::verifying_keys(&sim::identity_keys(&[seed as u8; 32], &sim::committee(n)))
}

fn committee() -> impl Strategy<Value = (u16, u16)> {
    (2u16..=16).prop_flat_map(|n| (Just(n), 1..=n))
}

fn check<S: Suite>(n: u16, t: u16, bad: u16, attack: Attack, seed: u64) {
    // DropDirect models an honest-but-unlucky dealer: skip cases that involve `bad`.
    if let Attack::DropDirect { from, to } = attack {
        if from == bad || to == bad || from == to {
            return;
        }
    }
    let results = run::<S>(n, t, bad, &attack, seed);
    let qual = must_be_consistent_or_blame(&results, bad);
    let expelled = match &attack {
        Attack::None | Attack::DropDirect { .. } | Attack::RewriteCommitment(_) => false,
        Attack::BadShare {
            victims,
            justify_honestly,
        } => !justify_honestly && victims.iter().any(|v| *v != bad && *v <= n),
        Attack::Equivocate { victims } => victims.iter().any(|v| *v != bad && *v <= n),
        // Withholding is harmless if the dealer re-broadcasts in round 4.
        Attack::OmitRound1 {
            victims,
            rebroadcast,
        } => !rebroadcast && victims.iter().any(|v| *v != bad && *v <= n),
        // A provably forged echo gets the reporter excluded; a "missing" claim cannot be
        // told from a real loss, so it only costs the dealers a re-broadcast.
        Attack::LieEcho { victims, lie } => {
            !matches!(lie, Lie::Missing) && victims.iter().any(|v| *v != bad && *v <= n)
        }
        Attack::BadProof | Attack::BadCommitment => true,
        // Silent in round 1: no commitment. Silent from round 2: complaints that are
        // never answered. Silent later: it already dealt correctly, so it stays.
        Attack::Silent { from_round } => *from_round <= 2,
    };
    match qual {
        Some((q, faults)) => {
            assert_eq!(q.contains(&idx(bad)), !expelled, "attack {attack:?}");
            assert!(q.len() >= usize::from(t));
            // The recorded reason (evidence) matches the attack.
            let fault = faults.get(&idx(bad));
            match &attack {
                Attack::Equivocate { .. } if expelled => {
                    let Some(Fault::Equivocation { first, second }) = fault else {
                        panic!("equivocation not identified: {fault:?}")
                    };
                    // The evidence: two different digests, both signed by the dealer.
                    let bad = idx(bad);
                    assert_ne!(first.digest, second.digest);
                    assert!(
                        signed_by::<S>(n, seed, bad, first) && signed_by::<S>(n, seed, bad, second)
                    );
                }
                // The bad party echoes its own untampered broadcast in round 3, so the
                // provable equivocation (which takes precedence) may be the reason.
                Attack::BadProof => assert!(
                    matches!(
                        fault,
                        Some(Fault::InvalidProof | Fault::Equivocation { .. })
                    ),
                    "{fault:?}"
                ),
                Attack::OmitRound1 { .. } if expelled => assert!(
                    matches!(fault, Some(Fault::MissingRebroadcast { .. })),
                    "{fault:?}"
                ),
                Attack::LieEcho { .. } if expelled => {
                    let Some(Fault::ForgedEcho { dealer, report }) = fault else {
                        panic!("lying reporter not identified: {fault:?}")
                    };
                    // The evidence: a report that does not verify under the dealer's key.
                    assert_ne!(dealer.get(), bad);
                    assert!(!signed_by::<S>(n, seed, *dealer, report));
                }
                Attack::Silent { from_round: 1 } => {
                    assert_eq!(fault, Some(&Fault::MissingBroadcast))
                }
                Attack::Silent { from_round: 2 } => assert!(
                    matches!(fault, Some(Fault::MissingJustification { .. })),
                    "{fault:?}"
                ),
                Attack::BadShare {
                    justify_honestly: false,
                    ..
                } if expelled => assert!(
                    matches!(fault, Some(Fault::FailedJustification { .. })),
                    "{fault:?}"
                ),
                _ => {}
            }
        }
        // Failing is allowed only when excluding the bad party leaves fewer than t.
        None => assert!(expelled && n - 1 < t, "unexpected abort for {attack:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/adversarial.txt"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn dkg_bls__should_agree_or_blame_the_malicious_party(
        (n, t) in committee(),
        (bad, attack) in (2u16..=16).prop_flat_map(attack_strategy),
        seed in any::<u64>(),
    ) {
        let bad = (bad - 1) % n + 1;
        check::<Bls12381G1>(n, t, bad, attack, seed);
    }

    #[test]
    fn dkg_secp__should_agree_or_blame_the_malicious_party(
        (n, t) in committee(),
        (bad, attack) in (2u16..=16).prop_flat_map(attack_strategy),
        seed in any::<u64>(),
    ) {
        let bad = (bad - 1) % n + 1;
        check::<Secp256k1>(n, t, bad, attack, seed);
    }
}

/// `k·p` for a big-endian integer `k` (not reduced mod r), by double-and-add.
fn mul_int(p: blstrs::G1Projective, k: &[u8]) -> blstrs::G1Projective {
    let mut acc = blstrs::G1Projective::identity();
    for byte in k {
        for bit in (0..8).rev() {
            acc = acc.double();
            if (byte >> bit) & 1 == 1 {
                acc += p;
            }
        }
    }
    acc
}

/// A point of order 3 on the BLS12-381 curve (so outside G1): a curve point from an
/// unchecked decompression, times `r·h/3`.
fn order3_point() -> blstrs::G1Projective {
    // r, and h/3 for the cofactor h = 0x396c8c005555e1568c00aaab0000aaab.
    let r =
        hex::decode("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001").unwrap();
    let h3 = hex::decode("13242eaac71ca0722eaae38e55558e39").unwrap();
    for x in 1u8..=255 {
        let mut c = [0u8; 48];
        c[0] = 0x80; // compressed, not infinity, "smaller" y
        c[47] = x;
        let p: Option<blstrs::G1Affine> = blstrs::G1Affine::from_compressed_unchecked(&c).into();
        if let Some(p) = p {
            let t = mul_int(mul_int(p.into(), &r), &h3);
            if !bool::from(t.is_identity()) {
                return t;
            }
        }
    }
    panic!("no order-3 point found")
}

/// Adds an order-3 point `T` (outside G1) to `C_3` and subtracts it from `C_1`: the
/// torsion part `T·(x³ − x)` vanishes at every integer `x` (Fermat), so every share
/// check passes, but the combined commitment leaves G1.
fn add_order3_torsion(points: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let t = order3_point();
    assert!(bool::from(mul_int(t, &[3]).is_identity()));
    assert!(!Bls12381G1::is_torsion_free(&t));
    let mut pts: Vec<blstrs::G1Projective> = points
        .iter()
        .map(|b| Bls12381G1::wide_from_bytes(b).unwrap().into())
        .collect();
    pts[1] -= t;
    pts[3] += t;
    pts.iter().map(Bls12381G1::wide_bytes).collect()
}

#[test]
fn dkg_bls__should_exclude_a_dealer_whose_commitment_leaves_the_subgroup() {
    let results = run::<Bls12381G1>(5, 4, 2, &Attack::RewriteCommitment(add_order3_torsion), 7);
    let (qual, faults) = must_be_consistent_or_blame(&results, 2).unwrap();
    assert!(!qual.contains(&idx(2)));
    assert_eq!(faults.get(&idx(2)), Some(&Fault::NotInSubgroup));
    for r in results.values() {
        let public = r.as_ref().unwrap().public();
        assert!(Bls12381G1::is_torsion_free(public.group_key()));
        assert!(public.shares().values().all(Bls12381G1::is_torsion_free));
    }
}

#[test]
fn dkg_bls__should_abort_naming_the_dealer_when_too_few_remain_after_torsion() {
    let results = run::<Bls12381G1>(4, 4, 3, &Attack::RewriteCommitment(add_order3_torsion), 8);
    assert!(must_be_consistent_or_blame(&results, 3).is_none());
}

fn bad_fault<S: Suite>(results: &Results<S>, bad: u16) -> (BTreeSet<PartyIndex>, Option<Fault>) {
    let (qual, faults) = must_be_consistent_or_blame(results, bad).expect("run aborted");
    (qual, faults.get(&idx(bad)).cloned())
}

#[test]
fn dkg_secp__should_complete_and_blame_a_reporter_that_forges_every_echo() {
    // 4 parties, t = 3: before signed echoes, one forged echo per honest dealer
    // excluded all three and the run aborted.
    for lie in [Lie::ForgedDigest, Lie::GarbageSignature] {
        let attack = Attack::LieEcho {
            victims: vec![1, 2, 3],
            lie,
        };
        let (qual, fault) = bad_fault(&run::<Secp256k1>(4, 3, 4, &attack, 11), 4);
        assert_eq!(qual, [1, 2, 3].map(idx).into());
        let Some(Fault::ForgedEcho { dealer, report }) = fault else {
            panic!("{lie:?}: {fault:?}")
        };
        assert!(!signed_by::<Secp256k1>(4, 11, dealer, &report));
    }
}

#[test]
fn dkg_bls__should_keep_every_dealer_when_a_reporter_claims_broadcasts_missing() {
    let attack = Attack::LieEcho {
        victims: vec![1, 2, 3],
        lie: Lie::Missing,
    };
    // The claim cannot be told from a real loss: nobody is blamed, the three dealers
    // re-broadcast in round 4.
    let (qual, fault) = bad_fault(&run::<Bls12381G1>(4, 4, 4, &attack, 12), 4);
    assert_eq!(qual, sim::committee(4));
    assert_eq!(fault, None);
}

#[test]
fn dkg_secp__should_exclude_an_equivocating_dealer_with_both_signed_digests() {
    let attack = Attack::Equivocate { victims: vec![1] };
    let (qual, fault) = bad_fault(&run::<Secp256k1>(4, 2, 2, &attack, 13), 2);
    assert_eq!(qual, [1, 3, 4].map(idx).into());
    let Some(Fault::Equivocation { first, second }) = fault else {
        panic!("{fault:?}")
    };
    assert!(first.digest < second.digest);
    assert!(
        signed_by::<Secp256k1>(4, 13, idx(2), &first)
            && signed_by::<Secp256k1>(4, 13, idx(2), &second)
    );
}

#[test]
fn dkg_bls__should_repair_a_withheld_round1_broadcast_or_exclude_its_dealer() {
    let withheld = |rebroadcast| Attack::OmitRound1 {
        victims: vec![1, 3],
        rebroadcast,
    };
    // Re-broadcast: victims take the commitment from round 4 and their share from the
    // reveal that answers their complaint.
    let (qual, fault) = bad_fault(&run::<Bls12381G1>(4, 3, 2, &withheld(true), 14), 2);
    assert_eq!(qual, sim::committee(4));
    assert_eq!(fault, None);
    // No re-broadcast: excluded, naming who reported it missing.
    let (qual, fault) = bad_fault(&run::<Bls12381G1>(4, 3, 2, &withheld(false), 14), 2);
    assert_eq!(qual, [1, 3, 4].map(idx).into());
    assert_eq!(
        fault,
        Some(Fault::MissingRebroadcast {
            reporters: [1, 3].map(idx).into()
        })
    );
}

/// Round-1 broadcasts of a fresh DKG among `1..=n` in the run `run_id`, signed with the
/// given (long-term) identity keys.
fn start_with_keys<S: Suite>(
    t: u16,
    n: u16,
    run_id: [u8; 32],
    keys: &BTreeMap<PartyIndex, SigningKey>,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> sim::Started<S> {
    let parties = sim::committee(n);
    let mut states = BTreeMap::new();
    let mut b1 = BTreeMap::new();
    for (me, key) in keys {
        let params = pedersen::Params {
            run_id,
            me: *me,
            parties: parties.clone(),
            threshold: t,
            identities: sim::verifying_keys(keys),
        };
        let (st, msg) = pedersen::start::<S>(&params, key, &mut *rng).unwrap();
        states.insert(*me, st);
        b1.insert(*me, msg);
    }
    (states, b1)
}

/// The echoes of `msg` for `dealers` replaced by the given (digest, signature) pairs.
fn replace_echoes(
    msg: &round3::Broadcast,
    replacements: &BTreeMap<PartyIndex, ([u8; 32], [u8; 64])>,
) -> round3::Broadcast {
    tamper(msg, "echo", |v| {
        let Value::Map(entries) = v else { panic!() };
        entries.retain(|(k, _)| {
            let d: u16 = k.as_integer().unwrap().try_into().unwrap();
            !replacements.contains_key(&idx(d))
        });
        for (d, (digest, signature)) in replacements {
            entries.push((
                Value::from(d.get()),
                Value::Map(vec![
                    (
                        Value::Text("digest".into()),
                        Value::Array(digest.iter().map(|b| Value::from(*b)).collect()),
                    ),
                    (
                        Value::Text("signature".into()),
                        Value::Bytes(signature.to_vec()),
                    ),
                ]),
            ));
        }
        entries.sort_by_key(|(k, _)| u16::try_from(k.as_integer().unwrap()).unwrap());
    })
}

/// A DKG's round-1 states with their roles (dealer and receiver under one index).
fn with_roles<S: Suite>((states, b1): sim::Started<S>) -> sim::StartedRoles<S> {
    let states = states
        .into_iter()
        .map(|(p, st)| (Roles::both(p), st))
        .collect();
    (states, b1)
}

/// Results of the receivers, by receiver index.
fn by_receiver<S: Suite>(results: Vec<(Roles, Result<Output<S>, Error>)>) -> Results<S> {
    results
        .into_iter()
        .filter_map(|(roles, r)| roles.receiver.map(|j| (j, r)))
        .collect()
}

/// Everyone's message but the one of `me` (if it has the sending role).
fn others_of<M: Clone>(
    me: Option<PartyIndex>,
    m: &BTreeMap<PartyIndex, M>,
) -> BTreeMap<PartyIndex, M> {
    m.iter()
        .filter(|(p, _)| Some(**p) != me)
        .map(|(p, v)| (*p, v.clone()))
        .collect()
}

/// Rewrites of messages in flight: round-2 shares (by sending dealer and receiving
/// receiver), round-3 broadcasts (by receiver) and round-4 broadcasts (by dealer).
struct Tamper<'a> {
    direct: &'a dyn Fn(PartyIndex, PartyIndex, round2::Direct) -> round2::Direct,
    round3: &'a dyn Fn(PartyIndex, round3::Broadcast) -> round3::Broadcast,
    round4: &'a dyn Fn(PartyIndex, round4::Broadcast) -> round4::Broadcast,
}

/// Runs every round with all messages delivered (rounds 1, 2 and 4 by dealer index,
/// round 3 by receiver index), rewritten by `tamper`. Returns every party's roles and
/// result.
fn drive_tampered<S: Suite>(
    (states, b1): sim::StartedRoles<S>,
    tamper: &Tamper<'_>,
) -> Vec<(Roles, Result<Output<S>, Error>)> {
    let mut inbox: BTreeMap<PartyIndex, BTreeMap<PartyIndex, round2::Direct>> = BTreeMap::new();
    let mut s2 = Vec::new();
    for (roles, st) in states {
        let (next, directs) = st.advance(&others_of(roles.dealer, &b1)).unwrap();
        for (to, m) in directs {
            let from = roles.dealer.unwrap();
            inbox
                .entry(to)
                .or_default()
                .insert(from, (tamper.direct)(from, to, m));
        }
        s2.push((roles, next));
    }
    let mut s3 = Vec::new();
    let mut b3 = BTreeMap::new();
    for (roles, st) in s2 {
        let mine = roles.receiver.and_then(|j| inbox.remove(&j));
        let (next, msg) = st.advance(&mine.unwrap_or_default()).unwrap();
        assert_eq!(
            msg.is_some(),
            roles.receiver.is_some(),
            "round 3 is the receivers'"
        );
        if let (Some(j), Some(msg)) = (roles.receiver, msg) {
            b3.insert(j, (tamper.round3)(j, msg));
        }
        s3.push((roles, next));
    }
    let mut s4 = Vec::new();
    let mut b4 = BTreeMap::new();
    for (roles, st) in s3 {
        let (next, msg) = st.advance(&others_of(roles.receiver, &b3)).unwrap();
        assert!(
            msg.is_none() || roles.dealer.is_some(),
            "round 4 is the dealers'"
        );
        assert_eq!(
            msg.is_some(),
            roles.dealer.is_some_and(|d| next.obligated().contains(&d)),
            "and only those that owe an answer"
        );
        if let (Some(d), Some(msg)) = (roles.dealer, msg) {
            b4.insert(d, (tamper.round4)(d, msg));
        }
        s4.push((roles, next));
    }
    s4.into_iter()
        .map(|(roles, st)| (roles, st.finish(&others_of(roles.dealer, &b4))))
        .collect()
}

/// [`drive_tampered`] with only the round-3 broadcast of receiver `bad` rewritten by `lie`.
fn drive_with_round3_lie<S: Suite>(
    started: sim::StartedRoles<S>,
    bad: PartyIndex,
    lie: impl Fn(&round3::Broadcast) -> round3::Broadcast,
) -> Vec<(Roles, Result<Output<S>, Error>)> {
    let round3 = |j: PartyIndex, m: round3::Broadcast| if j == bad { lie(&m) } else { m };
    let tamper = Tamper {
        direct: &|_, _, m| m,
        round3: &round3,
        round4: &|_, m| m,
    };
    drive_tampered(started, &tamper)
}

/// What the malicious participant of a reshare does.
#[derive(Debug, Clone)]
enum ReshareAttack {
    /// As a dealer: wrong shares to the receivers `victims` (new indices); in round 4
    /// reveal the right share or a wrong one.
    BadShare {
        victims: Vec<u16>,
        justify_honestly: bool,
    },
    /// As a receiver: its round-3 echoes about every dealer lie.
    LieEcho(Lie),
}

/// A reshare of a `(t, n)` committee (nodes `1..=n`, all dealing) to the committee
/// losing the members at `removed` and gaining `added` new nodes (numbered by position),
/// where node `bad` attacks. The honest parties agree on keys for the unchanged group
/// key (their shares at their new indices reconstruct it) blaming only `bad`, or all
/// abort naming only `bad`'s dealer index.
fn check_reshare<S: Suite>(
    (t, n): (u16, u16),
    removed: &BTreeSet<u16>,
    added: u16,
    t2: u16,
    bad: u16,
    attack: &ReshareAttack,
    seed: u64,
) {
    let new: Vec<u16> = (1..=n)
        .filter(|i| !removed.contains(i))
        .chain(n + 1..=n + added)
        .collect();
    let mut f = ReshareFixture::<S>::new(seed, (t, n), &new, t2, [seed as u8; 32]);
    let bad_roles = f.nodes[&bad].0;
    if new.len() == 1 && bad_roles.receiver.is_some() {
        // Outside the model: a dealer that does not receive judges round 1 from the
        // receivers' reports, so it needs one honest receiver (the new committee holds
        // fewer than t' malicious members).
        return;
    }
    let direct = |from: PartyIndex, to: PartyIndex, m: round2::Direct| match attack {
        ReshareAttack::BadShare { victims, .. }
            if Some(from) == bad_roles.dealer && victims.contains(&to.get()) =>
        {
            tamper(&m, "share", |v| {
                *v = Value::Bytes(random_scalar_bytes::<S>(
                    &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed + u64::from(to.get())),
                ));
            })
        }
        _ => m,
    };
    let round3 = |j: PartyIndex, m: round3::Broadcast| match attack {
        ReshareAttack::LieEcho(lie) if Some(j) == bad_roles.receiver => {
            let victims: Vec<u16> = (1..=n).collect();
            let own = bad_roles
                .dealer
                .unwrap_or(PartyIndex::new(u16::MAX).unwrap());
            lie_about(&m, &victims, *lie, own, seed)
        }
        _ => m,
    };
    let round4 = |d: PartyIndex, m: round4::Broadcast| match attack {
        ReshareAttack::BadShare {
            justify_honestly: false,
            ..
        } if Some(d) == bad_roles.dealer => tamper(&m, "revealed", |v| {
            let Value::Map(e) = v else { panic!() };
            for (_, val) in e.iter_mut() {
                *val = Value::Bytes(random_scalar_bytes::<S>(
                    &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed + 99),
                ));
            }
        }),
        _ => m,
    };
    let tamper = Tamper {
        direct: &direct,
        round3: &round3,
        round4: &round4,
    };
    let results = drive_tampered(f.start([seed as u8 ^ 0x5a; 32]), &tamper);
    let honest: Vec<(Roles, Result<Output<S>, Error>)> = results
        .into_iter()
        .filter(|(r, _)| *r != bad_roles)
        .collect();
    if honest.iter().any(|(_, r)| r.is_err()) {
        for (_, r) in &honest {
            let e = r.as_ref().expect_err("honest parties disagree on success");
            let culprits = e.culprits();
            assert!(!culprits.is_empty(), "error without culprit: {e}");
            assert!(
                culprits.iter().all(|c| Some(*c) == bad_roles.dealer),
                "honest party blamed: {e}"
            );
        }
        return;
    }
    let outputs: Vec<(Roles, Output<S>)> =
        honest.into_iter().map(|(r, o)| (r, o.unwrap())).collect();
    let public = agree::must_agree(outputs.iter().map(|(_, o)| o));
    assert_eq!(public.group_key(), f.group_key());
    for (roles, o) in &outputs {
        assert_eq!(o.key_share().map(|s| s.index()), roles.receiver);
        assert!(o
            .disqualified()
            .keys()
            .all(|d| Some(*d) == bad_roles.dealer));
        assert!(o
            .lying_receivers()
            .keys()
            .all(|j| Some(*j) == bad_roles.receiver));
    }
    let shares: Vec<&dkg::keys::KeyShare<S>> =
        outputs.iter().filter_map(|(_, o)| o.key_share()).collect();
    if shares.len() >= usize::from(t2) {
        assert_eq!(&reconstruct(&shares[..usize::from(t2)]), f.group_key());
    }
}

fn reshare_attack_case(
) -> impl Strategy<Value = ((u16, u16), BTreeSet<u16>, u16, u16, u16, ReshareAttack, u64)> {
    (2u16..=6)
        .prop_flat_map(|n| {
            (
                1..=n,
                Just(n),
                proptest::collection::btree_set(1..=n, 0..=usize::from(n)),
                0u16..=3,
            )
        })
        .prop_flat_map(|(t, n, removed, added)| {
            let added = added.max(u16::from(removed.len() == usize::from(n)));
            let n2 = n - removed.len() as u16 + added;
            let attack = prop_oneof![
                (
                    proptest::collection::vec(1..=n2, 1..=usize::from(n2)),
                    any::<bool>()
                )
                    .prop_map(|(victims, justify_honestly)| {
                        ReshareAttack::BadShare {
                            victims,
                            justify_honestly,
                        }
                    }),
                prop_oneof![
                    Just(Lie::Missing),
                    Just(Lie::ForgedDigest),
                    Just(Lie::GarbageSignature)
                ]
                .prop_map(ReshareAttack::LieEcho),
            ];
            (
                Just((t, n)),
                Just(removed),
                Just(added),
                1..=n2,
                1..=n + added,
                attack,
                any::<u64>(),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/adversarial.txt"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn reshare_bls__should_agree_or_blame_the_malicious_party_across_committee_changes(
        (old, removed, added, t2, bad, attack, seed) in reshare_attack_case(),
    ) {
        check_reshare::<Bls12381G1>(old, &removed, added, t2, bad, &attack, seed);
    }

    #[test]
    fn reshare_secp__should_agree_or_blame_the_malicious_party_across_committee_changes(
        (old, removed, added, t2, bad, attack, seed) in reshare_attack_case(),
    ) {
        check_reshare::<Secp256k1>(old, &removed, added, t2, bad, &attack, seed);
    }
}

fn replay_old_echoes<S: Suite>(seed: u64) {
    // Identity keys are long-term (the node's p2p key): the same in both runs.
    let (n, t) = (4u16, 3u16);
    let keys = sim::identity_keys(&[0xee; 32], &sim::committee(n));
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let (_, old_b1) = start_with_keys::<S>(t, n, [1; 32], &keys, &mut rng);
    let bad = idx(4);
    // The liar echoes, for every honest dealer, that dealer's validly signed digest
    // from the earlier run.
    let replayed: BTreeMap<PartyIndex, ([u8; 32], [u8; 64])> = old_b1
        .iter()
        .filter(|(d, _)| **d != bad)
        .map(|(d, m)| (*d, (m.digest(*d), m.signature())))
        .collect();
    let started = start_with_keys::<S>(t, n, [2; 32], &keys, &mut rng);
    let mut results = by_receiver(drive_with_round3_lie(with_roles(started), bad, |m| {
        replace_echoes(m, &replayed)
    }));
    results.remove(&bad);
    let (qual, fault) = bad_fault(&results, bad.get());
    assert_eq!(qual, [1, 2, 3].map(idx).into());
    let Some(Fault::ForgedEcho { dealer, .. }) = fault else {
        panic!("replaying reporter not blamed: {fault:?}")
    };
    assert_ne!(dealer, bad);
}

#[test]
fn dkg_secp__should_blame_a_reporter_that_replays_echoes_from_another_run() {
    replay_old_echoes::<Secp256k1>(16);
}

#[test]
fn dkg_bls__should_blame_a_reporter_that_replays_echoes_from_another_run() {
    replay_old_echoes::<Bls12381G1>(17);
}

#[test]
fn reshare_secp__should_blame_a_new_member_that_forges_echoes_and_keep_the_key() {
    // Old [1, 2, 3] -> new [3, 4, 5, 6]: node 3 stays (old 3, new 1).
    let mut f = ReshareFixture::<Secp256k1>::new(15, (2, 3), &[3, 4, 5, 6], 3, [15; 32]);
    let liar = f.receiver(6); // a new member only: blamed, but not a dealer to exclude
    let outputs = drive_with_round3_lie(f.start([15; 32]), liar, |m| {
        lie_about(m, &[1, 2, 3], Lie::GarbageSignature, liar, 15)
    });
    let outputs: Vec<(Roles, Output<Secp256k1>)> =
        outputs.into_iter().map(|(r, o)| (r, o.unwrap())).collect();
    // The liar too ends with the same keys (its lies excluded nobody) and a share.
    let public = agree::must_agree(outputs.iter().map(|(_, o)| o));
    assert_eq!(public.group_key(), f.group_key());
    for (roles, o) in &outputs {
        assert_eq!(o.qualified(), &f.dealers);
        assert!(o.disqualified().is_empty(), "{:?}", o.disqualified());
        assert_eq!(o.key_share().is_some(), roles.receiver.is_some());
        if roles.receiver == Some(liar) {
            continue; // it holds its own, honest, round-3 message
        }
        assert_eq!(o.lying_receivers().keys().collect::<Vec<_>>(), vec![&liar]);
        assert!(matches!(
            o.lying_receivers()[&liar],
            Fault::ForgedEcho { .. }
        ));
    }
}

#[test]
fn reshare_bls__should_exclude_the_dealer_index_of_a_moved_member_that_forges_echoes() {
    // [A, B, C, D, E] -> [A, C, D, E, F]: C deals as 3 and receives as 2; B (old 2)
    // leaves. C's forged echoes (sent as receiver 2) must exclude dealer 3, not dealer 2.
    let mut f = ReshareFixture::<Bls12381G1>::new(20, (3, 5), &[1, 3, 4, 5, 6], 3, [20; 32]);
    assert_eq!((f.dealer(3), f.receiver(3)), (idx(3), idx(2)));
    let liar = f.receiver(3);
    let outputs = drive_with_round3_lie(f.start([20; 32]), liar, |m| {
        lie_about(m, &[1, 2, 4], Lie::GarbageSignature, idx(3), 20)
    });
    // The honest parties (the liar holds its own, honest, round-3 message).
    let outputs: Vec<(Roles, Output<Bls12381G1>)> = outputs
        .into_iter()
        .filter(|(r, _)| r.receiver != Some(liar))
        .map(|(r, o)| (r, o.unwrap()))
        .collect();
    assert_eq!(outputs.len(), 5); // A, B (dealer only), D, E, F (receiver only)
    let public = agree::must_agree(outputs.iter().map(|(_, o)| o));
    assert_eq!(public.group_key(), f.group_key());
    let expected_qual: BTreeSet<PartyIndex> = [1, 2, 4, 5].map(idx).into();
    for (_, o) in &outputs {
        assert_eq!(o.qualified(), &expected_qual);
        assert_eq!(o.disqualified().keys().collect::<Vec<_>>(), vec![&idx(3)]);
        assert!(matches!(
            o.disqualified()[&idx(3)],
            Fault::ForgedEcho { .. }
        ));
        assert_eq!(o.lying_receivers().keys().collect::<Vec<_>>(), vec![&liar]);
    }
    // The honest new shares (new indices 1, 3, 4, 5) reconstruct the key.
    let shares: Vec<_> = outputs.iter().filter_map(|(_, o)| o.key_share()).collect();
    assert_eq!(
        shares.iter().map(|s| s.index()).collect::<BTreeSet<_>>(),
        [1, 3, 4, 5].map(idx).into()
    );
    assert_eq!(&reconstruct(&shares[1..4]), f.group_key());
}

/// `Σ λ_i·x_i·G` over the given shares (at least `t` of them).
fn reconstruct<S: Suite>(shares: &[&dkg::keys::KeyShare<S>]) -> S::Point {
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

#[test]
fn reshare_bls__should_reject_dealer_messages_filed_under_a_non_dealer_index() {
    // Rounds 1, 2 and 4 are the dealers', addressed by dealer index: a driver that files
    // a message under an index outside the dealers misuses the API (a new member has no
    // dealer index to send under).
    let mut f = ReshareFixture::<Bls12381G1>::new(18, (2, 3), &[3, 4, 5], 2, [18; 32]);
    let (states, b1) = f.start([18; 32]);
    let intruder = idx(4); // receiver index of node 5, no dealer
    for (roles, st) in states {
        let mut received = others_of(roles.dealer, &b1);
        received.insert(intruder, b1[&idx(1)].clone());
        assert!(matches!(
            st.advance(&received),
            Err(Error::UnexpectedSender { sender }) if sender == intruder
        ));
    }
}

#[test]
fn reshare_secp__should_blame_a_new_member_that_replays_echoes_from_an_earlier_reshare() {
    // Long-term identity keys, the same in both runs.
    let mut f = ReshareFixture::<Secp256k1>::new(19, (2, 3), &[4, 5, 6], 2, [0xee; 32]);
    let (_, earlier) = f.start([1; 32]);
    let replayed: BTreeMap<PartyIndex, ([u8; 32], [u8; 64])> = earlier
        .iter()
        .map(|(d, m)| (*d, (m.digest(*d), m.signature())))
        .collect();
    let liar = f.receiver(6); // a new member only
    let results = drive_with_round3_lie(f.start([2; 32]), liar, |m| replace_echoes(m, &replayed));
    let outputs: Vec<Output<Secp256k1>> = results.into_iter().map(|(_, o)| o.unwrap()).collect();
    let public = agree::must_agree(outputs.iter());
    assert_eq!(public.group_key(), f.group_key());
    for o in &outputs {
        assert_eq!(o.qualified(), &f.dealers);
    }
    assert!(outputs.iter().any(|o| matches!(
        o.lying_receivers().get(&liar),
        Some(Fault::ForgedEcho { .. })
    )));
}

/// A reshare from a fresh `(t, n)` DKG among nodes `1..=n` (old index = node, all deal)
/// to the committee `new`, a list of nodes (nodes above `n` join), numbered as the
/// governance contract does: new index = position in `new` + 1. Identity keys are
/// long-term, one per node (derived from `key_seed`).
struct ReshareFixture<S: Suite> {
    old: Vec<dkg::keys::KeyShare<S>>,
    dealers: BTreeSet<PartyIndex>,
    /// Node → its roles and identity key.
    nodes: BTreeMap<u16, (Roles, SigningKey)>,
    new_threshold: u16,
    rng: rand_chacha::ChaCha20Rng,
}

impl<S: Suite> ReshareFixture<S> {
    fn new(
        seed: u64,
        (t, n): (u16, u16),
        new: &[u16],
        new_threshold: u16,
        key_seed: [u8; 32],
    ) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let old: Vec<_> = sim::dkg::<S>(t, n, &mut rng)
            .unwrap()
            .into_values()
            .map(|o| o.into_key_share().unwrap())
            .collect();
        let dealers = sim::committee(n);
        let all: BTreeSet<PartyIndex> = (1..=n).chain(new.iter().copied()).map(idx).collect();
        let keys = sim::identity_keys(&key_seed, &all);
        let nodes = all
            .iter()
            .map(|p| {
                let roles = Roles {
                    dealer: dealers.contains(p).then_some(*p),
                    receiver: new
                        .iter()
                        .position(|m| *m == p.get())
                        .map(|i| idx(i as u16 + 1)),
                };
                (p.get(), (roles, keys[p].clone()))
            })
            .collect();
        Self {
            old,
            dealers,
            nodes,
            new_threshold,
            rng,
        }
    }

    fn group_key(&self) -> &S::Point {
        self.old[0].public().group_key()
    }

    fn dealer(&self, node: u16) -> PartyIndex {
        self.nodes[&node].0.dealer.unwrap()
    }

    fn receiver(&self, node: u16) -> PartyIndex {
        self.nodes[&node].0.receiver.unwrap()
    }

    /// Every participant's round-1 state and the dealers' broadcasts for `run_id`.
    fn start(&mut self, run_id: [u8; 32]) -> sim::StartedRoles<S> {
        let role_keys =
            |pick: fn(&Roles) -> Option<PartyIndex>| -> BTreeMap<PartyIndex, VerifyingKey> {
                self.nodes
                    .values()
                    .filter_map(|(r, k)| pick(r).map(|i| (i, k.verifying_key())))
                    .collect()
            };
        let dealers = role_keys(|r| r.dealer);
        let receivers = role_keys(|r| r.receiver);
        let mut states = Vec::new();
        let mut b1 = BTreeMap::new();
        for (roles, key) in self.nodes.values() {
            let params = dkg::reshare::Params {
                run_id,
                me: *roles,
                old: self.old[0].public().clone(),
                dealers: dealers.clone(),
                receivers: receivers.clone(),
                new_threshold: self.new_threshold,
            };
            let share = self.old.iter().find(|s| Some(s.index()) == roles.dealer);
            let (st, msg) = dkg::reshare::start(&params, share, key, &mut self.rng).unwrap();
            if let Some(msg) = msg {
                b1.insert(roles.dealer.unwrap(), msg);
            }
            states.push((*roles, st));
        }
        (states, b1)
    }
}
