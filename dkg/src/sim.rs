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
use crate::party::PartyIndex;
use crate::secp::{SecpKeyShare, SecpPublicKeys};
use crate::suite::{Bls12381G1, Secp256k1, Suite};
use crate::vss::{round1, round2, round3, round4, Output, Round1, Round2, Round3, Round4};
use crate::{pedersen, repair, reshare, Error};

/// Runs all four rounds for the given parties, delivering every message.
pub fn drive<S: Suite>(
    states: BTreeMap<PartyIndex, Round1<S>>,
    mut r1: BTreeMap<PartyIndex, round1::Broadcast>,
) -> Result<BTreeMap<PartyIndex, Output<S>>, Error> {
    let mut inbox: BTreeMap<PartyIndex, BTreeMap<PartyIndex, round2::Direct>> = BTreeMap::new();
    let mut s2: BTreeMap<PartyIndex, Round2<S>> = BTreeMap::new();
    for (p, st) in states {
        let own = r1.remove(&p);
        let (next, directs) = st.advance(&r1)?;
        if let Some(own) = own {
            r1.insert(p, own);
        }
        for (to, m) in directs {
            inbox.entry(to).or_default().insert(p, m);
        }
        s2.insert(p, next);
    }
    let mut s3: BTreeMap<PartyIndex, Round3<S>> = BTreeMap::new();
    let mut b3: BTreeMap<PartyIndex, round3::Broadcast> = BTreeMap::new();
    for (p, st) in s2 {
        let mine = inbox.remove(&p).unwrap_or_default();
        let (next, msg) = st.advance(&mine)?;
        s3.insert(p, next);
        b3.insert(p, msg);
    }
    let dealers: BTreeSet<PartyIndex> = r1.keys().copied().collect();
    let mut s4: BTreeMap<PartyIndex, Round4<S>> = BTreeMap::new();
    let mut b4: BTreeMap<PartyIndex, round4::Broadcast> = BTreeMap::new();
    for (p, st) in s3 {
        let own = b3.remove(&p);
        let (next, msg) = st.advance(&b3)?;
        if let Some(own) = own {
            b3.insert(p, own);
        }
        if dealers.contains(&p) {
            b4.insert(p, msg);
        }
        s4.insert(p, next);
    }
    let mut out = BTreeMap::new();
    for (p, st) in s4 {
        let own = b4.remove(&p);
        let o = st.finish(&b4)?;
        if let Some(own) = own {
            b4.insert(p, own);
        }
        out.insert(p, o);
    }
    Ok(out)
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
/// `new_parties` with threshold `new_threshold`. Returns every participant's output.
pub fn reshare<S: Suite>(
    dealers: &[&KeyShare<S>],
    new_parties: &BTreeSet<PartyIndex>,
    new_threshold: u16,
    rng: &mut impl CryptoRngCore,
) -> Result<BTreeMap<PartyIndex, Output<S>>, Error> {
    let old = dealers
        .first()
        .map(|s| s.public().clone())
        .ok_or(ParamError::TooFewParties { have: 0, need: 1 })?;
    let dealer_set: BTreeSet<PartyIndex> = dealers.iter().map(|s| s.index()).collect();
    let run_id = run_id(rng);
    let keys = identity_keys(&run_id, &dealer_set.union(new_parties).copied().collect());
    let identities = verifying_keys(&keys);
    let mut states = BTreeMap::new();
    let mut r1 = BTreeMap::new();
    for (me, key) in &keys {
        let params = reshare::Params {
            run_id,
            me: *me,
            old: old.clone(),
            dealers: dealer_set.clone(),
            new_parties: new_parties.clone(),
            new_threshold,
            identities: identities.clone(),
        };
        let share = dealers.iter().find(|s| s.index() == *me).copied();
        let (st, msg) = reshare::start(&params, share, key, rng)?;
        states.insert(*me, st);
        if let Some(msg) = msg {
            r1.insert(*me, msg);
        }
    }
    drive(states, r1)
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

/// Repairs the share of `lost` with the given helpers (at least `t`).
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
    let mut states = BTreeMap::new();
    let mut broadcasts = BTreeMap::new();
    let mut inbox: BTreeMap<PartyIndex, BTreeMap<PartyIndex, repair::step1::Direct>> =
        BTreeMap::new();
    for s in helpers {
        let (st, b, d) = repair::start_helper(&params, s, rng)?;
        states.insert(s.index(), st);
        broadcasts.insert(s.index(), b);
        for (to, m) in d {
            inbox.entry(to).or_default().insert(s.index(), m);
        }
    }
    let mut sigmas = BTreeMap::new();
    for (p, st) in states {
        let own = broadcasts.remove(&p);
        let mine = inbox.remove(&p).unwrap_or_default();
        let sigma = st.advance(&broadcasts, &mine)?;
        if let Some(own) = own {
            broadcasts.insert(p, own);
        }
        sigmas.insert(p, sigma);
    }
    repair::recover(&params, &broadcasts, &sigmas)
}
