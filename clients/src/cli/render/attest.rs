//! `kms attest …` results.

use attestation_gate::detect::Detected;
use attestation_gate::{Claims, RawClaims, UnixTime};
use serde_json::json;

use super::Output;

/// `kms attest verify`: the object of CLI.md (`platform, vendor, measurement,
/// report_data, debug, tcb_status, raw{…}`, plus `encoding`, `verified_at`,
/// `issued_at`, `valid_from`, `valid_until`, and `vendor_label` for simulated evidence).
pub fn verified(detected: &Detected, claims: &Claims, now: UnixTime) -> Output {
    let mut v = serde_json::to_value(claims).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("encoding".into(), detected.encoding.as_str().into());
        obj.insert("verified_at".into(), now.0.into());
    }
    Output::new(v, verify_text(detected, claims, now))
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

/// `kms attest measure`.
pub fn measured(detected: &Detected, raw: &RawClaims) -> Output {
    let m = raw.measurement().to_hex();
    Output::new(
        json!({
            "platform": detected.platform,
            "encoding": detected.encoding.as_str(),
            "measurement": m,
            "verified": false,
            "raw": raw.to_hex_map(),
        }),
        m,
    )
}

/// `kms attest check`: `{"verdict", "rule", "message", "measurement", "platform",
/// "epoch"}` plus `block`; a refusal also carries the CLI error object
/// (`{"error": {"kind": rule, "message"}}`) and exits non-zero.
pub fn checked(c: &clients::sdk::attest::ReleaseCheck) -> Output {
    let measurement = c.measurement.to_hex();
    let platform = c.platform.map(|p| p.to_string());
    let (verdict, rule, message) = match &c.verdict {
        Ok(()) => (
            "accept",
            None,
            format!(
                "the network would release keys to this evidence now (epoch {}, block {})",
                c.epoch, c.block
            ),
        ),
        Err(r) => (
            "refuse",
            Some(r.rule()),
            format!("refused ({}): {r}", r.rule()),
        ),
    };
    let mut v = json!({
        "verdict": verdict,
        "rule": rule,
        "message": message,
        "measurement": measurement,
        "platform": platform,
        "epoch": c.epoch,
        "block": c.block,
    });
    let text = format!(
        "{verdict}: {message}\n  measurement {measurement}\n  platform    {}",
        platform.as_deref().unwrap_or("(unverified)")
    );
    match rule {
        None => Output::new(v, text),
        Some(kind) => {
            v["error"] = json!({ "kind": kind, "message": message });
            Output::new(v, text).failing()
        }
    }
}
