//! Certificate path validation for Nitro documents: pinned root ← `cabundle[1..]` ←
//! leaf, reduced from RFC 5280 §6.1 to what AWS issues (ECDSA P-384 with SHA-384
//! everywhere, no name constraints, no policies, no CRLs: AWS does not publish
//! revocation for Nitro chains, the leaf lives three hours instead).

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{Signature, VerifyingKey};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::Certificate;

use crate::claims::Validity;
use crate::error::Error;
use crate::types::UnixTime;

const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

const CHAIN: &str = "Nitro certificate chain";

/// The result of a valid chain: the leaf's key and the intersection of the validity
/// periods of every certificate on the path.
pub(crate) struct ValidChain {
    pub leaf_key: VerifyingKey,
    pub validity: Validity,
}

/// Validates `pinned_root ← cabundle[1..] ← leaf` at `now`.
///
/// `cabundle[0]` must be byte-for-byte the pinned root: the document's copy is compared,
/// never trusted.
pub(crate) fn verify(
    pinned_root_der: &[u8],
    cabundle: &[Vec<u8>],
    leaf_der: &[u8],
    now: UnixTime,
) -> Result<ValidChain, Error> {
    let Some((bundle_root, intermediates)) = cabundle.split_first() else {
        return Err(Error::Malformed {
            what: "Nitro cabundle (empty)",
        });
    };
    if bundle_root.as_slice() != pinned_root_der {
        return Err(Error::UntrustedRoot { what: CHAIN });
    }
    // A pinned root that does not parse can anchor nothing.
    let root =
        Certificate::from_der(pinned_root_der).map_err(|_| Error::UntrustedRoot { what: CHAIN })?;

    let mut path = Vec::with_capacity(cabundle.len().saturating_add(1));
    path.push(root);
    for der in intermediates {
        path.push(Certificate::from_der(der).map_err(|_| Error::Malformed {
            what: "Nitro cabundle certificate",
        })?);
    }
    path.push(
        Certificate::from_der(leaf_der).map_err(|_| Error::Malformed {
            what: "Nitro leaf certificate",
        })?,
    );

    // Signatures and names, top down. `ca_below` counts the CA certificates under the
    // issuer (for pathLenConstraint): every certificate except the leaf is a CA.
    let ca_count = path.len().saturating_sub(1);
    for (issuer_index, pair) in path.windows(2).enumerate() {
        let [issuer, subject] = pair else {
            continue;
        };
        if subject.tbs_certificate.issuer != issuer.tbs_certificate.subject {
            return Err(Error::UntrustedRoot { what: CHAIN });
        }
        let ca_below = ca_count.saturating_sub(issuer_index).saturating_sub(1);
        check_ca(issuer, ca_below)?;
        let key = p384_key(issuer)?;
        check_signature(subject, &key)?;
    }

    // Validity of every certificate, the root included.
    let mut window = Validity {
        not_before: UnixTime(0),
        not_after: UnixTime(u64::MAX),
    };
    let last = path.len().saturating_sub(1);
    for (index, cert) in path.iter().enumerate() {
        let what = match index {
            0 => "Nitro root certificate",
            i if i == last => "Nitro leaf certificate",
            _ => "Nitro intermediate certificate",
        };
        let validity = &cert.tbs_certificate.validity;
        let not_before = UnixTime(validity.not_before.to_unix_duration().as_secs());
        let not_after = UnixTime(validity.not_after.to_unix_duration().as_secs());
        if now < not_before {
            return Err(Error::NotYetValid {
                what,
                not_before: Some(not_before),
                now,
            });
        }
        if now > not_after {
            return Err(Error::Expired {
                what,
                not_after: Some(not_after),
                now,
            });
        }
        window = window.intersect(Validity {
            not_before,
            not_after,
        });
    }

    let leaf = path.last().ok_or(Error::Malformed {
        what: "Nitro leaf certificate",
    })?;
    Ok(ValidChain {
        leaf_key: p384_key(leaf)?,
        validity: window,
    })
}

/// The issuer must be a CA (basicConstraints cA = TRUE) whose pathLenConstraint, if any,
/// allows `ca_below` more CA certificates under it.
fn check_ca(issuer: &Certificate, ca_below: usize) -> Result<(), Error> {
    let not_ca = Error::UntrustedRoot { what: CHAIN };
    let extensions = issuer.tbs_certificate.extensions.as_deref().unwrap_or(&[]);
    let ext = extensions
        .iter()
        .find(|e| e.extn_id == BASIC_CONSTRAINTS)
        .ok_or(Error::UntrustedRoot { what: CHAIN })?;
    let bc =
        BasicConstraints::from_der(ext.extn_value.as_bytes()).map_err(|_| Error::Malformed {
            what: "Nitro certificate basicConstraints",
        })?;
    if !bc.ca {
        return Err(not_ca);
    }
    match bc.path_len_constraint {
        Some(limit) if usize::from(limit) < ca_below => Err(not_ca),
        _ => Ok(()),
    }
}

/// The certificate's public key, which must be ECDSA P-384.
pub(crate) fn p384_key(cert: &Certificate) -> Result<VerifyingKey, Error> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY || curve != Some(SECP384R1) {
        return Err(Error::Malformed {
            what: "Nitro certificate key (not ECDSA P-384)",
        });
    }
    VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).map_err(|_| {
        Error::Malformed {
            what: "Nitro certificate key (invalid P-384 point)",
        }
    })
}

/// Checks `subject`'s signature (ecdsa-with-SHA384 over the DER of its TBSCertificate).
fn check_signature(subject: &Certificate, issuer_key: &VerifyingKey) -> Result<(), Error> {
    if subject.signature_algorithm.oid != ECDSA_WITH_SHA384
        || subject.tbs_certificate.signature.oid != ECDSA_WITH_SHA384
    {
        return Err(Error::Malformed {
            what: "Nitro certificate signature algorithm (not ecdsa-with-SHA384)",
        });
    }
    // The decoder accepts DER only, so re-encoding gives back the signed bytes.
    let tbs = subject
        .tbs_certificate
        .to_der()
        .map_err(|_| Error::Malformed {
            what: "Nitro certificate",
        })?;
    let sig_bytes = subject.signature.as_bytes().ok_or(Error::Malformed {
        what: "Nitro certificate signature",
    })?;
    let sig = Signature::from_der(sig_bytes).map_err(|_| Error::BadSignature { what: CHAIN })?;
    issuer_key
        .verify(&tbs, &sig)
        .map_err(|_| Error::BadSignature { what: CHAIN })
}
