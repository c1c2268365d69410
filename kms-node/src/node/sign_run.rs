//! Signing on behalf of an application over p2p (DESIGN §4.3, §7 "Signing"): the
//! [`SignOnBehalf`] capability the app service calls once every check passed.
//!
//! The application sends the same `SignRequest` (message, identity, signing set,
//! session) to each node of the signing set it chose. Each node checks the request on
//! its own (evidence, approval, membership: the app service), then runs
//! [`tss::session::SignSession`] with the others through the one protocol driver, over
//! a router session named by the run id:
//!
//! ```text
//! run_id = SHA-256("keynet/kms-node/sign/v1" || be64(epoch) || app_id || u8(len(path))
//!                  || path || SHA-256(message) || be16(signer)... || session)
//! ```
//!
//! Everything that is signed is in the run id, so nodes asked to sign different
//! things (an application that lied to some of them) never meet, and a node joins a
//! session only for a request it admitted itself: no node can make another sign. Each
//! node ends with the same BIP-340 signature and answers the application with it.
//!
//! One attempt per request, under the app service's sign deadline; a failure is
//! answered `quorum_unavailable` and the application retries with a new session (new
//! nonces). A run id is used once: a repeated request for a session this node already
//! ran is refused, so a replay cannot reopen a finished session.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use dkg::step::Peer;
use dkg::PartyIndex;
use ed25519_dalek::SigningKey;
use frost_secp256k1_tr::Signature;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tss::session::{Message, SignSession};
use tss::{AppSigningKey, Identity};

use super::dkg_run::p2p_key;
use super::keyring::ServingEpoch;
use super::router::{Agreement, NodeId, PeerLink, Router};
use crate::app::{SignFailure, SignOnBehalf};
use crate::chain::watcher::ChainState;
use crate::protocol::driver::{run_attempt, Backlog, Deadlines, Outcome, Start, Stats};

/// How many run ids a node remembers to refuse their reuse.
pub const REMEMBERED_RUNS: usize = 65_536;

/// The run id of a signing session (module docs).
pub fn sign_run_id(
    epoch: u64,
    identity: &Identity,
    message: &[u8],
    signers: &BTreeSet<PartyIndex>,
    session: [u8; 16],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keynet/kms-node/sign/v1");
    h.update(epoch.to_be_bytes());
    let mut tail = Vec::with_capacity(32 + 1 + identity.path().len());
    identity.encode_tail(&mut tail);
    h.update(&tail);
    h.update(Sha256::digest(message));
    for s in signers {
        h.update(s.get().to_be_bytes());
    }
    h.update(session);
    h.finalize().into()
}

/// The p2p signer: runs FROST sessions among the chosen signers.
pub struct P2pSigner {
    me: NodeId,
    router: Router,
    link: Arc<dyn PeerLink>,
    /// This node's p2p identity key: signs its agreement broadcasts.
    key: Arc<SigningKey>,
    /// The members' p2p keys come from the chain's node records.
    chain: watch::Receiver<ChainState>,
    deadlines: Deadlines,
    used: Mutex<UsedRuns>,
}

/// Run ids already run, oldest first, bounded.
#[derive(Default)]
struct UsedRuns {
    order: VecDeque<[u8; 32]>,
    set: std::collections::HashSet<[u8; 32]>,
}

impl UsedRuns {
    /// Records `run_id`; false if it was used before.
    fn claim(&mut self, run_id: [u8; 32]) -> bool {
        if !self.set.insert(run_id) {
            return false;
        }
        self.order.push_back(run_id);
        if self.order.len() > REMEMBERED_RUNS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

impl P2pSigner {
    /// A signer for node `me`, sending over `link` through `router` (the node's one
    /// router), signing agreement broadcasts with `key`. A session waits at most
    /// `deadlines.round` per round and `deadlines.attempt` in all.
    pub fn new(
        me: NodeId,
        router: Router,
        link: Arc<dyn PeerLink>,
        key: Arc<SigningKey>,
        chain: watch::Receiver<ChainState>,
        deadlines: Deadlines,
    ) -> Self {
        Self {
            me,
            router,
            link,
            key,
            chain,
            deadlines,
            used: Mutex::new(UsedRuns::default()),
        }
    }

    /// The roles (each signer's node) and the echo broadcast of a session.
    fn session_parts(
        &self,
        epoch: &ServingEpoch,
        signers: &BTreeSet<PartyIndex>,
    ) -> Result<(BTreeMap<Peer, NodeId>, Agreement), SignFailure> {
        let view = self
            .chain
            .borrow()
            .view
            .clone()
            .ok_or_else(|| SignFailure::QuorumUnavailable("no chain view yet".into()))?;
        let mut roles = BTreeMap::new();
        let mut keys = BTreeMap::new();
        for i in signers {
            let node = usize::from(i.get())
                .checked_sub(1)
                .and_then(|pos| epoch.committee.get(pos))
                .ok_or_else(|| {
                    SignFailure::QuorumUnavailable(format!(
                        "party {i} is not in epoch {}",
                        epoch.epoch
                    ))
                })?;
            let record = view.nodes.get(node).map(|n| n.p2p_key.as_slice());
            let key = p2p_key(node, record)
                .map_err(|e| SignFailure::QuorumUnavailable(format!("signer {i}: {e}")))?;
            roles.insert(Peer::Dealer(*i), *node);
            keys.insert(*node, key);
        }
        Ok((
            roles,
            Agreement::new::<Message>(Arc::clone(&self.key), keys),
        ))
    }
}

impl SignOnBehalf for P2pSigner {
    async fn sign(
        &self,
        epoch: &ServingEpoch,
        identity: &Identity,
        message: &[u8],
        signers: &[PartyIndex],
        session: [u8; 16],
    ) -> Result<Signature, SignFailure> {
        let set: BTreeSet<PartyIndex> = signers.iter().copied().collect();
        let run_id = sign_run_id(epoch.epoch, identity, message, &set, session);
        let fresh = self
            .used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .claim(run_id);
        if !fresh {
            return Err(SignFailure::SessionReused);
        }
        let group_key = epoch.secp.public().group_key();
        let app = AppSigningKey::new(group_key, identity)
            .map_err(|e| SignFailure::Internal(format!("application key: {e}")))?;
        let (roles, agreement) = self.session_parts(epoch, &set)?;
        let (link, mut inbox) =
            self.router
                .open_once(run_id, roles, self.me, Arc::clone(&self.link), agreement);
        let (machine, outgoing) = SignSession::start(
            run_id,
            &app,
            &epoch.secp,
            message,
            &set,
            &mut rand_core::OsRng,
        )
        .map_err(|e| SignFailure::Internal(format!("starting the session: {e}")))?;
        let start = Start {
            run_id,
            machine,
            outgoing,
        };
        let mine = link.mine().clone();
        let mut backlog = Backlog::default();
        let mut stats = Stats::default();
        let outcome = run_attempt(
            start,
            &mine,
            self.deadlines,
            &link,
            &mut inbox,
            &mut backlog,
            &mut stats,
        )
        .await;
        match outcome {
            Outcome::Done(signature) => Ok(signature),
            Outcome::TimedOut { silent } => Err(SignFailure::QuorumUnavailable(format!(
                "signers {} did not take part in time",
                peers(&silent)
            ))),
            Outcome::Failed { culprits, reason } => {
                tracing::warn!(%reason, ?culprits, epoch = epoch.epoch, "signing session failed");
                Err(SignFailure::QuorumUnavailable(format!(
                    "signing session failed: {reason}"
                )))
            }
        }
    }
}

fn peers(list: &[Peer]) -> String {
    let names: Vec<String> = list
        .iter()
        .map(|p| match p {
            Peer::Dealer(i) | Peer::Receiver(i) => i.to_string(),
        })
        .collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used, clippy::indexing_slicing)]

    use std::time::Duration;

    use alloy::primitives::Address;
    use governance_contract::policy::OnChainPolicy;
    use governance_contract::NodeRecord;

    use super::*;
    use crate::chain::{BlockRef, GovernanceView};
    use crate::node::dkg_run::tests::{cluster, run_all};
    use crate::node::dkg_run::DkgContext;
    use crate::node::router::MemoryLinks;

    const MESSAGE: &[u8] = b"transfer 5 to bob";

    struct Net {
        links: MemoryLinks,
        signers: Vec<Arc<P2pSigner>>,
        epochs: Vec<Arc<ServingEpoch>>,
    }

    /// A genesis DKG of `n` nodes with threshold `t` in one process, then a p2p signer
    /// and the served epoch per node, over the same in-memory links.
    async fn network(n: u8, t: u16) -> Net {
        let (links, ctxs, keys) = cluster(n);
        let contexts: Vec<DkgContext> = ctxs.clone();
        let results = run_all(ctxs, keys.clone(), t).await;
        let committee: Vec<NodeId> = contexts.iter().map(|c| c.me).collect();
        let records: Vec<NodeRecord> = committee
            .iter()
            .map(|id| NodeRecord {
                node_id: *id,
                operator: Address::repeat_byte(1),
                signer: Address::repeat_byte(2),
                vendor_code: 0,
                platform_code: 129,
                tee_family_code: 0,
                registered_at: 0,
                noise_key: [3; 32],
                p2p_key: keys[id].clone(),
                endpoint: String::new(),
            })
            .collect();
        let view = GovernanceView::new(
            BlockRef {
                number: 1,
                timestamp: 1,
            },
            None,
            None,
            records,
            [0; 32],
            [],
            OnChainPolicy {
                allowed_platforms: 0,
                values: governance_contract::NetworkPolicy::default(),
            },
        )
        .unwrap();
        let (_tx, chain) = watch::channel(ChainState {
            view: Some(Arc::new(view)),
            head: Some(1),
            last_error: None,
        });
        let mut signers = Vec::new();
        let mut epochs = Vec::new();
        for (ctx, keys) in contexts.into_iter().zip(results) {
            let keys = keys.unwrap();
            signers.push(Arc::new(P2pSigner::new(
                ctx.me,
                ctx.router.clone(),
                Arc::clone(&ctx.link),
                Arc::clone(&ctx.signer),
                chain.clone(),
                Deadlines {
                    round: Duration::from_millis(400),
                    attempt: Duration::from_secs(2),
                },
            )));
            epochs.push(Arc::new(ServingEpoch {
                epoch: 1,
                index: keys.secp.index(),
                threshold: t,
                committee: committee.clone(),
                bls: keys.bls,
                secp: Arc::new(keys.secp),
                bls_group_pk: keys.bls_group_pk,
                secp_group_pk: keys.secp_group_pk,
            }));
        }
        Net {
            links,
            signers,
            epochs,
        }
    }

    fn index(i: u16) -> PartyIndex {
        PartyIndex::new(i).unwrap()
    }

    /// Asks each node of `asked` (party indexes) to sign what `request(i)` says, as the
    /// app service would after its checks, concurrently.
    async fn sign(
        net: &Net,
        asked: &[u16],
        signers: &[u16],
        session: [u8; 16],
        request: impl Fn(u16) -> (Identity, Vec<u8>),
    ) -> Vec<Result<Signature, SignFailure>> {
        let set: Vec<PartyIndex> = signers.iter().map(|i| index(*i)).collect();
        let tasks: Vec<_> = asked
            .iter()
            .map(|i| {
                let signer = Arc::clone(&net.signers[usize::from(*i) - 1]);
                let epoch = Arc::clone(&net.epochs[usize::from(*i) - 1]);
                let (identity, message) = request(*i);
                let set = set.clone();
                tokio::spawn(async move {
                    signer
                        .sign(&epoch, &identity, &message, &set, session)
                        .await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    fn app() -> Identity {
        Identity::new([0xa5; 32], "wallet/0").unwrap()
    }

    fn bip340_verify(xonly: &[u8; 32], message: &[u8], sig: &Signature) -> bool {
        let key = k256::schnorr::VerifyingKey::from_bytes(xonly).unwrap();
        let bytes = sig.serialize().unwrap();
        let sig = k256::schnorr::Signature::try_from(bytes.as_slice()).unwrap();
        key.verify_raw(message, &sig).is_ok()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sign__should_give_each_chosen_signer_the_same_bip340_signature_under_the_app_key() {
        let net = network(5, 3).await;
        let xonly = AppSigningKey::new(net.epochs[0].secp.public().group_key(), &app())
            .unwrap()
            .xonly()
            .unwrap();
        for (signers, session) in [([1u16, 3, 5], [1u8; 16]), ([2, 4, 5], [2; 16])] {
            let results = sign(&net, &signers, &signers, session, |_| {
                (app(), MESSAGE.to_vec())
            })
            .await;
            let sigs: Vec<Signature> = results.into_iter().map(Result::unwrap).collect();
            assert!(sigs.iter().all(|s| *s == sigs[0]));
            assert!(bip340_verify(&xonly, MESSAGE, &sigs[0]));
            assert!(!bip340_verify(&xonly, b"transfer 6 to bob", &sigs[0]));
        }
        // Four signers of a threshold of three work as well.
        let results = sign(&net, &[1, 2, 3, 4], &[1, 2, 3, 4], [3; 16], |_| {
            (app(), MESSAGE.to_vec())
        })
        .await;
        assert!(results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|s| bip340_verify(&xonly, MESSAGE, s))));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sign__should_refuse_a_reused_session_and_fail_within_the_deadline_without_quorum() {
        let net = network(4, 3).await;
        let ok = sign(&net, &[1, 2, 3], &[1, 2, 3], [7; 16], |_| {
            (app(), MESSAGE.to_vec())
        })
        .await;
        assert!(ok.iter().all(Result::is_ok), "{ok:?}");
        // The same request again (a replay): refused before any message is sent.
        let again = sign(&net, &[1], &[1, 2, 3], [7; 16], |_| {
            (app(), MESSAGE.to_vec())
        })
        .await;
        assert_eq!(again[0], Err(SignFailure::SessionReused));

        // Node 3 is never asked: the two others give up at their deadline.
        let started = std::time::Instant::now();
        let r = sign(&net, &[1, 2], &[1, 2, 3], [8; 16], |_| {
            (app(), MESSAGE.to_vec())
        })
        .await;
        assert!(started.elapsed() < Duration::from_secs(4));
        for r in r {
            match r {
                Err(SignFailure::QuorumUnavailable(why)) => assert!(why.contains('3'), "{why}"),
                other => panic!("{other:?}"),
            }
        }

        // Node 3 is cut off from the network.
        net.links.cut([3; 32]);
        let r = sign(&net, &[1, 2, 3], &[1, 2, 3], [9; 16], |_| {
            (app(), MESSAGE.to_vec())
        })
        .await;
        assert!(
            r.iter()
                .all(|r| matches!(r, Err(SignFailure::QuorumUnavailable(_)))),
            "{r:?}"
        );
        // Another signing set without it still signs.
        let r = sign(&net, &[1, 2, 4], &[1, 2, 4], [9; 16], |_| {
            (app(), MESSAGE.to_vec())
        })
        .await;
        assert!(r.iter().all(Result::is_ok), "{r:?}");
    }

    /// An application that asks the signers to sign different messages (or for
    /// different paths) gets no signature at all: the sessions never meet.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sign__should_not_sign_when_the_signers_were_asked_different_things() {
        let net = network(4, 3).await;
        let r = sign(&net, &[1, 2, 3], &[1, 2, 3], [5; 16], |i| {
            (
                app(),
                if i == 2 {
                    b"other".to_vec()
                } else {
                    MESSAGE.to_vec()
                },
            )
        })
        .await;
        assert!(
            r.iter()
                .all(|r| matches!(r, Err(SignFailure::QuorumUnavailable(_)))),
            "{r:?}"
        );
        let r = sign(&net, &[1, 2, 3], &[1, 2, 3], [6; 16], |i| {
            let path = if i == 3 { "wallet/1" } else { "wallet/0" };
            (Identity::new([0xa5; 32], path).unwrap(), MESSAGE.to_vec())
        })
        .await;
        assert!(
            r.iter()
                .all(|r| matches!(r, Err(SignFailure::QuorumUnavailable(_)))),
            "{r:?}"
        );
    }
}
