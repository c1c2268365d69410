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
use dkg::{sim, wire, Error, PartyIndex, Roles};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

#[path = "common/agree.rs"]
mod agree;

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

/// What is being run: a DKG among `1..=n`, or a reshare of a `(t, n)` DKG's shares
/// (every old member deals) to the committee that loses the members at `removed` and
/// gains `added`, numbered by position as the governance contract does.
#[derive(Debug, Clone)]
enum Setup {
    Dkg,
    Reshare {
        removed: BTreeSet<u16>,
        added: u16,
        t2: u16,
    },
}

/// Every participant (node `k` is at position `k - 1`) with its roles and round-1
/// state, and the dealers' round-1 broadcasts by dealer index.
fn start_nodes<S: Suite>(n: u16, t: u16, seed: u64, setup: &Setup) -> sim::StartedRoles<S> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    match setup {
        Setup::Dkg => {
            let (states, b1) = sim::start_dkg::<S>(t, n, [seed as u8; 32], &mut rng).unwrap();
            let nodes = states
                .into_iter()
                .map(|(p, st)| (Roles::both(p), st))
                .collect();
            (nodes, b1)
        }
        Setup::Reshare { removed, added, t2 } => {
            let old: Vec<_> = sim::dkg::<S>(t, n, &mut rng)
                .unwrap()
                .into_values()
                .filter_map(|o| o.into_key_share())
                .collect();
            let staying: Vec<u16> = (1..=n).filter(|i| !removed.contains(i)).collect();
            let stays = staying
                .iter()
                .enumerate()
                .map(|(pos, i)| (idx(*i), idx(pos as u16 + 1)))
                .collect();
            let new = (1..=staying.len() as u16 + added).map(idx).collect();
            let dealers: Vec<_> = old.iter().collect();
            sim::start_reshare(&dealers, &stays, &new, *t2, [seed as u8; 32], &mut rng).unwrap()
        }
    }
}

/// Delivers `(from, to, bytes)` in a random order with random duplicates into one
/// inbox per receiving node; `from` is the sender's index in the round's index space.
fn deliver<M: serde::de::DeserializeOwned>(
    mut deliveries: Vec<(PartyIndex, u16, Vec<u8>)>,
    nodes: u16,
    net: &Network,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> BTreeMap<u16, BTreeMap<PartyIndex, M>> {
    let copies: Vec<_> = deliveries
        .iter()
        .filter(|_| rng.gen_range(0..1000) < net.dup_per_mille)
        .cloned()
        .collect();
    deliveries.extend(copies);
    deliveries.shuffle(rng);
    let mut inboxes: BTreeMap<u16, Inbox<M>> = (1..=nodes).map(|r| (r, Inbox::new())).collect();
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

/// A broadcast from every sending node (with its index in the round's space) to every
/// other node.
fn broadcast(
    msgs: &BTreeMap<u16, (PartyIndex, Vec<u8>)>,
    nodes: u16,
) -> Vec<(PartyIndex, u16, u16, Vec<u8>)> {
    msgs.iter()
        .flat_map(|(node, (from, m))| {
            (1..=nodes)
                .filter(move |to| to != node)
                .map(move |to| (*from, *node, to, m.clone()))
        })
        .collect()
}

/// Every node's roles and result.
fn run<S: Suite>(
    n: u16,
    t: u16,
    seed: u64,
    setup: &Setup,
    net: &Network,
) -> Vec<(Roles, Result<Output<S>, Error>)> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(net.seed);
    let speaks = |node: u16, round: u8| match net.silent {
        Some((s, from)) => !(node == s && round >= from),
        None => true,
    };
    let link = |lost: &[(u16, u16)], from: u16, to: u16| !lost.contains(&(from, to));
    let drop_lost = |lost: &[(u16, u16)], d: Vec<(PartyIndex, u16, u16, Vec<u8>)>| {
        d.into_iter()
            .filter(|(_, from, to, _)| link(lost, *from, *to))
            .map(|(i, _, to, m)| (i, to, m))
            .collect::<Vec<_>>()
    };
    let (started, b1) = start_nodes::<S>(n, t, seed, setup);
    let count = started.len() as u16;
    let nodes: Vec<(u16, Roles, Round1<S>)> = started
        .into_iter()
        .enumerate()
        .map(|(k, (roles, st))| (k as u16 + 1, roles, st))
        .collect();
    let node_of_receiver: BTreeMap<PartyIndex, u16> = nodes
        .iter()
        .filter_map(|(k, r, _)| r.receiver.map(|j| (j, *k)))
        .collect();
    let sent1: BTreeMap<u16, (PartyIndex, Vec<u8>)> = nodes
        .iter()
        .filter_map(|(k, r, _)| r.dealer.map(|d| (*k, d)))
        .filter(|(k, _)| speaks(*k, 1))
        .map(|(k, d)| (k, (d, wire::encode(&b1[&d]).unwrap())))
        .collect();
    let d1 = drop_lost(&net.lost_round1, broadcast(&sent1, count));
    let mut in1 = deliver::<round1::Broadcast>(d1, count, net, &mut rng);
    let mut directs = Vec::new();
    let mut s2 = Vec::new();
    for (k, roles, st) in nodes {
        let (next, out) = st.advance(&in1.remove(&k).unwrap()).unwrap();
        if speaks(k, 2) {
            for (to, m) in out {
                let to = node_of_receiver[&to];
                if link(&net.lost_round2, k, to) {
                    directs.push((roles.dealer.unwrap(), to, wire::encode(&m).unwrap()));
                }
            }
        }
        s2.push((k, roles, next));
    }
    let mut in2 = deliver::<round2::Direct>(directs, count, net, &mut rng);
    let mut s3 = Vec::new();
    let mut b3 = BTreeMap::new();
    for (k, roles, st) in s2 {
        let (next, msg) = st.advance(&in2.remove(&k).unwrap()).unwrap();
        if let (Some(j), Some(msg)) = (roles.receiver, msg) {
            if speaks(k, 3) {
                b3.insert(k, (j, wire::encode(&msg).unwrap()));
            }
        }
        s3.push((k, roles, next));
    }
    let d3 = broadcast(&b3, count)
        .into_iter()
        .map(|(i, _, to, m)| (i, to, m))
        .collect();
    let mut in3 = deliver::<round3::Broadcast>(d3, count, net, &mut rng);
    let mut s4 = Vec::new();
    let mut b4 = BTreeMap::new();
    for (k, roles, st) in s3 {
        let (next, msg) = st.advance(&in3.remove(&k).unwrap()).unwrap();
        if let (Some(d), Some(msg)) = (roles.dealer, msg) {
            if speaks(k, 4) {
                b4.insert(k, (d, wire::encode(&msg).unwrap()));
            }
        }
        s4.push((k, roles, next));
    }
    let d4 = broadcast(&b4, count)
        .into_iter()
        .map(|(i, _, to, m)| (i, to, m))
        .collect();
    let mut in4 = deliver::<round4::Broadcast>(d4, count, net, &mut rng);
    s4.into_iter()
        .map(|(k, roles, st)| (roles, st.finish(&in4.remove(&k).unwrap())))
        .collect()
}

fn check<S: Suite>(n: u16, t: u16, seed: u64, setup: &Setup, net: &Network) {
    let calm = Network {
        seed: 0,
        dup_per_mille: 0,
        silent: None,
        lost_round1: Vec::new(),
        lost_round2: Vec::new(),
    };
    let reference = run::<S>(n, t, seed, setup, &calm);
    let reference = reference[0].1.as_ref().unwrap();
    let results = run::<S>(n, t, seed, setup, net);
    let silent = net.silent.map(|(node, _)| results[usize::from(node - 1)].0);
    let missed: BTreeSet<(u16, u16)> = net.lost_round1.iter().copied().collect();
    let mut oks: Vec<&Output<S>> = Vec::new();
    let mut errs = Vec::new();
    for (k, (roles, r)) in results.iter().enumerate() {
        let node = k as u16 + 1;
        if Some(*roles) == silent {
            continue;
        }
        match r {
            Ok(o) => {
                assert_eq!(o.key_share().map(|s| s.index()), roles.receiver);
                oks.push(o);
            }
            // A dealer that does not receive may miss a round-1 broadcast nobody else
            // missed: it cannot compute the keys, and blames nobody.
            Err(Error::MissedBroadcast { .. }) if roles.receiver.is_none() => {
                assert!(missed.iter().any(|(_, to)| *to == node));
            }
            // ... or get no receiver's round-3 report at all (the only receivers silent).
            Err(Error::NoReceiverReports) if roles.receiver.is_none() => {
                let speaking = results
                    .iter()
                    .filter(|(r, _)| r.receiver.is_some() && Some(*r) != silent)
                    .count();
                assert_eq!(speaking, 0);
            }
            Err(e) => errs.push(e),
        }
    }
    let silent_dealer = silent.and_then(|r| r.dealer);
    if !errs.is_empty() {
        // Everyone aborts, naming only the silent party.
        assert!(oks.is_empty(), "honest parties disagree on success");
        for e in errs {
            let culprits = e.culprits();
            assert!(!culprits.is_empty() && culprits.iter().all(|c| Some(*c) == silent_dealer));
        }
        assert!(silent.is_some(), "abort without a silent party");
        return;
    }
    let Some(first) = oks.first().copied() else {
        return; // only dealers that do not receive, none able to judge (above)
    };
    agree::must_agree(oks.iter().copied());
    assert!(first
        .disqualified()
        .keys()
        .all(|p| Some(*p) == silent_dealer));
    if first.qualified() == reference.qualified() {
        // Same dealers, same polynomials: exactly the in-order keys.
        assert_eq!(first.public(), reference.public());
    } else {
        assert!(silent_dealer.is_some_and(|s| !first.qualified().contains(&s)));
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
        .prop_map(|(n, t, seed, net)| (n, t, seed, moot_links(net)))
}

/// Lost links touching the silent party are moot; keep the others honest.
fn moot_links(mut net: Network) -> Network {
    if let Some((s, _)) = net.silent {
        net.lost_round1.retain(|(a, b)| *a != s && *b != s);
        net.lost_round2.retain(|(a, b)| *a != s && *b != s);
    }
    net
}

/// A reshare of a `(t, n)` committee losing some members (any, even all) and gaining
/// some, over a misbehaving network among all its participants.
fn reshare_case() -> impl Strategy<Value = (u16, u16, u64, Setup, Network)> {
    (2u16..=6)
        .prop_flat_map(|n| {
            (
                Just(n),
                1..=n,
                any::<u64>(),
                proptest::collection::btree_set(1..=n, 0..=usize::from(n)),
                0u16..=3,
            )
        })
        .prop_flat_map(|(n, t, seed, removed, added)| {
            let added = added.max(u16::from(removed.len() == usize::from(n)));
            let n2 = n - removed.len() as u16 + added;
            // Participants: the old members, then the new ones.
            let nodes = n + added;
            (Just((n, t, seed, removed, added)), 1..=n2, network(nodes))
        })
        .prop_map(|((n, t, seed, removed, added), t2, net)| {
            (
                n,
                t,
                seed,
                Setup::Reshare { removed, added, t2 },
                moot_links(net),
            )
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
        check::<Bls12381G1>(n, t, seed, &Setup::Dkg, &net);
    }

    #[test]
    fn dkg_secp__should_survive_reordering_duplicates_and_drops((n, t, seed, net) in case()) {
        check::<Secp256k1>(n, t, seed, &Setup::Dkg, &net);
    }

    #[test]
    fn reshare_bls__should_survive_committee_changes_reordering_duplicates_and_drops(
        (n, t, seed, setup, net) in reshare_case()
    ) {
        check::<Bls12381G1>(n, t, seed, &setup, &net);
    }

    #[test]
    fn reshare_secp__should_survive_committee_changes_reordering_duplicates_and_drops(
        (n, t, seed, setup, net) in reshare_case()
    ) {
        check::<Secp256k1>(n, t, seed, &setup, &net);
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
