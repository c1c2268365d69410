//! `kms devnet` against a real anvil, without the kms-node binary: the chain part of
//! `up` (deploy, approvals, demo app, files), then the whole `up` with a stand-in node
//! (this test binary run as [`fake_kms_node`]: it writes the registration and
//! endpoints files the real node writes, serves `/status` and confirms the genesis
//! epoch with fixed values), the node commands, `status`, `down`. Every process a
//! test starts is killed when its `Devnet` handle drops, even if the test fails.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use clients::sdk::devnet::{process::ProcessId, Devnet, DevnetDir, UpOptions};
use clients::sdk::gov::{Chain, GovClient};
use governance_contract::anvil::DEV_KEYS;
use governance_contract::{EpochStatus, NodePlatform, Platform, RegistrationRequest};
use serde_json::Value;

#[path = "common/kms.rs"]
mod kms;

/// The variable that makes this test binary act as a kms-node (its config file).
const FAKE_NODE_ENV: &str = "KMS_FAKE_NODE_CONFIG";

/// A fresh directory under the system temp dir (removed first if left over).
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kms-devnet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A `kms-node` stand-in: a script running this test binary's [`fake_kms_node`].
fn fake_node_bin(dir: &Path) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = dir.join("fake-kms-node");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n# usage: fake-kms-node --config FILE\n{FAKE_NODE_ENV}=\"$2\" exec {} fake_kms_node --exact --ignored --nocapture --test-threads=1\n",
            exe.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Fast options: 200 ms blocks, short protocol bounds.
fn options(dir: &Path, node_bin: &Path, nodes: u16, threshold: u16) -> UpOptions {
    UpOptions {
        nodes,
        threshold,
        block_time: Duration::from_millis(200),
        confirmation_depth: 1,
        attempt_deadline: Duration::from_secs(10),
        max_attempts: 1,
        ..UpOptions::new(dir.join("net"), node_bin)
    }
}

fn address_of(key_file: &Path) -> Address {
    std::fs::read_to_string(key_file)
        .unwrap()
        .trim()
        .parse::<PrivateKeySigner>()
        .unwrap()
        .address()
}

fn reader(net: &Devnet) -> GovClient {
    let s = net.state();
    GovClient::read_only(&Chain::new(Some(s.rpc.clone()), s.contract.clone()).unwrap()).unwrap()
}

/// Every `section.key` of `toml` is a key kms-node documents in its example config
/// (set or commented out there).
fn assert_known_to_kms_node(toml_text: &str) {
    let example = include_str!("../../kms-node/examples/node.toml");
    let v: toml::Table = toml_text.parse().unwrap();
    for (section, keys) in &v {
        assert!(
            example.contains(&format!("[{section}]")),
            "kms-node has no [{section}]"
        );
        for key in keys.as_table().unwrap().keys() {
            assert!(
                example.lines().any(|l| l
                    .trim_start_matches(['#', ' '])
                    .starts_with(&format!("{key} ="))),
                "kms-node's example config has no {section}.{key}"
            );
        }
    }
}

#[tokio::test]
async fn devnet_up__should_refuse_bad_sizes_and_a_missing_node_binary_with_their_kinds() {
    let dir = temp_dir("sizes");
    let bin = fake_node_bin(&dir);
    for (n, t) in [(1, 1), (3, 4), (5, 1), (65, 3)] {
        let e = Devnet::up(options(&dir, &bin, n, t)).await.unwrap_err();
        assert_eq!(e.kind(), "invalid_devnet_size", "n={n} t={t}: {e}");
    }
    let e = Devnet::up(options(&dir, &dir.join("no-such-node"), 3, 2))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "node_binary_missing");
    assert!(!dir.join("net").exists(), "a refused up must write nothing");
    // The CLI reports the same kind (exit 1), before looking for a node binary.
    let d = dir.join("net");
    let (code, v) = kms::run(
        &[
            "devnet",
            "up",
            "--nodes",
            "3",
            "--threshold",
            "4",
            "--dir",
            d.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("invalid_devnet_size"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn devnet_start_chain__should_deploy_approve_register_the_demo_app_and_write_the_files() {
    let dir = temp_dir("chain");
    let bin = fake_node_bin(&dir);
    let net = Devnet::start_chain(&options(&dir, &bin, 3, 2))
        .await
        .unwrap();
    let d = net.dir().to_path_buf();
    let s = net.state().clone();

    // What `--devnet D` reads, and the contract it names.
    let st = DevnetDir::new(&d).state().unwrap();
    assert_eq!(
        (st.rpc.as_str(), st.contract.as_deref()),
        (s.rpc.as_str(), s.contract.as_deref())
    );
    let gov = reader(&net);
    let policy = gov.network_policy().await.unwrap();
    assert_eq!(
        governance_contract::platforms_from_mask(policy.allowed_platforms),
        vec![Platform::Simulated]
    );
    let node_app: [u8; 32] = alloy::hex::decode(s.node_app_id.as_ref().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let node_m = s.node_measurement.clone().unwrap();
    let approved = gov.app(node_app).await.unwrap().measurements;
    assert_eq!(
        approved.iter().map(alloy::hex::encode).collect::<Vec<_>>(),
        std::slice::from_ref(&node_m)
    );
    let demo = s.demo_app.clone().unwrap();
    let (code, app) = kms::run(
        &["gov", "app", &demo.app_id, "--devnet", d.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{app}");
    assert_eq!(app["measurements"], serde_json::json!([demo.measurement]));
    assert_ne!(demo.measurement, demo.sim_measurement);
    // The network and the demo app have the same 3 voters, quorum 2, no timelock.
    let info = gov
        .app(
            alloy::hex::decode(&demo.app_id)
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .await
        .unwrap();
    let voters: Vec<Address> = (1..=3)
        .map(|v| address_of(&d.join(format!("keys/voter-{v}.key"))))
        .collect();
    assert_eq!(info.voters, voters);
    assert_eq!((info.quorum, info.timelock), (2, 0));
    for (v, key) in voters.iter().zip(&DEV_KEYS[1..=3]) {
        assert_eq!(*v, key.parse::<PrivateKeySigner>().unwrap().address());
    }

    // Keys and node files as docs/DEVNET.md lays them out.
    let sim = std::fs::read_to_string(d.join("keys/sim-attester.key")).unwrap();
    assert_eq!(alloy::hex::decode(sim.trim()).unwrap().len(), 32);
    let provider = alloy::providers::ProviderBuilder::new().connect_http(s.rpc.parse().unwrap());
    for (i, vendor) in (1u16..=3).zip([1u8, 2, 3]) {
        let op_key = d.join(format!("keys/operator-{i}.key"));
        let mode = std::fs::metadata(&op_key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "operator-{i}.key");
        let operator = address_of(&op_key);
        let balance = provider.get_balance(operator).await.unwrap();
        assert_eq!(
            balance,
            U256::from(100u128 * 10u128.pow(18)),
            "operator {i} funded"
        );
        let text = std::fs::read_to_string(d.join(format!("nodes/{i}/node.toml"))).unwrap();
        assert_known_to_kms_node(&text);
        let cfg: toml::Table = text.parse().unwrap();
        assert_eq!(
            cfg["node"]["data_dir"].as_str().unwrap(),
            d.join(format!("nodes/{i}/data")).to_str().unwrap()
        );
        assert_eq!(cfg["node"]["p2p_listen"].as_str(), Some("127.0.0.1:0"));
        assert_eq!(
            cfg["node"]["operator_address"].as_str().unwrap(),
            format!("{operator:#x}")
        );
        assert_eq!(cfg["chain"]["rpc_url"].as_str(), Some(s.rpc.as_str()));
        assert_eq!(cfg["chain"]["contract"].as_str(), s.contract.as_deref());
        assert_eq!(cfg["chain"]["block_time"].as_str(), Some("200ms"));
        assert_eq!(cfg["attestation"]["attester"].as_str(), Some("simulated"));
        assert_eq!(
            cfg["attestation"]["sim_vendor"].as_integer(),
            Some(i64::from(vendor))
        );
        assert_eq!(
            cfg["attestation"]["sim_key_file"].as_str().unwrap(),
            d.join("keys/sim-attester.key").to_str().unwrap()
        );
        // The build the node claims is the one whose digest governance approved.
        let image: [u8; 32] =
            alloy::hex::decode(cfg["attestation"]["sim_measurement"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
        assert_eq!(
            alloy::hex::encode(clients::sdk::devnet::config::simulated_measurement(image)),
            node_m
        );
        assert_eq!(cfg["storage"]["sealing"].as_str(), Some("operator-key"));
        let seal = d.join(format!("nodes/{i}/operator.key"));
        assert_eq!(
            cfg["storage"]["operator_key_file"].as_str().unwrap(),
            seal.to_str().unwrap()
        );
        assert_eq!(
            std::fs::metadata(&seal).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // `status` from the CLI: the contract's fields; no node runs yet.
    let (code, v) = kms::run(&["devnet", "status", "--dir", d.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["rpc"], Value::from(s.rpc.clone()));
    assert_eq!(v["contract"].as_str(), s.contract.as_deref());
    assert_eq!(v["chain_running"], Value::Bool(true));
    assert_eq!(v["demo_app"]["app_id"], Value::from(demo.app_id.clone()));
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n["index"], Value::from(i + 1));
        assert_eq!(n["vendor"], Value::from(format!("simulated-{}", i + 1)));
        assert_eq!(n["running"], Value::Bool(false));
        assert!(n["node_id"].is_null());
    }

    // A second `up` in the same directory is refused while this one runs.
    let e = Devnet::start_chain(&options(&dir, &bin, 3, 2))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "devnet_running");

    // `down` leaves no process and no state.
    let anvil = s.anvil;
    assert!(anvil.is_alive());
    net.down().unwrap();
    assert!(!anvil.is_alive());
    assert!(!d.exists(), "down must remove the devnet directory");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn devnet_start_nodes__should_name_the_log_of_a_node_that_exits() {
    let dir = temp_dir("crash");
    let bin = dir.join("crashing-kms-node");
    std::fs::write(
        &bin,
        "#!/bin/sh\necho \"kms-node: config refused\" >&2\nexit 2\n",
    )
    .unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut net = Devnet::start_chain(&options(&dir, &bin, 2, 2))
        .await
        .unwrap();
    let e = net.start_nodes().await.unwrap_err();
    assert_eq!(e.kind(), "node_start_failed", "{e}");
    let m = e.to_string();
    let log = net.dir().join("nodes/1/node.log");
    assert!(m.contains(log.to_str().unwrap()), "{m}");
    assert!(m.contains("kms-node: config refused"), "{m}");
    assert!(!net.status().nodes[0].running);
    net.down().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn devnet_start_nodes__should_keep_the_registrations_that_succeeded_when_one_fails() {
    let dir = temp_dir("partial");
    let bin = fake_node_bin(&dir);
    let mut net = Devnet::start_chain(&options(&dir, &bin, 3, 2))
        .await
        .unwrap();
    let marker = net.dir().join("nodes/2/fake-wrong-operator");
    std::fs::write(&marker, "").unwrap();
    let e = net.start_nodes().await.unwrap_err();
    assert_eq!(e.kind(), "bad_node_signature", "{e}");
    let registered = |net: &Devnet| -> Vec<bool> {
        net.status()
            .nodes
            .iter()
            .map(|n| n.endpoint.is_some())
            .collect()
    };
    assert_eq!(registered(&net), [true, false, true]);
    // Fixed and restarted, node 2 is registered; the others are not sent again.
    std::fs::remove_file(&marker).unwrap();
    net.node_stop(2).unwrap();
    net.node_start(2).await.unwrap();
    assert_eq!(registered(&net), [true, true, true]);
    net.down().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn devnet_handle__should_kill_its_processes_when_dropped_and_not_when_detached() {
    let dir = temp_dir("drop");
    let bin = fake_node_bin(&dir);
    let opts = options(&dir, &bin, 2, 2);
    let net = Devnet::start_chain(&opts).await.unwrap();
    let anvil = net.state().anvil;
    assert!(anvil.is_alive());
    drop(net);
    assert!(!anvil.is_alive(), "a dropped handle must kill anvil");

    // A dead devnet's directory is reused; a detached one outlives its handle and is
    // stopped by `kms devnet down`.
    let net = Devnet::start_chain(&opts).await.unwrap();
    let d = net.dir().to_path_buf();
    let anvil = net.state().anvil;
    net.detach();
    assert!(anvil.is_alive(), "a detached devnet keeps running");
    let (code, v) = kms::run(&["devnet", "down", "--dir", d.to_str().unwrap()], &[]);
    assert_eq!((code, &v["down"]), (0, &Value::Bool(true)), "{v}");
    assert!(!anvil.is_alive());
    assert!(!d.exists());
    let (code, v) = kms::run(&["devnet", "status", "--dir", d.to_str().unwrap()], &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("devnet_not_found"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn devnet_up__should_run_genesis_and_stop_start_kill_add_nodes_with_a_stand_in_node() {
    let dir = temp_dir("up");
    let bin = fake_node_bin(&dir);
    let mut net = Devnet::up(options(&dir, &bin, 3, 2)).await.unwrap();
    let d = net.dir().to_path_buf();
    let ds = d.to_str().unwrap().to_owned();

    // The genesis epoch is active with every node, in index order.
    let gov = reader(&net);
    let epoch = gov.active_committee().await.unwrap();
    assert_eq!(
        (epoch.epoch, epoch.status, epoch.threshold),
        (1, EpochStatus::Active, 2)
    );
    let status = net.status();
    let ids: Vec<String> = status
        .nodes
        .iter()
        .map(|n| n.node_id.clone().unwrap())
        .collect();
    assert_eq!(
        epoch
            .committee
            .iter()
            .map(alloy::hex::encode)
            .collect::<Vec<_>>(),
        ids
    );
    let info = gov.network_info().await.unwrap();
    for (m, n) in info.members.iter().zip(&status.nodes) {
        assert_eq!(m.platform().unwrap(), n.platform);
        assert_eq!(Some(&m.endpoint), n.endpoint.as_ref());
    }
    // node.toml now holds the ports the node reported.
    let cfg: toml::Table = std::fs::read_to_string(d.join("nodes/2/node.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let op_listen = cfg["node"]["operator_listen"].as_str().unwrap().to_owned();
    assert!(!op_listen.ends_with(":0"));
    assert_eq!(
        status.nodes[1].operator_url.as_deref(),
        Some(format!("http://{op_listen}").as_str())
    );

    // The CLI sees it all.
    let (code, v) = kms::run(&["devnet", "status", "--dir", &ds], &[]);
    assert_eq!(code, 0, "{v}");
    for (n, id) in v["nodes"].as_array().unwrap().iter().zip(&ids) {
        assert_eq!(
            (&n["running"], n["node_id"].as_str()),
            (&Value::Bool(true), Some(id.as_str()))
        );
    }
    let (code, v) = kms::run(&["node", "status", "--devnet", &ds, "--index", "1"], &[]);
    assert_eq!(
        (code, v["node_id"].as_str()),
        (0, Some(ids[0].as_str())),
        "{v}"
    );
    assert_eq!(v["simulated"], Value::Bool(true));
    let (code, v) = kms::run(&["network", "info", "--devnet", &ds], &[]);
    assert_eq!((code, &v["epoch"]), (0, &Value::from(1)), "{v}");

    // stop, start (same id and port), kill; unknown indexes refused.
    let pid = |net: &Devnet, i: usize| -> ProcessId { net.state().nodes[i].process.unwrap() };
    let p2 = pid(&net, 1);
    net.node_stop(2).unwrap();
    assert!(!p2.is_alive());
    assert!(!net.status().nodes[1].running);
    let e = net.node_stop(9).unwrap_err();
    assert_eq!(e.kind(), "unknown_node");
    let (code, v) = kms::run(&["devnet", "node", "stop", "9", "--dir", &ds], &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("unknown_node"))
    );
    net.node_start(2).await.unwrap();
    let again = net.status();
    assert!(again.nodes[1].running);
    assert_eq!(again.nodes[1].node_id.as_deref(), Some(ids[1].as_str()));
    assert_eq!(again.nodes[1].operator_url, status.nodes[1].operator_url);
    assert_eq!(net.node_start(2).await.unwrap_err().kind(), "node_running");
    let p3 = pid(&net, 2);
    let (code, v) = kms::run(&["devnet", "node", "kill", "3", "--dir", &ds], &[]);
    assert_eq!((code, v["state"].as_str()), (0, Some("killed")), "{v}");
    assert!(!p3.is_alive());

    // node add: a fourth node, registered (not in the committee).
    let (code, v) = kms::run(
        &[
            "devnet",
            "node",
            "add",
            "--vendor",
            "simulated-2",
            "--dir",
            &ds,
        ],
        &[],
    );
    assert_eq!((code, &v["index"]), (0, &Value::from(4)), "{v}");
    let new_id = v["node_id"].as_str().unwrap().to_owned();
    let reopened = Devnet::open(&d).unwrap();
    let four = reopened.status().nodes[3].clone();
    assert_eq!(
        (four.node_id.as_deref(), four.running),
        (Some(new_id.as_str()), true)
    );
    assert_eq!(four.platform, NodePlatform::simulated(2));
    let record = gov
        .contract()
        .node(
            alloy::hex::decode(&new_id)
                .unwrap()
                .as_slice()
                .try_into()
                .unwrap(),
        )
        .call()
        .await
        .unwrap();
    assert_eq!(record.operator, address_of(&d.join("keys/operator-4.key")));

    // down: no process, no state (the node `add` started from another process too).
    let all: Vec<ProcessId> = reopened.state().processes();
    assert_eq!(all.len(), 4, "3 running nodes and anvil"); // node 3 was killed
    net.down().unwrap();
    for p in all {
        assert!(!p.is_alive(), "pid {} survived down", p.pid);
    }
    // Node 3, killed by another kms, was reaped too: no zombie left in /proc.
    assert!(
        !Path::new(&format!("/proc/{}", p3.pid)).exists(),
        "node 3 lingers as a zombie"
    );
    assert!(!d.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kms_devnet_up__should_serve_in_the_foreground_until_sigterm_then_stop_everything() {
    use std::io::BufRead;
    let dir = temp_dir("fg");
    let bin = fake_node_bin(&dir);
    let d = dir.join("net");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kms"))
        .args([
            "devnet",
            "up",
            "--nodes",
            "2",
            "--threshold",
            "2",
            "--block-time",
            "200ms",
        ])
        .arg("--dir")
        .arg(&d)
        .arg("--node-bin")
        .arg(&bin)
        .arg("--json")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kills kms and the whole devnet if an assertion below fails.
    struct Guard(PathBuf, ProcessId);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = clients::sdk::devnet::process::kill(&self.1, None);
            if let Ok(net) = Devnet::open(&self.0) {
                let _ = net.down();
            }
        }
    }
    let kms_id = ProcessId {
        pid: child.id(),
        start: clients::sdk::devnet::process::start_time(child.id()).unwrap(),
    };
    let _guard = Guard(d.clone(), kms_id);
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (&v["serving"], &v["detached"]),
        (&Value::Bool(true), &Value::Bool(false)),
        "{v}"
    );
    // The stand-in node confirmed fixed bytes that are no group key and serves no
    // keys: `up` says why the demo key is missing, and the network keeps running.
    assert_eq!(v["demo_key"]["error"]["kind"], "bad_chain_record", "{v}");
    assert!(v["next"].as_array().unwrap().len() > 3);
    let all = Devnet::open(&d).unwrap().state().processes();
    assert_eq!(all.len(), 3, "2 nodes and anvil");
    assert!(all.iter().all(ProcessId::is_alive));
    // SIGTERM (as from a supervisor; Ctrl-C takes the same path): kms stops the
    // devnet, removes its state and exits 0.
    let sent = std::process::Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    for p in &all {
        assert!(!p.is_alive(), "pid {} survived SIGTERM", p.pid);
    }
    assert!(!d.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kms_devnet_up__should_stop_what_it_started_when_interrupted() {
    // Ctrl-C, and a closed terminal (its processes run in their own groups, so the
    // hang-up reaches only kms).
    for signal in ["INT", "HUP"] {
        interrupt_up(signal);
    }
}

/// Sends `signal` to a `kms devnet up` whose nodes never report: everything it started
/// must stop, and it must say it was interrupted.
fn interrupt_up(signal: &str) {
    let dir = temp_dir(&format!("intr-{signal}"));
    // A node that never reports its endpoints: `up` waits in start_nodes.
    let bin = dir.join("silent-kms-node");
    std::fs::write(&bin, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = dir.join("net");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kms"))
        .args([
            "devnet",
            "up",
            "--nodes",
            "2",
            "--threshold",
            "2",
            "--block-time",
            "200ms",
        ])
        .arg("--dir")
        .arg(&d)
        .arg("--node-bin")
        .arg(&bin)
        .arg("--json")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let kms_id = ProcessId {
        pid: child.id(),
        start: clients::sdk::devnet::process::start_time(child.id()).unwrap(),
    };
    struct Guard(PathBuf, ProcessId);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = clients::sdk::devnet::process::kill(&self.1, None);
            if let Ok(net) = Devnet::open(&self.0) {
                let _ = net.down();
            }
        }
    }
    let _guard = Guard(d.clone(), kms_id);
    // Wait until both nodes run.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let all = loop {
        if let Ok(net) = Devnet::open(&d) {
            let ps = net.state().processes();
            if ps.len() == 3 && ps.iter().all(ProcessId::is_alive) {
                break ps;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the nodes never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let sent = std::process::Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"].as_str(), Some("interrupted"), "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("SIG{signal}")), "{v}");
    for p in &all {
        assert!(!p.is_alive(), "pid {} survived SIG{signal}", p.pid);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kms_node_status__should_name_an_unreachable_node_and_a_missing_target() {
    let (code, v) = kms::run(&["node", "status", "--node", "http://127.0.0.1:1"], &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("node_unreachable")),
        "{v}"
    );
    let (code, v) = kms::run(&["node", "status", "--node", "https://127.0.0.1:1"], &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("node_unreachable")),
        "{v}"
    );
    let (code, v) = kms::run(&["node", "status"], &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("bad_input")),
        "{v}"
    );
    // --index needs --devnet (a usage error, exit 2).
    let (code, v) = kms::run(&["node", "status", "--index", "1"], &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (2, Some("usage")),
        "{v}"
    );
}

/// The stand-in kms-node (run by [`fake_node_bin`]'s script, never by `cargo test`):
/// keeps a signer in its data dir, binds the configured listeners, writes
/// `registration.json` and `endpoints.json` like kms-node, answers `GET /status`, and
/// confirms every pending epoch it is a member of with fixed group keys.
#[test]
#[ignore = "the stand-in kms-node the devnet tests start; does nothing without KMS_FAKE_NODE_CONFIG"]
fn fake_kms_node() {
    let Some(config) = std::env::var_os(FAKE_NODE_ENV) else {
        return;
    };
    let cfg: toml::Table = std::fs::read_to_string(config).unwrap().parse().unwrap();
    let s = |sec: &str, key: &str| cfg[sec][key].as_str().unwrap().to_owned();
    let data = PathBuf::from(s("node", "data_dir"));
    std::fs::create_dir_all(&data).unwrap();
    let key_file = data.join("fake-signer.key");
    let signer: PrivateKeySigner = match std::fs::read_to_string(&key_file) {
        Ok(k) => k.trim().parse().unwrap(),
        Err(_) => {
            let k = PrivateKeySigner::random();
            std::fs::write(&key_file, alloy::hex::encode(k.to_bytes())).unwrap();
            k
        }
    };
    let p2p = TcpListener::bind(s("node", "p2p_listen")).unwrap();
    let app = TcpListener::bind(s("node", "app_listen")).unwrap();
    let ops = TcpListener::bind(s("node", "operator_listen")).unwrap();
    let rpc = s("chain", "rpc_url");
    let contract: Address = s("chain", "contract").parse().unwrap();
    let vendor = u8::try_from(cfg["attestation"]["sim_vendor"].as_integer().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let provider = alloy::providers::ProviderBuilder::new()
        .wallet(signer.clone())
        .connect_http(rpc.parse().unwrap());
    let chain_id = rt.block_on(provider.get_chain_id()).unwrap();
    // A marker file next to the data dir makes this node sign for another operator
    // (its registration is then refused).
    let wrong_operator = data.parent().unwrap().join("fake-wrong-operator").exists();
    let reg = RegistrationRequest {
        chain_id,
        contract,
        operator: if wrong_operator {
            Address::repeat_byte(0x77)
        } else {
            s("node", "operator_address").parse().unwrap()
        },
        p2p_key: signer.address().to_vec(),
        noise_key: [vendor; 32],
        platform: NodePlatform::simulated(vendor),
        evidence: Vec::new(),
        evidence_issued_at: 0,
    }
    .sign(&signer)
    .unwrap();
    let node_id = alloy::hex::encode(reg.node_id());
    let write = |name: &str, text: String| {
        let tmp = data.join(format!("{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, data.join(name)).unwrap();
    };
    write("registration.json", reg.to_json());
    let addr = |l: &TcpListener| l.local_addr().unwrap().to_string();
    let endpoints = serde_json::json!({
        "node_id": node_id, "signer": format!("{:#x}", signer.address()),
        "p2p": addr(&p2p), "app": addr(&app), "operator": format!("http://{}", addr(&ops)),
        "endpoint": format!("/ip4/127.0.0.1/tcp/{}", p2p.local_addr().unwrap().port()),
    });
    write("endpoints.json", endpoints.to_string());
    let status = serde_json::json!({"node_id": node_id, "simulated": true,
        "warning": "SIMULATED ENCLAVE: NO SECURITY", "serving": false,
        "not_serving_reason": "stand-in node", "epoch": null, "pending": null, "peers": []})
    .to_string();
    std::thread::spawn(move || {
        for conn in ops.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 2048];
            let _ = c.read(&mut buf);
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{status}",
                status.len()
            );
        }
    });
    let gov = governance_contract::Governance::new(contract, provider);
    let mut confirmed = 0u64;
    loop {
        rt.block_on(async {
            let Ok(pending) = gov.pendingEpoch().call().await else {
                return;
            };
            if pending != 0 && pending != confirmed {
                let mut secp = vec![0x02];
                secp.extend([7u8; 32]);
                let sent = gov
                    .confirm(pending, [9u8; 32].into(), vec![5u8; 48].into(), secp.into())
                    .send()
                    .await;
                if let Ok(p) = sent {
                    if p.get_receipt().await.is_ok_and(|r| r.status()) {
                        confirmed = pending;
                    }
                }
            }
        });
        std::thread::sleep(Duration::from_millis(200));
    }
}
