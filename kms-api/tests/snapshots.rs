//! Every encoding of kms-api is stable (insta snapshots). A change here is a wire-format
//! change: bump `kms_api::VERSION` and update docs/PROTOCOL.md.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/fixtures.rs"]
mod common;

use kms_api::{AppHello, ErrorCode, NodeHello, Request, Response};

#[test]
fn wire_encodings__should_be_stable() {
    let text: String = common::fixed_messages()
        .iter()
        .map(|(name, bytes)| format!("{name}: {}\n", hex::encode(bytes)))
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn snapshot_messages__should_decode_through_the_validating_decoders() {
    for (name, bytes) in common::fixed_messages() {
        let ok = match name {
            "AppHello" => AppHello::decode(&bytes).is_ok(),
            "NodeHello" => NodeHello::decode(&bytes).is_ok(),
            n if n.starts_with("Request/") => Request::decode(&bytes).is_ok(),
            n if n.starts_with("Response/") => Response::decode(&bytes).is_ok(),
            _ => false,
        };
        assert!(ok, "{name} does not decode");
    }
}

#[test]
fn error_codes__should_be_stable() {
    let text: String = ErrorCode::ALL
        .iter()
        .map(|c| format!("{} {}\n", c.code(), c.as_str()))
        .collect();
    insta::assert_snapshot!(text);
}
