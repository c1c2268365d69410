//! The governance client: deploy the contract, register applications, propose, vote,
//! execute and list (docs/GOVERNANCE.md). Arguments are typed values and answers are
//! typed records; rendering them is the caller's business.
//!
//! [`GovClient`] talks to any JSON-RPC endpoint ([`Chain`]); calls that send a
//! transaction need a client made with [`GovClient::signed`]. A refusal by the contract
//! is [`Error::Contract`] with the contract's error kind.

mod committee;
mod types;

use std::path::PathBuf;

use alloy::primitives::{Address, FixedBytes, U256};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use governance_contract::policy::OnChainPolicy;
use governance_contract::{
    platforms_mask, types as contract_types, AppInfo, EpochInfo, Governance, ProposalInfo,
};

pub use self::committee::{default_threshold, next_committee, CommitteeChange};
pub use self::types::{
    check_page_limit, Acted, Council, Deployed, Deployment, PolicyChange, Proposal, ProposalEntry,
    ProposalPage, Proposed, RegisteredApp, MAX_PAGE,
};
use super::devnet::{DevnetDir, Role};
use super::error::{Error, Result};
use super::parse;
use super::transport::{self, call_error, Gov};

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
    transport::signer_from_file(&DevnetDir::new(dir).key_file(role)?)
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

    /// The contract, for a call that sends a transaction: only with a signing key.
    pub(super) fn signing(&self) -> Result<&Gov> {
        self.account()?;
        Ok(&self.gov)
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
            platforms_mask(&d.platforms),
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
            app_id: contract_types::app_id(owner, salt),
            owner,
            salt,
            gas_used: receipt.gas_used,
        })
    }

    /// Makes a proposal and reads it back.
    pub async fn propose(&self, p: &Proposal) -> Result<Proposed> {
        let g = self.signing()?;
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
                transport::send(g.proposePlatforms(platforms_mask(list))).await?
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
        let receipt = transport::send(self.signing()?.vote(U256::from(id))).await?;
        self.acted(id, &receipt).await
    }

    /// Executes proposal `id` (quorum reached, timelock passed).
    pub async fn execute(&self, id: u64) -> Result<Acted> {
        let receipt = transport::send(self.signing()?.execute(U256::from(id))).await?;
        self.acted(id, &receipt).await
    }

    /// Cancels proposal `id` (its proposer only).
    pub async fn cancel(&self, id: u64) -> Result<Acted> {
        let receipt = transport::send(self.signing()?.cancel(U256::from(id))).await?;
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
