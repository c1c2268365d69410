//! The daemon (issue 10): the node's keys ([`identity`]), its evidence
//! ([`attest`]), the admission of peers ([`admit`]), protocol runs over the p2p layer
//! ([`router`]), the epoch manager ([`epoch`]) and the process around them
//! ([`daemon`]).

pub mod attest;
pub mod confirm;
pub mod dkg_run;
pub mod epoch;
pub mod identity;
pub mod router;
pub mod admit;
pub mod daemon;
pub mod repair;
#[cfg(test)]
mod proptests;
