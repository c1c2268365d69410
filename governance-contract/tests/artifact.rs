//! The committed artifact is exactly what the pinned solcjs produces from the committed
//! Solidity (STYLE.md §4: a test fails if the compiled Solidity differs).
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

#[test]
fn artifact__should_match_a_fresh_compile_with_the_pinned_solc() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        dir.join("node_modules/solc/package.json").is_file(),
        "solcjs is not installed: run `npm ci` in governance-contract/"
    );
    let pinned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package-lock.json")).unwrap())
            .unwrap();
    let installed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("node_modules/solc/package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        pinned["packages"]["node_modules/solc"]["version"], installed["version"],
        "installed solc differs from package-lock.json: run `npm ci`"
    );
    let out = Command::new("node")
        .arg("scripts/compile.mjs")
        .arg("--check")
        .current_dir(dir)
        .output()
        .expect("node must be installed to check the artifact");
    assert!(
        out.status.success(),
        "artifacts/Governance.json is stale: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn artifact__should_be_what_the_bindings_deploy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let artifact: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("artifacts/Governance.json")).unwrap(),
    )
    .unwrap();
    let hex = artifact["bytecode"]
        .as_str()
        .unwrap()
        .trim_start_matches("0x");
    assert_eq!(
        alloy::hex::encode(&governance_contract::Governance::BYTECODE),
        hex
    );
}
