//! One sans-IO step interface for every protocol of this crate, so one driver runs them
//! all: messages in, messages out, done or an error naming culprits.
//!
//! A protocol run is a [`Machine`]: the typed rounds stay underneath
//! ([`crate::vss::Round1`] … [`crate::vss::Round4`], [`crate::repair::Helper`]), and a
//! machine wraps whichever round it is in. The driver loop is
//!
//! ```text
//! let (mut machine, mut out) = Vss::start_dkg(&params, &signer, rng)?; // or start_reshare / start_refresh, or Repair::…
//! loop {
//!     send(out);                          // each Outgoing: to one peer or to all, over its Channel
//!     let incoming = collect(deadline);   // this round's messages, each with its authenticated sender
//!     match machine.step(incoming)? {
//!         Step::Continue(next, more) => (machine, out) = (next, more),
//!         Step::Done(output) => break output,
//!     }
//! }
//! ```
//!
//! `collect` gathers what arrives for the current round until every expected sender
//! ([`Machine::expecting`]) has spoken or the deadline passes, and passes whatever
//! arrived: a missing message is that sender's silence, which the protocol blames or
//! repairs. Senders are addressed as [`Peer`]s, in the index space of the role they send
//! in (docs/PROTOCOL.md "DKG wire messages", "Two index spaces"); a message from a peer
//! without the round's sending role, of another round's type, or from this party
//! itself is ignored (identically by every honest party). Broadcasts marked
//! [`Channel::Agreement`] must go through a broadcast with agreement (the node's echo
//! broadcast); [`Channel::Confidential`] directs over the attested, encrypted link.
//! Errors name their culprits ([`crate::Error::culprits`]); a run that fails is retried
//! as a whole under a fresh run id.

use std::collections::{BTreeMap, BTreeSet};

use crate::party::PartyIndex;
use crate::Error;

/// A participant as a sender or recipient, in the index space of its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// A dealer, by its index in the dealing (old) committee; a helper of a repair.
    Dealer(PartyIndex),
    /// A receiver, by its index in the receiving (new) committee; the lost party of a
    /// repair.
    Receiver(PartyIndex),
}

/// What a message needs from the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Authenticated delivery, best effort (round-1 broadcasts).
    Authenticated,
    /// Authenticated and encrypted, to one peer (shares).
    Confidential,
    /// Broadcast with agreement: every honest party gets the same bytes or none.
    Agreement,
}

/// A message to send.
#[derive(Debug)]
pub struct Outgoing<M> {
    /// This party as the sender of this message (its index in the space of the role it
    /// sends in): what the recipients file it under.
    pub from: Peer,
    /// `None`: every other participant; `Some(peer)`: that peer only.
    pub to: Option<Peer>,
    /// What the transport must provide.
    pub channel: Channel,
    /// The message.
    pub message: M,
}

/// A message received, with its authenticated sender.
#[derive(Debug)]
pub struct Incoming<M> {
    /// The sender, in the index space of the role it sent in.
    pub from: Peer,
    /// The message.
    pub message: M,
}

/// The result of one step.
pub enum Step<M: Machine> {
    /// The next state and the messages to send for it.
    Continue(M, Vec<Outgoing<M::Message>>),
    /// The run is over.
    Done(M::Output),
}

/// An error of a protocol run that names the parties at fault, so a driver can leave
/// them out of the next attempt.
pub trait Blame: std::error::Error + Send + Sync + 'static {
    /// The parties the error blames (empty for local faults).
    fn culprits(&self) -> Vec<PartyIndex>;
}

impl Blame for Error {
    fn culprits(&self) -> Vec<PartyIndex> {
        Error::culprits(self)
    }
}

/// A protocol run driven one round at a time.
pub trait Machine: Sized {
    /// Every message the protocol sends.
    type Message;
    /// What a finished run yields.
    type Output;
    /// Why a step fails ([`Error`] for this crate's protocols; a signing run has its
    /// own).
    type Error: Blame;
    /// The peers whose message this round waits for (a driver may step before they all
    /// spoke, at its deadline).
    fn expecting(&self) -> BTreeSet<Peer>;
    /// Consumes one round's messages and moves on.
    fn step(self, incoming: Vec<Incoming<Self::Message>>) -> Result<Step<Self>, Self::Error>;
}

/// The messages of one round from the peers expected to send it, by party index: the
/// first message of the wanted kind per sender; a sender outside `expected`, a message
/// `pick` does not want and later duplicates are ignored (identically by every honest
/// party). Shared by every [`Machine`] of this crate.
pub(crate) fn first_per_sender<Msg, M>(
    incoming: Vec<Incoming<Msg>>,
    expected: &BTreeSet<Peer>,
    pick: impl Fn(Msg) -> Option<M>,
) -> BTreeMap<PartyIndex, M> {
    let mut out = BTreeMap::new();
    for Incoming { from, message } in incoming {
        if !expected.contains(&from) {
            continue;
        }
        let (Peer::Dealer(i) | Peer::Receiver(i)) = from;
        if let (Some(m), false) = (pick(message), out.contains_key(&i)) {
            out.insert(i, m);
        }
    }
    out
}
