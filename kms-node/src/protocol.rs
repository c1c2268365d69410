//! The one protocol driver of the node (DESIGN §8): every DKG, reshare, refresh and
//! repair runs through [`driver::run_with_retries`], one attempt at a time, each under
//! a fresh run id ([`run_id::RunId`]), with a deadline per round and per attempt, and
//! with the culprits the protocol names (and, if configured, silent peers) handed to
//! the next attempt.
//!
//! The driver is generic over [`dkg::step::Machine`]; messages travel as bytes encoded
//! by [`wire::WireMessage`] through the [`driver::SendToPeer`] capability, and come
//! back through a [`driver::ReceiveFromPeer`] inbox with their authenticated sender.

pub mod driver;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod run_id;
pub mod wire;
