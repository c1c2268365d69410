//! Genesis DKG (and optionally a reshare n → n+1) between real `kms-node` processes
//! on loopback, next to the in-process CPU cost of the same protocol measured in the
//! same run. Not a criterion bench: every network sample is a whole devnet (anvil,
//! contract, n node processes), brought up fresh for each run.
//!
//! ```text
//! cargo build --release -p kms-node --bin kms-node
//! cargo bench -p keynet-benches --bench network_dkg -- --sizes 5,16,32 --runs 3 [--reshare]
//! ```
//!
//! Options: `--sizes 5,16,32` (t = n/2 + 1 each), `--runs R` (default 3),
//! `--node-bin PATH` (else `$KEYNET_NODE_BIN`, else `kms-node` next to this binary's
//! profile directory, else `target/release/kms-node`), `--dir D` (devnets go to
//! `D/n<N>-r<R>`; default a folder in the temporary directory), `--attempt-deadline S`
//! (the nodes' attempt deadline, default the devnet's 60 s; the round deadline is a
//! third of it), `--run-bound S` (the bound on one whole run, default 900 s),
//! `--reshare` (after each genesis, add one node and reshare n → n+1 with
//! t' = (n+1)/2 + 1), `--in-process-only` (no devnet: only the in-process columns,
//! e.g. to profile the node's own layers in one process). Ctrl-C, SIGTERM or SIGHUP
//! take the run's devnet down before the bench exits (`keynet_benches::stop_on_signal`).
//!
//! What is measured, per run:
//! - every node's `last_run.duration_ms` from `GET /status`: its own wall time from the
//!   moment it saw the pending epoch until both suites' outputs were stored **and its
//!   confirmation transaction had its receipt** (`EpochManager::transition` times
//!   `transition_inner`, which ends with the confirm call);
//! - from every node's log, the time between `genesis DKG starting` (or `reshare
//!   starting`) and `new shares stored (pending)`: the protocol alone, no chain;
//! - the CPU time (user + system, `/proc/PID/stat`) all node processes spent between
//!   the committee proposal and the last node's `last_run`;
//! - every node's `last_run.protocol_cpu_ms` (its process CPU from the protocol's
//!   start to its stored shares, no chain), summed over the nodes less each node's
//!   share of the idle rate over its `protocol_ms`: *node CPU in protocol windows*,
//!   the protocol's cost over the network without the chain work around it;
//! - `last_run.attempts` (more than 1: an attempt failed or timed out).
//!
//! The per-run figure is the maximum over the nodes (the run is done when the slowest
//! node is); the table gives the median and p90 (nearest rank) of it over the runs.
//! In-process: `dkg::sim::dkg` for both suites, sequentially, all n parties in this
//! one thread (**the total CPU of all n parties on one core**), R times, median.
//!
//! In-process cluster: the same genesis as the devnet's (and with `--reshare` the same
//! reshare n → n+1 after it), run by n (n + 1) epoch managers in this process on
//! in-memory links and a fake chain
//! (`kms_node::testing::cluster`, what the cluster tests run), on a runtime with one
//! worker per CPU: every layer of the node (protocol driver, router, echo broadcast,
//! encoding, signatures, share storage, the confirmation) but no transport (libp2p,
//! Noise, TCP, admission), no chain and one process instead of n. Per run the
//! process CPU from the proposal until every node serves the epoch, minus the idle rate
//! measured just before (for the reshare: after the genesis, before its proposal); R
//! times, median. So the three columns split the devnet's node CPU into the protocol's
//! arithmetic (sim), the node's own layers (cluster − sim) and the transport and
//! processes (node CPU − cluster).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clients::sdk::devnet::{fetch_status, Devnet, UpOptions};
use clients::sdk::gov::{CommitteeChange, Proposal};
use clients::sdk::transport::signer_from_file;
use clients::{Chain, GovClient};
use cpu_time::ProcessTime;
use dkg::keys::KeyShare;
use dkg::sim;
use dkg::suite::{Bls12381G1, Secp256k1, Suite};
use kms_node::node::router::MemoryLinks;
use kms_node::testing::chain::FakeGovernance;
use kms_node::testing::cluster::{self, Env, Timing};
use rand_core::SeedableRng;

type Res<T> = Result<T, String>;

/// How long the nodes get to publish their `last_run` once the epoch is active (their
/// confirmation receipts may still be on their way) or, for a reshare, once proposed.
const LAST_RUN_BOUND: Duration = Duration::from_secs(120);

/// How long the idle CPU rate of the nodes is measured before each run.
const IDLE_WINDOW: Duration = Duration::from_secs(5);

/// The bound on one `/status` request.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the in-process cluster's idle CPU rate is measured before its proposal.
const CLUSTER_IDLE: Duration = Duration::from_secs(2);

/// The bound on an in-process cluster's genesis (proposal to every node serving).
const CLUSTER_BOUND: Duration = Duration::from_secs(300);

struct Args {
    sizes: Vec<u16>,
    runs: usize,
    node_bin: PathBuf,
    dir: PathBuf,
    attempt_deadline: Duration,
    run_bound: Duration,
    reshare: bool,
    in_process_only: bool,
}

fn parse_args() -> Res<Args> {
    let mut sizes = vec![5u16, 16, 32];
    let mut runs = 3usize;
    let mut node_bin = std::env::var_os("KEYNET_NODE_BIN").map(PathBuf::from);
    let mut dir = std::env::temp_dir().join(format!("keynet-network-dkg-{}", std::process::id()));
    let mut attempt_deadline = Duration::from_secs(60);
    let mut run_bound = Duration::from_secs(900);
    let mut reshare = false;
    let mut in_process_only = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            // `cargo bench` passes `--bench` to harness-less benches.
            "--bench" => {}
            "--sizes" => {
                sizes = value("--sizes")?
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<u16>()
                            .map_err(|e| format!("--sizes {s}: {e}"))
                    })
                    .collect::<Res<_>>()?;
            }
            "--runs" => {
                runs = value("--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?;
            }
            "--node-bin" => node_bin = Some(PathBuf::from(value("--node-bin")?)),
            "--dir" => dir = PathBuf::from(value("--dir")?),
            "--attempt-deadline" => {
                attempt_deadline = Duration::from_secs(
                    value("--attempt-deadline")?
                        .parse()
                        .map_err(|e| format!("--attempt-deadline: {e}"))?,
                );
            }
            "--run-bound" => {
                run_bound = Duration::from_secs(
                    value("--run-bound")?
                        .parse()
                        .map_err(|e| format!("--run-bound: {e}"))?,
                );
            }
            "--reshare" => reshare = true,
            "--in-process-only" => in_process_only = true,
            "-h" | "--help" => {
                return Err("usage: network_dkg [--sizes 5,16,32] [--runs 3] [--node-bin PATH] [--dir D] [--attempt-deadline S] [--run-bound S] [--reshare] [--in-process-only]".into())
            }
            other => return Err(format!("unknown argument {other} (try --help)")),
        }
    }
    // The contract takes committees of up to 64; a reshare adds one node.
    let largest = if reshare { 63 } else { 64 };
    if runs == 0 || sizes.iter().any(|&n| !(2..=largest).contains(&n)) {
        return Err(format!(
            "--runs must be at least 1 and every size 2 to {largest}"
        ));
    }
    let node_bin = match node_bin {
        Some(p) => p,
        None if in_process_only => PathBuf::new(),
        None => keynet_benches::kms_node_bin()?,
    };
    Ok(Args {
        sizes,
        runs,
        node_bin,
        dir,
        attempt_deadline,
        run_bound,
        reshare,
        in_process_only,
    })
}

fn threshold(n: u16) -> u16 {
    n / 2 + 1
}

/// What one node reported for one run.
#[derive(Debug, Clone)]
struct NodeRun {
    duration_ms: u64,
    /// `last_run.protocol_ms` and `protocol_cpu_ms`: the node's own wall and process
    /// CPU time over the protocol (start to shares stored, no chain).
    protocol_ms: Option<u64>,
    protocol_cpu_ms: Option<u64>,
    attempts: u64,
    outcome: String,
    /// From its log.
    log: Option<LogTimes>,
    /// Its `/status` `net` counters (p2p totals since the node started).
    net: BTreeMap<String, u64>,
}

/// Timestamps (ms since 1970) of one run in a node's log.
#[derive(Debug, Clone, Copy)]
struct LogTimes {
    /// `genesis DKG starting` / `reshare starting`.
    start: u64,
    /// `new shares stored (pending)`: both suites done.
    stored: u64,
    /// `confirmed on chain`: its confirmation has its receipt.
    confirmed: Option<u64>,
}

/// One network run (genesis or reshare), over all its nodes.
#[derive(Debug, Clone)]
struct NetRun {
    nodes: Vec<NodeRun>,
    /// CPU seconds of all node processes over the run.
    node_cpu: Option<f64>,
    /// What they would have spent idle over the same time (rate measured before).
    idle_cpu: Option<f64>,
    /// That rate: CPU seconds per second, all nodes together.
    idle_rate: Option<f64>,
    /// Wall time seen from here: proposal to the last node's `last_run`.
    outside: Duration,
}

impl NetRun {
    fn max_duration(&self) -> u64 {
        self.nodes.iter().map(|n| n.duration_ms).max().unwrap_or(0)
    }
    fn logs(&self) -> Option<Vec<LogTimes>> {
        self.nodes.iter().map(|n| n.log).collect()
    }
    /// The slowest node's start-to-stored time.
    fn max_protocol(&self) -> Option<u64> {
        self.logs()?
            .iter()
            .map(|l| l.stored.saturating_sub(l.start))
            .max()
    }
    /// The first node's start to the last node's stored shares.
    fn span(&self) -> Option<u64> {
        let l = self.logs()?;
        let first = l.iter().map(|l| l.start).min()?;
        Some(l.iter().map(|l| l.stored).max()?.saturating_sub(first))
    }
    /// The slowest stored-to-confirmed time.
    fn max_confirm(&self) -> Option<u64> {
        self.logs()?
            .iter()
            .map(|l| l.confirmed.map(|c| c.saturating_sub(l.stored)))
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .max()
    }
    /// Node CPU minus the idle estimate.
    fn work_cpu(&self) -> Option<f64> {
        Some(self.node_cpu? - self.idle_cpu.unwrap_or(0.0))
    }
    /// The nodes' own CPU over their protocol windows, summed, less each node's share
    /// of the idle rate over its window, in ms: the protocol's cost over the network
    /// without the chain reads and confirmations around it.
    fn window_cpu(&self) -> Option<f64> {
        let per_node = self.idle_rate.unwrap_or(0.0) / self.nodes.len().max(1) as f64;
        self.nodes
            .iter()
            .map(|n| Some(n.protocol_cpu_ms? as f64 - per_node * n.protocol_ms? as f64))
            .sum()
    }
    fn max_attempts(&self) -> u64 {
        self.nodes.iter().map(|n| n.attempts).max().unwrap_or(0)
    }
    fn all_ok(&self) -> bool {
        self.nodes.iter().all(|n| n.outcome == "ok")
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("network_dkg: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("network_dkg: no runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = keynet_benches::stop_on_signal() {
        eprintln!("network_dkg: {e}");
        std::process::exit(1);
    }
    let round_deadline = (args.attempt_deadline / 3).max(Duration::from_secs(1));
    println!(
        "network_dkg: kms-node {}, sizes {:?}, {} runs each, attempt deadline {} s (round {} s), {} logical cpus, load {}",
        args.node_bin.display(),
        args.sizes,
        args.runs,
        args.attempt_deadline.as_secs(),
        round_deadline.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let mut rows = Vec::new();
    for &n in &args.sizes {
        let t = threshold(n);
        let mut genesis = Vec::new();
        let mut reshares = Vec::new();
        let mut failures = Vec::new();
        let network_runs = if args.in_process_only { 0 } else { args.runs };
        for r in 0..network_runs {
            let dir = args.dir.join(format!("n{n}-r{r}"));
            keynet_benches::own_devnet(&dir);
            println!(
                "-- n={n} t={t} run {r}: devnet in {} (load {})",
                dir.display(),
                loadavg()
            );
            let started = Instant::now();
            let out = rt.block_on(async {
                match tokio::time::timeout(args.run_bound, one_run(&args, n, t, &dir)).await {
                    Ok(r) => r,
                    Err(_) => Err(format!(
                        "the run did not finish within {} s (--run-bound)",
                        args.run_bound.as_secs()
                    )),
                }
            });
            match out {
                Ok((g, rs)) => {
                    report_run("genesis", &g);
                    genesis.push(g);
                    if let Some(rs) = rs {
                        report_run("reshare", &rs);
                        reshares.push(rs);
                    }
                }
                Err(e) => {
                    println!(
                        "   FAILED after {:.1} s: {e}",
                        started.elapsed().as_secs_f64()
                    );
                    print_log_excerpts(&dir);
                    failures.push(e);
                }
            }
        }
        println!(
            "-- n={n}: in-process sim, {} runs (load {})",
            args.runs,
            loadavg()
        );
        let inproc = in_process_dkg(n, t, args.runs);
        println!(
            "   dkg both suites: cpu {:?} ms, wall {:?} ms",
            inproc.iter().map(|s| ms(s.0)).collect::<Vec<_>>(),
            inproc.iter().map(|s| ms(s.1)).collect::<Vec<_>>()
        );
        let (cluster, cluster_reshare) = in_process_cluster(n, t, args.reshare, args.runs);
        println!(
            "   in-process cluster genesis: cpu - idle {:?} ms, wall {:?} ms",
            cluster.iter().map(|s| ms(s.0)).collect::<Vec<_>>(),
            cluster.iter().map(|s| ms(s.1)).collect::<Vec<_>>()
        );
        if args.reshare {
            println!(
                "   in-process cluster reshare {n}->{}: cpu - idle {:?} ms, wall {:?} ms",
                n + 1,
                cluster_reshare.iter().map(|s| ms(s.0)).collect::<Vec<_>>(),
                cluster_reshare.iter().map(|s| ms(s.1)).collect::<Vec<_>>()
            );
        }
        let inproc_reshare = if args.reshare {
            let v = in_process_reshare(n, t, threshold(n + 1), args.runs);
            println!(
                "   reshare {n}->{} both suites: cpu {:?} ms",
                n + 1,
                v.iter().map(|s| ms(s.0)).collect::<Vec<_>>()
            );
            Some(v)
        } else {
            None
        };
        rows.push(Row {
            n,
            t,
            genesis,
            reshares,
            failures,
            inproc,
            cluster,
            inproc_reshare,
            cluster_reshare,
        });
    }
    print_table(&rows, args.runs);
}

struct Row {
    n: u16,
    t: u16,
    genesis: Vec<NetRun>,
    reshares: Vec<NetRun>,
    failures: Vec<String>,
    /// (process CPU, wall) per in-process run.
    inproc: Vec<(Duration, Duration)>,
    /// (process CPU − idle, wall) per in-process cluster genesis.
    cluster: Vec<(Duration, Duration)>,
    inproc_reshare: Option<Vec<(Duration, Duration)>>,
    /// (process CPU − idle, wall) per in-process cluster reshare n → n+1.
    cluster_reshare: Vec<(Duration, Duration)>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn report_run(what: &str, r: &NetRun) {
    let mut d: Vec<u64> = r.nodes.iter().map(|n| n.duration_ms).collect();
    d.sort_unstable();
    let opt = |v: Option<u64>| v.map_or("?".to_string(), |v| format!("{v} ms"));
    let outcomes = if r.all_ok() {
        "all ok".to_string()
    } else {
        format!(
            "{:?}",
            r.nodes
                .iter()
                .map(|n| n.outcome.as_str())
                .collect::<Vec<_>>()
        )
    };
    println!(
        "   {what}: duration_ms min {} median {} max {}; log: protocol max {}, span first start to last stored {}, stored to confirmed max {}; attempts max {}; outcomes {outcomes}; node cpu {} (idle estimate {}), in the nodes' protocol windows {}; seen from here {:.1} s",
        d.first().copied().unwrap_or(0),
        d.get(d.len() / 2).copied().unwrap_or(0),
        d.last().copied().unwrap_or(0),
        opt(r.max_protocol()),
        opt(r.span()),
        opt(r.max_confirm()),
        r.max_attempts(),
        r.node_cpu.map_or("?".into(), |c| format!("{c:.2} s")),
        r.idle_cpu.map_or("?".into(), |c| format!("{c:.2} s")),
        r.window_cpu()
            .map_or("?".into(), |c| format!("{:.2} s", c / 1000.0)),
        r.outside.as_secs_f64()
    );
    // A reshare's totals include the genesis before it.
    println!("   {}", p2p_summary(r.nodes.iter().map(|n| &n.net)));
}

/// The p2p layer's totals summed over the nodes, since they started.
fn p2p_summary<'a>(nodes: impl Iterator<Item = &'a BTreeMap<String, u64>>) -> String {
    let mut net: BTreeMap<&str, u64> = BTreeMap::new();
    for counters in nodes {
        for (k, v) in counters {
            *net.entry(k.as_str()).or_default() += v;
        }
    }
    let get = |k: &str| net.get(k).copied().unwrap_or(0);
    let (sent, batches) = (get("sent"), get("batches_sent"));
    let other: Vec<String> = net
        .iter()
        .filter(|(k, v)| !matches!(**k, "sent" | "batches_sent" | "delivered") && **v > 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    format!(
        "p2p since start, all nodes: {sent} payloads sent in {batches} batches (mean {:.1}), {} delivered; {}",
        sent as f64 / batches.max(1) as f64,
        get("delivered"),
        if other.is_empty() { "nothing dropped or failed".to_string() } else { other.join(", ") }
    )
}

/// One devnet: up to the genesis, the nodes' reports, optionally a reshare, down.
async fn one_run(args: &Args, n: u16, t: u16, dir: &Path) -> Res<(NetRun, Option<NetRun>)> {
    let opts = UpOptions {
        nodes: n,
        threshold: t,
        attempt_deadline: args.attempt_deadline,
        ..UpOptions::new(dir, &args.node_bin)
    };
    let t0 = Instant::now();
    let mut net = Devnet::start_chain(&opts)
        .await
        .map_err(|e| format!("start_chain: {e}"))?;
    net.start_nodes()
        .await
        .map_err(|e| format!("start_nodes: {e}"))?;
    let t1 = Instant::now();
    let indexes: Vec<u16> = net.status().nodes.iter().map(|n| n.index).collect();
    let idle = idle_rate(&net).await;
    let (cpu0, t2) = (nodes_cpu(&net), Instant::now());
    net.run_genesis()
        .await
        .map_err(|e| format!("run_genesis: {e}"))?;
    let nodes = collect_last_runs(&net, &indexes, 1, "genesis DKG starting").await?;
    let mut genesis = NetRun {
        nodes,
        node_cpu: cpu_delta(cpu0, nodes_cpu(&net)),
        idle_cpu: idle.map(|r| r * t2.elapsed().as_secs_f64()),
        idle_rate: idle,
        outside: t2.elapsed(),
    };
    refresh_net(&net, &indexes, &mut genesis.nodes).await;
    println!(
        "   chain + {n} nodes started in {:.1} s, genesis active and reported {:.1} s later",
        t1.duration_since(t0).as_secs_f64(),
        genesis.outside.as_secs_f64()
    );
    let reshare = if args.reshare {
        Some(reshare_run(&mut net, n).await?)
    } else {
        None
    };
    net.down().map_err(|e| format!("down: {e}"))?;
    Ok((genesis, reshare))
}

/// Adds one node and reshares the committee n → n+1 (t' = (n+1)/2 + 1).
async fn reshare_run(net: &mut Devnet, n: u16) -> Res<NetRun> {
    let added = net
        .node_add(None)
        .await
        .map_err(|e| format!("node add: {e}"))?;
    let id: [u8; 32] = clients::sdk::parse::bytes32("node id", &added.node_id)
        .map_err(|e| format!("new node id: {e}"))?;
    let indexes: Vec<u16> = net.status().nodes.iter().map(|n| n.index).collect();
    let chain = Chain::new(Some(net.rpc().to_owned()), net.state().contract.clone())
        .map_err(|e| e.to_string())?;
    let voter = |v: u8| -> Res<GovClient> {
        let key = net.dir().join("keys").join(format!("voter-{v}.key"));
        GovClient::signed(&chain, signer_from_file(&key).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())
    };
    let (first, second) = (voter(1)?, voter(2)?);
    let idle = idle_rate(net).await;
    let cpu0 = nodes_cpu(net);
    let started = Instant::now();
    let proposal = Proposal::Committee(CommitteeChange {
        add: vec![id],
        remove: Vec::new(),
        threshold: Some(threshold(n + 1)),
    });
    let pid = first
        .propose(&proposal)
        .await
        .map_err(|e| format!("propose: {e}"))?
        .id;
    second.vote(pid).await.map_err(|e| format!("vote: {e}"))?;
    first
        .execute(pid)
        .await
        .map_err(|e| format!("execute: {e}"))?;
    let nodes = collect_last_runs(net, &indexes, 2, "reshare starting").await?;
    let mut run = NetRun {
        nodes,
        node_cpu: cpu_delta(cpu0, nodes_cpu(net)),
        idle_cpu: idle.map(|r| r * started.elapsed().as_secs_f64()),
        idle_rate: idle,
        outside: started.elapsed(),
    };
    refresh_net(net, &indexes, &mut run.nodes).await;
    Ok(run)
}

/// How often a node copies its p2p counters into `/status` (kms-node's
/// `publish_peers`), so that the `net` read with a node's `last_run` may lag the run.
const STATUS_PUBLISH: Duration = Duration::from_secs(1);

/// Re-reads each node's `net` counters once they have been published after the run
/// (after the CPU window closed, so the wait is not counted). `nodes` is in the order
/// of the sorted `indexes`, as [`collect_last_runs`] returns it; a node whose status
/// cannot be read keeps its earlier counters.
async fn refresh_net(net: &Devnet, indexes: &[u16], nodes: &mut [NodeRun]) {
    tokio::time::sleep(STATUS_PUBLISH + Duration::from_millis(500)).await;
    let mut sorted = indexes.to_vec();
    sorted.sort_unstable();
    for (i, node) in sorted.into_iter().zip(nodes.iter_mut()) {
        let Ok(Some(url)) = net.operator_url(i) else {
            continue;
        };
        if let Ok(s) = fetch_status(&url, STATUS_TIMEOUT).await {
            if let Some(counters) = net_counters(&s.raw) {
                node.net = counters;
            }
        }
    }
}

/// The `net` object of a `/status` answer.
fn net_counters(status: &serde_json::Value) -> Option<BTreeMap<String, u64>> {
    let object = status["net"].as_object()?;
    Some(
        object
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
            .collect(),
    )
}

/// Polls every node's `/status` until each reports a `last_run` for `epoch`
/// (bound: [`LAST_RUN_BOUND`]), then reads its protocol time from its log.
async fn collect_last_runs(
    net: &Devnet,
    indexes: &[u16],
    epoch: u64,
    start_line: &str,
) -> Res<Vec<NodeRun>> {
    let started = Instant::now();
    let mut got: BTreeMap<u16, NodeRun> = BTreeMap::new();
    loop {
        for &i in indexes {
            if got.contains_key(&i) {
                continue;
            }
            let url = net
                .operator_url(i)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("node {i} has no operator endpoint"))?;
            let Ok(s) = fetch_status(&url, STATUS_TIMEOUT).await else {
                continue;
            };
            let lr = &s.raw["last_run"];
            if lr["epoch"].as_u64() == Some(epoch) {
                got.insert(
                    i,
                    NodeRun {
                        duration_ms: lr["duration_ms"].as_u64().unwrap_or(0),
                        protocol_ms: lr["protocol_ms"].as_u64(),
                        protocol_cpu_ms: lr["protocol_cpu_ms"].as_u64(),
                        attempts: lr["attempts"].as_u64().unwrap_or(0),
                        outcome: lr["outcome"].as_str().unwrap_or("?").to_owned(),
                        log: None,
                        net: net_counters(&s.raw).unwrap_or_default(),
                    },
                );
            }
        }
        if got.len() == indexes.len() {
            break;
        }
        if started.elapsed() > LAST_RUN_BOUND {
            let missing: Vec<u16> = indexes
                .iter()
                .copied()
                .filter(|i| !got.contains_key(i))
                .collect();
            // What the network did meanwhile, to tell a stall from lost messages.
            let mut totals = Vec::new();
            for &i in indexes {
                if let Ok(Some(url)) = net.operator_url(i) {
                    if let Ok(s) = fetch_status(&url, STATUS_TIMEOUT).await {
                        totals.extend(net_counters(&s.raw));
                    }
                }
            }
            return Err(format!(
                "nodes {missing:?} reported no last_run for epoch {epoch} within {} s ({} of {} nodes read: {})",
                LAST_RUN_BOUND.as_secs(),
                totals.len(),
                indexes.len(),
                p2p_summary(totals.iter())
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let logs: BTreeMap<u16, PathBuf> = net
        .status()
        .nodes
        .into_iter()
        .map(|n| (n.index, n.log))
        .collect();
    for (i, run) in &mut got {
        if let Some(log) = logs.get(i) {
            run.log = log_times(log, start_line, epoch);
        }
    }
    Ok(got.into_values().collect())
}

/// The timestamps of the last run for `epoch` in a node's text log: the last
/// `start_line`, then `new shares stored (pending)` and `confirmed on chain`.
fn log_times(log: &Path, start_line: &str, epoch: u64) -> Option<LogTimes> {
    let text = std::fs::read_to_string(log).ok()?;
    let tag = format!("epoch={epoch}");
    let (mut start, mut stored, mut confirmed) = (None, None, None);
    for line in text.lines() {
        let line = strip_ansi(line);
        if !line.split_whitespace().any(|w| w == tag) {
            continue;
        }
        if line.contains(start_line) {
            start = timestamp_ms(&line);
            (stored, confirmed) = (None, None);
        } else if line.contains("new shares stored (pending)") && start.is_some() {
            stored = timestamp_ms(&line);
        } else if line.contains("confirmed on chain") && stored.is_some() {
            confirmed = timestamp_ms(&line);
        }
    }
    Some(LogTimes {
        start: start?,
        stored: stored?,
        confirmed,
    })
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Milliseconds since the epoch of a line's leading RFC 3339 UTC timestamp
/// (`2026-12-04T18:50:00.123456Z`, tracing-subscriber's text format).
fn timestamp_ms(line: &str) -> Option<u64> {
    let ts = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = ts.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':');
    let h: i64 = t.next()?.parse().ok()?;
    let min: i64 = t.next()?.parse().ok()?;
    let sec: f64 = t.next()?.parse().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + min * 60;
    let total = secs as f64 * 1000.0 + sec * 1000.0;
    (total >= 0.0).then_some(total as u64)
}

/// The CPU all node processes spend per second while nothing runs (chain polling,
/// keep-alives), over [`IDLE_WINDOW`].
async fn idle_rate(net: &Devnet) -> Option<f64> {
    let before = nodes_cpu(net);
    let started = Instant::now();
    tokio::time::sleep(IDLE_WINDOW).await;
    Some(cpu_delta(before, nodes_cpu(net))? / started.elapsed().as_secs_f64())
}

/// CPU seconds (user + system) of every running node process, by pid.
fn nodes_cpu(net: &Devnet) -> Option<BTreeMap<u32, f64>> {
    let tck = clock_ticks();
    let mut out = BTreeMap::new();
    for n in net.status().nodes {
        let pid = n.pid?;
        out.insert(pid, proc_cpu_ticks(pid)? as f64 / tck);
    }
    Some(out)
}

/// Sum over the processes in `after` of their CPU since `before` (a process absent from
/// `before`, e.g. a node added since, counts from its start).
fn cpu_delta(before: Option<BTreeMap<u32, f64>>, after: Option<BTreeMap<u32, f64>>) -> Option<f64> {
    let (before, after) = (before?, after?);
    Some(
        after
            .iter()
            .map(|(pid, a)| a - before.get(pid).copied().unwrap_or(0.0))
            .sum(),
    )
}

/// utime + stime of `pid`, in clock ticks (`/proc/PID/stat` fields 14 and 15).
fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field k is f[k - 3].
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// `getconf CLK_TCK`, 100 if it cannot run (Linux's USER_HZ on every common target).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|&v| v > 0.0)
        .unwrap_or(100.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The last lines of every node log that say WARN or ERROR, and the tail of the first
/// node's and anvil's logs, for a failed run.
fn print_log_excerpts(dir: &Path) {
    let nodes = dir.join("nodes");
    let Ok(entries) = std::fs::read_dir(&nodes) else {
        println!("   (no node logs in {})", nodes.display());
        return;
    };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    for d in dirs {
        let log = d.join("node.log");
        let Ok(text) = std::fs::read_to_string(&log) else {
            continue;
        };
        let lines: Vec<String> = text.lines().map(strip_ansi).collect();
        let bad: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect();
        println!(
            "   {}: {} lines, {} WARN/ERROR",
            log.display(),
            lines.len(),
            bad.len()
        );
        for l in bad.iter().rev().take(3).rev() {
            println!("     {}", truncate(l, 300));
        }
        if let Some(l) = lines.last() {
            println!("     last: {}", truncate(l, 300));
        }
    }
    println!("   (files kept in {})", dir.display());
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Both suites' DKG, all `n` parties in this thread, `runs` times: (process CPU, wall).
fn in_process_dkg(n: u16, t: u16, runs: usize) -> Vec<(Duration, Duration)> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(u64::from(n));
    (0..runs)
        .map(|_| {
            let (cpu, wall) = (ProcessTime::now(), Instant::now());
            let ok = sim::dkg::<Bls12381G1>(t, n, &mut rng).is_ok()
                && sim::dkg::<Secp256k1>(t, n, &mut rng).is_ok();
            if !ok {
                eprintln!("network_dkg: in-process DKG n={n} t={t} failed");
            }
            (cpu.elapsed(), wall.elapsed())
        })
        .collect()
}

/// Both suites' reshare from `n` parties (threshold `t`) to `n + 1` (threshold
/// `t_new`), every old party dealing, all in this thread, `runs` times.
fn in_process_reshare(n: u16, t: u16, t_new: u16, runs: usize) -> Vec<(Duration, Duration)> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(u64::from(n) + 1000);
    let new = sim::committee(n + 1);
    let bls = shares::<Bls12381G1>(t, n, &mut rng);
    let secp = shares::<Secp256k1>(t, n, &mut rng);
    (0..runs)
        .map(|_| {
            let (cpu, wall) = (ProcessTime::now(), Instant::now());
            let b: Vec<_> = bls.iter().collect();
            let s: Vec<_> = secp.iter().collect();
            let ok = sim::reshare(&b, &new, t_new, &mut rng).is_ok()
                && sim::reshare(&s, &new, t_new, &mut rng).is_ok();
            if !ok {
                eprintln!("network_dkg: in-process reshare {n}->{} failed", n + 1);
            }
            (cpu.elapsed(), wall.elapsed())
        })
        .collect()
}

/// (process CPU − idle, wall) of a cluster run.
type CpuWall = (Duration, Duration);

/// [`cluster_run`] `runs` times: the genesis samples and, with `reshare`, the reshare
/// samples. A failed run is reported and left out.
fn in_process_cluster(n: u16, t: u16, reshare: bool, runs: usize) -> (Vec<CpuWall>, Vec<CpuWall>) {
    let mut genesis = Vec::new();
    let mut reshares = Vec::new();
    for _ in 0..runs {
        match cluster_run(n, t, reshare) {
            Ok((g, r)) => {
                genesis.push(g);
                reshares.extend(r);
            }
            Err(e) => eprintln!("network_dkg: in-process cluster n={n} t={t} failed: {e}"),
        }
    }
    (genesis, reshares)
}

/// (process CPU − idle, wall) of `cpu` and `wall` given the idle CPU rate `idle`.
fn less_idle(cpu: Duration, wall: Duration, idle: f64) -> CpuWall {
    let work = (cpu.as_secs_f64() - idle * wall.as_secs_f64()).max(0.0);
    (Duration::from_secs_f64(work), wall)
}

/// The process's idle CPU rate over [`CLUSTER_IDLE`].
async fn cluster_idle_rate() -> f64 {
    let (cpu, wall) = (ProcessTime::now(), Instant::now());
    tokio::time::sleep(CLUSTER_IDLE).await;
    cpu.elapsed().as_secs_f64() / wall.elapsed().as_secs_f64()
}

/// One genesis of `n` epoch managers in this process (module docs), and with `reshare`
/// one reshare n → n+1 after it (node n + 1 runs from the start, outside the genesis
/// committee, as the devnet's added node waits for its proposal): each from its
/// proposal until every member serves.
fn cluster_run(n: u16, t: u16, reshare: bool) -> Res<(CpuWall, Option<CpuWall>)> {
    let n = u8::try_from(n).map_err(|_| format!("{n} nodes: the cluster numbers nodes 1..=255"))?;
    let started = if reshare {
        n.checked_add(1)
            .ok_or("the cluster numbers nodes 1..=255")?
    } else {
        n
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    rt.block_on(async {
        let links = MemoryLinks::default();
        let chain = FakeGovernance::new(cluster::now());
        let miner = cluster::keep_mining(&chain);
        let mut env = Env::new(&links, &chain, &Default::default());
        // The devnet's deadlines; chain polls as the devnet's 1 s blocks allow.
        env.timing = Timing {
            round: Duration::from_secs(20),
            attempt: Duration::from_secs(60),
            poll: Duration::from_millis(100),
        };
        let mut nodes = env
            .start_nodes(started)
            .map_err(|e| format!("start: {e}"))?;
        let runs = async {
            let idle = cluster_idle_rate().await;
            let committee: Vec<u8> = (1..=n).collect();
            let (cpu, wall) = (ProcessTime::now(), Instant::now());
            cluster::propose(&chain, 1, &committee, t);
            let members = nodes.get_mut(..usize::from(n)).ok_or("too few nodes")?;
            cluster::wait_serving(members, 1, CLUSTER_BOUND).await?;
            let genesis = less_idle(cpu.elapsed(), wall.elapsed(), idle);
            if !reshare {
                return Ok((genesis, None));
            }
            let idle = cluster_idle_rate().await;
            let committee: Vec<u8> = (1..=started).collect();
            let (cpu, wall) = (ProcessTime::now(), Instant::now());
            cluster::propose(&chain, 2, &committee, threshold(u16::from(started)));
            cluster::wait_serving(&mut nodes, 2, CLUSTER_BOUND).await?;
            Ok::<_, String>((
                genesis,
                Some(less_idle(cpu.elapsed(), wall.elapsed(), idle)),
            ))
        }
        .await;
        miner.abort();
        for node in &nodes {
            node.task.abort();
        }
        runs
    })
}

fn shares<S: Suite>(t: u16, n: u16, rng: &mut rand_chacha::ChaCha20Rng) -> Vec<KeyShare<S>> {
    sim::dkg::<S>(t, n, rng)
        .map(|m| m.into_values().filter_map(|o| o.into_key_share()).collect())
        .unwrap_or_default()
}

/// Median (lower middle for an even count) and p90 (nearest rank) of `v`.
fn median_p90(mut v: Vec<f64>) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let median = v[(v.len() - 1) / 2];
    let rank = ((0.9 * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some((median, v[rank - 1]))
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "–".into(),
    }
}

fn print_table(rows: &[Row], runs: usize) {
    println!();
    println!("Genesis DKG, both suites, {runs} runs per size; per run the slowest node; medians over the runs (p90: nearest rank); ms.");
    table_header();
    for r in rows {
        let g = summarize(&r.genesis, &r.inproc, &r.cluster);
        table_row(
            &format!("{}", r.n),
            &format!("{}", r.t),
            r.genesis.len(),
            r.genesis.len() + r.failures.len(),
            &g,
        );
    }
    if rows.iter().any(|r| r.inproc_reshare.is_some()) {
        println!();
        println!("Reshare n -> n+1 (one node added), both suites; same columns.");
        table_header();
        for r in rows {
            let Some(ip) = &r.inproc_reshare else {
                continue;
            };
            let g = summarize(&r.reshares, ip, &r.cluster_reshare);
            table_row(
                &format!("{} -> {}", r.n, r.n + 1),
                &format!("{} -> {}", r.t, threshold(r.n + 1)),
                r.reshares.len(),
                r.genesis.len() + r.failures.len(),
                &g,
            );
        }
    }
    for r in rows {
        for f in &r.failures {
            println!("n={}: failed run: {f}", r.n);
        }
    }
}

fn table_header() {
    println!("| n | t | ok runs | duration_ms (incl. confirm) median | p90 | protocol (log) median | p90 | span (log) median | in-process CPU (all n parties, 1 core) | protocol ÷ in-process | duration_ms ÷ in-process | node CPU − idle | ÷ in-process | in-process cluster CPU − idle | cluster ÷ in-process | node CPU ÷ cluster | node CPU in protocol windows − idle | ÷ in-process | ÷ cluster | attempts (max) |");
    println!(
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
}

fn table_row(n: &str, t: &str, ok: usize, all: usize, g: &Summary) {
    println!(
        "| {n} | {t} | {ok}/{all} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        fmt_ms(g.dur.map(|x| x.0)),
        fmt_ms(g.dur.map(|x| x.1)),
        fmt_ms(g.proto.map(|x| x.0)),
        fmt_ms(g.proto.map(|x| x.1)),
        fmt_ms(g.span),
        fmt_ms(g.inproc),
        ratio(g.proto.map(|x| x.0), g.inproc),
        ratio(g.dur.map(|x| x.0), g.inproc),
        fmt_ms(g.cpu),
        ratio(g.cpu, g.inproc),
        fmt_ms(g.cluster),
        ratio(g.cluster, g.inproc),
        ratio(g.cpu, g.cluster),
        fmt_ms(g.window),
        ratio(g.window, g.inproc),
        ratio(g.window, g.cluster),
        g.attempts
    );
}

struct Summary {
    dur: Option<(f64, f64)>,
    proto: Option<(f64, f64)>,
    span: Option<f64>,
    cpu: Option<f64>,
    window: Option<f64>,
    inproc: Option<f64>,
    cluster: Option<f64>,
    attempts: u64,
}

fn summarize(
    net: &[NetRun],
    inproc: &[(Duration, Duration)],
    cluster: &[(Duration, Duration)],
) -> Summary {
    let ok: Vec<&NetRun> = net.iter().filter(|r| r.all_ok()).collect();
    let med = |v: Vec<f64>| median_p90(v).map(|x| x.0);
    Summary {
        dur: median_p90(ok.iter().map(|r| r.max_duration() as f64).collect()),
        proto: median_p90(
            ok.iter()
                .filter_map(|r| r.max_protocol())
                .map(|v| v as f64)
                .collect(),
        ),
        span: med(ok
            .iter()
            .filter_map(|r| r.span())
            .map(|v| v as f64)
            .collect()),
        cpu: med(ok
            .iter()
            .filter_map(|r| r.work_cpu())
            .map(|c| c * 1000.0)
            .collect()),
        window: med(ok.iter().filter_map(|r| r.window_cpu()).collect()),
        inproc: med(inproc.iter().map(|s| s.0.as_secs_f64() * 1000.0).collect()),
        cluster: med(cluster.iter().map(|s| s.0.as_secs_f64() * 1000.0).collect()),
        attempts: net.iter().map(NetRun::max_attempts).max().unwrap_or(0),
    }
}
