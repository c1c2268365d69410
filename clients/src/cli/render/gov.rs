//! `kms gov …` results.

use clients::sdk::gov::{Acted, Deployed, ProposalEntry, ProposalPage, Proposed, RegisteredApp};
use governance_contract::{
    AppInfo, Governance, NetworkPolicy, ProposalAction, ProposalInfo, ProposalKind, ProposalState,
};
use serde_json::{json, Value};

use super::{hex, Output};

/// `kms gov deploy`.
pub fn deployed(d: &Deployed) -> Output {
    Output::new(
        json!({ "contract": hex(d.contract), "node_app_id": hex(d.node_app_id) }),
        format!(
            "contract     0x{}\nnode_app_id  {}",
            hex(d.contract),
            hex(d.node_app_id)
        ),
    )
}

/// `kms gov register-app`.
pub fn registered_app(a: &RegisteredApp) -> Output {
    Output::new(
        json!({ "app_id": hex(a.app_id), "owner": hex(a.owner), "salt": hex(a.salt),
                "gas_used": a.gas_used }),
        format!("app_id  {}", hex(a.app_id)),
    )
}

/// `kms gov propose …`: the proposal's object with its id and the gas used.
pub fn proposed(p: &Proposed) -> Output {
    let (id, info) = (p.id, &p.proposal);
    let mut v = proposal_json(info);
    if let Some(o) = v.as_object_mut() {
        o.insert("proposal".to_owned(), json!(id));
        o.insert("gas_used".to_owned(), json!(p.gas_used));
    }
    Output::new(
        v,
        format!(
            "proposal {id} ({}): {} of {} votes, {}",
            info.kind().name(),
            info.votes,
            info.required,
            info.state.name()
        ),
    )
}

/// `kms gov vote|execute|cancel ID`; `verb` says what was done ("voted for", …).
pub fn acted(verb: &str, id: u64, a: &Acted) -> Output {
    let p = &a.proposal;
    let eta = match (p.state, p.eta) {
        (ProposalState::Queued, Some(e)) => format!(", executable from unix time {e}"),
        _ => String::new(),
    };
    Output::new(
        json!({ "proposal": id, "kind": p.kind().name(), "votes": p.votes,
                "required": p.required, "state": p.state.name(), "eta": p.eta,
                "tx": hex(a.tx), "gas_used": a.gas_used }),
        format!(
            "{verb} proposal {id} ({}): {} of {} votes, {}{eta}",
            p.kind().name(),
            p.votes,
            p.required,
            p.state.name(),
        ),
    )
}

/// `kms gov proposals`: a table and `{"proposals", "total", "offset", "next_offset"}`.
pub fn proposal_page(page: &ProposalPage) -> Output {
    let mut list = Vec::new();
    let mut lines = vec![format!(
        "{:>4}  {:<19} {:>5}  {:<9} {:>11}  app",
        "id", "kind", "votes", "state", "eta"
    )];
    for entry in &page.entries {
        let (line, value) = match entry {
            ProposalEntry::Known(p) => (
                format!(
                    "{:>4}  {:<19} {:>2}/{:<2}  {:<9} {:>11}  {}",
                    p.id,
                    p.kind().name(),
                    p.votes,
                    p.required,
                    p.state.name(),
                    p.eta.map_or_else(|| "-".to_owned(), |e| e.to_string()),
                    hex(p.app_id)
                ),
                proposal_json(p),
            ),
            ProposalEntry::Undecoded { id, raw } => undecoded_proposal(*id, raw),
        };
        lines.push(line);
        list.push(value);
    }
    if let Some(n) = page.next_offset {
        lines.push(format!(
            "… {} more: --offset {n}",
            page.total.saturating_sub(n)
        ));
    }
    Output::new(
        json!({ "proposals": list, "total": page.total, "offset": page.offset,
                "next_offset": page.next_offset }),
        lines.join("\n"),
    )
}

/// `kms gov app APP_ID`.
pub fn app(a: &AppInfo) -> Output {
    let ms: Vec<String> = a.measurements.iter().map(hex).collect();
    let voters: Vec<String> = a.voters.iter().map(hex).collect();
    let text = format!(
        "app_id        {}\nowner         0x{}\nvoters        {}\nquorum        {} (revocation {})\ntimelock      {}s\nmeasurements  {}",
        hex(a.app_id),
        hex(a.owner),
        voters.iter().map(|v| format!("0x{v}")).collect::<Vec<_>>().join(", "),
        a.quorum,
        a.revoke_quorum,
        a.timelock,
        if ms.is_empty() { "(none)".to_owned() } else { ms.join("\n              ") },
    );
    Output::new(
        json!({ "app_id": hex(a.app_id), "owner": hex(a.owner), "measurements": ms,
                "voters": voters, "quorum": a.quorum, "revoke_quorum": a.revoke_quorum,
                "timelock": a.timelock }),
        text,
    )
}

/// A proposal this build cannot decode (an unknown kind, state or payload), shown with
/// its raw codes as `unknown(N)` so that one such proposal does not break a listing.
fn undecoded_proposal(id: u64, v: &Governance::ProposalView) -> (String, Value) {
    let kind = ProposalKind::try_from(v.kind)
        .map_or_else(|_| format!("unknown({})", v.kind), |k| k.name().to_owned());
    let state = ProposalState::try_from(v.state)
        .map_or_else(|_| format!("unknown({})", v.state), |s| s.name().to_owned());
    let eta = (v.eta != 0).then_some(v.eta);
    (
        format!(
            "{id:>4}  {kind:<19} {:>2}/{:<2}  {state:<9} {:>11}  {}",
            v.votes,
            v.required,
            eta.map_or_else(|| "-".to_owned(), |e| e.to_string()),
            hex(v.appId)
        ),
        json!({ "id": id, "kind": kind, "votes": v.votes, "required": v.required,
                "state": state, "eta": eta, "expires_at": v.expiresAt,
                "app_id": hex(v.appId), "proposer": hex(v.proposer),
                "payload": hex(&v.payload) }),
    )
}

fn proposal_json(p: &ProposalInfo) -> Value {
    json!({ "id": p.id, "kind": p.kind().name(), "votes": p.votes, "required": p.required,
            "state": p.state.name(), "eta": p.eta, "expires_at": p.expires_at,
            "app_id": hex(p.app_id), "proposer": hex(p.proposer),
            "action": action_json(&p.action) })
}

fn action_json(action: &ProposalAction) -> Value {
    match action {
        ProposalAction::Approve { measurement } | ProposalAction::Revoke { measurement } => {
            json!({ "measurement": hex(measurement) })
        }
        ProposalAction::Council {
            voters,
            quorum,
            revoke_quorum,
            timelock,
        } => json!({
            "voters": voters.iter().map(hex).collect::<Vec<_>>(),
            "quorum": quorum, "revoke_quorum": revoke_quorum, "timelock": timelock }),
        ProposalAction::Committee {
            committee,
            threshold,
        } => json!({
            "committee": committee.iter().map(hex).collect::<Vec<_>>(), "threshold": threshold }),
        ProposalAction::CancelTransition { epoch } => json!({ "epoch": epoch }),
        ProposalAction::FamilyCap { enabled } => json!({ "enabled": enabled }),
        ProposalAction::Platforms { mask } => json!({ "platforms":
            governance_contract::platforms_from_mask(*mask).iter().map(ToString::to_string).collect::<Vec<_>>() }),
        ProposalAction::LivenessRule { enabled } => json!({ "enabled": enabled }),
        ProposalAction::Veto { target } => json!({ "target": target }),
        ProposalAction::TransitionDeadline { seconds } => json!({ "seconds": seconds }),
        ProposalAction::NetworkPolicy(v) => json!({
            "snp_min_tcb": v.snp_min_tcb.iter().map(|p| {
                (*p != 0).then(|| NetworkPolicy::unpack_snp(*p).to_vec())
            }).collect::<Vec<_>>(),
            "dcap_min_tcb_evaluation_data_number": v.dcap_min_tcb_evaluation_data_number,
            "dcap_max_collateral_age_secs": v.dcap_max_collateral_age_secs,
            "max_evidence_age_secs": v.max_evidence_age_secs }),
        _ => json!({}),
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use alloy::primitives::{Address, Bytes, FixedBytes, U256};

    use super::*;

    #[test]
    fn undecoded_proposal__should_show_unknown_codes_instead_of_failing() {
        let v = Governance::ProposalView {
            id: U256::from(4),
            appId: FixedBytes::repeat_byte(1),
            proposer: Address::repeat_byte(2),
            kind: 42,
            state: 9,
            votes: 1,
            required: 2,
            createdAt: 10,
            eta: 0,
            expiresAt: 20,
            payload: Bytes::from(vec![0xab]),
        };
        assert!(ProposalInfo::try_from(v.clone()).is_err());
        let (line, json) = undecoded_proposal(4, &v);
        assert_eq!(json["kind"], "unknown(42)");
        assert_eq!(json["state"], "unknown(9)");
        assert_eq!(json["payload"], "ab");
        assert!(line.contains("unknown(42)"), "{line}");
    }

    #[test]
    fn proposal_page__should_point_to_the_next_offset() {
        let page = ProposalPage {
            entries: Vec::new(),
            total: 30,
            offset: 0,
            next_offset: Some(20),
        };
        let out = proposal_page(&page);
        assert_eq!(out.json["next_offset"], 20);
        assert!(out.text.ends_with("… 10 more: --offset 20"), "{}", out.text);
    }
}
