//! `kms app …` (CLI.md "Application"): argument and attester checks without a
//! network, and key release, sealing and fault tolerance against real `kms-node`
//! processes on a real anvil (one devnet, n=5, t=3, started through the devnet SDK;
//! every process dies with the handle, also when an assertion fails).
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester};
use attestation_gate::{Purpose, ReportData, UnixTime};
use clients::sdk::devnet::{Devnet, DevnetDir, UpOptions};
use serde_json::Value;

#[path = "common/kms.rs"]
mod kms;

const APP: &str = "1111111111111111111111111111111111111111111111111111111111111111";

#[test]
fn app_simulated_attester__should_be_refused_without_a_devnet() {
    let m = "22".repeat(32);
    for cmd in ["get-key", "unseal"] {
        let mut args = vec!["app", cmd, "--app", APP, "--path", "disk"];
        if cmd == "unseal" {
            args.extend(["--in", "/nonexistent", "--out", "/nonexistent"]);
        }
        args.extend(["--attester", "simulated", "--sim-measurement", &m]);
        let (code, v) = kms::run(&args, &[("KMS_RPC_URL", "http://127.0.0.1:1")]);
        assert_eq!(
            (code, v["error"]["kind"].as_str()),
            (1, Some("simulated_not_allowed")),
            "{cmd}: {v}"
        );
    }
    // With a devnet but no build named, still refused.
    let (code, v) = kms::run(
        &[
            "app",
            "get-key",
            "--app",
            APP,
            "--path",
            "disk",
            "--attester",
            "simulated",
            "--devnet",
            "/nonexistent",
        ],
        &[],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("simulated_not_allowed")),
        "{v}"
    );
}

#[test]
fn app_attester__should_refuse_unknown_names_and_missing_devices_with_their_kinds() {
    let (code, v) = kms::run(
        &[
            "app",
            "get-key",
            "--app",
            APP,
            "--path",
            "disk",
            "--attester",
            "sgx",
        ],
        &[],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("bad_input")),
        "{v}"
    );
    // This box has no TEE device: `auto` says so (it never falls back to the simulator).
    if Path::new("/sys/kernel/config/tsm/report").exists()
        || Path::new("/dev/sev-guest").exists()
        || Path::new("/dev/nsm").exists()
        || Path::new("/dev/tdx_guest").exists()
    {
        return;
    }
    let (code, v) = kms::run(&["app", "get-key", "--app", APP, "--path", "disk"], &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("attester_unavailable")),
        "{v}"
    );
}

#[test]
fn app_arguments__should_refuse_a_bad_app_id_and_path_with_their_kinds() {
    let (code, v) = kms::run(
        &["app", "pubkey", "--app", "12", "--path", "disk"],
        &[("KMS_RPC_URL", "http://127.0.0.1:1")],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("bad_input")),
        "{v}"
    );
    let (code, v) = kms::run(&["app", "pubkey", "--app", APP], &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (2, Some("usage")),
        "{v}"
    );
    let (code, v) = kms::run(
        &["app", "pubkey", "--app", APP, "--path", ""],
        &[
            ("KMS_RPC_URL", "http://127.0.0.1:1"),
            ("KMS_CONTRACT", "0x0000000000000000000000000000000000000001"),
        ],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("bad_input")),
        "{v}"
    );
}

// ----------------------------------------------------------------------------------
// Against real kms-node processes (one devnet, n=5, t=3).

/// The kms-node binary: `KEYNET_KMS_NODE_BIN` when set (scripts/test points it at the
/// binary `cargo test --workspace` has just built, so the test does not rebuild kms-node
/// with another feature set), else the one next to this `kms`, built (or brought up to
/// date) first when cargo runs the test.
fn node_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("KEYNET_KMS_NODE_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "KEYNET_KMS_NODE_BIN: no file at {}",
            bin.display()
        );
        return bin;
    }
    let kms = PathBuf::from(env!("CARGO_BIN_EXE_kms"));
    let bin = kms.parent().unwrap().join("kms-node");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let release = kms
            .parent()
            .unwrap()
            .file_name()
            .is_some_and(|n| n == "release");
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-p", "kms-node", "--bin", "kms-node"])
            .args(["--features", "fault-injection"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            cmd.arg("--release");
        }
        assert!(
            cmd.status().unwrap().success(),
            "cargo build of kms-node failed"
        );
    }
    assert!(bin.is_file(), "no kms-node at {}", bin.display());
    bin
}

/// On a panic, the tails of the node logs; the processes die with the handle.
struct Logs(PathBuf);

impl Drop for Logs {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let dir = DevnetDir::new(&self.0);
        for i in 1..=5u16 {
            let text = std::fs::read_to_string(dir.node_log(i)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "----- node {i} -----\n{}",
                lines[lines.len().saturating_sub(30)..].join("\n")
            );
        }
    }
}

fn hex32(v: &Value) -> [u8; 32] {
    alloy::hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// Simulated evidence of `image` signed with the devnet's key (what an app on the
/// devnet presents), written to `path`.
fn sim_evidence(devnet: &Path, image: [u8; 32], debug: bool, path: &Path) {
    let seed = std::fs::read_to_string(DevnetDir::new(devnet).sim_key()).unwrap();
    let seed: [u8; 32] = alloy::hex::decode(seed.trim()).unwrap().try_into().unwrap();
    let a = SimulatedAttester::new(DevnetSigningKey::from_seed(&seed), "sim-app", image)
        .unwrap()
        .with_debug(debug);
    let now = clients::sdk::attest::wall_clock().unwrap();
    let rd = ReportData::bind(Purpose::AppKeyRequest, &[7; 32], now);
    std::fs::write(path, a.attest_bytes(&rd, UnixTime(now.0))).unwrap();
}

#[tokio::test]
async fn app_cli__should_release_the_same_key_seal_unseal_check_and_survive_two_dead_nodes() {
    let bin = node_bin();
    let tmp = tempfile::Builder::new()
        .prefix("kms-app-cli-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("net");
    let _logs = Logs(dir.clone());
    let opts = UpOptions {
        nodes: 5,
        threshold: 3,
        block_time: Duration::from_millis(500),
        confirmation_depth: 1,
        attempt_deadline: Duration::from_secs(30),
        max_attempts: 3,
        ..UpOptions::new(&dir, &bin)
    };
    let mut net = Devnet::up(opts).await.unwrap();
    let d = net.dir().to_str().unwrap().to_owned();
    let demo = net.state().demo_app.clone().unwrap();
    let (app, sim) = (demo.app_id.clone(), demo.sim_measurement.clone());
    // The build `attested` runs as (changed by the upgrade below).
    let build = std::cell::RefCell::new(sim.clone());
    let work = tmp.path();
    let file = |name: &str| work.join(name).to_str().unwrap().to_owned();
    let attested = |cmd: &'static str, path: &str, extra: &[String]| -> (i32, Value) {
        let mut args: Vec<String> = ["app", cmd, "--devnet", &d, "--app", &app, "--path", path]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let build = build.borrow().clone();
        args.extend(["--attester", "simulated", "--sim-measurement", &build].map(String::from));
        args.extend(extra.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        kms::run(&refs, &[])
    };

    // The network's keys as `kms network info` prints them.
    let (code, info) = kms::run(&["network", "info", "--devnet", &d], &[]);
    assert_eq!(code, 0, "{info}");
    let bls_pk: [u8; 48] = alloy::hex::decode(info["bls_group_pk"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let bls_pk = blstrs::G1Affine::from_compressed(&bls_pk).unwrap();

    // pubkey: xonly(P_app) from the chain's secp key (offline).
    let (code, pk) = kms::run(
        &[
            "app", "pubkey", "--devnet", &d, "--app", &app, "--path", "disk",
        ],
        &[],
    );
    assert_eq!(code, 0, "{pk}");
    assert_eq!(pk["group_key"], info["secp_group_pk"]);
    let p = frost_secp256k1_tr::VerifyingKey::deserialize(
        &alloy::hex::decode(info["secp_group_pk"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let id = tss::Identity::new(hex32(&pk["app_id"]), "disk").unwrap();
    assert_eq!(
        pk["xonly"].as_str().unwrap(),
        alloy::hex::encode(tss::AppSigningKey::new(&p, &id).unwrap().xonly().unwrap())
    );

    // seal offline, before any key is released.
    std::fs::write(work.join("plain"), b"the disk encryption key").unwrap();
    let (code, v) = kms::run(
        &[
            "app",
            "seal",
            "--devnet",
            &d,
            "--app",
            &app,
            "--path",
            "disk",
            "--in",
            &file("plain"),
            "--out",
            &file("sealed"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{v}");

    // What `kms devnet up` ends with: the demo key (asked again while the nodes have
    // not yet seen the activation).
    let demo_key = net.demo_key().await.unwrap();
    assert_eq!(demo_key.nodes_used.len(), 3);
    let (code, cli_demo) = attested("get-key", "demo", &[]);
    assert_eq!(code, 0, "{cli_demo}");
    assert_eq!(
        cli_demo["key"].as_str().unwrap(),
        alloy::hex::encode(demo_key.key.expose_secret())
    );

    // get-key twice: the same key; sigma verifies under bls_group_pk; key = HKDF(sigma).
    let (code, first) = attested("get-key", "disk", &[]);
    assert_eq!(code, 0, "{first}");
    let (code, second) = attested("get-key", "disk", &[]);
    assert_eq!(code, 0, "{second}");
    assert_eq!(first["key"], second["key"]);
    assert_eq!(first["app_id"].as_str(), Some(app.as_str()));
    assert_eq!(first["nodes_used"].as_array().unwrap().len(), 3);
    assert_eq!(first["bad_nodes"], serde_json::json!([]));
    let sigma: [u8; 96] = alloy::hex::decode(first["sigma"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let sigma = tss::Sigma::from_bytes(&sigma, &bls_pk, &tss::PrfInput::new(id.clone())).unwrap();
    assert_eq!(
        first["key"].as_str().unwrap(),
        alloy::hex::encode(sigma.derive_key(&id).expose_secret())
    );
    let (code, wallet) = attested("get-key", "wallet", &[]);
    assert_eq!(code, 0, "{wallet}");
    assert_ne!(wallet["key"], first["key"]);

    // unseal inside the (simulated) app; another path cannot.
    let (code, v) = attested(
        "unseal",
        "disk",
        &[
            "--in".into(),
            file("sealed"),
            "--out".into(),
            file("opened"),
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        std::fs::read(work.join("opened")).unwrap(),
        b"the disk encryption key"
    );
    let (code, v) = attested(
        "unseal",
        "wallet",
        &["--in".into(), file("sealed"), "--out".into(), file("x")],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("unseal_failed")),
        "{v}"
    );

    // sign: t nodes run FROST among themselves (the p2p signer); the BIP-340 signature
    // verifies, with an independent verifier, under `kms app pubkey`'s xonly, and
    // not for another message or under another path's key.
    let bip340 = |xonly: &Value, message: &[u8], sig: &Value| -> bool {
        let key = k256::schnorr::VerifyingKey::from_bytes(&hex32(xonly)).unwrap();
        let sig = alloy::hex::decode(sig.as_str().unwrap()).unwrap();
        let sig = k256::schnorr::Signature::try_from(sig.as_slice()).unwrap();
        key.verify_raw(message, &sig).is_ok()
    };
    let (code, signed) = attested("sign", "disk", &["--message".into(), "68656c6c6f".into()]);
    assert_eq!(code, 0, "{signed}");
    assert_eq!(signed["xonly"], pk["xonly"]);
    assert_eq!(signed["message"].as_str(), Some("68656c6c6f"));
    assert_eq!(signed["signers"].as_array().unwrap().len(), 3, "{signed}");
    assert!(bip340(&pk["xonly"], b"hello", &signed["signature"]));
    assert!(!bip340(&pk["xonly"], b"hellO", &signed["signature"]));
    let (code, wallet_signed) =
        attested("sign", "wallet", &["--message".into(), "68656c6c6f".into()]);
    assert_eq!(code, 0, "{wallet_signed}");
    assert_ne!(wallet_signed["xonly"], pk["xonly"]);
    assert!(!bip340(&pk["xonly"], b"hello", &wallet_signed["signature"]));
    assert!(bip340(
        &wallet_signed["xonly"],
        b"hello",
        &wallet_signed["signature"]
    ));

    // attest check: the approved build is accepted, another build and debug refused,
    // by the rule the nodes apply; the nodes refuse the unapproved build the same way.
    let image: [u8; 32] = alloy::hex::decode(&sim).unwrap().try_into().unwrap();
    sim_evidence(&dir, image, false, &work.join("ok.ev"));
    sim_evidence(&dir, [0x5a; 32], false, &work.join("other.ev"));
    sim_evidence(&dir, image, true, &work.join("debug.ev"));
    let check = |ev: &str| {
        kms::run(
            &[
                "attest",
                "check",
                "--devnet",
                &d,
                "--app",
                &app,
                "--evidence",
                &file(ev),
            ],
            &[],
        )
    };
    let (code, v) = check("ok.ev");
    assert_eq!(
        (code, v["verdict"].as_str(), &v["rule"]),
        (0, Some("accept"), &Value::Null),
        "{v}"
    );
    assert_eq!(v["measurement"].as_str(), Some(demo.measurement.as_str()));
    assert_eq!(
        (v["platform"].as_str(), v["epoch"].as_u64()),
        (Some("simulated"), Some(1))
    );
    let (code, v) = check("other.ev");
    assert_eq!(
        (code, v["verdict"].as_str(), v["rule"].as_str()),
        (1, Some("refuse"), Some("not_approved")),
        "{v}"
    );
    assert_eq!(v["error"]["kind"].as_str(), Some("not_approved"));
    let (code, v) = check("debug.ev");
    assert_eq!((code, v["rule"].as_str()), (1, Some("debug")), "{v}");
    let other = "5a".repeat(32);
    let mut args: Vec<&str> = vec![
        "app", "get-key", "--devnet", &d, "--app", &app, "--path", "disk",
    ];
    args.extend(["--attester", "simulated", "--sim-measurement", &other]);
    let (code, v) = kms::run(&args, &[]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("not_approved")),
        "{v}"
    );

    // Upgrade: the app's voters approve a new build (image 5a, refused above); it keeps
    // the app id, so it gets the same key. Then they revoke the old build: the nodes
    // refuse it `revoked` once their view (head - confirmation depth) holds the
    // revocation, within a few blocks, while the new build is still served.
    let gov = |voter: &str, cmd: &[&str]| -> Value {
        let mut args = vec!["gov"];
        args.extend_from_slice(cmd);
        args.extend(["--devnet", &d, "--as", voter]);
        let (code, v) = kms::run(&args, &[]);
        assert_eq!(code, 0, "kms gov {cmd:?}: {v}");
        v
    };
    let new_measurement = check("other.ev").1["measurement"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = gov(
        "voter:1",
        &[
            "propose",
            "approve",
            "--app",
            &app,
            "--measurement",
            &new_measurement,
        ],
    );
    let id = p["proposal"].to_string();
    gov("voter:2", &["vote", &id]);
    gov("voter:2", &["execute", &id]);
    let mut args: Vec<&str> = vec![
        "app", "get-key", "--devnet", &d, "--app", &app, "--path", "disk",
    ];
    args.extend(["--attester", "simulated", "--sim-measurement", &other]);
    let released = |args: &[&str]| -> (i32, Value) {
        // The approval reaches the nodes' view a confirmation depth later.
        let started = Instant::now();
        loop {
            let (code, v) = kms::run(args, &[]);
            if code == 0 || started.elapsed() > Duration::from_secs(10) {
                return (code, v);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    let (code, upgraded) = released(&args);
    assert_eq!(code, 0, "{upgraded}");
    assert_eq!(
        upgraded["key"], first["key"],
        "the same key after the upgrade"
    );

    let p = gov(
        "voter:1",
        &[
            "propose",
            "revoke",
            "--app",
            &app,
            "--measurement",
            &demo.measurement,
        ],
    );
    let id = p["proposal"].to_string();
    if p["state"] != "ready" {
        gov("voter:2", &["vote", &id]);
    }
    let revoked_at = Instant::now();
    gov("voter:2", &["execute", &id]);
    let old = loop {
        let (code, v) = attested("get-key", "disk", &[]);
        if code != 0 || revoked_at.elapsed() > Duration::from_secs(10) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(old["error"]["kind"].as_str(), Some("revoked"), "{old}");
    // Block time 500 ms, confirmation depth 1: the nodes' view holds the revocation
    // about two blocks after it executed.
    assert!(
        revoked_at.elapsed() < Duration::from_secs(5),
        "took {:?}",
        revoked_at.elapsed()
    );
    let (code, v) = kms::run(&args, &[]);
    assert_eq!((code, &v["key"]), (0, &first["key"]), "{v}");
    *build.borrow_mut() = other.clone();

    let used: Vec<u16> = first["nodes_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| u16::try_from(v.as_u64().unwrap()).unwrap())
        .collect();

    // One node answering with garbage shares (kms-node's `fault-injection` build, set
    // through its data directory; it is one of the two killed next): every release
    // still gets the key from the others, never uses its share, and names it once the
    // client asked it (3 of 5 asked at random per release: 30 tries miss it with
    // probability 0.4^30).
    let liar = used[0];
    net.node_stop(liar).unwrap();
    std::fs::write(
        DevnetDir::new(&dir)
            .node_data(liar)
            .join("FAULT_GARBAGE_SHARES"),
        b"",
    )
    .unwrap();
    net.node_start(liar).await.unwrap();
    let mut named = None;
    for _ in 0..30 {
        let (code, v) = attested("get-key", "disk", &[]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["key"], first["key"], "{v}");
        let ids = |k: &str| -> Vec<u64> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        };
        assert!(!ids("nodes_used").contains(&u64::from(liar)), "{v}");
        let bad = ids("bad_nodes");
        assert!(bad.iter().all(|b| *b == u64::from(liar)), "{v}");
        if !bad.is_empty() {
            named = Some(v);
            break;
        }
    }
    let named = named.expect("the garbage-share node was never named");
    assert!(
        named["node_problems"]
            .to_string()
            .contains("does not verify"),
        "{named}"
    );

    // 2 of 5 killed (two of the nodes that served first): still served, same key,
    // from another subset.
    net.node_kill(used[0]).unwrap();
    net.node_kill(used[1]).unwrap();
    let (code, v) = attested("get-key", "disk", &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["key"], first["key"]);
    let now_used: Vec<u16> = v["nodes_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| u16::try_from(v.as_u64().unwrap()).unwrap())
        .collect();
    assert!(
        !now_used.contains(&used[0]) && !now_used.contains(&used[1]),
        "{v}"
    );
    // Signing as well, by the three nodes left.
    let (code, v) = attested("sign", "disk", &["--message".into(), "00ff".into()]);
    assert_eq!(code, 0, "{v}");
    assert!(bip340(&pk["xonly"], &[0x00, 0xff], &v["signature"]));
    assert_ne!(now_used, used);

    // A third killed: a clear error within the deadline.
    net.node_kill(now_used[0]).unwrap();
    let started = Instant::now();
    let (code, v) = attested("get-key", "disk", &["--deadline".into(), "8s".into()]);
    let took = started.elapsed();
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("not_enough_nodes")),
        "{v}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    net.down().unwrap();
}
