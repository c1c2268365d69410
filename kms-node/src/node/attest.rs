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

use std::fs;

use attestation_gate::attest::{nsm::Nsm, sev_guest::SevGuest, tsm::ConfigfsTsm, Attester};
use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester, SimulatedVerifier};
use attestation_gate::verifiers::Verifiers;
use attestation_gate::{Platform, UnixTime};
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
    /// The attester is configured but this build cannot use it.
    #[error("attestation: attester {0} is not supported by kms-node yet (TDX needs configfs-tsm: use attester = \"configfs-tsm\")")]
    Unsupported(AttesterKind),
}

/// Evidence as a node sends it to its peers (the `Hello` of the p2p layer): the
/// platform's bytes and what came alongside (the SEV-SNP certificate table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerEvidence {
    /// The evidence in the platform's binary form.
    #[serde(with = "serde_bytes")]
    pub evidence: Vec<u8>,
    /// Extra bytes (configfs-tsm `auxblob`), if any.
    #[serde(with = "serde_bytes")]
    pub aux: Option<Vec<u8>>,
}

impl PeerEvidence {
    /// CBOR, bounded ([`dkg::wire`]).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        dkg::wire::encode(self).map_err(|e| Error::Encode(e.to_string()))
    }

    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, dkg::wire::DecodeError> {
        dkg::wire::decode(bytes)
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
                platform: NodePlatform::Simulated(sim.vendor),
                verifiers: Verifiers::new().with_simulated(SimulatedVerifier::new([public])),
            });
        }
        let root = &config.device_root;
        let device: Box<dyn Attester + Send + Sync> = match config.attester {
            AttesterKind::ConfigfsTsm => Box::new(ConfigfsTsm::new(root)),
            AttesterKind::SevGuest => Box::new(SevGuest::new(root)),
            AttesterKind::Nitro => Box::new(Nsm::new(root)),
            other => return Err(Error::Unsupported(other)),
        };
        let platform = match device.platform() {
            Some(Platform::Tdx) => NodePlatform::Tdx,
            Some(Platform::SevSnp) => NodePlatform::SevSnp,
            Some(Platform::Nitro) => NodePlatform::Nitro,
            Some(Platform::Sgx) => NodePlatform::Sgx,
            other => {
                return Err(Error::Platform(format!(
                    "cannot tell the platform of attester {} ({other:?})",
                    config.attester
                )))
            }
        };
        Ok(Self {
            source: Source::Device(device),
            platform,
            verifiers: Verifiers::new(),
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

    /// Evidence binding `keys`, made at `issued_at`.
    pub fn attest(&self, keys: &NodeKeys, issued_at: UnixTime) -> Result<PeerEvidence, Error> {
        let report_data = attestation_gate::peer::node_report_data(
            &keys.p2p_public(),
            &keys.noise_public(),
            &keys.signer_address(),
            issued_at,
        );
        match &self.source {
            Source::Simulated(a) => Ok(PeerEvidence {
                evidence: a.attest(&report_data, issued_at),
                aux: None,
            }),
            Source::Device(d) => {
                let e = d.attest(&report_data)?;
                Ok(PeerEvidence {
                    evidence: e.bytes,
                    aux: e.aux,
                })
            }
        }
    }
}
