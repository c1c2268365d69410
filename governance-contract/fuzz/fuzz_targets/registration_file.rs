#![no_main]

use governance_contract::Registration;
use libfuzzer_sys::fuzz_target;

// A registration file (kms node register --registration): parse, verify, re-encode.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(r) = Registration::from_json(text) {
        let _ = r.verify();
        let _ = r.report_data();
        assert_eq!(Registration::from_json(&r.to_json()).ok(), Some(r));
    }
});
