//! Argument errors follow the CLI.md error contract (`--json` prints a JSON error).

#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::{Command, Output};

fn kms(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kms"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn missing_argument_with_json__should_print_a_usage_error_object() {
    let out = kms(&["--json", "attest", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "usage");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("--evidence"), "{message}");
}

#[test]
fn unknown_subcommand_with_trailing_json__should_print_a_usage_error_object() {
    let out = kms(&["frobnicate", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "usage");
}

#[test]
fn missing_argument_without_json__should_keep_clap_text_on_stderr() {
    let out = kms(&["attest", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--evidence"));
}

#[test]
fn help__should_succeed_and_print_usage() {
    let out = kms(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("attest"));
}

#[test]
fn value_refused_by_a_parser__should_keep_the_sdk_kind_and_exit_1() {
    let out = kms(&["gov", "app", "12", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "bad_input");
    assert!(v["error"]["message"].as_str().unwrap().contains("APP_ID"));
    let out = kms(&[
        "gov",
        "deploy",
        "--voters",
        "",
        "--quorum",
        "1",
        "--timelock",
        "400d",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error (invalid_timelock): "), "{stderr}");
}

#[test]
fn value_that_is_no_number__should_stay_a_usage_error() {
    let out = kms(&["gov", "proposals", "--limit", "x", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "usage");
}
