//! Property tests of the node's protocol runs over random committees, committee
//! changes and faulty links (message delays that reorder, message loss, a member cut
//! off), in one process: every member that finishes agrees with every other, and
//! without loss every member finishes with the group keys kept across the change.
#![allow(non_snake_case, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::dkg_run::tests::cluster;
use super::dkg_run::{genesis, reshare, Change, Committee, DkgContext, EpochKeys, OldShares};
use super::router::NodeId;

/// One scenario: genesis among `1..=n` with threshold `t`, then a change to `next`
/// (node numbers, `n + 1..` are joiners) with threshold `t2`.
#[derive(Debug, Clone)]
struct Scenario {
    n: u8,
    t: u16,
    next: Vec<u8>,
    t2: u16,
    seed: u64,
    drop_per_mille: u32,
    max_delay_ms: u64,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        3u8..=5,
        any::<u64>(),
        prop_oneof![Just(0u32), Just(0), Just(15), Just(50)],
        0u64..=15,
    )
        .prop_flat_map(|(n, seed, drop, delay)| {
            let t = (u16::from(n) / 2 + 1)..=u16::from(n);
            let keep = proptest::sample::subsequence(
                (1..=n).collect::<Vec<u8>>(),
                (usize::from(n) / 2 + 1)..=usize::from(n),
            );
            (
                Just(n),
                t,
                keep,
                0u8..=2,
                Just(seed),
                Just(drop),
                Just(delay),
            )
        })
        .prop_flat_map(|(n, t, keep, joiners, seed, drop, delay)| {
            let mut next = keep;
            next.extend((1..=joiners).map(|j| n + j));
            let m = u16::try_from(next.len()).unwrap();
            // The old committee must keep t dealers; the new threshold is any majority.
            let t2 = (m / 2 + 1)..=m;
            (
                Just(n),
                Just(t),
                Just(next),
                t2,
                Just(seed),
                Just(drop),
                Just(delay),
            )
        })
        .prop_filter("enough old dealers stay or deal", |(_, t, next, ..)| {
            next.len() >= usize::from(*t).min(next.len())
        })
        .prop_map(
            |(n, t, next, t2, seed, drop_per_mille, max_delay_ms)| Scenario {
                n,
                t,
                next,
                t2,
                seed,
                drop_per_mille,
                max_delay_ms,
            },
        )
}

async fn run(s: Scenario) -> Result<(), TestCaseError> {
    let joiners = s.next.iter().copied().max().unwrap_or(s.n).max(s.n);
    let (links, mut ctxs, keys) = cluster(joiners);
    for c in &mut ctxs {
        c.policy.deadlines.round = Duration::from_millis(400);
        c.policy.deadlines.attempt = Duration::from_secs(3);
        c.policy.max_attempts = 2;
    }
    links.set_faults(
        s.seed,
        s.drop_per_mille,
        Duration::from_millis(s.max_delay_ms),
    );
    let old: Vec<NodeId> = (1..=s.n).map(|i| [i; 32]).collect();
    let tasks: Vec<_> = ctxs[..usize::from(s.n)]
        .iter()
        .cloned()
        .map(|ctx| {
            let (old, keys, t) = (old.clone(), keys.clone(), s.t);
            tokio::spawn(async move {
                let c = Committee {
                    epoch: 1,
                    threshold: t,
                    members: &old,
                    p2p_keys: &keys,
                };
                genesis(&ctx, &c).await
            })
        })
        .collect();
    let mut first: Vec<Option<EpochKeys>> = Vec::new();
    for t in tasks {
        first.push(t.await.unwrap().ok());
    }
    let done: Vec<&EpochKeys> = first.iter().flatten().collect();
    // Agreement among every member that finished, also under message loss: the echo
    // broadcast relays rounds 3 and 4 (before it, this proptest found finishers with
    // different transcripts: n=3, t=2 -> [1, 3, 4], t'=3, 1.5% loss), and the
    // transcript confirmation fails an attempt whose members stepped with different
    // inputs anyway (a copy pulled after a round deadline: CI found different group keys
    // at n=3, t=2, 5% loss before it).
    for k in &done {
        prop_assert_eq!(k.bls_group_pk, done[0].bls_group_pk);
        prop_assert_eq!(k.secp_group_pk, done[0].secp_group_pk);
        prop_assert_eq!(k.transcript_hash, done[0].transcript_hash);
    }
    if s.drop_per_mille == 0 {
        prop_assert_eq!(
            done.len(),
            usize::from(s.n),
            "without loss every member finishes"
        );
    }
    // The change only makes sense when every old member holds its share.
    if done.len() != usize::from(s.n) {
        return Ok(());
    }
    let group = (done[0].bls_group_pk, done[0].secp_group_pk);
    let next: Vec<NodeId> = s.next.iter().map(|i| [*i; 32]).collect();
    let first = Arc::new(first);
    let involved: Vec<u8> = (1..=joiners).collect();
    let tasks: Vec<_> = involved
        .iter()
        .map(|i| {
            let ctx: DkgContext = ctxs[usize::from(*i) - 1].clone();
            let (old, next, keys, first, i, t, t2) = (
                old.clone(),
                next.clone(),
                keys.clone(),
                Arc::clone(&first),
                *i,
                s.t,
                s.t2,
            );
            tokio::spawn(async move {
                let c = Change {
                    epoch: 2,
                    old_members: &old,
                    old_threshold: t,
                    new_members: &next,
                    new_threshold: t2,
                    p2p_keys: &keys,
                    group_keys: group,
                };
                let mine = first
                    .get(usize::from(i) - 1)
                    .and_then(|k| k.as_ref())
                    .map(|k| OldShares {
                        bls: &k.bls,
                        secp: &k.secp,
                    });
                (i, reshare(&ctx, &c, mine).await)
            })
        })
        .collect();
    let mut results: BTreeMap<u8, _> = BTreeMap::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        results.insert(i, r);
    }
    let mut transcripts = Vec::new();
    for (i, r) in &results {
        match r {
            Ok(Some(k)) => {
                prop_assert!(s.next.contains(i), "only new members get shares");
                prop_assert_eq!((k.bls_group_pk, k.secp_group_pk), group);
                let pos = s.next.iter().position(|x| x == i).unwrap() + 1;
                prop_assert_eq!(usize::from(k.bls.index().get()), pos);
                transcripts.push(k.transcript_hash);
            }
            Ok(None) => prop_assert!(!s.next.contains(i), "a new member got no share"),
            Err(e) => {
                // Only allowed with message loss.
                prop_assert!(
                    s.drop_per_mille > 0,
                    "node {} failed without loss: {}",
                    i,
                    e
                );
            }
        }
    }
    prop_assert!(
        transcripts.windows(2).all(|w| w[0] == w[1]),
        "every new member that finished has the same transcript"
    );
    if s.drop_per_mille == 0 {
        prop_assert_eq!(
            transcripts.len(),
            s.next.len(),
            "without loss every new member gets its share"
        );
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("KEYNET_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

proptest! {
    // 12 cases in CI; `KEYNET_PROPTEST_CASES=200` for a longer hunt.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn genesis_then_change__should_agree_and_keep_the_group_keys_over_faulty_links(s in scenario()) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(s))?;
    }
}
