//! The driver: runs one [`Machine`] round by round over the network, and retries a
//! failed or timed-out run as a whole under a fresh run id.
//!
//! One attempt ([`run_attempt`]): send the machine's messages, then per round collect
//! from the inbox until every peer the machine is [`Machine::expecting`] has spoken (as
//! many messages as [`WireMessage::per_sender`] says) or the round deadline passes, and
//! step with whatever arrived (a silent sender is the protocol's to blame or repair).
//! Messages of another run id, of a round already stepped past, duplicates and bytes
//! that do not decode are dropped and counted ([`Stats`]); messages of a later round
//! are kept for it. The attempt ends with [`Outcome::Done`], with
//! [`Outcome::Failed`] (the protocol's error and the culprits it names), or with
//! [`Outcome::TimedOut`] when the attempt deadline passes (naming the peers the current
//! round still waits for).
//!
//! A DKG or reshare closes each attempt with a transcript confirmation
//! ([`Confirmation`], [`run_with_retries_confirmed`]): members that stepped with
//! different inputs retry instead of finishing with different keys.
//!
//! # Channels
//!
//! [`SendToPeer`] gets each message's [`Channel`]. [`Channel::Agreement`] needs a
//! broadcast with agreement: every honest party receives the same bytes or none. The
//! in-memory transport (`protocol::memory`, feature `testing`) hands the same bytes to
//! every recipient, which satisfies it; the p2p transport must implement echo
//! broadcast for it.
//! [`Channel::Confidential`] needs the attested, encrypted link to the one recipient.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, SystemTime};

use dkg::step::{Blame, Channel, Incoming, Machine, Outgoing, Peer, Step};
use dkg::PartyIndex;
use tokio::sync::mpsc;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::wire::{Confirm, WireMessage, CONFIRM_ROUND};

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The recipient is not a participant this transport knows.
    #[error("no participant answers to {0:?}")]
    UnknownPeer(Peer),
    /// This node does not hold the sending role.
    #[error("this node does not answer to {0:?}")]
    ForeignSender(Peer),
    /// The connection to the recipient is lost.
    #[error("connection to {0:?} lost")]
    Disconnected(Peer),
    /// A message needs a broadcast with agreement and the session has none.
    #[error("the session has no echo broadcast for a message that needs agreement")]
    NoAgreement,
    /// A message for the echo broadcast whose frame cannot be read.
    #[error("the frame of a message from {0:?} cannot be read")]
    Unreadable(Peer),
}

/// Capability: send one encoded protocol message.
pub trait SendToPeer {
    /// Sends `bytes` as `from` (a role this node holds in the run) to `to` (`None`:
    /// every other participant of the run) over a transport that provides `channel`.
    fn send(
        &self,
        from: Peer,
        to: Option<Peer>,
        channel: Channel,
        bytes: &[u8],
    ) -> Result<(), SendError>;
}

/// Capability: the next message for this node, with its authenticated sender (in the
/// index space of the role it sent in); `None` when the inbox is closed for good.
pub trait ReceiveFromPeer {
    /// Waits for the next message. Must be cancel-safe (the driver races it with its
    /// deadlines).
    fn recv(&mut self) -> impl Future<Output = Option<(Peer, Vec<u8>)>>;

    /// The senders caught equivocating in run `run_id` (two different messages for one
    /// slot of a broadcast with agreement); the driver fails the attempt naming them.
    /// A transport whose broadcasts cannot equivocate (one copy for everyone) has none.
    fn equivocators(&self, run_id: &[u8; 32]) -> BTreeSet<Peer> {
        let _ = run_id;
        BTreeSet::new()
    }
}

impl ReceiveFromPeer for mpsc::UnboundedReceiver<(Peer, Vec<u8>)> {
    fn recv(&mut self) -> impl Future<Output = Option<(Peer, Vec<u8>)>> {
        mpsc::UnboundedReceiver::recv(self)
    }
}

/// Deadlines of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// How long one round waits for its expected senders before stepping without them.
    pub round: Duration,
    /// How long one attempt may take in all.
    pub attempt: Duration,
}

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The protocol refused to go on.
    #[error("protocol error: {0}")]
    Protocol(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A message could not be sent.
    #[error("send failed: {0}")]
    Send(#[source] SendError),
    /// A message could not be encoded.
    #[error("encoding failed: {0}")]
    Encode(#[source] dkg::wire::EncodeError),
    /// The inbox closed (the node is shutting down).
    #[error("the inbox closed")]
    InboxClosed,
    /// Senders signed two different messages for one slot of a broadcast with
    /// agreement ([`ReceiveFromPeer::equivocators`]).
    #[error("equivocation by {0:?}")]
    Equivocation(Vec<Peer>),
    /// Too few confirmers finished with this node's transcript for the quorum
    /// ([`Confirmation`]); `differ` are those that confirmed another one (an honest
    /// member that missed a message in time does too, so nobody is blamed).
    #[error("transcript confirmations: {matching} match, {needed} needed; other transcripts from {differ:?}")]
    Unconfirmed {
        /// Confirmations equal to this node's, its own included.
        matching: usize,
        /// The quorum.
        needed: usize,
        /// Confirmers with another transcript.
        differ: Vec<Peer>,
    },
}

/// How one attempt ended.
#[derive(Debug)]
pub enum Outcome<O> {
    /// The run finished.
    Done(O),
    /// The run failed; `culprits` are the parties the protocol blames
    /// ([`dkg::Error::culprits`], in the index space the error names).
    Failed {
        /// Parties to exclude.
        culprits: Vec<PartyIndex>,
        /// What went wrong.
        reason: Failure,
    },
    /// The attempt deadline passed; `silent` are the peers the current round still
    /// waited for.
    TimedOut {
        /// The peers that had not spoken.
        silent: Vec<Peer>,
    },
}

/// What the driver dropped or missed during an attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages of another run id (those of a run not over yet are kept in the
    /// [`Backlog`] for its attempt).
    pub other_run: usize,
    /// Messages of a round already stepped past.
    pub late: usize,
    /// Repeats of a (sender, round, kind) already received.
    pub duplicates: usize,
    /// Bytes that did not decode.
    pub malformed: usize,
    /// Peers some round stepped without (its deadline passed before they spoke).
    pub silent: BTreeSet<Peer>,
}

/// The first state of an attempt: its run id, the machine and its first messages.
pub struct Start<M: Machine> {
    /// The run id of this attempt (must be fresh).
    pub run_id: [u8; 32],
    /// The machine.
    pub machine: M,
    /// Its first messages.
    pub outgoing: Vec<Outgoing<M::Message>>,
}

/// A transcript confirmation closing every attempt of a run whose output the members
/// must agree on (a DKG's or reshare's QUAL, keys and transcript).
///
/// The protocol's agreement on its rounds 3 and 4 rests on the synchronous model: a
/// message every honest node gets, but some only after their round deadline (a lost
/// copy pulled late), makes them step with different inputs and finish with different
/// keys. So after its last round each confirmer sends the transcript hash of its
/// output ([`Confirm`], with agreement), and a node finishes the attempt only when
/// `quorum` confirmers (itself included) hold its own hash; it waits for the others
/// until the round deadline, and for the quorum until the attempt deadline. Two quorums
/// meet in a confirmer, so two nodes that finish hold the same output unless that
/// confirmer signed two hashes (caught as equivocation); a node that cannot reach the
/// quorum fails the attempt and retries, instead of finishing with keys of its own.
pub struct Confirmation<O> {
    /// The peers whose confirmations count (a reshare's receivers: the new committee).
    pub confirmers: BTreeSet<Peer>,
    /// Equal confirmations that finish an attempt (the chain's activation quorum,
    /// `min(n, 2t - 1)`, [`Confirmation::quorum`]).
    pub quorum: usize,
    /// The key type of the run (for the confirmation's header).
    pub suite: dkg::wire::SuiteId,
    /// The transcript hash of an output.
    pub transcript: fn(&O) -> [u8; 32],
}

impl<O> Confirmation<O> {
    /// The quorum for `n` confirmers with threshold `t`: `min(n, 2t - 1)`, the number
    /// of equal confirmations the contract activates an epoch with after its deadline
    /// (DESIGN §6), at least 1.
    pub fn quorum(n: usize, t: u16) -> usize {
        n.min((2 * usize::from(t)).saturating_sub(1)).max(1)
    }
}

/// Messages kept across attempts: those of a run id not seen yet (a peer already in the
/// next attempt), replayed when an attempt with that id starts, and the run ids of the
/// attempts already over, whose messages are dropped.
#[derive(Default)]
pub struct Backlog {
    pending: Vec<(Peer, Zeroizing<Vec<u8>>)>,
    retired: BTreeSet<[u8; 32]>,
}

impl Backlog {
    /// At most this many messages are kept for attempts not started yet; more are
    /// dropped (and counted as [`Stats::other_run`]).
    pub const MAX_PENDING: usize = 4096;

    /// Messages kept for a later attempt.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// Received messages by round, then by (sender, kind).
type Buffered<Msg> = BTreeMap<u8, BTreeMap<(Peer, u8), Msg>>;

fn send_all<Msg: WireMessage>(
    transport: &impl SendToPeer,
    out: Vec<Outgoing<Msg>>,
) -> Result<(), Failure> {
    for o in out {
        let bytes = Zeroizing::new(o.message.encode().map_err(Failure::Encode)?);
        transport
            .send(o.from, o.to, o.channel, &bytes)
            .map_err(Failure::Send)?;
    }
    Ok(())
}

/// The expected peers that have not sent all their messages of `round` yet.
fn missing<Msg>(
    buffer: &Buffered<Msg>,
    round: u8,
    expecting: &BTreeSet<Peer>,
    need: usize,
) -> Vec<Peer> {
    let got = buffer.get(&round);
    expecting
        .iter()
        .filter(|p| got.map_or(0, |m| m.range((**p, 0)..=(**p, u8::MAX)).count()) < need)
        .copied()
        .collect()
}

struct Attempt<'a, Msg> {
    run_id: [u8; 32],
    round: u8,
    buffer: Buffered<Msg>,
    /// Transcript confirmations received, by sender (the first of each).
    confirms: BTreeMap<Peer, [u8; 32]>,
    /// When the attempt started (its rounds' schedule counts from here).
    started: Instant,
    stats: &'a mut Stats,
    backlog: &'a mut Backlog,
}

impl<Msg: WireMessage> Attempt<'_, Msg> {
    fn accept(&mut self, from: Peer, bytes: Zeroizing<Vec<u8>>) {
        let (buffer, stats, round) = (&mut self.buffer, &mut *self.stats, self.round);
        let Ok(frame) = Msg::peek(&bytes) else {
            stats.malformed += 1;
            return;
        };
        if frame.run_id != self.run_id {
            stats.other_run += 1;
            let backlog = &mut *self.backlog;
            if !backlog.retired.contains(&frame.run_id)
                && backlog.pending.len() < Backlog::MAX_PENDING
            {
                backlog.pending.push((from, bytes));
            }
        } else if frame.round == CONFIRM_ROUND {
            match (Confirm::decode(&bytes), self.confirms.entry(from)) {
                (Ok(c), Entry::Vacant(slot)) => {
                    slot.insert(c.transcript);
                }
                (Ok(_), Entry::Occupied(_)) => stats.duplicates += 1,
                (Err(_), _) => stats.malformed += 1,
            }
        } else if frame.round < round {
            stats.late += 1;
        } else if buffer
            .get(&frame.round)
            .is_some_and(|m| m.contains_key(&(from, frame.kind)))
        {
            stats.duplicates += 1;
        } else {
            match Msg::decode(&bytes) {
                Ok(m) => {
                    buffer
                        .entry(frame.round)
                        .or_default()
                        .insert((from, frame.kind), m);
                }
                Err(_) => stats.malformed += 1,
            }
        }
    }
}

/// Runs one attempt: `start` is this node's machine for the run, `me` the peers it
/// answers to (its roles in the run). Messages of another run id go to `backlog` (or
/// are dropped if that run is over); at the end the attempt's run id is retired there.
pub async fn run_attempt<M>(
    start: Start<M>,
    me: &BTreeSet<Peer>,
    deadlines: Deadlines,
    transport: &impl SendToPeer,
    inbox: &mut impl ReceiveFromPeer,
    backlog: &mut Backlog,
    stats: &mut Stats,
) -> Outcome<M::Output>
where
    M: Machine,
    M::Message: WireMessage,
{
    let until = Instant::now() + deadlines.attempt;
    run_attempt_until(
        start, me, deadlines, until, None, transport, inbox, backlog, stats,
    )
    .await
}

/// [`run_attempt`] ending at `until` instead of `deadlines.attempt` from now, closed
/// with `confirm` if given.
#[allow(clippy::too_many_arguments)] // run_attempt's, plus the end and the confirmation
async fn run_attempt_until<M>(
    start: Start<M>,
    me: &BTreeSet<Peer>,
    deadlines: Deadlines,
    until: Instant,
    confirm: Option<&Confirmation<M::Output>>,
    transport: &impl SendToPeer,
    inbox: &mut impl ReceiveFromPeer,
    backlog: &mut Backlog,
    stats: &mut Stats,
) -> Outcome<M::Output>
where
    M: Machine,
    M::Message: WireMessage,
{
    let run_id = start.run_id;
    let mut attempt = Attempt {
        run_id,
        round: 1,
        buffer: BTreeMap::new(),
        confirms: BTreeMap::new(),
        started: Instant::now(),
        stats,
        backlog,
    };
    let outcome = attempt
        .run(start, me, deadlines, until, transport, inbox)
        .await;
    let outcome = match (outcome, confirm) {
        (Outcome::Done(output), Some(confirm)) => {
            attempt
                .confirm(output, confirm, me, deadlines, until, transport, inbox)
                .await
        }
        (outcome, _) => outcome,
    };
    attempt.backlog.retired.insert(run_id);
    let retired = &attempt.backlog.retired;
    attempt
        .backlog
        .pending
        .retain(|(_, b)| M::Message::peek(b).is_ok_and(|f| !retired.contains(&f.run_id)));
    outcome
}

impl<Msg: WireMessage> Attempt<'_, Msg> {
    async fn run<M: Machine<Message = Msg>>(
        &mut self,
        start: Start<M>,
        me: &BTreeSet<Peer>,
        deadlines: Deadlines,
        attempt_deadline: Instant,
        transport: &impl SendToPeer,
        inbox: &mut impl ReceiveFromPeer,
    ) -> Outcome<M::Output> {
        let started = self.started;
        let Start {
            mut machine,
            outgoing,
            ..
        } = start;
        if let Err(reason) = send_all(transport, outgoing) {
            return failed(reason);
        }
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.backlog.pending)
            .into_iter()
            .partition(|(_, b)| Msg::peek(b).is_ok_and(|f| f.run_id == self.run_id));
        self.backlog.pending = rest;
        for (from, bytes) in mine {
            self.accept(from, bytes);
        }
        loop {
            let round = self.round;
            let expecting = machine.expecting();
            let need = Msg::per_sender(round, me);
            let round_deadline =
                attempt_deadline.min(round_deadline(started, round, deadlines.round));
            while !missing(&self.buffer, round, &expecting, need).is_empty() {
                tokio::select! {
                    () = tokio::time::sleep_until(round_deadline) => break,
                    received = inbox.recv() => match received {
                        Some((from, bytes)) => self.accept(from, Zeroizing::new(bytes)),
                        None => return failed(Failure::InboxClosed),
                    },
                }
            }
            let silent = missing(&self.buffer, round, &expecting, need);
            if !silent.is_empty() && Instant::now() >= attempt_deadline {
                return Outcome::TimedOut { silent };
            }
            self.stats.silent.extend(silent);
            if let Some(outcome) = equivocation(inbox, &self.run_id) {
                return outcome;
            }
            let incoming = self
                .buffer
                .remove(&round)
                .unwrap_or_default()
                .into_iter()
                .map(|((from, _), message)| Incoming { from, message })
                .collect();
            self.round = round.saturating_add(1);
            match machine.step(incoming) {
                Ok(Step::Done(output)) => {
                    return equivocation(inbox, &self.run_id).unwrap_or(Outcome::Done(output))
                }
                Ok(Step::Continue(next, out)) => {
                    machine = next;
                    if let Err(reason) = send_all(transport, out) {
                        return failed(reason);
                    }
                }
                Err(e) => {
                    return Outcome::Failed {
                        culprits: e.culprits(),
                        reason: Failure::Protocol(Box::new(e)),
                    }
                }
            }
        }
    }
}

impl<Msg: WireMessage> Attempt<'_, Msg> {
    /// Closes an attempt that finished with `output` by its transcript confirmation
    /// ([`Confirmation`]): sends this node's hash as each of its confirming roles, then
    /// waits for every other confirmer until the next round's deadline, and for the
    /// quorum until the attempt deadline.
    #[allow(clippy::too_many_arguments)] // the attempt's environment, as in `run`
    async fn confirm<O>(
        &mut self,
        output: O,
        confirm: &Confirmation<O>,
        me: &BTreeSet<Peer>,
        deadlines: Deadlines,
        attempt_deadline: Instant,
        transport: &impl SendToPeer,
        inbox: &mut impl ReceiveFromPeer,
    ) -> Outcome<O> {
        let hash = (confirm.transcript)(&output);
        let message = Confirm {
            header: dkg::wire::Header::new(confirm.suite, self.run_id),
            transcript: hash,
        };
        let bytes = match message.encode() {
            Ok(bytes) => bytes,
            Err(e) => return failed(Failure::Encode(e)),
        };
        let mine: BTreeSet<Peer> = me.intersection(&confirm.confirmers).copied().collect();
        for from in &mine {
            if let Err(e) = transport.send(*from, None, Channel::Agreement, &bytes) {
                return failed(Failure::Send(e));
            }
        }
        let others: Vec<Peer> = confirm.confirmers.difference(me).copied().collect();
        let round_deadline =
            attempt_deadline.min(round_deadline(self.started, self.round, deadlines.round));
        let matching = |confirms: &BTreeMap<Peer, [u8; 32]>| {
            mine.len()
                + others
                    .iter()
                    .filter(|p| confirms.get(*p) == Some(&hash))
                    .count()
        };
        loop {
            let agree = matching(&self.confirms);
            let missing = others
                .iter()
                .filter(|p| !self.confirms.contains_key(*p))
                .count();
            let now = Instant::now();
            let enough = agree >= confirm.quorum;
            if missing == 0
                || agree + missing < confirm.quorum
                || now >= attempt_deadline
                || (enough && now >= round_deadline)
            {
                break;
            }
            let wake = if enough {
                round_deadline
            } else {
                attempt_deadline
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                received = inbox.recv() => match received {
                    Some((from, bytes)) => self.accept(from, Zeroizing::new(bytes)),
                    None => return failed(Failure::InboxClosed),
                },
            }
        }
        if let Some(outcome) = equivocation(inbox, &self.run_id) {
            return outcome;
        }
        let agree = matching(&self.confirms);
        if agree >= confirm.quorum {
            return Outcome::Done(output);
        }
        let differ: Vec<Peer> = others
            .iter()
            .filter(|p| self.confirms.get(*p).is_some_and(|h| *h != hash))
            .copied()
            .collect();
        if differ.is_empty() {
            let silent = others
                .iter()
                .filter(|p| !self.confirms.contains_key(*p))
                .copied()
                .collect();
            return Outcome::TimedOut { silent };
        }
        failed(Failure::Unconfirmed {
            matching: agree,
            needed: confirm.quorum,
            differ,
        })
    }
}

/// An attempt that failed without culprits.
fn failed<O>(reason: Failure) -> Outcome<O> {
    Outcome::Failed {
        culprits: Vec::new(),
        reason,
    }
}

/// When round `round` (from 1) of an attempt that started at `started` stops waiting:
/// on the attempt's schedule, round `r` ends `r` round deadlines after the start, but
/// never less than one round deadline from now.
///
/// A deadline counted from each node's own entry into the round would cascade: a node
/// that waited out a round for a lost message enters the next round a whole deadline
/// after the others, and its message of that round then races their deadline, so some
/// step with it and some without, and their transcripts part (seen in the proptests at
/// 1.5% loss). On the common schedule a late node's next message still has a full
/// deadline of slack; the floor of one deadline from now keeps a node that fell behind
/// (slow start, slow step) from stepping at once without waiting at all.
fn round_deadline(started: Instant, round: u8, each: Duration) -> Instant {
    let scheduled = started + each.saturating_mul(u32::from(round));
    scheduled.max(Instant::now() + each)
}

/// A failed outcome if `inbox` caught senders equivocating in `run_id`; dealers among
/// them are the culprits (a receiver's index is not one a later attempt can exclude).
fn equivocation<O>(inbox: &impl ReceiveFromPeer, run_id: &[u8; 32]) -> Option<Outcome<O>> {
    let peers = inbox.equivocators(run_id);
    if peers.is_empty() {
        return None;
    }
    let culprits = peers
        .iter()
        .filter_map(|p| match p {
            Peer::Dealer(i) => Some(*i),
            Peer::Receiver(_) => None,
        })
        .collect();
    Some(Outcome::Failed {
        culprits,
        reason: Failure::Equivocation(peers.into_iter().collect()),
    })
}

/// How a run is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before giving up (at least 1).
    pub max_attempts: u32,
    /// Deadlines of each attempt.
    pub deadlines: Deadlines,
    /// Whether peers that timed out an attempt are excluded from the next one (culprits
    /// named by the protocol always are).
    pub exclude_silent: bool,
    /// The common clock of the attempts, when the run has one ([`Schedule`]); `None`:
    /// attempts count from 0 and each may take `deadlines.attempt`.
    pub schedule: Option<Schedule>,
}

/// The common clock of a run's attempts (a committee transition's: the block time its
/// proposal was made). Attempt `k` has the window `origin + [k, k + 1) ×
/// deadlines.attempt`: it starts no sooner than its window opens (an attempt that
/// failed early waits for the next window, where the others will be) and ends when
/// it closes; a node that starts late (a restart mid-run, a slow chain view) starts at
/// the attempt whose window is open. So every member counts attempts, and derives run
/// ids, alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// When attempt 0 began.
    pub origin: SystemTime,
    /// This node may have taken part in the run already (it restarted mid-run): it
    /// skips the attempt whose window is open, where its earlier incarnation's messages
    /// may be out (new ones under the same run id would be equivocation), and starts
    /// with the next.
    pub resumed: bool,
}

impl RetryPolicy {
    /// This policy on `schedule` ([`RetryPolicy::schedule`]).
    pub fn scheduled(self, schedule: Schedule) -> Self {
        Self {
            schedule: Some(schedule),
            ..self
        }
    }

    /// The attempt a node starting at `now` begins with: 0 without a schedule, else
    /// the one whose window holds `now` (the next one when resumed).
    pub fn first_attempt(&self, now: SystemTime) -> u32 {
        let Some(schedule) = self.schedule else {
            return 0;
        };
        let elapsed = now.duration_since(schedule.origin).unwrap_or_default();
        let each = self.deadlines.attempt.as_millis().max(1);
        let open = u32::try_from(elapsed.as_millis() / each).unwrap_or(u32::MAX);
        open.saturating_add(u32::from(schedule.resumed))
    }

    /// How long a node must wait at `now` before it may start attempt `attempt`: until
    /// its window opens on the schedule; zero without one.
    pub fn until_window(&self, attempt: u32, now: SystemTime) -> Duration {
        let Some(Schedule { origin, .. }) = self.schedule else {
            return Duration::ZERO;
        };
        let opens = origin + self.deadlines.attempt.saturating_mul(attempt);
        opens.duration_since(now).unwrap_or_default()
    }

    /// How long attempt `attempt`, starting at `now`, may take: until the end of its
    /// window on the common clock (zero once it passed), else `deadlines.attempt`.
    pub fn attempt_time(&self, attempt: u32, now: SystemTime) -> Duration {
        let Some(Schedule { origin, .. }) = self.schedule else {
            return self.deadlines.attempt;
        };
        let end = origin
            + self
                .deadlines
                .attempt
                .saturating_mul(attempt.saturating_add(1));
        end.duration_since(now).unwrap_or_default()
    }
}

/// What earlier attempts of a run exclude, handed to the next attempt's factory, which
/// leaves them out where the protocol allows it (a reshare's or repair's dealers, for
/// instance; a DKG's committee is fixed by the chain).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excluded {
    /// Parties the protocol blamed ([`dkg::Error::culprits`]).
    pub culprits: BTreeSet<PartyIndex>,
    /// Peers an attempt timed out on (only with [`RetryPolicy::exclude_silent`]); a
    /// peer that missed a round deadline of an attempt that then failed is not added
    /// (it may have stopped because that attempt failed for it too).
    pub silent: BTreeSet<Peer>,
}

/// A finished run.
#[derive(Debug)]
pub struct Finished<O> {
    /// The output.
    pub output: O,
    /// The run id of every attempt, in order (the last one succeeded).
    pub run_ids: Vec<[u8; 32]>,
    /// What the successful attempt dropped or missed.
    pub stats: Stats,
}

/// Why a run was given up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// `max_attempts` is 0, or on the common clock ([`RetryPolicy::schedule`]) the window
    /// of the last attempt has passed before this node started.
    #[error("no attempt left (max_attempts 0, or the last attempt's window has passed)")]
    NoAttempts,
    /// Every attempt failed or timed out; `last` says how the last one ended.
    #[error("gave up after {attempts} attempts")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The run id of every attempt, in order.
        run_ids: Vec<[u8; 32]>,
        /// What everything excluded by the end.
        excluded: Excluded,
        /// How the last attempt ended (never [`Outcome::Done`]).
        last: Outcome<()>,
    },
    /// The factory gave a run id already used by an earlier attempt; refused, because
    /// a reused run id lets a participant replay the earlier attempt's signed messages.
    #[error("attempt {attempt} reuses a run id")]
    RunIdReused {
        /// The attempt.
        attempt: u32,
    },
    /// The factory could not start the attempt.
    #[error("attempt {attempt} could not start: {source}")]
    Start {
        /// The attempt.
        attempt: u32,
        /// Why.
        #[source]
        source: dkg::Error,
    },
    /// The inbox closed: the node is shutting down.
    #[error("the inbox closed")]
    InboxClosed,
}

/// Runs a protocol to completion: attempt `0, 1, …` each start a fresh machine with
/// `start(attempt, &excluded)` (which derives the attempt's run id,
/// [`super::run_id::RunId::derive`]) and run it ([`run_attempt`]); a failed or
/// timed-out attempt adds its culprits (and, per the policy, its silent peers) to
/// `excluded` and the next attempt begins. A run id is never used twice.
pub async fn run_with_retries<M, F>(
    policy: RetryPolicy,
    me: &BTreeSet<Peer>,
    transport: &impl SendToPeer,
    inbox: &mut impl ReceiveFromPeer,
    start: F,
) -> Result<Finished<M::Output>, RunError>
where
    M: Machine,
    M::Message: WireMessage,
    F: FnMut(u32, &Excluded) -> Result<Start<M>, dkg::Error>,
{
    run_with_retries_confirmed(policy, me, transport, inbox, None, start).await
}

/// [`run_with_retries`], every attempt closed by `confirm` if given ([`Confirmation`]):
/// an attempt whose transcript too few confirmers share fails, and the next one begins.
pub async fn run_with_retries_confirmed<M, F>(
    policy: RetryPolicy,
    me: &BTreeSet<Peer>,
    transport: &impl SendToPeer,
    inbox: &mut impl ReceiveFromPeer,
    confirm: Option<&Confirmation<M::Output>>,
    mut start: F,
) -> Result<Finished<M::Output>, RunError>
where
    M: Machine,
    M::Message: WireMessage,
    F: FnMut(u32, &Excluded) -> Result<Start<M>, dkg::Error>,
{
    let mut excluded = Excluded::default();
    let mut run_ids: Vec<[u8; 32]> = Vec::new();
    let mut last = None;
    let mut backlog = Backlog::default();
    let first = policy.first_attempt(SystemTime::now());
    for attempt in first..policy.max_attempts {
        // Messages that arrive meanwhile wait in the inbox for the attempt.
        tokio::time::sleep(policy.until_window(attempt, SystemTime::now())).await;
        let s = start(attempt, &excluded).map_err(|source| RunError::Start { attempt, source })?;
        if run_ids.contains(&s.run_id) {
            return Err(RunError::RunIdReused { attempt });
        }
        run_ids.push(s.run_id);
        let mut stats = Stats::default();
        let until = Instant::now() + policy.attempt_time(attempt, SystemTime::now());
        match run_attempt_until(
            s,
            me,
            policy.deadlines,
            until,
            confirm,
            transport,
            inbox,
            &mut backlog,
            &mut stats,
        )
        .await
        {
            Outcome::Done(output) => {
                return Ok(Finished {
                    output,
                    run_ids,
                    stats,
                })
            }
            Outcome::Failed {
                reason: Failure::InboxClosed,
                ..
            } => return Err(RunError::InboxClosed),
            Outcome::Failed { culprits, reason } => {
                excluded.culprits.extend(culprits.iter().copied());
                tracing::warn!(attempt, ?culprits, %reason, "protocol attempt failed");
                last = Some(Outcome::Failed { culprits, reason });
            }
            Outcome::TimedOut { silent } => {
                if policy.exclude_silent {
                    excluded.silent.extend(silent.iter().copied());
                }
                tracing::warn!(attempt, ?silent, "protocol attempt timed out");
                last = Some(Outcome::TimedOut { silent });
            }
        }
    }
    match last {
        Some(last) => Err(RunError::Exhausted {
            attempts: policy.max_attempts,
            run_ids,
            excluded,
            last,
        }),
        None => Err(RunError::NoAttempts),
    }
}
