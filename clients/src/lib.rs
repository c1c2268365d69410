#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod attest;
pub mod cli;
pub mod devnet;
pub mod gov;
