//! Protocol sessions over the p2p layer: each run's messages travel in an
//! [`Envelope`] naming the session (epoch, protocol, key type; stable across attempts,
//! whose run ids are inside the payload) and the sender's role in it. The [`Router`]
//! checks that the authenticated sender node holds that role in the session before the
//! driver sees the message, and keeps messages of a session this node has not opened
//! yet (a peer that saw the chain's new epoch a block earlier), bounded.
//!
//! # Echo broadcast ([`Channel::Agreement`])
//!
//! A session opened with an [`Agreement`] carries the messages that need a broadcast
//! with agreement (DKG rounds 3 and 4, repair commitments) signed by their author's
//! Ed25519 p2p key over [`agreement_signing_bytes`]; unsigned copies are dropped (a
//! sender cannot bypass the echo). Every node that receives the first validly signed
//! version of a slot (author, run id, round, kind) tells every other node with a signed
//! notice, and a node whose copy was lost pulls it from one that has it
//! ([`super::echo`]), so a message that reaches one honest node reaches all of them.
//! Two validly signed, different versions of one slot prove that their author
//! equivocated: the router records it (`SessionInbox`'s
//! `ReceiveFromPeer::equivocators`) and the driver fails the attempt naming it. What
//! this does not give is Bracha's totality under a *malicious* author that times its
//! two versions so that some node finishes before the second arrives; the epoch manager
//! catches that case at activation (a member whose transcript is not the one the
//! contract activated discards its shares and repairs them).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use dkg::step::{Channel, Peer};
use dkg::PartyIndex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub use super::echo::{agreement_signing_bytes, Agreement, EchoRef, Notice};
use super::echo::{Echo, Members, Relay, PULL_TICK};
use crate::protocol::driver::{SendError, SendToPeer};
use crate::protocol::run_id::ProtocolKind;

/// A node id (the contract's).
pub type NodeId = [u8; 32];

/// Sessions kept for later before the oldest is dropped: enough for the signing
/// sessions in flight whose other signers spoke before this node got the
/// application's request.
pub const MAX_EARLY_SESSIONS: usize = 64;
/// Messages kept per session not opened yet.
pub const MAX_EARLY_MESSAGES: usize = 4096;
/// Closed run-once sessions remembered ([`Router::open_once`]).
pub const MAX_CLOSED_SESSIONS: usize = 4096;

/// The session of `protocol` in `epoch`:
/// `SHA-256("keynet/kms-node/session/v1" || be64(epoch) || u8(protocol) || u8(suite))`.
pub fn session_id(epoch: u64, protocol: ProtocolKind) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/kms-node/session/v1");
    h.update(epoch.to_be_bytes());
    h.update([protocol.code(), protocol.suite().code()]);
    h.finalize().into()
}

/// Capability: send bytes to a node over the attested p2p link (the real one is
/// [`crate::net::Net`]).
pub trait PeerLink: Send + Sync {
    /// Sends (or queues) `payload` to `to`.
    fn send_to(&self, to: &NodeId, payload: Vec<u8>) -> Result<(), String>;
}

/// One protocol message between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// [`session_id`].
    #[serde(with = "serde_bytes")]
    pub session: [u8; 32],
    /// The sender's role: 0 dealer, 1 receiver.
    pub role: u8,
    /// The sender's index in that role's committee.
    pub index: u16,
    /// The encoded protocol message ([`crate::protocol::wire`]).
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// For a message that needs agreement: its author's Ed25519 signature over
    /// [`agreement_signing_bytes`] (64 bytes), so that other nodes can vouch for it.
    #[serde(default, with = "serde_bytes")]
    pub signature: Option<Vec<u8>>,
    /// An echo broadcast notice or pull (empty `payload`): the message it stands for.
    #[serde(default)]
    pub echo: Option<Box<EchoRef>>,
    /// A bundle of echo broadcast notices of this session ([`Notice`]); then `role`
    /// and `index` are 0 and `payload`, `signature` and `echo` empty. Left out of the
    /// encoding when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}

/// The role `role` (0 dealer, 1 receiver) at `index`, if both are valid.
pub(super) fn peer_of(role: u8, index: u16) -> Option<Peer> {
    let i = PartyIndex::new(index)?;
    match role {
        0 => Some(Peer::Dealer(i)),
        1 => Some(Peer::Receiver(i)),
        _ => None,
    }
}

impl Envelope {
    pub(super) fn peer(&self) -> Option<Peer> {
        peer_of(self.role, self.index)
    }

    pub(super) fn new(session: [u8; 32], from: Peer, payload: Vec<u8>) -> Self {
        let (role, i) = match from {
            Peer::Dealer(i) => (0, i),
            Peer::Receiver(i) => (1, i),
        };
        Self {
            session,
            role,
            index: i.get(),
            payload,
            signature: None,
            echo: None,
            notices: Vec::new(),
        }
    }

    /// A bundle of `notices` of `session` (see [`Envelope::notices`]).
    pub(super) fn bundle(session: [u8; 32], notices: Vec<Notice>) -> Self {
        Self {
            session,
            role: 0,
            index: 0,
            payload: Vec::new(),
            signature: None,
            echo: None,
            notices,
        }
    }

    /// The single notice envelopes of a well-formed bundle (`None` for an element that
    /// is no notice); `None` if it is not a bundle.
    fn unbundle(self) -> Option<Vec<Option<Envelope>>> {
        let well_formed = self.role == 0
            && self.index == 0
            && self.payload.is_empty()
            && self.signature.is_none()
            && self.echo.is_none()
            && !self.notices.is_empty();
        let session = self.session;
        well_formed.then(|| {
            self.notices
                .into_iter()
                .map(|n| n.envelope(session))
                .collect()
        })
    }
}

/// What became of a received envelope.
enum Verdict {
    /// Handed to the session (with the relays to send).
    Delivered(Vec<(NodeId, Vec<u8>)>),
    /// A repeat of a message already delivered.
    Repeat,
    /// Refused.
    Dropped,
}

/// Messages of a session not opened yet, with their authenticated senders.
type Early = ([u8; 32], Vec<(NodeId, Envelope)>);

struct Open {
    tx: mpsc::UnboundedSender<(Peer, Vec<u8>)>,
    roles: BTreeMap<Peer, NodeId>,
    /// The participant nodes.
    nodes: BTreeSet<NodeId>,
    me: NodeId,
    relay: Option<Relay>,
    /// Dropped with the session: ends its tick task (notice bundles, pulls).
    _alive: Arc<()>,
}

impl Open {
    /// Checks an envelope received from the authenticated node `from` and hands it to
    /// the session: without echo broadcast, only from the node holding the role; with
    /// it, messages that need agreement only signed by their author (from any
    /// participant: a pull's answer), their notices and pulls from any participant,
    /// the others only unsigned from their author.
    fn accept(&mut self, from: NodeId, envelope: Envelope) -> Verdict {
        let Some(peer) = envelope.peer() else {
            return Verdict::Dropped;
        };
        let Some(&author) = self.roles.get(&peer) else {
            return Verdict::Dropped;
        };
        let Some(relay) = self.relay.as_mut() else {
            if author != from || envelope.signature.is_some() || envelope.echo.is_some() {
                return Verdict::Dropped;
            }
            let _ = self.tx.send((peer, envelope.payload));
            return Verdict::Delivered(Vec::new());
        };
        let members = Members {
            me: self.me,
            nodes: &self.nodes,
        };
        // Our own message echoed back, or an echo by a non-participant.
        let foreign = author == self.me || from == self.me || !self.nodes.contains(&from);
        let echo = match &envelope.echo {
            Some(reference) => {
                if !relay.agreement.needs_agreement(&reference.frame()) {
                    return Verdict::Dropped;
                }
                if foreign {
                    return Verdict::Repeat;
                }
                relay.accept_reference(&members, (from, author, peer), reference, &envelope)
            }
            None => {
                let Some((frame, needs_agreement)) = relay.agreement.classify(&envelope.payload)
                else {
                    return Verdict::Dropped;
                };
                if !needs_agreement {
                    if author != from || envelope.signature.is_some() {
                        return Verdict::Dropped;
                    }
                    let _ = self.tx.send((peer, envelope.payload));
                    return Verdict::Delivered(Vec::new());
                }
                if foreign {
                    return Verdict::Repeat;
                }
                relay.accept_payload(&members, (from, author, peer), &frame, envelope)
            }
        };
        match echo {
            Echo::Deliver(payload, sends) => {
                let _ = self.tx.send((peer, payload));
                Verdict::Delivered(sends)
            }
            Echo::Send(sends) if sends.is_empty() => Verdict::Repeat,
            Echo::Send(sends) => Verdict::Delivered(sends),
            Echo::Dropped => Verdict::Dropped,
        }
    }
}

impl Open {
    /// [`Open::accept`], adding its relays to `relays` and a drop to `dropped`.
    fn take(
        &mut self,
        from: NodeId,
        envelope: Envelope,
        relays: &mut Vec<(NodeId, Vec<u8>)>,
        dropped: &mut u64,
    ) {
        match self.accept(from, envelope) {
            Verdict::Delivered(r) => relays.extend(r),
            Verdict::Repeat => {}
            Verdict::Dropped => *dropped += 1,
        }
    }
}

#[derive(Default)]
struct Sessions {
    open: HashMap<[u8; 32], Open>,
    early: VecDeque<Early>,
    /// Sessions opened with [`Router::open_once`] that have closed, oldest first
    /// (bounded by [`MAX_CLOSED_SESSIONS`]): their late messages (a relay arriving
    /// after the run ended) are dropped instead of kept as early ones.
    closed: VecDeque<[u8; 32]>,
    closed_set: HashSet<[u8; 32]>,
    dropped: u64,
}

impl Sessions {
    /// [`Open::accept`] for an open session (counting drops), returning the relays to
    /// send; the envelope back if its session is not open.
    fn accept(
        &mut self,
        from: NodeId,
        envelope: Envelope,
    ) -> Result<Vec<(NodeId, Vec<u8>)>, Envelope> {
        let Some(open) = self.open.get_mut(&envelope.session) else {
            return Err(envelope);
        };
        let mut relays = Vec::new();
        let mut dropped = 0;
        if envelope.notices.is_empty() {
            open.take(from, envelope, &mut relays, &mut dropped);
        } else {
            // A bundle of notices: each taken as if it came alone.
            match envelope.unbundle() {
                Some(singles) => {
                    for single in singles {
                        match single {
                            Some(e) => open.take(from, e, &mut relays, &mut dropped),
                            None => dropped += 1,
                        }
                    }
                }
                None => dropped += 1,
            }
        }
        self.dropped += dropped;
        Ok(relays)
    }

    fn link_of(&self, session: &[u8; 32]) -> Option<Arc<dyn PeerLink>> {
        self.open
            .get(session)?
            .relay
            .as_ref()
            .map(|r| Arc::clone(&r.link))
    }
}

/// Routes received envelopes to the open sessions.
#[derive(Clone, Default)]
pub struct Router {
    inner: Arc<Mutex<Sessions>>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Sessions) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Messages dropped so far (undecodable, from a node without the role it claims,
    /// unsigned or badly signed where agreement is needed, or beyond the bounds of
    /// sessions not opened yet).
    pub fn dropped(&self) -> u64 {
        self.with(|s| s.dropped)
    }

    /// Hands `bytes` received from the authenticated node `from` to its session.
    pub fn deliver(&self, from: NodeId, bytes: &[u8]) {
        let Ok(envelope) = dkg::wire::decode::<Envelope>(bytes) else {
            self.with(|s| s.dropped += 1);
            return;
        };
        let session = envelope.session;
        let relays = self.with(|s| match s.accept(from, envelope) {
            Err(_) if s.closed_set.contains(&session) => {
                s.dropped += 1;
                None
            }
            Ok(relays) if relays.is_empty() => None,
            Ok(relays) => s.link_of(&session).map(|link| (link, relays)),
            Err(envelope) => {
                s.keep_early(from, envelope);
                None
            }
        });
        // Relayed outside the lock: an in-process link delivers synchronously.
        if let Some((link, relays)) = relays {
            send_relays(&*link, relays);
        }
    }

    /// Opens `session`, whose participants are `roles` (each role's node); `me` is this
    /// node. Messages kept for it are delivered at once. The session closes when the
    /// returned inbox is dropped. No message of it may need agreement (see
    /// [`Router::open_with_agreement`]).
    pub fn open(
        &self,
        session: [u8; 32],
        roles: BTreeMap<Peer, NodeId>,
        me: NodeId,
        link: Arc<dyn PeerLink>,
    ) -> (SessionLink, SessionInbox) {
        self.open_inner(session, roles, me, link, None)
    }

    /// [`Router::open`] with the echo broadcast of `agreement` for the messages that
    /// need it (module docs).
    pub fn open_with_agreement(
        &self,
        session: [u8; 32],
        roles: BTreeMap<Peer, NodeId>,
        me: NodeId,
        link: Arc<dyn PeerLink>,
        agreement: Agreement,
    ) -> (SessionLink, SessionInbox) {
        self.open_inner(session, roles, me, link, Some(agreement))
    }

    /// [`Router::open_with_agreement`] for a session that runs once (a signing
    /// session, named by its run id): after it closes, its late messages are dropped
    /// rather than kept for a reopening that never comes.
    pub fn open_once(
        &self,
        session: [u8; 32],
        roles: BTreeMap<Peer, NodeId>,
        me: NodeId,
        link: Arc<dyn PeerLink>,
        agreement: Agreement,
    ) -> (SessionLink, SessionInbox) {
        let (link, mut inbox) = self.open_inner(session, roles, me, link, Some(agreement));
        inbox.once = true;
        (link, inbox)
    }

    fn open_inner(
        &self,
        session: [u8; 32],
        roles: BTreeMap<Peer, NodeId>,
        me: NodeId,
        link: Arc<dyn PeerLink>,
        agreement: Option<Agreement>,
    ) -> (SessionLink, SessionInbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let alive = Arc::new(());
        let generation = Arc::downgrade(&alive);
        let ticking = agreement.is_some() && self.tick(session, Arc::downgrade(&alive));
        let sender = agreement.clone();
        let relays = self.with(|s| {
            s.open.insert(
                session,
                Open {
                    tx: tx.clone(),
                    roles: roles.clone(),
                    nodes: roles.values().copied().collect(),
                    me,
                    relay: agreement.map(|agreement| {
                        Relay::new(session, agreement, Arc::clone(&link), ticking)
                    }),
                    _alive: alive,
                },
            );
            let kept = s
                .early
                .iter()
                .position(|(id, _)| *id == session)
                .and_then(|pos| s.early.remove(pos))
                .map(|(_, kept)| kept)
                .unwrap_or_default();
            let mut relays = Vec::new();
            for (from, e) in kept {
                relays.extend(s.accept(from, e).unwrap_or_default());
            }
            relays
        });
        send_relays(&*link, relays);
        let mine = roles
            .iter()
            .filter(|(_, n)| **n == me)
            .map(|(p, _)| *p)
            .collect();
        (
            SessionLink {
                session,
                roles,
                mine,
                me,
                link,
                agreement: sender,
                loopback: tx,
            },
            SessionInbox {
                rx,
                session,
                generation,
                router: self.clone(),
                once: false,
            },
        )
    }
}

impl Router {
    /// Spawns the task that sends the bundled notices and the pulls due of
    /// `session`'s echo broadcast every [`PULL_TICK`] while `alive` lives; `false`
    /// (nothing spawned) outside a tokio runtime.
    fn tick(&self, session: [u8; 32], alive: Weak<()>) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let router = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(PULL_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let (Some(inner), Some(_alive)) = (router.upgrade(), alive.upgrade()) else {
                    return;
                };
                let due = Router { inner }.with(|s| {
                    let relay = s.open.get_mut(&session)?.relay.as_mut()?;
                    let mut sends = relay.take_notices();
                    sends.extend(relay.due_pulls(tokio::time::Instant::now()));
                    Some((Arc::clone(&relay.link), sends))
                });
                if let Some((link, sends)) = due {
                    send_relays(&*link, sends);
                }
            }
        });
        true
    }
}

impl Sessions {
    fn keep_early(&mut self, from: NodeId, envelope: Envelope) {
        match self
            .early
            .iter_mut()
            .find(|(id, _)| *id == envelope.session)
        {
            Some((_, list)) if list.len() < MAX_EARLY_MESSAGES => list.push((from, envelope)),
            Some(_) => self.dropped += 1,
            None => {
                if self.early.len() >= MAX_EARLY_SESSIONS {
                    if let Some((_, old)) = self.early.pop_front() {
                        self.dropped += old.len() as u64;
                    }
                }
                self.early
                    .push_back((envelope.session, vec![(from, envelope)]));
            }
        }
    }
}

fn send_relays(link: &dyn PeerLink, relays: Vec<(NodeId, Vec<u8>)>) {
    for (node, bytes) in relays {
        if let Err(e) = link.send_to(&node, bytes) {
            tracing::debug!(peer = %hex::encode(node), error = %e, "relay not sent");
        }
    }
}

/// The receiving end of a session; closes it when dropped.
pub struct SessionInbox {
    rx: mpsc::UnboundedReceiver<(Peer, Vec<u8>)>,
    session: [u8; 32],
    /// The open session this inbox belongs to: dropping the inbox closes that one only,
    /// not a later session opened under the same id (a run reopened while the previous
    /// one still lingers, [`SessionInbox::linger`]).
    generation: Weak<()>,
    router: Router,
    /// Opened with [`Router::open_once`].
    once: bool,
}

impl SessionInbox {
    /// Keeps the session open for `time` after its run is over, with `link`, so that
    /// members still in the run can pull this node's agreement messages from it (a
    /// transcript confirmation whose copy they lost; the others may have finished).
    /// Nothing reads what arrives meanwhile.
    pub fn linger(self, link: SessionLink, time: Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            tokio::time::sleep(time).await;
            drop((self, link));
        });
    }
}

impl Drop for SessionInbox {
    fn drop(&mut self) {
        let (session, once) = (self.session, self.once);
        let last = self.router.with(|s| {
            let mine = s
                .open
                .get(&session)
                .is_some_and(|o| std::ptr::eq(Arc::as_ptr(&o._alive), self.generation.as_ptr()));
            // The notices still waiting leave with the session's end.
            let last = mine
                .then(|| s.open.remove(&session))
                .flatten()
                .and_then(|o| o.relay)
                .map(|mut relay| (Arc::clone(&relay.link), relay.take_notices()));
            if once && s.closed_set.insert(session) {
                s.closed.push_back(session);
                if s.closed.len() > MAX_CLOSED_SESSIONS {
                    if let Some(old) = s.closed.pop_front() {
                        s.closed_set.remove(&old);
                    }
                }
            }
            last
        });
        if let Some((link, sends)) = last {
            send_relays(&*link, sends);
        }
    }
}

impl crate::protocol::driver::ReceiveFromPeer for SessionInbox {
    fn recv(&mut self) -> impl std::future::Future<Output = Option<(Peer, Vec<u8>)>> {
        self.rx.recv()
    }

    /// The authors caught equivocating in run `run_id` of this session.
    fn equivocators(&self, run_id: &[u8; 32]) -> BTreeSet<Peer> {
        let session = self.session;
        self.router.with(|s| {
            s.open
                .get(&session)
                .and_then(|o| o.relay.as_ref())
                .and_then(|r| r.equivocators.get(run_id).cloned())
                .unwrap_or_default()
        })
    }
}

/// The sending end of a session ([`SendToPeer`] for the driver).
pub struct SessionLink {
    session: [u8; 32],
    roles: BTreeMap<Peer, NodeId>,
    mine: BTreeSet<Peer>,
    me: NodeId,
    link: Arc<dyn PeerLink>,
    agreement: Option<Agreement>,
    loopback: mpsc::UnboundedSender<(Peer, Vec<u8>)>,
}

impl SessionLink {
    /// The roles this node holds in the session.
    pub fn mine(&self) -> &BTreeSet<Peer> {
        &self.mine
    }
}

impl SendToPeer for SessionLink {
    /// A broadcast goes once to every other node of the session; a direct message to a
    /// role this node holds itself is looped back. A peer the link cannot reach is left
    /// to the protocol (its silence), so one lost peer does not fail the attempt.
    /// [`Channel::Agreement`] messages are signed for the echo broadcast (module docs);
    /// a session opened without it refuses them ([`SendError::NoAgreement`]).
    fn send(
        &self,
        from: Peer,
        to: Option<Peer>,
        channel: Channel,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        if !self.mine.contains(&from) {
            return Err(SendError::ForeignSender(from));
        }
        let encode = || {
            let mut envelope = Envelope::new(self.session, from, bytes.to_vec());
            if channel == Channel::Agreement {
                let agreement = self.agreement.as_ref().ok_or(SendError::NoAgreement)?;
                let (frame, _) = agreement
                    .classify(bytes)
                    .ok_or(SendError::Unreadable(from))?;
                envelope.signature = Some(agreement.sign(&envelope, &frame).to_vec());
            }
            dkg::wire::encode(&envelope).map_err(|_| SendError::UnknownPeer(from))
        };
        match to {
            Some(p) => {
                let node = self.roles.get(&p).ok_or(SendError::UnknownPeer(p))?;
                if *node == self.me {
                    let _ = self.loopback.send((from, bytes.to_vec()));
                } else if let Err(e) = self.link.send_to(node, encode()?) {
                    tracing::debug!(peer = %hex::encode(node), error = %e, "protocol message not sent");
                }
            }
            None => {
                let others: BTreeSet<&NodeId> =
                    self.roles.values().filter(|n| **n != self.me).collect();
                let bytes = encode()?;
                for node in others {
                    if let Err(e) = self.link.send_to(node, bytes.clone()) {
                        tracing::debug!(peer = %hex::encode(node), error = %e, "protocol message not sent");
                    }
                }
            }
        }
        Ok(())
    }
}

/// A [`PeerLink`] between routers in one process, for tests: delivers to the router of
/// the recipient.
#[cfg(any(test, feature = "testing"))]
#[derive(Clone, Default)]
pub struct MemoryLinks {
    routers: Arc<Mutex<HashMap<NodeId, Router>>>,
    cut: Arc<Mutex<BTreeSet<NodeId>>>,
    faults: Arc<Mutex<Option<Faults>>>,
    filters: Arc<Mutex<HashMap<NodeId, SendFilter>>>,
}

/// Which envelopes a misbehaving node sends ([`MemoryLinks::filter`]): called with the
/// recipient and the envelope; `false` withholds it.
#[cfg(any(test, feature = "testing"))]
pub type SendFilter = Arc<dyn Fn(&NodeId, &Envelope) -> bool + Send + Sync>;

/// Message loss and delay of [`MemoryLinks`] (seeded, so a failing case replays).
#[cfg(any(test, feature = "testing"))]
struct Faults {
    rng: rand_chacha::ChaCha20Rng,
    drop_per_mille: u32,
    max_delay: std::time::Duration,
}

#[cfg(any(test, feature = "testing"))]
impl MemoryLinks {
    /// Adds `node` with its router.
    pub fn add(&self, node: NodeId, router: Router) {
        self.routers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(node, router);
    }

    /// Cuts `node` off: nothing to or from it is delivered.
    pub fn cut(&self, node: NodeId) {
        self.cut
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(node);
    }

    /// Undoes [`MemoryLinks::cut`] (and a filter) of `node`: its links work again.
    pub fn heal(&self, node: NodeId) {
        self.cut
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&node);
        self.filters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&node);
    }

    /// From now on drops each message with probability `drop_per_mille / 1000` and
    /// delays the others by up to `max_delay` (so they arrive reordered); `seed` makes it
    /// repeatable. Delayed messages are delivered by tokio tasks.
    pub fn set_faults(&self, seed: u64, drop_per_mille: u32, max_delay: std::time::Duration) {
        use rand_chacha::rand_core::SeedableRng;
        *self.faults.lock().unwrap_or_else(PoisonError::into_inner) = Some(Faults {
            rng: rand_chacha::ChaCha20Rng::seed_from_u64(seed),
            drop_per_mille,
            max_delay,
        });
    }

    /// Makes `node` misbehave: from now on it sends only the envelopes `filter`
    /// passes (a dealer that withholds a share and then its complaint answers, say).
    pub fn filter(&self, node: NodeId, filter: SendFilter) {
        self.filters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(node, filter);
    }

    /// The link of `from`.
    pub fn link(&self, from: NodeId) -> Arc<dyn PeerLink> {
        Arc::new(MemoryLink {
            links: self.clone(),
            from,
        })
    }
}

#[cfg(any(test, feature = "testing"))]
struct MemoryLink {
    links: MemoryLinks,
    from: NodeId,
}

#[cfg(any(test, feature = "testing"))]
impl PeerLink for MemoryLink {
    fn send_to(&self, to: &NodeId, payload: Vec<u8>) -> Result<(), String> {
        let cut = self
            .links
            .cut
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cut.contains(to) || cut.contains(&self.from) {
            return Err("cut".into());
        }
        drop(cut);
        let filter = self
            .links
            .filters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.from)
            .cloned();
        if let Some(filter) = filter {
            if let Ok(envelope) = dkg::wire::decode::<Envelope>(&payload) {
                if !filter(to, &envelope) {
                    return Ok(());
                }
            }
        }
        let router = self
            .links
            .routers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(to)
            .cloned()
            .ok_or_else(|| "unknown node".to_string())?;
        let fate = self
            .links
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .map(|f| {
                use rand_chacha::rand_core::RngCore;
                let dropped = f.rng.next_u32() % 1000 < f.drop_per_mille;
                let millis = u64::try_from(f.max_delay.as_millis()).unwrap_or(u64::MAX);
                let delay = f.rng.next_u64() % millis.saturating_add(1);
                (dropped, std::time::Duration::from_millis(delay))
            });
        match fate {
            Some((true, _)) => {}
            Some((false, delay)) if !delay.is_zero() => {
                let from = self.from;
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    router.deliver(from, &payload);
                });
            }
            _ => router.deliver(self.from, &payload),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use super::*;
    use crate::node::echo;
    use crate::protocol::wire::{Frame, WireMessage};
    use ed25519_dalek::{SigningKey, VerifyingKey};

    fn p(i: u16) -> PartyIndex {
        PartyIndex::new(i).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn session__should_linger_after_its_run_and_not_close_a_reopened_one() {
        let links = MemoryLinks::default();
        let (a, c) = ([1u8; 32], [3u8; 32]);
        let routers: Vec<Router> = (0..2).map(|_| Router::new()).collect();
        links.add(a, routers[0].clone());
        links.add(c, routers[1].clone());
        let roles: BTreeMap<Peer, NodeId> =
            [(Peer::Dealer(p(1)), a), (Peer::Receiver(p(1)), c)].into();
        let s = session_id(1, ProtocolKind::Dkg(dkg::wire::SuiteId::Bls12381G1));
        let (la, _ia) = routers[0].open(s, roles.clone(), a, links.link(a));
        // c's first run is over: its session lingers for 5 s, still open.
        let (lc, ic) = routers[1].open(s, roles.clone(), c, links.link(c));
        ic.linger(lc, Duration::from_secs(5));
        tokio::task::yield_now().await;
        assert!(routers[1].with(|r| r.open.contains_key(&s)));
        // A second run under the same id opens meanwhile; the first one's end (its
        // inbox dropped after the linger) must not close it.
        let (_lc2, mut ic2) = routers[1].open(s, roles.clone(), c, links.link(c));
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(routers[1].with(|r| r.open.contains_key(&s)));
        la.send(Peer::Dealer(p(1)), None, Channel::Authenticated, b"hi")
            .unwrap();
        assert_eq!(
            ic2.rx.recv().await.unwrap(),
            (Peer::Dealer(p(1)), b"hi".to_vec())
        );
        drop(ic2);
        assert!(!routers[1].with(|r| r.open.contains_key(&s)));
    }

    #[tokio::test]
    async fn router__should_deliver_only_roles_the_sender_holds_and_keep_early_messages() {
        let links = MemoryLinks::default();
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let routers: Vec<Router> = (0..3).map(|_| Router::new()).collect();
        for (id, r) in [a, b, c].iter().zip(&routers) {
            links.add(*id, r.clone());
        }
        let roles: BTreeMap<Peer, NodeId> = [
            (Peer::Dealer(p(1)), a),
            (Peer::Dealer(p(2)), b),
            (Peer::Receiver(p(1)), c),
        ]
        .into();
        let s = session_id(1, ProtocolKind::Dkg(dkg::wire::SuiteId::Bls12381G1));
        // a sends before c has opened the session: kept, then delivered on open.
        let (la, _ia) = routers[0].open(s, roles.clone(), a, links.link(a));
        la.send(Peer::Dealer(p(1)), None, Channel::Authenticated, b"hi")
            .unwrap();
        let (_lc, mut ic) = routers[2].open(s, roles.clone(), c, links.link(c));
        assert_eq!(
            ic.rx.recv().await.unwrap(),
            (Peer::Dealer(p(1)), b"hi".to_vec())
        );
        // b claiming a's role is dropped at c.
        let forged =
            dkg::wire::encode(&Envelope::new(s, Peer::Dealer(p(1)), b"x".to_vec())).unwrap();
        routers[2].deliver(b, &forged);
        assert!(ic.rx.try_recv().is_err());
        assert_eq!(routers[2].dropped(), 1);
        // Sending as a role this node does not hold is refused.
        assert_eq!(
            la.send(Peer::Dealer(p(2)), None, Channel::Authenticated, b"y"),
            Err(SendError::ForeignSender(Peer::Dealer(p(2))))
        );
        // Garbage is counted, not delivered.
        routers[2].deliver(a, b"\xff\x00garbage");
        assert_eq!(routers[2].dropped(), 2);
    }

    #[tokio::test]
    async fn session_link__should_loop_back_a_direct_message_to_its_own_other_role() {
        let links = MemoryLinks::default();
        let a = [1u8; 32];
        let r = Router::new();
        links.add(a, r.clone());
        let roles: BTreeMap<Peer, NodeId> =
            [(Peer::Dealer(p(1)), a), (Peer::Receiver(p(2)), a)].into();
        let s = session_id(2, ProtocolKind::Reshare(dkg::wire::SuiteId::Secp256k1Tr));
        let (l, mut i) = r.open(s, roles, a, links.link(a));
        l.send(
            Peer::Dealer(p(1)),
            Some(Peer::Receiver(p(2))),
            Channel::Confidential,
            b"share",
        )
        .unwrap();
        assert_eq!(
            i.rx.recv().await.unwrap(),
            (Peer::Dealer(p(1)), b"share".to_vec())
        );
        drop(i);
        assert!(r.with(|s| s.open.is_empty()));
    }

    /// Test messages: `run id (32) || round || kind || body`; round 3 needs agreement.
    struct Raw;

    impl WireMessage for Raw {
        fn encode(&self) -> Result<Vec<u8>, dkg::wire::EncodeError> {
            Ok(Vec::new())
        }
        fn decode(_: &[u8]) -> Result<Self, dkg::wire::DecodeError> {
            Ok(Raw)
        }
        fn peek(bytes: &[u8]) -> Result<Frame, dkg::wire::DecodeError> {
            let run_id = bytes.get(..32).and_then(|b| <[u8; 32]>::try_from(b).ok());
            match (run_id, bytes.get(32), bytes.get(33)) {
                (Some(run_id), Some(round), Some(kind)) => Ok(Frame {
                    run_id,
                    round: *round,
                    kind: *kind,
                }),
                _ => Err(dkg::wire::decode::<u8>(&[]).unwrap_err()),
            }
        }
        fn per_sender(_: u8, _: &BTreeSet<Peer>) -> usize {
            1
        }
        fn needs_agreement(frame: &Frame) -> bool {
            frame.round == 3
        }
    }

    fn raw(round: u8, body: &[u8]) -> Vec<u8> {
        let mut b = vec![9u8; 32];
        b.extend([round, 0]);
        b.extend_from_slice(body);
        b
    }

    /// `body` (round 3, needs agreement) from dealer `author` signed with `key`.
    fn signed(s: [u8; 32], author: u16, key: &SigningKey, round: u8, body: &[u8]) -> Envelope {
        let mut e = Envelope::new(s, Peer::Dealer(p(author)), raw(round, body));
        let agreement = Agreement::new::<Raw>(Arc::new(key.clone()), BTreeMap::new());
        let (frame, _) = agreement.classify(&e.payload).unwrap();
        e.signature = Some(agreement.sign(&e, &frame).to_vec());
        e
    }

    /// Four nodes 1..=4 (dealer i = node i) in one session with echo broadcast.
    #[allow(clippy::type_complexity)]
    fn agreement_session(
        links: &MemoryLinks,
    ) -> (
        Vec<Router>,
        Vec<SigningKey>,
        Vec<(SessionLink, SessionInbox)>,
        [u8; 32],
    ) {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let ids: Vec<NodeId> = (1..=4).map(|i| [i; 32]).collect();
        let signers: Vec<SigningKey> = ids.iter().map(|_| SigningKey::generate(&mut rng)).collect();
        let keys: BTreeMap<NodeId, VerifyingKey> = ids
            .iter()
            .zip(&signers)
            .map(|(id, k)| (*id, k.verifying_key()))
            .collect();
        let roles: BTreeMap<Peer, NodeId> = ids
            .iter()
            .enumerate()
            .map(|(pos, id)| (Peer::Dealer(p(pos as u16 + 1)), *id))
            .collect();
        let routers: Vec<Router> = ids.iter().map(|_| Router::new()).collect();
        for (id, r) in ids.iter().zip(&routers) {
            links.add(*id, r.clone());
        }
        let s = session_id(5, ProtocolKind::Dkg(dkg::wire::SuiteId::Bls12381G1));
        let sessions = ids
            .iter()
            .zip(&routers)
            .zip(&signers)
            .map(|((id, r), k)| {
                let agreement = Agreement::new::<Raw>(Arc::new(k.clone()), keys.clone());
                r.open_with_agreement(s, roles.clone(), *id, links.link(*id), agreement)
            })
            .collect();
        (routers, signers, sessions, s)
    }

    #[tokio::test(start_paused = true)]
    async fn echo_broadcast__should_relay_a_signed_message_to_a_node_whose_copy_was_lost() {
        let links = MemoryLinks::default();
        let (routers, signers, mut sessions, s) = agreement_session(&links);
        // Node 1's broadcast reaches node 2 only (its copies to 3 and 4 are "lost"):
        // built by hand and delivered to node 2 alone.
        let e = signed(s, 1, &signers[0], 3, b"complaints");
        routers[1].deliver([1; 32], &dkg::wire::encode(&e).unwrap());
        // Nodes 3 and 4 heard of it (notices) and pull it after the grace period.
        assert!(sessions[2].1.rx.try_recv().is_err());
        tokio::time::sleep(echo::PULL_GRACE + echo::PULL_TICK).await;
        for node in [1usize, 2, 3] {
            let got = sessions[node].1.rx.try_recv().unwrap();
            assert_eq!(
                got,
                (Peer::Dealer(p(1)), raw(3, b"complaints")),
                "node {}",
                node + 1
            );
            assert!(sessions[node].1.rx.try_recv().is_err(), "delivered once");
        }
        // The author does not get its own message back.
        assert!(sessions[0].1.rx.try_recv().is_err());
        assert!(routers.iter().all(|r| r.dropped() == 0));
    }

    #[tokio::test]
    async fn echo_broadcast__should_sign_agreement_messages_and_refuse_unsigned_or_forged_ones() {
        let links = MemoryLinks::default();
        let (routers, signers, mut sessions, s) = agreement_session(&links);
        // Through the session link: signed, delivered everywhere once.
        sessions[0]
            .0
            .send(Peer::Dealer(p(1)), None, Channel::Agreement, &raw(3, b"ok"))
            .unwrap();
        for (_, inbox) in &mut sessions[1..] {
            assert_eq!(inbox.rx.try_recv().unwrap().1, raw(3, b"ok"));
            assert!(inbox.rx.try_recv().is_err());
        }
        // Another copy of a payload already delivered, whatever its signature: a
        // repeat, neither delivered again nor counted as dropped (its signature is not
        // checked again).
        let mut copy = Envelope::new(s, Peer::Dealer(p(1)), raw(3, b"ok"));
        copy.signature = Some(vec![0; 64]);
        routers[2].deliver([2; 32], &dkg::wire::encode(&copy).unwrap());
        assert!(sessions[2].1.rx.try_recv().is_err());
        assert_eq!(routers[2].dropped(), 0);
        // Unsigned round-3 message straight from its author: dropped.
        let unsigned = Envelope::new(s, Peer::Dealer(p(2)), raw(3, b"unsigned"));
        routers[2].deliver([2; 32], &dkg::wire::encode(&unsigned).unwrap());
        assert!(sessions[2].1.rx.try_recv().is_err());
        assert_eq!(routers[2].dropped(), 1);
        // Signed by node 3 in node 2's name: dropped.
        let forged = signed(s, 2, &signers[2], 3, b"forged");
        routers[3].deliver([3; 32], &dkg::wire::encode(&forged).unwrap());
        assert!(sessions[3].1.rx.try_recv().is_err());
        assert_eq!(routers[3].dropped(), 1);
        // A message that needs no agreement still goes unsigned from its author only.
        sessions[1]
            .0
            .send(
                Peer::Dealer(p(2)),
                None,
                Channel::Authenticated,
                &raw(1, b"r1"),
            )
            .unwrap();
        assert_eq!(sessions[3].1.rx.try_recv().unwrap().1, raw(1, b"r1"));
        // A session without echo broadcast refuses to send an agreement message.
        let plain = Router::new();
        let roles: BTreeMap<Peer, NodeId> = [(Peer::Dealer(p(1)), [1; 32])].into();
        let (l, _i) = plain.open(s, roles, [1; 32], links.link([1; 32]));
        assert_eq!(
            l.send(Peer::Dealer(p(1)), None, Channel::Agreement, b"x"),
            Err(SendError::NoAgreement)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn echo_broadcast__should_name_an_author_that_signs_two_messages_for_one_slot() {
        use crate::protocol::driver::ReceiveFromPeer;
        let links = MemoryLinks::default();
        let (routers, signers, mut sessions, s) = agreement_session(&links);
        // Node 1 sends version A to node 2 and version B to node 3; relays carry both
        // everywhere.
        for (to, body) in [(1usize, &b"A"[..]), (2, &b"B"[..])] {
            let e = signed(s, 1, &signers[0], 3, body);
            routers[to].deliver([1; 32], &dkg::wire::encode(&e).unwrap());
        }
        // Notices leave bundled at the next tick, pulls PULL_GRACE after they arrive. A
        // node that first hears of version A as the proof forwarded by the holder of B
        // pulls from that one in vain first, then from the next holder a PULL_RETRY on.
        tokio::time::sleep(echo::PULL_GRACE + echo::PULL_RETRY + 3 * echo::PULL_TICK).await;
        for (i, (_, inbox)) in sessions[1..].iter_mut().enumerate() {
            assert!(
                inbox.rx.try_recv().is_ok(),
                "first version delivered to {}",
                i + 2
            );
            assert!(inbox.rx.try_recv().is_err(), "the second version is not");
            assert_eq!(inbox.equivocators(&[9; 32]), [Peer::Dealer(p(1))].into());
            assert!(inbox.equivocators(&[8; 32]).is_empty());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn echo_broadcast__should_send_notices_not_payloads_bundled_per_recipient() {
        let links = MemoryLinks::default();
        let (_routers, _signers, mut sessions, _) = agreement_session(&links);
        let sent = Arc::new(Mutex::new(Vec::new()));
        for i in 1..=4u8 {
            let seen = Arc::clone(&sent);
            links.filter(
                [i; 32],
                Arc::new(move |to: &NodeId, e: &Envelope| {
                    seen.lock().unwrap().push((i, *to, e.clone()));
                    true
                }),
            );
        }
        for author in 1..=2u16 {
            sessions[usize::from(author) - 1]
                .0
                .send(
                    Peer::Dealer(p(author)),
                    None,
                    Channel::Agreement,
                    &raw(3, &[b'r', author as u8]),
                )
                .unwrap();
        }
        for (_, inbox) in &mut sessions[2..] {
            assert!(inbox.rx.try_recv().is_ok());
            assert!(inbox.rx.try_recv().is_ok());
            assert!(inbox.rx.try_recv().is_err());
        }
        // Before the tick only the authors' own copies went out.
        let copies = |sent: &[(u8, NodeId, Envelope)]| {
            sent.iter()
                .filter(|(_, _, e)| !e.payload.is_empty())
                .count()
        };
        assert_eq!(sent.lock().unwrap().len(), 6);
        assert_eq!(copies(&sent.lock().unwrap()), 6);
        tokio::time::sleep(2 * echo::PULL_TICK).await;
        let sent = sent.lock().unwrap().clone();
        // Everything else is a bundle, at most one per sender and recipient, never to
        // the author of the notices in it (no pull: every node had both copies).
        assert_eq!(copies(&sent), 6);
        let bundles: Vec<&(u8, NodeId, Envelope)> = sent
            .iter()
            .filter(|(_, _, e)| e.payload.is_empty())
            .collect();
        assert!(!bundles.is_empty());
        let mut pairs = BTreeSet::new();
        for (from, to, e) in &bundles {
            assert!(
                pairs.insert((*from, *to)),
                "one bundle per sender and recipient"
            );
            assert!(e.echo.is_none() && e.signature.is_none() && (e.role, e.index) == (0, 0));
            assert!(!e.notices.is_empty());
            for n in &e.notices {
                assert_eq!(n.echo.round, 3);
                assert!(!n.echo.pull);
                assert_ne!(to[0], n.index as u8, "no notice to the author");
                assert_ne!(*from, n.index as u8, "no notice of one's own message");
            }
        }
        // Per message, its three receivers tell each other: three pairs, one notice
        // per pair at least, two at most (a bundle leaves out the notices of what its
        // recipient said it holds, so the later of a pair to flush skips its notice).
        let total: usize = bundles.iter().map(|(_, _, e)| e.notices.len()).sum();
        assert!((6..=12).contains(&total), "{total} notices");
    }

    #[tokio::test]
    async fn echo_broadcast__should_take_each_notice_of_a_bundle_alone_and_refuse_malformed_bundles(
    ) {
        let links = MemoryLinks::default();
        let (routers, signers, mut sessions, s) = agreement_session(&links);
        let notice = |author: u16, key: &SigningKey, body: &[u8]| {
            let e = signed(s, author, key, 3, body);
            Notice {
                role: 0,
                index: author,
                signature: e.signature.unwrap(),
                echo: EchoRef {
                    pull: false,
                    run_id: [9; 32],
                    round: 3,
                    kind: 0,
                    digest: Sha256::digest(&e.payload).into(),
                },
            }
        };
        // Node 4 learns of messages 1 and 2 from node 2's bundle; the third notice is
        // signed by node 3 in node 1's name and is dropped on its own.
        let mut forged = notice(1, &signers[2], b"other");
        forged.echo.kind = 1;
        // A pull in a bundle is no notice: dropped too, not answered.
        let mut pull = notice(3, &signers[2], b"m3");
        pull.echo.pull = true;
        let bundle = Envelope::bundle(
            s,
            vec![
                notice(1, &signers[0], b"m1"),
                notice(2, &signers[1], b"m2"),
                forged,
                pull,
            ],
        );
        routers[3].deliver([2; 32], &dkg::wire::encode(&bundle).unwrap());
        assert_eq!(routers[3].dropped(), 2);
        assert!(sessions[3].1.rx.try_recv().is_err());
        // The two good notices were taken: a notice of another version of message 1,
        // signed by its author, now proves equivocation (and message 2's does not).
        let other = Envelope::bundle(
            s,
            vec![
                notice(1, &signers[0], b"m1 again"),
                notice(2, &signers[1], b"m2"),
            ],
        );
        routers[3].deliver([3; 32], &dkg::wire::encode(&other).unwrap());
        assert_eq!(
            crate::protocol::driver::ReceiveFromPeer::equivocators(&sessions[3].1, &[9; 32]),
            [Peer::Dealer(p(1))].into()
        );
        assert_eq!(routers[3].dropped(), 2);
        // Malformed bundles: with a payload, a signature, or a role.
        let mut with_payload = bundle.clone();
        with_payload.payload = vec![1];
        let mut with_signature = bundle.clone();
        with_signature.signature = Some(vec![0; 64]);
        let mut with_role = bundle.clone();
        with_role.index = 1;
        for bad in [with_payload, with_signature, with_role] {
            routers[2].deliver([2; 32], &dkg::wire::encode(&bad).unwrap());
        }
        assert_eq!(routers[2].dropped(), 3);
        // An empty list is no bundle: a notice-less envelope of role 0, index 0.
        let empty = Envelope::bundle(s, Vec::new());
        routers[2].deliver([2; 32], &dkg::wire::encode(&empty).unwrap());
        assert_eq!(routers[2].dropped(), 4);
        // A bundle encodes with the notices; a plain envelope without the field.
        let plain = dkg::wire::encode(&Envelope::new(s, Peer::Dealer(p(1)), vec![1])).unwrap();
        let decoded: Envelope = dkg::wire::decode(&plain).unwrap();
        assert!(decoded.notices.is_empty());
        assert!(!String::from_utf8_lossy(&plain).contains("notices"));
    }

    #[tokio::test(start_paused = true)]
    async fn echo_broadcast__should_pull_from_the_next_holder_when_one_does_not_answer() {
        let links = MemoryLinks::default();
        let (routers, signers, mut sessions, s) = agreement_session(&links);
        // Node 2 sends notices but never answers a pull.
        links.filter(
            [2; 32],
            Arc::new(|_: &NodeId, e: &Envelope| e.payload.is_empty()),
        );
        // The author's copy reaches nodes 2 and 3 only.
        let e = dkg::wire::encode(&signed(s, 1, &signers[0], 3, b"late")).unwrap();
        routers[1].deliver([1; 32], &e);
        routers[2].deliver([1; 32], &e);
        // Node 4 pulls from node 2 (first notice) and gets nothing, then from node 3.
        tokio::time::sleep(echo::PULL_GRACE + echo::PULL_TICK).await;
        assert!(sessions[3].1.rx.try_recv().is_err());
        tokio::time::sleep(echo::PULL_RETRY).await;
        assert_eq!(sessions[3].1.rx.try_recv().unwrap().1, raw(3, b"late"));
        assert!(sessions[3].1.rx.try_recv().is_err());
        assert!(routers.iter().all(|r| r.dropped() == 0));
    }

    #[tokio::test]
    async fn echo_broadcast__should_refuse_notices_with_a_payload_or_a_bad_signature() {
        let links = MemoryLinks::default();
        let (routers, signers, mut sessions, s) = agreement_session(&links);
        let good = signed(s, 1, &signers[0], 3, b"x");
        let digest: [u8; 32] = Sha256::digest(&good.payload).into();
        let reference = EchoRef {
            pull: false,
            run_id: [9; 32],
            round: 3,
            kind: 0,
            digest,
        };
        // A notice that carries a payload too.
        let mut stuffed = good.clone();
        stuffed.echo = Some(Box::new(reference.clone()));
        routers[3].deliver([2; 32], &dkg::wire::encode(&stuffed).unwrap());
        // A notice whose signature is node 3's.
        let mut forged = signed(s, 1, &signers[2], 3, b"x");
        forged.payload = Vec::new();
        forged.echo = Some(Box::new(reference.clone()));
        routers[3].deliver([2; 32], &dkg::wire::encode(&forged).unwrap());
        // A notice for a round that needs no agreement.
        let mut plain = good.clone();
        plain.payload = Vec::new();
        plain.echo = Some(Box::new(EchoRef {
            round: 1,
            ..reference
        }));
        routers[3].deliver([2; 32], &dkg::wire::encode(&plain).unwrap());
        assert_eq!(routers[3].dropped(), 3);
        assert!(sessions[3].1.rx.try_recv().is_err());
    }

    /// A payload whose slot and digest a verified notice announced is taken without a
    /// second verification only if it carries the very signature verified; any other
    /// signature bytes are checked (and a forged one dropped) as before.
    #[tokio::test(start_paused = true)]
    async fn echo_broadcast__should_check_a_payload_signature_other_than_the_verified_notices() {
        let links = MemoryLinks::default();
        let (routers, signers, mut sessions, s) = agreement_session(&links);
        let good = signed(s, 1, &signers[0], 3, b"x");
        let digest: [u8; 32] = Sha256::digest(&good.payload).into();
        // Node 2 tells node 4 it holds node 1's message (a notice, verified).
        let mut notice = good.clone();
        notice.payload = Vec::new();
        notice.echo = Some(Box::new(EchoRef {
            pull: false,
            run_id: [9; 32],
            round: 3,
            kind: 0,
            digest,
        }));
        routers[3].deliver([2; 32], &dkg::wire::encode(&notice).unwrap());
        assert_eq!(routers[3].dropped(), 0);
        assert!(sessions[3].1.rx.try_recv().is_err());
        // The author's copy arrives with another signature (node 3's key, in node 1's
        // name): checked, dropped, not delivered.
        let mut forged = good.clone();
        forged.signature = signed(s, 1, &signers[2], 3, b"x").signature;
        routers[3].deliver([1; 32], &dkg::wire::encode(&forged).unwrap());
        assert_eq!(routers[3].dropped(), 1);
        assert!(sessions[3].1.rx.try_recv().is_err());
        // With the signature the notice carried: delivered.
        routers[3].deliver([1; 32], &dkg::wire::encode(&good).unwrap());
        assert_eq!(sessions[3].1.rx.try_recv().unwrap().1, raw(3, b"x"));
        assert_eq!(routers[3].dropped(), 1);
    }

    #[test]
    fn early_sessions__should_be_bounded() {
        let r = Router::new();
        for e in 0..(MAX_EARLY_SESSIONS as u64 + 2) {
            let s = session_id(e, ProtocolKind::Dkg(dkg::wire::SuiteId::Bls12381G1));
            let bytes = dkg::wire::encode(&Envelope::new(s, Peer::Dealer(p(1)), vec![1])).unwrap();
            r.deliver([1; 32], &bytes);
        }
        assert_eq!(r.with(|s| s.early.len()), MAX_EARLY_SESSIONS);
        assert_eq!(r.dropped(), 2);
    }
}
