//! The committee a committee-change proposal sets: the rule for its members and its
//! default threshold (docs/GOVERNANCE.md).

use governance_contract::{EpochInfo, EpochStatus};

use crate::sdk::error::{Error, Result};

/// The committee of a committee-change proposal: the current one with nodes removed and
/// added, and the threshold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitteeChange {
    /// Node ids to append, in order.
    pub add: Vec<[u8; 32]>,
    /// Node ids to take out.
    pub remove: Vec<[u8; 32]>,
    /// The new threshold; `None`: [`default_threshold`].
    pub threshold: Option<u16>,
}

/// The threshold a committee of `n` members keeps when none is given: the current
/// threshold `current` if it is still a majority of `n` (and at most `n`), else
/// `n/2 + 1`.
pub fn default_threshold(current: u16, n: usize) -> u16 {
    let t = usize::from(current);
    if current > 0 && t <= n && t.saturating_mul(2) > n {
        current
    } else {
        u16::try_from(n / 2 + 1).unwrap_or(u16::MAX)
    }
}

/// The committee that results from `current` (if active, else empty) with `change`:
/// members removed (each must be in it), then added, and the threshold.
pub fn next_committee(
    current: &EpochInfo,
    change: &CommitteeChange,
) -> Result<(Vec<[u8; 32]>, u16)> {
    let mut members: Vec<[u8; 32]> = if current.status == EpochStatus::Active {
        current.committee.clone()
    } else {
        Vec::new()
    };
    for r in &change.remove {
        let before = members.len();
        members.retain(|m| m != r);
        if members.len() == before {
            return Err(Error::BadInput(format!(
                "node {} is not in the active committee",
                alloy::hex::encode(r)
            )));
        }
    }
    members.extend(change.add.iter().copied());
    let t = change
        .threshold
        .unwrap_or_else(|| default_threshold(current.threshold, members.len()));
    Ok((members, t))
}

#[cfg(test)]
#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    fn epoch(status: EpochStatus, threshold: u16, committee: Vec<[u8; 32]>) -> EpochInfo {
        EpochInfo {
            epoch: 1,
            status,
            threshold,
            committee,
            created_at: 0,
            activated_at: None,
            transcript_hash: None,
            bls_group_pk: None,
            secp_group_pk: None,
            confirmations: 0,
            deadline: 0,
            not_confirmed: Vec::new(),
        }
    }

    #[test]
    fn default_threshold__should_keep_a_still_valid_majority_else_take_n_over_2_plus_1() {
        assert_eq!(default_threshold(3, 5), 3); // still a majority of 5
        assert_eq!(default_threshold(3, 4), 3); // 3 of 4
        assert_eq!(default_threshold(2, 4), 3); // 2 of 4 is no majority
        assert_eq!(default_threshold(4, 3), 2); // more than n
        assert_eq!(default_threshold(0, 4), 3); // no committee yet
        assert_eq!(default_threshold(0, 1), 1);
        assert_eq!(default_threshold(0, 0), 1);
    }

    #[test]
    fn next_committee__should_remove_then_add_and_refuse_a_stranger() {
        let (a, b, c) = ([1; 32], [2; 32], [3; 32]);
        let current = epoch(EpochStatus::Active, 2, vec![a, b, c]);
        let change = CommitteeChange {
            add: vec![[4; 32], [5; 32]],
            remove: vec![b],
            threshold: None,
        };
        let (members, t) = next_committee(&current, &change).unwrap();
        assert_eq!(members, [a, c, [4; 32], [5; 32]]);
        assert_eq!(t, 3);
        let explicit = CommitteeChange {
            threshold: Some(4),
            ..change.clone()
        };
        assert_eq!(next_committee(&current, &explicit).unwrap().1, 4);
        let stranger = CommitteeChange {
            remove: vec![[9; 32]],
            ..CommitteeChange::default()
        };
        let e = next_committee(&current, &stranger).unwrap_err();
        assert_eq!(e.kind(), "bad_input");
        // No active committee yet: start from an empty one.
        let pending = epoch(EpochStatus::Pending, 0, vec![a]);
        assert_eq!(next_committee(&pending, &change).map(|r| r.1).ok(), None);
        let fresh = CommitteeChange {
            add: vec![a, b],
            ..CommitteeChange::default()
        };
        assert_eq!(next_committee(&pending, &fresh).unwrap(), (vec![a, b], 2));
    }
}
