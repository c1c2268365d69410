//! The SDK: typed calls returning typed values and [`Error`]s, no command line.
//!
//! - [`gov`]: the governance client ([`gov::GovClient`]): deploy, applications,
//!   proposals, votes; [`node`] and [`network`] add the node registry and the network's
//!   committee and policy to it.
//! - [`app`]: the application SDK: key release, signing on behalf, sealing.
//! - [`attest`]: offline evidence verification and measurement.
//! - [`devnet`]: a local network's state directory.
//! - [`parse`]: the text forms of SDK values (durations, hex, addresses, platforms).
//! - [`transport`]: the chain I/O (JSON-RPC, signing keys, transactions).

pub mod app;
pub mod attest;
pub mod devnet;
pub mod error;
pub mod gov;
pub mod network;
pub mod node;
pub mod parse;
pub mod transport;

pub use error::{Error, Result};
