//! Offline evidence verification and measurement (CLI.md, "Attestation tools").
//!
//! The verification itself is `attestation-gate`'s; this module reads the files
//! (through [`files`]) and picks the verifiers. The time is an argument ([`wall_clock`] reads the clock for
//! callers that want now).

use std::path::Path;

use attestation_gate::detect::Detected;
use attestation_gate::simulated::{DevnetPublicKey, SimulatedVerifier};
use attestation_gate::{Claims, Collateral, RawClaims, UnixTime, Verifiers};

use super::error::{Error, Result};
use super::transport::files;

/// Verifies `evidence` (any encoding; platform detected) at `now`, trusting simulated
/// evidence only if signed by one of `simulated_keys` (devnet public keys).
pub fn verify(
    evidence: &[u8],
    collateral: &Collateral,
    now: UnixTime,
    simulated_keys: &[[u8; 32]],
) -> Result<(Detected, Claims)> {
    Ok(verifiers_with(simulated_keys)?.verify_any(evidence, collateral, now)?)
}

/// The measurement fields of `evidence`, NOT verified (to approve a build on chain).
pub fn measure(evidence: &[u8]) -> Result<(Detected, RawClaims)> {
    Ok(attestation_gate::measure::measure_unverified(evidence)?)
}

fn verifiers_with(simulated_keys: &[[u8; 32]]) -> Result<Verifiers> {
    let v = Verifiers::new();
    if simulated_keys.is_empty() {
        return Ok(v);
    }
    let keys = simulated_keys
        .iter()
        .map(DevnetPublicKey::from_bytes)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v.with_simulated(SimulatedVerifier::new(keys)))
}

/// Reads a file of at most 8 MiB; `what` names it in errors.
pub fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    files::read(path).map_err(|e| file_error(&e, &format!("{what} file {}", path.display())))
}

fn file_error(e: &std::io::Error, what: &str) -> Error {
    if e.kind() == std::io::ErrorKind::FileTooLarge {
        Error::BadInput(format!("{what} is larger than 8 MiB"))
    } else {
        Error::Io(format!("cannot read {what}: {e}"))
    }
}

/// Reads every regular file of `dir` (not recursively) into a [`Collateral`], keyed by
/// file name.
pub fn load_collateral(dir: &Path) -> Result<Collateral> {
    let what = format!("collateral folder {}", dir.display());
    let mut c = Collateral::new();
    for (name, bytes) in files::read_folder(dir).map_err(|e| file_error(&e, &what))? {
        c.insert(name, bytes);
    }
    Ok(c)
}

/// The system clock as a [`UnixTime`].
pub fn wall_clock() -> Result<UnixTime> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| UnixTime(d.as_secs()))
        .map_err(|_| Error::Clock("the system clock is before 1970".into()))
}

/// What `kms attest check` answers: would the network release keys to this evidence
/// for this application now, by the nodes' own rule chain
/// ([`governance_contract::release::release`]) at one pinned block.
#[derive(Debug)]
pub struct ReleaseCheck {
    /// The verdict: `Ok` or the rule that refuses.
    pub verdict: std::result::Result<(), governance_contract::release::Refusal>,
    /// The measurement digest approvals are looked up for.
    pub measurement: attestation_gate::Measurement,
    /// The evidence's platform (if it verified).
    pub platform: Option<attestation_gate::Platform>,
    /// The active epoch at the pinned block.
    pub epoch: u64,
    /// The pinned block.
    pub block: u64,
}

impl super::gov::GovClient {
    /// Verifies `evidence` (any encoding) at `now` and runs the key-release rules for
    /// `app_id` under the chain's policy and approvals, every read at the block one
    /// below the head (a node with confirmation depth 1 reads there). Simulated
    /// evidence is trusted only if signed by one of `simulated_keys`.
    pub async fn check_release(
        &self,
        evidence: &[u8],
        collateral: &Collateral,
        app_id: [u8; 32],
        now: UnixTime,
        simulated_keys: &[[u8; 32]],
    ) -> Result<ReleaseCheck> {
        use alloy::eips::BlockId;
        use alloy::providers::Provider;
        use governance_contract::release::{self, AppApproval, Refusal};

        let head = self
            .gov
            .provider()
            .get_block_number()
            .await
            .map_err(|e| super::transport::transport_error(&e))?;
        let block = head.saturating_sub(1);
        let at = BlockId::number(block);
        let chain_policy = self
            .gov
            .networkPolicy()
            .block(at)
            .call()
            .await
            .map_err(super::transport::call_error)?;
        let chain_policy = governance_contract::policy::OnChainPolicy::try_from(chain_policy)
            .map_err(|e| Error::ChainError(format!("bad network policy on chain: {e}")))?;
        let epoch = self
            .gov
            .activeCommittee()
            .block(at)
            .call()
            .await
            .map_err(super::transport::call_error)?
            .epoch;
        let claims = match verifiers_with(simulated_keys)?.verify_any(evidence, collateral, now) {
            Ok((_, claims)) => claims,
            Err(e) => {
                let measurement = measure(evidence)
                    .map(|(_, raw)| raw.measurement())
                    .unwrap_or(attestation_gate::Measurement([0; 32]));
                return Ok(ReleaseCheck {
                    verdict: Err(Refusal::Evidence(e)),
                    measurement,
                    platform: None,
                    epoch,
                    block,
                });
            }
        };
        let measurement = release::measurement(&claims, &chain_policy);
        let approved = self
            .gov
            .isApproved(app_id.into(), measurement.0.into())
            .block(at)
            .call()
            .await
            .map_err(super::transport::call_error)?;
        let approval = if approved {
            AppApproval::Approved
        } else {
            self.unapproved_status(app_id, measurement.0, block).await?
        };
        let platform = Some(claims.platform());
        let issued_at = claims.issued_at().unwrap_or(now);
        let verdict =
            release::release(claims, None, issued_at, &chain_policy, approval, now).map(|_| ());
        Ok(ReleaseCheck {
            verdict,
            measurement,
            platform,
            epoch,
            block,
        })
    }

    /// `UnknownApp`, `Revoked` (a `MeasurementRevoked` event up to `block`) or
    /// `NotApproved`, as the node tells them apart.
    async fn unapproved_status(
        &self,
        app_id: [u8; 32],
        measurement: [u8; 32],
        block: u64,
    ) -> Result<governance_contract::release::AppApproval> {
        use alloy::eips::BlockId;
        use alloy::providers::Provider;
        use alloy::rpc::types::Filter;
        use alloy::sol_types::SolEvent;
        use governance_contract::release::AppApproval;
        use governance_contract::Governance;

        if let Err(e) = self
            .gov
            .app(app_id.into())
            .block(BlockId::number(block))
            .call()
            .await
        {
            let unknown = governance_contract::decode_contract_error(&e)
                .is_some_and(|c| matches!(c.0, Governance::GovernanceErrors::UnknownApp(_)));
            if unknown {
                return Ok(AppApproval::UnknownApp);
            }
            return Err(super::transport::call_error(e));
        }
        let filter = Filter::new()
            .address(*self.gov.address())
            .event_signature(Governance::MeasurementRevoked::SIGNATURE_HASH)
            .topic1(alloy::primitives::FixedBytes::from(app_id))
            .topic2(alloy::primitives::FixedBytes::from(measurement))
            .from_block(0)
            .to_block(block);
        let logs = self
            .gov
            .provider()
            .get_logs(&filter)
            .await
            .map_err(|e| super::transport::transport_error(&e))?;
        Ok(if logs.is_empty() {
            AppApproval::NotApproved
        } else {
            AppApproval::Revoked
        })
    }
}
