#![no_main]
use std::collections::BTreeMap;

use dkg::suite::Bls12381G1;
use dkg::vss::{round1, round2, round3, round4, Round3, Round4};
use dkg::{pedersen, sim, wire, PartyIndex};
use libfuzzer_sys::fuzz_target;
use rand_core::SeedableRng;

/// An honest 2-of-2 run up to round 3 for party 1, with party 2's round-3 and round-4
/// messages as given (the real ones where `None`), then finished at party 1.
fn run(r3: Option<round3::Broadcast>, r4: Option<round4::Broadcast>) {
    let (Some(one), Some(two)) = (PartyIndex::new(1), PartyIndex::new(2)) else {
        return;
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
    let parties = sim::committee(2);
    let keys = sim::identity_keys(&[0; 32], &parties);
    let (Some(k1), Some(k2)) = (keys.get(&one), keys.get(&two)) else {
        return;
    };
    let params = |me| pedersen::Params {
        run_id: [0; 32],
        me,
        parties: parties.clone(),
        threshold: 2,
        identities: sim::verifying_keys(&keys),
    };
    let (Ok((s1, b1)), Ok((s2, b2))) = (
        pedersen::start::<Bls12381G1>(&params(one), k1, &mut rng),
        pedersen::start::<Bls12381G1>(&params(two), k2, &mut rng),
    ) else {
        return;
    };
    let (Ok((s1, d1)), Ok((s2, d2))) = (
        s1.advance(&BTreeMap::from([(two, b2)])),
        s2.advance(&BTreeMap::from([(one, b1)])),
    ) else {
        return;
    };
    let from = |p: PartyIndex, d: BTreeMap<PartyIndex, round2::Direct>| -> BTreeMap<_, _> {
        d.into_values().map(|m| (p, m)).collect()
    };
    let (Ok((s1, Some(c1))), Ok((s2, Some(c2)))) =
        (s1.advance(&from(two, d2)), s2.advance(&from(one, d1)))
    else {
        return;
    };
    let s1: Round3<Bls12381G1> = s1;
    let c2 = r3.unwrap_or(c2);
    let (Ok((s1, _)), Ok((_, Some(j2)))) = (
        s1.advance(&BTreeMap::from([(two, c2)])),
        s2.advance(&BTreeMap::from([(one, c1)])),
    ) else {
        return;
    };
    let s1: Round4<Bls12381G1> = s1;
    let _ = s1.finish(&BTreeMap::from([(two, r4.unwrap_or(j2))]));
}

fuzz_target!(|data: &[u8]| {
    let _ = wire::decode::<round2::Direct>(data);
    // Decodable round-3 and round-4 messages from party 2 go through a real party 1.
    if let Ok(msg) = wire::decode::<round3::Broadcast>(data) {
        run(Some(msg), None);
    }
    if let Ok(msg) = wire::decode::<round4::Broadcast>(data) {
        run(None, Some(msg));
    }
    // A decodable round-1 broadcast from party 2 goes through a real party 1.
    if let Ok(msg) = wire::decode::<round1::Broadcast>(data) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
        let (Some(one), Some(two)) = (PartyIndex::new(1), PartyIndex::new(2)) else {
            return;
        };
        let keys = sim::identity_keys(&[0; 32], &sim::committee(2));
        let Some(key) = keys.get(&one) else {
            return;
        };
        let params = pedersen::Params {
            run_id: [0; 32],
            me: one,
            parties: sim::committee(2),
            threshold: 2,
            identities: sim::verifying_keys(&keys),
        };
        if let Ok((state, _)) = pedersen::start::<Bls12381G1>(&params, key, &mut rng) {
            let _ = state.advance(&BTreeMap::from([(two, msg)]));
        }
    }
});
