//! The platform's verdict on the TCB patch level.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The platform's verdict on the patch level of the TCB, as Intel names it (CLI.md).
///
/// Ordered from worst to best, so `status >= minimum` is the "minimum TCB status" rule:
/// `Revoked < OutOfDateConfigurationNeeded < OutOfDate <
/// ConfigurationAndSwHardeningNeeded < ConfigurationNeeded < SwHardeningNeeded < UpToDate`.
/// Statuses that need configuration rank below those that need only software hardening,
/// because configuration findings (e.g. hyper-threading on) cannot be mitigated by the
/// enclave itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TcbStatus {
    /// The TCB level is revoked.
    Revoked,
    /// Out of date, and configuration changes are also needed.
    OutOfDateConfigurationNeeded,
    /// Out of date: a newer TCB level with security fixes exists.
    OutOfDate,
    /// Up to date, but configuration changes and software hardening are needed.
    ConfigurationAndSwHardeningNeeded,
    /// Up to date, but configuration changes are needed.
    ConfigurationNeeded,
    /// Up to date, but software hardening is needed.
    SwHardeningNeeded,
    /// Up to date.
    UpToDate,
}

impl TcbStatus {
    /// Every status, worst first.
    pub const ALL: [TcbStatus; 7] = [
        TcbStatus::Revoked,
        TcbStatus::OutOfDateConfigurationNeeded,
        TcbStatus::OutOfDate,
        TcbStatus::ConfigurationAndSwHardeningNeeded,
        TcbStatus::ConfigurationNeeded,
        TcbStatus::SwHardeningNeeded,
        TcbStatus::UpToDate,
    ];

    /// The CLI.md name.
    pub fn as_str(self) -> &'static str {
        match self {
            TcbStatus::UpToDate => "up_to_date",
            TcbStatus::SwHardeningNeeded => "sw_hardening_needed",
            TcbStatus::ConfigurationNeeded => "configuration_needed",
            TcbStatus::ConfigurationAndSwHardeningNeeded => "configuration_and_sw_hardening_needed",
            TcbStatus::OutOfDate => "out_of_date",
            TcbStatus::OutOfDateConfigurationNeeded => "out_of_date_configuration_needed",
            TcbStatus::Revoked => "revoked",
        }
    }
}

impl fmt::Display for TcbStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TcbStatus {
    type Err = UnknownTcbStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TcbStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTcbStatus(s.to_owned()))
    }
}

/// A string that names no TCB status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TCB status {0:?}")]
pub struct UnknownTcbStatus(pub String);

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn tcb_status__should_order_worst_to_best() {
        assert!(TcbStatus::UpToDate > TcbStatus::SwHardeningNeeded);
        assert!(TcbStatus::OutOfDate < TcbStatus::ConfigurationAndSwHardeningNeeded);
        assert!(TcbStatus::Revoked < TcbStatus::OutOfDateConfigurationNeeded);
        for t in TcbStatus::ALL {
            assert_eq!(t.as_str().parse::<TcbStatus>().unwrap(), t);
        }
    }
}
