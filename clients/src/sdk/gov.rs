//! The governance client: deploy the contract, register applications, propose, vote,
//! execute and list (docs/GOVERNANCE.md). Arguments are typed values and answers are
//! typed records; rendering them is the caller's business.
//!
//! [`GovClient`] talks to any JSON-RPC endpoint ([`Chain`]); calls that send a
//! transaction need a client made with [`GovClient::signed`]. A refusal by the contract
//! is [`Error::Contract`] with the contract's error kind.

use std::path::PathBuf;

use alloy::primitives::{Address, FixedBytes, TxHash, U256};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use governance_contract::policy::OnChainPolicy;
use governance_contract::{
    types, AppInfo, EpochInfo, EpochStatus, Governance, NetworkPolicy, Platform, ProposalInfo,
};

use super::devnet::{DevnetDir, Role};
use super::error::{Error, Result};
use super::parse;
use super::transport::{self, call_error, Gov};

/// The largest page [`GovClient::proposals`] asks for (the contract's `MAX_PAGE`).
pub const MAX_PAGE: u64 = 100;

/// Where the network is: a JSON-RPC endpoint and the governance contract's address.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The JSON-RPC endpoint.
    pub rpc: String,
    contract: Option<String>,
    devnet: Option<PathBuf>,
}

impl Chain {
    /// The chain at `rpc` (else [`Error::MissingRpc`]) with the contract at `contract`
    /// (hex, with or without `0x`; checked when a call needs it).
    pub fn new(rpc: Option<String>, contract: Option<String>) -> Result<Self> {
        Ok(Self {
            rpc: rpc.ok_or_else(|| {
                Error::MissingRpc("give --rpc URL or set KMS_RPC_URL (or --devnet DIR)".into())
            })?,
            contract,
            devnet: None,
        })
    }

    /// The chain and contract of the local network in `dir` (`kms devnet up --dir`).
    pub fn devnet(dir: &std::path::Path) -> Result<Self> {
        let state = DevnetDir::new(dir).state()?;
        Ok(Self {
            rpc: state.rpc,
            contract: state.contract,
            devnet: Some(dir.to_path_buf()),
        })
    }

    /// The governance contract's address.
    pub fn contract(&self) -> Result<Address> {
        let text = self.contract.as_deref().ok_or_else(|| match &self.devnet {
            Some(dir) => Error::MissingContract(format!(
                "the devnet in {} has no governance contract yet",
                dir.display()
            )),
            None => Error::MissingContract("give --contract ADDR or set KMS_CONTRACT".into()),
        })?;
        parse::address("--contract", text)
    }
}

/// The signing key of `role` in the devnet in `dir`.
pub fn devnet_signer(dir: &std::path::Path, role: &Role) -> Result<PrivateKeySigner> {
    transport::signer(Some(&DevnetDir::new(dir).key_file(role)?))
}

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
    fn revoke_quorum(&self) -> u16 {
        self.revoke_quorum.unwrap_or(self.quorum)
    }
}

/// What [`GovClient::deploy`] sets up.
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

/// The committee of a committee-change proposal: the current one with nodes removed and
/// added, and the threshold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitteeChange {
    /// Node ids to append, in order.
    pub add: Vec<[u8; 32]>,
    /// Node ids to take out.
    pub remove: Vec<[u8; 32]>,
    /// The new threshold; `None`: [`default_threshold`].
    pub threshold: Option<u16>,
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

/// The threshold a committee of `n` members keeps when none is given: the current
/// threshold `current` if it is still a majority of `n` (and at most `n`), else
/// `n/2 + 1`.
pub fn default_threshold(current: u16, n: usize) -> u16 {
    let t = usize::from(current);
    if current > 0 && t <= n && t.saturating_mul(2) > n {
        current
    } else {
        u16::try_from(n / 2 + 1).unwrap_or(u16::MAX)
    }
}

/// The committee that results from `current` (if active, else empty) with `change`:
/// members removed (each must be in it), then added, and the threshold.
pub fn next_committee(
    current: &EpochInfo,
    change: &CommitteeChange,
) -> Result<(Vec<[u8; 32]>, u16)> {
    let mut members: Vec<[u8; 32]> = if current.status == EpochStatus::Active {
        current.committee.clone()
    } else {
        Vec::new()
    };
    for r in &change.remove {
        let before = members.len();
        members.retain(|m| m != r);
        if members.len() == before {
            return Err(Error::BadInput(format!(
                "node {} is not in the active committee",
                alloy::hex::encode(r)
            )));
        }
    }
    members.extend(change.add.iter().copied());
    let t = change
        .threshold
        .unwrap_or_else(|| default_threshold(current.threshold, members.len()));
    Ok((members, t))
}

/// A client of the governance contract.
#[derive(Debug, Clone)]
pub struct GovClient {
    pub(super) gov: Gov,
    account: Option<Address>,
}

impl GovClient {
    /// A client that only reads.
    pub fn read_only(chain: &Chain) -> Result<Self> {
        let provider = transport::provider(&chain.rpc, None)?;
        Ok(Self {
            gov: transport::contract(chain.contract()?, provider),
            account: None,
        })
    }

    /// A client that signs transactions with `signer`.
    pub fn signed(chain: &Chain, signer: PrivateKeySigner) -> Result<Self> {
        let account = signer.address();
        let provider = transport::provider(&chain.rpc, Some(signer))?;
        Ok(Self {
            gov: transport::contract(chain.contract()?, provider),
            account: Some(account),
        })
    }

    /// The contract's generated bindings, for calls this client does not wrap.
    pub fn contract(&self) -> &Gov {
        &self.gov
    }

    /// The signing account.
    pub(super) fn account(&self) -> Result<Address> {
        self.account.ok_or_else(|| {
            Error::MissingKey("this call signs a transaction: the client has no key".into())
        })
    }

    /// Deploys the governance contract at the chain `rpc`, signed by `signer`.
    pub async fn deploy(rpc: &str, signer: PrivateKeySigner, d: &Deployment) -> Result<Deployed> {
        let provider = transport::provider(rpc, Some(signer))?;
        let gov = Governance::deploy(
            provider,
            d.council.voters.clone(),
            d.council.quorum,
            d.council.revoke_quorum(),
            d.council.timelock,
            d.proposal_lifetime,
            d.family_cap,
            Platform::mask(&d.platforms),
            d.transition_deadline,
        )
        .await
        .map_err(call_error)?;
        let node_app = gov.nodeAppId().call().await.map_err(call_error)?;
        Ok(Deployed {
            contract: *gov.address(),
            node_app_id: node_app.0,
        })
    }

    /// Registers an application owned by the signing account; `salt` makes its id
    /// (`None`: random). Empty `council.voters`: the owner alone.
    pub async fn register_app(
        &self,
        council: &Council,
        salt: Option<[u8; 32]>,
    ) -> Result<RegisteredApp> {
        let owner = self.account()?;
        let salt = salt.unwrap_or_else(rand::random::<[u8; 32]>);
        let receipt = transport::send(self.gov.registerApp(
            salt.into(),
            council.voters.clone(),
            council.quorum,
            council.revoke_quorum(),
            council.timelock,
        ))
        .await?;
        Ok(RegisteredApp {
            app_id: types::app_id(owner, salt),
            owner,
            salt,
            gas_used: receipt.gas_used,
        })
    }

    /// Makes a proposal and reads it back.
    pub async fn propose(&self, p: &Proposal) -> Result<Proposed> {
        let g = &self.gov;
        let receipt = match p {
            Proposal::Approve { app, measurement } => {
                transport::send(g.proposeApprove((*app).into(), (*measurement).into())).await?
            }
            Proposal::Revoke { app, measurement } => {
                transport::send(g.proposeRevoke((*app).into(), (*measurement).into())).await?
            }
            Proposal::Committee(change) => {
                let current = self.active_committee().await?;
                let (members, t) = next_committee(&current, change)?;
                let members = members.into_iter().map(FixedBytes::from).collect();
                transport::send(g.proposeCommittee(members, t)).await?
            }
            Proposal::Council { app, council } => {
                transport::send(g.proposeCouncil(
                    (*app).into(),
                    council.voters.clone(),
                    council.quorum,
                    council.revoke_quorum(),
                    council.timelock,
                ))
                .await?
            }
            Proposal::CancelTransition { epoch } => {
                let e = match epoch {
                    Some(e) => *e,
                    None => g.pendingEpoch().call().await.map_err(call_error)?,
                };
                transport::send(g.proposeCancelTransition(e)).await?
            }
            Proposal::Platforms(list) => {
                transport::send(g.proposePlatforms(Platform::mask(list))).await?
            }
            Proposal::Veto(id) => transport::send(g.proposeVeto(U256::from(*id))).await?,
            Proposal::FamilyCap(on) => transport::send(g.proposeFamilyCap(*on)).await?,
            Proposal::LivenessRule(on) => transport::send(g.proposeLivenessRule(*on)).await?,
            Proposal::TransitionDeadline(d) => {
                transport::send(g.proposeTransitionDeadline(*d)).await?
            }
            Proposal::NetworkPolicy(change) => {
                let v = change.apply(self.network_policy().await?.values);
                let encoded = v
                    .encode()
                    .map_err(|e| Error::BadInput(format!("network policy: {e}")))?;
                transport::send(g.proposeNetworkPolicy(encoded.into())).await?
            }
        };
        let id = created_proposal(&receipt)?;
        Ok(Proposed {
            id,
            proposal: self.proposal(id).await?,
            gas_used: receipt.gas_used,
        })
    }

    /// Votes for proposal `id`.
    pub async fn vote(&self, id: u64) -> Result<Acted> {
        let receipt = transport::send(self.gov.vote(U256::from(id))).await?;
        self.acted(id, &receipt).await
    }

    /// Executes proposal `id` (quorum reached, timelock passed).
    pub async fn execute(&self, id: u64) -> Result<Acted> {
        let receipt = transport::send(self.gov.execute(U256::from(id))).await?;
        self.acted(id, &receipt).await
    }

    /// Cancels proposal `id` (its proposer only).
    pub async fn cancel(&self, id: u64) -> Result<Acted> {
        let receipt = transport::send(self.gov.cancel(U256::from(id))).await?;
        self.acted(id, &receipt).await
    }

    async fn acted(&self, id: u64, receipt: &TransactionReceipt) -> Result<Acted> {
        Ok(Acted {
            proposal: self.proposal(id).await?,
            tx: receipt.transaction_hash,
            gas_used: receipt.gas_used,
        })
    }

    /// Proposal `id`.
    pub async fn proposal(&self, id: u64) -> Result<ProposalInfo> {
        let v = self
            .gov
            .proposal(U256::from(id))
            .call()
            .await
            .map_err(call_error)?;
        ProposalInfo::try_from(v)
            .map_err(|e| Error::ChainError(format!("proposal {id} does not decode: {e}")))
    }

    /// One page of proposals (of application `app` only, if given), newest first:
    /// `limit` (see [`check_page_limit`]) after skipping `offset`. One page of ids, then
    /// those proposals: a flood of other applications' proposals costs nothing here.
    pub async fn proposals(
        &self,
        app: Option<[u8; 32]>,
        offset: u64,
        limit: u64,
    ) -> Result<ProposalPage> {
        let limit = check_page_limit(limit)?;
        let page = self
            .gov
            .proposalIds(
                FixedBytes::from(app.unwrap_or([0; 32])),
                U256::from(offset),
                U256::from(limit),
            )
            .call()
            .await
            .map_err(call_error)?;
        let total = u64::try_from(page.total).map_err(|_| {
            Error::ChainError("the contract reports an impossible proposal count".into())
        })?;
        let mut entries = Vec::new();
        for id in &page.ids {
            let id = u64::try_from(*id).map_err(|_| {
                Error::ChainError("the contract reports an impossible proposal id".into())
            })?;
            let raw = self
                .gov
                .proposal(U256::from(id))
                .call()
                .await
                .map_err(call_error)?;
            entries.push(match ProposalInfo::try_from(raw.clone()) {
                Ok(p) => ProposalEntry::Known(p),
                // A kind or state a newer contract writes: kept, not fatal.
                Err(_) => ProposalEntry::Undecoded { id, raw },
            });
        }
        let shown = u64::try_from(entries.len()).unwrap_or(u64::MAX);
        let next = offset.saturating_add(shown);
        Ok(ProposalPage {
            entries,
            total,
            offset,
            next_offset: (next < total).then_some(next),
        })
    }

    /// Application `app_id`: owner, council, approved measurements.
    pub async fn app(&self, app_id: [u8; 32]) -> Result<AppInfo> {
        let v = self
            .gov
            .app(app_id.into())
            .call()
            .await
            .map_err(call_error)?;
        Ok(AppInfo::from(v))
    }

    /// The active (or last) committee epoch.
    pub async fn active_committee(&self) -> Result<EpochInfo> {
        let v = self
            .gov
            .activeCommittee()
            .call()
            .await
            .map_err(call_error)?;
        EpochInfo::try_from(v).map_err(|e| Error::ChainError(format!("bad epoch record: {e}")))
    }

    /// `networkPolicy()`: the allowed platforms and the network's attestation values.
    pub async fn network_policy(&self) -> Result<OnChainPolicy> {
        let v = self.gov.networkPolicy().call().await.map_err(call_error)?;
        OnChainPolicy::try_from(v)
            .map_err(|e| Error::ChainError(format!("bad network policy on chain: {e}")))
    }
}

/// The id in the `ProposalCreated` event of a proposing transaction.
fn created_proposal(receipt: &TransactionReceipt) -> Result<u64> {
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<Governance::ProposalCreated>().ok())
        .and_then(|l| u64::try_from(l.inner.data.id).ok())
        .ok_or_else(|| {
            Error::ChainError("the transaction succeeded but emitted no ProposalCreated".into())
        })
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    fn epoch(status: EpochStatus, threshold: u16, committee: Vec<[u8; 32]>) -> EpochInfo {
        EpochInfo {
            epoch: 1,
            status,
            threshold,
            committee,
            created_at: 0,
            activated_at: None,
            transcript_hash: None,
            bls_group_pk: None,
            secp_group_pk: None,
            confirmations: 0,
            deadline: 0,
            not_confirmed: Vec::new(),
        }
    }

    #[test]
    fn default_threshold__should_keep_a_still_valid_majority_else_take_n_over_2_plus_1() {
        assert_eq!(default_threshold(3, 5), 3); // still a majority of 5
        assert_eq!(default_threshold(3, 4), 3); // 3 of 4
        assert_eq!(default_threshold(2, 4), 3); // 2 of 4 is no majority
        assert_eq!(default_threshold(4, 3), 2); // more than n
        assert_eq!(default_threshold(0, 4), 3); // no committee yet
        assert_eq!(default_threshold(0, 1), 1);
        assert_eq!(default_threshold(0, 0), 1);
    }

    #[test]
    fn next_committee__should_remove_then_add_and_refuse_a_stranger() {
        let (a, b, c) = ([1; 32], [2; 32], [3; 32]);
        let current = epoch(EpochStatus::Active, 2, vec![a, b, c]);
        let change = CommitteeChange {
            add: vec![[4; 32], [5; 32]],
            remove: vec![b],
            threshold: None,
        };
        let (members, t) = next_committee(&current, &change).unwrap();
        assert_eq!(members, [a, c, [4; 32], [5; 32]]);
        assert_eq!(t, 3);
        let explicit = CommitteeChange {
            threshold: Some(4),
            ..change.clone()
        };
        assert_eq!(next_committee(&current, &explicit).unwrap().1, 4);
        let stranger = CommitteeChange {
            remove: vec![[9; 32]],
            ..CommitteeChange::default()
        };
        let e = next_committee(&current, &stranger).unwrap_err();
        assert_eq!(e.kind(), "bad_input");
        // No active committee yet: start from an empty one.
        let pending = epoch(EpochStatus::Pending, 0, vec![a]);
        assert_eq!(next_committee(&pending, &change).map(|r| r.1).ok(), None);
        let fresh = CommitteeChange {
            add: vec![a, b],
            ..CommitteeChange::default()
        };
        assert_eq!(next_committee(&pending, &fresh).unwrap(), (vec![a, b], 2));
    }

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
