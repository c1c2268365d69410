//! The governance contract on a real node (anvil from the pinned npm package): proposal
//! life-cycle, timelock, double votes, fast revocation, expiry, councils, applications,
//! the diversity rule and epoch confirmation.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, Bytes, FixedBytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use governance_contract::anvil::{Anvil, DEV_KEYS};
use governance_contract::{
    decode_contract_error, types, EpochInfo, EpochStatus, Governance, ProposalInfo, ProposalState,
};

type Gov = Governance::GovernanceInstance<DynProvider>;

/// Bits 1..=5: tdx, sgx, sev-snp, nitro, simulated.
const ALL_PLATFORMS: u32 = 0b11_1110;

struct Net {
    _anvil: Anvil,
    url: String,
    address: Address,
}

fn signer(i: usize) -> PrivateKeySigner {
    DEV_KEYS[i].parse().unwrap()
}

fn addr(i: usize) -> Address {
    signer(i).address()
}

fn provider(url: &str, i: usize) -> DynProvider {
    ProviderBuilder::new()
        .wallet(signer(i))
        .connect_http(url.parse().unwrap())
        .erased()
}

impl Net {
    /// Anvil plus a Governance deployed by account 0 with network voters `voters`.
    async fn start(
        voters: &[usize],
        quorum: u16,
        revoke: u16,
        timelock: u64,
        lifetime: u64,
        family_cap: bool,
    ) -> Self {
        let anvil = Anvil::spawn().unwrap();
        let url = anvil.endpoint();
        let gov = Governance::deploy(
            provider(&url, 0),
            voters.iter().map(|i| addr(*i)).collect(),
            quorum,
            revoke,
            timelock,
            lifetime,
            family_cap,
            ALL_PLATFORMS,
        )
        .await
        .unwrap();
        let address = *gov.address();
        Self {
            _anvil: anvil,
            url,
            address,
        }
    }

    fn as_(&self, i: usize) -> Gov {
        Governance::new(self.address, provider(&self.url, i))
    }

    async fn warp(&self, secs: u64) {
        let p = provider(&self.url, 0);
        let _: serde_json::Value = p
            .raw_request("evm_increaseTime".into(), (secs,))
            .await
            .unwrap();
        let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.unwrap();
    }

    async fn proposal(&self, id: u64) -> ProposalInfo {
        ProposalInfo::try_from(self.as_(0).proposal(U256::from(id)).call().await.unwrap()).unwrap()
    }

    async fn node_app(&self) -> FixedBytes<32> {
        self.as_(0).nodeAppId().call().await.unwrap()
    }
}

/// Asserts that the call is refused by the contract with `kind`.
macro_rules! refused {
    ($call:expr, $kind:expr) => {
        assert_eq!(tx!($call).unwrap_err(), $kind)
    };
}

/// Sends a call and waits for its receipt: `Ok(receipt)` or `Err(kind)` of the
/// contract's custom error (panics on anything else).
macro_rules! tx {
    ($call:expr) => {{
        match $call.send().await {
            Ok(pending) => {
                let receipt: TransactionReceipt = pending.get_receipt().await.unwrap();
                assert!(receipt.status(), "transaction reverted after estimation");
                Ok(receipt)
            }
            Err(e) => Err(decode_contract_error(&e)
                .unwrap_or_else(|| panic!("not a governance error: {e}"))
                .kind()),
        }
    }};
}

fn proposal_id(r: &TransactionReceipt) -> u64 {
    r.inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<Governance::ProposalCreated>().ok())
        .map(|l| u64::try_from(l.inner.data.id).unwrap())
        .expect("ProposalCreated event")
}

fn m(b: u8) -> FixedBytes<32> {
    FixedBytes::repeat_byte(b)
}

#[tokio::test]
async fn proposal__should_go_from_votes_through_the_timelock_to_execution() {
    let net = Net::start(&[0, 1, 2], 2, 1, 3600, 7 * 86400, false).await;
    let app = net.node_app().await;
    assert_eq!(app.0, types::app_id(net.address, [0; 32]));

    let r = tx!(net.as_(0).proposeApprove(app, m(1))).unwrap();
    let id = proposal_id(&r);
    let p = net.proposal(id).await;
    assert_eq!(
        (p.state, p.votes, p.required),
        (ProposalState::Pending, 1, 2)
    );
    refused!(net.as_(3).execute(U256::from(id)), "quorum_not_reached");

    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    let p = net.proposal(id).await;
    assert_eq!(p.state, ProposalState::Queued);
    assert!(p.eta.unwrap() >= p.created_at + 3600);
    refused!(net.as_(3).execute(U256::from(id)), "timelock_pending");
    assert!(!net.as_(0).isApproved(app, m(1)).call().await.unwrap());

    net.warp(3601).await;
    assert_eq!(net.proposal(id).await.state, ProposalState::Ready);
    let r = tx!(net.as_(3).execute(U256::from(id))).unwrap();
    assert!(r
        .inner
        .logs()
        .iter()
        .any(|l| l.log_decode::<Governance::MeasurementApproved>().is_ok()));
    assert!(net.as_(0).isApproved(app, m(1)).call().await.unwrap());
    assert_eq!(net.proposal(id).await.state, ProposalState::Executed);
    refused!(net.as_(3).execute(U256::from(id)), "proposal_closed");
    refused!(net.as_(2).vote(U256::from(id)), "proposal_closed");
    refused!(net.as_(0).proposeApprove(app, m(1)), "already_approved");
}

#[tokio::test]
async fn vote__should_refuse_a_double_vote_and_a_non_voter() {
    let net = Net::start(&[0, 1, 2], 3, 1, 0, 86400, false).await;
    let app = net.node_app().await;
    let id = proposal_id(&tx!(net.as_(0).proposeApprove(app, m(2))).unwrap());
    refused!(net.as_(0).vote(U256::from(id)), "already_voted");
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    refused!(net.as_(1).vote(U256::from(id)), "already_voted");
    refused!(net.as_(5).vote(U256::from(id)), "not_voter");
    refused!(net.as_(5).proposeApprove(app, m(3)), "not_voter");
    refused!(net.as_(0).vote(U256::from(99)), "unknown_proposal");
    assert_eq!(net.proposal(id).await.votes, 2);
    refused!(net.as_(0).execute(U256::from(id)), "quorum_not_reached");
    tx!(net.as_(2).vote(U256::from(id))).unwrap();
    tx!(net.as_(0).execute(U256::from(id))).unwrap();
}

#[tokio::test]
async fn revoke__should_take_the_fast_path_with_its_own_quorum_and_no_timelock() {
    let net = Net::start(&[0, 1, 2], 2, 1, 86400, 7 * 86400, false).await;
    let app = net.node_app().await;
    let id = proposal_id(&tx!(net.as_(0).proposeApprove(app, m(4))).unwrap());
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    net.warp(86401).await;
    tx!(net.as_(0).execute(U256::from(id))).unwrap();
    assert!(net.as_(0).isApproved(app, m(4)).call().await.unwrap());

    // One voter (revocation quorum 1), executable in the same minute.
    let rid = proposal_id(&tx!(net.as_(2).proposeRevoke(app, m(4))).unwrap());
    let p = net.proposal(rid).await;
    assert_eq!((p.state, p.required), (ProposalState::Ready, 1));
    tx!(net.as_(2).execute(U256::from(rid))).unwrap();
    assert!(!net.as_(0).isApproved(app, m(4)).call().await.unwrap());
    refused!(net.as_(2).proposeRevoke(app, m(4)), "not_approved");
}

#[tokio::test]
async fn proposal__should_expire_and_cancelled_ones_should_never_execute() {
    let net = Net::start(&[0, 1, 2], 2, 1, 0, 3600, false).await;
    let app = net.node_app().await;
    let late = proposal_id(&tx!(net.as_(0).proposeApprove(app, m(5))).unwrap());
    let cancelled = proposal_id(&tx!(net.as_(1).proposeApprove(app, m(6))).unwrap());
    refused!(net.as_(0).cancel(U256::from(cancelled)), "not_proposer");
    tx!(net.as_(1).cancel(U256::from(cancelled))).unwrap();
    refused!(net.as_(0).vote(U256::from(cancelled)), "proposal_closed");
    refused!(net.as_(0).execute(U256::from(cancelled)), "proposal_closed");
    assert_eq!(
        net.proposal(cancelled).await.state,
        ProposalState::Cancelled
    );

    net.warp(3700).await;
    assert_eq!(net.proposal(late).await.state, ProposalState::Expired);
    refused!(net.as_(1).vote(U256::from(late)), "proposal_expired");
    refused!(net.as_(1).execute(U256::from(late)), "proposal_expired");
    assert!(!net.as_(0).isApproved(app, m(5)).call().await.unwrap());
}

#[tokio::test]
async fn council__should_change_voters_and_quorum_only_through_a_proposal() {
    let net = Net::start(&[0, 1, 2], 2, 1, 0, 86400, false).await;
    let app = net.node_app().await;
    // A proposal voted by 0 and 2 before 2 is removed.
    let old = proposal_id(&tx!(net.as_(0).proposeApprove(app, m(7))).unwrap());
    tx!(net.as_(2).vote(U256::from(old))).unwrap();

    let id = proposal_id(
        &tx!(net
            .as_(0)
            .proposeCouncil(app, vec![addr(0), addr(1), addr(3)], 2, 2, 0))
        .unwrap(),
    );
    refused!(
        net.as_(0)
            .proposeCouncil(app, vec![addr(0), addr(0)], 1, 1, 0),
        "duplicate_voter"
    );
    refused!(
        net.as_(0).proposeCouncil(app, vec![addr(0)], 2, 1, 0),
        "invalid_quorum"
    );
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    tx!(net.as_(1).execute(U256::from(id))).unwrap();
    let a = types::AppInfo::from(net.as_(0).app(app).call().await.unwrap());
    assert_eq!(a.voters, vec![addr(0), addr(1), addr(3)]);
    assert_eq!((a.quorum, a.revoke_quorum), (2, 2));
    refused!(net.as_(2).proposeApprove(app, m(8)), "not_voter");
    // The removed voter's vote no longer counts.
    assert_eq!(net.proposal(old).await.votes, 1);
    refused!(net.as_(0).execute(U256::from(old)), "quorum_not_reached");
    tx!(net.as_(3).vote(U256::from(old))).unwrap();
    tx!(net.as_(0).execute(U256::from(old))).unwrap();
}

#[tokio::test]
async fn execute__should_accept_a_quorum_reached_by_lowering_the_quorum() {
    let net = Net::start(&[0, 1, 2], 3, 1, 0, 86400, false).await;
    let app = net.node_app().await;
    let id = proposal_id(&tx!(net.as_(0).proposeApprove(app, m(9))).unwrap());
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    refused!(net.as_(0).execute(U256::from(id)), "quorum_not_reached");
    let c = proposal_id(
        &tx!(net
            .as_(0)
            .proposeCouncil(app, vec![addr(0), addr(1), addr(2)], 2, 1, 0))
        .unwrap(),
    );
    tx!(net.as_(1).vote(U256::from(c))).unwrap();
    tx!(net.as_(2).vote(U256::from(c))).unwrap();
    tx!(net.as_(0).execute(U256::from(c))).unwrap();
    // Nobody is left to vote, yet the two votes now meet the quorum.
    assert_eq!(net.proposal(id).await.state, ProposalState::Pending);
    tx!(net.as_(2).execute(U256::from(id))).unwrap();
    assert!(net.as_(0).isApproved(app, m(9)).call().await.unwrap());
}

#[tokio::test]
async fn register_app__should_be_governed_by_its_own_voters() {
    let net = Net::start(&[0, 1, 2], 2, 1, 3600, 86400, false).await;
    let salt = FixedBytes::repeat_byte(9);
    tx!(net
        .as_(4)
        .registerApp(salt, vec![addr(4), addr(5)], 2, 1, 0))
    .unwrap();
    let app = FixedBytes::from(types::app_id(addr(4), salt.0));
    refused!(net.as_(4).registerApp(salt, vec![], 1, 1, 0), "app_exists");
    // Network voters have no say over it.
    refused!(net.as_(0).proposeApprove(app, m(1)), "not_voter");
    let id = proposal_id(&tx!(net.as_(4).proposeApprove(app, m(1))).unwrap());
    refused!(net.as_(0).vote(U256::from(id)), "not_voter");
    tx!(net.as_(5).vote(U256::from(id))).unwrap();
    tx!(net.as_(0).execute(U256::from(id))).unwrap();
    let a = types::AppInfo::from(net.as_(0).app(app).call().await.unwrap());
    assert_eq!(a.owner, addr(4));
    assert_eq!(a.measurements, vec![[1u8; 32]]);
    assert!(!net
        .as_(0)
        .isApproved(net.node_app().await, m(1))
        .call()
        .await
        .unwrap());

    // Default council: the caller alone, quorum 1, no timelock.
    tx!(net.as_(6).registerApp(salt, vec![], 1, 1, 0)).unwrap();
    let own = FixedBytes::from(types::app_id(addr(6), salt.0));
    let a = types::AppInfo::from(net.as_(0).app(own).call().await.unwrap());
    assert_eq!((a.voters, a.quorum, a.timelock), (vec![addr(6)], 1, 0));
    let id = proposal_id(&tx!(net.as_(6).proposeApprove(own, m(2))).unwrap());
    tx!(net.as_(6).execute(U256::from(id))).unwrap();
    assert!(net.as_(0).isApproved(own, m(2)).call().await.unwrap());
    refused!(net.as_(6).proposeApprove(m(0xee), m(2)), "unknown_app");
}

/// Registers a node operated by account `op`; returns its id.
async fn register(
    net: &Net,
    op: usize,
    key: u8,
    vendor: u8,
    platform: u8,
    family: u8,
) -> FixedBytes<32> {
    let p2p = Bytes::from(vec![key; 36]);
    tx!(net.as_(op).registerNode(
        p2p.clone(),
        FixedBytes::repeat_byte(key),
        vendor,
        platform,
        family,
        format!("127.0.0.1:{}", 9000 + u16::from(key))
    ))
    .unwrap();
    FixedBytes::from(types::node_id(&p2p))
}

/// Proposes and executes (quorum 1, no timelock) a committee; returns the refusal kind.
async fn set_committee(net: &Net, nodes: &[FixedBytes<32>], t: u16) -> Result<(), &'static str> {
    let r = tx!(net.as_(0).proposeCommittee(nodes.to_vec(), t))?;
    tx!(net.as_(0).execute(U256::from(proposal_id(&r))))?;
    Ok(())
}

#[tokio::test]
async fn committee__should_refuse_vendor_operator_and_family_caps_and_t_at_most_half() {
    let net = Net::start(&[0], 1, 1, 0, 86400, true).await;
    let intel_a = register(&net, 1, 1, 1, 1, 1).await; // intel tdx
    let intel_b = register(&net, 2, 2, 1, 2, 1).await; // intel sgx
    let amd = register(&net, 3, 3, 2, 3, 1).await; // amd sev-snp
    let aws = register(&net, 4, 4, 3, 4, 2).await; // aws nitro
    let sim = register(&net, 4, 5, 0x81, 5, 0x81).await; // simulated, same operator as aws
    assert_eq!(register_again(&net).await, "node_exists");

    // t <= n/2 and t > n.
    assert_eq!(
        set_committee(&net, &[intel_a, amd, aws, sim], 2)
            .await
            .unwrap_err(),
        "threshold_too_low"
    );
    assert_eq!(
        set_committee(&net, &[intel_a, amd], 3).await.unwrap_err(),
        "threshold_too_high"
    );
    // Intel holds 2 seats with t = 2.
    assert_eq!(
        set_committee(&net, &[intel_a, intel_b, aws], 2)
            .await
            .unwrap_err(),
        "diversity_violation"
    );
    // Operator 4 holds 2 seats with t = 2.
    assert_eq!(
        set_committee(&net, &[intel_a, aws, sim], 2)
            .await
            .unwrap_err(),
        "diversity_violation"
    );
    // Memory-encryption family holds 3 seats with t = 3 (vendors fine: intel 2, amd 1).
    assert_eq!(
        set_committee(&net, &[intel_a, intel_b, amd, aws, sim], 3)
            .await
            .unwrap_err(),
        "diversity_violation"
    );
    assert_eq!(
        set_committee(&net, &[intel_a, intel_a, amd], 2)
            .await
            .unwrap_err(),
        "duplicate_node"
    );
    assert_eq!(
        set_committee(&net, &[intel_a, m(0x77)], 2)
            .await
            .unwrap_err(),
        "unknown_node"
    );
    // Without the family rule the same committee is accepted.
    let id = proposal_id(&tx!(net.as_(0).proposeFamilyCap(false)).unwrap());
    tx!(net.as_(0).execute(U256::from(id))).unwrap();
    set_committee(&net, &[intel_a, intel_b, amd, aws, sim], 3)
        .await
        .unwrap();
    let e = EpochInfo::try_from(net.as_(0).epoch(1).call().await.unwrap()).unwrap();
    assert_eq!(
        (e.status, e.threshold, e.committee.len()),
        (EpochStatus::Pending, 3, 5)
    );
    // A second transition must wait for (or cancel) the pending one.
    assert_eq!(
        set_committee(&net, &[intel_a, amd, aws], 2)
            .await
            .unwrap_err(),
        "transition_pending"
    );
}

async fn register_again(net: &Net) -> &'static str {
    tx!(net.as_(7).registerNode(
        Bytes::from(vec![1u8; 36]),
        FixedBytes::repeat_byte(1),
        1,
        1,
        1,
        "x".to_owned()
    ))
    .unwrap_err()
}

fn keys(b: u8) -> (Bytes, Bytes) {
    let mut secp = vec![b; 33];
    secp[0] = 0x02;
    (Bytes::from(vec![b; 48]), Bytes::from(secp))
}

async fn confirm(
    net: &Net,
    op: usize,
    epoch: u64,
    node: FixedBytes<32>,
    transcript: u8,
    key: u8,
) -> Result<TransactionReceipt, &'static str> {
    let (bls, secp) = keys(key);
    tx!(net.as_(op).confirm(epoch, node, m(transcript), bls, secp))
}

#[tokio::test]
async fn epoch__should_activate_only_when_every_member_confirms_the_same_keys() {
    let net = Net::start(&[0], 1, 1, 0, 86400, false).await;
    let a = register(&net, 1, 1, 1, 1, 1).await;
    let b = register(&net, 2, 2, 2, 3, 1).await;
    let c = register(&net, 3, 3, 3, 4, 2).await;
    let d = register(&net, 4, 4, 0x80, 5, 0x80).await;

    // Epoch 1: a mismatching confirmation leaves it stuck; governance cancels it.
    set_committee(&net, &[a, b, c], 2).await.unwrap();
    assert_eq!(net.as_(0).pendingEpoch().call().await.unwrap(), 1);
    confirm(&net, 1, 1, a, 0x11, 0x21).await.unwrap();
    let r = confirm(&net, 2, 1, b, 0x12, 0x21).await.unwrap();
    assert!(r.inner.logs().iter().any(|l| l
        .log_decode::<Governance::EpochConfirmationMismatch>()
        .is_ok()));
    confirm(&net, 3, 1, c, 0x11, 0x21).await.unwrap();
    assert_eq!(
        confirm(&net, 1, 1, a, 0x11, 0x21).await.unwrap_err(),
        "already_confirmed"
    );
    assert_eq!(
        confirm(&net, 1, 1, b, 0x11, 0x21).await.unwrap_err(),
        "not_operator"
    );
    assert_eq!(
        confirm(&net, 4, 1, d, 0x11, 0x21).await.unwrap_err(),
        "not_committee_member"
    );
    assert_eq!(net.as_(0).activeEpoch().call().await.unwrap(), 0);
    let id = proposal_id(&tx!(net.as_(0).proposeCancelTransition(1)).unwrap());
    tx!(net.as_(0).execute(U256::from(id))).unwrap();
    let e = EpochInfo::try_from(net.as_(0).epoch(1).call().await.unwrap()).unwrap();
    assert_eq!(e.status, EpochStatus::Cancelled);
    assert_eq!(
        confirm(&net, 3, 1, c, 0x11, 0x21).await.unwrap_err(),
        "wrong_epoch"
    );

    // Epoch 2 (genesis): all three agree.
    set_committee(&net, &[a, b, c], 2).await.unwrap();
    for (op, n) in [(1, a), (2, b)] {
        confirm(&net, op, 2, n, 0x31, 0x41).await.unwrap();
    }
    assert_eq!(net.as_(0).activeEpoch().call().await.unwrap(), 0);
    let r = confirm(&net, 3, 2, c, 0x31, 0x41).await.unwrap();
    assert!(r
        .inner
        .logs()
        .iter()
        .any(|l| l.log_decode::<Governance::EpochActivated>().is_ok()));
    let active = EpochInfo::try_from(net.as_(0).activeCommittee().call().await.unwrap()).unwrap();
    assert_eq!(
        (active.epoch, active.status, active.threshold),
        (2, EpochStatus::Active, 2)
    );
    assert_eq!(active.committee, vec![a.0, b.0, c.0]);
    assert_eq!(active.bls_group_pk, Some([0x41; 48]));
    assert_eq!(active.transcript_hash, Some([0x31; 32]));

    // Epoch 3 (reshare to b, c, d): the group keys must stay the same.
    set_committee(&net, &[b, c, d], 2).await.unwrap();
    assert_eq!(
        confirm(&net, 2, 3, b, 0x51, 0x42).await.unwrap_err(),
        "group_key_mismatch"
    );
    let (bls, _) = keys(0x41);
    assert_eq!(
        tx!(net
            .as_(2)
            .confirm(3, b, m(0x51), bls, Bytes::from(vec![0x05; 33])))
        .unwrap_err(),
        "invalid_group_key"
    );
    for (op, n) in [(2, b), (3, c), (4, d)] {
        confirm(&net, op, 3, n, 0x51, 0x41).await.unwrap();
    }
    assert_eq!(net.as_(0).activeEpoch().call().await.unwrap(), 3);
    let old = EpochInfo::try_from(net.as_(0).epoch(2).call().await.unwrap()).unwrap();
    assert_eq!(old.status, EpochStatus::Superseded);
    let gk = net.as_(0).groupKeys().call().await.unwrap();
    assert_eq!(gk.blsGroupPk.to_vec(), vec![0x41; 48]);
}

#[tokio::test]
async fn platforms__should_change_only_through_a_network_proposal() {
    use governance_contract::Platform;
    let net = Net::start(&[0, 1], 2, 1, 0, 86400, false).await;
    // A fresh instance per transaction: a provider's cached nonce is not rolled back
    // when a send fails in estimation, so reusing it after a refusal leaves a gap.
    let gov = || net.as_(0);
    assert!(gov()
        .isPlatformAllowed(Platform::Simulated.code())
        .call()
        .await
        .unwrap());
    let real = Platform::mask(&[Platform::Tdx, Platform::SevSnp, Platform::Nitro]);
    let id = proposal_id(&tx!(gov().proposePlatforms(real)).unwrap());
    refused!(gov().execute(U256::from(id)), "quorum_not_reached");
    refused!(net.as_(4).proposePlatforms(0), "not_voter");
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    tx!(gov().execute(U256::from(id))).unwrap();
    assert_eq!(gov().allowedPlatforms().call().await.unwrap(), real);
    assert_eq!(
        Platform::from_mask(real),
        vec![Platform::Tdx, Platform::SevSnp, Platform::Nitro]
    );
    for p in [Platform::Sgx, Platform::Simulated] {
        assert!(!gov().isPlatformAllowed(p.code()).call().await.unwrap());
    }
    assert!(gov()
        .isPlatformAllowed(Platform::Nitro.code())
        .call()
        .await
        .unwrap());
    assert!(!gov().isPlatformAllowed(200).call().await.unwrap());
    let p = net.proposal(id).await;
    assert_eq!(
        p.action,
        governance_contract::ProposalAction::Platforms { mask: real }
    );
}

#[tokio::test]
async fn dev_keys__should_be_the_funded_anvil_accounts() {
    let net = Net::start(&[0], 1, 1, 0, 86400, false).await;
    let p = provider(&net.url, 0);
    let accounts = p.get_accounts().await.unwrap();
    for (i, a) in accounts.iter().enumerate().take(DEV_KEYS.len()) {
        assert_eq!(*a, addr(i));
    }
}

// ---------------------------------------------------------------- random sequences

mod model {
    //! An independent model of the contract's rules, checked against the chain over
    //! seeded random sequences of calls.
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Clone, Debug)]
    pub enum Action {
        Approve(u8),
        Revoke(u8),
        Committee(Vec<usize>, u16),
        Cancel(u64),
    }

    #[derive(Clone, Debug)]
    pub struct Prop {
        pub action: Action,
        pub proposer: usize,
        pub votes: BTreeSet<usize>,
        pub open: bool,
        pub eta: Option<u64>,
        pub expires: u64,
    }

    impl Prop {
        pub fn required(&self) -> usize {
            match self.action {
                Action::Revoke(_) => 1,
                _ => 2,
            }
        }
    }

    #[derive(Clone, Copy, Debug)]
    pub struct NodeM {
        pub vendor: u8,
        pub operator: usize,
    }

    /// DESIGN §2 and §6: n/2 < t <= n, no vendor and no operator with t or more seats.
    pub fn committee_ok(nodes: &[NodeM], members: &[usize], t: u16) -> Result<(), &'static str> {
        let n = members.len();
        let t = usize::from(t);
        if t > n {
            return Err("threshold_too_high");
        }
        if 2 * t <= n {
            return Err("threshold_too_low");
        }
        let mut vendors: BTreeMap<u8, usize> = BTreeMap::new();
        let mut ops: BTreeMap<usize, usize> = BTreeMap::new();
        for m in members {
            *vendors.entry(nodes[*m].vendor).or_default() += 1;
            *ops.entry(nodes[*m].operator).or_default() += 1;
        }
        if vendors.values().chain(ops.values()).any(|c| *c >= t) {
            return Err("diversity_violation");
        }
        Ok(())
    }
}

#[tokio::test]
async fn random_calls__should_keep_the_approved_set_and_committees_within_the_rules() {
    use model::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use std::collections::BTreeSet;

    const TIMELOCK: u64 = 100;
    const LIFETIME: u64 = 5000;
    const MARGIN: u64 = 30;

    /// Mostly one of the last three proposals, so that votes accumulate.
    fn recent(rng: &mut StdRng, len: usize) -> usize {
        if rng.gen_bool(0.8) {
            len - rng.gen_range(0..len.min(3))
        } else {
            rng.gen_range(1..=len)
        }
    }

    let mut total_activations = 0usize;
    for seed in [1u64, 2, 3] {
        let mut rng = StdRng::seed_from_u64(seed);
        let net = Net::start(&[0, 1, 2], 2, 1, TIMELOCK, LIFETIME, false).await;
        let app = net.node_app().await;
        let reader = provider(&net.url, 0);
        let now = || async {
            reader
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await
                .unwrap()
                .unwrap()
                .header
                .timestamp
        };

        let mut nodes = Vec::new();
        let mut ids = Vec::new();
        for k in 0..6u8 {
            let n = NodeM {
                vendor: [1u8, 2, 3, 0x80, 0x81, 0x82][rng.gen_range(0..6)],
                operator: rng.gen_range(3..9),
            };
            ids.push(register(&net, n.operator, k + 1, n.vendor, 5, 1).await);
            nodes.push(n);
        }

        let mut approved: BTreeSet<u8> = BTreeSet::new();
        let mut props: Vec<Prop> = Vec::new();
        let mut pending: Option<(u64, Vec<usize>)> = None;
        let mut last_epoch = 0u64;
        let mut outcomes = [0usize; 2];
        let mut activations = 0usize;

        for _step in 0..250 {
            let t0 = now().await;
            let voter = rng.gen_range(0..3);
            match rng.gen_range(0..12) {
                0 | 1 => {
                    let mb = rng.gen_range(1..5u8);
                    let r = tx!(net.as_(voter).proposeApprove(app, m(mb)));
                    let want = if approved.contains(&mb) {
                        Err("already_approved")
                    } else {
                        Ok(())
                    };
                    assert_eq!(r.as_ref().map(|_| ()).map_err(|e| *e), want);
                    if let Ok(r) = r {
                        assert_eq!(proposal_id(&r), props.len() as u64 + 1);
                        let p = net.proposal(props.len() as u64 + 1).await;
                        props.push(Prop {
                            action: Action::Approve(mb),
                            proposer: voter,
                            votes: [voter].into(),
                            open: true,
                            eta: None,
                            expires: p.expires_at,
                        });
                    }
                }
                2 => {
                    let mb = rng.gen_range(1..5u8);
                    let r = tx!(net.as_(voter).proposeRevoke(app, m(mb)));
                    let want = if approved.contains(&mb) {
                        Ok(())
                    } else {
                        Err("not_approved")
                    };
                    assert_eq!(r.as_ref().map(|_| ()).map_err(|e| *e), want);
                    if r.is_ok() {
                        let p = net.proposal(props.len() as u64 + 1).await;
                        props.push(Prop {
                            action: Action::Revoke(mb),
                            proposer: voter,
                            votes: [voter].into(),
                            open: true,
                            eta: p.eta,
                            expires: p.expires_at,
                        });
                        assert!(
                            p.eta.is_some(),
                            "revocation quorum 1 is reached by the proposer"
                        );
                    }
                }
                3 | 4 if !props.is_empty() => {
                    let id = recent(&mut rng, props.len());
                    let p = &mut props[id - 1];
                    let r = tx!(net.as_(voter).vote(U256::from(id)));
                    let want = if !p.open {
                        Some(Err("proposal_closed"))
                    } else if t0 > p.expires {
                        Some(Err("proposal_expired"))
                    } else if t0 + MARGIN < p.expires {
                        Some(if p.votes.contains(&voter) {
                            Err("already_voted")
                        } else {
                            Ok(())
                        })
                    } else {
                        None
                    };
                    if let Some(want) = want {
                        assert_eq!(
                            r.as_ref().map(|_| ()).map_err(|e| *e),
                            want,
                            "vote {id} by {voter}"
                        );
                    }
                    if r.is_ok() {
                        p.votes.insert(voter);
                        if p.eta.is_none() && p.votes.len() >= p.required() {
                            p.eta = net.proposal(id as u64).await.eta;
                            assert!(p.eta.is_some());
                        }
                    }
                }
                5 | 6 | 10 if !props.is_empty() => {
                    let id = recent(&mut rng, props.len());
                    let p = props[id - 1].clone();
                    let r = tx!(net.as_(voter).execute(U256::from(id)));
                    let apply = match &p.action {
                        Action::Approve(mb) if approved.contains(mb) => Err("already_approved"),
                        Action::Revoke(mb) if !approved.contains(mb) => Err("not_approved"),
                        Action::Committee(..) if pending.is_some() => Err("transition_pending"),
                        Action::Cancel(e) if pending.as_ref().map(|p| p.0) != Some(*e) => {
                            Err(if pending.is_none() {
                                "no_pending_transition"
                            } else {
                                "wrong_epoch"
                            })
                        }
                        _ => Ok(()),
                    };
                    let want = if !p.open {
                        Some(Err("proposal_closed"))
                    } else if t0 > p.expires {
                        Some(Err("proposal_expired"))
                    } else if t0 + MARGIN >= p.expires {
                        None
                    } else if p.votes.len() < p.required() || p.eta.is_none() {
                        Some(Err("quorum_not_reached"))
                    } else if t0 + MARGIN < p.eta.unwrap() {
                        Some(Err("timelock_pending"))
                    } else if t0 >= p.eta.unwrap() {
                        Some(apply)
                    } else {
                        None
                    };
                    if let Some(want) = want {
                        assert_eq!(
                            r.as_ref().map(|_| ()).map_err(|e| *e),
                            want,
                            "execute {id}: {p:?}"
                        );
                    }
                    outcomes[usize::from(r.is_ok())] += 1;
                    if r.is_ok() {
                        props[id - 1].open = false;
                        match p.action {
                            Action::Approve(mb) => {
                                approved.insert(mb);
                            }
                            Action::Revoke(mb) => {
                                approved.remove(&mb);
                            }
                            Action::Committee(members, t) => {
                                last_epoch += 1;
                                let e = EpochInfo::try_from(
                                    net.as_(0).epoch(last_epoch).call().await.unwrap(),
                                )
                                .unwrap();
                                assert_eq!(
                                    (e.status, e.threshold, e.committee.len()),
                                    (EpochStatus::Pending, t, members.len())
                                );
                                pending = Some((last_epoch, members));
                            }
                            Action::Cancel(_) => pending = None,
                        }
                    }
                }
                7 if !props.is_empty() => {
                    let id = rng.gen_range(1..=props.len());
                    let p = &mut props[id - 1];
                    let r = tx!(net.as_(voter).cancel(U256::from(id)));
                    if p.open && t0 + MARGIN < p.expires {
                        let want = if p.proposer == voter {
                            Ok(())
                        } else {
                            Err("not_proposer")
                        };
                        assert_eq!(r.as_ref().map(|_| ()).map_err(|e| *e), want);
                    }
                    if r.is_ok() {
                        p.open = false;
                    }
                }
                8 => {
                    // A committee proposal, or a cancellation of a stuck transition.
                    if let (Some((e, _)), true) = (&pending, rng.gen_bool(0.3)) {
                        let e = *e;
                        let r = tx!(net.as_(voter).proposeCancelTransition(e)).unwrap();
                        let p = net.proposal(proposal_id(&r)).await;
                        props.push(Prop {
                            action: Action::Cancel(e),
                            proposer: voter,
                            votes: [voter].into(),
                            open: true,
                            eta: None,
                            expires: p.expires_at,
                        });
                        continue;
                    }
                    let mut members: Vec<usize> = (0..6).filter(|_| rng.gen_bool(0.6)).collect();
                    if members.is_empty() {
                        members.push(0);
                    }
                    let t = rng.gen_range(1..=members.len() as u16 + 1);
                    let chosen: Vec<_> = members.iter().map(|i| ids[*i]).collect();
                    let r = tx!(net.as_(voter).proposeCommittee(chosen, t));
                    let want = if let Some((e, _)) = &pending {
                        let _ = e;
                        Err("transition_pending")
                    } else {
                        committee_ok(&nodes, &members, t)
                    };
                    assert_eq!(
                        r.as_ref().map(|_| ()).map_err(|e| *e),
                        want,
                        "{members:?} t={t}"
                    );
                    if r.is_ok() {
                        let p = net.proposal(props.len() as u64 + 1).await;
                        props.push(Prop {
                            action: Action::Committee(members, t),
                            proposer: voter,
                            votes: [voter].into(),
                            open: true,
                            eta: None,
                            expires: p.expires_at,
                        });
                    }
                }
                9 => {
                    if let (Some((e, members)), true) = (pending.clone(), rng.gen_bool(0.5)) {
                        // Every member confirms the same values: the epoch activates.
                        // Genesis keys, and the same keys for every later epoch.
                        let key = 0x41;
                        for i in &members {
                            confirm(&net, nodes[*i].operator, e, ids[*i], 0x30 + e as u8, key)
                                .await
                                .unwrap();
                        }
                        pending = None;
                        activations += 1;
                        assert_eq!(net.as_(0).activeEpoch().call().await.unwrap(), e);
                    } else {
                        net.warp([150, 150, 3000][rng.gen_range(0..3)]).await;
                    }
                }
                11 => net.warp(150).await,
                _ => {}
            }

            // Invariants.
            let chain = types::AppInfo::from(net.as_(0).app(app).call().await.unwrap());
            let on_chain: BTreeSet<u8> = chain.measurements.iter().map(|m| m[0]).collect();
            assert_eq!(
                on_chain, approved,
                "approved set changed outside an executed proposal"
            );
            for mb in 1..5u8 {
                assert_eq!(
                    net.as_(0).isApproved(app, m(mb)).call().await.unwrap(),
                    approved.contains(&mb)
                );
            }
            let active =
                EpochInfo::try_from(net.as_(0).activeCommittee().call().await.unwrap()).unwrap();
            if active.epoch != 0 {
                let members: Vec<usize> = active
                    .committee
                    .iter()
                    .map(|c| ids.iter().position(|i| i.0 == *c).unwrap())
                    .collect();
                assert_eq!(committee_ok(&nodes, &members, active.threshold), Ok(()));
            }
        }
        eprintln!(
            "seed {seed}: {} proposals, executions ok/refused {}/{}, {activations} epochs activated, approved {approved:?}",
            props.len(),
            outcomes[1],
            outcomes[0]
        );
        total_activations += activations;
        assert!(
            outcomes[1] > 0,
            "seed {seed}: no execution succeeded; the sequence tests nothing"
        );
    }
    assert!(
        total_activations > 0,
        "no epoch activated: the committee invariant was never exercised"
    );
}

// ---------------------------------------------------------------- gas

/// Gas of every state-changing call, from receipts. Prints a Markdown table
/// (docs/PERFORMANCE.md, "Governance gas"):
/// `cargo test -p governance-contract --test contract gas -- --nocapture`.
#[tokio::test]
async fn gas__should_stay_within_bounds_for_every_state_changing_call() {
    let anvil = Anvil::spawn().unwrap();
    let url = anvil.endpoint();
    let mut rows: Vec<(String, u64)> = Vec::new();
    let deploy = Governance::deploy_builder(
        provider(&url, 0),
        vec![addr(0), addr(1), addr(2)],
        2,
        1,
        0,
        86400,
        true,
        ALL_PLATFORMS,
    )
    .send()
    .await
    .unwrap()
    .get_receipt()
    .await
    .unwrap();
    rows.push(("deploy (3 voters)".into(), deploy.gas_used));
    let net = Net {
        _anvil: anvil,
        url,
        address: deploy.contract_address.unwrap(),
    };
    let app = net.node_app().await;
    let mut row = |name: &str, r: TransactionReceipt| rows.push((name.to_owned(), r.gas_used));

    row(
        "registerApp (caller alone)",
        tx!(net.as_(3).registerApp(m(1), vec![], 1, 1, 0)).unwrap(),
    );
    row(
        "registerApp (3 voters)",
        tx!(net
            .as_(3)
            .registerApp(m(2), vec![addr(3), addr(4), addr(5)], 2, 1, 3600))
        .unwrap(),
    );
    let r = tx!(net.as_(0).proposeApprove(app, m(1))).unwrap();
    let id = proposal_id(&r);
    row("proposeApprove (incl. proposer's vote)", r);
    row(
        "vote (reaching quorum)",
        tx!(net.as_(1).vote(U256::from(id))).unwrap(),
    );
    row(
        "vote (after quorum)",
        tx!(net.as_(2).vote(U256::from(id))).unwrap(),
    );
    row(
        "execute approve",
        tx!(net.as_(0).execute(U256::from(id))).unwrap(),
    );
    let r = tx!(net.as_(0).proposeRevoke(app, m(1))).unwrap();
    let id = proposal_id(&r);
    row("proposeRevoke (fast path, quorum reached)", r);
    row(
        "execute revoke",
        tx!(net.as_(0).execute(U256::from(id))).unwrap(),
    );
    let r = tx!(net.as_(0).proposeApprove(app, m(2))).unwrap();
    row(
        "cancel",
        tx!(net.as_(0).cancel(U256::from(proposal_id(&r)))).unwrap(),
    );
    let r = tx!(net
        .as_(0)
        .proposeCouncil(app, vec![addr(0), addr(1), addr(2), addr(3)], 3, 2, 60))
    .unwrap();
    let id = proposal_id(&r);
    row("proposeCouncil (4 voters)", r);
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    row(
        "execute council (3 -> 4 voters)",
        tx!(net.as_(0).execute(U256::from(id))).unwrap(),
    );
    // Back to quorum 2 without timelock for the rest.
    let id = proposal_id(
        &tx!(net
            .as_(0)
            .proposeCouncil(app, vec![addr(0), addr(1), addr(2)], 2, 1, 0))
        .unwrap(),
    );
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    tx!(net.as_(2).vote(U256::from(id))).unwrap();
    net.warp(61).await;
    tx!(net.as_(0).execute(U256::from(id))).unwrap();

    let mut ids = Vec::new();
    for k in 0..7u8 {
        let key = Bytes::from(vec![k + 1; 36]);
        let r = tx!(net.as_(k as usize + 1).registerNode(
            key.clone(),
            FixedBytes::repeat_byte(k + 1),
            0x80 + k,
            5,
            0x80 + k,
            "10.0.0.1:7000".to_owned()
        ))
        .unwrap();
        if k == 0 {
            row("registerNode (36-byte p2p key)", r);
        }
        ids.push(FixedBytes::<32>::from(types::node_id(&key)));
    }
    for (n, t) in [(3usize, 2u16), (7, 4)] {
        let r = tx!(net.as_(0).proposeCommittee(ids[..n].to_vec(), t)).unwrap();
        let id = proposal_id(&r);
        row(&format!("proposeCommittee (n={n}, t={t})"), r);
        tx!(net.as_(1).vote(U256::from(id))).unwrap();
        row(
            &format!("execute committee (n={n})"),
            tx!(net.as_(0).execute(U256::from(id))).unwrap(),
        );
        let e = net.as_(0).pendingEpoch().call().await.unwrap();
        for (i, node) in ids[..n].iter().enumerate() {
            let r = confirm(&net, i + 1, e, *node, 0x31, 0x41).await.unwrap();
            if i == 0 {
                row(&format!("confirm (first of n={n})"), r);
            } else if i == n - 1 {
                row(&format!("confirm (last of n={n}: activation)"), r);
            }
        }
    }
    let r = tx!(net.as_(0).proposeCommittee(ids[..3].to_vec(), 2)).unwrap();
    let id = proposal_id(&r);
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    tx!(net.as_(0).execute(U256::from(id))).unwrap();
    let r = tx!(net
        .as_(0)
        .proposeCancelTransition(net.as_(0).pendingEpoch().call().await.unwrap()))
    .unwrap();
    let id = proposal_id(&r);
    row("proposeCancelTransition", r);
    tx!(net.as_(1).vote(U256::from(id))).unwrap();
    row(
        "execute cancel_transition",
        tx!(net.as_(0).execute(U256::from(id))).unwrap(),
    );

    println!("| call | gas used |\n|---|---:|");
    for (name, gas) in &rows {
        println!("| {name} | {gas} |");
    }
    for (name, gas) in &rows {
        let bound = if name.starts_with("deploy") {
            5_000_000
        } else {
            1_000_000
        };
        assert!(*gas > 21_000 && *gas < bound, "{name}: {gas} gas");
    }
}
