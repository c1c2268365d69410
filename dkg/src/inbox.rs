//! Collecting one round's messages from a transport that may reorder, duplicate or
//! drop them.
//!
//! The round functions take maps by authenticated sender, so order never matters. An
//! [`Inbox`] builds such a map from raw deliveries: it decodes each message once,
//! ignores an exact duplicate (idempotent), and refuses a *different* second message
//! from the same sender with [`Error::ConflictingMessage`] naming that sender (a party
//! sends one message per round; with an authenticated transport a second, different
//! one is its fault). A dropped message is simply absent: the round functions treat
//! the sender as silent (missing broadcast, share or justification), which blames that
//! sender or is repaired (round-1 re-broadcast), never yields a different key.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::party::PartyIndex;
use crate::{wire, Error};

/// One round's messages by sender. Only a SHA-256 of each accepted encoding is kept
/// besides the decoded message (no copy of secret shares).
pub struct Inbox<M> {
    messages: BTreeMap<PartyIndex, ([u8; 32], M)>,
}

impl<M> Default for Inbox<M> {
    fn default() -> Self {
        Self {
            messages: BTreeMap::new(),
        }
    }
}

impl<M: DeserializeOwned> Inbox<M> {
    /// An empty inbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one delivery of `bytes` from the authenticated `sender`. Returns `true` if
    /// the message is new, `false` for an exact duplicate (ignored).
    ///
    /// # Errors
    ///
    /// [`Error::MalformedMessage`] if the bytes do not decode; [`Error::ConflictingMessage`]
    /// if `sender` already delivered a different message. The inbox is unchanged.
    pub fn deliver(&mut self, sender: PartyIndex, bytes: &[u8]) -> Result<bool, Error> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if let Some((seen, _)) = self.messages.get(&sender) {
            return if *seen == digest {
                Ok(false)
            } else {
                Err(Error::ConflictingMessage { sender })
            };
        }
        let message: M =
            wire::decode(bytes).map_err(|_| Error::MalformedMessage { culprit: sender })?;
        self.messages.insert(sender, (digest, message));
        Ok(true)
    }

    /// Senders heard from so far.
    pub fn senders(&self) -> impl Iterator<Item = PartyIndex> + '_ {
        self.messages.keys().copied()
    }

    /// The messages by sender, the input of the round functions.
    pub fn into_messages(self) -> BTreeMap<PartyIndex, M> {
        self.messages
            .into_iter()
            .map(|(p, (_, m))| (p, m))
            .collect()
    }
}
