#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod app;
pub mod chain;
pub mod config;
pub mod net;
pub mod node;
pub mod ops;
pub mod protocol;
pub mod storage;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The crate's errors, one enum per module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration refused.
    #[error(transparent)]
    Config(#[from] config::Error),
    /// Sealed storage failed.
    #[error(transparent)]
    Storage(#[from] storage::Error),
}
