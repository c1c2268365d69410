//! Node ↔ node transport (DESIGN §8): libp2p over TCP with Noise and Yamux, gated to
//! the members of the current and next committee, with attested admission.
//!
//! - Identity: a peer is its on-chain ed25519 `p2p_key`; Noise proves the remote holds
//!   it, so the [`PeerId`](libp2p::PeerId) of a connection names exactly one
//!   [`AllowedPeer`]. Connections from any other key are refused as they are
//!   established (`libp2p::allow_block_list`), before a stream is opened.
//! - Admission: right after connecting, each side sends a [`Hello`] (its attestation
//!   evidence) on `/keynet/hello/1`. The node's [`AdmitPeer`] check decides; until it
//!   admits the peer, nothing from the peer reaches the inbox (payloads are dropped and
//!   counted in [`Counters::dropped_not_admitted`]) and nothing is sent to it (payloads
//!   wait in a bounded per-peer queue). Admission lasts until the `valid_until` the
//!   check returned, unless a newer Hello is checked first (admitted or refused: the
//!   newest verdict wins). A refused peer stays connected, with its reason in
//!   [`PeerState::verdict`].
//! - Payloads: opaque bytes, each at most [`NetConfig::max_payload`] bytes, on one
//!   long-lived `/keynet/msg/3` stream per connected peer and direction, in frames of
//!   what is queued for the peer ([`wire`]); a receiver never reads a frame longer than
//!   its limit ([`wire::frame_limit`]). The receiver answers each frame with one byte
//!   once its payloads are in the inbox. A payload is sent once: one left unanswered
//!   (timeout, stream or connection lost, refused) is counted
//!   ([`Counters::send_failed`]), never re-sent, so this layer does not duplicate
//!   messages. The protocols above retry whole runs (DESIGN §8).
//!
//! A payload goes out only when the peer is admitted by this node *and* has answered
//! this node's Hello with `admitted: true`; otherwise the peer would drop it, since it
//! may receive the payload before it has checked the Hello. A frame the peer drops as
//! not admitted (as when its admission of this node expired) makes this node hold
//! further payloads and send its Hello again.
//!
//! Every queue is bounded: the inbox ([`INBOX_CAPACITY`]; a frame that finds it full
//! waits unanswered, so its sender's window stays full and its stream's Yamux window
//! fills), each peer's send queue ([`NetConfig::queue_per_peer`], oldest dropped),
//! frames unanswered per peer ([`SEND_WINDOW`]), payload streams a peer may open (4),
//! admission checks (one running and one waiting per peer). Every wait has a timeout:
//! connection set-up ([`HANDSHAKE_TIMEOUT`]), Hellos and frames ([`REQUEST_TIMEOUT`];
//! a frame unanswered that long closes the connection), listening
//! ([`LISTEN_TIMEOUT`]); disconnected peers are re-dialled every
//! [`NetConfig::dial_interval`].
//!
//! # Security
//!
//! The admission check is the caller's ([`AdmitPeer`]): this module only guarantees
//! that no payload from a peer reaches the inbox unless that check accepted the peer's
//! latest Hello and the result has not expired, and that the sender id given with each
//! payload is the node whose `p2p_key` authenticated the connection.

mod stream;
mod table;
mod task;
pub mod wire;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use table::State;

/// A node id (the contract's).
pub type NodeId = [u8; 32];

/// Capacity of the inbox channel returned by [`spawn`], in payloads. A frame that finds
/// it full waits for room unanswered, which holds back its sender
/// ([`Counters::batches_held`]); payloads are never dropped for room.
pub const INBOX_CAPACITY: usize = 1024;
/// Frames (each a batch of queued payloads) sent to one peer and not yet answered;
/// further payloads wait in its queue and leave together in the next frame. Small on
/// purpose: with 16 requests in flight nearly every DKG notice travelled alone (n = 32
/// genesis on loopback, when each batch was its own request: node CPU 12–13× the
/// protocol's in-process CPU at 16, 9.3–9.8× at 2, 8.1–9.0× at 1; docs/PERFORMANCE.md
/// "Network DKG"). Two rather than one, so that a batch forms while another is in
/// flight on links slower than loopback.
pub const SEND_WINDOW: usize = 2;
/// Deadline for a connection's TCP connect, Noise handshake and Yamux set-up.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline for a Hello and its answer, for a payload frame's answer, and for opening
/// a payload stream.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline for the listener to report its address in [`spawn`].
pub const LISTEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Established connections kept per peer (both sides may dial: two is normal).
pub const MAX_CONNECTIONS_PER_PEER: u32 = 4;
/// Incoming connections still in their handshake at once.
pub const MAX_PENDING_INCOMING: u32 = 64;

/// A peer the node may talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedPeer {
    /// The peer's on-chain node id.
    pub node_id: NodeId,
    /// Its ed25519 libp2p public key (the on-chain `p2p_key`).
    pub p2p_key: [u8; 32],
    /// Where to dial it.
    pub addr: SocketAddr,
}

/// What a node sends right after connecting (and again whenever its evidence is
/// refreshed): its attestation evidence, which binds its `p2p_key`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Attestation evidence, opaque here (the [`AdmitPeer`] check reads it).
    #[serde(with = "serde_bytes")]
    pub evidence: Vec<u8>,
    /// When the evidence was produced, Unix seconds.
    pub issued_at: u64,
}

impl fmt::Debug for Hello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hello")
            .field("evidence", &format_args!("[{} bytes]", self.evidence.len()))
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// The admission check (implemented by the daemon with attestation-gate; fakes in
/// tests). It runs on tokio's blocking pool, one check at a time per peer.
pub trait AdmitPeer: Send + Sync + 'static {
    /// `Ok(valid_until)` (Unix seconds) admits the peer until then, unless a newer
    /// Hello is checked first; `Err(reason)` refuses it (the reason is shown in
    /// `/status` and sent back to the peer). A `valid_until` not in the future refuses.
    fn admit(&self, node_id: &NodeId, hello: &Hello) -> Result<u64, String>;
}

/// The transport's configuration.
pub struct NetConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port; [`spawn`] returns the bound one).
    pub listen: SocketAddr,
    /// This node's libp2p identity; must be ed25519 (its public key is the on-chain
    /// `p2p_key`).
    pub keypair: libp2p::identity::Keypair,
    /// Largest payload sent or accepted, in bytes; also bounds a Hello's size.
    pub max_payload: usize,
    /// Payloads waiting per peer, while it is not admitted or behind the
    /// [`SEND_WINDOW`] payloads in flight to it (at least one); when full, the oldest
    /// is dropped and counted ([`Counters::dropped_queue_full`]).
    pub queue_per_peer: usize,
    /// How often disconnected allowed peers are re-dialled and unanswered Hellos
    /// re-sent; a refused Hello is re-sent after this, doubling with each refusal up
    /// to 32 times this.
    pub dial_interval: Duration,
}

impl fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetConfig")
            .field("listen", &self.listen)
            .field("peer_id", &self.keypair.public().to_peer_id())
            .field("max_payload", &self.max_payload)
            .field("queue_per_peer", &self.queue_per_peer)
            .field("dial_interval", &self.dial_interval)
            .finish()
    }
}

/// One allowed peer as the transport sees it, for `/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerState {
    /// The peer's node id.
    pub node_id: NodeId,
    /// A connection to it is open now.
    pub connected: bool,
    /// Connected, and its latest Hello was admitted by this node and has not expired:
    /// its payloads reach the inbox.
    pub admitted: bool,
    /// The admission verdict for a human: `"admitted"`, `"admission expired"`, the
    /// refusal reason, or why the peer cannot be used (an invalid `p2p_key`); `None`
    /// before any verdict on the current connection.
    pub verdict: Option<String>,
    /// When a connection to it was opened or it last sent anything.
    pub last_contact: Option<SystemTime>,
    /// Until when (Unix seconds) its admission holds, while connected and admitted or
    /// expired.
    pub admitted_until: Option<u64>,
    /// The peer's answer to this node's Hello: `Some(true)` if it admitted this node;
    /// `None` while unanswered. Payloads go out only on `Some(true)`.
    pub accepted_by_peer: Option<bool>,
    /// The reason the peer gave when it refused this node's Hello.
    pub peer_reason: Option<String>,
    /// Payloads waiting to be sent to it.
    pub queued: usize,
    /// Connections open to it now: one normally, briefly two when both sides dialled.
    pub connections: usize,
}

/// What the transport delivered, sent, dropped or refused, since [`spawn`] (also in
/// `/status` as `net` and in `/metrics` as `keynet_net_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Payloads delivered to the inbox.
    pub delivered: u64,
    /// Payloads sent and acknowledged by the peer (their frame answered delivered).
    pub sent: u64,
    /// Frames acknowledged by the peer, each a batch of payloads: `sent` over this is
    /// the mean batch size.
    pub batches_sent: u64,
    /// Payloads received from a peer this node had not admitted (or whose admission
    /// expired), dropped.
    pub dropped_not_admitted: u64,
    /// Frames received that could not be read (longer than the limit, cut off, not
    /// decodable, a payload over [`NetConfig::max_payload`], more than
    /// [`wire::MAX_BATCH`] payloads), dropped; counted once per frame.
    pub dropped_invalid: u64,
    /// Admitted payloads dropped because the inbox closed (the node is stopping) while
    /// they waited for room.
    pub dropped_inbox_full: u64,
    /// Received frames that found the inbox full and waited for room, unanswered
    /// meanwhile (backpressure: the sender's window stays full).
    pub batches_held: u64,
    /// Own payloads dropped, oldest first, because a peer's queue was full.
    pub dropped_queue_full: u64,
    /// Own queued payloads dropped because their peer left the allowed set.
    pub dropped_not_allowed: u64,
    /// Own payloads sent but not acknowledged (timeout, stream or connection lost,
    /// dropped by the peer); never re-sent.
    pub send_failed: u64,
    /// Connections refused as they were established (peer not allowed, or over the
    /// connection limits).
    pub connections_denied: u64,
}

/// The transport's errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node id is not in the allowed set ([`Net::set_allowed`]).
    #[error("the node is not in the allowed set")]
    NotAllowed,
    /// The node id is this node's own (its `p2p_key` is this node's key).
    #[error("the node is this node itself")]
    ToSelf,
    /// The allowed peer's `p2p_key` is not a valid ed25519 public key (or is another
    /// allowed node's), so it can never be reached.
    #[error("the node's p2p key is not a usable ed25519 public key")]
    InvalidPeerKey,
    /// The payload is larger than [`NetConfig::max_payload`].
    #[error("payload of {len} bytes is over the limit of {max} bytes")]
    TooLarge {
        /// The payload's size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The transport was shut down.
    #[error("the transport has stopped")]
    Stopped,
    /// [`NetConfig::keypair`] is not an ed25519 key.
    #[error("the node's libp2p key is not ed25519")]
    KeyNotEd25519,
    /// A configuration value cannot work.
    #[error("invalid transport configuration: {0}")]
    InvalidConfig(&'static str),
    /// The Noise configuration could not be built from the key.
    #[error("noise configuration: {0}")]
    Noise(#[from] libp2p::noise::Error),
    /// The listener could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: libp2p::core::transport::TransportError<std::io::Error>,
    },
    /// The listen address is taken, or the listener failed before reporting its
    /// address.
    #[error("the listener on {addr} failed: {source}")]
    ListenerFailed {
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The listener reported no address within [`LISTEN_TIMEOUT`].
    #[error("the listener on {0} reported no address in time")]
    ListenTimeout(SocketAddr),
}

/// State shared by the handles and the swarm task.
struct Shared {
    state: Mutex<State>,
    /// Wakes the swarm task after a handle changed `state`.
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Owned by the [`Net`] handles: dropping the last one stops the task.
struct Inner {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
        self.task.abort();
    }
}

/// A handle to the transport: cheap to clone, `Send + Sync`. The swarm task stops on
/// [`Net::shutdown`] or when the last handle is dropped.
#[derive(Clone)]
pub struct Net {
    inner: Arc<Inner>,
}

impl fmt::Debug for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Net")
            .field("local_peer_id", &self.inner.shared.lock().local)
            .finish()
    }
}

impl Net {
    /// Replaces the allowed set (the current and next committee). Peers no longer in it
    /// are disconnected and their queued payloads dropped
    /// ([`Counters::dropped_not_allowed`]); allowed peers not connected are dialled, and
    /// re-dialled every [`NetConfig::dial_interval`] while disconnected. A peer whose
    /// `p2p_key` is this node's own is left out ([`Error::ToSelf`]). A peer that stays
    /// (same node id and key) keeps its connection and admission.
    pub fn set_allowed(&self, peers: Vec<AllowedPeer>) {
        self.inner.shared.lock().set_allowed(peers);
        self.inner.shared.wake.notify_one();
    }

    /// Sets this node's own Hello and (re)sends it to every connected allowed peer. Its
    /// evidence must fit in [`NetConfig::max_payload`] (the peers' limit, if they use
    /// the same configuration).
    pub fn set_hello(&self, hello: Hello) {
        {
            let mut state = self.inner.shared.lock();
            if hello.evidence.len() > state.max_payload() {
                // Peers will not read it: their request limit is max_payload too.
                tracing::warn!(
                    len = hello.evidence.len(),
                    max_payload = state.max_payload(),
                    "hello evidence over max_payload"
                );
            }
            state.hello = Some(hello);
            state.hello_dirty = true;
        }
        self.inner.shared.wake.notify_one();
    }

    /// Sends `payload` to `to` without blocking: at once if the peer is admitted (both
    /// ways) and fewer than [`SEND_WINDOW`] payloads are in flight to it, otherwise
    /// queued (at most [`NetConfig::queue_per_peer`], the oldest dropped and counted)
    /// and sent on admission or as the window frees. Concurrent payloads to one peer
    /// may arrive in another order; none is sent twice.
    ///
    /// # Errors
    ///
    /// [`Error::NotAllowed`] if `to` is not in the allowed set, [`Error::ToSelf`],
    /// [`Error::InvalidPeerKey`], [`Error::TooLarge`] over
    /// [`NetConfig::max_payload`], [`Error::Stopped`] after shutdown.
    pub fn send(&self, to: NodeId, payload: Vec<u8>) -> Result<(), Error> {
        // Wakes the peer's writer, if connected; else the queue waits for it.
        self.inner.shared.lock().enqueue(to, payload)
    }

    /// Every allowed peer (ordered by node id), for `/status`.
    pub fn peers(&self) -> Vec<PeerState> {
        self.inner.shared.lock().peer_states(table::unix_now())
    }

    /// What was delivered, dropped or refused so far.
    pub fn counters(&self) -> Counters {
        self.inner.shared.lock().counters
    }

    /// This node's libp2p peer id.
    pub fn local_peer_id(&self) -> libp2p::PeerId {
        self.inner.shared.lock().local
    }

    /// Stops the swarm task: connections close, the inbox ends, and later
    /// [`Net::send`] calls fail with [`Error::Stopped`].
    pub fn shutdown(&self) {
        self.inner.shared.lock().shutdown = true;
        self.inner.shared.wake.notify_one();
    }
}

/// The libp2p peer id of an ed25519 `p2p_key`, or `None` if the bytes are not a valid
/// ed25519 public key.
pub fn peer_id_of(p2p_key: &[u8; 32]) -> Option<libp2p::PeerId> {
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(p2p_key).ok()?;
    Some(libp2p::identity::PublicKey::from(key).to_peer_id())
}

/// The ed25519 `p2p_key` (32 bytes) of a keypair, or `None` if it is not ed25519.
pub fn p2p_key_of(keypair: &libp2p::identity::Keypair) -> Option<[u8; 32]> {
    let key = keypair.public().try_into_ed25519().ok()?;
    Some(key.to_bytes())
}

/// Starts the transport on the current tokio runtime: listens on
/// [`NetConfig::listen`] and spawns the swarm task. Returns the handle, the inbox of
/// admitted payloads (the authenticated sender's node id and the bytes; it ends when
/// the task stops) and the bound listen address.
///
/// # Errors
///
/// A configuration that cannot work ([`Error::KeyNotEd25519`],
/// [`Error::InvalidConfig`]), or a listener that cannot be opened.
pub async fn spawn(
    config: NetConfig,
    admit: Arc<dyn AdmitPeer>,
) -> Result<(Net, mpsc::Receiver<(NodeId, Vec<u8>)>, SocketAddr), Error> {
    let (driver, bound) = task::Driver::start(&config, admit).await?;
    let (inbox_tx, inbox_rx) = mpsc::channel(INBOX_CAPACITY);
    let shared = Arc::new(Shared {
        state: Mutex::new(State::new(
            driver.local_peer_id(),
            config.max_payload,
            config.queue_per_peer,
        )),
        wake: Notify::new(),
    });
    let task = tokio::spawn(driver.run(Arc::clone(&shared), inbox_tx));
    Ok((
        Net {
            inner: Arc::new(Inner { shared, task }),
        },
        inbox_rx,
        bound,
    ))
}
