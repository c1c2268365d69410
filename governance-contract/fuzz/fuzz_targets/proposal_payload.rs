#![no_main]

use governance_contract::{ProposalAction, ProposalKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((kind, payload)) = data.split_first() else { return };
    if let Ok(kind) = ProposalKind::try_from(*kind % 12) {
        if let Ok(action) = ProposalAction::decode(kind, payload) {
            assert_eq!(action.kind(), kind);
        }
    }
});
