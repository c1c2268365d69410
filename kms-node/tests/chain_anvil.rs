//! The chain watcher on a real chain: anvil (governance-contract's harness) mining one
//! block per `BLOCK_TIME`, the contract deployed, three nodes registered and a
//! committee proposed. Every wait is derived from the watcher's configuration and the
//! block time, and bounded by a deadline.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Bytes, FixedBytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use governance_contract::anvil::{Anvil, DEV_KEYS};
use governance_contract::{Governance, NodePlatform, RegistrationRequest};
use kms_node::chain::rpc::RpcGovernance;
use kms_node::chain::watcher::{ChainState, ChainWatcher, Stale, WatchConfig};
use kms_node::chain::{Error, ReadGovernance};
use kms_node::config::ContractAddress;

/// anvil's interval mining (`evm_setIntervalMining`), whole seconds.
const BLOCK_TIME: Duration = Duration::from_secs(1);

/// Bits 1..=5: tdx, sgx, sev-snp, nitro, simulated.
const ALL_PLATFORMS: u32 = 0b11_1110;

fn config() -> WatchConfig {
    WatchConfig {
        confirmation_depth: 2,
        poll_interval: Duration::from_millis(200),
        // The configuration requires more than one block time.
        max_head_age: BLOCK_TIME * 4,
    }
}

fn account(i: usize) -> PrivateKeySigner {
    DEV_KEYS[i].parse().unwrap()
}

fn provider(url: &str, signer: PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_client(governance_contract::rpc::connect(url).unwrap())
        .erased()
}

/// Sends a call and waits for a successful receipt; returns its block.
macro_rules! tx {
    ($call:expr) => {{
        let receipt = $call.send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status());
        receipt
    }};
}

fn proposal_id(r: &alloy::rpc::types::TransactionReceipt) -> U256 {
    r.inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<Governance::ProposalCreated>().ok())
        .map(|l| l.inner.data.id)
        .expect("ProposalCreated")
}

/// Waits until `done` holds for a published state, polling the watcher, at most
/// `limit`.
async fn wait_for(
    watcher: &ChainWatcher,
    limit: Duration,
    what: &str,
    done: impl Fn(&ChainState) -> bool,
) -> ChainState {
    let mut rx = watcher.subscribe();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let state = rx.borrow_and_update().clone();
        if done(&state) {
            return state;
        }
        if tokio::time::timeout_at(deadline, rx.changed())
            .await
            .is_err()
        {
            panic!("{what}: not within {limit:?}; last state {state:?}");
        }
    }
}

#[tokio::test]
async fn watcher__should_follow_anvil_at_the_depth_and_go_stale_when_it_stops() {
    let anvil = Anvil::spawn().unwrap();
    let url = anvil.endpoint();
    let admin = provider(&url, account(0));
    let gov = Governance::deploy(
        admin.clone(),
        vec![account(0).address()],
        1,
        1,
        0,
        86_400,
        false,
        ALL_PLATFORMS,
        3600,
    )
    .await
    .unwrap();
    let address = *gov.address();

    // Three nodes of three vendors and operators, each registration signed by the
    // node's own signer.
    let mut ids = Vec::new();
    for (i, platform) in [
        NodePlatform::hardware(governance_contract::Platform::Tdx).unwrap(),
        NodePlatform::hardware(governance_contract::Platform::SevSnp).unwrap(),
        NodePlatform::hardware(governance_contract::Platform::Nitro).unwrap(),
    ]
    .into_iter()
    .enumerate()
    {
        let key = u8::try_from(i).unwrap() + 1;
        let op = account(i + 1);
        let reg = RegistrationRequest {
            chain_id: 31337,
            contract: address,
            operator: op.address(),
            p2p_key: vec![key; 36],
            noise_key: [key; 32],
            platform,
            evidence: vec![],
            evidence_issued_at: 0,
        }
        .sign(&PrivateKeySigner::from_bytes(&FixedBytes::repeat_byte(key)).unwrap())
        .unwrap();
        let as_op = Governance::new(address, provider(&url, op));
        tx!(as_op.registerNode(
            Bytes::from(reg.request.p2p_key.clone()),
            FixedBytes::from(reg.request.noise_key),
            platform.code(),
            reg.signer,
            format!("127.0.0.1:900{key}"),
            Bytes::from(reg.signature.to_vec()),
        ));
        ids.push(FixedBytes::from(reg.node_id()));
    }
    let r = tx!(gov.proposeCommittee(ids.clone(), 2));
    tx!(gov.execute(proposal_id(&r)));
    let app = gov.nodeAppId().call().await.unwrap();
    let build = FixedBytes::repeat_byte(0x42);
    let r = tx!(gov.proposeApprove(app, build));
    let approved = tx!(gov.execute(proposal_id(&r))).block_number.unwrap();

    // From now on anvil mines one block per BLOCK_TIME, transactions or not.
    let _: serde_json::Value = admin
        .raw_request("evm_setIntervalMining".into(), (BLOCK_TIME.as_secs(),))
        .await
        .unwrap();

    let reader = RpcGovernance::connect(&url, ContractAddress(address.into_array())).unwrap();
    let c = config();
    let watcher = ChainWatcher::spawn(reader.clone(), c);
    // The approval must get `depth` blocks deep: `depth` block times, plus a poll and a
    // block of slack.
    let reach = BLOCK_TIME * u32::try_from(c.confirmation_depth + 2).unwrap() + c.poll_interval;
    let state = wait_for(&watcher, reach, "view at the approval", |s| {
        s.view.as_ref().is_some_and(|v| v.block.number >= approved)
    })
    .await;
    let view = state.view.clone().unwrap();

    // Pinned exactly `depth` below the head the same poll saw.
    assert_eq!(
        state.head.unwrap() - view.block.number,
        c.confirmation_depth
    );
    let block = admin
        .get_block_by_number(view.block.number.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.block.timestamp, block.header.timestamp);

    // The pending epoch and its members' records.
    assert!(view.active.is_none());
    let pending = view.pending.as_ref().unwrap();
    assert_eq!((pending.number, pending.threshold), (1, 2));
    assert_eq!(
        pending.committee,
        ids.iter().map(|id| id.0).collect::<Vec<_>>()
    );
    let members: Vec<_> = view.pending_members().collect();
    assert_eq!(members.len(), 3);
    for (i, (n, platform)) in members
        .iter()
        .zip([
            NodePlatform::hardware(governance_contract::Platform::Tdx).unwrap(),
            NodePlatform::hardware(governance_contract::Platform::SevSnp).unwrap(),
            NodePlatform::hardware(governance_contract::Platform::Nitro).unwrap(),
        ])
        .enumerate()
    {
        let key = u8::try_from(i).unwrap() + 1;
        assert_eq!(n.platform, platform);
        assert_eq!(n.noise_key, [key; 32]);
        assert_eq!(n.p2p_key, vec![key; 36]);
        assert_eq!(n.endpoint, format!("127.0.0.1:900{key}"));
        assert_eq!(n.operator, account(i + 1).address().into_array());
        assert_eq!(
            n.signer,
            PrivateKeySigner::from_bytes(&FixedBytes::repeat_byte(key))
                .unwrap()
                .address()
                .into_array()
        );
    }

    // The policy: the deployed platforms and the approved build.
    assert_eq!(view.node_app_id, app.0);
    assert!(view.is_node_build_approved(&build.0));
    assert_eq!(
        view.policy.allowed_platforms.len(),
        5,
        "{:?}",
        view.policy.allowed_platforms
    );
    assert!(view
        .policy
        .approved_measurements
        .contains(&attestation_gate::Measurement(build.0)));

    // Reads are pinned: before the approval's block the build was not approved.
    assert!(reader
        .is_approved(view.block.number, app.0, build.0)
        .await
        .unwrap());
    assert!(!reader
        .is_approved(approved - 1, app.0, build.0)
        .await
        .unwrap());
    assert!(!reader
        .is_approved(view.block.number, app.0, [0x43; 32])
        .await
        .unwrap());

    // The events the watcher follows: registrations, the proposals, the approval.
    let events = reader.events(0, approved).await.unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.summary.split([' ', '(', '{']).next().unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| **n == "NodeRegistered").count(),
        3,
        "{names:?}"
    );
    assert!(names.contains(&"EpochProposed"), "{names:?}");
    assert_eq!(events.last().unwrap().block, approved);
    assert!(events.iter().all(|e| e.block <= approved));
    // Only the node events may change a record; after the others the watcher keeps
    // the records it holds, and a read that keeps them is the full read.
    for (e, name) in events.iter().zip(&names) {
        let node_event = matches!(*name, "NodeRegistered" | "NodeEndpointChanged");
        assert_eq!(e.changes_nodes, node_event, "{}", e.summary);
    }
    let full = reader.read_at(view.block.number).await.unwrap();
    assert_eq!(full, *view);
    let kept = reader
        .read_at_known(view.block.number, &view.nodes)
        .await
        .unwrap();
    assert_eq!(kept, full);

    // The head keeps moving, and the view with it, `depth` behind.
    let next = wait_for(&watcher, reach, "a later view", |s| {
        s.view
            .as_ref()
            .is_some_and(|v| v.block.number > view.block.number)
    })
    .await;
    assert_eq!(
        next.head.unwrap() - next.view.as_ref().unwrap().block.number,
        c.confirmation_depth
    );
    assert!(watcher.check().is_ok(), "{:?}", watcher.check());

    // Stop the chain: the last view is kept, with the error, until it is older than
    // the bound. Its block is `depth` block times old already, so the bound passes
    // within `max_head_age` plus a poll.
    drop(anvil);
    let stopped = Instant::now();
    let limit = c.max_head_age + c.poll_interval * 2;
    let failed = wait_for(&watcher, limit, "the poll error", |s| {
        s.last_error.is_some()
    })
    .await;
    assert!(
        matches!(failed.last_error, Some(Error::Rpc(_))),
        "{:?}",
        failed.last_error
    );
    assert!(failed.view.is_some(), "the last view is kept");
    let stale = loop {
        match watcher.check() {
            Err(stale) => break stale,
            Ok(_) => {
                assert!(
                    stopped.elapsed() < limit,
                    "still fresh {:?} after anvil stopped",
                    stopped.elapsed()
                );
                tokio::time::sleep(c.poll_interval).await;
            }
        }
    };
    let Stale::TooOld {
        age,
        max,
        last_error,
        ..
    } = stale
    else {
        panic!("{stale:?}")
    };
    assert!(age > max && max == c.max_head_age, "{age:?} {max:?}");
    assert!(matches!(last_error, Some(Error::Rpc(_))), "{last_error:?}");
}

/// A read through the wrong contract address names the failed call.
#[tokio::test]
async fn read_at__should_fail_typed_without_a_contract() {
    let anvil = Anvil::spawn().unwrap();
    let url = anvil.endpoint();
    let reader = RpcGovernance::connect(&url, ContractAddress([0x11; 20])).unwrap();
    let head = reader.head().await.unwrap();
    let err = reader.read_at(head).await.unwrap_err();
    assert!(matches!(err, Error::Call { .. }), "{err:?}");
    let err = reader.read_at(head + 100).await.unwrap_err();
    assert_eq!(err, Error::MissingBlock(head + 100));
    assert!(matches!(
        RpcGovernance::connect("ws://127.0.0.1:1", ContractAddress([0; 20])),
        Err(Error::Endpoint { .. })
    ));
}

/// What the app service asks the chain: approved, revoked (from the contract's
/// `MeasurementRevoked` events), never approved, or an unknown app, each at a pinned
/// block.
#[tokio::test]
async fn app_approval__should_tell_approved_revoked_never_approved_and_unknown_apart() {
    use kms_node::chain::AppApproval;
    let anvil = Anvil::spawn().unwrap();
    let url = anvil.endpoint();
    let admin = provider(&url, account(0));
    let gov = Governance::deploy(
        admin,
        vec![account(0).address()],
        1,
        1,
        0,
        86_400,
        false,
        ALL_PLATFORMS,
        3600,
    )
    .await
    .unwrap();
    let app = gov.nodeAppId().call().await.unwrap();
    let build = FixedBytes::repeat_byte(0x42);
    let r = tx!(gov.proposeApprove(app, build));
    let approved = tx!(gov.execute(proposal_id(&r))).block_number.unwrap();
    let r = tx!(gov.proposeRevoke(app, build));
    let revoked = tx!(gov.execute(proposal_id(&r))).block_number.unwrap();
    let r = tx!(gov.proposeApprove(app, build));
    let again = tx!(gov.execute(proposal_id(&r))).block_number.unwrap();

    let reader = RpcGovernance::connect(&url, ContractAddress(*gov.address().0)).unwrap();
    let at = |n: u64, app: [u8; 32], m: [u8; 32]| {
        let reader = reader.clone();
        async move { reader.app_approval(n, app, m).await.unwrap() }
    };
    assert_eq!(
        at(approved - 1, app.0, build.0).await,
        AppApproval::NotApproved
    );
    assert_eq!(at(approved, app.0, build.0).await, AppApproval::Approved);
    assert_eq!(at(revoked, app.0, build.0).await, AppApproval::Revoked);
    assert_eq!(at(again - 1, app.0, build.0).await, AppApproval::Revoked);
    assert_eq!(at(again, app.0, build.0).await, AppApproval::Approved);
    assert_eq!(at(again, app.0, [0x43; 32]).await, AppApproval::NotApproved);
    assert_eq!(
        at(again, [0x99; 32], build.0).await,
        AppApproval::UnknownApp
    );
}
