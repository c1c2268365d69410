#![no_main]
use dkg::bls::BlsKeyShare;
use dkg::secp::SecpKeyShare;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = BlsKeyShare::import_from_sealing(data);
    let _ = SecpKeyShare::import_from_sealing(data);
});
