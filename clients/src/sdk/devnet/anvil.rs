//! The devnet's chain: anvil from governance-contract's pinned npm package (installed
//! with `npm ci` when missing), started like the nodes (own process group, output to
//! `D/anvil.log`) so it can outlive `kms`, unlike the test harness
//! [`governance_contract::anvil::Anvil`], which reads anvil's output through a pipe.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use governance_contract::anvil::{Anvil, AnvilError};

use super::error::DevnetError;
use super::process::{self, ProcessId};
use crate::sdk::error::Result;

/// How long anvil has to print the address it listens on.
const LISTEN_BOUND: Duration = Duration::from_secs(20);

/// governance-contract's folder in the source tree this `kms` was built from.
fn governance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../governance-contract")
}

fn unavailable(m: String) -> crate::Error {
    DevnetError::AnvilUnavailable(m).into()
}

/// The anvil binary: `explicit` if given, else the pinned one of governance-contract
/// (`$KEYNET_ANVIL` overrides it), installed with `npm ci` if missing.
pub fn binary(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(unavailable(format!("no anvil binary at {}", p.display())))
        };
    }
    match Anvil::binary() {
        Ok(p) => Ok(p),
        Err(AnvilError::Missing(_)) => {
            let dir = governance_dir();
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| {
                    unavailable(format!(
                        "anvil is not installed and npm cannot run ({e}); install Node.js and run `npm ci` in {}",
                        dir.display()
                    ))
                })?;
            if !status.success() {
                return Err(unavailable(format!(
                    "`npm ci` in {} failed ({status}); run it by hand to see why",
                    dir.display()
                )));
            }
            Anvil::binary().map_err(|e| unavailable(e.to_string()))
        }
        Err(e) => Err(unavailable(e.to_string())),
    }
}

/// Starts anvil on 127.0.0.1 (a port the OS picks) mining a block every `block_time`,
/// its output in `log`; returns once it listens, with its JSON-RPC endpoint.
pub async fn start(
    bin: &Path,
    log: &Path,
    block_time: Duration,
) -> Result<(Child, ProcessId, String)> {
    let secs = format!("{}", block_time.as_secs_f64());
    let (mut child, id) = process::spawn(
        bin,
        &["--host", "127.0.0.1", "--port", "0", "--block-time", &secs],
        log,
    )?;
    let until = Instant::now() + LISTEN_BOUND;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(addr) = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Listening on "))
        {
            return Ok((child, id, format!("http://{}", addr.trim())));
        }
        if !id.is_alive() || Instant::now() > until {
            let _ = process::terminate(&id, Some(&mut child), process::TERM_GRACE);
            return Err(unavailable(format!(
                "anvil ({}) did not start listening within {} s; see {}",
                bin.display(),
                LISTEN_BOUND.as_secs(),
                log.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
