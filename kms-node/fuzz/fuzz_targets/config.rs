#![no_main]
//! The node's configuration (kms-node/src/config.rs): TOML text and `KMS_NODE_*`
//! overrides. The operator writes them, but a typo must still end in a typed error,
//! never a panic. Input: the TOML text, a NUL byte, then `NAME=VALUE` lines. A config
//! that parses must not print an inline operator key in its `Debug` output.
use std::path::Path;

use kms_node::config::{Config, OperatorKeySource};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (toml, env) = text.split_once('\0').unwrap_or((&text, ""));
    let env = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let Ok(config) = Config::parse_with_env(toml, Path::new("fuzz.toml"), env) else {
        return;
    };
    if let Some(OperatorKeySource::Inline(key)) = &config.storage.operator_key {
        let debug = format!("{config:?}");
        let hex: String = key.expose().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!debug.contains(&hex), "Debug printed the operator key");
        assert!(!debug.contains(&format!("{:?}", key.expose())));
    }
});
