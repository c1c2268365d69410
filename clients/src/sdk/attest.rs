//! Offline evidence verification and measurement (CLI.md, "Attestation tools").
//!
//! The verification itself is `attestation-gate`'s; this module reads the files and
//! picks the verifiers. The time is an argument ([`wall_clock`] reads the clock for
//! callers that want now).

use std::path::Path;

use attestation_gate::detect::Detected;
use attestation_gate::simulated::{DevnetPublicKey, SimulatedVerifier};
use attestation_gate::{Claims, Collateral, RawClaims, UnixTime, Verifiers};

use super::error::{Error, Result};

/// Largest file read (evidence or collateral item).
const MAX_FILE: u64 = 8 << 20;

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
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::Io(format!("cannot read {what} file {}: {e}", path.display())))?;
    if meta.len() > MAX_FILE {
        return Err(Error::BadInput(format!(
            "{what} file {} is larger than 8 MiB",
            path.display()
        )));
    }
    std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read {what} file {}: {e}", path.display())))
}

/// Reads every regular file of `dir` (not recursively) into a [`Collateral`], keyed by
/// file name.
pub fn load_collateral(dir: &Path) -> Result<Collateral> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Io(format!(
            "cannot read collateral folder {}: {e}",
            dir.display()
        ))
    })?;
    let mut c = Collateral::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::Io(e.to_string()))?;
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if !is_file {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let bytes = read_file(&entry.path(), "collateral")?;
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
