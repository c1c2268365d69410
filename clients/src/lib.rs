#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod sdk;

pub use sdk::gov::{Chain, GovClient};
pub use sdk::{Error, Result};
