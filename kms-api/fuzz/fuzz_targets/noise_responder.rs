#![no_main]
// The node's side of the handshake on untrusted framed bytes: split frames, read
// message 1, answer, read message 3, decrypt what follows. Never panics; whatever
// fails is a typed NoiseError.
use kms_api::noise::{split_frame, Responder, StaticKey};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});

fn run(data: &[u8]) -> Option<()> {
    let key = StaticKey::from_secret([7; 32]).ok()?;
    let hello = kms_api::NodeHello::new(
        1,
        tss::PartyIndex::new(1)?,
        kms_api::EvidencePayload {
            platform: attestation_gate::Platform::Simulated,
            noise_static_key: key.public(),
            issued_at: 0,
            evidence: vec![1],
            aux: None,
        },
    );
    let (m1, rest) = split_frame(data).ok()??;
    let started = Responder::new(&key).ok()?.read_message_1(m1).ok()?;
    let (awaiting, _m2) = started.send_node_hello(&hello).ok()?;
    let (m3, mut rest) = split_frame(rest).ok()??;
    let (mut transport, _app) = awaiting.read_app_hello(m3).ok()?;
    while let Some((frame, next)) = split_frame(rest).ok()? {
        let plaintext = transport.decrypt(frame).ok()?;
        let _ = kms_api::Request::decode(&plaintext);
        rest = next;
    }
    Some(())
}
