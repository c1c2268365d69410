//! An in-memory network for the driver's tests (feature `testing`): one unbounded tokio
//! channel per node, [`SendToPeer`] by address, and knobs to drop a node's traffic,
//! delay a link, duplicate a node's messages and kill a node after it has sent a number
//! of messages.
//!
//! A broadcast hands the very same bytes to every other live node, which is what
//! [`Channel::Agreement`] requires; the p2p transport provides it with echo broadcast.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dkg::step::{Channel, Peer};
use tokio::sync::mpsc;

use super::driver::{SendError, SendToPeer};

/// A node's inbox on the in-memory network.
pub type MemoryInbox = mpsc::UnboundedReceiver<(Peer, Vec<u8>)>;

struct Node {
    addresses: BTreeSet<Peer>,
    tx: mpsc::UnboundedSender<(Peer, Vec<u8>)>,
    /// Messages this node may still send before it dies (`None`: no limit).
    budget: Option<usize>,
    isolated: bool,
    /// Every message from this node is delivered twice.
    duplicate: bool,
}

#[derive(Default)]
struct Net {
    nodes: Vec<Node>,
    delays: BTreeMap<(usize, usize), Duration>,
}

/// The network; cheap to clone (shared state).
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    net: Arc<Mutex<Net>>,
}

/// One node's sending side.
#[derive(Clone)]
pub struct MemoryLink {
    network: MemoryNetwork,
    node: usize,
}

impl MemoryLink {
    /// The node's number on the network.
    pub fn node(&self) -> usize {
        self.node
    }
}

impl MemoryNetwork {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Net) -> R) -> R {
        let mut net = self.net.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut net)
    }

    /// Adds a node answering to `addresses` (its roles): its link and its inbox.
    pub fn join(&self, addresses: BTreeSet<Peer>) -> (MemoryLink, MemoryInbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let node = self.with(|net| {
            net.nodes.push(Node {
                addresses,
                tx,
                budget: None,
                isolated: false,
                duplicate: false,
            });
            net.nodes.len().saturating_sub(1)
        });
        (
            MemoryLink {
                network: self.clone(),
                node,
            },
            rx,
        )
    }

    /// Drops every message from and to `node`.
    pub fn isolate(&self, node: usize) {
        self.with(|net| {
            if let Some(n) = net.nodes.get_mut(node) {
                n.isolated = true;
            }
        });
    }

    /// Delays every message from `from` to `to` by `delay`.
    pub fn delay(&self, from: usize, to: usize, delay: Duration) {
        self.with(|net| net.delays.insert((from, to), delay));
    }

    /// Delivers every message from `node` twice.
    pub fn duplicate_from(&self, node: usize) {
        self.with(|net| {
            if let Some(n) = net.nodes.get_mut(node) {
                n.duplicate = true;
            }
        });
    }

    /// Kills `node` once it has sent `messages` more messages (deliveries to one
    /// recipient each): from then on it neither sends nor receives.
    pub fn kill_after(&self, node: usize, messages: usize) {
        self.with(|net| {
            if let Some(n) = net.nodes.get_mut(node) {
                n.budget = Some(messages);
            }
        });
    }

    /// Injects `bytes` into `to`'s inbox as if sent by `from` (a test's adversary).
    pub fn inject(&self, to: usize, from: Peer, bytes: Vec<u8>) {
        self.with(|net| {
            if let Some(n) = net.nodes.get(to) {
                // A closed inbox is a dead node: the message is lost.
                let _ = n.tx.send((from, bytes));
            }
        });
    }
}

fn alive(n: &Node) -> bool {
    !n.isolated && n.budget != Some(0)
}

impl SendToPeer for MemoryLink {
    fn send(
        &self,
        from: Peer,
        to: Option<Peer>,
        _channel: Channel,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let deliveries = self.network.with(|net| {
            let me = net
                .nodes
                .get(self.node)
                .ok_or(SendError::ForeignSender(from))?;
            if !me.addresses.contains(&from) {
                return Err(SendError::ForeignSender(from));
            }
            let recipients: Vec<usize> = match to {
                None => (0..net.nodes.len()).filter(|i| *i != self.node).collect(),
                Some(p) => vec![net
                    .nodes
                    .iter()
                    .position(|n| n.addresses.contains(&p))
                    .ok_or(SendError::UnknownPeer(p))?],
            };
            let mut out = Vec::new();
            for r in recipients {
                let sender_alive = net.nodes.get(self.node).is_some_and(alive);
                let receiver_alive = net.nodes.get(r).is_some_and(alive);
                if !(sender_alive && receiver_alive) {
                    continue;
                }
                if let Some(b) = net.nodes.get_mut(self.node).and_then(|n| n.budget.as_mut()) {
                    *b = b.saturating_sub(1);
                }
                let copies = if net.nodes.get(self.node).is_some_and(|n| n.duplicate) {
                    2
                } else {
                    1
                };
                if let Some(n) = net.nodes.get(r) {
                    let delay = net.delays.get(&(self.node, r)).copied();
                    for _ in 0..copies {
                        out.push((n.tx.clone(), delay));
                    }
                }
            }
            Ok(out)
        })?;
        for (tx, delay) in deliveries {
            let message = (from, bytes.to_vec());
            match delay {
                None => {
                    // A closed inbox is a node that stopped: the message is lost.
                    let _ = tx.send(message);
                }
                Some(d) => {
                    tokio::spawn(async move {
                        tokio::time::sleep(d).await;
                        let _ = tx.send(message);
                    });
                }
            }
        }
        Ok(())
    }
}
