#![no_main]
//! The node-to-node protocol framing (kms-node/src/protocol/wire.rs): untrusted bytes
//! from peers. Peeking and decoding every protocol's messages and the transcript
//! confirmation must not panic; a confirmation that decodes re-encodes to a value that
//! decodes to itself, and peeks as the confirmation round.
use kms_node::protocol::wire::{Confirm, WireMessage, CONFIRM_ROUND};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = <dkg::vss::Message as WireMessage>::peek(data);
    let _ = <dkg::vss::Message as WireMessage>::decode(data);
    let _ = <dkg::repair::Message as WireMessage>::peek(data);
    let _ = <dkg::repair::Message as WireMessage>::decode(data);
    if let Ok(c) = Confirm::decode(data) {
        let bytes = c.encode().expect("a decoded confirmation encodes");
        assert_eq!(Confirm::decode(&bytes).ok(), Some(c.clone()));
        let frame = <dkg::vss::Message as WireMessage>::peek(&bytes).expect("peeks");
        assert_eq!(
            (frame.run_id, frame.round),
            (c.header.run_id, CONFIRM_ROUND)
        );
    }
});
