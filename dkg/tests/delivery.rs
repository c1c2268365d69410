//! Dropped, reordered and duplicated messages: every message travels as bytes through
//! an [`Inbox`] in a random order, some twice, some not at all. Without drops the
//! result is exactly that of the in-order run; with drops honest parties agree or
//! abort naming only the silent party, and whenever QUAL is unchanged the keys are
//! exactly those of the in-order run (never a different key).
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};

use dkg::inbox::Inbox;
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::vss::{round1, round2, round3, round4, Output, Round1};
use dkg::{sim, wire, Error, PartyIndex};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

#[path = "common/agree.rs"]
mod agree;

type Results<S> = BTreeMap<PartyIndex, Result<Output<S>, Error>>;

/// How the network misbehaves.
#[derive(Debug, Clone)]
struct Network {
    /// Shuffles deliveries and picks duplicates.
    seed: u64,
    /// Probability (per mille) that a delivery is repeated.
    dup_per_mille: u32,
    /// Party silent from this round on (1..=4); all its messages of those rounds drop.
    silent: Option<(u16, u8)>,
    /// Round-1 broadcasts lost on single links (from, to); repaired in round 4.
    lost_round1: Vec<(u16, u16)>,
    /// Round-2 shares lost on single links (from, to); repaired by complaints.
    lost_round2: Vec<(u16, u16)>,
}

fn idx(i: u16) -> PartyIndex {
    PartyIndex::new(i).unwrap()
}

fn start<S: Suite>(n: u16, t: u16, seed: u64) -> BTreeMap<PartyIndex, (Round1<S>, Vec<u8>)> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let (states, msgs) = sim::start_dkg::<S>(t, n, [seed as u8; 32], &mut rng).unwrap();
    states
        .into_iter()
        .map(|(p, st)| (p, (st, wire::encode(&msgs[&p]).unwrap())))
        .collect()
}

/// Delivers `(from, to, bytes)` in a random order with random duplicates into one
/// inbox per receiver.
fn deliver<M: serde::de::DeserializeOwned>(
    mut deliveries: Vec<(PartyIndex, PartyIndex, Vec<u8>)>,
    receivers: impl Iterator<Item = PartyIndex>,
    net: &Network,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> BTreeMap<PartyIndex, BTreeMap<PartyIndex, M>> {
    let copies: Vec<_> = deliveries
        .iter()
        .filter(|_| rng.gen_range(0..1000) < net.dup_per_mille)
        .cloned()
        .collect();
    deliveries.extend(copies);
    deliveries.shuffle(rng);
    let mut inboxes: BTreeMap<PartyIndex, Inbox<M>> =
        receivers.map(|r| (r, Inbox::new())).collect();
    for (from, to, bytes) in deliveries {
        if let Some(inbox) = inboxes.get_mut(&to) {
            // New or an exact duplicate; never an error for honest traffic.
            inbox.deliver(from, &bytes).unwrap();
        }
    }
    inboxes
        .into_iter()
        .map(|(p, i)| (p, i.into_messages()))
        .collect()
}

/// A broadcast from every sender in `msgs` to every other party.
fn broadcast(
    msgs: &BTreeMap<PartyIndex, Vec<u8>>,
    parties: &BTreeSet<PartyIndex>,
) -> Vec<(PartyIndex, PartyIndex, Vec<u8>)> {
    msgs.iter()
        .flat_map(|(from, m)| {
            parties
                .iter()
                .filter(move |to| *to != from)
                .map(move |to| (*from, *to, m.clone()))
        })
        .collect()
}

fn run<S: Suite>(n: u16, t: u16, seed: u64, net: &Network) -> Results<S> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(net.seed);
    let parties = sim::committee(n);
    let speaks = |p: PartyIndex, round: u8| match net.silent {
        Some((s, from)) => !(p.get() == s && round >= from),
        None => true,
    };
    let link = |lost: &[(u16, u16)], from: PartyIndex, to: PartyIndex| {
        !lost.contains(&(from.get(), to.get()))
    };
    let mut results: Results<S> = BTreeMap::new();
    let started = start::<S>(n, t, seed);
    let b1: BTreeMap<_, _> = started
        .iter()
        .filter(|(p, _)| speaks(**p, 1))
        .map(|(p, (_, m))| (*p, m.clone()))
        .collect();
    let d1: Vec<_> = broadcast(&b1, &parties)
        .into_iter()
        .filter(|(f, to, _)| link(&net.lost_round1, *f, *to))
        .collect();
    let mut in1 = deliver::<round1::Broadcast>(d1, parties.iter().copied(), net, &mut rng);
    let mut directs = Vec::new();
    let mut s2 = BTreeMap::new();
    for (me, (st, _)) in started {
        let (next, out) = st.advance(&in1.remove(&me).unwrap()).unwrap();
        if speaks(me, 2) {
            for (to, m) in out {
                if link(&net.lost_round2, me, to) {
                    directs.push((me, to, wire::encode(&m).unwrap()));
                }
            }
        }
        s2.insert(me, next);
    }
    let mut in2 = deliver::<round2::Direct>(directs, parties.iter().copied(), net, &mut rng);
    let mut s3 = BTreeMap::new();
    let mut b3 = BTreeMap::new();
    for (me, st) in s2 {
        let (next, msg) = st.advance(&in2.remove(&me).unwrap()).unwrap();
        if speaks(me, 3) {
            b3.insert(me, wire::encode(&msg).unwrap());
        }
        s3.insert(me, next);
    }
    let mut in3 = deliver::<round3::Broadcast>(
        broadcast(&b3, &parties),
        parties.iter().copied(),
        net,
        &mut rng,
    );
    let mut s4 = BTreeMap::new();
    let mut b4 = BTreeMap::new();
    for (me, st) in s3 {
        let (next, msg) = st.advance(&in3.remove(&me).unwrap()).unwrap();
        if speaks(me, 4) {
            b4.insert(me, wire::encode(&msg).unwrap());
        }
        s4.insert(me, next);
    }
    let mut in4 = deliver::<round4::Broadcast>(
        broadcast(&b4, &parties),
        parties.iter().copied(),
        net,
        &mut rng,
    );
    for (me, st) in s4 {
        results.insert(me, st.finish(&in4.remove(&me).unwrap()));
    }
    results
}

fn check<S: Suite>(n: u16, t: u16, seed: u64, net: &Network) {
    let calm = Network {
        seed: 0,
        dup_per_mille: 0,
        silent: None,
        lost_round1: Vec::new(),
        lost_round2: Vec::new(),
    };
    let reference = run::<S>(n, t, seed, &calm);
    let reference = reference.values().next().unwrap().as_ref().unwrap();
    let mut results = run::<S>(n, t, seed, net);
    let silent = net.silent.map(|(p, _)| idx(p));
    if let Some(s) = silent {
        results.remove(&s);
    }
    let oks: Vec<&Output<S>> = results.values().filter_map(|r| r.as_ref().ok()).collect();
    if oks.len() != results.len() {
        // Everyone aborts, naming only the silent party.
        for r in results.values() {
            let e = r.as_ref().expect_err("honest parties disagree on success");
            let culprits = e.culprits();
            assert!(!culprits.is_empty() && culprits.iter().all(|c| Some(*c) == silent));
        }
        assert!(silent.is_some(), "abort without a silent party");
        return;
    }
    let first = oks[0];
    assert!(oks.iter().all(|o| o.key_share().is_some()));
    agree::must_agree(oks.iter().copied());
    assert!(first.disqualified().keys().all(|p| Some(*p) == silent));
    if first.qualified() == reference.qualified() {
        // Same dealers, same polynomials: exactly the in-order keys.
        assert_eq!(first.public(), reference.public());
    } else {
        assert!(silent.is_some_and(|s| !first.qualified().contains(&s)));
    }
    if silent.is_none() && net.lost_round1.is_empty() && net.lost_round2.is_empty() {
        // Only order and duplicates changed: the very same run.
        assert_eq!(first.transcript_hash(), reference.transcript_hash());
    }
}

fn network(n: u16) -> impl Strategy<Value = Network> {
    let link = (1..=n, 1..=n).prop_filter("a link joins two parties", |(a, b)| a != b);
    (
        any::<u64>(),
        0u32..=500,
        proptest::option::of((1..=n, 1u8..=4)),
        proptest::collection::vec(link.clone(), 0..4),
        proptest::collection::vec(link, 0..4),
    )
        .prop_map(
            |(seed, dup_per_mille, silent, lost_round1, lost_round2)| Network {
                seed,
                dup_per_mille,
                silent,
                lost_round1,
                lost_round2,
            },
        )
}

fn case() -> impl Strategy<Value = (u16, u16, u64, Network)> {
    (2u16..=10)
        .prop_flat_map(|n| (Just(n), 1..=n, any::<u64>(), network(n)))
        // Lost links touching the silent party are moot; keep the others honest.
        .prop_map(|(n, t, seed, mut net)| {
            if let Some((s, _)) = net.silent {
                net.lost_round1.retain(|(a, b)| *a != s && *b != s);
                net.lost_round2.retain(|(a, b)| *a != s && *b != s);
            }
            (n, t, seed, net)
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/delivery.txt"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn dkg_bls__should_survive_reordering_duplicates_and_drops((n, t, seed, net) in case()) {
        check::<Bls12381G1>(n, t, seed, &net);
    }

    #[test]
    fn dkg_secp__should_survive_reordering_duplicates_and_drops((n, t, seed, net) in case()) {
        check::<Secp256k1>(n, t, seed, &net);
    }
}

#[test]
fn inbox__should_ignore_exact_duplicates_and_name_a_conflicting_sender() {
    let started = start::<Secp256k1>(3, 2, 5);
    let one = idx(1);
    let mut inbox = Inbox::<round1::Broadcast>::new();
    let m1 = &started[&one].1;
    let m2 = &started[&idx(2)].1;
    assert!(inbox.deliver(one, m1).unwrap());
    assert!(!inbox.deliver(one, m1).unwrap());
    assert!(matches!(
        inbox.deliver(one, m2),
        Err(Error::ConflictingMessage { sender }) if sender == one
    ));
    assert!(matches!(
        inbox.deliver(idx(3), &m1[..m1.len() - 1]),
        Err(Error::MalformedMessage { culprit }) if culprit == idx(3)
    ));
    assert_eq!(inbox.senders().collect::<Vec<_>>(), vec![one]);
}

#[test]
fn inbox__should_keep_the_same_of_two_conflicting_messages_whatever_the_order() {
    use sha2::{Digest, Sha256};
    let started = start::<Bls12381G1>(3, 2, 6);
    let one = idx(1);
    let (a, b) = (&started[&one].1, &started[&idx(2)].1);
    let kept = |first: &[u8], second: &[u8]| {
        let mut inbox = Inbox::<round1::Broadcast>::new();
        assert!(inbox.deliver(one, first).unwrap());
        assert!(matches!(
            inbox.deliver(one, second),
            Err(Error::ConflictingMessage { sender }) if sender == one
        ));
        // A malformed third delivery changes nothing.
        assert!(inbox.deliver(one, &[0xff]).is_err());
        wire::encode(&inbox.into_messages()[&one]).unwrap()
    };
    let smaller = if Sha256::digest(a) < Sha256::digest(b) {
        a
    } else {
        b
    };
    assert_eq!(kept(a, b), *smaller);
    assert_eq!(kept(b, a), *smaller);
}
