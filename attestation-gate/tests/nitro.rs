//! The recorded Nitro documents of `shared/fixtures/attestation/nitro/` (README §4):
//! the listed facts at the suggested time, the validity window, and the broken variants.
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
    appraise, Binding, Claims, Collateral, Error, Platform, Policy, RawClaims, UnixTime, Vendor,
};
use base64::Engine;
use sha2::{Digest, Sha256};

#[path = "support/nitro_builder.rs"]
mod nitro_builder;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/attestation/nitro"
);

fn must_read(path: &str) -> Vec<u8> {
    let bytes = std::fs::read(format!("{FIXTURES}/{path}")).expect("fixture present");
    if path.ends_with(".b64") {
        let text: String = String::from_utf8(bytes)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    } else {
        bytes
    }
}

struct Sample {
    path: &'static str,
    module_id: &'static str,
    timestamp_ms: u64,
    window: (u64, u64),
    pcr: [String; 3],
    debug: bool,
}

fn zero_pcr() -> String {
    "00".repeat(48)
}

fn evervault_2022() -> Sample {
    Sample {
        path: "evervault-2022-nondebug/attestation_doc.cbor",
        module_id: "i-020b6af9246d90e92-enc0183d09086c24190",
        timestamp_ms: 1665651482136,
        window: (1665651479, 1665662282),
        pcr: [
            "f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf150142d8b".into(),
            "bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f".into(),
            "d8f114da658de5481f8d9ec73907feb553560787522f705c92d7d96beed8e15e2aa611984e098c576832c292e8dc469a".into(),
        ],
        debug: false,
    }
}

fn evervault_2023() -> Sample {
    Sample {
        path: "evervault-2023-debug/attestation_doc.b64",
        module_id: "i-0918f6c55e3b61d89-enc018aa8b8e2285d13",
        timestamp_ms: 1695049410860,
        window: (1695047829, 1695058632),
        pcr: [zero_pcr(), zero_pcr(), zero_pcr()],
        debug: true,
    }
}

fn blocky_2024() -> Sample {
    Sample {
        path: "blocky-2024-debug/attestation_doc.b64",
        module_id: "i-0a22e5c5f24d22174-enc0191ccebaf8feaba",
        timestamp_ms: 1725719886508,
        window: (1725719883, 1725730686),
        pcr: [zero_pcr(), zero_pcr(), zero_pcr()],
        debug: true,
    }
}

fn all_samples() -> [Sample; 3] {
    [evervault_2022(), evervault_2023(), blocky_2024()]
}

fn suggested_t(s: &Sample) -> UnixTime {
    UnixTime(s.timestamp_ms / 1000)
}

fn must_verify(s: &Sample, now: UnixTime) -> Claims {
    let doc = must_read(s.path);
    NitroVerifier::new()
        .verify_bytes(&doc, &Collateral::new(), now)
        .unwrap_or_else(|e| panic!("{}: {e}", s.path))
}

fn nitro_raw(c: &Claims) -> &attestation_gate::NitroRaw {
    match c.raw() {
        RawClaims::Nitro(r) => r,
        other => panic!("not Nitro: {other:?}"),
    }
}

/// The facts every sample shares with the README: platform, vendor, module id, PCR0-2,
/// debug flag, timestamp, window, and the measurement digest recomputed here.
fn check_common_facts(s: &Sample, c: &Claims) {
    assert_eq!(c.platform(), Platform::Nitro);
    assert_eq!(c.vendor(), Vendor::Aws);
    let raw = nitro_raw(c);
    assert_eq!(raw.module_id, s.module_id);
    assert_eq!(hex::encode(&raw.pcr0), s.pcr[0]);
    assert_eq!(hex::encode(&raw.pcr1), s.pcr[1]);
    assert_eq!(hex::encode(&raw.pcr2), s.pcr[2]);
    assert_eq!(c.debug(), s.debug);
    assert_eq!(c.issued_at(), Some(UnixTime(s.timestamp_ms / 1000)));
    assert_eq!(c.valid_from(), Some(UnixTime(s.window.0)));
    assert_eq!(c.valid_until(), Some(UnixTime(s.window.1)));
    assert_eq!(c.tcb_status(), None);

    let mut h = Sha256::new();
    h.update(b"keynet/measurement/nitro/v1");
    for p in &s.pcr {
        h.update(hex::decode(p).unwrap());
    }
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(c.measurement().as_bytes(), &expected);
}

#[test]
fn evervault_2022__should_accept_with_readme_facts() {
    let s = evervault_2022();
    let c = must_verify(&s, suggested_t(&s));
    check_common_facts(&s, &c);
    let raw = nitro_raw(&c);
    assert_eq!(raw.user_data, None);
    assert_eq!(raw.public_key, None);
    assert_eq!(
        hex::encode(raw.nonce.as_ref().unwrap()),
        "cb3dc2eb76c0c1344adf10cc4868591e5bb7fa4b4a8069e144762f71ea1d0017e23f89ba9db04eb26b20fca1a954447d5fb466067b06a6a22eed8100c73b398a4f85a099f8ffcf84c654485590158c7d966e8b09af224654f97f63ec07096c78925f961eff653fd4f3aff684f07f7505722be06316cf8c48d643a33aba4af214991708ab2ee1ee85d42d0ad218915a369d62a483e60538ed8d0fb3d7f34712d895b24bd971a425cbfa9efd2c5e9d511656064260f8faf9cf69c5306137e748d9bcddb4d0d3e01fba1acb9ca35ff11694ab32bd135effe00124ee939b0c21db78cf8e50e37ce0eed59e5e6322197addaed909dcc2bfe5195ed32567a64eb59db3"
    );
    // No user_data, so no report data: appraise can never bind it.
    assert_eq!(c.report_data(), None);
    // Known answer, computed with python hashlib from the README's PCRs.
    assert_eq!(
        c.measurement().to_hex(),
        "d2cee62eb07b27e4b92120ec18fd92e5cc84def102e7fbc42ec1a733e9f8879c"
    );
}

#[test]
fn debug_samples__should_share_the_all_zero_measurement() {
    // SHA-256("keynet/measurement/nitro/v1" || 144 zero bytes), python hashlib.
    for s in [evervault_2023(), blocky_2024()] {
        assert_eq!(
            must_verify(&s, suggested_t(&s)).measurement().to_hex(),
            "8bbf592f7a2fd3072177e92f331ba4f977fbae86a31fbd6e224d3d9a673525ea"
        );
    }
}

#[test]
fn evervault_2023__should_accept_as_debug_with_readme_facts() {
    let s = evervault_2023();
    let c = must_verify(&s, suggested_t(&s));
    check_common_facts(&s, &c);
    let raw = nitro_raw(&c);
    assert_eq!(
        hex::encode(raw.user_data.as_ref().unwrap()),
        "3059301306072a8648ce3d020106082a8648ce3d030107034200042afc52fe36bd5f190b5c90a7ef3349716dcbc4aa003dde71114b11d2faa6648e0713c527439746a8d23dab9e1b999e847762ef385bb5cf27295323b9908b2acb"
    );
    let nonce = raw.nonce.as_ref().unwrap();
    assert_eq!(nonce.len(), 256);
    assert!(hex::encode(nonce).starts_with("bba6bfd51866d2e4"));
    assert_eq!(raw.public_key, None);
    // 91-byte user_data is not report data: no padding, no truncation.
    assert_eq!(c.report_data(), None);
}

#[test]
fn blocky_2024__should_accept_as_debug_with_maximum_optional_fields() {
    let s = blocky_2024();
    let c = must_verify(&s, suggested_t(&s));
    check_common_facts(&s, &c);
    let raw = nitro_raw(&c);
    for field in [&raw.user_data, &raw.nonce, &raw.public_key] {
        assert_eq!(field.as_deref(), Some(&[1u8; 1024][..]));
    }
    assert_eq!(c.report_data(), None);
}

#[test]
fn every_sample__should_accept_at_both_ends_of_its_window() {
    for s in all_samples() {
        must_verify(&s, UnixTime(s.window.0));
        must_verify(&s, UnixTime(s.window.1));
    }
}

#[test]
fn every_sample__should_be_expired_four_hours_after_its_timestamp() {
    for s in all_samples() {
        let doc = must_read(s.path);
        let now = UnixTime(s.timestamp_ms / 1000 + 4 * 3600);
        match NitroVerifier::new().verify_bytes(&doc, &Collateral::new(), now) {
            Err(Error::Expired {
                what, not_after, ..
            }) => {
                assert_eq!(what, "Nitro leaf certificate");
                assert_eq!(not_after, Some(UnixTime(s.window.1)));
            }
            other => panic!("{}: expected Expired, got {other:?}", s.path),
        }
        let just_after = UnixTime(s.window.1 + 1);
        assert_eq!(
            NitroVerifier::new()
                .verify_bytes(&doc, &Collateral::new(), just_after)
                .unwrap_err()
                .kind(),
            "expired"
        );
    }
}

#[test]
fn every_sample__should_be_not_yet_valid_before_its_window() {
    for s in all_samples() {
        let doc = must_read(s.path);
        // Just before the window only the leaf is not valid yet.
        let now = UnixTime(s.window.0 - 1);
        match NitroVerifier::new().verify_bytes(&doc, &Collateral::new(), now) {
            Err(Error::NotYetValid {
                what, not_before, ..
            }) => {
                assert_eq!(what, "Nitro leaf certificate");
                assert_eq!(not_before, Some(UnixTime(s.window.0)));
            }
            other => panic!("{}: expected NotYetValid, got {other:?}", s.path),
        }
        // A day earlier, an intermediate already fails the same way.
        let now = UnixTime(s.window.0 - 86_400);
        match NitroVerifier::new().verify_bytes(&doc, &Collateral::new(), now) {
            Err(Error::NotYetValid { not_before, .. }) => assert!(not_before.unwrap() > now),
            other => panic!("{}: expected NotYetValid, got {other:?}", s.path),
        }
    }
}

/// The COSE signature over `doc` (a tampered copy of sample `s`) no longer verifies.
fn assert_bad_document_signature(s: &Sample, doc: &[u8]) {
    let err = NitroVerifier::new()
        .verify_bytes(doc, &Collateral::new(), suggested_t(s))
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

#[test]
fn evervault_2022__should_fail_bad_signature_when_last_byte_flipped() {
    let s = evervault_2022();
    let mut doc = must_read(s.path);
    *doc.last_mut().unwrap() ^= 0x01;
    assert_bad_document_signature(&s, &doc);
}

#[test]
fn evervault_2022__should_fail_bad_signature_when_pcr0_flipped() {
    let s = evervault_2022();
    let mut doc = must_read(s.path);
    // README: byte 104 is the first byte of PCR0's value.
    assert_eq!(doc[104], 0xf4);
    doc[104] ^= 0x01;
    assert_bad_document_signature(&s, &doc);
}

#[test]
fn every_sample__should_fail_untrusted_root_with_another_pinned_root() {
    // Another self-signed P-384 certificate, generated here.
    let other_root = nitro_builder::chain(1, Default::default()).root_der;
    assert_ne!(other_root, attestation_gate::nitro::AWS_NITRO_ROOT_G1_DER);
    for s in all_samples() {
        let doc = must_read(s.path);
        let err = NitroVerifier::with_pinned_root(other_root.clone())
            .verify_bytes(&doc, &Collateral::new(), suggested_t(&s))
            .unwrap_err();
        assert!(matches!(err, Error::UntrustedRoot { .. }), "{err:?}");
    }
}

#[test]
fn debug_samples__should_never_be_accepted_by_a_production_policy() {
    // These documents carry no 64-byte user_data, so appraise refuses them at the
    // binding already (its first rule); tests/nitro_synthetic.rs shows a debug document
    // that *is* bound failing with DebugForbidden.
    for s in [evervault_2023(), blocky_2024()] {
        let t = suggested_t(&s);
        let c = must_verify(&s, t);
        assert!(c.debug());
        let mut policy = Policy::new([c.measurement()]);
        policy.max_evidence_age_secs = u64::MAX;
        let binding = Binding::new(attestation_gate::Purpose::NodeIdentity, b"key", t);
        let err = appraise(c, &binding, &policy, t).unwrap_err();
        assert!(matches!(err, Error::ReportDataMismatch), "{err:?}");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn verify__should_never_panic_on_random_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..6000),
        ) {
            let v = NitroVerifier::new();
            let now = UnixTime(1665651482);
            prop_assert!(v.verify_bytes(&bytes, &Collateral::new(), now).is_err());
            let mut cose = vec![0x84];
            cose.extend_from_slice(&bytes);
            prop_assert!(v.verify_bytes(&cose, &Collateral::new(), now).is_err());
        }
    }

    fn original() -> &'static Claims {
        static ORIGINAL: std::sync::OnceLock<Claims> = std::sync::OnceLock::new();
        ORIGINAL.get_or_init(|| {
            let s = evervault_2022();
            must_verify(&s, suggested_t(&s))
        })
    }

    proptest! {
        // Few cases: a full verification costs ~0.1 s in an unoptimised test build
        // (the generic P-384 code is compiled into this crate at opt-level 0).
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Any byte change either fails or leaves the claims unchanged (only the
        /// unprotected header is outside the signature).
        #[test]
        fn verify__should_give_the_same_claims_or_fail_after_a_byte_change(
            at in 0usize..4654,
            flip in 1u8..=255,
        ) {
            let s = evervault_2022();
            let doc = must_read(s.path);
            let mut t = doc.clone();
            let at = at % t.len();
            t[at] ^= flip;
            if let Ok(c) = NitroVerifier::new().verify_bytes(&t, &Collateral::new(), suggested_t(&s)) {
                prop_assert_eq!(&c, original());
            }
        }
    }
}
