//! The active committee as an application needs it, read from the chain: the group
//! keys, the threshold and, per member, its party index, its Noise static key on record
//! (which the node's handshake must present) and its application endpoint.

use governance_contract::NodePlatform;
use tss::PartyIndex;

use super::error::AppError;
use super::keys::NetworkKeys;
use crate::sdk::error::Result;
use crate::sdk::gov::GovClient;
use crate::sdk::network::NetworkInfo;

/// One committee member as the chain records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its party index (position in the committee + 1).
    pub index: PartyIndex,
    /// Its node id.
    pub node_id: [u8; 32],
    /// Its Noise static public key (X25519) on record.
    pub noise_key: [u8; 32],
    /// Where it serves applications (`HOST:PORT`), if its endpoint names one.
    pub app_addr: Option<String>,
    /// Its platform on record, if this build knows the code.
    pub platform: Option<NodePlatform>,
}

/// The active epoch: its group keys and its members.
#[derive(Debug, Clone)]
pub struct Committee {
    /// Epoch, threshold and group keys.
    pub keys: NetworkKeys,
    /// The members in party order.
    pub members: Vec<Member>,
}

/// The application address of an on-chain endpoint `p2p=HOST:PORT,app=HOST:PORT`.
pub fn app_address(endpoint: &str) -> Option<String> {
    endpoint
        .split(',')
        .find_map(|part| part.trim().strip_prefix("app="))
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
}

impl Committee {
    /// From what [`GovClient::network_info`] read.
    pub fn from_info(info: &NetworkInfo) -> Result<Self> {
        let keys = NetworkKeys::from_epoch(&info.epoch)?;
        let mut members = Vec::with_capacity(info.members.len());
        for (pos, record) in info.members.iter().enumerate() {
            let index = u16::try_from(pos + 1)
                .ok()
                .and_then(PartyIndex::new)
                .ok_or_else(|| {
                    AppError::BadChainRecord(format!(
                        "epoch {}: committee of more than {} members",
                        keys.epoch,
                        u16::MAX
                    ))
                })?;
            members.push(Member {
                index,
                node_id: record.node_id,
                noise_key: record.noise_key,
                app_addr: app_address(&record.endpoint),
                platform: record.platform().ok(),
            });
        }
        Ok(Self { keys, members })
    }

    /// The member with party index `index`.
    pub fn member(&self, index: PartyIndex) -> Option<&Member> {
        self.members.iter().find(|m| m.index == index)
    }
}

impl GovClient {
    /// The active committee with its keys and members, as applications use it
    /// (`no_active_epoch` before genesis).
    pub async fn app_committee(&self) -> Result<Committee> {
        Committee::from_info(&self.network_info().await?)
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn app_address__should_take_the_app_part_only() {
        assert_eq!(
            app_address("p2p=127.0.0.1:1,app=127.0.0.1:2").as_deref(),
            Some("127.0.0.1:2")
        );
        assert_eq!(app_address("app=h:3, p2p=h:4").as_deref(), Some("h:3"));
        assert_eq!(app_address("127.0.0.1:1"), None);
        assert_eq!(app_address("p2p=h:1,app="), None);
    }
}
