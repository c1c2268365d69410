//! One DKG of a pending epoch over the session router, through the one driver
//! ([`crate::protocol::driver::run_with_retries`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dkg::bls::{BlsKeyShare, BlsPublicKeys};
use dkg::pedersen;
use dkg::secp::{SecpKeyShare, SecpPublicKeys};
use dkg::step::Peer;
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use dkg::vss::{Output, Vss};
use dkg::PartyIndex;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::router::{session_id, NodeId, PeerLink, Router};
use crate::protocol::driver::{run_with_retries, Deadlines, RetryPolicy, RunError, Start};
use crate::protocol::run_id::{committee_hash, ProtocolKind, RunId};

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
        }
    }
}

fn index(i: usize) -> Result<PartyIndex, Error> {
    u16::try_from(i + 1)
        .ok()
        .and_then(PartyIndex::new)
        .ok_or(Error::TooLarge(i + 1))
}

async fn run_one<S: Suite>(
    ctx: &DkgContext,
    c: &Committee<'_>,
    kind: &'static str,
) -> Result<Output<S>, Error> {
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
    let (link, mut inbox) = ctx.router.open(
        session_id(c.epoch, protocol),
        roles,
        ctx.me,
        Arc::clone(&ctx.link),
    );
    let parties: BTreeSet<PartyIndex> = identities.keys().copied().collect();
    let mine = link.mine().clone();
    let signer = Arc::clone(&ctx.signer);
    let epoch = c.epoch;
    let threshold = c.threshold;
    let finished = run_with_retries(ctx.policy, &mine, &link, &mut inbox, |attempt, _| {
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
    })
    .await
    .map_err(|source| Error::Run {
        kind,
        epoch,
        source: Box::new(source),
    })?;
    Ok(finished.output)
}

/// Runs both DKGs of a genesis epoch, concurrently.
pub async fn genesis(ctx: &DkgContext, c: &Committee<'_>) -> Result<EpochKeys, Error> {
    let (bls, secp) = tokio::join!(
        run_one::<Bls12381G1>(ctx, c, "bls dkg"),
        run_one::<Secp256k1>(ctx, c, "secp dkg"),
    );
    let (bls, secp) = (bls?, secp?);
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
    let bls = BlsKeyShare::from_generic(bls.into_key_share().ok_or(Error::NoShare("bls dkg"))?);
    let secp = SecpKeyShare::from_generic(secp.into_key_share().ok_or(Error::NoShare("secp dkg"))?);
    Ok(EpochKeys {
        bls,
        secp,
        bls_group_pk,
        secp_group_pk,
        transcript_hash,
        disqualified,
    })
}

fn secp_compressed(p: &SecpPublicKeys) -> Result<[u8; 33], Error> {
    p.group_key()
        .serialize()
        .ok()
        .and_then(|v| <[u8; 33]>::try_from(v.as_slice()).ok())
        .ok_or(Error::NoShare("secp dkg (group key is the identity)"))
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use std::time::Duration;

    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::node::router::MemoryLinks;

    fn cluster(n: u8) -> (MemoryLinks, Vec<DkgContext>, BTreeMap<NodeId, Vec<u8>>) {
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
                    },
                }
            })
            .collect();
        (links, ctxs, keys)
    }

    async fn run_all(
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
        let (links, ctxs, keys) = cluster(4);
        links.cut([4; 32]);
        let results = run_all(ctxs, keys, 3).await;
        let ok: Vec<&EpochKeys> = results[..3].iter().map(|r| r.as_ref().unwrap()).collect();
        for r in &ok {
            assert_eq!(r.bls_group_pk, ok[0].bls_group_pk);
            assert_eq!(r.transcript_hash, ok[0].transcript_hash);
            assert!(r.disqualified.contains(&4), "{:?}", r.disqualified);
        }
    }
}
