//! SEV-SNP product lines and TCB versions.

use std::fmt;

use serde::{Deserialize, Serialize};

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
