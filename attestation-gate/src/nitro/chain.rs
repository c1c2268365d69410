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

/// The CA part of a path, pinned root ← `cabundle[1..]`, with names, CA flags, path
/// lengths and signatures checked (time is not looked at: see [`CaPath::check_time`]).
/// It depends only on the pinned root and the `cabundle` bytes, which is what
/// the Nitro verifier's [`crate::cache::Cache`] keys it by.
#[derive(Debug)]
pub(crate) struct CaPath {
    /// The last CA, issuer of the leaf.
    issuer: Certificate,
    /// Its key, when it is a valid P-384 key (else the leaf step reports why).
    issuer_key: Option<VerifyingKey>,
    /// Each CA's label and validity, root first.
    validities: Vec<(&'static str, Validity)>,
}

impl CaPath {
    /// The intersection of the CA certificates' validity periods.
    pub(crate) fn window(&self) -> Validity {
        self.validities
            .iter()
            .fold(Validity::always(), |w, (_, v)| w.intersect(*v))
    }

    /// Every CA certificate is valid at `now` (root first).
    fn check_time(&self, now: UnixTime) -> Result<(), Error> {
        for (what, v) in &self.validities {
            v.check(now, what)?;
        }
        Ok(())
    }
}

/// Validates `pinned_root ← cabundle[1..] ← leaf` at `now`.
///
/// `cabundle[0]` must be byte-for-byte the pinned root: the document's copy is compared,
/// never trusted. Order: parse every certificate, CA signatures top down, the leaf's
/// signature, validity of every certificate root first; [`verify_leaf`] with a cached
/// [`CaPath`] runs the same steps from the leaf on.
pub(crate) fn verify(
    pinned_root_der: &[u8],
    cabundle: &[Vec<u8>],
    leaf_der: &[u8],
    now: UnixTime,
) -> Result<(ValidChain, CaPath), Error> {
    let cas = parse_cas(pinned_root_der, cabundle)?;
    let leaf = parse_leaf(leaf_der)?;
    let ca_path = check_cas(cas)?;
    let chain = verify_leaf(&ca_path, &leaf, now)?;
    Ok((chain, ca_path))
}

/// Parses the leaf certificate.
pub(crate) fn parse_leaf(leaf_der: &[u8]) -> Result<Certificate, Error> {
    Certificate::from_der(leaf_der).map_err(|_| Error::Malformed {
        what: "Nitro leaf certificate",
    })
}

/// The pinned root (which `cabundle[0]` must equal) and the parsed intermediates.
fn parse_cas(pinned_root_der: &[u8], cabundle: &[Vec<u8>]) -> Result<Vec<Certificate>, Error> {
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
    let mut path = Vec::with_capacity(cabundle.len());
    path.push(root);
    for der in intermediates {
        path.push(Certificate::from_der(der).map_err(|_| Error::Malformed {
            what: "Nitro cabundle certificate",
        })?);
    }
    Ok(path)
}

/// Names, CA flags, path lengths and signatures of the CA certificates, top down.
/// `ca_below` counts the CA certificates under the issuer (for pathLenConstraint):
/// every certificate except the leaf is a CA.
fn check_cas(mut cas: Vec<Certificate>) -> Result<CaPath, Error> {
    let ca_count = cas.len();
    for (issuer_index, pair) in cas.windows(2).enumerate() {
        let [issuer, subject] = pair else {
            continue;
        };
        let ca_below = ca_count.saturating_sub(issuer_index).saturating_sub(1);
        check_issued(issuer, subject, ca_below, None)?;
    }
    let validities = cas
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let what = match index {
                0 => "Nitro root certificate",
                _ => "Nitro intermediate certificate",
            };
            (what, Validity::of_certificate(c))
        })
        .collect();
    let issuer = cas.pop().ok_or(Error::Malformed {
        what: "Nitro cabundle (empty)",
    })?;
    Ok(CaPath {
        issuer_key: p384_key(&issuer).ok(),
        issuer,
        validities,
    })
}

/// The leaf under a checked CA path: the leaf's name, its issuer's CA flag, its
/// signature, then the validity of every certificate at `now` (CAs first).
pub(crate) fn verify_leaf(
    ca: &CaPath,
    leaf: &Certificate,
    now: UnixTime,
) -> Result<ValidChain, Error> {
    // The last CA has no CA under it.
    check_issued(&ca.issuer, leaf, 0, ca.issuer_key)?;
    ca.check_time(now)?;
    let leaf_validity = Validity::of_certificate(leaf);
    leaf_validity.check(now, "Nitro leaf certificate")?;
    Ok(ValidChain {
        leaf_key: p384_key(leaf)?,
        validity: ca.window().intersect(leaf_validity),
    })
}

/// `subject` names `issuer`, `issuer` may issue it, and the issuer's key
/// (`issuer_key` when already extracted) signed it.
fn check_issued(
    issuer: &Certificate,
    subject: &Certificate,
    ca_below: usize,
    issuer_key: Option<VerifyingKey>,
) -> Result<(), Error> {
    if subject.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(Error::UntrustedRoot { what: CHAIN });
    }
    check_ca(issuer, ca_below)?;
    let key = match issuer_key {
        Some(k) => k,
        None => p384_key(issuer)?,
    };
    check_signature(subject, &key)
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
