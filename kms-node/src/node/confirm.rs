//! The node's transactions, signed by its enclave-held signer: `confirm(epoch,
//! transcript, PK, P)` after a DKG or reshare (DESIGN §7), and `activate` once a
//! transition's deadline has passed with enough matching confirmations.

use std::future::Future;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, FixedBytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use governance_contract::{decode_contract_error, Governance};

use crate::config::ContractAddress;

/// How long a transaction may wait for its receipt.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Capability: post this node's confirmation of an epoch (STYLE §4).
pub trait ConfirmEpoch: Send + Sync {
    /// Confirms `epoch` with these values. A confirmation already on chain counts as
    /// done.
    fn confirm(
        &self,
        epoch: u64,
        transcript_hash: [u8; 32],
        bls_group_pk: [u8; 48],
        secp_group_pk: [u8; 33],
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// The chain id (the registration is signed over it).
    fn chain_id(&self) -> impl Future<Output = Result<u64, String>> + Send;

    /// Activates `epoch` with these values after its deadline, when at least
    /// `min(n, 2t - 1)` members confirmed them (DESIGN §6; anyone may call it).
    fn activate(
        &self,
        epoch: u64,
        transcript_hash: [u8; 32],
        bls_group_pk: [u8; 48],
        secp_group_pk: [u8; 33],
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// [`ConfirmEpoch`] over JSON-RPC.
pub struct RpcConfirm {
    provider: DynProvider,
    gov: Governance::GovernanceInstance<DynProvider>,
}

impl RpcConfirm {
    /// Connects to `url` (lazily) with `signer` paying and signing.
    pub fn connect(
        url: &str,
        contract: ContractAddress,
        signer: PrivateKeySigner,
    ) -> Result<Self, String> {
        let client = governance_contract::rpc::connect(url).map_err(|e| e.to_string())?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_client(client)
            .erased();
        Ok(Self {
            gov: Governance::new(Address::from(contract.0), provider.clone()),
            provider,
        })
    }
}

/// Sends `call` and waits for its receipt; the contract error `done_kind` means the
/// effect is already there.
async fn send<D: alloy::contract::CallDecoder>(
    call: alloy::contract::CallBuilder<&DynProvider, D>,
    what: &str,
    done_kind: &str,
) -> Result<(), String> {
    let pending = match call.send().await {
        Ok(p) => p,
        Err(e) => {
            return match decode_contract_error(&e) {
                Some(c) if c.kind() == done_kind => Ok(()),
                Some(c) => Err(format!("{what} refused: {c}")),
                None => Err(format!("{what}: {e}")),
            }
        }
    };
    let receipt = pending
        .with_timeout(Some(RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| format!("{what}: no receipt: {e}"))?;
    if receipt.status() {
        Ok(())
    } else {
        Err(format!(
            "{what} transaction {} reverted",
            receipt.transaction_hash
        ))
    }
}

impl ConfirmEpoch for RpcConfirm {
    async fn confirm(
        &self,
        epoch: u64,
        transcript_hash: [u8; 32],
        bls_group_pk: [u8; 48],
        secp_group_pk: [u8; 33],
    ) -> Result<(), String> {
        let call = self.gov.confirm(
            epoch,
            FixedBytes(transcript_hash),
            Bytes::copy_from_slice(&bls_group_pk),
            Bytes::copy_from_slice(&secp_group_pk),
        );
        send(call, "confirm", "already_confirmed").await
    }

    async fn activate(
        &self,
        epoch: u64,
        transcript_hash: [u8; 32],
        bls_group_pk: [u8; 48],
        secp_group_pk: [u8; 33],
    ) -> Result<(), String> {
        let call = self.gov.activate(
            epoch,
            FixedBytes(transcript_hash),
            Bytes::copy_from_slice(&bls_group_pk),
            Bytes::copy_from_slice(&secp_group_pk),
        );
        // Another member's activate may have landed first.
        send(call, "activate", "wrong_epoch").await
    }

    async fn chain_id(&self) -> Result<u64, String> {
        self.provider
            .get_chain_id()
            .await
            .map_err(|e| format!("chain id: {e}"))
    }
}
