//! The collateral bundle: named files (certificates, CRLs, TCB info) a verifier needs
//! besides the evidence.
//!
//! Libraries take values, not paths (STYLE.md §7): the `kms` CLI and `kms-node` read a
//! folder laid out like `shared/fixtures/attestation/<platform>/<sample>/` into a
//! [`Collateral`] and pass it in. Names are the file names of that layout:
//!
//! | platform | names used |
//! |---|---|
//! | TDX, SGX | `collateral.json` (dcap-qvl `QuoteCollateralV3` JSON) |
//! | SEV-SNP | `vcek.der` or `vlek.der` (DER or PEM); an `ask_*.pem` is ignored: the ASK/ASVK and ARK come from the roots pinned in this crate |
//! | Nitro | none (the document carries its chain) |
//!
//! Pinned roots are compiled into the crate and never read from the bundle.

use std::collections::BTreeMap;

/// Named collateral files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collateral {
    files: BTreeMap<String, Vec<u8>>,
}

impl Collateral {
    /// An empty bundle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the file `name`.
    pub fn insert(&mut self, name: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(name.into(), bytes.into());
    }

    /// Builder form of [`Collateral::insert`].
    pub fn with(mut self, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        self.insert(name, bytes);
        self
    }

    /// The file `name`, if present.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    /// The file names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Whether the bundle is empty.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl FromIterator<(String, Vec<u8>)> for Collateral {
    fn from_iter<I: IntoIterator<Item = (String, Vec<u8>)>>(iter: I) -> Self {
        Collateral {
            files: iter.into_iter().collect(),
        }
    }
}
