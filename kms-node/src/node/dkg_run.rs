//! One DKG of a pending epoch over the session router, through the one driver
//! ([`crate::protocol::driver::run_with_retries`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dkg::bls::{BlsKeyShare, BlsPublicKeys};
use dkg::pedersen;
use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use dkg::step::Peer;
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::vss::{self, Output, Vss};
use dkg::PartyIndex;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::router::{session_id, Agreement, NodeId, PeerLink, Router, SessionInbox, SessionLink};
use crate::protocol::driver::{
    run_with_retries_confirmed, Confirmation, Deadlines, Finished, RetryPolicy, RunError, Start,
};
use crate::protocol::run_id::{committee_hash, ProtocolKind, RunId};
use crate::protocol::wire::WireMessage;

/// Why a DKG could not run or finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This node is not in the committee.
    #[error("this node is not a member of epoch {0}'s committee")]
    NotMember(u64),
    /// A member's record has no usable Ed25519 p2p key.
    #[error("member {} has no valid Ed25519 p2p key on record", hex::encode(.0))]
    BadIdentity(NodeId),
    /// The committee is larger than party indices allow.
    #[error("committee of {0} members is too large")]
    TooLarge(usize),
    /// The driver gave up.
    #[error("{kind} of epoch {epoch}: {source}")]
    Run {
        /// `"bls dkg"` or `"secp dkg"`.
        kind: &'static str,
        /// The epoch.
        epoch: u64,
        /// Why (boxed: the driver's error carries the last attempt's outcome).
        #[source]
        source: Box<RunError>,
    },
    /// The run finished without a share for this node (only possible for a dealer
    /// outside the new committee, which a DKG has not).
    #[error("{0} finished without a share for this node")]
    NoShare(&'static str),
    /// A joining member could not learn the old committee's public keys, or the
    /// result does not keep the chain's group keys.
    #[error("reshare: {0}")]
    OldKeys(String),
}

/// What a DKG needs to know about the epoch.
pub struct Committee<'a> {
    /// Epoch number.
    pub epoch: u64,
    /// Threshold.
    pub threshold: u16,
    /// Node ids in party order.
    pub members: &'a [NodeId],
    /// Each member's Ed25519 p2p key (its DKG identity key).
    pub p2p_keys: &'a BTreeMap<NodeId, Vec<u8>>,
}

/// Both shares of an epoch and what the members confirm.
pub struct EpochKeys {
    /// The BLS12-381 share.
    pub bls: BlsKeyShare,
    /// The secp256k1 share.
    pub secp: SecpKeyShare,
    /// `PK`, G1 compressed.
    pub bls_group_pk: [u8; 48],
    /// `P`, SEC1 compressed.
    pub secp_group_pk: [u8; 33],
    /// The epoch transcript: SHA-256 of both runs' transcripts
    /// ([`epoch_transcript`]).
    pub transcript_hash: [u8; 32],
    /// The parties each run left out of QUAL, by dealer index.
    pub disqualified: BTreeSet<u16>,
    /// Attempts the slower of the two runs took.
    pub attempts: u32,
}

/// `SHA-256("keynet/kms-node/epoch-transcript/v1" || bls transcript || secp transcript)`:
/// the one transcript hash a member confirms for both runs.
pub fn epoch_transcript(bls: &[u8; 32], secp: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/kms-node/epoch-transcript/v1");
    h.update(bls);
    h.update(secp);
    h.finalize().into()
}

/// The DKG's environment: this node, its keys and links, and the retry policy.
#[derive(Clone)]
pub struct DkgContext {
    /// This node.
    pub me: NodeId,
    /// Its DKG identity key.
    pub signer: Arc<SigningKey>,
    /// Sessions.
    pub router: Router,
    /// The p2p link.
    pub link: Arc<dyn PeerLink>,
    /// Deadlines and attempts.
    pub policy: RetryPolicy,
}

impl DkgContext {
    /// The retry policy of `[protocol]`.
    pub fn policy(config: &crate::config::ProtocolConfig) -> RetryPolicy {
        RetryPolicy {
            max_attempts: config.max_attempts,
            deadlines: Deadlines {
                round: config.round_deadline,
                attempt: config.attempt_deadline,
            },
            exclude_silent: false,
            schedule: None,
        }
    }
}

/// Ends a run: keeps its session open for one attempt deadline, so that members still
/// waiting for this node's confirmation can pull it ([`SessionInbox::linger`]), and
/// turns the driver's result into the output and the attempts it took.
fn finish_run<O>(
    ctx: &DkgContext,
    (link, inbox): (SessionLink, SessionInbox),
    finished: Result<Finished<O>, RunError>,
    kind: &'static str,
    epoch: u64,
) -> Result<(O, u32), Error> {
    inbox.linger(link, ctx.policy.deadlines.attempt);
    let finished = finished.map_err(|source| Error::Run {
        kind,
        epoch,
        source: Box::new(source),
    })?;
    let attempts = u32::try_from(finished.run_ids.len()).unwrap_or(u32::MAX);
    Ok((finished.output, attempts))
}

/// The transcript confirmation of a run whose receivers are the `n` members of a
/// committee with threshold `t` (every receiver confirms; the chain's quorum).
fn confirmation<S: Suite>(n: usize, t: u16) -> Result<Confirmation<Output<S>>, Error> {
    let confirmers = (0..n)
        .map(|pos| index(pos).map(Peer::Receiver))
        .collect::<Result<_, _>>()?;
    Ok(Confirmation {
        confirmers,
        quorum: Confirmation::<Output<S>>::quorum(n, t),
        suite: S::ID,
        transcript: Output::<S>::transcript_hash,
    })
}

pub(super) fn index(i: usize) -> Result<PartyIndex, Error> {
    u16::try_from(i + 1)
        .ok()
        .and_then(PartyIndex::new)
        .ok_or(Error::TooLarge(i + 1))
}

async fn run_one<S: Suite>(
    ctx: &DkgContext,
    c: &Committee<'_>,
    kind: &'static str,
) -> Result<(Output<S>, u32), Error> {
    let mut roles = BTreeMap::new();
    let mut identities = BTreeMap::new();
    let mut me = None;
    for (pos, id) in c.members.iter().enumerate() {
        let i = index(pos)?;
        roles.insert(Peer::Dealer(i), *id);
        roles.insert(Peer::Receiver(i), *id);
        let key = c
            .p2p_keys
            .get(id)
            .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .ok_or(Error::BadIdentity(*id))?;
        identities.insert(i, key);
        if *id == ctx.me {
            me = Some(i);
        }
    }
    let me = me.ok_or(Error::NotMember(c.epoch))?;
    let protocol = ProtocolKind::Dkg(S::ID);
    let committee = committee_hash(c.members, c.threshold);
    let agreement = agreement::<vss::Message>(ctx, c.p2p_keys, c.members.iter())?;
    let (link, mut inbox) = ctx.router.open_with_agreement(
        session_id(c.epoch, protocol),
        roles,
        ctx.me,
        Arc::clone(&ctx.link),
        agreement,
    );
    let parties: BTreeSet<PartyIndex> = identities.keys().copied().collect();
    let mine = link.mine().clone();
    let signer = Arc::clone(&ctx.signer);
    let epoch = c.epoch;
    let threshold = c.threshold;
    let confirm = confirmation::<S>(c.members.len(), threshold)?;
    let finished = run_with_retries_confirmed(
        ctx.policy,
        &mine,
        &link,
        &mut inbox,
        Some(&confirm),
        |attempt, _| {
            let run_id = RunId::derive(epoch, committee, protocol, attempt);
            let params = pedersen::Params {
                run_id,
                me,
                parties: parties.clone(),
                threshold,
                identities: identities.clone(),
            };
            let (machine, outgoing) =
                Vss::<S>::start_dkg(&params, signer.as_ref(), &mut rand_core::OsRng)?;
            Ok(Start {
                run_id,
                machine,
                outgoing,
            })
        },
    )
    .await;
    finish_run(ctx, (link, inbox), finished, kind, epoch)
}

/// Runs both DKGs of a genesis epoch, concurrently.
pub async fn genesis(ctx: &DkgContext, c: &Committee<'_>) -> Result<EpochKeys, Error> {
    let (bls, secp) = tokio::join!(
        run_one::<Bls12381G1>(ctx, c, "bls dkg"),
        run_one::<Secp256k1>(ctx, c, "secp dkg"),
    );
    let ((bls, a), (secp, b)) = (bls?, secp?);
    let mut keys = epoch_keys(bls, secp)?.ok_or(Error::NoShare("dkg"))?;
    keys.attempts = a.max(b);
    Ok(keys)
}

/// Both outputs as [`EpochKeys`]; `None` when this node received no share (a dealer
/// leaving the committee).
fn epoch_keys(
    bls: Output<Bls12381G1>,
    secp: Output<Secp256k1>,
) -> Result<Option<EpochKeys>, Error> {
    let transcript_hash = epoch_transcript(&bls.transcript_hash(), &secp.transcript_hash());
    let disqualified = bls
        .disqualified()
        .keys()
        .chain(secp.disqualified().keys())
        .map(|i| i.get())
        .collect();
    let bls_public = BlsPublicKeys::from_generic(bls.public().clone());
    let secp_public = SecpPublicKeys::from_generic(secp.public().clone());
    let bls_group_pk = bls_public.group_key().to_compressed();
    let secp_group_pk = secp_compressed(&secp_public)?;
    let (Some(bls), Some(secp)) = (bls.into_key_share(), secp.into_key_share()) else {
        return Ok(None);
    };
    Ok(Some(EpochKeys {
        bls: BlsKeyShare::from_generic(bls),
        secp: SecpKeyShare::from_generic(secp),
        bls_group_pk,
        secp_group_pk,
        transcript_hash,
        disqualified,
        attempts: 1,
    }))
}

pub(super) fn secp_compressed(p: &SecpPublicKeys) -> Result<[u8; 33], Error> {
    p.group_key()
        .serialize()
        .ok()
        .and_then(|v| <[u8; 33]>::try_from(v.as_slice()).ok())
        .ok_or(Error::NoShare("secp dkg (group key is the identity)"))
}

/// A committee change: the old committee deals its shares to the new one (DESIGN §7);
/// dealers keep their old index, receivers take their new one.
pub struct Change<'a> {
    /// The new epoch.
    pub epoch: u64,
    /// The active committee, in party order.
    pub old_members: &'a [NodeId],
    /// The active epoch's threshold.
    pub old_threshold: u16,
    /// The pending committee, in party order.
    pub new_members: &'a [NodeId],
    /// The new threshold.
    pub new_threshold: u16,
    /// Every member's Ed25519 p2p key.
    pub p2p_keys: &'a BTreeMap<NodeId, Vec<u8>>,
    /// The active epoch's group keys on chain (`PK`, `P`): the old public keys a
    /// joining member accepts must be of them, and so must the result.
    pub group_keys: ([u8; 48], [u8; 33]),
}

/// This node's shares of the active epoch (an old member's).
pub struct OldShares<'a> {
    /// BLS share.
    pub bls: &'a BlsKeyShare,
    /// secp256k1 share.
    pub secp: &'a SecpKeyShare,
}

pub(super) fn identity(
    keys: &BTreeMap<NodeId, Vec<u8>>,
    id: &NodeId,
) -> Result<VerifyingKey, Error> {
    p2p_key(id, keys.get(id).map(Vec::as_slice))
}

/// Node `id`'s p2p identity key from its on-chain bytes (`None`: no record).
pub(super) fn p2p_key(id: &NodeId, bytes: Option<&[u8]>) -> Result<VerifyingKey, Error> {
    bytes
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or(Error::BadIdentity(*id))
}

/// The echo broadcast of a session of `members` (each signs with its p2p key).
pub(super) fn agreement<'a, M: WireMessage>(
    ctx: &DkgContext,
    p2p_keys: &BTreeMap<NodeId, Vec<u8>>,
    members: impl IntoIterator<Item = &'a NodeId>,
) -> Result<Agreement, Error> {
    let keys = members
        .into_iter()
        .map(|id| Ok((*id, identity(p2p_keys, id)?)))
        .collect::<Result<_, Error>>()?;
    Ok(Agreement::new::<M>(Arc::clone(&ctx.signer), keys))
}

/// The roles of a change: dealers by old index, receivers by new index.
fn change_roles(c: &Change<'_>) -> Result<BTreeMap<Peer, NodeId>, Error> {
    let mut roles = BTreeMap::new();
    for (pos, id) in c.old_members.iter().enumerate() {
        roles.insert(Peer::Dealer(index(pos)?), *id);
    }
    for (pos, id) in c.new_members.iter().enumerate() {
        roles.insert(Peer::Receiver(index(pos)?), *id);
    }
    Ok(roles)
}

/// The session in which old members hand joining members the old public keys:
/// `SHA-256("keynet/kms-node/old-public-keys/v1" || be64(epoch) || u8(suite))`.
fn public_keys_session(epoch: u64, suite: dkg::wire::SuiteId) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/kms-node/old-public-keys/v1");
    h.update(epoch.to_be_bytes());
    h.update([suite.code()]);
    h.finalize().into()
}

/// The old committee's public keys for this node: its own share's if it is an old
/// member (it then sends them to every joining member); else the first value that
/// `t_old` distinct old members sent byte for byte (at most `t_old - 1` of them lie).
async fn old_public_keys<S: Suite>(
    ctx: &DkgContext,
    c: &Change<'_>,
    mine: Option<&dkg::keys::PublicKeys<S>>,
) -> Result<dkg::keys::PublicKeys<S>, Error> {
    let roles = change_roles(c)?;
    let (link, mut inbox) = ctx.router.open(
        public_keys_session(c.epoch, S::ID),
        roles,
        ctx.me,
        Arc::clone(&ctx.link),
    );
    if let Some(pk) = mine {
        let from = link
            .mine()
            .iter()
            .find(|p| matches!(p, Peer::Dealer(_)))
            .copied()
            .ok_or(Error::NotMember(c.epoch))?;
        let mut joining = Vec::new();
        for (pos, id) in c.new_members.iter().enumerate() {
            if !c.old_members.contains(id) {
                joining.push(Peer::Receiver(index(pos)?));
            }
        }
        send_public_keys(&link, from, &joining, pk)?;
        return Ok(pk.clone());
    }
    collect_public_keys(&mut inbox, c.old_threshold, ctx.policy.deadlines.attempt).await
}

/// Sends `pk` as `from` to each of `to`.
pub(super) fn send_public_keys<S: Suite>(
    link: &super::router::SessionLink,
    from: Peer,
    to: &[Peer],
    pk: &dkg::keys::PublicKeys<S>,
) -> Result<(), Error> {
    let bytes = dkg::wire::encode(pk).map_err(|e| Error::OldKeys(e.to_string()))?;
    for peer in to {
        let _ = crate::protocol::driver::SendToPeer::send(
            link,
            from,
            Some(*peer),
            dkg::step::Channel::Authenticated,
            &bytes,
        );
    }
    Ok(())
}

/// The first public keys that `threshold` distinct dealers sent byte for byte (at most
/// `threshold - 1` of them lie, so such a value includes an honest copy), within
/// `deadline`.
pub(super) async fn collect_public_keys<S: Suite>(
    inbox: &mut super::router::SessionInbox,
    threshold: u16,
    deadline: std::time::Duration,
) -> Result<dkg::keys::PublicKeys<S>, Error> {
    let need = usize::from(threshold);
    let mut copies: BTreeMap<Vec<u8>, BTreeSet<Peer>> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + deadline;
    loop {
        let next = tokio::time::timeout_at(
            deadline,
            crate::protocol::driver::ReceiveFromPeer::recv(inbox),
        )
        .await
        .map_err(|_| {
            Error::OldKeys(format!(
                "fewer than {need} members sent the committee's public keys in time"
            ))
        })?
        .ok_or(Error::OldKeys("session closed".into()))?;
        let (from, bytes) = next;
        if !matches!(from, Peer::Dealer(_)) {
            continue;
        }
        let senders = copies.entry(bytes.clone()).or_default();
        senders.insert(from);
        if senders.len() >= need {
            let pk: dkg::keys::PublicKeys<S> =
                dkg::wire::decode(&bytes).map_err(|e| Error::OldKeys(e.to_string()))?;
            if pk.threshold() != threshold {
                return Err(Error::OldKeys(
                    "the threshold disagrees with the chain".into(),
                ));
            }
            return Ok(pk);
        }
    }
}

async fn reshare_one<S: Suite>(
    ctx: &DkgContext,
    c: &Change<'_>,
    share: Option<&dkg::keys::KeyShare<S>>,
    kind: &'static str,
) -> Result<(Output<S>, u32), Error> {
    let old = old_public_keys::<S>(ctx, c, share.map(|s| s.public())).await?;
    let roles = change_roles(c)?;
    let mut dealers = BTreeMap::new();
    for (pos, id) in c.old_members.iter().enumerate() {
        dealers.insert(index(pos)?, identity(c.p2p_keys, id)?);
    }
    let mut receivers = BTreeMap::new();
    for (pos, id) in c.new_members.iter().enumerate() {
        receivers.insert(index(pos)?, identity(c.p2p_keys, id)?);
    }
    let me = dkg::Roles {
        dealer: share.map(|s| s.index()),
        receiver: c
            .new_members
            .iter()
            .position(|id| *id == ctx.me)
            .map(index)
            .transpose()?,
    };
    if me.dealer.is_none() && me.receiver.is_none() {
        return Err(Error::NotMember(c.epoch));
    }
    let protocol = ProtocolKind::Reshare(S::ID);
    let committee = committee_hash(c.new_members, c.new_threshold);
    let agreement =
        agreement::<vss::Message>(ctx, c.p2p_keys, c.old_members.iter().chain(c.new_members))?;
    let (link, mut inbox) = ctx.router.open_with_agreement(
        session_id(c.epoch, protocol),
        roles,
        ctx.me,
        Arc::clone(&ctx.link),
        agreement,
    );
    let mine: BTreeSet<Peer> = link
        .mine()
        .iter()
        .filter(|p| match p {
            Peer::Dealer(i) => me.dealer == Some(*i),
            Peer::Receiver(j) => me.receiver == Some(*j),
        })
        .copied()
        .collect();
    let signer = Arc::clone(&ctx.signer);
    let epoch = c.epoch;
    let new_threshold = c.new_threshold;
    let confirm = confirmation::<S>(c.new_members.len(), new_threshold)?;
    let finished = run_with_retries_confirmed(
        ctx.policy,
        &mine,
        &link,
        &mut inbox,
        Some(&confirm),
        |attempt, excluded| {
            let run_id = RunId::derive(epoch, committee, protocol, attempt);
            let params = dkg::reshare::Params {
                run_id,
                me,
                old: old.clone(),
                dealers: dealers
                    .iter()
                    .filter(|(i, _)| !excluded.culprits.contains(i))
                    .map(|(i, k)| (*i, *k))
                    .collect(),
                receivers: receivers.clone(),
                new_threshold,
            };
            let (machine, outgoing) =
                Vss::<S>::start_reshare(&params, share, signer.as_ref(), &mut rand_core::OsRng)?;
            Ok(Start {
                run_id,
                machine,
                outgoing,
            })
        },
    )
    .await;
    finish_run(ctx, (link, inbox), finished, kind, epoch)
}

/// Runs the reshare of both key types for a committee change. Returns the new shares
/// (`None` for an old member that leaves). The group keys are checked to be the ones
/// on chain.
pub async fn reshare(
    ctx: &DkgContext,
    c: &Change<'_>,
    old: Option<OldShares<'_>>,
) -> Result<Option<EpochKeys>, Error> {
    let (bls, secp) = tokio::join!(
        reshare_one::<Bls12381G1>(
            ctx,
            c,
            old.as_ref().map(|o| o.bls.as_generic()),
            "bls reshare"
        ),
        reshare_one::<Secp256k1>(
            ctx,
            c,
            old.as_ref().map(|o| o.secp.as_generic()),
            "secp reshare"
        ),
    );
    let ((bls, a), (secp, b)) = (bls?, secp?);
    let keys = epoch_keys(bls, secp)?.map(|mut k| {
        k.attempts = a.max(b);
        k
    });
    match keys {
        Some(k) if (k.bls_group_pk, k.secp_group_pk) != c.group_keys => Err(Error::OldKeys(
            "the reshare produced other group keys than the chain's".into(),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(non_snake_case, clippy::unwrap_used, clippy::panic)]

    use std::time::Duration;

    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::node::router::MemoryLinks;

    pub(crate) fn cluster(n: u8) -> (MemoryLinks, Vec<DkgContext>, BTreeMap<NodeId, Vec<u8>>) {
        let links = MemoryLinks::default();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut keys = BTreeMap::new();
        let ctxs = (1..=n)
            .map(|i| {
                let id = [i; 32];
                let signer = SigningKey::generate(&mut rng);
                keys.insert(id, signer.verifying_key().to_bytes().to_vec());
                let router = Router::new();
                links.add(id, router.clone());
                DkgContext {
                    me: id,
                    signer: Arc::new(signer),
                    router,
                    link: links.link(id),
                    policy: RetryPolicy {
                        max_attempts: 2,
                        deadlines: Deadlines {
                            round: Duration::from_millis(800),
                            attempt: Duration::from_secs(5),
                        },
                        exclude_silent: false,
                        schedule: None,
                    },
                }
            })
            .collect();
        (links, ctxs, keys)
    }

    pub(crate) async fn run_all(
        ctxs: Vec<DkgContext>,
        keys: BTreeMap<NodeId, Vec<u8>>,
        t: u16,
    ) -> Vec<Result<EpochKeys, Error>> {
        let members: Vec<NodeId> = ctxs.iter().map(|c| c.me).collect();
        let tasks: Vec<_> = ctxs
            .into_iter()
            .map(|ctx| {
                let members = members.clone();
                let keys = keys.clone();
                tokio::spawn(async move {
                    let c = Committee {
                        epoch: 1,
                        threshold: t,
                        members: &members,
                        p2p_keys: &keys,
                    };
                    genesis(&ctx, &c).await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn genesis__should_give_every_member_both_shares_of_the_same_group_keys() {
        let (_links, ctxs, keys) = cluster(4);
        let results = run_all(ctxs, keys, 3).await;
        let first = results[0].as_ref().unwrap();
        for (i, r) in results.iter().enumerate() {
            let r = r.as_ref().unwrap();
            assert_eq!(r.bls_group_pk, first.bls_group_pk);
            assert_eq!(r.secp_group_pk, first.secp_group_pk);
            assert_eq!(r.transcript_hash, first.transcript_hash);
            assert_eq!(r.bls.index().get() as usize, i + 1);
            assert_eq!(r.secp.index().get() as usize, i + 1);
            assert!(r.disqualified.is_empty());
        }
        assert_ne!(first.secp_group_pk[0], 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn genesis__should_finish_without_a_member_that_is_cut_off() {
        // t = 2 of 4: the transcript confirmation's quorum (as the chain's after its
        // deadline) is min(4, 3) = 3, so the three that are connected finish.
        let (links, ctxs, keys) = cluster(4);
        links.cut([4; 32]);
        let results = run_all(ctxs, keys, 2).await;
        let ok: Vec<&EpochKeys> = results[..3].iter().map(|r| r.as_ref().unwrap()).collect();
        for r in &ok {
            assert_eq!(r.bls_group_pk, ok[0].bls_group_pk);
            assert_eq!(r.transcript_hash, ok[0].transcript_hash);
            assert!(r.disqualified.contains(&4), "{:?}", r.disqualified);
        }
        assert!(results[3].is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn genesis__should_not_finish_without_a_member_the_quorum_needs() {
        // t = 3 of 4: the quorum is all four (min(4, 5)), as on chain, where such an
        // epoch could not activate either: the connected three time out naming the
        // missing member's confirmation rather than store shares for nothing.
        let (links, ctxs, keys) = cluster(4);
        links.cut([4; 32]);
        let results = run_all(ctxs, keys, 3).await;
        for r in &results[..3] {
            match r {
                Err(Error::Run { source, .. }) => match source.as_ref() {
                    RunError::Exhausted {
                        last: crate::protocol::driver::Outcome::TimedOut { silent },
                        ..
                    } => assert_eq!(silent, &vec![Peer::Receiver(index(3).unwrap())]),
                    other => panic!("{other:?}"),
                },
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("finished without the quorum"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reshare__should_keep_the_group_keys_when_a_middle_member_leaves_and_one_joins() {
        reshare_1234_to_1345(Dealer2::Honest).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reshare__should_complete_without_a_dealer_that_goes_silent() {
        // The leaving dealer 2 is cut off: the three others (t_old = 3) still deal, and
        // every new member leaves 2 out of QUAL.
        reshare_1234_to_1345(Dealer2::Cut).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reshare__should_exclude_a_dealer_that_withholds_a_share_and_its_answer() {
        // Dealer 2 deals to every new member but 3, then withholds its round-4
        // answers: 3's complaint against it stands, so every new member leaves 2 out
        // of QUAL, and the reshare still completes from the three honest dealers.
        reshare_1234_to_1345(Dealer2::Malicious).await;
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Dealer2 {
        Honest,
        Cut,
        Malicious,
    }

    /// Genesis among 1..=4 (t = 3), then [1, 2, 3, 4] -> [1, 3, 4, 5] (t' = 3), dealer 2
    /// (who leaves) as `dealer2` says after the genesis.
    async fn reshare_1234_to_1345(dealer2: Dealer2) {
        let (links, mut ctxs, keys) = cluster(5);
        for c in &mut ctxs {
            c.policy.deadlines.round = Duration::from_millis(500);
        }
        let old_members: Vec<NodeId> = (1..=4u8).map(|i| [i; 32]).collect();
        let genesis_ctxs: Vec<DkgContext> = ctxs[..4].to_vec();
        let genesis = run_all(genesis_ctxs, keys.clone(), 3).await;
        let genesis: Vec<EpochKeys> = genesis.into_iter().map(|r| r.unwrap()).collect();
        let group = (genesis[0].bls_group_pk, genesis[0].secp_group_pk);
        match dealer2 {
            Dealer2::Honest => {}
            Dealer2::Cut => links.cut([2; 32]),
            Dealer2::Malicious => links.filter(
                [2; 32],
                Arc::new(|to: &NodeId, e: &crate::node::router::Envelope| {
                    let round = <vss::Message as WireMessage>::peek(&e.payload).map(|f| f.round);
                    !matches!((round, to), (Ok(2), [3, ..]) | (Ok(4), _))
                }),
            ),
        }
        let cut = dealer2 != Dealer2::Honest;
        let new_members: Vec<NodeId> = [1u8, 3, 4, 5].iter().map(|i| [*i; 32]).collect();
        let genesis = Arc::new(genesis);
        let tasks: Vec<_> = ctxs
            .into_iter()
            .enumerate()
            .map(|(k, ctx)| {
                let (old_members, new_members, keys, genesis) = (
                    old_members.clone(),
                    new_members.clone(),
                    keys.clone(),
                    Arc::clone(&genesis),
                );
                tokio::spawn(async move {
                    let c = Change {
                        epoch: 2,
                        old_members: &old_members,
                        old_threshold: 3,
                        new_members: &new_members,
                        new_threshold: 3,
                        p2p_keys: &keys,
                        group_keys: group,
                    };
                    let old = genesis.get(k).map(|g| OldShares {
                        bls: &g.bls,
                        secp: &g.secp,
                    });
                    reshare(&ctx, &c, old).await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => out.push(r),
                // The cut-off dealer cannot finish.
                Err(_) if cut && out.len() == 1 => out.push(None),
                Err(e) => panic!("{e}"),
            }
        }
        drop(links);
        // Node 2 left: no share. The others hold shares at their new index.
        assert!(out[1].is_none());
        if cut {
            for k in [0usize, 2, 3, 4] {
                let d = &out[k].as_ref().unwrap().disqualified;
                assert!(d.contains(&2), "{d:?}");
            }
        }
        for (k, new_index) in [(0usize, 1u16), (2, 2), (3, 3), (4, 4)] {
            let r = out[k].as_ref().unwrap();
            assert_eq!((r.bls_group_pk, r.secp_group_pk), group);
            assert_eq!(r.bls.index().get(), new_index);
            assert_eq!(r.secp.index().get(), new_index);
        }
        let t0 = out[0].as_ref().unwrap().transcript_hash;
        assert!(out.iter().flatten().all(|r| r.transcript_hash == t0));
    }
}
