//! The checks and answers of the app service, without sockets: what a session is
//! admitted with ([`AppService::open_session`]) and how each request is answered
//! ([`AppService::answer`]). `docs/PROTOCOL.md`, "App <-> node service (kms-node)",
//! lists the order.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use attestation_gate::{Claims, Evidence, UnixTime, Verifiers};
use governance_contract::release::{release, AppApproval, Refusal};
use kms_api::{
    AppHello, DeriveResponse, ErrorCode, EvidencePayload, GroupKeysResponse, NodeHello, Request,
    RequestBody, RequestId, Response, ResponseBody, SignRequest, SignResponse,
};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::limits::{Buckets, Cache, ReplayGuard};
use super::sign::{SignFailure, SignOnBehalf};
use super::AppConfig;
use crate::chain::watcher::ChainState;
use crate::chain::{GovernanceView, ReadGovernance};
use crate::node::keyring::{KeyRing, ServingEpoch};
use crate::node::router::NodeId;
use crate::ops::metrics::Metrics;

/// How a session was admitted after the handshake.
#[derive(Debug, Clone)]
enum Admission {
    /// Genuine evidence bound to the session's key: every request is checked further.
    Verified(Box<Claims>),
    /// Refused: every request is answered with this code (and `retry_after`).
    Refused(ErrorCode, Option<u32>),
}

/// One admitted Noise session.
#[derive(Debug)]
pub struct Session {
    epoch: Arc<ServingEpoch>,
    hello: AppHello,
    remote_static: [u8; 32],
    peer: IpAddr,
    admission: Admission,
}

impl Session {
    /// The epoch the session serves (the one its `NodeHello` named).
    pub fn epoch(&self) -> u64 {
        self.epoch.epoch
    }
}

struct State {
    per_ip: Buckets<IpAddr>,
    per_app: Buckets<[u8; 32]>,
    replay: ReplayGuard<IpAddr>,
    verdicts: Cache<[u8; 32], Result<Claims, &'static str>>,
    approvals: Cache<(u64, [u8; 32], [u8; 32]), AppApproval>,
}

struct Inner<G, S> {
    me: NodeId,
    keyring: KeyRing,
    chain: watch::Receiver<ChainState>,
    governance: G,
    verifiers: Arc<Verifiers>,
    signer: S,
    config: AppConfig,
    metrics: Arc<Metrics>,
    node_evidence: watch::Receiver<Option<EvidencePayload>>,
    state: Mutex<State>,
}

/// The app service; clones share everything.
pub struct AppService<G, S> {
    inner: Arc<Inner<G, S>>,
}

impl<G, S> Clone for AppService<G, S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// What the service is built from.
pub struct AppServiceParts<G, S> {
    /// This node's id.
    pub me: NodeId,
    /// The epochs it serves.
    pub keyring: KeyRing,
    /// The chain watcher's state.
    pub chain: watch::Receiver<ChainState>,
    /// Approval lookups at the pinned block.
    pub governance: G,
    /// Verifiers of application evidence.
    pub verifiers: Arc<Verifiers>,
    /// Signing on behalf of applications.
    pub signer: S,
    /// Limits.
    pub config: AppConfig,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// This node's current `node-identity` evidence for its `NodeHello`.
    pub node_evidence: watch::Receiver<Option<EvidencePayload>>,
}

fn unix_now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// The kms-api code of a refusal of the release rule chain.
fn refusal_code(refusal: &Refusal) -> ErrorCode {
    match refusal {
        Refusal::UnknownApp => ErrorCode::UnknownApp,
        Refusal::NotApproved(_) => ErrorCode::NotApproved,
        Refusal::Revoked(_) => ErrorCode::Revoked,
        _ => ErrorCode::EvidenceRejected,
    }
}

fn request_kind(body: &RequestBody) -> &'static str {
    match body {
        RequestBody::Derive(_) => "derive",
        RequestBody::Sign(_) => "sign",
        RequestBody::GroupKeys(_) => "group_keys",
        _ => "other",
    }
}

impl<G: ReadGovernance, S: SignOnBehalf> AppService<G, S> {
    /// A service from `parts`.
    pub fn new(parts: AppServiceParts<G, S>) -> Self {
        let c = &parts.config;
        let state = State {
            per_ip: Buckets::new(c.per_peer_rate, c.max_tracked),
            per_app: Buckets::new(c.per_app_rate, c.max_tracked),
            replay: ReplayGuard::new(c.replay_window, c.max_tracked),
            verdicts: Cache::new(c.verdict_ttl, c.max_tracked),
            approvals: Cache::new(c.verdict_ttl, c.max_tracked),
        };
        Self {
            inner: Arc::new(Inner {
                me: parts.me,
                keyring: parts.keyring,
                chain: parts.chain,
                governance: parts.governance,
                verifiers: parts.verifiers,
                signer: parts.signer,
                config: parts.config,
                metrics: parts.metrics,
                node_evidence: parts.node_evidence,
                state: Mutex::new(state),
            }),
        }
    }

    /// The limits.
    pub fn config(&self) -> &AppConfig {
        &self.inner.config
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The epoch a new session serves and the `NodeHello` naming it: the newest epoch
    /// of the key ring not after the chain's active one. `None` (the connection is
    /// closed) while the node serves nothing or has no evidence yet.
    pub fn hello(&self) -> Option<(Arc<ServingEpoch>, NodeHello)> {
        let active = self
            .inner
            .chain
            .borrow()
            .view
            .as_ref()
            .and_then(|v| v.active.as_ref().map(|a| a.number))?;
        let epoch = self.inner.keyring.newest_up_to(active)?;
        let evidence = self.inner.node_evidence.borrow().clone()?;
        let hello = NodeHello::new(epoch.epoch, epoch.index, evidence);
        Some((epoch, hello))
    }

    /// Admits the session of `hello`, authenticated with `remote_static`, from `peer`:
    /// the peer's rate limit, the replay guard, the binding to `remote_static`, then the
    /// evidence's verification (cached by its hash).
    pub fn open_session(
        &self,
        epoch: Arc<ServingEpoch>,
        hello: AppHello,
        remote_static: [u8; 32],
        peer: IpAddr,
    ) -> Session {
        let admission = self.admit(&hello, &remote_static, peer);
        if let Admission::Refused(code, _) = &admission {
            self.inner.metrics.app_refusal(code.as_str());
        }
        Session {
            epoch,
            hello,
            remote_static,
            peer,
            admission,
        }
    }

    fn admit(&self, hello: &AppHello, remote_static: &[u8; 32], peer: IpAddr) -> Admission {
        let now = Instant::now();
        if let Err(wait) = self.state().per_ip.take(&peer, now) {
            return Admission::Refused(ErrorCode::RateLimited, Some(wait));
        }
        let Ok(binding) = hello.binding(remote_static) else {
            return Admission::Refused(ErrorCode::EvidenceRejected, None);
        };
        let e = &hello.evidence;
        let presented = digest(&[&e.evidence, remote_static]);
        if !self.state().replay.check(presented, &peer, now) {
            tracing::warn!(%peer, "app evidence and key presented from another address: refused as a replay");
            return Admission::Refused(ErrorCode::EvidenceRejected, None);
        }
        let claims = match self.verify(e, now) {
            Ok(c) => c,
            Err(kind) => {
                tracing::info!(%peer, kind, "app evidence did not verify");
                return Admission::Refused(ErrorCode::EvidenceRejected, None);
            }
        };
        let bound = claims
            .report_data()
            .is_some_and(|rd| rd == binding.report_data());
        if !bound {
            return Admission::Refused(ErrorCode::EvidenceRejected, None);
        }
        Admission::Verified(Box::new(claims))
    }

    /// Genuine claims of `e`, from the cache when the same bytes verified recently.
    fn verify(&self, e: &EvidencePayload, now: Instant) -> Result<Claims, &'static str> {
        let platform = e.platform.to_string();
        let aux = e.aux.as_deref().unwrap_or_default();
        let key = digest(&[platform.as_bytes(), &e.evidence, aux]);
        if let Some(verdict) = self.state().verdicts.get(&key, now) {
            return verdict;
        }
        let evidence = Evidence {
            platform: e.platform,
            bytes: e.evidence.clone(),
            aux: e.aux.clone(),
        };
        let verdict = evidence
            .collateral()
            .map_err(|_| "malformed")
            .and_then(|collateral| {
                self.inner
                    .verifiers
                    .verify(&evidence, &collateral, unix_now())
                    .map_err(|err| err.kind())
            });
        self.state().verdicts.insert(key, verdict.clone(), now);
        verdict
    }

    /// The response to the transport message `plaintext` of `session`.
    pub async fn answer(&self, session: &Session, plaintext: &[u8]) -> Response {
        let request = match Request::decode(plaintext) {
            Ok(r) => r,
            Err(e) => {
                self.inner
                    .metrics
                    .app_request("undecodable", e.code().as_str());
                return Response::error(RequestId([0; 16]), e.code(), None);
            }
        };
        let kind = request_kind(&request.body);
        match self.answer_request(session, &request).await {
            Ok(body) => {
                self.inner.metrics.app_request(kind, "ok");
                Response::new(request.id, body)
            }
            Err((code, retry)) => {
                self.inner.metrics.app_request(kind, code.as_str());
                Response::error(request.id, code, retry)
            }
        }
    }

    async fn answer_request(
        &self,
        session: &Session,
        request: &Request,
    ) -> Result<ResponseBody, (ErrorCode, Option<u32>)> {
        let now = Instant::now();
        self.state()
            .per_ip
            .take(&session.peer, now)
            .map_err(|wait| (ErrorCode::RateLimited, Some(wait)))?;
        let claims = match &session.admission {
            Admission::Refused(code, retry) => return Err((*code, *retry)),
            Admission::Verified(claims) => claims,
        };
        session.hello.admits(request).map_err(|code| (code, None))?;
        self.state()
            .per_app
            .take(&session.hello.app_id, now)
            .map_err(|wait| (ErrorCode::RateLimited, Some(wait)))?;
        let view = self.released(session, claims).await?;
        self.check_member(&session.epoch, &view)
            .map_err(|code| (code, None))?;
        self.respond(&session.epoch, &request.body)
            .await
            .map_err(|code| (code, None))
    }

    /// The stale-chain rule, then the release rule chain at the pinned block: the
    /// chain view the request is answered under.
    async fn released(
        &self,
        session: &Session,
        claims: &Claims,
    ) -> Result<Arc<GovernanceView>, (ErrorCode, Option<u32>)> {
        let state = self.inner.chain.borrow().clone();
        let view = state
            .check(SystemTime::now(), self.inner.config.max_head_age)
            .map_err(|_| (ErrorCode::StaleChain, None))?;
        let chain_policy = view.on_chain_policy;
        let measurement = governance_contract::release::measurement(claims, &chain_policy);
        let approval = self
            .approval(view.block.number, session.hello.app_id, measurement.0)
            .await
            .map_err(|_| (ErrorCode::Internal, Some(1)))?;
        let binding = session
            .hello
            .binding(&session.remote_static)
            .map_err(|_| (ErrorCode::EvidenceRejected, None))?;
        let issued_at = UnixTime(session.hello.evidence.issued_at);
        let verdict = release(
            claims.clone(),
            Some(&binding),
            issued_at,
            &chain_policy,
            approval,
            unix_now(),
        );
        if let Err(refusal) = verdict {
            self.inner.metrics.app_refusal(refusal.rule());
            return Err((refusal_code(&refusal), None));
        }
        Ok(view)
    }

    /// The approval of `measurement` for `app_id` at `block`, cached per block.
    async fn approval(
        &self,
        block: u64,
        app_id: [u8; 32],
        measurement: [u8; 32],
    ) -> Result<AppApproval, crate::chain::Error> {
        let key = (block, app_id, measurement);
        if let Some(a) = self.state().approvals.get(&key, Instant::now()) {
            return Ok(a);
        }
        let approval = self
            .inner
            .governance
            .app_approval(block, app_id, measurement)
            .await?;
        self.state().approvals.insert(key, approval, Instant::now());
        Ok(approval)
    }

    /// This node answers for `epoch` only while the chain names it at its index in the
    /// active epoch's committee, or, for an earlier epoch, while its shares are still
    /// in the key ring (the grace window).
    fn check_member(&self, epoch: &ServingEpoch, view: &GovernanceView) -> Result<(), ErrorCode> {
        let active = view.active.as_ref().ok_or(ErrorCode::NotAMember)?;
        let slot = usize::from(epoch.index.get()).saturating_sub(1);
        let member = if epoch.epoch == active.number {
            active.committee.get(slot) == Some(&self.inner.me)
        } else {
            epoch.epoch < active.number && self.inner.keyring.get(epoch.epoch).is_some()
        };
        if !member {
            self.inner.metrics.app_refusal("not_a_member");
            return Err(ErrorCode::NotAMember);
        }
        Ok(())
    }

    async fn respond(
        &self,
        epoch: &ServingEpoch,
        body: &RequestBody,
    ) -> Result<ResponseBody, ErrorCode> {
        match body {
            RequestBody::Derive(r) => {
                let identity = r.identity().map_err(|e| e.code())?;
                let input = tss::PrfInput::new(identity);
                #[cfg(feature = "fault-injection")]
                let input = if self.inner.config.garbage_shares {
                    // The share of another identity: a valid point, not this one's.
                    let other = tss::Identity::new([0xfa; 32], "fault-injection")
                        .map_err(|_| ErrorCode::Internal)?;
                    tss::PrfInput::new(other)
                } else {
                    input
                };
                let share = tss::prf::make_share(&epoch.bls, &input);
                Ok(ResponseBody::Derive(DeriveResponse::new(
                    epoch.index,
                    &share,
                )))
            }
            RequestBody::GroupKeys(_) => group_keys(epoch).map(ResponseBody::GroupKeys),
            RequestBody::Sign(r) => self.sign(epoch, r).await.map(ResponseBody::Sign),
            _ => Err(ErrorCode::BadRequest),
        }
    }

    /// The signing set must name this node, parties of the epoch, and at least `t`.
    async fn sign(&self, epoch: &ServingEpoch, r: &SignRequest) -> Result<SignResponse, ErrorCode> {
        let n = epoch.committee_size();
        let valid = r.signers.contains(&epoch.index)
            && r.signers.iter().all(|p| p.get() <= n)
            && r.signers.len() >= usize::from(epoch.threshold);
        if !valid {
            return Err(ErrorCode::BadRequest);
        }
        let identity = r.identity().map_err(|e| e.code())?;
        let signing = self
            .inner
            .signer
            .sign(epoch, &identity, &r.message, &r.signers, r.session);
        let signature = match tokio::time::timeout(self.inner.config.sign_timeout, signing).await {
            Err(_) | Ok(Err(SignFailure::QuorumUnavailable(_))) => {
                return Err(ErrorCode::QuorumUnavailable)
            }
            Ok(Err(SignFailure::SessionReused)) => return Err(ErrorCode::BadRequest),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "signing failed");
                return Err(ErrorCode::Internal);
            }
            Ok(Ok(s)) => s,
        };
        SignResponse::new(&signature).map_err(|_| ErrorCode::Internal)
    }
}

fn group_keys(epoch: &ServingEpoch) -> Result<GroupKeysResponse, ErrorCode> {
    Ok(GroupKeysResponse {
        epoch: epoch.epoch,
        threshold: epoch.threshold,
        committee_size: epoch.committee_size(),
        bls_group_pk: epoch.bls_group_pk,
        secp_group_pk: epoch.secp_group_pk,
        party: epoch.index,
        bls_public_share: epoch.bls_public_share().ok_or(ErrorCode::Internal)?,
    })
}
