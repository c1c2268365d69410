//! All of the SDK's I/O: the chain ([`chain`]: JSON-RPC, signing keys, transactions)
//! and files ([`files`]: size-capped reads). Everything else in the SDK builds requests
//! and reads answers.

pub mod chain;
pub mod files;

pub use self::chain::{
    call_error, contract, provider, send, signer_from_file, signer_from_hex, transport_error, Gov,
};
