//! The node registry: register a node from the registration file kms-node wrote, change
//! its endpoint, deregister it (CLI.md "Operators").

use std::path::Path;

use alloy::primitives::{Address, Bytes, FixedBytes};
use alloy::providers::Provider;
use governance_contract::{NodePlatform, Registration};

use super::error::{Error, Result};
use super::gov::GovClient;
use super::transport::{self, files};

/// A registered node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredNode {
    /// Its id.
    pub node_id: [u8; 32],
    /// The operator account that registered (and pays for) it.
    pub operator: Address,
    /// The node's enclave-held signer.
    pub signer: Address,
    /// Its platform (vendor and TEE family follow from it).
    pub platform: NodePlatform,
    /// Where it listens.
    pub endpoint: String,
    /// Gas the transaction used.
    pub gas_used: u64,
}

/// Reads and verifies the registration file at `path` (docs/GOVERNANCE.md, "Node
/// registration").
pub fn load_registration(path: &Path) -> Result<Registration> {
    let text = files::read_text(path).map_err(|e| {
        Error::BadRegistration(format!(
            "cannot read the registration file {}: {e}",
            path.display()
        ))
    })?;
    let bad =
        |e: governance_contract::Error| Error::BadRegistration(format!("{}: {e}", path.display()));
    let reg = Registration::from_json(&text).map_err(bad)?;
    reg.verify().map_err(bad)?;
    Ok(reg)
}

impl GovClient {
    /// Registers the node of `reg` at `endpoint`, operated by the signing account. A
    /// registration signed for another operator, chain or contract is refused before
    /// sending ([`Error::BadNodeSignature`]; the contract would refuse it too).
    pub async fn register_node(
        &self,
        reg: &Registration,
        endpoint: &str,
    ) -> Result<RegisteredNode> {
        let operator = self.account()?;
        let chain_id = self
            .gov
            .provider()
            .get_chain_id()
            .await
            .map_err(|e| transport::transport_error(&e))?;
        let r = &reg.request;
        let contract = *self.gov.address();
        if r.operator != operator || r.chain_id != chain_id || r.contract != contract {
            return Err(Error::BadNodeSignature(format!(
                "the registration is signed for operator {}, chain {}, contract {}, but this is operator {operator}, chain {chain_id}, contract {contract}; have the node write it again",
                r.operator, r.chain_id, r.contract
            )));
        }
        let receipt = transport::send(self.gov.registerNode(
            Bytes::from(r.p2p_key.clone()),
            FixedBytes::from(r.noise_key),
            r.platform.code(),
            reg.signer,
            endpoint.to_owned(),
            Bytes::from(reg.signature.to_vec()),
        ))
        .await?;
        Ok(RegisteredNode {
            node_id: reg.node_id(),
            operator,
            signer: reg.signer,
            platform: r.platform,
            endpoint: endpoint.to_owned(),
            gas_used: receipt.gas_used,
        })
    }

    /// Moves node `node_id` to `endpoint` (its operator only); the gas used.
    pub async fn set_endpoint(&self, node_id: [u8; 32], endpoint: &str) -> Result<u64> {
        let receipt = transport::send(
            self.signing()?
                .setEndpoint(node_id.into(), endpoint.to_owned()),
        )
        .await?;
        Ok(receipt.gas_used)
    }

    /// Removes node `node_id`'s record (its operator only); the gas used.
    pub async fn deregister(&self, node_id: [u8; 32]) -> Result<u64> {
        let receipt = transport::send(self.signing()?.deregister(node_id.into())).await?;
        Ok(receipt.gas_used)
    }
}
