//! The key ring: the epochs whose shares this node serves applications from (DESIGN §7).
//!
//! The epoch manager inserts an epoch once its shares are promoted and checked against
//! the group keys on record ([`super::epoch`]), and removes it when it erases the
//! epoch's shares after the grace window. The app service
//! ([`crate::app`]) reads it on every session; a cheap clone shares the same ring.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use dkg::bls::BlsKeyShare;
use dkg::secp::SecpKeyShare;
use dkg::PartyIndex;

use super::router::NodeId;

/// One epoch this node serves: its shares and what the chain recorded for it.
///
/// # Security
///
/// Holds secret shares (zeroized on drop by their types); no `Debug` of them.
pub struct ServingEpoch {
    /// The epoch number.
    pub epoch: u64,
    /// This node's party index in it.
    pub index: PartyIndex,
    /// Shares needed to combine (`t`).
    pub threshold: u16,
    /// The committee, in party order (party index = position + 1).
    pub committee: Vec<NodeId>,
    /// This node's BLS share.
    pub bls: BlsKeyShare,
    /// This node's secp256k1 (FROST) share.
    pub secp: Arc<SecpKeyShare>,
    /// `PK`, compressed G1, as on chain.
    pub bls_group_pk: [u8; 48],
    /// `P`, compressed SEC1, as on chain.
    pub secp_group_pk: [u8; 33],
}

impl ServingEpoch {
    /// This node's BLS public key share `PK_i`, compressed (from the share's public
    /// keys; `None` if they lack this node's index, which a checked share never does).
    pub fn bls_public_share(&self) -> Option<[u8; 48]> {
        self.bls
            .public()
            .share(self.index)
            .map(|p| p.to_compressed())
    }

    /// The committee size `n`.
    pub fn committee_size(&self) -> u16 {
        u16::try_from(self.committee.len()).unwrap_or(u16::MAX)
    }
}

impl fmt::Debug for ServingEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServingEpoch")
            .field("epoch", &self.epoch)
            .field("index", &self.index)
            .field("threshold", &self.threshold)
            .field("committee", &self.committee.len())
            .finish_non_exhaustive()
    }
}

/// The served epochs by number. Clones share the ring.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    epochs: Arc<RwLock<BTreeMap<u64, Arc<ServingEpoch>>>>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `epoch`.
    pub fn insert(&self, epoch: ServingEpoch) {
        let mut epochs = self.epochs.write().unwrap_or_else(PoisonError::into_inner);
        epochs.insert(epoch.epoch, Arc::new(epoch));
    }

    /// Removes `epoch` (its shares were erased).
    pub fn remove(&self, epoch: u64) {
        let mut epochs = self.epochs.write().unwrap_or_else(PoisonError::into_inner);
        epochs.remove(&epoch);
    }

    /// The epoch `epoch`, if served.
    pub fn get(&self, epoch: u64) -> Option<Arc<ServingEpoch>> {
        let epochs = self.epochs.read().unwrap_or_else(PoisonError::into_inner);
        epochs.get(&epoch).cloned()
    }

    /// The newest served epoch not after `at_most`.
    pub fn newest_up_to(&self, at_most: u64) -> Option<Arc<ServingEpoch>> {
        let epochs = self.epochs.read().unwrap_or_else(PoisonError::into_inner);
        epochs
            .range(..=at_most)
            .next_back()
            .map(|(_, e)| Arc::clone(e))
    }

    /// The served epoch numbers, ascending.
    pub fn epochs(&self) -> Vec<u64> {
        let epochs = self.epochs.read().unwrap_or_else(PoisonError::into_inner);
        epochs.keys().copied().collect()
    }
}
