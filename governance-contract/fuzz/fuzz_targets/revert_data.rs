#![no_main]

use governance_contract::ContractError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(e) = ContractError::decode(data) {
        assert!(!e.kind().is_empty());
        let _ = e.message();
    }
});
