//! `kms devnet …` and `kms node status` results.

use std::fmt::Write as _;
use std::path::Path;

use clients::sdk::devnet::{AddedNode, DevnetStatus, NodeStatus};
use serde_json::{json, Value};

use super::Output;

/// The commands printed after `up`, with the devnet's directory.
fn next_steps(dir: &Path) -> Vec<String> {
    let d = dir.display();
    vec![
        format!("kms network info --devnet {d}"),
        format!("kms devnet status --dir {d}"),
        format!("kms gov proposals --devnet {d}"),
        format!("kms node status --devnet {d} --index 1"),
        format!("kms devnet node stop 2 --dir {d}"),
        format!("kms devnet node add --dir {d}"),
        format!("kms gov propose committee --add NODE_ID --devnet {d} --as voter:1"),
        format!("kms devnet down --dir {d}"),
    ]
}

fn status_json(s: &DevnetStatus) -> Value {
    let nodes: Vec<Value> = s
        .nodes
        .iter()
        .map(|n| {
            json!({
                "index": n.index,
                "node_id": n.node_id,
                "vendor": governance_contract::vendor_name(&n.platform.vendor()),
                "platform": n.platform.to_string(),
                "running": n.running,
                "pid": n.pid,
                "operator_url": n.operator_url,
                "endpoint": n.endpoint,
                "log": n.log.display().to_string(),
            })
        })
        .collect();
    json!({
        "dir": s.dir.display().to_string(),
        "rpc": s.rpc,
        "chain_running": s.chain_running,
        "contract": s.contract,
        "node_app_id": s.node_app_id,
        "threshold": s.threshold,
        "nodes": nodes,
        "demo_app": s.demo_app.as_ref().map(|a| json!({
            "app_id": a.app_id, "measurement": a.measurement, "sim_measurement": a.sim_measurement,
        })),
    })
}

fn status_text(s: &DevnetStatus) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "devnet   {}", s.dir.display());
    let _ = writeln!(
        t,
        "chain    {} ({})",
        s.rpc,
        if s.chain_running {
            "running"
        } else {
            "stopped"
        }
    );
    let _ = writeln!(t, "contract {}", s.contract.as_deref().unwrap_or("-"));
    let _ = writeln!(t, "SIMULATED ENCLAVES: NO SECURITY");
    let _ = writeln!(t, "nodes (threshold {}):", s.threshold);
    for n in &s.nodes {
        let _ = writeln!(
            t,
            "  {:>2}  {:<8} {:<13} {}  {}",
            n.index,
            if n.running { "running" } else { "stopped" },
            n.platform.to_string(),
            n.node_id.as_deref().unwrap_or("-"),
            n.operator_url.as_deref().unwrap_or(""),
        );
    }
    if let Some(a) = &s.demo_app {
        let _ = writeln!(t, "demo app {}", a.app_id);
        let _ = writeln!(t, "  approved measurement {}", a.measurement);
        let _ = writeln!(t, "  --sim-measurement    {}", a.sim_measurement);
    }
    t.trim_end().to_owned()
}

/// `kms devnet status`.
pub fn status(s: &DevnetStatus) -> Output {
    Output::new(status_json(s), status_text(s))
}

/// `kms devnet up`, once the network serves.
///
/// `demo_key`: the demo application's key as `Devnet::demo_key` fetched it (path
/// `demo`), or why it could not be fetched (the network still runs).
pub fn up(
    s: &DevnetStatus,
    detached: bool,
    demo_key: &clients::Result<clients::sdk::app::ReleasedKey>,
) -> Output {
    let mut next = next_steps(&s.dir);
    if let Some(a) = &s.demo_app {
        next.insert(
            1,
            format!(
                "kms app get-key --devnet {} --app {} --path demo --attester simulated --sim-measurement {}",
                s.dir.display(),
                a.app_id,
                a.sim_measurement
            ),
        );
    }
    let mut v = status_json(s);
    v["serving"] = json!(true);
    v["detached"] = json!(detached);
    let demo_line = match demo_key {
        Ok(k) => {
            let key = super::hex(k.key.expose_secret());
            v["demo_key"] = json!({
                "path": k.identity.path(),
                "key": key,
                "epoch": k.epoch,
                "nodes_used": k.nodes_used,
            });
            format!(
                "The demo key (path {:?}), fetched from nodes {:?} with simulated evidence of the demo build: {key}",
                k.identity.path(),
                k.nodes_used
            )
        }
        Err(e) => {
            v["demo_key"] = json!({ "error": { "kind": e.kind(), "message": e.to_string() } });
            format!("The demo key could NOT be fetched ({}): {e}", e.kind())
        }
    };
    v["next"] = json!(next);
    let mut t = status_text(s);
    let _ = write!(
        t,
        "\n\nThe genesis epoch is active: the network serves.\n{demo_line}\n\nTry next:\n"
    );
    for c in &next {
        let _ = writeln!(t, "  {c}");
    }
    if detached {
        let _ = write!(
            t,
            "The devnet keeps running; stop it with `kms devnet down --dir {}`.",
            s.dir.display()
        );
    } else {
        let _ = write!(t, "Press Ctrl-C to stop the devnet.");
    }
    Output::new(v, t)
}

/// `kms devnet down`.
pub fn down(dir: &Path) -> Output {
    Output::new(
        json!({ "dir": dir.display().to_string(), "down": true }),
        format!(
            "stopped the devnet in {} and removed its state",
            dir.display()
        ),
    )
}

/// `kms devnet node stop|start|kill`.
pub fn node_changed(index: u16, what: &str) -> Output {
    Output::new(
        json!({ "index": index, "state": what }),
        format!("node {index} {what}"),
    )
}

/// `kms devnet node add`.
pub fn node_added(n: &AddedNode, dir: &Path) -> Output {
    Output::new(
        json!({ "index": n.index, "node_id": n.node_id, "vendor": format!("simulated-{}", n.vendor) }),
        format!(
            "node {} (simulated-{}) started and registered: node_id {}\nadd it to the committee: kms gov propose committee --add {} --devnet {} --as voter:1",
            n.index,
            n.vendor,
            n.node_id,
            n.node_id,
            dir.display()
        ),
    )
}

/// `kms node status`: the node's own document, and a summary as text.
pub fn node_status(s: &NodeStatus) -> Output {
    let mut t = String::new();
    let _ = writeln!(t, "node_id  {}", s.node_id);
    if s.simulated {
        let _ = writeln!(t, "SIMULATED ENCLAVE: NO SECURITY");
    }
    let _ = writeln!(
        t,
        "serving  {}{}",
        s.serving,
        s.not_serving_reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        t,
        "epoch    {}",
        s.epoch
            .map(|e| e.to_string())
            .unwrap_or_else(|| "none".into())
    );
    if let Some((e, state)) = &s.pending {
        let _ = writeln!(
            t,
            "pending  epoch {e} ({})",
            state.as_deref().unwrap_or("-")
        );
    }
    let _ = write!(t, "peers    {}", s.peers);
    Output::new(s.raw.clone(), t)
}
