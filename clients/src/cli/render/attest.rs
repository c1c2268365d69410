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
