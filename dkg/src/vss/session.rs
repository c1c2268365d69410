//! What is fixed before round 1: the protocol, the run, the two index spaces and the
//! roles of this party.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::VerifyingKey;

use crate::error::ParamError;
use crate::keys::PublicKeys;
use crate::party::{PartyIndex, Roles};
use crate::suite::Suite;
use crate::wire::{Header, VERSION};
use crate::Error;

/// Which protocol a run is.
pub(crate) enum Kind<S: Suite> {
    /// Fresh key: random constant terms with proofs of knowledge.
    Dkg,
    /// Old dealers share their shares of `old`; new parties combine with Lagrange.
    Reshare { old: PublicKeys<S> },
    /// Same committee, zero constant terms added to the old shares.
    Refresh { old: PublicKeys<S> },
}

impl<S: Suite> Kind<S> {
    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Kind::Dkg => Protocol::Dkg,
            Kind::Reshare { .. } => Protocol::Reshare,
            Kind::Refresh { .. } => Protocol::Refresh,
        }
    }
}

/// The protocol of a run, as bound into the round-1 signatures ([`signed_message`](crate::vss::signed_message)) and
/// the transcript hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// Fresh DKG ([`crate::pedersen`]).
    Dkg,
    /// Resharing ([`crate::reshare::start`]).
    Reshare,
    /// Proactive refresh ([`crate::reshare::start_refresh`]).
    Refresh,
}

impl Protocol {
    /// Stable one-byte code used inside hashes: 1 DKG, 2 reshare, 3 refresh.
    pub fn code(self) -> u8 {
        match self {
            Protocol::Dkg => 1,
            Protocol::Reshare => 2,
            Protocol::Refresh => 3,
        }
    }
}

/// Everything fixed before round 1.
///
/// Dealers and receivers are numbered in two index spaces: a dealer by its index in the
/// dealing (old) committee, a receiver by its index in the receiving (new) committee
/// (DESIGN §7). For a DKG and a refresh the two are the same committee. Rounds 1, 2 and
/// 4 are sent by dealers (maps keyed by dealer index), round 3 by receivers (keyed by
/// receiver index); one party holding both roles is linked by its identity key.
pub(crate) struct Session<S: Suite> {
    pub(crate) kind: Kind<S>,
    pub(crate) run_id: [u8; 32],
    pub(crate) me: Roles,
    /// Dealer index (old committee) → identity (Ed25519) key.
    pub(crate) dealers: BTreeMap<PartyIndex, VerifyingKey>,
    /// Receiver index (new committee) → identity (Ed25519) key.
    pub(crate) receivers: BTreeMap<PartyIndex, VerifyingKey>,
    /// Threshold of the sharing being created.
    pub(crate) threshold: u16,
    /// Minimum qualified dealers (`t` of the dealing committee: at least one is honest).
    pub(crate) min_qualified: usize,
}

impl<S: Suite> Session<S> {
    pub(crate) fn header(&self) -> Header {
        Header::new(S::ID, self.run_id)
    }

    pub(crate) fn header_ok(&self, h: &Header) -> bool {
        h.version == VERSION && h.suite == S::ID && h.run_id == self.run_id
    }

    pub(crate) fn receiver_set(&self) -> BTreeSet<PartyIndex> {
        self.receivers.keys().copied().collect()
    }

    pub(crate) fn is_dealer(&self) -> bool {
        self.me.dealer.is_some()
    }

    pub(crate) fn is_receiver(&self) -> bool {
        self.me.receiver.is_some()
    }

    /// The dealer index of the party that is receiver `j` (same identity key), if it
    /// also deals.
    pub(crate) fn dealer_of_receiver(&self, j: PartyIndex) -> Option<PartyIndex> {
        let key = self.receivers.get(&j)?;
        self.dealers
            .iter()
            .find(|(_, k)| *k == key)
            .map(|(d, _)| *d)
    }

    /// Checks the roles of this party: at least one, each in its committee, and one
    /// identity key for both.
    pub(crate) fn check_roles(&self) -> Result<(), ParamError> {
        let dealer_key = match self.me.dealer {
            Some(d) => Some(self.dealers.get(&d).ok_or(ParamError::NoRole(d))?),
            None => None,
        };
        let receiver_key = match self.me.receiver {
            Some(j) => Some(self.receivers.get(&j).ok_or(ParamError::NoRole(j))?),
            None => None,
        };
        match (self.me.dealer, dealer_key, self.me.receiver, receiver_key) {
            (None, _, None, _) => Err(ParamError::NoRoles),
            (Some(dealer), Some(a), Some(receiver), Some(b)) if a != b => {
                Err(ParamError::RolesOfTwoParties { dealer, receiver })
            }
            _ => Ok(()),
        }
    }
}

/// The identity keys of `parties`, each required.
pub(crate) fn committee_keys(
    parties: &BTreeSet<PartyIndex>,
    identities: &BTreeMap<PartyIndex, VerifyingKey>,
) -> Result<BTreeMap<PartyIndex, VerifyingKey>, ParamError> {
    parties
        .iter()
        .map(|p| {
            let key = identities.get(p).ok_or(ParamError::MissingIdentity(*p))?;
            Ok((*p, *key))
        })
        .collect()
}

/// Local misuse check of an input map of a round sent by dealers (1, 2, 4), keyed by
/// dealer index: no entry from this party itself or from outside the dealers. The
/// driver addresses senders in the index space of the round (see [`Session`]), so a
/// party without the sending role has no key to appear under.
pub(crate) fn check_dealer_senders<'a, S: Suite>(
    session: &Session<S>,
    senders: impl Iterator<Item = &'a PartyIndex>,
) -> Result<(), Error> {
    for s in senders {
        if Some(*s) == session.me.dealer || !session.dealers.contains_key(s) {
            return Err(Error::UnexpectedSender { sender: *s });
        }
    }
    Ok(())
}

/// [`check_dealer_senders`] for round 3, sent by receivers and keyed by receiver index.
pub(crate) fn check_receiver_senders<'a, S: Suite>(
    session: &Session<S>,
    senders: impl Iterator<Item = &'a PartyIndex>,
) -> Result<(), Error> {
    for s in senders {
        if Some(*s) == session.me.receiver || !session.receivers.contains_key(s) {
            return Err(Error::UnexpectedSender { sender: *s });
        }
    }
    Ok(())
}
