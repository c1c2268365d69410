//! The epoch manager (DESIGN §7): follows the chain view, runs the genesis DKG when the
//! contract announces the first committee and this node is in it, stores the shares as
//! pending, confirms from the node's signer, promotes the shares when the contract
//! activates the epoch, and checks them against the group keys on record before the
//! node serves.
//!
//! A committee change (join, leave, replacement, upgrade) is a reshare from the active
//! committee to the pending one ([`super::dkg_run::reshare`]); a member that leaves
//! deals and confirms nothing. A member of the active epoch without shares on disk
//! rebuilds them from the others ([`super::repair`]); every serving member answers
//! such requests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use super::confirm::ConfirmEpoch;
use super::dkg_run::{genesis, reshare, Change, Committee, DkgContext, EpochKeys, OldShares};
use super::keyring::{KeyRing, ServingEpoch};
use super::repair::{help, recover, RepairEpoch, Requests};
use super::router::NodeId;
use crate::chain::watcher::AutoAbort;
use crate::chain::watcher::ChainState;
use crate::chain::GovernanceView;
use crate::ops::metrics::Metrics;
use crate::ops::status::{EpochStatus, PendingStatus, RunStatus, Status};
use crate::protocol::driver::Schedule;
use crate::storage::{Epoch, ShareKind, StoreShare};

/// The on-chain endpoint of a node: `p2p=HOST:PORT,app=HOST:PORT` (the node writes it
/// to `endpoints.json`; `kms node register --endpoint` puts it on chain).
pub fn format_endpoint(p2p: SocketAddr, app: SocketAddr) -> String {
    format!("p2p={p2p},app={app}")
}

/// The p2p address of an on-chain endpoint ([`format_endpoint`]); a bare `HOST:PORT`
/// is taken as the p2p address.
pub fn p2p_address(endpoint: &str) -> Option<SocketAddr> {
    endpoint
        .split(',')
        .find_map(|part| part.strip_prefix("p2p="))
        .unwrap_or(endpoint)
        .trim()
        .parse()
        .ok()
}

/// A peer the p2p layer may connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Node id.
    pub node_id: NodeId,
    /// Ed25519 p2p key.
    pub p2p_key: [u8; 32],
    /// Where to dial it.
    pub addr: SocketAddr,
}

/// Capability: tell the p2p layer which nodes may connect.
pub trait AllowPeers: Send + Sync {
    /// Replaces the allowed set.
    fn allow(&self, members: Vec<Member>);
}

/// How often a member retries `activate` after a transition's deadline.
const ACTIVATE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// What the node remembers about an epoch whose shares it holds
/// (`<data_dir>/epoch-<n>.json`): the values it confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EpochRecord {
    transcript_hash: String,
    bls_group_pk: String,
    secp_group_pk: String,
}

impl EpochRecord {
    /// The values a member confirms for `keys`.
    fn of(keys: &EpochKeys) -> Self {
        Self {
            transcript_hash: hex::encode(keys.transcript_hash),
            bls_group_pk: hex::encode(keys.bls_group_pk),
            secp_group_pk: hex::encode(keys.secp_group_pk),
        }
    }
}

/// The manager's collaborators.
pub struct EpochManager<St, C> {
    /// DKG environment.
    pub ctx: DkgContext,
    /// Share storage.
    pub store: Arc<Mutex<St>>,
    /// Confirmation transactions.
    pub confirm: Arc<C>,
    /// Data directory (epoch records).
    pub data_dir: PathBuf,
    /// Published status.
    pub status: watch::Sender<Status>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The p2p allow list.
    pub peers: Arc<dyn AllowPeers>,
    /// `chain.max_head_age`.
    pub max_head_age: std::time::Duration,
    /// `protocol.previous_epoch_grace`: how long the shares of an epoch that is no
    /// longer active are kept before they are erased.
    pub grace: std::time::Duration,
    /// The epochs the app service answers from: an epoch is added once its shares are
    /// checked (`activate`) and removed when they are erased.
    pub keyring: KeyRing,
}

/// What a finished run reports (0 attempts: nothing ran, the shares were on disk).
#[derive(Default)]
struct RunSummary {
    attempts: u32,
    culprits: Vec<u16>,
    /// The protocol's wall and process CPU time ([`RunStatus::protocol_ms`]).
    protocol: Option<ProtocolTime>,
}

/// Wall-clock and process CPU milliseconds of a protocol run.
#[derive(Clone, Copy)]
struct ProtocolTime {
    wall_ms: u64,
    cpu_ms: Option<u64>,
}

/// Times a protocol run: wall clock and this process's CPU time.
struct ProtocolClock {
    wall: Instant,
    /// `None` where the platform gives no process CPU clock.
    cpu: Option<cpu_time::ProcessTime>,
}

impl ProtocolClock {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: cpu_time::ProcessTime::try_now().ok(),
        }
    }

    fn stop(&self) -> ProtocolTime {
        // `checked_sub`, not `duration_since`, which subtracts and would panic if the
        // clock ever read less.
        let cpu_ms = self.cpu.and_then(|c| {
            let now = cpu_time::ProcessTime::try_now().ok()?;
            Some(millis(now.as_duration().checked_sub(c.as_duration())?))
        });
        ProtocolTime {
            wall_ms: millis(self.wall.elapsed()),
            cpu_ms,
        }
    }
}

/// `d` in whole milliseconds (saturating).
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

struct Finished {
    kind: &'static str,
    attempts: u32,
    epoch: u64,
    result: Result<(), String>,
    duration_ms: u64,
    culprits: Vec<u16>,
    protocol: Option<ProtocolTime>,
}

impl<St, C> EpochManager<St, C>
where
    St: StoreShare + Send + 'static,
    C: ConfirmEpoch + 'static,
{
    /// Runs until `chain` closes.
    pub async fn run(self, mut chain: watch::Receiver<ChainState>) {
        let manager = Arc::new(self);
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Finished>();
        let mut running: Option<u64> = None;
        // The transition task: aborted with this loop (a node stopped mid-run takes no
        // further part in it).
        let mut _transition: Option<AutoAbort<()>> = None;
        let mut finished: BTreeMap<u64, bool> = BTreeMap::new();
        // Set once the active epoch's shares are loaded and checked against the group
        // keys on record (also right after a restart).
        let mut serving: Option<u64> = None;
        // Epochs whose shares are erased at the given instant (a later epoch is active).
        let mut retiring: BTreeMap<u64, Instant> = BTreeMap::new();
        // The repair of this node's lost shares, and the task answering other
        // members' repair requests for the epoch it serves.
        let mut repairing: Option<AutoAbort<()>> = None;
        let mut _helping: Option<AutoAbort<()>> = None;
        let mut last_activate: Option<Instant> = None;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                changed = chain.changed() => if changed.is_err() { return },
                Some(f) = done_rx.recv() => {
                    running = None;
                    finished.insert(f.epoch, f.result.is_ok());
                    manager.metrics.record_run(f.kind, f.result.is_ok(), std::time::Duration::from_millis(f.duration_ms));
                    manager.status.send_modify(|s| {
                        s.last_run = Some(RunStatus {
                            kind: f.kind.into(),
                            epoch: f.epoch,
                            attempts: f.attempts,
                            duration_ms: f.duration_ms,
                            protocol_ms: f.protocol.map(|p| p.wall_ms),
                            protocol_cpu_ms: f.protocol.and_then(|p| p.cpu_ms),
                            outcome: if f.result.is_ok() { "ok" } else { "failed" }.into(),
                            culprits: f.culprits.clone(),
                            error: f.result.as_ref().err().cloned(),
                        });
                        if let Some(p) = s.pending.as_mut().filter(|p| p.number == f.epoch) {
                            p.state = if f.result.is_ok() { "confirmed" } else { "failed" }.into();
                        }
                    });
                }
                _ = tick.tick() => {}
            }
            let state = chain.borrow().clone();
            let Some(view) = state.view.clone() else {
                manager.publish_chain(&state, None);
                continue;
            };
            manager.allow_members(&view);
            if let (Some(p), None) = (&view.pending, running) {
                if view.is_member(&manager.ctx.me) && !finished.contains_key(&p.number) {
                    running = Some(p.number);
                    let m = Arc::clone(&manager);
                    let tx = done_tx.clone();
                    let view = Arc::clone(&view);
                    _transition = Some(AutoAbort::spawn("transition", async move {
                        let f = m.transition(&view, serving).await;
                        let _ = tx.send(f);
                    }));
                }
            }
            if let Some(a) = &view.active {
                if serving != Some(a.number) && a.committee.contains(&manager.ctx.me) {
                    // Shares from a run whose transcript is not the one the contract
                    // activated (this node's view of the DKG parted from the others'):
                    // discarded, then repaired from the members that agree.
                    manager.discard_if_not_activated(a);
                    if !manager.has_shares(a.number) {
                        // Lost storage: rebuild the shares from the other members.
                        if repairing.as_ref().is_none_or(|h| h.is_finished()) {
                            let m = Arc::clone(&manager);
                            let e = repair_epoch(a, &view);
                            repairing = Some(AutoAbort::spawn("repair", async move {
                                m.repair(&e).await;
                            }));
                        }
                    } else {
                        match manager.activate(a) {
                            Ok(()) => {
                                serving = Some(a.number);
                                // Help members that lost their storage.
                                let m = Arc::clone(&manager);
                                let e = repair_epoch(a, &view);
                                _helping = Some(AutoAbort::spawn("repair-helper", async move {
                                    m.serve_repairs(e).await;
                                }));
                            }
                            Err(e) => {
                                tracing::error!(epoch = a.number, error = %e, "cannot serve the active epoch")
                            }
                        }
                    }
                }
            }
            if let Some(a) = &view.active {
                manager.retire(a.number, &mut retiring);
            }
            // After the deadline, any member may activate the pending epoch on the
            // values at least min(n, 2t - 1) members confirmed (DESIGN §6): a member
            // that never confirms delays the epoch only until then.
            if let Some(p) = &view.pending {
                let due = view.block.timestamp > p.deadline
                    && finished.get(&p.number) == Some(&true)
                    && last_activate.is_none_or(|t: Instant| t.elapsed() >= ACTIVATE_EVERY);
                if due {
                    if let Some(record) = manager.read_record(p.number) {
                        last_activate = Some(Instant::now());
                        let m = Arc::clone(&manager);
                        let epoch = p.number;
                        tokio::spawn(async move { m.activate_after_deadline(epoch, record).await });
                    }
                }
            }
            manager.publish_chain(
                &state,
                Some(Progress {
                    view: &view,
                    serving,
                    running,
                    finished: &finished,
                }),
            );
        }
    }

    fn allow_members(&self, view: &GovernanceView) {
        self.peers.allow(peers_of(view, &self.ctx.me));
    }

    async fn transition(&self, view: &GovernanceView, serving: Option<u64>) -> Finished {
        let started = Instant::now();
        let Some(p) = &view.pending else {
            return Finished {
                kind: "dkg",
                attempts: 0,
                epoch: 0,
                result: Err("no pending epoch".into()),
                duration_ms: 0,
                culprits: Vec::new(),
                protocol: None,
            };
        };
        self.status.send_modify(|s| {
            if let Some(ps) = s.pending.as_mut() {
                ps.state = "running_dkg".into();
            }
        });
        let kind = if view.active.is_some() {
            "reshare"
        } else {
            "dkg"
        };
        let result = self.transition_inner(view, serving).await;
        let (result, summary) = match result {
            Ok(c) => (Ok(()), c),
            Err(e) => (Err(e), RunSummary::default()),
        };
        if let Err(e) = &result {
            tracing::error!(epoch = p.number, error = %e, "committee transition failed");
        }
        Finished {
            kind,
            attempts: summary.attempts,
            epoch: p.number,
            result,
            duration_ms: millis(started.elapsed()),
            culprits: summary.culprits,
            protocol: summary.protocol,
        }
    }

    async fn transition_inner(
        &self,
        view: &GovernanceView,
        serving: Option<u64>,
    ) -> Result<RunSummary, String> {
        let Some(p) = &view.pending else {
            return Err("no pending epoch".into());
        };
        let epoch = p.number;
        let mut summary = RunSummary::default();
        let record = match self.read_record(epoch) {
            Some(r) => r,
            None => {
                let scheduled = self.scheduled(p)?;
                let p2p_keys: BTreeMap<NodeId, Vec<u8>> = view
                    .nodes
                    .iter()
                    .map(|(id, n)| (*id, n.p2p_key.clone()))
                    .collect();
                let clock = ProtocolClock::start();
                let keys = match &view.active {
                    None => {
                        let c = Committee {
                            epoch,
                            threshold: p.threshold,
                            members: &p.committee,
                            p2p_keys: &p2p_keys,
                        };
                        tracing::info!(
                            epoch,
                            n = p.committee.len(),
                            t = p.threshold,
                            "genesis DKG starting"
                        );
                        Some(genesis(&scheduled, &c).await.map_err(|e| e.to_string())?)
                    }
                    Some(a) => {
                        let c = Change {
                            epoch,
                            old_members: &a.committee,
                            old_threshold: a.threshold,
                            new_members: &p.committee,
                            new_threshold: p.threshold,
                            p2p_keys: &p2p_keys,
                            group_keys: (a.keys.bls, a.keys.secp),
                        };
                        let old = if serving == Some(a.number) {
                            Some(self.load_shares(a.number)?)
                        } else {
                            None
                        };
                        tracing::info!(
                            epoch,
                            from = a.number,
                            n = p.committee.len(),
                            t = p.threshold,
                            dealing = old.is_some(),
                            "reshare starting"
                        );
                        let old_ref = old.as_ref().map(|(bls, secp)| OldShares { bls, secp });
                        reshare(&scheduled, &c, old_ref)
                            .await
                            .map_err(|e| e.to_string())?
                    }
                };
                summary.protocol = Some(clock.stop());
                let Some(keys) = keys else {
                    tracing::info!(epoch, "reshare done: this node leaves the committee");
                    return Ok(summary);
                };
                summary.attempts = keys.attempts;
                summary.culprits = keys.disqualified.iter().copied().collect();
                self.store_pending(epoch, &keys)?;
                tracing::info!(epoch, bls_group_pk = %hex::encode(keys.bls_group_pk), secp_group_pk = %hex::encode(keys.secp_group_pk), "new shares stored (pending)");
                EpochRecord::of(&keys)
            }
        };
        let (t, b, s) = record_values(&record).ok_or("corrupt epoch record")?;
        let mut last = String::new();
        for attempt in 0..5u32 {
            match self.confirm.confirm(epoch, t, b, s).await {
                Ok(()) => {
                    tracing::info!(epoch, "confirmed on chain");
                    return Ok(summary);
                }
                Err(e) => {
                    tracing::warn!(epoch, attempt, error = %e, "confirm failed; retrying");
                    last = e;
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            }
        }
        Err(last)
    }

    /// The DKG context on the transition's common clock (every member counts attempts
    /// from the proposal's block time, so a member that starts late joins the attempt
    /// the others are in), resumed when an earlier run of this node for the epoch may
    /// have sent messages: `run-<epoch>.started` in the data directory says so, and is
    /// written before the first message leaves.
    fn scheduled(&self, p: &crate::chain::PendingEpoch) -> Result<DkgContext, String> {
        let name = run_marker(p.number);
        let resumed = self.data_dir.join(&name).exists();
        if resumed {
            tracing::info!(
                epoch = p.number,
                "resuming a transition this node had started: joining at the next attempt"
            );
        } else {
            crate::storage::files::write_atomic(
                &self.data_dir,
                &name,
                &format!(".{name}.tmp"),
                b"",
            )
            .map_err(|e| format!("writing {name}: {e}"))?;
        }
        let schedule = Schedule {
            origin: std::time::UNIX_EPOCH + std::time::Duration::from_secs(p.created_at),
            resumed,
        };
        Ok(DkgContext {
            policy: self.ctx.policy.scheduled(schedule),
            ..self.ctx.clone()
        })
    }

    fn record_path(&self, epoch: u64) -> PathBuf {
        self.data_dir.join(format!("epoch-{epoch}.json"))
    }

    fn read_record(&self, epoch: u64) -> Option<EpochRecord> {
        let text = std::fs::read_to_string(self.record_path(epoch)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the epoch record (what this node confirms) and then the pending shares.
    /// In this order a crash in between leaves a record without shares: the node then
    /// confirms the values the others computed, and repairs its shares once the epoch
    /// is active, instead of rerunning a DKG its peers have finished.
    fn store_pending(&self, epoch: u64, keys: &EpochKeys) -> Result<(), String> {
        let record = EpochRecord::of(keys);
        let json = serde_json::to_vec_pretty(&record).map_err(|e| e.to_string())?;
        crate::storage::files::write_atomic(
            &self.data_dir,
            &format!("epoch-{epoch}.json"),
            &format!(".epoch-{epoch}.json.tmp"),
            &json,
        )
        .map_err(|e| e.to_string())?;
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store
            .put_pending(Epoch(epoch), ShareKind::Bls, &keys.bls.export_for_sealing())
            .and_then(|()| {
                store.put_pending(
                    Epoch(epoch),
                    ShareKind::Secp,
                    &keys.secp.export_for_sealing(),
                )
            })
            .map_err(|e| e.to_string())
    }

    /// Schedules the erasure of every stored epoch older than `active` a grace window
    /// from when it was first seen superseded, and erases those whose time has come.
    fn retire(&self, active: u64, retiring: &mut BTreeMap<u64, Instant>) {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = store.active_epochs().unwrap_or_default();
        for Epoch(e) in stored.into_iter().filter(|Epoch(e)| *e < active) {
            let due = *retiring
                .entry(e)
                .or_insert_with(|| Instant::now() + self.grace);
            if Instant::now() >= due {
                match store.erase_epoch(Epoch(e)) {
                    Ok(()) => {
                        retiring.remove(&e);
                        self.keyring.remove(e);
                        let _ = std::fs::remove_file(self.record_path(e));
                        tracing::info!(
                            epoch = e,
                            "previous epoch's shares erased after the grace window"
                        );
                    }
                    Err(err) => {
                        tracing::error!(epoch = e, error = %err, "cannot erase a previous epoch")
                    }
                }
            }
        }
    }

    /// Calls `activate` for `epoch` with the values this node confirmed.
    async fn activate_after_deadline(&self, epoch: u64, record: EpochRecord) {
        let Some((t, b, s)) = record_values(&record) else {
            return;
        };
        match self.confirm.activate(epoch, t, b, s).await {
            Ok(()) => tracing::info!(epoch, "deadline passed: activation sent"),
            Err(e) => tracing::warn!(epoch, error = %e, "deadline passed: activation refused"),
        }
    }

    /// Erases this node's shares (and record) of the active epoch `a` when the
    /// transcript it confirmed is not the one the contract activated, so that the run
    /// loop repairs them from the members that agree. Returns whether it did.
    fn discard_if_not_activated(&self, a: &crate::chain::ActiveEpoch) -> bool {
        let Some(record) = self.read_record(a.number) else {
            return false;
        };
        if record.transcript_hash == hex::encode(a.keys.transcript_hash) {
            return false;
        }
        tracing::error!(
            epoch = a.number,
            ours = %record.transcript_hash,
            activated = %hex::encode(a.keys.transcript_hash),
            "this node's DKG transcript is not the activated one: discarding its shares to repair them"
        );
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = store.erase_epoch(Epoch(a.number)) {
            tracing::error!(epoch = a.number, error = %e, "cannot discard the shares");
            return false;
        }
        drop(store);
        let _ = std::fs::remove_file(self.record_path(a.number));
        true
    }

    /// Whether this node holds shares of `epoch` (active or pending).
    fn has_shares(&self, epoch: u64) -> bool {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let found = |r: Result<zeroize::Zeroizing<Vec<u8>>, crate::storage::Error>| {
            !matches!(r, Err(crate::storage::Error::NotFound { .. }))
        };
        found(store.load(Epoch(epoch), ShareKind::Bls))
            || found(store.load_pending(Epoch(epoch), ShareKind::Bls))
    }

    /// Rebuilds this node's lost shares of the active epoch `e` and stores them.
    async fn repair(&self, e: &RepairEpoch) {
        let started = Instant::now();
        tracing::warn!(
            epoch = e.number,
            "no shares for the active epoch on disk: repairing from the other members"
        );
        let result = match recover(&self.ctx, e, self.ctx.policy.max_attempts).await {
            Ok((bls, secp)) => {
                let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
                store
                    .put_pending(Epoch(e.number), ShareKind::Bls, &bls.export_for_sealing())
                    .and_then(|()| {
                        store.put_pending(
                            Epoch(e.number),
                            ShareKind::Secp,
                            &secp.export_for_sealing(),
                        )
                    })
                    .and_then(|()| store.promote(Epoch(e.number)))
                    .map_err(|err| err.to_string())
            }
            Err(err) => Err(err.to_string()),
        };
        let duration_ms = millis(started.elapsed());
        self.metrics.record_run(
            "repair",
            result.is_ok(),
            std::time::Duration::from_millis(duration_ms),
        );
        match &result {
            Ok(()) => tracing::info!(epoch = e.number, "shares repaired"),
            Err(err) => tracing::error!(epoch = e.number, error = %err, "repair failed"),
        }
        self.status.send_modify(|s| {
            s.last_run = Some(RunStatus {
                kind: "repair".into(),
                epoch: e.number,
                attempts: 1,
                duration_ms,
                protocol_ms: None,
                protocol_cpu_ms: None,
                outcome: if result.is_ok() { "ok" } else { "failed" }.into(),
                culprits: Vec::new(),
                error: result.as_ref().err().cloned(),
            });
        });
    }

    /// Answers repair requests of the other members of `e` while this node serves it.
    async fn serve_repairs(self: Arc<Self>, e: RepairEpoch) {
        let Some(me) = e
            .committee
            .iter()
            .position(|id| *id == self.ctx.me)
            .and_then(|p| u16::try_from(p + 1).ok())
            .and_then(dkg::PartyIndex::new)
        else {
            return;
        };
        let Ok(mut requests) = Requests::open(&self.ctx, &e) else {
            return;
        };
        while let Some((lost, request)) = requests.next(me).await {
            let Ok((bls, secp)) = self.load_shares(e.number) else {
                continue;
            };
            tracing::info!(
                epoch = e.number,
                lost = lost.get(),
                "helping a member repair its shares"
            );
            let m = Arc::clone(&self);
            let e = e.clone();
            tokio::spawn(async move {
                if let Err(err) = help(&m.ctx, &e, lost, &request, &bls, &secp).await {
                    tracing::warn!(epoch = e.number, lost = lost.get(), error = %err, "repair help failed");
                }
            });
        }
    }

    /// This node's active shares of `epoch`, unsealed.
    fn load_shares(
        &self,
        epoch: u64,
    ) -> Result<(dkg::bls::BlsKeyShare, dkg::secp::SecpKeyShare), String> {
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let bls = store
            .load(Epoch(epoch), ShareKind::Bls)
            .map_err(|e| e.to_string())?;
        let secp = store
            .load(Epoch(epoch), ShareKind::Secp)
            .map_err(|e| e.to_string())?;
        drop(store);
        let bls = dkg::bls::BlsKeyShare::import_from_sealing(&bls).map_err(|e| e.to_string())?;
        let secp =
            dkg::secp::SecpKeyShare::import_from_sealing(&secp).map_err(|e| e.to_string())?;
        Ok((bls, secp))
    }

    /// Promotes the pending shares of the activated epoch (if not yet), checks them
    /// against the group keys on record (DESIGN §7 "Start-up check") and adds the epoch
    /// to the key ring.
    fn activate(&self, a: &crate::chain::ActiveEpoch) -> Result<(), String> {
        let (epoch, keys) = (a.number, &a.keys);
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let active = store.active_epochs().map_err(|e| e.to_string())?;
        if !active.contains(&Epoch(epoch)) {
            store.promote(Epoch(epoch)).map_err(|e| e.to_string())?;
            tracing::info!(epoch, "epoch active: shares promoted");
        }
        drop(store);
        // The transition is over: its run marker (`scheduled`) has no use any more.
        let _ = std::fs::remove_file(self.data_dir.join(run_marker(epoch)));
        let (bls, secp) = self.load_shares(epoch)?;
        if bls.public().group_key().to_compressed() != keys.bls {
            return Err(format!(
                "the BLS share of epoch {epoch} is not of the group key on record"
            ));
        }
        let secp_pk = secp
            .public()
            .group_key()
            .serialize()
            .map_err(|e| e.to_string())?;
        if secp_pk.as_slice() != keys.secp.as_slice() {
            return Err(format!(
                "the secp256k1 share of epoch {epoch} is not of the group key on record"
            ));
        }
        self.keyring.insert(ServingEpoch {
            epoch,
            index: bls.index(),
            threshold: a.threshold,
            committee: a.committee.clone(),
            bls,
            secp: Arc::new(secp),
            bls_group_pk: keys.bls,
            secp_group_pk: keys.secp,
        });
        Ok(())
    }

    fn publish_chain(&self, state: &ChainState, progress: Option<Progress<'_>>) {
        let now = SystemTime::now();
        let age = state.head_age(now);
        let stale = state.check(now, self.max_head_age).err();
        if let Some(a) = age {
            self.metrics.set_head_age(a.as_secs_f64());
        }
        let me = self.ctx.me;
        self.status.send_modify(|s| {
            s.chain.block = state.view.as_ref().map(|v| v.block.number);
            s.chain.head_age_secs = age.map(|a| a.as_secs());
            s.chain.stale = stale.is_some();
            s.chain.error = state.last_error.as_ref().map(|e| e.to_string());
            let Some(Progress {
                view,
                serving,
                running,
                finished,
            }) = progress
            else {
                s.serving = false;
                s.not_serving_reason = Some(
                    stale
                        .as_ref()
                        .map_or("no chain view yet".into(), |e| e.to_string()),
                );
                return;
            };
            s.epoch = view.active.as_ref().map(|a| EpochStatus {
                number: a.number,
                threshold: a.threshold,
                committee: a.committee.iter().map(hex::encode).collect(),
                own_index: own_index(&a.committee, &me),
                bls_group_pk: hex::encode(a.keys.bls),
                secp_group_pk: hex::encode(a.keys.secp),
            });
            s.pending = view.pending.as_ref().map(|p| PendingStatus {
                number: p.number,
                threshold: p.threshold,
                committee: p.committee.iter().map(hex::encode).collect(),
                own_index: own_index(&p.committee, &me),
                state: if running == Some(p.number) {
                    "running_dkg".into()
                } else {
                    match finished.get(&p.number) {
                        Some(true) => "confirmed".into(),
                        Some(false) => "failed".into(),
                        None => "waiting".into(),
                    }
                },
            });
            let reason = if let Some(e) = &stale {
                Some(e.to_string())
            } else {
                match &view.active {
                    None => Some("no active epoch yet".into()),
                    Some(a) if !a.committee.contains(&me) => {
                        Some(format!("not a member of epoch {}", a.number))
                    }
                    Some(a) if serving != Some(a.number) => {
                        Some(format!("shares of epoch {} not loaded", a.number))
                    }
                    Some(_) => None,
                }
            };
            s.serving = reason.is_none();
            s.not_serving_reason = reason;
        });
    }
}

/// Where the manager is, for `/status`.
struct Progress<'a> {
    view: &'a GovernanceView,
    /// The epoch whose shares are loaded and checked.
    serving: Option<u64>,
    /// The epoch whose DKG runs.
    running: Option<u64>,
    /// Epochs whose run ended (true: confirmed).
    finished: &'a BTreeMap<u64, bool>,
}

fn repair_epoch(a: &crate::chain::ActiveEpoch, view: &GovernanceView) -> RepairEpoch {
    RepairEpoch {
        number: a.number,
        threshold: a.threshold,
        committee: a.committee.clone(),
        group_keys: (a.keys.bls, a.keys.secp),
        p2p_keys: a
            .committee
            .iter()
            .filter_map(|id| Some((*id, view.nodes.get(id)?.p2p_key.clone())))
            .collect(),
    }
}

fn own_index(committee: &[NodeId], me: &NodeId) -> Option<u16> {
    committee
        .iter()
        .position(|id| id == me)
        .and_then(|p| u16::try_from(p + 1).ok())
}

/// The file in the data directory that says this node has started the run of
/// `epoch` ([`EpochManager::scheduled`]); removed when the epoch activates.
fn run_marker(epoch: u64) -> String {
    format!("run-{epoch}.started")
}

fn record_values(r: &EpochRecord) -> Option<([u8; 32], [u8; 48], [u8; 33])> {
    let mut t = [0u8; 32];
    let mut b = [0u8; 48];
    let mut s = [0u8; 33];
    hex::decode_to_slice(&r.transcript_hash, &mut t).ok()?;
    hex::decode_to_slice(&r.bls_group_pk, &mut b).ok()?;
    hex::decode_to_slice(&r.secp_group_pk, &mut s).ok()?;
    Some((t, b, s))
}

/// The nodes `me` may connect to: the other members of the active and the pending
/// committee, if `me` is one of them; nobody otherwise. Members allow only members, so
/// a node outside both committees (registered and waiting to join, or gone after a
/// reshare) would only be refused, after a full handshake on both sides, at every
/// dial interval: at n = 32 a node waiting to join cost the committee several hundred
/// such handshakes before the proposal that names it.
fn peers_of(view: &GovernanceView, me: &NodeId) -> Vec<Member> {
    if !view.is_member(me) {
        return Vec::new();
    }
    view.active_members()
        .chain(view.pending_members())
        .filter(|n| n.node_id != *me)
        .filter_map(|n| {
            Some(Member {
                node_id: n.node_id,
                p2p_key: <[u8; 32]>::try_from(n.p2p_key.as_slice()).ok()?,
                addr: p2p_address(&n.endpoint)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn peers_of__should_be_the_other_members_for_a_member_and_nobody_for_an_outsider() {
        use crate::chain::ReadGovernance as _;
        use crate::testing::chain::FakeGovernance;
        use crate::testing::cluster::{now, propose, register};

        let chain = FakeGovernance::new(now());
        register(&chain, 4);
        propose(&chain, 1, &[1, 2, 3], 2);
        let view = chain.read_at(chain.mine(now())).await.unwrap();
        let ids =
            |members: Vec<Member>| -> Vec<u8> { members.iter().map(|m| m.node_id[0]).collect() };
        assert_eq!(ids(peers_of(&view, &[1; 32])), vec![2, 3]);
        assert_eq!(ids(peers_of(&view, &[3; 32])), vec![1, 2]);
        // Registered, not in the committee: it would only be refused.
        assert_eq!(ids(peers_of(&view, &[4; 32])), Vec::<u8>::new());
    }

    #[test]
    fn endpoint__should_round_trip_and_accept_a_bare_address() {
        let p2p: SocketAddr = "127.0.0.1:7100".parse().unwrap();
        let app: SocketAddr = "127.0.0.1:7200".parse().unwrap();
        assert_eq!(p2p_address(&format_endpoint(p2p, app)), Some(p2p));
        assert_eq!(p2p_address("127.0.0.1:7100"), Some(p2p));
        assert_eq!(p2p_address("p2p=nonsense,app=127.0.0.1:1"), None);
    }
}
