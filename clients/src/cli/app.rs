//! `kms app get-key|pubkey|sign|seal|unseal` (CLI.md "Application"): a thin layer over
//! [`clients::sdk::app`]. Runs inside the application's enclave; `--attester` picks the
//! evidence source, and the simulator only with `--devnet` and `--sim-measurement`.

use std::io::Write;
use std::path::{Path, PathBuf};

use attestation_gate::simulated::DevnetSigningKey;
use clap::{Args, Subcommand};
use clients::sdk::app::{self, AppAttester, AppClient, AttesterKind, ClientOptions};
use clients::sdk::devnet::DevnetDir;
use clients::sdk::{attest, parse};
use clients::{Error, GovClient, Result};

use super::args::ChainArgs;
use super::error::CliError;
use super::parsers;
use super::render::{self, Output};

/// `kms app`.
#[derive(Args, Debug)]
pub struct AppArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Where the application's evidence comes from. `simulated` only with --devnet
    /// and --sim-measurement (no security).
    #[arg(long, global = true, default_value = "auto", value_parser = attester_kind)]
    attester: AttesterKind,
    /// With `--attester simulated`: the image digest of the simulated build (hex, 32
    /// bytes; a devnet's demo app: `demo_app.sim_measurement` of devnet.json).
    #[arg(long, global = true, value_name = "HEX",
          value_parser = parsers::hex32("--sim-measurement"))]
    sim_measurement: Option<[u8; 32]>,
    /// Give up on the nodes after this long (`20s`, `1m`).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parsers::duration)]
    deadline: Option<u64>,
    #[command(subcommand)]
    command: AppCommand,
}

/// Which key.
#[derive(Args, Debug, Clone)]
struct Target {
    /// The application id (32 bytes hex).
    #[arg(long = "app", value_name = "APP_ID", value_parser = parsers::hex32("--app"))]
    app: [u8; 32],
    /// The derivation path (1..=255 bytes of UTF-8).
    #[arg(long)]
    path: String,
}

#[derive(Subcommand, Debug)]
enum AppCommand {
    /// Fetch the application's derived key for PATH from t nodes (attested).
    GetKey {
        #[command(flatten)]
        target: Target,
    },
    /// Print the application's BIP-340 public key xonly(P_app) for PATH (no attestation).
    Pubkey {
        #[command(flatten)]
        target: Target,
    },
    /// Have t nodes sign a message with the application's key for PATH (attested).
    Sign {
        #[command(flatten)]
        target: Target,
        /// The message (hex).
        #[arg(long, value_name = "HEX")]
        message: String,
    },
    /// Seal a file to (APP_ID, PATH), offline from the network's public key.
    Seal {
        #[command(flatten)]
        target: Target,
        /// The plaintext.
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Where the sealed box goes.
        #[arg(long = "out", value_name = "FILE")]
        output: PathBuf,
    },
    /// Open a sealed file with the application's key for PATH (attested).
    Unseal {
        #[command(flatten)]
        target: Target,
        /// The sealed box.
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Where the plaintext goes (created with mode 0600).
        #[arg(long = "out", value_name = "FILE")]
        output: PathBuf,
    },
}

fn attester_kind(s: &str) -> Result<AttesterKind> {
    s.parse()
}

/// Runs a `kms app` command.
pub fn run(args: &AppArgs) -> Result<Output, CliError> {
    super::block_on(dispatch(args))
}

async fn dispatch(args: &AppArgs) -> Result<Output> {
    // The attester is settled first: a refused `--attester simulated` fails before
    // anything else is looked at.
    let attester = match &args.command {
        AppCommand::GetKey { .. } | AppCommand::Sign { .. } | AppCommand::Unseal { .. } => {
            Some(attester(args)?)
        }
        AppCommand::Pubkey { .. } | AppCommand::Seal { .. } => None,
    };
    let gov = args.chain.read_only()?;
    match &args.command {
        AppCommand::Pubkey { target } => {
            let id = app::identity(target.app, &target.path)?;
            let keys = network_keys(&gov).await?;
            Ok(render::app::pubkey(
                &id,
                &keys.app_xonly(&id)?,
                &keys.secp_group_key_bytes(),
            ))
        }
        AppCommand::Seal {
            target,
            input,
            output,
        } => {
            let id = app::identity(target.app, &target.path)?;
            let keys = network_keys(&gov).await?;
            let plaintext = attest::read_file(input, "input")?;
            let sealed = keys.seal(&id, &plaintext)?;
            write_file(output, &sealed, false)?;
            Ok(render::app::sealed(
                &id,
                input,
                output,
                sealed.len(),
                keys.epoch,
            ))
        }
        AppCommand::GetKey { target } => {
            let client = client(args, gov, target.app, attester)?;
            let released = client.get_key(&target.path).await?;
            Ok(render::app::key(&released))
        }
        AppCommand::Sign { target, message } => {
            let message = parse::hex_bytes("--message", message)?;
            let client = client(args, gov, target.app, attester)?;
            let signed = client.sign(&target.path, &message).await?;
            Ok(render::app::signed(target.app, &target.path, &signed))
        }
        AppCommand::Unseal {
            target,
            input,
            output,
        } => {
            let sealed = attest::read_file(input, "sealed")?;
            app::check_sealed_box(&sealed)?;
            let client = client(args, gov, target.app, attester)?;
            let plaintext = client.unseal(&target.path, &sealed).await?;
            write_file(output, &plaintext, true)?;
            Ok(render::app::unsealed(
                target.app,
                &target.path,
                input,
                output,
                plaintext.len(),
            ))
        }
    }
}

async fn network_keys(gov: &GovClient) -> Result<app::NetworkKeys> {
    app::NetworkKeys::from_epoch(&gov.active_committee().await?)
}

/// The attester `--attester` names; the simulator only on a devnet, loudly.
fn attester(args: &AppArgs) -> Result<AppAttester> {
    if args.attester != AttesterKind::Simulated {
        return AppAttester::device(args.attester, Path::new("/"));
    }
    let (Some(dir), Some(image)) = (&args.chain.devnet, args.sim_measurement) else {
        return Err(app::AppError::SimulatedNotAllowed(
            "--attester simulated needs --devnet DIR and --sim-measurement HEX: simulated evidence has no security and exists for devnets only".into(),
        )
        .into());
    };
    eprintln!(
        "WARNING: SIMULATED ATTESTATION (devnet {}): this evidence has no security; never use it outside a devnet",
        dir.display()
    );
    AppAttester::simulated_from_devnet(dir, image)
}

fn client(
    args: &AppArgs,
    gov: GovClient,
    app_id: [u8; 32],
    attester: Option<AppAttester>,
) -> Result<AppClient> {
    let attester =
        attester.ok_or_else(|| Error::Internal("no attester for an attested command".into()))?;
    let mut options = ClientOptions::default();
    if let Some(secs) = args.deadline {
        options.deadline = std::time::Duration::from_secs(secs);
    }
    if let Some(dir) = &args.chain.devnet {
        // A devnet's nodes present simulated evidence signed with the devnet's key.
        options.simulated_node_keys = vec![devnet_public_key(dir)?];
    }
    AppClient::new(gov, app_id, attester, options)
}

/// The public half of the devnet's simulated-attestation key.
pub fn devnet_public_key(dir: &Path) -> Result<[u8; 32]> {
    let path = DevnetDir::new(dir).sim_key();
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(&path)
            .map_err(|e| Error::BadDevnet(format!("cannot read {}: {e}", path.display())))?,
    );
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    alloy::hex::decode_to_slice(text.trim(), seed.as_mut_slice())
        .map_err(|_| Error::BadDevnet(format!("{} must hold 64 hex digits", path.display())))?;
    Ok(DevnetSigningKey::from_seed(&seed).public_key().to_bytes())
}

/// Writes `bytes` to `path` (mode 0600 when `secret`).
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts
        .open(path)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(bytes)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
}
