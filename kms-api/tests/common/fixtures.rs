//! Fixed messages shared by the tests.
#![allow(dead_code, clippy::unwrap_used)]

use attestation_gate::Platform;
use kms_api::{
    AppHello, DeriveRequest, DeriveResponse, EvidencePayload, GroupKeysRequest, GroupKeysResponse,
    NodeHello, Request, RequestBody, RequestId, Response, ResponseBody, SessionPurpose,
    SignRequest, SignResponse,
};
use tss::{Identity, PartyIndex, PrfShare};

/// A valid BIP-340 encoding: `R.x` = the secp256k1 generator's x, `s` = 1.
pub const SIGNATURE: [u8; 64] = {
    let mut s = [0u8; 64];
    let gx: [u8; 32] = [
        0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62, 0x95, 0xce, 0x87, 0x0b,
        0x07, 0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce, 0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8,
        0x17, 0x98,
    ];
    let mut i = 0;
    while i < 32 {
        s[i] = gx[i];
        i += 1;
    }
    s[63] = 1;
    s
};

pub fn identity() -> Identity {
    Identity::new([0x11; 32], "disk").unwrap()
}

/// The G2 generator as a PRF share (a valid point; the value does not matter here).
pub fn prf_share() -> PrfShare {
    use group::prime::PrimeCurveAffine;
    PrfShare::from_bytes(&blstrs::G2Affine::generator().to_compressed()).unwrap()
}

pub fn evidence(key: u8) -> EvidencePayload {
    EvidencePayload {
        platform: Platform::Simulated,
        noise_static_key: [key; 32],
        issued_at: 1_700_000_000,
        evidence: b"kn-simev evidence bytes".to_vec(),
        aux: None,
    }
}

pub fn app_hello() -> AppHello {
    AppHello::new(SessionPurpose::Derive, [0x11; 32], evidence(0xaa))
}

pub fn node_hello() -> NodeHello {
    let mut e = evidence(0xbb);
    e.platform = Platform::Simulated;
    e.aux = Some(vec![0xcc; 4]);
    NodeHello::new(7, PartyIndex::new(3).unwrap(), e)
}

pub fn derive_request() -> Request {
    Request::new(
        RequestId([0x22; 16]),
        RequestBody::Derive(DeriveRequest::new(&identity())),
    )
}

pub fn sign_request() -> Request {
    Request::new(
        RequestId([0x22; 16]),
        RequestBody::Sign(SignRequest::new(
            &identity(),
            b"hello world",
            [3, 1].map(|i| PartyIndex::new(i).unwrap()),
            [0x33; 16],
        )),
    )
}

pub fn group_keys_request() -> Request {
    Request::new(
        RequestId([0x22; 16]),
        RequestBody::GroupKeys(GroupKeysRequest::default()),
    )
}

/// The G1 generator, compressed (a valid point; the value does not matter here).
pub fn g1() -> [u8; 48] {
    use group::prime::PrimeCurveAffine;
    blstrs::G1Affine::generator().to_compressed()
}

/// The secp256k1 generator, compressed SEC1.
pub fn secp_g() -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = 0x02;
    out[1..].copy_from_slice(&SIGNATURE[..32]);
    out
}

pub fn group_keys_response() -> GroupKeysResponse {
    GroupKeysResponse {
        epoch: 7,
        threshold: 3,
        committee_size: 5,
        bls_group_pk: g1(),
        secp_group_pk: secp_g(),
        party: PartyIndex::new(3).unwrap(),
        bls_public_share: g1(),
    }
}

/// Every message kind from fixed inputs, in a fixed order.
pub fn fixed_messages() -> Vec<(&'static str, Vec<u8>)> {
    let id = RequestId([0x22; 16]);
    vec![
        ("AppHello", app_hello().encode().unwrap()),
        ("NodeHello", node_hello().encode().unwrap()),
        ("Request/derive", derive_request().encode().unwrap()),
        ("Request/sign", sign_request().encode().unwrap()),
        ("Request/group_keys", group_keys_request().encode().unwrap()),
        (
            "Response/derive",
            Response::new(
                id,
                ResponseBody::Derive(DeriveResponse::new(
                    PartyIndex::new(3).unwrap(),
                    &prf_share(),
                )),
            )
            .encode()
            .unwrap(),
        ),
        (
            "Response/sign",
            Response::new(
                id,
                ResponseBody::Sign(SignResponse {
                    signature: SIGNATURE,
                }),
            )
            .encode()
            .unwrap(),
        ),
        (
            "Response/group_keys",
            Response::new(id, ResponseBody::GroupKeys(group_keys_response()))
                .encode()
                .unwrap(),
        ),
        (
            "Response/error",
            Response::error(id, kms_api::ErrorCode::RateLimited, Some(30))
                .encode()
                .unwrap(),
        ),
    ]
}
