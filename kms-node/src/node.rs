//! The daemon (issue 10): the node's keys ([`identity`]), its evidence
//! ([`attest`]), the admission of peers ([`admit`]), protocol runs over the p2p layer
//! ([`router`]), the epoch manager ([`epoch`]) and the process around them
//! ([`daemon`]).

pub mod admit;
pub mod attest;
pub mod confirm;
pub mod daemon;
pub mod dkg_run;
pub mod echo;
pub mod epoch;
pub mod identity;
pub mod keyring;
#[cfg(test)]
mod proptests;
pub mod repair;
pub mod router;
pub mod sign_run;
