#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod bindings;
pub mod errors;
pub mod policy;
pub mod registration;
pub mod release;
#[cfg(feature = "rpc")]
pub mod rpc;
pub mod types;

#[cfg(feature = "dev")]
pub mod anvil;

pub use bindings::Governance;
pub use errors::{decode_contract_error, ContractError, Error};
pub use registration::{Registration, RegistrationRequest};
pub use types::{platform_bit, platforms_from_mask, platforms_mask, vendor_name};
pub use types::{
    AppInfo, EpochInfo, EpochStatus, NetworkPolicy, NodePlatform, NodeRecord, Platform,
    ProposalAction, ProposalInfo, ProposalKind, ProposalState, TeeFamily, Vendor,
};
