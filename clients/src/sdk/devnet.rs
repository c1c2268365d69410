//! Local networks (`kms devnet`, docs/DEVNET.md): [`Devnet`] starts anvil, deploys the
//! governance contract, starts simulated-enclave nodes and runs the genesis DKG, as a
//! library a test can drive ([`UpOptions`]); and the state directory `D` (default
//! `.keynet-devnet`) through which the other commands find it (`--devnet D`).
//!
//! Layout (docs/DEVNET.md):
//! - `D/devnet.json`: `{"rpc": URL, "contract": hex address, …}`; [`DevnetState`]
//!   reads those two and ignores the other fields ([`DevnetFile`] is all of it).
//! - `D/keys/voter-N.key`, `D/keys/operator-N.key` (N from 1): one hex private key each,
//!   the accounts `--as voter:N` and `--as operator:N` sign with.
//! - `D/nodes/<i>/`: node `i`'s `node.toml`, `node.log`, sealing key and data.
//!
//! ```no_run
//! # async fn run() -> clients::Result<()> {
//! use clients::sdk::devnet::{Devnet, UpOptions};
//!
//! let opts = UpOptions { nodes: 3, threshold: 2, ..UpOptions::new("/tmp/dn", "target/release/kms-node") };
//! let mut net = Devnet::up(opts).await?; // returns once the genesis epoch is active
//! net.node_stop(2)?;
//! net.node_start(2).await?;
//! println!("{:?}", net.status());
//! net.down()?; // (dropping `net` would stop everything too, unless detached)
//! # Ok(()) }
//! ```

mod anvil;
pub mod config;
pub mod error;
mod handle;
pub mod layout;
pub mod operator;
pub mod process;
pub mod progress;
pub mod state;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use super::error::{Error, Result};
use super::transport::files;

pub use self::error::DevnetError;
pub use self::handle::{
    AddedNode, Devnet, DevnetStatus, NodeInfo, UpOptions, DEMO_PATH, QUORUM, VOTERS,
};
pub use self::operator::{fetch_status, NodeStatus};
pub use self::progress::{Event, Progress};
pub use self::state::{DemoApp, DevnetFile, NodeEntry};

/// The file naming the chain and contract of a devnet.
pub const STATE_FILE: &str = "devnet.json";

/// What `--devnet D` tells the other commands.
#[derive(Debug, Clone, Deserialize)]
pub struct DevnetState {
    /// The devnet chain's JSON-RPC endpoint.
    pub rpc: String,
    /// The governance contract (hex, with or without `0x`); absent before deployment.
    #[serde(default)]
    pub contract: Option<String>,
}

/// A devnet state directory.
#[derive(Debug, Clone)]
pub struct DevnetDir {
    dir: PathBuf,
}

impl DevnetDir {
    /// The devnet in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Reads `devnet.json`.
    pub fn state(&self) -> Result<DevnetState> {
        let path = self.dir.join(STATE_FILE);
        let text = files::read_text(&path).map_err(|e| {
            Error::DevnetNotFound(format!(
                "no devnet in {} ({}: {e}); start one with `kms devnet up --dir {}`",
                self.dir.display(),
                path.display(),
                self.dir.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::BadDevnet(format!(
                "{} is not a devnet state file: {e}",
                path.display()
            ))
        })
    }

    /// The key file `--as role` signs with; it must exist.
    pub fn key_file(&self, role: &Role) -> Result<PathBuf> {
        let path = self.dir.join("keys").join(format!("{role}.key"));
        if files::is_file(&path) {
            Ok(path)
        } else {
            Err(Error::UnknownSigner(format!(
                "the devnet in {} has no {} {} (no {})",
                self.dir.display(),
                role.kind,
                role.index,
                path.display()
            )))
        }
    }
}

/// Whose key signs: `voter:N` or `operator:N` (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    kind: RoleKind,
    index: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleKind {
    Voter,
    Operator,
}

impl fmt::Display for RoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RoleKind::Voter => "voter",
            RoleKind::Operator => "operator",
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.kind, self.index)
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || format!("{s:?} is not voter:N or operator:N (N from 1)");
        let (kind, n) = s.split_once(':').ok_or_else(usage)?;
        let kind = match kind {
            "voter" => RoleKind::Voter,
            "operator" => RoleKind::Operator,
            _ => return Err(usage()),
        };
        let index: u32 = n.parse().map_err(|_| usage())?;
        if index == 0 {
            return Err(usage());
        }
        Ok(Self { kind, index })
    }
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn role__should_parse_voter_and_operator_from_one() {
        assert_eq!("voter:2".parse::<Role>().unwrap().to_string(), "voter-2");
        assert_eq!(
            "operator:10".parse::<Role>().unwrap().to_string(),
            "operator-10"
        );
        for bad in [
            "voter:0",
            "voter",
            "voter:",
            "admin:1",
            "voter:-1",
            "voter:1:2",
            ":1",
        ] {
            assert!(bad.parse::<Role>().is_err(), "{bad}");
        }
    }

    #[test]
    fn devnet_dir__should_name_a_missing_state_or_key_with_its_kind() {
        let dir = std::env::temp_dir().join(format!("kms-devnet-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let d = DevnetDir::new(&dir);
        assert_eq!(
            d.state().map_err(|e| e.kind()).unwrap_err(),
            "devnet_not_found"
        );
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        std::fs::write(dir.join(STATE_FILE), "{\"contract\": 1}").unwrap();
        assert_eq!(d.state().map_err(|e| e.kind()).unwrap_err(), "bad_devnet");
        std::fs::write(
            dir.join(STATE_FILE),
            "{\"rpc\": \"http://127.0.0.1:1\", \"nodes\": []}",
        )
        .unwrap();
        let s = d.state().unwrap();
        assert_eq!((s.rpc.as_str(), s.contract), ("http://127.0.0.1:1", None));
        let role: Role = "voter:1".parse().unwrap();
        assert_eq!(
            d.key_file(&role).map_err(|e| e.kind()).unwrap_err(),
            "unknown_signer"
        );
        std::fs::write(dir.join("keys/voter-1.key"), "00").unwrap();
        assert_eq!(d.key_file(&role).unwrap(), dir.join("keys/voter-1.key"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
