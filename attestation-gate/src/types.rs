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

/// An AMD EPYC product line with its own ARK (SEV-SNP). Each line lays out its TCB
/// version differently and has its own TCB floor in [`crate::Policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ProductLine {
    /// EPYC 7003 (Zen 3).
    Milan,
    /// EPYC 9004 (Zen 4).
    Genoa,
    /// EPYC 9005 (Zen 5).
    Turin,
}

impl ProductLine {
    /// Every product line, in a fixed order.
    pub const ALL: [ProductLine; 3] = [ProductLine::Milan, ProductLine::Genoa, ProductLine::Turin];

    /// `milan`, `genoa` or `turin`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductLine::Milan => "milan",
            ProductLine::Genoa => "genoa",
            ProductLine::Turin => "turin",
        }
    }

    /// A stable one-byte tag (cache keys).
    #[cfg_attr(not(feature = "sev_snp"), allow(dead_code))]
    pub(crate) fn tag(self) -> u8 {
        match self {
            ProductLine::Milan => 1,
            ProductLine::Genoa => 2,
            ProductLine::Turin => 3,
        }
    }
}

impl fmt::Display for ProductLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One security patch level (SPL) component of an SEV-SNP TCB version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SnpTcbComponent {
    /// SVN of the FMC firmware (Turin and later only).
    Fmc,
    /// SVN of the PSP bootloader.
    Bootloader,
    /// SVN of the PSP operating system (TEE).
    Tee,
    /// SVN of the SNP firmware.
    Snp,
    /// Lowest microcode patch level of all cores.
    Microcode,
}

impl SnpTcbComponent {
    /// `fmc`, `bootloader`, `tee`, `snp` or `microcode`.
    pub fn as_str(self) -> &'static str {
        match self {
            SnpTcbComponent::Fmc => "fmc",
            SnpTcbComponent::Bootloader => "bootloader",
            SnpTcbComponent::Tee => "tee",
            SnpTcbComponent::Snp => "snp",
            SnpTcbComponent::Microcode => "microcode",
        }
    }
}

impl fmt::Display for SnpTcbComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An SEV-SNP TCB version (SNP ABI spec 56860, `TCB_VERSION`), split into its SPLs.
///
/// Used both for a report's decoded REPORTED_TCB and for a policy floor
/// ([`crate::Policy::snp_minimum_tcb`]). The 8-byte little-endian layout differs per
/// product line: Milan and Genoa put BOOT_LOADER, TEE, (4 reserved), SNP, MICROCODE at
/// bytes 0, 1, 6, 7; Turin puts FMC, BOOT_LOADER, TEE, SNP, (3 reserved), MICROCODE at
/// bytes 0, 1, 2, 3, 7. `fmc` is only meaningful on Turin; in a floor for Milan or
/// Genoa it is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SnpTcb {
    /// FMC SPL (Turin only; 0 elsewhere).
    pub fmc: u8,
    /// PSP bootloader SPL.
    pub bootloader: u8,
    /// PSP OS (TEE) SPL.
    pub tee: u8,
    /// SNP firmware SPL.
    pub snp: u8,
    /// Microcode SPL.
    pub microcode: u8,
}

impl SnpTcb {
    /// A TCB version from its SPLs.
    pub fn new(fmc: u8, bootloader: u8, tee: u8, snp: u8, microcode: u8) -> SnpTcb {
        SnpTcb {
            fmc,
            bootloader,
            tee,
            snp,
            microcode,
        }
    }

    /// Decodes the 8-byte `TCB_VERSION` (as the little-endian u64 the report holds) in
    /// the layout of `line`.
    pub fn decode(line: ProductLine, tcb: u64) -> SnpTcb {
        let b = tcb.to_le_bytes();
        match line {
            ProductLine::Turin => SnpTcb::new(b[0], b[1], b[2], b[3], b[7]),
            ProductLine::Milan | ProductLine::Genoa => SnpTcb::new(0, b[0], b[1], b[6], b[7]),
        }
    }

    /// The components that apply to `line`, with their values, in check order.
    pub fn components(&self, line: ProductLine) -> Vec<(SnpTcbComponent, u8)> {
        let mut out = Vec::with_capacity(5);
        if line == ProductLine::Turin {
            out.push((SnpTcbComponent::Fmc, self.fmc));
        }
        out.extend([
            (SnpTcbComponent::Bootloader, self.bootloader),
            (SnpTcbComponent::Tee, self.tee),
            (SnpTcbComponent::Snp, self.snp),
            (SnpTcbComponent::Microcode, self.microcode),
        ]);
        out
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
