//! Criterion benchmarks live in `benches/benches/`; this library holds what the
//! multi-process bench binaries share.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use clients::sdk::devnet::process::Stop;
use clients::sdk::devnet::Devnet;

/// The devnets this bench process owns, by folder ([`own_devnet`]).
static OWNED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Has [`stop_on_signal`] take down the devnet in `dir` (one this process starts).
pub fn own_devnet(dir: &Path) {
    OWNED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(dir.to_path_buf());
}

/// From now on, SIGINT, SIGTERM or SIGHUP take down every devnet given to
/// [`own_devnet`] and end the process (exit status 128 + the signal's number). A devnet
/// handle kills its processes when dropped, but a signal's default action ends the
/// process without dropping anything, which left a stopped bench's anvil and nodes
/// running. The handler runs on a thread of its own: the benches measure in long
/// synchronous stretches (floor samples, client threads, the in-process protocol), in
/// which a handler on their own runtime would not run. Returns once it listens.
pub fn stop_on_signal() -> Result<(), String> {
    let (ready, listening) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("stop-on-signal".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready.send(Err(format!("no runtime for the signal handler: {e}")));
                    return;
                }
            };
            let signal = rt.block_on(async {
                let mut stop = match Stop::listen() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                        return None;
                    }
                };
                let _ = ready.send(Ok(()));
                Some(stop.requested().await)
            });
            let Some(signal) = signal else { return };
            let owned = OWNED.lock().unwrap_or_else(PoisonError::into_inner).clone();
            // Not eprintln!: after SIGHUP stderr may be a closed terminal, and a failed
            // write must not keep the devnets up.
            let _ = writeln!(
                std::io::stderr(),
                "{signal}: taking down this bench's devnets"
            );
            for dir in owned {
                // A devnet already taken down has no state left: nothing to do.
                if let Ok(net) = Devnet::open(&dir) {
                    if let Err(e) = net.down() {
                        let _ = writeln!(std::io::stderr(), "{}: {e}", dir.display());
                    }
                }
            }
            let code = match signal {
                "SIGHUP" => 129,
                "SIGINT" => 130,
                _ => 143,
            };
            std::process::exit(code);
        })
        .map_err(|e| format!("cannot start the signal handler: {e}"))?;
    listening
        .recv()
        .map_err(|_| "the signal handler stopped".to_string())?
}

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
