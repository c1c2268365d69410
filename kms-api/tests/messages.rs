//! Round trips, validation and typed rejection of every kms-api message.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/fixtures.rs"]
mod common;

use attestation_gate::{Binding, Platform, Purpose, ReportData, UnixTime};
use common::{
    app_hello, derive_request, group_keys_request, group_keys_response, node_hello, prf_share,
    sign_request,
};
use kms_api::{
    AppHello, DeriveResponse, Error, ErrorCode, NodeHello, Request, RequestBody, RequestId,
    Response, ResponseBody, SessionPurpose, SignResponse, MAX_EVIDENCE_LEN, MAX_FRAME_LEN,
    MAX_HANDSHAKE_PAYLOAD_LEN, MAX_SIGN_MESSAGE_LEN, VERSION,
};
use proptest::prelude::*;
use tss::PartyIndex;

fn party(i: u16) -> PartyIndex {
    PartyIndex::new(i).unwrap()
}

#[test]
fn every_message__should_round_trip() {
    let hello = app_hello();
    assert_eq!(AppHello::decode(&hello.encode().unwrap()).unwrap(), hello);
    let node = node_hello();
    assert_eq!(NodeHello::decode(&node.encode().unwrap()).unwrap(), node);
    for request in [derive_request(), sign_request(), group_keys_request()] {
        assert_eq!(
            Request::decode(&request.encode().unwrap()).unwrap(),
            request
        );
    }
    let share = prf_share();
    let responses = [
        Response::new(
            RequestId([1; 16]),
            ResponseBody::Derive(DeriveResponse::new(party(2), &share)),
        ),
        Response::new(
            RequestId([1; 16]),
            ResponseBody::Sign(SignResponse {
                signature: common::SIGNATURE,
            }),
        ),
        Response::error(RequestId([1; 16]), ErrorCode::StaleChain, None),
        Response::new(
            RequestId([1; 16]),
            ResponseBody::GroupKeys(group_keys_response()),
        ),
    ];
    for response in responses {
        let back = Response::decode(&response.encode().unwrap()).unwrap();
        assert_eq!(back, response);
    }
}

#[test]
fn decode__should_refuse_another_version_by_name() {
    let mut request = derive_request();
    request.version = VERSION + 1;
    assert_eq!(
        Request::decode(&request.encode().unwrap()),
        Err(Error::UnsupportedVersion {
            version: VERSION + 1
        })
    );
    let mut hello = app_hello();
    hello.version = 0;
    assert_eq!(
        AppHello::decode(&hello.encode().unwrap())
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedVersion
    );
}

#[test]
fn decode__should_refuse_oversized_input_before_parsing() {
    let bytes = vec![0u8; MAX_FRAME_LEN + 1];
    assert_eq!(
        Request::decode(&bytes),
        Err(Error::TooLarge {
            len: MAX_FRAME_LEN + 1,
            max: MAX_FRAME_LEN
        })
    );
    let bytes = vec![0u8; MAX_HANDSHAKE_PAYLOAD_LEN + 1];
    assert!(matches!(
        NodeHello::decode(&bytes),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn request_decode__should_refuse_bad_paths_and_long_messages() {
    let mut request = derive_request();
    if let RequestBody::Derive(r) = &mut request.body {
        r.path = String::new();
    }
    assert_eq!(
        Request::decode(&request.encode().unwrap()),
        Err(Error::Content(tss::Error::InvalidPathLength { len: 0 }))
    );
    let mut request = sign_request();
    if let RequestBody::Sign(r) = &mut request.body {
        r.message = vec![0; MAX_SIGN_MESSAGE_LEN + 1];
    }
    let err = Request::decode(&request.encode().unwrap()).unwrap_err();
    assert!(matches!(
        err,
        Error::FieldTooLong {
            field: "message",
            ..
        }
    ));
    assert_eq!(err.code(), ErrorCode::BadRequest);
}

#[test]
fn sign_request_new__should_sort_and_deduplicate_the_signers() {
    let identity = common::identity();
    let r = kms_api::SignRequest::new(&identity, b"m", [3, 1, 3].map(party), [1; 16]);
    assert_eq!(r.signers, [party(1), party(3)]);
}

#[test]
fn request_decode__should_refuse_an_empty_unsorted_repeated_or_oversized_signing_set() {
    let with_signers = |signers: Vec<PartyIndex>| {
        let mut request = sign_request();
        if let RequestBody::Sign(r) = &mut request.body {
            r.signers = signers;
        }
        Request::decode(&request.encode().unwrap())
    };
    assert!(with_signers(vec![party(1)]).is_ok());
    assert!(with_signers((1..=255).map(party).collect()).is_ok());
    for (signers, len) in [
        (vec![], 0),
        (vec![party(2), party(1)], 2),
        (vec![party(1), party(1)], 2),
        ((1..=256).map(party).collect(), 256),
    ] {
        let err = with_signers(signers).unwrap_err();
        assert_eq!(err, Error::InvalidSigners { len });
        assert_eq!(err.code(), ErrorCode::BadRequest);
    }
}

#[test]
fn group_keys__should_fit_a_session_of_either_purpose() {
    let mut hello = app_hello();
    assert_eq!(hello.admits(&group_keys_request()), Ok(()));
    hello.purpose = SessionPurpose::Sign;
    assert_eq!(hello.admits(&group_keys_request()), Ok(()));
    assert_eq!(hello.admits(&derive_request()), Err(ErrorCode::BadRequest));
}

#[test]
fn group_keys_response_check_points__should_refuse_invalid_points() {
    // Decoding checks the wire only; the points are checked where they are read.
    let decode = |keys: kms_api::GroupKeysResponse| {
        let bytes = Response::new(RequestId([0; 16]), ResponseBody::GroupKeys(keys))
            .encode()
            .unwrap();
        match Response::decode(&bytes).unwrap().body {
            ResponseBody::GroupKeys(k) => k.check_points(),
            other => panic!("decoded into {other:?}"),
        }
    };
    assert_eq!(decode(group_keys_response()), Ok(()));
    let mut keys = group_keys_response();
    keys.bls_group_pk = [0xff; 48];
    assert_eq!(decode(keys), Err(Error::MalformedPoint { what: "G1" }));
    let mut keys = group_keys_response();
    keys.bls_public_share[47] ^= 1;
    assert_eq!(decode(keys), Err(Error::MalformedPoint { what: "G1" }));
    let mut keys = group_keys_response();
    keys.secp_group_pk[0] = 0x05;
    assert_eq!(
        decode(keys),
        Err(Error::MalformedPoint { what: "secp256k1" })
    );
    // x = 5 is not the x-coordinate of a curve point (5^3 + 7 = 132 is a non-residue).
    let mut keys = group_keys_response();
    keys.secp_group_pk = [0; 33];
    keys.secp_group_pk[0] = 0x02;
    keys.secp_group_pk[32] = 5;
    assert_eq!(
        decode(keys),
        Err(Error::MalformedPoint { what: "secp256k1" })
    );
}

#[test]
fn response_accessors__should_refuse_invalid_points_signatures_and_codes() {
    let read_share = |r: Response| match Response::decode(&r.encode().unwrap()).unwrap().body {
        ResponseBody::Derive(d) => d.share(),
        other => panic!("decoded into {other:?}"),
    };
    let good = DeriveResponse::new(party(1), &prf_share());
    let r = Response::new(RequestId([0; 16]), ResponseBody::Derive(good));
    assert_eq!(read_share(r).unwrap(), prf_share());
    let mut bad_share = DeriveResponse::new(party(1), &prf_share());
    bad_share.share = [0xff; 96];
    let r = Response::new(RequestId([0; 16]), ResponseBody::Derive(bad_share));
    assert!(matches!(
        read_share(r),
        Err(Error::Content(tss::Error::MalformedPoint { .. }))
    ));
    // s = n (the group order) is not a canonical scalar.
    let mut signature = common::SIGNATURE;
    signature[32..].copy_from_slice(
        &hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").unwrap(),
    );
    let r = Response::new(
        RequestId([0; 16]),
        ResponseBody::Sign(SignResponse { signature }),
    );
    let ResponseBody::Sign(decoded) = Response::decode(&r.encode().unwrap()).unwrap().body else {
        panic!("not a sign response");
    };
    assert!(matches!(decoded.to_frost(), Err(Error::MalformedSignature)));
    // Error code 12 does not exist: patch the encoded number (0x0b = 11, internal).
    let internal = Response::error(RequestId([0; 16]), ErrorCode::Internal, None)
        .encode()
        .unwrap();
    let at = internal.windows(5).position(|w| w == b"code\x0b").unwrap() + 4;
    let mut patched = internal.clone();
    patched[at] = 0x0c;
    assert!(matches!(Response::decode(&patched), Err(Error::Wire(_))));
}

#[test]
fn hello_decode__should_refuse_empty_or_oversized_evidence() {
    let mut hello = app_hello();
    hello.evidence.evidence.clear();
    assert_eq!(
        AppHello::decode(&hello.encode().unwrap()),
        Err(Error::EmptyEvidence)
    );
    let mut hello = node_hello();
    hello.evidence.evidence = vec![1; MAX_EVIDENCE_LEN + 1];
    assert!(matches!(
        NodeHello::decode(&hello.encode().unwrap()),
        Err(Error::FieldTooLong {
            field: "evidence",
            ..
        })
    ));
}

#[test]
fn binding__should_use_the_handshake_key_and_the_session_purpose() {
    let hello = app_hello();
    let key = hello.evidence.noise_static_key;
    let binding = hello.binding(&key).unwrap();
    let issued = UnixTime(hello.evidence.issued_at);
    assert_eq!(binding, Binding::new(Purpose::AppKeyRequest, &key, issued));
    assert_eq!(
        *binding.report_data(),
        SessionPurpose::Derive.report_data(&key, issued)
    );
    assert_ne!(
        SessionPurpose::Sign.report_data(&key, issued),
        ReportData::bind(Purpose::AppKeyRequest, &key, issued)
    );
    // Evidence naming another key than the one the handshake authenticated.
    assert_eq!(hello.binding(&[9; 32]), Err(Error::StaticKeyMismatch));
    assert_eq!(Error::StaticKeyMismatch.code(), ErrorCode::EvidenceRejected);
    let node = node_hello();
    assert_eq!(
        node.binding(&node.evidence.noise_static_key).unwrap(),
        Binding::new(
            Purpose::NodeIdentity,
            &node.evidence.noise_static_key,
            UnixTime(node.evidence.issued_at)
        )
    );
    assert_eq!(node.evidence.platform, Platform::Simulated);
}

#[test]
fn admits__should_match_purpose_and_app_id() {
    let hello = app_hello(); // Derive session for app [0x11; 32]
    assert_eq!(hello.admits(&derive_request()), Ok(()));
    assert_eq!(hello.admits(&sign_request()), Err(ErrorCode::BadRequest));
    let mut other_app = derive_request();
    if let RequestBody::Derive(r) = &mut other_app.body {
        r.app_id = [0x12; 32];
    }
    assert_eq!(hello.admits(&other_app), Err(ErrorCode::BadRequest));
}

#[test]
fn decode__should_refuse_unknown_fields_and_trailing_bytes() {
    let mut bytes = derive_request().encode().unwrap();
    bytes.push(0);
    assert!(matches!(Request::decode(&bytes), Err(Error::Wire(_))));
    // A node hello decoded as an app hello: unknown fields.
    assert!(matches!(
        AppHello::decode(&node_hello().encode().unwrap()),
        Err(Error::Wire(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoders__should_reject_random_bytes_with_typed_errors(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        prop_assert!(AppHello::decode(&bytes).is_err());
        prop_assert!(NodeHello::decode(&bytes).is_err());
        prop_assert!(Request::decode(&bytes).is_err());
        prop_assert!(Response::decode(&bytes).is_err());
    }

    #[test]
    fn decoders__should_survive_mutated_valid_messages(
        which in 0usize..6,
        pos in any::<proptest::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = common::fixed_messages()[which].1.clone();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        // Either still valid or a typed error; re-encoding a valid result is stable.
        if let Ok(m) = AppHello::decode(&bytes) { prop_assert_eq!(AppHello::decode(&m.encode().unwrap()).unwrap(), m); }
        if let Ok(m) = NodeHello::decode(&bytes) { prop_assert_eq!(NodeHello::decode(&m.encode().unwrap()).unwrap(), m); }
        if let Ok(m) = Request::decode(&bytes) { prop_assert_eq!(Request::decode(&m.encode().unwrap()).unwrap(), m); }
        if let Ok(m) = Response::decode(&bytes) { prop_assert_eq!(Response::decode(&m.encode().unwrap()).unwrap(), m); }
    }
}
