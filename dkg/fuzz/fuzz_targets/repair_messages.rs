#![no_main]
use dkg::repair::{step1, step2};
use dkg::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wire::decode::<step1::Broadcast>(data);
    let _ = wire::decode::<step1::Direct>(data);
    let _ = wire::decode::<step2::Direct>(data);
});
