//! The swarm task: builds the libp2p swarm (TCP, Noise, Yamux; the connection gate;
//! the Hello request-response protocol and the payload streams) and applies its events
//! and the handles' changes to the peer [table](super::table). It starts a payload
//! [`Writer`] per connected peer and the [`accept`](super::stream::accept) task for the
//! streams peers open.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use libp2p::core::transport::Transport as _;
use libp2p::core::upgrade;
use libp2p::futures::future::BoxFuture;
use libp2p::futures::stream::FuturesUnordered;
use libp2p::futures::{FutureExt as _, StreamExt as _};
use libp2p::multiaddr::{Multiaddr, Protocol};
use libp2p::request_response::{self, cbor, OutboundFailure, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{DialError, ListenError, NetworkBehaviour, SwarmEvent};
use libp2p::{
    allow_block_list, connection_limits, noise, tcp, yamux, PeerId, StreamProtocol, Swarm,
};
use tokio::sync::{mpsc, Notify};
use tokio::task::{JoinError, JoinSet};
use tracing::Instrument as _;

use super::stream::{Writer, WriterHandle};
use super::table::{Entry, State};
use super::wire::{self, Ack};
use super::{
    AdmitPeer, Error, Hello, NetConfig, NodeId, Shared, HANDSHAKE_TIMEOUT, LISTEN_TIMEOUT,
    MAX_CONNECTIONS_PER_PEER, MAX_PENDING_INCOMING, REQUEST_TIMEOUT,
};

/// Concurrent Hello streams per connection.
const HELLO_STREAMS: usize = 4;
/// Admission checks running at once, all peers together (peers that reconnect while
/// their earlier check still runs could otherwise pile up blocking tasks).
const MAX_CHECKS: usize = 32;
/// The answer to a Hello when [`MAX_CHECKS`] checks are running.
const BUSY: &str = "busy: too many admission checks running, retry later";
/// A refused Hello is re-sent after `dial_interval`, then twice that, and so on up to
/// `2^HELLO_BACKOFF_DOUBLINGS` times it.
const HELLO_BACKOFF_DOUBLINGS: u32 = 5;

#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
struct Behaviour {
    /// Refuses connections from keys outside the allowed set, as they are established.
    gate: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    limits: connection_limits::Behaviour,
    hello: cbor::Behaviour<Hello, Ack>,
    /// The payload streams ([`super::stream`]).
    stream: libp2p_stream::Behaviour,
}

type CheckResult = (NodeId, u64, Result<Result<u64, String>, JoinError>);

/// The swarm and what the task needs besides the shared table.
pub(super) struct Driver {
    swarm: Swarm<Behaviour>,
    admit: Arc<dyn AdmitPeer>,
    max_payload: usize,
    dial_interval: Duration,
    /// Admission checks running on the blocking pool.
    checks: FuturesUnordered<BoxFuture<'static, CheckResult>>,
    /// Opens payload streams (one clone per writer).
    control: libp2p_stream::Control,
    /// The payload streams peers open, until [`Driver::run`] hands them to the accept
    /// task.
    incoming: Option<libp2p_stream::IncomingStreams>,
    /// One payload writer per connected peer; aborted when the driver ends.
    writers: JoinSet<()>,
    /// Numbers the writers, so that one of an ended session knows it.
    next_writer: u64,
    /// Writers ask here for a peer's connection to be closed (a frame unanswered).
    close_tx: mpsc::UnboundedSender<PeerId>,
    close_rx: mpsc::UnboundedReceiver<PeerId>,
    /// Peers whose connection this node refused lately (not allowed then), and when:
    /// they are waiting for this node to allow and dial them ([`Dialing`]).
    refused: HashMap<PeerId, std::time::Instant>,
}

/// Largest [`NetConfig::max_payload`]: frame lengths are `u32`.
const MAX_PAYLOAD_LIMIT: usize = 1 << 30;

/// Peers remembered in [`Driver::refused`] at most.
const MAX_REFUSED: usize = 1024;

/// Who dials whom. Both sides of a pair learn from the chain that they may connect,
/// rarely at the same moment. If both dialled, a pair that learnt it together would
/// hold two connections, and the side that learnt first would be refused (after a full
/// handshake on both sides) by the other. So the side with the smaller peer id dials;
/// the other dials at once only a peer it has refused lately (which then learnt first
/// and waits for it), and otherwise after waiting one `dial_interval` in vain.
struct Dialing<'a> {
    local: PeerId,
    refused: &'a HashMap<PeerId, std::time::Instant>,
    patience: Duration,
}

impl Dialing<'_> {
    fn should_dial(&self, entry: &Entry) -> bool {
        let Some(peer) = entry.peer_id else {
            return false;
        };
        self.local < peer
            || self.refused.contains_key(&peer)
            || entry.waiting_since.elapsed() >= self.patience
    }
}

fn multiaddr_of(addr: SocketAddr) -> Multiaddr {
    Multiaddr::empty()
        .with(Protocol::from(addr.ip()))
        .with(Protocol::Tcp(addr.port()))
}

fn tcp_port(addr: &Multiaddr) -> Option<u16> {
    addr.iter().find_map(|p| match p {
        Protocol::Tcp(port) => Some(port),
        _ => None,
    })
}

impl Driver {
    /// Builds the swarm and waits (at most [`LISTEN_TIMEOUT`]) for the listener's
    /// address.
    pub(super) async fn start(
        config: &NetConfig,
        admit: Arc<dyn AdmitPeer>,
    ) -> Result<(Self, SocketAddr), Error> {
        if config.keypair.clone().try_into_ed25519().is_err() {
            return Err(Error::KeyNotEd25519);
        }
        if config.dial_interval.is_zero() {
            return Err(Error::InvalidConfig("dial_interval must not be zero"));
        }
        if config.max_payload == 0 {
            return Err(Error::InvalidConfig("max_payload must not be zero"));
        }
        if config.max_payload > MAX_PAYLOAD_LIMIT {
            return Err(Error::InvalidConfig("max_payload must be at most 1 GiB"));
        }
        if config.listen.port() != 0 {
            // libp2p's TCP listener sets SO_REUSEPORT, so a second node on the same
            // port would bind too and share its connections; a plain bind fails then.
            std::net::TcpListener::bind(config.listen).map_err(|source| Error::ListenerFailed {
                addr: config.listen,
                source,
            })?;
        }
        let local = config.keypair.public().to_peer_id();
        let transport = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .upgrade(upgrade::Version::V1Lazy)
            .authenticate(noise::Config::new(&config.keypair)?)
            .multiplex(yamux::Config::default())
            .timeout(HANDSHAKE_TIMEOUT)
            .boxed();
        let limit = wire::request_limit(config.max_payload);
        let behaviour = Behaviour {
            gate: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                    .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER)),
            ),
            hello: cbor::Behaviour::with_codec(
                cbor::codec::Codec::default()
                    .set_request_size_maximum(limit)
                    .set_response_size_maximum(wire::MAX_ACK),
                [(
                    StreamProtocol::new(wire::HELLO_PROTOCOL),
                    ProtocolSupport::Full,
                )],
                request_response::Config::default()
                    .with_request_timeout(REQUEST_TIMEOUT)
                    .with_max_concurrent_streams(HELLO_STREAMS),
            ),
            stream: libp2p_stream::Behaviour::new(),
        };
        let mut control = behaviour.stream.new_control();
        let incoming = control
            .accept(StreamProtocol::new(wire::MSG_PROTOCOL))
            .map_err(|_| Error::InvalidConfig("payload protocol registered twice"))?;
        // Connections stay up while the peer is allowed: closing an idle link would
        // only force a re-dial and a fresh admission.
        let swarm_config = libp2p::swarm::Config::with_tokio_executor()
            .with_idle_connection_timeout(Duration::MAX);
        let mut swarm = Swarm::new(transport, behaviour, local, swarm_config);
        swarm
            .listen_on(multiaddr_of(config.listen))
            .map_err(|source| Error::Listen {
                addr: config.listen,
                source,
            })?;
        let listen = config.listen;
        let port = tokio::time::timeout(LISTEN_TIMEOUT, async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => {
                        if let Some(port) = tcp_port(&address) {
                            return Ok(port);
                        }
                    }
                    SwarmEvent::ListenerClosed {
                        reason: Err(source),
                        ..
                    }
                    | SwarmEvent::ListenerError { error: source, .. } => {
                        return Err(Error::ListenerFailed {
                            addr: listen,
                            source,
                        })
                    }
                    _ => {}
                }
            }
        })
        .await
        .map_err(|_| Error::ListenTimeout(listen))??;
        let (close_tx, close_rx) = mpsc::unbounded_channel();
        let driver = Self {
            swarm,
            admit,
            max_payload: config.max_payload,
            dial_interval: config.dial_interval,
            checks: FuturesUnordered::new(),
            control,
            incoming: Some(incoming),
            writers: JoinSet::new(),
            next_writer: 0,
            close_tx,
            close_rx,
            refused: HashMap::new(),
        };
        Ok((driver, SocketAddr::new(listen.ip(), port)))
    }

    pub(super) fn local_peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// Runs until shutdown, or until the handles are gone (they abort the task).
    pub(super) async fn run(mut self, shared: Arc<Shared>, inbox: mpsc::Sender<(NodeId, Vec<u8>)>) {
        let span = tracing::debug_span!("net", local = %self.local_peer_id());
        async move {
            // Aborted (with every reader) when this future ends or is dropped.
            let _accept = self.incoming.take().map(|incoming| {
                AbortOnDrop(tokio::spawn(super::stream::accept(
                    Arc::clone(&shared),
                    incoming,
                    inbox.clone(),
                    self.max_payload,
                )))
            });
            drop(inbox);
            let mut tick = tokio::time::interval(self.dial_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shared.wake.notified() => {
                        if !self.on_wake(&shared) {
                            break;
                        }
                    }
                    _ = tick.tick() => self.on_tick(&shared),
                    Some(done) = self.checks.next(), if !self.checks.is_empty() => {
                        self.on_check_done(&shared, done);
                    }
                    event = self.swarm.select_next_some() => {
                        self.on_swarm_event(&shared, event);
                    }
                    Some(peer) = self.close_rx.recv() => {
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                    Some(_) = self.writers.join_next(), if !self.writers.is_empty() => {}
                }
            }
            tracing::debug!("transport stopped");
        }
        .instrument(span)
        .await;
    }

    /// Applies the handles' changes; `false` on shutdown.
    fn on_wake(&mut self, shared: &Shared) -> bool {
        let mut state = shared.lock();
        if state.shutdown {
            return false;
        }
        if std::mem::take(&mut state.allowed_dirty) {
            let gate = &mut self.swarm.behaviour_mut().gate;
            let current: Vec<PeerId> = gate.allowed_peers().iter().copied().collect();
            for id in current {
                if !state.by_peer.contains_key(&id) {
                    // Also closes its connections.
                    gate.disallow_peer(id);
                }
            }
            for &id in state.by_peer.keys() {
                gate.allow_peer(id);
            }
            let dialing = Dialing {
                local: *self.swarm.local_peer_id(),
                refused: &self.refused,
                patience: self.dial_interval,
            };
            for entry in state.peers.values().filter(|e| dialing.should_dial(e)) {
                dial(&mut self.swarm, entry);
            }
        }
        if std::mem::take(&mut state.hello_dirty) {
            if let Some(hello) = state.hello.clone() {
                for entry in state.peers.values_mut().filter(|e| e.connected()) {
                    send_hello(&mut self.swarm, entry, &hello);
                }
            }
        }
        true
    }

    /// Re-dials, re-sends unanswered or refused Hellos.
    fn on_tick(&mut self, shared: &Shared) {
        let mut state = shared.lock();
        let hello = state.hello.clone();
        let retention = 4 * self.dial_interval;
        self.refused.retain(|_, at| at.elapsed() < retention);
        let dialing = Dialing {
            local: *self.swarm.local_peer_id(),
            refused: &self.refused,
            patience: self.dial_interval,
        };
        for entry in state.peers.values_mut() {
            if !entry.connected() {
                if dialing.should_dial(entry) {
                    dial(&mut self.swarm, entry);
                }
                continue;
            }
            if let Some(hello) = &hello {
                let due = entry
                    .hello_retry_at
                    .is_none_or(|at| std::time::Instant::now() >= at);
                if entry.hello_out.is_none() && entry.accepted_us != Some(true) && due {
                    send_hello(&mut self.swarm, entry, hello);
                }
            }
        }
    }

    fn on_check_done(&mut self, shared: &Shared, (node, session, result): CheckResult) {
        let mut state = shared.lock();
        let Some(entry) = state.peers.get_mut(&node) else {
            return;
        };
        if entry.session != session || !entry.connected() {
            return;
        }
        let verdict = result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "admission check failed");
            Err("admission check failed".to_owned())
        });
        let ack = State::record_verdict(entry, verdict);
        tracing::debug!(peer = %hex8(&node), admitted = ack.admitted, "admission verdict");
        if let Some(channel) = entry.checking.take() {
            // Err: the peer is gone or timed out; the verdict stands.
            let _ = self.swarm.behaviour_mut().hello.send_response(channel, ack);
        }
        if let Some((hello, channel)) = entry.waiting.take() {
            self.start_check(entry, hello, channel);
        }
        entry.wake_writer();
    }

    /// Starts the payload writer of a peer whose first connection just opened.
    fn start_writer(&mut self, shared: &Arc<Shared>, entry: &mut Entry, peer: PeerId) {
        self.next_writer = self.next_writer.wrapping_add(1);
        let notify = Arc::new(Notify::new());
        entry.stop_writer();
        entry.writer = Some(WriterHandle {
            id: self.next_writer,
            notify: Arc::clone(&notify),
        });
        let writer = Writer {
            shared: Arc::clone(shared),
            control: self.control.clone(),
            node: entry.node_id,
            peer,
            id: self.next_writer,
            notify,
            max_payload: self.max_payload,
            max_backoff: self.dial_interval,
            close: self.close_tx.clone(),
        };
        self.writers.spawn(writer.run());
    }

    fn start_check(&mut self, entry: &mut Entry, hello: Hello, channel: ResponseChannel<Ack>) {
        entry.checking = Some(channel);
        let admit = Arc::clone(&self.admit);
        let node = entry.node_id;
        let session = entry.session;
        let check = tokio::task::spawn_blocking(move || admit.admit(&node, &hello));
        self.checks
            .push(async move { (node, session, check.await) }.boxed());
    }

    fn on_swarm_event(&mut self, shared: &Arc<Shared>, event: SwarmEvent<BehaviourEvent>) {
        let mut state = shared.lock();
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                ..
            } => {
                let hello = state.hello.clone();
                let Some(entry) = state.entry_of(&peer_id) else {
                    // Allowed by the gate but no longer by the table: the gate is
                    // updated on the next wake; close now.
                    self.swarm.close_connection(connection_id);
                    return;
                };
                let first = !entry.connected();
                entry.connections.insert(connection_id);
                entry.last_contact = Some(SystemTime::now());
                if first {
                    entry.session = entry.session.wrapping_add(1);
                    tracing::debug!(peer = %hex8(&entry.node_id), "connected");
                    self.start_writer(shared, entry, peer_id);
                    if let Some(hello) = hello {
                        send_hello(&mut self.swarm, entry, &hello);
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                ..
            } => {
                if let Some(entry) = state.entry_of(&peer_id) {
                    if entry.connections.remove(&connection_id) && !entry.connected() {
                        tracing::debug!(peer = %hex8(&entry.node_id), "disconnected");
                        entry.end_session();
                    }
                }
            }
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { .. },
                peer_id: Some(peer),
                ..
            } => {
                state.counters.connections_denied += 1;
                if self.refused.len() < MAX_REFUSED || self.refused.contains_key(&peer) {
                    self.refused.insert(peer, std::time::Instant::now());
                }
            }
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { .. },
                ..
            }
            | SwarmEvent::OutgoingConnectionError {
                error: DialError::Denied { .. },
                ..
            } => {
                state.counters.connections_denied += 1;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Hello(event)) => {
                self.on_hello_event(&mut state, event);
            }
            _ => {}
        }
    }

    fn on_hello_event(&mut self, state: &mut State, event: request_response::Event<Hello, Ack>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let Some(entry) = state.entry_of(&peer) else {
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .hello
                        .send_response(channel, Ack::refused("not allowed"));
                    return;
                };
                entry.last_contact = Some(SystemTime::now());
                if entry.checking.is_some() {
                    if let Some((_, older)) = entry.waiting.replace((request, channel)) {
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .hello
                            .send_response(older, Ack::refused("superseded by a newer hello"));
                    }
                } else if self.checks.len() >= MAX_CHECKS {
                    // Not a verdict: the peer re-sends after its backoff.
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .hello
                        .send_response(channel, Ack::refused(BUSY));
                } else {
                    self.start_check(entry, request, channel);
                }
            }
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(entry) = state.entry_of(&peer) else {
                    return;
                };
                entry.last_contact = Some(SystemTime::now());
                if entry.hello_out != Some(request_id) {
                    return; // answer to a Hello since replaced
                }
                entry.hello_out = None;
                entry.accepted_us = Some(response.admitted);
                if response.admitted {
                    entry.hello_refusals = 0;
                    entry.hello_retry_at = None;
                } else {
                    // Re-sent after dial_interval, doubling up to 32 times that, so a
                    // refusing peer re-checks now and then without being flooded.
                    let factor = 1u32 << entry.hello_refusals.min(HELLO_BACKOFF_DOUBLINGS);
                    entry.hello_refusals = entry.hello_refusals.saturating_add(1);
                    entry.hello_retry_at = std::time::Instant::now()
                        .checked_add(self.dial_interval.saturating_mul(factor));
                }
                entry.peer_reason = response
                    .reason
                    .as_deref()
                    .map(wire::truncate_reason)
                    .filter(|_| !response.admitted);
                if !response.admitted {
                    tracing::info!(peer = %hex8(&entry.node_id), "peer refused this node's hello");
                }
                entry.wake_writer();
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(entry) = state.entry_of(&peer) {
                    if entry.hello_out == Some(request_id) {
                        // Re-sent on the next tick.
                        entry.hello_out = None;
                    }
                }
                tracing::debug!(%peer, %error, "hello not answered");
                close_if_timeout(&mut self.swarm, peer, &error);
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound hello failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}

/// A request that timed out suggests a dead link: close it so the next tick re-dials
/// (TCP alone may never notice a vanished peer).
fn close_if_timeout(swarm: &mut Swarm<Behaviour>, peer: PeerId, error: &OutboundFailure) {
    if matches!(error, OutboundFailure::Timeout) {
        let _ = swarm.disconnect_peer_id(peer);
    }
}

fn dial(swarm: &mut Swarm<Behaviour>, entry: &Entry) {
    let Some(peer_id) = entry.peer_id else {
        return;
    };
    if entry.connected() {
        return;
    }
    let opts = DialOpts::peer_id(peer_id)
        .addresses(vec![multiaddr_of(entry.addr)])
        .condition(PeerCondition::DisconnectedAndNotDialing)
        .build();
    if let Err(error) = swarm.dial(opts) {
        if !matches!(error, DialError::DialPeerConditionFalse(_)) {
            tracing::debug!(peer = %hex8(&entry.node_id), %error, "dial failed");
        }
    }
}

fn send_hello(swarm: &mut Swarm<Behaviour>, entry: &mut Entry, hello: &Hello) {
    if let Some(peer_id) = entry.peer_id {
        let id = swarm
            .behaviour_mut()
            .hello
            .send_request(&peer_id, hello.clone());
        entry.hello_out = Some(id);
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The first 8 hex digits of a node id, for logs.
fn hex8(node: &NodeId) -> String {
    hex::encode(node.get(..4).unwrap_or_default())
}
