//! Errors: [`Error`] for chain data that does not convert into domain types, and
//! [`ContractError`], the contract's custom errors decoded from revert data with a
//! stable snake_case [`ContractError::kind`] (the `kms` CLI's error kinds).

use alloy::hex;
use alloy::sol_types::SolInterface;

use crate::bindings::Governance::GovernanceErrors;

/// Chain data that does not convert into a domain type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An enum code the contract never writes.
    #[error("unknown {field} code {value}")]
    UnknownCode {
        /// Which field.
        field: &'static str,
        /// The code read.
        value: u64,
    },
    /// A name that does not denote a known value.
    #[error("unknown {field} {value:?}")]
    UnknownName {
        /// Which field.
        field: &'static str,
        /// The name given.
        value: String,
    },
    /// A byte string of the wrong length.
    #[error("{field} has {got} bytes, expected {expected}")]
    BadLength {
        /// Which field.
        field: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A proposal payload that does not decode for its kind.
    #[error("the payload of a {kind} proposal does not decode")]
    BadPayload {
        /// The proposal kind.
        kind: &'static str,
    },
    /// A registration (file) that is malformed or whose signature does not check.
    #[error("bad registration: {reason}")]
    BadRegistration {
        /// What is wrong.
        reason: &'static str,
    },
    /// A hex field that does not decode.
    #[error("{field} is not hex")]
    BadHex {
        /// Which field.
        field: &'static str,
    },
    /// A number too large for its domain type.
    #[error("{field} is out of range")]
    OutOfRange {
        /// Which field.
        field: &'static str,
    },
}

/// A custom error the contract reverted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError(pub GovernanceErrors);

const RULES: [&str; 4] = ["?", "vendor", "operator", "TEE family"];

/// The contract's `MAX_TIMELOCK` (seconds): 365 days.
pub const MAX_TIMELOCK: u64 = 365 * 86_400;
/// The contract's `MAX_LIFETIME` (seconds): 365 days.
pub const MAX_LIFETIME: u64 = 365 * 86_400;
/// The contract's `MIN_TRANSITION_DEADLINE` (seconds).
pub const MIN_TRANSITION_DEADLINE: u64 = 60;
/// The contract's `MAX_TRANSITION_DEADLINE` (seconds): 30 days.
pub const MAX_TRANSITION_DEADLINE: u64 = 30 * 86_400;

impl ContractError {
    /// Decodes revert data (selector + arguments); `None` if it is not one of ours.
    pub fn decode(revert_data: &[u8]) -> Option<Self> {
        GovernanceErrors::abi_decode(revert_data).ok().map(Self)
    }

    /// Stable snake_case kind, e.g. `already_voted`, `timelock_pending`,
    /// `diversity_violation`.
    pub fn kind(&self) -> &'static str {
        use GovernanceErrors as E;
        match &self.0 {
            E::NotVoter(_) => "not_voter",
            E::AlreadyVoted(_) => "already_voted",
            E::UnknownProposal(_) => "unknown_proposal",
            E::ProposalClosed(_) => "proposal_closed",
            E::ProposalExpired(_) => "proposal_expired",
            E::QuorumNotReached(_) => "quorum_not_reached",
            E::TimelockPending(_) => "timelock_pending",
            E::NotProposer(_) => "not_proposer",
            E::UnknownApp(_) => "unknown_app",
            E::AppExists(_) => "app_exists",
            E::InvalidVoters(_) => "invalid_voters",
            E::DuplicateVoter(_) => "duplicate_voter",
            E::InvalidQuorum(_) => "invalid_quorum",
            E::InvalidLifetime(_) => "invalid_lifetime",
            E::InvalidTimelock(_) => "invalid_timelock",
            E::InvalidDeadline(_) => "invalid_deadline",
            E::InvalidNetworkPolicy(_) => "invalid_network_policy",
            E::ApprovalVoided(_) => "approval_voided",
            E::LivenessViolation(_) => "liveness_violation",
            E::DeadlineNotReached(_) => "deadline_not_reached",
            E::NotEnoughConfirmations(_) => "not_enough_confirmations",
            E::AlreadyApproved(_) => "already_approved",
            E::NotApproved(_) => "not_approved",
            E::InvalidMeasurement(_) => "invalid_measurement",
            E::UnknownNode(_) => "unknown_node",
            E::NodeExists(_) => "node_exists",
            E::NotOperator(_) => "not_operator",
            E::UnknownPlatform(_) => "unknown_platform",
            E::PlatformNotAllowed(_) => "platform_not_allowed",
            E::BadNodeSignature(_) => "bad_node_signature",
            E::NodeInCommittee(_) => "node_in_committee",
            E::InvalidNodeRecord(_) => "invalid_node_record",
            E::InvalidCommittee(_) => "invalid_committee",
            E::DuplicateNode(_) => "duplicate_node",
            E::ThresholdTooLow(_) => "threshold_too_low",
            E::ThresholdTooHigh(_) => "threshold_too_high",
            E::DiversityViolation(_) => "diversity_violation",
            E::TransitionPending(_) => "transition_pending",
            E::NoPendingTransition(_) => "no_pending_transition",
            E::WrongEpoch(_) => "wrong_epoch",
            E::NotCommitteeMember(_) => "not_committee_member",
            E::AlreadyConfirmed(_) => "already_confirmed",
            E::InvalidGroupKey(_) => "invalid_group_key",
            E::InvalidTranscript(_) => "invalid_transcript",
            E::GroupKeyMismatch(_) => "group_key_mismatch",
        }
    }

    /// One sentence a user can act on.
    // Longer than our ~80-line bound on purpose: a flat table with one arm per contract
    // error, read and reviewed against Governance.sol's error list side by side.
    pub fn message(&self) -> String {
        use GovernanceErrors as E;
        match &self.0 {
            E::NotVoter(e) => format!(
                "{} is not a voter of application {}",
                e.account,
                hex::encode(e.appId)
            ),
            E::AlreadyVoted(e) => format!("{} already voted for proposal {}", e.voter, e.id),
            E::UnknownProposal(e) => format!("there is no proposal {}", e.id),
            E::ProposalClosed(e) => format!(
                "proposal {} is closed (state {}), nothing more can happen to it",
                e.id,
                crate::ProposalState::try_from(e.state).map_or("unknown", |s| s.name())
            ),
            E::ProposalExpired(e) => {
                format!("proposal {} expired at unix time {}; propose it again", e.id, e.expiresAt)
            }
            E::QuorumNotReached(e) => format!(
                "proposal {} has {} of the {} votes it needs",
                e.id, e.votes, e.required
            ),
            E::TimelockPending(e) => format!(
                "proposal {} is timelocked until unix time {}; execute it after that",
                e.id, e.eta
            ),
            E::NotProposer(e) => {
                format!("only the proposer of proposal {} can cancel it, not {}", e.id, e.account)
            }
            E::UnknownApp(e) => format!("there is no application {}", hex::encode(e.appId)),
            E::AppExists(e) => format!(
                "application {} is already registered; use another salt",
                hex::encode(e.appId)
            ),
            E::InvalidVoters(e) => format!(
                "a council needs 1 to 64 distinct non-zero voters, got {}",
                e.count
            ),
            E::DuplicateVoter(e) => format!("voter {} is listed twice", e.voter),
            E::InvalidQuorum(e) => {
                format!("quorum {} is not between 1 and the {} voters", e.quorum, e.voters)
            }
            E::InvalidLifetime(e) => format!(
                "the proposal lifetime must be between 1 s and {MAX_LIFETIME} s (365 days), got {}",
                e.lifetime
            ),
            E::InvalidTimelock(e) => format!(
                "the timelock must be at most {MAX_TIMELOCK} s (365 days), got {}",
                e.timelock
            ),
            E::InvalidDeadline(e) => format!(
                "the transition deadline must be between {MIN_TRANSITION_DEADLINE} s and {MAX_TRANSITION_DEADLINE} s (30 days), got {}",
                e.deadline
            ),
            E::InvalidNetworkPolicy(_) => {
                "a network policy is abi.encode(NetworkPolicy): six 32-byte words".to_owned()
            }
            E::ApprovalVoided(e) => format!(
                "proposal {}'s measurement was revoked after it was proposed, so it can never execute; propose the approval again",
                e.id
            ),
            E::LivenessViolation(e) => format!(
                "losing one {} would leave {} members, below the threshold {}; rebalance the committee (or switch the liveness rule off)",
                RULES.get(usize::from(e.rule)).copied().unwrap_or("?"),
                e.remaining,
                e.threshold
            ),
            E::DeadlineNotReached(e) => format!(
                "epoch {} can activate without every member only after unix time {}",
                e.epoch, e.deadline
            ),
            E::NotEnoughConfirmations(e) => format!(
                "epoch {} has {} matching confirmations of these values, {} needed",
                e.epoch, e.matching, e.required
            ),
            E::AlreadyApproved(e) => format!(
                "measurement {} is already approved for application {}",
                hex::encode(e.measurement),
                hex::encode(e.appId)
            ),
            E::NotApproved(e) => format!(
                "measurement {} is not approved for application {}",
                hex::encode(e.measurement),
                hex::encode(e.appId)
            ),
            E::InvalidMeasurement(_) => "the measurement must not be all zeros".to_owned(),
            E::UnknownNode(e) => format!("there is no registered node {}", hex::encode(e.nodeId)),
            E::NodeExists(e) => format!("node {} is already registered", hex::encode(e.nodeId)),
            E::NotOperator(e) => format!(
                "{} is not the operator of node {}",
                e.account,
                hex::encode(e.nodeId)
            ),
            E::UnknownPlatform(e) => format!(
                "platform code {} is unknown; use tdx, sgx, sev-snp, nitro or simulated-N",
                e.platform
            ),
            E::PlatformNotAllowed(e) => format!(
                "platform code {} is not allowed by the network's governance (a platforms proposal changes that)",
                e.platform
            ),
            E::BadNodeSignature(e) => format!(
                "the registration is not signed by its signer {} for this operator, chain and contract; have the node write it again",
                e.signer
            ),
            E::NodeInCommittee(e) => format!(
                "node {} is in the committee of epoch {}; remove it from the committee first",
                hex::encode(e.nodeId),
                e.epoch
            ),
            E::InvalidNodeRecord(e) => format!(
                "the node record's {} is missing or too long",
                match e.field {
                    1 => "p2p key",
                    2 => "noise key",
                    3 => "vendor",
                    4 => "platform",
                    5 => "TEE family",
                    _ => "endpoint",
                }
            ),
            E::InvalidCommittee(e) => {
                format!("a committee needs 1 to 64 nodes, got {}", e.size)
            }
            E::DuplicateNode(e) => {
                format!("node {} appears twice in the committee", hex::encode(e.nodeId))
            }
            E::ThresholdTooLow(e) => format!(
                "threshold {} of {} members is below 2 (one member would hold the key); raise it",
                e.threshold, e.size
            ),
            E::ThresholdTooHigh(e) => {
                format!("threshold {} exceeds the {} members", e.threshold, e.size)
            }
            E::DiversityViolation(e) => format!(
                "one {} would hold {} seats, at or above the threshold {}; add members of other {}s",
                RULES.get(usize::from(e.rule)).copied().unwrap_or("?"),
                e.seats,
                e.threshold,
                RULES.get(usize::from(e.rule)).copied().unwrap_or("?"),
            ),
            E::TransitionPending(e) => format!(
                "epoch {} is still waiting for confirmations; cancel it first",
                e.epoch
            ),
            E::NoPendingTransition(_) => "no committee transition is pending".to_owned(),
            E::WrongEpoch(e) => {
                format!("epoch {} is not the pending epoch ({})", e.epoch, e.pending)
            }
            E::NotCommitteeMember(e) => format!(
                "node {} is not in the committee of epoch {}",
                hex::encode(e.nodeId),
                e.epoch
            ),
            E::AlreadyConfirmed(e) => format!(
                "node {} already confirmed epoch {}",
                hex::encode(e.nodeId),
                e.epoch
            ),
            E::InvalidGroupKey(_) => {
                "group keys must be 48 bytes (BLS G1) and 33 bytes (compressed secp256k1)"
                    .to_owned()
            }
            E::InvalidTranscript(_) => "the transcript hash must not be all zeros".to_owned(),
            E::GroupKeyMismatch(e) => format!(
                "the group keys confirmed for epoch {} differ from the active epoch's",
                e.epoch
            ),
        }
    }
}

impl std::fmt::Display for ContractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ContractError {}

/// The custom error inside an alloy contract-call error, if the contract reverted with one.
pub fn decode_contract_error(err: &alloy::contract::Error) -> Option<ContractError> {
    err.as_decoded_interface_error::<GovernanceErrors>()
        .map(ContractError)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use alloy::primitives::U256;
    use alloy::sol_types::{SolError, SolInterface};
    use proptest::prelude::*;

    use super::*;
    use crate::bindings::Governance;

    #[test]
    fn contract_error__should_decode_revert_data_into_its_kind_and_message() {
        let data = Governance::TimelockPending {
            id: U256::from(3),
            eta: 1_700_000_000,
        }
        .abi_encode();
        let e = ContractError::decode(&data).unwrap();
        assert_eq!(e.kind(), "timelock_pending");
        assert!(e.message().contains("1700000000"));
        let data = Governance::DiversityViolation {
            rule: 1,
            key: Default::default(),
            seats: U256::from(2),
            threshold: U256::from(2),
        }
        .abi_encode();
        let e = ContractError::decode(&data).unwrap();
        assert_eq!(e.kind(), "diversity_violation");
        assert!(e.message().contains("vendor"), "{}", e.message());
    }

    #[test]
    fn contract_error__should_give_every_error_a_distinct_snake_case_kind() {
        let mut kinds = std::collections::BTreeSet::new();
        for selector in GovernanceErrors::selectors() {
            // Arguments of zeros decode for every error of this contract.
            let mut data = selector.to_vec();
            data.extend(std::iter::repeat_n(0u8, 32 * 4));
            let e = ContractError::decode(&data).unwrap();
            assert!(e.kind().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(!e.message().is_empty());
            kinds.insert(e.kind());
        }
        assert_eq!(kinds.len(), GovernanceErrors::COUNT);
    }

    #[test]
    fn contract_error__should_refuse_foreign_revert_data() {
        assert!(ContractError::decode(&[]).is_none());
        assert!(ContractError::decode(&[0x08, 0xc3, 0x79, 0xa0]).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn contract_error_decode__should_never_panic(
            pick in 0usize..64,
            tail in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let selectors: Vec<[u8; 4]> = GovernanceErrors::selectors().collect();
            let mut data = selectors[pick % selectors.len()].to_vec();
            data.extend(tail);
            if let Some(e) = ContractError::decode(&data) {
                let _ = e.message();
            }
        }
    }
}
