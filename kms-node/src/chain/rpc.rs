//! [`ReadGovernance`] over JSON-RPC: the contract's bindings
//! ([`governance_contract::Governance`]) on the shared transport
//! ([`governance_contract::rpc`]), every call pinned with `.block(..)`.

use std::collections::BTreeMap;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::eips::BlockId;
use alloy::primitives::{Address, FixedBytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolEvent, SolEventInterface};
use governance_contract::policy::OnChainPolicy;
use governance_contract::{EpochInfo, Governance, NodeRecord};

use super::{
    AppApproval, BlockRef, ChainEvent, Error, GovernanceView, NodeId, NodeInfo, ReadGovernance,
};
use crate::config::ContractAddress;

/// The governance contract at `address` through the endpoint `url`.
#[derive(Clone)]
pub struct RpcGovernance {
    gov: Governance::GovernanceInstance<DynProvider>,
}

impl RpcGovernance {
    /// Connects (lazily: nothing is sent yet) to `url`, an `http://` or `https://`
    /// endpoint.
    pub fn connect(url: &str, contract: ContractAddress) -> Result<Self, Error> {
        let client = governance_contract::rpc::connect(url).map_err(|e| Error::Endpoint {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let provider = ProviderBuilder::new().connect_client(client).erased();
        Ok(Self {
            gov: Governance::new(Address::from(contract.0), provider),
        })
    }
}

/// Sends `call` pinned to block `n`.
async fn at<D: CallDecoder>(
    call: CallBuilder<&DynProvider, D>,
    name: &'static str,
    n: u64,
) -> Result<D::CallOutput, Error> {
    call.block(BlockId::number(n))
        .call()
        .await
        .map_err(|e| match e {
            alloy::contract::Error::TransportError(t) => Error::Rpc(t.to_string()),
            other => Error::Call {
                call: name,
                reason: other.to_string(),
            },
        })
}

fn decode(what: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Decode {
        what,
        reason: e.to_string(),
    }
}

impl RpcGovernance {
    async fn epoch(&self, number: u64, n: u64) -> Result<Option<EpochInfo>, Error> {
        if number == 0 {
            return Ok(None);
        }
        let raw = at(self.gov.epoch(number), "epoch", n).await?;
        EpochInfo::try_from(raw)
            .map(Some)
            .map_err(|e| decode("epoch", e))
    }

    /// The state at block `n`; members' records from `known` where it has them.
    async fn read(
        &self,
        n: u64,
        known: Option<&BTreeMap<NodeId, NodeInfo>>,
    ) -> Result<GovernanceView, Error> {
        let block = self.block(n).await?;
        let active_number = at(self.gov.activeEpoch(), "activeEpoch", n).await?;
        let pending_number = at(self.gov.pendingEpoch(), "pendingEpoch", n).await?;
        let active = self.epoch(active_number, n).await?;
        let pending = self.epoch(pending_number, n).await?;
        let mut ids: Vec<NodeId> = active
            .iter()
            .chain(pending.iter())
            .flat_map(|e| e.committee.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut nodes = BTreeMap::new();
        for id in ids {
            let info = match known.and_then(|k| k.get(&id)) {
                Some(info) => info.clone(),
                None => NodeInfo::try_from(self.node(id, n).await?)?,
            };
            nodes.insert(id, info);
        }
        let node_app_id = at(self.gov.nodeAppId(), "nodeAppId", n).await?;
        let app = at(self.gov.app(node_app_id), "app", n).await?;
        let policy = at(self.gov.networkPolicy(), "networkPolicy", n).await?;
        let policy = OnChainPolicy::try_from(policy).map_err(|e| decode("network policy", e))?;
        GovernanceView::with_nodes(
            block,
            active,
            pending,
            nodes,
            node_app_id.0,
            app.measurements.into_iter().map(|m| m.0),
            policy,
        )
    }

    async fn node(&self, id: NodeId, n: u64) -> Result<NodeRecord, Error> {
        let raw = at(self.gov.node(FixedBytes::from(id)), "node", n).await?;
        if raw.signer == Address::ZERO {
            return Err(Error::UnknownMember(id));
        }
        Ok(NodeRecord::from(raw))
    }
}

impl ReadGovernance for RpcGovernance {
    async fn head(&self) -> Result<u64, Error> {
        self.gov
            .provider()
            .get_block_number()
            .await
            .map_err(|e| Error::Rpc(e.to_string()))
    }

    async fn block(&self, n: u64) -> Result<BlockRef, Error> {
        let block = self
            .gov
            .provider()
            .get_block_by_number(n.into())
            .await
            .map_err(|e| Error::Rpc(e.to_string()))?
            .ok_or(Error::MissingBlock(n))?;
        Ok(BlockRef {
            number: n,
            timestamp: block.header.timestamp,
        })
    }

    async fn events(&self, from: u64, to: u64) -> Result<Vec<ChainEvent>, Error> {
        let filter = Filter::new()
            .address(*self.gov.address())
            .from_block(from)
            .to_block(to);
        let logs = self
            .gov
            .provider()
            .get_logs(&filter)
            .await
            .map_err(|e| Error::Rpc(e.to_string()))?;
        Ok(logs
            .into_iter()
            .map(|log| {
                use Governance::GovernanceEvents as E;
                let decoded = E::decode_log(&log.inner);
                ChainEvent {
                    block: log.block_number.unwrap_or(to),
                    changes_nodes: decoded.as_ref().map_or(true, |e| {
                        matches!(
                            e.data,
                            E::NodeRegistered(_)
                                | E::NodeDeregistered(_)
                                | E::NodeEndpointChanged(_)
                        )
                    }),
                    summary: match decoded {
                        Ok(e) => format!("{:?}", e.data),
                        Err(_) => format!(
                            "unknown event {}",
                            log.topic0().map(|t| t.to_string()).unwrap_or_default()
                        ),
                    },
                }
            })
            .collect())
    }

    async fn read_at(&self, n: u64) -> Result<GovernanceView, Error> {
        self.read(n, None).await
    }

    async fn read_at_known(
        &self,
        n: u64,
        known: &BTreeMap<NodeId, NodeInfo>,
    ) -> Result<GovernanceView, Error> {
        self.read(n, Some(known)).await
    }

    async fn is_approved(
        &self,
        n: u64,
        app_id: [u8; 32],
        measurement: [u8; 32],
    ) -> Result<bool, Error> {
        at(
            self.gov
                .isApproved(FixedBytes::from(app_id), FixedBytes::from(measurement)),
            "isApproved",
            n,
        )
        .await
    }

    async fn app_approval(
        &self,
        n: u64,
        app_id: [u8; 32],
        measurement: [u8; 32],
    ) -> Result<AppApproval, Error> {
        if self.is_approved(n, app_id, measurement).await? {
            return Ok(AppApproval::Approved);
        }
        let app = self
            .gov
            .app(FixedBytes::from(app_id))
            .block(BlockId::number(n))
            .call()
            .await;
        if let Err(e) = app {
            let unknown = governance_contract::decode_contract_error(&e)
                .is_some_and(|c| matches!(c.0, Governance::GovernanceErrors::UnknownApp(_)));
            if unknown {
                return Ok(AppApproval::UnknownApp);
            }
            return Err(match e {
                alloy::contract::Error::TransportError(t) => Error::Rpc(t.to_string()),
                other => Error::Call {
                    call: "app",
                    reason: other.to_string(),
                },
            });
        }
        let filter = Filter::new()
            .address(*self.gov.address())
            .event_signature(Governance::MeasurementRevoked::SIGNATURE_HASH)
            .topic1(FixedBytes::from(app_id))
            .topic2(FixedBytes::from(measurement))
            .from_block(0)
            .to_block(n);
        let logs = self
            .gov
            .provider()
            .get_logs(&filter)
            .await
            .map_err(|e| Error::Rpc(e.to_string()))?;
        Ok(if logs.is_empty() {
            AppApproval::NotApproved
        } else {
            AppApproval::Revoked
        })
    }
}
