//! The node's own evidence (DESIGN §5, §8): one piece binds its three keys
//! ([`attestation_gate::peer::node_report_data`], purpose `keynet/node/v1`), serves the
//! registration and every peer's admission, and is refreshed before the policy's
//! maximum age.
//!
//! Attesters: the platform devices of attestation-gate (configfs-tsm, `/dev/sev-guest`,
//! `/dev/nsm`) or, on a development network only, the simulator
//! ([`crate::config::SimulatedEnclave`]). The hardware paths are built and tested
//! against fake device trees in attestation-gate; they are untested on real hardware
//! (docs/OPERATOR.md). TDX without configfs-tsm needs the host's QGS and is refused.
//!
//! Collateral: a peer verifies evidence offline against collateral (DESIGN §5). DCAP
//! (TDX, SGX) collateral is not in the quote, so the node sends its own with the
//! evidence ([`PeerCollateral`], read from `attestation.collateral_dir` at every
//! attestation, so the operator can replace it without a restart). The peer's verifier
//! checks its signatures to the pinned Intel root and its age under the policy, so a
//! node cannot lie with it; at worst it gets itself refused.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use attestation_gate::attest::{nsm::Nsm, sev_guest::SevGuest, tsm::ConfigfsTsm, Attester};
use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester, SimulatedVerifier};
use attestation_gate::verifiers::Verifiers;
use attestation_gate::{Collateral, Platform, UnixTime};
use governance_contract::NodePlatform;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::identity::NodeKeys;
use crate::config::{AttestationConfig, Attester as AttesterKind};

/// Why the node cannot attest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The simulated attestation key file could not be read or is not 64 hex digits.
    #[error("simulated attestation key {path}: {reason}")]
    SimKey {
        /// The file.
        path: String,
        /// What is wrong (never the key).
        reason: String,
    },
    /// The platform device failed.
    #[error("attestation: {0}")]
    Device(#[from] attestation_gate::attest::AttestError),
    /// The platform is not one a node can register with.
    #[error("attestation: {0}")]
    Platform(String),
    /// The evidence could not be encoded for the wire.
    #[error("attestation: encoding the evidence: {0}")]
    Encode(String),
    /// `attestation.collateral_dir` could not be read, or holds no collateral file, or
    /// too much.
    #[error("attestation collateral {path}: {reason}")]
    Collateral {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The attester is configured but this build cannot use it.
    #[error("attestation: attester {0} is not supported by kms-node yet (TDX needs configfs-tsm: use attester = \"configfs-tsm\")")]
    Unsupported(AttesterKind),
}

/// Evidence as a node sends it to its peers (the `Hello` of the p2p layer): the
/// platform's bytes and what came alongside (the SEV-SNP certificate table, the node's
/// collateral).
///
/// CBOR map `{evidence: bstr, aux: null | bstr, collateral?: PeerCollateral}`; without
/// collateral the `collateral` key is left out, so such evidence encodes as before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerEvidence {
    /// The evidence in the platform's binary form.
    #[serde(with = "serde_bytes")]
    pub evidence: Vec<u8>,
    /// Extra bytes (configfs-tsm `auxblob`), if any.
    #[serde(with = "serde_bytes")]
    pub aux: Option<Vec<u8>>,
    /// The sender's collateral, if it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collateral: Option<PeerCollateral>,
}

/// The collateral format version this build sends and accepts.
pub const COLLATERAL_VERSION: u16 = 1;
/// Largest collateral accepted or sent, all files together, in bytes (a DCAP
/// `collateral.json` is 14-19 KiB; a CRL or a VCEK a few KiB).
pub const MAX_COLLATERAL_LEN: usize = 256 * 1024;

/// A collateral file a node may send, by its name in a collateral folder
/// (attestation-gate's `collateral` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CollateralFile {
    /// TDX/SGX: dcap-qvl's `QuoteCollateralV3` JSON.
    #[serde(rename = "collateral.json")]
    DcapJson,
    /// SEV-SNP: the VCEK certificate.
    #[serde(rename = "vcek.der")]
    Vcek,
    /// SEV-SNP: the VLEK certificate.
    #[serde(rename = "vlek.der")]
    Vlek,
    /// SEV-SNP: AMD's CRL.
    #[serde(rename = "crl.der")]
    SnpCrl,
}

impl CollateralFile {
    /// Every name, in the order files are read from a folder.
    pub const ALL: [CollateralFile; 4] = [Self::DcapJson, Self::Vcek, Self::Vlek, Self::SnpCrl];

    /// The file name (and the [`Collateral`] name).
    pub fn name(self) -> &'static str {
        match self {
            Self::DcapJson => "collateral.json",
            Self::Vcek => "vcek.der",
            Self::Vlek => "vlek.der",
            Self::SnpCrl => "crl.der",
        }
    }
}

/// One named file of [`PeerCollateral`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedCollateral {
    /// Which file.
    pub name: CollateralFile,
    /// Its bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// Collateral sent with evidence: `{version: 1, files: [{name, bytes}, …]}`, names from
/// [`CollateralFile`], each at most once, at most [`MAX_COLLATERAL_LEN`] bytes in all.
/// Untrusted: the receiver's verifier checks every signature and validity window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerCollateral {
    /// [`COLLATERAL_VERSION`].
    pub version: u16,
    /// The files.
    pub files: Vec<NamedCollateral>,
}

/// Why received evidence does not decode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not the CBOR shape of [`PeerEvidence`].
    #[error("{0}")]
    Wire(#[from] dkg::wire::DecodeError),
    /// Collateral of another format version.
    #[error("collateral version {0} is not supported (this node reads {COLLATERAL_VERSION})")]
    CollateralVersion(u16),
    /// The same collateral file twice.
    #[error("collateral file {0} appears twice")]
    DuplicateCollateral(&'static str),
    /// More collateral than [`MAX_COLLATERAL_LEN`].
    #[error("collateral of {len} bytes is over the {MAX_COLLATERAL_LEN}-byte limit")]
    CollateralTooLarge {
        /// Its size.
        len: usize,
    },
}

impl PeerCollateral {
    /// Checks the version, the names' uniqueness and the size bound.
    pub fn check(&self) -> Result<(), DecodeError> {
        if self.version != COLLATERAL_VERSION {
            return Err(DecodeError::CollateralVersion(self.version));
        }
        let mut seen = Vec::with_capacity(self.files.len());
        let mut len = 0usize;
        for f in &self.files {
            if seen.contains(&f.name) {
                return Err(DecodeError::DuplicateCollateral(f.name.name()));
            }
            seen.push(f.name);
            len = len.saturating_add(f.bytes.len());
        }
        if len > MAX_COLLATERAL_LEN {
            return Err(DecodeError::CollateralTooLarge { len });
        }
        Ok(())
    }

    /// The files as the verifier takes them.
    pub fn to_collateral(&self) -> Collateral {
        self.files
            .iter()
            .map(|f| (f.name.name().to_owned(), f.bytes.clone()))
            .collect()
    }

    /// Reads every [`CollateralFile`] present in `dir`. Refuses a folder that cannot be
    /// read, holds none of them, or holds more than [`MAX_COLLATERAL_LEN`] bytes.
    pub fn read_dir(dir: &Path) -> Result<Self, Error> {
        let fail = |path: &Path, reason: String| Error::Collateral {
            path: path.to_owned(),
            reason,
        };
        if !dir.is_dir() {
            return Err(fail(dir, "not a readable folder".into()));
        }
        let mut files = Vec::new();
        let mut left = MAX_COLLATERAL_LEN;
        for name in CollateralFile::ALL {
            let path = dir.join(name.name());
            let file = match fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(fail(&path, e.to_string())),
            };
            let mut bytes = Vec::new();
            let limit = u64::try_from(left).unwrap_or(u64::MAX).saturating_add(1);
            file.take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| fail(&path, e.to_string()))?;
            left = left.checked_sub(bytes.len()).ok_or_else(|| {
                fail(
                    dir,
                    format!("more than {MAX_COLLATERAL_LEN} bytes of collateral"),
                )
            })?;
            files.push(NamedCollateral { name, bytes });
        }
        if files.is_empty() {
            let names: Vec<&str> = CollateralFile::ALL.iter().map(|f| f.name()).collect();
            return Err(fail(dir, format!("holds none of {}", names.join(", "))));
        }
        Ok(Self {
            version: COLLATERAL_VERSION,
            files,
        })
    }
}

impl PeerEvidence {
    /// CBOR, bounded ([`dkg::wire`]).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        dkg::wire::encode(self).map_err(|e| Error::Encode(e.to_string()))
    }

    /// Decodes untrusted bytes (at most [`dkg::wire::MAX_MESSAGE_LEN`]); collateral is
    /// checked with [`PeerCollateral::check`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let pe: Self = dkg::wire::decode(bytes)?;
        if let Some(c) = &pe.collateral {
            c.check()?;
        }
        Ok(pe)
    }
}

enum Source {
    Simulated(Box<SimulatedAttester>),
    Device(Box<dyn Attester + Send + Sync>),
}

/// The node's attester and the verifiers it checks peers with.
pub struct NodeAttester {
    source: Source,
    platform: NodePlatform,
    verifiers: Verifiers,
    collateral_dir: Option<PathBuf>,
}

impl NodeAttester {
    /// The attester `config` names. With the simulator the node trusts exactly the
    /// devnet key it signs with.
    pub fn from_config(config: &AttestationConfig) -> Result<Self, Error> {
        if let Some(sim) = &config.simulated {
            let path = sim.key_file.display().to_string();
            let text =
                Zeroizing::new(
                    fs::read_to_string(&sim.key_file).map_err(|e| Error::SimKey {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?,
                );
            let mut seed = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(text.trim(), seed.as_mut_slice()).map_err(|_| Error::SimKey {
                path: path.clone(),
                reason: "must hold 64 hex digits".into(),
            })?;
            let key = DevnetSigningKey::from_seed(&seed);
            let public = key.public_key();
            let label = attestation_gate::Vendor::simulated(sim.vendor);
            let label = label.label().unwrap_or_default().to_owned();
            let attester = SimulatedAttester::new(key, &label, sim.measurement)
                .map_err(|e| Error::Platform(e.to_string()))?;
            return Ok(Self {
                source: Source::Simulated(Box::new(attester)),
                platform: NodePlatform::simulated(sim.vendor),
                verifiers: Verifiers::new().with_simulated(SimulatedVerifier::new([public])),
                collateral_dir: config.collateral_dir.clone(),
            });
        }
        let root = &config.device_root;
        let device: Box<dyn Attester + Send + Sync> = match config.attester {
            AttesterKind::ConfigfsTsm => Box::new(ConfigfsTsm::new(root)),
            AttesterKind::SevGuest => Box::new(SevGuest::new(root)),
            AttesterKind::Nitro => Box::new(Nsm::new(root)),
            other => return Err(Error::Unsupported(other)),
        };
        let platform = device
            .platform()
            .and_then(NodePlatform::hardware)
            .ok_or_else(|| {
                Error::Platform(format!(
                    "cannot tell the platform of attester {} ({:?})",
                    config.attester,
                    device.platform()
                ))
            })?;
        if let Some(dir) = &config.collateral_dir {
            // Refuse a wrong folder at start-up rather than at the first refresh.
            PeerCollateral::read_dir(dir)?;
        } else if matches!(platform.platform(), Platform::Tdx | Platform::Sgx) {
            tracing::warn!("attestation.collateral_dir is not set: peers cannot verify this node's DCAP evidence and will refuse it (collateral_missing)");
        }
        Ok(Self {
            source: Source::Device(device),
            platform,
            verifiers: Verifiers::new(),
            collateral_dir: config.collateral_dir.clone(),
        })
    }

    /// The platform the node registers with.
    pub fn platform(&self) -> NodePlatform {
        self.platform
    }

    /// Whether the evidence is simulated (no security).
    pub fn is_simulated(&self) -> bool {
        matches!(self.source, Source::Simulated(_))
    }

    /// The verifiers peers' evidence is checked with.
    pub fn verifiers(&self) -> &Verifiers {
        &self.verifiers
    }

    /// Evidence binding `keys`, made at `issued_at`, with the collateral currently in
    /// `attestation.collateral_dir` (if set).
    pub fn attest(&self, keys: &NodeKeys, issued_at: UnixTime) -> Result<PeerEvidence, Error> {
        let report_data = attestation_gate::peer::node_report_data(
            &keys.p2p_public(),
            &keys.noise_public(),
            &keys.signer_address(),
            issued_at,
        );
        self.attest_report_data(&report_data, issued_at)
    }

    /// Evidence carrying `report_data` (the app service's `node-identity` binding of
    /// the Noise static key), made at `issued_at`.
    pub fn attest_report_data(
        &self,
        report_data: &attestation_gate::ReportData,
        issued_at: UnixTime,
    ) -> Result<PeerEvidence, Error> {
        let collateral = self
            .collateral_dir
            .as_deref()
            .map(PeerCollateral::read_dir)
            .transpose()?;
        let e = match &self.source {
            Source::Simulated(a) => a.attest(report_data, issued_at),
            Source::Device(d) => d.attest(report_data)?,
        };
        Ok(PeerEvidence {
            evidence: e.bytes,
            aux: e.aux,
            collateral,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/attestation"
    );

    fn evidence(collateral: Option<PeerCollateral>) -> PeerEvidence {
        PeerEvidence {
            evidence: vec![1, 2, 3],
            aux: Some(vec![4]),
            collateral,
        }
    }

    fn file(name: CollateralFile, len: usize) -> NamedCollateral {
        NamedCollateral {
            name,
            bytes: vec![0x5a; len],
        }
    }

    #[test]
    fn peer_evidence__should_round_trip_with_and_without_collateral() {
        let bare = evidence(None);
        assert_eq!(PeerEvidence::decode(&bare.encode().unwrap()).unwrap(), bare);
        let with = evidence(Some(PeerCollateral {
            version: COLLATERAL_VERSION,
            files: vec![
                file(CollateralFile::Vcek, 10),
                file(CollateralFile::SnpCrl, 3),
            ],
        }));
        assert_eq!(PeerEvidence::decode(&with.encode().unwrap()).unwrap(), with);
        let c = with.collateral.unwrap().to_collateral();
        assert_eq!(c.names().collect::<Vec<_>>(), ["crl.der", "vcek.der"]);
    }

    #[test]
    fn peer_evidence__should_refuse_bad_collateral_with_a_typed_error() {
        let version = evidence(Some(PeerCollateral {
            version: 2,
            files: vec![file(CollateralFile::DcapJson, 1)],
        }));
        assert!(matches!(
            PeerEvidence::decode(&version.encode().unwrap()),
            Err(DecodeError::CollateralVersion(2))
        ));
        let twice = evidence(Some(PeerCollateral {
            version: COLLATERAL_VERSION,
            files: vec![file(CollateralFile::Vcek, 1), file(CollateralFile::Vcek, 2)],
        }));
        assert!(matches!(
            PeerEvidence::decode(&twice.encode().unwrap()),
            Err(DecodeError::DuplicateCollateral("vcek.der"))
        ));
        let big = evidence(Some(PeerCollateral {
            version: COLLATERAL_VERSION,
            files: vec![
                file(CollateralFile::Vcek, MAX_COLLATERAL_LEN / 2),
                file(CollateralFile::Vlek, MAX_COLLATERAL_LEN / 2 + 1),
            ],
        }));
        assert!(matches!(
            PeerEvidence::decode(&big.encode().unwrap()),
            Err(DecodeError::CollateralTooLarge { .. })
        ));
        assert!(matches!(
            PeerEvidence::decode(b"\xa1\x01\x02"),
            Err(DecodeError::Wire(_))
        ));
    }

    #[test]
    fn read_dir__should_read_the_known_files_and_refuse_an_empty_or_missing_folder() {
        let tdx = Path::new(FIXTURES).join("tdx/dcapqvl-v4-uptodate");
        let c = PeerCollateral::read_dir(&tdx).unwrap();
        assert_eq!(c.files.len(), 1);
        assert_eq!(c.files[0].name, CollateralFile::DcapJson);
        assert_eq!(
            c.files[0].bytes,
            fs::read(tdx.join("collateral.json")).unwrap()
        );
        c.check().unwrap();

        let empty = tempfile::tempdir().unwrap();
        let e = PeerCollateral::read_dir(empty.path()).unwrap_err();
        assert!(e.to_string().contains("holds none of"), "{e}");
        let e = PeerCollateral::read_dir(&empty.path().join("missing")).unwrap_err();
        assert!(e.to_string().contains("not a readable folder"), "{e}");

        fs::write(
            empty.path().join("vcek.der"),
            vec![0u8; MAX_COLLATERAL_LEN + 1],
        )
        .unwrap();
        let e = PeerCollateral::read_dir(empty.path()).unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
    }
}
