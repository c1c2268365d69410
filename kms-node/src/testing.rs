//! In-memory fakes of the node's capabilities, for tests (feature `testing`).

pub mod chain;
pub mod cluster;

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::storage::{Epoch, Error, ShareKind, StoreShare};

/// [`StoreShare`] in memory, with the file store's rules (pending → promote → erase,
/// refusals included) and no sealing.
#[derive(Default)]
pub struct MemoryShareStore {
    pending: BTreeMap<Epoch, BTreeMap<ShareKind, Zeroizing<Vec<u8>>>>,
    active: BTreeMap<Epoch, BTreeMap<ShareKind, Zeroizing<Vec<u8>>>>,
}

fn copy(bytes: &Zeroizing<Vec<u8>>) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(bytes.to_vec())
}

impl StoreShare for MemoryShareStore {
    fn put_pending(&mut self, epoch: Epoch, kind: ShareKind, share: &[u8]) -> Result<(), Error> {
        if self.active.contains_key(&epoch) {
            return Err(Error::AlreadyActive { epoch });
        }
        self.pending
            .entry(epoch)
            .or_default()
            .insert(kind, Zeroizing::new(share.to_vec()));
        Ok(())
    }

    fn load_pending(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.pending
            .get(&epoch)
            .and_then(|m| m.get(&kind))
            .map(copy)
            .ok_or(Error::NotFound {
                epoch,
                kind,
                pending: true,
            })
    }

    fn promote(&mut self, epoch: Epoch) -> Result<(), Error> {
        if self.active.contains_key(&epoch) {
            return Err(Error::AlreadyActive { epoch });
        }
        let shares = self
            .pending
            .get(&epoch)
            .ok_or(Error::NothingPending { epoch })?;
        if let Some(missing) = ShareKind::ALL.into_iter().find(|k| !shares.contains_key(k)) {
            return Err(Error::PendingIncomplete { epoch, missing });
        }
        if let Some(shares) = self.pending.remove(&epoch) {
            self.active.insert(epoch, shares);
        }
        Ok(())
    }

    fn erase_epoch(&mut self, epoch: Epoch) -> Result<(), Error> {
        self.pending.remove(&epoch);
        self.active.remove(&epoch);
        Ok(())
    }

    fn load(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.active
            .get(&epoch)
            .and_then(|m| m.get(&kind))
            .map(copy)
            .ok_or(Error::NotFound {
                epoch,
                kind,
                pending: false,
            })
    }

    fn active_epochs(&self) -> Result<Vec<Epoch>, Error> {
        Ok(self.active.keys().copied().collect())
    }
}
