//! `kms-node --config FILE`: parses the arguments, installs tracing, runs the node.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// The keynet key-management node.
#[derive(Parser)]
#[command(name = "kms-node", version)]
struct Args {
    /// The node's TOML configuration (docs/OPERATOR.md); `KMS_NODE_<SECTION>_<KEY>`
    /// environment variables override it.
    #[arg(long)]
    config: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match kms_node::config::Config::load(&args.config) {
        Ok(_) => {
            eprintln!("kms-node: the daemon is not wired yet");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("kms-node: {e}");
            ExitCode::from(2)
        }
    }
}
