//! The SDK on its own, without the `kms` binary: a governance round trip on a fresh
//! anvil through `GovClient`, with typed requests, typed results and error kinds.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use clients::sdk::gov::{Council, Deployment, Proposal, ProposalEntry};
use clients::{Chain, GovClient};
use governance_contract::anvil::{Anvil, DEV_KEYS};
use governance_contract::{Platform, ProposalAction, ProposalState};

fn key(i: usize) -> PrivateKeySigner {
    DEV_KEYS[i].parse().unwrap()
}

fn addr(i: usize) -> Address {
    key(i).address()
}

#[tokio::test]
async fn gov_client__should_deploy_register_propose_vote_and_list_with_typed_values() {
    let anvil = Anvil::spawn().unwrap();
    let rpc = anvil.endpoint();
    let deployment = Deployment {
        council: Council {
            voters: vec![addr(0), addr(1)],
            quorum: 2,
            revoke_quorum: None,
            timelock: 0,
        },
        proposal_lifetime: 86_400,
        family_cap: false,
        platforms: vec![Platform::Tdx, Platform::Simulated],
        transition_deadline: 86_400,
    };
    let d = GovClient::deploy(&rpc, key(0), &deployment).await.unwrap();
    let chain = Chain::new(Some(rpc.clone()), Some(d.contract.to_string())).unwrap();

    // An application of one voter (the owner alone when no voters are given).
    let owner = GovClient::signed(&chain, key(3)).unwrap();
    let council = Council {
        voters: Vec::new(),
        quorum: 1,
        revoke_quorum: None,
        timelock: 0,
    };
    let app = owner.register_app(&council, Some([7; 32])).await.unwrap();
    assert_eq!(app.owner, addr(3));
    let again = owner.register_app(&council, Some([7; 32])).await;
    assert_eq!(again.unwrap_err().kind(), "app_exists");

    // A network proposal: proposed (one vote), voted (quorum), executed.
    let v0 = GovClient::signed(&chain, key(0)).unwrap();
    let approve = Proposal::Approve {
        app: d.node_app_id,
        measurement: [0xab; 32],
    };
    let p = v0.propose(&approve).await.unwrap();
    assert_eq!((p.id, p.proposal.votes), (1, 1));
    assert_eq!(v0.vote(p.id).await.unwrap_err().kind(), "already_voted");
    let v1 = GovClient::signed(&chain, key(1)).unwrap();
    let voted = v1.vote(p.id).await.unwrap();
    assert_eq!(voted.proposal.state, ProposalState::Ready); // no timelock
    let executed = v1.execute(p.id).await.unwrap();
    assert_eq!(executed.proposal.state, ProposalState::Executed);

    let reader = GovClient::read_only(&chain).unwrap();
    let node_app = reader.app(d.node_app_id).await.unwrap();
    assert_eq!(node_app.measurements, vec![[0xab; 32]]);
    let page = reader.proposals(None, 0, 10).await.unwrap();
    assert_eq!((page.total, page.next_offset), (1, None));
    match page.entries.as_slice() {
        [ProposalEntry::Known(info)] => assert_eq!(
            info.action,
            ProposalAction::Approve {
                measurement: [0xab; 32]
            }
        ),
        other => panic!("one decoded proposal expected, got {other:?}"),
    }
    assert_eq!(
        reader.proposals(None, 0, 0).await.unwrap_err().kind(),
        "bad_input"
    );
    // A read-only client has no key to sign with.
    assert_eq!(reader.vote(1).await.unwrap_err().kind(), "missing_key");
}
