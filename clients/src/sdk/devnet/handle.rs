//! [`Devnet`]: a running local network and the operations on it (`kms devnet
//! up|status|down|node …`). See docs/DEVNET.md for the sequence and the layout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{keccak256, Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use governance_contract::anvil::DEV_KEYS;
use governance_contract::{EpochStatus, NodePlatform, Platform};
use serde::Deserialize;

use super::config::{self, NodeConfig, NodeParams, Settings};
use super::error::DevnetError;
use super::operator;
use super::process::{self, ProcessId};
use super::progress::{Event, Progress};
use super::state::{DemoApp, DevnetFile, NodeEntry};
use super::{anvil, layout, DevnetDir, STATE_FILE};
use crate::sdk::gov::{Chain, GovClient};
use crate::sdk::gov::{CommitteeChange, Council, Deployment, Proposal};
use crate::sdk::node::load_registration;
use crate::sdk::transport::{self, files};
use crate::sdk::{Error, Result};

/// The voters of the network and of the demo application: anvil dev accounts 1 to 3
/// (`D/keys/voter-N.key`); account 0 deploys and pays.
pub const VOTERS: usize = 3;

/// Votes a devnet decision needs.
pub const QUORUM: u16 = 2;

/// What an operator account gets to pay for registering its node.
const OPERATOR_FUNDS: u128 = 100 * ETH;

/// What a node's signer gets to pay for its confirmations.
const SIGNER_FUNDS: u128 = 10 * ETH;

const ETH: u128 = 1_000_000_000_000_000_000;

/// How long a funding transaction may wait for its block.
const RECEIPT_BOUND: Duration = Duration::from_secs(60);

/// How `up` builds a devnet.
#[derive(Clone)]
pub struct UpOptions {
    /// The state directory (`--dir`).
    pub dir: PathBuf,
    /// Nodes in the genesis committee (2 to 64).
    pub nodes: u16,
    /// The genesis threshold (2 to `nodes`).
    pub threshold: u16,
    /// The kms-node binary.
    pub node_bin: PathBuf,
    /// The anvil binary; `None`: governance-contract's pinned one (`npm ci` installs it).
    pub anvil: Option<PathBuf>,
    /// anvil's block time.
    pub block_time: Duration,
    /// The nodes' protocol timing: one attempt's deadline and the attempts.
    pub attempt_deadline: Duration,
    /// Attempts before a node gives a run up.
    pub max_attempts: u32,
    /// Blocks below the head the nodes read at.
    pub confirmation_depth: u64,
    /// Where progress goes, if anywhere.
    pub progress: Option<Arc<dyn Progress>>,
}

impl UpOptions {
    /// The defaults of `kms devnet up`: 5 nodes, threshold 3, 1 s blocks, depth 2,
    /// attempts of 60 s, 5 of them.
    pub fn new(dir: impl Into<PathBuf>, node_bin: impl Into<PathBuf>) -> Self {
        let s = Settings::default();
        Self {
            dir: dir.into(),
            nodes: 5,
            threshold: 3,
            node_bin: node_bin.into(),
            anvil: None,
            block_time: s.block_time(),
            attempt_deadline: Duration::from_secs(s.attempt_deadline_secs),
            max_attempts: s.max_attempts,
            confirmation_depth: s.confirmation_depth,
            progress: None,
        }
    }

    fn settings(&self) -> Settings {
        Settings {
            block_time_ms: u64::try_from(self.block_time.as_millis()).unwrap_or(u64::MAX),
            confirmation_depth: self.confirmation_depth,
            attempt_deadline_secs: self.attempt_deadline.as_secs(),
            max_attempts: self.max_attempts,
            node_threads: super::config::node_threads_for(
                self.nodes,
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            ),
        }
    }
}

/// The path of the demo key `kms devnet up` fetches.
pub const DEMO_PATH: &str = "demo";

/// What `kms devnet status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetStatus {
    /// The state directory.
    pub dir: PathBuf,
    /// The chain's JSON-RPC endpoint.
    pub rpc: String,
    /// Whether anvil still runs.
    pub chain_running: bool,
    /// The governance contract, once deployed.
    pub contract: Option<String>,
    /// The network's own application id, hex.
    pub node_app_id: Option<String>,
    /// The genesis threshold.
    pub threshold: u16,
    /// The nodes.
    pub nodes: Vec<NodeInfo>,
    /// The demo application.
    pub demo_app: Option<DemoApp>,
}

/// One node, as `kms devnet status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Its index (from 1).
    pub index: u16,
    /// Its node id, hex, once reported.
    pub node_id: Option<String>,
    /// Its platform (`simulated-N`); the vendor follows from it.
    pub platform: NodePlatform,
    /// Whether its process runs.
    pub running: bool,
    /// Its pid while it runs.
    pub pid: Option<u32>,
    /// Its operator endpoint.
    pub operator_url: Option<String>,
    /// Its registered endpoint.
    pub endpoint: Option<String>,
    /// Its log.
    pub log: PathBuf,
}

/// A node `node add` started and registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedNode {
    /// Its index.
    pub index: u16,
    /// Its node id, hex.
    pub node_id: String,
    /// Its simulated vendor `N`.
    pub vendor: u8,
}

/// `DATA/endpoints.json`, written by a node once its listeners are bound.
#[derive(Debug, Clone, Deserialize)]
struct Endpoints {
    node_id: String,
    signer: String,
    p2p: String,
    app: String,
    operator: String,
    endpoint: String,
}

/// A local network: anvil, the governance contract, the nodes.
///
/// A handle from [`Devnet::up`] or [`Devnet::start_chain`] *owns* its processes: when
/// it is dropped without [`Devnet::detach`] it kills every process it started (the
/// files stay, for their logs; a later `up` in the same directory replaces them). A
/// handle from [`Devnet::open`] (a devnet another `kms` started) owns nothing.
pub struct Devnet {
    dir: DevnetDir,
    state: DevnetFile,
    children: BTreeMap<u32, Child>,
    owned: bool,
    progress: Option<Arc<dyn Progress>>,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("dir", &self.dir)
            .field("state", &self.state)
            .field("owned", &self.owned)
            .finish_non_exhaustive()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if self.owned {
            self.stop_all();
        }
    }
}

impl Devnet {
    /// Builds a whole network and returns once the genesis epoch is active:
    /// [`Devnet::start_chain`], [`Devnet::start_nodes`], [`Devnet::run_genesis`].
    pub async fn up(opts: UpOptions) -> Result<Self> {
        let mut net = Self::start_chain(&opts).await?;
        net.start_nodes().await?;
        net.run_genesis().await?;
        Ok(net)
    }

    /// The chain part of `up`: checks the options, starts anvil, deploys the
    /// governance contract (voters 1 to 3, quorum 2, no timelock, simulated platforms
    /// only), approves the simulated kms-node build for the network's application,
    /// registers the demo application and approves its simulated build, writes the
    /// keys and every node's configuration and funds the operators. No node runs yet.
    pub async fn start_chain(opts: &UpOptions) -> Result<Self> {
        config::check_size(opts.nodes, opts.threshold)?;
        let settings = opts.settings();
        settings.check()?;
        if !opts.node_bin.is_file() {
            return Err(DevnetError::NodeBinaryMissing(format!(
                "no kms-node binary at {}; build it with `cargo build --release --bin kms-node` (or pass --node-bin)",
                opts.node_bin.display()
            ))
            .into());
        }
        // Absolute: the nodes' files name paths in it, and `kms devnet node start` may
        // run from another folder.
        let dir = DevnetDir::new(
            &std::path::absolute(&opts.dir)
                .map_err(|e| Error::Io(format!("cannot resolve {}: {e}", opts.dir.display())))?,
        );
        prepare_dir(&dir)?;
        let progress = opts.progress.clone();
        let say = |s: &str| {
            if let Some(p) = &progress {
                p.event(&Event::Step(s));
            }
        };
        say("installing and starting anvil");
        let anvil_bin = anvil::binary(opts.anvil.as_deref())?;
        let (child, anvil_id, rpc) =
            anvil::start(&anvil_bin, &dir.anvil_log(), settings.block_time()).await?;
        let state = DevnetFile {
            rpc: rpc.clone(),
            contract: None,
            chain_id: 0,
            node_app_id: None,
            node_measurement: None,
            threshold: opts.threshold,
            settings,
            node_bin: opts.node_bin.display().to_string(),
            anvil: anvil_id,
            nodes: Vec::new(),
            demo_app: None,
        };
        let mut net = Self {
            dir,
            state,
            children: BTreeMap::from([(anvil_id.pid, child)]),
            owned: true,
            progress: opts.progress.clone(),
        };
        net.dir.save(&net.state)?;
        net.state.chain_id = transport::provider(&rpc, None)?
            .get_chain_id()
            .await
            .map_err(|e| transport::transport_error(&e))?;
        net.write_keys()?;

        net.step("deploying the governance contract");
        let deployment = Deployment {
            council: voters_council()?,
            proposal_lifetime: 7 * 24 * 3600,
            family_cap: false,
            platforms: vec![Platform::Simulated],
            transition_deadline: settings.transition_deadline_secs(),
        };
        let deployed = GovClient::deploy(&rpc, dev_signer(0)?, &deployment).await?;
        net.state.contract = Some(format!("{:#x}", deployed.contract));
        net.state.node_app_id = Some(alloy::hex::encode(deployed.node_app_id));
        net.dir.save(&net.state)?;

        net.step("approving the simulated kms-node build");
        let node_measurement = config::simulated_measurement(config::node_image());
        net.pass(Proposal::Approve {
            app: deployed.node_app_id,
            measurement: node_measurement,
        })
        .await?;
        net.state.node_measurement = Some(alloy::hex::encode(node_measurement));

        net.step("registering the demo application");
        let owner = net.client(dev_signer(0)?)?;
        let salt = keccak256(b"keynet devnet: demo application").0;
        let app = owner.register_app(&voters_council()?, Some(salt)).await?;
        let demo_measurement = config::simulated_measurement(config::demo_app_image());
        net.pass(Proposal::Approve {
            app: app.app_id,
            measurement: demo_measurement,
        })
        .await?;
        net.state.demo_app = Some(DemoApp {
            app_id: alloy::hex::encode(app.app_id),
            measurement: alloy::hex::encode(demo_measurement),
            sim_measurement: alloy::hex::encode(config::demo_app_image()),
        });

        net.step("writing the node configurations");
        let vendors = config::vendors_for(opts.nodes, opts.threshold);
        let mut operators = Vec::new();
        for (index, vendor) in (1u16..).zip(vendors) {
            operators.push(net.add_entry(index, vendor)?);
        }
        net.dir.save(&net.state)?;
        fund(&rpc, &operators, OPERATOR_FUNDS).await?;
        net.done("chain ready");
        Ok(net)
    }

    /// Starts every node that does not run and registers the ones not registered yet
    /// (each by its operator, at the endpoint it reported, its signer funded).
    pub async fn start_nodes(&mut self) -> Result<()> {
        let waiting: Vec<u16> = self
            .state
            .nodes
            .iter()
            .filter(|n| !n.process.is_some_and(|p| p.is_alive()))
            .map(|n| n.index)
            .collect();
        self.step(&format!("starting {} nodes", waiting.len()));
        for &i in &waiting {
            self.spawn_node(i)?;
        }
        for &i in &waiting {
            self.await_endpoints(i).await?;
        }
        self.register(&waiting).await?;
        self.done("nodes started and registered");
        Ok(())
    }

    /// Proposes the genesis committee (every node, the devnet's threshold), has it
    /// voted and executed, and waits until the epoch is active (bound:
    /// [`Settings::genesis_bound`]).
    pub async fn run_genesis(&mut self) -> Result<()> {
        self.step("proposing the genesis committee");
        let mut add = Vec::new();
        for n in &self.state.nodes {
            add.push(node_id_bytes(n)?);
        }
        self.pass(Proposal::Committee(CommitteeChange {
            add,
            remove: Vec::new(),
            threshold: Some(self.state.threshold),
        }))
        .await?;
        self.wait_active().await
    }

    /// The demo application's key for path `"demo"` (`DEMO_PATH`), fetched as the demo app
    /// would at boot: simulated evidence of its approved build (signed with the
    /// devnet's key), `t` attested nodes, every share verified (`kms devnet up` ends
    /// with it). Right after genesis the nodes may not have seen the activation yet:
    /// asks again while too few nodes answer, for up to twice the chain lag plus 10 s.
    pub async fn demo_key(&self) -> Result<crate::sdk::app::ReleasedKey> {
        use crate::sdk::app::{AppAttester, AppClient, ClientOptions};
        let demo = self
            .state
            .demo_app
            .as_ref()
            .ok_or_else(|| Error::BadDevnet("the devnet has no demo application".into()))?;
        let app_id = crate::sdk::parse::bytes32("demo app id", &demo.app_id)?;
        let image = crate::sdk::parse::bytes32("demo app image", &demo.sim_measurement)?;
        let attester = AppAttester::simulated_from_devnet(self.dir.path(), image)?;
        let seed = files::read_text(&self.dir.sim_key())
            .map_err(|e| Error::BadDevnet(format!("cannot read the devnet's key: {e}")))?;
        let seed = zeroize::Zeroizing::new(crate::sdk::parse::bytes32("devnet key", seed.trim())?);
        let node_key = attestation_gate::simulated::DevnetSigningKey::from_seed(&seed)
            .public_key()
            .to_bytes();
        let chain =
            crate::sdk::gov::Chain::new(Some(self.state.rpc.clone()), self.state.contract.clone())?;
        let options = ClientOptions {
            simulated_node_keys: vec![node_key],
            ..ClientOptions::default()
        };
        let client = AppClient::new(GovClient::read_only(&chain)?, app_id, attester, options)?;
        let bound = self.state.settings.chain_lag().saturating_mul(2) + Duration::from_secs(10);
        let started = Instant::now();
        loop {
            match client.get_key(DEMO_PATH).await {
                Err(e) if e.kind() == "not_enough_nodes" && started.elapsed() < bound => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => return other,
            }
        }
    }

    /// A handle on the devnet in `dir` started by another `kms` (it owns nothing:
    /// dropping it stops nothing).
    pub fn open(dir: &Path) -> Result<Self> {
        let dir = DevnetDir::new(dir);
        let state = dir.load()?;
        Ok(Self {
            dir,
            state,
            children: BTreeMap::new(),
            owned: false,
            progress: None,
        })
    }

    /// Sets where progress goes.
    pub fn set_progress(&mut self, progress: Option<Arc<dyn Progress>>) {
        self.progress = progress;
    }

    /// Leaves the processes running when this handle is dropped (`--detach`).
    pub fn detach(mut self) {
        self.owned = false;
        // Dropping a `Child` neither kills nor waits: the processes live on.
        self.children.clear();
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The state as `devnet.json` holds it.
    pub fn state(&self) -> &DevnetFile {
        &self.state
    }

    /// The chain's JSON-RPC endpoint.
    pub fn rpc(&self) -> &str {
        &self.state.rpc
    }

    /// What runs and what is recorded (as the state file says now).
    pub fn status(&self) -> DevnetStatus {
        let state = self.dir.load().unwrap_or_else(|_| self.state.clone());
        let nodes = state
            .nodes
            .iter()
            .map(|n| {
                let running = n.process.is_some_and(|p| p.is_alive());
                NodeInfo {
                    index: n.index,
                    node_id: n.node_id.clone(),
                    platform: NodePlatform::simulated(n.vendor),
                    running,
                    pid: n.process.filter(|_| running).map(|p| p.pid),
                    operator_url: n.operator_url.clone(),
                    endpoint: n.endpoint.clone(),
                    log: self.dir.node_log(n.index),
                }
            })
            .collect();
        DevnetStatus {
            dir: self.dir.path().to_path_buf(),
            rpc: state.rpc.clone(),
            chain_running: state.anvil.is_alive(),
            contract: state.contract.clone(),
            node_app_id: state.node_app_id.clone(),
            threshold: state.threshold,
            nodes,
            demo_app: state.demo_app.clone(),
        }
    }

    /// Stops node `index` (SIGTERM, SIGKILL after a bound). Stopping a stopped node
    /// does nothing.
    pub fn node_stop(&mut self, index: u16) -> Result<()> {
        self.refresh();
        let id = self.entry(index)?.process;
        if let Some(id) = id {
            process::terminate(&id, self.children.get_mut(&id.pid), process::TERM_GRACE)?;
            self.children.remove(&id.pid);
        }
        self.set_process(index, None)
    }

    /// Kills node `index` at once (SIGKILL), as a crash would.
    pub fn node_kill(&mut self, index: u16) -> Result<()> {
        self.refresh();
        let id = self.entry(index)?.process;
        if let Some(id) = id {
            process::kill(&id, self.children.get_mut(&id.pid))?;
            self.children.remove(&id.pid);
        }
        self.set_process(index, None)
    }

    /// Starts node `index` again (same keys, data and addresses) and waits until it
    /// reports its endpoints; registers it if it never was.
    pub async fn node_start(&mut self, index: u16) -> Result<()> {
        self.refresh();
        let entry = self.entry(index)?;
        if entry.process.is_some_and(|p| p.is_alive()) {
            return Err(DevnetError::NodeRunning(format!(
                "node {index} runs already (pid {}); `kms devnet node stop {index}` first",
                entry.process.map(|p| p.pid).unwrap_or_default()
            ))
            .into());
        }
        self.spawn_node(index)?;
        self.await_endpoints(index).await?;
        self.register(&[index]).await
    }

    /// Adds a node: a new operator account (funded), its configuration with simulated
    /// vendor `vendor` (default: the next of the devnet's round robin), its process,
    /// its registration. The committee change is a separate proposal.
    pub async fn node_add(&mut self, vendor: Option<u8>) -> Result<AddedNode> {
        self.refresh();
        let index = self
            .state
            .nodes
            .iter()
            .map(|n| n.index)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        if index > config::MAX_NODES {
            return Err(DevnetError::InvalidSize(format!(
                "the devnet has {} nodes already, the most a committee takes",
                config::MAX_NODES
            ))
            .into());
        }
        let vendor = match vendor {
            Some(v) if (1..=config::MAX_VENDOR).contains(&v) => v,
            Some(v) => {
                return Err(DevnetError::InvalidSize(format!(
                    "--vendor {v}: simulated vendors are 1 to {}",
                    config::MAX_VENDOR
                ))
                .into())
            }
            None => {
                let k = self
                    .state
                    .nodes
                    .iter()
                    .map(|n| n.vendor)
                    .max()
                    .unwrap_or(3)
                    .max(1);
                u8::try_from((usize::from(index) - 1) % usize::from(k) + 1).unwrap_or(1)
            }
        };
        self.step(&format!("adding node {index} (simulated-{vendor})"));
        let operator = self.add_entry(index, vendor)?;
        self.dir.save(&self.state)?;
        fund(&self.state.rpc, &[operator], OPERATOR_FUNDS).await?;
        self.node_start(index).await?;
        let node_id = self.entry(index)?.node_id.clone().unwrap_or_default();
        self.done(&format!("node {index} registered"));
        Ok(AddedNode {
            index,
            node_id,
            vendor,
        })
    }

    /// Stops every process of the devnet and removes what `up` wrote in its directory
    /// (the directory too, if nothing else is left in it).
    pub fn down(mut self) -> Result<()> {
        self.owned = false;
        self.refresh();
        let mut first_error = None;
        for id in self.state.processes() {
            if let Err(e) =
                process::terminate(&id, self.children.get_mut(&id.pid), process::TERM_GRACE)
            {
                first_error.get_or_insert(e);
            }
        }
        // Reap what another `kms` killed (`kms devnet node kill`), so nothing lingers as
        // a zombie of this process.
        for c in self.children.values_mut() {
            let _ = c.try_wait();
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        remove_created(&self.dir)
    }

    /// The addresses of node `index`'s status endpoint, if it reported one.
    pub fn operator_url(&self, index: u16) -> Result<Option<String>> {
        Ok(self.entry(index)?.operator_url.clone())
    }

    /// Reloads the state file: another `kms` (`kms devnet node add`, `node kill`) may
    /// have changed it since this handle read it.
    fn refresh(&mut self) {
        if let Ok(s) = self.dir.load() {
            self.state = s;
        }
    }

    fn stop_all(&mut self) {
        self.refresh();
        for id in self.state.processes() {
            let _ = process::terminate(&id, self.children.get_mut(&id.pid), process::TERM_GRACE);
        }
        for c in self.children.values_mut() {
            let _ = c.try_wait();
        }
        self.children.clear();
    }

    fn entry(&self, index: u16) -> Result<&NodeEntry> {
        self.state.node(index).ok_or_else(|| {
            let known: Vec<String> = self
                .state
                .nodes
                .iter()
                .map(|n| n.index.to_string())
                .collect();
            DevnetError::UnknownNode(format!(
                "the devnet in {} has no node {index} (its nodes: {})",
                self.dir.path().display(),
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ))
            .into()
        })
    }

    fn set_process(&mut self, index: u16, id: Option<ProcessId>) -> Result<()> {
        if let Some(n) = self.state.node_mut(index) {
            n.process = id;
        }
        self.dir.save(&self.state)
    }

    fn step(&self, s: &str) {
        if let Some(p) = &self.progress {
            p.event(&Event::Step(s));
        }
    }

    fn done(&self, s: &str) {
        if let Some(p) = &self.progress {
            p.event(&Event::Done(s));
        }
    }

    fn chain(&self) -> Result<Chain> {
        Chain::new(Some(self.state.rpc.clone()), self.state.contract.clone())
    }

    fn client(&self, signer: PrivateKeySigner) -> Result<GovClient> {
        GovClient::signed(&self.chain()?, signer)
    }

    /// Voter 1 proposes (its vote counts), voter 2 votes, voter 1 executes.
    async fn pass(&self, p: Proposal) -> Result<u64> {
        let first = self.client(dev_signer(1)?)?;
        let id = first.propose(&p).await?.id;
        self.client(dev_signer(2)?)?.vote(id).await?;
        first.execute(id).await?;
        Ok(id)
    }

    fn write_keys(&self) -> Result<()> {
        layout::create_dir(&self.dir.keys())?;
        for (v, key) in DEV_KEYS.iter().enumerate().skip(1).take(VOTERS) {
            let path = self.dir.keys().join(format!("voter-{v}.key"));
            layout::write_secret(&path, key)?;
        }
        layout::write_secret(
            &self.dir.sim_key(),
            &alloy::hex::encode(rand::random::<[u8; 32]>()),
        )?;
        layout::create_dir(&self.dir.path().join(layout::NODES))?;
        Ok(())
    }

    /// Records node `index` with `vendor`: a fresh operator key, a sealing key and its
    /// configuration file. Returns the operator account.
    fn add_entry(&mut self, index: u16, vendor: u8) -> Result<Address> {
        let contract = self.chain()?.contract()?;
        layout::create_dir(&self.dir.node_data(index))?;
        let operator = PrivateKeySigner::random();
        let key_path = self.dir.keys().join(format!("operator-{index}.key"));
        layout::write_secret(&key_path, &alloy::hex::encode(operator.to_bytes()))?;
        layout::write_secret(
            &self.dir.node_storage_key(index),
            &alloy::hex::encode(rand::random::<[u8; 32]>()),
        )?;
        let cfg = NodeConfig::new(&NodeParams {
            data_dir: self.dir.node_data(index),
            rpc: self.state.rpc.clone(),
            contract,
            operator: operator.address(),
            sim_key_file: self.dir.sim_key(),
            vendor,
            storage_key_file: self.dir.node_storage_key(index),
            settings: self.state.settings,
        });
        layout::write_atomic(&self.dir.node_config(index), &cfg.to_toml()?)?;
        self.state.nodes.retain(|n| n.index != index);
        self.state.nodes.push(NodeEntry {
            index,
            vendor,
            operator: format!("{:#x}", operator.address()),
            process: None,
            node_id: None,
            signer: None,
            operator_url: None,
            endpoint: None,
        });
        self.state.nodes.sort_by_key(|n| n.index);
        Ok(operator.address())
    }

    fn spawn_node(&mut self, index: u16) -> Result<()> {
        let _ = std::fs::remove_file(self.dir.node_endpoints(index));
        let bin = PathBuf::from(&self.state.node_bin);
        let config = self.dir.node_config(index).display().to_string();
        let (child, id) = process::spawn(&bin, &["--config", &config], &self.dir.node_log(index))?;
        self.children.insert(id.pid, child);
        self.set_process(index, Some(id))
    }

    /// Waits for node `index`'s `endpoints.json`, records what it says and rewrites its
    /// configuration with its ports (so a restart keeps them).
    async fn await_endpoints(&mut self, index: u16) -> Result<()> {
        let bound = self.state.settings.start_bound();
        let path = self.dir.node_endpoints(index);
        let log = self.dir.node_log(index);
        let id = self
            .entry(index)?
            .process
            .ok_or_else(|| Error::Internal(format!("node {index} was not started")))?;
        let started = Instant::now();
        let ep: Endpoints = loop {
            if let Ok(text) = files::read_text(&path) {
                if let Ok(ep) = serde_json::from_str(&text) {
                    break ep;
                }
            }
            if let Some(c) = self.children.get_mut(&id.pid) {
                let _ = c.try_wait();
            }
            if !id.is_alive() {
                return Err(start_failed(index, &log, "exited".into()));
            }
            if started.elapsed() > bound {
                return Err(start_failed(
                    index,
                    &log,
                    format!("wrote no {} within {} s", path.display(), bound.as_secs()),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let cfg = NodeConfig::from_toml(
            &files::read_text(&self.dir.node_config(index))
                .map_err(|e| Error::Io(format!("cannot read the node configuration: {e}")))?,
        )?
        .with_ports(&ep.p2p, &ep.app, &ep.operator);
        layout::write_atomic(&self.dir.node_config(index), &cfg.to_toml()?)?;
        if let Some(n) = self.state.node_mut(index) {
            n.node_id = Some(ep.node_id.trim_start_matches("0x").to_lowercase());
            n.signer = Some(ep.signer.clone());
            n.operator_url = Some(ep.operator.clone());
        }
        self.dir.save(&self.state)
    }

    /// Funds the signers of nodes `indexes` and registers those not registered yet,
    /// concurrently (each by its own operator).
    async fn register(&mut self, indexes: &[u16]) -> Result<()> {
        let mut todo = Vec::new();
        let mut signers = Vec::new();
        for &i in indexes {
            let n = self.entry(i)?;
            if n.endpoint.is_some() {
                continue;
            }
            let ep: Endpoints = serde_json::from_str(
                &files::read_text(&self.dir.node_endpoints(i)).map_err(|e| {
                    start_failed(
                        i,
                        &self.dir.node_log(i),
                        format!("its endpoints.json is gone ({e})"),
                    )
                })?,
            )
            .map_err(|e| {
                start_failed(
                    i,
                    &self.dir.node_log(i),
                    format!("its endpoints.json does not parse ({e})"),
                )
            })?;
            signers.push(transport_address(&ep.signer)?);
            let reg = load_registration(&self.dir.node_registration(i))?;
            let key = self.dir.keys().join(format!("operator-{i}.key"));
            let client = self.client(transport::signer_from_file(&key)?)?;
            todo.push((i, client, reg, ep.endpoint));
        }
        if todo.is_empty() {
            return Ok(());
        }
        fund(&self.state.rpc, &signers, SIGNER_FUNDS).await?;
        let results = futures::future::join_all(
            todo.iter()
                .map(|(_, client, reg, endpoint)| client.register_node(reg, endpoint)),
        )
        .await;
        // Every success is recorded before the first failure is returned, so a retry
        // (`kms devnet node start`) registers only what is left.
        let mut first_error = None;
        for ((i, _, _, endpoint), r) in todo.iter().zip(results) {
            match r {
                Ok(registered) => {
                    if let Some(n) = self.state.node_mut(*i) {
                        n.endpoint = Some(endpoint.clone());
                        n.node_id = Some(alloy::hex::encode(registered.node_id));
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.dir.save(&self.state)?;
        first_error.map_or(Ok(()), Err)
    }

    async fn wait_active(&mut self) -> Result<()> {
        let bound = self.state.settings.genesis_bound();
        let reader = GovClient::read_only(&self.chain()?)?;
        let started = Instant::now();
        let what = "the genesis DKG";
        loop {
            let epoch = reader.active_committee().await?;
            if epoch.status == EpochStatus::Active && epoch.epoch >= 1 {
                self.done("the genesis epoch is active");
                return Ok(());
            }
            if let Some(n) = self
                .state
                .nodes
                .iter()
                .find(|n| !n.process.is_some_and(|p| p.is_alive()))
            {
                return Err(DevnetError::GenesisTimeout(format!(
                    "node {} stopped during the genesis DKG; read {}",
                    n.index,
                    self.dir.node_log(n.index).display()
                ))
                .into());
            }
            let elapsed = started.elapsed();
            if elapsed > bound {
                return Err(self.genesis_timeout(bound).await);
            }
            if let Some(p) = &self.progress {
                p.event(&Event::Waiting {
                    what,
                    elapsed,
                    bound,
                });
            }
            tokio::time::sleep(self.state.settings.block_time()).await;
        }
    }

    /// The timeout error, naming each node's state and log.
    async fn genesis_timeout(&self, bound: Duration) -> Error {
        let mut lines = Vec::new();
        for n in &self.state.nodes {
            let state = match &n.operator_url {
                Some(url) => match operator::fetch_status(url, Duration::from_secs(2)).await {
                    Ok(s) => match s.pending {
                        Some((e, st)) => format!("epoch {e} {}", st.unwrap_or_default()),
                        None => format!("no pending epoch (serving: {})", s.serving),
                    },
                    Err(e) => e.to_string(),
                },
                None => "no operator endpoint".into(),
            };
            lines.push(format!(
                "node {} ({state}): {}",
                n.index,
                self.dir.node_log(n.index).display()
            ));
        }
        DevnetError::GenesisTimeout(format!(
            "the genesis epoch is not active after {} s; read the node logs: {}",
            bound.as_secs(),
            lines.join("; ")
        ))
        .into()
    }
}

/// The devnet's voters: dev accounts 1 to 3, quorum 2, no timelock.
fn voters_council() -> Result<Council> {
    let mut voters = Vec::new();
    for v in 1..=VOTERS {
        voters.push(dev_signer(v)?.address());
    }
    Ok(Council {
        voters,
        quorum: QUORUM,
        revoke_quorum: None,
        timelock: 0,
    })
}

fn dev_signer(i: usize) -> Result<PrivateKeySigner> {
    let key = DEV_KEYS
        .get(i)
        .ok_or_else(|| Error::Internal(format!("no dev account {i}")))?;
    transport::signer_from_hex(key)
}

fn transport_address(text: &str) -> Result<Address> {
    crate::sdk::parse::address("signer", text)
}

fn node_id_bytes(n: &NodeEntry) -> Result<[u8; 32]> {
    let text = n.node_id.as_deref().ok_or_else(|| {
        Error::from(DevnetError::NodeStartFailed(format!(
            "node {} has not reported its node id",
            n.index
        )))
    })?;
    crate::sdk::parse::bytes32("node id", text)
}

fn start_failed(index: u16, log: &Path, what: String) -> Error {
    let tail = std::fs::read_to_string(log)
        .map(|t| {
            let lines: Vec<&str> = t.lines().rev().take(3).collect();
            lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
        })
        .unwrap_or_default();
    DevnetError::NodeStartFailed(format!(
        "node {index} {what}; read {}{}",
        log.display(),
        if tail.is_empty() {
            String::new()
        } else {
            format!(" (last lines: {tail})")
        }
    ))
    .into()
}

/// Sends `wei` from dev account 0 to each of `to`, then waits for every receipt.
async fn fund(rpc: &str, to: &[Address], wei: u128) -> Result<()> {
    let provider = transport::provider(rpc, Some(dev_signer(0)?))?;
    let mut pending = Vec::new();
    for a in to {
        let tx = TransactionRequest::default()
            .with_to(*a)
            .with_value(U256::from(wei));
        pending.push(
            provider
                .send_transaction(tx)
                .await
                .map_err(|e| transport::transport_error(&e))?,
        );
    }
    for p in pending {
        let r = p
            .with_timeout(Some(RECEIPT_BOUND))
            .get_receipt()
            .await
            .map_err(|e| Error::ChainError(format!("no receipt for a funding transfer: {e}")))?;
        if !r.status() {
            return Err(Error::TxReverted(format!(
                "funding transfer {} failed",
                r.transaction_hash
            )));
        }
    }
    Ok(())
}

/// Makes `dir` ready for a new devnet: refuses a live one, clears a dead one's files.
fn prepare_dir(dir: &DevnetDir) -> Result<()> {
    if dir.state_file().exists() {
        match dir.load() {
            Ok(old) => {
                if let Some(p) = old.processes().iter().find(|p| p.is_alive()) {
                    return Err(DevnetError::Running(format!(
                        "a devnet runs in {} already (pid {}); `kms devnet down --dir {}` first",
                        dir.path().display(),
                        p.pid,
                        dir.path().display()
                    ))
                    .into());
                }
            }
            Err(e) => {
                return Err(DevnetError::Running(format!(
                    "{} holds a {STATE_FILE} that `kms devnet` cannot read ({e}); remove it or pick another --dir",
                    dir.path().display()
                ))
                .into())
            }
        }
        remove_created(dir)?;
    }
    layout::create_dir(dir.path())
}

/// Removes what a devnet writes in `dir`, then `dir` if it is empty.
fn remove_created(dir: &DevnetDir) -> Result<()> {
    let rm_dir = |p: PathBuf| match std::fs::remove_dir_all(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::Io(format!("cannot remove {}: {e}", p.display())))
        }
        _ => Ok(()),
    };
    let rm_file = |p: PathBuf| match std::fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::Io(format!("cannot remove {}: {e}", p.display())))
        }
        _ => Ok(()),
    };
    rm_dir(dir.keys())?;
    rm_dir(dir.path().join(layout::NODES))?;
    rm_file(dir.anvil_log())?;
    rm_file(dir.state_file().with_extension("tmp"))?;
    rm_file(dir.state_file())?;
    // Only if empty: never delete what someone else put there.
    let _ = std::fs::remove_dir(dir.path());
    Ok(())
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    fn must_be_send<T: Send>(_: &T) {}

    #[test]
    fn devnet__should_be_send_so_a_multi_threaded_runtime_can_drive_it() {
        let opts = UpOptions::new("/nonexistent", "/nonexistent");
        let up = Devnet::up(opts.clone());
        must_be_send(&up);
        let mut net = Devnet {
            dir: DevnetDir::new(Path::new("/nonexistent")),
            state: DevnetFile {
                rpc: String::new(),
                contract: None,
                chain_id: 0,
                node_app_id: None,
                node_measurement: None,
                threshold: 2,
                settings: Settings::default(),
                node_bin: String::new(),
                anvil: ProcessId { pid: 0, start: 0 },
                nodes: Vec::new(),
                demo_app: None,
            },
            children: BTreeMap::new(),
            owned: false,
            progress: None,
        };
        must_be_send(&net.node_start(1));
        must_be_send(&net.node_add(None));
        must_be_send(&net);
        assert_eq!(net.node_stop(1).unwrap_err().kind(), "unknown_node");
    }
}
