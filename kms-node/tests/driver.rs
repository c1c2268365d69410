//! The one protocol driver (`kms_node::protocol::driver`) over the in-memory network:
//! DKG and reshare complete through it, silence is handled as the protocol allows,
//! retries run under fresh run ids, and foreign or repeated messages are ignored.
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dkg::keys::KeyShare;
use dkg::step::{Machine, Peer};
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::vss::{Output, Vss};
use dkg::{pedersen, repair, reshare, sim, PartyIndex, Roles};
use kms_node::protocol::driver::{
    run_with_retries, run_with_retries_confirmed, Confirmation, Deadlines, Excluded, Failure,
    Finished, Outcome, RetryPolicy, RunError, SendError, Start,
};
use kms_node::protocol::memory::MemoryNetwork;
use kms_node::protocol::run_id::{committee_hash, ProtocolKind, RunId};
use kms_node::protocol::wire::{Confirm, WireMessage, CONFIRM_ROUND};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Factory<M> = Box<dyn FnMut(u32, &Excluded) -> Result<Start<M>, dkg::Error> + Send>;

struct NodeSpec<M: Machine> {
    addresses: BTreeSet<Peer>,
    start: Factory<M>,
}

type Results<O> = Vec<Result<Finished<O>, RunError>>;

fn idx(i: u16) -> PartyIndex {
    PartyIndex::new(i).unwrap()
}

fn addresses(roles: Roles) -> BTreeSet<Peer> {
    roles
        .dealer
        .map(Peer::Dealer)
        .into_iter()
        .chain(roles.receiver.map(Peer::Receiver))
        .collect()
}

fn policy(max_attempts: u32, round: u64, attempt: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        deadlines: Deadlines {
            round: Duration::from_secs(round),
            attempt: Duration::from_secs(attempt),
        },
        exclude_silent: true,
        schedule: None,
    }
}

/// Joins every node to `net`, applies `setup` (the knobs, by node number), runs every
/// node's driver as its own task and returns the results in node order.
async fn run_cluster<M>(
    net: &MemoryNetwork,
    specs: Vec<NodeSpec<M>>,
    policy: RetryPolicy,
    setup: impl FnOnce(&MemoryNetwork),
) -> Results<M::Output>
where
    M: Machine + Send + 'static,
    M::Message: WireMessage + Send,
    M::Output: Send + 'static,
{
    run_cluster_confirmed(net, specs, policy, None, setup).await
}

/// [`run_cluster`], every attempt closed by `confirm` if given.
async fn run_cluster_confirmed<M>(
    net: &MemoryNetwork,
    specs: Vec<NodeSpec<M>>,
    policy: RetryPolicy,
    confirm: Option<Arc<Confirmation<M::Output>>>,
    setup: impl FnOnce(&MemoryNetwork),
) -> Results<M::Output>
where
    M: Machine + Send + 'static,
    M::Message: WireMessage + Send,
    M::Output: Send + 'static,
{
    let joined: Vec<_> = specs
        .into_iter()
        .map(|s| {
            let (link, inbox) = net.join(s.addresses.clone());
            (s, link, inbox)
        })
        .collect();
    setup(net);
    let handles: Vec<_> = joined
        .into_iter()
        .map(|(s, link, mut inbox)| {
            let confirm = confirm.clone();
            tokio::spawn(async move {
                run_with_retries_confirmed(
                    policy,
                    &s.addresses,
                    &link,
                    &mut inbox,
                    confirm.as_deref(),
                    s.start,
                )
                .await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn node_ids(n: u16) -> Vec<String> {
    (1..=n).map(|i| format!("node-{i}")).collect()
}

fn dkg_run_id<S: Suite>(n: u16, t: u16, attempt: u32) -> [u8; 32] {
    RunId::derive(
        1,
        committee_hash(&node_ids(n), t),
        ProtocolKind::Dkg(S::ID),
        attempt,
    )
}

/// A genesis DKG among `1..=n`, threshold `t`; node `i` starts with seed `seed + i`.
/// The committee is the chain's: a retry runs among the same parties.
fn dkg_nodes<S: Suite>(n: u16, t: u16, seed: u64) -> Vec<NodeSpec<Vss<S>>> {
    (1..=n)
        .map(|i| {
            let me = idx(i);
            let mut rng = ChaCha20Rng::seed_from_u64(seed + u64::from(i));
            let start: Factory<Vss<S>> = Box::new(move |attempt, _excluded| {
                let run_id = dkg_run_id::<S>(n, t, attempt);
                let parties = sim::committee(n);
                let keys = sim::identity_keys(&run_id, &parties);
                let params = pedersen::Params {
                    run_id,
                    me,
                    parties,
                    threshold: t,
                    identities: sim::verifying_keys(&keys),
                };
                let (machine, outgoing) = Vss::<S>::start_dkg(&params, &keys[&me], &mut rng)?;
                Ok(Start {
                    run_id,
                    machine,
                    outgoing,
                })
            });
            NodeSpec {
                addresses: addresses(Roles::both(me)),
                start,
            }
        })
        .collect()
}

/// Every given output agrees (public keys, transcript, QUAL) and QUAL is `qual`.
fn must_agree<S: Suite>(outputs: &[&Output<S>], qual: &BTreeSet<PartyIndex>) {
    let first = outputs[0];
    for o in outputs {
        assert_eq!(o.public(), first.public());
        assert_eq!(o.transcript_hash(), first.transcript_hash());
        assert_eq!(o.qualified(), qual);
    }
    first.public().check_consistent().unwrap();
}

async fn dkg_completes<S: Suite>() {
    let net = MemoryNetwork::new();
    let results = run_cluster(&net, dkg_nodes::<S>(5, 3, 10), policy(1, 5, 60), |_| ()).await;
    let finished: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    let outputs: Vec<_> = finished.iter().map(|f| &f.output).collect();
    must_agree(&outputs, &sim::committee(5));
    for f in &finished {
        assert_eq!(f.run_ids, vec![dkg_run_id::<S>(5, 3, 0)]);
        assert!(f.stats.silent.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn driver_dkg__should_agree_on_the_group_key_bls() {
    dkg_completes::<Bls12381G1>().await;
}

#[tokio::test(start_paused = true)]
async fn driver_dkg__should_agree_on_the_group_key_secp() {
    dkg_completes::<Secp256k1>().await;
}

#[tokio::test(start_paused = true)]
async fn driver_reshare__should_keep_the_group_key_when_a_middle_member_leaves_and_one_joins() {
    // [A, B, C, D, E] -> [A, C, D, E, F]: B leaves, C..E move down one index, F joins as 5.
    let mut rng = ChaCha20Rng::seed_from_u64(20);
    let old: Vec<KeyShare<Bls12381G1>> = sim::dkg::<Bls12381G1>(3, 5, &mut rng)
        .unwrap()
        .into_values()
        .map(|o| o.into_key_share().unwrap())
        .collect();
    let stays = BTreeMap::from([
        (idx(1), idx(1)),
        (idx(3), idx(2)),
        (idx(4), idx(3)),
        (idx(5), idx(4)),
    ]);
    let run_id = |attempt| {
        let ids = ["a", "c", "d", "e", "f"];
        RunId::derive(
            2,
            committee_hash(&ids, 3),
            ProtocolKind::Reshare(Bls12381G1::ID),
            attempt,
        )
    };
    let roles: Vec<Roles> =
        sim::reshare_roles(&run_id(0), &sim::committee(5), &stays, &sim::committee(5))
            .into_iter()
            .map(|(r, _)| r)
            .collect();
    let old = Arc::new(old);
    let specs = roles
        .iter()
        .enumerate()
        .map(|(k, roles)| {
            let (roles, old, stays) = (*roles, old.clone(), stays.clone());
            let mut rng = ChaCha20Rng::seed_from_u64(30 + k as u64);
            let start: Factory<Vss<Bls12381G1>> = Box::new(move |attempt, _| {
                let run_id = run_id(attempt);
                let nodes =
                    sim::reshare_roles(&run_id, &sim::committee(5), &stays, &sim::committee(5));
                let dealers = nodes
                    .iter()
                    .filter_map(|(r, k)| r.dealer.map(|d| (d, k.verifying_key())))
                    .collect();
                let receivers = nodes
                    .iter()
                    .filter_map(|(r, k)| r.receiver.map(|j| (j, k.verifying_key())))
                    .collect();
                let key = &nodes.iter().find(|(r, _)| *r == roles).unwrap().1;
                let params = reshare::Params {
                    run_id,
                    me: roles,
                    old: old[0].public().clone(),
                    dealers,
                    receivers,
                    new_threshold: 3,
                };
                let share = old.iter().find(|s| Some(s.index()) == roles.dealer);
                let (machine, outgoing) = Vss::start_reshare(&params, share, key, &mut rng)?;
                Ok(Start {
                    run_id,
                    machine,
                    outgoing,
                })
            });
            NodeSpec {
                addresses: addresses(roles),
                start,
            }
        })
        .collect();
    let net = MemoryNetwork::new();
    let results = run_cluster(&net, specs, policy(1, 5, 60), |_| ()).await;
    let outputs: Vec<Output<Bls12381G1>> = results.into_iter().map(|r| r.unwrap().output).collect();
    for (r, o) in roles.iter().zip(&outputs) {
        assert_eq!(o.public().group_key(), old[0].public().group_key());
        assert_eq!(o.key_share().map(|s| s.index()), r.receiver);
    }
    let refs: Vec<_> = outputs.iter().collect();
    must_agree(&refs, &sim::committee(5));
}

#[tokio::test(start_paused = true)]
async fn driver_dkg__should_leave_a_silent_dealer_out_of_qual_within_one_attempt() {
    // Node 5 is cut off. Each round waits its deadline, then steps without it: the
    // protocol disqualifies a dealer whose round-1 broadcast nobody got, and the other
    // four (>= t) complete in the first attempt.
    let net = MemoryNetwork::new();
    let results = run_cluster(
        &net,
        dkg_nodes::<Secp256k1>(5, 3, 40),
        policy(1, 1, 60),
        |net| net.isolate(4),
    )
    .await;
    let mut results = results.into_iter();
    let honest: Vec<_> = results.by_ref().take(4).map(Result::unwrap).collect();
    let outputs: Vec<_> = honest.iter().map(|f| &f.output).collect();
    must_agree(&outputs, &[1, 2, 3, 4].map(idx).into());
    for f in &honest {
        assert_eq!(f.run_ids.len(), 1);
        assert!(f.stats.silent.contains(&Peer::Dealer(idx(5))));
        assert!(f.stats.silent.contains(&Peer::Receiver(idx(5))));
    }
    // The cut-off node itself cannot finish.
    assert!(results.next().unwrap().is_err());
}

#[tokio::test(start_paused = true)]
async fn driver_retry__should_give_up_with_a_typed_error_after_max_attempts_under_fresh_run_ids() {
    // Round deadline = attempt deadline: a silent node times the attempt out in round 1.
    // A DKG's committee is fixed by the chain, so the retry runs among the same five and
    // times out again; the driver names the silent dealer and never reuses a run id.
    let net = MemoryNetwork::new();
    let seen: Arc<Mutex<Vec<(u32, Excluded)>>> = Arc::default();
    let mut specs = dkg_nodes::<Bls12381G1>(5, 3, 50);
    // Record what node 1's factory is told on each attempt.
    let mut inner = std::mem::replace(&mut specs[0].start, Box::new(|_, _| unreachable!()));
    let log = seen.clone();
    specs[0].start = Box::new(move |attempt, excluded| {
        log.lock().unwrap().push((attempt, excluded.clone()));
        inner(attempt, excluded)
    });
    let results = run_cluster(&net, specs, policy(3, 2, 2), |net| net.isolate(4)).await;
    for r in results.into_iter().take(4) {
        match r {
            Err(RunError::Exhausted {
                attempts,
                run_ids,
                excluded,
                last,
            }) => {
                assert_eq!(attempts, 3);
                let expected: Vec<_> = (0..3).map(|a| dkg_run_id::<Bls12381G1>(5, 3, a)).collect();
                assert_eq!(run_ids, expected);
                assert_eq!(run_ids.iter().collect::<BTreeSet<_>>().len(), 3);
                assert_eq!(excluded.silent, BTreeSet::from([Peer::Dealer(idx(5))]));
                assert!(
                    matches!(last, Outcome::TimedOut { silent } if silent == vec![Peer::Dealer(idx(5))])
                );
            }
            other => panic!("expected Exhausted, got {other:?}"),
        }
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].1, Excluded::default());
    assert_eq!(seen[1].1.silent, BTreeSet::from([Peer::Dealer(idx(5))]));
}

#[tokio::test(start_paused = true)]
async fn driver_retry__should_refuse_a_reused_run_id() {
    let net = MemoryNetwork::new();
    let mut specs = dkg_nodes::<Secp256k1>(3, 2, 60);
    for s in &mut specs {
        let mut inner = std::mem::replace(&mut s.start, Box::new(|_, _| unreachable!()));
        // A broken factory: every attempt under attempt 0's run id.
        s.start = Box::new(move |_, excluded| inner(0, excluded));
    }
    // Node 3 silent, so attempt 0 times out and attempt 1 is needed.
    let results = run_cluster(&net, specs, policy(3, 1, 1), |net| net.isolate(2)).await;
    for r in results {
        assert!(
            matches!(r, Err(RunError::RunIdReused { attempt: 1 })),
            "{r:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn driver_repair__should_exclude_a_silent_helper_on_the_retry() {
    // Helpers 1, 2, 3 (t = 2) repair party 4; helper 3 is cut off. Attempt 0 fails
    // naming it (its contribution is missing); attempt 1 runs without it and succeeds.
    let mut rng = ChaCha20Rng::seed_from_u64(70);
    let shares: Vec<KeyShare<Secp256k1>> = sim::dkg::<Secp256k1>(2, 4, &mut rng)
        .unwrap()
        .into_values()
        .map(|o| o.into_key_share().unwrap())
        .collect();
    let shares = Arc::new(shares);
    let public = shares[0].public().clone();
    let run_id = |attempt| {
        RunId::derive(
            3,
            committee_hash(&node_ids(4), 2),
            ProtocolKind::Repair(Secp256k1::ID),
            attempt,
        )
    };
    let params = move |attempt, excluded: &Excluded| repair::Params {
        run_id: run_id(attempt),
        lost: idx(4),
        helpers: [1, 2, 3]
            .map(idx)
            .into_iter()
            .filter(|h| {
                !excluded.culprits.contains(h) && !excluded.silent.contains(&Peer::Dealer(*h))
            })
            .collect(),
        public: public.clone(),
    };
    let mut specs: Vec<NodeSpec<repair::Repair<Secp256k1>>> = Vec::new();
    for h in 0..3 {
        let shares = shares.clone();
        let params = params.clone();
        let mut rng = ChaCha20Rng::seed_from_u64(71 + h as u64);
        specs.push(NodeSpec {
            addresses: BTreeSet::from([Peer::Dealer(shares[h].index())]),
            start: Box::new(move |attempt, excluded| {
                let p = params(attempt, excluded);
                let (machine, outgoing) = repair::Repair::start_helper(&p, &shares[h], &mut rng)?;
                Ok(Start {
                    run_id: p.run_id,
                    machine,
                    outgoing,
                })
            }),
        });
    }
    specs.push(NodeSpec {
        addresses: BTreeSet::from([Peer::Receiver(idx(4))]),
        start: Box::new(move |attempt, excluded| {
            let p = params(attempt, excluded);
            Ok(Start {
                run_id: p.run_id,
                machine: repair::Repair::start_lost(&p),
                outgoing: Vec::new(),
            })
        }),
    });
    let net = MemoryNetwork::new();
    let results = run_cluster(&net, specs, policy(2, 1, 10), |net| net.isolate(2)).await;
    let mut results = results.into_iter();
    let (h1, h2, _h3, lost) = (
        results.next().unwrap().unwrap(),
        results.next().unwrap().unwrap(),
        results.next().unwrap(),
        results.next().unwrap().unwrap(),
    );
    assert_eq!(h1.run_ids, vec![run_id(0), run_id(1)]);
    assert_eq!(h2.run_ids, h1.run_ids);
    assert_eq!(lost.run_ids, h1.run_ids);
    let repaired = lost.output.unwrap();
    assert_eq!(repaired.index(), idx(4));
    assert_eq!(repaired.public(), shares[3].public());
    let g = <<Secp256k1 as Suite>::Point as group::Group>::generator();
    assert_eq!(repaired.mul(&g), shares[3].mul(&g));
}

#[tokio::test(start_paused = true)]
async fn driver__should_ignore_stale_run_ids_and_duplicates() {
    // Node 1 also receives a valid round-1 broadcast of party 2 from an earlier run,
    // and every message of node 2 arrives twice: same result as a clean run.
    let reference = run_cluster(
        &net_new(),
        dkg_nodes::<Secp256k1>(3, 2, 80),
        policy(1, 5, 60),
        |_| (),
    )
    .await;
    let reference = reference[0].as_ref().unwrap().output.transcript_hash();
    let (_, r1) =
        sim::start_dkg::<Secp256k1>(2, 3, [0x44; 32], &mut ChaCha20Rng::seed_from_u64(81)).unwrap();
    let stale = dkg::vss::Message::Round1(r1[&idx(2)].clone())
        .encode()
        .unwrap();
    let results = run_cluster(
        &net_new(),
        dkg_nodes::<Secp256k1>(3, 2, 80),
        policy(1, 5, 60),
        |net| {
            net.inject(0, Peer::Dealer(idx(2)), stale);
            net.duplicate_from(1);
        },
    )
    .await;
    let first = results[0].as_ref().unwrap();
    assert_eq!(first.output.transcript_hash(), reference);
    assert_eq!(first.stats.other_run, 1);
    // Node 2's three messages to node 1 (rounds 1, 2 and 3; no round 4 when no dealer
    // owes one) all came twice: a second copy that arrives once its round is stepped
    // counts as late.
    assert!(
        first.stats.duplicates + first.stats.late >= 3,
        "{:?}",
        first.stats
    );
    for r in &results {
        assert_eq!(r.as_ref().unwrap().output.transcript_hash(), reference);
    }
}

/// A DKG among four (t = 2) where node 1's messages reach node 2 only 2.5 round
/// deadlines late: node 2 misses dealer 1's round-1 broadcast, complains, and misses
/// its round-4 answer too, so it steps round 4 without what the other three have.
async fn dkg_with_a_late_link(
    confirm: Option<Arc<Confirmation<Output<Secp256k1>>>>,
) -> Results<Output<Secp256k1>> {
    run_cluster_confirmed(
        &net_new(),
        dkg_nodes::<Secp256k1>(4, 2, 90),
        policy(1, 2, 60),
        confirm,
        |net| net.delay(0, 1, Duration::from_secs(5)),
    )
    .await
}

fn receivers_confirm(n: u16, t: u16) -> Arc<Confirmation<Output<Secp256k1>>> {
    Arc::new(Confirmation {
        confirmers: (1..=n).map(|j| Peer::Receiver(idx(j))).collect(),
        quorum: Confirmation::<Output<Secp256k1>>::quorum(usize::from(n), t),
        suite: Secp256k1::ID,
        transcript: Output::<Secp256k1>::transcript_hash,
    })
}

#[tokio::test(start_paused = true)]
async fn driver_dkg__without_a_confirmation_a_late_link_parts_the_keys() {
    // The control of the next test: the late link does make node 2 finish with another
    // QUAL and group key than the others.
    let results = dkg_with_a_late_link(None).await;
    let outputs: Vec<_> = results
        .iter()
        .map(|r| &r.as_ref().unwrap().output)
        .collect();
    assert_eq!(outputs[0].transcript_hash(), outputs[2].transcript_hash());
    assert_eq!(outputs[0].transcript_hash(), outputs[3].transcript_hash());
    assert_ne!(outputs[1].transcript_hash(), outputs[0].transcript_hash());
    assert_ne!(outputs[1].public(), outputs[0].public());
}

#[tokio::test(start_paused = true)]
async fn driver_dkg__should_not_finish_a_member_whose_transcript_the_quorum_does_not_share() {
    // Same run, closed by the transcript confirmation (quorum min(4, 2·2 - 1) = 3): the
    // three that agree finish, node 2 fails the attempt naming the others' transcripts
    // as different, and blames nobody.
    assert_eq!(Confirmation::<()>::quorum(4, 2), 3);
    let results = dkg_with_a_late_link(Some(receivers_confirm(4, 2))).await;
    let done: Vec<_> = [0, 2, 3]
        .map(|i| &results[i].as_ref().unwrap().output)
        .to_vec();
    must_agree(&done, &[1, 2, 3, 4].map(idx).into());
    match &results[1] {
        Err(RunError::Exhausted {
            last:
                Outcome::Failed {
                    culprits,
                    reason:
                        Failure::Unconfirmed {
                            matching, needed, ..
                        },
                },
            ..
        }) => {
            assert!(culprits.is_empty());
            assert_eq!((*matching, *needed), (1, 3));
        }
        other => panic!("node 2 finished or failed otherwise: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn driver_dkg__should_time_out_a_confirmation_that_never_comes() {
    // Node 4 goes silent after its nine messages of rounds 1 to 3 (three each): it
    // never confirms. With the quorum at all four (t = 3: min(4, 5)), the other three
    // wait until the attempt deadline and time out naming receiver 4.
    let results = run_cluster_confirmed(
        &net_new(),
        dkg_nodes::<Secp256k1>(4, 3, 95),
        policy(1, 2, 30),
        Some(receivers_confirm(4, 3)),
        |net| net.kill_after(3, 9),
    )
    .await;
    for r in &results[..3] {
        match r {
            Err(RunError::Exhausted {
                last: Outcome::TimedOut { silent },
                ..
            }) => assert_eq!(silent, &vec![Peer::Receiver(idx(4))]),
            other => panic!("finished or failed otherwise: {other:?}"),
        }
    }
    assert!(results[3].is_err());
}

fn net_new() -> MemoryNetwork {
    MemoryNetwork::new()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Random committees with random link delays (below the round deadline) and, when
    /// the rest still reach the threshold, one node cut off: every connected node
    /// finishes in one attempt, they agree, and QUAL is exactly the connected nodes.
    #[test]
    fn driver_dkg__should_complete_over_random_committees_and_slow_links(
        n in 3u16..=7,
        t_seed in any::<u16>(),
        delays in proptest::collection::vec((0usize..7, 0usize..7, 1u64..900), 0..10),
        cut in proptest::option::of(0usize..7),
        seed in any::<u64>(),
    ) {
        let t = 1 + t_seed % n;
        let cut = cut.map(|c| c % usize::from(n)).filter(|_| t < n);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let results = rt.block_on(run_cluster(
            &MemoryNetwork::new(),
            dkg_nodes::<Secp256k1>(n, t, seed),
            policy(1, 1, 60),
            |net| {
                for (a, b, ms) in &delays {
                    net.delay(a % usize::from(n), b % usize::from(n), Duration::from_millis(*ms));
                }
                if let Some(c) = cut {
                    net.isolate(c);
                }
            },
        ));
        let qual: BTreeSet<PartyIndex> = (1..=n)
            .filter(|i| Some(usize::from(*i) - 1) != cut)
            .map(idx)
            .collect();
        let outputs: Vec<_> = results
            .iter()
            .enumerate()
            .filter(|(k, _)| Some(*k) != cut)
            .map(|(_, r)| &r.as_ref().unwrap().output)
            .collect();
        must_agree(&outputs, &qual);
    }
}

#[tokio::test(start_paused = true)]
async fn driver_dkg__should_disqualify_a_dealer_killed_after_its_round1_broadcast() {
    // Node 5 dies after its round-1 broadcast reached the four others: its shares never
    // arrive, the receivers complain, it never answers, and the four complete without it.
    let results = run_cluster(
        &MemoryNetwork::new(),
        dkg_nodes::<Bls12381G1>(5, 3, 90),
        policy(1, 1, 60),
        |net| net.kill_after(4, 4),
    )
    .await;
    let honest: Vec<_> = results
        .iter()
        .take(4)
        .map(|r| &r.as_ref().unwrap().output)
        .collect();
    must_agree(&honest, &[1, 2, 3, 4].map(idx).into());
}

#[tokio::test(start_paused = true)]
async fn driver__should_count_undecodable_bytes_and_go_on() {
    let results = run_cluster(
        &MemoryNetwork::new(),
        dkg_nodes::<Secp256k1>(3, 2, 100),
        policy(1, 5, 60),
        |net| net.inject(0, Peer::Dealer(idx(2)), b"junk".to_vec()),
    )
    .await;
    let first = results[0].as_ref().unwrap();
    assert_eq!(first.stats.malformed, 1);
    let outputs: Vec<_> = results
        .iter()
        .map(|r| &r.as_ref().unwrap().output)
        .collect();
    must_agree(&outputs, &sim::committee(3));
}

#[tokio::test(start_paused = true)]
async fn driver__should_abort_an_attempt_when_a_message_cannot_be_sent() {
    // A DKG among three where party 3 is not reachable at all: sending its round-2
    // share fails, which aborts the attempt (and the retry) with a typed reason.
    let mut specs = dkg_nodes::<Secp256k1>(3, 2, 110);
    specs.truncate(2);
    let results = run_cluster(&MemoryNetwork::new(), specs, policy(2, 1, 10), |_| ()).await;
    for r in results {
        match r {
            Err(RunError::Exhausted {
                attempts: 2, last, ..
            }) => assert!(
                matches!(
                    last,
                    Outcome::Failed {
                        reason: Failure::Send(SendError::UnknownPeer(Peer::Receiver(p))),
                        ..
                    } if p == idx(3)
                ),
                "{last:?}"
            ),
            other => panic!("expected Exhausted, got {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn driver__should_stop_when_the_inbox_closes() {
    let net = MemoryNetwork::new();
    let mut specs = dkg_nodes::<Secp256k1>(3, 2, 120);
    let spec = specs.remove(0);
    let (link, _inbox) = net.join(spec.addresses.clone());
    let (tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
    drop(tx);
    let r = run_with_retries(
        policy(3, 1, 10),
        &spec.addresses,
        &link,
        &mut closed,
        spec.start,
    )
    .await;
    assert!(matches!(r, Err(RunError::InboxClosed)), "{r:?}");
}

#[test]
fn wire__should_roundtrip_and_peek_every_message_kind() {
    let mut rng = ChaCha20Rng::seed_from_u64(130);
    let (_, r1) = sim::start_dkg::<Bls12381G1>(2, 3, [0x13; 32], &mut rng).unwrap();
    let m = dkg::vss::Message::Round1(r1[&idx(1)].clone());
    let bytes = m.encode().unwrap();
    let frame = dkg::vss::Message::peek(&bytes).unwrap();
    assert_eq!((frame.run_id, frame.round, frame.kind), ([0x13; 32], 1, 0));
    match dkg::vss::Message::decode(&bytes).unwrap() {
        dkg::vss::Message::Round1(b) => assert_eq!(b, r1[&idx(1)]),
        other => panic!("decoded {other:?}"),
    }
    assert!(dkg::vss::Message::decode(&bytes[..bytes.len() - 1]).is_err());

    let shares: Vec<KeyShare<Secp256k1>> = sim::dkg::<Secp256k1>(2, 3, &mut rng)
        .unwrap()
        .into_values()
        .map(|o| o.into_key_share().unwrap())
        .collect();
    let params = repair::Params {
        run_id: [0x14; 32],
        lost: idx(3),
        helpers: [1, 2].map(idx).into(),
        public: shares[0].public().clone(),
    };
    let (_, out) = repair::Repair::start_helper(&params, &shares[0], &mut rng).unwrap();
    let frames: Vec<_> = out
        .iter()
        .map(|o| {
            let bytes = o.message.encode().unwrap();
            assert!(repair::Message::decode(&bytes).is_ok());
            let f = repair::Message::peek(&bytes).unwrap();
            (f.run_id, f.round, f.kind)
        })
        .collect();
    assert_eq!(frames, vec![([0x14; 32], 1, 0), ([0x14; 32], 1, 1)]);

    // The transcript confirmation: peeked as its own round, needing agreement, not a
    // vss message, and refused with a trailing byte.
    let confirm = Confirm {
        header: dkg::wire::Header::new(Secp256k1::ID, [0x15; 32]),
        transcript: [0x16; 32],
    };
    let bytes = confirm.encode().unwrap();
    assert_eq!(Confirm::decode(&bytes).unwrap(), confirm);
    let frame = dkg::vss::Message::peek(&bytes).unwrap();
    assert_eq!((frame.run_id, frame.round), ([0x15; 32], CONFIRM_ROUND));
    assert!(dkg::vss::Message::needs_agreement(&frame));
    assert!(dkg::vss::Message::decode(&bytes).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Confirm::decode(&longer).is_err());
    assert!(Confirm::decode(&bytes[..bytes.len() - 1]).is_err());
}
