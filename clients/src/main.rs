//! `kms`: parses arguments, runs one command, reports errors per CLI.md.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use clients::cli::CliError;

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
    /// Attestation tools: verify evidence offline, print measurement digests.
    Attest(clients::attest::AttestArgs),
    /// Governance: deploy, register applications, propose, vote, execute.
    Gov(clients::gov::GovArgs),
    /// Node operators: register or deregister a node on chain.
    Node(clients::gov::node::NodeArgs),
    /// The network as the chain records it: active epoch, keys, committee.
    Network(clients::gov::node::NetworkArgs),
}

fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Version => {
            let v = env!("CARGO_PKG_VERSION");
            clients::cli::emit(cli.json, &serde_json::json!({ "version": v }), v);
            Ok(())
        }
        Command::Attest(args) => clients::attest::run(args, cli.json),
        Command::Gov(args) => clients::gov::run(args, cli.json),
        Command::Node(args) => clients::gov::node::run_node(args, cli.json),
        Command::Network(args) => clients::gov::node::run_network(args, cli.json),
    }
}

/// Argument errors follow the CLI.md contract too: with `--json` anywhere on the
/// command line they print `{"error": {"kind": "usage", …}}` and exit 2, as clap does.
fn parse_or_report() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => e.exit(), // --help and --version print and succeed
        Err(e) if std::env::args_os().any(|a| a == "--json") => {
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
            Err(ExitCode::from(2))
        }
        Err(e) => e.exit(),
    }
}

fn main() -> ExitCode {
    let cli = match parse_or_report() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli.json {
                println!("{}", e.to_json());
            } else {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}
