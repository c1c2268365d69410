//! `kms`: parses arguments, runs one command, reports errors per CLI.md.

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
}

fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Version => {
            let v = env!("CARGO_PKG_VERSION");
            clients::cli::emit(cli.json, &serde_json::json!({ "version": v }), v);
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
