//! The configfs-tsm attester against a fake `/sys/kernel/config/tsm/report` tree: the
//! "kernel" is simulated by pre-creating the entry's attribute files.
#![cfg(feature = "attester")]
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};

use attestation_gate::attest::cert_table;
use attestation_gate::attest::tsm::{ConfigfsTsm, REPORT_DIR};
use attestation_gate::attest::{auto, detect, AttestError, Attester, Detected};
use attestation_gate::{Platform, ReportData};

const RD: ReportData = ReportData([0x5a; 64]);

/// A fake kernel entry `name` with the given provider and outblob.
fn fake_entry(root: &Path, name: &str, provider: &str, outblob: &[u8]) -> PathBuf {
    let entry = root.join(REPORT_DIR).join(name);
    fs::create_dir_all(&entry).unwrap();
    fs::write(entry.join("provider"), format!("{provider}\n")).unwrap();
    fs::write(entry.join("generation"), "3\n").unwrap();
    fs::write(entry.join("outblob"), outblob).unwrap();
    entry
}

fn tdx_quote_v4(rd: &ReportData) -> Vec<u8> {
    let mut q = vec![0u8; 48 + 584 + 4 + 100];
    q[0] = 4; // version 4, little endian
    q[48 + 520..48 + 584].copy_from_slice(rd.as_bytes());
    q
}

fn tdx_quote_v5(rd: &ReportData) -> Vec<u8> {
    let mut q = vec![0u8; 48 + 6 + 648 + 4 + 100];
    q[0] = 5;
    q[48 + 6 + 520..48 + 6 + 584].copy_from_slice(rd.as_bytes());
    q
}

fn snp_report(rd: &ReportData) -> Vec<u8> {
    let mut r = vec![0u8; 1184];
    r[0] = 2;
    r[0x50..0x90].copy_from_slice(rd.as_bytes());
    r
}

#[test]
fn tdx_provider__should_write_inblob_and_return_the_quote() {
    let root = tempfile::tempdir().unwrap();
    let quote = tdx_quote_v4(&RD);
    let entry = fake_entry(root.path(), "t", "tdx_guest", &quote);
    let ev = ConfigfsTsm::new(root.path())
        .with_entry_name("t")
        .attest(&RD)
        .unwrap();
    assert_eq!(ev.platform, Platform::Tdx);
    assert_eq!(ev.bytes, quote);
    assert_eq!(ev.aux, None);
    // The kernel got exactly the 64 bytes of report data.
    assert_eq!(fs::read(entry.join("inblob")).unwrap(), RD.as_bytes());
    // A pre-existing (shared) entry is left in place.
    assert!(entry.is_dir());
}

#[test]
fn tdx_v5_quote__should_be_accepted() {
    let root = tempfile::tempdir().unwrap();
    fake_entry(root.path(), "t", "tdx_guest", &tdx_quote_v5(&RD));
    let ev = ConfigfsTsm::new(root.path())
        .with_entry_name("t")
        .attest(&RD)
        .unwrap();
    assert_eq!(ev.platform, Platform::Tdx);
}

#[test]
fn sev_provider__should_return_the_report_and_auxblob() {
    let root = tempfile::tempdir().unwrap();
    let report = snp_report(&RD);
    let entry = fake_entry(root.path(), "s", "sev_guest", &report);
    fs::write(entry.join("auxblob"), b"cert table").unwrap();
    let ev = ConfigfsTsm::new(root.path())
        .with_entry_name("s")
        .attest(&RD)
        .unwrap();
    assert_eq!(ev.platform, Platform::SevSnp);
    assert_eq!(ev.bytes, report);
    assert_eq!(ev.aux.as_deref(), Some(&b"cert table"[..]));
}

#[test]
fn outblob_for_other_report_data__should_be_refused() {
    let root = tempfile::tempdir().unwrap();
    fake_entry(
        root.path(),
        "t",
        "sev_guest",
        &snp_report(&ReportData([1; 64])),
    );
    let err = ConfigfsTsm::new(root.path())
        .with_entry_name("t")
        .attest(&RD)
        .unwrap_err();
    assert!(
        matches!(err, AttestError::UnexpectedResponse { .. }),
        "{err:?}"
    );
}

#[test]
fn short_snp_report_and_bad_quote_version__should_be_refused() {
    let root = tempfile::tempdir().unwrap();
    fake_entry(root.path(), "s", "sev_guest", &snp_report(&RD)[..1000]);
    let mut bad_quote = tdx_quote_v4(&RD);
    bad_quote[0] = 3;
    fake_entry(root.path(), "t", "tdx_guest", &bad_quote);
    for name in ["s", "t"] {
        let err = ConfigfsTsm::new(root.path())
            .with_entry_name(name)
            .attest(&RD)
            .unwrap_err();
        assert!(
            matches!(err, AttestError::UnexpectedResponse { .. }),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn unknown_provider_or_bad_generation__should_be_refused() {
    let root = tempfile::tempdir().unwrap();
    fake_entry(root.path(), "a", "arm_cca_guest", &snp_report(&RD));
    let entry = fake_entry(root.path(), "g", "sev_guest", &snp_report(&RD));
    fs::write(entry.join("generation"), "not a number\n").unwrap();
    for name in ["a", "g"] {
        let err = ConfigfsTsm::new(root.path())
            .with_entry_name(name)
            .attest(&RD)
            .unwrap_err();
        assert!(
            matches!(err, AttestError::UnexpectedResponse { .. }),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn fresh_entry_without_a_kernel__should_fail_with_io() {
    // A plain directory does not grow attribute files when an entry is created, so
    // reading `generation` fails; the attester must report it, not hang or panic.
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join(REPORT_DIR)).unwrap();
    let err = ConfigfsTsm::new(root.path()).attest(&RD).unwrap_err();
    assert!(matches!(err, AttestError::Io { .. }), "{err:?}");
}

#[test]
fn missing_report_dir__should_fail_with_io() {
    let root = tempfile::tempdir().unwrap();
    let err = ConfigfsTsm::new(root.path()).attest(&RD).unwrap_err();
    assert!(matches!(err, AttestError::Io { .. }), "{err:?}");
}

#[test]
fn auto__should_pick_configfs_tsm_over_sev_guest() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("dev")).unwrap();
    fs::write(root.path().join("dev/sev-guest"), b"").unwrap();
    fake_entry(root.path(), "t", "sev_guest", &snp_report(&RD));
    assert_eq!(detect(root.path()), Some(Detected::ConfigfsTsm));
    let a = auto(root.path()).unwrap();
    assert_eq!(a.platform(), None);
}

#[cfg(feature = "sev_snp")]
#[test]
fn recorded_snp_report_through_fake_configfs__should_verify_end_to_end() {
    // The recorded SEV-SNP report of the shared fixtures (README 1.1), served by the
    // fake kernel: what the attester returns is what the verifier accepts.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/attestation/sev-snp/virtee-milan-vcek"
    );
    let hex_text = fs::read_to_string(format!("{dir}/report.hex")).unwrap();
    let report = hex::decode(hex_text.trim()).unwrap();
    let rd = ReportData(report[0x50..0x90].try_into().unwrap());
    // The host's certificate table with the VCEK, as the kernel returns it in auxblob.
    let vcek = fs::read(format!("{dir}/vcek.der")).unwrap();
    let table = cert_table::encode(&[cert_table::CertEntry {
        guid: cert_table::VCEK_GUID,
        data: vcek.clone(),
    }])
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let entry = fake_entry(root.path(), "s", "sev_guest", &report);
    fs::write(entry.join("auxblob"), &table).unwrap();
    let ev = ConfigfsTsm::new(root.path())
        .with_entry_name("s")
        .attest(&rd)
        .unwrap();
    assert_eq!(ev.bytes, report);
    let collateral = ev.collateral().unwrap();
    assert_eq!(collateral.get("vcek.der"), Some(&vcek[..]));
    // Inside the fixture window (README 1.1: 1680549823 .. 1901474623).
    let claims = attestation_gate::Verifiers::new()
        .verify(&ev, &collateral, attestation_gate::UnixTime(1_700_000_000))
        .unwrap();
    assert_eq!(claims.report_data(), Some(&rd));
}

mod never_panics {
    use super::*;
    use attestation_gate::attest::{tdx_guest, tsm};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The parsers of device output return errors, never panic, on any bytes.
        #[test]
        fn device_output_parsers__should_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..1400),
        ) {
            let _ = tsm::parse_generation(&bytes);
            let _ = tsm::parse_provider(&bytes);
            for p in [Platform::Tdx, Platform::SevSnp, Platform::Nitro] {
                let _ = tsm::check_report_data(p, &bytes, &RD);
            }
            let _ = tdx_guest::parse_response(&bytes);
            let _ = cert_table::parse(&bytes);
        }

        /// A report carrying other report data is always refused.
        #[test]
        fn check_report_data__should_refuse_any_other_report_data(
            other in proptest::array::uniform32(any::<u8>()),
        ) {
            let mut rd = RD;
            rd.0[..32].copy_from_slice(&other);
            prop_assume!(rd != RD);
            prop_assert!(tsm::check_report_data(Platform::SevSnp, &snp_report(&rd), &RD).is_err());
            prop_assert!(tsm::check_report_data(Platform::Tdx, &tdx_quote_v4(&rd), &RD).is_err());
            prop_assert!(tsm::check_report_data(Platform::SevSnp, &snp_report(&RD), &RD).is_ok());
        }
    }
}
