//! Pure in-memory drivers for every protocol of this crate, with every party honest
//! and online, deterministic for a given RNG. For tests, examples and benchmarks; a
//! node drives the same rounds over the network instead.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use crate::bls::{BlsKeyShare, BlsPublicKeys};
use crate::error::ParamError;
use crate::keys::{KeyShare, PublicKeys};
use crate::party::{PartyIndex, Roles};
use crate::secp::{SecpKeyShare, SecpPublicKeys};
use crate::step::{Incoming, Machine, Outgoing, Peer, Step};
use crate::suite::{Bls12381G1, Secp256k1, Suite};
use crate::vss::{self, round1, Output, Round1, Vss};
use crate::{pedersen, repair, reshare, Error};

/// Runs all four rounds for the given parties (each dealer and receiver under its key,
/// as in a DKG or a refresh), delivering every message.
pub fn drive<S: Suite>(
    states: BTreeMap<PartyIndex, Round1<S>>,
    r1: BTreeMap<PartyIndex, round1::Broadcast>,
) -> Result<BTreeMap<PartyIndex, Output<S>>, Error> {
    let nodes = states
        .into_iter()
        .map(|(p, st)| (Roles::both(p), st))
        .collect();
    Ok(drive_roles(nodes, r1)?
        .into_iter()
        .filter_map(|(roles, o)| roles.receiver.map(|p| (p, o)))
        .collect())
}

/// Runs all four rounds for the given parties, each with its roles (dealer index in
/// the old committee, receiver index in the new one), through the step interface
/// ([`Vss`], [`run`]). `r1` holds the dealers' round-1 broadcasts by dealer index.
pub fn drive_roles<S: Suite>(
    nodes: Vec<(Roles, Round1<S>)>,
    mut r1: BTreeMap<PartyIndex, round1::Broadcast>,
) -> Result<Vec<(Roles, Output<S>)>, Error> {
    let roles: Vec<Roles> = nodes.iter().map(|(r, _)| *r).collect();
    let machines = nodes
        .into_iter()
        .map(|(roles, st)| {
            let own = roles.dealer.and_then(|d| r1.remove(&d));
            let (machine, out) = Vss::from_round1(st, own);
            (addresses(roles), machine, out)
        })
        .collect();
    let outputs = run(machines, vss::Message::copy_broadcast)?;
    Ok(roles.into_iter().zip(outputs).collect())
}

/// The peers a party with `roles` answers to.
fn addresses(roles: Roles) -> BTreeSet<Peer> {
    roles
        .dealer
        .map(Peer::Dealer)
        .into_iter()
        .chain(roles.receiver.map(Peer::Receiver))
        .collect()
}

/// One participant of [`run`]: the peers it answers to, its machine and its first
/// messages.
pub type Node<M> = (BTreeSet<Peer>, M, Vec<Outgoing<<M as Machine>::Message>>);

/// The one driver of every protocol: steps all machines in lockstep, delivering every
/// message (a broadcast to every other node, copied with `copy`; a direct to the node
/// answering to its recipient), until all are done. Returns the outputs in node order.
pub fn run<M: Machine>(
    nodes: Vec<Node<M>>,
    copy: fn(&M::Message) -> Option<M::Message>,
) -> Result<Vec<M::Output>, M::Error> {
    let addresses: Vec<BTreeSet<Peer>> = nodes.iter().map(|(a, _, _)| a.clone()).collect();
    let mut machines: Vec<Option<M>> = Vec::with_capacity(nodes.len());
    let mut outbox = Vec::new();
    for (k, (_, machine, out)) in nodes.into_iter().enumerate() {
        machines.push(Some(machine));
        outbox.extend(out.into_iter().map(|o| (k, o)));
    }
    let mut outputs: Vec<Option<M::Output>> = machines.iter().map(|_| None).collect();
    while machines.iter().any(Option::is_some) {
        let mut inboxes: Vec<Vec<Incoming<M::Message>>> =
            machines.iter().map(|_| Vec::new()).collect();
        for (k, o) in outbox.drain(..) {
            match o.to {
                None => {
                    for (i, inbox) in inboxes.iter_mut().enumerate() {
                        if let (true, Some(message)) = (i != k, copy(&o.message)) {
                            inbox.push(Incoming {
                                from: o.from,
                                message,
                            });
                        }
                    }
                }
                Some(to) => {
                    if let Some(i) = addresses.iter().position(|a| a.contains(&to)) {
                        if let Some(inbox) = inboxes.get_mut(i) {
                            inbox.push(Incoming {
                                from: o.from,
                                message: o.message,
                            });
                        }
                    }
                }
            }
        }
        for (k, (slot, inbox)) in machines.iter_mut().zip(inboxes).enumerate() {
            let Some(machine) = slot.take() else {
                continue;
            };
            match machine.step(inbox)? {
                Step::Continue(next, out) => {
                    *slot = Some(next);
                    outbox.extend(out.into_iter().map(|o| (k, o)));
                }
                Step::Done(output) => {
                    if let Some(o) = outputs.get_mut(k) {
                        *o = Some(output);
                    }
                }
            }
        }
    }
    Ok(outputs.into_iter().flatten().collect())
}

fn run_id(rng: &mut impl CryptoRngCore) -> [u8; 32] {
    let mut id = [0u8; 32];
    rng.fill_bytes(&mut id);
    id
}

/// Identity keys for `parties` in the run `run_id`, derived from the (public) run id
/// and the index: deterministic and **not secret**, for tests, examples and benchmarks
/// only. Derived without the caller's RNG, so adding identity keys changed no key
/// material produced by the simulator for a given seed.
pub fn identity_keys(
    run_id: &[u8; 32],
    parties: &BTreeSet<PartyIndex>,
) -> BTreeMap<PartyIndex, SigningKey> {
    parties
        .iter()
        .map(|p| {
            let mut h = Sha256::new();
            h.update(b"keynet/dkg/sim-identity/v1");
            h.update(run_id);
            h.update(p.get().to_be_bytes());
            (*p, SigningKey::from_bytes(&h.finalize().into()))
        })
        .collect()
}

/// The verifying keys of [`identity_keys`].
pub fn verifying_keys(
    keys: &BTreeMap<PartyIndex, SigningKey>,
) -> BTreeMap<PartyIndex, VerifyingKey> {
    keys.iter().map(|(p, k)| (*p, k.verifying_key())).collect()
}

/// Parties `1..=n`.
pub fn committee(n: u16) -> BTreeSet<PartyIndex> {
    (1..=n).filter_map(PartyIndex::new).collect()
}

/// Every party's round-1 state and broadcast.
pub type Started<S> = (
    BTreeMap<PartyIndex, Round1<S>>,
    BTreeMap<PartyIndex, round1::Broadcast>,
);

/// A fresh DKG among parties `1..=n` with threshold `t`.
pub fn dkg<S: Suite>(
    t: u16,
    n: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<BTreeMap<PartyIndex, Output<S>>, Error> {
    let run_id = run_id(rng);
    let (states, r1) = start_dkg(t, n, run_id, rng)?;
    drive(states, r1)
}

/// Round 1 of a fresh DKG among parties `1..=n` with threshold `t` in the run
/// `run_id`, with that run's [`identity_keys`] (parties started in index order).
pub fn start_dkg<S: Suite>(
    t: u16,
    n: u16,
    run_id: [u8; 32],
    rng: &mut impl CryptoRngCore,
) -> Result<Started<S>, Error> {
    let parties = committee(n);
    let keys = identity_keys(&run_id, &parties);
    let identities = verifying_keys(&keys);
    let mut states = BTreeMap::new();
    let mut r1 = BTreeMap::new();
    for (me, key) in &keys {
        let params = pedersen::Params {
            run_id,
            me: *me,
            parties: parties.clone(),
            threshold: t,
            identities: identities.clone(),
        };
        let (st, msg) = pedersen::start::<S>(&params, key, rng)?;
        states.insert(*me, st);
        r1.insert(*me, msg);
    }
    Ok((states, r1))
}

type Split<S> = (PublicKeys<S>, Vec<KeyShare<S>>, [u8; 32]);

fn split<S: Suite>(outputs: BTreeMap<PartyIndex, Output<S>>) -> Result<Split<S>, Error> {
    let mut public = None;
    let mut transcript = [0u8; 32];
    let mut shares = Vec::new();
    for (_, o) in outputs {
        if public.is_none() {
            public = Some(o.public().clone());
            transcript = o.transcript_hash();
        }
        if let Some(s) = o.into_key_share() {
            shares.push(s);
        }
    }
    let public = public.ok_or(ParamError::TooFewParties { have: 0, need: 1 })?;
    Ok((public, shares, transcript))
}

/// [`dkg()`] for the BLS12-381 key: public keys, shares (index order), transcript hash.
pub fn dkg_bls(
    t: u16,
    n: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<(BlsPublicKeys, Vec<BlsKeyShare>, [u8; 32]), Error> {
    let (public, shares, tr) = split(dkg::<Bls12381G1>(t, n, rng)?)?;
    Ok((
        BlsPublicKeys::from_generic(public),
        shares.into_iter().map(BlsKeyShare::from_generic).collect(),
        tr,
    ))
}

/// [`dkg()`] for the secp256k1 FROST key: public keys, shares (index order), transcript hash.
pub fn dkg_secp(
    t: u16,
    n: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<(SecpPublicKeys, Vec<SecpKeyShare>, [u8; 32]), Error> {
    let (public, shares, tr) = split(dkg::<Secp256k1>(t, n, rng)?)?;
    Ok((
        SecpPublicKeys::from_generic(public),
        shares.into_iter().map(SecpKeyShare::from_generic).collect(),
        tr,
    ))
}

/// Resharing: `dealers` (old shares, at least the old threshold of them) reshare to
/// `new_parties` with threshold `new_threshold`; a dealer whose old index is in
/// `new_parties` stays on under the same index. Returns every participant's output, by
/// its new index if it receives, else by its old index.
pub fn reshare<S: Suite>(
    dealers: &[&KeyShare<S>],
    new_parties: &BTreeSet<PartyIndex>,
    new_threshold: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<BTreeMap<PartyIndex, Output<S>>, Error> {
    let stays = dealers
        .iter()
        .map(|s| s.index())
        .filter(|i| new_parties.contains(i))
        .map(|i| (i, i))
        .collect();
    Ok(
        reshare_moving(dealers, &stays, new_parties, new_threshold, rng)?
            .into_iter()
            .filter_map(|(roles, o)| roles.receiver.or(roles.dealer).map(|p| (p, o)))
            .collect(),
    )
}

/// Resharing between two separately numbered committees: `dealers` hold shares of the
/// old committee (old indices); `stays` maps the old index of every dealer that is also
/// in the new committee to its new index (the same party, the same identity key);
/// every other index of `new_parties` is a new member. Returns every participant's
/// roles and output.
pub fn reshare_moving<S: Suite>(
    dealers: &[&KeyShare<S>],
    stays: &BTreeMap<PartyIndex, PartyIndex>,
    new_parties: &BTreeSet<PartyIndex>,
    new_threshold: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<(Roles, Output<S>)>, Error> {
    let run_id = run_id(rng);
    let (states, r1) = start_reshare(dealers, stays, new_parties, new_threshold, run_id, rng)?;
    drive_roles(states, r1)
}

/// Every participant's round-1 state (with its roles) and the dealers' broadcasts (by
/// old index).
pub type StartedRoles<S> = (
    Vec<(Roles, Round1<S>)>,
    BTreeMap<PartyIndex, round1::Broadcast>,
);

/// The participants of a reshare as in [`reshare_moving`], each with its identity key:
/// dealers in old-index order, then the new members that do not deal, in new-index
/// order.
pub fn reshare_roles(
    run_id: &[u8; 32],
    dealers: &BTreeSet<PartyIndex>,
    stays: &BTreeMap<PartyIndex, PartyIndex>,
    new_parties: &BTreeSet<PartyIndex>,
) -> Vec<(Roles, SigningKey)> {
    // A member that keeps its index keeps its key of the previous single index space,
    // so the simulator's keys (and outputs) do not depend on how it is addressed.
    let same: BTreeSet<PartyIndex> = dealers
        .iter()
        .chain(
            new_parties
                .iter()
                .filter(|j| !stays.values().any(|v| v == *j)),
        )
        .copied()
        .collect();
    let keys = identity_keys(run_id, &same);
    let mut out: Vec<(Roles, SigningKey)> = dealers
        .iter()
        .filter_map(|d| {
            let roles = Roles {
                dealer: Some(*d),
                receiver: stays.get(d).copied(),
            };
            keys.get(d).map(|k| (roles, k.clone()))
        })
        .collect();
    for j in new_parties {
        if stays.values().any(|v| v == j) {
            continue;
        }
        let key = if dealers.contains(j) {
            new_member_key(run_id, *j)
        } else {
            match keys.get(j) {
                Some(k) => k.clone(),
                None => continue,
            }
        };
        let roles = Roles {
            dealer: None,
            receiver: Some(*j),
        };
        out.push((roles, key));
    }
    out
}

/// Identity key of new member `j` whose index is also a (different) old member's.
fn new_member_key(run_id: &[u8; 32], j: PartyIndex) -> SigningKey {
    let mut h = Sha256::new();
    h.update(b"keynet/dkg/sim-identity/new-member/v1");
    h.update(run_id);
    h.update(j.get().to_be_bytes());
    SigningKey::from_bytes(&h.finalize().into())
}

/// Round 1 of the reshare of [`reshare_moving`] in the run `run_id`, with the
/// identity keys of [`reshare_roles`].
pub fn start_reshare<S: Suite>(
    dealers: &[&KeyShare<S>],
    stays: &BTreeMap<PartyIndex, PartyIndex>,
    new_parties: &BTreeSet<PartyIndex>,
    new_threshold: u16,
    run_id: [u8; 32],
    rng: &mut impl CryptoRngCore,
) -> Result<StartedRoles<S>, Error> {
    let old = dealers
        .first()
        .map(|s| s.public().clone())
        .ok_or(ParamError::TooFewParties { have: 0, need: 1 })?;
    let dealer_set: BTreeSet<PartyIndex> = dealers.iter().map(|s| s.index()).collect();
    let nodes = reshare_roles(&run_id, &dealer_set, stays, new_parties);
    let mut dealer_keys = BTreeMap::new();
    let mut receiver_keys = BTreeMap::new();
    for (roles, key) in &nodes {
        if let Some(d) = roles.dealer {
            dealer_keys.insert(d, key.verifying_key());
        }
        if let Some(j) = roles.receiver {
            receiver_keys.insert(j, key.verifying_key());
        }
    }
    let mut states = Vec::with_capacity(nodes.len());
    let mut r1 = BTreeMap::new();
    for (roles, key) in &nodes {
        let params = reshare::Params {
            run_id,
            me: *roles,
            old: old.clone(),
            dealers: dealer_keys.clone(),
            receivers: receiver_keys.clone(),
            new_threshold,
        };
        let share = dealers
            .iter()
            .find(|s| Some(s.index()) == roles.dealer)
            .copied();
        let (st, msg) = reshare::start(&params, share, key, rng)?;
        if let (Some(d), Some(msg)) = (roles.dealer, msg) {
            r1.insert(d, msg);
        }
        states.push((*roles, st));
    }
    Ok((states, r1))
}

/// [`reshare()`] for BLS shares: the new public keys and the new shares.
pub fn reshare_bls(
    dealers: &[&BlsKeyShare],
    new_parties: &BTreeSet<PartyIndex>,
    new_threshold: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<(BlsPublicKeys, Vec<BlsKeyShare>, [u8; 32]), Error> {
    let generic: Vec<&KeyShare<Bls12381G1>> = dealers.iter().map(|s| s.as_generic()).collect();
    let (public, shares, tr) = split(reshare(&generic, new_parties, new_threshold, rng)?)?;
    Ok((
        BlsPublicKeys::from_generic(public),
        shares.into_iter().map(BlsKeyShare::from_generic).collect(),
        tr,
    ))
}

/// [`reshare()`] for secp shares: the new public keys and the new key packages.
pub fn reshare_secp(
    dealers: &[&SecpKeyShare],
    new_parties: &BTreeSet<PartyIndex>,
    new_threshold: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<(SecpPublicKeys, Vec<SecpKeyShare>, [u8; 32]), Error> {
    let generic: Vec<&KeyShare<Secp256k1>> = dealers.iter().map(|s| s.as_generic()).collect();
    let (public, shares, tr) = split(reshare(&generic, new_parties, new_threshold, rng)?)?;
    Ok((
        SecpPublicKeys::from_generic(public),
        shares.into_iter().map(SecpKeyShare::from_generic).collect(),
        tr,
    ))
}

/// Proactive refresh of a whole committee (every member's share must be given).
pub fn refresh<S: Suite>(
    shares: &[&KeyShare<S>],
    rng: &mut impl CryptoRngCore,
) -> Result<BTreeMap<PartyIndex, Output<S>>, Error> {
    let run_id = run_id(rng);
    let keys = identity_keys(&run_id, &shares.iter().map(|s| s.index()).collect());
    let identities = verifying_keys(&keys);
    let mut states = BTreeMap::new();
    let mut r1 = BTreeMap::new();
    for s in shares {
        let key = keys.get(&s.index()).ok_or(ParamError::NoRole(s.index()))?;
        let (st, msg) = reshare::start_refresh(run_id, s, &identities, key, rng)?;
        states.insert(s.index(), st);
        r1.insert(s.index(), msg);
    }
    drive(states, r1)
}

/// Repairs the share of `lost` with the given helpers (at least `t`), through the step
/// interface ([`repair::Repair`], [`run`]).
pub fn repair<S: Suite>(
    helpers: &[&KeyShare<S>],
    lost: PartyIndex,
    rng: &mut impl CryptoRngCore,
) -> Result<KeyShare<S>, Error> {
    let public = helpers
        .first()
        .map(|s| s.public().clone())
        .ok_or(ParamError::TooFewParties { have: 0, need: 1 })?;
    let params = repair::Params {
        run_id: run_id(rng),
        lost,
        helpers: helpers.iter().map(|s| s.index()).collect(),
        public,
    };
    let mut nodes = Vec::with_capacity(helpers.len() + 1);
    for s in helpers {
        let (machine, out) = repair::Repair::start_helper(&params, s, rng)?;
        nodes.push((BTreeSet::from([Peer::Dealer(s.index())]), machine, out));
    }
    let lost_node = repair::Repair::start_lost(&params);
    nodes.push((
        BTreeSet::from([Peer::Receiver(lost)]),
        lost_node,
        Vec::new(),
    ));
    run(nodes, repair::Message::copy_broadcast)?
        .into_iter()
        .flatten()
        .next()
        .ok_or(ParamError::NoRole(lost).into())
}
