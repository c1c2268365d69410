#![no_main]
use std::collections::BTreeMap;

use dkg::suite::Bls12381G1;
use dkg::vss::{round1, round2, round3, round4};
use dkg::{pedersen, sim, wire, PartyIndex};
use libfuzzer_sys::fuzz_target;
use rand_core::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let _ = wire::decode::<round2::Direct>(data);
    let _ = wire::decode::<round3::Broadcast>(data);
    let _ = wire::decode::<round4::Broadcast>(data);
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
