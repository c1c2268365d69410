#![no_main]
use dkg::bls::BlsPublicKeys;
use dkg::secp::SecpPublicKeys;
use dkg::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pk) = wire::decode::<BlsPublicKeys>(data) {
        let _ = pk.check_consistent();
    }
    if let Ok(pk) = wire::decode::<SecpPublicKeys>(data) {
        let _ = pk.check_consistent();
    }
});
