#![no_main]
use std::collections::BTreeMap;
use std::sync::OnceLock;

use rand_core::SeedableRng;
use tss::{combine, make_share, Identity, PrfInput, Sigma};

fn sigma() -> &'static (Identity, Sigma) {
    static S: OnceLock<(Identity, Sigma)> = OnceLock::new();
    S.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let (public, keys) = dkg::insecure_dealer::deal_bls(1, 1, &mut rng).unwrap();
        let id = Identity::new([0; 32], "fuzz").unwrap();
        let input = PrfInput::new(id.clone());
        let shares: BTreeMap<_, _> = keys.iter().map(|k| (k.index(), make_share(k, &input))).collect();
        (id, combine(&public, &input, &shares).unwrap().sigma)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (id, sigma) = sigma();
    let _ = tss::seal::unseal(sigma, id, data);
});
