//! The crate's one error type.
//!
//! Peer faults (a bad share, a malformed ciphertext) are kept apart from local misuse (a
//! path that is too long, asking for fewer signers than the threshold), and every variant
//! that a misbehaving party can cause names it through [`Error::culprits`].

use dkg::PartyIndex;

/// Everything that can go wrong in `tss`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- local misuse -------------------------------------------------------------
    /// DESIGN §4.1: a path is 1..=255 bytes of UTF-8.
    #[error("derivation path must be 1..=255 bytes, got {len}")]
    InvalidPathLength {
        /// Length of the rejected path in bytes.
        len: usize,
    },
    /// A signing run names fewer signers than the threshold.
    #[error("{got} signers named, the threshold is {needed}")]
    TooFewSigners {
        /// The threshold.
        needed: u16,
        /// Signers named.
        got: usize,
    },
    /// A signing run names a party that holds no key share in this committee.
    #[error("party {index} is not a member of the committee")]
    NotACommitteeMember {
        /// The party.
        index: PartyIndex,
    },
    /// The signer's own commitment is not in the signing package it was asked to sign.
    #[error("the signing package does not contain this signer's commitment")]
    OwnCommitmentMissing,
    /// This signer is not in the signing set it was asked to sign with.
    #[error("party {index} is not in the signing set")]
    NotASigner {
        /// This signer.
        index: PartyIndex,
    },
    /// The key share is not for the committee whose public keys were given.
    #[error("key share and public keys belong to different committees")]
    KeyMismatch,

    // --- peer faults --------------------------------------------------------------
    /// A signature share (PRF or FROST) does not verify under its sender's public share.
    #[error("party {culprit} sent a signature share that does not verify")]
    InvalidShare {
        /// The sender.
        culprit: PartyIndex,
    },
    /// A share came from a party that is not in the committee.
    #[error("share from party {culprit}, which is not a committee member")]
    UnknownSender {
        /// The sender.
        culprit: PartyIndex,
    },
    /// Fewer than `t` valid PRF shares arrived; `culprits` sent invalid ones.
    #[error("{valid} valid shares, {needed} needed; invalid shares from {culprits:?}")]
    NotEnoughShares {
        /// The threshold.
        needed: u16,
        /// How many valid shares were received.
        valid: usize,
        /// Parties whose shares failed verification or who are not committee members.
        culprits: Vec<PartyIndex>,
    },
    /// FROST: some signature shares are invalid; the run must restart without them.
    #[error("invalid FROST signature shares from {culprits:?}")]
    InvalidSignatureShares {
        /// Every signer whose share failed verification.
        culprits: Vec<PartyIndex>,
    },
    /// FROST: commitments or shares do not come from exactly the named signers.
    #[error("message from party {index}, which is not a signer of this run")]
    UnexpectedSigner {
        /// The unexpected party.
        index: PartyIndex,
    },
    /// FROST: a named signer did not send its message.
    #[error("party {index} did not send its message")]
    MissingSigner {
        /// The silent party.
        index: PartyIndex,
    },
    /// FROST rejected the run for a reason that names no party (for example an identity
    /// commitment), see [`FrostFailure`].
    #[error("FROST failed: {0:?}")]
    Frost(FrostFailure),

    // --- bytes that do not decode --------------------------------------------------
    /// Bytes are not a valid compressed point of the expected group (or are the identity
    /// where that is not allowed).
    #[error("invalid {what} encoding")]
    MalformedPoint {
        /// Which value.
        what: &'static str,
    },
    /// The sealed box is shorter than its fixed parts.
    #[error("sealed box of {len} bytes is too short")]
    CiphertextTooShort {
        /// Its length.
        len: usize,
    },
    /// The sealed box's version byte is unknown.
    #[error("unsupported sealed box version {version}")]
    UnsupportedVersion {
        /// The version byte.
        version: u8,
    },
    /// AEAD decryption failed: wrong identity, wrong key or tampered ciphertext.
    #[error("sealed box does not open under this identity")]
    DecryptionFailed,
    /// A combined or supplied `sigma` does not verify under the group key.
    #[error("sigma does not verify under the group public key")]
    InvalidSigma,
    /// A wire message did not decode.
    #[error("wire message: {0}")]
    Wire(#[from] dkg::wire::DecodeError),
    /// A wire message carries an unexpected header.
    #[error("wire message header: version {version}, wrong suite or unsupported")]
    WrongHeader {
        /// The version the message carried.
        version: u16,
    },
}

/// Reasons from `frost-core` that name no party. Kept as a closed enum so this crate's
/// [`Error`] stays free of generic parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrostFailure {
    /// A nonce commitment is the identity.
    IdentityCommitment,
    /// The aggregate signature does not verify (and no share was found to be bad).
    InvalidSignature,
    /// A point or scalar did not decode.
    Malformed,
    /// Wrong number or set of identifiers, commitments or shares.
    InconsistentParticipants,
    /// Any other `frost-core` error.
    Other,
}

/// So a driver of `dkg::step::Machine`s can run this crate's signing session.
impl dkg::step::Blame for Error {
    fn culprits(&self) -> Vec<PartyIndex> {
        Error::culprits(self)
    }
}

impl Error {
    /// Parties to exclude from the next attempt. Exhaustive match: a new variant forces a
    /// decision.
    pub fn culprits(&self) -> Vec<PartyIndex> {
        match self {
            Error::InvalidShare { culprit } | Error::UnknownSender { culprit } => vec![*culprit],
            Error::NotEnoughShares { culprits, .. }
            | Error::InvalidSignatureShares { culprits } => culprits.clone(),
            Error::UnexpectedSigner { index } | Error::MissingSigner { index } => vec![*index],
            Error::InvalidPathLength { .. }
            | Error::TooFewSigners { .. }
            | Error::NotACommitteeMember { .. }
            | Error::OwnCommitmentMissing
            | Error::NotASigner { .. }
            | Error::KeyMismatch
            | Error::Frost(_)
            | Error::MalformedPoint { .. }
            | Error::CiphertextTooShort { .. }
            | Error::UnsupportedVersion { .. }
            | Error::DecryptionFailed
            | Error::InvalidSigma
            | Error::Wire(_)
            | Error::WrongHeader { .. } => Vec::new(),
        }
    }
}
