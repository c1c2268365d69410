//! `kms app …` results (CLI.md "Application"). Byte strings are lowercase hex.

use std::path::Path;

use clients::sdk::app::{NodeProblem, ReleasedKey, Signed};
use serde_json::json;
use tss::Identity;

use super::{hex, Output};

fn problems(list: &[NodeProblem]) -> serde_json::Value {
    list.iter()
        .map(|p| json!({ "index": p.index, "problem": p.failure.to_string() }))
        .collect()
}

fn indexes(list: &[NodeProblem]) -> Vec<u16> {
    list.iter().map(|p| p.index).collect()
}

/// `kms app get-key`: `{"app_id", "path", "key", "sigma", "epoch", "nodes_used",
/// "bad_nodes"}` plus `unavailable_nodes` and `node_problems` (why each was not used).
pub fn key(r: &ReleasedKey) -> Output {
    let key = hex(r.key.expose_secret());
    let sigma = hex(r.sigma.to_bytes().as_ref());
    let mut all: Vec<NodeProblem> = r.bad_nodes.iter().chain(&r.unavailable).cloned().collect();
    all.sort_by_key(|p| p.index);
    let mut text = format!(
        "key    {key}\nsigma  {sigma}\nepoch  {}\nnodes  {:?}",
        r.epoch, r.nodes_used
    );
    for p in &all {
        text.push_str(&format!("\n  node {}: {}", p.index, p.failure));
    }
    Output::new(
        json!({
            "app_id": hex(r.identity.app_id()),
            "path": r.identity.path(),
            "key": key,
            "sigma": sigma,
            "epoch": r.epoch,
            "nodes_used": r.nodes_used,
            "bad_nodes": indexes(&r.bad_nodes),
            "unavailable_nodes": indexes(&r.unavailable),
            "node_problems": problems(&all),
        }),
        text,
    )
}

/// `kms app pubkey`: `{"app_id", "path", "xonly", "group_key"}`.
pub fn pubkey(id: &Identity, xonly: &[u8; 32], group_key: &[u8; 33]) -> Output {
    Output::new(
        json!({
            "app_id": hex(id.app_id()),
            "path": id.path(),
            "xonly": hex(xonly),
            "group_key": hex(group_key),
        }),
        hex(xonly),
    )
}

/// `kms app sign`: `{"app_id", "path", "xonly", "message", "signature"}` plus
/// `epoch`, `signers`, `bad_nodes`.
pub fn signed(app_id: [u8; 32], path: &str, s: &Signed) -> Output {
    Output::new(
        json!({
            "app_id": hex(app_id),
            "path": path,
            "xonly": hex(s.xonly),
            "message": hex(&s.message),
            "signature": hex(s.signature),
            "epoch": s.epoch,
            "signers": s.signers,
            "bad_nodes": indexes(&s.bad_nodes),
            "unavailable_nodes": indexes(&s.unavailable),
        }),
        hex(s.signature),
    )
}

/// `kms app seal`.
pub fn sealed(id: &Identity, input: &Path, output: &Path, len: usize, epoch: u64) -> Output {
    Output::new(
        json!({
            "app_id": hex(id.app_id()),
            "path": id.path(),
            "in": input.display().to_string(),
            "out": output.display().to_string(),
            "sealed_bytes": len,
            "epoch": epoch,
        }),
        format!(
            "sealed {} to path {:?} of app {} ({len} bytes)",
            input.display(),
            id.path(),
            hex(id.app_id())
        ),
    )
}

/// `kms app unseal`.
pub fn unsealed(app_id: [u8; 32], path: &str, input: &Path, output: &Path, len: usize) -> Output {
    Output::new(
        json!({
            "app_id": hex(app_id),
            "path": path,
            "in": input.display().to_string(),
            "out": output.display().to_string(),
            "bytes": len,
        }),
        format!(
            "unsealed {} into {} ({len} bytes)",
            input.display(),
            output.display()
        ),
    )
}
