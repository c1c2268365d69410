//! [`ReadGovernance`] from in-memory blocks that tests mine and change (NEAR's fake
//! indexer): each block carries the contract state as of that block, so reads pinned
//! to an older block see the older state, as on a real chain. A block whose state
//! differs from its parent's carries one event, as the contract emits one for every
//! change.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use governance_contract::policy::OnChainPolicy;
use governance_contract::{EpochInfo, NetworkPolicy, NodeRecord};

use crate::chain::{
    AppApproval, BlockRef, ChainEvent, Error, GovernanceView, NodeId, NodeInfo, ReadGovernance,
};

/// The contract's state in one block.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractState {
    /// The active epoch.
    pub active: Option<EpochInfo>,
    /// The pending epoch.
    pub pending: Option<EpochInfo>,
    /// Registered nodes.
    pub nodes: BTreeMap<[u8; 32], NodeRecord>,
    /// `nodeAppId`.
    pub node_app_id: [u8; 32],
    /// Approved measurements per app.
    pub approvals: BTreeMap<[u8; 32], BTreeSet<[u8; 32]>>,
    /// `networkPolicy()`.
    pub policy: OnChainPolicy,
}

impl Default for ContractState {
    fn default() -> Self {
        Self {
            active: None,
            pending: None,
            nodes: BTreeMap::new(),
            node_app_id: [0xaa; 32],
            approvals: BTreeMap::new(),
            policy: OnChainPolicy {
                allowed_platforms: 0,
                values: NetworkPolicy::default(),
            },
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Block `i` is `blocks[i]`.
    blocks: Vec<(u64, ContractState)>,
    /// While set, every call fails with it.
    failure: Option<Error>,
    /// One per block that changed the state.
    events: Vec<ChainEvent>,
    /// `read_at` and `read_at_known` calls so far.
    reads: usize,
    /// Node records read so far (not taken from what the caller knew).
    record_reads: usize,
}

/// A fake chain; clones share the same blocks.
#[derive(Debug, Clone, Default)]
pub struct FakeGovernance {
    inner: Arc<Mutex<Inner>>,
}

impl FakeGovernance {
    /// A chain with block 0 at `timestamp` and an empty contract.
    pub fn new(timestamp: u64) -> Self {
        let chain = Self::default();
        chain
            .lock()
            .blocks
            .push((timestamp, ContractState::default()));
        chain
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Mines a block at `timestamp` whose state is the previous block's changed by
    /// `change`; returns its number.
    pub fn mine_with(&self, timestamp: u64, change: impl FnOnce(&mut ContractState)) -> u64 {
        let mut inner = self.lock();
        let mut state = inner
            .blocks
            .last()
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        change(&mut state);
        let previous = inner.blocks.last().map(|(_, s)| s);
        let changed = previous.is_some_and(|s| *s != state);
        let changes_nodes = previous.is_some_and(|s| s.nodes != state.nodes);
        let number = u64::try_from(inner.blocks.len()).unwrap_or(u64::MAX);
        if changed {
            inner.events.push(ChainEvent {
                block: number,
                summary: "state changed".into(),
                changes_nodes,
            });
        }
        inner.blocks.push((timestamp, state));
        u64::try_from(inner.blocks.len().saturating_sub(1)).unwrap_or(u64::MAX)
    }

    /// Mines a block at `timestamp` without changing the contract.
    pub fn mine(&self, timestamp: u64) -> u64 {
        self.mine_with(timestamp, |_| {})
    }

    /// Makes every call fail with `failure` (`None`: answer again).
    pub fn set_failure(&self, failure: Option<Error>) {
        self.lock().failure = failure;
    }

    /// How many views were read.
    pub fn reads(&self) -> usize {
        self.lock().reads
    }

    /// How many node records were read (those a view took from what it knew are not).
    pub fn record_reads(&self) -> usize {
        self.lock().record_reads
    }

    /// The view at block `n`, with the records of `known` where it has them.
    fn read(&self, n: u64, known: &BTreeMap<NodeId, NodeInfo>) -> Result<GovernanceView, Error> {
        let mut inner = self.lock();
        inner.reads = inner.reads.saturating_add(1);
        let (timestamp, s) = Self::block(&inner, n)?;
        let timestamp = *timestamp;
        let s = s.clone();
        let members: BTreeSet<[u8; 32]> = s
            .active
            .iter()
            .chain(s.pending.iter())
            .flat_map(|e| e.committee.iter().copied())
            .collect();
        let mut nodes = BTreeMap::new();
        for id in members {
            let info = match known.get(&id) {
                Some(info) => info.clone(),
                None => {
                    inner.record_reads = inner.record_reads.saturating_add(1);
                    let record = s.nodes.get(&id).cloned().ok_or(Error::UnknownMember(id))?;
                    NodeInfo::try_from(record)?
                }
            };
            nodes.insert(id, info);
        }
        GovernanceView::with_nodes(
            BlockRef {
                number: n,
                timestamp,
            },
            s.active.clone(),
            s.pending.clone(),
            nodes,
            s.node_app_id,
            s.approvals
                .get(&s.node_app_id)
                .into_iter()
                .flatten()
                .copied(),
            s.policy,
        )
    }

    fn block(inner: &Inner, n: u64) -> Result<&(u64, ContractState), Error> {
        if let Some(e) = &inner.failure {
            return Err(e.clone());
        }
        usize::try_from(n)
            .ok()
            .and_then(|i| inner.blocks.get(i))
            .ok_or(Error::MissingBlock(n))
    }
}

impl ReadGovernance for FakeGovernance {
    async fn head(&self) -> Result<u64, Error> {
        let inner = self.lock();
        if let Some(e) = &inner.failure {
            return Err(e.clone());
        }
        Ok(u64::try_from(inner.blocks.len().saturating_sub(1)).unwrap_or(u64::MAX))
    }

    async fn block(&self, n: u64) -> Result<BlockRef, Error> {
        let inner = self.lock();
        let (timestamp, _) = Self::block(&inner, n)?;
        Ok(BlockRef {
            number: n,
            timestamp: *timestamp,
        })
    }

    async fn events(&self, from: u64, to: u64) -> Result<Vec<ChainEvent>, Error> {
        let inner = self.lock();
        Self::block(&inner, to)?;
        Ok(inner
            .events
            .iter()
            .filter(|e| (from..=to).contains(&e.block))
            .cloned()
            .collect())
    }

    async fn read_at(&self, n: u64) -> Result<GovernanceView, Error> {
        self.read(n, &BTreeMap::new())
    }

    async fn read_at_known(
        &self,
        n: u64,
        known: &BTreeMap<NodeId, NodeInfo>,
    ) -> Result<GovernanceView, Error> {
        self.read(n, known)
    }

    async fn is_approved(
        &self,
        n: u64,
        app_id: [u8; 32],
        measurement: [u8; 32],
    ) -> Result<bool, Error> {
        let inner = self.lock();
        let (_, s) = Self::block(&inner, n)?;
        Ok(s.approvals
            .get(&app_id)
            .is_some_and(|m| m.contains(&measurement)))
    }

    /// An app exists while it has an entry in `approvals` (possibly empty); a
    /// measurement is revoked when an earlier block approved it and block `n` does
    /// not (the contract's `MeasurementRevoked` event).
    async fn app_approval(
        &self,
        n: u64,
        app_id: [u8; 32],
        measurement: [u8; 32],
    ) -> Result<AppApproval, Error> {
        let inner = self.lock();
        let (_, s) = Self::block(&inner, n)?;
        let Some(approved) = s.approvals.get(&app_id) else {
            return Ok(AppApproval::UnknownApp);
        };
        if approved.contains(&measurement) {
            return Ok(AppApproval::Approved);
        }
        let end = usize::try_from(n).unwrap_or(usize::MAX);
        let was_approved = inner.blocks.iter().take(end).any(|(_, earlier)| {
            earlier
                .approvals
                .get(&app_id)
                .is_some_and(|m| m.contains(&measurement))
        });
        Ok(if was_approved {
            AppApproval::Revoked
        } else {
            AppApproval::NotApproved
        })
    }
}
