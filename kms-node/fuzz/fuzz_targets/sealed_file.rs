#![no_main]
//! The sealed share file parser (kms-node/src/storage/sealed.rs): untrusted bytes from
//! the node's disk. Parses, then opens under a fixed key for the slot the header names
//! and for a fixed slot; neither may panic, and a file that opens must re-seal to the
//! same plaintext.
use kms_node::storage::sealed::{open, seal, SealedFile};
use kms_node::storage::{Epoch, OperatorKeySealer, ShareKind};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(sealer) = OperatorKeySealer::from_key(&[0x42; 32]) else {
        return;
    };
    let _ = open(&sealer, Epoch(1), ShareKind::Bls, data);
    if let Ok(file) = SealedFile::parse(data) {
        if let Ok(plain) = file.open(&sealer, file.epoch, file.kind) {
            let again = seal(&sealer, file.epoch, file.kind, &plain, [0; 12]);
            let reopened = again.and_then(|b| open(&sealer, file.epoch, file.kind, &b));
            assert_eq!(
                reopened.ok().as_deref().map(|v| v.as_slice()),
                Some(plain.as_slice())
            );
        }
    }
});
