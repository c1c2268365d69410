//! N epoch managers in one process: an in-memory p2p link between their routers
//! ([`MemoryLinks`]) and a [`FakeGovernance`] chain (NEAR's fake indexer) whose
//! `confirm` activates the epoch once every member confirmed the same values, as the
//! contract does. The cluster tests (`tests/cluster.rs`) and the in-process column of
//! the network DKG bench run on it: everything a node does for a transition except the
//! transport (libp2p, Noise, TCP, admission) and the real chain.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::Address;
use ed25519_dalek::SigningKey;
use governance_contract::{EpochInfo, EpochStatus, NodeRecord};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::sync::watch;

use super::chain::FakeGovernance;
use super::MemoryShareStore;
use crate::chain::watcher::{ChainWatcher, WatchConfig};
use crate::node::confirm::ConfirmEpoch;
use crate::node::dkg_run::DkgContext;
use crate::node::epoch::{AllowPeers, EpochManager, Member};
use crate::node::keyring::KeyRing;
use crate::node::router::{MemoryLinks, NodeId, Router};
use crate::ops::metrics::Metrics;
use crate::ops::status::Status;
use crate::protocol::driver::{Deadlines, RetryPolicy};

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The confirmations the fake contract has seen: (epoch, node) → (transcript hash,
/// BLS group key, secp256k1 group key).
pub type Confirmations = Arc<Mutex<BTreeMap<(u64, NodeId), ([u8; 32], [u8; 48], [u8; 33])>>>;

/// `confirm` as the contract does it (all members of the pending epoch, same values →
/// active); `activate` with the contract's deadline rule. Confirmations are kept per
/// epoch.
pub struct FakeConfirm {
    chain: FakeGovernance,
    me: NodeId,
    seen: Confirmations,
}

impl ConfirmEpoch for FakeConfirm {
    async fn confirm(
        &self,
        epoch: u64,
        transcript_hash: [u8; 32],
        bls: [u8; 48],
        secp: [u8; 33],
    ) -> Result<(), String> {
        let all = {
            let mut seen = lock(&self.seen);
            seen.insert((epoch, self.me), (transcript_hash, bls, secp));
            seen.clone()
        };
        let mut result = Ok(());
        self.chain.mine_with(now(), |state| {
            let Some(p) = state.pending.clone() else {
                return;
            };
            if p.epoch != epoch {
                result = Err(format!("epoch {epoch} is not pending ({} is)", p.epoch));
                return;
            }
            let same = p
                .committee
                .iter()
                .all(|id| all.get(&(epoch, *id)) == Some(&(transcript_hash, bls, secp)));
            if same {
                state.active = Some(EpochInfo {
                    status: EpochStatus::Active,
                    activated_at: Some(now()),
                    transcript_hash: Some(transcript_hash),
                    bls_group_pk: Some(bls),
                    secp_group_pk: Some(secp),
                    ..p
                });
                state.pending = None;
            }
        });
        result
    }

    async fn chain_id(&self) -> Result<u64, String> {
        Ok(31337)
    }

    async fn activate(
        &self,
        epoch: u64,
        transcript_hash: [u8; 32],
        bls: [u8; 48],
        secp: [u8; 33],
    ) -> Result<(), String> {
        // The contract's deadline rule: at least min(n, 2t - 1) matching confirmations.
        let all = lock(&self.seen).clone();
        let mut result = Err("not enough confirmations".to_string());
        self.chain.mine_with(now(), |state| {
            let Some(p) = state.pending.clone().filter(|p| p.epoch == epoch) else {
                return;
            };
            let same = p
                .committee
                .iter()
                .filter(|id| all.get(&(epoch, **id)) == Some(&(transcript_hash, bls, secp)))
                .count();
            let needed = p.committee.len().min(2 * usize::from(p.threshold) - 1);
            if now() > p.deadline && same >= needed {
                state.active = Some(EpochInfo {
                    status: EpochStatus::Active,
                    activated_at: Some(now()),
                    transcript_hash: Some(transcript_hash),
                    bls_group_pk: Some(bls),
                    secp_group_pk: Some(secp),
                    ..p
                });
                state.pending = None;
                result = Ok(());
            }
        });
        result
    }
}

/// Peers need no allowing on [`MemoryLinks`].
pub struct NoPeers;

impl AllowPeers for NoPeers {
    fn allow(&self, _: Vec<Member>) {}
}

/// The deadlines and chain polling of a cluster's nodes.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// A protocol round's deadline.
    pub round: Duration,
    /// An attempt's deadline.
    pub attempt: Duration,
    /// How often each node's chain watcher polls the fake chain.
    pub poll: Duration,
}

impl Timing {
    /// Short deadlines for tests of a few nodes: a round 1 s, an attempt 8 s, polling
    /// every 50 ms.
    pub const TEST: Self = Self {
        round: Duration::from_secs(1),
        attempt: Duration::from_secs(8),
        poll: Duration::from_millis(50),
    };
}

/// One running node of a cluster.
pub struct Node {
    /// Its node id (`[i; 32]` for node `i`).
    pub id: NodeId,
    /// Its p2p signing key.
    pub key: SigningKey,
    /// The epoch manager's task.
    pub task: tokio::task::JoinHandle<()>,
    /// What `/status` would show.
    pub status: watch::Receiver<Status>,
    /// Its share store.
    pub store: Arc<Mutex<MemoryShareStore>>,
    /// The shares it serves.
    pub keyring: KeyRing,
    /// Its chain watcher (stops when dropped).
    pub watcher: ChainWatcher,
    /// Its data directory (removed when dropped).
    pub dir: tempfile::TempDir,
}

/// The on-chain record of node `id` with p2p key `p2p` on simulated vendor `vendor`.
pub fn record(id: NodeId, p2p: [u8; 32], vendor: u8) -> NodeRecord {
    NodeRecord {
        node_id: id,
        operator: Address::repeat_byte(0x10),
        signer: Address::repeat_byte(id[0]),
        vendor_code: 0,
        platform_code: 128 + vendor,
        tee_family_code: 0,
        registered_at: 0,
        noise_key: [id[0]; 32],
        p2p_key: p2p.to_vec(),
        endpoint: "p2p=127.0.0.1:9,app=127.0.0.1:9".into(),
    }
}

/// Proposes `committee` (node `i` is `[i; 32]`) with threshold `t` as epoch `epoch`,
/// deadline in an hour.
pub fn propose(chain: &FakeGovernance, epoch: u64, committee: &[u8], t: u16) {
    propose_until(chain, epoch, committee, t, now() + 3600);
}

/// [`propose`] with the transition deadline `deadline` (unix seconds).
pub fn propose_until(chain: &FakeGovernance, epoch: u64, committee: &[u8], t: u16, deadline: u64) {
    chain.mine_with(now(), |state| {
        state.pending = Some(EpochInfo {
            epoch,
            status: EpochStatus::Pending,
            threshold: t,
            committee: committee.iter().map(|i| [*i; 32]).collect(),
            created_at: now(),
            activated_at: None,
            transcript_hash: None,
            bls_group_pk: None,
            secp_group_pk: None,
            confirmations: 0,
            deadline,
            not_confirmed: vec![],
        });
    });
}

/// Registers nodes `1..=n` on `chain` (vendors 1, 2, 3 in turn; the same keys on
/// every call) and returns their ids and p2p keys.
pub fn register(chain: &FakeGovernance, n: u8) -> Vec<(NodeId, SigningKey)> {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let members: Vec<(NodeId, SigningKey)> = (1..=n)
        .map(|i| ([i; 32], SigningKey::generate(&mut rng)))
        .collect();
    chain.mine_with(now(), |state| {
        for (i, (id, key)) in members.iter().enumerate() {
            let vendor = (i % 3) as u8 + 1;
            state
                .nodes
                .insert(*id, record(*id, key.verifying_key().to_bytes(), vendor));
        }
    });
    members
}

/// Where a node runs: its links, its chain, the contract's confirmations, its timing.
#[derive(Clone)]
pub struct Env {
    /// The in-memory p2p links.
    pub links: MemoryLinks,
    /// The fake chain.
    pub chain: FakeGovernance,
    /// The fake contract's confirmations.
    pub seen: Confirmations,
    /// Deadlines and polling.
    pub timing: Timing,
}

impl Env {
    /// A node's environment with [`Timing::TEST`].
    pub fn new(links: &MemoryLinks, chain: &FakeGovernance, seen: &Confirmations) -> Self {
        Self {
            links: links.clone(),
            chain: chain.clone(),
            seen: Arc::clone(seen),
            timing: Timing::TEST,
        }
    }

    /// Starts node `id`'s epoch manager (again, for a restart) on `store` with `dir` as
    /// its data directory; must be called inside a tokio runtime.
    pub fn spawn(
        &self,
        id: NodeId,
        key: SigningKey,
        store: Arc<Mutex<MemoryShareStore>>,
        dir: tempfile::TempDir,
    ) -> Node {
        let router = Router::new();
        self.links.add(id, router.clone());
        let watcher = ChainWatcher::spawn(
            self.chain.clone(),
            WatchConfig {
                confirmation_depth: 1,
                poll_interval: self.timing.poll,
                max_head_age: Duration::from_secs(30),
            },
        );
        let (status_tx, status) = watch::channel(Status::new(hex::encode(id), true));
        let keyring = KeyRing::new();
        let manager = EpochManager {
            ctx: DkgContext {
                me: id,
                signer: Arc::new(key.clone()),
                router,
                link: self.links.link(id),
                policy: RetryPolicy {
                    max_attempts: 3,
                    deadlines: Deadlines {
                        round: self.timing.round,
                        attempt: self.timing.attempt,
                    },
                    exclude_silent: false,
                    schedule: None,
                },
            },
            store: Arc::clone(&store),
            confirm: Arc::new(FakeConfirm {
                chain: self.chain.clone(),
                me: id,
                seen: Arc::clone(&self.seen),
            }),
            data_dir: dir.path().to_path_buf(),
            status: status_tx,
            metrics: Arc::new(Metrics::new()),
            peers: Arc::new(NoPeers),
            max_head_age: Duration::from_secs(30),
            grace: Duration::from_secs(1),
            keyring: keyring.clone(),
        };
        let task = tokio::spawn(manager.run(watcher.subscribe()));
        Node {
            id,
            key,
            status,
            store,
            keyring,
            task,
            watcher,
            dir,
        }
    }

    /// Registers nodes `1..=n` and starts their managers (no committee yet), each with
    /// empty storage and a new temporary data directory.
    pub fn start_nodes(&self, n: u8) -> std::io::Result<Vec<Node>> {
        register(&self.chain, n)
            .into_iter()
            .map(|(id, key)| {
                let store = Arc::new(Mutex::new(MemoryShareStore::default()));
                Ok(self.spawn(id, key, store, tempfile::tempdir()?))
            })
            .collect()
    }
}

/// Mines a block every 50 ms so the head keeps moving (until aborted).
pub fn keep_mining(chain: &FakeGovernance) -> tokio::task::JoinHandle<()> {
    let chain = chain.clone();
    tokio::spawn(async move {
        loop {
            chain.mine(now());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Waits until every node of `nodes` serves epoch `epoch`, at most `bound`; `Err`
/// names the first that does not.
pub async fn wait_serving(nodes: &mut [Node], epoch: u64, bound: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + bound;
    for node in nodes.iter_mut() {
        let id = hex::encode(&node.id[..4]);
        tokio::time::timeout_at(
            deadline,
            node.status
                .wait_for(|s| s.serving && s.epoch.as_ref().is_some_and(|e| e.number == epoch)),
        )
        .await
        .map_err(|_| format!("node {id} does not serve epoch {epoch} within {bound:?}"))?
        .map_err(|_| format!("node {id} stopped"))?;
    }
    Ok(())
}
