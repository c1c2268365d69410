//! N epoch managers in one process (`kms_node::testing::cluster`): an in-memory p2p
//! link between their routers and a fake chain (NEAR's fake indexer) whose `confirm`
//! activates the epoch once every member confirmed the same values, as the contract
//! does.
#![allow(
    non_snake_case,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kms_node::node::router::{MemoryLinks, NodeId};
use kms_node::storage::{Epoch, StoreShare};
use kms_node::testing::chain::FakeGovernance;
use kms_node::testing::cluster::{
    self, keep_mining, now, propose, propose_until, Confirmations, Env, Node,
};
use kms_node::testing::MemoryShareStore;

/// Starts `n` managers on `chain` and proposes the genesis committee of all of them.
fn start(n: u8, t: u16, links: &MemoryLinks, chain: &FakeGovernance) -> Vec<Node> {
    let nodes = start_nodes(n, links, chain);
    propose(chain, 1, &(1..=n).collect::<Vec<u8>>(), t);
    nodes
}

/// Registers and starts managers for nodes `1..=n` (no committee yet).
fn start_nodes(n: u8, links: &MemoryLinks, chain: &FakeGovernance) -> Vec<Node> {
    start_nodes_confirming(n, links, chain, &Arc::default())
}

/// [`start_nodes`] with the contract's confirmations in `seen` (to restart a node that
/// confirms with the others).
fn start_nodes_confirming(
    n: u8,
    links: &MemoryLinks,
    chain: &FakeGovernance,
    seen: &Confirmations,
) -> Vec<Node> {
    Env::new(links, chain, seen).start_nodes(n).unwrap()
}

/// Starts node `id`'s manager (again, for a restart) on `store`.
fn spawn_node(
    id: NodeId,
    key: SigningKey,
    store: Arc<Mutex<MemoryShareStore>>,
    links: &MemoryLinks,
    chain: &FakeGovernance,
    seen: &Confirmations,
) -> Node {
    let dir = tempfile::tempdir().unwrap();
    spawn_node_in(id, key, store, links, chain, seen, dir)
}

/// [`spawn_node`] with `dir` as the data directory.
fn spawn_node_in(
    id: NodeId,
    key: SigningKey,
    store: Arc<Mutex<MemoryShareStore>>,
    links: &MemoryLinks,
    chain: &FakeGovernance,
    seen: &Confirmations,
    dir: tempfile::TempDir,
) -> Node {
    Env::new(links, chain, seen).spawn(id, key, store, dir)
}

async fn wait_serving(nodes: &mut [Node], epoch: u64) {
    cluster::wait_serving(nodes, epoch, Duration::from_secs(60))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_genesis__should_activate_and_serve_with_every_member_holding_both_shares() {
    let links = MemoryLinks::default();
    let chain = FakeGovernance::new(now());
    let miner = keep_mining(&chain);
    let mut nodes = start(5, 3, &links, &chain);
    wait_serving(&mut nodes, 1).await;
    let first = nodes[0].status.borrow().epoch.clone().unwrap();
    for (i, node) in nodes.iter().enumerate() {
        let s = node.status.borrow().clone();
        let e = s.epoch.unwrap();
        assert_eq!(e.bls_group_pk, first.bls_group_pk);
        assert_eq!(e.secp_group_pk, first.secp_group_pk);
        assert_eq!(e.own_index, Some(u16::try_from(i + 1).unwrap()));
        let run = s.last_run.unwrap();
        assert_eq!(run.outcome, "ok");
        // The protocol's own time is inside the run's (which adds the confirmation);
        // its CPU time is measured (the whole test process's, here).
        let protocol = run.protocol_ms.expect("protocol time of a DKG run");
        assert!(
            protocol <= run.duration_ms,
            "{protocol} > {}",
            run.duration_ms
        );
        assert!(run.protocol_cpu_ms.is_some());
        let store = node.store.lock().unwrap();
        assert_eq!(store.active_epochs().unwrap(), vec![Epoch(1)]);
        // The app service's key ring holds the checked shares of the epoch.
        let served = node.keyring.get(1).expect("epoch 1 in the key ring");
        assert_eq!(served.index.get(), u16::try_from(i + 1).unwrap());
        assert_eq!(hex::encode(served.bls_group_pk), first.bls_group_pk);
        assert_eq!(
            served.bls.public().group_key().to_compressed(),
            served.bls_group_pk
        );
        assert_eq!(node.keyring.epochs(), vec![1]);
    }
    miner.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_genesis__should_not_activate_while_a_member_is_cut_off_and_the_others_confirm() {
    // One member never speaks: QUAL leaves it out, the others confirm, and the fake
    // contract (all members must confirm before the deadline) keeps the epoch pending.
    // t = 2: the p2p transcript confirmation needs min(4, 3) = 3 of the 4 (at t = 3 it
    // needs all four, as the contract would after its deadline, and nobody confirms).
    let links = MemoryLinks::default();
    links.cut([4; 32]);
    let chain = FakeGovernance::new(now());
    let miner = keep_mining(&chain);
    let mut nodes = start(4, 2, &links, &chain);
    for node in nodes.iter_mut().take(3) {
        tokio::time::timeout(
            Duration::from_secs(60),
            node.status
                .wait_for(|s| s.pending.as_ref().is_some_and(|p| p.state == "confirmed")),
        )
        .await
        .expect("the connected members confirm within 60 s")
        .unwrap();
        let s = node.status.borrow().clone();
        assert!(!s.serving);
        assert_eq!(s.not_serving_reason.as_deref(), Some("no active epoch yet"));
        assert_eq!(s.last_run.unwrap().outcome, "ok");
    }
    miner.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_reshare__should_keep_the_group_keys_through_a_join_and_a_middle_leave() {
    // Genesis [1, 2, 3, 4] t=3; then [1, 3, 4, 5, 6] t=3: 2 leaves from the middle,
    // 5 and 6 join. The new epoch activates with the same keys; 2 erases its shares
    // after the grace window.
    let links = MemoryLinks::default();
    let chain = FakeGovernance::new(now());
    let miner = keep_mining(&chain);
    let mut nodes = start_nodes(6, &links, &chain);
    propose(&chain, 1, &[1, 2, 3, 4], 3);
    wait_serving(&mut nodes[..4], 1).await;
    let genesis = nodes[0].status.borrow().epoch.clone().unwrap();
    propose(&chain, 2, &[1, 3, 4, 5, 6], 3);
    let mut new_members: Vec<Node> = Vec::new();
    let mut left = None;
    for (i, node) in nodes.into_iter().enumerate() {
        if i == 1 {
            left = Some(node);
        } else {
            new_members.push(node);
        }
    }
    wait_serving(&mut new_members, 2).await;
    for (k, node) in new_members.iter().enumerate() {
        let e = node.status.borrow().epoch.clone().unwrap();
        assert_eq!(e.bls_group_pk, genesis.bls_group_pk);
        assert_eq!(e.secp_group_pk, genesis.secp_group_pk);
        assert_eq!(e.own_index, Some(u16::try_from(k + 1).unwrap()));
        let epochs = node.store.lock().unwrap().active_epochs().unwrap();
        assert!(epochs.contains(&Epoch(2)), "{epochs:?}");
    }
    // The leaver is not serving epoch 2 and erases epoch 1 after the 1 s grace.
    let mut left = left.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        left.status
            .wait_for(|s| s.epoch.as_ref().is_some_and(|e| e.number == 2)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!left.status.borrow().serving);
    tokio::time::timeout(Duration::from_secs(20), async {
        while !left
            .store
            .lock()
            .unwrap()
            .active_epochs()
            .unwrap()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the leaver erases its shares after the grace window");
    assert!(
        left.keyring.epochs().is_empty(),
        "{:?}",
        left.keyring.epochs()
    );
    // Members that stay also erase epoch 1.
    tokio::time::timeout(Duration::from_secs(20), async {
        while new_members[0]
            .store
            .lock()
            .unwrap()
            .active_epochs()
            .unwrap()
            != vec![Epoch(2)]
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("members erase the previous epoch after the grace window");
    assert_eq!(new_members[0].keyring.epochs(), vec![2]);
    miner.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_repair__should_rebuild_a_restarted_members_lost_shares_from_the_others() {
    let links = MemoryLinks::default();
    let chain = FakeGovernance::new(now());
    let miner = keep_mining(&chain);
    let mut nodes = start(4, 3, &links, &chain);
    wait_serving(&mut nodes, 1).await;
    let before = nodes[1].status.borrow().epoch.clone().unwrap();
    // Node 2 stops and loses its storage; it restarts with the same identity.
    let lost = nodes.remove(1);
    lost.task.abort();
    let empty = Arc::new(Mutex::new(MemoryShareStore::default()));
    let mut restarted = spawn_node(
        lost.id,
        lost.key.clone(),
        Arc::clone(&empty),
        &links,
        &chain,
        &Arc::default(),
    );
    wait_serving(std::slice::from_mut(&mut restarted), 1).await;
    let s = restarted.status.borrow().clone();
    assert_eq!(s.epoch.unwrap(), before);
    let run = s.last_run.unwrap();
    assert_eq!(run.kind, "repair");
    assert_eq!((run.protocol_ms, run.protocol_cpu_ms), (None, None));
    assert_eq!(
        empty.lock().unwrap().active_epochs().unwrap(),
        vec![Epoch(1)]
    );
    miner.abort();
}

/// A member whose own DKG transcript is not the one the contract activated (its view
/// of the run parted from the others') does not serve its shares: it discards them
/// and repairs them from the members that agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_repair__should_replace_shares_whose_transcript_was_not_activated() {
    let links = MemoryLinks::default();
    let chain = FakeGovernance::new(now());
    let miner = keep_mining(&chain);
    let mut nodes = start(4, 3, &links, &chain);
    wait_serving(&mut nodes, 1).await;
    let before = nodes[2].status.borrow().epoch.clone().unwrap();
    let node = nodes.remove(2);
    node.task.abort();
    // It restarts with its shares, but its record says it confirmed another transcript.
    let dir = tempfile::tempdir().unwrap();
    let record = serde_json::json!({
        "transcript_hash": "ee".repeat(32),
        "bls_group_pk": "00".repeat(48),
        "secp_group_pk": "00".repeat(33),
    });
    std::fs::write(dir.path().join("epoch-1.json"), record.to_string()).unwrap();
    let mut restarted = spawn_node_in(
        node.id,
        node.key.clone(),
        Arc::clone(&node.store),
        &links,
        &chain,
        &Arc::default(),
        dir,
    );
    wait_serving(std::slice::from_mut(&mut restarted), 1).await;
    let s = restarted.status.borrow().clone();
    assert_eq!(s.epoch.unwrap(), before);
    assert_eq!(
        s.last_run.unwrap().kind,
        "repair",
        "the shares were repaired"
    );
    assert!(restarted.keyring.get(1).is_some());
    miner.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_deadline__should_activate_without_a_silent_member_once_the_deadline_passed() {
    // n = 4, t = 2: min(n, 2t - 1) = 3 confirmations suffice after the deadline.
    let links = MemoryLinks::default();
    links.cut([4; 32]);
    let chain = FakeGovernance::new(now());
    let miner = keep_mining(&chain);
    let mut nodes = start_nodes(4, &links, &chain);
    propose_until(&chain, 1, &[1, 2, 3, 4], 2, now() + 2);
    wait_serving(&mut nodes[..3], 1).await;
    assert!(!nodes[3].status.borrow().serving);
    miner.abort();
}

/// A joining member killed mid-reshare (DESIGN §6, issue 10): a silent receiver does not
/// stop the others, who finish the reshare and confirm; the old epoch serves meanwhile;
/// the epoch activates by the deadline rule without the dead member's confirmation, and
/// the member, restarted, rebuilds its share of the new epoch from the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_reshare__should_activate_and_repair_a_joining_member_killed_mid_run() {
    let links = MemoryLinks::default();
    let chain = FakeGovernance::new(now());
    let miner = keep_mining(&chain);
    let seen: Confirmations = Arc::default();
    let mut nodes = start_nodes_confirming(5, &links, &chain, &seen);
    propose(&chain, 1, &[1, 2, 3, 4], 3);
    wait_serving(&mut nodes[..4], 1).await;
    let genesis = nodes[0].status.borrow().epoch.clone().unwrap();
    // Node 5 joins ([1..5], t = 2: after the deadline min(5, 3) confirmations activate)
    // and dies mid-run, as soon as it has a reshare message to send: from then on
    // nothing reaches it or leaves it, and its task is killed.
    let tried = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&tried);
    let cutter = links.clone();
    links.filter(
        [5; 32],
        Arc::new(move |_, _| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                cutter.cut([5; 32]);
            }
            false
        }),
    );
    propose_until(&chain, 2, &[1, 2, 3, 4, 5], 2, now() + 6);
    tokio::time::timeout(Duration::from_secs(30), async {
        while tried.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("node 5 takes part in the reshare");
    let dead = nodes.pop().unwrap();
    dead.task.abort();
    // The old epoch keeps serving while the transition is pending.
    for node in &nodes {
        let s = node.status.borrow().clone();
        assert!(s.serving, "{s:?}");
        assert_eq!(s.epoch.unwrap().number, 1);
    }
    // Restarted with its data directory and (empty) storage, links healed.
    links.heal([5; 32]);
    let Node {
        id,
        key,
        store,
        dir,
        ..
    } = dead;
    let mut restarted = spawn_node_in(id, key, store, &links, &chain, &seen, dir);
    wait_serving(&mut nodes, 2).await;
    wait_serving(std::slice::from_mut(&mut restarted), 2).await;
    for node in nodes.iter().chain(std::iter::once(&restarted)) {
        let e = node.status.borrow().epoch.clone().unwrap();
        assert_eq!(e.bls_group_pk, genesis.bls_group_pk);
        assert_eq!(e.secp_group_pk, genesis.secp_group_pk);
    }
    assert_eq!(
        restarted.status.borrow().last_run.clone().unwrap().kind,
        "repair",
        "the killed member's share of epoch 2 was repaired"
    );
    assert!(restarted.keyring.get(2).is_some());
    miner.abort();
}
