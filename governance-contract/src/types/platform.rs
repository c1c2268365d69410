//! Platform, vendor and TEE-family codes as the contract stores them, and the node
//! record's platform ([`NodePlatform`]).
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::fmt;
use std::str::FromStr;

use crate::errors::Error;

/// First code of the simulated labels (vendor and TEE family).
const SIMULATED_BASE: u8 = attestation_gate::types::SIMULATED_CODE_BASE;

pub use attestation_gate::{Platform, Vendor};

/// `platform`'s bit in the contract's `allowedPlatforms`: `1 << chain_code` (see
/// [`Platform::chain_code`]; simulated is bit 5, the contract's `PLATFORM_SIMULATED_BIT`).
pub fn platform_bit(platform: Platform) -> u32 {
    1u32 << platform.chain_code()
}

/// The `allowedPlatforms` mask of `platforms`.
pub fn platforms_mask(platforms: &[Platform]) -> u32 {
    platforms.iter().fold(0, |m, p| m | platform_bit(*p))
}

/// The platforms allowed by the `allowedPlatforms` mask `mask`.
pub fn platforms_from_mask(mask: u32) -> Vec<Platform> {
    Platform::ALL
        .into_iter()
        .filter(|p| mask & platform_bit(*p) != 0)
        .collect()
}

/// The name the CLI shows for a node's vendor: `intel`, `amd`, `aws`, or
/// `simulated-N` for the simulated vendor of chain index `N` (label `sim-N`).
pub fn vendor_name(vendor: &Vendor) -> String {
    match vendor.simulated_index() {
        Some(n) => format!("simulated-{n}"),
        None => vendor.to_string(),
    }
}

fn family_of(platform: Platform) -> TeeFamily {
    match platform {
        Platform::Tdx | Platform::Sgx | Platform::SevSnp => TeeFamily::MemoryEncryption,
        Platform::Nitro => TeeFamily::Hypervisor,
        // A hardware record never has it; a simulated record's family carries its label.
        _ => TeeFamily::Simulated(0),
    }
}

impl From<attestation_gate::UnknownCode> for Error {
    fn from(e: attestation_gate::UnknownCode) -> Self {
        Error::UnknownCode {
            field: e.field,
            value: e.code.into(),
        }
    }
}

/// A TEE family, for the optional family rule of DESIGN.md §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TeeFamily {
    /// Memory-encryption CPUs: SGX, TDX, SEV-SNP. Code 1.
    MemoryEncryption,
    /// Hypervisor-isolated: Nitro. Code 2.
    Hypervisor,
    /// A simulated family with label `0..=127`. Code `128 + label`.
    Simulated(u8),
}

impl TeeFamily {
    /// The on-chain code.
    pub fn code(self) -> u8 {
        match self {
            Self::MemoryEncryption => 1,
            Self::Hypervisor => 2,
            Self::Simulated(label) => SIMULATED_BASE | (label & 0x7f),
        }
    }
}

impl TryFrom<u8> for TeeFamily {
    type Error = Error;
    fn try_from(code: u8) -> Result<Self, Error> {
        match code {
            1 => Ok(Self::MemoryEncryption),
            2 => Ok(Self::Hypervisor),
            c if c >= SIMULATED_BASE => Ok(Self::Simulated(c & 0x7f)),
            c => Err(Error::UnknownCode {
                field: "tee_family",
                value: c.into(),
            }),
        }
    }
}

impl fmt::Display for TeeFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MemoryEncryption => f.write_str("memory-encryption"),
            Self::Hypervisor => f.write_str("hypervisor"),
            Self::Simulated(label) => write!(f, "simulated-{label}"),
        }
    }
}

/// A node's platform as its on-chain record holds it: a [`Platform`] and the [`Vendor`]
/// that follows from it (DESIGN.md §2; nobody declares a vendor), valid by construction.
/// Hardware platforms have their own vendor; a simulated platform carries the label
/// `0..=127` of its simulated vendor (`sim-N`, chain code `128 + N`).
///
/// It is not a second platform enum: the platforms are [`Platform`]'s, and the pairing
/// rule is [`Platform::node_code`] / [`Platform::from_node_code`]; this type only keeps a
/// pair that rule accepted, so record code, platform, vendor and family never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodePlatform {
    /// The record code (`registerNode`'s `platform`); first, so the order is the code's.
    code: u8,
    platform: Platform,
}

impl NodePlatform {
    /// The record of a node on the hardware `platform`, whose vendor follows from it;
    /// `None` for [`Platform::Simulated`] (see [`NodePlatform::simulated`]) and for
    /// platforms nodes do not run on.
    pub fn hardware(platform: Platform) -> Option<Self> {
        let code = platform.node_code(&platform.vendor()?)?;
        Some(Self { code, platform })
    }

    /// The record of a node on the simulated platform of vendor label `label`
    /// (`0..=127`; higher bits are dropped, as the chain code has 7 bits for it).
    pub fn simulated(label: u8) -> Self {
        Self {
            code: SIMULATED_BASE | (label & 0x7f),
            platform: Platform::Simulated,
        }
    }

    /// The on-chain code (`registerNode`'s `platform`).
    pub fn code(self) -> u8 {
        self.code
    }

    /// The platform of the evidence this node presents.
    pub fn platform(self) -> Platform {
        self.platform
    }

    /// The label of a simulated node's vendor (`N` of `sim-N`); `None` on hardware.
    pub fn simulated_label(self) -> Option<u8> {
        (self.platform == Platform::Simulated).then_some(self.code & 0x7f)
    }

    /// The vendor the contract derives: TDX, SGX -> Intel; SEV-SNP -> AMD; Nitro -> AWS;
    /// simulated-N -> [`Vendor::simulated`]`(N)`, the vendor labelled `sim-N`.
    pub fn vendor(self) -> Vendor {
        match self.simulated_label() {
            Some(label) => Vendor::simulated(label),
            None => self.platform.vendor().unwrap_or_else(|| {
                // Unreachable by construction: `hardware` only accepts platforms with a
                // vendor. Keep the derivation total rather than panic.
                Vendor::simulated(0)
            }),
        }
    }

    /// The TEE family the contract derives.
    pub fn family(self) -> TeeFamily {
        match self.simulated_label() {
            Some(label) => TeeFamily::Simulated(label),
            None => family_of(self.platform),
        }
    }
}

impl TryFrom<(Platform, &Vendor)> for NodePlatform {
    type Error = Error;
    /// The record code of a node with evidence of `platform` from `vendor`
    /// ([`Platform::node_code`]).
    fn try_from((platform, vendor): (Platform, &Vendor)) -> Result<Self, Error> {
        let code = platform
            .node_code(vendor)
            .ok_or_else(|| Error::UnknownName {
                field: "node platform",
                value: format!("{platform} from {vendor}"),
            })?;
        Ok(Self { code, platform })
    }
}

impl TryFrom<u8> for NodePlatform {
    type Error = Error;
    /// The code where it enters from the chain ([`Platform::from_node_code`]).
    fn try_from(code: u8) -> Result<Self, Error> {
        let (platform, _vendor) = Platform::from_node_code(code)?;
        Ok(Self { code, platform })
    }
}

impl fmt::Display for NodePlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.simulated_label() {
            Some(label) => write!(f, "simulated-{label}"),
            None => self.platform.fmt(f),
        }
    }
}

impl FromStr for NodePlatform {
    type Err = Error;
    /// `tdx`, `sgx`, `sev-snp`, `nitro`, `simulated` (label 0) or `simulated-N`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::UnknownName {
            field: "node platform",
            value: s.to_owned(),
        };
        match s.parse::<Platform>() {
            Ok(Platform::Simulated) => Ok(Self::simulated(0)),
            Ok(platform) => Self::hardware(platform).ok_or_else(bad),
            Err(_) => s
                .strip_prefix("simulated-")
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| *n < SIMULATED_BASE)
                .map(Self::simulated)
                .ok_or_else(bad),
        }
    }
}
