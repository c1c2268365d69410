//! The crate's one error type.
//!
//! Every platform maps its failures onto the same kinds, so that a caller (and the
//! `kms attest` CLI) can tell "the signature is wrong" from "the collateral expired"
//! from "policy refused it" without knowing the platform. Platform-specific detail goes
//! into the `what` fields (static strings naming the object that failed), never into
//! free-form strings.

use crate::policy::PolicyViolation;
use crate::types::{Platform, UnixTime};

/// Why evidence was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform's Cargo feature is off in this build.
    #[error("support for platform {0} is not compiled into this build")]
    PlatformDisabled(Platform),

    /// The bytes are not evidence of any platform this crate knows.
    #[error("the evidence is not in a recognised format (expected a TDX/SGX quote, an SEV-SNP report, a Nitro document or simulated evidence, as raw bytes, hex, base64 or CBOR)")]
    UnknownFormat,

    /// The evidence (or a structure inside it) cannot be parsed.
    #[error("malformed {what}")]
    Malformed {
        /// The structure that failed to parse.
        what: &'static str,
    },

    /// Bytes outside the signed region that the format fixes (reserved bytes, the zero
    /// extension of a fixed-width integer, bytes after the end of the structure) are
    /// not what the format says. The signature would not cover them, so accepting them
    /// would let anyone make many byte strings of one piece of evidence.
    #[error("non-canonical {what}: unexpected byte at offset {offset}")]
    NonCanonical {
        /// The structure.
        what: &'static str,
        /// Offset of the first offending byte in the evidence.
        offset: usize,
    },

    /// A signature does not verify.
    #[error("the signature over {what} is invalid")]
    BadSignature {
        /// The signed object.
        what: &'static str,
    },

    /// A certificate chain does not end at the pinned root, or is broken.
    #[error("the certificate chain for {what} does not lead to a pinned root")]
    UntrustedRoot {
        /// The chain.
        what: &'static str,
    },

    /// A certificate, CRL or collateral item is past its end of validity.
    #[error("{what} expired{} (verification time {now})", at_time(" at", *.not_after))]
    Expired {
        /// The expired object.
        what: &'static str,
        /// Its end of validity, when known.
        not_after: Option<UnixTime>,
        /// The verification time.
        now: UnixTime,
    },

    /// A certificate, CRL or collateral item is not valid yet.
    #[error("{what} is not valid yet{} (verification time {now})", at_time(" before", *.not_before))]
    NotYetValid {
        /// The object.
        what: &'static str,
        /// Its start of validity, when known.
        not_before: Option<UnixTime>,
        /// The verification time.
        now: UnixTime,
    },

    /// A certificate on the chain is revoked (CRL).
    #[error("{what} is revoked")]
    Revoked {
        /// The revoked object.
        what: &'static str,
    },

    /// The evidence's TCB does not match the collateral: SNP REPORTED_TCB vs the VCEK's
    /// TCB extensions, CHIP_ID vs hwID, or no TCB level in Intel's TCB info matches.
    #[error("TCB mismatch: {what}")]
    TcbMismatch {
        /// What did not match.
        what: &'static str,
    },

    /// The evidence is genuine but the TEE runs with attributes keynet never accepts
    /// (e.g. a migratable TD, SEPT_VE_DISABLE off).
    #[error("insecure TEE attributes: {what}")]
    InsecureAttributes {
        /// The attribute.
        what: &'static str,
    },

    /// The collateral bundle lacks an item the platform needs.
    #[error("the collateral has no {what}")]
    MissingCollateral {
        /// The missing item (file name or field).
        what: &'static str,
    },

    /// The collateral does not belong to this evidence (wrong QE identity, wrong FMSPC,
    /// wrong product line).
    #[error("the collateral does not match the evidence: {what}")]
    CollateralMismatch {
        /// What did not match.
        what: &'static str,
    },

    /// The evidence is genuine but its report data differs from the expected binding.
    #[error("the evidence is bound to different report data than expected")]
    ReportDataMismatch,

    /// The evidence is from another platform than expected: handed to another
    /// platform's verifier, or (genuine, but) not the platform a peer's on-chain record
    /// names.
    #[error("the evidence is from platform {found}, expected {expected}")]
    PlatformMismatch {
        /// The verifier's or the record's platform.
        expected: Platform,
        /// The evidence's platform.
        found: Platform,
    },

    /// A peer's evidence does not bind the keys of its on-chain record (p2p key, Noise
    /// static key, signer) at the stated time.
    #[error("the evidence does not bind the peer record's keys")]
    BindingMismatch,

    /// The evidence is genuine but policy refuses it; the violation names the rule.
    #[error("policy refused the evidence: {0}")]
    Policy(#[from] PolicyViolation),

    /// The verification library refused the evidence with a message this version of
    /// the crate does not know (kind `unclassified_library_error`). Every failure
    /// dcap-qvl 0.7 can report on our call is mapped to one of the kinds above
    /// (`dcap/errors.rs`); this one is left for messages a later library version adds.
    /// It is always a refusal. The string is the library's own message.
    #[error("verification failed (unclassified library error): {0}")]
    Unclassified(String),
}

fn at_time(prefix: &str, t: Option<UnixTime>) -> String {
    t.map(|t| format!("{prefix} {t}")).unwrap_or_default()
}

impl Error {
    /// A stable snake_case name for the CLI's `{"error": {"kind": …}}`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::PlatformDisabled(_) => "platform_disabled",
            Error::UnknownFormat => "unknown_format",
            Error::Malformed { .. } => "malformed",
            Error::NonCanonical { .. } => "non_canonical",
            Error::BadSignature { .. } => "bad_signature",
            Error::UntrustedRoot { .. } => "untrusted_root",
            Error::Expired { .. } => "expired",
            Error::NotYetValid { .. } => "not_yet_valid",
            Error::Revoked { .. } => "revoked",
            Error::TcbMismatch { .. } => "tcb_mismatch",
            Error::InsecureAttributes { .. } => "insecure_attributes",
            Error::MissingCollateral { .. } => "missing_collateral",
            Error::CollateralMismatch { .. } => "collateral_mismatch",
            Error::ReportDataMismatch => "report_data_mismatch",
            Error::PlatformMismatch { .. } => "platform_mismatch",
            Error::BindingMismatch => "binding_mismatch",
            Error::Policy(v) => v.kind(),
            Error::Unclassified(_) => "unclassified_library_error",
        }
    }

    /// Shorthand for [`Error::Malformed`].
    pub(crate) fn malformed(what: &'static str) -> Self {
        Error::Malformed { what }
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn kind__should_be_snake_case_and_distinct() {
        let now = UnixTime(0);
        let all = [
            Error::PlatformDisabled(Platform::Tdx),
            Error::UnknownFormat,
            Error::malformed("x"),
            Error::BadSignature { what: "x" },
            Error::NonCanonical {
                what: "x",
                offset: 0,
            },
            Error::UntrustedRoot { what: "x" },
            Error::Expired {
                what: "x",
                not_after: None,
                now,
            },
            Error::NotYetValid {
                what: "x",
                not_before: None,
                now,
            },
            Error::Revoked { what: "x" },
            Error::TcbMismatch { what: "x" },
            Error::MissingCollateral { what: "x" },
            Error::InsecureAttributes { what: "x" },
            Error::CollateralMismatch { what: "x" },
            Error::ReportDataMismatch,
            Error::PlatformMismatch {
                expected: Platform::Tdx,
                found: Platform::Sgx,
            },
            Error::BindingMismatch,
            Error::Policy(PolicyViolation::DebugForbidden),
            Error::Unclassified("x".into()),
        ];
        let kinds: std::collections::BTreeSet<_> = all.iter().map(Error::kind).collect();
        assert_eq!(kinds.len(), all.len());
        for k in kinds {
            assert!(
                k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{k}"
            );
        }
    }
}
