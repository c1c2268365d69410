//! The network as the chain records it: the active epoch with its members' records,
//! and the attestation policy nodes enforce.

use attestation_gate::Policy;
use governance_contract::{EpochInfo, NodeRecord};

use futures::{StreamExt as _, TryStreamExt as _};

use super::error::Result;
use super::gov::GovClient;
use super::transport::call_error;

/// Member record calls in flight at once while reading the committee.
const RECORD_CALLS: usize = 16;

/// The active epoch and its committee.
#[derive(Debug, Clone)]
pub struct NetworkInfo {
    /// The active (or last) epoch.
    pub epoch: EpochInfo,
    /// The record of each committee member, in committee order.
    pub members: Vec<NodeRecord>,
}

impl GovClient {
    /// The active epoch and its members' records.
    pub async fn network_info(&self) -> Result<NetworkInfo> {
        let epoch = self.active_committee().await?;
        // The member records are independent calls: sent together (at most
        // `RECORD_CALLS` at a time, for RPC providers that limit a client), in order.
        let members: Vec<NodeRecord> = futures::stream::iter(epoch.committee.iter())
            .map(|id| async move {
                let n = self
                    .gov
                    .node((*id).into())
                    .call()
                    .await
                    .map_err(call_error)?;
                Ok::<_, super::error::Error>(NodeRecord::from(n))
            })
            .buffered(RECORD_CALLS)
            .try_collect()
            .await?;
        Ok(NetworkInfo { epoch, members })
    }

    /// The network-wide attestation policy, converted as nodes convert it (so what is
    /// shown is what nodes enforce); no approved measurements.
    pub async fn attestation_policy(&self) -> Result<Policy> {
        let chain = self.network_policy().await?;
        Ok(governance_contract::policy::attestation_policy(&chain, []))
    }
}
