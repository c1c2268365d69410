//! Nitro documents signed by a throwaway chain (tests/support/nitro_builder.rs): the
//! cases no recorded document covers: a document bound to keynet report data, a bound
//! debug document, user_data of the wrong length, broken chains, malformed payloads.
#![cfg(feature = "nitro")]
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/verify_bytes.rs"]
mod verify_bytes;
use verify_bytes::VerifyBytes;

use attestation_gate::nitro::NitroVerifier;
use attestation_gate::{
    appraise, Binding, Error, Policy, PolicyViolation, Purpose, UnixTime, Vendor,
};
use ciborium::value::Value;

#[path = "support/nitro_builder.rs"]
mod nitro_builder;
use nitro_builder::{chain, document, ChainOptions, Fields, NOT_AFTER, NOT_BEFORE, TIMESTAMP_MS};

const NOW: UnixTime = UnixTime(TIMESTAMP_MS / 1000);

fn binding() -> Binding {
    Binding::new(Purpose::NodeIdentity, b"noise static key", NOW)
}

fn bound_fields() -> Fields {
    Fields::new(Some(binding().report_data().as_bytes().to_vec()))
}

#[test]
fn bound_document__should_verify_and_pass_appraise() {
    let c = chain(10, ChainOptions::default());
    let doc = document(&c, &bound_fields());
    let claims = NitroVerifier::with_pinned_root(c.root_der.clone())
        .verify_bytes(&doc, &attestation_gate::Collateral::new(), NOW)
        .unwrap();
    assert_eq!(claims.vendor(), Vendor::Aws);
    assert_eq!(claims.report_data(), Some(binding().report_data()));
    assert!(!claims.debug());
    assert_eq!(claims.valid_from(), Some(UnixTime(NOT_BEFORE)));
    assert_eq!(claims.valid_until(), Some(UnixTime(NOT_AFTER)));
    let policy = Policy::new([claims.measurement()]);
    let accepted = appraise(claims, &binding(), &policy, NOW).unwrap();
    assert_eq!(accepted.claims().issued_at(), Some(NOW));
}

#[test]
fn bound_debug_document__should_fail_debug_forbidden_policy() {
    let c = chain(10, ChainOptions::default());
    let doc = document(&c, &bound_fields().debug());
    let claims = NitroVerifier::with_pinned_root(c.root_der.clone())
        .verify_bytes(&doc, &attestation_gate::Collateral::new(), NOW)
        .unwrap();
    assert!(claims.debug());
    let policy = Policy::new([claims.measurement()]);
    let err = appraise(claims.clone(), &binding(), &policy, NOW).unwrap_err();
    assert!(
        matches!(err, Error::Policy(PolicyViolation::DebugForbidden)),
        "{err:?}"
    );
    // Only the explicitly insecure switch admits it.
    let mut insecure = policy;
    insecure.insecure_allow_debug = true;
    appraise(claims, &binding(), &insecure, NOW).unwrap();
}

#[test]
fn user_data_not_64_bytes__should_give_no_report_data_and_fail_binding() {
    let c = chain(10, ChainOptions::default());
    let rd = binding().report_data().as_bytes().to_vec();
    for user_data in [
        rd[..63].to_vec(),
        [rd.clone(), vec![0]].concat(),
        Vec::new(),
    ] {
        let doc = document(&c, &Fields::new(Some(user_data)));
        let claims = NitroVerifier::with_pinned_root(c.root_der.clone())
            .verify_bytes(&doc, &attestation_gate::Collateral::new(), NOW)
            .unwrap();
        assert_eq!(claims.report_data(), None);
        let policy = Policy::new([claims.measurement()]);
        let err = appraise(claims, &binding(), &policy, NOW).unwrap_err();
        assert!(matches!(err, Error::ReportDataMismatch), "{err:?}");
    }
}

#[test]
fn synthetic_document__should_fail_untrusted_root_under_the_aws_root() {
    let c = chain(10, ChainOptions::default());
    let err = NitroVerifier::new()
        .verify_bytes(
            &document(&c, &bound_fields()),
            &attestation_gate::Collateral::new(),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, Error::UntrustedRoot { .. }), "{err:?}");
}

#[test]
fn intermediate_without_ca_bit__should_fail_untrusted_root() {
    let c = chain(
        20,
        ChainOptions {
            intermediate_not_ca: true,
            ..Default::default()
        },
    );
    let err = NitroVerifier::with_pinned_root(c.root_der.clone())
        .verify_bytes(
            &document(&c, &bound_fields()),
            &attestation_gate::Collateral::new(),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, Error::UntrustedRoot { .. }), "{err:?}");
}

#[test]
fn leaf_signed_by_wrong_key__should_fail_bad_signature_on_the_chain() {
    let c = chain(
        30,
        ChainOptions {
            leaf_signed_by_wrong_key: true,
            ..Default::default()
        },
    );
    let err = NitroVerifier::with_pinned_root(c.root_der.clone())
        .verify_bytes(
            &document(&c, &bound_fields()),
            &attestation_gate::Collateral::new(),
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadSignature {
                what: "Nitro certificate chain"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn document_signed_by_another_key__should_fail_bad_signature() {
    let c = chain(40, ChainOptions::default());
    let other = chain(50, ChainOptions::default());
    let payload = nitro_builder::payload(&c, &bound_fields());
    let doc = nitro_builder::sign_document(&other.leaf_key, payload);
    let err = NitroVerifier::with_pinned_root(c.root_der.clone())
        .verify_bytes(&doc, &attestation_gate::Collateral::new(), NOW)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadSignature {
                what: "Nitro attestation document"
            }
        ),
        "{err:?}"
    );
}

fn must_be_malformed(c: &nitro_builder::Chain, fields: &Fields) {
    let err = NitroVerifier::with_pinned_root(c.root_der.clone())
        .verify_bytes(
            &document(c, fields),
            &attestation_gate::Collateral::new(),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
}

#[test]
fn malformed_payload_fields__should_fail_malformed() {
    let c = chain(60, ChainOptions::default());
    let base = bound_fields();

    let mut f = base.clone();
    f.digest = "SHA256".into();
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.module_id = String::new();
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.module_id = "x".repeat(257);
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.pcrs.retain(|(i, _)| *i != 1);
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.pcrs[3].1 = vec![0; 32];
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.pcrs.push((32, vec![0; 48]));
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.nonce = Some(vec![0; 1025]);
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.timestamp_ms = 0;
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.extra
        .push((Value::Text("nonce".into()), Value::Bytes(vec![1, 2, 3])));
    must_be_malformed(&c, &f);

    let mut f = base.clone();
    f.extra.push((Value::Integer(7.into()), Value::Null));
    must_be_malformed(&c, &f);
}

#[test]
fn unknown_payload_field__should_be_ignored() {
    let c = chain(70, ChainOptions::default());
    let mut f = bound_fields();
    f.extra
        .push((Value::Text("future_field".into()), Value::Bool(true)));
    NitroVerifier::with_pinned_root(c.root_der.clone())
        .verify_bytes(&document(&c, &f), &attestation_gate::Collateral::new(), NOW)
        .unwrap();
}

/// The envelope bytes the signature does not cover: an unprotected header entry, a
/// longer-than-needed length and trailing bytes are refused (NonCanonical / Malformed),
/// although the COSE signature still verifies over the same protected header and
/// payload.
#[test]
fn unsigned_envelope_changes__should_be_refused() {
    let c = chain(10, ChainOptions::default());
    let doc = document(&c, &bound_fields());
    let v = NitroVerifier::with_pinned_root(c.root_der.clone());
    v.verify_bytes(&doc, &attestation_gate::Collateral::new(), NOW)
        .unwrap();
    assert_eq!(&doc[..7], &[0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0]);
    // Unprotected header {4: h''} (kid) instead of {}.
    let mut m = doc[..6].to_vec();
    m.extend_from_slice(&[0xa1, 0x04, 0x40]);
    m.extend_from_slice(&doc[7..]);
    let e = v
        .verify_bytes(&m, &attestation_gate::Collateral::new(), NOW)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonCanonical { offset: 6, .. } | Error::Malformed { .. }
        ),
        "{e:?}"
    );
    // The payload byte string's length in a longer form (0x59 nn nn -> 0x5a 00 00 nn nn).
    assert_eq!(doc[7], 0x59, "payload length is 2-byte encoded");
    let mut m = doc[..7].to_vec();
    m.extend_from_slice(&[0x5a, 0x00, 0x00]);
    m.extend_from_slice(&doc[8..]);
    let e = v
        .verify_bytes(&m, &attestation_gate::Collateral::new(), NOW)
        .unwrap_err();
    assert!(matches!(e, Error::NonCanonical { offset: 7, .. }), "{e:?}");
    assert_eq!(e.kind(), "non_canonical");
    // Trailing bytes.
    let mut m = doc.clone();
    m.push(0);
    assert!(v
        .verify_bytes(&m, &attestation_gate::Collateral::new(), NOW)
        .is_err());
}
