//! The typed requests and results of the governance client.

use alloy::primitives::{Address, TxHash};
use governance_contract::{Governance, NetworkPolicy, Platform, ProposalInfo};

use super::CommitteeChange;
use crate::sdk::error::{Error, Result};

/// The largest page [`GovClient::proposals`](super::GovClient::proposals) asks for (the
/// contract's `MAX_PAGE`).
pub const MAX_PAGE: u64 = 100;

/// An application's council: who votes and how many votes a decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Council {
    /// The voters.
    pub voters: Vec<Address>,
    /// Votes needed for ordinary proposals.
    pub quorum: u16,
    /// Votes needed for a revocation (no timelock); `None`: the quorum.
    pub revoke_quorum: Option<u16>,
    /// Seconds between reaching the quorum and execution.
    pub timelock: u64,
}

impl Council {
    pub(super) fn revoke_quorum(&self) -> u16 {
        self.revoke_quorum.unwrap_or(self.quorum)
    }
}

/// What [`GovClient::deploy`](super::GovClient::deploy) sets up.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The network's voters (they also govern the kms-node application).
    pub council: Council,
    /// Seconds a proposal stays executable after its timelock.
    pub proposal_lifetime: u64,
    /// Forbid one TEE family from holding t or more seats.
    pub family_cap: bool,
    /// Platforms whose evidence nodes accept.
    pub platforms: Vec<Platform>,
    /// Seconds a committee transition waits for every member's confirmation.
    pub transition_deadline: u64,
}

/// A deployed governance contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployed {
    /// Its address.
    pub contract: Address,
    /// The id of the network's own application (kms-node builds).
    pub node_app_id: [u8; 32],
}

/// A registered application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredApp {
    /// `keccak256(abi.encode(owner, salt))`.
    pub app_id: [u8; 32],
    /// The registering account.
    pub owner: Address,
    /// The salt the id was made with.
    pub salt: [u8; 32],
    /// Gas the transaction used.
    pub gas_used: u64,
}

/// A change of the network's attestation values; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyChange {
    /// SEV-SNP floors (Milan, Genoa, Turin), packed as the contract stores them (0: none).
    pub snp_min_tcb: [Option<u64>; 3],
    /// TDX/SGX minimum tcbEvaluationDataNumber (0: not checked).
    pub dcap_min_tcb_evaluation_data_number: Option<u32>,
    /// TDX/SGX maximum TCB-info age in seconds (0: not checked).
    pub dcap_max_collateral_age_secs: Option<u64>,
    /// Maximum evidence age in seconds (0: the node's default).
    pub max_evidence_age_secs: Option<u64>,
}

impl PolicyChange {
    /// `current` with this change applied.
    pub fn apply(&self, mut current: NetworkPolicy) -> NetworkPolicy {
        for (slot, new) in current.snp_min_tcb.iter_mut().zip(self.snp_min_tcb) {
            if let Some(v) = new {
                *slot = v;
            }
        }
        if let Some(n) = self.dcap_min_tcb_evaluation_data_number {
            current.dcap_min_tcb_evaluation_data_number = n;
        }
        if let Some(d) = self.dcap_max_collateral_age_secs {
            current.dcap_max_collateral_age_secs = d;
        }
        if let Some(d) = self.max_evidence_age_secs {
            current.max_evidence_age_secs = d;
        }
        current
    }
}

/// A proposal to make; the proposer's vote is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proposal {
    /// Approve a measurement for an application.
    Approve {
        /// The application.
        app: [u8; 32],
        /// The measurement digest.
        measurement: [u8; 32],
    },
    /// Revoke a measurement (revocation quorum, no timelock).
    Revoke {
        /// The application.
        app: [u8; 32],
        /// The measurement digest.
        measurement: [u8; 32],
    },
    /// Set the next committee.
    Committee(CommitteeChange),
    /// Replace an application's council.
    Council {
        /// The application.
        app: [u8; 32],
        /// Its new council.
        council: Council,
    },
    /// Cancel the pending committee transition (`None`: the one pending now).
    CancelTransition {
        /// The pending epoch.
        epoch: Option<u64>,
    },
    /// Set the platforms whose evidence nodes accept.
    Platforms(Vec<Platform>),
    /// Veto an open proposal of the same council.
    Veto(u64),
    /// Switch the TEE-family rule.
    FamilyCap(bool),
    /// Switch the committee liveness rule.
    LivenessRule(bool),
    /// Seconds a transition waits for every member.
    TransitionDeadline(u64),
    /// Change the network's attestation values.
    NetworkPolicy(PolicyChange),
}

/// A proposal made.
#[derive(Debug, Clone)]
pub struct Proposed {
    /// Its id.
    pub id: u64,
    /// Its state right after the transaction.
    pub proposal: ProposalInfo,
    /// Gas the transaction used.
    pub gas_used: u64,
}

/// A vote, execution or cancellation done.
#[derive(Debug, Clone)]
pub struct Acted {
    /// The proposal's state right after the transaction.
    pub proposal: ProposalInfo,
    /// The transaction.
    pub tx: TxHash,
    /// Gas the transaction used.
    pub gas_used: u64,
}

/// A proposal of a listing.
#[derive(Debug, Clone)]
pub enum ProposalEntry {
    /// A proposal this build decodes.
    Known(ProposalInfo),
    /// A proposal with a kind, state or payload this build cannot decode (a newer
    /// contract's), kept raw so that one does not break a listing.
    Undecoded {
        /// Its id.
        id: u64,
        /// What the contract returned.
        raw: Governance::ProposalView,
    },
}

/// One page of proposals, newest first.
#[derive(Debug, Clone)]
pub struct ProposalPage {
    /// The proposals.
    pub entries: Vec<ProposalEntry>,
    /// How many proposals match in all.
    pub total: u64,
    /// How many of the newest were skipped.
    pub offset: u64,
    /// The offset of the next page, if any.
    pub next_offset: Option<u64>,
}

/// Refuses a page size outside `1..=MAX_PAGE`.
pub fn check_page_limit(limit: u64) -> Result<u64> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::BadInput(format!(
            "--limit must be between 1 and {MAX_PAGE}, got {limit}"
        )))
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn check_page_limit__should_accept_1_to_max_page() {
        assert_eq!(check_page_limit(1).unwrap(), 1);
        assert_eq!(check_page_limit(MAX_PAGE).unwrap(), MAX_PAGE);
        assert_eq!(check_page_limit(0).unwrap_err().kind(), "bad_input");
        assert_eq!(check_page_limit(101).unwrap_err().kind(), "bad_input");
    }

    #[test]
    fn policy_change__should_keep_values_not_given() {
        let current = NetworkPolicy {
            snp_min_tcb: [1, 2, 3],
            max_evidence_age_secs: 600,
            ..NetworkPolicy::default()
        };
        let change = PolicyChange {
            snp_min_tcb: [None, Some(0), None],
            dcap_max_collateral_age_secs: Some(86_400),
            ..PolicyChange::default()
        };
        let v = change.apply(current);
        assert_eq!(v.snp_min_tcb, [1, 0, 3]);
        assert_eq!(v.dcap_max_collateral_age_secs, 86_400);
        assert_eq!(v.max_evidence_age_secs, 600);
    }
}
