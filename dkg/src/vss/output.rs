//! The result of a run.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Fault;
use crate::keys::{KeyShare, PublicKeys};
use crate::party::PartyIndex;
use crate::suite::Suite;

/// Result of a run.
pub struct Output<S: Suite> {
    pub(super) key_share: Option<KeyShare<S>>,
    pub(super) public: PublicKeys<S>,
    pub(super) qualified: BTreeSet<PartyIndex>,
    pub(super) disqualified: BTreeMap<PartyIndex, Fault>,
    pub(super) lying_receivers: BTreeMap<PartyIndex, Fault>,
    pub(super) transcript: [u8; 32],
    pub(super) view_mismatches: BTreeSet<PartyIndex>,
}

impl<S: Suite> core::fmt::Debug for Output<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Output")
            .field("key_share", &self.key_share)
            .field("public", &self.public)
            .field("qualified", &self.qualified)
            .field("disqualified", &self.disqualified)
            .field("lying_receivers", &self.lying_receivers)
            .finish_non_exhaustive()
    }
}

impl<S: Suite> Output<S> {
    /// This party's new share (`None` for a dealer that is not in the new committee).
    pub fn key_share(&self) -> Option<&KeyShare<S>> {
        self.key_share.as_ref()
    }
    /// Takes the share out.
    pub fn into_key_share(self) -> Option<KeyShare<S>> {
        self.key_share
    }
    /// The committee's public keys.
    pub fn public(&self) -> &PublicKeys<S> {
        &self.public
    }
    /// Qualified dealers (QUAL).
    pub fn qualified(&self) -> &BTreeSet<PartyIndex> {
        &self.qualified
    }
    /// Dealers outside QUAL and why (with evidence), by dealer index. A dealer that, as
    /// a receiver, provably lied ([`Fault::ForgedEcho`]) is among them.
    pub fn disqualified(&self) -> &BTreeMap<PartyIndex, Fault> {
        &self.disqualified
    }
    /// Receivers that provably lied in round 3 ([`Fault::ForgedEcho`], with the
    /// evidence), by receiver index. A liar that also deals is excluded from QUAL
    /// ([`Output::disqualified`]); a receiver-only liar still gets its share, the others
    /// can act on the blame.
    pub fn lying_receivers(&self) -> &BTreeMap<PartyIndex, Fault> {
        &self.lying_receivers
    }
    /// SHA-256 transcript hash (QUAL, commitments of QUAL, resulting keys); identical at
    /// every honest party.
    pub fn transcript_hash(&self) -> [u8; 32] {
        self.transcript
    }
    /// Dealers whose round-2 message carried a round-1 view digest different from ours.
    /// Diagnostic only: the per-dealer echo comparison decides exclusions.
    pub fn view_mismatches(&self) -> &BTreeSet<PartyIndex> {
        &self.view_mismatches
    }
}
