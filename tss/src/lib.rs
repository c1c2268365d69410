#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod error;
pub mod prf;
pub mod seal;
pub mod session;
pub mod sign;
pub mod tweak;
pub mod wire;

pub use dkg::PartyIndex;
pub use error::Error;
pub use prf::{
    combine, interpolate, make_share, verify_share, Combined, DerivedKey, Identity, PrfInput,
    PrfShare, Sigma,
};
pub use tweak::AppSigningKey;
