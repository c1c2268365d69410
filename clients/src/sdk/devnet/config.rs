//! What a devnet decides before it starts anything: its timing ([`Settings`]), the
//! simulated vendor of each node ([`vendors_for`], within the contract's committee
//! rules), the simulated builds and their measurements, and each node's configuration
//! file ([`NodeConfig`], the `kms-node --config` TOML of docs/OPERATOR.md).

use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{keccak256, Address};
use attestation_gate::SimulatedRaw;
use serde::{Deserialize, Serialize};

use super::error::DevnetError;
use crate::sdk::error::{Error, Result};

/// The largest committee the contract accepts.
pub const MAX_NODES: u16 = 64;

/// The simulated-vendor indexes `N` a devnet may use (platform `simulated-N`, chain code
/// `128 + N`).
pub const MAX_VENDOR: u8 = 127;

/// The acknowledgement a node's file carries for simulated attestation.
pub const SIMULATED_ACK: &str = "i-understand-this-is-not-secure";

/// The devnet's timing, the same for the chain and every node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// anvil's block time (interval mining), milliseconds.
    pub block_time_ms: u64,
    /// Blocks below the head the nodes read at.
    pub confirmation_depth: u64,
    /// How long one protocol attempt (a DKG run) may take, seconds.
    pub attempt_deadline_secs: u64,
    /// Attempts before a node gives a run up.
    pub max_attempts: u32,
    /// Each node's runtime threads (`node.worker_threads`); `None`: one per CPU.
    /// Absent in devnets written before it.
    #[serde(default)]
    pub node_threads: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            block_time_ms: 1000,
            confirmation_depth: 2,
            attempt_deadline_secs: 60,
            max_attempts: 5,
            node_threads: None,
        }
    }
}

/// The runtime threads each of `nodes` nodes gets on a machine of `cpus` CPUs: one when
/// the nodes outnumber the CPUs four to one, else one per CPU (`None`). Measured on 2
/// CPUs (docs/PERFORMANCE.md): 32 nodes spent about a fifth less CPU on a genesis DKG
/// with one thread each; 5 nodes served key releases about 5 % faster with two
/// (and about 0.1x the floor slower in latency).
pub fn node_threads_for(nodes: u16, cpus: usize) -> Option<u32> {
    (usize::from(nodes) >= cpus.saturating_mul(4)).then_some(1)
}

impl Settings {
    /// anvil's block time.
    pub fn block_time(&self) -> Duration {
        Duration::from_millis(self.block_time_ms)
    }

    /// The time for a fact to reach the nodes' view: `depth` blocks, three times over
    /// (polling, a late block, a transaction waiting for its block).
    pub fn chain_lag(&self) -> Duration {
        self.block_time()
            .saturating_mul(
                u32::try_from(self.confirmation_depth.saturating_add(1)).unwrap_or(u32::MAX),
            )
            .saturating_mul(3)
    }

    /// How long `up` waits for the genesis epoch to be active once the committee is
    /// executed: every attempt to its deadline, plus the chain lag of the proposal
    /// reaching the nodes and of their confirmations, plus a minute of slack.
    pub fn genesis_bound(&self) -> Duration {
        let attempts =
            Duration::from_secs(self.attempt_deadline_secs).saturating_mul(self.max_attempts);
        attempts
            .saturating_add(self.chain_lag().saturating_mul(2))
            .saturating_add(Duration::from_secs(60))
    }

    /// How long a started node has to write its `endpoints.json` (keys, evidence,
    /// listeners; a first start may read the chain once).
    pub fn start_bound(&self) -> Duration {
        Duration::from_secs(60).saturating_add(self.chain_lag())
    }

    /// The transition deadline the contract gets (seconds, at least its 60 s minimum):
    /// longer than `up` waits, so a slow genesis is reported by `up`, not cancelled.
    pub fn transition_deadline_secs(&self) -> u64 {
        self.genesis_bound().as_secs().max(60).saturating_add(60)
    }

    fn max_head_age(&self) -> Duration {
        self.chain_lag()
            .saturating_mul(2)
            .max(Duration::from_secs(15))
    }

    fn poll_interval(&self) -> Duration {
        (self.block_time() / 2).max(Duration::from_millis(100))
    }

    fn round_deadline(&self) -> Duration {
        (Duration::from_secs(self.attempt_deadline_secs) / 3).max(Duration::from_secs(1))
    }

    /// Refuses settings no node accepts.
    pub fn check(&self) -> Result<()> {
        if self.block_time_ms == 0
            || self.confirmation_depth == 0
            || self.attempt_deadline_secs == 0
            || self.max_attempts == 0
        {
            return Err(size_error(
                "block time, confirmation depth, attempt deadline and attempts must all be above 0"
                    .into(),
            ));
        }
        Ok(())
    }
}

fn size_error(m: String) -> Error {
    DevnetError::InvalidSize(m).into()
}

/// Checks a devnet of `nodes` nodes with threshold `threshold` against the contract's
/// committee rules (2 ≤ t ≤ n ≤ 64, docs/GOVERNANCE.md §4).
pub fn check_size(nodes: u16, threshold: u16) -> Result<()> {
    if !(2..=MAX_NODES).contains(&nodes) {
        return Err(size_error(format!(
            "--nodes {nodes}: a devnet has 2 to {MAX_NODES} nodes"
        )));
    }
    if threshold < 2 || threshold > nodes {
        return Err(size_error(format!(
            "--threshold {threshold}: it must be at least 2 (one node would hold the key) and at most --nodes ({nodes})"
        )));
    }
    Ok(())
}

/// The simulated vendor (1-based `N` of `simulated-N`) of each of `n` nodes for
/// threshold `t`: round robin over the fewest vendors (at least 3, or `n` if fewer)
/// with which the committee passes the contract's diversity cap (no vendor holds `t`
/// seats) and, where it applies, its liveness rule (removing any one vendor leaves `t`).
/// Call [`check_size`] first.
pub fn vendors_for(n: u16, t: u16) -> Vec<u8> {
    let n = usize::from(n);
    let t = usize::from(t);
    let max_k = n.clamp(1, usize::from(MAX_VENDOR));
    let k = (n.min(3)..=max_k)
        .find(|&k| passes(n, t, k))
        .unwrap_or(max_k);
    (0..n)
        .map(|i| u8::try_from(i % k + 1).unwrap_or(MAX_VENDOR))
        .collect()
}

/// Whether `n` seats dealt round robin over `k` vendors pass the cap and liveness rules.
fn passes(n: usize, t: usize, k: usize) -> bool {
    if k == 0 {
        return false;
    }
    let most = n.div_ceil(k);
    let cap = most < t;
    let liveness_applies = k.saturating_mul(n.saturating_sub(t)) >= n;
    cap && (!liveness_applies || n.saturating_sub(most) >= t)
}

/// The image digest the simulated kms-node build claims (`attestation.sim_measurement`).
pub fn node_image() -> [u8; 32] {
    keccak256(b"keynet devnet: the simulated kms-node build").0
}

/// The image digest of the demo application's simulated build (what
/// `kms app … --attester simulated --sim-measurement` names).
pub fn demo_app_image() -> [u8; 32] {
    keccak256(b"keynet devnet: the simulated demo application build").0
}

/// The measurement governance approves for a simulated `image`: the digest verifiers
/// report for simulated evidence of it (`SHA-256("keynet/measurement/simulated/v1" ||
/// image)`, docs/PROTOCOL.md).
pub fn simulated_measurement(image: [u8; 32]) -> [u8; 32] {
    SimulatedRaw::new("sim-1".into(), image, false)
        .measurement()
        .0
}

/// One node's configuration file (`kms-node --config`, docs/OPERATOR.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// `[node]`.
    pub node: NodeSection,
    /// `[chain]`.
    pub chain: ChainSection,
    /// `[attestation]`.
    pub attestation: AttestationSection,
    /// `[protocol]`.
    pub protocol: ProtocolSection,
    /// `[storage]`.
    pub storage: StorageSection,
}

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSection {
    /// Where the node keeps its keys, shares and the files it reports through.
    pub data_dir: PathBuf,
    /// Peer listener (`127.0.0.1:0` on the first start).
    pub p2p_listen: String,
    /// Application listener.
    pub app_listen: String,
    /// Operator (status) listener.
    pub operator_listen: String,
    /// The operator account the registration is signed over.
    pub operator_address: String,
    /// Threads of the node's runtime ([`Settings::node_threads`]); absent: one per
    /// CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_threads: Option<u32>,
}

/// `[chain]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSection {
    /// The devnet chain.
    pub rpc_url: String,
    /// The governance contract.
    pub contract: String,
    /// Blocks below the head the node reads at.
    pub confirmation_depth: u64,
    /// anvil's block time.
    pub block_time: String,
    /// A view older than this is stale.
    pub max_head_age: String,
    /// How often the node polls the chain.
    pub poll_interval: String,
}

/// `[attestation]`: the simulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationSection {
    /// Always `simulated`.
    pub attester: String,
    /// The acknowledgement ([`SIMULATED_ACK`]).
    pub allow_simulated: String,
    /// The devnet's simulated attestation seed.
    pub sim_key_file: PathBuf,
    /// The node's simulated vendor `N`.
    pub sim_vendor: u8,
    /// The simulated kms-node build (hex, [`node_image`]).
    pub sim_measurement: String,
}

/// `[protocol]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolSection {
    /// One attempt's deadline.
    pub attempt_deadline: String,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// One round's deadline.
    pub round_deadline: String,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageSection {
    /// Always `operator-key`.
    pub sealing: String,
    /// The sealing key (64 hex, 0600).
    pub operator_key_file: PathBuf,
}

/// What a node's file is made of.
#[derive(Debug, Clone)]
pub struct NodeParams {
    /// The node's data directory.
    pub data_dir: PathBuf,
    /// The devnet chain.
    pub rpc: String,
    /// The governance contract.
    pub contract: Address,
    /// The operator account.
    pub operator: Address,
    /// The simulated attestation seed file.
    pub sim_key_file: PathBuf,
    /// The simulated vendor.
    pub vendor: u8,
    /// The sealing key file.
    pub storage_key_file: PathBuf,
    /// The devnet's timing.
    pub settings: Settings,
}

/// A duration as kms-node reads it (humantime): whole seconds as `15s`, else `250ms`.
fn ms(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

impl NodeConfig {
    /// A first-start configuration: every listener on `127.0.0.1:0`.
    pub fn new(p: &NodeParams) -> Self {
        let any = "127.0.0.1:0".to_owned();
        let s = &p.settings;
        Self {
            node: NodeSection {
                data_dir: p.data_dir.clone(),
                p2p_listen: any.clone(),
                app_listen: any.clone(),
                operator_listen: any,
                operator_address: format!("{:#x}", p.operator),
                worker_threads: s.node_threads,
            },
            chain: ChainSection {
                rpc_url: p.rpc.clone(),
                contract: format!("{:#x}", p.contract),
                confirmation_depth: s.confirmation_depth,
                block_time: ms(s.block_time()),
                max_head_age: ms(s.max_head_age()),
                poll_interval: ms(s.poll_interval()),
            },
            attestation: AttestationSection {
                attester: "simulated".into(),
                allow_simulated: SIMULATED_ACK.into(),
                sim_key_file: p.sim_key_file.clone(),
                sim_vendor: p.vendor,
                sim_measurement: alloy::hex::encode(node_image()),
            },
            protocol: ProtocolSection {
                attempt_deadline: format!("{}s", s.attempt_deadline_secs),
                max_attempts: s.max_attempts,
                round_deadline: ms(s.round_deadline()),
            },
            storage: StorageSection {
                sealing: "operator-key".into(),
                operator_key_file: p.storage_key_file.clone(),
            },
        }
    }

    /// The same configuration listening where the node reported it listens, so a
    /// restarted node keeps its addresses (peers and the chain record know them).
    pub fn with_ports(mut self, p2p: &str, app: &str, operator_url: &str) -> Self {
        self.node.p2p_listen = p2p.to_owned();
        self.node.app_listen = app.to_owned();
        self.node.operator_listen = operator_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        self
    }

    /// The TOML text.
    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string(self)
            .map_err(|e| Error::Internal(format!("cannot write a node configuration: {e}")))?;
        Ok(format!(
            "# kms-node configuration written by `kms devnet` (docs/DEVNET.md).\n# SIMULATED ENCLAVE: NO SECURITY.\n\n{body}"
        ))
    }

    /// Reads a configuration written by [`NodeConfig::to_toml`].
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            Error::Devnet(DevnetError::NodeStartFailed(format!(
                "a node configuration does not parse: {e}"
            )))
        })
    }
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The contract's rules, counted independently of [`passes`].
    fn contract_accepts(vendors: &[u8], t: usize) -> bool {
        let n = vendors.len();
        let mut seats = std::collections::BTreeMap::<u8, usize>::new();
        for v in vendors {
            *seats.entry(*v).or_default() += 1;
        }
        if seats.values().any(|&s| s >= t) {
            return false;
        }
        let k = seats.len();
        if k * (n - t) < n {
            return true;
        }
        seats.values().all(|&s| n - s >= t)
    }

    #[test]
    fn vendors_for__should_mix_at_least_three_vendors_within_the_contract_rules() {
        assert_eq!(vendors_for(5, 3), [1, 2, 3, 1, 2]);
        assert_eq!(vendors_for(3, 2), [1, 2, 3]);
        assert_eq!(vendors_for(2, 2), [1, 2]);
        for n in 2..=MAX_NODES {
            for t in 2..=n {
                let v = vendors_for(n, t);
                assert_eq!(v.len(), usize::from(n));
                assert!(contract_accepts(&v, usize::from(t)), "n={n} t={t}: {v:?}");
                let distinct: std::collections::BTreeSet<u8> = v.iter().copied().collect();
                assert!(distinct.len() >= usize::from(n.min(3)), "n={n} t={t}");
            }
        }
    }

    #[test]
    fn check_size__should_refuse_what_the_contract_refuses_with_its_kind() {
        check_size(5, 3).unwrap();
        check_size(2, 2).unwrap();
        for (n, t) in [(1, 1), (5, 1), (5, 6), (0, 0), (65, 3), (3, 0)] {
            let e = check_size(n, t).unwrap_err();
            assert_eq!(e.kind(), "invalid_devnet_size", "n={n} t={t}");
        }
    }

    #[test]
    fn settings__should_bound_genesis_by_the_attempts_and_the_chain() {
        let s = Settings::default();
        // 5 attempts of 60 s, 2 x 3 x 3 blocks of 1 s, 60 s slack.
        assert_eq!(s.genesis_bound(), Duration::from_secs(300 + 18 + 60));
        assert!(s.transition_deadline_secs() > s.genesis_bound().as_secs());
        assert!(Settings {
            max_attempts: 0,
            ..s
        }
        .check()
        .is_err());
    }

    #[test]
    fn node_threads_for__should_give_one_thread_only_to_many_nodes_per_cpu() {
        assert_eq!(node_threads_for(5, 2), None);
        assert_eq!(node_threads_for(7, 2), None);
        assert_eq!(node_threads_for(8, 2), Some(1));
        assert_eq!(node_threads_for(32, 2), Some(1));
        assert_eq!(node_threads_for(32, 16), None);
        assert_eq!(node_threads_for(1, 0), Some(1));
    }

    #[test]
    fn node_config__should_carry_the_runtime_threads_and_read_older_files() {
        let params = |node_threads| NodeParams {
            data_dir: PathBuf::from("/tmp/n1"),
            rpc: "http://127.0.0.1:8545".into(),
            contract: Address::ZERO,
            operator: Address::ZERO,
            sim_key_file: PathBuf::from("/tmp/n1/sim.key"),
            vendor: 1,
            storage_key_file: PathBuf::from("/tmp/n1/storage.key"),
            settings: Settings {
                node_threads,
                ..Settings::default()
            },
        };
        let config = NodeConfig::new(&params(Some(1)));
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("worker_threads = 1"), "{text}");
        assert_eq!(toml::from_str::<NodeConfig>(&text).unwrap(), config);
        // Left out (one per CPU), as in a devnet written before the key existed.
        let default = toml::to_string(&NodeConfig::new(&params(None))).unwrap();
        assert!(!default.contains("worker_threads"), "{default}");
        let read: NodeConfig = toml::from_str(&default).unwrap();
        assert_eq!(read.node.worker_threads, None);
        // Settings written before `node_threads` existed.
        let older: Settings = serde_json::from_str(
            r#"{"block_time_ms":1000,"confirmation_depth":2,"attempt_deadline_secs":60,"max_attempts":5}"#,
        )
        .unwrap();
        assert_eq!(older, Settings::default());
    }

    #[test]
    fn simulated_measurement__should_be_the_verifiers_digest_not_the_image() {
        let m = simulated_measurement(node_image());
        assert_ne!(m, node_image());
        assert_eq!(m, simulated_measurement(node_image()));
        assert_ne!(m, simulated_measurement(demo_app_image()));
    }
}
