#![no_main]
//! The signing session's wire messages (`tss::session::Message`): untrusted bytes from
//! another signer over p2p. `decode` and `peek` may fail, never panic; a decoded
//! message re-encodes to bytes that decode to the same message and peek to its run id
//! and round.
use tss::session::Message;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = Message::peek(data);
    if let Ok(m) = Message::decode(data) {
        let bytes = m.encode().expect("a decoded message encodes");
        assert_eq!(Message::decode(&bytes).ok().as_ref(), Some(&m));
        let (run_id, round) = Message::peek(&bytes).expect("peek of a valid message");
        let (header, expected) = match &m {
            Message::Commitments(c) => (&c.header, 1),
            Message::Share(s) => (&s.header, 2),
        };
        assert_eq!((run_id, round), (header.run_id, expected));
    }
});
