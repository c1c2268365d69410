//! `kms node register|set-endpoint|deregister`: the node registry as the governance
//! contract records it (CLI.md "Operators"); `kms node status`: what a node says about
//! itself on its operator endpoint.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use clients::sdk::devnet::{self, Devnet};
use clients::sdk::node::load_registration;
use clients::{Error, Result};

use super::args::ChainArgs;
use super::error::CliError;
use super::parsers;
use super::render::{self, Output};

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
        #[arg(value_parser = parsers::hex32("NODE_ID"))]
        node_id: [u8; 32],
        /// The new endpoint (several: comma-separated).
        endpoint: String,
    },
    /// Remove a node's record (its operator only; not while it is in the active or
    /// pending committee).
    Deregister {
        /// The node id (32-byte hex).
        #[arg(value_parser = parsers::hex32("NODE_ID"))]
        node_id: [u8; 32],
    },
    /// What a node says about itself (`GET URL/status` on its operator endpoint):
    /// serving, epoch, pending transition, peers.
    Status {
        /// The node's operator endpoint (`http://127.0.0.1:7300`).
        #[arg(long, value_name = "URL", conflicts_with = "index")]
        node: Option<String>,
        /// With `--devnet D`: the devnet's node INDEX (from 1).
        #[arg(long, requires = "devnet")]
        index: Option<u16>,
    },
}

/// Runs a `kms node` command.
pub fn run(args: &NodeArgs) -> Result<Output, CliError> {
    super::block_on(dispatch(args))
}

async fn dispatch(args: &NodeArgs) -> Result<Output> {
    let c = &args.chain;
    match &args.command {
        NodeCommand::Register {
            registration,
            endpoint,
        } => {
            let reg = load_registration(registration)?;
            let n = c.signed()?.register_node(&reg, endpoint).await?;
            Ok(render::node::registered(&n))
        }
        NodeCommand::SetEndpoint { node_id, endpoint } => {
            let gas = c.signed()?.set_endpoint(*node_id, endpoint).await?;
            Ok(render::node::endpoint_set(node_id, endpoint, gas))
        }
        NodeCommand::Deregister { node_id } => {
            let gas = c.signed()?.deregister(*node_id).await?;
            Ok(render::node::deregistered(node_id, gas))
        }
        NodeCommand::Status { node, index } => {
            let url = match (node, index, &c.devnet) {
                (Some(url), _, _) => url.clone(),
                (None, Some(i), Some(dir)) => Devnet::open(dir)?.operator_url(*i)?.ok_or_else(|| {
                    Error::from(devnet::DevnetError::NodeUnreachable(format!(
                        "node {i} of the devnet in {} has not reported an operator endpoint; is it running (`kms devnet status`)?",
                        dir.display()
                    )))
                })?,
                _ => {
                    return Err(Error::BadInput(
                        "give --node URL (the node's operator endpoint) or --devnet DIR --index I".into(),
                    ))
                }
            };
            let s = devnet::fetch_status(&url, devnet::operator::STATUS_TIMEOUT).await?;
            Ok(render::devnet::node_status(&s))
        }
    }
}
