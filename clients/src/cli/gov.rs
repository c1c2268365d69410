//! `kms gov …`: deploy the governance contract, register applications, propose, vote,
//! execute and list (CLI.md "Governance", docs/GOVERNANCE.md).
//!
//! Every command talks to any JSON-RPC endpoint (`--rpc URL --contract ADDR`, or
//! `KMS_RPC_URL`, `KMS_CONTRACT`). Commands that send a transaction sign it with the key
//! in `--key-file FILE` or `KMS_PRIVATE_KEY` (hex), never a command-line argument.
//! A refusal by the contract exits non-zero with the contract's error kind
//! (`already_voted`, `timelock_pending`, `diversity_violation`, …).

use clap::{Args, Subcommand};
use clients::sdk::gov::{CommitteeChange, Council, Deployment, PolicyChange, Proposal};
use clients::{GovClient, Result};

use super::args::ChainArgs;
use super::error::CliError;
use super::parsers::{self, Addresses, Platforms, Switch};
use super::render::{self, Output};

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
        #[arg(long, value_parser = parsers::addresses("--voters"))]
        voters: Addresses,
        /// Votes needed for ordinary proposals.
        #[arg(long)]
        quorum: u16,
        /// Delay between reaching the quorum and execution (90s, 10m, 1h, 7d).
        #[arg(long, value_parser = parsers::timelock)]
        timelock: u64,
        /// Votes needed for a revocation (no timelock). Default: the quorum.
        #[arg(long)]
        revoke_quorum: Option<u16>,
        /// How long a proposal stays executable after its timelock.
        #[arg(long, default_value = "7d", value_parser = parsers::lifetime)]
        proposal_lifetime: u64,
        /// Also forbid one TEE family from holding t or more seats.
        #[arg(long)]
        family_cap: bool,
        /// Platforms whose evidence nodes accept, comma-separated (add `simulated`
        /// only for development networks).
        #[arg(long, default_value = "tdx,sgx,sev-snp,nitro", value_parser = parsers::platforms)]
        platforms: Platforms,
        /// How long a committee transition waits for every member's confirmation
        /// before `min(n, 2t-1)` matching ones suffice (60s to 30d).
        #[arg(long, default_value = "1d", value_parser = parsers::transition_deadline)]
        transition_deadline: u64,
    },
    /// Register an application, governed by its own voters.
    RegisterApp {
        /// Its voters (default: the signing account alone).
        #[arg(long, value_parser = parsers::addresses("--voters"))]
        voters: Option<Addresses>,
        /// Votes needed for ordinary proposals.
        #[arg(long, default_value_t = 1)]
        quorum: u16,
        /// Delay between reaching the quorum and execution.
        #[arg(long, default_value = "0s", value_parser = parsers::timelock)]
        timelock: u64,
        /// Votes needed for a revocation. Default: the quorum.
        #[arg(long)]
        revoke_quorum: Option<u16>,
        /// 32-byte salt (hex); app_id = keccak256(abi.encode(account, salt)). Default: random.
        #[arg(long, value_parser = parsers::hex32("--salt"))]
        salt: Option<[u8; 32]>,
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
        #[arg(long, value_parser = parsers::hex32("--app"))]
        app: Option<[u8; 32]>,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = 20, value_parser = parsers::page_limit)]
        limit: u64,
        /// Skip this many of the newest first (the previous page's `next_offset`).
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show an application: owner, council, approved measurements.
    App {
        /// The application id (32-byte hex).
        #[arg(value_parser = parsers::hex32("APP_ID"))]
        app_id: [u8; 32],
    },
}

#[derive(Subcommand, Debug)]
enum ProposeCommand {
    /// Approve a measurement for an application.
    Approve {
        /// Application id (32-byte hex); the network's node_app_id for kms-node builds.
        #[arg(long, value_parser = parsers::hex32("--app"))]
        app: [u8; 32],
        /// Measurement digest (32-byte hex).
        #[arg(long, value_parser = parsers::hex32("--measurement"))]
        measurement: [u8; 32],
    },
    /// Revoke a measurement (fast path: revocation quorum, no timelock).
    Revoke {
        /// Application id (32-byte hex).
        #[arg(long, value_parser = parsers::hex32("--app"))]
        app: [u8; 32],
        /// Measurement digest (32-byte hex).
        #[arg(long, value_parser = parsers::hex32("--measurement"))]
        measurement: [u8; 32],
    },
    /// Set the next committee: the current one with nodes added and removed.
    Committee {
        /// Node ids to add (32-byte hex), appended in order.
        #[arg(long, num_args = 1.., value_parser = parsers::hex32("--add"))]
        add: Vec<[u8; 32]>,
        /// Node ids to remove.
        #[arg(long, num_args = 1.., value_parser = parsers::hex32("--remove"))]
        remove: Vec<[u8; 32]>,
        /// The new threshold (default: the current one if still valid, else n/2+1).
        #[arg(long)]
        threshold: Option<u16>,
    },
    /// Replace an application's council (voters, quorums, timelock).
    Council {
        /// Application id (32-byte hex).
        #[arg(long, value_parser = parsers::hex32("--app"))]
        app: [u8; 32],
        /// The new voters, comma-separated.
        #[arg(long, value_parser = parsers::addresses("--voters"))]
        voters: Addresses,
        /// Votes needed for ordinary proposals.
        #[arg(long)]
        quorum: u16,
        /// Votes needed for revocations. Default: the quorum.
        #[arg(long)]
        revoke_quorum: Option<u16>,
        /// Delay between reaching the quorum and execution.
        #[arg(long, default_value = "0s", value_parser = parsers::timelock)]
        timelock: u64,
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
        #[arg(long, value_parser = parsers::platforms)]
        allow: Platforms,
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
        state: Switch,
    },
    /// Switch the committee liveness rule (on by default).
    LivenessRule {
        /// `on` or `off`.
        state: Switch,
    },
    /// Set how long a transition waits for every member before `min(n, 2t-1)`
    /// matching confirmations suffice.
    TransitionDeadline {
        /// 60s to 30d.
        #[arg(value_parser = parsers::transition_deadline)]
        duration: u64,
    },
    /// Set the network's attestation values; flags not given keep their current value.
    NetworkPolicy {
        /// SEV-SNP Milan floor: `bootloader,tee,snp,microcode` SPLs, or `none`.
        #[arg(long, value_parser = parsers::snp_floor("--snp-milan"))]
        snp_milan: Option<u64>,
        /// SEV-SNP Genoa floor: `bootloader,tee,snp,microcode`, or `none`.
        #[arg(long, value_parser = parsers::snp_floor("--snp-genoa"))]
        snp_genoa: Option<u64>,
        /// SEV-SNP Turin floor: `fmc,bootloader,tee,snp,microcode`, or `none`.
        #[arg(long, value_parser = parsers::snp_turin_floor)]
        snp_turin: Option<u64>,
        /// TDX/SGX minimum tcbEvaluationDataNumber (0: not checked).
        #[arg(long)]
        dcap_min_tcb_eval: Option<u32>,
        /// TDX/SGX maximum TCB-info age (e.g. 30d; 0s: not checked).
        #[arg(long, value_parser = parsers::duration)]
        dcap_max_collateral_age: Option<u64>,
        /// Maximum evidence age (e.g. 10m; 0s: the node's default).
        #[arg(long, value_parser = parsers::duration)]
        max_evidence_age: Option<u64>,
    },
}

/// Runs a `kms gov` command.
pub fn run(args: &GovArgs) -> Result<Output, CliError> {
    super::block_on(dispatch(args))
}

async fn dispatch(args: &GovArgs) -> Result<Output> {
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
            let deployment = Deployment {
                council: Council {
                    voters: voters.0.clone(),
                    quorum: *quorum,
                    revoke_quorum: *revoke_quorum,
                    timelock: *timelock,
                },
                proposal_lifetime: *proposal_lifetime,
                family_cap: *family_cap,
                platforms: platforms.0.clone(),
                transition_deadline: *transition_deadline,
            };
            let chain = c.chain()?;
            let d = GovClient::deploy(&chain.rpc, c.signer()?, &deployment).await?;
            Ok(render::gov::deployed(&d))
        }
        GovCommand::RegisterApp {
            voters,
            quorum,
            timelock,
            revoke_quorum,
            salt,
        } => {
            let council = Council {
                voters: voters.as_ref().map(|v| v.0.clone()).unwrap_or_default(),
                quorum: *quorum,
                revoke_quorum: *revoke_quorum,
                timelock: *timelock,
            };
            let a = c.signed()?.register_app(&council, *salt).await?;
            Ok(render::gov::registered_app(&a))
        }
        GovCommand::Propose(p) => {
            let proposed = c.signed()?.propose(&proposal(p)).await?;
            Ok(render::gov::proposed(&proposed))
        }
        GovCommand::Vote { id } => {
            let a = c.signed()?.vote(*id).await?;
            Ok(render::gov::acted("voted for", *id, &a))
        }
        GovCommand::Execute { id } => {
            let a = c.signed()?.execute(*id).await?;
            Ok(render::gov::acted("executed", *id, &a))
        }
        GovCommand::Cancel { id } => {
            let a = c.signed()?.cancel(*id).await?;
            Ok(render::gov::acted("cancelled", *id, &a))
        }
        GovCommand::Proposals { app, limit, offset } => {
            let page = c.read_only()?.proposals(*app, *offset, *limit).await?;
            Ok(render::gov::proposal_page(&page))
        }
        GovCommand::App { app_id } => {
            let a = c.read_only()?.app(*app_id).await?;
            Ok(render::gov::app(&a))
        }
    }
}

/// The SDK proposal a `kms gov propose` command describes.
fn proposal(p: &ProposeCommand) -> Proposal {
    match p {
        ProposeCommand::Approve { app, measurement } => Proposal::Approve {
            app: *app,
            measurement: *measurement,
        },
        ProposeCommand::Revoke { app, measurement } => Proposal::Revoke {
            app: *app,
            measurement: *measurement,
        },
        ProposeCommand::Committee {
            add,
            remove,
            threshold,
        } => Proposal::Committee(CommitteeChange {
            add: add.clone(),
            remove: remove.clone(),
            threshold: *threshold,
        }),
        ProposeCommand::Council {
            app,
            voters,
            quorum,
            revoke_quorum,
            timelock,
        } => Proposal::Council {
            app: *app,
            council: Council {
                voters: voters.0.clone(),
                quorum: *quorum,
                revoke_quorum: *revoke_quorum,
                timelock: *timelock,
            },
        },
        ProposeCommand::CancelTransition { epoch } => Proposal::CancelTransition { epoch: *epoch },
        ProposeCommand::Platforms { allow } => Proposal::Platforms(allow.0.clone()),
        ProposeCommand::Veto { id } => Proposal::Veto(*id),
        ProposeCommand::FamilyCap { state } => Proposal::FamilyCap(state.is_on()),
        ProposeCommand::LivenessRule { state } => Proposal::LivenessRule(state.is_on()),
        ProposeCommand::TransitionDeadline { duration } => Proposal::TransitionDeadline(*duration),
        ProposeCommand::NetworkPolicy {
            snp_milan,
            snp_genoa,
            snp_turin,
            dcap_min_tcb_eval,
            dcap_max_collateral_age,
            max_evidence_age,
        } => Proposal::NetworkPolicy(PolicyChange {
            snp_min_tcb: [*snp_milan, *snp_genoa, *snp_turin],
            dcap_min_tcb_evaluation_data_number: *dcap_min_tcb_eval,
            dcap_max_collateral_age_secs: *dcap_max_collateral_age,
            max_evidence_age_secs: *max_evidence_age,
        }),
    }
}
