//! Classification of dcap-qvl failures into typed [`Error`] kinds.
//!
//! dcap-qvl 0.7 returns `anyhow::Error`: its own `bail!`/`ensure!` texts, `context`
//! texts naming the step, and, underneath, the errors of its webpki fork, whose
//! `Display` is the variant's `Debug` (`CertExpired { .. }`, `UnknownIssuer`). The
//! classifier
//!
//! 1. looks at the innermost message: if it is a webpki error, that error decides the
//!    kind, and the outermost context (which CRL, the chain, the trust anchor) decides
//!    `what` ([`webpki`]);
//! 2. otherwise matches [`RULES`] against every message of the chain, most specific
//!    first. The table covers every message dcap-qvl 0.7.1 can produce on the path
//!    [`super::verify_with_collateral`] takes (`QuoteVerifier::verify_with_policy`:
//!    `verify_impl`, its step functions, `QuoteVerificationResult::claims`, the quote,
//!    TCB info, QE identity and PCK extension parsers);
//! 3. anything else is [`Error::Unclassified`] (kind `unclassified_library_error`)
//!    with dcap-qvl's message: only a message a later dcap-qvl could add ends there,
//!    and it is still a refusal.
//!
//! `tests/dcap_errors.rs` reaches many of these with mutated fixtures; a dcap-qvl
//! upgrade that rewords a message makes those tests fail.

use crate::error::Error;
use crate::types::UnixTime;

/// `(needle, classification)` for dcap-qvl's own messages: the first needle found in
/// any message of the chain wins, so specific texts come before the texts of the
/// contexts that wrap them. No needle contains an earlier one (tested).
const RULES: &[(&str, Kind)] = &[
    // Collateral dates (steps 1-2).
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
    // Raw `r || s` signatures that cannot be DER-encoded (`encode_as_der_with`).
    ("Invalid key length", Kind::Malformed(ECDSA_SIGNATURE)),
    (
        "Failed to create r INTEGER",
        Kind::Malformed(ECDSA_SIGNATURE),
    ),
    (
        "Failed to create s INTEGER",
        Kind::Malformed(ECDSA_SIGNATURE),
    ),
    (
        "Failed to encode ECDSA signature sequence",
        Kind::Malformed(ECDSA_SIGNATURE),
    ),
    (
        "Failed to finalize ECDSA signature sequence",
        Kind::Malformed(ECDSA_SIGNATURE),
    ),
    (
        "encode_ecdsa_sig capacity overflow",
        Kind::Malformed(ECDSA_SIGNATURE),
    ),
    // Chain shape (webpki errors are handled before these rules).
    (
        "TCB Info signer must be issued directly by the root CA",
        Kind::UntrustedRoot("TCB info signing certificate (not issued by the root CA)"),
    ),
    (
        "QE Identity signer must be issued directly by the root CA",
        Kind::UntrustedRoot("QE identity signing certificate (not issued by the root CA)"),
    ),
    (
        "Too many intermediate certificates",
        Kind::Malformed("DCAP certificate chain (more than 4 intermediates)"),
    ),
    (
        "Failed to create RevocationOptionsBuilder",
        Kind::MissingCollateral("DCAP CRLs"),
    ),
    (
        "Certificate chain is too short for TCB Info",
        Kind::MissingCollateral("TCB info issuer chain"),
    ),
    (
        "Certificate chain is too short for QE Identity",
        Kind::MissingCollateral("QE identity issuer chain"),
    ),
    (
        "Certificate chain is too short in quote",
        Kind::MissingCollateral("PCK certificate chain"),
    ),
    (
        "Unsupported DCAP PCK cert format",
        Kind::MissingCollateral(
            "PCK certificate chain (neither the quote nor collateral.json has one)",
        ),
    ),
    (
        "Failed to extract PCK certificates",
        Kind::Malformed("PCK certificate chain (PEM)"),
    ),
    (
        "Failed to parse certs",
        Kind::Malformed("TCB info or QE identity issuer chain (PEM)"),
    ),
    (
        "Failed to parse root CA certificate",
        Kind::UntrustedRoot(PINNED_ROOT),
    ),
    // The PCK leaf's SGX extensions (`intel::parse_pck_extension_with`, `utils`); only
    // reachable with a PCK certificate that chains to the pinned root.
    ("Intel extension", Kind::Malformed(PCK_EXTENSION)),
    ("OID is missing", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to find Fmspc", Kind::Malformed(PCK_EXTENSION)),
    ("Fmspc length mismatch", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to decode Fmspc", Kind::Malformed(PCK_EXTENSION)),
    ("CpuSvn length mismatch", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to decode CpuSvn", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to find PceSvn", Kind::Malformed(PCK_EXTENSION)),
    ("PceSvn length mismatch", Kind::Malformed(PCK_EXTENSION)),
    ("DER recursion depth", Kind::Malformed(PCK_EXTENSION)),
    ("Unexpected BOOLEAN length", Kind::Malformed(PCK_EXTENSION)),
    (
        "Unexpected ENUMERATED length",
        Kind::Malformed(PCK_EXTENSION),
    ),
    (
        "Failed to load nested sequence",
        Kind::Malformed(PCK_EXTENSION),
    ),
    ("Failed to load sequence", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to read OID", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to read value", Kind::Malformed(PCK_EXTENSION)),
    (
        "Failed to decode DER object",
        Kind::Malformed(PCK_EXTENSION),
    ),
    ("Failed to get subobject", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to get entry", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to get name", Kind::Malformed(PCK_EXTENSION)),
    ("Failed to get value", Kind::Malformed(PCK_EXTENSION)),
    ("appears more than once", Kind::Malformed(PCK_EXTENSION)),
    ("Invalid OID encoding", Kind::Malformed(PCK_EXTENSION)),
    (
        "Failed to decode certificate",
        Kind::Malformed(PCK_EXTENSION),
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
    // The quoting enclave itself in debug mode (wraps "Debug mode is enabled").
    (
        "QE report validation failed",
        Kind::InsecureAttributes("the quoting enclave runs in debug mode"),
    ),
    // TCB.
    (
        "TCB status is invalid: Revoked",
        Kind::Revoked("platform TCB level"),
    ),
    (
        "Unrecognized TCB status",
        Kind::Malformed("TCB info or QE identity (a TCB status not allowed in it)"),
    ),
    (
        "No matching TCB level found",
        Kind::Tcb("no TCB level in the TCB info matches the platform"),
    ),
    (
        "below minimum required from TDX module TCB levels",
        Kind::Tcb("the TDX module ISVSVN is below every TDX module TCB level"),
    ),
    (
        "below minimum required",
        Kind::Tcb("the QE ISVSVN is below every QE identity level"),
    ),
    (
        "No TCB levels found in QE Identity",
        Kind::Malformed("QE identity (no TCB levels)"),
    ),
    (
        "No TDX module identity with id",
        Kind::Tcb("no TDX module identity in the TCB info matches the module version"),
    ),
    (
        "TDX module MRSIGNER mismatch",
        Kind::Tcb("the TDX module signer differs from the TCB info"),
    ),
    (
        "TDX module SEAMATTRIBUTES",
        Kind::Tcb("the TDX module attributes differ from the TCB info"),
    ),
    (
        "TDX TCB Info is missing tdxModule field",
        Kind::Malformed("TDX TCB info (no tdxModule)"),
    ),
    (
        "tdxModule",
        Kind::Malformed("TDX module identity in the TCB info"),
    ),
    (
        "component count mismatch",
        Kind::Malformed("TCB info (TCB component count)"),
    ),
    (
        "Failed to decode TCB FMSPC",
        Kind::Malformed("TCB info FMSPC"),
    ),
    ("tcbDate", Kind::Malformed("TCB info (a TCB date)")),
    (
        "Failed to parse platform TCB date",
        Kind::Malformed("TCB info (a TCB date)"),
    ),
    // TD and enclave attributes (debug is allowed through to policy, so the debug and
    // profiling texts only come from a debug quoting enclave, classified above).
    (
        "Reserved bits in TD attributes are set",
        Kind::Malformed("TD attributes"),
    ),
    (
        "Failed to parse TD attributes",
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
    (
        "Debug mode is enabled",
        Kind::InsecureAttributes("debug mode is enabled"),
    ),
    (
        "TD profiling is enabled",
        Kind::InsecureAttributes("TD profiling is enabled"),
    ),
    // Quote parsing.
    ("Failed to decode quote", Kind::Malformed("DCAP quote")),
    (
        "Unsupported DCAP quote version",
        Kind::Malformed("DCAP quote version"),
    ),
    ("must have version", Kind::Malformed("DCAP quote version")),
    (
        "Unsupported TEE type",
        Kind::Malformed("DCAP quote TEE type"),
    ),
    (
        "Unknown QE vendor ID",
        Kind::Malformed("DCAP quote QE vendor id"),
    ),
    (
        "Unsupported DCAP attestation key type",
        Kind::Malformed("DCAP attestation key type"),
    ),
    (
        "Failed to get signed quote scope",
        Kind::Malformed("DCAP quote"),
    ),
    ("Failed to decode QE report", Kind::Malformed("QE report")),
    ("Failed to get TD10 report", Kind::Malformed("TD report")),
    (
        "Invalid QE auth data length",
        Kind::Malformed("QE authentication data"),
    ),
    // Collateral parsing.
    ("Failed to decode TcbInfo", Kind::Malformed("TCB info")),
    ("Failed to parse TCB Info", Kind::Malformed("TCB info")),
    ("TCBInfo issueDate", Kind::Malformed("TCB info")),
    ("TCBInfo nextUpdate", Kind::Malformed("TCB info")),
    (
        "Failed to decode QeIdentity",
        Kind::Malformed("QE identity"),
    ),
    (
        "Failed to parse QE Identity",
        Kind::Malformed("QE identity"),
    ),
    ("QEIdentity issueDate", Kind::Malformed("QE identity")),
    ("QEIdentity nextUpdate", Kind::Malformed("QE identity")),
    ("Failed to parse CRL", Kind::Malformed("DCAP CRL")),
    ("CRL number", Kind::Malformed("DCAP CRL (CRL number)")),
    ("for claims", Kind::Malformed("DCAP CRL")),
    (
        "Failed to parse certificate for time window",
        Kind::Malformed("certificate on a DCAP chain"),
    ),
    (
        "RFC3339 datetime",
        Kind::Malformed("TCB info or QE identity date"),
    ),
];

const ECDSA_SIGNATURE: &str = "ECDSA signature in the quote or collateral (not 64 bytes)";
const PCK_EXTENSION: &str = "PCK certificate SGX extensions";
const PINNED_ROOT: &str = "pinned Intel SGX Root CA";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Where a webpki error came from, read from the outermost context.
#[derive(Clone, Copy)]
enum Stage {
    /// `parse_crls`: the root CA CRL (parsed and verified with the root key).
    RootCrl,
    /// `parse_crls`: the PCK CRL.
    PckCrl,
    /// `anchor_from_trusted_cert` of the pinned root.
    Anchor,
    /// A leaf certificate parse (TCB info / QE identity signer, PCK).
    LeafParse,
    /// `verify_certificate_chain` (TCB info, QE identity or PCK chain, with the CRLs).
    Chain,
    /// No context: the root CA's own revocation check against the CRLs.
    RootRevocation,
}

fn stage(outer: &str) -> Stage {
    if outer.starts_with("Failed to parse root CA CRL") {
        Stage::RootCrl
    } else if outer.starts_with("Failed to parse PCK CRL") {
        Stage::PckCrl
    } else if outer.starts_with("Failed to load root ca") {
        Stage::Anchor
    } else if outer.starts_with("Failed to verify certificate chain") {
        Stage::Chain
    } else if outer.starts_with("Failed to parse") && outer.contains("certificate") {
        Stage::LeafParse
    } else {
        Stage::RootRevocation
    }
}

/// The kind of a webpki error (`message` is its `Debug`, e.g. `CertExpired { .. }`),
/// or `None` if `message` is not one.
fn webpki(message: &str, stage: Stage) -> Option<Kind> {
    let name_len = message
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(message.len());
    let name = message.get(..name_len)?;
    const CERT: &str = "certificate on a DCAP chain";
    const CHAIN: &str = "DCAP certificate chain";
    let crl = match stage {
        Stage::RootCrl => "root CA CRL",
        Stage::PckCrl => "PCK CRL",
        _ => "DCAP CRL",
    };
    let malformed = match stage {
        Stage::RootCrl | Stage::PckCrl | Stage::RootRevocation => crl,
        Stage::Anchor => PINNED_ROOT,
        Stage::LeafParse | Stage::Chain => CERT,
    };
    if matches!(stage, Stage::Anchor) {
        return Some(Kind::UntrustedRoot(PINNED_ROOT));
    }
    Some(match name {
        "CertExpired" => Kind::Expired(CERT),
        "CertNotValidYet" => Kind::NotYetValid(CERT),
        "CrlExpired" => Kind::Expired(crl),
        "CertRevoked" => Kind::Revoked(match stage {
            Stage::RootRevocation => "Intel SGX Root CA",
            _ => CERT,
        }),
        "InvalidSignatureForPublicKey" => Kind::BadSignature(CERT),
        "InvalidCrlSignatureForPublicKey" => Kind::BadSignature(crl),
        "UnknownRevocationStatus" => {
            Kind::UntrustedRoot("DCAP certificate chain (no CRL covers a certificate)")
        }
        "UnknownIssuer"
        | "IssuerNotCrlSigner"
        | "CaUsedAsEndEntity"
        | "EndEntityUsedAsCa"
        | "PathLenConstraintViolated"
        | "NameConstraintViolation"
        | "CertNotValidForName"
        | "RequiredEkuNotFound"
        | "RequiredEkuNotFoundContext"
        | "EmptyEkuExtension"
        | "SignatureAlgorithmMismatch"
        | "UnsupportedSignatureAlgorithm"
        | "UnsupportedSignatureAlgorithmContext"
        | "UnsupportedSignatureAlgorithmForPublicKey"
        | "UnsupportedSignatureAlgorithmForPublicKeyContext"
        | "UnsupportedCrlSignatureAlgorithm"
        | "UnsupportedCrlSignatureAlgorithmContext"
        | "UnsupportedCrlSignatureAlgorithmForPublicKey"
        | "UnsupportedCrlSignatureAlgorithmForPublicKeyContext"
        | "UnsupportedCriticalExtension"
        | "MaximumPathDepthExceeded"
        | "MaximumPathBuildCallsExceeded"
        | "MaximumSignatureChecksExceeded"
        | "MaximumNameConstraintComparisonsExceeded" => Kind::UntrustedRoot(CHAIN),
        "BadDer"
        | "BadDerTime"
        | "TrailingData"
        | "InvalidCertValidity"
        | "InvalidCrlNumber"
        | "InvalidSerialNumber"
        | "InvalidNetworkMaskConstraint"
        | "MalformedDnsIdentifier"
        | "MalformedExtensions"
        | "MalformedNameConstraint"
        | "ExtensionValueInvalid"
        | "UnsupportedCertVersion"
        | "UnsupportedCrlVersion"
        | "UnsupportedDeltaCrl"
        | "UnsupportedIndirectCrl"
        | "UnsupportedCrlIssuingDistributionPoint"
        | "UnsupportedNameType"
        | "UnsupportedRevocationReason"
        | "UnsupportedRevocationReasonsPartitioning" => Kind::Malformed(malformed),
        _ => return None,
    })
}

/// Maps a dcap-qvl error to a typed [`Error`].
pub(super) fn classify(err: &anyhow::Error, now: UnixTime) -> Error {
    let messages: Vec<String> = err.chain().map(|e| e.to_string()).collect();
    match kind_of(&messages) {
        Some(kind) => to_error(kind, now),
        None => Error::Unclassified(format!("{err:#}")),
    }
}

fn kind_of(messages: &[String]) -> Option<Kind> {
    let outer = messages.first().map(String::as_str).unwrap_or_default();
    if let Some(kind) = messages.last().and_then(|m| webpki(m, stage(outer))) {
        return Some(kind);
    }
    RULES
        .iter()
        .find(|(needle, _)| messages.iter().any(|m| m.contains(needle)))
        .map(|(_, kind)| *kind)
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

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    fn chain(messages: &[&str]) -> Vec<String> {
        messages.iter().map(|m| (*m).to_owned()).collect()
    }

    /// A needle that contains an earlier one can never match first: it would be dead.
    #[test]
    fn rules__should_have_no_shadowed_needle() {
        for (i, (later, _)) in RULES.iter().enumerate() {
            for (earlier, _) in &RULES[..i] {
                assert!(
                    !later.contains(earlier),
                    "{later:?} is shadowed by {earlier:?}"
                );
            }
        }
    }

    /// Each rule classifies its own needle (as the only message, and as the inner
    /// message under an unrelated context).
    #[test]
    fn rules__should_classify_their_own_needle() {
        for (needle, kind) in RULES {
            assert_eq!(kind_of(&chain(&[needle])), Some(*kind), "{needle}");
            assert_eq!(
                kind_of(&chain(&["some context", needle])),
                Some(*kind),
                "{needle}"
            );
        }
    }

    #[test]
    fn webpki__should_take_the_kind_from_the_cause_and_what_from_the_stage() {
        let k = |m: &[&str]| kind_of(&chain(m));
        assert_eq!(
            k(&[
                "Failed to parse root CA CRL",
                "InvalidCrlSignatureForPublicKey"
            ]),
            Some(Kind::BadSignature("root CA CRL"))
        );
        assert_eq!(
            k(&["Failed to parse PCK CRL", "BadDer"]),
            Some(Kind::Malformed("PCK CRL"))
        );
        assert_eq!(
            k(&["CertRevoked"]),
            Some(Kind::Revoked("Intel SGX Root CA"))
        );
        assert_eq!(
            k(&[
                "Failed to verify certificate chain",
                "CertExpired { time: UnixTime(1), not_after: UnixTime(0) }"
            ]),
            Some(Kind::Expired("certificate on a DCAP chain"))
        );
        assert_eq!(
            k(&[
                "Failed to verify certificate chain",
                "TrailingData(Certificate)"
            ]),
            Some(Kind::Malformed("certificate on a DCAP chain"))
        );
        assert_eq!(
            k(&["Failed to load root ca", "BadDer"]),
            Some(Kind::UntrustedRoot(PINNED_ROOT))
        );
    }

    #[test]
    fn classify__should_keep_unknown_messages_as_unclassified() {
        let e = classify(
            &anyhow::anyhow!("a check dcap-qvl 0.8 might add"),
            UnixTime(0),
        );
        assert!(
            matches!(e, Error::Unclassified(ref m) if m.contains("0.8")),
            "{e:?}"
        );
        assert_eq!(e.kind(), "unclassified_library_error");
    }
}
