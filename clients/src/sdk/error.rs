//! The SDK's one error type. Each variant has a stable snake_case [`Error::kind`], the
//! `kind` of the CLI's `{"error": {"kind", "message"}}` (CLI.md, docs/GOVERNANCE.md
//! "Errors"); the message is one sentence a user can act on and never holds a secret.

use governance_contract::ContractError;

/// A failure of an SDK call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to the SDK is malformed (hex, address, duration, list, range).
    #[error("{0}")]
    BadInput(String),
    /// A timelock outside what the contract accepts (its own kind, checked before sending).
    #[error("{0}")]
    InvalidTimelock(String),
    /// A proposal lifetime outside what the contract accepts.
    #[error("{0}")]
    InvalidLifetime(String),
    /// A transition deadline outside what the contract accepts.
    #[error("{0}")]
    InvalidDeadline(String),
    /// No JSON-RPC endpoint was given.
    #[error("{0}")]
    MissingRpc(String),
    /// No governance contract address was given (or the devnet has none yet).
    #[error("{0}")]
    MissingContract(String),
    /// A transaction needs a signing key and none was given or it cannot be read.
    #[error("{0}")]
    MissingKey(String),
    /// The signing key is not 32 bytes of hex or not a valid secp256k1 key.
    #[error("{0}")]
    BadKey(String),
    /// The JSON-RPC endpoint cannot be reached (connection, TLS, timeout).
    #[error("{0}")]
    RpcUnreachable(String),
    /// The chain answered something unexpected (no receipt, undecodable record, …).
    #[error("{0}")]
    ChainError(String),
    /// A mined transaction reverted without one of the contract's errors.
    #[error("{0}")]
    TxReverted(String),
    /// No contract answers at the given address.
    #[error("{0}")]
    NotAContract(String),
    /// A node registration file cannot be read, parsed or verified.
    #[error("{0}")]
    BadRegistration(String),
    /// A node registration is signed for another operator, chain or contract.
    #[error("{0}")]
    BadNodeSignature(String),
    /// `--devnet DIR` holds no devnet state.
    #[error("{0}")]
    DevnetNotFound(String),
    /// The devnet state file does not parse.
    #[error("{0}")]
    BadDevnet(String),
    /// The devnet has no key for the requested role.
    #[error("{0}")]
    UnknownSigner(String),
    /// A file cannot be read.
    #[error("{0}")]
    Io(String),
    /// The system clock is unusable.
    #[error("{0}")]
    Clock(String),
    /// A local failure that is no fault of the input (e.g. the async runtime).
    #[error("{0}")]
    Internal(String),
    /// An application call failed; the kind is the application SDK's
    /// (`not_enough_nodes`, `unseal_failed`, …, docs/APP.md).
    #[error("{0}")]
    App(#[from] crate::sdk::app::AppError),
    /// A devnet command failed; the kind is the devnet's (`devnet_running`,
    /// `unknown_node`, …, docs/DEVNET.md).
    #[error("{0}")]
    Devnet(#[from] crate::sdk::devnet::DevnetError),
    /// The contract refused the call with one of its custom errors; the kind is the
    /// contract's (`already_voted`, `timelock_pending`, `diversity_violation`, …).
    #[error("{0}")]
    Contract(ContractError),
    /// Evidence verification failed; the kind is attestation-gate's (`expired`, …).
    #[error("{0}")]
    Attestation(#[from] attestation_gate::Error),
}

impl Error {
    /// The stable snake_case kind scripts match on.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadInput(_) => "bad_input",
            Error::InvalidTimelock(_) => "invalid_timelock",
            Error::InvalidLifetime(_) => "invalid_lifetime",
            Error::InvalidDeadline(_) => "invalid_deadline",
            Error::MissingRpc(_) => "missing_rpc",
            Error::MissingContract(_) => "missing_contract",
            Error::MissingKey(_) => "missing_key",
            Error::BadKey(_) => "bad_key",
            Error::RpcUnreachable(_) => "rpc_unreachable",
            Error::ChainError(_) => "chain_error",
            Error::TxReverted(_) => "tx_reverted",
            Error::NotAContract(_) => "not_a_contract",
            Error::BadRegistration(_) => "bad_registration",
            Error::BadNodeSignature(_) => "bad_node_signature",
            Error::DevnetNotFound(_) => "devnet_not_found",
            Error::BadDevnet(_) => "bad_devnet",
            Error::UnknownSigner(_) => "unknown_signer",
            Error::Io(_) => "io",
            Error::Clock(_) => "clock",
            Error::Internal(_) => "internal",
            Error::App(e) => e.kind(),
            Error::Devnet(e) => e.kind(),
            Error::Contract(c) => c.kind(),
            Error::Attestation(e) => e.kind(),
        }
    }
}

/// The SDK's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use governance_contract::bindings::Governance::{AlreadyVoted, GovernanceErrors};

    use super::*;

    /// One value of every variant (the match makes a new variant a compile error here).
    fn every_variant() -> Vec<Error> {
        let s = || "m".to_owned();
        let all = vec![
            Error::BadInput(s()),
            Error::InvalidTimelock(s()),
            Error::InvalidLifetime(s()),
            Error::InvalidDeadline(s()),
            Error::MissingRpc(s()),
            Error::MissingContract(s()),
            Error::MissingKey(s()),
            Error::BadKey(s()),
            Error::RpcUnreachable(s()),
            Error::ChainError(s()),
            Error::TxReverted(s()),
            Error::NotAContract(s()),
            Error::BadRegistration(s()),
            Error::BadNodeSignature(s()),
            Error::DevnetNotFound(s()),
            Error::BadDevnet(s()),
            Error::UnknownSigner(s()),
            Error::Io(s()),
            Error::Clock(s()),
            Error::Internal(s()),
            Error::App(crate::sdk::app::AppError::NotEnoughNodes(s())),
            Error::Devnet(crate::sdk::devnet::DevnetError::UnknownNode(s())),
            Error::Contract(ContractError(GovernanceErrors::AlreadyVoted(
                AlreadyVoted {
                    id: alloy::primitives::U256::from(1),
                    voter: alloy::primitives::Address::ZERO,
                },
            ))),
            Error::Attestation(attestation_gate::Error::UnknownFormat),
        ];
        for e in &all {
            match e {
                Error::BadInput(_)
                | Error::InvalidTimelock(_)
                | Error::InvalidLifetime(_)
                | Error::InvalidDeadline(_)
                | Error::MissingRpc(_)
                | Error::MissingContract(_)
                | Error::MissingKey(_)
                | Error::BadKey(_)
                | Error::RpcUnreachable(_)
                | Error::ChainError(_)
                | Error::TxReverted(_)
                | Error::NotAContract(_)
                | Error::BadRegistration(_)
                | Error::BadNodeSignature(_)
                | Error::DevnetNotFound(_)
                | Error::BadDevnet(_)
                | Error::UnknownSigner(_)
                | Error::Io(_)
                | Error::Clock(_)
                | Error::Internal(_)
                | Error::App(_)
                | Error::Devnet(_)
                | Error::Contract(_)
                | Error::Attestation(_) => {}
            }
        }
        all
    }

    /// The SDK's own kinds are listed in the repo's docs; the contract's and the gate's
    /// (the last two variants) are documented by their crates.
    #[test]
    fn error_kind__should_be_distinct_snake_case_and_documented_for_every_variant() {
        let docs = [
            include_str!("../../../docs/ARCHITECTURE.md"),
            include_str!("../../../docs/GOVERNANCE.md"),
            include_str!("../../../docs/DEVNET.md"),
            include_str!("../../../docs/ATTESTERS.md"),
            include_str!("../../../docs/APP.md"),
        ]
        .concat();
        let all = every_variant();
        let mut kinds: Vec<&str> = all.iter().map(Error::kind).collect();
        for k in &kinds {
            assert!(
                !k.is_empty()
                    && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    && !k.starts_with('_')
                    && !k.ends_with('_'),
                "{k} is not snake_case"
            );
        }
        for k in kinds.iter().take(all.len().saturating_sub(2)) {
            assert!(docs.contains(&format!("`{k}`")), "{k} is not documented");
        }
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len(), "two variants share a kind");
    }

    #[test]
    fn error_kind__should_pass_through_the_contract_and_gate_kinds() {
        let all = every_variant();
        let kinds: Vec<&str> = all.iter().rev().take(2).map(Error::kind).collect();
        assert_eq!(kinds, ["unknown_format", "already_voted"]);
    }
}
