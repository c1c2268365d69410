//! The rounds of a DKG, reshare or refresh behind the one step interface of
//! [`crate::step`].

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{Signature, Signer, VerifyingKey};
use rand_core::CryptoRngCore;

use super::output::Output;
use super::rounds::{Round1, Round2, Round3, Round4};
use super::session::Session;
use super::{round1, round2, round3, round4};
use crate::keys::KeyShare;
use crate::party::PartyIndex;
use crate::step::{first_per_sender, Channel, Incoming, Machine, Outgoing, Peer, Step};
use crate::suite::Suite;
use crate::{pedersen, reshare, Error};

/// Every message of the four rounds.
#[derive(Debug)]
pub enum Message {
    /// Round 1, from a dealer to everyone.
    Round1(round1::Broadcast),
    /// Round 2, from a dealer to one receiver (secret).
    Round2(round2::Direct),
    /// Round 3, from a receiver to everyone.
    Round3(round3::Broadcast),
    /// Round 4, from a dealer to everyone.
    Round4(round4::Broadcast),
}

impl Message {
    /// A copy of a broadcast (for a driver that fans it out); `None` for the secret
    /// round-2 share, which has one recipient.
    pub fn copy_broadcast(&self) -> Option<Self> {
        match self {
            Message::Round1(m) => Some(Message::Round1(m.clone())),
            Message::Round2(_) => None,
            Message::Round3(m) => Some(Message::Round3(m.clone())),
            Message::Round4(m) => Some(Message::Round4(m.clone())),
        }
    }
}

/// Boxed: the states are large and hold secrets; a move copies only the pointer.
enum State<S: Suite> {
    Round1(Box<Round1<S>>),
    Round2(Box<Round2<S>>),
    Round3(Box<Round3<S>>),
    Round4(Box<Round4<S>>),
}

/// A DKG, reshare or refresh run as a [`Machine`]: four steps, then the [`Output`].
pub struct Vss<S: Suite>(State<S>);

type Started<S> = (Vss<S>, Vec<Outgoing<Message>>);

impl<S: Suite> Vss<S> {
    /// A fresh DKG ([`pedersen::start`]).
    pub fn start_dkg(
        params: &pedersen::Params,
        signer: &impl Signer<Signature>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Started<S>, Error> {
        let (state, msg) = pedersen::start::<S>(params, signer, rng)?;
        Ok(Self::from_round1(state, Some(msg)))
    }

    /// A reshare ([`reshare::start`]).
    pub fn start_reshare(
        params: &reshare::Params<S>,
        share: Option<&KeyShare<S>>,
        signer: &impl Signer<Signature>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Started<S>, Error> {
        let (state, msg) = reshare::start(params, share, signer, rng)?;
        Ok(Self::from_round1(state, msg))
    }

    /// A refresh ([`reshare::start_refresh`]).
    pub fn start_refresh(
        run_id: [u8; 32],
        share: &KeyShare<S>,
        identities: &BTreeMap<PartyIndex, VerifyingKey>,
        signer: &impl Signer<Signature>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Started<S>, Error> {
        let (state, msg) = reshare::start_refresh(run_id, share, identities, signer, rng)?;
        Ok(Self::from_round1(state, Some(msg)))
    }

    /// Wraps a started round 1 and its broadcast (if this party deals).
    pub fn from_round1(state: Round1<S>, broadcast: Option<round1::Broadcast>) -> Started<S> {
        let out = match (state.session().me.dealer, broadcast) {
            (Some(d), Some(m)) => vec![to_all(
                Peer::Dealer(d),
                Channel::Authenticated,
                Message::Round1(m),
            )],
            _ => Vec::new(),
        };
        (Self(State::Round1(Box::new(state))), out)
    }

    fn session(&self) -> &Session<S> {
        match &self.0 {
            State::Round1(s) => s.session(),
            State::Round2(s) => s.session(),
            State::Round3(s) => s.session(),
            State::Round4(s) => s.session(),
        }
    }
}

fn to_all(from: Peer, channel: Channel, message: Message) -> Outgoing<Message> {
    Outgoing {
        from,
        to: None,
        channel,
        message,
    }
}

/// The other dealers (`Peer::Dealer`), or the other receivers.
fn others<S: Suite>(session: &Session<S>, dealers: bool) -> BTreeSet<Peer> {
    if dealers {
        let me = session.me.dealer;
        session
            .dealers
            .keys()
            .filter(|d| Some(**d) != me)
            .map(|d| Peer::Dealer(*d))
            .collect()
    } else {
        let me = session.me.receiver;
        session
            .receivers
            .keys()
            .filter(|j| Some(**j) != me)
            .map(|j| Peer::Receiver(*j))
            .collect()
    }
}

/// The other dealers that owe a round-4 message: only they send one.
fn owing<S: Suite>(state: &Round4<S>) -> BTreeSet<Peer> {
    others(state.session(), true)
        .into_iter()
        .filter(|p| matches!(p, Peer::Dealer(d) if state.obligated().contains(d)))
        .collect()
}

impl<S: Suite> Machine for Vss<S> {
    type Message = Message;
    type Error = Error;
    type Output = Output<S>;

    fn expecting(&self) -> BTreeSet<Peer> {
        let session = self.session();
        match &self.0 {
            State::Round1(_) => others(session, true),
            State::Round4(s) => owing(s),
            State::Round2(_) if session.is_receiver() => others(session, true),
            State::Round2(_) => BTreeSet::new(),
            State::Round3(_) => others(session, false),
        }
    }

    fn step(self, incoming: Vec<Incoming<Message>>) -> Result<Step<Self>, Error> {
        let expected = self.expecting();
        let me = self.session().me;
        match self.0 {
            State::Round1(state) => {
                let received = first_per_sender(incoming, &expected, |m| match m {
                    Message::Round1(m) => Some(m),
                    _ => None,
                });
                let (next, directs) = state.advance(&received)?;
                let out = match me.dealer {
                    Some(d) => directs
                        .into_iter()
                        .map(|(j, m)| Outgoing {
                            from: Peer::Dealer(d),
                            to: Some(Peer::Receiver(j)),
                            channel: Channel::Confidential,
                            message: Message::Round2(m),
                        })
                        .collect(),
                    None => Vec::new(),
                };
                Ok(Step::Continue(Self(State::Round2(Box::new(next))), out))
            }
            State::Round2(state) => {
                let received = first_per_sender(incoming, &expected, |m| match m {
                    Message::Round2(m) => Some(m),
                    _ => None,
                });
                let (next, msg) = state.advance(&received)?;
                let out = match (me.receiver, msg) {
                    (Some(j), Some(m)) => {
                        vec![to_all(
                            Peer::Receiver(j),
                            Channel::Agreement,
                            Message::Round3(m),
                        )]
                    }
                    _ => Vec::new(),
                };
                Ok(Step::Continue(Self(State::Round3(Box::new(next))), out))
            }
            State::Round3(state) => {
                let received = first_per_sender(incoming, &expected, |m| match m {
                    Message::Round3(m) => Some(m),
                    _ => None,
                });
                let (next, msg) = state.advance(&received)?;
                let out = match (me.dealer, msg) {
                    (Some(d), Some(m)) => {
                        vec![to_all(
                            Peer::Dealer(d),
                            Channel::Agreement,
                            Message::Round4(m),
                        )]
                    }
                    _ => Vec::new(),
                };
                if out.is_empty() && owing(&next).is_empty() {
                    // No dealer owes a round-4 message: the run ends here.
                    return Ok(Step::Done(next.finish(&BTreeMap::new())?));
                }
                Ok(Step::Continue(Self(State::Round4(Box::new(next))), out))
            }
            State::Round4(state) => {
                let received = first_per_sender(incoming, &expected, |m| match m {
                    Message::Round4(m) => Some(m),
                    _ => None,
                });
                Ok(Step::Done(state.finish(&received)?))
            }
        }
    }
}
