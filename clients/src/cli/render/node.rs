//! `kms node …` results.

use clients::sdk::node::RegisteredNode;
use serde_json::json;

use super::{hex, Output};

/// `kms node register`.
pub fn registered(n: &RegisteredNode) -> Output {
    let p = n.platform;
    Output::new(
        json!({ "node_id": hex(n.node_id), "operator": hex(n.operator), "signer": hex(n.signer),
                "vendor": governance_contract::vendor_name(&p.vendor()),
                "platform": p.platform().to_string(),
                "node_platform": p.to_string(),
                "tee_family": p.family().to_string(),
                "endpoint": n.endpoint, "gas_used": n.gas_used }),
        format!("node_id  {}", hex(n.node_id)),
    )
}

/// `kms node set-endpoint`.
pub fn endpoint_set(node_id: &[u8; 32], endpoint: &str, gas_used: u64) -> Output {
    Output::new(
        json!({ "node_id": hex(node_id), "endpoint": endpoint, "gas_used": gas_used }),
        format!("node {} now at {endpoint}", hex(node_id)),
    )
}

/// `kms node deregister`.
pub fn deregistered(node_id: &[u8; 32], gas_used: u64) -> Output {
    Output::new(
        json!({ "node_id": hex(node_id), "deregistered": true, "gas_used": gas_used }),
        format!("deregistered node {}", hex(node_id)),
    )
}
