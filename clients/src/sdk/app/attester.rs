//! Where the application's evidence comes from (`--attester`): the real attesters of
//! `attestation-gate` (configfs-tsm, `/dev/sev-guest`, the Nitro NSM) or the simulator.
//!
//! The simulator signs with a devnet's key and is for development only: the SDK builds
//! it only from a devnet's key file ([`AppAttester::simulated_from_devnet`]), and the
//! nodes refuse its evidence unless the chain's policy allows the simulated platform.
//!
//! The evidence binds the application's fresh Noise static key (DESIGN §5:
//! `report_data = SHA-512("keynet/evidence/v1" || purpose || key || issued_at)`), so a
//! copy is useless without that key.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use attestation_gate::attest::{self, Attester};
use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester};
use attestation_gate::UnixTime;
use kms_api::{EvidencePayload, SessionPurpose};
use zeroize::Zeroizing;

use super::error::AppError;
use crate::sdk::devnet::DevnetDir;
use crate::sdk::error::{Error, Result};
use crate::sdk::transport::files;

/// The vendor label of the application's simulated evidence.
pub const SIMULATED_APP_LABEL: &str = "sim-app";

/// `--attester`: which attester produces the application's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttesterKind {
    /// Whatever device exists (configfs-tsm first, then sev-guest, then the NSM).
    Auto,
    /// Linux configfs-tsm (`/sys/kernel/config/tsm/report`): TDX or SEV-SNP.
    ConfigfsTsm,
    /// `/dev/sev-guest`.
    SevGuest,
    /// `/dev/tdx_guest` (needs the host's quote generation service).
    TdxGuest,
    /// The Nitro NSM (`/dev/nsm`).
    Nitro,
    /// The devnet simulator (no security; devnet only).
    Simulated,
}

impl AttesterKind {
    /// Every kind, as `--attester` lists them.
    pub const ALL: [AttesterKind; 6] = [
        AttesterKind::Auto,
        AttesterKind::ConfigfsTsm,
        AttesterKind::SevGuest,
        AttesterKind::TdxGuest,
        AttesterKind::Nitro,
        AttesterKind::Simulated,
    ];

    /// The CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttesterKind::Auto => "auto",
            AttesterKind::ConfigfsTsm => "configfs-tsm",
            AttesterKind::SevGuest => "sev-guest",
            AttesterKind::TdxGuest => "tdx-guest",
            AttesterKind::Nitro => "nitro",
            AttesterKind::Simulated => "simulated",
        }
    }
}

impl fmt::Display for AttesterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AttesterKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::BadInput(format!(
                    "--attester {s:?}: expected one of auto, configfs-tsm, sev-guest, tdx-guest, nitro, simulated"
                ))
            })
    }
}

enum Source {
    Device(Box<dyn Attester>),
    Simulated(Box<SimulatedAttester>),
}

/// Produces the application's evidence.
pub struct AppAttester {
    source: Source,
}

impl fmt::Debug for AppAttester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppAttester")
            .field("simulated", &self.is_simulated())
            .finish_non_exhaustive()
    }
}

impl AppAttester {
    /// A hardware attester of `kind` for the devices under `root` (`/` in production).
    /// `Simulated` is refused here (`simulated_not_allowed`): use
    /// [`AppAttester::simulated_from_devnet`].
    pub fn device(kind: AttesterKind, root: &Path) -> Result<Self> {
        let unavailable = |e: attest::AttestError| -> Error {
            AppError::AttesterUnavailable(format!("attester {kind}: {e}")).into()
        };
        let device: Box<dyn Attester> = match kind {
            AttesterKind::Auto => attest::auto(root).map_err(unavailable)?,
            AttesterKind::ConfigfsTsm => Box::new(attest::tsm::ConfigfsTsm::new(root)),
            AttesterKind::SevGuest => Box::new(attest::sev_guest::SevGuest::new(root)),
            AttesterKind::Nitro => Box::new(attest::nsm::Nsm::new(root)),
            AttesterKind::TdxGuest => {
                return Err(AppError::AttesterUnavailable(
                    "attester tdx-guest: /dev/tdx_guest gives only a local TDREPORT and this build has no transport to the host's quote generation service; use --attester configfs-tsm (a kernel with CONFIG_TSM_REPORTS)".into(),
                )
                .into())
            }
            AttesterKind::Simulated => {
                return Err(AppError::SimulatedNotAllowed(
                    "the simulated attester needs a devnet (--devnet DIR) and --sim-measurement HEX".into(),
                )
                .into())
            }
        };
        Ok(Self {
            source: Source::Device(device),
        })
    }

    /// The simulator, signing with the devnet's simulated-attestation key
    /// (`D/keys/sim-attester.key`) for a build whose image digest is `image`
    /// (`--sim-measurement`). Evidence from it has no security.
    pub fn simulated_from_devnet(devnet: &Path, image: [u8; 32]) -> Result<Self> {
        let path = DevnetDir::new(devnet).sim_key();
        let key = read_seed(&path)?;
        Self::simulated(&key, image)
    }

    /// The simulator with the devnet seed `seed`.
    pub fn simulated(seed: &[u8; 32], image: [u8; 32]) -> Result<Self> {
        let key = DevnetSigningKey::from_seed(seed);
        let attester = SimulatedAttester::new(key, SIMULATED_APP_LABEL, image)
            .map_err(|e| Error::Internal(format!("simulated attester: {e}")))?;
        Ok(Self {
            source: Source::Simulated(Box::new(attester)),
        })
    }

    /// Whether the evidence is simulated (no security).
    pub fn is_simulated(&self) -> bool {
        matches!(self.source, Source::Simulated(_))
    }

    /// Evidence for `purpose` binding the Noise static key `noise_static_key`, made at
    /// `issued_at`.
    pub fn evidence(
        &self,
        purpose: SessionPurpose,
        noise_static_key: &[u8; 32],
        issued_at: UnixTime,
    ) -> Result<EvidencePayload> {
        let report_data = purpose.report_data(noise_static_key, issued_at);
        let e = match &self.source {
            Source::Simulated(a) => a.attest(&report_data, issued_at),
            Source::Device(d) => d
                .attest(&report_data)
                .map_err(|e| AppError::AttestFailed(format!("the attester failed: {e}")))?,
        };
        Ok(EvidencePayload {
            platform: e.platform,
            noise_static_key: *noise_static_key,
            issued_at: issued_at.0,
            evidence: e.bytes,
            aux: e.aux,
        })
    }
}

/// Reads a devnet seed file (64 hex digits).
fn read_seed(path: &Path) -> Result<Zeroizing<[u8; 32]>> {
    let text = Zeroizing::new(files::read_text(path).map_err(|e| {
        AppError::SimulatedNotAllowed(format!(
            "the simulated attester needs the devnet's key {}: {e}",
            path.display()
        ))
    })?);
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), seed.as_mut_slice())
        .map_err(|_| Error::BadDevnet(format!("{} must hold 64 hex digits", path.display())))?;
    Ok(seed)
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use attestation_gate::simulated::SimulatedVerifier;
    use attestation_gate::{Collateral, Purpose, Verifiers};

    use super::*;

    #[test]
    fn attester_kind__should_parse_every_cli_name_and_refuse_others() {
        for k in AttesterKind::ALL {
            assert_eq!(k.as_str().parse::<AttesterKind>().unwrap(), k);
        }
        let e = "sgx".parse::<AttesterKind>().unwrap_err();
        assert_eq!(e.kind(), "bad_input");
    }

    #[test]
    fn device__should_refuse_simulated_and_name_a_missing_device() {
        let root = std::env::temp_dir().join(format!("kms-app-attester-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let e = AppAttester::device(AttesterKind::Simulated, &root).unwrap_err();
        assert_eq!(e.kind(), "simulated_not_allowed");
        let e = AppAttester::device(AttesterKind::Auto, &root).unwrap_err();
        assert_eq!(e.kind(), "attester_unavailable");
        let e = AppAttester::device(AttesterKind::TdxGuest, &root).unwrap_err();
        assert_eq!(e.kind(), "attester_unavailable");
        // A named device that is absent fails when asked for evidence, with its kind.
        let a = AppAttester::device(AttesterKind::SevGuest, &root).unwrap();
        let e = a
            .evidence(SessionPurpose::Derive, &[1; 32], UnixTime(1))
            .unwrap_err();
        assert_eq!(e.kind(), "attest_failed");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn simulated_evidence__should_bind_the_purpose_and_the_noise_key() {
        let seed = [7u8; 32];
        let a = AppAttester::simulated(&seed, [9; 32]).unwrap();
        assert!(a.is_simulated());
        let key = [5u8; 32];
        let p = a
            .evidence(SessionPurpose::Derive, &key, UnixTime(1_000))
            .unwrap();
        assert_eq!(
            (p.platform, p.noise_static_key, p.issued_at),
            (attestation_gate::Platform::Simulated, key, 1_000)
        );
        let verifiers =
            Verifiers::new()
                .with_simulated(SimulatedVerifier::new([
                    DevnetSigningKey::from_seed(&seed).public_key()
                ]));
        let (_, claims) = verifiers
            .verify_any(&p.evidence, &Collateral::new(), UnixTime(1_000))
            .unwrap();
        let bound =
            attestation_gate::ReportData::bind(Purpose::AppKeyRequest, &key, UnixTime(1_000));
        assert_eq!(claims.report_data(), Some(&bound));
        let other =
            attestation_gate::ReportData::bind(Purpose::AppSignRequest, &key, UnixTime(1_000));
        assert_ne!(claims.report_data(), Some(&other));
    }
}
