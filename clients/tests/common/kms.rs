//! Runs the built `kms` binary with `--json` in a clean environment.

use std::process::Command;

use serde_json::Value;

/// Variables that would otherwise leak the caller's network, key or trust store.
const CLEARED: [&str; 5] = [
    "KMS_PRIVATE_KEY",
    "KMS_CONTRACT",
    "KMS_RPC_URL",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// `kms ARGS --json` with only `env` set of the variables above; (exit code, the one
/// JSON object it printed).
pub fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kms"));
    cmd.args(args).arg("--json");
    for var in CLEARED {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {stdout} / {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}
