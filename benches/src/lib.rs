//! Criterion benchmarks live in `benches/benches/`; this library holds what the
//! multi-process bench binaries share.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// `kms-node` in this binary's profile directory (`target/release/deps/x` →
/// `target/release/kms-node`), else the workspace's `target/release/kms-node`.
pub fn kms_node_bin() -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(2) {
            candidates.push(up.join("kms-node"));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/kms-node"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no kms-node binary (looked at {}); `cargo build --release -p kms-node --bin kms-node` or pass --node-bin",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}
