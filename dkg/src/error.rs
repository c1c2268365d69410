//! The crate's error type.

use std::collections::BTreeMap;

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
    /// A key share was given whose public keys differ from the run's.
    #[error("the key share does not belong to this committee")]
    ForeignShare,
    /// Too few parties to run at all.
    #[error("{have} parties given, at least {need} needed")]
    TooFewParties {
        /// Parties given.
        have: usize,
        /// Minimum.
        need: usize,
    },
}

/// Why a dealer was left out of the qualified set. Every honest party reaches the same
/// verdicts, because they are computed from broadcast data only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// No round-1 broadcast.
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
    /// Parties report different round-1 broadcasts from this dealer (equivocation, or
    /// a broadcast delivered to only some parties). The evidence maps each reporter to
    /// the digest of the broadcast it received (`None`: received nothing).
    ///
    /// The reports are authenticated by the transport, not signed, so a lying reporter
    /// can cast suspicion on an honest dealer; excluding that dealer is still safe,
    /// since the qualified set must keep at least `t` dealers (so at least one honest).
    InconsistentBroadcast {
        /// Reporter → digest of what it received.
        echoes: BTreeMap<PartyIndex, Option<[u8; 32]>>,
    },
    /// The dealer answered a complaint with a share that does not match its commitment.
    FailedJustification {
        /// The complaining party.
        complainer: PartyIndex,
    },
    /// The dealer did not answer a complaint.
    MissingJustification {
        /// The complaining party.
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
            Error::InvalidRepairContribution { culprit } => vec![*culprit],
            Error::TooFewQualified { disqualified, .. } => disqualified.keys().copied().collect(),
            Error::MissingShare { dealer } => vec![*dealer],
            Error::InvalidParameters { .. }
            | Error::UnexpectedSender { .. }
            | Error::Inconsistent(_)
            | Error::KeyShare(_) => Vec::new(),
        }
    }
}
