//! The one step interface (`dkg::step`): a driver written once against `Machine` runs a
//! DKG, a reshare between differently numbered committees and a repair, delivering in
//! any order, and what a peer sends outside its role is ignored.
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};

use dkg::keys::KeyShare;
use dkg::step::{Channel, Incoming, Machine, Outgoing, Peer, Step};
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::vss::{Message, Output, Vss};
use dkg::{pedersen, repair, reshare, sim, PartyIndex, Roles};
use rand::seq::SliceRandom;
use rand::SeedableRng;

#[path = "common/agree.rs"]
mod agree;

fn idx(i: u16) -> PartyIndex {
    PartyIndex::new(i).unwrap()
}

/// A generic driver: every round, each node gets what was sent to it (broadcasts copied
/// by `copy`) in a random order plus `extra(round, node)`, checks that every expected
/// peer spoke, and steps.
fn drive<M: Machine>(
    nodes: Vec<sim::Node<M>>,
    copy: fn(&M::Message) -> Option<M::Message>,
    seed: u64,
    extra: impl Fn(usize, usize) -> Vec<Incoming<M::Message>>,
) -> Vec<M::Output> {
    drive_with(nodes, copy, seed, extra, |_, _, _| true)
}

/// [`drive`], showing every message to `keep(round, sending node, message)` first: one
/// it refuses is dropped, and from then on expected peers may be missing.
fn drive_with<M: Machine>(
    mut nodes: Vec<sim::Node<M>>,
    copy: fn(&M::Message) -> Option<M::Message>,
    seed: u64,
    extra: impl Fn(usize, usize) -> Vec<Incoming<M::Message>>,
    mut keep: impl FnMut(usize, usize, &Outgoing<M::Message>) -> bool,
) -> Vec<M::Output> {
    let mut dropped = false;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut outputs: Vec<Option<M::Output>> = nodes.iter().map(|_| None).collect();
    let addresses: Vec<BTreeSet<Peer>> = nodes.iter().map(|(a, _, _)| a.clone()).collect();
    let mut machines: Vec<Option<M>> = Vec::new();
    let mut outbox = Vec::new();
    for (k, (_, m, out)) in nodes.drain(..).enumerate() {
        machines.push(Some(m));
        outbox.extend(out.into_iter().map(|o| (k, o)));
    }
    let mut round = 0;
    while machines.iter().any(Option::is_some) {
        round += 1;
        let mut inboxes: Vec<Vec<Incoming<M::Message>>> =
            (0..machines.len()).map(|i| extra(round, i)).collect();
        for (k, o) in outbox.drain(..) {
            assert!(
                addresses[k].contains(&o.from),
                "sent under a foreign address"
            );
            if !keep(round, k, &o) {
                dropped = true;
                continue;
            }
            match o.to {
                None => {
                    assert_ne!(o.channel, Channel::Confidential);
                    for (i, inbox) in inboxes.iter_mut().enumerate() {
                        if i != k {
                            let message = copy(&o.message).unwrap();
                            inbox.push(Incoming {
                                from: o.from,
                                message,
                            });
                        }
                    }
                }
                Some(to) => {
                    assert_eq!(o.channel, Channel::Confidential);
                    let i = addresses.iter().position(|a| a.contains(&to)).unwrap();
                    inboxes[i].push(Incoming {
                        from: o.from,
                        message: o.message,
                    });
                }
            }
        }
        for (k, (slot, mut inbox)) in machines.iter_mut().zip(inboxes).enumerate() {
            let Some(machine) = slot.take() else { continue };
            inbox.shuffle(&mut rng);
            let senders: BTreeSet<Peer> = inbox.iter().map(|i| i.from).collect();
            assert!(
                dropped || machine.expecting().is_subset(&senders),
                "an expected peer is missing"
            );
            match machine.step(inbox).unwrap() {
                Step::Continue(next, out) => {
                    *slot = Some(next);
                    outbox.extend(out.into_iter().map(|o| (k, o)));
                }
                Step::Done(output) => outputs[k] = Some(output),
            }
        }
    }
    outputs.into_iter().map(Option::unwrap).collect()
}

fn no_extra<M>(_: usize, _: usize) -> Vec<Incoming<M>> {
    Vec::new()
}

fn addresses(roles: Roles) -> BTreeSet<Peer> {
    roles
        .dealer
        .map(Peer::Dealer)
        .into_iter()
        .chain(roles.receiver.map(Peer::Receiver))
        .collect()
}

fn dkg_machines<S: Suite>(t: u16, n: u16, seed: u64) -> Vec<sim::Node<Vss<S>>> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let run_id = [seed as u8; 32];
    let parties = sim::committee(n);
    let keys = sim::identity_keys(&run_id, &parties);
    keys.iter()
        .map(|(me, key)| {
            let params = pedersen::Params {
                run_id,
                me: *me,
                parties: parties.clone(),
                threshold: t,
                identities: sim::verifying_keys(&keys),
            };
            let (m, out) = Vss::<S>::start_dkg(&params, key, &mut rng).unwrap();
            (addresses(Roles::both(*me)), m, out)
        })
        .collect()
}

fn dkg_through_the_step_interface<S: Suite>() {
    let outputs = drive(
        dkg_machines::<S>(3, 4, 1),
        Message::copy_broadcast,
        2,
        no_extra,
    );
    agree::must_agree(outputs.iter());
    assert!(outputs.iter().all(|o| o.qualified() == &sim::committee(4)));
    // Delivery order does not matter: another shuffle, the very same keys.
    let again = drive(
        dkg_machines::<S>(3, 4, 1),
        Message::copy_broadcast,
        3,
        no_extra,
    );
    assert_eq!(again[0].transcript_hash(), outputs[0].transcript_hash());
}

#[test]
fn step_dkg__should_complete_through_a_generic_driver_bls() {
    dkg_through_the_step_interface::<Bls12381G1>();
}

#[test]
fn step_dkg__should_complete_through_a_generic_driver_secp() {
    dkg_through_the_step_interface::<Secp256k1>();
}

#[test]
fn step_dkg__should_skip_round_4_unless_a_dealer_owes_an_answer() {
    // No loss, no fault: no round-4 message, and every node is done after three steps.
    let mut clean_round4 = Vec::new();
    let mut last_round = 0;
    let clean = drive_with(
        dkg_machines::<Secp256k1>(3, 4, 6),
        Message::copy_broadcast,
        7,
        no_extra,
        |round, _, o| {
            last_round = last_round.max(round);
            if matches!(o.message, Message::Round4(_)) {
                clean_round4.push(o.from);
            }
            true
        },
    );
    assert!(clean_round4.is_empty(), "{clean_round4:?}");
    // Messages leave in the first three steps (start, rounds 1 and 2) only.
    assert_eq!(last_round, 3);
    agree::must_agree(clean.iter());
    // Dealer 1's share to receiver 2 lost: receiver 2 complains, dealer 1 alone
    // answers in round 4 (the others owe nothing and send nothing), and every node
    // ends with dealer 1 qualified: the same keys and transcript as without the loss.
    let mut lossy_round4 = Vec::new();
    let lossy = drive_with(
        dkg_machines::<Secp256k1>(3, 4, 6),
        Message::copy_broadcast,
        7,
        no_extra,
        |_, k, o| {
            if matches!(o.message, Message::Round4(_)) {
                lossy_round4.push(o.from);
            }
            !(k == 0 && o.to == Some(Peer::Receiver(idx(2))))
        },
    );
    assert_eq!(lossy_round4, vec![Peer::Dealer(idx(1))]);
    agree::must_agree(lossy.iter());
    assert!(lossy.iter().all(|o| o.qualified() == &sim::committee(4)));
    assert_eq!(lossy[0].transcript_hash(), clean[0].transcript_hash());
    assert_eq!(lossy[1].public(), clean[1].public());
}

#[test]
fn step_dkg__should_ignore_messages_outside_the_senders_role_and_round() {
    let reference = drive(
        dkg_machines::<Secp256k1>(2, 3, 4),
        Message::copy_broadcast,
        5,
        no_extra,
    );
    // In round 1 party 1 also gets a round-1 message filed as a receiver's (no such
    // role in round 1) and one from an index outside the committee; in round 3 a
    // round-1 message where a round-3 one is due.
    // A valid round-1 broadcast of party 2 from another run.
    let (_, b1) = sim::start_dkg::<Secp256k1>(
        2,
        3,
        [0x44; 32],
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(44),
    )
    .unwrap();
    let junk = move |round: usize, node: usize| -> Vec<Incoming<Message>> {
        let m = || Message::Round1(b1[&idx(2)].clone());
        match (round, node) {
            (1, 0) => vec![
                Incoming {
                    from: Peer::Receiver(idx(2)),
                    message: m(),
                },
                Incoming {
                    from: Peer::Dealer(idx(9)),
                    message: m(),
                },
            ],
            (3, 0) => vec![Incoming {
                from: Peer::Receiver(idx(3)),
                message: m(),
            }],
            _ => Vec::new(),
        }
    };
    let outputs = drive(
        dkg_machines::<Secp256k1>(2, 3, 4),
        Message::copy_broadcast,
        5,
        junk,
    );
    assert_eq!(outputs[0].transcript_hash(), reference[0].transcript_hash());
    agree::must_agree(outputs.iter());
}

#[test]
fn step_reshare__should_keep_the_key_when_a_member_in_the_middle_leaves() {
    // [A, B, C, D] -> [A, C, D, E]: C deals as 3 and receives as 2, D 4 -> 3, E joins as 4.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
    let old: Vec<KeyShare<Bls12381G1>> = sim::dkg::<Bls12381G1>(3, 4, &mut rng)
        .unwrap()
        .into_values()
        .map(|o| o.into_key_share().unwrap())
        .collect();
    let stays = BTreeMap::from([(idx(1), idx(1)), (idx(3), idx(2)), (idx(4), idx(3))]);
    let new: BTreeSet<PartyIndex> = sim::committee(4);
    let run_id = [6; 32];
    let nodes = sim::reshare_roles(&run_id, &sim::committee(4), &stays, &new);
    let dealers: BTreeMap<_, _> = nodes
        .iter()
        .filter_map(|(r, k)| r.dealer.map(|d| (d, k.verifying_key())))
        .collect();
    let receivers: BTreeMap<_, _> = nodes
        .iter()
        .filter_map(|(r, k)| r.receiver.map(|j| (j, k.verifying_key())))
        .collect();
    let machines = nodes
        .iter()
        .map(|(roles, key)| {
            let params = reshare::Params {
                run_id,
                me: *roles,
                old: old[0].public().clone(),
                dealers: dealers.clone(),
                receivers: receivers.clone(),
                new_threshold: 2,
            };
            let share = old.iter().find(|s| Some(s.index()) == roles.dealer);
            let (m, out) = Vss::start_reshare(&params, share, key, &mut rng).unwrap();
            (addresses(*roles), m, out)
        })
        .collect();
    let outputs: Vec<Output<Bls12381G1>> = drive(machines, Message::copy_broadcast, 7, no_extra);
    let public = agree::must_agree(outputs.iter());
    assert_eq!(public.group_key(), old[0].public().group_key());
    let roles: Vec<Roles> = nodes.iter().map(|(r, _)| *r).collect();
    for (r, o) in roles.iter().zip(&outputs) {
        assert_eq!(o.key_share().map(|s| s.index()), r.receiver);
    }
}

#[test]
fn step_repair__should_rebuild_the_share_through_the_same_driver() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
    let shares: Vec<KeyShare<Secp256k1>> = sim::dkg::<Secp256k1>(2, 4, &mut rng)
        .unwrap()
        .into_values()
        .map(|o| o.into_key_share().unwrap())
        .collect();
    let params = repair::Params {
        run_id: [8; 32],
        lost: idx(2),
        helpers: [1, 3].map(idx).into(),
        public: shares[0].public().clone(),
    };
    let mut nodes = Vec::new();
    for s in [&shares[0], &shares[2]] {
        let (m, out) = repair::Repair::start_helper(&params, s, &mut rng).unwrap();
        nodes.push((BTreeSet::from([Peer::Dealer(s.index())]), m, out));
    }
    nodes.push((
        BTreeSet::from([Peer::Receiver(idx(2))]),
        repair::Repair::start_lost(&params),
        Vec::new(),
    ));
    let outputs = drive(nodes, repair::Message::copy_broadcast, 9, no_extra);
    assert!(outputs[0].is_none() && outputs[1].is_none());
    let repaired = outputs[2].as_ref().unwrap();
    let g = <<Secp256k1 as Suite>::Point as group::Group>::generator();
    assert_eq!(repaired.mul(&g), shares[1].mul(&g));
}
