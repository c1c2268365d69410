//! The AMD CRL check on the recorded Milan reports (VCEK and VLEK). No CRL signed by
//! AMD's ARK is recorded, and none can be made, so these tests sign CRLs with a
//! throwaway RSA key standing in for the ARK: the verifier is built with
//! [`SevSnpVerifier::with_roots_for_test`] (`#[cfg(test)]` only), whose "ARK" is the real
//! Milan ARK certificate with the throwaway public key. The real ASK/ASVK and the
//! recorded VCEK/VLEK stay as they are, so the chain and report checks are the real ones.
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::time::Duration;

use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::der::asn1::{BitString, GeneralizedTime};
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::Time;
use x509_cert::Version;

use super::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/attestation/sev-snp"
);
/// 2025-06-01, inside both samples' windows.
const T: UnixTime = UnixTime(1_748_736_000);
const DAY: u64 = 86_400;

struct TestArk {
    key: rsa::RsaPrivateKey,
    roots: roots::Roots,
}

fn test_ark() -> TestArk {
    let key = rsa::RsaPrivateKey::new(&mut StdRng::seed_from_u64(8), 2048).unwrap();
    let mut roots = ProductLine::Milan.roots().unwrap();
    let spki = key.to_public_key().to_public_key_der().unwrap();
    roots.ark.tbs_certificate.subject_public_key_info =
        SubjectPublicKeyInfoOwned::from_der(spki.as_bytes()).unwrap();
    TestArk { key, roots }
}

fn time(t: u64) -> Time {
    Time::GeneralTime(GeneralizedTime::from_unix_duration(Duration::from_secs(t)).unwrap())
}

/// A CRL issued by `ark`'s subject, valid `this..next`, listing `revoked`, signed with
/// `key` (RSASSA-PSS/SHA-384).
fn crl(
    key: &rsa::RsaPrivateKey,
    ark: &x509_cert::Certificate,
    this: u64,
    next: u64,
    revoked: &[&x509_cert::Certificate],
) -> Vec<u8> {
    let alg = AlgorithmIdentifierOwned {
        oid: x509_cert::der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10"),
        parameters: None,
    };
    let list: Vec<RevokedCert> = revoked
        .iter()
        .map(|c| RevokedCert {
            serial_number: c.tbs_certificate.serial_number.clone(),
            revocation_date: time(this),
            crl_entry_extensions: None,
        })
        .collect();
    let tbs = TbsCertList {
        version: Version::V2,
        signature: alg.clone(),
        issuer: ark.tbs_certificate.subject.clone(),
        this_update: time(this),
        next_update: Some(time(next)),
        revoked_certificates: (!list.is_empty()).then_some(list),
        crl_extensions: None,
    };
    let signer = rsa::pss::SigningKey::<sha2::Sha384>::new(key.clone());
    let sig = signer.sign_with_rng(&mut StdRng::seed_from_u64(9), &tbs.to_der().unwrap());
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&sig.to_bytes()).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn milan_vcek() -> (Vec<u8>, Vec<u8>) {
    let hex_text =
        std::fs::read_to_string(format!("{FIXTURES}/virtee-milan-vcek/report.hex")).unwrap();
    let report = hex::decode(hex_text.trim()).unwrap();
    let vcek = std::fs::read(format!("{FIXTURES}/virtee-milan-vcek/vcek.der")).unwrap();
    (report, vcek)
}

fn milan_vlek() -> (Vec<u8>, Vec<u8>) {
    let report = std::fs::read(format!("{FIXTURES}/trustee-milan-vlek/report.bin")).unwrap();
    let vlek = std::fs::read(format!("{FIXTURES}/trustee-milan-vlek/vlek.der")).unwrap();
    (report, vlek)
}

fn verify(
    v: &SevSnpVerifier,
    (report, vek): &(Vec<u8>, Vec<u8>),
    crl: Option<&[u8]>,
    now: UnixTime,
) -> Result<Claims, Error> {
    v.verify_report_with(&SnpReport::parse(report).unwrap(), vek, crl, now)
}

#[test]
fn crl__should_refuse_a_revoked_ask_and_accept_an_unlisted_one() {
    let a = test_ark();
    let v = SevSnpVerifier::with_roots_for_test(ProductLine::Milan, a.roots.clone());
    let clean = crl(&a.key, &a.roots.ark, T.0 - DAY, T.0 + DAY, &[&a.roots.asvk]);
    let c = verify(&v, &milan_vcek(), Some(&clean), T).unwrap();
    // The CRL's window bounds the claims' validity.
    assert_eq!(c.valid_until(), Some(UnixTime(T.0 + DAY)));
    let revoked = crl(&a.key, &a.roots.ark, T.0 - DAY, T.0 + DAY, &[&a.roots.ask]);
    let e = verify(&v, &milan_vcek(), Some(&revoked), T).unwrap_err();
    assert!(matches!(e, Error::Revoked { what: "ASK" }), "{e:?}");
    assert_eq!(e.kind(), "revoked");
    // Without a CRL the same verifier accepts.
    assert!(verify(&v, &milan_vcek(), None, T).is_ok());
}

#[test]
fn crl__should_refuse_a_revoked_asvk_for_a_vlek_report() {
    let a = test_ark();
    let v = SevSnpVerifier::with_roots_for_test(ProductLine::Milan, a.roots.clone());
    let ask_only = crl(&a.key, &a.roots.ark, T.0 - DAY, T.0 + DAY, &[&a.roots.ask]);
    assert!(verify(&v, &milan_vlek(), Some(&ask_only), T).is_ok());
    let asvk = crl(&a.key, &a.roots.ark, T.0 - DAY, T.0 + DAY, &[&a.roots.asvk]);
    let e = verify(&v, &milan_vlek(), Some(&asvk), T).unwrap_err();
    assert!(matches!(e, Error::Revoked { what: "ASVK" }), "{e:?}");
}

#[test]
fn crl__should_be_an_error_when_its_signature_is_bad() {
    let a = test_ark();
    let v = SevSnpVerifier::with_roots_for_test(ProductLine::Milan, a.roots.clone());
    let mut bad = crl(&a.key, &a.roots.ark, T.0 - DAY, T.0 + DAY, &[]);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let e = verify(&v, &milan_vcek(), Some(&bad), T).unwrap_err();
    assert!(
        matches!(e, Error::BadSignature { what: "AMD CRL" }),
        "{e:?}"
    );
    // Through the production verifier (real pinned ARK) and the collateral, a CRL the
    // real ARK did not sign is refused, not ignored.
    let good_for_test_ark = crl(&a.key, &a.roots.ark, T.0 - DAY, T.0 + DAY, &[]);
    let (report, vcek) = milan_vcek();
    let collateral = Collateral::new()
        .with(VCEK, vcek)
        .with(CRL, good_for_test_ark);
    let e = SevSnpVerifier::new()
        .verify(&Evidence::new(Platform::SevSnp, report), &collateral, T)
        .unwrap_err();
    assert!(
        matches!(e, Error::BadSignature { what: "AMD CRL" }),
        "{e:?}"
    );
}

#[test]
fn crl__should_refuse_an_expired_a_future_a_foreign_and_a_malformed_crl() {
    let a = test_ark();
    let v = SevSnpVerifier::with_roots_for_test(ProductLine::Milan, a.roots.clone());
    let old = crl(&a.key, &a.roots.ark, T.0 - 2 * DAY, T.0 - DAY, &[]);
    let e = verify(&v, &milan_vcek(), Some(&old), T).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Expired {
                what: "AMD CRL",
                ..
            }
        ),
        "{e:?}"
    );
    let future = crl(&a.key, &a.roots.ark, T.0 + DAY, T.0 + 2 * DAY, &[]);
    let e = verify(&v, &milan_vcek(), Some(&future), T).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotYetValid {
                what: "AMD CRL",
                ..
            }
        ),
        "{e:?}"
    );
    // Issued by another name (the ASK's subject).
    let foreign = crl(&a.key, &a.roots.ask, T.0 - DAY, T.0 + DAY, &[]);
    let e = verify(&v, &milan_vcek(), Some(&foreign), T).unwrap_err();
    assert!(matches!(e, Error::CollateralMismatch { .. }), "{e:?}");
    let e = verify(&v, &milan_vcek(), Some(b"not a crl"), T).unwrap_err();
    assert!(matches!(e, Error::Malformed { what: "AMD CRL" }), "{e:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn crl_parse_and_verify__should_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let ark = ProductLine::Milan.roots().unwrap().ark;
        let _ = crl::parse(&bytes);
        prop_assert!(crl::verify(&bytes, &ark, T).is_err());
    }
}
