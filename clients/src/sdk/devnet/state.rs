//! `D/devnet.json` as the devnet writes it: what [`DevnetState`](super::DevnetState)
//! reads (`rpc`, `contract`) and what the devnet itself needs to find its processes
//! again (docs/DEVNET.md "Layout").

use serde::{Deserialize, Serialize};

use super::config::Settings;
use super::process::ProcessId;
use super::DevnetDir;
use crate::sdk::error::{Error, Result};
use crate::sdk::transport::files;

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetFile {
    /// The chain's JSON-RPC endpoint.
    pub rpc: String,
    /// The governance contract (`0x…`), once deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    /// The chain id.
    pub chain_id: u64,
    /// The network's own application (kms-node builds), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_app_id: Option<String>,
    /// The approved measurement of the simulated kms-node build, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_measurement: Option<String>,
    /// The genesis threshold.
    pub threshold: u16,
    /// The timing every node runs with.
    pub settings: Settings,
    /// The kms-node binary the nodes run.
    pub node_bin: String,
    /// The anvil process.
    pub anvil: ProcessId,
    /// The nodes, by index from 1.
    #[serde(default)]
    pub nodes: Vec<NodeEntry>,
    /// The demo application, once registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo_app: Option<DemoApp>,
}

/// One node of the devnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Its index (from 1): `D/nodes/<index>`, `D/keys/operator-<index>.key`.
    pub index: u16,
    /// Its simulated vendor `N` (`simulated-N`).
    pub vendor: u8,
    /// The operator account that registers it (`0x…`).
    pub operator: String,
    /// The running process, if started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessId>,
    /// Its node id, hex, once it reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// Its signer (`0x…`), once it reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Its operator endpoint (`http://127.0.0.1:P`), once it reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_url: Option<String>,
    /// The endpoint registered on chain, once registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// The demo application `up` registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoApp {
    /// Its id, hex.
    pub app_id: String,
    /// The approved measurement of its simulated build, hex.
    pub measurement: String,
    /// The image its simulated build claims (what `--sim-measurement` takes), hex.
    pub sim_measurement: String,
}

impl DevnetFile {
    /// The node with `index`.
    pub fn node(&self, index: u16) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| n.index == index)
    }

    /// The node with `index`, to change.
    pub fn node_mut(&mut self, index: u16) -> Option<&mut NodeEntry> {
        self.nodes.iter_mut().find(|n| n.index == index)
    }

    /// Every process recorded: the nodes', then anvil's.
    pub fn processes(&self) -> Vec<ProcessId> {
        self.nodes
            .iter()
            .filter_map(|n| n.process)
            .chain([self.anvil])
            .collect()
    }
}

impl DevnetDir {
    /// Reads the whole state file (`devnet_not_found`, `bad_devnet`).
    pub fn load(&self) -> Result<DevnetFile> {
        let path = self.state_file();
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
                "{} was not written by `kms devnet up`: {e}",
                path.display()
            ))
        })
    }

    /// Writes the state file atomically.
    pub fn save(&self, state: &DevnetFile) -> Result<()> {
        let text = serde_json::to_string_pretty(state)
            .map_err(|e| Error::Internal(format!("cannot encode the devnet state: {e}")))?;
        super::layout::write_atomic(&self.state_file(), &text)
    }
}
