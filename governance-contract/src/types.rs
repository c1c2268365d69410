//! Domain types for what the contract stores, converted from the generated ABI types
//! with `TryFrom` (every code and length is checked; nothing panics on chain data).
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
use alloy::primitives::{Address, Bytes, FixedBytes, U256};
use alloy::sol_types::SolValue;

use crate::bindings::Governance;
use crate::errors::Error;

mod platform;

pub use platform::{
    platform_bit, platforms_from_mask, platforms_mask, vendor_name, NodePlatform, Platform,
    TeeFamily, Vendor,
};

/// What a proposal does (its kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProposalKind {
    /// Approve a measurement for an application.
    Approve,
    /// Revoke a measurement (fast path).
    Revoke,
    /// Replace an application's council (voters, quorums, timelock).
    Council,
    /// Set the next committee.
    Committee,
    /// Cancel a stuck committee transition.
    CancelTransition,
    /// Switch the TEE-family diversity rule.
    FamilyCap,
    /// Set the platforms whose evidence nodes accept.
    Platforms,
    /// Switch the committee liveness rule.
    LivenessRule,
    /// Veto an open proposal of the same council (quorum, no timelock).
    Veto,
    /// Set the transition deadline.
    TransitionDeadline,
    /// Set the network's attestation values.
    NetworkPolicy,
}

impl ProposalKind {
    /// The on-chain code.
    pub fn code(self) -> u8 {
        match self {
            Self::Approve => 1,
            Self::Revoke => 2,
            Self::Council => 3,
            Self::Committee => 4,
            Self::CancelTransition => 5,
            Self::FamilyCap => 6,
            Self::Platforms => 7,
            Self::LivenessRule => 8,
            Self::Veto => 9,
            Self::TransitionDeadline => 10,
            Self::NetworkPolicy => 11,
        }
    }

    /// The name used in CLI output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Revoke => "revoke",
            Self::Council => "council",
            Self::Committee => "committee",
            Self::CancelTransition => "cancel_transition",
            Self::FamilyCap => "family_cap",
            Self::Platforms => "platforms",
            Self::LivenessRule => "liveness_rule",
            Self::Veto => "veto",
            Self::TransitionDeadline => "transition_deadline",
            Self::NetworkPolicy => "network_policy",
        }
    }
}

impl TryFrom<u8> for ProposalKind {
    type Error = Error;
    fn try_from(code: u8) -> Result<Self, Error> {
        match code {
            1 => Ok(Self::Approve),
            2 => Ok(Self::Revoke),
            3 => Ok(Self::Council),
            4 => Ok(Self::Committee),
            5 => Ok(Self::CancelTransition),
            6 => Ok(Self::FamilyCap),
            7 => Ok(Self::Platforms),
            8 => Ok(Self::LivenessRule),
            9 => Ok(Self::Veto),
            10 => Ok(Self::TransitionDeadline),
            11 => Ok(Self::NetworkPolicy),
            c => Err(Error::UnknownCode {
                field: "proposal kind",
                value: c.into(),
            }),
        }
    }
}

/// Where a proposal is in its life-cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProposalState {
    /// Fewer votes than its quorum.
    Pending,
    /// Quorum reached, timelock running.
    Queued,
    /// Executable now.
    Ready,
    /// Executed.
    Executed,
    /// Cancelled by its proposer.
    Cancelled,
    /// Not executed before it expired.
    Expired,
    /// An approval whose measurement was revoked after it was proposed: it can never
    /// execute (a stale approval cannot undo a revocation).
    Voided,
    /// Vetoed by its council.
    Vetoed,
}

impl ProposalState {
    /// The name used in CLI output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
            Self::Ready => "ready",
            Self::Executed => "executed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Voided => "voided",
            Self::Vetoed => "vetoed",
        }
    }
}

impl TryFrom<u8> for ProposalState {
    type Error = Error;
    fn try_from(code: u8) -> Result<Self, Error> {
        match code {
            1 => Ok(Self::Pending),
            2 => Ok(Self::Queued),
            3 => Ok(Self::Ready),
            4 => Ok(Self::Executed),
            5 => Ok(Self::Cancelled),
            6 => Ok(Self::Expired),
            7 => Ok(Self::Voided),
            8 => Ok(Self::Vetoed),
            c => Err(Error::UnknownCode {
                field: "proposal state",
                value: c.into(),
            }),
        }
    }
}

/// A proposal's decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProposalAction {
    /// Approve `measurement`.
    Approve {
        /// The 32-byte measurement digest.
        measurement: [u8; 32],
    },
    /// Revoke `measurement`.
    Revoke {
        /// The 32-byte measurement digest.
        measurement: [u8; 32],
    },
    /// Replace the council.
    Council {
        /// The new voters.
        voters: Vec<Address>,
        /// Votes needed for ordinary proposals.
        quorum: u16,
        /// Votes needed for revocations.
        revoke_quorum: u16,
        /// Seconds between reaching quorum and execution.
        timelock: u64,
    },
    /// Set the next committee.
    Committee {
        /// Node ids in party order (party index = position + 1).
        committee: Vec<[u8; 32]>,
        /// The threshold `t`.
        threshold: u16,
    },
    /// Cancel the pending transition to `epoch`.
    CancelTransition {
        /// The pending epoch.
        epoch: u64,
    },
    /// Switch the TEE-family rule.
    FamilyCap {
        /// Whether the rule applies.
        enabled: bool,
    },
    /// Set the allowed platforms.
    Platforms {
        /// The `allowedPlatforms` mask (see [`platform_bit`]).
        mask: u32,
    },
    /// Switch the liveness rule.
    LivenessRule {
        /// Whether the rule applies.
        enabled: bool,
    },
    /// Veto proposal `target`.
    Veto {
        /// The vetoed proposal's id.
        target: u64,
    },
    /// Set the transition deadline.
    TransitionDeadline {
        /// Seconds.
        seconds: u64,
    },
    /// Set the network's attestation values.
    NetworkPolicy(NetworkPolicy),
}

impl ProposalAction {
    /// Decodes `payload` of a proposal of `kind` (the contract's `abi.encode`).
    pub fn decode(kind: ProposalKind, payload: &[u8]) -> Result<Self, Error> {
        let bad = |_| Error::BadPayload { kind: kind.name() };
        Ok(match kind {
            ProposalKind::Approve => Self::Approve {
                measurement: FixedBytes::<32>::abi_decode(payload).map_err(bad)?.0,
            },
            ProposalKind::Revoke => Self::Revoke {
                measurement: FixedBytes::<32>::abi_decode(payload).map_err(bad)?.0,
            },
            ProposalKind::Council => {
                let (voters, quorum, revoke_quorum, timelock) =
                    <(Vec<Address>, u16, u16, u64)>::abi_decode_params(payload).map_err(bad)?;
                Self::Council {
                    voters,
                    quorum,
                    revoke_quorum,
                    timelock,
                }
            }
            ProposalKind::Committee => {
                let (committee, threshold) =
                    <(Vec<FixedBytes<32>>, u16)>::abi_decode_params(payload).map_err(bad)?;
                Self::Committee {
                    committee: committee.into_iter().map(|b| b.0).collect(),
                    threshold,
                }
            }
            ProposalKind::CancelTransition => Self::CancelTransition {
                epoch: u64::abi_decode(payload).map_err(bad)?,
            },
            ProposalKind::FamilyCap => Self::FamilyCap {
                enabled: bool::abi_decode(payload).map_err(bad)?,
            },
            ProposalKind::Platforms => Self::Platforms {
                mask: u32::abi_decode(payload).map_err(bad)?,
            },
            ProposalKind::LivenessRule => Self::LivenessRule {
                enabled: bool::abi_decode(payload).map_err(bad)?,
            },
            ProposalKind::Veto => Self::Veto {
                target: u64::try_from(U256::abi_decode(payload).map_err(bad)?).map_err(|_| {
                    Error::OutOfRange {
                        field: "veto target",
                    }
                })?,
            },
            ProposalKind::TransitionDeadline => Self::TransitionDeadline {
                seconds: u64::abi_decode(payload).map_err(bad)?,
            },
            ProposalKind::NetworkPolicy => Self::NetworkPolicy(
                NetworkPolicy::decode(payload)
                    .map_err(|_| Error::BadPayload { kind: kind.name() })?,
            ),
        })
    }

    /// This action's kind.
    pub fn kind(&self) -> ProposalKind {
        match self {
            Self::Approve { .. } => ProposalKind::Approve,
            Self::Revoke { .. } => ProposalKind::Revoke,
            Self::Council { .. } => ProposalKind::Council,
            Self::Committee { .. } => ProposalKind::Committee,
            Self::CancelTransition { .. } => ProposalKind::CancelTransition,
            Self::FamilyCap { .. } => ProposalKind::FamilyCap,
            Self::Platforms { .. } => ProposalKind::Platforms,
            Self::LivenessRule { .. } => ProposalKind::LivenessRule,
            Self::Veto { .. } => ProposalKind::Veto,
            Self::TransitionDeadline { .. } => ProposalKind::TransitionDeadline,
            Self::NetworkPolicy(_) => ProposalKind::NetworkPolicy,
        }
    }
}

alloy::sol! {
    /// The contract's `NetworkPolicy` (its ABI encoding is what `proposeNetworkPolicy`
    /// takes and `networkPolicy()` returns).
    #[allow(missing_docs)]
    struct NetworkPolicyAbi {
        uint40[3] snpMinTcb;
        uint32 dcapMinTcbEvaluationDataNumber;
        uint64 dcapMaxCollateralAge;
        uint64 maxEvidenceAge;
    }
}

/// The network-wide attestation values voters set on chain (DESIGN.md §5), as stored:
/// `0` means "not set" in every field. [`crate::policy`] turns them, with the allowed
/// platforms and the approvals, into an `attestation_gate::Policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkPolicy {
    /// SEV-SNP minimum REPORTED_TCB per product line, `[Milan, Genoa, Turin]`, each the
    /// SPLs packed big-endian in 40 bits: `fmc, bootloader, tee, snp, microcode` (fmc:
    /// Turin only). `0`: no floor, so that line's evidence is refused.
    pub snp_min_tcb: [u64; 3],
    /// TDX/SGX minimum `tcbEvaluationDataNumber`. `0`: not checked.
    pub dcap_min_tcb_evaluation_data_number: u32,
    /// TDX/SGX maximum TCB-info age, seconds from its `issueDate`. `0`: not checked.
    pub dcap_max_collateral_age_secs: u64,
    /// Maximum evidence age, seconds. `0`: the node's default.
    pub max_evidence_age_secs: u64,
}

/// Largest value of a packed 40-bit SEV-SNP floor.
const SNP_FLOOR_MAX: u64 = (1 << 40) - 1;

impl NetworkPolicy {
    /// Packs SPLs into one on-chain floor value.
    pub fn pack_snp(fmc: u8, bootloader: u8, tee: u8, snp: u8, microcode: u8) -> u64 {
        u64::from_be_bytes([0, 0, 0, fmc, bootloader, tee, snp, microcode])
    }

    /// Unpacks an on-chain floor into `[fmc, bootloader, tee, snp, microcode]`.
    pub fn unpack_snp(packed: u64) -> [u8; 5] {
        let b = packed.to_be_bytes();
        [b[3], b[4], b[5], b[6], b[7]]
    }

    /// `abi.encode(NetworkPolicy)`: what `proposeNetworkPolicy` takes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut floors = [alloy::primitives::aliases::U40::ZERO; 3];
        for (out, v) in floors.iter_mut().zip(self.snp_min_tcb) {
            if v > SNP_FLOOR_MAX {
                return Err(Error::OutOfRange {
                    field: "snp_min_tcb",
                });
            }
            *out = alloy::primitives::aliases::U40::from(v);
        }
        Ok(NetworkPolicyAbi {
            snpMinTcb: floors,
            dcapMinTcbEvaluationDataNumber: self.dcap_min_tcb_evaluation_data_number,
            dcapMaxCollateralAge: self.dcap_max_collateral_age_secs,
            maxEvidenceAge: self.max_evidence_age_secs,
        }
        .abi_encode())
    }

    /// Decodes `abi.encode(NetworkPolicy)`; empty bytes (nothing set yet) give the
    /// all-unset default.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        let v = NetworkPolicyAbi::abi_decode(bytes).map_err(|_| Error::BadPayload {
            kind: "network_policy",
        })?;
        let mut snp_min_tcb = [0u64; 3];
        for (out, f) in snp_min_tcb.iter_mut().zip(v.snpMinTcb) {
            *out = f.to::<u64>();
        }
        Ok(Self {
            snp_min_tcb,
            dcap_min_tcb_evaluation_data_number: v.dcapMinTcbEvaluationDataNumber,
            dcap_max_collateral_age_secs: v.dcapMaxCollateralAge,
            max_evidence_age_secs: v.maxEvidenceAge,
        })
    }
}

/// A proposal as `proposal(id)` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalInfo {
    /// Proposal id (1-based).
    pub id: u64,
    /// The application whose council votes on it (`nodeAppId` for network matters).
    pub app_id: [u8; 32],
    /// Who proposed it (its first vote).
    pub proposer: Address,
    /// What it does.
    pub action: ProposalAction,
    /// Its state at the block read.
    pub state: ProposalState,
    /// Votes of current voters.
    pub votes: u16,
    /// Votes it needs.
    pub required: u16,
    /// Block time of creation (unix seconds).
    pub created_at: u64,
    /// Earliest execution time, once the quorum was reached.
    pub eta: Option<u64>,
    /// Last second at which it can be voted or executed.
    pub expires_at: u64,
}

impl ProposalInfo {
    /// What it does.
    pub fn kind(&self) -> ProposalKind {
        self.action.kind()
    }
}

impl TryFrom<Governance::ProposalView> for ProposalInfo {
    type Error = Error;
    fn try_from(v: Governance::ProposalView) -> Result<Self, Error> {
        let kind = ProposalKind::try_from(v.kind)?;
        Ok(Self {
            id: u256_to_u64("proposal id", v.id)?,
            app_id: v.appId.0,
            proposer: v.proposer,
            action: ProposalAction::decode(kind, &v.payload)?,
            state: ProposalState::try_from(v.state)?,
            votes: v.votes,
            required: v.required,
            created_at: v.createdAt,
            eta: (v.eta != 0).then_some(v.eta),
            expires_at: v.expiresAt,
        })
    }
}

/// An application's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInfo {
    /// `keccak256(abi.encode(owner, salt))`.
    pub app_id: [u8; 32],
    /// The registering account.
    pub owner: Address,
    /// Its council's voters.
    pub voters: Vec<Address>,
    /// Votes needed for ordinary proposals.
    pub quorum: u16,
    /// Votes needed for revocations.
    pub revoke_quorum: u16,
    /// Seconds between reaching quorum and execution.
    pub timelock: u64,
    /// Approved measurement digests, in no particular order.
    pub measurements: Vec<[u8; 32]>,
}

impl From<Governance::AppView> for AppInfo {
    fn from(v: Governance::AppView) -> Self {
        Self {
            app_id: v.appId.0,
            owner: v.owner,
            voters: v.voters,
            quorum: v.quorum,
            revoke_quorum: v.revokeQuorum,
            timelock: v.timelock,
            measurements: v.measurements.into_iter().map(|m| m.0).collect(),
        }
    }
}

/// A registered node. Codes are kept raw where a newer contract could write one this
/// build does not know, so a reader can still show the rest ([`NodeRecord::vendor`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// `keccak256(abi.encode(signer))` ([`node_id`]).
    pub node_id: [u8; 32],
    /// The account that registered it and pays: changes its endpoint, deregisters it.
    pub operator: Address,
    /// The node's enclave-held key: signed the registration, confirms epochs.
    pub signer: Address,
    /// Hardware vendor code (derived from the platform by the contract).
    pub vendor_code: u8,
    /// Node platform code.
    pub platform_code: u8,
    /// TEE family code.
    pub tee_family_code: u8,
    /// Block time of registration.
    pub registered_at: u64,
    /// The node's Noise static public key (X25519).
    pub noise_key: [u8; 32],
    /// The node's p2p identity public key (encoding chosen by kms-node).
    pub p2p_key: Vec<u8>,
    /// Where the node listens (one or more, comma-separated).
    pub endpoint: String,
}

impl NodeRecord {
    /// The vendor, if this build knows its code ([`Vendor::from_code`]).
    pub fn vendor(&self) -> Result<Vendor, Error> {
        Ok(Vendor::from_code(self.vendor_code)?)
    }

    /// The platform, if this build knows its code.
    pub fn platform(&self) -> Result<NodePlatform, Error> {
        NodePlatform::try_from(self.platform_code)
    }

    /// The TEE family, if this build knows its code.
    pub fn tee_family(&self) -> Result<TeeFamily, Error> {
        TeeFamily::try_from(self.tee_family_code)
    }
}

impl From<Governance::NodeView> for NodeRecord {
    fn from(v: Governance::NodeView) -> Self {
        Self {
            node_id: v.nodeId.0,
            operator: v.operator,
            signer: v.signer,
            vendor_code: v.vendor,
            platform_code: v.platform,
            tee_family_code: v.teeFamily,
            registered_at: v.registeredAt,
            noise_key: v.noiseKey.0,
            p2p_key: v.p2pKey.to_vec(),
            endpoint: v.endpoint,
        }
    }
}

/// An epoch's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EpochStatus {
    /// No such epoch (epoch 0 before genesis).
    None,
    /// Committee set, waiting for every member's confirmation.
    Pending,
    /// The serving epoch.
    Active,
    /// Replaced by a later epoch.
    Superseded,
    /// Cancelled by governance before activation.
    Cancelled,
}

impl TryFrom<u8> for EpochStatus {
    type Error = Error;
    fn try_from(code: u8) -> Result<Self, Error> {
        match code {
            0 => Ok(Self::None),
            1 => Ok(Self::Pending),
            2 => Ok(Self::Active),
            3 => Ok(Self::Superseded),
            4 => Ok(Self::Cancelled),
            c => Err(Error::UnknownCode {
                field: "epoch status",
                value: c.into(),
            }),
        }
    }
}

/// An epoch: committee, threshold and (once active) the confirmed group keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochInfo {
    /// Epoch number (0: none).
    pub epoch: u64,
    /// Its status.
    pub status: EpochStatus,
    /// The threshold `t`.
    pub threshold: u16,
    /// Node ids in party order (party index = position + 1).
    pub committee: Vec<[u8; 32]>,
    /// Block time at which the committee was set.
    pub created_at: u64,
    /// Block time of activation.
    pub activated_at: Option<u64>,
    /// The DKG/reshare transcript hash every member confirmed.
    pub transcript_hash: Option<[u8; 32]>,
    /// BLS12-381 group key `PK` (G1 compressed).
    pub bls_group_pk: Option<[u8; 48]>,
    /// secp256k1 group key `P` (SEC1 compressed).
    pub secp_group_pk: Option<[u8; 33]>,
    /// Confirmations received so far (any values).
    pub confirmations: u16,
    /// Block time after which the epoch may activate with `min(n, 2t - 1)` matching
    /// confirmations instead of all.
    pub deadline: u64,
    /// Members that confirmed nothing or other values (set at activation).
    pub not_confirmed: Vec<[u8; 32]>,
}

impl TryFrom<Governance::EpochView> for EpochInfo {
    type Error = Error;
    fn try_from(v: Governance::EpochView) -> Result<Self, Error> {
        Ok(Self {
            epoch: v.epoch,
            status: EpochStatus::try_from(v.status)?,
            threshold: v.threshold,
            committee: v.committee.into_iter().map(|b| b.0).collect(),
            created_at: v.createdAt,
            activated_at: (v.activatedAt != 0).then_some(v.activatedAt),
            transcript_hash: (v.transcriptHash != FixedBytes::ZERO).then_some(v.transcriptHash.0),
            bls_group_pk: optional_array("bls_group_pk", &v.blsGroupPk)?,
            secp_group_pk: optional_array("secp_group_pk", &v.secpGroupPk)?,
            confirmations: v.confirmations,
            deadline: v.deadline,
            not_confirmed: v.notConfirmed.into_iter().map(|b| b.0).collect(),
        })
    }
}

fn optional_array<const N: usize>(
    field: &'static str,
    b: &Bytes,
) -> Result<Option<[u8; N]>, Error> {
    if b.is_empty() {
        return Ok(None);
    }
    <[u8; N]>::try_from(b.as_ref())
        .map(Some)
        .map_err(|_| Error::BadLength {
            field,
            expected: N,
            got: b.len(),
        })
}

fn u256_to_u64(field: &'static str, v: U256) -> Result<u64, Error> {
    u64::try_from(v).map_err(|_| Error::OutOfRange { field })
}

/// `app_id = keccak256(abi.encode(owner, salt))`, as `registerApp` computes it. The
/// network's own `nodeAppId` is this with the contract's address and a zero salt.
pub fn app_id(owner: Address, salt: [u8; 32]) -> [u8; 32] {
    alloy::primitives::keccak256((owner, FixedBytes::<32>::from(salt)).abi_encode_params()).0
}

/// `node_id = keccak256(abi.encode(signer))`, as `registerNode` computes it: a node's
/// id follows from its enclave-held signer key, so nobody else can take it.
pub fn node_id(signer: Address) -> [u8; 32] {
    alloy::primitives::keccak256(signer.abi_encode()).0
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests;
