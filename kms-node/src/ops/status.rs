//! The `/status` document: what the node is doing, as one JSON object.
//!
//! The field names are a contract: `kms node status --json` and the devnet read them.
//! Fields may be added; none is renamed or removed. Every byte string (node ids, group
//! public keys) is lowercase hex without `0x`; the node fills them, this module does
//! not re-encode them.
//!
//! # Security
//!
//! A `Status` holds no secret and must never be given one: node ids, group *public*
//! keys, committee lists, counters, durations and human-readable reasons only. The
//! operator endpoint has no authentication (it listens on `node.operator_listen`,
//! loopback by default), so everything here is assumed to be readable by anyone who
//! can reach that port. Reasons and errors are built by the node from typed errors
//! whose `Display` never includes secret material (STYLE §6).

use serde::{Serialize, Serializer};

/// The banner printed next to `"simulated": true` in every status output (STYLE §7).
pub const SIMULATED_WARNING: &str = "SIMULATED ENCLAVE: NO SECURITY";

/// The `/status` document.
///
/// Serialized as one JSON object with the fields below in order; when
/// [`simulated`](Self::simulated) is true a `"warning"` key holding
/// [`SIMULATED_WARNING`] follows it.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Status {
    /// This node's id (the hex of its p2p public key), lowercase, no `0x`.
    pub node_id: String,
    /// The node runs with simulated attestation (`attestation.attester =
    /// "simulated"`): it gives no security. When true the document also carries
    /// `"warning": "SIMULATED ENCLAVE: NO SECURITY"`.
    #[serde(flatten, serialize_with = "simulated_fields")]
    pub simulated: bool,
    /// The `kms-node` version ([`Status::new`] fills it from the crate version).
    pub version: String,
    /// The node answers applications now (fresh chain view, member of the active epoch,
    /// its share loaded). `/health` answers 200 exactly when this is true.
    pub serving: bool,
    /// Why the node is not serving, for a human (e.g. `finalized head is 130 s old
    /// (bound 60 s)`, `not a member of epoch 3`). `None` while serving.
    pub not_serving_reason: Option<String>,
    /// The chain view.
    pub chain: ChainStatus,
    /// The active epoch, `None` before the genesis DKG completed or before the first
    /// chain view.
    pub epoch: Option<EpochStatus>,
    /// The next epoch while a transition is on its way, `None` otherwise.
    pub pending: Option<PendingStatus>,
    /// The peers of the current and next committee, one entry each.
    pub peers: Vec<PeerStatus>,
    /// The last protocol run this node took part in (DKG, reshare, repair).
    pub last_run: Option<RunStatus>,
    /// The p2p layer's totals since start: payloads delivered, sent (acknowledged) and
    /// in how many batches, dropped or failed, connections denied.
    pub net: crate::net::Counters,
}

impl Status {
    /// A status for a node that has just started: not serving (`"starting"`), with
    /// this crate's version.
    pub fn new(node_id: impl Into<String>, simulated: bool) -> Self {
        Self {
            node_id: node_id.into(),
            simulated,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            serving: false,
            not_serving_reason: Some("starting".to_owned()),
            ..Self::default()
        }
    }
}

/// The chain view as the node last read it.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct ChainStatus {
    /// The block the governance state was read at (`head - confirmation_depth`), `None`
    /// before the first successful read.
    pub block: Option<u64>,
    /// Seconds between that block's timestamp and now, `None` without a view.
    pub head_age_secs: Option<u64>,
    /// The view is older than `chain.max_head_age` (or there is none): no key is
    /// released (DESIGN §2).
    pub stale: bool,
    /// The last poll's error, `None` when it succeeded.
    pub error: Option<String>,
}

/// The active epoch.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct EpochStatus {
    /// The epoch number.
    pub number: u64,
    /// Shares needed to answer (t of n).
    pub threshold: u16,
    /// The members' node ids in party order (party index `i` is entry `i - 1`), hex.
    pub committee: Vec<String>,
    /// This node's party index in the committee, `None` when it is not a member.
    pub own_index: Option<u16>,
    /// The epoch's BLS12-381 group public key (compressed G1), hex.
    pub bls_group_pk: String,
    /// The epoch's secp256k1 group public key (compressed SEC1), hex.
    pub secp_group_pk: String,
}

/// The next epoch, while the transition to it runs.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct PendingStatus {
    /// The epoch number.
    pub number: u64,
    /// Its threshold.
    pub threshold: u16,
    /// Its members' node ids in party order, hex.
    pub committee: Vec<String>,
    /// This node's party index in it, `None` when it is not a member.
    pub own_index: Option<u16>,
    /// Where this node is in the transition: `"waiting"` (for the chain or the
    /// peers), `"running_dkg"` (a DKG or reshare run is on), `"confirmed"` (this
    /// node confirmed on chain, the epoch is not active yet) or `"failed"` (the run
    /// was given up after `protocol.max_attempts`).
    pub state: String,
}

/// One peer of the current or next committee.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct PeerStatus {
    /// The peer's node id, hex.
    pub node_id: String,
    /// A connection to it is open now.
    pub connected: bool,
    /// Its evidence was accepted: messages from it reach the protocols.
    pub admitted: bool,
    /// The admission gate's last verdict, for a human (`"admitted"`, or why it was
    /// refused); `None` before any.
    pub verdict: Option<String>,
    /// When this node last heard from it, Unix seconds; `None` if never.
    pub last_contact_unix: Option<u64>,
}

/// The last protocol run.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct RunStatus {
    /// `"dkg"`, `"reshare"` or `"repair"`.
    pub kind: String,
    /// The epoch the run produces shares for.
    pub epoch: u64,
    /// Attempts made (each under a fresh run id).
    pub attempts: u32,
    /// Wall-clock time of the whole run, all attempts, in milliseconds.
    pub duration_ms: u64,
    /// The protocol alone (DKG or reshare, both suites, all attempts; no chain read
    /// or confirmation): wall-clock milliseconds, `None` when this run did not run it
    /// (a restart that found its shares stored, a failure, a repair).
    pub protocol_ms: Option<u64>,
    /// The process CPU time (all threads, user and system) over the same window, in
    /// milliseconds: everything the node did meanwhile, its p2p traffic and
    /// connections included, not only this run.
    pub protocol_cpu_ms: Option<u64>,
    /// `"ok"` or `"failed"`.
    pub outcome: String,
    /// Party indices the protocol named as culprits and the driver excluded.
    pub culprits: Vec<u16>,
    /// Why the run failed, `None` when it succeeded.
    pub error: Option<String>,
}

/// Writes `"simulated"` and, when it is true, the `"warning"` banner, into the
/// flattened document.
fn simulated_fields<S: Serializer>(simulated: &bool, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("simulated", simulated)?;
    if *simulated {
        map.serialize_entry("warning", SIMULATED_WARNING)?;
    }
    map.end()
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn must_json(status: &Status) -> Value {
        serde_json::to_value(status).unwrap()
    }

    #[test]
    fn status__should_carry_the_warning_only_when_simulated() {
        let real = must_json(&Status::new("ab", false));
        assert_eq!(real["simulated"], json!(false));
        assert!(real.get("warning").is_none(), "{real}");

        let sim = must_json(&Status::new("ab", true));
        assert_eq!(sim["simulated"], json!(true));
        assert_eq!(sim["warning"], json!(SIMULATED_WARNING));
    }

    #[test]
    fn status__should_serialize_every_contract_field() {
        let status = Status {
            node_id: "0a0b".into(),
            simulated: false,
            version: "9.9.9".into(),
            serving: false,
            not_serving_reason: Some("not a member of epoch 3".into()),
            chain: ChainStatus {
                block: Some(100),
                head_age_secs: Some(7),
                stale: false,
                error: None,
            },
            epoch: Some(EpochStatus {
                number: 2,
                threshold: 2,
                committee: vec!["01".into(), "02".into(), "03".into()],
                own_index: None,
                bls_group_pk: "aa".into(),
                secp_group_pk: "bb".into(),
            }),
            pending: Some(PendingStatus {
                number: 3,
                threshold: 3,
                committee: vec!["01".into()],
                own_index: Some(1),
                state: "running_dkg".into(),
            }),
            peers: vec![PeerStatus {
                node_id: "02".into(),
                connected: true,
                admitted: false,
                verdict: Some("evidence expired".into()),
                last_contact_unix: Some(1_700_000_000),
            }],
            last_run: Some(RunStatus {
                kind: "reshare".into(),
                epoch: 3,
                attempts: 2,
                duration_ms: 1500,
                protocol_ms: Some(900),
                protocol_cpu_ms: Some(700),
                outcome: "failed".into(),
                culprits: vec![4],
                error: Some("deadline".into()),
            }),
            net: crate::net::Counters {
                delivered: 7,
                sent: 30,
                batches_sent: 3,
                send_failed: 1,
                ..Default::default()
            },
        };
        let expected = json!({
            "node_id": "0a0b",
            "simulated": false,
            "version": "9.9.9",
            "serving": false,
            "not_serving_reason": "not a member of epoch 3",
            "chain": {"block": 100, "head_age_secs": 7, "stale": false, "error": null},
            "epoch": {
                "number": 2, "threshold": 2, "committee": ["01", "02", "03"],
                "own_index": null, "bls_group_pk": "aa", "secp_group_pk": "bb"
            },
            "pending": {
                "number": 3, "threshold": 3, "committee": ["01"], "own_index": 1,
                "state": "running_dkg"
            },
            "peers": [{
                "node_id": "02", "connected": true, "admitted": false,
                "verdict": "evidence expired", "last_contact_unix": 1_700_000_000u64
            }],
            "last_run": {
                "kind": "reshare", "epoch": 3, "attempts": 2, "duration_ms": 1500,
                "protocol_ms": 900, "protocol_cpu_ms": 700,
                "outcome": "failed", "culprits": [4], "error": "deadline"
            },
            "net": {
                "delivered": 7, "sent": 30, "batches_sent": 3, "dropped_not_admitted": 0,
                "dropped_invalid": 0, "dropped_inbox_full": 0, "batches_held": 0,
                "dropped_queue_full": 0,
                "dropped_not_allowed": 0, "send_failed": 1, "connections_denied": 0
            }
        });
        assert_eq!(must_json(&status), expected);
    }

    #[test]
    fn status_new__should_not_serve_and_name_the_crate_version() {
        let status = Status::new("ab", false);
        assert!(!status.serving);
        assert_eq!(status.not_serving_reason.as_deref(), Some("starting"));
        assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    }
}
