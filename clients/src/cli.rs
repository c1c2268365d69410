//! The `kms` command line: clap arguments, typed by the value parsers of [`parsers`],
//! turned into SDK calls; [`render`] prints the results as text or JSON, and
//! [`error`] maps the SDK's errors to the CLI.md error contract.

mod app;
mod args;
mod attest;
mod devnet;
mod error;
mod gov;
mod network;
mod node;
mod parsers;
mod render;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

use self::error::CliError;
use self::render::Output;

#[derive(Parser)]
#[command(
    name = "kms",
    version,
    about = "keynet key-management network command line"
)]
struct Cli {
    /// Print a single JSON object instead of human-friendly text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the version of this `kms` build.
    Version,
    /// Applications (inside the enclave): fetch keys, sign, seal and unseal.
    App(app::AppArgs),
    /// Attestation tools: verify evidence offline, print measurement digests.
    Attest(attest::AttestArgs),
    /// Governance: deploy, register applications, propose, vote, execute.
    Gov(gov::GovArgs),
    /// Node operators: register or deregister a node on chain.
    Node(node::NodeArgs),
    /// The network as the chain records it: active epoch, keys, committee.
    Network(network::NetworkArgs),
    /// A local network: anvil, the contract, simulated nodes (docs/DEVNET.md).
    Devnet(devnet::DevnetArgs),
}

fn run(cli: &Cli) -> Result<Output, CliError> {
    match &cli.command {
        Command::Version => Ok(render::version(env!("CARGO_PKG_VERSION"))),
        Command::App(args) => app::run(args),
        Command::Attest(args) => attest::run(args),
        Command::Gov(args) => gov::run(args),
        Command::Node(args) => node::run(args),
        Command::Network(args) => network::run(args),
        Command::Devnet(args) => devnet::run(args, cli.json),
    }
}

/// Why no command ran.
enum NotParsed {
    /// Already reported (usage error); exit with this code.
    Exit(ExitCode),
    /// A value parser refused a value: reported like a command's failure (its kind,
    /// exit 1), as when the command itself parsed it.
    Refused(CliError),
}

/// Argument errors follow the CLI.md contract too: with `--json` anywhere on the
/// command line they print `{"error": {"kind": "usage", …}}` and exit 2, as clap does;
/// a value refused by one of our parsers keeps the SDK's kind (`bad_input`, …).
fn parse_or_report(json: bool) -> Result<Cli, NotParsed> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => e.exit(), // --help and --version print and succeed
        Err(e) if e.kind() == ErrorKind::ValueValidation => {
            match std::error::Error::source(&e).and_then(|s| s.downcast_ref::<clients::Error>()) {
                Some(refused) => Err(NotParsed::Refused(CliError::from(refused))),
                None => Err(usage(e, json)),
            }
        }
        Err(e) => Err(usage(e, json)),
    }
}

fn usage(e: clap::Error, json: bool) -> NotParsed {
    if !json {
        e.exit()
    }
    let rendered = e.render().to_string();
    // clap's text up to its usage block, as one line.
    let message = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_owned();
    println!("{}", CliError::new("usage", message).to_json());
    NotParsed::Exit(ExitCode::from(2))
}

/// Parses the command line, runs the command, prints its result or error.
pub fn main() -> ExitCode {
    let json_flag = std::env::args_os().any(|a| a == "--json");
    let (json, result) = match parse_or_report(json_flag) {
        Ok(cli) => (cli.json, run(&cli)),
        Err(NotParsed::Exit(code)) => return code,
        Err(NotParsed::Refused(e)) => (json_flag, Err(e)),
    };
    match result {
        Ok(out) => {
            out.emit(json);
            if out.failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            if json {
                println!("{}", e.to_json());
            } else {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs `f` to completion on a single-threaded runtime.
fn block_on<T>(
    f: impl std::future::Future<Output = Result<T, clients::Error>>,
) -> Result<T, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new("internal", format!("cannot start the runtime: {e}")))?;
    rt.block_on(f).map_err(|e| CliError::from(&e))
}
