#![no_main]
//! Parsers of what a (possibly malicious) host or kernel hands the attesters: the SNP
//! certificate table (configfs-tsm auxblob), configfs-tsm attribute files, the
//! TDX_CMD_GET_REPORT0 response and the report-data echo check.
use attestation_gate::attest::{cert_table, tdx_guest, tsm};
use attestation_gate::{Platform, ReportData};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cert_table::parse(data);
    let _ = tsm::parse_generation(data);
    let _ = tsm::parse_provider(data);
    let _ = tsm::check_report_data(Platform::Tdx, data, &ReportData([0; 64]));
    let _ = tsm::check_report_data(Platform::SevSnp, data, &ReportData([0; 64]));
    let _ = tdx_guest::parse_response(data);
});
