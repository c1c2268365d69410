//! The AMD KDS certificate revocation list (`/vcek/v1/{line}/crl`, `/vlek/v1/{line}/crl`):
//! a DER X.509 CRL (RFC 5280 §5) issued and signed by the product line's ARK with
//! RSASSA-PSS/SHA-384, listing revoked certificates the ARK issued (ASK, ASVK).
//!
//! Parsed with `x509-cert`; the signature is verified with `rsa` (the same check the
//! `sev` crate applies to AMD certificates). A CRL is trusted only after its issuer
//! equals the pinned ARK's subject, its signature verifies under the pinned ARK key and
//! `now` lies between thisUpdate and nextUpdate; anything else is an error, never
//! ignored.

use rsa::signature::Verifier;
use x509_cert::crl::CertificateList;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::referenced::OwnedToRef;
use x509_cert::der::{Decode, Encode};
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use crate::claims::Validity;
use crate::error::Error;
use crate::types::UnixTime;

/// Collateral name of the AMD CRL (DER, as the KDS serves it). Optional: when present,
/// it must verify and must not list the ASK/ASVK that signed the endorsement key.
pub const CRL: &str = "crl.der";

/// RSASSA-PSS (RFC 4055), the only algorithm AMD signs with.
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

const WHAT: &str = "AMD CRL";

/// A CRL whose signature by the ARK verified and which is valid at the time checked.
#[derive(Debug, Clone)]
pub struct VerifiedCrl {
    revoked: Vec<SerialNumber>,
    validity: Validity,
}

impl VerifiedCrl {
    /// Whether `cert`'s serial number is listed. Only meaningful for certificates the
    /// CRL's issuer (the ARK) issued: serial numbers are unique per issuer.
    pub fn lists(&self, cert: &Certificate) -> bool {
        self.revoked.contains(&cert.tbs_certificate.serial_number)
    }

    /// thisUpdate..nextUpdate.
    pub fn validity(&self) -> Validity {
        self.validity
    }
}

/// Parses a DER CRL without checking anything but its structure; never panics.
pub fn parse(der: &[u8]) -> Result<CertificateList, Error> {
    CertificateList::from_der(der).map_err(|_| Error::malformed(WHAT))
}

/// Verifies `der` as a CRL issued by `ark` and valid at `now`.
pub fn verify(der: &[u8], ark: &Certificate, now: UnixTime) -> Result<VerifiedCrl, Error> {
    let crl = parse(der)?;
    let tbs = &crl.tbs_cert_list;
    if tbs.issuer != ark.tbs_certificate.subject {
        return Err(Error::CollateralMismatch {
            what: "the AMD CRL is not issued by the product line's ARK",
        });
    }
    if crl.signature_algorithm.oid != RSASSA_PSS || tbs.signature.oid != RSASSA_PSS {
        return Err(Error::BadSignature { what: WHAT });
    }
    let key =
        rsa::RsaPublicKey::try_from(ark.tbs_certificate.subject_public_key_info.owned_to_ref())
            .map_err(|_| Error::malformed("ARK public key (not RSA)"))?;
    let message = tbs.to_der().map_err(|_| Error::malformed(WHAT))?;
    let signature = rsa::pss::Signature::try_from(crl.signature.raw_bytes())
        .map_err(|_| Error::BadSignature { what: WHAT })?;
    rsa::pss::VerifyingKey::<sha2::Sha384>::new(key)
        .verify(&message, &signature)
        .map_err(|_| Error::BadSignature { what: WHAT })?;
    let validity = Validity {
        not_before: UnixTime(tbs.this_update.to_unix_duration().as_secs()),
        not_after: tbs.next_update.map_or(UnixTime(u64::MAX), |t| {
            UnixTime(t.to_unix_duration().as_secs())
        }),
    };
    validity.check(now, WHAT)?;
    let revoked = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| r.serial_number.clone())
        .collect();
    Ok(VerifiedCrl { revoked, validity })
}
