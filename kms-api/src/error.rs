//! Decoding errors ([`Error`]) and the error codes a node sends back ([`ErrorCode`]).

use std::fmt;

use crate::VERSION;

/// Why bytes did not decode into a valid message, or encoding failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message exceeds the limit of its kind ([`crate::MAX_FRAME_LEN`],
    /// [`crate::MAX_HANDSHAKE_PAYLOAD_LEN`]).
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Input length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// Not a CBOR message of the expected schema.
    #[error("wire message: {0}")]
    Wire(#[from] dkg::wire::DecodeError),
    /// A well-formed message of another version.
    #[error("unsupported kms-api version {version} (this build speaks {VERSION})")]
    UnsupportedVersion {
        /// The version the message carried.
        version: u16,
    },
    /// A variable-length field is over its limit.
    #[error("{field} is {len} bytes, the limit is {max}")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A handshake payload with zero bytes of evidence.
    #[error("the evidence is empty")]
    EmptyEvidence,
    /// A path, point or scalar inside the message is invalid (see [`tss::Error`]).
    #[error("invalid content: {0}")]
    Content(#[from] tss::Error),
    /// The 64 signature bytes are not a BIP-340 signature (`R.x` not on the curve or `s`
    /// not below the group order).
    #[error("malformed BIP-340 signature")]
    MalformedSignature,
    /// A [`crate::SignRequest`]'s signing set is empty, too large, or not strictly
    /// increasing.
    #[error("the signing set of {len} parties is empty, too large or not strictly increasing")]
    InvalidSigners {
        /// Its length.
        len: usize,
    },
    /// A group key or key share in a [`crate::GroupKeysResponse`] is not a valid point.
    #[error("malformed {what} point")]
    MalformedPoint {
        /// Which curve.
        what: &'static str,
    },
    /// The Noise static key named in a handshake payload is not the one the handshake
    /// authenticated.
    #[error("the payload's Noise static key is not the handshake's")]
    StaticKeyMismatch,
    /// The serializer failed (cannot happen for this crate's types).
    #[error("encoding failed: {reason}")]
    Encode {
        /// What the serializer reported.
        reason: String,
    },
}

impl Error {
    /// The code a node answers when a peer's bytes fail to decode with this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            Error::StaticKeyMismatch => ErrorCode::EvidenceRejected,
            Error::Encode { .. } => ErrorCode::Internal,
            Error::TooLarge { .. }
            | Error::Wire(_)
            | Error::FieldTooLong { .. }
            | Error::EmptyEvidence
            | Error::Content(_)
            | Error::MalformedSignature
            | Error::InvalidSigners { .. }
            | Error::MalformedPoint { .. } => ErrorCode::BadRequest,
        }
    }
}

/// What went wrong, as a node tells an application ([`crate::ErrorResponse`]).
///
/// Each code has a stable number (what goes on the wire) and a stable snake_case name
/// (logs, the CLI's JSON output). Numbers are never reused; a new code comes with a new
/// [`VERSION`], so a decoder refuses numbers it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request did not decode or is invalid (size, schema, path, purpose, app id).
    BadRequest,
    /// The message's version is not [`VERSION`].
    UnsupportedVersion,
    /// The evidence did not verify, is not bound to the session's Noise static key, or
    /// is too old.
    EvidenceRejected,
    /// The evidence is genuine but its measurement is not approved for the application.
    NotApproved,
    /// The application's build (or the application) has been revoked.
    Revoked,
    /// The application id is not registered on chain.
    UnknownApp,
    /// This node is not a member of the active committee (or of the one the app asked).
    NotAMember,
    /// The node's view of the chain is older than its staleness bound; it releases
    /// nothing until it catches up.
    StaleChain,
    /// Too many requests from this peer or application; retry after the indicated time.
    RateLimited,
    /// Signing could not gather a quorum of signers before its deadline.
    QuorumUnavailable,
    /// A fault inside the node.
    Internal,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::BadRequest,
        ErrorCode::UnsupportedVersion,
        ErrorCode::EvidenceRejected,
        ErrorCode::NotApproved,
        ErrorCode::Revoked,
        ErrorCode::UnknownApp,
        ErrorCode::NotAMember,
        ErrorCode::StaleChain,
        ErrorCode::RateLimited,
        ErrorCode::QuorumUnavailable,
        ErrorCode::Internal,
    ];

    /// The wire number.
    pub fn code(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 1,
            ErrorCode::UnsupportedVersion => 2,
            ErrorCode::EvidenceRejected => 3,
            ErrorCode::NotApproved => 4,
            ErrorCode::Revoked => 5,
            ErrorCode::UnknownApp => 6,
            ErrorCode::NotAMember => 7,
            ErrorCode::StaleChain => 8,
            ErrorCode::RateLimited => 9,
            ErrorCode::QuorumUnavailable => 10,
            ErrorCode::Internal => 11,
        }
    }

    /// The code with wire number `code`, if there is one.
    pub fn from_code(code: u16) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::EvidenceRejected => "evidence_rejected",
            ErrorCode::NotApproved => "not_approved",
            ErrorCode::Revoked => "revoked",
            ErrorCode::UnknownApp => "unknown_app",
            ErrorCode::NotAMember => "not_a_member",
            ErrorCode::StaleChain => "stale_chain",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::QuorumUnavailable => "quorum_unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code named `name` (snake_case), if there is one.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether the same request may succeed later at the same node without the
    /// application changing anything (the node's state or the load may change).
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::StaleChain
                | ErrorCode::RateLimited
                | ErrorCode::QuorumUnavailable
                | ErrorCode::Internal
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wire number that names no [`ErrorCode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code {0}")]
pub struct UnknownErrorCode(pub u16);

impl TryFrom<u16> for ErrorCode {
    type Error = UnknownErrorCode;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        ErrorCode::from_code(code).ok_or(UnknownErrorCode(code))
    }
}

impl From<ErrorCode> for u16 {
    fn from(code: ErrorCode) -> u16 {
        code.code()
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u16::deserialize(deserializer)?;
        ErrorCode::try_from(code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn error_code__should_round_trip_numbers_and_names() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_code(0), None);
        assert_eq!(ErrorCode::from_code(12), None);
        assert_eq!(ErrorCode::from_name("BadRequest"), None);
    }

    #[test]
    fn error_code_of_decode_errors__should_name_the_peer_fault() {
        let too_large = Error::TooLarge { len: 2, max: 1 };
        assert_eq!(too_large.code(), ErrorCode::BadRequest);
        assert_eq!(
            Error::Wire(dkg::wire::DecodeError::Truncated).code(),
            ErrorCode::BadRequest
        );
        assert_eq!(
            Error::UnsupportedVersion { version: 9 }.code(),
            ErrorCode::UnsupportedVersion
        );
        assert_eq!(Error::EmptyEvidence.code(), ErrorCode::BadRequest);
        assert_eq!(
            Error::Content(tss::Error::InvalidPathLength { len: 0 }).code(),
            ErrorCode::BadRequest
        );
        assert_eq!(Error::MalformedSignature.code(), ErrorCode::BadRequest);
        assert_eq!(Error::StaticKeyMismatch.code(), ErrorCode::EvidenceRejected);
        let encode = Error::Encode {
            reason: String::new(),
        };
        assert_eq!(encode.code(), ErrorCode::Internal);
    }

    #[test]
    fn error_code__transient_codes_should_be_the_documented_ones() {
        let transient: Vec<u16> = ErrorCode::ALL
            .into_iter()
            .filter(|c| c.is_transient())
            .map(ErrorCode::code)
            .collect();
        assert_eq!(transient, [8, 9, 10, 11]);
    }

    #[test]
    fn error_code__numbers_should_be_dense_and_ordered() {
        let numbers: Vec<u16> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        let expected: Vec<u16> = (1..=11).collect();
        assert_eq!(numbers, expected);
    }
}
