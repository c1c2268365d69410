//! Classification of dcap-qvl failures into typed [`Error`] kinds.
//!
//! dcap-qvl 0.7 returns `anyhow::Error` built from `bail!` strings and from webpki's
//! error values (`{:?}`-like names such as `CertExpired { .. }` and `UnknownIssuer`).
//! We walk the whole context chain and match the messages dcap-qvl 0.7.1 emits
//! (`src/verify.rs`, `src/utils.rs`, `src/quote.rs`), most specific first. Anything we
//! do not recognise becomes [`Error::Unclassified`] carrying dcap-qvl's message, so a
//! new failure mode shows up as such instead of being mislabelled. The fixture tests
//! pin the mapping for every failure the fixtures can produce; a dcap-qvl upgrade that
//! rewords a message makes those tests fail.

use crate::error::Error;
use crate::types::UnixTime;

/// `(needle, classification)`: the first needle found in any message of the chain wins.
/// Order matters: specific `bail!` texts before webpki's generic names.
const RULES: &[(&str, Kind)] = &[
    // Collateral dates (verify.rs steps 1-2).
    ("TCBInfo expired", Kind::Expired("TCB info")),
    (
        "TCBInfo issue date is in the future",
        Kind::NotYetValid("TCB info"),
    ),
    ("QE Identity expired", Kind::Expired("QE identity")),
    (
        "QE Identity issue date is in the future",
        Kind::NotYetValid("QE identity"),
    ),
    // Signatures.
    (
        "Signature is invalid for tcb_info",
        Kind::BadSignature("TCB info"),
    ),
    (
        "Signature is invalid for qe_identity",
        Kind::BadSignature("QE identity"),
    ),
    (
        "Signature is invalid for qe_report",
        Kind::BadSignature("QE report"),
    ),
    (
        "ISV enclave report signature is invalid",
        Kind::BadSignature("quote body"),
    ),
    (
        "QE report hash mismatch",
        Kind::BadSignature("QE report data (attestation key binding)"),
    ),
    // Collateral that belongs to another platform or TEE type.
    (
        "Fmspc mismatch",
        Kind::CollateralMismatch("FMSPC of the TCB info"),
    ),
    (
        "Unsupported QE Identity id/version",
        Kind::CollateralMismatch("QE identity id"),
    ),
    (
        "with non-TDX TCB info",
        Kind::CollateralMismatch("TCB info id"),
    ),
    (
        "with non-SGX TCB info",
        Kind::CollateralMismatch("TCB info id"),
    ),
    (
        "QE MRSIGNER mismatch",
        Kind::CollateralMismatch("QE identity MRSIGNER"),
    ),
    (
        "QE ISVPRODID mismatch",
        Kind::CollateralMismatch("QE identity ISVPRODID"),
    ),
    (
        "QE MISCSELECT mismatch",
        Kind::CollateralMismatch("QE identity MISCSELECT"),
    ),
    (
        "QE ATTRIBUTES mismatch",
        Kind::CollateralMismatch("QE identity ATTRIBUTES"),
    ),
    // TCB.
    (
        "TCB status is invalid: Revoked",
        Kind::Revoked("platform TCB level"),
    ),
    (
        "No matching TCB level found",
        Kind::Tcb("no TCB level in the TCB info matches the platform"),
    ),
    (
        "below minimum required",
        Kind::Tcb("the QE ISVSVN is below every QE identity level"),
    ),
    (
        "TDX module",
        Kind::Tcb("no TDX module identity or TCB level matches"),
    ),
    // TD attributes dcap-qvl refuses outright (debug is allowed through to policy).
    (
        "Reserved bits in TD attributes are set",
        Kind::Malformed("TD attributes"),
    ),
    (
        "TD migration is enabled",
        Kind::InsecureAttributes("TD migration is enabled"),
    ),
    (
        "SERVTD_EXT is enabled",
        Kind::InsecureAttributes("SERVTD_EXT is enabled"),
    ),
    (
        "SEPT_VE_DISABLE is not enabled",
        Kind::InsecureAttributes("SEPT_VE_DISABLE is not enabled"),
    ),
    (
        "Invalid MR service TD",
        Kind::InsecureAttributes("the TD is bound to a service TD"),
    ),
    // webpki (certificate chains and CRLs), matched by error name.
    ("CertExpired", Kind::Expired("certificate")),
    ("CertNotValidYet", Kind::NotYetValid("certificate")),
    ("CrlExpired", Kind::Expired("CRL")),
    ("CertRevoked", Kind::Revoked("certificate")),
    (
        "UnknownIssuer",
        Kind::UntrustedRoot("DCAP certificate chain"),
    ),
    (
        "InvalidSignatureForPublicKey",
        Kind::BadSignature("certificate or CRL"),
    ),
    ("InvalidCrlSignatureForPublicKey", Kind::BadSignature("CRL")),
    (
        "UnsupportedSignatureAlgorithm",
        Kind::UntrustedRoot("DCAP certificate chain"),
    ),
    (
        "UnknownRevocationStatus",
        Kind::UntrustedRoot("DCAP certificate chain (no CRL covers it)"),
    ),
    ("BadDer", Kind::Malformed("DCAP certificate or CRL")),
    (
        "Failed to verify certificate chain",
        Kind::UntrustedRoot("DCAP certificate chain"),
    ),
    // Parsing.
    ("Failed to decode quote", Kind::Malformed("DCAP quote")),
    (
        "Unsupported DCAP quote version",
        Kind::Malformed("DCAP quote version"),
    ),
    (
        "Unknown QE vendor ID",
        Kind::Malformed("DCAP quote QE vendor id"),
    ),
    ("must have version", Kind::Malformed("DCAP quote version")),
    (
        "Unsupported DCAP attestation key type",
        Kind::Malformed("DCAP attestation key type"),
    ),
    (
        "Unsupported DCAP PCK cert format",
        Kind::MissingCollateral("PCK certificate chain"),
    ),
    (
        "Certificate chain is too short",
        Kind::Malformed("DCAP certificate chain"),
    ),
    (
        "Failed to extract PCK certificates",
        Kind::Malformed("PCK certificate chain"),
    ),
    ("Failed to decode TcbInfo", Kind::Malformed("TCB info")),
    (
        "Failed to decode QeIdentity",
        Kind::Malformed("QE identity"),
    ),
    ("Failed to parse", Kind::Malformed("DCAP collateral")),
    ("Failed to decode", Kind::Malformed("DCAP quote")),
    (
        "Invalid QE auth data length",
        Kind::Malformed("QE authentication data"),
    ),
];

#[derive(Clone, Copy)]
enum Kind {
    Expired(&'static str),
    NotYetValid(&'static str),
    BadSignature(&'static str),
    UntrustedRoot(&'static str),
    Revoked(&'static str),
    CollateralMismatch(&'static str),
    Tcb(&'static str),
    Malformed(&'static str),
    MissingCollateral(&'static str),
    InsecureAttributes(&'static str),
}

/// Maps a dcap-qvl error to a typed [`Error`].
pub(super) fn classify(err: &anyhow::Error, now: UnixTime) -> Error {
    let messages: Vec<String> = err.chain().map(|e| e.to_string()).collect();
    for (needle, kind) in RULES {
        if messages.iter().any(|m| m.contains(needle)) {
            return to_error(*kind, now);
        }
    }
    Error::Unclassified(format!("{err:#}"))
}

fn to_error(kind: Kind, now: UnixTime) -> Error {
    match kind {
        Kind::Expired(what) => Error::Expired {
            what,
            not_after: None,
            now,
        },
        Kind::NotYetValid(what) => Error::NotYetValid {
            what,
            not_before: None,
            now,
        },
        Kind::BadSignature(what) => Error::BadSignature { what },
        Kind::UntrustedRoot(what) => Error::UntrustedRoot { what },
        Kind::Revoked(what) => Error::Revoked { what },
        Kind::CollateralMismatch(what) => Error::CollateralMismatch { what },
        Kind::Tcb(what) => Error::TcbMismatch { what },
        Kind::Malformed(what) => Error::Malformed { what },
        Kind::MissingCollateral(what) => Error::MissingCollateral { what },
        Kind::InsecureAttributes(what) => Error::InsecureAttributes { what },
    }
}
