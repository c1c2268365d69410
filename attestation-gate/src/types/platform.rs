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

/// The governance contract's codes for platforms and vendors (PROTOCOL.md, "Chain
/// codes"). The mapping lives here, next to the enums, so every crate that reads the
/// chain decodes a code the same way.
impl Platform {
    /// The platform's chain code: 1 tdx, 2 sgx, 3 sev-snp, 4 nitro, 5 simulated. It is
    /// the bit index in the contract's `allowedPlatforms`, and for the hardware
    /// platforms also the node-record platform code (a simulated node's record code is
    /// `128 + N` instead, see [`Platform::from_node_code`]).
    pub fn chain_code(self) -> u8 {
        match self {
            Platform::Tdx => 1,
            Platform::Sgx => 2,
            Platform::SevSnp => 3,
            Platform::Nitro => 4,
            Platform::Simulated => 5,
        }
    }

    /// The platform of chain code `code` (the inverse of [`Platform::chain_code`]).
    pub fn from_chain_code(code: u8) -> Result<Platform, UnknownCode> {
        Platform::ALL
            .into_iter()
            .find(|p| p.chain_code() == code)
            .ok_or(UnknownCode {
                field: "platform",
                code,
            })
    }

    /// The platform and vendor of a node-record platform code: 1 tdx and 2 sgx (Intel),
    /// 3 sev-snp (AMD), 4 nitro (AWS), `128 + N` simulated with vendor
    /// [`Vendor::simulated`]`(N)`.
    pub fn from_node_code(code: u8) -> Result<(Platform, Vendor), UnknownCode> {
        if code >= SIMULATED_CODE_BASE {
            return Ok((Platform::Simulated, Vendor::simulated(code & 0x7f)));
        }
        let unknown = UnknownCode {
            field: "node platform",
            code,
        };
        let platform = Platform::from_chain_code(code).map_err(|_| unknown)?;
        let vendor = platform.vendor().ok_or(unknown)?;
        Ok((platform, vendor))
    }

    /// The node-record platform code of a node with this platform and `vendor`; `None`
    /// when the pair has none (a hardware platform with another vendor than its own, or
    /// a simulated vendor whose label is not `sim-N`).
    pub fn node_code(self, vendor: &Vendor) -> Option<u8> {
        match self.vendor() {
            Some(own) => (own == *vendor).then(|| self.chain_code()),
            None => vendor.simulated_index().map(|n| SIMULATED_CODE_BASE | n),
        }
    }
}

/// First chain code of the simulated vendors and node platforms: `128 + N`.
pub const SIMULATED_CODE_BASE: u8 = 0x80;

/// Prefix of every simulated vendor label; the label of chain index `N` is `sim-N`.
pub const SIMULATED_LABEL_PREFIX: &str = "sim-";

/// A chain code that names no known platform or vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown {field} code {code}")]
pub struct UnknownCode {
    /// What the code was for (`platform`, `node platform`, `vendor`).
    pub field: &'static str,
    /// The code.
    pub code: u8,
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

    /// The simulated vendor of chain index `n` (`0..=127`; higher bits are dropped):
    /// label `sim-N`, `N` in decimal without leading zeros.
    pub fn simulated(n: u8) -> Vendor {
        Vendor::Simulated(format!("{SIMULATED_LABEL_PREFIX}{}", n & 0x7f))
    }

    /// The chain index `N` of a simulated vendor labelled exactly `sim-N` (the form
    /// [`Vendor::simulated`] writes); `None` for any other vendor or label.
    pub fn simulated_index(&self) -> Option<u8> {
        let digits = self.label()?.strip_prefix(SIMULATED_LABEL_PREFIX)?;
        let n = digits.parse::<u8>().ok()?;
        (n < SIMULATED_CODE_BASE && n.to_string() == digits).then_some(n)
    }

    /// The vendor's chain code: 1 intel, 2 amd, 3 aws, `128 + N` for `sim-N`; `None`
    /// for a simulated label of another form.
    pub fn code(&self) -> Option<u8> {
        match self {
            Vendor::Intel => Some(1),
            Vendor::Amd => Some(2),
            Vendor::Aws => Some(3),
            Vendor::Simulated(_) => self.simulated_index().map(|n| SIMULATED_CODE_BASE | n),
        }
    }

    /// The vendor of chain code `code` (the inverse of [`Vendor::code`]).
    pub fn from_code(code: u8) -> Result<Vendor, UnknownCode> {
        match code {
            1 => Ok(Vendor::Intel),
            2 => Ok(Vendor::Amd),
            3 => Ok(Vendor::Aws),
            c if c >= SIMULATED_CODE_BASE => Ok(Vendor::simulated(c)),
            c => Err(UnknownCode {
                field: "vendor",
                code: c,
            }),
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

    #[test]
    fn chain_codes__should_round_trip_platforms_and_vendors() {
        for p in Platform::ALL {
            assert_eq!(Platform::from_chain_code(p.chain_code()).unwrap(), p);
        }
        assert_eq!(Platform::Simulated.chain_code(), 5);
        for bad in [0u8, 6, 0x80] {
            assert!(Platform::from_chain_code(bad).is_err());
        }
        for v in [
            Vendor::Intel,
            Vendor::Amd,
            Vendor::Aws,
            Vendor::simulated(0),
            Vendor::simulated(127),
        ] {
            assert_eq!(Vendor::from_code(v.code().unwrap()).unwrap(), v);
        }
        assert_eq!(
            Vendor::from_code(0x83).unwrap(),
            Vendor::Simulated("sim-3".into())
        );
        for bad in [0u8, 4, 127] {
            assert!(Vendor::from_code(bad).is_err());
        }
    }

    #[test]
    fn simulated_index__should_accept_only_the_canonical_sim_n_label() {
        let sim = |l: &str| Vendor::Simulated(l.to_owned());
        assert_eq!(sim("sim-2").simulated_index(), Some(2));
        assert_eq!(sim("sim-127").simulated_index(), Some(127));
        for bad in ["2", "sim-02", "sim-128", "sim-intel", "sim-", "simulated-2"] {
            assert_eq!(sim(bad).simulated_index(), None, "{bad}");
            assert_eq!(sim(bad).code(), None, "{bad}");
        }
        assert_eq!(Vendor::Intel.simulated_index(), None);
    }

    #[test]
    fn node_code__should_pair_platform_and_vendor_both_ways() {
        for (code, p, v) in [
            (1u8, Platform::Tdx, Vendor::Intel),
            (2, Platform::Sgx, Vendor::Intel),
            (3, Platform::SevSnp, Vendor::Amd),
            (4, Platform::Nitro, Vendor::Aws),
            (0x83, Platform::Simulated, Vendor::simulated(3)),
        ] {
            assert_eq!(Platform::from_node_code(code).unwrap(), (p, v.clone()));
            assert_eq!(p.node_code(&v), Some(code));
        }
        // 5 is simulated's allowed-platforms bit, not a node code.
        for bad in [0u8, 5, 127] {
            assert!(Platform::from_node_code(bad).is_err());
        }
        assert_eq!(Platform::Tdx.node_code(&Vendor::Amd), None);
        assert_eq!(Platform::Simulated.node_code(&Vendor::Intel), None);
        assert_eq!(
            Platform::Simulated.node_code(&Vendor::Simulated("sim-intel".into())),
            None
        );
    }
}
