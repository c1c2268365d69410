//! The daemon as real processes (issue 10): `kms-node` binaries with simulated enclaves
//! on a real anvil, started, registered and governed through the clients SDK's devnet
//! ([`Devnet`]) in this process, observed through each node's `GET /status` and the
//! chain.
//!
//! Two devnets, one after the other (a lock keeps them from sharing the 2 CI cores):
//! - genesis n=5 t=3, then a join (5 -> 6, t=4), a leave, and a replacement of the 2nd
//!   member: every epoch keeps the group keys;
//! - genesis n=5 t=3, then a member's restart, a stale chain view while anvil stops
//!   mining, and a peer of an unapproved build proposed into the committee.
//!
//! Every wait is bounded by the devnet's own settings (block time, confirmation depth,
//! attempt deadline) and polls `/status` with short sleeps. Every process is killed
//! when the [`Devnet`] handle drops, also when an assertion panics; then the tails of
//! the node logs are printed and the state directory is kept (its path is printed).
#![allow(
    non_snake_case,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use clients::sdk::devnet::config::{NodeConfig, Settings};
use clients::sdk::devnet::{fetch_status, Devnet, DevnetDir, Role, UpOptions};
use clients::sdk::gov::{devnet_signer, Chain, CommitteeChange, GovClient, Proposal};
use governance_contract::{EpochInfo, EpochStatus};
use serde_json::{json, Value};

/// One devnet at a time: DKG runs on 2 cores miss their round deadlines when two
/// devnets compete.
static SERIAL: Mutex<()> = Mutex::new(());

/// How often `/status` and the chain are polled.
const POLL: Duration = Duration::from_millis(250);

/// The bound on one `/status` request.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// Slack for the node's own pace on a loaded box: its epoch manager publishes its
/// status every second, it re-dials a peer every 2 s.
const NODE_SLACK: Duration = Duration::from_secs(5);

/// Lines of each log printed on failure.
const LOG_TAIL: usize = 40;

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f);
}

/// A devnet under test: the handle, its directory, the phases' timings; on a panic
/// its drop prints the tails of the logs and keeps the directory.
struct Net {
    name: &'static str,
    net: Option<Devnet>,
    tmp: Option<tempfile::TempDir>,
    started: Instant,
    phase: Option<(String, Instant)>,
    timings: Vec<(String, Duration)>,
}

impl Drop for Net {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if let Some((name, at)) = &self.phase {
            eprintln!(
                "[{}] FAILED in phase `{name}` after {:.1} s",
                self.name,
                at.elapsed().as_secs_f64()
            );
        }
        let Some(tmp) = self.tmp.take() else { return };
        let dir = DevnetDir::new(&tmp.path().join("net"));
        let mut logs = vec![("anvil".to_owned(), dir.anvil_log())];
        for i in 1..=64u16 {
            let log = dir.node_log(i);
            if !log.exists() {
                break;
            }
            logs.push((format!("node {i}"), log));
        }
        for (who, log) in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
            eprintln!(
                "----- {who}: last {} lines of {} -----\n{}",
                tail.len(),
                log.display(),
                tail.join("\n")
            );
        }
        // The processes die with the handle (dropped after this); the files stay.
        eprintln!("[{}] state kept in {}", self.name, tmp.keep().display());
    }
}

impl Net {
    /// A devnet of `nodes` nodes with threshold `threshold` whose genesis epoch is
    /// active on chain: fast blocks (so transitions are quick), one block of depth,
    /// attempts long enough for a DKG on a loaded 2-core box.
    async fn up(name: &'static str, nodes: u16, threshold: u16) -> Self {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("kms-network-{name}-"))
            .tempdir()
            .unwrap();
        let mut me = Self {
            name,
            net: None,
            tmp: Some(tmp),
            started: Instant::now(),
            phase: None,
            timings: Vec::new(),
        };
        me.phase(&format!("devnet up (n={nodes}, t={threshold})"));
        let opts = UpOptions {
            nodes,
            threshold,
            block_time: Duration::from_millis(500),
            confirmation_depth: 1,
            attempt_deadline: Duration::from_secs(30),
            max_attempts: 3,
            ..UpOptions::new(me.dir(), env!("CARGO_BIN_EXE_kms-node"))
        };
        match Devnet::up(opts).await {
            Ok(net) => me.net = Some(net),
            Err(e) => panic!("devnet up failed: {e}"),
        }
        me
    }

    fn dir(&self) -> PathBuf {
        self.tmp.as_ref().unwrap().path().join("net")
    }

    fn net(&self) -> &Devnet {
        self.net.as_ref().unwrap()
    }

    fn net_mut(&mut self) -> &mut Devnet {
        self.net.as_mut().unwrap()
    }

    /// The demo application's key, released by `t` nodes of the active committee as
    /// the app would at boot (issue 11: the same key across every committee change),
    /// and the nodes that served it.
    async fn demo_key(&self) -> (Vec<u8>, Vec<u16>) {
        let k = self
            .net()
            .demo_key()
            .await
            .expect("the demo key is released");
        assert!(k.bad_nodes.is_empty(), "bad nodes: {:?}", k.bad_nodes);
        (k.key.expose_secret().to_vec(), k.nodes_used)
    }

    fn settings(&self) -> Settings {
        self.net().state().settings
    }

    /// How long a committee transition may take: the bound `up` gives the genesis DKG
    /// (every attempt to its deadline, the chain lag twice, a minute of slack).
    fn transition_bound(&self) -> Duration {
        self.settings().genesis_bound()
    }

    /// How long a fact on chain takes to show in every node's `/status`.
    fn view_bound(&self) -> Duration {
        self.settings().chain_lag().saturating_mul(2) + NODE_SLACK
    }

    /// Starts the next phase (and records how long the previous one took).
    fn phase(&mut self, name: &str) {
        self.end_phase();
        eprintln!(
            "[{}] {name} (at {:.1} s)",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
        self.phase = Some((name.to_owned(), Instant::now()));
    }

    fn end_phase(&mut self) {
        if let Some((name, at)) = self.phase.take() {
            self.timings.push((name, at.elapsed()));
        }
    }

    /// Stops everything and removes the directory; prints the phases' timings.
    fn down(mut self) {
        self.end_phase();
        for (name, d) in &self.timings {
            eprintln!("[{}] {:>6.1} s  {name}", self.name, d.as_secs_f64());
        }
        eprintln!(
            "[{}] total {:.1} s",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
        self.net.take().unwrap().down().unwrap();
    }

    fn node_id(&self, i: u16) -> String {
        self.net()
            .state()
            .nodes
            .iter()
            .find(|n| n.index == i)
            .and_then(|n| n.node_id.clone())
            .unwrap_or_else(|| panic!("node {i} has no node id"))
    }

    fn node_id_bytes(&self, i: u16) -> [u8; 32] {
        let mut b = [0u8; 32];
        hex::decode_to_slice(self.node_id(i), &mut b).unwrap();
        b
    }

    fn chain(&self) -> Chain {
        let s = self.net().state();
        Chain::new(Some(s.rpc.clone()), s.contract.clone()).unwrap()
    }

    fn voter(&self, n: u32) -> GovClient {
        let role: Role = format!("voter:{n}").parse().unwrap();
        GovClient::signed(&self.chain(), devnet_signer(&self.dir(), &role).unwrap()).unwrap()
    }

    async fn active_epoch(&self) -> EpochInfo {
        GovClient::read_only(&self.chain())
            .unwrap()
            .active_committee()
            .await
            .unwrap()
    }

    /// Proposes a committee change (voter 1), votes it (voter 2), executes it.
    async fn pass_committee(&self, change: CommitteeChange) {
        let first = self.voter(1);
        let id = first
            .propose(&Proposal::Committee(change))
            .await
            .unwrap()
            .id;
        self.voter(2).vote(id).await.unwrap();
        first.execute(id).await.unwrap();
    }

    /// Waits until epoch `n` is active on chain; returns it.
    async fn until_active(&self, n: u64) -> EpochInfo {
        let bound = self.transition_bound();
        let start = Instant::now();
        loop {
            let e = self.active_epoch().await;
            if e.epoch == n && e.status == EpochStatus::Active {
                return e;
            }
            assert!(
                start.elapsed() < bound,
                "epoch {n} not active on chain within {} s (the chain's active epoch: {} {:?}); pending states: {}",
                bound.as_secs(),
                e.epoch,
                e.status,
                self.pending_states().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    async fn pending_states(&self) -> String {
        let mut out = Vec::new();
        for n in &self.net().state().nodes {
            let state = match self.status(n.index).await {
                Ok(s) => format!("{}", s["pending"]),
                Err(e) => e,
            };
            out.push(format!("node {}: {state}", n.index));
        }
        out.join("; ")
    }

    /// Node `i`'s `/status` document.
    async fn status(&self, i: u16) -> Result<Value, String> {
        let url = self
            .net()
            .operator_url(i)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("node {i} reported no operator endpoint"))?;
        fetch_status(&url, STATUS_TIMEOUT)
            .await
            .map(|s| s.raw)
            .map_err(|e| e.to_string())
    }

    /// Polls the `/status` of each of `nodes` until `check` accepts every one; panics
    /// after `bound` with what each refused node said.
    async fn until_all(
        &self,
        what: &str,
        nodes: &[u16],
        bound: Duration,
        check: impl Fn(u16, &Value) -> Result<(), String>,
    ) {
        let start = Instant::now();
        loop {
            let mut problems = Vec::new();
            for &i in nodes {
                match self.status(i).await {
                    Ok(s) => {
                        if let Err(e) = check(i, &s) {
                            problems.push(format!("node {i}: {e}; its status: {s}"));
                        }
                    }
                    Err(e) => problems.push(format!("node {i}: {e}")),
                }
            }
            if problems.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < bound,
                "{what}: not within {} s:\n{}",
                bound.as_secs(),
                problems.join("\n")
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until each of `members` (in committee order) serves epoch `e` at its
    /// position with the group keys of `keys`, and each of `removed` reports that it
    /// is not a member of `e`.
    async fn until_serving(&self, e: &EpochInfo, members: &[u16], removed: &[u16], keys: &Keys) {
        let committee: Vec<String> = members.iter().map(|&i| self.node_id(i)).collect();
        let on_chain: Vec<String> = e.committee.iter().map(hex::encode).collect();
        assert_eq!(
            on_chain, committee,
            "epoch {}'s committee on chain",
            e.epoch
        );
        let n = e.epoch;
        self.until_all(
            &format!("members serve epoch {n}"),
            members,
            self.view_bound(),
            |i, s| {
                let want = members.iter().position(|&m| m == i).unwrap() + 1;
                serves(s, n, keys)?;
                if s["epoch"]["own_index"] != json!(want) {
                    return Err(format!("own_index is not {want}"));
                }
                if s["epoch"]["committee"] != json!(committee) {
                    return Err("another committee".into());
                }
                Ok(())
            },
        )
        .await;
        let reason = format!("not a member of epoch {n}");
        self.until_all(
            &format!("removed nodes stop serving at epoch {n}"),
            removed,
            self.view_bound(),
            |_, s| {
                if s["serving"] != json!(false) || s["not_serving_reason"] != json!(reason) {
                    return Err(format!("not `serving: false` with {reason:?}"));
                }
                Ok(())
            },
        )
        .await;
    }
}

/// An epoch's group public keys, hex.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Keys {
    bls: String,
    secp: String,
}

impl Keys {
    fn of(e: &EpochInfo) -> Self {
        Self {
            bls: hex::encode(e.bls_group_pk.expect("an active epoch has a BLS key")),
            secp: hex::encode(e.secp_group_pk.expect("an active epoch has a secp key")),
        }
    }
}

/// Whether `s` serves epoch `n` with `keys`.
fn serves(s: &Value, n: u64, keys: &Keys) -> Result<(), String> {
    if s["serving"] != json!(true) {
        return Err(format!("not serving ({})", s["not_serving_reason"]));
    }
    if s["epoch"]["number"] != json!(n) {
        return Err(format!("epoch is not {n}"));
    }
    if s["epoch"]["bls_group_pk"] != json!(keys.bls)
        || s["epoch"]["secp_group_pk"] != json!(keys.secp)
    {
        return Err("other group keys than the chain's".into());
    }
    Ok(())
}

/// The node ids `s` lists as admitted peers.
fn admitted(s: &Value) -> BTreeSet<String> {
    s["peers"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["admitted"] == json!(true))
                .filter_map(|p| p["node_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The entry for `peer` in `s`'s peer list.
fn peer<'a>(s: &'a Value, peer: &str) -> Option<&'a Value> {
    s["peers"]
        .as_array()?
        .iter()
        .find(|p| p["node_id"].as_str() == Some(peer))
}

/// A JSON-RPC call to anvil over a plain HTTP/1.1 POST.
fn rpc_call(rpc: &str, method: &str, params: Value) -> Value {
    let addr = rpc.trim_start_matches("http://").trim_end_matches('/');
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, text) = resp.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{method}: {head}");
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{method}: {e}: {text}"));
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

/// A duration as kms-node's configuration writes it (`15s`, `250ms`).
fn config_duration(text: &str) -> Duration {
    if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.parse().unwrap())
    } else {
        Duration::from_secs(text.strip_suffix('s').unwrap().parse().unwrap())
    }
}

#[test]
fn network__should_keep_the_group_keys_from_genesis_through_join_leave_and_replacement() {
    let _serial = serial();
    run(async {
        let mut t = Net::up("committee", 5, 3).await;

        // 1. Genesis: every node serves epoch 1 with the chain's keys, all peers admitted.
        t.phase("genesis: every node serves epoch 1");
        let genesis = t.until_active(1).await;
        assert_eq!(genesis.threshold, 3);
        let keys = Keys::of(&genesis);
        let info = GovClient::read_only(&t.chain())
            .unwrap()
            .network_info()
            .await
            .unwrap();
        assert_eq!(Keys::of(&info.epoch), keys);
        assert_eq!(info.members.len(), 5);
        t.until_serving(&genesis, &[1, 2, 3, 4, 5], &[], &keys)
            .await;
        let (demo, _) = t.demo_key().await;
        let ids: Vec<String> = (1..=5).map(|i| t.node_id(i)).collect();
        t.until_all(
            "every node admitted its 4 peers",
            &[1, 2, 3, 4, 5],
            t.view_bound(),
            |i, s| {
                let me = &ids[usize::from(i) - 1];
                let want: BTreeSet<String> = ids.iter().filter(|id| *id != me).cloned().collect();
                let got = admitted(s);
                if got != want {
                    return Err(format!("admitted {got:?}"));
                }
                Ok(())
            },
        )
        .await;

        // 2a. Join: 5 -> 6 members, threshold 4.
        t.phase("join: node 6 in, threshold 4 (epoch 2)");
        let added = t.net_mut().node_add(None).await.unwrap();
        assert_eq!(added.index, 6);
        t.pass_committee(CommitteeChange {
            add: vec![t.node_id_bytes(6)],
            remove: Vec::new(),
            threshold: Some(4),
        })
        .await;
        let e2 = t.until_active(2).await;
        assert_eq!((e2.threshold, Keys::of(&e2)), (4, keys.clone()));
        t.until_serving(&e2, &[1, 2, 3, 4, 5, 6], &[], &keys).await;
        let (k, used) = t.demo_key().await;
        assert_eq!(
            (k == demo, used.len()),
            (true, 4),
            "the same key from 4 nodes"
        );

        // 2b. Leave: the first member goes; every other one moves down one index.
        t.phase("leave: node 1 out (epoch 3)");
        t.pass_committee(CommitteeChange {
            add: Vec::new(),
            remove: vec![t.node_id_bytes(1)],
            threshold: None,
        })
        .await;
        let e3 = t.until_active(3).await;
        assert_eq!(Keys::of(&e3), keys);
        t.until_serving(&e3, &[2, 3, 4, 5, 6], &[1], &keys).await;
        assert!(t.demo_key().await.0 == demo, "the same key after a leave");

        // 2c. Replacement: the 2nd member (node 3) out, node 7 in, one proposal.
        t.phase("replace: node 3 out, node 7 in (epoch 4)");
        let added = t.net_mut().node_add(None).await.unwrap();
        assert_eq!(added.index, 7);
        t.pass_committee(CommitteeChange {
            add: vec![t.node_id_bytes(7)],
            remove: vec![t.node_id_bytes(3)],
            threshold: None,
        })
        .await;
        let e4 = t.until_active(4).await;
        assert_eq!(Keys::of(&e4), keys);
        t.until_serving(&e4, &[2, 4, 5, 6, 7], &[1, 3], &keys).await;
        assert!(
            t.demo_key().await.0 == demo,
            "the same key after a replacement"
        );

        t.down();
    });
}

#[test]
fn network__should_serve_after_a_restart_stop_on_a_stale_chain_and_never_admit_an_unapproved_build()
{
    let _serial = serial();
    run(async {
        let mut t = Net::up("lifecycle", 5, 3).await;
        let all = [1, 2, 3, 4, 5];
        let genesis = t.until_active(1).await;
        let keys = Keys::of(&genesis);
        t.phase("genesis: every node serves epoch 1");
        t.until_serving(&genesis, &all, &[], &keys).await;
        let (demo, _) = t.demo_key().await;

        // 3. Restart: a member stopped and started again unseals its shares, checks
        //    them against the keys on record and serves the same epoch.
        t.phase("restart: node 2 stopped and started");
        let sealed = DevnetDir::new(&t.dir()).node_data(2).join("epochs/1");
        for f in ["bls.sealed", "secp.sealed"] {
            assert!(sealed.join(f).is_file(), "no {f} in {}", sealed.display());
        }
        let pid = |t: &Net| t.net().status().nodes[1].pid;
        let before = pid(&t).expect("node 2 runs");
        t.net_mut().node_stop(2).unwrap();
        assert_eq!(pid(&t), None);
        assert!(
            t.status(2).await.is_err(),
            "node 2 still answers after stop"
        );
        t.until_all(
            "the other members serve on",
            &[1, 3, 4, 5],
            t.view_bound(),
            |_, s| serves(s, 1, &keys),
        )
        .await;
        t.net_mut().node_start(2).await.unwrap();
        assert_ne!(pid(&t), Some(before), "node 2 is the same process");
        t.until_all(
            "node 2 serves epoch 1 again",
            &[2],
            t.settings().start_bound() + t.view_bound(),
            |_, s| {
                serves(s, 1, &keys)?;
                if s["epoch"]["own_index"] != json!(2) {
                    return Err("own_index is not 2".into());
                }
                Ok(())
            },
        )
        .await;
        // The restarted node releases the same key (asked until it is among the t).
        let mut served_by_2 = false;
        for _ in 0..20 {
            let (k, used) = t.demo_key().await;
            assert!(k == demo, "the same key after a restart");
            served_by_2 = used.contains(&2);
            if served_by_2 {
                break;
            }
        }
        assert!(served_by_2, "node 2 was among the t nodes in 20 releases");

        // 4. Stale chain: without blocks every node stops serving within its
        //    max_head_age, naming the stale view, and serves again once blocks come.
        t.phase("stale chain: anvil stops mining");
        let max_head_age = {
            let text = std::fs::read_to_string(DevnetDir::new(&t.dir()).node_config(1)).unwrap();
            config_duration(&NodeConfig::from_toml(&text).unwrap().chain.max_head_age)
        };
        let rpc = t.net().rpc().to_owned();
        rpc_call(&rpc, "evm_setIntervalMining", json!([0]));
        let stopped = Instant::now();
        // The view is `depth` blocks behind the last block; then max_head_age; then the
        // node's poll and tick.
        let stale_bound = max_head_age + t.view_bound();
        t.until_all(
            "every node reports the stale chain view",
            &all,
            stale_bound,
            |_, s| {
                let reason = s["not_serving_reason"].as_str().unwrap_or_default();
                if s["serving"] != json!(false)
                    || s["chain"]["stale"] != json!(true)
                    || !reason.starts_with("chain view at block")
                    || !reason.contains("old (bound")
                {
                    return Err("not `serving: false` for a stale chain view".into());
                }
                Ok(())
            },
        )
        .await;
        let went_stale = stopped.elapsed();
        assert!(
            went_stale + NODE_SLACK >= max_head_age,
            "stale after {went_stale:?}, before max_head_age {max_head_age:?}"
        );
        eprintln!(
            "[lifecycle] stale after {:.1} s (max_head_age {} s)",
            went_stale.as_secs_f64(),
            max_head_age.as_secs()
        );
        // evm_setIntervalMining takes whole seconds.
        let secs = t.settings().block_time().as_secs().max(1);
        rpc_call(&rpc, "evm_setIntervalMining", json!([secs]));
        t.phase("stale chain: mining resumed");
        t.until_all(
            "every node serves again once blocks come",
            &all,
            t.view_bound() + Duration::from_secs(secs),
            |_, s| serves(s, 1, &keys),
        )
        .await;

        // 5. A node of an unapproved build: registered and proposed into the
        //    committee, every member refuses it and keeps serving the old epoch.
        t.phase("unapproved build: node 6 proposed, refused");
        let added = t.net_mut().node_add(None).await.unwrap();
        assert_eq!(added.index, 6);
        t.net_mut().node_stop(6).unwrap();
        let config = DevnetDir::new(&t.dir()).node_config(6);
        let mut cfg = NodeConfig::from_toml(&std::fs::read_to_string(&config).unwrap()).unwrap();
        let unapproved = hex::encode([0x5a; 32]);
        assert_ne!(cfg.attestation.sim_measurement, unapproved);
        cfg.attestation.sim_measurement = unapproved;
        std::fs::write(&config, cfg.to_toml().unwrap()).unwrap();
        t.net_mut().node_start(6).await.unwrap();
        let bad = t.node_id(6);
        t.pass_committee(CommitteeChange {
            add: vec![t.node_id_bytes(6)],
            remove: Vec::new(),
            threshold: None,
        })
        .await;
        let old_epoch_serves = |s: &Value| -> Result<(), String> {
            serves(s, 1, &keys)?;
            if let Some(p) = peer(s, &bad) {
                if p["admitted"] == json!(true) {
                    panic!("the unapproved node was admitted: {s}");
                }
            }
            Ok(())
        };
        t.until_all(
            "every member refuses node 6 (measurement not approved)",
            &all,
            t.view_bound(),
            |_, s| {
                old_epoch_serves(s)?;
                if s["pending"]["number"] != json!(2) {
                    return Err("no pending epoch 2".into());
                }
                let verdict = peer(s, &bad)
                    .and_then(|p| p["verdict"].as_str())
                    .unwrap_or_default();
                if !verdict.contains("measurement") || !verdict.contains("not approved") {
                    return Err(format!("node 6's verdict is {verdict:?}"));
                }
                Ok(())
            },
        )
        .await;
        // It stays refused: watch a few dial rounds.
        t.phase("unapproved build: stays refused, epoch 1 serves");
        let watch = t.settings().chain_lag().saturating_mul(2);
        let until = Instant::now() + watch;
        while Instant::now() < until {
            for &i in &all {
                let s = t.status(i).await.unwrap();
                old_epoch_serves(&s).unwrap_or_else(|e| panic!("node {i}: {e}: {s}"));
            }
            tokio::time::sleep(POLL).await;
        }
        let e = t.active_epoch().await;
        assert_eq!((e.epoch, e.status), (1, EpochStatus::Active));

        t.down();
    });
}
