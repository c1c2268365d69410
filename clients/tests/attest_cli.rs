//! Runs the built `kms` binary on real fixtures (CLI.md "Attestation tools").

#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/attestation"
);

fn kms(args: &[&str]) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_kms"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout:?}"));
    (out.status.success(), v)
}

fn fixture(rel: &str) -> String {
    format!("{FIXTURES}/{rel}")
}

#[test]
fn attest_verify__should_print_the_tdx_claims() {
    let (ok, v) = kms(&[
        "attest",
        "verify",
        "--evidence",
        &fixture("tdx/dcapqvl-v4-uptodate/quote.bin"),
        "--collateral",
        &fixture("tdx/dcapqvl-v4-uptodate"),
        "--at",
        "2025-07-01T00:00:00Z",
        "--json",
    ]);
    assert!(ok, "{v}");
    assert_eq!(v["platform"], "tdx");
    assert_eq!(v["vendor"], "intel");
    assert_eq!(v["debug"], false);
    assert_eq!(v["tcb_status"], "up_to_date");
    assert_eq!(v["report_data"], "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
    assert_eq!(v["raw"]["mrtd"], "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
    for k in [
        "rtmr0",
        "rtmr1",
        "rtmr2",
        "rtmr3",
        "mrseam",
        "td_attributes",
        "xfam",
    ] {
        assert!(v["raw"][k].is_string(), "{k}");
    }
    assert_eq!(v["measurement"].as_str().unwrap().len(), 64);
}

#[test]
fn attest_verify__should_read_hex_snp_and_print_null_tcb_status() {
    let (ok, v) = kms(&[
        "attest",
        "verify",
        "--evidence",
        &fixture("sev-snp/virtee-milan-vcek/report.hex"),
        "--collateral",
        &fixture("sev-snp/virtee-milan-vcek"),
        "--at",
        "2025-01-01T00:00:00Z",
        "--json",
    ]);
    assert!(ok, "{v}");
    assert_eq!(v["platform"], "sev-snp");
    assert_eq!(v["vendor"], "amd");
    assert_eq!(v["encoding"], "hex");
    assert!(v["tcb_status"].is_null());
    assert_eq!(v["raw"]["reported_tcb"], "7308000000000003");
}

#[test]
fn attest_verify__should_fail_with_the_expired_kind_outside_the_window() {
    let (ok, v) = kms(&[
        "attest",
        "verify",
        "--evidence",
        &fixture("sgx/dcapqvl-v3/quote.bin"),
        "--collateral",
        &fixture("sgx/dcapqvl-v3"),
        "--at",
        "2025-07-21T00:00:00Z",
        "--json",
    ]);
    assert!(!ok);
    assert_eq!(v["error"]["kind"], "expired", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("--at"));
}

#[test]
fn attest_verify__should_report_missing_collateral_and_unknown_files() {
    let (ok, v) = kms(&[
        "attest",
        "verify",
        "--evidence",
        &fixture("sgx/dcapqvl-v3/quote.bin"),
        "--at",
        "2025-07-01T00:00:00Z",
        "--json",
    ]);
    assert!(!ok);
    assert_eq!(v["error"]["kind"], "missing_collateral", "{v}");
    let (ok, v) = kms(&[
        "attest",
        "verify",
        "--evidence",
        &fixture("PROVENANCE.json"),
        "--json",
    ]);
    assert!(!ok);
    assert_eq!(v["error"]["kind"], "unknown_format", "{v}");
}

#[test]
fn attest_measure__should_print_the_same_digest_as_verify() {
    let args = [
        "--evidence",
        &fixture("nitro/evervault-2022-nondebug/attestation_doc.cbor"),
    ];
    let (ok, m) = kms(&["attest", "measure", args[0], args[1], "--json"]);
    assert!(ok, "{m}");
    let (ok, v) = kms(&[
        "attest",
        "verify",
        args[0],
        args[1],
        "--at",
        "@1665651482",
        "--json",
    ]);
    assert!(ok, "{v}");
    assert_eq!(v["platform"], "nitro");
    assert_eq!(m["measurement"], v["measurement"]);
    assert_eq!(m["verified"], false);
}
