//! Which TEE platform evidence comes from, and which vendor vouches for it.

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
}
