//! Party indices.

use core::fmt;
use core::num::NonZeroU16;

use serde::{Deserialize, Serialize};

/// A party's 1-based index in a committee. It is also the x-coordinate of the party's
/// Shamir share, so it is never zero.
///
/// Encoded on the wire as an unsigned integer; decoding `0` fails.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct PartyIndex(NonZeroU16);

impl PartyIndex {
    /// `None` for `0`.
    pub fn new(index: u16) -> Option<Self> {
        NonZeroU16::new(index).map(Self)
    }

    /// The index as a number (always at least 1).
    pub fn get(self) -> u16 {
        self.0.get()
    }
}

impl fmt::Debug for PartyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.0)
    }
}

impl fmt::Display for PartyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The roles of one party in a run, each with its index in its own committee.
///
/// A reshare numbers the dealing (old) and the receiving (new) committee separately, by
/// position in each committee's list (DESIGN §7: "dealers keep their old party index,
/// receivers take their new one"), so one party may deal as `i` and receive as `j != i`.
/// In a DKG and a refresh every party has both roles under the same index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Roles {
    /// Index in the dealing (old) committee, if this party deals.
    pub dealer: Option<PartyIndex>,
    /// Index in the receiving (new) committee, if this party receives a share.
    pub receiver: Option<PartyIndex>,
}

impl Roles {
    /// Dealer and receiver under the same index (a DKG or refresh participant).
    pub fn both(index: PartyIndex) -> Self {
        Self {
            dealer: Some(index),
            receiver: Some(index),
        }
    }
}

/// `0` is not a party index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("party index 0 is invalid (indices start at 1)")]
pub struct ZeroIndex;

impl TryFrom<u16> for PartyIndex {
    type Error = ZeroIndex;

    fn try_from(value: u16) -> Result<Self, Self::Error> {
        Self::new(value).ok_or(ZeroIndex)
    }
}

impl From<PartyIndex> for u16 {
    fn from(value: PartyIndex) -> Self {
        value.get()
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn new__should_reject_zero() {
        assert!(PartyIndex::new(0).is_none());
        assert_eq!(PartyIndex::new(7).map(PartyIndex::get), Some(7));
    }
}
