#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod bls;
pub mod error;
pub mod inbox;
#[cfg(feature = "insecure-dealer")]
pub mod insecure_dealer;
pub mod keys;
mod party;
pub mod secp;
mod secret;
pub mod step;
pub mod suite;
pub mod wire;

/// Ed25519 types of participant identity keys (re-exported `ed25519-dalek` 2).
pub use ed25519_dalek as identity;
pub use error::{Error, Fault, SignedDigest};
pub use party::{PartyIndex, Roles, ZeroIndex};
pub mod pedersen;
pub mod repair;
pub mod reshare;
#[cfg(feature = "sim")]
pub mod sim;
pub mod vss;
