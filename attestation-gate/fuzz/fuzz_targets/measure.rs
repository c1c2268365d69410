#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, raw)) = attestation_gate::measure::measure_unverified(data) {
        let _ = raw.measurement();
        let _ = raw.to_hex_map();
    }
});
