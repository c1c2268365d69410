//! The chain side of `kms gov`: finding the network, loading the signing key, sending
//! transactions and turning failures into CLI error kinds.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::{RpcError, TransportErrorKind};
use governance_contract::{decode_contract_error, Governance};
use rustls_platform_verifier::BuilderVerifierExt;
use zeroize::Zeroizing;

use super::parse;
use crate::cli::CliError;

/// How long to wait for a transaction's receipt.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// The environment variable holding the signing key (hex) when `--key-file` is absent.
pub const KEY_ENV: &str = "KMS_PRIVATE_KEY";

/// A governance contract instance over a provider.
pub type Gov = Governance::GovernanceInstance<DynProvider>;

/// Loads the signing key from `key_file`, else from `KMS_PRIVATE_KEY`. The key is never
/// a command-line argument and never appears in errors.
pub fn signer(key_file: Option<&Path>) -> Result<PrivateKeySigner, CliError> {
    let text: Zeroizing<String> = match key_file {
        Some(path) => Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            CliError::new(
                "missing_key",
                format!("cannot read the key file {}: {e}", path.display()),
            )
        })?),
        None => Zeroizing::new(std::env::var(KEY_ENV).map_err(|_| {
            CliError::new(
                "missing_key",
                format!(
                    "this command signs a transaction: give --key-file FILE or set {KEY_ENV} (hex)"
                ),
            )
        })?),
    };
    let hex = text.trim();
    let bytes = Zeroizing::new(alloy::hex::decode(hex).map_err(|_| {
        CliError::new(
            "bad_key",
            "the signing key is not hex; it must be 32 bytes of hex",
        )
    })?);
    let arr: &[u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| CliError::new("bad_key", "the signing key must be exactly 32 bytes of hex"))?;
    PrivateKeySigner::from_bytes(&(*arr).into())
        .map_err(|_| CliError::new("bad_key", "the signing key is not a valid secp256k1 key"))
}

/// How long to wait for a TCP/TLS connection to the RPC endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one JSON-RPC request may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Connects to `rpc` (read-only when `signer` is `None`): `http://` or `https://`.
///
/// TLS is rustls with the ring provider; server certificates are checked against the
/// system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured). Every request has a
/// connect and a total timeout, so an unreachable endpoint is an error, not a hang.
pub fn provider(rpc: &str, signer: Option<PrivateKeySigner>) -> Result<DynProvider, CliError> {
    let url: reqwest::Url = rpc.parse().map_err(|_| {
        CliError::new(
            "bad_input",
            format!("--rpc {rpc:?} is not a URL (http://host:port or https://host)"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CliError::new(
            "bad_input",
            format!("--rpc {rpc:?}: only http:// and https:// JSON-RPC endpoints are supported"),
        ));
    }
    let client = ClientBuilder::default().http_with_client(http_client(url.scheme())?, url);
    Ok(match signer {
        Some(s) => ProviderBuilder::new()
            .wallet(EthereumWallet::from(s))
            .connect_client(client)
            .erased(),
        None => ProviderBuilder::new().connect_client(client).erased(),
    })
}

/// The HTTP client behind every provider: rustls (ring) with the platform verifier
/// for `https`. reqwest needs a TLS configuration even for plain `http`, and the
/// platform verifier fails on a machine without any CA certificates, so `http` gets an
/// empty trust store (it never makes a TLS connection).
fn http_client(scheme: &str) -> Result<reqwest::Client, CliError> {
    let tls_error = |e: &dyn std::fmt::Display| {
        CliError::new(
            "rpc_unreachable",
            format!("cannot set up TLS for the https JSON-RPC endpoint: {e}"),
        )
    };
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_error(&e))?;
    let builder = if scheme == "https" {
        builder
            .with_platform_verifier()
            .map_err(|e| tls_error(&e))?
    } else {
        builder.with_root_certificates(rustls::RootCertStore::empty())
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(builder.with_no_client_auth())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| tls_error(&e))
}

/// The contract at `address` (from `--contract` or `KMS_CONTRACT`).
pub fn contract(address: Option<&str>, provider: DynProvider) -> Result<Gov, CliError> {
    let a = address.ok_or_else(|| {
        CliError::new(
            "missing_contract",
            "give --contract ADDR or set KMS_CONTRACT",
        )
    })?;
    let a: Address = parse::address("--contract", a)?;
    Ok(Governance::new(a, provider))
}

/// Sends a contract call and waits for a successful receipt.
pub async fn send<P: Provider, D: CallDecoder>(
    call: CallBuilder<P, D>,
) -> Result<TransactionReceipt, CliError> {
    let pending = call.send().await.map_err(call_error)?;
    let receipt = pending
        .with_timeout(Some(RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| {
            CliError::new(
                "chain_error",
                format!("no receipt for the transaction: {e}"),
            )
        })?;
    if !receipt.status() {
        return Err(CliError::new(
            "tx_reverted",
            format!(
                "transaction {} reverted on chain; the state changed since it was checked, retry",
                receipt.transaction_hash
            ),
        ));
    }
    Ok(receipt)
}

/// Maps a contract-call failure to the CLI's error: the contract's own error kind when
/// it reverted with one, else a transport or chain error.
pub fn call_error(e: alloy::contract::Error) -> CliError {
    if let Some(c) = decode_contract_error(&e) {
        return CliError::new(c.kind(), c.message());
    }
    match &e {
        alloy::contract::Error::TransportError(t) => transport_error(t),
        alloy::contract::Error::ZeroData(..) => CliError::new(
            "not_a_contract",
            "no governance contract answers at that address; check --contract",
        ),
        _ => CliError::new("chain_error", e.to_string()),
    }
}

/// Maps an RPC failure to `rpc_unreachable` or `chain_error`.
pub fn transport_error(t: &RpcError<TransportErrorKind>) -> CliError {
    match t {
        RpcError::Transport(k) => CliError::new(
            "rpc_unreachable",
            format!(
                "cannot reach the JSON-RPC endpoint: {}; check --rpc",
                error_chain(k)
            ),
        ),
        other => CliError::new("chain_error", other.to_string()),
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
