//! `kms`: parses arguments, runs one command, reports errors per CLI.md. The commands
//! are in [`cli`], over the `clients` SDK.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
