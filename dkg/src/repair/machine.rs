//! A repair behind the one step interface of [`crate::step`]: helpers are addressed as
//! [`Peer::Dealer`] and the lost party as [`Peer::Receiver`], all by their index in the
//! committee.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRngCore;

use super::{recover, start_helper, step1, step2, Helper, Params};
use crate::keys::KeyShare;
use crate::party::PartyIndex;
use crate::step::{first_per_sender, Channel, Incoming, Machine, Outgoing, Peer, Step};
use crate::suite::Suite;
use crate::Error;

/// Every message of a repair.
#[derive(Debug)]
pub enum Message {
    /// Step 1, from a helper to the other helpers and the lost party.
    Commitments(step1::Broadcast),
    /// Step 1, from a helper to another helper (secret).
    Part(step1::Direct),
    /// Step 2, from a helper to the lost party (secret).
    Sigma(step2::Direct),
}

impl Message {
    /// A copy of a broadcast (for a driver that fans it out); `None` for the secret
    /// directs.
    pub fn copy_broadcast(&self) -> Option<Self> {
        match self {
            Message::Commitments(m) => Some(Message::Commitments(m.clone())),
            Message::Part(_) | Message::Sigma(_) => None,
        }
    }
}

enum State<S: Suite> {
    /// A helper waiting for the other helpers' step-1 messages.
    Helper(Helper<S>),
    /// A helper that sent its `σ`.
    Helped,
    /// The lost party waiting for the helpers' commitments.
    Lost(Params<S>),
    /// The lost party waiting for the helpers' `σ`.
    Recovering(Params<S>, BTreeMap<PartyIndex, step1::Broadcast>),
}

/// One party's side of a repair as a [`Machine`]: a helper's output is `None`, the lost
/// party's its rebuilt share.
pub struct Repair<S: Suite>(State<S>);

impl<S: Suite> Repair<S> {
    /// Helper `share.index()` ([`start_helper`]): the state and its step-1 messages.
    pub fn start_helper(
        params: &Params<S>,
        share: &KeyShare<S>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, Vec<Outgoing<Message>>), Error> {
        let (state, broadcast, directs) = start_helper(params, share, rng)?;
        let from = Peer::Dealer(share.index());
        let mut out = vec![Outgoing {
            from,
            to: None,
            channel: Channel::Agreement,
            message: Message::Commitments(broadcast),
        }];
        out.extend(directs.into_iter().map(|(j, m)| Outgoing {
            from,
            to: Some(Peer::Dealer(j)),
            channel: Channel::Confidential,
            message: Message::Part(m),
        }));
        Ok((Self(State::Helper(state)), out))
    }

    /// The lost party: nothing to send, it waits for the helpers.
    pub fn start_lost(params: &Params<S>) -> Self {
        Self(State::Lost(params.clone()))
    }
}

fn helpers_except<S: Suite>(params: &Params<S>, me: Option<PartyIndex>) -> BTreeSet<Peer> {
    params
        .helpers
        .iter()
        .filter(|h| Some(**h) != me)
        .map(|h| Peer::Dealer(*h))
        .collect()
}

impl<S: Suite> Machine for Repair<S> {
    type Message = Message;
    type Error = Error;
    type Output = Option<KeyShare<S>>;

    fn expecting(&self) -> BTreeSet<Peer> {
        match &self.0 {
            State::Helper(h) => helpers_except(&h.params, Some(h.me)),
            State::Helped => BTreeSet::new(),
            State::Lost(p) | State::Recovering(p, _) => helpers_except(p, None),
        }
    }

    fn step(self, incoming: Vec<Incoming<Message>>) -> Result<Step<Self>, Error> {
        let expected = self.expecting();
        match self.0 {
            State::Helper(helper) => {
                let (me, lost) = (helper.me, helper.params.lost);
                let mut broadcasts = BTreeMap::new();
                let mut parts = BTreeMap::new();
                for Incoming { from, message } in incoming {
                    let (true, Peer::Dealer(i)) = (expected.contains(&from), from) else {
                        continue;
                    };
                    match message {
                        Message::Commitments(m) => {
                            broadcasts.entry(i).or_insert(m);
                        }
                        Message::Part(m) => {
                            parts.entry(i).or_insert(m);
                        }
                        Message::Sigma(_) => {}
                    }
                }
                let sigma = helper.advance(&broadcasts, &parts)?;
                let out = vec![Outgoing {
                    from: Peer::Dealer(me),
                    to: Some(Peer::Receiver(lost)),
                    channel: Channel::Confidential,
                    message: Message::Sigma(sigma),
                }];
                Ok(Step::Continue(Self(State::Helped), out))
            }
            State::Helped => Ok(Step::Done(None)),
            State::Lost(params) => {
                let broadcasts = first_per_sender(incoming, &expected, |m| match m {
                    Message::Commitments(m) => Some(m),
                    _ => None,
                });
                let next = State::Recovering(params, broadcasts);
                Ok(Step::Continue(Self(next), Vec::new()))
            }
            State::Recovering(params, broadcasts) => {
                let sigmas = first_per_sender(incoming, &expected, |m| match m {
                    Message::Sigma(m) => Some(m),
                    _ => None,
                });
                Ok(Step::Done(Some(recover(&params, &broadcasts, &sigmas)?)))
            }
        }
    }
}
