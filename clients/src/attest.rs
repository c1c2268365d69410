//! `kms attest verify` and `kms attest measure` (CLI.md, "Attestation tools").
//!
//! The verification itself is `attestation-gate`'s; this module reads the files, picks
//! the time (the CLI may read the clock, the library may not) and renders the result.

use std::path::{Path, PathBuf};

use attestation_gate::detect::Detected;
use attestation_gate::simulated::{DevnetPublicKey, SimulatedVerifier};
use attestation_gate::{Claims, Collateral, Error, UnixTime, Verifiers};
use clap::{Args, Subcommand};

use crate::cli::{emit, CliError};

/// `kms attest …`
#[derive(Debug, Args)]
pub struct AttestArgs {
    #[command(subcommand)]
    command: AttestCommand,
}

#[derive(Debug, Subcommand)]
enum AttestCommand {
    /// Verify evidence offline against pinned roots and print its normalised claims.
    Verify {
        /// The evidence: raw bytes, hex or base64 text, or CBOR; platform detected.
        #[arg(long, value_name = "FILE")]
        evidence: PathBuf,
        /// A folder of collateral laid out like shared/fixtures/attestation samples
        /// (collateral.json for TDX/SGX, vcek.der or vlek.der for SEV-SNP).
        #[arg(long, value_name = "DIR")]
        collateral: Option<PathBuf>,
        /// Verification time, RFC 3339 (e.g. 2025-07-01T00:00:00Z); default: now.
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        /// Trust simulated evidence signed by this devnet public key (hex, 32 bytes).
        /// Repeatable. Without it simulated evidence is refused.
        #[arg(long = "simulated-key", value_name = "HEX")]
        simulated_keys: Vec<String>,
    },
    /// Print the 32-byte measurement digest of evidence, to approve on chain. Does not
    /// verify the evidence.
    Measure {
        /// The evidence (any encoding `verify` accepts).
        #[arg(long, value_name = "FILE")]
        evidence: PathBuf,
    },
}

/// Runs `kms attest …`.
pub fn run(args: &AttestArgs, json: bool) -> Result<(), CliError> {
    match &args.command {
        AttestCommand::Verify {
            evidence,
            collateral,
            at,
            simulated_keys,
        } => {
            let input = read_file(evidence, "evidence")?;
            let collateral = match collateral {
                Some(dir) => load_collateral(dir)?,
                None => Collateral::new(),
            };
            let now = match at {
                Some(s) => parse_time(s)?,
                None => wall_clock()?,
            };
            let verifiers = verifiers_with(simulated_keys)?;
            let (detected, claims) = verifiers
                .verify_any(&input, &collateral, now)
                .map_err(gate_error)?;
            let value = verify_json(&detected, &claims, now);
            emit(json, &value, &verify_text(&detected, &claims, now));
            Ok(())
        }
        AttestCommand::Measure { evidence } => {
            let input = read_file(evidence, "evidence")?;
            let (detected, raw) =
                attestation_gate::measure::measure_unverified(&input).map_err(gate_error)?;
            let m = raw.measurement().to_hex();
            let value = serde_json::json!({
                "platform": detected.platform,
                "encoding": detected.encoding.as_str(),
                "measurement": m,
                "verified": false,
                "raw": raw.to_hex_map(),
            });
            emit(json, &value, &m);
            Ok(())
        }
    }
}

/// The `verify --json` object of CLI.md: `platform, vendor, measurement, report_data,
/// debug, tcb_status, raw{…}`, plus `encoding`, `verified_at`, `issued_at`,
/// `valid_from`, `valid_until` (and `vendor_label` for simulated evidence).
pub fn verify_json(detected: &Detected, claims: &Claims, now: UnixTime) -> serde_json::Value {
    let mut v = serde_json::to_value(claims).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("encoding".into(), detected.encoding.as_str().into());
        obj.insert("verified_at".into(), now.0.into());
    }
    v
}

fn verify_text(detected: &Detected, claims: &Claims, now: UnixTime) -> String {
    let mut out = format!(
        "genuine {} evidence ({} encoding), verified at {}\n",
        claims.platform(),
        detected.encoding.as_str(),
        now.0
    );
    let mut line = |k: &str, v: String| out.push_str(&format!("  {k:<14} {v}\n"));
    line("vendor", claims.vendor().to_string());
    line("measurement", claims.measurement().to_hex());
    line(
        "report_data",
        claims
            .report_data()
            .map(|r| r.to_hex())
            .unwrap_or_else(|| "(none)".into()),
    );
    line("debug", claims.debug().to_string());
    line(
        "tcb_status",
        claims
            .tcb_status()
            .map(|t| t.to_string())
            .unwrap_or_else(|| "(none)".into()),
    );
    if let Some(v) = claims.validity() {
        line("valid", format!("{} .. {}", v.not_before.0, v.not_after.0));
    }
    for (k, v) in claims.raw().to_hex_map() {
        line(k, v.unwrap_or_else(|| "(none)".into()));
    }
    if claims.debug() {
        out.push_str("  WARNING: debug mode; keynet policy refuses it\n");
    }
    out.trim_end().to_owned()
}

fn verifiers_with(simulated_keys: &[String]) -> Result<Verifiers, CliError> {
    let v = Verifiers::new();
    if simulated_keys.is_empty() {
        return Ok(v);
    }
    let keys = simulated_keys
        .iter()
        .map(|k| {
            let bytes: [u8; 32] = hex::decode(k.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    CliError::new("bad_input", "--simulated-key must be 64 hex digits")
                })?;
            DevnetPublicKey::from_bytes(&bytes).map_err(gate_error)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v.with_simulated(SimulatedVerifier::new(keys)))
}

/// Maps a verification error to the CLI error contract (its `kind()` is the kind).
pub fn gate_error(e: Error) -> CliError {
    let message = match &e {
        Error::Expired { .. } | Error::NotYetValid { .. } => {
            format!("{e}; pass --at with a time inside the evidence's validity window")
        }
        Error::MissingCollateral { .. } => {
            format!("{e}; pass --collateral with the folder holding it")
        }
        _ => e.to_string(),
    };
    CliError::new(e.kind(), message)
}

/// Largest file read (evidence or collateral item).
const MAX_FILE: u64 = 8 << 20;

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, CliError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        CliError::new(
            "io",
            format!("cannot read {what} file {}: {e}", path.display()),
        )
    })?;
    if meta.len() > MAX_FILE {
        return Err(CliError::new(
            "bad_input",
            format!("{what} file {} is larger than 8 MiB", path.display()),
        ));
    }
    std::fs::read(path).map_err(|e| {
        CliError::new(
            "io",
            format!("cannot read {what} file {}: {e}", path.display()),
        )
    })
}

/// Reads every regular file of `dir` (not recursively) into a [`Collateral`], keyed by
/// file name.
pub fn load_collateral(dir: &Path) -> Result<Collateral, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CliError::new(
            "io",
            format!("cannot read collateral folder {}: {e}", dir.display()),
        )
    })?;
    let mut c = Collateral::new();
    for entry in entries {
        let entry = entry.map_err(|e| CliError::new("io", e.to_string()))?;
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

/// Parses `--at`: RFC 3339 (`2025-07-01T00:00:00Z`, offsets allowed), or `@<unix seconds>`.
pub fn parse_time(s: &str) -> Result<UnixTime, CliError> {
    let bad = || {
        CliError::new(
            "bad_input",
            format!("--at {s:?} is not an RFC 3339 time such as 2025-07-01T00:00:00Z"),
        )
    };
    if let Some(secs) = s.strip_prefix('@') {
        return secs.parse().map(UnixTime).map_err(|_| bad());
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad())?;
    u64::try_from(t.unix_timestamp())
        .map(UnixTime)
        .map_err(|_| bad())
}

fn wall_clock() -> Result<UnixTime, CliError> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| UnixTime(d.as_secs()))
        .map_err(|_| CliError::new("clock", "the system clock is before 1970"))
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn parse_time__should_read_rfc3339_and_unix_seconds() {
        assert_eq!(
            parse_time("2025-07-01T00:00:00Z").unwrap(),
            UnixTime(1751328000)
        );
        assert_eq!(
            parse_time("2025-07-01T02:00:00+02:00").unwrap(),
            UnixTime(1751328000)
        );
        assert_eq!(parse_time("@1751328000").unwrap(), UnixTime(1751328000));
        assert_eq!(parse_time("yesterday").unwrap_err().kind, "bad_input");
        assert_eq!(
            parse_time("1960-01-01T00:00:00Z").unwrap_err().kind,
            "bad_input"
        );
    }
}
