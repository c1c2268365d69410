//! FROST signing among nodes as one [`dkg::step::Machine`], so the node's one driver
//! runs it like the DKG (DESIGN §7 "Signing").
//!
//! Symmetric: every signer is its own coordinator, so every signer ends with the
//! signature and can answer the application itself, and no node is a single point of
//! failure for a signing session.
//!
//! ```text
//! round 1  every signer -> every other signer   Commitments   (Channel::Agreement)
//!          each builds the same SigningPackage from all commitments, signs    RFC 9591 §5.2
//! round 2  every signer -> every other signer   SignatureShareMsg (Channel::Authenticated)
//!          each aggregates and verifies (cheater detection names bad shares)  RFC 9591 §5.3
//! ```
//!
//! Commitments go with agreement: a signer that sent different commitments to
//! different signers would make honest signers sign different packages and then blame
//! each other's shares; the node's echo broadcast catches such a sender instead. What
//! is signed (message and the application's key) is not sent at all: every signer got
//! it from the application and the run id binds it (the node derives the run id from
//! it), so signers that were asked different things never meet.
//!
//! Nonces live in [`crate::sign::AwaitingPackage`], which signs once and zeroizes; a
//! session never outlives one attempt, and a retry is a new session with new nonces.

use std::collections::{BTreeMap, BTreeSet};

use dkg::secp::SecpKeyShare;
use dkg::step::{Channel, Incoming, Machine, Outgoing, Peer, Step};
use dkg::wire::{DecodeError, EncodeError, Header, SuiteId};
use frost_secp256k1_tr::round1::SigningCommitments;
use frost_secp256k1_tr::round2::SignatureShare;
use frost_secp256k1_tr::{Secp256K1Sha256TR, Signature};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::sign::{commit, AwaitingPackage, AwaitingShares, Coordinator};
use crate::tweak::AppSigningKey;
use crate::wire::{check_header, CommitmentPair, Commitments, SignatureShareMsg};
use crate::PartyIndex;

type Suite = Secp256K1Sha256TR;

/// A message of a signing session (CBOR, externally tagged by variant name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Round 1: the sender's nonce commitments.
    Commitments(Commitments),
    /// Round 2: the sender's signature share.
    Share(SignatureShareMsg),
}

/// The header of either message, read without the rest of the body.
type HeaderOnly = dkg::wire::LeadingHeader;

#[derive(Deserialize)]
enum Peek {
    Commitments(HeaderOnly),
    Share(HeaderOnly),
}

impl Message {
    /// CBOR bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        dkg::wire::encode(self)
    }

    /// Decodes and validates untrusted bytes: framing, header (version, suite) and every
    /// point and scalar inside.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let m: Self = dkg::wire::decode(bytes)?;
        let (header, valid) = match &m {
            Message::Commitments(c) => (&c.header, c.commitments.to_frost().map(drop)),
            Message::Share(s) => (&s.header, s.to_frost().map(drop)),
        };
        check_header(header, SuiteId::Secp256k1Tr)?;
        valid?;
        Ok(m)
    }

    /// The run id and the round (1 commitments, 2 share) without decoding the body.
    pub fn peek(bytes: &[u8]) -> Result<([u8; 32], u8), DecodeError> {
        Ok(match dkg::wire::decode_prefix::<Peek>(bytes)? {
            Peek::Commitments(h) => (h.0.run_id, 1),
            Peek::Share(h) => (h.0.run_id, 2),
        })
    }
}

/// One signer's session: sign `message` under the application key with exactly
/// `signers`.
pub struct SignSession {
    run_id: [u8; 32],
    me: PartyIndex,
    others: BTreeSet<Peer>,
    phase: Phase,
}

// One per signing session, moved once per round: boxing a variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Phase {
    Commit {
        nonces: AwaitingPackage<Suite>,
        coordinator: Coordinator<Suite>,
        own: SigningCommitments,
    },
    Share {
        shares: AwaitingShares<Suite>,
        own: SignatureShare,
    },
}

impl SignSession {
    /// Starts this node's session `run_id`: signs `message` for `app` with its `share`
    /// among `signers` (which must include it and be at least the threshold of
    /// committee members). Returns the session and its round-1 broadcast.
    pub fn start(
        run_id: [u8; 32],
        app: &AppSigningKey,
        share: &SecpKeyShare,
        message: &[u8],
        signers: &BTreeSet<PartyIndex>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, Vec<Outgoing<Message>>), Error> {
        let me = share.index();
        if !signers.contains(&me) {
            return Err(Error::NotASigner { index: me });
        }
        let coordinator = Coordinator::new(app.public_package(share.public()), message, signers)?;
        let key = app.key_package(share);
        let (nonces, own) = commit::<Suite>(key.package(), rng);
        let out = Outgoing {
            from: Peer::Dealer(me),
            to: None,
            channel: Channel::Agreement,
            message: Message::Commitments(Commitments {
                header: Header::new(SuiteId::Secp256k1Tr, run_id),
                party: me,
                commitments: CommitmentPair::from_frost(&own)?,
            }),
        };
        let others = signers
            .iter()
            .filter(|i| **i != me)
            .map(|i| Peer::Dealer(*i))
            .collect();
        Ok((
            Self {
                run_id,
                me,
                others,
                phase: Phase::Commit {
                    nonces,
                    coordinator,
                    own,
                },
            },
            vec![out],
        ))
    }
}

/// The first message of each of `others` that `pick` wants, attributed by the channel
/// it came on: a body naming another party or another run is ignored (identically by
/// every honest signer), so its sender counts as silent.
fn first_per_sender<T>(
    run_id: &[u8; 32],
    others: &BTreeSet<Peer>,
    incoming: Vec<Incoming<Message>>,
    pick: impl Fn(Message) -> Option<(Header, PartyIndex, T)>,
) -> BTreeMap<PartyIndex, T> {
    let mut out = BTreeMap::new();
    for Incoming { from, message } in incoming {
        let Peer::Dealer(i) = from else { continue };
        if !others.contains(&from) || out.contains_key(&i) {
            continue;
        }
        if let Some((header, party, v)) = pick(message) {
            if party == i && header.run_id == *run_id {
                out.insert(i, v);
            }
        }
    }
    out
}

impl Machine for SignSession {
    type Message = Message;
    type Output = Signature;
    type Error = Error;

    fn expecting(&self) -> BTreeSet<Peer> {
        self.others.clone()
    }

    fn step(self, incoming: Vec<Incoming<Message>>) -> Result<Step<Self>, Error> {
        let Self {
            run_id,
            me,
            others,
            phase,
        } = self;
        match phase {
            Phase::Commit {
                nonces,
                coordinator,
                own,
            } => {
                let mut commitments = first_per_sender(&run_id, &others, incoming, |m| match m {
                    Message::Commitments(c) => {
                        let frost = c.commitments.to_frost().ok()?;
                        Some((c.header, c.party, frost))
                    }
                    Message::Share(_) => None,
                });
                commitments.insert(me, own);
                // A silent signer is named here (MissingSigner), before any share.
                let (shares, package) = coordinator.package(commitments)?;
                let own = nonces.sign(&package)?;
                let out = Outgoing {
                    from: Peer::Dealer(me),
                    to: None,
                    channel: Channel::Authenticated,
                    message: Message::Share(SignatureShareMsg::new(run_id, me, &own)?),
                };
                let next = Self {
                    run_id,
                    me,
                    others,
                    phase: Phase::Share { shares, own },
                };
                Ok(Step::Continue(next, vec![out]))
            }
            Phase::Share { shares, own } => {
                let mut received = first_per_sender(&run_id, &others, incoming, |m| match m {
                    Message::Share(s) => {
                        let frost = s.to_frost().ok()?;
                        Some((s.header, s.party, frost))
                    }
                    Message::Commitments(_) => None,
                });
                received.insert(me, own);
                Ok(Step::Done(shares.aggregate(received)?))
            }
        }
    }
}
