//! Where a devnet keeps things under its directory `D` (docs/DEVNET.md "Layout"), and
//! the small file writes it needs (keys at mode 0600, atomic state).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::DevnetDir;
use crate::sdk::error::{Error, Result};

/// The anvil log, `D/anvil.log`.
pub const ANVIL_LOG: &str = "anvil.log";
/// The key folder, `D/keys`.
pub const KEYS: &str = "keys";
/// The node folder, `D/nodes`.
pub const NODES: &str = "nodes";
/// The simulated attestation seed of the devnet, `D/keys/sim-attester.key`.
pub const SIM_KEY: &str = "sim-attester.key";

impl DevnetDir {
    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `D/devnet.json`.
    pub fn state_file(&self) -> PathBuf {
        self.dir.join(super::STATE_FILE)
    }

    /// `D/anvil.log`.
    pub fn anvil_log(&self) -> PathBuf {
        self.dir.join(ANVIL_LOG)
    }

    /// `D/keys`.
    pub fn keys(&self) -> PathBuf {
        self.dir.join(KEYS)
    }

    /// `D/keys/sim-attester.key`.
    pub fn sim_key(&self) -> PathBuf {
        self.keys().join(SIM_KEY)
    }

    /// `D/nodes/<index>`.
    pub fn node(&self, index: u16) -> PathBuf {
        self.dir.join(NODES).join(index.to_string())
    }

    /// `D/nodes/<index>/node.toml`.
    pub fn node_config(&self, index: u16) -> PathBuf {
        self.node(index).join("node.toml")
    }

    /// `D/nodes/<index>/node.log`.
    pub fn node_log(&self, index: u16) -> PathBuf {
        self.node(index).join("node.log")
    }

    /// `D/nodes/<index>/data`.
    pub fn node_data(&self, index: u16) -> PathBuf {
        self.node(index).join("data")
    }

    /// `D/nodes/<index>/operator.key`: the node's storage sealing key.
    pub fn node_storage_key(&self, index: u16) -> PathBuf {
        self.node(index).join("operator.key")
    }

    /// `D/nodes/<index>/data/endpoints.json`.
    pub fn node_endpoints(&self, index: u16) -> PathBuf {
        self.node_data(index).join("endpoints.json")
    }

    /// `D/nodes/<index>/data/registration.json`.
    pub fn node_registration(&self, index: u16) -> PathBuf {
        self.node_data(index).join("registration.json")
    }
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))
}

/// Writes a secret (a hex key) to `path`, readable by its owner only (0600).
pub fn write_secret(path: &Path, text: &str) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
}

/// Writes `text` to `path` atomically (a temporary file renamed over it), so a reader
/// never sees half a file.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
}
