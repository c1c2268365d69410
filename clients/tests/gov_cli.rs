//! `kms gov …` end to end: the built binary against a fresh anvil (from the pinned npm
//! package in governance-contract/), checking the JSON fields CLI.md fixes and the
//! error kinds of refusals.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, Bytes, FixedBytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use governance_contract::anvil::{Anvil, DEV_KEYS};
use governance_contract::{
    types, Governance, NodePlatform, Platform, Registration, RegistrationRequest,
};
use serde_json::Value;

#[path = "common/kms.rs"]
mod kms;

struct Kms {
    rpc: String,
    contract: Option<String>,
}

impl Kms {
    /// Runs `kms gov ARGS --json` signed by dev account `who`; (exit ok, JSON output).
    fn gov(&self, who: Option<usize>, args: &[&str]) -> (bool, Value) {
        let (code, v) = self.run(who, &[&["gov"], args].concat());
        (code == 0, v)
    }

    /// Runs `kms ARGS --rpc RPC --json` with this network's contract, signed by dev
    /// account `who`.
    fn run(&self, who: Option<usize>, args: &[&str]) -> (i32, Value) {
        let mut env = Vec::new();
        if let Some(c) = &self.contract {
            env.push(("KMS_CONTRACT", c.as_str()));
        }
        if let Some(i) = who {
            env.push(("KMS_PRIVATE_KEY", DEV_KEYS[i]));
        }
        kms::run(&[args, &["--rpc", &self.rpc]].concat(), &env)
    }

    fn ok(&self, who: Option<usize>, args: &[&str]) -> Value {
        let (ok, v) = self.gov(who, args);
        assert!(ok, "kms gov {args:?} failed: {v}");
        v
    }

    /// Runs a command that must be refused; returns the error kind.
    fn refused(&self, who: Option<usize>, args: &[&str]) -> String {
        let (ok, v) = self.gov(who, args);
        assert!(!ok, "kms gov {args:?} should have failed: {v}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        v["error"]["kind"].as_str().unwrap().to_owned()
    }
}

fn addr(i: usize) -> Address {
    DEV_KEYS[i].parse::<PrivateKeySigner>().unwrap().address()
}

fn h(s: &Value) -> String {
    s.as_str().unwrap().to_owned()
}

/// The enclave-held signer key of test node `key` (deterministic).
fn node_key(key: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&FixedBytes::repeat_byte(key)).unwrap()
}

/// What kms-node writes at start-up: node `key`'s registration for operator account
/// `op` on `contract`, signed by the node's signer.
fn registration(contract: &str, op: usize, key: u8, platform: NodePlatform) -> Registration {
    RegistrationRequest {
        chain_id: 31337,
        contract: contract.parse().unwrap(),
        operator: addr(op),
        p2p_key: vec![key; 36],
        noise_key: [key.wrapping_add(0x10); 32],
        platform,
        evidence: vec![0xee; 4],
        evidence_issued_at: 1_700_000_000,
    }
    .sign(&node_key(key))
    .unwrap()
}

/// Writes `reg` to a file in `dir`; returns its path.
fn registration_file(dir: &std::path::Path, reg: &Registration) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!(
        "registration-{}.json",
        alloy::hex::encode(reg.signer)
    ));
    std::fs::write(&path, reg.to_json()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Gives node signer `who` ether on anvil (it pays for its epoch confirmations).
async fn fund(rpc: &str, who: Address) {
    let p = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let _: Value = p
        .raw_request(
            "anvil_setBalance".into(),
            (who, U256::from(10u64).pow(U256::from(20))),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn kms_gov__should_deploy_propose_vote_execute_and_refuse_per_the_rules() {
    let anvil = Anvil::spawn().unwrap();
    let mut kms = Kms {
        rpc: anvil.endpoint(),
        contract: None,
    };
    let voters = format!("{},{},{}", addr(0), addr(1), addr(2));

    assert_eq!(
        kms.refused(
            None,
            &[
                "deploy",
                "--voters",
                &voters,
                "--quorum",
                "2",
                "--timelock",
                "1h"
            ]
        ),
        "missing_key"
    );
    let d = kms.ok(
        Some(0),
        &[
            "deploy",
            "--voters",
            &voters,
            "--quorum",
            "2",
            "--timelock",
            "1h",
            "--revoke-quorum",
            "1",
        ],
    );
    let contract = h(&d["contract"]);
    let node_app = h(&d["node_app_id"]);
    assert_eq!(contract.len(), 40);
    assert_eq!(
        node_app,
        alloy::hex::encode(types::app_id(contract.parse().unwrap(), [0; 32]))
    );
    kms.contract = Some(contract.clone());

    // An application with its own two voters.
    let salt = "11".repeat(32);
    let r = kms.ok(
        Some(3),
        &[
            "register-app",
            "--voters",
            &format!("{},{}", addr(3), addr(4)),
            "--quorum",
            "2",
            "--salt",
            &salt,
        ],
    );
    let app = h(&r["app_id"]);
    assert_eq!(app, alloy::hex::encode(types::app_id(addr(3), [0x11; 32])));
    assert_eq!(
        kms.refused(Some(3), &["register-app", "--salt", &salt]),
        "app_exists"
    );

    // Network approval of a kms-node build: quorum 2, timelock 1h.
    let meas = "ab".repeat(32);
    let p = kms.ok(
        Some(0),
        &[
            "propose",
            "approve",
            "--app",
            &node_app,
            "--measurement",
            &meas,
        ],
    );
    assert_eq!(p["proposal"], 1);
    assert_eq!(p["state"], "pending");
    assert_eq!(kms.refused(Some(0), &["vote", "1"]), "already_voted");
    assert_eq!(kms.refused(Some(5), &["vote", "1"]), "not_voter");
    let v = kms.ok(Some(1), &["vote", "1"]);
    assert_eq!(
        (v["votes"].as_u64(), v["state"].as_str()),
        (Some(2), Some("queued"))
    );
    assert_eq!(kms.refused(Some(1), &["execute", "1"]), "timelock_pending");

    // The same vote through --key-file instead of the environment.
    let dir = std::env::temp_dir().join(format!("kms-gov-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("voter2.key");
    std::fs::write(&key_file, format!("0x{}\n", DEV_KEYS[2])).unwrap();
    let v = kms.ok(
        None,
        &["vote", "1", "--key-file", key_file.to_str().unwrap()],
    );
    assert_eq!(v["votes"], 3);

    // Move the chain's clock past the timelock.
    let provider = ProviderBuilder::new().connect_http(kms.rpc.parse().unwrap());
    let _: Value = provider
        .raw_request("evm_increaseTime".into(), (3601u64,))
        .await
        .unwrap();
    let _: Value = provider.raw_request("evm_mine".into(), ()).await.unwrap();
    let e = kms.ok(Some(5), &["execute", "1"]);
    assert_eq!(e["state"], "executed");
    assert_eq!(kms.refused(Some(5), &["execute", "1"]), "proposal_closed");

    let a = kms.ok(None, &["app", &node_app]);
    assert_eq!(a["app_id"].as_str(), Some(node_app.as_str()));
    assert_eq!(a["owner"].as_str().unwrap(), alloy::hex::encode(addr(0)));
    assert_eq!(a["measurements"], serde_json::json!([meas]));

    // The application's own voters approve its build; network voters cannot.
    let m2 = "cd".repeat(32);
    assert_eq!(
        kms.refused(
            Some(0),
            &["propose", "approve", "--app", &app, "--measurement", &m2]
        ),
        "not_voter"
    );
    let p = kms.ok(
        Some(3),
        &["propose", "approve", "--app", &app, "--measurement", &m2],
    );
    assert_eq!(p["proposal"], 2);
    kms.ok(Some(4), &["vote", "2"]);
    kms.ok(Some(4), &["execute", "2"]);
    assert_eq!(
        kms.ok(None, &["app", &app])["measurements"],
        serde_json::json!([m2])
    );

    // Fast revocation: one network voter, no timelock.
    let p = kms.ok(
        Some(2),
        &[
            "propose",
            "revoke",
            "--app",
            &node_app,
            "--measurement",
            &meas,
        ],
    );
    assert_eq!(p["state"], "ready");
    kms.ok(Some(2), &["execute", "3"]);
    assert_eq!(
        kms.ok(None, &["app", &node_app])["measurements"],
        serde_json::json!([])
    );

    let list = kms.ok(None, &["proposals"]);
    assert_eq!(
        (list["total"].as_u64(), list["next_offset"].as_u64()),
        (Some(3), None)
    );
    let list = list["proposals"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    // Newest first.
    for (p, (id, kind, state)) in list.iter().zip([
        (3, "revoke", "executed"),
        (2, "approve", "executed"),
        (1, "approve", "executed"),
    ]) {
        assert_eq!(p["id"].as_u64(), Some(id));
        assert_eq!(
            (p["kind"].as_str(), p["state"].as_str()),
            (Some(kind), Some(state))
        );
        assert!(p["votes"].is_u64() && p.get("eta").is_some() && p["id"].is_u64());
    }
    let only = kms.ok(None, &["proposals", "--app", &app]);
    assert_eq!(only["proposals"].as_array().unwrap().len(), 1);
    assert_eq!(only["proposals"][0]["id"].as_u64(), Some(2));
    // Pages: --limit and --offset, with next_offset for the following page.
    let page = kms.ok(None, &["proposals", "--limit", "2"]);
    assert_eq!(page["proposals"].as_array().unwrap().len(), 2);
    assert_eq!(page["next_offset"].as_u64(), Some(2));
    let page = kms.ok(None, &["proposals", "--limit", "2", "--offset", "2"]);
    assert_eq!(page["proposals"][0]["id"].as_u64(), Some(1));
    assert!(page["next_offset"].is_null());
    let page = kms.ok(None, &["proposals", "--app", &node_app, "--offset", "1"]);
    assert_eq!(
        page["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(
        kms.refused(None, &["proposals", "--limit", "101"]),
        "bad_input"
    );
    // Durations the contract would refuse are refused here first, with its kind.
    assert_eq!(
        kms.refused(Some(3), &["register-app", "--timelock", "400d"]),
        "invalid_timelock"
    );
    assert_eq!(
        kms.refused(
            Some(0),
            &[
                "deploy",
                "--voters",
                &voters,
                "--quorum",
                "2",
                "--timelock",
                "1h",
                "--proposal-lifetime",
                "0s"
            ]
        ),
        "invalid_lifetime"
    );
    assert_eq!(
        kms.refused(Some(0), &["propose", "transition-deadline", "10s"]),
        "invalid_deadline"
    );
    // The settings proposals of the network voters.
    for (args, kind, action) in [
        (
            ["propose", "liveness-rule", "off"],
            "liveness_rule",
            serde_json::json!({"enabled": false}),
        ),
        (
            ["propose", "family-cap", "on"],
            "family_cap",
            serde_json::json!({"enabled": true}),
        ),
        (
            ["propose", "transition-deadline", "6h"],
            "transition_deadline",
            serde_json::json!({"seconds": 21_600}),
        ),
    ] {
        let p = kms.ok(Some(0), &args);
        assert_eq!(
            (p["kind"].as_str(), &p["action"]),
            (Some(kind), &action),
            "{p}"
        );
    }

    // A committee with one vendor at the threshold is refused with its kind.
    let gov = Governance::new(
        contract.parse().unwrap(),
        ProviderBuilder::new()
            .wallet(DEV_KEYS[6].parse::<PrivateKeySigner>().unwrap())
            .connect_http(kms.rpc.parse().unwrap()),
    );
    let mut ids = Vec::new();
    for (k, platform) in [
        (1u8, NodePlatform::hardware(Platform::Tdx).unwrap()),
        (2, NodePlatform::hardware(Platform::Sgx).unwrap()),
        (3, NodePlatform::hardware(Platform::SevSnp).unwrap()),
    ] {
        let reg = registration(&contract, 6, k, platform);
        gov.registerNode(
            Bytes::from(reg.request.p2p_key.clone()),
            FixedBytes::from(reg.request.noise_key),
            platform.code(),
            reg.signer,
            "127.0.0.1:1".into(),
            Bytes::from(reg.signature.to_vec()),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
        ids.push(alloy::hex::encode(reg.node_id()));
    }
    let add = |n: &[usize]| {
        n.iter()
            .flat_map(|i| ["--add".to_owned(), ids[*i].clone()])
            .collect::<Vec<_>>()
    };
    let mut args = vec!["propose".to_owned(), "committee".to_owned()];
    args.extend(add(&[0, 1, 2]));
    args.extend(["--threshold".to_owned(), "2".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Intel (tdx, sgx) holds 2 of the seats at t = 2 (and account 6 operates all three).
    assert_eq!(kms.refused(Some(0), &args), "diversity_violation");
    let mut args = vec!["propose".to_owned(), "committee".to_owned()];
    args.extend(add(&[0, 2]));
    args.extend(["--threshold".to_owned(), "1".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(kms.refused(Some(0), &args), "threshold_too_low");

    assert_eq!(kms.refused(Some(0), &["vote", "99"]), "unknown_proposal");
    assert_eq!(kms.refused(Some(0), &["app", "00"]), "bad_input");
    assert_eq!(
        kms.refused(
            Some(0),
            &[
                "deploy",
                "--voters",
                &voters,
                "--quorum",
                "2",
                "--timelock",
                "1w"
            ]
        ),
        "bad_input"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kms_gov__should_report_an_unreachable_endpoint_with_its_kind() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kms = Kms {
        rpc: format!("http://127.0.0.1:{port}"),
        contract: Some("5fbdb2315678afecb367f032d93f642f64180aa3".into()),
    };
    assert_eq!(kms.refused(None, &["proposals"]), "rpc_unreachable");
}

impl Kms {
    /// Runs `kms SUBCOMMAND ARGS --json` (not under `gov`) signed by dev account `who`.
    fn top(&self, who: Option<usize>, args: &[&str]) -> Value {
        let (code, v) = self.run(who, args);
        assert_eq!(code, 0, "kms {args:?} failed: {v}");
        v
    }
}

#[tokio::test]
async fn kms_node_register_and_network_info__should_show_the_confirmed_committee() {
    let anvil = Anvil::spawn().unwrap();
    let mut kms = Kms {
        rpc: anvil.endpoint(),
        contract: None,
    };
    let voters = format!("{},{}", addr(0), addr(1));
    let d = kms.ok(
        Some(0),
        &[
            "deploy",
            "--voters",
            &voters,
            "--quorum",
            "2",
            "--timelock",
            "0s",
            "--platforms",
            "tdx,simulated",
        ],
    );
    kms.contract = Some(h(&d["contract"]));
    let gov = Governance::new(
        h(&d["contract"]).parse().unwrap(),
        ProviderBuilder::new().connect_http(kms.rpc.parse().unwrap()),
    );
    assert_eq!(gov.allowedPlatforms().call().await.unwrap(), 0b10_0010);
    let p = kms.ok(
        Some(0),
        &["propose", "platforms", "--allow", "tdx,sev-snp,nitro"],
    );
    assert_eq!(
        p["action"]["platforms"],
        serde_json::json!(["tdx", "sev-snp", "nitro"])
    );
    let id = p["proposal"].as_u64().unwrap().to_string();
    kms.ok(Some(1), &["vote", &id]);
    kms.ok(Some(1), &["execute", &id]);

    // The network's attestation values: proposed, voted, read back the way nodes
    // convert them (governance_contract::policy).
    let before = kms.top(None, &["network", "policy"]);
    assert_eq!(
        before["allowed_platforms"],
        serde_json::json!(["tdx", "sev-snp", "nitro"])
    );
    assert!(before["snp_min_tcb"]["milan"].is_null());
    assert_eq!(before["max_evidence_age_secs"], 600);
    for args in [
        vec![
            "--snp-milan",
            "3,0,8,115",
            "--dcap-min-tcb-eval",
            "17",
            "--max-evidence-age",
            "5m",
        ],
        // Flags not given keep their current values.
        vec!["--dcap-max-collateral-age", "30d"],
    ] {
        let mut full = vec!["propose", "network-policy"];
        full.extend(args);
        let p = kms.ok(Some(0), &full);
        assert_eq!(p["kind"], "network_policy");
        let id = p["proposal"].as_u64().unwrap().to_string();
        kms.ok(Some(1), &["vote", &id]);
        kms.ok(Some(1), &["execute", &id]);
    }
    let after = kms.top(None, &["network", "policy"]);
    assert_eq!(
        after["snp_min_tcb"]["milan"],
        serde_json::json!({"fmc": 0, "bootloader": 3, "tee": 0, "snp": 8, "microcode": 115})
    );
    assert!(after["snp_min_tcb"]["genoa"].is_null());
    assert_eq!(after["dcap_min_tcb_evaluation_data_number"], 17);
    assert_eq!(after["dcap_max_collateral_age_secs"], 30 * 86_400);
    assert_eq!(after["max_evidence_age_secs"], 300);
    assert_eq!(
        kms.refused(
            Some(0),
            &["propose", "network-policy", "--snp-turin", "1,2,3,4"]
        ),
        "bad_input"
    );

    let dir = std::env::temp_dir().join(format!("kms-node-test-{}", std::process::id()));
    let contract = kms.contract.clone().unwrap();
    // A registration the signer did not sign, one for another operator, and a
    // simulated node while governance no longer allows simulated platforms.
    let mut forged = registration(
        &contract,
        6,
        6,
        NodePlatform::hardware(Platform::Tdx).unwrap(),
    );
    forged.request.platform = NodePlatform::hardware(Platform::SevSnp).unwrap();
    let (code, v) = kms.run(
        Some(6),
        &[
            "node",
            "register",
            "--registration",
            &registration_file(&dir.join("forged"), &forged),
            "--endpoint",
            "10.0.0.6:7000",
        ],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("bad_registration")),
        "{v}"
    );
    let theirs = registration(
        &contract,
        7,
        6,
        NodePlatform::hardware(Platform::Tdx).unwrap(),
    );
    let (code, v) = kms.run(
        Some(6),
        &[
            "node",
            "register",
            "--registration",
            &registration_file(&dir.join("theirs"), &theirs),
            "--endpoint",
            "10.0.0.6:7000",
        ],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("bad_node_signature")),
        "{v}"
    );
    let sim = registration(&contract, 8, 8, NodePlatform::simulated(2));
    let (code, v) = kms.run(
        Some(8),
        &[
            "node",
            "register",
            "--registration",
            &registration_file(&dir, &sim),
            "--endpoint",
            "10.0.0.8:7000",
        ],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("platform_not_allowed")),
        "{v}"
    );
    // The old flags are gone: nobody declares a vendor.
    let (code, v) = kms.run(
        Some(6),
        &[
            "node",
            "register",
            "--registration",
            "x",
            "--endpoint",
            "e",
            "--vendor",
            "intel",
        ],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (2, Some("usage")),
        "{v}"
    );

    let mut ids = Vec::new();
    let mut regs = Vec::new();
    for (op, platform) in [
        (6usize, NodePlatform::hardware(Platform::Tdx).unwrap()),
        (7, NodePlatform::hardware(Platform::SevSnp).unwrap()),
        (8, NodePlatform::hardware(Platform::Nitro).unwrap()),
    ] {
        let reg = registration(&contract, op, op as u8, platform);
        let endpoint = format!("10.0.0.{op}:7000");
        let r = kms.top(
            Some(op),
            &[
                "node",
                "register",
                "--registration",
                &registration_file(&dir, &reg),
                "--endpoint",
                &endpoint,
            ],
        );
        let id = h(&r["node_id"]);
        assert_eq!(
            id,
            alloy::hex::encode(types::node_id(node_key(op as u8).address()))
        );
        assert_eq!(r["platform"], platform.platform().to_string());
        assert_eq!(r["vendor"], platform.vendor().to_string());
        assert_eq!(r["signer"], alloy::hex::encode(reg.signer));
        fund(&kms.rpc, reg.signer).await;
        ids.push(id);
        regs.push(reg);
    }
    let info = kms.top(None, &["network", "info"]);
    assert_eq!(
        (
            info["epoch"].as_u64(),
            info["committee"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );

    let p = kms.ok(
        Some(0),
        &[
            "propose",
            "committee",
            "--add",
            &ids[0],
            "--add",
            &ids[1],
            "--add",
            &ids[2],
            "--threshold",
            "2",
        ],
    );
    let id = p["proposal"].as_u64().unwrap().to_string();
    assert_eq!(p["kind"], "committee");
    kms.ok(Some(1), &["vote", &id]);
    kms.ok(Some(1), &["execute", &id]);

    // Each node's signer confirms the DKG outcome (kms-node's job; done directly here).
    let mut secp = vec![0x42u8; 33];
    secp[0] = 0x03;
    for key in [6u8, 7, 8] {
        let gov = Governance::new(
            kms.contract.as_ref().unwrap().parse().unwrap(),
            ProviderBuilder::new()
                .wallet(node_key(key))
                .connect_http(kms.rpc.parse().unwrap()),
        );
        gov.confirm(
            1,
            FixedBytes::repeat_byte(0x31),
            Bytes::from(vec![0x41u8; 48]),
            Bytes::from(secp.clone()),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    }
    let info = kms.top(None, &["network", "info"]);
    assert_eq!(
        (info["epoch"].as_u64(), info["threshold"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(info["bls_group_pk"].as_str().unwrap(), "41".repeat(48));
    assert_eq!(
        info["secp_group_pk"].as_str().unwrap(),
        alloy::hex::encode(&secp)
    );
    // Every member confirmed: nobody is listed as not confirmed.
    assert_eq!(info["not_confirmed"], serde_json::json!([]));
    let committee = info["committee"].as_array().unwrap();
    for (i, (c, (vendor, platform))) in committee
        .iter()
        .zip([("intel", "tdx"), ("amd", "sev-snp"), ("aws", "nitro")])
        .enumerate()
    {
        assert_eq!(c["index"].as_u64(), Some(i as u64 + 1));
        assert_eq!(c["node_id"].as_str(), Some(ids[i].as_str()));
        assert_eq!(
            (c["vendor"].as_str(), c["platform"].as_str()),
            (Some(vendor), Some(platform))
        );
        assert!(c["endpoint"].as_str().unwrap().starts_with("10.0.0."));
        assert_eq!(
            c["signer"].as_str().unwrap(),
            alloy::hex::encode(regs[i].signer)
        );
    }
    // Removing a member through the CLI keeps the rest in order.
    let p = kms.ok(
        Some(0),
        &[
            "propose",
            "committee",
            "--remove",
            &ids[1],
            "--threshold",
            "2",
        ],
    );
    assert_eq!(
        p["action"]["committee"],
        serde_json::json!([ids[0], ids[2]])
    );
    // A member cannot leave the registry; its operator deregisters it once it is out.
    let (code, v) = kms.run(Some(6), &["node", "deregister", &ids[0]]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("node_in_committee")),
        "{v}"
    );
    let (code, v) = kms.run(Some(0), &["node", "deregister", &ids[0]]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("not_operator")),
        "{v}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kms_gov_with_devnet__should_take_chain_contract_and_signers_from_the_devnet_dir() {
    let anvil = Anvil::spawn().unwrap();
    let dir = std::env::temp_dir().join(format!("kms-devnet-gov-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    for (n, key) in DEV_KEYS.iter().take(3).enumerate() {
        std::fs::write(dir.join(format!("keys/voter-{}.key", n + 1)), key).unwrap();
    }
    std::fs::write(dir.join("keys/operator-1.key"), DEV_KEYS[6]).unwrap();
    let state = dir.join("devnet.json");
    std::fs::write(
        &state,
        serde_json::json!({ "rpc": anvil.endpoint() }).to_string(),
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    // A stale environment must not redirect devnet commands elsewhere.
    let stale = [
        ("KMS_RPC_URL", "http://127.0.0.1:9"),
        ("KMS_CONTRACT", "5fbdb2315678afecb367f032d93f642f64180aa3"),
    ];

    let voters = format!("{},{},{}", addr(0), addr(1), addr(2));
    let (code, v) = kms::run(&["gov", "proposals", "--devnet", d], &stale);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("missing_contract")),
        "{v}"
    );
    let (code, v) = kms::run(
        &[
            "gov",
            "deploy",
            "--devnet",
            d,
            "--as",
            "voter:1",
            "--voters",
            &voters,
            "--quorum",
            "2",
            "--timelock",
            "0s",
        ],
        &stale,
    );
    assert_eq!(code, 0, "{v}");
    let contract = h(&v["contract"]);
    std::fs::write(
        &state,
        serde_json::json!({ "rpc": anvil.endpoint(), "contract": contract, "nodes": [] })
            .to_string(),
    )
    .unwrap();

    let node_app = h(&v["node_app_id"]);
    let m = "ab".repeat(32);
    let (code, p) = kms::run(
        &[
            "gov",
            "propose",
            "approve",
            "--app",
            &node_app,
            "--measurement",
            &m,
            "--devnet",
            d,
            "--as",
            "voter:2",
        ],
        &stale,
    );
    assert_eq!(code, 0, "{p}");
    let id = p["proposal"].as_u64().unwrap().to_string();
    // voter:2 proposed (and so voted); voter:3 completes the quorum of 2.
    let (code, v) = kms::run(
        &["gov", "vote", &id, "--devnet", d, "--as", "voter:3"],
        &stale,
    );
    assert_eq!(code, 0, "{v}");
    let (code, v) = kms::run(
        &["gov", "execute", &id, "--devnet", d, "--as", "voter:1"],
        &stale,
    );
    assert_eq!(code, 0, "{v}");
    let (code, v) = kms::run(&["gov", "app", &node_app, "--devnet", d], &stale);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["measurements"], serde_json::json!([m]));

    // Refusals, each with its kind.
    let kind = |args: &[&str]| {
        let (code, v) = kms::run(args, &[]);
        (
            code,
            v["error"]["kind"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(
        kind(&["gov", "vote", &id, "--devnet", d, "--as", "voter:4"]),
        (1, "unknown_signer".into())
    );
    assert_eq!(
        kind(&["gov", "vote", &id, "--as", "voter:1"]),
        (2, "usage".into()),
        "--as needs --devnet"
    );
    assert_eq!(
        kind(&[
            "gov",
            "vote",
            &id,
            "--devnet",
            d,
            "--as",
            "voter:1",
            "--key-file",
            "/dev/null"
        ]),
        (2, "usage".into()),
        "--as and --key-file conflict"
    );
    assert_eq!(
        kind(&["gov", "vote", &id, "--devnet", d, "--as", "admin:1"]),
        (2, "usage".into())
    );
    assert_eq!(
        kind(&["gov", "proposals", "--devnet", "/nonexistent/devnet"]),
        (1, "devnet_not_found".into())
    );
    let (code, v) = kms::run(&["network", "info", "--devnet", d], &[]);
    assert_eq!((code, v["epoch"].as_u64()), (0, Some(0)), "{v}");
    let reg = registration(
        &contract,
        6,
        0x17,
        NodePlatform::hardware(Platform::Tdx).unwrap(),
    );
    let file = registration_file(&dir, &reg);
    let (code, v) = kms::run(
        &[
            "node",
            "register",
            "--devnet",
            d,
            "--as",
            "operator:1",
            "--registration",
            &file,
            "--endpoint",
            "127.0.0.1:7001",
        ],
        &[],
    );
    assert_eq!(code, 0, "{v}");
    let (code, v3) = kms::run(
        &[
            "node",
            "set-endpoint",
            h(&v["node_id"]).as_str(),
            "10.9.9.9:7001",
            "--devnet",
            d,
            "--as",
            "operator:1",
        ],
        &[],
    );
    assert_eq!(
        (code, v3["endpoint"].as_str()),
        (0, Some("10.9.9.9:7001")),
        "{v3}"
    );
    let (code, v4) = kms::run(
        &[
            "node",
            "set-endpoint",
            h(&v["node_id"]).as_str(),
            "x:1",
            "--devnet",
            d,
        ],
        &[("KMS_PRIVATE_KEY", DEV_KEYS[7])],
    );
    assert_eq!(
        (code, v4["error"]["kind"].as_str()),
        (1, Some("not_operator")),
        "{v4}"
    );
    let (code, v2) = kms::run(
        &[
            "node",
            "deregister",
            h(&v["node_id"]).as_str(),
            "--devnet",
            d,
            "--as",
            "operator:1",
        ],
        &[],
    );
    assert_eq!(
        (code, v2["deregistered"].as_bool()),
        (0, Some(true)),
        "{v2}"
    );
    assert_eq!(v["operator"], alloy::hex::encode(addr(6)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn kms_network_info__should_list_members_that_did_not_confirm_a_deadline_activation() {
    let anvil = Anvil::spawn().unwrap();
    let mut kms = Kms {
        rpc: anvil.endpoint(),
        contract: None,
    };
    let d = kms.ok(
        Some(0),
        &[
            "deploy",
            "--voters",
            &addr(0).to_string(),
            "--quorum",
            "1",
            "--timelock",
            "0s",
            "--platforms",
            "tdx,sev-snp,nitro,simulated",
            "--transition-deadline",
            "60s",
        ],
    );
    let contract = h(&d["contract"]);
    kms.contract = Some(contract.clone());
    let dir = std::env::temp_dir().join(format!("kms-deadline-test-{}", std::process::id()));
    let mut ids = Vec::new();
    for (op, platform) in [
        (6usize, NodePlatform::hardware(Platform::Tdx).unwrap()),
        (7, NodePlatform::hardware(Platform::SevSnp).unwrap()),
        (8, NodePlatform::hardware(Platform::Nitro).unwrap()),
        (9, NodePlatform::simulated(1)),
    ] {
        let reg = registration(&contract, op, op as u8, platform);
        let r = kms.top(
            Some(op),
            &[
                "node",
                "register",
                "--registration",
                &registration_file(&dir, &reg),
                "--endpoint",
                "10.0.0.1:7000",
            ],
        );
        fund(&kms.rpc, reg.signer).await;
        ids.push(h(&r["node_id"]));
    }
    // n = 4, t = 2: after the deadline min(4, 3) = 3 matching confirmations suffice.
    let mut args = vec!["propose", "committee", "--threshold", "2"];
    for id in &ids {
        args.extend(["--add", id.as_str()]);
    }
    let p = kms.ok(Some(0), &args);
    kms.ok(
        Some(0),
        &["execute", &p["proposal"].as_u64().unwrap().to_string()],
    );
    let mut secp = vec![0x42u8; 33];
    secp[0] = 0x02;
    let confirm = |key: u8| {
        let secp = secp.clone();
        let gov = Governance::new(
            contract.parse().unwrap(),
            ProviderBuilder::new()
                .wallet(node_key(key))
                .connect_http(kms.rpc.parse().unwrap()),
        );
        async move {
            gov.confirm(
                1,
                FixedBytes::repeat_byte(0x31),
                Bytes::from(vec![0x41u8; 48]),
                Bytes::from(secp),
            )
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        }
    };
    confirm(6).await;
    confirm(7).await;
    let info = kms.top(None, &["network", "info"]);
    assert_eq!(info["epoch"].as_u64(), Some(0), "{info}");
    let provider = ProviderBuilder::new().connect_http(kms.rpc.parse().unwrap());
    let _: Value = provider
        .raw_request("evm_increaseTime".into(), (61u64,))
        .await
        .unwrap();
    let _: Value = provider.raw_request("evm_mine".into(), ()).await.unwrap();
    // The third matching confirmation after the deadline activates the epoch.
    confirm(8).await;
    let info = kms.top(None, &["network", "info"]);
    assert_eq!(info["epoch"].as_u64(), Some(1), "{info}");
    assert_eq!(info["not_confirmed"], serde_json::json!([ids[3]]));
    let _ = std::fs::remove_dir_all(&dir);
}
