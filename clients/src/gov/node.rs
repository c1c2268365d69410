//! `kms node register|deregister` and `kms network info`: the node registry and the
//! active committee as the governance contract records them (CLI.md "Operators").

use std::path::PathBuf;

use alloy::primitives::{Bytes, FixedBytes};
use alloy::providers::Provider;
use clap::{Args, Subcommand};
use governance_contract::{EpochInfo, NodePlatform, NodeRecord, Registration, Vendor};
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
    /// Register a node operated (and paid for) by the signing account, from the
    /// registration file kms-node wrote at start-up; prints its node_id. Vendor and TEE
    /// family follow from the platform in the file.
    Register {
        /// The registration file (docs/GOVERNANCE.md, "Node registration").
        #[arg(long)]
        registration: PathBuf,
        /// Where the node listens (several: comma-separated).
        #[arg(long)]
        endpoint: String,
    },
    /// Change where a node listens (its operator only).
    SetEndpoint {
        /// The node id (32-byte hex).
        node_id: String,
        /// The new endpoint (several: comma-separated).
        endpoint: String,
    },
    /// Remove a node's record (its operator only; not while it is in the active or
    /// pending committee).
    Deregister {
        /// The node id (32-byte hex).
        node_id: String,
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
    /// The network-wide attestation policy on chain, as nodes appraise evidence with it.
    Policy,
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
            registration,
            endpoint,
        } => {
            let text = std::fs::read_to_string(registration).map_err(|e| {
                CliError::new(
                    "bad_registration",
                    format!(
                        "cannot read the registration file {}: {e}",
                        registration.display()
                    ),
                )
            })?;
            let bad = |e: governance_contract::Error| {
                CliError::new(
                    "bad_registration",
                    format!("{}: {e}", registration.display()),
                )
            };
            let reg = Registration::from_json(&text).map_err(bad)?;
            reg.verify().map_err(bad)?;
            let signer = c.signer()?;
            let operator = signer.address();
            let gov = super::signed(c, signer)?;
            // The contract refuses these too; checking first names the cause.
            let chain_id = gov
                .provider()
                .get_chain_id()
                .await
                .map_err(|e| chain::transport_error(&e))?;
            let r = &reg.request;
            if r.operator != operator || r.chain_id != chain_id || r.contract != *gov.address() {
                return Err(CliError::new(
                    "bad_node_signature",
                    format!(
                        "the registration is signed for operator {}, chain {}, contract {}, but this is operator {operator}, chain {chain_id}, contract {}; have the node write it again",
                        r.operator, r.chain_id, r.contract, gov.address()
                    ),
                ));
            }
            let receipt = chain::send(gov.registerNode(
                Bytes::from(r.p2p_key.clone()),
                FixedBytes::from(r.noise_key),
                r.platform.code(),
                reg.signer,
                endpoint.clone(),
                Bytes::from(reg.signature.to_vec()),
            ))
            .await?;
            let id = reg.node_id();
            Ok((
                json!({ "node_id": hex(id), "operator": hex(operator), "signer": hex(reg.signer),
                        "vendor": r.platform.vendor().to_string(),
                        "platform": r.platform.platform().to_string(),
                        "node_platform": r.platform.to_string(),
                        "tee_family": r.platform.family().to_string(),
                        "endpoint": endpoint, "gas_used": receipt.gas_used }),
                format!("node_id  {}", hex(id)),
            ))
        }
        NodeCommand::SetEndpoint { node_id, endpoint } => {
            let id = parse::bytes32("NODE_ID", node_id)?;
            let gov = super::signed(c, c.signer()?)?;
            let receipt = chain::send(gov.setEndpoint(id.into(), endpoint.clone())).await?;
            Ok((
                json!({ "node_id": hex(id), "endpoint": endpoint, "gas_used": receipt.gas_used }),
                format!("node {} now at {endpoint}", hex(id)),
            ))
        }
        NodeCommand::Deregister { node_id } => {
            let id = parse::bytes32("NODE_ID", node_id)?;
            let gov = super::signed(c, c.signer()?)?;
            let receipt = chain::send(gov.deregister(id.into())).await?;
            Ok((
                json!({ "node_id": hex(id), "deregistered": true, "gas_used": receipt.gas_used }),
                format!("deregistered node {}", hex(id)),
            ))
        }
    }
}

/// A code this build cannot decode is shown as `unknown(N)`, never an error: a newer
/// contract may write codes an older CLI does not know.
fn vendor_name(code: u8) -> String {
    Vendor::try_from(code).map_or_else(|_| format!("unknown({code})"), |v| v.to_string())
}

fn platform_names(code: u8) -> (String, String) {
    NodePlatform::try_from(code).map_or_else(
        |_| (format!("unknown({code})"), format!("unknown({code})")),
        |p| (p.platform().to_string(), p.to_string()),
    )
}

async fn network(args: &NetworkArgs) -> Result<(Value, String), CliError> {
    let gov = super::read_only(&args.chain)?;
    match &args.command {
        NetworkCommand::Policy => {
            let chain = super::network_policy(&gov).await?;
            // The node's own conversion: what is shown is what nodes enforce.
            let p = governance_contract::policy::attestation_policy(&chain, []);
            let platforms: Vec<String> = p
                .allowed_platforms
                .iter()
                .map(ToString::to_string)
                .collect();
            let mut snp = serde_json::Map::new();
            let mut lines = vec![format!("allowed platforms   {}", platforms.join(", "))];
            for line in governance_contract::policy::SNP_LINES {
                let floor = p.snp_minimum_tcb.get(&line);
                lines.push(format!(
                    "sev-snp {:<11} {}",
                    line.as_str(),
                    floor.map_or_else(
                        || "no floor (refused)".to_owned(),
                        |f| format!(
                            "fmc {} bootloader {} tee {} snp {} microcode {}",
                            f.fmc, f.bootloader, f.tee, f.snp, f.microcode
                        )
                    )
                ));
                snp.insert(
                    line.as_str().to_owned(),
                    floor.map_or(Value::Null, |f| {
                        json!({ "fmc": f.fmc, "bootloader": f.bootloader, "tee": f.tee,
                                "snp": f.snp, "microcode": f.microcode })
                    }),
                );
            }
            let show =
                |v: Option<u64>| v.map_or_else(|| "not checked".to_owned(), |v| v.to_string());
            lines.push(format!(
                "dcap min tcb eval   {}",
                show(p.dcap_min_tcb_evaluation_data_number.map(u64::from))
            ));
            lines.push(format!(
                "dcap max coll. age  {}",
                show(p.dcap_max_collateral_age_secs)
            ));
            lines.push(format!("max evidence age    {} s", p.max_evidence_age_secs));
            Ok((
                json!({ "allowed_platforms": platforms, "snp_min_tcb": snp,
                        "dcap_min_tcb_evaluation_data_number": p.dcap_min_tcb_evaluation_data_number,
                        "dcap_max_collateral_age_secs": p.dcap_max_collateral_age_secs,
                        "max_evidence_age_secs": p.max_evidence_age_secs }),
                lines.join("\n"),
            ))
        }
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
            if !e.not_confirmed.is_empty() {
                lines.push(format!(
                    "not confirmed  {}",
                    e.not_confirmed
                        .iter()
                        .map(hex)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            for (i, id) in e.committee.iter().enumerate() {
                let n = gov
                    .node((*id).into())
                    .call()
                    .await
                    .map_err(chain::call_error)?;
                let n = NodeRecord::from(n);
                let index = i.saturating_add(1);
                let vendor = vendor_name(n.vendor_code);
                let (platform, node_platform) = platform_names(n.platform_code);
                lines.push(format!(
                    "{index:>3}  {}  {vendor:<12} {node_platform:<12} {}",
                    hex(id),
                    n.endpoint
                ));
                committee.push(json!({ "index": index, "node_id": hex(id),
                    "vendor": vendor, "platform": platform, "node_platform": node_platform,
                    "endpoint": n.endpoint, "operator": hex(n.operator), "signer": hex(n.signer),
                    "noise_key": hex(n.noise_key), "p2p_key": hex(&n.p2p_key) }));
            }
            Ok((
                json!({ "epoch": e.epoch, "threshold": e.threshold,
                        "bls_group_pk": e.bls_group_pk.map(hex),
                        "secp_group_pk": e.secp_group_pk.map(hex),
                        "committee": committee,
                        "not_confirmed": e.not_confirmed.iter().map(hex).collect::<Vec<_>>() }),
                lines.join("\n"),
            ))
        }
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn vendor_and_platform_names__should_show_unknown_codes_instead_of_failing() {
        assert_eq!(vendor_name(2), "amd");
        assert_eq!(vendor_name(0x83), "simulated-3");
        assert_eq!(vendor_name(9), "unknown(9)");
        assert_eq!(
            platform_names(0x82),
            ("simulated".to_owned(), "simulated-2".to_owned())
        );
        assert_eq!(platform_names(7).0, "unknown(7)");
    }
}
