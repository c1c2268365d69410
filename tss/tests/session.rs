//! The signing session machine (`tss::session`): the symmetric FROST run the node's
//! driver executes among the signers an application chose. Driven here over random
//! committees and signing sets, with messages reordered, a signer gone silent, a
//! signer sending a bad share, and messages under another run id or party; signatures
//! checked with an independent BIP-340 verifier (`k256::schnorr`).
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use dkg::insecure_dealer::deal_secp;
use dkg::secp::SecpKeyShare;
use dkg::step::{Channel, Incoming, Machine, Outgoing, Peer, Step};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tss::session::{Message, SignSession};
use tss::{AppSigningKey, Error, Identity, PartyIndex};

const RUN: [u8; 32] = [9; 32];

fn bip340_verify(xonly: &[u8; 32], message: &[u8], sig: &[u8]) -> bool {
    let key = k256::schnorr::VerifyingKey::from_bytes(xonly).unwrap();
    let Ok(sig) = k256::schnorr::Signature::try_from(sig) else {
        return false;
    };
    key.verify_raw(message, &sig).is_ok()
}

#[derive(Clone, Copy, Default)]
struct Faults {
    /// Sends nothing at all after round 1 is due (never speaks).
    silent: Option<PartyIndex>,
    /// Sends a share that does not verify.
    cheater: Option<PartyIndex>,
    /// Also delivers, to everyone, a copy of each message under another run id and a
    /// copy claiming another party (both must be ignored).
    noise: bool,
}

/// Runs every signer's machine in lockstep over a network that reorders each round's
/// messages; returns each signer's result.
fn run(
    shares: &[&SecpKeyShare],
    app: &AppSigningKey,
    message: &[u8],
    faults: Faults,
    rng: &mut ChaCha20Rng,
) -> BTreeMap<PartyIndex, Result<Vec<u8>, Error>> {
    let signers: BTreeSet<PartyIndex> = shares.iter().map(|s| s.index()).collect();
    let mut machines = BTreeMap::new();
    let mut outbox: Vec<Outgoing<Message>> = Vec::new();
    for s in shares {
        let (m, out) = SignSession::start(RUN, app, s, message, &signers, rng).unwrap();
        assert_eq!(m.expecting().len(), signers.len() - 1);
        machines.insert(s.index(), m);
        if faults.silent != Some(s.index()) {
            outbox.extend(out);
        }
    }
    let mut results = BTreeMap::new();
    while !machines.is_empty() {
        let mut inboxes: BTreeMap<PartyIndex, Vec<Incoming<Message>>> =
            machines.keys().map(|i| (*i, Vec::new())).collect();
        for o in outbox.drain(..) {
            assert!(o.to.is_none(), "signing only broadcasts");
            assert!(matches!(o.from, Peer::Dealer(_)), "signers send as dealers");
            let (Peer::Dealer(from) | Peer::Receiver(from)) = o.from;
            let mut copies = vec![o.message.clone()];
            if faults.noise {
                copies.push(retagged(&o.message, [1; 32], from));
                let other = signers.iter().find(|i| **i != from).copied().unwrap();
                copies.push(retagged(&o.message, RUN, other));
            }
            for (to, inbox) in inboxes.iter_mut() {
                if *to == from {
                    continue;
                }
                for m in &copies {
                    // Through the wire encoding, as the node sends it.
                    let bytes = m.encode().unwrap();
                    let (run_id, round) = Message::peek(&bytes).unwrap();
                    assert_eq!(round, round_of(m));
                    let _ = run_id;
                    inbox.push(Incoming {
                        from: o.from,
                        message: Message::decode(&bytes).unwrap(),
                    });
                }
            }
            if let Message::Commitments(_) = &o.message {
                assert_eq!(o.channel, Channel::Agreement);
            }
        }
        for (i, mut inbox) in inboxes {
            inbox.shuffle(rng);
            let m = machines.remove(&i).unwrap();
            match m.step(inbox) {
                Ok(Step::Continue(next, out)) => {
                    machines.insert(i, next);
                    for mut o in out {
                        if faults.silent == Some(i) {
                            continue;
                        }
                        if faults.cheater == Some(i) {
                            if let Message::Share(s) = &mut o.message {
                                s.share = [0; 32];
                                s.share[31] = 7;
                            }
                        }
                        outbox.push(o);
                    }
                }
                Ok(Step::Done(sig)) => {
                    results.insert(i, Ok(sig.serialize().unwrap()));
                }
                Err(e) => {
                    results.insert(i, Err(e));
                }
            }
        }
    }
    results
}

fn round_of(m: &Message) -> u8 {
    match m {
        Message::Commitments(_) => 1,
        Message::Share(_) => 2,
    }
}

fn retagged(m: &Message, run_id: [u8; 32], party: PartyIndex) -> Message {
    let mut m = m.clone();
    match &mut m {
        Message::Commitments(c) => {
            c.header.run_id = run_id;
            c.party = party;
        }
        Message::Share(s) => {
            s.header.run_id = run_id;
            s.party = party;
        }
    }
    m
}

#[test]
fn session__should_give_every_signer_the_same_bip340_signature() {
    let (public, keys) = deal_secp(3, 5, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    let app =
        AppSigningKey::new(public.group_key(), &Identity::new([4; 32], "sign").unwrap()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let signers = [&keys[1], &keys[3], &keys[4]];
    let results = run(&signers, &app, b"pay 5", Faults::default(), &mut rng);
    let sigs: BTreeSet<Vec<u8>> = results.values().map(|r| r.clone().unwrap()).collect();
    assert_eq!(sigs.len(), 1, "every signer aggregates the same signature");
    let sig = sigs.into_iter().next().unwrap();
    assert!(bip340_verify(&app.xonly().unwrap(), b"pay 5", &sig));
    assert!(!bip340_verify(&app.xonly().unwrap(), b"pay 6", &sig));
}

#[test]
fn session__should_refuse_to_start_outside_the_signing_set_or_below_the_threshold() {
    let (public, keys) = deal_secp(3, 5, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    let app =
        AppSigningKey::new(public.group_key(), &Identity::new([4; 32], "sign").unwrap()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let set: BTreeSet<PartyIndex> = [&keys[1], &keys[3], &keys[4]]
        .iter()
        .map(|k| k.index())
        .collect();
    let e = SignSession::start(RUN, &app, &keys[0], b"m", &set, &mut rng)
        .err()
        .unwrap();
    assert_eq!(
        e,
        Error::NotASigner {
            index: keys[0].index()
        }
    );
    let two: BTreeSet<PartyIndex> = set.iter().take(2).copied().collect();
    let e = SignSession::start(RUN, &app, &keys[1], b"m", &two, &mut rng)
        .err()
        .unwrap();
    assert!(
        matches!(e, Error::TooFewSigners { needed: 3, got: 2 }),
        "{e:?}"
    );
}

#[test]
fn message__should_refuse_bad_bytes_with_a_typed_error() {
    assert!(matches!(Message::decode(b""), Err(Error::Wire(_))));
    assert!(matches!(
        Message::decode(b"\xa1\x01\x02"),
        Err(Error::Wire(_))
    ));
    assert!(Message::peek(b"\x00").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Random committees and signing sets: without faults every signer gets the same
    /// verifying signature; a silent signer is named by every other (MissingSigner);
    /// a bad share is named by every honest signer (InvalidSignatureShares).
    #[test]
    fn session__should_sign_or_name_the_faulty_signer(
        n in 2u16..=9,
        t_frac in 0.0f64..1.0,
        extra in 0usize..=2,
        fault in 0u8..3,
        noise in any::<bool>(),
        seed in any::<u64>(),
        message in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let t = 2 + ((f64::from(n - 2)) * t_frac) as u16;
        let (public, keys) = deal_secp(t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        let id = Identity::new([seed as u8; 32], "p").unwrap();
        let app = AppSigningKey::new(public.group_key(), &id).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 1);
        let mut order: Vec<&SecpKeyShare> = keys.iter().collect();
        order.shuffle(&mut rng);
        let size = (usize::from(t) + extra).min(keys.len());
        let signers = &order[..size];
        let faulty = signers[size / 2].index();
        let faults = Faults {
            silent: (fault == 1).then_some(faulty),
            cheater: (fault == 2).then_some(faulty),
            noise,
        };
        let results = run(signers, &app, &message, faults, &mut rng);
        let xonly = app.xonly().unwrap();
        for (i, r) in &results {
            match (fault, r) {
                (0, Ok(sig)) => prop_assert!(bip340_verify(&xonly, &message, sig)),
                (1, Err(Error::MissingSigner { index })) if *i != faulty => {
                    prop_assert_eq!(*index, faulty)
                }
                (2, Err(e @ Error::InvalidSignatureShares { .. })) if *i != faulty => {
                    prop_assert_eq!(e.culprits(), vec![faulty])
                }
                // The faulty signer itself: silent, it never got the others' shares
                // under its missing commitment; cheating, it holds its own good share.
                (_, _) if *i == faulty => {}
                (f, r) => prop_assert!(false, "fault {} at {}: {:?}", f, i, r),
            }
        }
        if fault == 0 {
            let sigs: BTreeSet<&Vec<u8>> = results.values().map(|r| r.as_ref().unwrap()).collect();
            prop_assert_eq!(sigs.len(), 1);
        }
    }

    #[test]
    fn message__should_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message::decode(&bytes);
        let _ = Message::peek(&bytes);
    }
}
