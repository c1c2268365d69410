//! Repair of lost storage (DESIGN §7 "Restart / lost storage"): a member of the active
//! committee whose sealed shares are gone rebuilds them with [`dkg::repair`] from `t`
//! attested peers, without anyone learning them.
//!
//! 1. The lost member `r` sends a [`RepairRequest`] (a fresh nonce and the helper set
//!    it picked: every other member at first) to every member, in the epoch's request
//!    session, authenticated as the node at position `r`.
//! 2. Each named helper sends `r` the committee's public keys (the lost member takes
//!    the first value `t` helpers sent byte for byte) and runs its side of the repair
//!    of both key types.
//! 3. `r` recovers both shares (each checked against its public key share), checks the
//!    group keys against the chain, and stores them. If the attempt fails, it asks
//!    again with a new nonce, leaving out the helpers that stayed silent or were
//!    blamed, while at least `t` remain (else every other member again).
//!
//! Run ids: `RunId::derive(epoch, SHA-256(committee_hash || be16(r) || nonce),
//! Repair(suite), 0)`, so no two repairs share one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dkg::bls::{BlsKeyShare, BlsPublicKeys};
use dkg::keys::{KeyShare, PublicKeys};
use dkg::repair::{self, Params, Repair};
use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use dkg::step::Peer;
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::PartyIndex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dkg_run::{
    agreement, collect_public_keys, index, secp_compressed, send_public_keys, DkgContext, Error,
};
use super::router::{NodeId, SessionInbox};
use crate::protocol::driver::{
    run_with_retries, Outcome, RetryPolicy, RunError, SendToPeer, Start,
};
use crate::protocol::run_id::{committee_hash, ProtocolKind, RunId};

/// What a lost member asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairRequest {
    /// Fresh per request.
    #[serde(with = "serde_bytes")]
    pub nonce: [u8; 16],
    /// The helpers, by party index (at least `t`, not the lost member).
    pub helpers: Vec<u16>,
}

/// The active epoch a repair is for.
#[derive(Debug, Clone)]
pub struct RepairEpoch {
    /// Epoch number.
    pub number: u64,
    /// Threshold.
    pub threshold: u16,
    /// Node ids in party order.
    pub committee: Vec<NodeId>,
    /// The chain's group keys (`PK`, `P`).
    pub group_keys: ([u8; 48], [u8; 33]),
    /// Every member's Ed25519 p2p key (signs its echo-broadcast messages).
    pub p2p_keys: BTreeMap<NodeId, Vec<u8>>,
}

/// The session in which lost members of `epoch` send their requests.
pub fn request_session(epoch: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/kms-node/repair-request/v1");
    h.update(epoch.to_be_bytes());
    h.finalize().into()
}

fn repair_tag(e: &RepairEpoch, lost: PartyIndex, nonce: &[u8; 16]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(committee_hash(&e.committee, e.threshold));
    h.update(lost.get().to_be_bytes());
    h.update(nonce);
    h.finalize().into()
}

fn session(e: &RepairEpoch, tag: &[u8; 32], what: &[u8], suite: dkg::wire::SuiteId) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/kms-node/repair-session/v1");
    h.update(what);
    h.update(e.number.to_be_bytes());
    h.update(tag);
    h.update([suite.code()]);
    h.finalize().into()
}

/// Every member as a receiver (the request session).
fn member_roles(e: &RepairEpoch) -> Result<BTreeMap<Peer, NodeId>, Error> {
    e.committee
        .iter()
        .enumerate()
        .map(|(pos, id)| Ok((Peer::Receiver(index(pos)?), *id)))
        .collect()
}

/// Helpers as dealers, the lost member as the receiver.
fn repair_roles(
    e: &RepairEpoch,
    lost: PartyIndex,
    helpers: &BTreeSet<PartyIndex>,
) -> Result<BTreeMap<Peer, NodeId>, Error> {
    let node = |i: PartyIndex| {
        e.committee
            .get(usize::from(i.get()).saturating_sub(1))
            .copied()
            .ok_or(Error::TooLarge(usize::from(i.get())))
    };
    let mut roles = BTreeMap::new();
    for h in helpers {
        roles.insert(Peer::Dealer(*h), node(*h)?);
    }
    roles.insert(Peer::Receiver(lost), node(lost)?);
    Ok(roles)
}

fn own_index(e: &RepairEpoch, me: &NodeId) -> Result<PartyIndex, Error> {
    let pos = e
        .committee
        .iter()
        .position(|id| id == me)
        .ok_or(Error::NotMember(e.number))?;
    index(pos)
}

/// One key type's repair, either side: `share` is `Some` for a helper.
async fn run_one<S: Suite>(
    ctx: &DkgContext,
    e: &RepairEpoch,
    lost: PartyIndex,
    request: &RepairRequest,
    share: Option<&KeyShare<S>>,
) -> Result<Option<KeyShare<S>>, (Error, BTreeSet<PartyIndex>)> {
    let plain = |err: Error| (err, BTreeSet::new());
    let helpers: BTreeSet<PartyIndex> = request
        .helpers
        .iter()
        .filter_map(|h| PartyIndex::new(*h))
        .collect();
    let tag = repair_tag(e, lost, &request.nonce);
    let roles = repair_roles(e, lost, &helpers).map_err(plain)?;
    // The public keys: helpers send theirs; the lost member takes t identical copies.
    let (pk_link, mut pk_inbox) = ctx.router.open(
        session(e, &tag, b"public-keys", S::ID),
        roles.clone(),
        ctx.me,
        Arc::clone(&ctx.link),
    );
    let public: PublicKeys<S> = match share {
        Some(s) => {
            send_public_keys(
                &pk_link,
                Peer::Dealer(s.index()),
                &[Peer::Receiver(lost)],
                s.public(),
            )
            .map_err(plain)?;
            s.public().clone()
        }
        None => collect_public_keys(&mut pk_inbox, e.threshold, ctx.policy.deadlines.attempt)
            .await
            .map_err(plain)?,
    };
    let params = Params {
        run_id: RunId::derive(e.number, tag, ProtocolKind::Repair(S::ID), 0),
        lost,
        helpers: helpers.clone(),
        public,
    };
    let agreement =
        agreement::<repair::Message>(ctx, &e.p2p_keys, roles.values()).map_err(plain)?;
    let (link, mut inbox): (_, SessionInbox) = ctx.router.open_with_agreement(
        session(e, &tag, b"run", S::ID),
        roles,
        ctx.me,
        Arc::clone(&ctx.link),
        agreement,
    );
    let me: BTreeSet<Peer> = match share {
        Some(s) => [Peer::Dealer(s.index())].into(),
        None => [Peer::Receiver(lost)].into(),
    };
    // One attempt per request: a retry is a new request with a new helper set.
    let policy = RetryPolicy {
        max_attempts: 1,
        ..ctx.policy
    };
    let result = run_with_retries(policy, &me, &link, &mut inbox, |_, _| {
        let (machine, outgoing) = match share {
            Some(s) => Repair::start_helper(&params, s, &mut rand_core::OsRng)?,
            None => (Repair::start_lost(&params), Vec::new()),
        };
        Ok(Start {
            run_id: params.run_id,
            machine,
            outgoing,
        })
    })
    .await;
    match result {
        Ok(f) => Ok(f.output),
        Err(RunError::Exhausted { excluded, last, .. }) => {
            let mut blame: BTreeSet<PartyIndex> = excluded.culprits;
            if let Outcome::TimedOut { silent } = &last {
                blame.extend(silent.iter().map(|p| match p {
                    Peer::Dealer(i) | Peer::Receiver(i) => *i,
                }));
            }
            Err((
                Error::Run {
                    kind: "repair",
                    epoch: e.number,
                    source: Box::new(RunError::Exhausted {
                        attempts: 1,
                        run_ids: vec![params.run_id],
                        excluded: Default::default(),
                        last,
                    }),
                },
                blame,
            ))
        }
        Err(other) => Err(plain(Error::Run {
            kind: "repair",
            epoch: e.number,
            source: Box::new(other),
        })),
    }
}

/// The helper side: runs the repair `request` of member `lost` with this node's shares.
pub async fn help(
    ctx: &DkgContext,
    e: &RepairEpoch,
    lost: PartyIndex,
    request: &RepairRequest,
    bls: &BlsKeyShare,
    secp: &SecpKeyShare,
) -> Result<(), Error> {
    let (a, b) = tokio::join!(
        run_one::<Bls12381G1>(ctx, e, lost, request, Some(bls.as_generic())),
        run_one::<Secp256k1>(ctx, e, lost, request, Some(secp.as_generic())),
    );
    a.map_err(|(err, _)| err)?;
    b.map_err(|(err, _)| err)?;
    Ok(())
}

/// Requests received in the epoch's request session, with the lost member's index.
pub struct Requests {
    inbox: SessionInbox,
}

impl Requests {
    /// Opens the request session of `e` (every serving member keeps it open).
    pub fn open(ctx: &DkgContext, e: &RepairEpoch) -> Result<Self, Error> {
        let (_link, inbox) = ctx.router.open(
            request_session(e.number),
            member_roles(e)?,
            ctx.me,
            Arc::clone(&ctx.link),
        );
        Ok(Self { inbox })
    }

    /// The next well-formed request naming this node as a helper.
    pub async fn next(&mut self, me: PartyIndex) -> Option<(PartyIndex, RepairRequest)> {
        loop {
            let (from, bytes) =
                crate::protocol::driver::ReceiveFromPeer::recv(&mut self.inbox).await?;
            let Peer::Receiver(lost) = from else { continue };
            let Ok(req) = dkg::wire::decode::<RepairRequest>(&bytes) else {
                continue;
            };
            if lost != me && req.helpers.contains(&me.get()) {
                return Some((lost, req));
            }
        }
    }
}

/// The lost member's side: asks for help (up to `max_requests` times) and returns both
/// rebuilt shares, checked against the chain's group keys.
pub async fn recover(
    ctx: &DkgContext,
    e: &RepairEpoch,
    max_requests: u32,
) -> Result<(BlsKeyShare, SecpKeyShare), Error> {
    let lost = own_index(e, &ctx.me)?;
    let everyone: BTreeSet<PartyIndex> = (0..e.committee.len())
        .map(index)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|i| *i != lost)
        .collect();
    let (request_link, _request_inbox) = ctx.router.open(
        request_session(e.number),
        member_roles(e)?,
        ctx.me,
        Arc::clone(&ctx.link),
    );
    let mut helpers = everyone.clone();
    let mut last = Error::NoShare("repair");
    for _ in 0..max_requests.max(1) {
        let mut nonce = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let request = RepairRequest {
            nonce,
            helpers: helpers.iter().map(|h| h.get()).collect(),
        };
        let bytes = dkg::wire::encode(&request).map_err(|err| Error::OldKeys(err.to_string()))?;
        let _ = request_link.send(
            Peer::Receiver(lost),
            None,
            dkg::step::Channel::Authenticated,
            &bytes,
        );
        tracing::info!(epoch = e.number, helpers = ?request.helpers, "repair requested");
        let (a, b) = tokio::join!(
            run_one::<Bls12381G1>(ctx, e, lost, &request, None),
            run_one::<Secp256k1>(ctx, e, lost, &request, None),
        );
        match (a, b) {
            (Ok(Some(bls)), Ok(Some(secp))) => {
                let bls = BlsKeyShare::from_generic(bls);
                let secp = SecpKeyShare::from_generic(secp);
                let pk = BlsPublicKeys::from_generic(bls.public().as_generic().clone());
                let sk = SecpPublicKeys::from_generic(secp.public().as_generic().clone());
                if (pk.group_key().to_compressed(), secp_compressed(&sk)?) != e.group_keys {
                    return Err(Error::OldKeys(
                        "the repaired shares are not of the chain's group keys".into(),
                    ));
                }
                return Ok((bls, secp));
            }
            (a, b) => {
                let mut blame = BTreeSet::new();
                for r in [a.err(), b.err()].into_iter().flatten() {
                    tracing::warn!(epoch = e.number, error = %r.0, "repair attempt failed");
                    blame.extend(r.1);
                    last = r.0;
                }
                let next: BTreeSet<PartyIndex> = helpers.difference(&blame).copied().collect();
                helpers = if next.len() >= usize::from(e.threshold) && next != helpers {
                    next
                } else {
                    everyone.clone()
                };
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;
    use crate::node::dkg_run::tests::{cluster, run_all};
    use crate::node::dkg_run::EpochKeys;

    async fn repair_scenario(n: u8, t: u16, lost: u8, cut: Option<u8>) {
        let (links, mut ctxs, keys) = cluster(n);
        for c in &mut ctxs {
            c.policy.deadlines.round = Duration::from_millis(500);
            c.policy.deadlines.attempt = Duration::from_secs(3);
        }
        let genesis: Vec<EpochKeys> = run_all(ctxs.clone(), keys.clone(), t)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        if let Some(c) = cut {
            links.cut([c; 32]);
        }
        let e = RepairEpoch {
            number: 1,
            threshold: t,
            committee: (1..=n).map(|i| [i; 32]).collect(),
            group_keys: (genesis[0].bls_group_pk, genesis[0].secp_group_pk),
            p2p_keys: keys.clone(),
        };
        let genesis = Arc::new(genesis);
        // Every other member listens for requests and helps, as the manager does.
        let helpers: Vec<_> = (1..=n)
            .filter(|i| *i != lost)
            .map(|i| {
                let (ctx, e, genesis) = (
                    ctxs[usize::from(i) - 1].clone(),
                    e.clone(),
                    Arc::clone(&genesis),
                );
                tokio::spawn(async move {
                    let mut requests = Requests::open(&ctx, &e).unwrap();
                    let me = PartyIndex::new(u16::from(i)).unwrap();
                    while let Some((who, req)) = requests.next(me).await {
                        let g = &genesis[usize::from(i) - 1];
                        let _ = help(&ctx, &e, who, &req, &g.bls, &g.secp).await;
                    }
                })
            })
            .collect();
        let (bls, secp) = recover(&ctxs[usize::from(lost) - 1], &e, 3).await.unwrap();
        let original = &genesis[usize::from(lost) - 1];
        assert_eq!(
            *bls.export_for_sealing(),
            *original.bls.export_for_sealing()
        );
        assert_eq!(
            *secp.export_for_sealing(),
            *original.secp.export_for_sealing()
        );
        for h in helpers {
            h.abort();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recover__should_rebuild_both_shares_exactly_from_the_other_members() {
        repair_scenario(4, 3, 2, None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recover__should_ask_again_without_a_silent_helper() {
        // 5 members, t = 3: member 5 is cut off after genesis; the first request names
        // it and fails, the second leaves it out.
        repair_scenario(5, 3, 1, Some(5)).await;
    }
}
