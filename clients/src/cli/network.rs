//! `kms network info|policy`: the active committee and the attestation policy as the
//! governance contract records them (CLI.md "Operators").

use clap::{Args, Subcommand};
use clients::Result;

use super::args::ChainArgs;
use super::error::CliError;
use super::render::{self, Output};

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

/// Runs a `kms network` command.
pub fn run(args: &NetworkArgs) -> Result<Output, CliError> {
    super::block_on(dispatch(args))
}

async fn dispatch(args: &NetworkArgs) -> Result<Output> {
    let gov = args.chain.read_only()?;
    match &args.command {
        NetworkCommand::Info => Ok(render::network::info(&gov.network_info().await?)),
        NetworkCommand::Policy => Ok(render::network::policy(&gov.attestation_policy().await?)),
    }
}
