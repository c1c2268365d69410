//! `kms gov …`: deploy the governance contract, register applications, propose, vote,
//! execute and list (CLI.md "Governance", docs/GOVERNANCE.md).
//!
//! Every command talks to any JSON-RPC endpoint (`--rpc URL --contract ADDR`, or
//! `KMS_RPC_URL`, `KMS_CONTRACT`). Commands that send a transaction sign it with the key
//! in `--key-file FILE` or `KMS_PRIVATE_KEY` (hex), never a command-line argument.
//! A refusal by the contract exits non-zero with the contract's error kind
//! (`already_voted`, `timelock_pending`, `diversity_violation`, …).

pub mod chain;
pub mod node;
pub mod parse;

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;

use alloy::primitives::{FixedBytes, U256};
use alloy::rpc::types::TransactionReceipt;
use clap::{Args, Subcommand};
use governance_contract::policy::OnChainPolicy;
use governance_contract::{
    types, AppInfo, EpochInfo, EpochStatus, Governance, NetworkPolicy, Platform, ProposalAction,
    ProposalInfo, ProposalKind, ProposalState,
};
use serde_json::{json, Value};

use self::chain::Gov;

/// The largest page `kms gov proposals --limit` asks for (the contract's `MAX_PAGE`).
const MAX_PAGE: u64 = 100;
use self::parse::hex;
use crate::cli::{emit, CliError};
use crate::devnet::{DevnetDir, Role};

/// Where the network is and who signs.
#[derive(Args, Debug, Clone)]
pub struct ChainArgs {
    /// JSON-RPC endpoint of the chain holding the governance contract.
    #[arg(long, env = "KMS_RPC_URL", global = true)]
    pub rpc: Option<String>,
    /// Address of the governance contract.
    #[arg(long, env = "KMS_CONTRACT", global = true)]
    pub contract: Option<String>,
    /// File with the hex private key that signs transactions (else `KMS_PRIVATE_KEY`).
    #[arg(long, global = true, conflicts_with = "as_")]
    pub key_file: Option<PathBuf>,
    /// A local network's state directory (`kms devnet up --dir D`): its chain and
    /// contract replace `--rpc` and `--contract`.
    #[arg(long, global = true, value_name = "DIR")]
    pub devnet: Option<PathBuf>,
    /// With `--devnet`: sign with the devnet's N-th voter or node operator key
    /// (`voter:N`, `operator:N`, N from 1).
    #[arg(long = "as", global = true, value_name = "ROLE", requires = "devnet")]
    pub as_: Option<Role>,
}

/// Where the network is: resolved once, from the devnet or from the flags.
pub struct Network {
    /// The JSON-RPC endpoint.
    pub rpc: String,
    contract: Option<String>,
    devnet: Option<PathBuf>,
}

impl Network {
    /// The governance contract's address, as given.
    pub fn contract(&self) -> Result<&str, CliError> {
        self.contract.as_deref().ok_or_else(|| match &self.devnet {
            Some(dir) => CliError::new(
                "missing_contract",
                format!(
                    "the devnet in {} has no governance contract yet",
                    dir.display()
                ),
            ),
            None => CliError::new(
                "missing_contract",
                "give --contract ADDR or set KMS_CONTRACT",
            ),
        })
    }
}

impl ChainArgs {
    /// The devnet's chain and contract with `--devnet`, else `--rpc` / `KMS_RPC_URL`
    /// and `--contract` / `KMS_CONTRACT`.
    pub fn network(&self) -> Result<Network, CliError> {
        match &self.devnet {
            Some(dir) => {
                let state = DevnetDir::new(dir).state()?;
                Ok(Network {
                    rpc: state.rpc,
                    contract: state.contract,
                    devnet: Some(dir.clone()),
                })
            }
            None => Ok(Network {
                rpc: self.rpc.clone().ok_or_else(|| {
                    CliError::new(
                        "missing_rpc",
                        "give --rpc URL or set KMS_RPC_URL (or --devnet DIR)",
                    )
                })?,
                contract: self.contract.clone(),
                devnet: None,
            }),
        }
    }

    /// The transaction signer: `--as ROLE` of the devnet, else `--key-file` or
    /// `KMS_PRIVATE_KEY`.
    pub fn signer(&self) -> Result<PrivateKeySigner, CliError> {
        match (&self.as_, self.devnet.as_deref()) {
            (Some(role), Some(d)) => chain::signer(Some(&DevnetDir::new(d).key_file(role)?)),
            _ => chain::signer(self.key_file.as_deref()),
        }
    }
}

/// `kms gov`.
#[derive(Args, Debug)]
pub struct GovArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: GovCommand,
}

#[derive(Subcommand, Debug)]
enum GovCommand {
    /// Deploy the governance contract with the network's voters.
    Deploy {
        /// Network voters, comma-separated addresses.
        #[arg(long)]
        voters: String,
        /// Votes needed for ordinary proposals.
        #[arg(long)]
        quorum: u16,
        /// Delay between reaching the quorum and execution (90s, 10m, 1h, 7d).
        #[arg(long)]
        timelock: String,
        /// Votes needed for a revocation (no timelock). Default: the quorum.
        #[arg(long)]
        revoke_quorum: Option<u16>,
        /// How long a proposal stays executable after its timelock.
        #[arg(long, default_value = "7d")]
        proposal_lifetime: String,
        /// Also forbid one TEE family from holding t or more seats.
        #[arg(long)]
        family_cap: bool,
        /// Platforms whose evidence nodes accept, comma-separated (add `simulated`
        /// only for development networks).
        #[arg(long, default_value = "tdx,sgx,sev-snp,nitro")]
        platforms: String,
        /// How long a committee transition waits for every member's confirmation
        /// before `min(n, 2t-1)` matching ones suffice (60s to 30d).
        #[arg(long, default_value = "1d")]
        transition_deadline: String,
    },
    /// Register an application, governed by its own voters.
    RegisterApp {
        /// Its voters (default: the signing account alone).
        #[arg(long)]
        voters: Option<String>,
        /// Votes needed for ordinary proposals.
        #[arg(long, default_value_t = 1)]
        quorum: u16,
        /// Delay between reaching the quorum and execution.
        #[arg(long, default_value = "0s")]
        timelock: String,
        /// Votes needed for a revocation. Default: the quorum.
        #[arg(long)]
        revoke_quorum: Option<u16>,
        /// 32-byte salt (hex); app_id = keccak256(abi.encode(account, salt)). Default: random.
        #[arg(long)]
        salt: Option<String>,
    },
    /// Propose a change; the proposer's vote is counted.
    #[command(subcommand)]
    Propose(ProposeCommand),
    /// Vote for a proposal.
    Vote {
        /// Proposal id.
        id: u64,
    },
    /// Execute a proposal whose quorum is reached and timelock has passed.
    Execute {
        /// Proposal id.
        id: u64,
    },
    /// Cancel a proposal you proposed.
    Cancel {
        /// Proposal id.
        id: u64,
    },
    /// List proposals, newest first, one page at a time.
    Proposals {
        /// Only the proposals of this application (32-byte hex).
        #[arg(long)]
        app: Option<String>,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// Skip this many of the newest first (the previous page's `next_offset`).
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show an application: owner, council, approved measurements.
    App {
        /// The application id (32-byte hex).
        app_id: String,
    },
}

#[derive(Subcommand, Debug)]
enum ProposeCommand {
    /// Approve a measurement for an application.
    Approve {
        /// Application id (32-byte hex); the network's node_app_id for kms-node builds.
        #[arg(long)]
        app: String,
        /// Measurement digest (32-byte hex).
        #[arg(long)]
        measurement: String,
    },
    /// Revoke a measurement (fast path: revocation quorum, no timelock).
    Revoke {
        /// Application id (32-byte hex).
        #[arg(long)]
        app: String,
        /// Measurement digest (32-byte hex).
        #[arg(long)]
        measurement: String,
    },
    /// Set the next committee: the current one with nodes added and removed.
    Committee {
        /// Node ids to add (32-byte hex), appended in order.
        #[arg(long, num_args = 1..)]
        add: Vec<String>,
        /// Node ids to remove.
        #[arg(long, num_args = 1..)]
        remove: Vec<String>,
        /// The new threshold (default: the current one if still valid, else n/2+1).
        #[arg(long)]
        threshold: Option<u16>,
    },
    /// Replace an application's council (voters, quorums, timelock).
    Council {
        /// Application id (32-byte hex).
        #[arg(long)]
        app: String,
        /// The new voters, comma-separated.
        #[arg(long)]
        voters: String,
        /// Votes needed for ordinary proposals.
        #[arg(long)]
        quorum: u16,
        /// Votes needed for revocations. Default: the quorum.
        #[arg(long)]
        revoke_quorum: Option<u16>,
        /// Delay between reaching the quorum and execution.
        #[arg(long, default_value = "0s")]
        timelock: String,
    },
    /// Cancel the pending (stuck) committee transition.
    CancelTransition {
        /// The pending epoch (default: the one pending now).
        #[arg(long)]
        epoch: Option<u64>,
    },
    /// Set the platforms whose evidence nodes accept.
    Platforms {
        /// Comma-separated: tdx, sgx, sev-snp, nitro, simulated.
        #[arg(long)]
        allow: String,
    },
    /// Veto an open proposal of the same council (its quorum, no timelock).
    Veto {
        /// The proposal to veto.
        id: u64,
    },
    /// Switch the TEE-family rule (no family may hold t seats; with the liveness rule,
    /// losing a family must leave t members).
    FamilyCap {
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Switch the committee liveness rule (on by default).
    LivenessRule {
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Set how long a transition waits for every member before `min(n, 2t-1)`
    /// matching confirmations suffice.
    TransitionDeadline {
        /// 60s to 30d.
        duration: String,
    },
    /// Set the network's attestation values; flags not given keep their current value.
    NetworkPolicy {
        /// SEV-SNP Milan floor: `bootloader,tee,snp,microcode` SPLs, or `none`.
        #[arg(long)]
        snp_milan: Option<String>,
        /// SEV-SNP Genoa floor: `bootloader,tee,snp,microcode`, or `none`.
        #[arg(long)]
        snp_genoa: Option<String>,
        /// SEV-SNP Turin floor: `fmc,bootloader,tee,snp,microcode`, or `none`.
        #[arg(long)]
        snp_turin: Option<String>,
        /// TDX/SGX minimum tcbEvaluationDataNumber (0: not checked).
        #[arg(long)]
        dcap_min_tcb_eval: Option<u32>,
        /// TDX/SGX maximum TCB-info age (e.g. 30d; 0s: not checked).
        #[arg(long)]
        dcap_max_collateral_age: Option<String>,
        /// Maximum evidence age (e.g. 10m; 0s: the node's default).
        #[arg(long)]
        max_evidence_age: Option<String>,
    },
}

/// Runs a `kms gov` command, printing its result (JSON with `json`).
pub fn run(args: &GovArgs, json: bool) -> Result<(), CliError> {
    let (value, human) = block_on(dispatch(args))?;
    emit(json, &value, &human);
    Ok(())
}

/// Runs `f` to completion on a single-threaded runtime.
fn block_on<T>(f: impl std::future::Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new("internal", format!("cannot start the runtime: {e}")))?
        .block_on(f)
}

async fn dispatch(args: &GovArgs) -> Result<(Value, String), CliError> {
    let c = &args.chain;
    match &args.command {
        GovCommand::Deploy {
            voters,
            quorum,
            timelock,
            revoke_quorum,
            proposal_lifetime,
            family_cap,
            platforms,
            transition_deadline,
        } => {
            let voters = parse::address_list("--voters", voters)?;
            let platforms = platform_mask(platforms)?;
            let timelock = parse::timelock(timelock)?;
            let lifetime = parse::lifetime(proposal_lifetime)?;
            let deadline = parse::transition_deadline(transition_deadline)?;
            let provider = chain::provider(&c.network()?.rpc, Some(c.signer()?))?;
            let gov = Governance::deploy(
                provider,
                voters,
                *quorum,
                revoke_quorum.unwrap_or(*quorum),
                timelock,
                lifetime,
                *family_cap,
                platforms,
                deadline,
            )
            .await
            .map_err(chain::call_error)?;
            let node_app = gov.nodeAppId().call().await.map_err(chain::call_error)?;
            let address = *gov.address();
            Ok((
                json!({ "contract": hex(address), "node_app_id": hex(node_app) }),
                format!(
                    "contract     0x{}\nnode_app_id  {}",
                    hex(address),
                    hex(node_app)
                ),
            ))
        }
        GovCommand::RegisterApp {
            voters,
            quorum,
            timelock,
            revoke_quorum,
            salt,
        } => {
            let voters = match voters {
                Some(v) => parse::address_list("--voters", v)?,
                None => Vec::new(),
            };
            let timelock = parse::timelock(timelock)?;
            let salt = match salt {
                Some(s) => parse::bytes32("--salt", s)?,
                None => rand::random::<[u8; 32]>(),
            };
            let signer = c.signer()?;
            let owner = signer.address();
            let gov = signed(c, signer)?;
            let receipt = chain::send(gov.registerApp(
                salt.into(),
                voters,
                *quorum,
                revoke_quorum.unwrap_or(*quorum),
                timelock,
            ))
            .await?;
            let app_id = types::app_id(owner, salt);
            Ok((
                json!({ "app_id": hex(app_id), "owner": hex(owner), "salt": hex(salt),
                        "gas_used": receipt.gas_used }),
                format!("app_id  {}", hex(app_id)),
            ))
        }
        GovCommand::Propose(p) => propose(c, p).await,
        GovCommand::Vote { id } => {
            let gov = signed(c, c.signer()?)?;
            let receipt = chain::send(gov.vote(U256::from(*id))).await?;
            after_tx(&gov, *id, &receipt, "voted for").await
        }
        GovCommand::Execute { id } => {
            let gov = signed(c, c.signer()?)?;
            let receipt = chain::send(gov.execute(U256::from(*id))).await?;
            after_tx(&gov, *id, &receipt, "executed").await
        }
        GovCommand::Cancel { id } => {
            let gov = signed(c, c.signer()?)?;
            let receipt = chain::send(gov.cancel(U256::from(*id))).await?;
            after_tx(&gov, *id, &receipt, "cancelled").await
        }
        GovCommand::Proposals { app, limit, offset } => {
            let filter = app
                .as_deref()
                .map(|a| parse::bytes32("--app", a))
                .transpose()?;
            if !(1..=MAX_PAGE).contains(limit) {
                return Err(CliError::new(
                    "bad_input",
                    format!("--limit must be between 1 and {MAX_PAGE}, got {limit}"),
                ));
            }
            let gov = read_only(c)?;
            // One page of ids from the contract (newest first), then those proposals:
            // a flood of proposals of other applications costs this command nothing.
            let page = gov
                .proposalIds(
                    FixedBytes::from(filter.unwrap_or([0; 32])),
                    U256::from(*offset),
                    U256::from(*limit),
                )
                .call()
                .await
                .map_err(chain::call_error)?;
            let total = u64::try_from(page.total).map_err(|_| {
                CliError::new(
                    "chain_error",
                    "the contract reports an impossible proposal count",
                )
            })?;
            let mut list = Vec::new();
            let mut lines = vec![format!(
                "{:>4}  {:<19} {:>5}  {:<9} {:>11}  app",
                "id", "kind", "votes", "state", "eta"
            )];
            for id in &page.ids {
                let id = u64::try_from(*id).map_err(|_| {
                    CliError::new(
                        "chain_error",
                        "the contract reports an impossible proposal id",
                    )
                })?;
                let raw = gov
                    .proposal(U256::from(id))
                    .call()
                    .await
                    .map_err(chain::call_error)?;
                let (line, value) = match ProposalInfo::try_from(raw.clone()) {
                    Ok(p) => (
                        format!(
                            "{:>4}  {:<19} {:>2}/{:<2}  {:<9} {:>11}  {}",
                            p.id,
                            p.kind().name(),
                            p.votes,
                            p.required,
                            p.state.name(),
                            p.eta.map_or_else(|| "-".to_owned(), |e| e.to_string()),
                            hex(p.app_id)
                        ),
                        proposal_json(&p),
                    ),
                    // A kind or state a newer contract writes: shown, not fatal.
                    Err(_) => undecoded_proposal(id, &raw),
                };
                lines.push(line);
                list.push(value);
            }
            let shown = u64::try_from(list.len()).unwrap_or(u64::MAX);
            let next = offset.saturating_add(shown);
            let next_offset = (next < total).then_some(next);
            if let Some(n) = next_offset {
                lines.push(format!(
                    "… {} more: --offset {n}",
                    total.saturating_sub(next)
                ));
            }
            Ok((
                json!({ "proposals": list, "total": total, "offset": offset,
                        "next_offset": next_offset }),
                lines.join("\n"),
            ))
        }
        GovCommand::App { app_id } => {
            let id = parse::bytes32("APP_ID", app_id)?;
            let gov = read_only(c)?;
            let a = AppInfo::from(gov.app(id.into()).call().await.map_err(chain::call_error)?);
            let ms: Vec<String> = a.measurements.iter().map(hex).collect();
            let voters: Vec<String> = a.voters.iter().map(hex).collect();
            let human = format!(
                "app_id        {}\nowner         0x{}\nvoters        {}\nquorum        {} (revocation {})\ntimelock      {}s\nmeasurements  {}",
                hex(a.app_id),
                hex(a.owner),
                voters.iter().map(|v| format!("0x{v}")).collect::<Vec<_>>().join(", "),
                a.quorum,
                a.revoke_quorum,
                a.timelock,
                if ms.is_empty() { "(none)".to_owned() } else { ms.join("\n              ") },
            );
            Ok((
                json!({ "app_id": hex(a.app_id), "owner": hex(a.owner), "measurements": ms,
                        "voters": voters, "quorum": a.quorum, "revoke_quorum": a.revoke_quorum,
                        "timelock": a.timelock }),
                human,
            ))
        }
    }
}

async fn propose(c: &ChainArgs, p: &ProposeCommand) -> Result<(Value, String), CliError> {
    let signer = c.signer()?;
    let gov = signed(c, signer)?;
    let receipt = match p {
        ProposeCommand::Approve { app, measurement } => {
            let app = parse::bytes32("--app", app)?;
            let m = parse::bytes32("--measurement", measurement)?;
            chain::send(gov.proposeApprove(app.into(), m.into())).await?
        }
        ProposeCommand::Revoke { app, measurement } => {
            let app = parse::bytes32("--app", app)?;
            let m = parse::bytes32("--measurement", measurement)?;
            chain::send(gov.proposeRevoke(app.into(), m.into())).await?
        }
        ProposeCommand::Committee {
            add,
            remove,
            threshold,
        } => {
            let (members, t) = next_committee(&gov, add, remove, *threshold).await?;
            chain::send(gov.proposeCommittee(members, t)).await?
        }
        ProposeCommand::Council {
            app,
            voters,
            quorum,
            revoke_quorum,
            timelock,
        } => {
            let app = parse::bytes32("--app", app)?;
            let voters = parse::address_list("--voters", voters)?;
            let timelock = parse::timelock(timelock)?;
            chain::send(gov.proposeCouncil(
                app.into(),
                voters,
                *quorum,
                revoke_quorum.unwrap_or(*quorum),
                timelock,
            ))
            .await?
        }
        ProposeCommand::CancelTransition { epoch } => {
            let e = match epoch {
                Some(e) => *e,
                None => gov.pendingEpoch().call().await.map_err(chain::call_error)?,
            };
            chain::send(gov.proposeCancelTransition(e)).await?
        }
        ProposeCommand::Platforms { allow } => {
            chain::send(gov.proposePlatforms(platform_mask(allow)?)).await?
        }
        ProposeCommand::Veto { id } => chain::send(gov.proposeVeto(U256::from(*id))).await?,
        ProposeCommand::FamilyCap { state } => {
            chain::send(gov.proposeFamilyCap(state == "on")).await?
        }
        ProposeCommand::LivenessRule { state } => {
            chain::send(gov.proposeLivenessRule(state == "on")).await?
        }
        ProposeCommand::TransitionDeadline { duration } => {
            let d = parse::transition_deadline(duration)?;
            chain::send(gov.proposeTransitionDeadline(d)).await?
        }
        ProposeCommand::NetworkPolicy {
            snp_milan,
            snp_genoa,
            snp_turin,
            dcap_min_tcb_eval,
            dcap_max_collateral_age,
            max_evidence_age,
        } => {
            let mut v = network_policy(&gov).await?.values;
            for (i, (flag, value, turin)) in [
                ("--snp-milan", snp_milan, false),
                ("--snp-genoa", snp_genoa, false),
                ("--snp-turin", snp_turin, true),
            ]
            .into_iter()
            .enumerate()
            {
                if let (Some(value), Some(slot)) = (value, v.snp_min_tcb.get_mut(i)) {
                    *slot = parse::snp_floor(flag, value, turin)?;
                }
            }
            if let Some(n) = dcap_min_tcb_eval {
                v.dcap_min_tcb_evaluation_data_number = *n;
            }
            if let Some(d) = dcap_max_collateral_age {
                v.dcap_max_collateral_age_secs = parse::duration(d)?;
            }
            if let Some(d) = max_evidence_age {
                v.max_evidence_age_secs = parse::duration(d)?;
            }
            let encoded = v
                .encode()
                .map_err(|e| CliError::new("bad_input", format!("network policy: {e}")))?;
            chain::send(gov.proposeNetworkPolicy(encoded.into())).await?
        }
    };
    let id = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<Governance::ProposalCreated>().ok())
        .and_then(|l| u64::try_from(l.inner.data.id).ok())
        .ok_or_else(|| {
            CliError::new(
                "chain_error",
                "the transaction succeeded but emitted no ProposalCreated",
            )
        })?;
    let p = proposal(&gov, id).await?;
    let mut v = proposal_json(&p);
    if let Some(o) = v.as_object_mut() {
        o.insert("proposal".to_owned(), json!(id));
        o.insert("gas_used".to_owned(), json!(receipt.gas_used));
    }
    Ok((
        v,
        format!(
            "proposal {id} ({}): {} of {} votes, {}",
            p.kind().name(),
            p.votes,
            p.required,
            p.state.name()
        ),
    ))
}

/// The committee that results from the current one (pending if any, else active) with
/// `remove` taken out and `add` appended.
async fn next_committee(
    gov: &Gov,
    add: &[String],
    remove: &[String],
    threshold: Option<u16>,
) -> Result<(Vec<FixedBytes<32>>, u16), CliError> {
    let active = gov
        .activeCommittee()
        .call()
        .await
        .map_err(chain::call_error)?;
    let current = EpochInfo::try_from(active)
        .map_err(|e| CliError::new("chain_error", format!("bad epoch record: {e}")))?;
    let mut members: Vec<[u8; 32]> = if current.status == EpochStatus::Active {
        current.committee.clone()
    } else {
        Vec::new()
    };
    for r in remove {
        let r = parse::bytes32("--remove", r)?;
        let before = members.len();
        members.retain(|m| *m != r);
        if members.len() == before {
            return Err(CliError::new(
                "bad_input",
                format!("node {} is not in the active committee", hex(r)),
            ));
        }
    }
    for a in add {
        members.push(parse::bytes32("--add", a)?);
    }
    let n = members.len();
    let majority = u16::try_from(n / 2 + 1).unwrap_or(u16::MAX);
    let t = threshold.unwrap_or(
        if current.threshold > 0
            && usize::from(current.threshold) <= n
            && usize::from(current.threshold) * 2 > n
        {
            current.threshold
        } else {
            majority
        },
    );
    Ok((members.into_iter().map(FixedBytes::from).collect(), t))
}

async fn after_tx(
    gov: &Gov,
    id: u64,
    receipt: &TransactionReceipt,
    verb: &str,
) -> Result<(Value, String), CliError> {
    let p = proposal(gov, id).await?;
    Ok((
        json!({ "proposal": id, "kind": p.kind().name(), "votes": p.votes,
                "required": p.required, "state": p.state.name(), "eta": p.eta,
                "tx": hex(receipt.transaction_hash), "gas_used": receipt.gas_used }),
        format!(
            "{verb} proposal {id} ({}): {} of {} votes, {}{}",
            p.kind().name(),
            p.votes,
            p.required,
            p.state.name(),
            match (p.state, p.eta) {
                (ProposalState::Queued, Some(e)) => format!(", executable from unix time {e}"),
                _ => String::new(),
            }
        ),
    ))
}

async fn proposal(gov: &Gov, id: u64) -> Result<ProposalInfo, CliError> {
    let v = gov
        .proposal(U256::from(id))
        .call()
        .await
        .map_err(chain::call_error)?;
    ProposalInfo::try_from(v)
        .map_err(|e| CliError::new("chain_error", format!("proposal {id} does not decode: {e}")))
}

/// A proposal this build cannot decode (an unknown kind, state or payload), shown with
/// its raw codes as `unknown(N)` so that one such proposal does not break a listing.
fn undecoded_proposal(id: u64, v: &Governance::ProposalView) -> (String, Value) {
    let kind = ProposalKind::try_from(v.kind)
        .map_or_else(|_| format!("unknown({})", v.kind), |k| k.name().to_owned());
    let state = ProposalState::try_from(v.state)
        .map_or_else(|_| format!("unknown({})", v.state), |s| s.name().to_owned());
    let eta = (v.eta != 0).then_some(v.eta);
    (
        format!(
            "{id:>4}  {kind:<19} {:>2}/{:<2}  {state:<9} {:>11}  {}",
            v.votes,
            v.required,
            eta.map_or_else(|| "-".to_owned(), |e| e.to_string()),
            hex(v.appId)
        ),
        json!({ "id": id, "kind": kind, "votes": v.votes, "required": v.required,
                "state": state, "eta": eta, "expires_at": v.expiresAt,
                "app_id": hex(v.appId), "proposer": hex(v.proposer),
                "payload": hex(&v.payload) }),
    )
}

fn proposal_json(p: &ProposalInfo) -> Value {
    let action = match &p.action {
        ProposalAction::Approve { measurement } | ProposalAction::Revoke { measurement } => {
            json!({ "measurement": hex(measurement) })
        }
        ProposalAction::Council {
            voters,
            quorum,
            revoke_quorum,
            timelock,
        } => json!({
            "voters": voters.iter().map(hex).collect::<Vec<_>>(),
            "quorum": quorum, "revoke_quorum": revoke_quorum, "timelock": timelock }),
        ProposalAction::Committee {
            committee,
            threshold,
        } => json!({
            "committee": committee.iter().map(hex).collect::<Vec<_>>(), "threshold": threshold }),
        ProposalAction::CancelTransition { epoch } => json!({ "epoch": epoch }),
        ProposalAction::FamilyCap { enabled } => json!({ "enabled": enabled }),
        ProposalAction::Platforms { mask } => json!({ "platforms":
            Platform::from_mask(*mask).iter().map(ToString::to_string).collect::<Vec<_>>() }),
        ProposalAction::LivenessRule { enabled } => json!({ "enabled": enabled }),
        ProposalAction::Veto { target } => json!({ "target": target }),
        ProposalAction::TransitionDeadline { seconds } => json!({ "seconds": seconds }),
        ProposalAction::NetworkPolicy(v) => json!({
            "snp_min_tcb": v.snp_min_tcb.iter().map(|p| {
                (*p != 0).then(|| NetworkPolicy::unpack_snp(*p).to_vec())
            }).collect::<Vec<_>>(),
            "dcap_min_tcb_evaluation_data_number": v.dcap_min_tcb_evaluation_data_number,
            "dcap_max_collateral_age_secs": v.dcap_max_collateral_age_secs,
            "max_evidence_age_secs": v.max_evidence_age_secs }),
        _ => json!({}),
    };
    json!({ "id": p.id, "kind": p.kind().name(), "votes": p.votes, "required": p.required,
            "state": p.state.name(), "eta": p.eta, "expires_at": p.expires_at,
            "app_id": hex(p.app_id), "proposer": hex(p.proposer), "action": action })
}

/// Parses `tdx,sgx,…` into the contract's `allowedPlatforms` mask.
fn platform_mask(list: &str) -> Result<u32, CliError> {
    let platforms = list
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.trim().parse::<Platform>().map_err(|_| {
                CliError::new(
                    "bad_input",
                    format!("unknown platform {p:?}; use tdx, sgx, sev-snp, nitro or simulated"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Platform::mask(&platforms))
}

/// `networkPolicy()`: the allowed platforms and the network's attestation values.
async fn network_policy(gov: &Gov) -> Result<OnChainPolicy, CliError> {
    let v = gov
        .networkPolicy()
        .call()
        .await
        .map_err(chain::call_error)?;
    OnChainPolicy::try_from(v)
        .map_err(|e| CliError::new("chain_error", format!("bad network policy on chain: {e}")))
}

fn signed(c: &ChainArgs, signer: PrivateKeySigner) -> Result<Gov, CliError> {
    let network = c.network()?;
    let provider = chain::provider(&network.rpc, Some(signer))?;
    chain::contract(network.contract()?, provider)
}

fn read_only(c: &ChainArgs) -> Result<Gov, CliError> {
    let network = c.network()?;
    let provider = chain::provider(&network.rpc, None)?;
    chain::contract(network.contract()?, provider)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use alloy::primitives::{Address, Bytes, FixedBytes, U256};

    use super::*;

    #[test]
    fn undecoded_proposal__should_show_unknown_codes_instead_of_failing() {
        let v = Governance::ProposalView {
            id: U256::from(4),
            appId: FixedBytes::repeat_byte(1),
            proposer: Address::repeat_byte(2),
            kind: 42,
            state: 9,
            votes: 1,
            required: 2,
            createdAt: 10,
            eta: 0,
            expiresAt: 20,
            payload: Bytes::from(vec![0xab]),
        };
        assert!(ProposalInfo::try_from(v.clone()).is_err());
        let (line, json) = undecoded_proposal(4, &v);
        assert_eq!(json["kind"], "unknown(42)");
        assert_eq!(json["state"], "unknown(9)");
        assert_eq!(json["payload"], "ab");
        assert!(line.contains("unknown(42)"), "{line}");
    }
}
