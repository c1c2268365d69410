//! The chain watcher: a task that polls [`ReadGovernance`] every `poll_interval`,
//! reads the contract at `head - confirmation_depth` whenever that block advances, and
//! publishes the view through a [`tokio::sync::watch`] channel.
//!
//! Staleness (DESIGN §2) is judged by whoever uses the view, at the moment it uses it
//! ([`ChainState::check`]): the view's age is `now - block.timestamp`, so a view goes
//! stale by itself when the endpoint stops answering, hangs, or keeps returning an old
//! head, even while the task is stuck in a request. A failed poll keeps the last view
//! (with the error, for `/status`) until it ages past `max_head_age`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::{pinned_block, Error, GovernanceView, ReadGovernance};
use crate::config::ChainConfig;

/// What the watcher needs of `[chain]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchConfig {
    /// Blocks below the head at which the contract is read.
    pub confirmation_depth: u64,
    /// How often the head is polled.
    pub poll_interval: Duration,
    /// A view whose block is older than this is stale.
    pub max_head_age: Duration,
}

impl From<&ChainConfig> for WatchConfig {
    fn from(c: &ChainConfig) -> Self {
        Self {
            confirmation_depth: c.confirmation_depth,
            poll_interval: c.poll_interval,
            max_head_age: c.max_head_age,
        }
    }
}

/// Why the chain view may not be used (`/status` shows it; key release refuses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Stale {
    /// No view was ever read.
    #[error("no chain view yet{}", last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default())]
    NoView {
        /// The last poll's error, if it failed.
        last_error: Option<Error>,
    },
    /// The view's block is older than the bound.
    #[error("chain view at block {block} is {}s old (bound {}s){}", age.as_secs(), max.as_secs(), last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
    TooOld {
        /// The view's block.
        block: u64,
        /// Its age.
        age: Duration,
        /// The bound (`chain.max_head_age`).
        max: Duration,
        /// The last poll's error, if it failed.
        last_error: Option<Error>,
    },
}

/// What the watcher publishes.
#[derive(Debug, Clone, Default)]
pub struct ChainState {
    /// The latest view (kept when later polls fail).
    pub view: Option<Arc<GovernanceView>>,
    /// The head seen by the last successful poll.
    pub head: Option<u64>,
    /// The error of the last poll, `None` when it succeeded.
    pub last_error: Option<Error>,
}

impl ChainState {
    /// The age of the view's block at `now` (0 if the block is in the future).
    pub fn head_age(&self, now: SystemTime) -> Option<Duration> {
        let view = self.view.as_ref()?;
        let block = UNIX_EPOCH + Duration::from_secs(view.block.timestamp);
        Some(now.duration_since(block).unwrap_or(Duration::ZERO))
    }

    /// Whether the view is stale at `now` under `max_head_age`.
    pub fn is_stale(&self, now: SystemTime, max_head_age: Duration) -> bool {
        self.check(now, max_head_age).is_err()
    }

    /// The view, if it is not older than `max_head_age` at `now`.
    pub fn check(
        &self,
        now: SystemTime,
        max_head_age: Duration,
    ) -> Result<Arc<GovernanceView>, Stale> {
        let (Some(view), Some(age)) = (&self.view, self.head_age(now)) else {
            return Err(Stale::NoView {
                last_error: self.last_error.clone(),
            });
        };
        if age > max_head_age {
            return Err(Stale::TooOld {
                block: view.block.number,
                age,
                max: max_head_age,
                last_error: self.last_error.clone(),
            });
        }
        Ok(Arc::clone(view))
    }
}

/// A spawned task that is aborted when this handle is dropped (STYLE §4, NEAR
/// `AutoAbortTask`). tokio's [`JoinHandle`] detaches the task on drop instead, which
/// would leave a watcher polling for a node that no longer exists.
#[derive(Debug)]
pub struct AutoAbort<T>(JoinHandle<T>);

impl<T> AutoAbort<T> {
    /// Spawns `future` on the current runtime inside a tracing span named `name`
    /// (tokio's own task names need `tokio_unstable`).
    pub fn spawn<F>(name: &'static str, future: F) -> Self
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        Self(tokio::spawn(
            future.instrument(tracing::info_span!("task", name)),
        ))
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl<T> Drop for AutoAbort<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The running watcher; dropping it stops the task.
#[derive(Debug)]
pub struct ChainWatcher {
    state: watch::Receiver<ChainState>,
    max_head_age: Duration,
    _task: AutoAbort<()>,
}

impl ChainWatcher {
    /// Starts watching with `reader` (on the current tokio runtime). The first poll is
    /// immediate.
    pub fn spawn<R: ReadGovernance + 'static>(reader: R, config: WatchConfig) -> Self {
        let (tx, rx) = watch::channel(ChainState::default());
        let task = AutoAbort::spawn("chain-watcher", run(reader, config, tx));
        Self {
            state: rx,
            max_head_age: config.max_head_age,
            _task: task,
        }
    }

    /// Starts watching the contract and endpoint of `[chain]` (an `http://` or
    /// `https://` endpoint).
    pub fn start(config: &ChainConfig) -> Result<Self, Error> {
        let reader = super::rpc::RpcGovernance::connect(&config.rpc_url, config.contract)?;
        Ok(Self::spawn(reader, WatchConfig::from(config)))
    }

    /// A receiver of every published state.
    pub fn subscribe(&self) -> watch::Receiver<ChainState> {
        self.state.clone()
    }

    /// The current state.
    pub fn state(&self) -> ChainState {
        self.state.borrow().clone()
    }

    /// The view if it is fresh now (wall clock), else why not.
    pub fn check(&self) -> Result<Arc<GovernanceView>, Stale> {
        self.state().check(SystemTime::now(), self.max_head_age)
    }
}

async fn run<R: ReadGovernance>(reader: R, config: WatchConfig, tx: watch::Sender<ChainState>) {
    loop {
        if tx.is_closed() {
            return;
        }
        poll_once(&reader, config.confirmation_depth, &tx).await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        tokio::time::sleep(until_next_tick(now, config.poll_interval)).await;
    }
}

/// From `now` (time since the Unix epoch) to the next multiple of `interval`: after its
/// first poll, every node polls on the same wall-clock grid (a poll that overruns skips
/// to the next point of it). Nodes whose clocks agree then learn of a new committee
/// within one poll's latency of each other. Polling on each node's own start-up phase,
/// they learnt up to `interval` apart and the members that learnt first waited for the
/// last (a devnet node added for a reshare polled out of phase with the others).
fn until_next_tick(now: Duration, interval: Duration) -> Duration {
    let period = interval.as_nanos().max(1);
    let left = period - now.as_nanos() % period;
    Duration::from_nanos(u64::try_from(left).unwrap_or(u64::MAX))
}

/// The view at `n`, from `current` (at an older block): the contract's state again if
/// it emitted events since, else `current`'s state at `n`'s block. When the events
/// cannot be listed (an endpoint's range limit after a long outage), the state is read.
async fn advance<R: ReadGovernance>(
    reader: &R,
    current: &GovernanceView,
    n: u64,
) -> Result<GovernanceView, Error> {
    match reader
        .events(current.block.number.saturating_add(1), n)
        .await
    {
        Ok(events) if events.is_empty() => {
            let mut view = current.clone();
            view.block = reader.block(n).await?;
            Ok(view)
        }
        Ok(events) => {
            for e in &events {
                tracing::info!(block = e.block, event = %e.summary, "governance event");
            }
            if events.iter().any(|e| e.changes_nodes) {
                reader.read_at(n).await
            } else {
                reader.read_at_known(n, &current.nodes).await
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "cannot list events; reading the state");
            reader.read_at(n).await
        }
    }
}

/// One poll: read the head, and the contract if the pinned block advanced. Publishes
/// only what changed.
pub(crate) async fn poll_once<R: ReadGovernance>(
    reader: &R,
    depth: u64,
    tx: &watch::Sender<ChainState>,
) {
    let current = tx.borrow().view.clone();
    let result = async {
        let head = reader.head().await?;
        let n = pinned_block(head, depth)?;
        let Some(current) = current else {
            return Ok((head, Some(reader.read_at(n).await?)));
        };
        // A lagging endpoint (pinned block at or below the view's) never replaces a
        // newer view.
        if current.block.number >= n {
            return Ok((head, None));
        }
        Ok::<_, Error>((head, Some(advance(reader, &current, n).await?)))
    }
    .await;
    match result {
        Ok((head, view)) => {
            if let Some(v) = &view {
                tracing::debug!(block = v.block.number, head, "chain view advanced");
            }
            tx.send_if_modified(|s| {
                let changed = view.is_some() || s.head != Some(head) || s.last_error.is_some();
                if let Some(v) = view {
                    s.view = Some(Arc::new(v));
                }
                s.head = Some(head);
                s.last_error = None;
                changed
            });
        }
        Err(e) => {
            tracing::warn!(error = %e, "chain poll failed; keeping the last view");
            tx.send_if_modified(|s| {
                let changed = s.last_error.as_ref() != Some(&e);
                s.last_error = Some(e);
                changed
            });
        }
    }
}

#[cfg(test)]
#[allow(
    non_snake_case,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use alloy::primitives::Address;
    use governance_contract::{EpochInfo, EpochStatus, NodePlatform, NodeRecord, Platform};

    use super::*;
    use crate::testing::chain::FakeGovernance;

    const T0: u64 = 1_700_000_000;
    const BLOCK_SECS: u64 = 12;

    fn config() -> WatchConfig {
        WatchConfig {
            confirmation_depth: 2,
            poll_interval: Duration::from_secs(1),
            max_head_age: Duration::from_secs(60),
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn until_next_tick__should_reach_the_next_multiple_of_the_interval() {
        let ms = Duration::from_millis;
        let interval = ms(500);
        assert_eq!(
            until_next_tick(Duration::from_secs(T0) + ms(120), interval),
            ms(380)
        );
        assert_eq!(
            until_next_tick(Duration::from_secs(T0) + ms(499), interval),
            ms(1)
        );
        // On a point of the grid: the next one, never a zero wait (no busy loop).
        assert_eq!(until_next_tick(Duration::from_secs(T0), interval), interval);
        // Two nodes that started out of phase poll at the same instants.
        let a = Duration::from_secs(T0) + ms(130);
        let b = Duration::from_secs(T0) + ms(410);
        assert_eq!(
            a + until_next_tick(a, interval),
            b + until_next_tick(b, interval)
        );
        // A zero interval (refused by the config) still waits a nanosecond, never panics.
        assert_eq!(until_next_tick(a, Duration::ZERO), Duration::from_nanos(1));
    }

    fn record(key: u8) -> NodeRecord {
        NodeRecord {
            node_id: [key; 32],
            operator: Address::repeat_byte(0x10),
            signer: Address::repeat_byte(key),
            vendor_code: NodePlatform::hardware(Platform::Tdx)
                .unwrap()
                .vendor()
                .code()
                .unwrap(),
            platform_code: NodePlatform::hardware(Platform::Tdx).unwrap().code(),
            tee_family_code: NodePlatform::hardware(Platform::Tdx)
                .unwrap()
                .family()
                .code(),
            registered_at: T0,
            noise_key: [key; 32],
            p2p_key: vec![key; 36],
            endpoint: format!("10.0.0.{key}:9000"),
        }
    }

    fn pending(number: u64, committee: &[u8]) -> EpochInfo {
        EpochInfo {
            epoch: number,
            status: EpochStatus::Pending,
            threshold: 2,
            committee: committee.iter().map(|k| [*k; 32]).collect(),
            created_at: T0,
            activated_at: None,
            transcript_hash: None,
            bls_group_pk: None,
            secp_group_pk: None,
            confirmations: 0,
            deadline: T0 + 3600,
            not_confirmed: vec![],
        }
    }

    /// A fake chain of blocks 0..=head, one every BLOCK_SECS.
    fn chain(head: u64) -> FakeGovernance {
        let fake = FakeGovernance::new(T0);
        for i in 1..=head {
            fake.mine(T0 + i * BLOCK_SECS);
        }
        fake
    }

    fn timestamp(block: u64) -> u64 {
        T0 + block * BLOCK_SECS
    }

    /// Waits (in paused time: as long as it takes the watcher) for the next publication,
    /// bounded by a few poll intervals.
    async fn next(rx: &mut watch::Receiver<ChainState>) -> ChainState {
        tokio::time::timeout(config().poll_interval * 3, rx.changed())
            .await
            .expect("a publication within three poll intervals")
            .unwrap();
        rx.borrow_and_update().clone()
    }

    #[test]
    fn check__should_refuse_no_view_and_a_view_older_than_the_bound() {
        let max = config().max_head_age;
        let none = ChainState {
            last_error: Some(Error::Rpc("down".into())),
            ..ChainState::default()
        };
        assert_eq!(
            none.check(at(T0), max).unwrap_err(),
            Stale::NoView {
                last_error: Some(Error::Rpc("down".into()))
            }
        );
        assert!(none.is_stale(at(T0), max));

        let fake = chain(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let view = rt.block_on(fake.read_at(0)).unwrap();
        let state = ChainState {
            view: Some(Arc::new(view)),
            head: Some(0),
            last_error: None,
        };
        // Exactly at the bound: fresh; one second later: stale, with the age and bound.
        let edge = T0 + max.as_secs();
        assert_eq!(state.head_age(at(edge)), Some(max));
        assert!(state.check(at(edge), max).is_ok());
        assert_eq!(
            state.check(at(edge + 1), max).unwrap_err(),
            Stale::TooOld {
                block: 0,
                age: max + Duration::from_secs(1),
                max,
                last_error: None
            }
        );
        // A block stamped in the future (clock skew) has age 0, not an error.
        assert_eq!(state.head_age(at(T0 - 5)), Some(Duration::ZERO));
        assert!(!state.is_stale(at(T0 - 5), max));
    }

    #[tokio::test(start_paused = true)]
    async fn watcher__should_publish_a_view_pinned_depth_blocks_below_the_head_when_it_advances() {
        let fake = chain(3);
        let watcher = ChainWatcher::spawn(fake.clone(), config());
        let mut rx = watcher.subscribe();
        let s = next(&mut rx).await;
        let view = s.view.unwrap();
        assert_eq!(s.head, Some(3));
        assert_eq!(view.block.number, 3 - config().confirmation_depth);
        assert_eq!(view.block.timestamp, timestamp(1));
        assert_eq!(fake.reads(), 1);

        // No new block: polls go on, nothing is read again or published.
        tokio::time::sleep(config().poll_interval * 5).await;
        assert_eq!(fake.reads(), 1);
        assert!(!rx.has_changed().unwrap());

        // A transition starts in block 4: the view at block 2 does not show it yet...
        let b = fake.mine_with(timestamp(4), |s| {
            for k in [1, 2, 3] {
                s.nodes.insert([k; 32], record(k));
            }
            s.pending = Some(pending(1, &[1, 2, 3]));
            s.policy.allowed_platforms = governance_contract::platforms_mask(&[Platform::Tdx]);
            s.approvals
                .entry(s.node_app_id)
                .or_default()
                .insert([7; 32]);
        });
        assert_eq!(b, 4);
        let s = next(&mut rx).await;
        let view = s.view.unwrap();
        assert_eq!(view.block.number, 2);
        assert_eq!(view.pending, None);
        // ...and once it is `depth` blocks deep, it does.
        fake.mine(timestamp(5));
        fake.mine(timestamp(6));
        let view = loop {
            let s = next(&mut rx).await;
            if s.view.as_ref().unwrap().block.number == 4 {
                break s.view.unwrap();
            }
        };
        let p = view.pending.as_ref().unwrap();
        assert_eq!((p.number, p.threshold), (1, 2));
        let members: Vec<_> = view.pending_members().map(|n| n.endpoint.clone()).collect();
        assert_eq!(members, ["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000"]);
        assert_eq!(
            view.nodes[&[2; 32]].platform,
            NodePlatform::hardware(Platform::Tdx).unwrap()
        );
        assert!(view.is_node_build_approved(&[7; 32]));
        assert_eq!(
            view.policy.allowed_platforms,
            [attestation_gate::Platform::Tdx].into()
        );
        assert!(view
            .policy
            .approved_measurements
            .contains(&attestation_gate::Measurement([7; 32])));
        assert!(view.active.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn watcher__should_reread_the_contract_only_after_it_emitted_events() {
        let fake = chain(3);
        let watcher = ChainWatcher::spawn(fake.clone(), config());
        let mut rx = watcher.subscribe();
        assert_eq!(next(&mut rx).await.view.unwrap().block.number, 1);
        assert_eq!(fake.reads(), 1);

        // Blocks without events: the view moves (new block, new timestamp), the state
        // is not read again.
        fake.mine(timestamp(4));
        fake.mine(timestamp(5));
        let view = loop {
            let v = next(&mut rx).await.view.unwrap();
            if v.block.number == 3 {
                break v;
            }
        };
        assert_eq!(view.block.timestamp, timestamp(3));
        assert_eq!(fake.reads(), 1);

        // A change in block 6 is read once it is `depth` deep, not before.
        fake.mine_with(timestamp(6), |s| {
            s.nodes.insert([9; 32], record(9));
            s.pending = Some(pending(1, &[9]));
        });
        assert_eq!(next(&mut rx).await.view.unwrap().block.number, 4);
        assert_eq!(fake.reads(), 1);
        fake.mine(timestamp(7));
        fake.mine(timestamp(8));
        let view = loop {
            let v = next(&mut rx).await.view.unwrap();
            if v.block.number == 6 {
                break v;
            }
        };
        assert_eq!(fake.reads(), 2);
        assert_eq!(view.pending.as_ref().unwrap().committee, vec![[9; 32]]);
    }

    #[tokio::test(start_paused = true)]
    async fn watcher__should_read_the_records_again_only_after_an_event_that_changes_one() {
        let fake = chain(1);
        fake.mine_with(timestamp(2), |s| {
            for k in [1, 2, 3] {
                s.nodes.insert([k; 32], record(k));
            }
            s.pending = Some(pending(1, &[1, 2, 3]));
        });
        fake.mine(timestamp(3));
        fake.mine(timestamp(4));
        let watcher = ChainWatcher::spawn(fake.clone(), config());
        let mut rx = watcher.subscribe();
        /// The view once it reaches block `n` (mines the `depth` blocks above it).
        async fn view_at(
            fake: &FakeGovernance,
            rx: &mut watch::Receiver<ChainState>,
            n: u64,
        ) -> Arc<GovernanceView> {
            for b in n + 1..=n + config().confirmation_depth {
                if fake.head().await.unwrap() < b {
                    fake.mine(timestamp(b));
                }
            }
            loop {
                let v = next(rx).await.view.unwrap();
                if v.block.number == n {
                    return v;
                }
            }
        }
        assert_eq!(view_at(&fake, &mut rx, 2).await.nodes.len(), 3);
        assert_eq!(fake.record_reads(), 3);

        // Confirmations (an event that changes no record): the epoch is read again,
        // the records are kept.
        fake.mine_with(timestamp(5), |s| {
            if let Some(p) = s.pending.as_mut() {
                p.confirmations = 2;
            }
        });
        let view = view_at(&fake, &mut rx, 5).await;
        assert_eq!(fake.reads(), 2);
        assert_eq!(fake.record_reads(), 3);
        assert_eq!(
            *view,
            fake.read_at(5).await.unwrap(),
            "the same view as a full read"
        );
        let before = fake.record_reads();

        // A member joins (its record is new: read) ...
        fake.mine_with(timestamp(8), |s| {
            s.nodes.insert([4; 32], record(4));
            s.pending = Some(pending(2, &[1, 2, 3, 4]));
        });
        let view = view_at(&fake, &mut rx, 8).await;
        assert_eq!(view.nodes.len(), 4);
        assert_eq!(
            fake.record_reads(),
            before + 4,
            "a node's event: every record read"
        );
        // ... and a record that changes is read again, whatever the watcher held.
        fake.mine_with(timestamp(11), |s| {
            if let Some(r) = s.nodes.get_mut(&[2; 32]) {
                r.endpoint = "10.0.0.22:9000".into();
            }
        });
        let view = view_at(&fake, &mut rx, 11).await;
        assert_eq!(view.nodes[&[2; 32]].endpoint, "10.0.0.22:9000");
        assert_eq!(fake.record_reads(), before + 4 + 4);
    }

    #[tokio::test(start_paused = true)]
    async fn watcher__should_keep_the_last_view_with_the_error_and_go_stale_after_the_bound() {
        let fake = chain(3);
        let watcher = ChainWatcher::spawn(fake.clone(), config());
        let mut rx = watcher.subscribe();
        let first = next(&mut rx).await;
        let block = first.view.as_ref().unwrap().block;

        fake.set_failure(Some(Error::Rpc("connection refused".into())));
        let s = next(&mut rx).await;
        assert_eq!(s.last_error, Some(Error::Rpc("connection refused".into())));
        assert_eq!(
            s.view.as_ref().unwrap().block,
            block,
            "the last view is kept"
        );
        let max = config().max_head_age;
        let edge = block.timestamp + max.as_secs();
        assert!(s.check(at(edge), max).is_ok());
        assert!(matches!(
            s.check(at(edge + 1), max),
            Err(Stale::TooOld {
                last_error: Some(Error::Rpc(_)),
                ..
            })
        ));
        // The same error again is not republished.
        tokio::time::sleep(config().poll_interval * 3).await;
        assert!(!rx.has_changed().unwrap());

        fake.set_failure(None);
        let s = next(&mut rx).await;
        assert_eq!(s.last_error, None);
    }

    #[tokio::test(start_paused = true)]
    async fn watcher__should_refuse_a_chain_shorter_than_the_depth_and_stop_when_dropped() {
        let fake = chain(1);
        let watcher = ChainWatcher::spawn(fake.clone(), config());
        let mut rx = watcher.subscribe();
        let s = next(&mut rx).await;
        assert_eq!(
            s.last_error,
            Some(Error::TooFewBlocks { head: 1, depth: 2 })
        );
        assert!(matches!(
            watcher.check(),
            Err(Stale::NoView {
                last_error: Some(Error::TooFewBlocks { .. })
            })
        ));
        fake.mine(timestamp(2));
        let s = next(&mut rx).await;
        assert_eq!(s.view.unwrap().block.number, 0);

        drop(watcher);
        fake.mine(timestamp(3));
        tokio::time::sleep(config().poll_interval * 5).await;
        assert_eq!(fake.reads(), 1, "a dropped watcher polls no more");
        // The task is gone, so the channel's sender is dropped.
        assert!(rx.changed().await.is_err());
    }
}
