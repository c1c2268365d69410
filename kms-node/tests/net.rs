//! The node ↔ node transport over real TCP on 127.0.0.1: attested admission, the
//! connection gate, queueing, expiry and size limits. Every wait is bounded.

#![allow(
    non_snake_case,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kms_node::net::wire::{Ack, Answer};
use kms_node::net::{
    self, p2p_key_of, AdmitPeer, AllowedPeer, Counters, Hello, Net, NetConfig, NodeId, PeerState,
};
use libp2p::identity::Keypair;
use tokio::sync::mpsc;

/// Bound on every wait for something that should happen.
const WAIT: Duration = Duration::from_secs(5);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn evidence_of(node: &NodeId) -> Vec<u8> {
    [b"evidence-of-".as_slice(), node.as_slice()].concat()
}

/// Admits a node whose Hello carries `evidence_of(node)`, for `validity` seconds (or
/// until a per-node override), unless the node is set to be refused.
struct FakeAdmit {
    validity: Mutex<HashMap<NodeId, u64>>,
    refuse: Mutex<HashMap<NodeId, String>>,
    calls: Mutex<Vec<NodeId>>,
}

impl FakeAdmit {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            validity: Mutex::new(HashMap::new()),
            refuse: Mutex::new(HashMap::new()),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn refuse(&self, node: NodeId, reason: &str) {
        self.refuse.lock().unwrap().insert(node, reason.to_owned());
    }

    fn valid_for(&self, node: NodeId, seconds: u64) {
        self.validity.lock().unwrap().insert(node, seconds);
    }

    fn calls_for(&self, node: &NodeId) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == node)
            .count()
    }
}

impl AdmitPeer for FakeAdmit {
    fn admit(&self, node_id: &NodeId, hello: &Hello) -> Result<u64, String> {
        self.calls.lock().unwrap().push(*node_id);
        if let Some(reason) = self.refuse.lock().unwrap().get(node_id) {
            return Err(reason.clone());
        }
        if hello.evidence != evidence_of(node_id) {
            return Err("evidence does not bind this node".to_owned());
        }
        let validity = self
            .validity
            .lock()
            .unwrap()
            .get(node_id)
            .copied()
            .unwrap_or(3600);
        Ok(unix_now() + validity)
    }
}

struct Node {
    id: NodeId,
    net: Net,
    inbox: mpsc::Receiver<(NodeId, Vec<u8>)>,
    allowed: AllowedPeer,
    admit: Arc<FakeAdmit>,
}

impl Node {
    fn hello(&self) -> Hello {
        Hello {
            evidence: evidence_of(&self.id),
            issued_at: unix_now(),
        }
    }

    fn peer(&self, node: &NodeId) -> PeerState {
        self.net
            .peers()
            .into_iter()
            .find(|p| p.node_id == *node)
            .expect("peer listed")
    }

    /// The next inbox item, within [`WAIT`].
    async fn must_receive(&mut self) -> (NodeId, Vec<u8>) {
        tokio::time::timeout(WAIT, self.inbox.recv())
            .await
            .expect("payload in time")
            .expect("inbox open")
    }

    fn assert_inbox_empty(&mut self) {
        if let Ok((from, payload)) = self.inbox.try_recv() {
            panic!(
                "unexpected payload of {} bytes from {:?}",
                payload.len(),
                &from[..4]
            );
        }
    }
}

fn config(max_payload: usize, queue_per_peer: usize) -> NetConfig {
    NetConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        keypair: Keypair::generate_ed25519(),
        max_payload,
        queue_per_peer,
        dial_interval: Duration::from_millis(100),
    }
}

async fn must_spawn(n: u8, config: NetConfig) -> Node {
    let p2p_key = p2p_key_of(&config.keypair).unwrap();
    let admit = FakeAdmit::new();
    let (net, inbox, addr) = net::spawn(config, admit.clone()).await.unwrap();
    let id = [n; 32];
    Node {
        id,
        net,
        inbox,
        allowed: AllowedPeer {
            node_id: id,
            p2p_key,
            addr,
        },
        admit,
    }
}

/// Polls `check` every 10 ms until it holds, for at most [`WAIT`].
async fn must_eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `node`'s counters satisfy `check`.
async fn must_count(node: &Node, what: &str, check: impl Fn(&Counters) -> bool) {
    let net = node.net.clone();
    must_eventually(what, || check(&net.counters())).await;
}

/// Waits until `a` may send to `b` and `b` to `a`.
async fn must_be_admitted_both_ways(a: &Node, b: &Node) {
    must_eventually("admission both ways", || {
        let ab = a.peer(&b.id);
        let ba = b.peer(&a.id);
        ab.admitted
            && ba.admitted
            && ab.accepted_by_peer == Some(true)
            && ba.accepted_by_peer == Some(true)
    })
    .await;
}

/// Allows every pair among `nodes` and sets their Hellos.
fn connect_all(nodes: &[&Node]) {
    let all: Vec<AllowedPeer> = nodes.iter().map(|n| n.allowed.clone()).collect();
    for n in nodes {
        // Its own entry is left out by the transport.
        n.net.set_allowed(all.clone());
        n.net.set_hello(n.hello());
    }
}

/// Runs a test body under an overall bound.
async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(Duration::from_secs(15), body)
        .await
        .expect("test finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes__should_admit_each_other_and_exchange_payloads_both_ways() {
    bounded(async {
        let mut nodes = Vec::new();
        for n in 1..=3 {
            // Room for the burst below: the queue also holds payloads waiting behind
            // the send window.
            nodes.push(must_spawn(n, config(1 << 20, 256)).await);
        }
        connect_all(&nodes.iter().collect::<Vec<_>>());
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    must_be_admitted_both_ways(&nodes[i], &nodes[j]).await;
                }
            }
        }
        for from in 0..3 {
            for to in 0..3 {
                if from != to {
                    let to_id = nodes[to].id;
                    let payload = vec![from as u8, to as u8];
                    nodes[from].net.send(to_id, payload).unwrap();
                }
            }
        }
        for (to, node) in nodes.iter_mut().enumerate() {
            let mut got = vec![node.must_receive().await, node.must_receive().await];
            got.sort();
            let mut want: Vec<(NodeId, Vec<u8>)> = (0..3)
                .filter(|from| *from != to)
                .map(|from| ([from as u8 + 1; 32], vec![from as u8, to as u8]))
                .collect();
            want.sort();
            assert_eq!(got, want, "node {to}");
        }
        for node in &mut nodes {
            node.assert_inbox_empty();
            let peers = node.net.peers();
            assert_eq!(peers.len(), 2, "own entry left out");
            for p in &peers {
                assert!(p.connected && p.admitted, "{p:?}");
                assert_eq!(p.verdict.as_deref(), Some("admitted"));
                assert!(p.last_contact.is_some());
                assert!(p.admitted_until.unwrap() > unix_now());
            }
            assert_eq!(node.net.counters().delivered, 2);
            must_count(node, "acks", |c| c.sent == 2).await;
        }
        let (a, b) = (&nodes[0], &nodes[1]);
        assert!(matches!(a.net.send(a.id, vec![1]), Err(net::Error::ToSelf)));
        assert!(matches!(
            a.net.send([99; 32], vec![1]),
            Err(net::Error::NotAllowed)
        ));
        // Many payloads, more than the send window: none lost, none duplicated.
        for i in 0..200u32 {
            a.net.send(b.id, i.to_be_bytes().to_vec()).unwrap();
        }
        let b = &mut nodes[1];
        let mut seen = Vec::new();
        for _ in 0..200 {
            seen.push(b.must_receive().await.1);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.assert_inbox_empty();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_hello__should_keep_the_peer_connected_undelivered_and_show_the_reason() {
    bounded(async {
        let mut a = must_spawn(1, config(1 << 20, 16)).await;
        let mut b = must_spawn(2, config(1 << 20, 16)).await;
        a.admit.refuse(b.id, "measurement not approved");
        connect_all(&[&a, &b]);
        must_eventually("a's verdict on b", || {
            a.peer(&b.id).verdict.as_deref() == Some("measurement not approved")
        })
        .await;
        must_eventually("b's view of a's answer, b's verdict on a", || {
            let seen = b.peer(&a.id);
            seen.accepted_by_peer == Some(false) && seen.admitted
        })
        .await;
        let seen_by_a = a.peer(&b.id);
        assert!(seen_by_a.connected && !seen_by_a.admitted);
        let seen_by_b = b.peer(&a.id);
        assert_eq!(
            seen_by_b.peer_reason.as_deref(),
            Some("measurement not approved")
        );
        // Nothing flows either way: a does not send to a peer it refused, b does not
        // send to a peer that refused it.
        b.net.send(a.id, b"from b".to_vec()).unwrap();
        a.net.send(b.id, b"from a".to_vec()).unwrap();
        // Hellos are re-sent and re-checked, and still refused, with backoff: after
        // 100, 200, 400, 800 ms (dial_interval 100 ms), not every 100 ms.
        let calls = a.admit.calls_for(&b.id);
        must_eventually("a re-check", || a.admit.calls_for(&b.id) > calls).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let rechecks = a.admit.calls_for(&b.id) - calls;
        assert!((1..=5).contains(&rechecks), "{rechecks} re-checks in 1.5 s");
        assert!(!a.peer(&b.id).admitted);
        assert_eq!(b.peer(&a.id).queued, 1);
        assert_eq!(a.peer(&b.id).queued, 1);
        a.assert_inbox_empty();
        b.assert_inbox_empty();
        assert_eq!(a.net.counters().delivered + b.net.counters().delivered, 0);
        // Once a's check accepts b's (re-sent) Hello, the queued payloads flow.
        a.admit.refuse.lock().unwrap().clear();
        assert_eq!(a.must_receive().await, (b.id, b"from b".to_vec()));
        assert_eq!(b.must_receive().await, (a.id, b"from a".to_vec()));
        assert_eq!(a.peer(&b.id).verdict.as_deref(), Some("admitted"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_with_wrong_evidence__should_be_refused() {
    bounded(async {
        let a = must_spawn(1, config(1 << 20, 16)).await;
        let b = must_spawn(2, config(1 << 20, 16)).await;
        connect_all(&[&a, &b]);
        must_be_admitted_both_ways(&a, &b).await;
        // A refreshed Hello that fails the check revokes the admission.
        b.net.set_hello(Hello {
            evidence: b"someone else's evidence".to_vec(),
            issued_at: unix_now(),
        });
        must_eventually("revocation", || !a.peer(&b.id).admitted).await;
        assert_eq!(
            a.peer(&b.id).verdict.as_deref(),
            Some("evidence does not bind this node")
        );
        must_eventually("b told", || b.peer(&a.id).accepted_by_peer == Some(false)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_not_allowed__should_be_disconnected_and_never_delivered() {
    bounded(async {
        let mut a = must_spawn(1, config(1 << 20, 16)).await;
        let b = must_spawn(2, config(1 << 20, 16)).await;
        let x = must_spawn(3, config(1 << 20, 16)).await;
        // a allows b only; x allows a and keeps dialling it.
        a.net.set_allowed(vec![b.allowed.clone()]);
        a.net.set_hello(a.hello());
        x.net.set_allowed(vec![a.allowed.clone()]);
        x.net.set_hello(x.hello());
        x.net.send(a.id, b"from x".to_vec()).unwrap();
        must_count(&a, "a denies x", |c| c.connections_denied >= 2).await;
        // x's side may see each attempt open for a moment before a closes it.
        let seen_by_x = x.peer(&a.id);
        assert!(!seen_by_x.admitted, "{seen_by_x:?}");
        assert_ne!(seen_by_x.accepted_by_peer, Some(true));
        assert_eq!(seen_by_x.queued, 1);
        assert_eq!(a.net.peers().len(), 1, "only b is listed");
        assert!(x.admit.calls_for(&a.id) == 0 && a.admit.calls.lock().unwrap().is_empty());
        a.assert_inbox_empty();
        assert_eq!(a.net.counters().delivered, 0);
        assert!(matches!(
            a.net.send(x.id, vec![1]),
            Err(net::Error::NotAllowed)
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_allowed_removing_a_peer__should_disconnect_it() {
    bounded(async {
        let a = must_spawn(1, config(1 << 20, 16)).await;
        let mut b = must_spawn(2, config(1 << 20, 16)).await;
        let c = must_spawn(3, config(1 << 20, 16)).await;
        connect_all(&[&a, &b, &c]);
        must_be_admitted_both_ways(&a, &b).await;
        must_be_admitted_both_ways(&a, &c).await;
        a.net.set_allowed(vec![c.allowed.clone()]);
        must_eventually("b disconnected", || !b.peer(&a.id).connected).await;
        assert!(matches!(
            a.net.send(b.id, vec![1]),
            Err(net::Error::NotAllowed)
        ));
        // b keeps re-dialling and is denied; a stays connected to c.
        must_count(&a, "b denied", |cn| cn.connections_denied >= 1).await;
        assert!(a.peer(&c.id).admitted);
        b.net.send(a.id, b"late".to_vec()).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(a.net.counters().delivered, 0);
        assert!(!b.peer(&a.id).admitted);
        b.assert_inbox_empty();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_before_admission__should_be_queued_and_flushed_after() {
    bounded(async {
        let a = must_spawn(1, config(1 << 20, 16)).await;
        let mut b = must_spawn(2, config(1 << 20, 16)).await;
        a.net.set_allowed(vec![b.allowed.clone()]);
        a.net.set_hello(a.hello());
        for i in 0..3u8 {
            a.net.send(b.id, vec![i]).unwrap();
        }
        assert_eq!(a.peer(&b.id).queued, 3);
        // b does not allow a yet: its dials are denied and nothing flows.
        must_count(&b, "b denies a", |c| c.connections_denied >= 1).await;
        assert_eq!(a.peer(&b.id).queued, 3);
        b.net.set_allowed(vec![a.allowed.clone()]);
        b.net.set_hello(b.hello());
        let mut got = Vec::new();
        for _ in 0..3u8 {
            let (from, payload) = b.must_receive().await;
            assert_eq!(from, a.id);
            got.push(payload);
        }
        got.sort();
        assert_eq!(got, vec![vec![0], vec![1], vec![2]]);
        assert_eq!(a.peer(&b.id).queued, 0);
        b.assert_inbox_empty();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_overflow__should_drop_the_oldest_and_count() {
    bounded(async {
        let a = must_spawn(1, config(1 << 20, 4)).await;
        let mut b = must_spawn(2, config(1 << 20, 4)).await;
        a.net.set_allowed(vec![b.allowed.clone()]);
        for i in 0..6u8 {
            a.net.send(b.id, vec![i]).unwrap();
        }
        assert_eq!(a.net.counters().dropped_queue_full, 2);
        a.net.set_hello(a.hello());
        b.net.set_allowed(vec![a.allowed.clone()]);
        b.net.set_hello(b.hello());
        // Sent concurrently: the order may change.
        let mut got = Vec::new();
        for _ in 2..6u8 {
            let (from, payload) = b.must_receive().await;
            assert_eq!(from, a.id);
            got.push(payload);
        }
        got.sort();
        assert_eq!(got, (2..6u8).map(|i| vec![i]).collect::<Vec<_>>());
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.assert_inbox_empty();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_inbox__should_hold_the_sender_back_and_lose_nothing() {
    bounded(async {
        let total = net::INBOX_CAPACITY * 3;
        let a = must_spawn(1, config(1 << 20, total)).await;
        let mut b = must_spawn(2, config(1 << 20, total)).await;
        connect_all(&[&a, &b]);
        must_be_admitted_both_ways(&a, &b).await;
        let payload = |i: usize| u32::try_from(i).unwrap().to_be_bytes().to_vec();
        for i in 0..total {
            a.net.send(b.id, payload(i)).unwrap();
        }
        // b does not read: its inbox fills, the frame that does not fit waits
        // unanswered, and a, its window full, keeps the rest queued.
        must_count(&b, "a batch held", |c| c.batches_held >= 1).await;
        must_count(&b, "inbox full", |c| {
            c.delivered == net::INBOX_CAPACITY as u64
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(b.net.counters().delivered, net::INBOX_CAPACITY as u64);
        assert!(a.peer(&b.id).queued > 0, "a holds back what b cannot take");
        // Reading drains the held batches and lets a send the rest; nothing is lost.
        let mut got = Vec::with_capacity(total);
        for _ in 0..total {
            let (from, p) = b.must_receive().await;
            assert_eq!(from, a.id);
            got.push(p);
        }
        got.sort();
        assert_eq!(got, (0..total).map(payload).collect::<Vec<_>>());
        let (ca, cb) = (a.net.counters(), b.net.counters());
        assert_eq!(cb.dropped_inbox_full, 0);
        assert_eq!(ca.send_failed, 0);
        assert_eq!(ca.dropped_queue_full, 0);
        assert_eq!(cb.delivered, total as u64);
        must_count(&a, "all acknowledged", |c| c.sent == total as u64).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.assert_inbox_empty();
    })
    .await;
}

/// Two nodes with a dial interval of `interval`, the one with the smaller peer id first.
async fn must_spawn_ordered_pair(interval: Duration) -> (Node, Node) {
    let a = must_spawn(
        1,
        NetConfig {
            dial_interval: interval,
            ..config(1 << 20, 16)
        },
    )
    .await;
    let b = must_spawn(
        2,
        NetConfig {
            dial_interval: interval,
            ..config(1 << 20, 16)
        },
    )
    .await;
    if a.net.local_peer_id() < b.net.local_peer_id() {
        (a, b)
    } else {
        (b, a)
    }
}

fn allow(node: &Node, peer: &Node) {
    node.net.set_allowed(vec![peer.allowed.clone()]);
    node.net.set_hello(node.hello());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialling__should_leave_it_to_the_smaller_peer_id_and_make_one_connection() {
    bounded(async {
        let (small, large) = must_spawn_ordered_pair(Duration::from_secs(2)).await;
        // The larger side learns first and waits for the other's dial rather than
        // being refused by a node that does not allow it yet.
        allow(&large, &small);
        tokio::time::sleep(Duration::from_millis(500)).await;
        allow(&small, &large);
        must_be_admitted_both_ways(&small, &large).await;
        // Past the larger side's patience (one dial interval, checked at its ticks).
        tokio::time::sleep(Duration::from_millis(4500)).await;
        assert_eq!(small.peer(&large.id).connections, 1);
        assert_eq!(large.peer(&small.id).connections, 1);
        assert_eq!(small.net.counters().connections_denied, 0);
        assert_eq!(large.net.counters().connections_denied, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialling__should_dial_at_once_a_peer_refused_before() {
    bounded(async {
        // Dial interval 10 s: a connection within the test's bound is not a retry.
        let (small, large) = must_spawn_ordered_pair(Duration::from_secs(10)).await;
        allow(&small, &large);
        must_count(&large, "the smaller side refused", |c| {
            c.connections_denied >= 1
        })
        .await;
        allow(&large, &small);
        must_be_admitted_both_ways(&small, &large).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_expiry__should_stop_delivery_until_a_fresh_hello() {
    bounded(async {
        let a = must_spawn(1, config(1 << 20, 16)).await;
        let mut b = must_spawn(2, config(1 << 20, 16)).await;
        // b admits a for 3 s (2 to 3 s from now, at Unix-second granularity).
        b.admit.valid_for(a.id, 3);
        connect_all(&[&a, &b]);
        must_be_admitted_both_ways(&a, &b).await;
        let until = b.peer(&a.id).admitted_until.unwrap();
        a.net.send(b.id, b"before".to_vec()).unwrap();
        assert_eq!(b.must_receive().await, (a.id, b"before".to_vec()));
        must_eventually("expiry", || unix_now() >= until).await;
        assert!(!b.peer(&a.id).admitted);
        assert_eq!(b.peer(&a.id).verdict.as_deref(), Some("admission expired"));
        // The same evidence would now be refused as too old.
        b.admit.refuse(a.id, "evidence too old");
        // a does not know: it sends, b drops and counts.
        a.net.send(b.id, b"after expiry".to_vec()).unwrap();
        must_count(&b, "drop", |c| c.dropped_not_admitted == 1).await;
        b.assert_inbox_empty();
        must_count(&a, "a sees the failure", |c| c.send_failed == 1).await;
        // The drop makes a ask again by itself; the refusal holds a's payloads.
        must_eventually("a's hello re-checked and refused", || {
            a.peer(&b.id).accepted_by_peer == Some(false)
        })
        .await;
        assert_eq!(
            a.peer(&b.id).peer_reason.as_deref(),
            Some("evidence too old")
        );
        a.net.send(b.id, b"held".to_vec()).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(a.peer(&b.id).queued, 1);
        b.assert_inbox_empty();
        assert_eq!(b.net.counters().dropped_not_admitted, 1);
        // A fresh Hello re-admits, and the held payload goes.
        b.admit.refuse.lock().unwrap().clear();
        b.admit.valid_for(a.id, 3600);
        a.net.set_hello(a.hello());
        must_eventually("re-admission", || b.peer(&a.id).admitted).await;
        assert_eq!(b.must_receive().await, (a.id, b"held".to_vec()));
        a.net.send(b.id, b"fresh".to_vec()).unwrap();
        assert_eq!(b.must_receive().await, (a.id, b"fresh".to_vec()));
        b.assert_inbox_empty();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_over_max_payload__should_be_refused() {
    bounded(async {
        let a = must_spawn(1, config(1 << 20, 16)).await;
        let mut b = must_spawn(2, config(1000, 16)).await;
        connect_all(&[&a, &b]);
        must_be_admitted_both_ways(&a, &b).await;
        // The sender refuses over its own limit.
        assert!(matches!(
            b.net.send(a.id, vec![0; 1001]),
            Err(net::Error::TooLarge {
                len: 1001,
                max: 1000
            })
        ));
        // The receiver drops over its limit: just over (the frame read, then refused;
        // the stream goes on) and far over (the frame not read, the stream closed; the
        // next payload goes on a new one).
        // (One after the other: sent together they would travel in one frame.)
        a.net.send(b.id, vec![1; 1001]).unwrap();
        must_count(&a, "one failed", |c| c.send_failed == 1).await;
        a.net.send(b.id, vec![2; 100_000]).unwrap();
        must_count(&b, "two refused", |c| c.dropped_invalid == 2).await;
        must_count(&a, "two failed", |c| c.send_failed == 2).await;
        a.net.send(b.id, vec![3; 1000]).unwrap();
        assert_eq!(b.must_receive().await, (a.id, vec![3; 1000]));
        b.assert_inbox_empty();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown__should_stop_the_task_and_end_the_inbox() {
    bounded(async {
        let mut a = must_spawn(1, config(1 << 20, 16)).await;
        let b = must_spawn(2, config(1 << 20, 16)).await;
        connect_all(&[&a, &b]);
        must_be_admitted_both_ways(&a, &b).await;
        a.net.shutdown();
        assert!(matches!(
            a.net.send(b.id, vec![1]),
            Err(net::Error::Stopped)
        ));
        let end = tokio::time::timeout(WAIT, a.inbox.recv()).await.unwrap();
        assert!(end.is_none(), "inbox ends");
        must_eventually("b sees a gone", || !b.peer(&a.id).connected).await;
        // Dropping every handle also stops it.
        let Node { net, mut inbox, .. } = b;
        drop(net);
        let end = tokio::time::timeout(WAIT, inbox.recv()).await.unwrap();
        assert!(end.is_none());
    })
    .await;
}

/// A bare libp2p peer speaking the wire protocols directly, to act as a peer that
/// breaks the rules.
mod raw {
    use libp2p::futures::{AsyncReadExt as _, AsyncWriteExt as _};
    use libp2p::request_response::{self, cbor, ProtocolSupport};
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::{noise, tcp, yamux, StreamProtocol, Swarm};

    use super::*;
    use kms_node::net::wire::{self, Ack, Answer, HELLO_PROTOCOL, MSG_PROTOCOL};

    #[derive(NetworkBehaviour)]
    #[behaviour(prelude = "libp2p::swarm::derive_prelude")]
    pub struct Raw {
        pub hello: cbor::Behaviour<Hello, Ack>,
        pub stream: libp2p_stream::Behaviour,
    }

    pub fn must_swarm(keypair: Keypair) -> Swarm<Raw> {
        let config = request_response::Config::default();
        libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|_| Raw {
                hello: cbor::Behaviour::new(
                    [(StreamProtocol::new(HELLO_PROTOCOL), ProtocolSupport::Full)],
                    config.clone(),
                ),
                stream: libp2p_stream::Behaviour::new(),
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build()
    }

    /// Drives `swarm` until `pick` returns something, within [`WAIT`].
    pub async fn must_await<T>(
        swarm: &mut Swarm<Raw>,
        mut pick: impl FnMut(libp2p::swarm::SwarmEvent<RawEvent>) -> Option<T>,
    ) -> T {
        use libp2p::futures::StreamExt as _;
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(found) = pick(swarm.select_next_some().await) {
                    return found;
                }
            }
        })
        .await
        .expect("event in time")
    }

    /// Drives `swarm` while `work` runs, within [`WAIT`].
    pub async fn must_drive<T>(swarm: &mut Swarm<Raw>, work: impl Future<Output = T>) -> T {
        use libp2p::futures::StreamExt as _;
        let mut work = std::pin::pin!(work);
        tokio::time::timeout(WAIT, async {
            loop {
                tokio::select! {
                    out = &mut work => return out,
                    _ = swarm.select_next_some() => {}
                }
            }
        })
        .await
        .expect("done in time")
    }

    /// Opens a payload stream to `to`: `Some` once the receiver said it is ready,
    /// `None` if it closed the stream instead.
    pub async fn open(swarm: &mut Swarm<Raw>, to: libp2p::PeerId) -> Option<libp2p::Stream> {
        let mut control = swarm.behaviour().stream.new_control();
        must_drive(swarm, async move {
            let mut stream = control
                .open_stream(to, StreamProtocol::new(MSG_PROTOCOL))
                .await
                .unwrap();
            let mut first = [0u8];
            stream.read_exact(&mut first).await.ok()?;
            assert_eq!(Answer::from_byte(first[0]), Some(Answer::Ready));
            Some(stream)
        })
        .await
    }

    /// Writes `bytes` on `stream` and reads one answer; `None` if the stream closes.
    pub async fn exchange(
        swarm: &mut Swarm<Raw>,
        stream: &mut libp2p::Stream,
        bytes: &[u8],
    ) -> Option<Answer> {
        must_drive(swarm, async {
            stream.write_all(bytes).await.ok()?;
            stream.flush().await.ok()?;
            let mut answer = [0u8];
            stream.read_exact(&mut answer).await.ok()?;
            Answer::from_byte(answer[0])
        })
        .await
    }

    /// One frame of `payloads`.
    pub fn frame(payloads: &[&[u8]]) -> Vec<u8> {
        let owned: Vec<Vec<u8>> = payloads.iter().map(|p| p.to_vec()).collect();
        wire::encode_frame(&owned).unwrap()
    }
}

/// A raw peer `r` (node id `[9; 32]`) that node `a` allows, connected to it.
async fn must_connect_raw(a: &Node) -> (libp2p::Swarm<raw::Raw>, NodeId, libp2p::PeerId) {
    use libp2p::swarm::SwarmEvent;
    let keypair = Keypair::generate_ed25519();
    let r_id: NodeId = [9; 32];
    let r_addr = ([127, 0, 0, 1], 9).into(); // never dialled successfully
    a.net.set_allowed(vec![AllowedPeer {
        node_id: r_id,
        p2p_key: p2p_key_of(&keypair).unwrap(),
        addr: r_addr,
    }]);
    a.net.set_hello(a.hello());
    let mut r = raw::must_swarm(keypair);
    let a_addr: libp2p::Multiaddr = format!("/ip4/127.0.0.1/tcp/{}", a.allowed.addr.port())
        .parse()
        .unwrap();
    let a_peer = a.net.local_peer_id();
    r.dial(
        libp2p::swarm::dial_opts::DialOpts::peer_id(a_peer)
            .addresses(vec![a_addr])
            .build(),
    )
    .unwrap();
    raw::must_await(&mut r, |e| {
        matches!(e, SwarmEvent::ConnectionEstablished { .. }).then_some(())
    })
    .await;
    (r, r_id, a_peer)
}

async fn raw_hello(r: &mut libp2p::Swarm<raw::Raw>, to: libp2p::PeerId, hello: Hello) -> Ack {
    use libp2p::request_response::{Event, Message};
    use libp2p::swarm::SwarmEvent;
    use raw::RawEvent;
    let id = r.behaviour_mut().hello.send_request(&to, hello);
    raw::must_await(r, |e| match e {
        SwarmEvent::Behaviour(RawEvent::Hello(Event::Message {
            message:
                Message::Response {
                    request_id,
                    response,
                },
            ..
        })) if request_id == id => Some(response),
        _ => None,
    })
    .await
}

/// Sends the raw peer's valid Hello; `to` must admit it.
async fn must_admit_raw(r: &mut libp2p::Swarm<raw::Raw>, to: libp2p::PeerId, r_id: NodeId) {
    let hello = Hello {
        evidence: evidence_of(&r_id),
        issued_at: unix_now(),
    };
    assert_eq!(raw_hello(r, to, hello).await, Ack::admitted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_from_a_peer_not_admitted__should_be_dropped_and_counted() {
    bounded(async {
        let mut a = must_spawn(1, config(1 << 20, 16)).await;
        let (mut r, r_id, a_peer) = must_connect_raw(&a).await;
        let mut stream = raw::open(&mut r, a_peer).await.expect("stream accepted");

        // No Hello at all.
        let answer = raw::exchange(&mut r, &mut stream, &raw::frame(&[b"no hello"])).await;
        assert_eq!(answer, Some(Answer::NotAdmitted));
        assert_eq!(a.net.counters().dropped_not_admitted, 1);
        // A refused Hello.
        let ack = raw_hello(
            &mut r,
            a_peer,
            Hello {
                evidence: b"forged".to_vec(),
                issued_at: unix_now(),
            },
        )
        .await;
        assert_eq!(ack, Ack::refused("evidence does not bind this node"));
        let answer = raw::exchange(&mut r, &mut stream, &raw::frame(&[b"x", b"y"])).await;
        assert_eq!(answer, Some(Answer::NotAdmitted));
        assert_eq!(a.net.counters().dropped_not_admitted, 3);
        let seen = a.peer(&r_id);
        assert!(seen.connected && !seen.admitted);
        assert_eq!(
            seen.verdict.as_deref(),
            Some("evidence does not bind this node")
        );
        a.assert_inbox_empty();
        // An admitted Hello: delivered on the same stream, with the authenticated
        // sender's id.
        must_admit_raw(&mut r, a_peer, r_id).await;
        let answer = raw::exchange(&mut r, &mut stream, &raw::frame(&[b"admitted"])).await;
        assert_eq!(answer, Some(Answer::Delivered));
        assert_eq!(a.must_receive().await, (r_id, b"admitted".to_vec()));
        assert_eq!(a.net.counters().delivered, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames__should_be_refused_or_close_the_stream_and_be_counted() {
    bounded(async {
        let mut a = must_spawn(1, config(1000, 16)).await;
        let (mut r, r_id, a_peer) = must_connect_raw(&a).await;
        must_admit_raw(&mut r, a_peer, r_id).await;
        let mut stream = raw::open(&mut r, a_peer).await.expect("stream accepted");
        // Readable but wrong: refused, and the stream goes on.
        let cut = [0, 0, 0, 6, 0, 0, 0, 9, 1, 2]; // an item longer than the body
        let empty = [0, 0, 0, 0];
        let oversize = raw::frame(&[&[1u8; 1001]]);
        let too_many = raw::frame(&vec![&b""[..]; 257]);
        for (what, bytes) in [
            ("cut", &cut[..]),
            ("empty", &empty[..]),
            ("oversize", &oversize),
            ("too many", &too_many),
        ] {
            let answer = raw::exchange(&mut r, &mut stream, bytes).await;
            assert_eq!(answer, Some(Answer::Invalid), "{what}");
        }
        assert_eq!(a.net.counters().dropped_invalid, 4);
        let answer = raw::exchange(&mut r, &mut stream, &raw::frame(&[b"fine"])).await;
        assert_eq!(answer, Some(Answer::Delivered));
        assert_eq!(a.must_receive().await, (r_id, b"fine".to_vec()));
        // A length over the limit: not read, the stream closed.
        let answer = raw::exchange(&mut r, &mut stream, &[0, 0, 0x10, 0]).await;
        assert_eq!(answer, None);
        assert_eq!(a.net.counters().dropped_invalid, 5);
        // A new stream works.
        let mut stream = raw::open(&mut r, a_peer).await.expect("stream accepted");
        let answer = raw::exchange(&mut r, &mut stream, &raw::frame(&[b"again"])).await;
        assert_eq!(answer, Some(Answer::Delivered));
        assert_eq!(a.must_receive().await, (r_id, b"again".to_vec()));
        a.assert_inbox_empty();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_streams__should_be_limited_per_peer() {
    bounded(async {
        let a = must_spawn(1, config(1 << 20, 16)).await;
        let (mut r, _, a_peer) = must_connect_raw(&a).await;
        let mut open = Vec::new();
        for i in 0..4 {
            open.push(
                raw::open(&mut r, a_peer)
                    .await
                    .unwrap_or_else(|| panic!("stream {i}")),
            );
        }
        assert!(
            raw::open(&mut r, a_peer).await.is_none(),
            "a fifth is closed"
        );
        // Closing one frees its place (once a's reader has seen it end).
        drop(open.pop());
        let mut reopened = None;
        for _ in 0..50 {
            reopened = raw::open(&mut r, a_peer).await;
            if reopened.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(reopened.is_some(), "a freed place is taken again");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn__should_refuse_a_taken_port_a_zero_dial_interval_and_a_huge_payload_limit() {
    bounded(async {
        let a = must_spawn(1, config(1 << 20, 16)).await;
        let taken = NetConfig {
            listen: a.allowed.addr,
            ..config(1 << 20, 16)
        };
        let err = net::spawn(taken, FakeAdmit::new()).await.unwrap_err();
        assert!(matches!(err, net::Error::ListenerFailed { .. }), "{err}");
        let zero = NetConfig {
            dial_interval: Duration::ZERO,
            ..config(1 << 20, 16)
        };
        let err = net::spawn(zero, FakeAdmit::new()).await.unwrap_err();
        assert!(matches!(err, net::Error::InvalidConfig(_)), "{err}");
        // Frame lengths are u32: a payload limit over 1 GiB cannot work.
        let huge = NetConfig {
            max_payload: (1 << 30) + 1,
            ..config(1 << 20, 16)
        };
        let err = net::spawn(huge, FakeAdmit::new()).await.unwrap_err();
        assert!(matches!(err, net::Error::InvalidConfig(_)), "{err}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_frame__should_fail_and_close_the_connection_after_the_timeout() {
    use libp2p::futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
    use libp2p::request_response::{Event, Message};
    use libp2p::swarm::SwarmEvent;
    use raw::RawEvent;

    let bound = net::REQUEST_TIMEOUT + Duration::from_secs(15);
    tokio::time::timeout(bound, async {
        let a = must_spawn(1, config(1 << 20, 16)).await;
        let (mut r, r_id, a_peer) = must_connect_raw(&a).await;
        let mut incoming = r
            .behaviour()
            .stream
            .new_control()
            .accept(libp2p::StreamProtocol::new(net::wire::MSG_PROTOCOL))
            .unwrap();
        // Admission both ways: r admits a's Hello (sent as the connection opened), a
        // admits r's.
        let channel = raw::must_await(&mut r, |e| match e {
            SwarmEvent::Behaviour(RawEvent::Hello(Event::Message {
                message: Message::Request { channel, .. },
                ..
            })) => Some(channel),
            _ => None,
        })
        .await;
        r.behaviour_mut()
            .hello
            .send_response(channel, Ack::admitted())
            .unwrap();
        must_admit_raw(&mut r, a_peer, r_id).await;
        must_eventually("a may send to r", || {
            let seen = a.peer(&r_id);
            seen.admitted && seen.accepted_by_peer == Some(true)
        })
        .await;
        // a opens its payload stream and sends a frame, which r reads and never answers.
        a.net.send(r_id, b"never answered".to_vec()).unwrap();
        let (from, mut stream) = raw::must_drive(&mut r, incoming.next()).await.unwrap();
        assert_eq!(from, a_peer);
        let frame = raw::must_drive(&mut r, async {
            stream.write_all(&[Answer::Ready as u8]).await.unwrap();
            stream.flush().await.unwrap();
            let mut frame = vec![0u8; 4 + 4 + 14];
            stream.read_exact(&mut frame).await.unwrap();
            frame
        })
        .await;
        assert_eq!(&frame[8..], b"never answered");
        let sent_at = tokio::time::Instant::now();
        // a gives up on the link: the connection closes, the payload counts as failed.
        loop {
            if let SwarmEvent::ConnectionClosed { .. } = r.select_next_some().await {
                break;
            }
        }
        assert!(
            sent_at.elapsed() + Duration::from_secs(1) >= net::REQUEST_TIMEOUT,
            "closed only at the deadline"
        );
        must_count(&a, "the frame failed", |c| c.send_failed == 1).await;
        assert_eq!(a.net.counters().sent, 0);
        drop(stream);
    })
    .await
    .expect("test finished in time");
}
