//! `kms attest verify` and `kms attest measure` (CLI.md, "Attestation tools").
//!
//! The verification is the SDK's ([`clients::sdk::attest`]); the CLI picks the time
//! (the CLI may read the clock, the library may not) and renders the result.

use std::path::PathBuf;

use attestation_gate::{Collateral, UnixTime};
use clap::{Args, Subcommand};
use clients::sdk::attest;

use super::args::ChainArgs;
use super::error::CliError;
use super::parsers;
use super::render::{self, Output};

/// `kms attest …`
#[derive(Debug, Args)]
pub struct AttestArgs {
    #[command(subcommand)]
    command: AttestCommand,
}

#[derive(Debug, Subcommand)]
enum AttestCommand {
    /// Verify evidence offline against pinned roots and print its normalised claims.
    Verify {
        /// The evidence: raw bytes, hex or base64 text, or CBOR; platform detected.
        #[arg(long, value_name = "FILE")]
        evidence: PathBuf,
        /// A folder of collateral laid out like shared/fixtures/attestation samples
        /// (collateral.json for TDX/SGX, vcek.der or vlek.der for SEV-SNP).
        #[arg(long, value_name = "DIR")]
        collateral: Option<PathBuf>,
        /// Verification time, RFC 3339 (e.g. 2025-07-01T00:00:00Z); default: now.
        #[arg(long, value_name = "RFC3339", value_parser = parsers::time)]
        at: Option<UnixTime>,
        /// Trust simulated evidence signed by this devnet public key (hex, 32 bytes).
        /// Repeatable. Without it simulated evidence is refused.
        #[arg(long = "simulated-key", value_name = "HEX",
              value_parser = parsers::hex32("--simulated-key"))]
        simulated_keys: Vec<[u8; 32]>,
    },
    /// Would the network release keys to this evidence now? Verifies it and runs the
    /// nodes' key-release rules against the chain's policy and the app's approvals at
    /// one pinned block. A refusal exits non-zero with the refusing rule as its kind.
    Check {
        /// The evidence (any encoding `verify` accepts).
        #[arg(long, value_name = "FILE")]
        evidence: PathBuf,
        /// The application id (32 bytes hex).
        #[arg(long, value_name = "APP_ID", value_parser = parsers::hex32("--app"))]
        app: [u8; 32],
        /// A folder of collateral (as for `verify`).
        #[arg(long, value_name = "DIR")]
        collateral: Option<PathBuf>,
        /// Trust simulated evidence signed by this devnet public key (hex, 32 bytes);
        /// with --devnet the devnet's key is trusted.
        #[arg(long = "simulated-key", value_name = "HEX",
              value_parser = parsers::hex32("--simulated-key"))]
        simulated_keys: Vec<[u8; 32]>,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// Print the 32-byte measurement digest of evidence, to approve on chain. Does not
    /// verify the evidence.
    Measure {
        /// The evidence (any encoding `verify` accepts).
        #[arg(long, value_name = "FILE")]
        evidence: PathBuf,
    },
}

/// Runs `kms attest …`.
pub fn run(args: &AttestArgs) -> Result<Output, CliError> {
    if let AttestCommand::Check {
        evidence,
        app,
        collateral,
        simulated_keys,
        chain,
    } = &args.command
    {
        return super::block_on(check(
            evidence,
            *app,
            collateral.as_deref(),
            simulated_keys,
            chain,
        ));
    }
    dispatch(args).map_err(|e| CliError::from(&e))
}

async fn check(
    evidence: &std::path::Path,
    app: [u8; 32],
    collateral: Option<&std::path::Path>,
    simulated_keys: &[[u8; 32]],
    chain: &ChainArgs,
) -> clients::Result<Output> {
    let input = attest::read_file(evidence, "evidence")?;
    let collateral = match collateral {
        Some(dir) => attest::load_collateral(dir)?,
        None => Collateral::new(),
    };
    let mut keys = simulated_keys.to_vec();
    if let Some(dir) = &chain.devnet {
        keys.push(super::app::devnet_public_key(dir)?);
    }
    let gov = chain.read_only()?;
    let now = attest::wall_clock()?;
    let result = gov
        .check_release(&input, &collateral, app, now, &keys)
        .await?;
    Ok(render::attest::checked(&result))
}

fn dispatch(args: &AttestArgs) -> clients::Result<Output> {
    match &args.command {
        AttestCommand::Verify {
            evidence,
            collateral,
            at,
            simulated_keys,
        } => {
            let input = attest::read_file(evidence, "evidence")?;
            let collateral = match collateral {
                Some(dir) => attest::load_collateral(dir)?,
                None => Collateral::new(),
            };
            let now = match at {
                Some(t) => *t,
                None => attest::wall_clock()?,
            };
            let (detected, claims) = attest::verify(&input, &collateral, now, simulated_keys)?;
            Ok(render::attest::verified(&detected, &claims, now))
        }
        AttestCommand::Check { .. } => Err(clients::Error::Internal(
            "attest check runs on its own path".into(),
        )),
        AttestCommand::Measure { evidence } => {
            let input = attest::read_file(evidence, "evidence")?;
            let (detected, raw) = attest::measure(&input)?;
            Ok(render::attest::measured(&detected, &raw))
        }
    }
}
