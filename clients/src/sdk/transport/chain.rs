//! The chain: loading the signing key, connecting to the JSON-RPC endpoint
//! ([`governance_contract::rpc`]), sending transactions and turning failures into
//! [`Error`]s.

use std::path::Path;
use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::{RpcError, TransportErrorKind};
use governance_contract::rpc::RpcSetupError;
use governance_contract::{decode_contract_error, Governance};
use zeroize::Zeroizing;

use super::files;
use crate::sdk::error::{Error, Result};

/// How long to wait for a transaction's receipt.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// A governance contract instance over a provider.
pub type Gov = Governance::GovernanceInstance<DynProvider>;

/// Loads the signing key from the file at `path` (hex, surrounding whitespace ignored).
/// The key never appears in errors.
pub fn signer_from_file(path: &Path) -> Result<PrivateKeySigner> {
    let text = Zeroizing::new(files::read_text(path).map_err(|e| {
        Error::MissingKey(format!("cannot read the key file {}: {e}", path.display()))
    })?);
    signer_from_hex(&text)
}

/// The signing key of 32 bytes of hex (with or without `0x`, surrounding whitespace
/// ignored). The key never appears in errors.
pub fn signer_from_hex(text: &str) -> Result<PrivateKeySigner> {
    let bytes = Zeroizing::new(alloy::hex::decode(text.trim()).map_err(|_| {
        Error::BadKey("the signing key is not hex; it must be 32 bytes of hex".into())
    })?);
    let arr: &[u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::BadKey("the signing key must be exactly 32 bytes of hex".into()))?;
    PrivateKeySigner::from_bytes(&(*arr).into())
        .map_err(|_| Error::BadKey("the signing key is not a valid secp256k1 key".into()))
}

/// Connects to `rpc` (read-only when `signer` is `None`): `http://` or `https://`
/// through [`governance_contract::rpc`] (rustls with system roots, timeouts).
pub fn provider(rpc: &str, signer: Option<PrivateKeySigner>) -> Result<DynProvider> {
    let client = governance_contract::rpc::connect(rpc).map_err(|e| match e {
        RpcSetupError::BadUrl(_) => Error::BadInput(format!(
            "--rpc {rpc:?} is not a URL (http://host:port or https://host)"
        )),
        RpcSetupError::Tls { .. } => Error::RpcUnreachable(e.to_string()),
    })?;
    Ok(match signer {
        Some(s) => ProviderBuilder::new()
            .wallet(EthereumWallet::from(s))
            .connect_client(client)
            .erased(),
        None => ProviderBuilder::new().connect_client(client).erased(),
    })
}

/// The contract at `address`.
pub fn contract(address: Address, provider: DynProvider) -> Gov {
    Governance::new(address, provider)
}

/// Sends a contract call and waits for a successful receipt.
pub async fn send<P: Provider, D: CallDecoder>(
    call: CallBuilder<P, D>,
) -> Result<TransactionReceipt> {
    let pending = call.send().await.map_err(call_error)?;
    let receipt = pending
        .with_timeout(Some(RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| Error::ChainError(format!("no receipt for the transaction: {e}")))?;
    if !receipt.status() {
        return Err(Error::TxReverted(format!(
            "transaction {} reverted on chain; the state changed since it was checked, retry",
            receipt.transaction_hash
        )));
    }
    Ok(receipt)
}

/// Maps a contract-call failure to the CLI's error: the contract's own error kind when
/// it reverted with one, else a transport or chain error.
pub fn call_error(e: alloy::contract::Error) -> Error {
    if let Some(c) = decode_contract_error(&e) {
        return Error::Contract(c);
    }
    match &e {
        alloy::contract::Error::TransportError(t) => transport_error(t),
        alloy::contract::Error::ZeroData(..) => Error::NotAContract(
            "no governance contract answers at that address; check --contract".into(),
        ),
        _ => Error::ChainError(e.to_string()),
    }
}

/// Maps an RPC failure to `rpc_unreachable` or `chain_error`.
pub fn transport_error(t: &RpcError<TransportErrorKind>) -> Error {
    match t {
        RpcError::Transport(k) => Error::RpcUnreachable(format!(
            "cannot reach the JSON-RPC endpoint: {}; check --rpc",
            error_chain(k)
        )),
        other => Error::ChainError(other.to_string()),
    }
}

/// `e` and its sources, joined by ": " (a TLS failure is several levels down in
/// reqwest's error, e.g. "invalid peer certificate: UnknownIssuer").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn signer_from_hex__should_accept_a_key_with_or_without_prefix_and_name_bad_ones() {
        let k = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let a = signer_from_hex(k).unwrap().address();
        assert_eq!(signer_from_hex(&format!(" 0x{k}\n")).unwrap().address(), a);
        for bad in ["zz", "abcd", &"00".repeat(32)] {
            let e = signer_from_hex(bad).unwrap_err();
            assert_eq!(e.kind(), "bad_key", "{bad}");
            assert!(!e.to_string().contains(bad) || bad.len() < 8, "{e}");
        }
    }
}
