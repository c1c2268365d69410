//! `kms node register` and `kms network info`: the node registry and the active
//! committee as the governance contract records them (CLI.md "Operators").

use alloy::primitives::{Bytes, FixedBytes};
use clap::{Args, Subcommand};
use governance_contract::{types, EpochInfo, NodeRecord, Platform, TeeFamily, Vendor};
use serde_json::{json, Value};

use super::chain;
use super::parse::{self, hex};
use super::ChainArgs;
use crate::cli::{emit, CliError};

/// `kms node`.
#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: NodeCommand,
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// Register a node operated by the signing account; prints its node_id.
    Register {
        /// Where the node listens (several: comma-separated).
        #[arg(long)]
        endpoint: String,
        /// The node's p2p identity public key (hex; node_id = keccak256 of these bytes).
        #[arg(long)]
        p2p_key: String,
        /// The node's Noise static public key (32-byte hex).
        #[arg(long)]
        noise_key: String,
        /// intel, amd, aws, simulated or simulated-N.
        #[arg(long)]
        vendor: String,
        /// tdx, sgx, sev-snp, nitro or simulated.
        #[arg(long)]
        platform: String,
    },
}

/// `kms network`.
#[derive(Args, Debug)]
pub struct NetworkArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: NetworkCommand,
}

#[derive(Subcommand, Debug)]
enum NetworkCommand {
    /// The active epoch: threshold, group keys and committee.
    Info,
}

/// Runs a `kms node` command.
pub fn run_node(args: &NodeArgs, json: bool) -> Result<(), CliError> {
    let (value, human) = super::block_on(node(args))?;
    emit(json, &value, &human);
    Ok(())
}

/// Runs a `kms network` command.
pub fn run_network(args: &NetworkArgs, json: bool) -> Result<(), CliError> {
    let (value, human) = super::block_on(network(args))?;
    emit(json, &value, &human);
    Ok(())
}

async fn node(args: &NodeArgs) -> Result<(Value, String), CliError> {
    let c = &args.chain;
    match &args.command {
        NodeCommand::Register {
            endpoint,
            p2p_key,
            noise_key,
            vendor,
            platform,
        } => {
            let p2p = parse::hex_bytes("--p2p-key", p2p_key)?;
            let noise = parse::bytes32("--noise-key", noise_key)?;
            let vendor: Vendor = vendor.parse().map_err(|e| {
                CliError::new(
                    "bad_input",
                    format!("--vendor: {e}; use intel, amd, aws or simulated-N"),
                )
            })?;
            let platform: Platform = platform.parse().map_err(|e| {
                CliError::new(
                    "bad_input",
                    format!("--platform: {e}; use tdx, sgx, sev-snp, nitro or simulated"),
                )
            })?;
            // A simulated node's family carries its vendor label, so simulated vendors
            // also count as distinct families.
            let family = match (platform, vendor) {
                (Platform::Simulated, Vendor::Simulated(label)) => TeeFamily::Simulated(label),
                (p, _) => p.family(),
            };
            let signer = c.signer()?;
            let operator = signer.address();
            let gov = super::signed(c, signer)?;
            let receipt = chain::send(gov.registerNode(
                Bytes::from(p2p.clone()),
                FixedBytes::from(noise),
                vendor.code(),
                platform.code(),
                family.code(),
                endpoint.clone(),
            ))
            .await?;
            let id = types::node_id(&p2p);
            Ok((
                json!({ "node_id": hex(id), "operator": hex(operator), "vendor": vendor.to_string(),
                        "platform": platform.to_string(), "tee_family": family.to_string(),
                        "endpoint": endpoint, "gas_used": receipt.gas_used }),
                format!("node_id  {}", hex(id)),
            ))
        }
    }
}

async fn network(args: &NetworkArgs) -> Result<(Value, String), CliError> {
    let gov = super::read_only(&args.chain)?;
    match &args.command {
        NetworkCommand::Info => {
            let v = gov
                .activeCommittee()
                .call()
                .await
                .map_err(chain::call_error)?;
            let e = EpochInfo::try_from(v)
                .map_err(|e| CliError::new("chain_error", format!("bad epoch record: {e}")))?;
            let mut committee = Vec::new();
            let mut lines = vec![
                format!("epoch          {}", e.epoch),
                format!("threshold      {}", e.threshold),
                format!(
                    "bls_group_pk   {}",
                    e.bls_group_pk.map_or_else(|| "-".to_owned(), hex)
                ),
                format!(
                    "secp_group_pk  {}",
                    e.secp_group_pk.map_or_else(|| "-".to_owned(), hex)
                ),
            ];
            for (i, id) in e.committee.iter().enumerate() {
                let n = gov
                    .node((*id).into())
                    .call()
                    .await
                    .map_err(chain::call_error)?;
                let n = NodeRecord::try_from(n)
                    .map_err(|e| CliError::new("chain_error", format!("bad node record: {e}")))?;
                let index = i.saturating_add(1);
                lines.push(format!(
                    "{index:>3}  {}  {:<12} {:<10} {}",
                    hex(id),
                    n.vendor.to_string(),
                    n.platform.to_string(),
                    n.endpoint
                ));
                committee.push(json!({ "index": index, "node_id": hex(id),
                    "vendor": n.vendor.to_string(), "platform": n.platform.to_string(),
                    "endpoint": n.endpoint, "operator": hex(n.operator),
                    "noise_key": hex(n.noise_key), "p2p_key": hex(&n.p2p_key) }));
            }
            Ok((
                json!({ "epoch": e.epoch, "threshold": e.threshold,
                        "bls_group_pk": e.bls_group_pk.map(hex),
                        "secp_group_pk": e.secp_group_pk.map(hex),
                        "committee": committee }),
                lines.join("\n"),
            ))
        }
    }
}
