//! The crate's error type.

use std::collections::{BTreeMap, BTreeSet};

use crate::keys::{ImportError, InvalidPublicKeys};
use crate::party::PartyIndex;

/// Invalid local parameters (caller misuse, never a peer's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// `t` is 0 or larger than `n`.
    #[error("threshold {t} is invalid for {n} parties")]
    Threshold {
        /// Threshold.
        t: u16,
        /// Committee size.
        n: u16,
    },
    /// This party is neither a dealer nor a receiver of the run, or has no share where
    /// one is needed.
    #[error("party {0} has no role in this run")]
    NoRole(PartyIndex),
    /// Neither a dealer nor a receiver index given.
    #[error("this party has neither a dealer nor a receiver index")]
    NoRoles,
    /// This party's dealer and receiver indices carry different identity keys.
    #[error("dealer {dealer} and receiver {receiver} have different identity keys")]
    RolesOfTwoParties {
        /// This party's dealer (old committee) index.
        dealer: PartyIndex,
        /// This party's receiver (new committee) index.
        receiver: PartyIndex,
    },
    /// A key share was given whose public keys differ from the run's, or that is not
    /// the share of this party's dealer index.
    #[error("the key share does not belong to this committee")]
    ForeignShare,
    /// No identity (signature verification) key is given for this participant.
    #[error("no identity key for party {0}")]
    MissingIdentity(PartyIndex),
    /// The signer given to round 1 does not sign for this party's identity key.
    #[error("the signer does not match the identity key of party {0}")]
    WrongSigner(PartyIndex),
    /// Too few parties to run at all.
    #[error("{have} parties given, at least {need} needed")]
    TooFewParties {
        /// Parties given.
        have: usize,
        /// Minimum.
        need: usize,
    },
}

/// A dealer's Ed25519 signature over the digest of its round-1 broadcast, as reported
/// in round 3 (or re-broadcast in round 4). Anyone holding the dealer's identity key and
/// knowing the run (header, protocol) can check it:
/// `verify(identity, vss::signed_message(header, protocol, dealer, digest), signature)`
/// ([`crate::vss::signed_message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignedDigest {
    /// SHA-256 round-1 digest (docs/PROTOCOL.md "DKG wire messages").
    pub digest: [u8; 32],
    /// The dealer's signature over it.
    pub signature: [u8; 64],
}

/// Why a party was blamed (and, if it deals, left out of the qualified set). Every
/// honest party reaches the same verdicts, because they are computed from broadcast
/// data only (see [`crate::vss`] for the channel assumptions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Nobody reported a validly signed round-1 broadcast from this dealer, and it did
    /// not re-broadcast one in round 4.
    MissingBroadcast,
    /// The round-1 broadcast has a wrong header or undecodable or wrongly sized fields.
    Malformed,
    /// A commitment point is on the curve but outside the prime-order subgroup.
    NotInSubgroup,
    /// The proof of knowledge of the constant term does not verify.
    InvalidProof,
    /// The commitment's constant term is not the required value (`PK_i` when
    /// resharing, the identity when refreshing).
    BadConstantTerm,
    /// Provable equivocation: two different round-1 digests, both signed by this
    /// dealer's identity key (the two smallest digests seen, in ascending order).
    Equivocation {
        /// The first signed digest.
        first: Box<SignedDigest>,
        /// The second, different, signed digest.
        second: Box<SignedDigest>,
    },
    /// Some participants reported this dealer's round-1 broadcast as missing, and the
    /// dealer did not re-broadcast it (validly signed) in round 4.
    MissingRebroadcast {
        /// The receivers that reported it missing, by receiver index.
        reporters: BTreeSet<PartyIndex>,
    },
    /// Provable lie by a *reporter*: its round-3 echo for `dealer` carries a signature
    /// that does not verify under that dealer's identity key. Honest parties echo only
    /// validly signed broadcasts, so the reporter is malicious; its echo is ignored and
    /// it is excluded from QUAL if it deals.
    ForgedEcho {
        /// The dealer the forged echo is about, by dealer index.
        dealer: PartyIndex,
        /// The forged report (digest and the signature that does not verify).
        report: Box<SignedDigest>,
    },
    /// The dealer answered a complaint with a share that does not match its commitment.
    FailedJustification {
        /// The complaining receiver, by receiver index.
        complainer: PartyIndex,
    },
    /// The dealer did not answer a complaint.
    MissingJustification {
        /// The complaining receiver, by receiver index.
        complainer: PartyIndex,
    },
}

/// Errors of every protocol in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Local misuse: bad parameters.
    #[error("invalid parameters: {reason}")]
    InvalidParameters {
        /// What is wrong.
        reason: ParamError,
    },
    /// Local misuse: an input map contains this party itself, or a party that is not a
    /// member of the run.
    #[error("message from unexpected sender {sender}")]
    UnexpectedSender {
        /// The sender.
        sender: PartyIndex,
    },
    /// A peer sent a message whose header does not match the run (version, suite or run
    /// id), or whose fields do not decode.
    #[error("party {culprit} sent a malformed message")]
    MalformedMessage {
        /// The sender.
        culprit: PartyIndex,
    },
    /// A party sent two different messages in the same round ([`crate::inbox::Inbox`]).
    #[error("party {sender} sent two different messages in one round")]
    ConflictingMessage {
        /// The sender.
        sender: PartyIndex,
    },
    /// Fewer than the required number of dealers stayed qualified.
    #[error("only {qualified} dealers qualified, {needed} needed")]
    TooFewQualified {
        /// Size of the qualified set.
        qualified: usize,
        /// Minimum (`t` of the dealing committee).
        needed: usize,
        /// Excluded dealers with the reason.
        disqualified: BTreeMap<PartyIndex, Fault>,
    },
    /// A party that deals but does not receive lacks the round-1 broadcast every
    /// receiver agreed on (none reported it missing, so it was not re-broadcast): it
    /// cannot compute the new public keys. Blames nobody (it cannot tell a loss from
    /// withholding); the receivers complete without it.
    #[error("missed the round-1 broadcast of dealer {dealer} that the receivers agreed on")]
    MissedBroadcast {
        /// The dealer whose broadcast is missing.
        dealer: PartyIndex,
    },
    /// A party that deals but does not receive got no receiver's round-3 report, so it
    /// cannot judge round 1 (it relies on the receivers' echoes). Blames nobody.
    #[error("no receiver's round-3 report arrived")]
    NoReceiverReports,
    /// This party holds no valid share from a qualified dealer. Happens only if this
    /// party's own complaint was not delivered to the others.
    #[error("no valid share from qualified dealer {dealer}")]
    MissingShare {
        /// The dealer.
        dealer: PartyIndex,
    },
    /// Share repair: a helper's contribution does not match its public commitments.
    #[error("repair helper {culprit} sent an invalid contribution")]
    InvalidRepairContribution {
        /// The helper.
        culprit: PartyIndex,
    },
    /// The computed keys are inconsistent. Cannot happen when the checks above passed;
    /// reported rather than returning a wrong key.
    #[error("computed key material is inconsistent: {0}")]
    Inconsistent(#[from] InvalidPublicKeys),
    /// The identity signer given to round 1 failed to sign.
    #[error("the identity signer failed: {reason}")]
    Signer {
        /// What the signer reported.
        reason: String,
    },
    /// A key share could not be built or imported.
    #[error("key share: {0}")]
    KeyShare(#[from] ImportError),
}

impl From<ParamError> for Error {
    fn from(reason: ParamError) -> Self {
        Error::InvalidParameters { reason }
    }
}

impl Error {
    /// Parties to exclude. Exhaustive match: a new variant forces a decision.
    pub fn culprits(&self) -> Vec<PartyIndex> {
        match self {
            Error::MalformedMessage { culprit } => vec![*culprit],
            Error::ConflictingMessage { sender } => vec![*sender],
            Error::InvalidRepairContribution { culprit } => vec![*culprit],
            Error::TooFewQualified { disqualified, .. } => disqualified.keys().copied().collect(),
            Error::MissingShare { dealer } => vec![*dealer],
            Error::InvalidParameters { .. }
            | Error::UnexpectedSender { .. }
            | Error::MissedBroadcast { .. }
            | Error::NoReceiverReports
            | Error::Inconsistent(_)
            | Error::Signer { .. }
            | Error::KeyShare(_) => Vec::new(),
        }
    }
}
