//! The peer table shared by the [`Net`](super::Net) handles and the swarm task: the
//! allowed set, each peer's connection and admission state, its send queue, and the
//! counters. Handles change it and wake the task; the task applies swarm events to it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use libp2p::request_response::{OutboundRequestId, ResponseChannel};
use libp2p::swarm::ConnectionId;
use libp2p::PeerId;

use super::stream::WriterHandle;
use super::wire::{truncate_reason, Ack};
use super::{peer_id_of, AllowedPeer, Counters, Error, Hello, NodeId, PeerState};

/// Verdict shown for a peer whose `p2p_key` is not a valid ed25519 key.
const INVALID_KEY: &str = "invalid p2p key";
/// Verdict shown for a peer whose `p2p_key` another allowed node already has.
const SHARED_KEY: &str = "p2p key shared with another allowed node";

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One allowed peer.
pub(super) struct Entry {
    pub(super) node_id: NodeId,
    /// `None` if its key is unusable (see [`Entry::unusable`]).
    pub(super) peer_id: Option<PeerId>,
    pub(super) addr: std::net::SocketAddr,
    /// Why the peer can never be reached, if so.
    pub(super) unusable: Option<&'static str>,
    /// Open connections; the peer's session lasts while this is non-empty.
    pub(super) connections: HashSet<ConnectionId>,
    /// Incremented when a session starts, so late admission results of an earlier
    /// session are ignored.
    pub(super) session: u64,
    /// This node's verdict on the peer's latest Hello in this session: `Ok(valid_until)`
    /// or `Err(reason)`; `None` before any.
    pub(super) verdict: Option<Result<u64, String>>,
    /// The peer's answer to this node's latest Hello in this session.
    pub(super) accepted_us: Option<bool>,
    pub(super) peer_reason: Option<String>,
    /// This node's Hello in flight to the peer.
    pub(super) hello_out: Option<OutboundRequestId>,
    /// Refusals of this node's Hello in a row, in this session.
    pub(super) hello_refusals: u32,
    /// Not before this is a refused Hello re-sent (backoff).
    pub(super) hello_retry_at: Option<std::time::Instant>,
    /// The reply channel of the peer's Hello being checked, while a check runs.
    pub(super) checking: Option<ResponseChannel<Ack>>,
    /// The newest Hello received while a check ran; checked next.
    pub(super) waiting: Option<(Hello, ResponseChannel<Ack>)>,
    pub(super) queue: VecDeque<Vec<u8>>,
    /// The task sending the queue, while connected.
    pub(super) writer: Option<WriterHandle>,
    pub(super) last_contact: Option<SystemTime>,
    /// Since when the peer is allowed and not connected (it became allowed, or its
    /// last connection closed); read by the dialling rule (`task::Dialing`).
    pub(super) waiting_since: std::time::Instant,
}

impl Entry {
    fn new(peer: &AllowedPeer, peer_id: Option<PeerId>, unusable: Option<&'static str>) -> Self {
        Self {
            node_id: peer.node_id,
            peer_id,
            addr: peer.addr,
            unusable,
            connections: HashSet::new(),
            session: 0,
            verdict: None,
            accepted_us: None,
            peer_reason: None,
            hello_out: None,
            hello_refusals: 0,
            hello_retry_at: None,
            checking: None,
            waiting: None,
            queue: VecDeque::new(),
            writer: None,
            last_contact: None,
            waiting_since: std::time::Instant::now(),
        }
    }

    pub(super) fn connected(&self) -> bool {
        !self.connections.is_empty()
    }

    /// Payloads from the peer may reach the inbox.
    pub(super) fn admitted(&self, now: u64) -> bool {
        self.connected() && matches!(self.verdict, Some(Ok(until)) if until > now)
    }

    /// Payloads may be sent to the peer.
    pub(super) fn ready(&self, now: u64) -> bool {
        self.admitted(now) && self.accepted_us == Some(true)
    }

    /// Forgets everything tied to the session that just ended (the last connection
    /// closed). A refusal stays visible for `/status`.
    pub(super) fn end_session(&mut self) {
        if matches!(self.verdict, Some(Ok(_))) {
            self.verdict = None;
        }
        self.accepted_us = None;
        self.peer_reason = None;
        self.hello_out = None;
        self.hello_refusals = 0;
        self.hello_retry_at = None;
        self.checking = None;
        self.waiting = None;
        self.stop_writer();
        self.waiting_since = std::time::Instant::now();
    }

    /// Ends the writer task, if any (it sees it is no longer the entry's and stops).
    pub(super) fn stop_writer(&mut self) {
        if let Some(writer) = self.writer.take() {
            writer.wake();
        }
    }

    /// Wakes the writer task to look at the queue and the peer's state again.
    pub(super) fn wake_writer(&self) {
        if let Some(writer) = &self.writer {
            writer.wake();
        }
    }

    fn state(&self, now: u64) -> PeerState {
        let verdict = match (&self.verdict, self.unusable) {
            (_, Some(why)) => Some(why.to_owned()),
            (Some(Err(reason)), None) => Some(reason.clone()),
            (Some(Ok(until)), None) if *until > now => Some("admitted".to_owned()),
            (Some(Ok(_)), None) => Some("admission expired".to_owned()),
            (None, None) => None,
        };
        PeerState {
            node_id: self.node_id,
            connected: self.connected(),
            admitted: self.admitted(now),
            verdict,
            last_contact: self.last_contact,
            admitted_until: match self.verdict {
                Some(Ok(until)) => Some(until),
                _ => None,
            },
            accepted_by_peer: self.accepted_us,
            peer_reason: self.peer_reason.clone(),
            queued: self.queue.len(),
            connections: self.connections.len(),
        }
    }
}

/// Everything the handles and the task share.
pub(super) struct State {
    pub(super) local: PeerId,
    max_payload: usize,
    queue_per_peer: usize,
    pub(super) peers: BTreeMap<NodeId, Entry>,
    pub(super) by_peer: HashMap<PeerId, NodeId>,
    /// Node ids in the allowed set whose key is this node's.
    own: HashSet<NodeId>,
    pub(super) hello: Option<Hello>,
    /// `hello` changed: send it to every connected peer.
    pub(super) hello_dirty: bool,
    /// The allowed set changed: update the connection gate and dial.
    pub(super) allowed_dirty: bool,
    pub(super) shutdown: bool,
    pub(super) counters: Counters,
    /// Payload streams each peer has open to this node now (`stream::accept`).
    pub(super) readers: HashMap<PeerId, usize>,
}

impl State {
    pub(super) fn new(local: PeerId, max_payload: usize, queue_per_peer: usize) -> Self {
        Self {
            local,
            max_payload,
            queue_per_peer: queue_per_peer.max(1),
            peers: BTreeMap::new(),
            by_peer: HashMap::new(),
            own: HashSet::new(),
            hello: None,
            hello_dirty: false,
            allowed_dirty: false,
            shutdown: false,
            counters: Counters::default(),
            readers: HashMap::new(),
        }
    }

    pub(super) fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Replaces the allowed set, keeping the state of peers that stay with the same key.
    /// A node id listed twice keeps its last entry; a key listed under two node ids
    /// belongs to the lower node id and makes the other unusable.
    pub(super) fn set_allowed(&mut self, allowed: Vec<AllowedPeer>) {
        let wanted: BTreeMap<NodeId, AllowedPeer> =
            allowed.into_iter().map(|p| (p.node_id, p)).collect();
        let mut old = std::mem::take(&mut self.peers);
        self.by_peer.clear();
        self.own.clear();
        for (node_id, peer) in wanted {
            let peer_id = peer_id_of(&peer.p2p_key);
            if peer_id == Some(self.local) {
                self.own.insert(node_id);
                continue;
            }
            let unusable = match peer_id {
                None => Some(INVALID_KEY),
                Some(id) if self.by_peer.contains_key(&id) => Some(SHARED_KEY),
                Some(_) => None,
            };
            let peer_id = peer_id.filter(|_| unusable.is_none());
            let entry = match old.remove(&node_id) {
                Some(mut kept) if kept.peer_id == peer_id && kept.unusable == unusable => {
                    kept.addr = peer.addr;
                    kept
                }
                replaced => {
                    if let Some(mut replaced) = replaced {
                        self.counters.dropped_not_allowed += replaced.queue.len() as u64;
                        replaced.stop_writer();
                    }
                    Entry::new(&peer, peer_id, unusable)
                }
            };
            if let Some(id) = entry.peer_id {
                self.by_peer.insert(id, node_id);
            }
            self.peers.insert(node_id, entry);
        }
        for mut gone in old.into_values() {
            self.counters.dropped_not_allowed += gone.queue.len() as u64;
            gone.stop_writer();
        }
        self.allowed_dirty = true;
    }

    /// Queues `payload` for `to`, dropping the oldest queued one when full.
    pub(super) fn enqueue(&mut self, to: NodeId, payload: Vec<u8>) -> Result<(), Error> {
        if self.shutdown {
            return Err(Error::Stopped);
        }
        if payload.len() > self.max_payload {
            return Err(Error::TooLarge {
                len: payload.len(),
                max: self.max_payload,
            });
        }
        if self.own.contains(&to) {
            return Err(Error::ToSelf);
        }
        let entry = self.peers.get_mut(&to).ok_or(Error::NotAllowed)?;
        if entry.unusable.is_some() {
            return Err(Error::InvalidPeerKey);
        }
        while entry.queue.len() >= self.queue_per_peer {
            entry.queue.pop_front();
            self.counters.dropped_queue_full += 1;
        }
        entry.queue.push_back(payload);
        entry.wake_writer();
        Ok(())
    }

    /// The entry of a connected peer id, if it is allowed.
    pub(super) fn entry_of(&mut self, peer: &PeerId) -> Option<&mut Entry> {
        let node = self.by_peer.get(peer)?;
        self.peers.get_mut(node)
    }

    pub(super) fn peer_states(&self, now: u64) -> Vec<PeerState> {
        self.peers.values().map(|e| e.state(now)).collect()
    }

    /// Records this node's verdict on a peer's Hello; returns the answer to send.
    pub(super) fn record_verdict(entry: &mut Entry, verdict: Result<u64, String>) -> Ack {
        let now = unix_now();
        let verdict = match verdict {
            Ok(until) if until > now => Ok(until),
            Ok(until) => Err(format!("evidence valid until {until}, which has passed")),
            Err(reason) => Err(truncate_reason(&reason)),
        };
        let ack = match &verdict {
            Ok(_) => Ack::admitted(),
            Err(reason) => Ack::refused(reason),
        };
        entry.verdict = Some(verdict);
        ack
    }
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use libp2p::identity::Keypair;

    use super::*;
    use crate::net::p2p_key_of;

    fn peer(n: u8) -> (AllowedPeer, PeerId) {
        let kp = Keypair::ed25519_from_bytes([n; 32]).unwrap();
        (
            AllowedPeer {
                node_id: [n; 32],
                p2p_key: p2p_key_of(&kp).unwrap(),
                addr: ([127, 0, 0, 1], 1000 + u16::from(n)).into(),
            },
            kp.public().to_peer_id(),
        )
    }

    fn state() -> State {
        let (_, local) = peer(0);
        State::new(local, 100, 2)
    }

    #[test]
    fn enqueue__should_drop_the_oldest_and_count_when_the_queue_is_full() {
        let mut st = state();
        let (a, _) = peer(1);
        st.set_allowed(vec![a.clone()]);
        for i in 0..5u8 {
            st.enqueue(a.node_id, vec![i]).unwrap();
        }
        let queued: Vec<_> = st.peers[&a.node_id].queue.iter().cloned().collect();
        assert_eq!(queued, vec![vec![3], vec![4]]);
        assert_eq!(st.counters.dropped_queue_full, 3);
    }

    #[test]
    fn enqueue__should_refuse_unknown_own_oversize_invalid_and_stopped() {
        let mut st = state();
        let (me, _) = peer(0);
        let (a, _) = peer(1);
        let mut bad = peer(2).0;
        // About half of all 32-byte strings are not an ed25519 point encoding.
        bad.p2p_key = (0..=255u8)
            .map(|b| [b; 32])
            .find(|k| peer_id_of(k).is_none())
            .unwrap();
        st.set_allowed(vec![me.clone(), a.clone(), bad.clone()]);
        assert!(matches!(
            st.enqueue([9; 32], vec![]),
            Err(Error::NotAllowed)
        ));
        assert!(matches!(st.enqueue(me.node_id, vec![]), Err(Error::ToSelf)));
        assert!(matches!(
            st.enqueue(a.node_id, vec![0; 101]),
            Err(Error::TooLarge { len: 101, max: 100 })
        ));
        st.enqueue(a.node_id, vec![0; 100]).unwrap();
        assert!(matches!(
            st.enqueue(bad.node_id, vec![]),
            Err(Error::InvalidPeerKey)
        ));
        let states = st.peer_states(0);
        let shown = states.iter().find(|s| s.node_id == bad.node_id).unwrap();
        assert_eq!(shown.verdict.as_deref(), Some(INVALID_KEY));
        assert_eq!(st.peer_states(0).len(), 2, "own entry is not listed");
        st.shutdown = true;
        assert!(matches!(st.enqueue(a.node_id, vec![]), Err(Error::Stopped)));
    }

    #[test]
    fn set_allowed__should_keep_staying_peers_and_count_queues_of_removed_ones() {
        let mut st = state();
        let (a, a_id) = peer(1);
        let (b, b_id) = peer(2);
        st.set_allowed(vec![a.clone(), b.clone()]);
        st.enqueue(a.node_id, vec![1]).unwrap();
        st.enqueue(b.node_id, vec![2]).unwrap();
        st.enqueue(b.node_id, vec![3]).unwrap();
        st.set_allowed(vec![a.clone()]);
        assert_eq!(st.peers[&a.node_id].queue.len(), 1);
        assert_eq!(st.counters.dropped_not_allowed, 2);
        assert_eq!(st.by_peer.get(&a_id), Some(&a.node_id));
        assert!(!st.by_peer.contains_key(&b_id));
        // Same node id, new key: a new entry.
        let (c, c_id) = peer(3);
        let rekeyed = AllowedPeer {
            p2p_key: c.p2p_key,
            ..a.clone()
        };
        st.set_allowed(vec![rekeyed]);
        assert_eq!(st.peers[&a.node_id].queue.len(), 0);
        assert_eq!(st.counters.dropped_not_allowed, 3);
        assert_eq!(st.by_peer.get(&c_id), Some(&a.node_id));
        assert!(!st.by_peer.contains_key(&a_id));
    }

    #[test]
    fn set_allowed__should_mark_a_key_shared_by_two_nodes_unusable() {
        let mut st = state();
        let (a, a_id) = peer(1);
        let twin = AllowedPeer {
            node_id: [7; 32],
            ..a.clone()
        };
        st.set_allowed(vec![a.clone(), twin.clone()]);
        assert_eq!(st.by_peer.get(&a_id), Some(&a.node_id));
        assert!(matches!(
            st.enqueue(twin.node_id, vec![]),
            Err(Error::InvalidPeerKey)
        ));
    }

    #[test]
    fn record_verdict__should_refuse_a_validity_already_past_and_expire() {
        let mut st = state();
        let (a, _) = peer(1);
        st.set_allowed(vec![a.clone()]);
        let e = st.peers.get_mut(&a.node_id).unwrap();
        e.connections.insert(ConnectionId::new_unchecked(1));
        let ack = State::record_verdict(e, Ok(unix_now() - 1));
        assert!(!ack.admitted);
        assert!(!e.admitted(unix_now()));
        let until = unix_now() + 100;
        assert!(State::record_verdict(e, Ok(until)).admitted);
        assert!(e.admitted(until - 1));
        assert!(!e.admitted(until), "admission ends at valid_until");
        assert_eq!(e.state(until).verdict.as_deref(), Some("admission expired"));
        let ack = State::record_verdict(e, Err("bad measurement".into()));
        assert_eq!(ack, Ack::refused("bad measurement"));
        assert!(!e.admitted(until - 1), "a newer refusal revokes");
        e.end_session();
        assert_eq!(e.state(0).verdict.as_deref(), Some("bad measurement"));
    }
}
