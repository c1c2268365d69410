//! A node's operator endpoint: `GET URL/status` (docs/OPERATOR.md), as `kms node status`
//! and the devnet read it. Plain http only: the endpoint listens on loopback (or a
//! private address) and carries no secret.

use std::time::Duration;

use serde_json::Value;

use super::error::DevnetError;
use crate::sdk::error::Result;

/// The default bound on one status request.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest status document read.
const MAX_STATUS: usize = 1 << 20;

/// What `/status` says, with the fields this SDK relies on typed and the whole
/// document kept (`raw`) for display.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    /// The node's id, hex.
    pub node_id: String,
    /// Whether it answers applications now.
    pub serving: bool,
    /// Why it does not, when it does not.
    pub not_serving_reason: Option<String>,
    /// Whether it runs a simulated enclave (no security).
    pub simulated: bool,
    /// The active epoch's number, if any.
    pub epoch: Option<u64>,
    /// The pending epoch's number and this node's state in it, if any.
    pub pending: Option<(u64, Option<String>)>,
    /// How many peers it lists.
    pub peers: usize,
    /// The whole document.
    pub raw: Value,
}

impl NodeStatus {
    /// Reads a `/status` document (`bad_node_status` when a required field is missing).
    pub fn from_json(raw: Value) -> Result<Self> {
        let bad = |what: &str| -> crate::Error {
            DevnetError::BadNodeStatus(format!("the node's /status has no {what}")).into()
        };
        let node_id = raw["node_id"]
            .as_str()
            .ok_or_else(|| bad("node_id"))?
            .to_owned();
        let serving = raw["serving"].as_bool().ok_or_else(|| bad("serving"))?;
        let simulated = raw["simulated"].as_bool().ok_or_else(|| bad("simulated"))?;
        let number = |v: &Value, what: &str| -> Result<Option<u64>> {
            match v {
                Value::Null => Ok(None),
                v => v["number"].as_u64().map(Some).ok_or_else(|| bad(what)),
            }
        };
        let epoch = number(&raw["epoch"], "epoch number")?;
        let pending = number(&raw["pending"], "pending epoch number")?
            .map(|n| (n, raw["pending"]["state"].as_str().map(str::to_owned)));
        let peers = raw["peers"].as_array().ok_or_else(|| bad("peers"))?.len();
        Ok(Self {
            node_id,
            serving,
            not_serving_reason: raw["not_serving_reason"].as_str().map(str::to_owned),
            simulated,
            epoch,
            pending,
            peers,
            raw,
        })
    }
}

/// The status URL of the operator endpoint `base` (`http://host:port`, or `host:port`).
pub fn status_url(base: &str) -> Result<String> {
    let base = base.trim().trim_end_matches('/');
    if base.starts_with("https://") {
        return Err(DevnetError::NodeUnreachable(format!(
            "{base}: the operator endpoint speaks plain http (it listens on a private address); give http://HOST:PORT"
        ))
        .into());
    }
    let base = if base.starts_with("http://") {
        base.to_owned()
    } else {
        format!("http://{base}")
    };
    Ok(format!("{base}/status"))
}

/// `GET base/status`, bounded by `timeout`.
pub async fn fetch_status(base: &str, timeout: Duration) -> Result<NodeStatus> {
    let url = status_url(base)?;
    let unreachable = |e: reqwest::Error| -> crate::Error {
        DevnetError::NodeUnreachable(format!(
            "cannot read {url}: {e}; is the node running (`kms devnet status`)?"
        ))
        .into()
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(unreachable)?;
    let mut resp = client.get(&url).send().await.map_err(unreachable)?;
    let status = resp.status();
    // Read chunk by chunk up to the bound: an endpoint that streams without end is
    // refused after MAX_STATUS bytes, not buffered until the timeout.
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
        if body.len().saturating_add(chunk.len()) > MAX_STATUS {
            return Err(DevnetError::BadNodeStatus(format!(
                "{url} answered more than {MAX_STATUS} bytes"
            ))
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        return Err(DevnetError::BadNodeStatus(format!("{url} answered {status}")).into());
    }
    let raw: Value = serde_json::from_slice(&body).map_err(|e| {
        crate::Error::from(DevnetError::BadNodeStatus(format!(
            "{url} did not answer JSON: {e}"
        )))
    })?;
    NodeStatus::from_json(raw)
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Serves one request on 127.0.0.1 with `head` and then `body_len` bytes of JSON
    /// whitespace (`None`: without end, until the client hangs up); returns the
    /// endpoint.
    async fn one_answer(head: &'static str, body_len: Option<usize>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let mut request = [0u8; 1024];
            let _ = conn.read(&mut request).await;
            let _ = conn.write_all(head.as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            let mut left = body_len.unwrap_or(usize::MAX);
            while left > 0 {
                let n = left.min(chunk.len());
                if conn.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                if body_len.is_some() {
                    left -= n;
                }
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn fetch_status__should_refuse_an_answer_over_the_bound_before_it_ends() {
        // A body without end: refused at the bound, long before the timeout (buffering
        // the whole body first ended in the timeout, as `node_unreachable`).
        let url = one_answer("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", None).await;
        let err = fetch_status(&url, Duration::from_secs(20))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "bad_node_status", "{err}");
        assert!(err.to_string().contains("more than"), "{err}");
        // Under the bound: read whole, then judged as JSON (whitespace is not a document).
        let url = one_answer(
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            Some(1000),
        )
        .await;
        let err = fetch_status(&url, Duration::from_secs(20))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did not answer JSON"), "{err}");
    }

    #[test]
    fn node_status__should_read_the_contract_fields_and_refuse_a_document_without_them() {
        let raw = json!({"node_id": "ab", "simulated": true, "warning": "SIMULATED ENCLAVE: NO SECURITY",
            "serving": false, "not_serving_reason": "starting", "epoch": null,
            "pending": {"number": 1, "state": "running_dkg"}, "peers": [{}, {}]});
        let s = NodeStatus::from_json(raw.clone()).unwrap();
        assert_eq!(
            (s.node_id.as_str(), s.serving, s.simulated, s.epoch, s.peers),
            ("ab", false, true, None, 2)
        );
        assert_eq!(s.pending, Some((1, Some("running_dkg".into()))));
        let mut no_serving = raw.clone();
        no_serving.as_object_mut().unwrap().remove("serving");
        assert_eq!(
            NodeStatus::from_json(no_serving).unwrap_err().kind(),
            "bad_node_status"
        );
        let mut bad_epoch = raw;
        bad_epoch["epoch"] = json!({"n": 1});
        assert!(NodeStatus::from_json(bad_epoch).is_err());
    }

    #[test]
    fn status_url__should_default_to_http_and_refuse_https() {
        assert_eq!(
            status_url("127.0.0.1:7300").unwrap(),
            "http://127.0.0.1:7300/status"
        );
        assert_eq!(
            status_url("http://127.0.0.1:7300/").unwrap(),
            "http://127.0.0.1:7300/status"
        );
        assert_eq!(
            status_url("https://x").unwrap_err().kind(),
            "node_unreachable"
        );
    }
}
