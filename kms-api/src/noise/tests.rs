use attestation_gate::Platform;
use tss::PartyIndex;

use snow::resolvers::CryptoResolver;

use super::*;
use crate::{EvidencePayload, SessionPurpose};

fn evidence(key: [u8; 32]) -> EvidencePayload {
    EvidencePayload {
        platform: Platform::Simulated,
        noise_static_key: key,
        issued_at: 1_700_000_000,
        evidence: b"evidence".to_vec(),
        aux: None,
    }
}

fn fresh_key() -> StaticKey {
    StaticKey::generate().unwrap()
}

fn node_hello(key: &StaticKey) -> NodeHello {
    NodeHello::new(4, PartyIndex::new(2).unwrap(), evidence(key.public()))
}

fn app_hello(key: &StaticKey) -> AppHello {
    AppHello::new(SessionPurpose::Derive, [9; 32], evidence(key.public()))
}

/// A full handshake: (app transport, node transport, what each side received).
fn handshake(app: &StaticKey, node: &StaticKey) -> (Transport, Transport, NodeHello, AppHello) {
    let (initiator, m1) = Initiator::start(app).unwrap();
    let started = Responder::new(node).unwrap().read_message_1(&m1).unwrap();
    let (awaiting, m2) = started.send_node_hello(&node_hello(node)).unwrap();
    let (ready, got_node) = initiator.read_node_hello(&m2).unwrap();
    assert_eq!(ready.remote_static(), node.public());
    let (m3, app_t) = ready.send_app_hello(&app_hello(app)).unwrap();
    let (node_t, got_app) = awaiting.read_app_hello(&m3).unwrap();
    (app_t, node_t, got_node, got_app)
}

#[test]
fn handshake__should_deliver_both_hellos_and_authenticate_both_static_keys() {
    let (app, node) = (fresh_key(), fresh_key());
    let (mut app_t, mut node_t, got_node, got_app) = handshake(&app, &node);
    assert_eq!(got_node, node_hello(&node));
    assert_eq!(got_app, app_hello(&app));
    assert_eq!(node_t.remote_static(), app.public());
    assert_eq!(app_t.remote_static(), node.public());
    // The binding check the node runs next succeeds with the authenticated key.
    assert!(got_app.binding(&node_t.remote_static()).is_ok());
    let c = app_t.encrypt(b"request").unwrap();
    assert_eq!(node_t.decrypt(&c).unwrap(), b"request");
    let c = node_t.encrypt(b"response").unwrap();
    assert_eq!(app_t.decrypt(&c).unwrap(), b"response");
}

#[test]
fn read_message_1__should_refuse_a_payload_and_a_wrong_length() {
    let (app, node) = (fresh_key(), fresh_key());
    let mut raw = builder()
        .unwrap()
        .local_private_key(app.secret.as_slice())
        .build_initiator()
        .unwrap();
    let m1 = write(&mut raw, b"hi").unwrap();
    let r = Responder::new(&node).unwrap().read_message_1(&m1);
    assert!(matches!(r, Err(NoiseError::UnexpectedPayload)));
    let r = Responder::new(&node).unwrap().read_message_1(&[0; 5]);
    assert!(matches!(r, Err(NoiseError::Noise(NoiseFailure::Input))));
}

#[test]
fn read_node_hello__should_refuse_a_tampered_message() {
    let (app, node) = (fresh_key(), fresh_key());
    let (initiator, m1) = Initiator::start(&app).unwrap();
    let started = Responder::new(&node).unwrap().read_message_1(&m1).unwrap();
    let (_, mut m2) = started.send_node_hello(&node_hello(&node)).unwrap();
    let last = m2.len() - 1;
    m2[last] ^= 1;
    let r = initiator.read_node_hello(&m2);
    assert!(matches!(r, Err(NoiseError::Noise(NoiseFailure::Decrypt))));
}

#[test]
fn read_app_hello__should_refuse_a_payload_that_is_not_an_app_hello() {
    let (app, node) = (fresh_key(), fresh_key());
    let mut raw = builder()
        .unwrap()
        .local_private_key(app.secret.as_slice())
        .build_initiator()
        .unwrap();
    let m1 = write(&mut raw, &[]).unwrap();
    let started = Responder::new(&node).unwrap().read_message_1(&m1).unwrap();
    let (awaiting, m2) = started.send_node_hello(&node_hello(&node)).unwrap();
    read(&mut raw, &m2).unwrap();
    let m3 = write(&mut raw, b"not cbor").unwrap();
    let e = awaiting.read_app_hello(&m3).unwrap_err();
    assert!(matches!(e, NoiseError::Payload(Error::Wire(_))), "{e:?}");
    assert_eq!(e.code(), ErrorCode::BadRequest);
}

#[test]
fn transport__should_refuse_tampered_and_oversized_messages() {
    let (app, node) = (fresh_key(), fresh_key());
    let (mut app_t, mut node_t, _, _) = handshake(&app, &node);
    let mut c = app_t.encrypt(b"request").unwrap();
    c[0] ^= 1;
    assert_eq!(
        node_t.decrypt(&c),
        Err(NoiseError::Noise(NoiseFailure::Decrypt))
    );
    let big = vec![0u8; MAX_FRAME_LEN + 1];
    assert!(matches!(
        app_t.encrypt(&big),
        Err(NoiseError::TooLarge { .. })
    ));
    assert!(app_t.encrypt(&big[..MAX_FRAME_LEN]).is_ok());
    let huge = vec![0u8; NOISE_MAX_MESSAGE_LEN + 1];
    assert!(matches!(
        node_t.decrypt(&huge),
        Err(NoiseError::TooLarge { .. })
    ));
}

#[test]
fn frames__should_round_trip_and_refuse_empty_or_oversized_messages() {
    let framed = encode_frame(b"abc").unwrap();
    assert_eq!(framed, [0, 3, b'a', b'b', b'c']);
    let mut two = framed.clone();
    two.extend_from_slice(&encode_frame(b"de").unwrap());
    let (first, rest) = split_frame(&two).unwrap().unwrap();
    assert_eq!((first, rest), (&b"abc"[..], &[0, 2, b'd', b'e'][..]));
    assert_eq!(split_frame(&framed[..4]).unwrap(), None);
    assert_eq!(split_frame(&[0]).unwrap(), None);
    assert_eq!(split_frame(&[0, 0, 1]), Err(NoiseError::EmptyFrame));
    assert_eq!(encode_frame(&[]), Err(NoiseError::EmptyFrame));
    let max = vec![1u8; NOISE_MAX_MESSAGE_LEN];
    assert_eq!(frame_len([0xff, 0xff]).unwrap(), NOISE_MAX_MESSAGE_LEN);
    assert!(encode_frame(&max).is_ok());
    let over = vec![1u8; NOISE_MAX_MESSAGE_LEN + 1];
    assert!(matches!(
        encode_frame(&over),
        Err(NoiseError::TooLarge { .. })
    ));
}

#[test]
fn static_key__should_derive_its_public_key_and_never_print_the_secret() {
    let key = StaticKey::generate().unwrap();
    let again = StaticKey::from_secret(*key.secret).unwrap();
    assert_eq!(again.public(), key.public());
    let printed = format!("{key:?}");
    let secret_hex: String = key.secret.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!printed.contains(&secret_hex));
    assert!(printed.contains(&format!("{:02x}", key.public()[0])));
}

#[test]
fn largest_messages__should_fit_their_sized_buffers_both_ways() {
    // The output buffers are sized to each message: the largest payloads still go
    // through, handshake and transport, in 65535-byte messages.
    let (app, node) = (fresh_key(), fresh_key());
    let (mut initiator, mut responder) = (
        builder()
            .unwrap()
            .local_private_key(app.secret.as_slice())
            .build_initiator()
            .unwrap(),
        builder()
            .unwrap()
            .local_private_key(node.secret.as_slice())
            .build_responder()
            .unwrap(),
    );
    let m1 = write(&mut initiator, &[]).unwrap();
    assert_eq!(read(&mut responder, &m1).unwrap(), b"");
    let big = vec![7u8; MAX_HANDSHAKE_PAYLOAD_LEN];
    let m2 = write(&mut responder, &big).unwrap();
    assert_eq!(m2.len(), NOISE_MAX_MESSAGE_LEN);
    assert_eq!(read(&mut initiator, &m2).unwrap(), big);
    // Message 3 carries no ephemeral key: 32 bytes shorter.
    let m3 = write(&mut initiator, &big).unwrap();
    assert_eq!(m3.len(), NOISE_MAX_MESSAGE_LEN - 32);
    assert_eq!(read(&mut responder, &m3).unwrap(), big);
    let (mut app_t, mut node_t) = (transport(initiator).unwrap(), transport(responder).unwrap());
    let frame = vec![9u8; MAX_FRAME_LEN];
    let c = app_t.encrypt(&frame).unwrap();
    assert_eq!(c.len(), NOISE_MAX_MESSAGE_LEN);
    assert_eq!(node_t.decrypt(&c).unwrap(), frame);
}

/// A snow builder on snow's default resolver (curve25519-dalek).
fn default_builder(key: &StaticKey) -> snow::Builder<'_> {
    snow::Builder::new(NOISE_PATTERN.parse().unwrap()).local_private_key(key.secret.as_slice())
}

/// RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
const ALICE_SECRET: &str = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const ALICE_PUBLIC: &str = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const BOB_PUBLIC: &str = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const SHARED: &str = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

fn bytes32(h: &str) -> [u8; 32] {
    hex::decode(h).unwrap().try_into().unwrap()
}

#[test]
fn x25519__should_match_the_rfc_7748_vectors() {
    let alice = StaticKey::from_secret(bytes32(ALICE_SECRET)).unwrap();
    assert_eq!(alice.public(), bytes32(ALICE_PUBLIC));
    let mut dh = x25519::Resolver
        .resolve_dh(&snow::params::DHChoice::Curve25519)
        .unwrap();
    dh.set(&bytes32(ALICE_SECRET));
    assert_eq!(dh.pubkey(), bytes32(ALICE_PUBLIC));
    let mut out = [0u8; 56];
    dh.dh(&bytes32(BOB_PUBLIC), &mut out).unwrap();
    assert_eq!(out[..32], bytes32(SHARED));
    assert!(out[32..].iter().all(|b| *b == 0));
    // A public key of the wrong length is a DH failure, not a panic.
    assert!(dh.dh(&[9; 31], &mut out).is_err());
}

#[test]
fn send_node_hello__should_refuse_a_low_order_ephemeral_key() {
    // An all-zero ephemeral key makes `ee` all zero whatever the node's key: snow's
    // default resolver would go on with a secret the attacker knows.
    let node = StaticKey::generate().unwrap();
    let started = Responder::new(&node)
        .unwrap()
        .read_message_1(&[0; 32])
        .unwrap();
    let r = started.send_node_hello(&node_hello(&node));
    assert!(matches!(r, Err(NoiseError::Noise(NoiseFailure::Dh))));
}

#[test]
fn handshake__should_interoperate_with_snows_default_x25519() {
    // An app built on snow's own resolver talks to a node on ours, and back.
    let (app, node) = (fresh_key(), fresh_key());
    let mut initiator = default_builder(&app).build_initiator().unwrap();
    let m1 = write(&mut initiator, &[]).unwrap();
    let started = Responder::new(&node).unwrap().read_message_1(&m1).unwrap();
    let (awaiting, m2) = started.send_node_hello(&node_hello(&node)).unwrap();
    let payload = read(&mut initiator, &m2).unwrap();
    assert_eq!(NodeHello::decode(&payload).unwrap(), node_hello(&node));
    let m3 = write(&mut initiator, &app_hello(&app).encode().unwrap()).unwrap();
    let (node_t, got) = awaiting.read_app_hello(&m3).unwrap();
    assert_eq!(
        (node_t.remote_static(), got),
        (app.public(), app_hello(&app))
    );

    let (initiator, m1) = Initiator::start(&app).unwrap();
    let mut responder = default_builder(&node).build_responder().unwrap();
    assert!(read(&mut responder, &m1).unwrap().is_empty());
    let m2 = write(&mut responder, &node_hello(&node).encode().unwrap()).unwrap();
    let (ready, got) = initiator.read_node_hello(&m2).unwrap();
    assert_eq!(
        (ready.remote_static(), got),
        (node.public(), node_hello(&node))
    );
    let (m3, _) = ready.send_app_hello(&app_hello(&app)).unwrap();
    let payload = read(&mut responder, &m3).unwrap();
    assert_eq!(AppHello::decode(&payload).unwrap(), app_hello(&app));
}

/// The node's side on arbitrary framed bytes (what the `noise_responder` fuzz target
/// runs): typed errors, never a panic.
fn respond_to(data: &[u8]) -> Result<(), NoiseError> {
    let key = StaticKey::from_secret([7; 32])?;
    let Some((m1, rest)) = split_frame(data)? else {
        return Ok(());
    };
    let started = Responder::new(&key)?.read_message_1(m1)?;
    let (awaiting, _) = started.send_node_hello(&node_hello(&key))?;
    let Some((m3, _)) = split_frame(rest)? else {
        return Ok(());
    };
    awaiting.read_app_hello(m3).map(|_| ())
}

proptest::proptest! {
    #[test]
    fn responder__should_refuse_arbitrary_bytes_without_panicking(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        len in 0u16..100,
    ) {
        let _ = respond_to(&data);
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&data);
        let _ = respond_to(&framed);
    }
}
