//! `kms network …` results.

use attestation_gate::Policy;
use clients::sdk::network::NetworkInfo;
use governance_contract::{vendor_name, NodePlatform, Vendor};
use serde_json::{json, Value};

use super::{hex, Output};

/// `kms network info`.
pub fn info(info: &NetworkInfo) -> Output {
    let e = &info.epoch;
    let mut lines = vec![
        format!("epoch          {}", e.epoch),
        format!("threshold      {}", e.threshold),
        format!(
            "bls_group_pk   {}",
            e.bls_group_pk.map_or_else(|| "-".to_owned(), hex)
        ),
        format!(
            "secp_group_pk  {}",
            e.secp_group_pk.map_or_else(|| "-".to_owned(), hex)
        ),
    ];
    if !e.not_confirmed.is_empty() {
        lines.push(format!(
            "not confirmed  {}",
            e.not_confirmed
                .iter()
                .map(hex)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut committee = Vec::new();
    for (i, (id, n)) in e.committee.iter().zip(&info.members).enumerate() {
        let index = i.saturating_add(1);
        let vendor = vendor_code_name(n.vendor_code);
        let (platform, node_platform) = platform_names(n.platform_code);
        lines.push(format!(
            "{index:>3}  {}  {vendor:<12} {node_platform:<12} {}",
            hex(id),
            n.endpoint
        ));
        committee.push(json!({ "index": index, "node_id": hex(id),
            "vendor": vendor, "platform": platform, "node_platform": node_platform,
            "endpoint": n.endpoint, "operator": hex(n.operator), "signer": hex(n.signer),
            "noise_key": hex(n.noise_key), "p2p_key": hex(&n.p2p_key) }));
    }
    Output::new(
        json!({ "epoch": e.epoch, "threshold": e.threshold,
                "bls_group_pk": e.bls_group_pk.map(hex),
                "secp_group_pk": e.secp_group_pk.map(hex),
                "committee": committee,
                "not_confirmed": e.not_confirmed.iter().map(hex).collect::<Vec<_>>() }),
        lines.join("\n"),
    )
}

/// `kms network policy`: the policy as nodes appraise evidence with it.
pub fn policy(p: &Policy) -> Output {
    let platforms: Vec<String> = p
        .allowed_platforms
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut snp = serde_json::Map::new();
    let mut lines = vec![format!("allowed platforms   {}", platforms.join(", "))];
    for line in governance_contract::policy::SNP_LINES {
        let floor = p.snp_minimum_tcb.get(&line);
        lines.push(format!(
            "sev-snp {:<11} {}",
            line.as_str(),
            floor.map_or_else(
                || "no floor (refused)".to_owned(),
                |f| format!(
                    "fmc {} bootloader {} tee {} snp {} microcode {}",
                    f.fmc, f.bootloader, f.tee, f.snp, f.microcode
                )
            )
        ));
        snp.insert(
            line.as_str().to_owned(),
            floor.map_or(Value::Null, |f| {
                json!({ "fmc": f.fmc, "bootloader": f.bootloader, "tee": f.tee,
                        "snp": f.snp, "microcode": f.microcode })
            }),
        );
    }
    let show = |v: Option<u64>| v.map_or_else(|| "not checked".to_owned(), |v| v.to_string());
    lines.push(format!(
        "dcap min tcb eval   {}",
        show(p.dcap_min_tcb_evaluation_data_number.map(u64::from))
    ));
    lines.push(format!(
        "dcap max coll. age  {}",
        show(p.dcap_max_collateral_age_secs)
    ));
    lines.push(format!("max evidence age    {} s", p.max_evidence_age_secs));
    Output::new(
        json!({ "allowed_platforms": platforms, "snp_min_tcb": snp,
                "dcap_min_tcb_evaluation_data_number": p.dcap_min_tcb_evaluation_data_number,
                "dcap_max_collateral_age_secs": p.dcap_max_collateral_age_secs,
                "max_evidence_age_secs": p.max_evidence_age_secs }),
        lines.join("\n"),
    )
}

/// A code this build cannot decode is shown as `unknown(N)`, never an error: a newer
/// contract may write codes an older CLI does not know.
fn vendor_code_name(code: u8) -> String {
    Vendor::from_code(code).map_or_else(|_| format!("unknown({code})"), |v| vendor_name(&v))
}

fn platform_names(code: u8) -> (String, String) {
    NodePlatform::try_from(code).map_or_else(
        |_| (format!("unknown({code})"), format!("unknown({code})")),
        |p| (p.platform().to_string(), p.to_string()),
    )
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn vendor_and_platform_names__should_show_unknown_codes_instead_of_failing() {
        assert_eq!(vendor_code_name(2), "amd");
        assert_eq!(vendor_code_name(0x83), "simulated-3");
        assert_eq!(vendor_code_name(9), "unknown(9)");
        assert_eq!(
            platform_names(0x82),
            ("simulated".to_owned(), "simulated-2".to_owned())
        );
        assert_eq!(platform_names(7).0, "unknown(7)");
    }
}
