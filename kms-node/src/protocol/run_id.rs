//! Run ids: one fresh 32-byte id per attempt of every protocol run (DESIGN §8).
//!
//! Encodings (docs/PROTOCOL.md "Protocol runs (kms-node)"), all integers big-endian:
//!
//! ```text
//! committee_hash = SHA-256("keynet/kms-node/committee/v1" || be16(threshold)
//!                          || be64(n) || for each member in order: be64(len) || id)
//! run_id         = SHA-256("keynet/kms-node/run-id/v1" || be64(epoch) || committee_hash
//!                          || u8(protocol) || u8(suite) || be32(attempt))
//! ```
//!
//! `protocol` is [`ProtocolKind::code`] and `suite` is [`SuiteId::code`], so the two
//! root keys' runs of one epoch never share an id.

use dkg::wire::SuiteId;
use sha2::{Digest, Sha256};

const RUN_ID_TAG: &[u8] = b"keynet/kms-node/run-id/v1";
const COMMITTEE_TAG: &[u8] = b"keynet/kms-node/committee/v1";

/// Which protocol a run executes, for one key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolKind {
    /// A genesis DKG.
    Dkg(SuiteId),
    /// A reshare to a new committee.
    Reshare(SuiteId),
    /// A proactive refresh of the same committee.
    Refresh(SuiteId),
    /// A share repair.
    Repair(SuiteId),
    /// A threshold signing session.
    Sign(SuiteId),
}

impl ProtocolKind {
    /// Stable one-byte code of the protocol (the suite is encoded separately).
    pub fn code(self) -> u8 {
        match self {
            ProtocolKind::Dkg(_) => 1,
            ProtocolKind::Reshare(_) => 2,
            ProtocolKind::Refresh(_) => 3,
            ProtocolKind::Repair(_) => 4,
            ProtocolKind::Sign(_) => 5,
        }
    }

    /// The key type of the run.
    pub fn suite(self) -> SuiteId {
        match self {
            ProtocolKind::Dkg(s)
            | ProtocolKind::Reshare(s)
            | ProtocolKind::Refresh(s)
            | ProtocolKind::Repair(s)
            | ProtocolKind::Sign(s) => s,
        }
    }
}

/// Derivation of run ids (see the module docs for the exact encoding).
#[derive(Debug, Clone, Copy)]
pub struct RunId;

impl RunId {
    /// The run id of attempt `attempt` of `protocol` in `epoch` among the committee with
    /// hash `committee_hash` ([`committee_hash`]):
    /// `SHA-256("keynet/kms-node/run-id/v1" || be64(epoch) || committee_hash ||
    /// u8(protocol.code()) || u8(suite.code()) || be32(attempt))`.
    pub fn derive(
        epoch: u64,
        committee_hash: [u8; 32],
        protocol: ProtocolKind,
        attempt: u32,
    ) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(RUN_ID_TAG);
        h.update(epoch.to_be_bytes());
        h.update(committee_hash);
        h.update([protocol.code(), protocol.suite().code()]);
        h.update(attempt.to_be_bytes());
        h.finalize().into()
    }
}

/// The hash of an ordered committee (its members' node ids, in committee order) and
/// its threshold: `SHA-256("keynet/kms-node/committee/v1" || be16(threshold) ||
/// be64(n) || for each member: be64(len) || id)`.
pub fn committee_hash<I: AsRef<[u8]>>(members: &[I], threshold: u16) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(COMMITTEE_TAG);
    h.update(threshold.to_be_bytes());
    h.update(len64(members.len()).to_be_bytes());
    for m in members {
        let id = m.as_ref();
        h.update(len64(id.len()).to_be_bytes());
        h.update(id);
    }
    h.finalize().into()
}

fn len64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const BLS: SuiteId = SuiteId::Bls12381G1;
    const SECP: SuiteId = SuiteId::Secp256k1Tr;

    #[test]
    fn run_id__should_differ_for_every_field_change() {
        let c = committee_hash(&[b"a", b"b", b"c"], 2);
        let d = committee_hash(&[b"a", b"b", b"d"], 2);
        let ids = [
            RunId::derive(1, c, ProtocolKind::Dkg(BLS), 0),
            RunId::derive(2, c, ProtocolKind::Dkg(BLS), 0),
            RunId::derive(1, d, ProtocolKind::Dkg(BLS), 0),
            RunId::derive(1, c, ProtocolKind::Dkg(SECP), 0),
            RunId::derive(1, c, ProtocolKind::Reshare(BLS), 0),
            RunId::derive(1, c, ProtocolKind::Refresh(BLS), 0),
            RunId::derive(1, c, ProtocolKind::Repair(BLS), 0),
            RunId::derive(1, c, ProtocolKind::Sign(BLS), 0),
            RunId::derive(1, c, ProtocolKind::Dkg(BLS), 1),
        ];
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
    }

    #[test]
    fn committee_hash__should_bind_order_members_boundaries_and_threshold() {
        let base = committee_hash(&[b"ab".as_slice(), b"c"], 2);
        for other in [
            committee_hash(&[b"c".as_slice(), b"ab"], 2),
            committee_hash(&[b"a".as_slice(), b"bc"], 2),
            committee_hash(&[b"ab".as_slice(), b"c"], 1),
            committee_hash(&[b"ab".as_slice()], 2),
            committee_hash(&[b"ab".as_slice(), b"c", b""], 2),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn run_id__should_match_the_documented_encoding() {
        // Known answer, recomputed here from the documented byte layout.
        let c = committee_hash(&[[1u8; 32], [2u8; 32]], 2);
        let mut expected_c = Sha256::new();
        expected_c.update(b"keynet/kms-node/committee/v1");
        expected_c.update([0, 2]);
        expected_c.update([0, 0, 0, 0, 0, 0, 0, 2]);
        for b in [1u8, 2] {
            expected_c.update([0, 0, 0, 0, 0, 0, 0, 32]);
            expected_c.update([b; 32]);
        }
        let expected_c: [u8; 32] = expected_c.finalize().into();
        assert_eq!(c, expected_c);
        let id = RunId::derive(7, c, ProtocolKind::Reshare(SECP), 3);
        let mut expected = Sha256::new();
        expected.update(b"keynet/kms-node/run-id/v1");
        expected.update([0, 0, 0, 0, 0, 0, 0, 7]);
        expected.update(c);
        expected.update([2, 2]);
        expected.update([0, 0, 0, 3]);
        let expected: [u8; 32] = expected.finalize().into();
        assert_eq!(id, expected);
    }

    #[test]
    fn run_id__should_be_stable() {
        let c = committee_hash(&[b"node-a", b"node-b", b"node-c"], 2);
        let id = RunId::derive(1, c, ProtocolKind::Dkg(BLS), 0);
        assert_eq!(hex::encode(id), KNOWN);
    }

    const KNOWN: &str = "ebf01d812b84ceda8dfbf02d732ee0129f75f521fef5bc1cd187e1e48d6b0162";
}
