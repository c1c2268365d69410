//! The echo broadcast of a session ([`Channel::Agreement`](dkg::step::Channel)): the
//! receiving state of [`super::router`]'s sessions opened with an [`Agreement`].
//!
//! The author sends its signed message to every other node. A node that receives the
//! first validly signed version of a slot (author, run id, round, kind) delivers it and
//! tells every other node that it holds it with a **notice**: the slot, the payload's
//! digest and the author's signature, without the payload. A node whose own copy was
//! lost learns of the message from the notices and **pulls** the payload from a node
//! that sent one ([`PULL_GRACE`] after the first notice, then another holder every
//! [`PULL_RETRY`] until it arrives). So a message
//! that reaches one honest node reaches all of them, as when every node relayed the
//! whole payload, but the relays cost `n²` small notices per broadcast instead of `n²`
//! payloads (at n = 64 a DKG round-3 report is about 9 KiB, and whole-payload relays
//! were most of the nodes' traffic and CPU).
//!
//! A notice carries its author's signature over the slot and digest, so two signed
//! versions of one slot prove equivocation whether they came as payloads or notices.
//!
//! Notices are **bundled**: a session with a tick task (one inside a tokio runtime)
//! collects them per recipient and sends each recipient one envelope of
//! [`Envelope::notices`] every [`PULL_TICK`] (or as soon as [`MAX_BUNDLE`] are
//! waiting), skipping the notices of slots the recipient has meanwhile told this node
//! it holds. Sent one by one, notices were about 93 % of a DKG's payloads (n = 32
//! genesis: ~170,000 of 183,000; n³ in all), each with the per-message cost of the p2p
//! layer and the router; bundled, each node sends about one envelope per peer and tick
//! of a round. A notice is only ever needed by a node whose own copy was lost, which
//! pulls [`PULL_GRACE`] after the notice arrives, so the tick's delay costs nothing when
//! copies arrive and at most one tick when they do not.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use dkg::step::Peer;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::router::{peer_of, Envelope, NodeId, PeerLink};
use crate::protocol::wire::{Frame, WireMessage};

/// How long a node that heard of a message waits for the author's own copy before it
/// pulls it (the author's copies and the first notices race: pulling at once would
/// fetch most payloads twice).
pub const PULL_GRACE: Duration = Duration::from_millis(200);
/// How long a node waits for a pulled payload before pulling it from the next holder.
pub const PULL_RETRY: Duration = Duration::from_secs(1);
/// How often a session sends its notice bundles and looks for pulls due.
pub const PULL_TICK: Duration = Duration::from_millis(100);
/// How many times a node answers one requester's pulls for one slot.
const MAX_ANSWERS: u8 = 2;
/// Notices waiting for one recipient that make its bundle leave before the tick (a
/// bundle is then about 140 bytes a notice, 36 KiB).
pub const MAX_BUNDLE: usize = 256;

/// How a session's messages are classified: their frame (run id, round, kind) and
/// whether they need agreement.
type Classify = fn(&[u8]) -> Option<(Frame, bool)>;

fn classify<M: WireMessage>(bytes: &[u8]) -> Option<(Frame, bool)> {
    let frame = M::peek(bytes).ok()?;
    Some((frame, M::needs_agreement(&frame)))
}

/// The echo broadcast of a session: this node's signing key, every participant's
/// verifying key, and the message type's classification.
#[derive(Clone)]
pub struct Agreement {
    signer: Arc<SigningKey>,
    keys: BTreeMap<NodeId, VerifyingKey>,
    classify: Classify,
    needs: fn(&Frame) -> bool,
}

impl Agreement {
    /// Echo broadcast for messages of type `M`, signed with `signer`; `keys` are the
    /// participants' Ed25519 p2p keys.
    pub fn new<M: WireMessage>(
        signer: Arc<SigningKey>,
        keys: BTreeMap<NodeId, VerifyingKey>,
    ) -> Self {
        Self {
            signer,
            keys,
            classify: classify::<M>,
            needs: M::needs_agreement,
        }
    }

    /// Whether messages of `frame` need agreement.
    pub(super) fn needs_agreement(&self, frame: &Frame) -> bool {
        (self.needs)(frame)
    }

    /// The frame of `payload` and whether it needs agreement; `None` if unreadable.
    pub(super) fn classify(&self, payload: &[u8]) -> Option<(Frame, bool)> {
        (self.classify)(payload)
    }

    /// The author's signature over `payload` sent as `envelope`'s sender in `frame`.
    pub(super) fn sign(&self, envelope: &Envelope, frame: &Frame) -> [u8; 64] {
        let digest: [u8; 32] = Sha256::digest(&envelope.payload).into();
        let bytes = agreement_signing_bytes(
            &envelope.session,
            envelope.role,
            envelope.index,
            frame,
            &digest,
        );
        self.signer.sign(&bytes).to_bytes()
    }

    fn verify(
        &self,
        author: &NodeId,
        envelope: &Envelope,
        frame: &Frame,
        digest: &[u8; 32],
    ) -> bool {
        let Some(key) = self.keys.get(author) else {
            return false;
        };
        let Some(signature) = envelope
            .signature
            .as_deref()
            .and_then(|s| Signature::from_slice(s).ok())
        else {
            return false;
        };
        let bytes = agreement_signing_bytes(
            &envelope.session,
            envelope.role,
            envelope.index,
            frame,
            digest,
        );
        key.verify(&bytes, &signature).is_ok()
    }
}

/// What the author of an agreement message signs:
/// `"keynet/kms-node/agreement/v2" || session || u8(role) || be16(index) || run_id ||
/// u8(round) || u8(kind) || SHA-256(payload)`.
pub fn agreement_signing_bytes(
    session: &[u8; 32],
    role: u8,
    index: u16,
    frame: &Frame,
    digest: &[u8; 32],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(28 + 32 + 3 + 32 + 2 + 32);
    out.extend_from_slice(b"keynet/kms-node/agreement/v2");
    out.extend_from_slice(session);
    out.push(role);
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&frame.run_id);
    out.push(frame.round);
    out.push(frame.kind);
    out.extend_from_slice(digest);
    out
}

/// The slot and digest an envelope without payload stands for: a notice ("I hold this
/// message", with its author's signature) or a pull ("send me this message").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoRef {
    /// `true`: a pull; `false`: a notice.
    pub pull: bool,
    /// The message's run id.
    #[serde(with = "serde_bytes")]
    pub run_id: [u8; 32],
    /// Its round.
    pub round: u8,
    /// Its kind.
    pub kind: u8,
    /// SHA-256 of its payload.
    #[serde(with = "serde_bytes")]
    pub digest: [u8; 32],
}

impl EchoRef {
    pub(super) fn frame(&self) -> Frame {
        Frame {
            run_id: self.run_id,
            round: self.round,
            kind: self.kind,
        }
    }
}

/// One notice of a bundle ([`Envelope::notices`]): the author's role and index in the
/// session, its signature over the slot and digest, and the reference (`pull` false).
/// Stands for the notice envelope `Notice::envelope` builds (the envelope without
/// payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// The author's role: 0 dealer, 1 receiver.
    pub role: u8,
    /// The author's index in that role's committee.
    pub index: u16,
    /// The author's signature over [`agreement_signing_bytes`] (64 bytes).
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
    /// The message it stands for; a pull here is no notice and is dropped.
    pub echo: EchoRef,
}

impl Notice {
    /// The single notice envelope of `session` this stands for; `None` if it is a pull.
    pub(super) fn envelope(self, session: [u8; 32]) -> Option<Envelope> {
        (!self.echo.pull).then(|| self.single(session))
    }

    /// The envelope of `session` that carries this alone.
    fn single(self, session: [u8; 32]) -> Envelope {
        Envelope {
            session,
            role: self.role,
            index: self.index,
            payload: Vec::new(),
            signature: Some(self.signature),
            echo: Some(Box::new(self.echo)),
            notices: Vec::new(),
        }
    }

    fn slot(&self) -> Option<Slot> {
        Some(slot(peer_of(self.role, self.index)?, &self.echo.frame()))
    }
}

/// A message slot: author, run id, round, kind.
type Slot = (Peer, [u8; 32], u8, u8);

fn slot(peer: Peer, frame: &Frame) -> Slot {
    (peer, frame.run_id, frame.round, frame.kind)
}

/// What this node knows of one slot.
struct SlotState {
    /// The digest of the first validly signed version.
    digest: [u8; 32],
    /// The author's signature over the slot and `digest` that was verified (from the
    /// first notice or payload): a payload of the slot arriving later with the same
    /// digest and these signature bytes is not verified again (the same key, message
    /// and signature verify the same way). A slot's notices usually overtake some of
    /// its direct copies, so this saves about a verification per slot and node.
    verified: Vec<u8>,
    /// That version's signed envelope, encoded, once this node holds the payload.
    held: Option<Arc<Vec<u8>>>,
    /// Nodes that sent a notice for it, in arrival order (no repeats).
    holders: Vec<NodeId>,
    /// When this node learnt of the slot.
    since: Instant,
    /// How many pulls were sent (the next goes to `holders[pulls % len]`).
    pulls: usize,
    /// When the last pull was sent.
    last_pull: Option<Instant>,
    /// Pull answers sent, by requester.
    answered: HashMap<NodeId, u8>,
}

/// Sends to make: (recipient, encoded envelope).
pub(super) type Sends = Vec<(NodeId, Vec<u8>)>;

/// What became of a received envelope that needs agreement.
pub(super) enum Echo {
    /// Deliver this payload to the session (first copy of its slot).
    Deliver(Vec<u8>, Sends),
    /// Nothing to deliver; send these (notices, pulls, answers: maybe none).
    Send(Sends),
    /// Refused (bad signature, malformed reference).
    Dropped,
}

/// The receiving state of a session's echo broadcast.
pub(super) struct Relay {
    session: [u8; 32],
    pub(super) agreement: Agreement,
    pub(super) link: Arc<dyn PeerLink>,
    slots: HashMap<Slot, SlotState>,
    /// Authors caught signing two messages for one slot, by run id.
    pub(super) equivocators: HashMap<[u8; 32], BTreeSet<Peer>>,
    /// Notices not sent yet, by recipient ([`Relay::take_notices`]); `None`: each
    /// notice goes out at once, alone (a session without a tick task).
    pending: Option<BTreeMap<NodeId, Vec<Notice>>>,
}

/// Who the session's participants are, from this node's point of view.
pub(super) struct Members<'a> {
    /// This node.
    pub(super) me: NodeId,
    /// Every participant node (with repeats for nodes holding two roles).
    pub(super) nodes: &'a BTreeSet<NodeId>,
}

impl Relay {
    /// `bundle`: notices wait for [`Relay::take_notices`] (the session's tick task
    /// calls it every [`PULL_TICK`]) instead of leaving at once.
    pub(super) fn new(
        session: [u8; 32],
        agreement: Agreement,
        link: Arc<dyn PeerLink>,
        bundle: bool,
    ) -> Self {
        Self {
            session,
            agreement,
            link,
            slots: HashMap::new(),
            equivocators: HashMap::new(),
            pending: bundle.then(BTreeMap::new),
        }
    }

    /// The bundles of the notices waiting, one per recipient, without the notices of
    /// slots the recipient has told this node it holds.
    pub(super) fn take_notices(&mut self) -> Sends {
        let Some(pending) = self.pending.as_mut() else {
            return Vec::new();
        };
        let pending = std::mem::take(pending);
        pending
            .into_iter()
            .filter_map(|(to, notices)| {
                let notices: Vec<Notice> =
                    notices.into_iter().filter(|n| !self.holds(to, n)).collect();
                bundle(self.session, to, notices)
            })
            .collect()
    }

    /// Whether `node` told this node it holds `notice`'s message.
    fn holds(&self, node: NodeId, notice: &Notice) -> bool {
        notice
            .slot()
            .and_then(|key| self.slots.get(&key))
            .is_some_and(|s| s.digest == notice.echo.digest && s.holders.contains(&node))
    }

    /// Sends `notice` to `to`: now, alone, or with the next bundle.
    fn notify(&mut self, to: Vec<NodeId>, notice: Notice) -> Sends {
        let Some(pending) = self.pending.as_mut() else {
            return match dkg::wire::encode(&notice.single(self.session)) {
                Ok(bytes) => to.into_iter().map(|n| (n, bytes.clone())).collect(),
                Err(_) => Vec::new(),
            };
        };
        let mut sends = Vec::new();
        for n in to {
            let waiting = pending.entry(n).or_default();
            waiting.push(notice.clone());
            if waiting.len() >= MAX_BUNDLE {
                let full = std::mem::take(waiting);
                sends.extend(bundle(self.session, n, full));
            }
        }
        sends
    }

    /// A signed message with its payload, from `from` (the author or a node answering a
    /// pull), authored by `author` as `peer` in `frame`.
    pub(super) fn accept_payload(
        &mut self,
        members: &Members<'_>,
        (from, author, peer): (NodeId, NodeId, Peer),
        frame: &Frame,
        envelope: Envelope,
    ) -> Echo {
        let digest: [u8; 32] = Sha256::digest(&envelope.payload).into();
        let key = slot(peer, frame);
        let known = self.slots.get(&key).map(|s| (s.digest, s.held.is_some()));
        if known == Some((digest, true)) {
            // A copy of a payload already verified and delivered: nothing to do, so its
            // signature is not checked again.
            return Echo::Send(Vec::new());
        }
        let verified = self.slots.get(&key).is_some_and(|s| {
            s.digest == digest && envelope.signature.as_deref() == Some(&s.verified[..])
        });
        if !verified && !self.agreement.verify(&author, &envelope, frame, &digest) {
            return Echo::Dropped;
        }
        match known {
            Some((d, _)) if d != digest => {
                let notice = notice_of(&envelope, frame, digest).single(envelope.session);
                Echo::Send(self.equivocation(members, (from, author, peer), frame, notice))
            }
            _ => {
                let Ok(encoded) = dkg::wire::encode(&envelope) else {
                    return Echo::Dropped;
                };
                let state = self.slots.entry(key).or_insert_with(|| SlotState {
                    digest,
                    verified: envelope.signature.clone().unwrap_or_default(),
                    held: None,
                    holders: Vec::new(),
                    since: Instant::now(),
                    pulls: 0,
                    last_pull: None,
                    answered: HashMap::new(),
                });
                state.held = Some(Arc::new(encoded));
                let skip: BTreeSet<NodeId> = state.holders.iter().copied().collect();
                let to: Vec<NodeId> = others(members, &[author, from])
                    .filter(|n| !skip.contains(n))
                    .collect();
                let sends = self.notify(to, notice_of(&envelope, frame, digest));
                Echo::Deliver(envelope.payload, sends)
            }
        }
    }

    /// A notice or pull (`reference`) from the participant `from` about a message of
    /// `author` as `peer`.
    pub(super) fn accept_reference(
        &mut self,
        members: &Members<'_>,
        (from, author, peer): (NodeId, NodeId, Peer),
        reference: &EchoRef,
        envelope: &Envelope,
    ) -> Echo {
        let frame = reference.frame();
        if !envelope.payload.is_empty() {
            return Echo::Dropped;
        }
        let key = slot(peer, &frame);
        if reference.pull {
            return Echo::Send(self.answer(from, &key, &reference.digest));
        }
        let now = Instant::now();
        let known = self.slots.get(&key).map(|s| s.digest);
        if known == Some(reference.digest) {
            // Signature not checked again: the digest is the one already verified.
            self.holder(&key, from);
            return Echo::Send(Vec::new());
        }
        if !self
            .agreement
            .verify(&author, envelope, &frame, &reference.digest)
        {
            return Echo::Dropped;
        }
        if known.is_some() {
            return Echo::Send(self.equivocation(
                members,
                (from, author, peer),
                &frame,
                envelope.clone(),
            ));
        }
        self.slots.insert(
            key,
            SlotState {
                digest: reference.digest,
                verified: envelope.signature.clone().unwrap_or_default(),
                held: None,
                holders: Vec::new(),
                since: now,
                pulls: 0,
                last_pull: None,
                answered: HashMap::new(),
            },
        );
        self.holder(&key, from);
        Echo::Send(Vec::new())
    }

    /// Records `from` as a holder of `key` (pulled from by [`Relay::due_pulls`]).
    fn holder(&mut self, key: &Slot, from: NodeId) {
        if let Some(state) = self.slots.get_mut(key) {
            if !state.holders.contains(&from) {
                state.holders.push(from);
            }
        }
    }

    /// The answer to a pull of `key` from `from`: the held envelope, at most
    /// [`MAX_ANSWERS`] times per requester.
    fn answer(&mut self, from: NodeId, key: &Slot, digest: &[u8; 32]) -> Sends {
        let Some(state) = self.slots.get_mut(key) else {
            return Vec::new();
        };
        let Some(held) = state.held.as_ref().filter(|_| state.digest == *digest) else {
            return Vec::new();
        };
        let answered = state.answered.entry(from).or_default();
        if *answered >= MAX_ANSWERS {
            return Vec::new();
        }
        *answered += 1;
        vec![(from, held.as_ref().clone())]
    }

    /// Records `peer`'s second signed version of a slot (`proof`, a notice) and sends
    /// the proof on once, so every node learns of it.
    fn equivocation(
        &mut self,
        members: &Members<'_>,
        (from, author, peer): (NodeId, NodeId, Peer),
        frame: &Frame,
        proof: Envelope,
    ) -> Sends {
        let known = self.equivocators.entry(frame.run_id).or_default();
        if !known.insert(peer) {
            return Vec::new();
        }
        tracing::warn!(author = %hex::encode(author), ?peer, round = frame.round, "equivocation: two signed messages for one slot");
        match dkg::wire::encode(&proof) {
            Ok(bytes) => others(members, &[author, from])
                .map(|n| (n, bytes.clone()))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Pulls due at `now`: for every slot whose payload is still missing, the next
    /// holder in turn, [`PULL_GRACE`] after the slot became known, then every
    /// [`PULL_RETRY`].
    pub(super) fn due_pulls(&mut self, now: Instant) -> Sends {
        let session = self.session;
        self.slots
            .iter_mut()
            .filter(|(_, s)| {
                s.held.is_none()
                    && !s.holders.is_empty()
                    && match s.last_pull {
                        None => now - s.since >= PULL_GRACE,
                        Some(t) => now - t >= PULL_RETRY,
                    }
            })
            .filter_map(|(key, state)| pull(&session, key, state, now))
            .collect()
    }
}

/// A pull of `key` from the next holder in turn.
fn pull(
    session: &[u8; 32],
    key: &Slot,
    state: &mut SlotState,
    now: Instant,
) -> Option<(NodeId, Vec<u8>)> {
    let to = *state
        .holders
        .get(state.pulls % state.holders.len().max(1))?;
    let (peer, run_id, round, kind) = *key;
    let mut envelope = Envelope::new(*session, peer, Vec::new());
    envelope.echo = Some(Box::new(EchoRef {
        pull: true,
        run_id,
        round,
        kind,
        digest: state.digest,
    }));
    state.pulls += 1;
    state.last_pull = Some(now);
    Some((to, dkg::wire::encode(&envelope).ok()?))
}

/// The bundle of `notices` for `to`, encoded; `None` if there are none.
fn bundle(session: [u8; 32], to: NodeId, notices: Vec<Notice>) -> Option<(NodeId, Vec<u8>)> {
    if notices.is_empty() {
        return None;
    }
    Some((
        to,
        dkg::wire::encode(&Envelope::bundle(session, notices)).ok()?,
    ))
}

/// The notice of a signed envelope (its author, signature, slot and digest; carried
/// alone, the same envelope without its payload).
fn notice_of(envelope: &Envelope, frame: &Frame, digest: [u8; 32]) -> Notice {
    Notice {
        role: envelope.role,
        index: envelope.index,
        signature: envelope.signature.clone().unwrap_or_default(),
        echo: EchoRef {
            pull: false,
            run_id: frame.run_id,
            round: frame.round,
            kind: frame.kind,
            digest,
        },
    }
}

/// The participant nodes other than this one and `except`.
fn others<'a>(members: &'a Members<'_>, except: &'a [NodeId]) -> impl Iterator<Item = NodeId> + 'a {
    members
        .nodes
        .iter()
        .filter(move |n| **n != members.me && !except.contains(n))
        .copied()
}
