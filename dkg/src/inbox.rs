//! Collecting one round's messages from a transport that may reorder, duplicate or
//! drop them.
//!
//! The round functions take maps by authenticated sender, so order never matters. An
//! [`Inbox`] builds such a map from raw deliveries: it decodes each message once,
//! ignores an exact duplicate (idempotent), and reports a *different* second message
//! from the same sender with [`Error::ConflictingMessage`] naming that sender (a party
//! sends one message per round; with an authenticated transport a second, different
//! one is its fault). Of two conflicting messages the inbox keeps the same one whatever
//! order they arrive in (the smaller SHA-256 of the encoding), so parties that received
//! both go on with the same input; the error is for the record, not a reason to abort. A dropped message is simply absent: the round functions treat
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
    /// [`Error::MalformedMessage`] if the bytes do not decode (the inbox is unchanged);
    /// [`Error::ConflictingMessage`] if `sender` already delivered a different message.
    /// Then, of the two, the inbox keeps the one whose encoding has the smaller SHA-256,
    /// so the result does not depend on the delivery order.
    pub fn deliver(&mut self, sender: PartyIndex, bytes: &[u8]) -> Result<bool, Error> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let conflict = match self.messages.get(&sender) {
            Some((seen, _)) if *seen == digest => return Ok(false),
            Some((seen, _)) if *seen < digest => {
                return Err(Error::ConflictingMessage { sender });
            }
            Some(_) => true,
            None => false,
        };
        let message: M =
            wire::decode(bytes).map_err(|_| Error::MalformedMessage { culprit: sender })?;
        self.messages.insert(sender, (digest, message));
        if conflict {
            Err(Error::ConflictingMessage { sender })
        } else {
            Ok(true)
        }
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
