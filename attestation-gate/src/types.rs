//! Small value types shared by every platform, one topic per file: platform and vendor
//! names ([`platform`]), TCB status ([`tcb_status`]), SEV-SNP product lines and TCB
//! versions ([`snp_tcb`]), time ([`time`]), report data and measurement digests
//! ([`digest`]). Everything is re-exported here.

pub mod digest;
pub mod platform;
pub mod snp_tcb;
pub mod tcb_status;
pub mod time;

pub use digest::{Measurement, ReportData};
pub use platform::{
    Platform, UnknownCode, UnknownPlatform, Vendor, SIMULATED_CODE_BASE, SIMULATED_LABEL_PREFIX,
};
pub use snp_tcb::{ProductLine, SnpTcb, SnpTcbComponent};
pub use tcb_status::{TcbStatus, UnknownTcbStatus};
pub use time::UnixTime;
