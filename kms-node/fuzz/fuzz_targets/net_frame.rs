#![no_main]
//! The payload frame body of the node-to-node transport (kms-node/src/net/wire.rs):
//! untrusted bytes from peers. Decoding must not panic; a body that decodes holds 1 to
//! MAX_BATCH payloads within the limit and re-encodes to exactly itself.
use kms_node::net::wire::{decode_body, encode_frame, FRAME_HEADER, MAX_BATCH};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let max_payload = 64;
    if let Ok(payloads) = decode_body(data, max_payload) {
        assert!(!payloads.is_empty() && payloads.len() <= MAX_BATCH);
        assert!(payloads.iter().all(|p| p.len() <= max_payload));
        let frame = encode_frame(&payloads).expect("small payloads encode");
        assert_eq!(&frame[FRAME_HEADER..], data);
    }
});
