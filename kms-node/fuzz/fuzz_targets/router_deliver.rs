#![no_main]
//! Envelopes from peers (kms-node/src/node/router.rs, echo.rs): untrusted bytes, among
//! them echo broadcast notices, pulls and notice bundles. A router with one DKG session
//! of four nodes with echo broadcast takes any bytes from any member, as they come and
//! with their session set to the open one (so that decodable input reaches the session
//! logic), twice (the second time a repeat), without panicking; what it sends goes to
//! a sink.
use std::collections::BTreeMap;
use std::sync::Arc;

use dkg::identity::SigningKey;
use dkg::step::Peer;
use dkg::wire::SuiteId;
use dkg::PartyIndex;
use kms_node::node::router::{session_id, Agreement, Envelope, NodeId, PeerLink, Router};
use kms_node::protocol::run_id::ProtocolKind;

struct Sink;

impl PeerLink for Sink {
    fn send_to(&self, _: &NodeId, _: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&who, bytes)) = data.split_first() else {
        return;
    };
    let ids: Vec<NodeId> = (1..=4u8).map(|i| [i; 32]).collect();
    let signers: Vec<SigningKey> = (1..=4u8).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
    let keys = ids
        .iter()
        .zip(&signers)
        .map(|(id, k)| (*id, k.verifying_key()))
        .collect();
    let roles: BTreeMap<Peer, NodeId> = ids
        .iter()
        .zip(1u16..)
        .filter_map(|(id, i)| Some((Peer::Dealer(PartyIndex::new(i)?), *id)))
        .collect();
    let session = session_id(5, ProtocolKind::Dkg(SuiteId::Bls12381G1));
    let router = Router::new();
    let agreement = Agreement::new::<dkg::vss::Message>(Arc::new(signers[0].clone()), keys);
    let (_link, _inbox) =
        router.open_with_agreement(session, roles, ids[0], Arc::new(Sink), agreement);
    let from = ids[usize::from(who % 4)];
    router.deliver(from, bytes);
    if let Ok(mut envelope) = dkg::wire::decode::<Envelope>(bytes) {
        envelope.session = session;
        if let Ok(bytes) = dkg::wire::encode(&envelope) {
            router.deliver(from, &bytes);
            router.deliver(ids[usize::from(who / 4 % 4)], &bytes);
        }
    }
});
