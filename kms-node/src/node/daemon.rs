//! The process: loads the keys, attests, writes the registration, starts the chain
//! watcher, the p2p layer, the operator endpoint and the epoch manager, and stops them
//! all on SIGINT or SIGTERM.
//!
//! Files it writes in the data directory (docs/OPERATOR.md "Files"):
//! - `identity.sealed`: the node's keys ([`super::identity`]);
//! - `registration.json`: what `kms node register --registration FILE` takes (the
//!   signer's signature over chain id, contract, operator, keys, platform and
//!   evidence), rewritten at every start with fresh evidence;
//! - `endpoints.json`: the addresses it listens on, once bound, and the `endpoint`
//!   string to register;
//! - `epoch-<n>.json` and the sealed shares under `pending/` and `epochs/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::Address;
use attestation_gate::{Purpose, ReportData, UnixTime};
use governance_contract::registration::RegistrationRequest;
use kms_api::EvidencePayload;
use serde::Serialize;
use tokio::sync::watch;

use super::admit::Admission;
use super::attest::NodeAttester;
use super::confirm::{ConfirmEpoch, RpcConfirm};
use super::dkg_run::DkgContext;
use super::epoch::{format_endpoint, AllowPeers, EpochManager, Member};
use super::identity::NodeKeys;
use super::keyring::KeyRing;
use super::router::{NodeId, PeerLink, Router};
use super::sign_run::P2pSigner;
use crate::app::{AppConfig, AppService, AppServiceParts};
use crate::chain::rpc::RpcGovernance;
use crate::chain::watcher::{ChainState, ChainWatcher};
use crate::config::Config;
use crate::net::{self, AllowedPeer, Hello, Net, NetConfig};
use crate::ops::metrics::Metrics;
use crate::ops::status::{PeerStatus, Status};
use crate::ops::OpsState;
use crate::protocol::driver::Deadlines;
use crate::storage::{sealer_from_config, FileShareStore};

/// How long start-up waits for the chain to answer its first call.
const CHAIN_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Storage or sealing.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    /// The node's keys.
    #[error(transparent)]
    Identity(#[from] super::identity::Error),
    /// Attestation.
    #[error(transparent)]
    Attest(#[from] super::attest::Error),
    /// The chain.
    #[error("chain: {0}")]
    Chain(String),
    /// The p2p layer.
    #[error("p2p: {0}")]
    Net(String),
    /// A listener or file.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `endpoints.json`.
#[derive(Debug, Serialize)]
struct Endpoints {
    node_id: String,
    signer: String,
    p2p: SocketAddr,
    app: SocketAddr,
    operator: String,
    endpoint: String,
}

fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Io {
        what: format!("encoding {name}"),
        source: std::io::Error::other(e),
    })?;
    crate::storage::files::write_atomic(dir, name, &format!(".{name}.tmp"), &bytes)?;
    Ok(())
}

/// The p2p layer as the router's link and the manager's allow list.
struct NetLink(Net);

impl PeerLink for NetLink {
    fn send_to(&self, to: &NodeId, payload: Vec<u8>) -> Result<(), String> {
        self.0.send(*to, payload).map_err(|e| e.to_string())
    }
}

impl AllowPeers for NetLink {
    fn allow(&self, members: Vec<Member>) {
        self.0.set_allowed(
            members
                .into_iter()
                .map(|m| AllowedPeer {
                    node_id: m.node_id,
                    p2p_key: m.p2p_key,
                    addr: m.addr,
                })
                .collect(),
        );
    }
}

/// The admission check as the p2p layer calls it.
struct Admit {
    admission: Admission,
    metrics: Arc<Metrics>,
}

impl net::AdmitPeer for Admit {
    fn admit(&self, node_id: &NodeId, hello: &Hello) -> Result<u64, String> {
        self.admission
            .check(node_id, &hello.evidence, hello.issued_at)
            .map_err(|r| {
                self.metrics.refusal(r.reason);
                tracing::warn!(peer = %hex::encode(node_id), reason = r.reason, detail = %r.detail, "peer refused");
                r.to_string()
            })
    }
}

/// Runs the node until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), Error> {
    let simulated = config.simulated();
    if simulated {
        tracing::warn!("SIMULATED ENCLAVE: NO SECURITY. This node signs its own evidence with a devnet key; never use it for real keys.");
    }
    let data_dir = config.node.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(io(format!("creating {}", data_dir.display())))?;
    let (keys, created) = NodeKeys::load_or_create(
        &data_dir,
        &sealer_from_config(&config)?,
        &mut rand_core::OsRng,
    )?;
    let keys = Arc::new(keys);
    let node_id = keys.node_id();
    tracing::info!(node_id = %hex::encode(node_id), signer = %Address::from(keys.signer_address()), created, "node keys ready");
    let attester = NodeAttester::from_config(&config.attestation)?;

    let confirm = RpcConfirm::connect(
        &config.chain.rpc_url,
        config.chain.contract,
        keys.signer().clone(),
    )
    .map_err(Error::Chain)?;
    let chain_id = tokio::time::timeout(CHAIN_STARTUP_TIMEOUT, async {
        loop {
            match confirm.chain_id().await {
                Ok(id) => return id,
                Err(e) => {
                    tracing::warn!(error = %e, rpc = %config.chain.rpc_url, "chain not reachable yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
    .await
    .map_err(|_| {
        Error::Chain(format!(
            "{} did not answer within {}s",
            config.chain.rpc_url,
            CHAIN_STARTUP_TIMEOUT.as_secs()
        ))
    })?;

    let issued_at = unix_now();
    let evidence = attester.attest(&keys, UnixTime(issued_at))?;
    let registration = RegistrationRequest {
        chain_id,
        contract: Address::from(config.chain.contract.0),
        operator: Address::from(config.node.operator_address),
        p2p_key: keys.p2p_public().to_vec(),
        noise_key: keys.noise_public(),
        platform: attester.platform(),
        evidence: evidence.evidence.clone(),
        evidence_issued_at: issued_at,
    }
    .sign(keys.signer())
    .map_err(|e| Error::Chain(format!("signing the registration: {e}")))?;
    crate::storage::files::write_atomic(
        &data_dir,
        "registration.json",
        ".registration.json.tmp",
        registration.to_json().as_bytes(),
    )?;

    let metrics = Arc::new(Metrics::new());
    metrics.set_simulated(simulated);
    let (status_tx, status_rx) = watch::channel(Status::new(hex::encode(node_id), simulated));

    let chain = ChainWatcher::start(&config.chain).map_err(|e| Error::Chain(e.to_string()))?;
    let admission = Admission::new(chain.subscribe(), Arc::new(attester.verifiers().clone()));
    let (net, mut inbox, p2p_addr) = net::spawn(
        NetConfig {
            listen: config.node.p2p_listen,
            keypair: keys.libp2p_keypair()?,
            max_payload: 4 << 20,
            queue_per_peer: 4096,
            dial_interval: Duration::from_secs(2),
        },
        Arc::new(Admit {
            admission,
            metrics: Arc::clone(&metrics),
        }),
    )
    .await
    .map_err(|e| Error::Net(e.to_string()))?;
    net.set_hello(Hello {
        evidence: evidence.encode()?,
        issued_at,
    });

    let ops_listener = tokio::net::TcpListener::bind(config.node.operator_listen)
        .await
        .map_err(io(format!(
            "binding node.operator_listen {}",
            config.node.operator_listen
        )))?;
    let ops_addr = ops_listener
        .local_addr()
        .map_err(io("reading the operator address"))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let ops_state = OpsState {
        status: status_rx,
        metrics: Arc::clone(&metrics),
    };
    let mut ops_stop = stop_rx.clone();
    let ops = tokio::spawn(crate::ops::serve(ops_listener, ops_state, async move {
        let _ = ops_stop.wait_for(|s| *s).await;
    }));

    let router = Router::new();
    let link = Arc::new(NetLink(net.clone()));
    let sign_deadlines = Deadlines {
        round: config.protocol.round_deadline,
        // One attempt per request, within the app service's own bound.
        attempt: app_config(&config).sign_timeout,
    };
    let signer = P2pSigner::new(
        node_id,
        router.clone(),
        link.clone(),
        Arc::new(keys.dkg_signer().clone()),
        chain.subscribe(),
        sign_deadlines,
    );
    let app = start_app(
        &config,
        &keys,
        &attester,
        chain.subscribe(),
        Arc::clone(&metrics),
        stop_rx.clone(),
        signer,
    )
    .await?;
    let (keyring, app_evidence_tx, app_addr) = (app.keyring, app.evidence, app.addr);
    write_json(
        &data_dir,
        "endpoints.json",
        &Endpoints {
            node_id: hex::encode(node_id),
            signer: format!("{}", Address::from(keys.signer_address())),
            p2p: p2p_addr,
            app: app_addr,
            operator: format!("http://{ops_addr}"),
            endpoint: format_endpoint(p2p_addr, app_addr),
        },
    )?;
    tracing::info!(p2p = %p2p_addr, app = %app_addr, operator = %ops_addr, "listening");

    let pump_router = router.clone();
    let pump = tokio::spawn(async move {
        while let Some((from, bytes)) = inbox.recv().await {
            pump_router.deliver(from, &bytes);
        }
    });
    let attester = Arc::new(attester);
    let app_refresh = tokio::spawn(refresh_app_evidence(
        Arc::clone(&keys),
        Arc::clone(&attester),
        app_evidence_tx,
        chain.subscribe(),
    ));
    let refresh = tokio::spawn(refresh_evidence(
        Arc::clone(&keys),
        attester,
        net.clone(),
        chain.subscribe(),
        config.attestation.evidence_refresh_margin,
        issued_at,
    ));
    let peers = tokio::spawn(publish_peers(
        net.clone(),
        status_tx.clone(),
        Arc::clone(&metrics),
    ));

    let store = FileShareStore::open(&data_dir, sealer_from_config(&config)?)?;
    let manager = EpochManager {
        ctx: DkgContext {
            me: node_id,
            signer: Arc::new(keys.dkg_signer().clone()),
            router,
            link: link.clone(),
            policy: DkgContext::policy(&config.protocol),
        },
        store: Arc::new(Mutex::new(store)),
        confirm: Arc::new(confirm),
        data_dir: PathBuf::from(&data_dir),
        status: status_tx,
        metrics,
        peers: link,
        max_head_age: config.chain.max_head_age,
        grace: config.protocol.previous_epoch_grace,
        keyring,
    };
    let result = tokio::select! {
        () = manager.run(chain.subscribe()) => Err(Error::Chain("the chain watcher stopped".into())),
        r = shutdown_signal() => r,
    };
    tracing::info!("stopping");
    let _ = stop_tx.send(true);
    net.shutdown();
    pump.abort();
    refresh.abort();
    app_refresh.abort();
    app.task.abort();
    peers.abort();
    let _ = tokio::time::timeout(Duration::from_secs(5), ops).await;
    drop(chain);
    result
}

/// The running app service.
struct App {
    /// The epochs it serves, filled by the epoch manager.
    keyring: KeyRing,
    /// Its `NodeHello` evidence, set by [`refresh_app_evidence`].
    evidence: watch::Sender<Option<EvidencePayload>>,
    /// The bound `node.app_listen`.
    addr: SocketAddr,
    /// The listener task.
    task: tokio::task::JoinHandle<()>,
}

/// The app service's settings: the defaults, with the node's stale-chain bound.
fn app_config(config: &Config) -> AppConfig {
    AppConfig {
        max_head_age: config.chain.max_head_age,
        #[cfg(feature = "fault-injection")]
        garbage_shares: garbage_shares(&config.node.data_dir),
        ..AppConfig::default()
    }
}

/// Test-only (feature `fault-injection`): whether `<data_dir>/FAULT_GARBAGE_SHARES`
/// exists; said loudly when it does.
#[cfg(feature = "fault-injection")]
fn garbage_shares(data_dir: &std::path::Path) -> bool {
    let on = data_dir.join("FAULT_GARBAGE_SHARES").exists();
    if on {
        tracing::warn!("FAULT INJECTION: this node answers derive requests with garbage shares (FAULT_GARBAGE_SHARES in its data directory; a test build)");
    }
    on
}

/// Binds `node.app_listen` and starts the app service (DESIGN §7 "Key release").
async fn start_app(
    config: &Config,
    keys: &NodeKeys,
    attester: &NodeAttester,
    chain: watch::Receiver<ChainState>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
    signer: P2pSigner,
) -> Result<App, Error> {
    let keyring = KeyRing::new();
    let (evidence, node_evidence) = watch::channel(None);
    let listen = config.node.app_listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(io(format!("binding node.app_listen {listen}")))?;
    let addr = listener
        .local_addr()
        .map_err(io("reading the app address"))?;
    let service = AppService::new(AppServiceParts {
        me: keys.node_id(),
        keyring: keyring.clone(),
        chain,
        governance: RpcGovernance::connect(&config.chain.rpc_url, config.chain.contract)
            .map_err(|e| Error::Chain(e.to_string()))?,
        verifiers: Arc::new(attester.verifiers().clone()),
        signer,
        config: app_config(config),
        metrics,
        node_evidence,
    });
    let key = keys.noise_static_key()?;
    let task = tokio::spawn(crate::app::server::serve(listener, service, key, stop));
    Ok(App {
        keyring,
        evidence,
        addr,
        task,
    })
}

async fn shutdown_signal() -> Result<(), Error> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(io("installing the SIGTERM handler"))?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(io("waiting for SIGINT")),
        _ = term.recv() => Ok(()),
    }
}

/// Makes fresh evidence `margin` before the current one reaches the policy's maximum
/// age (or every `margin` while no chain view says the age), and sends it to peers.
async fn refresh_evidence(
    keys: Arc<NodeKeys>,
    attester: Arc<NodeAttester>,
    net: Net,
    chain: watch::Receiver<ChainState>,
    margin: Duration,
    mut issued_at: u64,
) {
    loop {
        let max_age = chain
            .borrow()
            .view
            .as_ref()
            .map(|v| v.policy.max_evidence_age_secs)
            .filter(|a| *a > 0);
        let wait = match max_age {
            Some(age) => {
                let due = issued_at
                    .saturating_add(age)
                    .saturating_sub(margin.as_secs());
                Duration::from_secs(due.saturating_sub(unix_now()).max(1))
            }
            None => margin,
        };
        tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
        if max_age.is_some_and(|age| {
            unix_now()
                < issued_at
                    .saturating_add(age)
                    .saturating_sub(margin.as_secs())
        }) {
            continue;
        }
        let now = unix_now();
        match attester
            .attest(&keys, UnixTime(now))
            .and_then(|e| e.encode())
        {
            Ok(evidence) => {
                issued_at = now;
                net.set_hello(Hello {
                    evidence,
                    issued_at,
                });
                tracing::debug!("evidence refreshed");
            }
            Err(e) => tracing::error!(error = %e, "evidence refresh failed"),
        }
    }
}

/// The app service's `node-identity` evidence (bound to the Noise static key), made at
/// start and again once it is half the policy's maximum age old (checked every 10 s).
async fn refresh_app_evidence(
    keys: Arc<NodeKeys>,
    attester: Arc<NodeAttester>,
    tx: watch::Sender<Option<EvidencePayload>>,
    chain: watch::Receiver<ChainState>,
) {
    let noise = keys.noise_public();
    let platform = attester.platform().platform();
    let mut issued_at: Option<u64> = None;
    loop {
        let max_age = chain
            .borrow()
            .view
            .as_ref()
            .map(|v| v.policy.max_evidence_age_secs)
            .unwrap_or(600);
        let now = unix_now();
        if issued_at.is_none_or(|t| now.saturating_sub(t) >= max_age / 2) {
            let rd = ReportData::bind(Purpose::NodeIdentity, &noise, UnixTime(now));
            match attester.attest_report_data(&rd, UnixTime(now)) {
                Ok(e) => {
                    issued_at = Some(now);
                    let _ = tx.send(Some(EvidencePayload {
                        platform,
                        noise_static_key: noise,
                        issued_at: now,
                        evidence: e.evidence,
                        aux: e.aux,
                    }));
                }
                Err(e) => tracing::error!(error = %e, "app evidence refresh failed"),
            }
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// Copies the p2p layer's peer table and counters into `/status` and the metrics every
/// second.
async fn publish_peers(net: Net, status: watch::Sender<Status>, metrics: Arc<Metrics>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let peers = net.peers();
        let admitted = peers.iter().filter(|p| p.admitted).count();
        let refused = peers
            .iter()
            .filter(|p| {
                !p.admitted
                    && p.verdict
                        .as_deref()
                        .is_some_and(|v| v != "admitted" && v != "admission expired")
            })
            .count();
        metrics.set_peers(
            i64::try_from(admitted).unwrap_or(i64::MAX),
            i64::try_from(refused).unwrap_or(i64::MAX),
        );
        let counters = net.counters();
        metrics.set_net(&counters);
        status.send_modify(|s| {
            s.net = counters;
            s.peers = peers
                .iter()
                .map(|p| PeerStatus {
                    node_id: hex::encode(p.node_id),
                    connected: p.connected,
                    admitted: p.admitted,
                    verdict: p.verdict.clone(),
                    last_contact_unix: p
                        .last_contact
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map(|d| d.as_secs()),
                })
                .collect();
        });
    }
}
