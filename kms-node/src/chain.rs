//! The node's view of the governance contract (DESIGN §2, §6): what it reads, at which
//! block, and how old that block is.
//!
//! - [`ReadGovernance`] is the capability: the chain's head, and one typed
//!   [`GovernanceView`] of the contract with every read pinned to the same block.
//!   [`rpc::RpcGovernance`] implements it over JSON-RPC; `kms_node::testing::chain` has
//!   an in-memory fake.
//! - [`watcher`] polls it, publishes a new view whenever the pinned block advances, and
//!   says when the view is stale ([`watcher::Stale`]): a node whose view is stale
//!   releases no key.
//!
//! # Which block
//!
//! The node reads at `head - confirmation_depth` ([`pinned_block`]). The configuration
//! refuses a depth of 0 (`config::Error::ConfirmationDepth`), so the node never reads
//! unconfirmed state, and the `finalized` tag is not used: a devnet anvil's `finalized`
//! trails `latest` by many blocks, and on chains where finality lags the depth is the
//! operator's explicit choice. The view's age is that of its pinned block
//! (`now - block.timestamp`), which is what `chain.max_head_age` bounds.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use attestation_gate::Policy;
use governance_contract::policy::OnChainPolicy;
pub use governance_contract::release::AppApproval;
use governance_contract::{EpochInfo, NodePlatform, NodeRecord};

pub mod rpc;
pub mod watcher;

/// A node id: `keccak256(abi.encode(signer))`.
pub type NodeId = [u8; 32];

/// Why the chain could not be read. Messages only, so the error is `Clone` and can be
/// kept as the watcher's last error for `/status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint could not be used (bad URL, TLS set-up).
    #[error("chain endpoint {url:?} unusable: {reason}")]
    Endpoint {
        /// The configured URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The JSON-RPC request failed (unreachable, timeout, error response).
    #[error("chain RPC failed: {0}")]
    Rpc(String),
    /// The contract call failed (no contract at the address, or it reverted).
    #[error("governance contract call `{call}` failed: {reason}")]
    Call {
        /// The contract function.
        call: &'static str,
        /// Why.
        reason: String,
    },
    /// The contract returned a value this build cannot decode.
    #[error("governance contract returned a bad {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The chain has fewer blocks than the confirmation depth.
    #[error("chain head {head} is below the confirmation depth {depth}")]
    TooFewBlocks {
        /// The head.
        head: u64,
        /// The configured depth.
        depth: u64,
    },
    /// The endpoint does not know the pinned block.
    #[error("the chain endpoint has no block {0}")]
    MissingBlock(u64),
    /// A committee member has no record at the pinned block.
    #[error("committee member 0x{} has no node record", hex::encode(.0))]
    UnknownMember(NodeId),
}

/// The block a view was read at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    /// Block number.
    pub number: u64,
    /// Block timestamp (unix seconds).
    pub timestamp: u64,
}

/// A node's on-chain record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node id.
    pub node_id: NodeId,
    /// The account that registered it.
    pub operator: [u8; 20],
    /// The node's enclave-held signer (EVM address).
    pub signer: [u8; 20],
    /// Its platform (vendor and TEE family follow from it).
    pub platform: NodePlatform,
    /// Its p2p identity public key.
    pub p2p_key: Vec<u8>,
    /// Its Noise static public key (X25519).
    pub noise_key: [u8; 32],
    /// Where it listens.
    pub endpoint: String,
}

impl TryFrom<NodeRecord> for NodeInfo {
    type Error = Error;
    fn try_from(r: NodeRecord) -> Result<Self, Error> {
        let platform = r.platform().map_err(|e| Error::Decode {
            what: "node platform",
            reason: e.to_string(),
        })?;
        Ok(Self {
            node_id: r.node_id,
            operator: r.operator.into_array(),
            signer: r.signer.into_array(),
            platform,
            p2p_key: r.p2p_key,
            noise_key: r.noise_key,
            endpoint: r.endpoint,
        })
    }
}

/// The group keys an epoch's committee confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupKeys {
    /// BLS12-381 `PK` (G1 compressed).
    pub bls: [u8; 48],
    /// secp256k1 `P` (SEC1 compressed).
    pub secp: [u8; 33],
    /// The transcript hash the committee confirmed.
    pub transcript_hash: [u8; 32],
}

/// The serving epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveEpoch {
    /// Epoch number (≥ 1).
    pub number: u64,
    /// Threshold `t`.
    pub threshold: u16,
    /// Node ids in party order (party index = position + 1).
    pub committee: Vec<NodeId>,
    /// The confirmed group keys.
    pub keys: GroupKeys,
}

/// A committee transition waiting for its members' confirmations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEpoch {
    /// Epoch number.
    pub number: u64,
    /// Threshold `t'`.
    pub threshold: u16,
    /// Node ids in party order.
    pub committee: Vec<NodeId>,
    /// Block time of the proposal that made it (unix seconds): the common clock of its
    /// DKG or reshare attempts ([`crate::protocol::driver::Schedule`]).
    pub created_at: u64,
    /// Block time after which it may activate on `min(n', 2t'-1)` matching
    /// confirmations.
    pub deadline: u64,
}

/// The contract's state at one block.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GovernanceView {
    /// The block every value was read at.
    pub block: BlockRef,
    /// The serving epoch (`None` before genesis).
    pub active: Option<ActiveEpoch>,
    /// The transition under way, if any.
    pub pending: Option<PendingEpoch>,
    /// The record of every member of the active and the pending committee.
    pub nodes: BTreeMap<NodeId, NodeInfo>,
    /// The network's own app (`nodeAppId`): approvals of kms-node builds.
    pub node_app_id: [u8; 32],
    /// The measurements approved for [`GovernanceView::node_app_id`].
    pub node_measurements: BTreeSet<[u8; 32]>,
    /// The network policy as the contract holds it.
    pub on_chain_policy: OnChainPolicy,
    /// The policy peers (kms-node builds) are appraised with: the on-chain network
    /// values ([`governance_contract::policy::attestation_policy`]) and
    /// [`GovernanceView::node_measurements`].
    pub policy: Policy,
}

impl GovernanceView {
    /// Assembles a view, converting the contract's records into the node's types and
    /// deriving the peer policy. `records` must hold every member of `active` and
    /// `pending`.
    pub fn new(
        block: BlockRef,
        active: Option<EpochInfo>,
        pending: Option<EpochInfo>,
        records: impl IntoIterator<Item = NodeRecord>,
        node_app_id: [u8; 32],
        measurements: impl IntoIterator<Item = [u8; 32]>,
        on_chain_policy: OnChainPolicy,
    ) -> Result<Self, Error> {
        let nodes = records
            .into_iter()
            .map(|r| NodeInfo::try_from(r).map(|n| (n.node_id, n)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Self::with_nodes(
            block,
            active,
            pending,
            nodes,
            node_app_id,
            measurements,
            on_chain_policy,
        )
    }

    /// [`GovernanceView::new`] with the records already converted, by node id.
    pub fn with_nodes(
        block: BlockRef,
        active: Option<EpochInfo>,
        pending: Option<EpochInfo>,
        nodes: BTreeMap<NodeId, NodeInfo>,
        node_app_id: [u8; 32],
        node_measurements: impl IntoIterator<Item = [u8; 32]>,
        on_chain_policy: OnChainPolicy,
    ) -> Result<Self, Error> {
        let active = active.map(active_epoch).transpose()?;
        let pending = pending.map(|e| PendingEpoch {
            number: e.epoch,
            threshold: e.threshold,
            committee: e.committee,
            created_at: e.created_at,
            deadline: e.deadline,
        });
        let members = active
            .iter()
            .flat_map(|e| &e.committee)
            .chain(pending.iter().flat_map(|e| &e.committee));
        for id in members {
            if !nodes.contains_key(id) {
                return Err(Error::UnknownMember(*id));
            }
        }
        let node_measurements: BTreeSet<[u8; 32]> = node_measurements.into_iter().collect();
        let policy = governance_contract::policy::attestation_policy(
            &on_chain_policy,
            node_measurements.iter().copied(),
        );
        Ok(Self {
            block,
            active,
            pending,
            nodes,
            node_app_id,
            node_measurements,
            on_chain_policy,
            policy,
        })
    }

    /// Whether `measurement` is an approved kms-node build at this block.
    pub fn is_node_build_approved(&self, measurement: &[u8; 32]) -> bool {
        self.node_measurements.contains(measurement)
    }

    /// Whether `id` is a member of the active or the pending committee.
    pub fn is_member(&self, id: &NodeId) -> bool {
        self.active.iter().any(|e| e.committee.contains(id))
            || self.pending.iter().any(|e| e.committee.contains(id))
    }

    /// The members of the active committee with their records, in party order.
    pub fn active_members(&self) -> impl Iterator<Item = &NodeInfo> {
        self.active
            .iter()
            .flat_map(|e| &e.committee)
            .filter_map(|id| self.nodes.get(id))
    }

    /// The members of the pending committee with their records, in party order.
    pub fn pending_members(&self) -> impl Iterator<Item = &NodeInfo> {
        self.pending
            .iter()
            .flat_map(|e| &e.committee)
            .filter_map(|id| self.nodes.get(id))
    }
}

fn active_epoch(e: EpochInfo) -> Result<ActiveEpoch, Error> {
    let missing = |what: &'static str| Error::Decode {
        what: "active epoch",
        reason: format!("epoch {} is active without {what}", e.epoch),
    };
    let keys = GroupKeys {
        bls: e.bls_group_pk.ok_or_else(|| missing("a BLS group key"))?,
        secp: e
            .secp_group_pk
            .ok_or_else(|| missing("a secp256k1 group key"))?,
        transcript_hash: e
            .transcript_hash
            .ok_or_else(|| missing("a transcript hash"))?,
    };
    Ok(ActiveEpoch {
        number: e.epoch,
        threshold: e.threshold,
        committee: e.committee,
        keys,
    })
}

/// The block the node reads at: `head - depth`, or [`Error::TooFewBlocks`].
pub fn pinned_block(head: u64, depth: u64) -> Result<u64, Error> {
    head.checked_sub(depth)
        .ok_or(Error::TooFewBlocks { head, depth })
}

/// One event the contract emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEvent {
    /// The block it is in.
    pub block: u64,
    /// What happened, for the log (the decoded event, or its topic if this build does
    /// not know it).
    pub summary: String,
    /// Whether it may change a node's record: `NodeRegistered`, `NodeDeregistered`,
    /// `NodeEndpointChanged`, or an event this build cannot decode. The contract
    /// changes a record with no other call, so after any other event the watcher keeps
    /// the records it holds ([`ReadGovernance::read_at_known`]).
    pub changes_nodes: bool,
}

/// Reads the governance contract (STYLE §4: a capability named after the action).
///
/// Every value of one [`GovernanceView`] and every [`ReadGovernance::is_approved`]
/// answer comes from the block asked for, so a view never mixes two states.
///
/// The contract emits an event for every change (DESIGN §6), so a block range without
/// events ([`ReadGovernance::events`]) leaves the state as it was: the watcher then only
/// moves its view to the new block ([`ReadGovernance::block`]).
pub trait ReadGovernance: Send + Sync {
    /// The number of the chain's latest block.
    fn head(&self) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Block `number`'s number and timestamp.
    fn block(&self, number: u64) -> impl Future<Output = Result<BlockRef, Error>> + Send;

    /// The contract's events in blocks `from..=to`, oldest first.
    fn events(
        &self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<ChainEvent>, Error>> + Send;

    /// The contract's state at block `number`.
    fn read_at(&self, number: u64) -> impl Future<Output = Result<GovernanceView, Error>> + Send;

    /// [`ReadGovernance::read_at`], with the record of every member found in `known`
    /// taken from there rather than read again: for a block range whose events change
    /// no record ([`ChainEvent::changes_nodes`]). Each confirmation of a transition is
    /// such an event, and reading a committee's records anew after each cost one call
    /// per member and node. By default every record is read.
    fn read_at_known(
        &self,
        number: u64,
        known: &BTreeMap<NodeId, NodeInfo>,
    ) -> impl Future<Output = Result<GovernanceView, Error>> + Send {
        let _ = known;
        self.read_at(number)
    }

    /// Whether `measurement` is approved for application `app_id` at block `number`.
    fn is_approved(
        &self,
        number: u64,
        app_id: [u8; 32],
        measurement: [u8; 32],
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// What the contract says at block `number` about `measurement` for `app_id`:
    /// approved, revoked (approved once and revoked since: a `MeasurementRevoked`
    /// event at or before `number`, and not approved again), never approved, or an
    /// unknown application (`app(appId)` reverts `UnknownApp`). The contract keeps no
    /// revoked set, so revoked and never approved are told apart by the events.
    fn app_approval(
        &self,
        number: u64,
        app_id: [u8; 32],
        measurement: [u8; 32],
    ) -> impl Future<Output = Result<AppApproval, Error>> + Send;
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use alloy::primitives::Address;
    use governance_contract::{EpochStatus, NetworkPolicy};

    use super::*;

    fn record(key: u8, platform: u8) -> NodeRecord {
        NodeRecord {
            node_id: [key; 32],
            operator: Address::repeat_byte(0x10),
            signer: Address::repeat_byte(key),
            vendor_code: 0,
            platform_code: platform,
            tee_family_code: 0,
            registered_at: 0,
            noise_key: [key; 32],
            p2p_key: vec![key; 4],
            endpoint: format!("n{key}"),
        }
    }

    fn epoch(number: u64, status: EpochStatus, committee: &[u8], keys: bool) -> EpochInfo {
        EpochInfo {
            epoch: number,
            status,
            threshold: 2,
            committee: committee.iter().map(|k| [*k; 32]).collect(),
            created_at: 0,
            activated_at: keys.then_some(1),
            transcript_hash: keys.then_some([3; 32]),
            bls_group_pk: keys.then_some([4; 48]),
            secp_group_pk: keys.then_some([5; 33]),
            confirmations: 0,
            deadline: 99,
            not_confirmed: vec![],
        }
    }

    fn view(
        active: Option<EpochInfo>,
        pending: Option<EpochInfo>,
        records: Vec<NodeRecord>,
    ) -> Result<GovernanceView, Error> {
        GovernanceView::new(
            BlockRef {
                number: 7,
                timestamp: 70,
            },
            active,
            pending,
            records,
            [0xaa; 32],
            [[1; 32]],
            OnChainPolicy {
                allowed_platforms: 0,
                values: NetworkPolicy::default(),
            },
        )
    }

    #[test]
    fn governance_view__should_decode_epochs_and_records_in_party_order() {
        let tdx = NodePlatform::hardware(governance_contract::Platform::Tdx)
            .unwrap()
            .code();
        let v = view(
            Some(epoch(1, EpochStatus::Active, &[2, 1], true)),
            Some(epoch(2, EpochStatus::Pending, &[3, 1], false)),
            vec![record(1, tdx), record(2, tdx), record(3, tdx)],
        )
        .unwrap();
        let active = v.active.as_ref().unwrap();
        assert_eq!(
            active.keys,
            GroupKeys {
                bls: [4; 48],
                secp: [5; 33],
                transcript_hash: [3; 32]
            }
        );
        let ends = |it: &mut dyn Iterator<Item = &NodeInfo>| {
            it.map(|n| n.endpoint.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ends(&mut v.active_members()), ["n2", "n1"]);
        assert_eq!(ends(&mut v.pending_members()), ["n3", "n1"]);
        assert_eq!(v.pending.as_ref().unwrap().deadline, 99);
        assert!(v.is_node_build_approved(&[1; 32]) && !v.is_node_build_approved(&[2; 32]));
        assert!(v
            .policy
            .approved_measurements
            .contains(&attestation_gate::Measurement([1; 32])));
    }

    #[test]
    fn governance_view__should_refuse_a_member_without_record_a_keyless_active_epoch_and_an_unknown_platform(
    ) {
        let tdx = NodePlatform::hardware(governance_contract::Platform::Tdx)
            .unwrap()
            .code();
        let pending = || Some(epoch(2, EpochStatus::Pending, &[1, 2], false));
        assert_eq!(
            view(None, pending(), vec![record(1, tdx)]).unwrap_err(),
            Error::UnknownMember([2; 32])
        );
        let err = view(
            Some(epoch(1, EpochStatus::Active, &[1, 2], false)),
            None,
            vec![record(1, tdx), record(2, tdx)],
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    what: "active epoch",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = view(None, pending(), vec![record(1, tdx), record(2, 9)]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    what: "node platform",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn pinned_block__should_trail_the_head_by_the_depth_and_refuse_a_short_chain() {
        assert_eq!(pinned_block(10, 2), Ok(8));
        assert_eq!(pinned_block(2, 2), Ok(0));
        assert_eq!(
            pinned_block(1, 2),
            Err(Error::TooFewBlocks { head: 1, depth: 2 })
        );
    }
}
