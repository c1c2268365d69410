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
