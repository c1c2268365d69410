#![no_main]
//! The peer evidence envelope (kms-node/src/node/attest.rs): untrusted bytes a peer
//! sends before any protocol message. Decoding may fail, never panic; what decodes
//! re-encodes and decodes to the same value, and its collateral passes its own check.
use kms_node::node::attest::PeerEvidence;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(pe) = PeerEvidence::decode(data) {
        if let Some(c) = &pe.collateral {
            assert!(c.check().is_ok());
            let _ = c.to_collateral();
        }
        let again = pe.encode().expect("a decoded envelope encodes");
        assert_eq!(PeerEvidence::decode(&again).ok(), Some(pe));
    }
});
