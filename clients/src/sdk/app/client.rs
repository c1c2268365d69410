//! The online part: key release (DESIGN §7 "Key release") and signing on behalf
//! ("Signing") against the active committee.
//!
//! [`AppClient`] makes one Noise static key and, per session purpose, one piece of
//! evidence binding it (refreshed only when it nears the policy's maximum age), reads
//! the committee from the chain, and talks to `t` nodes concurrently, asking further
//! nodes when one fails or is slow, until `t` good answers arrived or the deadline
//! passed. Every share is verified before use; nodes that misbehave are named.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use attestation_gate::simulated::{DevnetPublicKey, SimulatedVerifier};
use attestation_gate::{Policy, UnixTime, Verifiers};
use blstrs::{G1Affine, G1Projective};
use futures::stream::{FuturesUnordered, StreamExt};
use group::Curve;
use kms_api::noise::StaticKey;
use kms_api::{
    DeriveRequest, ErrorCode, EvidencePayload, GroupKeysRequest, RequestBody, ResponseBody,
    SessionPurpose, SignRequest,
};
use rand::RngCore;
use tss::{DerivedKey, Identity, PartyIndex, PrfInput, PrfShare, Sigma};

use super::attester::AppAttester;
use super::error::AppError;
use super::keys::{identity, verify_bip340};
use super::known::Known;
use super::network::{Committee, Member};
use super::session::{app_hello, NodeFailure, NodeTrust, Session};
use crate::sdk::error::{Error, Result};
use crate::sdk::gov::GovClient;

/// Most `t`-subsets tried when claimed public key shares disagree with the group key.
const MAX_SUBSETS: usize = 4096;

/// Timing and trust of an [`AppClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The whole call (reading the chain excluded) ends within this.
    pub deadline: Duration,
    /// Bound on each network step with one node (connect, one handshake message).
    pub io_timeout: Duration,
    /// When no answer came for this long, one more node is asked.
    pub hedge_after: Duration,
    /// Evidence is made again once it is this old.
    pub evidence_refresh: Duration,
    /// A derive session with a node is kept and used again for this long after it was
    /// opened (same epoch and evidence only), so a later release is one round trip per
    /// node; `Duration::ZERO` opens new sessions for every call. The node checks every
    /// request anyway (approval, revocation, evidence age); the bound limits how long a
    /// node's own evidence, checked at the handshake, is relied on.
    pub session_reuse: Duration,
    /// Devnet keys whose simulated node evidence is trusted (a devnet's only).
    pub simulated_node_keys: Vec<[u8; 32]>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(20),
            io_timeout: Duration::from_secs(5),
            hedge_after: Duration::from_millis(1500),
            evidence_refresh: Duration::from_secs(240),
            session_reuse: Duration::from_secs(60),
            simulated_node_keys: Vec::new(),
        }
    }
}

/// A node that was asked and did not contribute, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeProblem {
    /// Its party index.
    pub index: u16,
    /// What went wrong.
    pub failure: NodeFailure,
}

/// The result of [`AppClient::get_key`].
pub struct ReleasedKey {
    /// `(app_id, path)`.
    pub identity: Identity,
    /// The derived key (DESIGN §4.1). Secret.
    pub key: DerivedKey,
    /// `sigma`, verified under the group key. Secret.
    pub sigma: Sigma,
    /// The epoch that served it.
    pub epoch: u64,
    /// The party indexes whose shares were combined.
    pub nodes_used: Vec<u16>,
    /// Nodes that answered something wrong (bad share, bad evidence, protocol
    /// violation).
    pub bad_nodes: Vec<NodeProblem>,
    /// Nodes that were down or refused.
    pub unavailable: Vec<NodeProblem>,
}

/// The result of [`AppClient::sign`].
#[derive(Debug, Clone)]
pub struct Signed {
    /// `xonly(P_app)`.
    pub xonly: [u8; 32],
    /// The signed message.
    pub message: Vec<u8>,
    /// The BIP-340 signature, verified under `xonly`.
    pub signature: [u8; 64],
    /// The epoch that served it.
    pub epoch: u64,
    /// The signing set.
    pub signers: Vec<u16>,
    /// Nodes that answered something wrong.
    pub bad_nodes: Vec<NodeProblem>,
    /// Nodes that were down or refused.
    pub unavailable: Vec<NodeProblem>,
}

/// What the chain says for one call.
/// What a release reads from the chain first: the active committee (members, keys)
/// and the policy node evidence is checked under. [`AppClient::context`] reads it;
/// an application that makes many requests may read it once and pass it to
/// [`AppClient::get_key_with`] (the release itself makes no chain call).
#[derive(Debug, Clone)]
pub struct Context {
    /// The active committee.
    pub committee: Committee,
    /// The network's policy with the approved kms-node builds.
    pub policy: Policy,
}

/// A derive session kept for later releases, with what its opening established.
struct Kept {
    session: Session,
    /// The node's BLS public key share, checked against the chain's keys.
    public_share: G1Affine,
    /// What it was opened under: the committee epoch, the node's Noise key and the
    /// issue time of the application's evidence it presented.
    epoch: u64,
    noise_key: [u8; 32],
    evidence_issued_at: u64,
    opened: std::time::Instant,
}

/// A keynet client for one application.
pub struct AppClient {
    gov: GovClient,
    app_id: [u8; 32],
    attester: AppAttester,
    key: StaticKey,
    verifiers: Verifiers,
    evidence: Mutex<HashMap<SessionPurpose, EvidencePayload>>,
    /// Derive sessions kept per party index ([`ClientOptions::session_reuse`]).
    kept: Mutex<HashMap<u16, Kept>>,
    /// Node evidence, public key shares and subsets of them already checked.
    known: Known,
    options: ClientOptions,
}

impl std::fmt::Debug for AppClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppClient")
            .field("app_id", &hex::encode(self.app_id))
            .field("noise_key", &hex::encode(self.key.public()))
            .finish_non_exhaustive()
    }
}

fn now() -> Result<UnixTime> {
    crate::sdk::attest::wall_clock()
}

impl AppClient {
    /// A client for application `app_id` on the network `gov` reads, presenting
    /// evidence from `attester`. Makes the session's fresh Noise static key.
    pub fn new(
        gov: GovClient,
        app_id: [u8; 32],
        attester: AppAttester,
        options: ClientOptions,
    ) -> Result<Self> {
        let key = StaticKey::generate()
            .map_err(|e| Error::Internal(format!("cannot make a Noise key: {e}")))?;
        let mut verifiers = Verifiers::new();
        if !options.simulated_node_keys.is_empty() {
            let keys = options
                .simulated_node_keys
                .iter()
                .map(DevnetPublicKey::from_bytes)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            verifiers = verifiers.with_simulated(SimulatedVerifier::new(keys));
        }
        Ok(Self {
            gov,
            app_id,
            attester,
            key,
            verifiers,
            evidence: Mutex::new(HashMap::new()),
            kept: Mutex::new(HashMap::new()),
            known: Known::default(),
            options,
        })
    }

    /// The application's Noise static public key (what its evidence binds).
    pub fn noise_key(&self) -> [u8; 32] {
        self.key.public()
    }

    /// The evidence for `purpose`: made once, again only when older than
    /// [`ClientOptions::evidence_refresh`].
    pub fn evidence(&self, purpose: SessionPurpose) -> Result<EvidencePayload> {
        let now = now()?;
        let mut cache = self
            .evidence
            .lock()
            .map_err(|_| Error::Internal("the evidence cache is poisoned".into()))?;
        if let Some(e) = cache.get(&purpose) {
            if now.0.saturating_sub(e.issued_at) < self.options.evidence_refresh.as_secs() {
                return Ok(e.clone());
            }
        }
        let fresh = self.attester.evidence(purpose, &self.key.public(), now)?;
        cache.insert(purpose, fresh.clone());
        Ok(fresh)
    }

    /// Reads the [`Context`] of a release from the chain.
    pub async fn context(&self) -> Result<Context> {
        // Three independent chains of calls, sent together.
        let builds = async {
            let node_app = self
                .gov
                .contract()
                .nodeAppId()
                .call()
                .await
                .map_err(crate::sdk::transport::call_error)?;
            Ok(self.gov.app(node_app.0).await?.measurements)
        };
        let (committee, chain, builds) =
            tokio::try_join!(self.gov.app_committee(), self.gov.network_policy(), builds)?;
        let policy = governance_contract::policy::attestation_policy(&chain, builds);
        Ok(Context { committee, policy })
    }

    /// The derived key of `path` (DESIGN §4.1), from `t` verified shares.
    pub async fn get_key(&self, path: &str) -> Result<ReleasedKey> {
        let ctx = self.context().await?;
        self.get_key_in(&ctx, path).await
    }

    /// [`AppClient::get_key`] with a context read before (no chain call).
    pub async fn get_key_with(&self, ctx: &Context, path: &str) -> Result<ReleasedKey> {
        self.get_key_in(ctx, path).await
    }

    /// The verifiers node evidence is checked with (the devnet's simulated key among
    /// them on a devnet).
    pub fn verifiers(&self) -> &Verifiers {
        &self.verifiers
    }

    async fn get_key_in(&self, ctx: &Context, path: &str) -> Result<ReleasedKey> {
        let id = identity(self.app_id, path)?;
        let hello = app_hello(
            SessionPurpose::Derive,
            self.app_id,
            self.evidence(SessionPurpose::Derive)?,
        );
        let trust_now = now()?;
        let trust = NodeTrust {
            epoch: ctx.committee.keys.epoch,
            verifiers: &self.verifiers,
            policy: &ctx.policy,
            now: trust_now,
            known: Some(&self.known),
        };
        let t = usize::from(ctx.committee.keys.threshold);
        let epoch = ctx.committee.keys.epoch;
        let mut members = shuffled(&ctx.committee.members);
        // Nodes with a kept session first: each of them is one round trip away.
        if let Ok(kept) = self.kept.lock() {
            members.sort_by_key(|m| !kept.contains_key(&m.index.get()));
        }
        // The public key shares the first `t` nodes served last time, if all are known.
        let expected: Option<Vec<(PartyIndex, G1Affine)>> = members
            .iter()
            .take(t)
            .map(|m| self.known.share_key(epoch, m.index).map(|pk| (m.index, pk)))
            .collect();
        // On a blocking-pool thread while this one runs the `t` handshakes: H(msg), and
        // the halves of the checks that do not depend on the shares (the batch check of
        // the expected nodes' shares, the check of sigma against the group key). About
        // 0.6 ms that leave the release's critical path when a second core is free; the
        // same arithmetic as checking everything once the shares are in.
        let mut hashing = Some(tokio::task::spawn_blocking({
            let id = id.clone();
            let group_key = *ctx.committee.keys.bls_group_key();
            move || {
                let input = PrfInput::new(id);
                if let Some(expected) = expected {
                    input.prepare_shares(&expected, &mut rand::rngs::OsRng);
                }
                input.prepare(&group_key);
                input
            }
        }));
        let mut hashed = None;
        let ask = |m: &'_ Member| {
            let m = m.clone();
            let hello = &hello;
            let trust = &trust;
            let committee = &ctx.committee;
            let id = &id;
            async move {
                (
                    m.index,
                    self.derive_from(&m, hello, trust, committee, id).await,
                )
            }
        };

        let mut next = members.iter();
        let mut pending = FuturesUnordered::new();
        for m in next.by_ref().take(t) {
            pending.push(ask(m));
        }
        // Shares checked under their node's claimed public key share, and shares not
        // checked yet (checked together, in one batch, once t have come).
        let mut good: Vec<(PartyIndex, G1Affine, PrfShare)> = Vec::new();
        let mut unchecked: Vec<(PartyIndex, G1Affine, PrfShare)> = Vec::new();
        let mut problems: Vec<NodeProblem> = Vec::new();
        let deadline = tokio::time::Instant::now() + self.options.deadline;
        loop {
            if pending.is_empty() {
                match next.next() {
                    Some(m) => pending.push(ask(m)),
                    None => break,
                }
            }
            let hedge = tokio::time::sleep(self.options.hedge_after);
            tokio::select! {
                done = pending.next() => {
                    let Some((index, r)) = done else { continue };
                    match r {
                        Ok((pk, share)) => {
                            unchecked.push((index, pk, share));
                            if good.len() + unchecked.len() >= t {
                                let input = derive_input(&mut hashed, &mut hashing).await?;
                                let (ok, bad) = check_shares(input, std::mem::take(&mut unchecked));
                                good.extend(ok);
                                for index in &bad {
                                    self.forget(index.get());
                                }
                                problems.extend(bad.into_iter().map(|index| NodeProblem {
                                    index: index.get(),
                                    failure: NodeFailure::BadAnswer(
                                        "its share does not verify under its public key share".into(),
                                    ),
                                }));
                            }
                            if good.len() >= t {
                                let input = derive_input(&mut hashed, &mut hashing).await?;
                                if let Some(found) = combine(&self.known, &ctx.committee, input, &good) {
                                    let (sigma, used, liars) = found;
                                    for (index, pk, _) in good.iter().filter(|g| used.contains(&g.0)) {
                                        self.known.keep_share_key(epoch, *index, *pk);
                                    }
                                    for l in liars {
                                        self.forget(l.get());
                                        problems.push(NodeProblem {
                                            index: l.get(),
                                            failure: NodeFailure::BadAnswer(
                                                "its public key share is not the committee's".into(),
                                            ),
                                        });
                                    }
                                    let (bad_nodes, unavailable) = split(problems);
                                    return Ok(ReleasedKey {
                                        key: sigma.derive_key(&id),
                                        identity: id.clone(),
                                        sigma,
                                        epoch: ctx.committee.keys.epoch,
                                        nodes_used: used.iter().map(|i| i.get()).collect(),
                                        bad_nodes,
                                        unavailable,
                                    });
                                }
                                if let Some(m) = next.next() {
                                    pending.push(ask(m));
                                }
                            }
                        }
                        Err(failure) => {
                            problems.push(NodeProblem { index: index.get(), failure });
                            if let Some(m) = next.next() {
                                pending.push(ask(m));
                            }
                        }
                    }
                }
                _ = hedge => {
                    if let Some(m) = next.next() {
                        pending.push(ask(m));
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(shortfall("derive", t, good.len(), &problems, Some(self.options.deadline)));
                }
            }
        }
        Err(shortfall("derive", t, good.len(), &problems, None))
    }

    /// One node's public key share and derive share: on a kept session when there is
    /// one (one round trip), else on a new session whose group-keys and derive requests
    /// go out together with the handshake's last message (one round trip after the
    /// handshake). A kept session the node has closed meanwhile is replaced once.
    async fn derive_from(
        &self,
        m: &Member,
        hello: &kms_api::AppHello,
        trust: &NodeTrust<'_>,
        committee: &Committee,
        id: &Identity,
    ) -> std::result::Result<(G1Affine, PrfShare), NodeFailure> {
        let io = self.options.io_timeout;
        let issued_at = hello.evidence.issued_at;
        if let Some(mut kept) = self.take_kept(m, trust.epoch, issued_at) {
            match derive_call(&mut kept.session, id, io).await {
                Err(NodeFailure::Unreachable(_)) => {} // closed meanwhile: open a new one
                Ok(share) => {
                    let pk = kept.public_share;
                    self.keep(m.index.get(), kept);
                    return Ok((pk, share));
                }
                Err(other) => return Err(other),
            }
        }
        let mut session = Session::open(m, &self.key, hello, trust, io).await?;
        let mut answers = session
            .call_all(
                vec![
                    RequestBody::GroupKeys(GroupKeysRequest::default()),
                    derive_request(id),
                ],
                io,
            )
            .await?
            .into_iter();
        let (Some(keys), Some(derive)) = (answers.next(), answers.next()) else {
            return Err(NodeFailure::Protocol("too few answers".into()));
        };
        let pk = check_group_keys(keys?, committee, m, &self.known)?;
        let share = derive_share(derive?)?;
        let kept = Kept {
            session,
            public_share: pk,
            epoch: trust.epoch,
            noise_key: m.noise_key,
            evidence_issued_at: issued_at,
            opened: std::time::Instant::now(),
        };
        self.keep(m.index.get(), kept);
        Ok((pk, share))
    }

    /// The kept session with `m`, if it is still fit for use: same epoch, same node
    /// key, the same evidence presented, younger than [`ClientOptions::session_reuse`].
    fn take_kept(&self, m: &Member, epoch: u64, evidence_issued_at: u64) -> Option<Kept> {
        let kept = self.kept.lock().ok()?.remove(&m.index.get())?;
        (kept.epoch == epoch
            && kept.noise_key == m.noise_key
            && kept.evidence_issued_at == evidence_issued_at
            && kept.opened.elapsed() < self.options.session_reuse)
            .then_some(kept)
    }

    /// Drops the kept session with node `index` (it answered something wrong).
    fn forget(&self, index: u16) {
        if let Ok(mut map) = self.kept.lock() {
            map.remove(&index);
        }
    }

    fn keep(&self, index: u16, kept: Kept) {
        if self.options.session_reuse.is_zero() {
            return;
        }
        if let Ok(mut map) = self.kept.lock() {
            map.insert(index, kept);
        }
    }

    /// A BIP-340 signature of `message` under `xonly(P_app)` of `path` (DESIGN §4.3),
    /// made by `t` nodes with FROST.
    pub async fn sign(&self, path: &str, message: &[u8]) -> Result<Signed> {
        let ctx = self.context().await?;
        self.sign_in(&ctx, path, message).await
    }

    async fn sign_in(&self, ctx: &Context, path: &str, message: &[u8]) -> Result<Signed> {
        let id = identity(self.app_id, path)?;
        let xonly = ctx.committee.keys.app_xonly(&id)?;
        let hello = app_hello(
            SessionPurpose::Sign,
            self.app_id,
            self.evidence(SessionPurpose::Sign)?,
        );
        let trust = NodeTrust {
            epoch: ctx.committee.keys.epoch,
            verifiers: &self.verifiers,
            policy: &ctx.policy,
            now: now()?,
            known: Some(&self.known),
        };
        let t = usize::from(ctx.committee.keys.threshold);
        let io = self.options.io_timeout;
        let deadline = tokio::time::Instant::now() + self.options.deadline;
        let open = |m: &'_ Member| {
            let m = m.clone();
            let hello = hello.clone();
            let trust = &trust;
            let key = &self.key;
            async move { (m.index, Session::open(&m, key, &hello, trust, io).await) }
        };
        // Phase 1: t admitted sessions.
        let members = shuffled(&ctx.committee.members);
        let mut next = members.iter();
        let mut pending = FuturesUnordered::new();
        for m in next.by_ref().take(t) {
            pending.push(open(m));
        }
        let mut sessions: Vec<(PartyIndex, Session)> = Vec::new();
        let mut problems: Vec<NodeProblem> = Vec::new();
        while sessions.len() < t {
            if pending.is_empty() {
                match next.next() {
                    Some(m) => pending.push(open(m)),
                    None => return Err(shortfall("sign", t, sessions.len(), &problems, None)),
                }
            }
            tokio::select! {
                done = pending.next() => {
                    let Some((index, r)) = done else { continue };
                    match r {
                        Ok(s) => sessions.push((index, s)),
                        Err(failure) => {
                            problems.push(NodeProblem { index: index.get(), failure });
                            if let Some(m) = next.next() {
                                pending.push(open(m));
                            }
                        }
                    }
                }
                _ = tokio::time::sleep(self.options.hedge_after) => {
                    if let Some(m) = next.next() {
                        pending.push(open(m));
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(shortfall("sign", t, sessions.len(), &problems, Some(self.options.deadline)));
                }
            }
        }
        drop(pending);
        sessions.sort_by_key(|(i, _)| *i);
        sessions.truncate(t);
        let signers: Vec<PartyIndex> = sessions.iter().map(|(i, _)| *i).collect();
        let mut session_id = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut session_id);
        let request = SignRequest::new(&id, message, signers.iter().copied(), session_id);
        // Phase 2: every signer gets the same request; any one valid signature will do.
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        let mut asks: FuturesUnordered<_> = sessions
            .into_iter()
            .map(|(index, mut s)| {
                let body = RequestBody::Sign(request.clone());
                async move { (index, s.call(body, wait).await) }
            })
            .collect();
        while let Some((index, r)) = asks.next().await {
            let failure = match r {
                Ok(ResponseBody::Sign(sig)) => {
                    match verify_bip340(&xonly, message, &sig.signature) {
                        Ok(()) => {
                            let (bad_nodes, unavailable) = split(problems);
                            return Ok(Signed {
                                xonly,
                                message: message.to_vec(),
                                signature: sig.signature,
                                epoch: ctx.committee.keys.epoch,
                                signers: signers.iter().map(|i| i.get()).collect(),
                                bad_nodes,
                                unavailable,
                            });
                        }
                        Err(_) => NodeFailure::BadAnswer(
                            "its signature does not verify under xonly(P_app)".into(),
                        ),
                    }
                }
                Ok(_) => NodeFailure::Protocol("not a sign answer".into()),
                Err(f) => f,
            };
            problems.push(NodeProblem {
                index: index.get(),
                failure,
            });
        }
        Err(shortfall("sign", 1, 0, &problems, None))
    }

    /// Opens `sealed` (sealed to this application's `path`) with `sigma` from the
    /// network (DESIGN §4.2).
    pub async fn unseal(&self, path: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        super::keys::check_sealed_box(sealed)?;
        let released = self.get_key(path).await?;
        super::keys::unseal(&released.sigma, &released.identity, sealed)
    }
}

/// The derive input, waiting for its hash (started with the release) the first time.
async fn derive_input<'a>(
    hashed: &'a mut Option<PrfInput>,
    hashing: &mut Option<tokio::task::JoinHandle<PrfInput>>,
) -> Result<&'a PrfInput> {
    if let Some(task) = hashing.take() {
        let input = task
            .await
            .map_err(|e| Error::Internal(format!("hashing the derive input: {e}")))?;
        *hashed = Some(input);
    }
    hashed
        .as_ref()
        .ok_or_else(|| Error::Internal("the derive input was not hashed".into()))
}

/// Checks the keys the node says it serves (its group-keys answer) against the chain;
/// returns its BLS public key share.
fn check_group_keys(
    answer: ResponseBody,
    committee: &Committee,
    member: &Member,
    known: &Known,
) -> std::result::Result<G1Affine, NodeFailure> {
    let ResponseBody::GroupKeys(keys) = answer else {
        return Err(NodeFailure::Protocol("not a group keys answer".into()));
    };
    let chain = &committee.keys;
    if keys.epoch != chain.epoch
        || keys.party != member.index
        || keys.threshold != chain.threshold
        || keys.bls_group_pk != chain.bls_group_key_bytes()
        || keys.secp_group_pk != chain.secp_group_key_bytes()
    {
        return Err(NodeFailure::BadAnswer(
            "the keys it serves are not the chain's for its epoch and index".into(),
        ));
    }
    known
        .point(&keys.bls_public_share)
        .ok_or_else(|| NodeFailure::BadAnswer("its public key share is not a point".into()))
}

/// The share of a derive answer (checked later, with the others).
fn derive_share(answer: ResponseBody) -> std::result::Result<PrfShare, NodeFailure> {
    match answer {
        ResponseBody::Derive(d) => d.share().map_err(|e| NodeFailure::Protocol(e.to_string())),
        _ => Err(NodeFailure::Protocol("not a derive answer".into())),
    }
}

fn derive_request(id: &Identity) -> RequestBody {
    RequestBody::Derive(DeriveRequest::new(id))
}

/// A derive call on an open session.
async fn derive_call(
    session: &mut Session,
    id: &Identity,
    io: Duration,
) -> std::result::Result<PrfShare, NodeFailure> {
    derive_share(session.call(derive_request(id), io).await?)
}

/// `e(g1, share) == e(PK_i, H(msg))`.
/// Splits `shares` into those that verify under their node's claimed public key share
/// and the nodes whose share does not: one batch check of all of them (a random
/// linear combination, `tss::prf::shares_verify`), and one by one only if it fails.
fn check_shares(
    input: &PrfInput,
    shares: Vec<(PartyIndex, G1Affine, PrfShare)>,
) -> (Vec<(PartyIndex, G1Affine, PrfShare)>, Vec<PartyIndex>) {
    let all: Vec<(PartyIndex, &G1Affine, &PrfShare)> =
        shares.iter().map(|(i, pk, s)| (*i, pk, s)).collect();
    if tss::prf::shares_verify(input, &all) {
        return (shares, Vec::new());
    }
    let (ok, bad): (Vec<_>, Vec<_>) = shares
        .into_iter()
        .partition(|(_, pk, s)| tss::prf::share_verifies(pk, input, s));
    (ok, bad.into_iter().map(|(i, _, _)| i).collect())
}

/// Whether the claimed public key shares of `subset` interpolate to the group key
/// (computed once per distinct subset: `known`).
fn consistent(
    known: &Known,
    group_key: &G1Affine,
    subset: &[&(PartyIndex, G1Affine, PrfShare)],
) -> bool {
    let claims: Vec<(PartyIndex, &G1Affine)> = subset.iter().map(|(i, p, _)| (*i, p)).collect();
    known.consistent(group_key, &claims, || interpolates(group_key, subset))
}

fn interpolates(group_key: &G1Affine, subset: &[&(PartyIndex, G1Affine, PrfShare)]) -> bool {
    let indices: Vec<PartyIndex> = subset.iter().map(|(i, _, _)| *i).collect();
    let Ok(lambdas) = tss::prf::lagrange_at_zero(&indices) else {
        return false;
    };
    let points: Vec<G1Projective> = subset
        .iter()
        .map(|(_, p, _)| G1Projective::from(p))
        .collect();
    dkg::suite::blst_msm(&points, &lambdas, G1Projective::multi_exp).to_affine() == *group_key
}

/// Finds `t` verified shares whose public key shares are consistent with the group
/// key and interpolates `sigma` (checked against the group key). Each share verified
/// under its node's claimed public key share, and those claims interpolate to `PK`, so
/// `sigma` is the committee's. Also returns the other candidates whose claim is
/// inconsistent with that subset.
fn combine(
    known: &Known,
    committee: &Committee,
    input: &PrfInput,
    good: &[(PartyIndex, G1Affine, PrfShare)],
) -> Option<(Sigma, Vec<PartyIndex>, Vec<PartyIndex>)> {
    let t = usize::from(committee.keys.threshold);
    let pk = committee.keys.bls_group_key();
    let mut found = None;
    for (tried, combo) in Combinations::new(good.len(), t).enumerate() {
        if tried >= MAX_SUBSETS {
            break;
        }
        let subset: Vec<&(PartyIndex, G1Affine, PrfShare)> =
            combo.iter().filter_map(|&k| good.get(k)).collect();
        if consistent(known, pk, &subset) {
            found = Some(combo);
            break;
        }
    }
    let combo = found?;
    let subset: Vec<&(PartyIndex, G1Affine, PrfShare)> =
        combo.iter().filter_map(|&k| good.get(k)).collect();
    let shares: Vec<(PartyIndex, PrfShare)> = subset.iter().map(|(i, _, s)| (*i, *s)).collect();
    let sigma = tss::interpolate(pk, input, &shares).ok()?;
    let mut used: Vec<PartyIndex> = shares.iter().map(|(i, _)| *i).collect();
    used.sort();
    let mut liars = Vec::new();
    for (k, cand) in good.iter().enumerate() {
        if combo.contains(&k) {
            continue;
        }
        let mut probe: Vec<&(PartyIndex, G1Affine, PrfShare)> =
            subset.iter().take(t.saturating_sub(1)).copied().collect();
        probe.push(cand);
        if !consistent(known, pk, &probe) {
            liars.push(cand.0);
        }
    }
    Some((sigma, used, liars))
}

/// The `k`-subsets of `0..n` in lexicographic order.
struct Combinations {
    n: usize,
    current: Option<Vec<usize>>,
}

impl Combinations {
    fn new(n: usize, k: usize) -> Self {
        Self {
            n,
            current: (k <= n && k > 0).then(|| (0..k).collect()),
        }
    }
}

impl Iterator for Combinations {
    type Item = Vec<usize>;
    fn next(&mut self) -> Option<Vec<usize>> {
        let out = self.current.clone()?;
        let k = out.len();
        let mut c = out.clone();
        // The rightmost position that can still move right.
        let mut i = k;
        let advanced = loop {
            if i == 0 {
                break false;
            }
            i -= 1;
            if c.get(i).copied().unwrap_or(usize::MAX) < self.n - k + i {
                break true;
            }
        };
        self.current = if advanced {
            if let Some(v) = c.get_mut(i) {
                *v += 1;
            }
            for j in i + 1..k {
                let prev = c.get(j - 1).copied().unwrap_or(0);
                if let Some(v) = c.get_mut(j) {
                    *v = prev + 1;
                }
            }
            Some(c)
        } else {
            None
        };
        Some(out)
    }
}

/// The members in a random order, so load spreads over the committee.
fn shuffled(members: &[Member]) -> Vec<Member> {
    use rand::seq::SliceRandom;
    let mut v = members.to_vec();
    v.shuffle(&mut rand::rngs::OsRng);
    v
}

/// Misbehaving nodes, then nodes that were down or refused, by index.
fn split(mut problems: Vec<NodeProblem>) -> (Vec<NodeProblem>, Vec<NodeProblem>) {
    problems.sort_by_key(|p| p.index);
    problems
        .into_iter()
        .partition(|p| p.failure.is_misbehaviour())
}

/// The error when fewer than `needed` good answers came: [`AppError::Refused`] when
/// every node that answered refused for the same lasting reason, else
/// [`AppError::NotEnoughNodes`] naming each node's failure.
fn shortfall(
    what: &str,
    needed: usize,
    got: usize,
    problems: &[NodeProblem],
    deadline: Option<Duration>,
) -> Error {
    let mut listed: Vec<&NodeProblem> = problems.iter().collect();
    listed.sort_by_key(|p| p.index);
    let detail = listed
        .iter()
        .map(|p| format!("node {}: {}", p.index, p.failure))
        .collect::<Vec<_>>()
        .join("; ");
    let refusals: Vec<ErrorCode> = problems
        .iter()
        .filter_map(|p| match p.failure {
            NodeFailure::Refused(c) => Some(c),
            _ => None,
        })
        .collect();
    if let Some(first) = refusals.first() {
        if !first.is_transient() && refusals.iter().all(|c| c == first) && got == 0 {
            return AppError::Refused(
                *first,
                format!(
                    "the nodes refused to {what} for this application: {} ({detail})",
                    first.as_str()
                ),
            )
            .into();
        }
    }
    let when = match deadline {
        Some(d) => format!(" within {} s", d.as_secs()),
        None => String::new(),
    };
    AppError::NotEnoughNodes(format!(
        "{what}: {got} good answers of the {needed} needed{when}{}{detail}",
        if detail.is_empty() { "" } else { "; " }
    ))
    .into()
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::collections::BTreeSet;

    use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester};
    use attestation_gate::{Measurement, Platform, Purpose, ReportData};
    use dkg::bls::BlsKeyShare;
    use dkg::insecure_dealer::{deal_bls, deal_secp};
    use governance_contract::NodePlatform;
    use kms_api::noise::{encode_frame, frame_len, Responder, FRAME_HEADER_LEN};
    use kms_api::{GroupKeysResponse, NodeHello, Request, Response};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::sdk::app::keys::NetworkKeys;
    use crate::sdk::devnet::config::{demo_app_image, node_image, simulated_measurement};

    const SEED: [u8; 32] = [42; 32];

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Behaviour {
        Honest,
        /// A valid point that is not its share.
        GarbageShare,
        /// Accepts the connection and never answers.
        Silent,
    }

    async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
        let mut h = [0u8; FRAME_HEADER_LEN];
        s.read_exact(&mut h).await.ok()?;
        let mut b = vec![0u8; frame_len(h).ok()?];
        s.read_exact(&mut b).await.ok()?;
        Some(b)
    }

    /// One stand-in node: the handshake with simulated evidence bound to its Noise key,
    /// then GroupKeys and Derive answers from its dealt share.
    async fn serve(
        listener: TcpListener,
        key: StaticKey,
        share: BlsKeyShare,
        keys: GroupKeysResponse,
        behaviour: Behaviour,
    ) {
        let attester =
            SimulatedAttester::new(DevnetSigningKey::from_seed(&SEED), "sim-1", node_image())
                .unwrap();
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            if behaviour == Behaviour::Silent {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    drop(s);
                });
                continue;
            }
            let Some(m1) = read_frame(&mut s).await else {
                continue;
            };
            let started = Responder::new(&key).unwrap().read_message_1(&m1).unwrap();
            let issued = crate::sdk::attest::wall_clock().unwrap();
            let rd = ReportData::bind(Purpose::NodeIdentity, &key.public(), issued);
            let evidence = EvidencePayload {
                platform: Platform::Simulated,
                noise_static_key: key.public(),
                issued_at: issued.0,
                evidence: attester.attest_bytes(&rd, issued),
                aux: None,
            };
            let hello = NodeHello::new(keys.epoch, keys.party, evidence);
            let (awaiting, m2) = started.send_node_hello(&hello).unwrap();
            s.write_all(&encode_frame(&m2).unwrap()).await.unwrap();
            let Some(m3) = read_frame(&mut s).await else {
                continue;
            };
            let Ok((mut transport, _app)) = awaiting.read_app_hello(&m3) else {
                continue;
            };
            while let Some(f) = read_frame(&mut s).await {
                let req = Request::decode(&transport.decrypt(&f).unwrap()).unwrap();
                let body = match req.body {
                    RequestBody::GroupKeys(_) => ResponseBody::GroupKeys(keys.clone()),
                    RequestBody::Derive(d) => {
                        let input = PrfInput::new(d.identity().unwrap());
                        let mut share_pt = tss::make_share(&share, &input);
                        if behaviour == Behaviour::GarbageShare {
                            let other = PrfInput::new(Identity::new([0xee; 32], "x").unwrap());
                            share_pt = tss::make_share(&share, &other);
                        }
                        ResponseBody::Derive(kms_api::DeriveResponse::new(keys.party, &share_pt))
                    }
                    _ => ResponseBody::Error(kms_api::ErrorResponse {
                        code: ErrorCode::BadRequest,
                        retry_after_secs: None,
                    }),
                };
                let out = transport
                    .encrypt(&Response::new(req.id, body).encode().unwrap())
                    .unwrap();
                if s.write_all(&encode_frame(&out).unwrap()).await.is_err() {
                    break;
                }
            }
        }
    }

    /// A committee of `n` (t = 3) stand-in nodes; `behaviours[i]` for party i + 1;
    /// `None`: nothing listens at its address.
    async fn committee(behaviours: &[Option<Behaviour>]) -> (Context, blstrs::G1Affine) {
        let n = u16::try_from(behaviours.len()).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let (bls, shares) = deal_bls(3, n, &mut rng).unwrap();
        let (secp, _) = deal_secp(3, n, &mut rng).unwrap();
        let secp_bytes = tss::tweak::compressed(secp.package().verifying_key()).unwrap();
        let keys =
            NetworkKeys::from_bytes(7, 3, &bls.group_key().to_compressed(), &secp_bytes).unwrap();
        let mut members = Vec::new();
        for (share, behaviour) in shares.into_iter().zip(behaviours) {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let key = StaticKey::generate().unwrap();
            let index = share.index();
            members.push(Member {
                index,
                node_id: [u8::try_from(index.get()).unwrap(); 32],
                noise_key: key.public(),
                app_addr: Some(addr),
                platform: Some(NodePlatform::simulated(1)),
            });
            let response = GroupKeysResponse {
                epoch: 7,
                threshold: 3,
                committee_size: n,
                bls_group_pk: bls.group_key().to_compressed(),
                secp_group_pk: secp_bytes,
                party: index,
                bls_public_share: bls.share(index).unwrap().to_compressed(),
            };
            match behaviour {
                Some(b) => {
                    tokio::spawn(serve(listener, key, share, response, *b));
                }
                None => drop(listener),
            }
        }
        let policy = Policy::new([Measurement(simulated_measurement(node_image()))])
            .with_allowed_platforms([Platform::Simulated]);
        (
            Context {
                committee: Committee { keys, members },
                policy,
            },
            *bls.group_key(),
        )
    }

    fn client(deadline: Duration) -> AppClient {
        client_keeping(deadline, ClientOptions::default().session_reuse)
    }

    fn client_keeping(deadline: Duration, session_reuse: Duration) -> AppClient {
        let chain = crate::sdk::gov::Chain::new(
            Some("http://127.0.0.1:1".into()),
            Some("0x0000000000000000000000000000000000000001".into()),
        )
        .unwrap();
        let options = ClientOptions {
            deadline,
            io_timeout: Duration::from_secs(2),
            hedge_after: Duration::from_millis(300),
            simulated_node_keys: vec![DevnetSigningKey::from_seed(&SEED).public_key().to_bytes()],
            session_reuse,
            ..ClientOptions::default()
        };
        let attester = AppAttester::simulated(&SEED, demo_app_image()).unwrap();
        AppClient::new(
            GovClient::read_only(&chain).unwrap(),
            [3; 32],
            attester,
            options,
        )
        .unwrap()
    }

    /// Five nodes, node 1 answering with garbage shares.
    const NODE_1_GARBAGE: [Option<Behaviour>; 5] = [
        Some(Behaviour::GarbageShare),
        Some(Behaviour::Honest),
        Some(Behaviour::Honest),
        Some(Behaviour::Honest),
        Some(Behaviour::Honest),
    ];

    #[tokio::test]
    async fn get_key__should_combine_t_verified_shares_and_name_a_node_with_garbage_shares() {
        let (ctx, pk) = committee(&NODE_1_GARBAGE).await;
        // New sessions every time, so node 1 is asked whenever the shuffle puts it
        // among the first three (kept sessions would stick to three good nodes).
        let c = client_keeping(Duration::from_secs(10), Duration::ZERO);
        let mut keys = BTreeSet::new();
        let mut saw_bad = false;
        for _ in 0..4 {
            let r = c.get_key_in(&ctx, "disk").await.unwrap();
            r.sigma
                .verify(&pk, &PrfInput::new(r.identity.clone()))
                .unwrap();
            assert_eq!(r.nodes_used.len(), 3);
            assert!(!r.nodes_used.contains(&1));
            keys.insert(*r.key.expose_secret());
            if !r.bad_nodes.is_empty() {
                assert_eq!(r.bad_nodes.iter().map(|p| p.index).collect::<Vec<_>>(), [1]);
                assert!(matches!(r.bad_nodes[0].failure, NodeFailure::BadAnswer(_)));
                saw_bad = true;
            }
        }
        assert_eq!(keys.len(), 1, "the same key every time");
        // Node 1 is asked whenever it is among the first three of the shuffle; make
        // sure it was seen at least once by asking until it is (bounded).
        for _ in 0..20 {
            if saw_bad {
                break;
            }
            let r = c.get_key_in(&ctx, "disk").await.unwrap();
            saw_bad = !r.bad_nodes.is_empty();
        }
        assert!(saw_bad, "the garbage node was never named");
        // Another path, another key.
        let other = c.get_key_in(&ctx, "wallet").await.unwrap();
        assert!(!keys.contains(other.key.expose_secret()));
    }

    #[tokio::test]
    async fn get_key__should_keep_sessions_drop_a_lying_node_and_replace_a_dead_session() {
        let (ctx, _) = committee(&NODE_1_GARBAGE).await;
        let c = client(Duration::from_secs(10));
        let first = c.get_key_in(&ctx, "disk").await.unwrap();
        let kept =
            |c: &AppClient| -> BTreeSet<u16> { c.kept.lock().unwrap().keys().copied().collect() };
        // The nodes that served are kept, a node that sent garbage is not.
        let used: BTreeSet<u16> = first.nodes_used.iter().copied().collect();
        assert_eq!(kept(&c), used);
        assert!(!kept(&c).contains(&1));
        // The next releases go to the kept nodes, on the same sessions.
        for _ in 0..3 {
            let r = c.get_key_in(&ctx, "disk").await.unwrap();
            assert_eq!(r.key.expose_secret(), first.key.expose_secret());
            assert_eq!(r.nodes_used.iter().copied().collect::<BTreeSet<_>>(), used);
            assert!(r.bad_nodes.is_empty() && r.unavailable.is_empty());
        }
        // A kept session whose connection is gone is replaced by a new one, with no
        // node counted as unavailable.
        let victim = *used.iter().next().unwrap();
        let mut k = c.kept.lock().unwrap().remove(&victim).unwrap();
        k.session.close().await;
        c.kept.lock().unwrap().insert(victim, k);
        let r = c.get_key_in(&ctx, "disk").await.unwrap();
        assert_eq!(r.key.expose_secret(), first.key.expose_secret());
        assert!(r.unavailable.is_empty(), "{:?}", r.unavailable);
    }

    #[tokio::test]
    async fn get_key__should_be_served_with_two_of_five_nodes_down_or_silent() {
        use Behaviour::*;
        let (ctx, pk) =
            committee(&[None, Some(Honest), Some(Silent), Some(Honest), Some(Honest)]).await;
        let c = client(Duration::from_secs(10));
        let r = c.get_key_in(&ctx, "disk").await.unwrap();
        r.sigma
            .verify(&pk, &PrfInput::new(r.identity.clone()))
            .unwrap();
        assert_eq!(r.nodes_used, [2, 4, 5]);
        assert!(r.bad_nodes.is_empty());
    }

    #[tokio::test]
    async fn get_key__should_fail_with_not_enough_nodes_within_the_deadline_when_three_are_down() {
        use Behaviour::*;
        let (ctx, _) = committee(&[None, Some(Honest), Some(Silent), None, Some(Honest)]).await;
        let deadline = Duration::from_secs(3);
        let c = client(deadline);
        let started = std::time::Instant::now();
        let e = c.get_key_in(&ctx, "disk").await.err().unwrap();
        let took = started.elapsed();
        assert_eq!(e.kind(), "not_enough_nodes", "{e}");
        assert!(took <= deadline + Duration::from_secs(1), "{took:?}");
        let m = e.to_string();
        assert!(
            m.contains("node 1: unreachable") && m.contains("node 4: unreachable"),
            "{m}"
        );
    }

    #[tokio::test]
    async fn get_key__should_refuse_a_node_whose_noise_key_is_not_on_record() {
        use Behaviour::*;
        let (mut ctx, _) = committee(&[Some(Honest), Some(Honest), Some(Honest)]).await;
        ctx.committee.members[1].noise_key = [9; 32];
        let c = client(Duration::from_secs(5));
        let e = c.get_key_in(&ctx, "disk").await.err().unwrap();
        assert_eq!(e.kind(), "not_enough_nodes");
        assert!(
            e.to_string().contains(
                "node 2: protocol violation (its Noise static key is not the one on record)"
            ),
            "{e}"
        );
    }

    /// A node policy approving another build than the nodes' own.
    fn other_build_only() -> Policy {
        Policy::new([Measurement([1; 32])]).with_allowed_platforms([Platform::Simulated])
    }

    /// `c` is refused by every node because their build is not approved.
    async fn assert_unapproved_nodes_refused(c: &AppClient, ctx: &Context) {
        let e = c.get_key_in(ctx, "disk").await.err().unwrap();
        assert_eq!(e.kind(), "not_enough_nodes");
        assert!(
            e.to_string()
                .contains("evidence refused (measurement_not_approved"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn get_key__should_refuse_node_evidence_of_an_unapproved_build() {
        use Behaviour::*;
        let (mut ctx, _) = committee(&[Some(Honest), Some(Honest), Some(Honest)]).await;
        ctx.policy = other_build_only();
        assert_unapproved_nodes_refused(&client(Duration::from_secs(5)), &ctx).await;
    }

    #[tokio::test]
    async fn get_key__should_appraise_known_node_evidence_again_under_the_current_policy() {
        use Behaviour::*;
        let (mut ctx, _) = committee(&[Some(Honest), Some(Honest), Some(Honest)]).await;
        // New sessions every time: each one checks the node's hello.
        let c = client_keeping(Duration::from_secs(5), Duration::ZERO);
        c.get_key_in(&ctx, "disk").await.unwrap();
        // The nodes' verified evidence is known now; the policy stops approving their
        // build: the next sessions are refused all the same.
        ctx.policy = other_build_only();
        assert_unapproved_nodes_refused(&c, &ctx).await;
    }

    #[test]
    fn combinations__should_list_every_k_subset_once_in_order() {
        let all: Vec<Vec<usize>> = Combinations::new(5, 3).collect();
        assert_eq!(all.len(), 10);
        assert_eq!(all.first().unwrap(), &vec![0, 1, 2]);
        assert_eq!(all.last().unwrap(), &vec![2, 3, 4]);
        let mut dedup = all.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), 10);
        assert_eq!(Combinations::new(3, 3).count(), 1);
        assert_eq!(Combinations::new(2, 3).count(), 0);
    }

    #[test]
    fn split__should_count_a_node_of_another_epoch_as_unavailable_not_bad() {
        let lagging = NodeProblem {
            index: 2,
            failure: NodeFailure::OtherEpoch {
                serves: 1,
                active: 2,
            },
        };
        let liar = NodeProblem {
            index: 1,
            failure: NodeFailure::BadAnswer("garbage share".into()),
        };
        let (bad, unavailable) = split(vec![lagging.clone(), liar.clone()]);
        assert_eq!((bad, unavailable), (vec![liar], vec![lagging]));
    }

    #[test]
    fn shortfall__should_name_a_common_lasting_refusal_else_not_enough_nodes() {
        let p = |index, failure| NodeProblem { index, failure };
        let e = shortfall(
            "derive",
            3,
            0,
            &[
                p(1, NodeFailure::Refused(ErrorCode::NotApproved)),
                p(2, NodeFailure::Refused(ErrorCode::NotApproved)),
            ],
            None,
        );
        assert_eq!(e.kind(), "not_approved");
        let e = shortfall(
            "derive",
            3,
            1,
            &[
                p(1, NodeFailure::Unreachable("refused".into())),
                p(4, NodeFailure::BadAnswer("x".into())),
            ],
            Some(Duration::from_secs(5)),
        );
        assert_eq!(e.kind(), "not_enough_nodes");
        let m = e.to_string();
        assert!(
            m.contains("node 1: unreachable") && m.contains("node 4: bad answer"),
            "{m}"
        );
        let e = shortfall(
            "derive",
            3,
            0,
            &[p(1, NodeFailure::Refused(ErrorCode::RateLimited))],
            None,
        );
        assert_eq!(e.kind(), "not_enough_nodes");
    }
}
