//! `kms devnet up|status|down|node …` (CLI.md "Local network"): a thin layer over
//! [`clients::sdk::devnet::Devnet`], with an indicatif progress display on stderr.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use clients::sdk::devnet::process::Stop;
use clients::sdk::devnet::{Devnet, DevnetError, Event, Progress, UpOptions};
use clients::sdk::parse;
use clients::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::error::CliError;
use super::render::{self, Output};

/// The default state directory.
const DEFAULT_DIR: &str = ".keynet-devnet";

/// `kms devnet`.
#[derive(Args, Debug)]
pub struct DevnetArgs {
    #[command(subcommand)]
    command: DevnetCommand,
}

/// The state directory of a devnet.
#[derive(Args, Debug, Clone)]
struct DirArg {
    /// The devnet's state directory.
    #[arg(long, default_value = DEFAULT_DIR)]
    dir: PathBuf,
}

#[derive(Subcommand, Debug)]
enum DevnetCommand {
    /// Start a local network: anvil, the governance contract, simulated-enclave nodes
    /// of mixed vendors, the genesis DKG, a demo application. Stays in the foreground
    /// until Ctrl-C, SIGTERM or SIGHUP (then stops everything), or returns once
    /// serving with --detach.
    Up {
        /// Nodes in the genesis committee.
        #[arg(long, default_value_t = 5)]
        nodes: u16,
        /// Shares needed to answer (t of n).
        #[arg(long, default_value_t = 3)]
        threshold: u16,
        #[command(flatten)]
        dir: DirArg,
        /// Return once the network serves and leave it running.
        #[arg(long)]
        detach: bool,
        /// The kms-node binary (default: `kms-node` next to this `kms`; under
        /// `cargo run`, built first if missing).
        #[arg(long, env = "KMS_NODE_BIN", value_name = "PATH")]
        node_bin: Option<PathBuf>,
        /// The anvil binary (default: governance-contract's pinned one, installed with
        /// `npm ci` if missing).
        #[arg(long, value_name = "PATH")]
        anvil: Option<PathBuf>,
        /// The chain's block time (`1s`, `500ms`).
        #[arg(long, default_value = "1s", value_parser = block_time)]
        block_time: Duration,
    },
    /// What runs: the chain, the contract, each node, the demo application.
    Status {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Stop every process of the devnet and remove its state.
    Down {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Stop, start, kill or add one node.
    #[command(subcommand)]
    Node(NodeCommand),
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// Stop node INDEX (SIGTERM, then SIGKILL after 5 s).
    Stop {
        /// The node's index (from 1).
        index: u16,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Start node INDEX again (same keys, data and addresses).
    Start {
        /// The node's index (from 1).
        index: u16,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Kill node INDEX at once (SIGKILL), as a crash would.
    Kill {
        /// The node's index (from 1).
        index: u16,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Start and register one more node (the committee change is a separate
    /// `kms gov propose committee --add NODE_ID`).
    Add {
        /// Its simulated vendor (`N` or `simulated-N`, 1 to 127; default: the next of
        /// the devnet's round robin).
        #[arg(long, value_parser = vendor)]
        vendor: Option<u8>,
        #[command(flatten)]
        dir: DirArg,
    },
}

/// Runs a `kms devnet` command.
pub fn run(args: &DevnetArgs, json: bool) -> Result<Output, CliError> {
    super::block_on(dispatch(args, json))
}

async fn dispatch(args: &DevnetArgs, json: bool) -> Result<Output> {
    match &args.command {
        DevnetCommand::Up {
            nodes,
            threshold,
            dir,
            detach,
            node_bin,
            anvil,
            block_time,
        } => {
            // Before looking for (or building) kms-node: a bad size fails at once.
            clients::sdk::devnet::config::check_size(*nodes, *threshold)?;
            let node_bin = match node_bin {
                Some(p) => p.clone(),
                None => default_node_bin()?,
            };
            let bar = Arc::new(Bar::new());
            let opts = UpOptions {
                nodes: *nodes,
                threshold: *threshold,
                anvil: anvil.clone(),
                block_time: *block_time,
                progress: Some(bar.clone()),
                ..UpOptions::new(dir.dir.clone(), node_bin)
            };
            let mut stop = Stop::listen()?;
            let net = unless_stopped(&mut stop, Devnet::up(opts)).await;
            bar.finish();
            let mut net = net?;
            net.set_progress(None);
            let demo_key = tokio::select! {
                k = net.demo_key() => k,
                s = stop.requested() => return Err(interrupted(s)),
            };
            let summary = render::devnet::up(&net.status(), *detach, &demo_key);
            if *detach {
                net.detach();
                return Ok(summary);
            }
            summary.emit(json);
            let signal = stop.requested().await;
            // Not eprintln!: after SIGHUP the terminal is gone, and a failed write must
            // not keep the devnet from being stopped.
            let _ = writeln!(
                std::io::stderr(),
                "{signal}: stopping the devnet in {}…",
                dir.dir.display()
            );
            net.down()?;
            Ok(Output::printed())
        }
        DevnetCommand::Status { dir } => {
            Ok(render::devnet::status(&Devnet::open(&dir.dir)?.status()))
        }
        DevnetCommand::Down { dir } => {
            Devnet::open(&dir.dir)?.down()?;
            Ok(render::devnet::down(&dir.dir))
        }
        DevnetCommand::Node(cmd) => node(cmd).await,
    }
}

async fn node(cmd: &NodeCommand) -> Result<Output> {
    match cmd {
        NodeCommand::Stop { index, dir } => {
            Devnet::open(&dir.dir)?.node_stop(*index)?;
            Ok(render::devnet::node_changed(*index, "stopped"))
        }
        NodeCommand::Kill { index, dir } => {
            Devnet::open(&dir.dir)?.node_kill(*index)?;
            Ok(render::devnet::node_changed(*index, "killed"))
        }
        NodeCommand::Start { index, dir } => {
            let mut net = Devnet::open(&dir.dir)?;
            unless_stopped(&mut Stop::listen()?, net.node_start(*index)).await?;
            Ok(render::devnet::node_changed(*index, "started"))
        }
        NodeCommand::Add { vendor, dir } => {
            let mut net = Devnet::open(&dir.dir)?;
            let bar = Arc::new(Bar::new());
            net.set_progress(Some(bar.clone()));
            let added = unless_stopped(&mut Stop::listen()?, net.node_add(*vendor)).await;
            bar.finish();
            Ok(render::devnet::node_added(&added?, &dir.dir))
        }
    }
}

/// `work`'s result, or `interrupted` if a stop signal comes first (`work` is then
/// dropped, and with it what it had started).
async fn unless_stopped<T>(
    stop: &mut Stop,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        r = work => r,
        s = stop.requested() => Err(interrupted(s)),
    }
}

fn interrupted(signal: &str) -> Error {
    DevnetError::Interrupted(format!(
        "interrupted ({signal}); what this command started was stopped"
    ))
    .into()
}

/// `kms-node` in the folder of this `kms` (both are built into `target/<profile>/`).
/// Under `cargo run` (which sets `CARGO`), a missing one is built first with the same
/// profile, so `cargo run --release --bin kms -- devnet up` works on a fresh checkout.
fn default_node_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Internal(format!("cannot locate this kms binary: {e}")))?;
    let dir = exe.parent().unwrap_or_else(|| Path::new("."));
    let bin = dir.join("kms-node");
    if bin.is_file() {
        return Ok(bin);
    }
    if let Some(cargo) = std::env::var_os("CARGO") {
        let release = dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--bin", "kms-node"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if release {
            cmd.arg("--release");
        }
        eprintln!(
            "building kms-node (cargo build --bin kms-node{})…",
            if release { " --release" } else { "" }
        );
        let status = cmd.status().map_err(|e| {
            Error::from(DevnetError::NodeBinaryMissing(format!(
                "no kms-node at {} and cargo cannot run ({e})",
                bin.display()
            )))
        })?;
        if !status.success() {
            return Err(DevnetError::NodeBinaryMissing(format!(
                "no kms-node at {} and `cargo build --bin kms-node` failed ({status})",
                bin.display()
            ))
            .into());
        }
    }
    Ok(bin)
}

/// `--block-time`: `500ms`, or a duration like `1s`, `2s`.
fn block_time(s: &str) -> Result<Duration> {
    let d = match s.trim().strip_suffix("ms") {
        Some(ms) => Duration::from_millis(ms.parse().map_err(|_| {
            Error::BadInput(format!(
                "--block-time {s:?} is not a duration like 1s or 500ms"
            ))
        })?),
        None => Duration::from_secs(parse::duration(s)?),
    };
    if d.is_zero() {
        return Err(Error::BadInput("--block-time must be above 0".into()));
    }
    Ok(d)
}

/// `--vendor`: `N` or `simulated-N`.
fn vendor(s: &str) -> Result<u8> {
    let n = s.trim().strip_prefix("simulated-").unwrap_or(s.trim());
    n.parse::<u8>()
        .ok()
        .filter(|v| (1..=127).contains(v))
        .ok_or_else(|| {
            DevnetError::InvalidSize(format!(
                "--vendor {s:?}: give a simulated vendor N or simulated-N, N from 1 to 127"
            ))
            .into()
        })
}

/// The progress display: a spinner on stderr with the current step, a line per
/// finished step (hidden when stderr is not a terminal).
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Step(s) => self.bar.set_message(s.to_string()),
            Event::Waiting {
                what,
                elapsed,
                bound,
            } => self.bar.set_message(format!(
                "waiting for {what} ({} s, at most {} s)",
                elapsed.as_secs(),
                bound.as_secs()
            )),
            Event::Done(s) => self.bar.println(format!("✓ {s}")),
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn block_time__should_read_seconds_and_milliseconds_and_refuse_zero() {
        assert_eq!(block_time("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(block_time("2").unwrap(), Duration::from_secs(2));
        assert_eq!(block_time("500ms").unwrap(), Duration::from_millis(500));
        assert!(block_time("0s").is_err());
        assert!(block_time("fast").is_err());
    }

    #[test]
    fn vendor__should_read_n_or_simulated_n() {
        assert_eq!(vendor("3").unwrap(), 3);
        assert_eq!(vendor("simulated-7").unwrap(), 7);
        for bad in ["0", "128", "intel", "simulated-"] {
            assert_eq!(
                vendor(bad).unwrap_err().kind(),
                "invalid_devnet_size",
                "{bad}"
            );
        }
    }
}
