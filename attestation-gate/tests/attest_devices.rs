//! The `/dev/tdx_guest` and `/dev/sev-guest` attesters against fake device directories
//! (the real ioctl path runs and the kernel answers for a regular file, a missing file and
//! a file we may not open), and their pure halves against recorded real evidence: a
//! recorded TDX quote carried in a QGS response, a recorded SEV-SNP report in a
//! `MSG_REPORT_RSP` buffer with its VCEK in a certificate table.
#![cfg(all(feature = "attester", target_os = "linux", target_arch = "x86_64"))]
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/samples.rs"]
mod samples;

use std::cell::RefCell;
use std::fs;
use std::path::Path;

use attestation_gate::attest::sev_guest::{self, SevGuest};
use attestation_gate::attest::tdx_guest::{QuoteTransport, TdxGuest, TDREPORT_LEN};
use attestation_gate::attest::{cert_table, qgs, AttestError, Attester};
use attestation_gate::ReportData;
#[cfg(any(feature = "tdx", feature = "sev_snp"))]
use attestation_gate::{UnixTime, Verifiers};

const RD: ReportData = ReportData([0x5a; 64]);

/// A QGS in memory: records each request, answers with a fixed response.
struct FakeQgs {
    answer: Result<Vec<u8>, std::io::ErrorKind>,
    requests: RefCell<Vec<Vec<u8>>>,
}

impl FakeQgs {
    fn answering(answer: Vec<u8>) -> Self {
        FakeQgs {
            answer: Ok(answer),
            requests: RefCell::new(Vec::new()),
        }
    }
}

impl QuoteTransport for FakeQgs {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        self.requests.borrow_mut().push(request.to_vec());
        self.answer.clone().map_err(std::io::Error::from)
    }
}

/// `<root>/dev/<name>` as a regular file.
fn regular_file(root: &Path, name: &str) {
    fs::create_dir_all(root.join("dev")).unwrap();
    fs::write(root.join("dev").join(name), b"not a device").unwrap();
}

/// `<root>/dev/<name>` as a symlink to a read-only sysfs attribute: sysfs refuses to open
/// it for writing with EACCES even for root, so the permission path is exercised whoever
/// runs the tests (a chmod 000 file would not stop root).
fn unwritable(root: &Path, name: &str) {
    let target = Path::new("/sys/kernel/uevent_seqnum");
    assert!(target.exists(), "this test needs sysfs at /sys");
    fs::create_dir_all(root.join("dev")).unwrap();
    std::os::unix::fs::symlink(target, root.join("dev").join(name)).unwrap();
}

fn tdx(root: &Path) -> TdxGuest<FakeQgs> {
    TdxGuest::new(root, FakeQgs::answering(Vec::new()))
}

// ---- /dev/tdx_guest on fake trees ------------------------------------------------------

#[test]
fn tdx_guest_regular_file__should_be_not_a_tee_device_without_calling_the_qgs() {
    let root = tempfile::tempdir().unwrap();
    regular_file(root.path(), "tdx_guest");
    let qgs_server = FakeQgs::answering(Vec::new());
    let err = TdxGuest::new(root.path(), &qgs_server)
        .attest(&RD)
        .unwrap_err();
    match &err {
        AttestError::NotATeeDevice { path, request } => {
            assert_eq!(path, &root.path().join("dev/tdx_guest"));
            assert_eq!(*request, "TDX_CMD_GET_REPORT0");
        }
        other => panic!("{other:?}"),
    }
    assert!(qgs_server.requests.borrow().is_empty());
}

#[test]
fn tdx_guest_dash_name__should_be_used_when_it_is_the_only_node() {
    let root = tempfile::tempdir().unwrap();
    regular_file(root.path(), "tdx-guest");
    let err = tdx(root.path()).attest(&RD).unwrap_err();
    assert!(
        matches!(&err, AttestError::NotATeeDevice { path, .. } if path.ends_with("dev/tdx-guest")),
        "{err:?}"
    );
}

#[test]
fn tdx_guest_missing__should_be_device_not_found() {
    let root = tempfile::tempdir().unwrap();
    let err = tdx(root.path()).attest(&RD).unwrap_err();
    assert!(
        matches!(&err, AttestError::DeviceNotFound { path } if path.ends_with("dev/tdx_guest")),
        "{err:?}"
    );
}

#[test]
fn tdx_guest_unopenable__should_be_permission_denied() {
    let root = tempfile::tempdir().unwrap();
    unwritable(root.path(), "tdx_guest");
    let err = tdx(root.path()).attest(&RD).unwrap_err();
    assert!(
        matches!(err, AttestError::PermissionDenied { op: "open", .. }),
        "{err:?}"
    );
}

// ---- /dev/sev-guest on fake trees ------------------------------------------------------

#[test]
fn sev_guest_regular_file__should_be_not_a_tee_device_for_both_requests() {
    let root = tempfile::tempdir().unwrap();
    regular_file(root.path(), "sev-guest");
    for (attester, request) in [
        (SevGuest::new(root.path()), "SNP_GET_EXT_REPORT"),
        (
            SevGuest::new(root.path()).without_certificates(),
            "SNP_GET_REPORT",
        ),
    ] {
        let err = attester.attest(&RD).unwrap_err();
        match &err {
            AttestError::NotATeeDevice { path, request: r } => {
                assert_eq!(path, &root.path().join(sev_guest::DEVICE));
                assert_eq!(*r, request);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn sev_guest_missing__should_be_device_not_found() {
    let root = tempfile::tempdir().unwrap();
    let err = SevGuest::new(root.path()).attest(&RD).unwrap_err();
    assert!(
        matches!(&err, AttestError::DeviceNotFound { path } if path.ends_with("dev/sev-guest")),
        "{err:?}"
    );
}

#[test]
fn sev_guest_unopenable__should_be_permission_denied() {
    let root = tempfile::tempdir().unwrap();
    unwritable(root.path(), "sev-guest");
    let err = SevGuest::new(root.path()).attest(&RD).unwrap_err();
    assert!(
        matches!(err, AttestError::PermissionDenied { op: "open", .. }),
        "{err:?}"
    );
}

#[test]
fn sev_guest_directory__should_be_an_io_error() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("dev/sev-guest")).unwrap();
    let err = SevGuest::new(root.path()).attest(&RD).unwrap_err();
    assert!(
        matches!(err, AttestError::Io { what: "open", .. }),
        "{err:?}"
    );
}

// ---- TDX quote through the QGS ---------------------------------------------------------

/// A TDREPORT carrying `rd` at REPORTMACSTRUCT.REPORTDATA (offset 128).
fn tdreport(rd: &ReportData) -> [u8; TDREPORT_LEN] {
    let mut r = [0u8; TDREPORT_LEN];
    r[128..192].copy_from_slice(rd.as_bytes());
    r
}

fn recorded_quote(dir: &str) -> (Vec<u8>, ReportData) {
    let quote = samples::must_read(&format!("{dir}/quote.bin"));
    let offset = if quote[0] == 4 {
        48 + 520
    } else {
        48 + 6 + 520
    };
    let rd = ReportData(quote[offset..offset + 64].try_into().unwrap());
    (quote, rd)
}

#[cfg(feature = "tdx")]
#[test]
fn recorded_tdx_quote_through_a_fake_qgs__should_be_returned_exactly_and_verify() {
    let (quote, rd) = recorded_quote("tdx/dcapqvl-v4-uptodate");
    let report = tdreport(&rd);
    let id = [0xe8u8; 16];
    let qgs_server = FakeQgs::answering(qgs::encode_get_quote_response(&id, &quote).unwrap());
    let root = tempfile::tempdir().unwrap();
    let attester = TdxGuest::new(root.path(), &qgs_server);
    let ev = attester.quote(&report, &rd).unwrap();
    assert_eq!(ev.platform, attestation_gate::Platform::Tdx);
    assert_eq!(ev.bytes, quote);
    assert_eq!(ev.aux, None);
    // The QGS saw exactly one GET_QUOTE_REQ carrying our TDREPORT.
    let requests = qgs_server.requests.borrow();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0], qgs::encode_get_quote_request(&report));
    assert_eq!(&requests[0][28..], &report[..]);
    // The TDX verifier accepts what the attester returned, at the fixture's time.
    let claims = Verifiers::new()
        .verify(
            &ev,
            &samples::must_collateral("tdx/dcapqvl-v4-uptodate"),
            UnixTime(1_751_328_000),
        )
        .unwrap();
    assert_eq!(claims.report_data(), Some(&rd));
}

#[test]
fn recorded_v5_quote_through_a_fake_qgs__should_be_returned_exactly() {
    let (quote, rd) = recorded_quote("tdx/dcapqvl-v5-no-tcb-match");
    assert_eq!(quote[0], 5);
    let qgs_server = FakeQgs::answering(qgs::encode_get_quote_response(&[], &quote).unwrap());
    let root = tempfile::tempdir().unwrap();
    let ev = TdxGuest::new(root.path(), &qgs_server)
        .quote(&tdreport(&rd), &rd)
        .unwrap();
    assert_eq!(ev.bytes, quote);
}

#[test]
fn quote_for_other_report_data__should_be_refused() {
    let (quote, rd) = recorded_quote("tdx/dcapqvl-v4-uptodate");
    let qgs_server = FakeQgs::answering(qgs::encode_get_quote_response(&[], &quote).unwrap());
    let root = tempfile::tempdir().unwrap();
    let err = TdxGuest::new(root.path(), &qgs_server)
        .quote(&tdreport(&RD), &RD)
        .unwrap_err();
    assert_ne!(rd, RD);
    assert!(
        matches!(err, AttestError::UnexpectedResponse { .. }),
        "{err:?}"
    );
}

#[test]
fn qgs_error_code__should_be_a_qgs_service_error() {
    let qgs_server = FakeQgs::answering(qgs::encode_error_response(0x0001_2001).unwrap());
    let root = tempfile::tempdir().unwrap();
    let err = TdxGuest::new(root.path(), &qgs_server)
        .quote(&tdreport(&RD), &RD)
        .unwrap_err();
    assert!(
        matches!(err, AttestError::QgsService { code: 0x0001_2001 }),
        "{err:?}"
    );
}

#[test]
fn qgs_garbage__should_be_malformed_and_transport_errors_kept() {
    let root = tempfile::tempdir().unwrap();
    let garbage = FakeQgs::answering(b"\x00\x00\x00\x02hi".to_vec());
    let err = TdxGuest::new(root.path(), &garbage)
        .quote(&tdreport(&RD), &RD)
        .unwrap_err();
    assert!(
        matches!(err, AttestError::QgsMalformed(qgs::Malformed::TooShort)),
        "{err:?}"
    );
    let down = FakeQgs {
        answer: Err(std::io::ErrorKind::ConnectionRefused),
        requests: RefCell::new(Vec::new()),
    };
    let err = TdxGuest::new(root.path(), &down)
        .quote(&tdreport(&RD), &RD)
        .unwrap_err();
    assert!(
        matches!(&err, AttestError::QgsTransport(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{err:?}"
    );
}

// ---- SEV-SNP response decoding with the recorded report --------------------------------

#[cfg(feature = "sev_snp")]
#[test]
fn recorded_snp_report_in_a_driver_response__should_verify_with_the_certificate_table() {
    let dir = "sev-snp/virtee-milan-vcek";
    let hex_text = String::from_utf8(samples::must_read(&format!("{dir}/report.hex"))).unwrap();
    let report = hex::decode(hex_text.trim()).unwrap();
    let rd = ReportData(report[0x50..0x90].try_into().unwrap());
    // What the driver writes into struct snp_report_resp: MSG_REPORT_RSP.
    let mut resp = vec![0u8; sev_guest::REPORT_RESP_LEN];
    resp[4..8].copy_from_slice(&1184u32.to_le_bytes());
    resp[32..32 + 1184].copy_from_slice(&report);
    // And into the 16 KiB certificate buffer: the host's table with the VCEK.
    let vcek = samples::must_read(&format!("{dir}/vcek.der"));
    let mut certs = cert_table::encode(&[cert_table::CertEntry {
        guid: cert_table::VCEK_GUID,
        data: vcek.clone(),
    }])
    .unwrap();
    let table_len = certs.len();
    certs.resize(16 * 1024, 0);

    let mut ev =
        sev_guest::evidence_from_report(sev_guest::parse_report_rsp(&resp).unwrap().to_vec(), &rd)
            .unwrap();
    ev.aux = sev_guest::certificate_table(&certs);
    assert_eq!(ev.bytes, report);
    assert_eq!(ev.aux.as_ref().map(Vec::len), Some(table_len));
    let collateral = ev.collateral().unwrap();
    assert_eq!(collateral.get("vcek.der"), Some(&vcek[..]));
    let claims = Verifiers::new()
        .verify(&ev, &collateral, UnixTime(1_700_000_000))
        .unwrap();
    assert_eq!(claims.report_data(), Some(&rd));
}

// ---- never panics ----------------------------------------------------------------------

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn valid_response() -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::collection::vec(any::<u8>(), 0..32),
            proptest::collection::vec(any::<u8>(), 1..2048),
        )
            .prop_map(|(id, quote)| qgs::encode_get_quote_response(&id, &quote).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The QGS decoder and the SNP response parsers return errors, never panic.
        #[test]
        fn decoders__should_never_panic_on_random_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..4100),
        ) {
            let _ = qgs::decode_get_quote_response(&bytes);
            let _ = sev_guest::parse_report_rsp(&bytes);
            let _ = sev_guest::certificate_table(&bytes);
            let _ = cert_table::used_len(&bytes);
        }

        /// Valid responses with one byte changed or cut short: an error or a response,
        /// never a panic; a response only if the quote still fills the message.
        #[test]
        fn qgs_decoder__should_never_panic_on_damaged_responses(
            framed in valid_response(),
            at in any::<prop::sample::Index>(),
            xor in 1u8..,
            cut in any::<prop::sample::Index>(),
        ) {
            let mut flipped = framed.clone();
            let i = at.index(flipped.len());
            flipped[i] ^= xor;
            if let Ok(r) = qgs::decode_get_quote_response(&flipped) {
                prop_assert_eq!(r.selected_id.len() + r.quote.len() + 28, flipped.len());
            }
            let short = &framed[..cut.index(framed.len())];
            prop_assert!(qgs::decode_get_quote_response(short).is_err());
        }

        /// Encoding then decoding gives back the id and the quote.
        #[test]
        fn qgs_encode_then_decode__should_round_trip(
            id in proptest::collection::vec(any::<u8>(), 0..32),
            quote in proptest::collection::vec(any::<u8>(), 1..4096),
        ) {
            let r = qgs::decode_get_quote_response(
                &qgs::encode_get_quote_response(&id, &quote).unwrap(),
            ).unwrap();
            prop_assert_eq!(r.selected_id, id);
            prop_assert_eq!(r.quote, quote);
        }
    }
}
