//! Small value types shared by every platform: platform and vendor names, TCB status,
//! time, report data and measurement digests.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A TEE platform whose evidence this crate can verify.
///
/// The string forms (`as_str`, serde, `FromStr`) are the CLI.md contract:
/// `tdx, sgx, sev-snp, nitro, simulated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Platform {
    /// Intel Trust Domain Extensions (DCAP quote v4/v5).
    #[serde(rename = "tdx")]
    Tdx,
    /// Intel Software Guard Extensions (DCAP quote v3).
    #[serde(rename = "sgx")]
    Sgx,
    /// AMD Secure Encrypted Virtualization, Secure Nested Paging.
    #[serde(rename = "sev-snp")]
    SevSnp,
    /// AWS Nitro Enclaves.
    #[serde(rename = "nitro")]
    Nitro,
    /// Devnet-signed evidence for development and tests only (DESIGN §5).
    #[serde(rename = "simulated")]
    Simulated,
}

impl Platform {
    /// Every platform, in a fixed order.
    pub const ALL: [Platform; 5] = [
        Platform::Tdx,
        Platform::Sgx,
        Platform::SevSnp,
        Platform::Nitro,
        Platform::Simulated,
    ];

    /// The CLI.md name of the platform.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Tdx => "tdx",
            Platform::Sgx => "sgx",
            Platform::SevSnp => "sev-snp",
            Platform::Nitro => "nitro",
            Platform::Simulated => "simulated",
        }
    }

    /// The hardware vendor family, for the committee diversity rule. `None` for
    /// [`Platform::Simulated`], whose vendor is a label carried in the evidence.
    pub fn vendor(self) -> Option<Vendor> {
        match self {
            Platform::Tdx | Platform::Sgx => Some(Vendor::Intel),
            Platform::SevSnp => Some(Vendor::Amd),
            Platform::Nitro => Some(Vendor::Aws),
            Platform::Simulated => None,
        }
    }

    /// Whether the Cargo feature of this platform is compiled in.
    pub fn is_enabled(self) -> bool {
        match self {
            Platform::Tdx => cfg!(feature = "tdx"),
            Platform::Sgx => cfg!(feature = "sgx"),
            Platform::SevSnp => cfg!(feature = "sev_snp"),
            Platform::Nitro => cfg!(feature = "nitro"),
            Platform::Simulated => cfg!(feature = "simulated"),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no known platform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform {0:?}; expected one of tdx, sgx, sev-snp, nitro, simulated")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPlatform(s.to_owned()))
    }
}

/// Who vouches for the evidence: the root of the signature chain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Vendor {
    /// Intel (SGX Root CA).
    Intel,
    /// AMD (ARK per product line).
    Amd,
    /// Amazon Web Services (Nitro Enclaves Root G1).
    Aws,
    /// A devnet key; the label names the simulated vendor, so that simulated committees
    /// can still exercise the diversity rule.
    Simulated(String),
}

impl Vendor {
    /// The CLI.md name: `intel, amd, aws, simulated` (the simulated label is not part of
    /// it; see [`Vendor::label`]).
    pub fn as_str(&self) -> &'static str {
        match self {
            Vendor::Intel => "intel",
            Vendor::Amd => "amd",
            Vendor::Aws => "aws",
            Vendor::Simulated(_) => "simulated",
        }
    }

    /// The label of a simulated vendor, `None` for real vendors.
    pub fn label(&self) -> Option<&str> {
        match self {
            Vendor::Simulated(label) => Some(label),
            _ => None,
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Vendor::Simulated(label) => write!(f, "simulated({label})"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl Serialize for Vendor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

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

/// Seconds since the Unix epoch, UTC. The library never reads the clock; callers pass it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// The seconds.
    pub fn secs(self) -> u64 {
        self.0
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

/// The 64 bytes a TEE signs along with its measurement (SGX/TDX REPORT_DATA, SNP
/// REPORT_DATA, Nitro `user_data`). keynet fills it with [`ReportData::bind`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReportData(pub [u8; 64]);

impl ReportData {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ReportData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReportData({})", self.to_hex())
    }
}

/// keynet's 32-byte measurement digest: what governance approves per build. Defined per
/// platform in docs/PROTOCOL.md ("Measurement digests").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Measurement(pub [u8; 32]);

impl Measurement {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out).ok()?;
        Some(Measurement(out))
    }
}

impl fmt::Debug for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Measurement({})", self.to_hex())
    }
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Measurement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl Serialize for ReportData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn platform__should_round_trip_cli_names() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
        }
        assert_eq!(Platform::SevSnp.as_str(), "sev-snp");
        assert!("sev_snp".parse::<Platform>().is_err());
    }

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
