#![no_main]
//! What the SEV-SNP guest driver writes back (firmware/host controlled): the
//! MSG_REPORT_RSP buffer and the certificate buffer of SNP_GET_EXT_REPORT.
use attestation_gate::attest::{cert_table, sev_guest};
use attestation_gate::ReportData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = sev_guest::parse_report_rsp(data) {
        assert_eq!(report.len(), 1184);
        let _ = sev_guest::evidence_from_report(report.to_vec(), &ReportData([0; 64]));
    }
    if let Some(table) = sev_guest::certificate_table(data) {
        assert!(table.len() <= data.len());
        if let Ok(n) = cert_table::used_len(data) {
            assert_eq!(n, table.len());
            // Every certificate lies inside the cut table.
            assert_eq!(cert_table::parse(&table).ok(), cert_table::parse(data).ok());
        }
    }
});
