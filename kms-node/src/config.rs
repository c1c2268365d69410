//! The node's one typed configuration (STYLE §7): a TOML file, then environment
//! overrides, then validation into domain types ("parse, don't validate").
//!
//! - Every section and the root refuse unknown keys ([`Error::UnknownKey`] names the key
//!   and the file; `#[serde(deny_unknown_fields)]` backs it up).
//! - An environment variable `KMS_NODE_<SECTION>_<KEY>` (upper case, e.g.
//!   `KMS_NODE_CHAIN_RPC_URL`) overrides `<key>` of `[<section>]`; an unknown
//!   `KMS_NODE_*` variable is refused ([`Error::UnknownEnv`]), so a typo never silently
//!   leaves the file's value in force. [`ENV_KEYS`] lists them all.
//! - Durations are written `90s`, `10m`, `1h 30m` (humantime).
//! - Listen addresses default to `127.0.0.1`.
//! - Simulated attestation is refused unless the file says `attester = "simulated"`
//!   *and* the operator acknowledges it ([`SIMULATED_ACK`], see [`Config::simulated`]).
//!
//! The operator's guide (`docs/OPERATOR.md`) documents every key; the committed
//! `kms-node/examples/node.toml` sets each of them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use zeroize::Zeroizing;

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "KMS_NODE_";

/// The environment variable that acknowledges simulated attestation (alternative to
/// `attestation.allow_simulated` in the file).
pub const ENV_ALLOW_SIMULATED: &str = "KMS_NODE_ALLOW_SIMULATED";

/// The exact value that acknowledges simulated attestation.
pub const SIMULATED_ACK: &str = "i-understand-this-is-not-secure";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not TOML, or a value has the wrong type.
    ///
    /// Only the TOML parser's message and the line are kept, never the offending
    /// source line, which may hold a secret (an unquoted `operator_key`).
    #[error("config file {path} is invalid{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error, when the parser knows it.
        line: Option<usize>,
        /// The parser's message (it names the key, not secret values).
        message: String,
    },
    /// A key (or section) the node does not know.
    #[error("config file {path}: unknown key `{key}`")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// Dotted key, e.g. `chain.rpc_ur`.
        key: String,
    },
    /// A `KMS_NODE_*` environment variable that names no key.
    #[error("unknown environment variable {var} (see ENV_KEYS / docs/OPERATOR.md)")]
    UnknownEnv {
        /// The variable.
        var: String,
    },
    /// An environment override whose value does not have the key's type.
    #[error("environment variable {var} must be {expected}")]
    EnvValue {
        /// The variable.
        var: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A required key is missing.
    #[error("config: `{key}` is required")]
    Missing {
        /// Dotted key.
        key: &'static str,
    },
    /// A listen address that is not `ip:port`.
    #[error("config: `{key}` = {value:?} is not an ip:port socket address")]
    ListenAddress {
        /// Dotted key.
        key: &'static str,
        /// The value.
        value: String,
    },
    /// The chain RPC URL is not an http(s) URL (the node's JSON-RPC transport,
    /// `governance_contract::rpc`, speaks http and https only).
    #[error("config: `chain.rpc_url` = {value:?} must start with http:// or https://")]
    RpcUrl {
        /// The value.
        value: String,
    },
    /// The contract address is not `0x` and 40 hex digits.
    #[error("config: `chain.contract` = {value:?} is not 0x followed by 40 hex digits")]
    ContractAddress {
        /// The value.
        value: String,
    },
    /// `chain.confirmation_depth` is 0 (the node would read unconfirmed state).
    #[error("config: `chain.confirmation_depth` must be at least 1")]
    ConfirmationDepth,
    /// A count that must be at least 1.
    #[error("config: `{key}` must be at least 1")]
    ZeroCount {
        /// Dotted key.
        key: &'static str,
    },
    /// A duration that must be positive.
    #[error("config: `{key}` must be longer than 0s")]
    ZeroDuration {
        /// Dotted key.
        key: &'static str,
    },
    /// `chain.max_head_age` is not longer than `chain.block_time`: every head would be
    /// stale, or nearly so.
    #[error(
        "config: `chain.max_head_age` ({max_head_age:?}) must be longer than `chain.block_time` ({block_time:?})"
    )]
    HeadAge {
        /// The configured maximum age.
        max_head_age: Duration,
        /// The configured block time.
        block_time: Duration,
    },
    /// `attester = "simulated"` without the acknowledgement.
    #[error(
        "config: attester \"simulated\" gives NO security; to run it anyway set {ENV_ALLOW_SIMULATED}={SIMULATED_ACK} or `attestation.allow_simulated = \"{SIMULATED_ACK}\"`"
    )]
    SimulatedNotAcknowledged,
    /// An acknowledgement whose value is not exactly [`SIMULATED_ACK`].
    #[error("config: the simulated-mode acknowledgement must be exactly \"{SIMULATED_ACK}\"")]
    SimulatedAckValue,
    /// `attester = "simulated"` set from the environment: it must be in the file.
    #[error("config: attester \"simulated\" can only be set in the config file, not from the environment")]
    SimulatedFromEnv,
    /// SEV-SNP sealing with an attester of a platform that has no sealing key.
    #[error("config: `storage.sealing = \"sev-snp\"` needs an SEV-SNP guest (attester sev-guest or configfs-tsm), not attester {attester}; TDX, Nitro and simulated nodes use `sealing = \"operator-key\"`")]
    PlatformSealing {
        /// The configured attester.
        attester: Attester,
    },
    /// Operator-key sealing without a key, or with both a file and an inline key.
    #[error("config: `storage.sealing = \"operator-key\"` needs exactly one of `storage.operator_key_file` and `storage.operator_key`")]
    OperatorKeySource,
    /// The inline operator key is not 64 hex digits (its value is not repeated here).
    #[error("config: `storage.operator_key` must be 64 hex digits (32 bytes)")]
    OperatorKeyFormat,
    /// `node.operator_address` is not `0x` and 40 hex digits.
    #[error("config: `node.operator_address` = {value:?} is not 0x followed by 40 hex digits")]
    OperatorAddress {
        /// The value.
        value: String,
    },
    /// A simulated-attester key set while the attester is not `simulated`, or missing
    /// while it is.
    #[error("config: `{key}` is {}", if *.needed { "required with attester \"simulated\"" } else { "only allowed with attester \"simulated\"" })]
    SimulatedKey {
        /// Dotted key.
        key: &'static str,
        /// Whether it was missing (true) or set without the simulated attester.
        needed: bool,
    },
    /// `attestation.sim_vendor` is above 127 (chain codes 128..=255).
    #[error("config: `attestation.sim_vendor` = {value} must be at most 127")]
    SimulatedVendor {
        /// The value.
        value: u32,
    },
    /// `attestation.sim_measurement` is not 64 hex digits.
    #[error("config: `attestation.sim_measurement` must be 64 hex digits (32 bytes)")]
    SimulatedMeasurement,
    /// `protocol.round_deadline` is longer than `protocol.attempt_deadline`.
    #[error("config: `protocol.round_deadline` ({round:?}) must not be longer than `protocol.attempt_deadline` ({attempt:?})")]
    RoundDeadline {
        /// The round deadline.
        round: Duration,
        /// The attempt deadline.
        attempt: Duration,
    },
}

/// Which attester produces this node's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Attester {
    /// Linux configfs-tsm report interface (`/sys/kernel/config/tsm/report`).
    ConfigfsTsm,
    /// AMD SEV-SNP `/dev/sev-guest`.
    SevGuest,
    /// Intel TDX `/dev/tdx_guest` (quote through the host's QGS over vsock).
    TdxGuest,
    /// AWS Nitro `/dev/nsm`.
    Nitro,
    /// Signed simulated evidence: **no security**, for development only.
    Simulated,
}

impl Attester {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigfsTsm => "configfs-tsm",
            Self::SevGuest => "sev-guest",
            Self::TdxGuest => "tdx-guest",
            Self::Nitro => "nitro",
            Self::Simulated => "simulated",
        }
    }
}

impl fmt::Display for Attester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How shares are sealed at rest (DESIGN §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Sealing {
    /// The SEV-SNP firmware's derived key (`SNP_GET_DERIVED_KEY` on
    /// `<attestation.device_root>/dev/sev-guest`), bound to the chip, the launch
    /// measurement and the guest policy.
    SevSnp,
    /// An AEAD key held by the operator.
    OperatorKey,
}

/// A 20-byte EVM contract address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractAddress(pub [u8; 20]);

impl ContractAddress {
    fn parse(value: &str) -> Result<Self, Error> {
        let bad = || Error::ContractAddress {
            value: value.to_owned(),
        };
        let digits = value.strip_prefix("0x").ok_or_else(bad)?;
        let mut out = [0u8; 20];
        hex::decode_to_slice(digits, &mut out).map_err(|_| bad())?;
        Ok(Self(out))
    }
}

impl fmt::Display for ContractAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// The operator-held storage key given inline (`storage.operator_key`, typically from
/// `KMS_NODE_STORAGE_OPERATOR_KEY`).
///
/// # Security
///
/// Secret: zeroed on drop, no `Clone`, `Debug` prints `<redacted>`.
pub struct OperatorKey(Zeroizing<[u8; 32]>);

impl OperatorKey {
    /// The key bytes, for [`crate::storage::OperatorKeySealer::from_key`].
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OperatorKey(<redacted>)")
    }
}

/// Where the operator storage key comes from.
#[derive(Debug)]
#[non_exhaustive]
pub enum OperatorKeySource {
    /// A file holding 32 raw bytes or 64 hex digits (read by the storage layer).
    File(PathBuf),
    /// The key itself.
    Inline(OperatorKey),
}

/// `[node]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct NodeConfig {
    /// Directory of the node's state (sealed shares under `epochs/` and `pending/`).
    pub data_dir: PathBuf,
    /// Node ↔ node (p2p) listen address.
    pub p2p_listen: SocketAddr,
    /// App ↔ node (Noise) service listen address.
    pub app_listen: SocketAddr,
    /// Operator HTTP (health, status, metrics) listen address.
    pub operator_listen: SocketAddr,
    /// The operator account that registers this node: the node's registration
    /// signature covers it (docs/GOVERNANCE.md §4a).
    pub operator_address: [u8; 20],
    /// Threads of the node's async runtime; `None`: one per CPU. One suits a machine
    /// that runs many nodes (the devnet): fewer threads to wake and schedule.
    pub worker_threads: Option<usize>,
}

/// `[chain]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct ChainConfig {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The governance contract.
    pub contract: ContractAddress,
    /// Blocks below the head at which state is read (≥ 1).
    pub confirmation_depth: u64,
    /// The chain's block time.
    pub block_time: Duration,
    /// A finalized head older than this is stale: the node refuses to release keys
    /// (DESIGN §2).
    pub max_head_age: Duration,
    /// How often the chain is polled.
    pub poll_interval: Duration,
}

/// `[attestation]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct AttestationConfig {
    /// The attester.
    pub attester: Attester,
    /// Root under which device files are opened (`/` in production; a fake tree in
    /// tests).
    pub device_root: PathBuf,
    /// vsock port of the host's quote generation service (TDX).
    pub tdx_quote_vsock_port: u32,
    /// Evidence is refreshed this long before it reaches the policy's maximum age.
    pub evidence_refresh_margin: Duration,
    /// Folder of this node's own attestation collateral (laid out like
    /// `shared/fixtures/attestation/<platform>/<sample>/`: `collateral.json` for TDX and
    /// SGX, `vcek.der`/`vlek.der`/`crl.der` for SEV-SNP), sent to peers with the
    /// evidence; re-read at every evidence refresh.
    pub collateral_dir: Option<PathBuf>,
    /// The simulated enclave, with attester `simulated` only.
    pub simulated: Option<SimulatedEnclave>,
}

/// The simulated enclave of a development network (`attestation.sim_*`): **no
/// security**.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimulatedEnclave {
    /// File holding the devnet's simulated attestation seed (64 hex digits); the node
    /// signs its evidence with it and trusts evidence signed by it.
    pub key_file: PathBuf,
    /// The simulated vendor `N` (platform `simulated-N`, chain code `128 + N`).
    pub vendor: u8,
    /// The measurement of the simulated kms-node build.
    pub measurement: [u8; 32],
}

/// `[protocol]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct ProtocolConfig {
    /// Deadline of one attempt of a protocol run.
    pub attempt_deadline: Duration,
    /// Attempts before a run is given up (≥ 1).
    pub max_attempts: u32,
    /// How long the previous epoch keeps answering after a new one activates.
    pub previous_epoch_grace: Duration,
    /// How long one round of a run waits for its expected senders.
    pub round_deadline: Duration,
}

/// `[storage]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct StorageConfig {
    /// Sealing method.
    pub sealing: Sealing,
    /// The operator key, when `sealing` is `operator-key`.
    pub operator_key: Option<OperatorKeySource>,
}

/// The node's configuration, validated.
///
/// # Security
///
/// `Debug` redacts the operator key ([`OperatorKey`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Config {
    /// `[node]`.
    pub node: NodeConfig,
    /// `[chain]`.
    pub chain: ChainConfig,
    /// `[attestation]`.
    pub attestation: AttestationConfig,
    /// `[protocol]`.
    pub protocol: ProtocolConfig,
    /// `[storage]`.
    pub storage: StorageConfig,
}

/// The type of a key's value, for parsing environment overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A string (also durations, addresses, paths, enum names).
    Text,
    /// A non-negative integer.
    Integer,
}

/// Every key: `(section, key, kind)`. The environment variable is
/// `KMS_NODE_<SECTION>_<KEY>` in upper case.
pub const ENV_KEYS: &[(&str, &str, ValueKind)] = &[
    ("node", "data_dir", ValueKind::Text),
    ("node", "p2p_listen", ValueKind::Text),
    ("node", "app_listen", ValueKind::Text),
    ("node", "operator_listen", ValueKind::Text),
    ("node", "operator_address", ValueKind::Text),
    ("node", "worker_threads", ValueKind::Integer),
    ("chain", "rpc_url", ValueKind::Text),
    ("chain", "contract", ValueKind::Text),
    ("chain", "confirmation_depth", ValueKind::Integer),
    ("chain", "block_time", ValueKind::Text),
    ("chain", "max_head_age", ValueKind::Text),
    ("chain", "poll_interval", ValueKind::Text),
    ("attestation", "attester", ValueKind::Text),
    ("attestation", "device_root", ValueKind::Text),
    ("attestation", "tdx_quote_vsock_port", ValueKind::Integer),
    ("attestation", "evidence_refresh_margin", ValueKind::Text),
    ("attestation", "collateral_dir", ValueKind::Text),
    ("attestation", "allow_simulated", ValueKind::Text),
    ("attestation", "sim_key_file", ValueKind::Text),
    ("attestation", "sim_vendor", ValueKind::Integer),
    ("attestation", "sim_measurement", ValueKind::Text),
    ("protocol", "attempt_deadline", ValueKind::Text),
    ("protocol", "max_attempts", ValueKind::Integer),
    ("protocol", "previous_epoch_grace", ValueKind::Text),
    ("protocol", "round_deadline", ValueKind::Text),
    ("storage", "sealing", ValueKind::Text),
    ("storage", "operator_key_file", ValueKind::Text),
    ("storage", "operator_key", ValueKind::Text),
];

/// The environment variable overriding `section.key`.
pub fn env_var_name(section: &str, key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}_{}",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

impl Config {
    /// Loads `path` with the process environment's overrides.
    pub fn load(path: &Path) -> Result<Self, Error> {
        // `vars_os`, not `vars`: `vars` panics on a variable that is not Unicode.
        let mut env = Vec::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str().filter(|n| n.starts_with(ENV_PREFIX)) else {
                continue;
            };
            let value = value.into_string().map_err(|_| Error::EnvValue {
                var: name.to_owned(),
                expected: "valid UTF-8",
            })?;
            env.push((name.to_owned(), value));
        }
        Self::load_with_env(path, env)
    }

    /// Loads `path` with the overrides in `env` (name, value) pairs; variables without
    /// the `KMS_NODE_` prefix are ignored.
    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?);
        Self::parse_with_env(&text, path, env)
    }

    /// Parses TOML `text` (read from `path`, which errors name) with the overrides in
    /// `env`.
    pub fn parse_with_env(
        text: &str,
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        let parse_error = |error: toml::de::Error| Error::Parse {
            path: path.to_owned(),
            line: error.span().map(|span| {
                text.get(..span.start)
                    .map_or(0, |before| before.matches('\n').count())
                    .saturating_add(1)
            }),
            message: error.message().to_owned(),
        };
        let mut table: toml::Table = toml::from_str(text).map_err(parse_error)?;
        check_known_keys(&table, path)?;
        let ack_from_env = apply_env(&mut table, env)?;
        let raw: RawConfig = RawConfig::deserialize(table).map_err(parse_error)?;
        raw.validate(ack_from_env)
    }

    /// Whether the node runs with simulated attestation: **no security**. Status
    /// output and logs print a banner while this is true (STYLE §7).
    pub fn simulated(&self) -> bool {
        self.attestation.attester == Attester::Simulated
    }
}

/// Refuses keys that are neither a section nor a key of [`ENV_KEYS`].
fn check_known_keys(table: &toml::Table, path: &Path) -> Result<(), Error> {
    for (section, value) in table {
        let unknown = |key: String| Error::UnknownKey {
            path: path.to_owned(),
            key,
        };
        if !ENV_KEYS.iter().any(|(s, _, _)| s == section) {
            return Err(unknown(section.clone()));
        }
        let toml::Value::Table(keys) = value else {
            // A known section name used as a plain value: serde reports the type.
            continue;
        };
        for key in keys.keys() {
            if !ENV_KEYS.iter().any(|(s, k, _)| s == section && k == key) {
                return Err(unknown(format!("{section}.{key}")));
            }
        }
    }
    Ok(())
}

/// Writes the `KMS_NODE_*` overrides into `table`. Returns the
/// [`ENV_ALLOW_SIMULATED`] value if set.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Option<Zeroizing<String>>, Error> {
    let mut ack = None;
    // Sorted, so the first error reported does not depend on the environment's order.
    let vars: BTreeMap<String, Zeroizing<String>> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .map(|(k, v)| (k, Zeroizing::new(v)))
        .collect();
    for (var, value) in vars {
        if var == ENV_ALLOW_SIMULATED {
            ack = Some(value);
            continue;
        }
        let Some((section, key, kind)) =
            ENV_KEYS.iter().find(|(s, k, _)| env_var_name(s, k) == var)
        else {
            return Err(Error::UnknownEnv { var });
        };
        if (*section, *key) == ("attestation", "attester") && value.as_str() == "simulated" {
            return Err(Error::SimulatedFromEnv);
        }
        let value = match kind {
            ValueKind::Text => toml::Value::String(value.as_str().to_owned()),
            ValueKind::Integer => {
                toml::Value::Integer(value.parse::<u32>().map(i64::from).map_err(|_| {
                    Error::EnvValue {
                        var: var.clone(),
                        expected: "a non-negative integer below 2^32",
                    }
                })?)
            }
        };
        let entry = table
            .entry((*section).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(keys) = entry {
            keys.insert((*key).to_owned(), value);
        }
    }
    Ok(ack)
}

// ---- the file's shape -------------------------------------------------------------

/// A string that is zeroed on drop and never printed.
struct SecretText(Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(SecretTextVisitor)
    }
}

/// Accepts strings; for anything else an error that does not repeat the value (serde's
/// default `invalid type: integer `…`` would).
struct SecretTextVisitor;

impl SecretTextVisitor {
    fn refuse<E: serde::de::Error>() -> Result<SecretText, E> {
        Err(E::custom("expected a quoted string (value not shown)"))
    }
}

impl serde::de::Visitor<'_> for SecretTextVisitor {
    type Value = SecretText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quoted string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretText, E> {
        Ok(SecretText(Zeroizing::new(v.to_owned())))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SecretText, E> {
        Ok(SecretText(Zeroizing::new(v)))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretText, E> {
        Self::refuse()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretText, E> {
        Self::refuse()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretText, E> {
        Self::refuse()
    }
    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<SecretText, E> {
        Self::refuse()
    }
    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<SecretText, E> {
        Self::refuse()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretText, E> {
        Self::refuse()
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<SecretText, E> {
        Self::refuse()
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    node: RawNode,
    #[serde(default)]
    chain: RawChain,
    #[serde(default)]
    attestation: RawAttestation,
    #[serde(default)]
    protocol: RawProtocol,
    #[serde(default)]
    storage: RawStorage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawNode {
    data_dir: PathBuf,
    p2p_listen: String,
    app_listen: String,
    operator_listen: String,
    operator_address: Option<String>,
    worker_threads: Option<usize>,
}

impl Default for RawNode {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("/var/lib/kms-node"),
            p2p_listen: "127.0.0.1:7100".into(),
            app_listen: "127.0.0.1:7200".into(),
            operator_listen: "127.0.0.1:7300".into(),
            operator_address: None,
            worker_threads: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawChain {
    rpc_url: Option<String>,
    contract: Option<String>,
    confirmation_depth: u64,
    #[serde(with = "humantime_serde")]
    block_time: Duration,
    #[serde(with = "humantime_serde")]
    max_head_age: Duration,
    #[serde(with = "humantime_serde")]
    poll_interval: Duration,
}

impl Default for RawChain {
    fn default() -> Self {
        Self {
            rpc_url: None,
            contract: None,
            confirmation_depth: 12,
            block_time: Duration::from_secs(12),
            max_head_age: Duration::from_secs(120),
            poll_interval: Duration::from_secs(4),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAttestation {
    attester: Option<Attester>,
    device_root: PathBuf,
    tdx_quote_vsock_port: u32,
    #[serde(with = "humantime_serde")]
    evidence_refresh_margin: Duration,
    collateral_dir: Option<PathBuf>,
    allow_simulated: Option<SecretText>,
    sim_key_file: Option<PathBuf>,
    sim_vendor: Option<u32>,
    sim_measurement: Option<String>,
}

impl Default for RawAttestation {
    fn default() -> Self {
        Self {
            attester: None,
            device_root: PathBuf::from("/"),
            // Intel's QGS default vsock port.
            tdx_quote_vsock_port: 4050,
            evidence_refresh_margin: Duration::from_secs(600),
            collateral_dir: None,
            allow_simulated: None,
            sim_key_file: None,
            sim_vendor: None,
            sim_measurement: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawProtocol {
    #[serde(with = "humantime_serde")]
    attempt_deadline: Duration,
    max_attempts: u32,
    #[serde(with = "humantime_serde")]
    previous_epoch_grace: Duration,
    #[serde(with = "humantime_serde")]
    round_deadline: Duration,
}

impl Default for RawProtocol {
    fn default() -> Self {
        Self {
            attempt_deadline: Duration::from_secs(90),
            max_attempts: 5,
            previous_epoch_grace: Duration::from_secs(600),
            round_deadline: Duration::from_secs(30),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStorage {
    sealing: Sealing,
    operator_key_file: Option<PathBuf>,
    operator_key: Option<SecretText>,
}

impl Default for RawStorage {
    fn default() -> Self {
        Self {
            sealing: Sealing::SevSnp,
            operator_key_file: None,
            operator_key: None,
        }
    }
}

fn listen(key: &'static str, value: String) -> Result<SocketAddr, Error> {
    value
        .parse()
        .map_err(|_| Error::ListenAddress { key, value })
}

fn positive(key: &'static str, d: Duration) -> Result<Duration, Error> {
    if d.is_zero() {
        return Err(Error::ZeroDuration { key });
    }
    Ok(d)
}

fn parse_operator_key(hex_key: &str) -> Result<OperatorKey, Error> {
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_key.trim(), key.as_mut_slice())
        .map_err(|_| Error::OperatorKeyFormat)?;
    Ok(OperatorKey(key))
}

/// The `attestation.sim_*` keys: all three with the simulated attester, none without.
fn simulated_enclave(
    simulated: bool,
    key_file: Option<PathBuf>,
    vendor: Option<u32>,
    measurement: Option<String>,
) -> Result<Option<SimulatedEnclave>, Error> {
    let set = [
        ("attestation.sim_key_file", key_file.is_some()),
        ("attestation.sim_vendor", vendor.is_some()),
        ("attestation.sim_measurement", measurement.is_some()),
    ];
    if let Some((key, _)) = set.iter().find(|(_, is_set)| *is_set != simulated) {
        return Err(Error::SimulatedKey {
            key,
            needed: simulated,
        });
    }
    let (Some(key_file), Some(vendor), Some(measurement)) = (key_file, vendor, measurement) else {
        return Ok(None);
    };
    let vendor = u8::try_from(vendor)
        .ok()
        .filter(|v| *v <= 127)
        .ok_or(Error::SimulatedVendor { value: vendor })?;
    let mut m = [0u8; 32];
    hex::decode_to_slice(measurement.trim(), &mut m).map_err(|_| Error::SimulatedMeasurement)?;
    Ok(Some(SimulatedEnclave {
        key_file,
        vendor,
        measurement: m,
    }))
}

impl RawConfig {
    fn validate(self, ack_from_env: Option<Zeroizing<String>>) -> Result<Config, Error> {
        let RawConfig {
            node,
            chain,
            attestation,
            protocol,
            storage,
        } = self;

        let operator_address = node.operator_address.ok_or(Error::Missing {
            key: "node.operator_address",
        })?;
        if node.worker_threads == Some(0) {
            return Err(Error::ZeroCount {
                key: "node.worker_threads",
            });
        }
        let node = NodeConfig {
            data_dir: node.data_dir,
            p2p_listen: listen("node.p2p_listen", node.p2p_listen)?,
            app_listen: listen("node.app_listen", node.app_listen)?,
            operator_listen: listen("node.operator_listen", node.operator_listen)?,
            operator_address: ContractAddress::parse(&operator_address)
                .map_err(|_| Error::OperatorAddress {
                    value: operator_address.clone(),
                })?
                .0,
            worker_threads: node.worker_threads,
        };

        let rpc_url = chain.rpc_url.ok_or(Error::Missing {
            key: "chain.rpc_url",
        })?;
        if !["http://", "https://"]
            .iter()
            .any(|scheme| rpc_url.starts_with(scheme) && rpc_url.len() > scheme.len())
        {
            return Err(Error::RpcUrl { value: rpc_url });
        }
        let contract = ContractAddress::parse(&chain.contract.ok_or(Error::Missing {
            key: "chain.contract",
        })?)?;
        if chain.confirmation_depth == 0 {
            return Err(Error::ConfirmationDepth);
        }
        let block_time = positive("chain.block_time", chain.block_time)?;
        let poll_interval = positive("chain.poll_interval", chain.poll_interval)?;
        if chain.max_head_age <= block_time {
            return Err(Error::HeadAge {
                max_head_age: chain.max_head_age,
                block_time,
            });
        }
        let chain = ChainConfig {
            rpc_url,
            contract,
            confirmation_depth: chain.confirmation_depth,
            block_time,
            max_head_age: chain.max_head_age,
            poll_interval,
        };

        let attester = attestation.attester.ok_or(Error::Missing {
            key: "attestation.attester",
        })?;
        let ack = attestation.allow_simulated.map(|s| s.0).or(ack_from_env);
        if let Some(ack) = &ack {
            if ack.as_str() != SIMULATED_ACK {
                return Err(Error::SimulatedAckValue);
            }
        }
        if attester == Attester::Simulated && ack.is_none() {
            return Err(Error::SimulatedNotAcknowledged);
        }
        let simulated = simulated_enclave(
            attester == Attester::Simulated,
            attestation.sim_key_file,
            attestation.sim_vendor,
            attestation.sim_measurement,
        )?;
        let attestation = AttestationConfig {
            simulated,
            attester,
            device_root: attestation.device_root,
            tdx_quote_vsock_port: attestation.tdx_quote_vsock_port,
            collateral_dir: attestation.collateral_dir,
            evidence_refresh_margin: positive(
                "attestation.evidence_refresh_margin",
                attestation.evidence_refresh_margin,
            )?,
        };

        if protocol.max_attempts == 0 {
            return Err(Error::ZeroCount {
                key: "protocol.max_attempts",
            });
        }
        let attempt_deadline = positive("protocol.attempt_deadline", protocol.attempt_deadline)?;
        let round_deadline = positive("protocol.round_deadline", protocol.round_deadline)?;
        if round_deadline > attempt_deadline {
            return Err(Error::RoundDeadline {
                round: round_deadline,
                attempt: attempt_deadline,
            });
        }
        let protocol = ProtocolConfig {
            attempt_deadline,
            round_deadline,
            max_attempts: protocol.max_attempts,
            previous_epoch_grace: positive(
                "protocol.previous_epoch_grace",
                protocol.previous_epoch_grace,
            )?,
        };

        let operator_key = match (
            storage.sealing,
            storage.operator_key_file,
            storage.operator_key,
        ) {
            (Sealing::SevSnp, None, None) => {
                if !matches!(attester, Attester::SevGuest | Attester::ConfigfsTsm) {
                    return Err(Error::PlatformSealing { attester });
                }
                None
            }
            (Sealing::OperatorKey, Some(file), None) => Some(OperatorKeySource::File(file)),
            (Sealing::OperatorKey, None, Some(key)) => {
                Some(OperatorKeySource::Inline(parse_operator_key(&key.0)?))
            }
            _ => return Err(Error::OperatorKeySource),
        };
        let storage = StorageConfig {
            sealing: storage.sealing,
            operator_key,
        };

        Ok(Config {
            node,
            chain,
            attestation,
            protocol,
            storage,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        non_snake_case,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )]

    use super::*;

    const EXAMPLE: &str = include_str!("../examples/node.toml");
    const KEY_HEX: &str = "8f3a5b1c2d4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

    const MINIMAL: &str = r#"
[node]
operator_address = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"

[chain]
rpc_url = "http://127.0.0.1:8545"
contract = "0x5fbdb2315678afecb367f032d93f642f64180aa3"

[attestation]
attester = "sev-guest"
"#;

    fn parse(text: &str) -> Result<Config, Error> {
        parse_env(text, &[])
    }

    fn parse_env(text: &str, env: &[(&str, &str)]) -> Result<Config, Error> {
        Config::parse_with_env(
            text,
            Path::new("/etc/kms-node/node.toml"),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    /// `MINIMAL` with `line` appended to `[section]` (a new section header at the end
    /// is fine for TOML as long as the section is not already there).
    fn with(section: &str, line: &str) -> String {
        let mut text = MINIMAL.to_string();
        let header = format!("[{section}]\n");
        match text.find(&header) {
            Some(at) => text.insert_str(at + header.len(), &format!("{line}\n")),
            None => text.push_str(&format!("\n{header}{line}\n")),
        }
        text
    }

    #[test]
    fn example__should_parse_with_every_key_set() {
        let config = parse(EXAMPLE).unwrap();
        assert_eq!(config.node.data_dir, PathBuf::from("/var/lib/kms-node"));
        assert_eq!(config.node.p2p_listen, "0.0.0.0:7100".parse().unwrap());
        assert_eq!(config.node.app_listen, "0.0.0.0:7200".parse().unwrap());
        assert_eq!(config.node.worker_threads, Some(4));
        assert_eq!(
            config.node.operator_listen,
            "127.0.0.1:7300".parse().unwrap()
        );
        assert_eq!(config.chain.rpc_url, "https://rpc.example.org");
        assert_eq!(
            config.chain.contract.to_string(),
            "0x5fbdb2315678afecb367f032d93f642f64180aa3"
        );
        assert_eq!(config.chain.confirmation_depth, 6);
        assert_eq!(config.chain.block_time, Duration::from_secs(2));
        assert_eq!(config.chain.max_head_age, Duration::from_secs(60));
        assert_eq!(config.chain.poll_interval, Duration::from_secs(2));
        assert_eq!(config.attestation.attester, Attester::SevGuest);
        assert_eq!(config.attestation.device_root, PathBuf::from("/"));
        assert_eq!(config.attestation.tdx_quote_vsock_port, 4050);
        assert_eq!(
            config.attestation.evidence_refresh_margin,
            Duration::from_secs(600)
        );
        assert_eq!(config.protocol.attempt_deadline, Duration::from_secs(90));
        assert_eq!(config.protocol.max_attempts, 5);
        assert_eq!(
            config.protocol.previous_epoch_grace,
            Duration::from_secs(1800)
        );
        assert_eq!(config.storage.sealing, Sealing::OperatorKey);
        assert!(matches!(
            &config.storage.operator_key,
            Some(OperatorKeySource::File(p)) if p == Path::new("/etc/kms-node/storage.key")
        ));
        assert!(!config.simulated());
    }

    #[test]
    fn example__should_set_every_key_the_node_knows() {
        // So the example (and the doc that shows it) stays complete when a key is added.
        let table: toml::Table = toml::from_str(EXAMPLE).unwrap();
        for (section, key, _) in ENV_KEYS {
            // The commented-out alternatives are documented, not set.
            if [
                "allow_simulated",
                "collateral_dir",
                "operator_key",
                "sim_key_file",
                "sim_vendor",
                "sim_measurement",
            ]
            .contains(key)
            {
                assert!(EXAMPLE.contains(&format!("# {key} = ")), "{section}.{key}");
                continue;
            }
            assert!(
                table[*section].as_table().unwrap().contains_key(*key),
                "{section}.{key} missing from examples/node.toml"
            );
        }
    }

    #[test]
    fn defaults__should_listen_on_loopback_only() {
        let config = parse(MINIMAL).unwrap();
        for addr in [
            config.node.p2p_listen,
            config.node.app_listen,
            config.node.operator_listen,
        ] {
            assert!(addr.ip().is_loopback(), "{addr}");
        }
        assert_eq!(config.chain.confirmation_depth, 12);
        assert!(config.chain.max_head_age > config.chain.block_time);
        assert_eq!(config.storage.sealing, Sealing::SevSnp);
    }

    #[test]
    fn unknown_key__should_be_refused_naming_key_and_file() {
        let err = parse(&with("chain", "rpc_ur = \"x\"")).unwrap_err();
        match err {
            Error::UnknownKey { path, key } => {
                assert_eq!(key, "chain.rpc_ur");
                assert_eq!(path, Path::new("/etc/kms-node/node.toml"));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&with("chain", "rpc_ur = \"x\""))
            .unwrap_err()
            .to_string()
            .contains("/etc/kms-node/node.toml"));
    }

    #[test]
    fn unknown_section__should_be_refused() {
        let err = parse(&format!("{MINIMAL}\n[chian]\nrpc_url = \"x\"\n")).unwrap_err();
        assert!(matches!(err, Error::UnknownKey { key, .. } if key == "chian"));
    }

    #[test]
    fn wrong_type__should_be_a_parse_error() {
        let err = parse(&with("protocol", "max_attempts = \"five\"")).unwrap_err();
        assert!(matches!(err, Error::Parse { .. }), "{err:?}");
        let err = parse(&with("protocol", "attempt_deadline = \"ninety\"")).unwrap_err();
        assert!(matches!(err, Error::Parse { .. }), "{err:?}");
    }

    #[test]
    fn parse_error__should_name_the_line_but_not_repeat_a_secret() {
        // Unquoted: TOML reads a (too large) number; the source line must not be echoed.
        let text = with(
            "storage",
            &format!("sealing = \"operator-key\"\noperator_key = 0x{KEY_HEX}"),
        );
        let err = parse(&text).unwrap_err();
        let line = text
            .lines()
            .position(|l| l.starts_with("operator_key"))
            .unwrap()
            + 1;
        assert!(
            matches!(&err, Error::Parse { line: Some(l), .. } if *l == line),
            "{err:?}"
        );
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains(&KEY_HEX[..12]), "{shown}");
        }
        // A value of the wrong type is not repeated either.
        let text = with(
            "storage",
            "sealing = \"operator-key\"\noperator_key = 918273645546372",
        );
        let err = parse(&text).unwrap_err();
        assert!(matches!(err, Error::Parse { .. }), "{err:?}");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("918273645546372"), "{shown}");
        }
    }

    #[test]
    fn durations__should_accept_humantime() {
        let config = parse(&with("protocol", "attempt_deadline = \"1m 30s\"")).unwrap();
        assert_eq!(config.protocol.attempt_deadline, Duration::from_secs(90));
    }

    #[test]
    fn listen_address__should_be_refused_when_not_ip_port() {
        let err = parse(&with("node", "app_listen = \"localhost\"")).unwrap_err();
        assert!(
            matches!(&err, Error::ListenAddress { key: "node.app_listen", value } if value == "localhost"),
            "{err:?}"
        );
    }

    #[test]
    fn missing_required_keys__should_be_named() {
        let err = parse("[attestation]\nattester = \"nitro\"\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Missing {
                    key: "node.operator_address"
                }
            ),
            "{err:?}"
        );
        let err = parse(
            "[node]\noperator_address = \"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\"\n[attestation]\nattester = \"nitro\"\n",
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Missing {
                    key: "chain.rpc_url"
                }
            ),
            "{err:?}"
        );
        let err = parse(&MINIMAL.replace("0x70997970", "0x7099797")).unwrap_err();
        assert!(matches!(err, Error::OperatorAddress { .. }), "{err:?}");
        let err = parse(&MINIMAL.replace("attester = \"sev-guest\"", "")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Missing {
                    key: "attestation.attester"
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn rpc_url_and_contract__should_be_checked() {
        let err = parse(&MINIMAL.replace("http://127.0.0.1:8545", "127.0.0.1:8545")).unwrap_err();
        assert!(matches!(err, Error::RpcUrl { .. }), "{err:?}");
        // The transport speaks http(s) only: a websocket URL would pass the config and
        // then fail in the chain watcher.
        let err =
            parse(&MINIMAL.replace("http://127.0.0.1:8545", "ws://127.0.0.1:8545")).unwrap_err();
        assert!(matches!(err, Error::RpcUrl { .. }), "{err:?}");
        let err = parse(&MINIMAL.replace("0x5fbdb", "0x5fbd")).unwrap_err();
        assert!(matches!(err, Error::ContractAddress { .. }), "{err:?}");
        let err = parse(&MINIMAL.replace("0x5fbdb", "5fbdb")).unwrap_err();
        assert!(matches!(err, Error::ContractAddress { .. }), "{err:?}");
    }

    #[test]
    fn confirmation_depth__should_be_at_least_one() {
        let err = parse(&with("chain", "confirmation_depth = 0")).unwrap_err();
        assert!(matches!(err, Error::ConfirmationDepth), "{err:?}");
        assert!(parse(&with("chain", "confirmation_depth = 1")).is_ok());
    }

    #[test]
    fn max_head_age__should_exceed_block_time() {
        let text = with("chain", "block_time = \"12s\"\nmax_head_age = \"12s\"");
        let err = parse(&text).unwrap_err();
        assert!(
            matches!(err, Error::HeadAge { max_head_age, block_time }
                if max_head_age == block_time && block_time == Duration::from_secs(12)),
            "{err:?}"
        );
        assert!(parse(&with(
            "chain",
            "block_time = \"12s\"\nmax_head_age = \"13s\""
        ))
        .is_ok());
    }

    #[test]
    fn zero_durations_and_counts__should_be_refused() {
        for (section, key) in [
            ("chain", "block_time"),
            ("chain", "poll_interval"),
            ("attestation", "evidence_refresh_margin"),
            ("protocol", "attempt_deadline"),
            ("protocol", "previous_epoch_grace"),
        ] {
            let err = parse(&with(section, &format!("{key} = \"0s\""))).unwrap_err();
            let dotted = format!("{section}.{key}");
            assert!(
                matches!(err, Error::ZeroDuration { key } if key == dotted),
                "{dotted}: {err:?}"
            );
        }
        let err = parse(&with("protocol", "max_attempts = 0")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ZeroCount {
                    key: "protocol.max_attempts"
                }
            ),
            "{err:?}"
        );
        let err = parse(&with("node", "worker_threads = 0")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ZeroCount {
                    key: "node.worker_threads"
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn env__should_override_the_file() {
        let text = with("chain", "confirmation_depth = 3");
        let config = parse_env(
            &text,
            &[
                ("KMS_NODE_CHAIN_CONFIRMATION_DEPTH", "9"),
                ("KMS_NODE_CHAIN_RPC_URL", "https://other.example"),
                ("KMS_NODE_NODE_APP_LISTEN", "10.0.0.5:7200"),
                ("KMS_NODE_PROTOCOL_ATTEMPT_DEADLINE", "2m"),
                ("KMS_NODE_NODE_WORKER_THREADS", "1"),
                ("UNRELATED", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(config.chain.confirmation_depth, 9);
        assert_eq!(config.chain.rpc_url, "https://other.example");
        assert_eq!(config.node.app_listen, "10.0.0.5:7200".parse().unwrap());
        assert_eq!(config.protocol.attempt_deadline, Duration::from_secs(120));
        assert_eq!(config.node.worker_threads, Some(1));
    }

    #[test]
    fn env__should_be_validated_like_the_file() {
        let err = parse_env(MINIMAL, &[("KMS_NODE_CHAIN_CONFIRMATION_DEPTH", "0")]).unwrap_err();
        assert!(matches!(err, Error::ConfirmationDepth), "{err:?}");
        let err = parse_env(MINIMAL, &[("KMS_NODE_CHAIN_CONFIRMATION_DEPTH", "many")]).unwrap_err();
        assert!(
            matches!(&err, Error::EnvValue { var, .. } if var == "KMS_NODE_CHAIN_CONFIRMATION_DEPTH"),
            "{err:?}"
        );
        let err = parse_env(MINIMAL, &[("KMS_NODE_CHAIN_RPCURL", "http://x")]).unwrap_err();
        assert!(
            matches!(&err, Error::UnknownEnv { var } if var == "KMS_NODE_CHAIN_RPCURL"),
            "{err:?}"
        );
    }

    #[test]
    fn env_keys__should_each_name_a_key_of_the_file() {
        // Every override applies to a real field: setting it to a bad value of the right
        // kind must change the outcome or be accepted, never be ignored as unknown.
        for (section, key, _) in ENV_KEYS {
            let var = env_var_name(section, key);
            assert!(var.starts_with(ENV_PREFIX));
            let mut table = toml::Table::new();
            let value = match *key {
                "tdx_quote_vsock_port"
                | "confirmation_depth"
                | "max_attempts"
                | "sim_vendor"
                | "worker_threads" => "7",
                _ => "x",
            };
            apply_env(&mut table, [(var.clone(), value.to_string())]).unwrap();
            check_known_keys(&table, Path::new("env")).unwrap();
            assert!(
                table[*section].as_table().unwrap().contains_key(*key),
                "{var}"
            );
        }
    }

    #[test]
    fn debug__should_not_contain_the_operator_key() {
        let text = MINIMAL.replace(
            "[attestation]",
            &format!(
                "[storage]\nsealing = \"operator-key\"\noperator_key = \"{KEY_HEX}\"\n\n[attestation]"
            ),
        );
        let config = parse(&text).unwrap();
        let Some(OperatorKeySource::Inline(key)) = &config.storage.operator_key else {
            panic!("inline key expected");
        };
        assert_eq!(hex::encode(key.expose()), KEY_HEX);
        let debug = format!("{config:?}");
        assert!(!debug.contains(KEY_HEX), "{debug}");
        assert!(!debug.contains(&KEY_HEX[..16]), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");

        // Same from the environment.
        let config = parse_env(
            &with("storage", "sealing = \"operator-key\""),
            &[("KMS_NODE_STORAGE_OPERATOR_KEY", KEY_HEX)],
        )
        .unwrap();
        assert!(!format!("{config:?}").contains(&KEY_HEX[..16]));
    }

    #[test]
    fn operator_key__should_be_exactly_one_well_formed_source() {
        let base = with("storage", "sealing = \"operator-key\"");
        let err = parse(&base).unwrap_err();
        assert!(matches!(err, Error::OperatorKeySource), "{err:?}");
        let both = with(
            "storage",
            &format!("sealing = \"operator-key\"\noperator_key_file = \"/k\"\noperator_key = \"{KEY_HEX}\""),
        );
        assert!(matches!(
            parse(&both).unwrap_err(),
            Error::OperatorKeySource
        ));
        let short = with(
            "storage",
            "sealing = \"operator-key\"\noperator_key = \"abcd\"",
        );
        let err = parse(&short).unwrap_err();
        assert!(matches!(err, Error::OperatorKeyFormat), "{err:?}");
        assert!(!err.to_string().contains("abcd"));
        let stray = with(
            "storage",
            "sealing = \"sev-snp\"\noperator_key_file = \"/k\"",
        );
        assert!(matches!(
            parse(&stray).unwrap_err(),
            Error::OperatorKeySource
        ));
    }

    #[test]
    fn platform_sealing__should_need_a_platform_with_a_sealing_key() {
        for (attester, kind) in [
            ("nitro", Attester::Nitro),
            ("tdx-guest", Attester::TdxGuest),
        ] {
            let text = MINIMAL.replace("sev-guest", attester);
            let err = parse(&text).unwrap_err();
            assert!(
                matches!(err, Error::PlatformSealing { attester } if attester == kind),
                "{err:?}"
            );
            assert!(err.to_string().contains("operator-key"), "{err}");
        }
        // configfs-tsm may run on SEV-SNP: the device is checked at start-up.
        let config = parse(&MINIMAL.replace("sev-guest", "configfs-tsm")).unwrap();
        assert_eq!(config.storage.sealing, Sealing::SevSnp);
        let config = parse(&with("storage", "sealing = \"sev-snp\"")).unwrap();
        assert_eq!(config.storage.sealing, Sealing::SevSnp);
        // The old name is not a value any more.
        assert!(parse(&with("storage", "sealing = \"platform\"")).is_err());
    }

    fn simulated_config() -> String {
        MINIMAL.replace(
            "attester = \"sev-guest\"",
            &format!("attester = \"simulated\"\n{SIM_KEYS}\n[storage]\nsealing = \"operator-key\"\noperator_key_file = \"/k\""),
        )
    }

    const SIM_KEYS: &str = "sim_key_file = \"/devnet/keys/sim-attester.key\"\nsim_vendor = 2\nsim_measurement = \"0707070707070707070707070707070707070707070707070707070707070707\"\n";

    #[test]
    fn simulated_enclave__should_need_every_sim_key_with_the_simulator_and_none_without() {
        let config =
            parse_env(&simulated_config(), &[(ENV_ALLOW_SIMULATED, SIMULATED_ACK)]).unwrap();
        let sim = config.attestation.simulated.unwrap();
        assert_eq!((sim.vendor, sim.measurement), (2, [7; 32]));
        assert_eq!(sim.key_file, PathBuf::from("/devnet/keys/sim-attester.key"));
        let without = simulated_config().replace("sim_vendor = 2\n", "");
        let err = parse_env(&without, &[(ENV_ALLOW_SIMULATED, SIMULATED_ACK)]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::SimulatedKey {
                    key: "attestation.sim_vendor",
                    needed: true
                }
            ),
            "{err:?}"
        );
        let err = parse(&with("attestation", "sim_vendor = 2")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::SimulatedKey {
                    key: "attestation.sim_vendor",
                    needed: false
                }
            ),
            "{err:?}"
        );
        let high = simulated_config().replace("sim_vendor = 2", "sim_vendor = 128");
        let err = parse_env(&high, &[(ENV_ALLOW_SIMULATED, SIMULATED_ACK)]).unwrap_err();
        assert!(
            matches!(err, Error::SimulatedVendor { value: 128 }),
            "{err:?}"
        );
        let short = simulated_config().replace("\"07070707", "\"070707");
        let err = parse_env(&short, &[(ENV_ALLOW_SIMULATED, SIMULATED_ACK)]).unwrap_err();
        assert!(matches!(err, Error::SimulatedMeasurement), "{err:?}");
    }

    #[test]
    fn round_deadline__should_not_exceed_the_attempt_deadline() {
        let err = parse(&with(
            "protocol",
            "round_deadline = \"2m\"\nattempt_deadline = \"1m\"",
        ))
        .unwrap_err();
        assert!(matches!(err, Error::RoundDeadline { .. }), "{err:?}");
        assert_eq!(
            parse(MINIMAL).unwrap().protocol.round_deadline,
            Duration::from_secs(30)
        );
    }

    #[test]
    fn simulated__should_be_refused_without_acknowledgement() {
        let err = parse(&simulated_config()).unwrap_err();
        assert!(matches!(err, Error::SimulatedNotAcknowledged), "{err:?}");
        // The error tells how to enable it.
        let msg = err.to_string();
        assert!(
            msg.contains(ENV_ALLOW_SIMULATED) && msg.contains(SIMULATED_ACK),
            "{msg}"
        );
    }

    #[test]
    fn simulated__should_be_enabled_by_file_and_env_acknowledgement() {
        let config =
            parse_env(&simulated_config(), &[(ENV_ALLOW_SIMULATED, SIMULATED_ACK)]).unwrap();
        assert!(config.simulated());
    }

    #[test]
    fn simulated__should_be_enabled_by_file_acknowledgement() {
        let text = simulated_config().replace(
            "attester = \"simulated\"",
            &format!("attester = \"simulated\"\nallow_simulated = \"{SIMULATED_ACK}\""),
        );
        assert!(parse(&text).unwrap().simulated());
    }

    #[test]
    fn simulated__should_refuse_an_approximate_acknowledgement() {
        for ack in [
            "yes",
            "true",
            "i-understand-this-is-not-secure ",
            "I-UNDERSTAND-THIS-IS-NOT-SECURE",
        ] {
            let err = parse_env(&simulated_config(), &[(ENV_ALLOW_SIMULATED, ack)]).unwrap_err();
            assert!(matches!(err, Error::SimulatedAckValue), "{ack:?}: {err:?}");
        }
    }

    #[test]
    fn simulated__should_not_be_selectable_from_the_environment() {
        let text = MINIMAL.replace(
            "[attestation]",
            "[storage]\nsealing = \"operator-key\"\noperator_key_file = \"/k\"\n\n[attestation]",
        );
        let err = parse_env(
            &text,
            &[
                ("KMS_NODE_ATTESTATION_ATTESTER", "simulated"),
                (ENV_ALLOW_SIMULATED, SIMULATED_ACK),
            ],
        )
        .unwrap_err();
        assert!(matches!(err, Error::SimulatedFromEnv), "{err:?}");
    }

    #[test]
    fn acknowledgement__should_not_enable_simulated_by_itself() {
        let config = parse_env(MINIMAL, &[(ENV_ALLOW_SIMULATED, SIMULATED_ACK)]).unwrap();
        assert!(!config.simulated());
    }

    #[test]
    fn load__should_name_the_missing_file() {
        let err = Config::load_with_env(Path::new("/nonexistent/node.toml"), []).unwrap_err();
        assert!(
            matches!(&err, Error::Read { path, .. } if path == Path::new("/nonexistent/node.toml")),
            "{err:?}"
        );
    }

    #[test]
    fn load__should_read_the_file_with_the_process_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        // The test process sets no KMS_NODE_* variable, so the file's values stand.
        assert!(std::env::vars_os().all(|(k, _)| !k.to_string_lossy().starts_with(ENV_PREFIX)));
        let config = Config::load(&path).unwrap();
        assert_eq!(config.chain.confirmation_depth, 6);
    }

    #[test]
    fn load__should_read_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        let config = Config::load_with_env(
            &path,
            [("KMS_NODE_PROTOCOL_MAX_ATTEMPTS".into(), "2".into())],
        )
        .unwrap();
        assert_eq!(config.protocol.max_attempts, 2);
    }
}
