//! Protocol sessions over the p2p layer: each run's messages travel in an
//! [`Envelope`] naming the session (epoch, protocol, key type; stable across attempts,
//! whose run ids are inside the payload) and the sender's role in it. The [`Router`]
//! checks that the authenticated sender node holds that role in the session before the
//! driver sees the message, and keeps messages of a session this node has not opened
//! yet (a peer that saw the chain's new epoch a block earlier), bounded.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use dkg::step::{Channel, Peer};
use dkg::PartyIndex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::protocol::driver::{SendError, SendToPeer};
use crate::protocol::run_id::ProtocolKind;

/// A node id (the contract's).
pub type NodeId = [u8; 32];

/// Sessions kept for later before the oldest is dropped.
pub const MAX_EARLY_SESSIONS: usize = 8;
/// Messages kept per session not opened yet.
pub const MAX_EARLY_MESSAGES: usize = 4096;

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
}

impl Envelope {
    fn peer(&self) -> Option<Peer> {
        let i = PartyIndex::new(self.index)?;
        match self.role {
            0 => Some(Peer::Dealer(i)),
            1 => Some(Peer::Receiver(i)),
            _ => None,
        }
    }

    fn new(session: [u8; 32], from: Peer, payload: Vec<u8>) -> Self {
        let (role, i) = match from {
            Peer::Dealer(i) => (0, i),
            Peer::Receiver(i) => (1, i),
        };
        Self {
            session,
            role,
            index: i.get(),
            payload,
        }
    }
}

/// Messages of a session not opened yet, with their authenticated senders.
type Early = ([u8; 32], Vec<(NodeId, Envelope)>);

struct Open {
    tx: mpsc::UnboundedSender<(Peer, Vec<u8>)>,
    roles: BTreeMap<Peer, NodeId>,
}

#[derive(Default)]
struct Sessions {
    open: HashMap<[u8; 32], Open>,
    early: VecDeque<Early>,
    dropped: u64,
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
    /// or beyond the bounds of sessions not opened yet).
    pub fn dropped(&self) -> u64 {
        self.with(|s| s.dropped)
    }

    /// Hands `bytes` received from the authenticated node `from` to its session.
    pub fn deliver(&self, from: NodeId, bytes: &[u8]) {
        let Ok(envelope) = dkg::wire::decode::<Envelope>(bytes) else {
            self.with(|s| s.dropped += 1);
            return;
        };
        self.with(|s| {
            if let Some(open) = s.open.get(&envelope.session) {
                match envelope.peer() {
                    Some(peer) if open.roles.get(&peer) == Some(&from) => {
                        let _ = open.tx.send((peer, envelope.payload));
                    }
                    _ => s.dropped += 1,
                }
                return;
            }
            match s.early.iter_mut().find(|(id, _)| *id == envelope.session) {
                Some((_, list)) if list.len() < MAX_EARLY_MESSAGES => list.push((from, envelope)),
                Some(_) => s.dropped += 1,
                None => {
                    if s.early.len() >= MAX_EARLY_SESSIONS {
                        if let Some((_, old)) = s.early.pop_front() {
                            s.dropped += old.len() as u64;
                        }
                    }
                    s.early
                        .push_back((envelope.session, vec![(from, envelope)]));
                }
            }
        });
    }

    /// Opens `session`, whose participants are `roles` (each role's node); `me` is this
    /// node. Messages kept for it are delivered at once. The session closes when the
    /// returned inbox is dropped.
    pub fn open(
        &self,
        session: [u8; 32],
        roles: BTreeMap<Peer, NodeId>,
        me: NodeId,
        link: Arc<dyn PeerLink>,
    ) -> (SessionLink, SessionInbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.with(|s| {
            if let Some(pos) = s.early.iter().position(|(id, _)| *id == session) {
                if let Some((_, kept)) = s.early.remove(pos) {
                    for (from, e) in kept {
                        match e.peer() {
                            Some(peer) if roles.get(&peer) == Some(&from) => {
                                let _ = tx.send((peer, e.payload));
                            }
                            _ => s.dropped += 1,
                        }
                    }
                }
            }
            s.open.insert(
                session,
                Open {
                    tx: tx.clone(),
                    roles: roles.clone(),
                },
            );
        });
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
                loopback: tx,
            },
            SessionInbox {
                rx,
                session,
                router: self.clone(),
            },
        )
    }
}

/// The receiving end of a session; closes it when dropped.
pub struct SessionInbox {
    rx: mpsc::UnboundedReceiver<(Peer, Vec<u8>)>,
    session: [u8; 32],
    router: Router,
}

impl Drop for SessionInbox {
    fn drop(&mut self) {
        let session = self.session;
        self.router.with(|s| s.open.remove(&session));
    }
}

impl crate::protocol::driver::ReceiveFromPeer for SessionInbox {
    fn recv(&mut self) -> impl std::future::Future<Output = Option<(Peer, Vec<u8>)>> {
        self.rx.recv()
    }
}

/// The sending end of a session ([`SendToPeer`] for the driver).
pub struct SessionLink {
    session: [u8; 32],
    roles: BTreeMap<Peer, NodeId>,
    mine: BTreeSet<Peer>,
    me: NodeId,
    link: Arc<dyn PeerLink>,
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
    ///
    /// [`Channel::Agreement`] is sent like the others: the DKG's own round-1 agreement
    /// (signed broadcasts and echo comparison, `dkg::vss::qualification`) covers the
    /// round-1 broadcast, but rounds 3 and 4 get no separate echo broadcast yet
    /// (docs/PROTOCOL.md "Protocol runs (kms-node)" says what that leaves open).
    fn send(
        &self,
        from: Peer,
        to: Option<Peer>,
        _channel: Channel,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        if !self.mine.contains(&from) {
            return Err(SendError::ForeignSender(from));
        }
        let encode = || {
            dkg::wire::encode(&Envelope::new(self.session, from, bytes.to_vec()))
                .map_err(|_| SendError::UnknownPeer(from))
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
}

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

    fn p(i: u16) -> PartyIndex {
        PartyIndex::new(i).unwrap()
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
