//! The network's attestation policy as the contract holds it, turned into the
//! [`attestation_gate::Policy`] nodes and the `kms` CLI appraise evidence with
//! (DESIGN.md §5: "the network-wide values are set by the network's voters on chain;
//! nodes read them with the approvals"). One function, [`attestation_policy`], so the
//! node and the CLI cannot disagree about what the chain says.

use attestation_gate::{Measurement, Policy, ProductLine, SnpTcb};

use crate::bindings::Governance;
use crate::errors::Error;
use crate::types::{platforms_from_mask, NetworkPolicy, NodePlatform};

/// The product lines in the order of the contract's `snpMinTcb` array.
pub const SNP_LINES: [ProductLine; 3] =
    [ProductLine::Milan, ProductLine::Genoa, ProductLine::Turin];

/// What `networkPolicy()` returns, decoded: the allowed-platforms mask and the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnChainPolicy {
    /// `allowedPlatforms` (bit per platform code, see [`crate::types::platform_bit`]).
    pub allowed_platforms: u32,
    /// The values of the last executed `network_policy` proposal (all unset before).
    pub values: NetworkPolicy,
}

impl TryFrom<Governance::networkPolicyReturn> for OnChainPolicy {
    type Error = Error;
    fn try_from(v: Governance::networkPolicyReturn) -> Result<Self, Error> {
        Ok(Self {
            allowed_platforms: v.platforms,
            values: NetworkPolicy::decode(&v.policy)?,
        })
    }
}

/// The appraisal policy for evidence of an application whose approved measurements are
/// `approved`, under the on-chain network policy `chain`.
///
/// - Allowed platforms: exactly those of the mask (simulated only if its bit is set).
/// - SEV-SNP: a floor for each product line whose packed value is non-zero; a line
///   without one stays without a floor, so its evidence is refused.
/// - DCAP minimum `tcbEvaluationDataNumber`, maximum collateral age, maximum evidence
///   age: set when non-zero; otherwise `Policy::new`'s defaults (not checked, not
///   checked, 600 s).
/// - Everything else (TCB status `UpToDate`, clock skew, debug refused, RTMR3 not
///   pinned) is `Policy::new`'s production default: the chain does not weaken it.
pub fn attestation_policy(
    chain: &OnChainPolicy,
    approved: impl IntoIterator<Item = [u8; 32]>,
) -> Policy {
    let platforms = platforms_from_mask(chain.allowed_platforms);
    let v = &chain.values;
    let mut policy =
        Policy::new(approved.into_iter().map(Measurement)).with_allowed_platforms(platforms);
    for (line, packed) in SNP_LINES.into_iter().zip(v.snp_min_tcb) {
        if packed != 0 {
            let [fmc, bootloader, tee, snp, microcode] = NetworkPolicy::unpack_snp(packed);
            policy = policy
                .with_snp_minimum_tcb(line, SnpTcb::new(fmc, bootloader, tee, snp, microcode));
        }
    }
    if v.dcap_min_tcb_evaluation_data_number != 0 {
        policy =
            policy.with_dcap_min_tcb_evaluation_data_number(v.dcap_min_tcb_evaluation_data_number);
    }
    if v.dcap_max_collateral_age_secs != 0 {
        policy = policy.with_dcap_max_collateral_age_secs(v.dcap_max_collateral_age_secs);
    }
    if v.max_evidence_age_secs != 0 {
        policy = policy.with_max_evidence_age_secs(v.max_evidence_age_secs);
    }
    policy
}

/// The on-chain values for a policy's network-wide part (the inverse of
/// [`attestation_policy`] for what the chain holds; used to propose one).
pub fn network_values(policy: &Policy) -> NetworkPolicy {
    let mut snp_min_tcb = [0u64; 3];
    for (out, line) in snp_min_tcb.iter_mut().zip(SNP_LINES) {
        if let Some(f) = policy.snp_minimum_tcb.get(&line) {
            *out = NetworkPolicy::pack_snp(f.fmc, f.bootloader, f.tee, f.snp, f.microcode);
        }
    }
    NetworkPolicy {
        snp_min_tcb,
        dcap_min_tcb_evaluation_data_number: policy
            .dcap_min_tcb_evaluation_data_number
            .unwrap_or(0),
        dcap_max_collateral_age_secs: policy.dcap_max_collateral_age_secs.unwrap_or(0),
        max_evidence_age_secs: policy.max_evidence_age_secs,
    }
}

/// Whether verified evidence (its platform and vendor) is that of a node registered
/// with `record`: the same platform and the vendor the record derives, so for
/// `simulated-N` simulated evidence whose vendor label is `sim-N` (PROTOCOL.md, "Chain
/// codes"). A node refuses a peer for which this is false, so a
/// record cannot claim another vendor than the node's hardware (DESIGN.md §2, §8).
pub fn evidence_matches_record(
    record: NodePlatform,
    platform: attestation_gate::Platform,
    vendor: &attestation_gate::Vendor,
) -> bool {
    record.platform() == platform && record.vendor() == *vendor
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::types::{platforms_mask, Platform};

    #[test]
    fn attestation_policy__should_carry_every_on_chain_value_and_keep_the_rest_strict() {
        let chain = OnChainPolicy {
            allowed_platforms: platforms_mask(&[Platform::Tdx, Platform::SevSnp]),
            values: NetworkPolicy {
                snp_min_tcb: [
                    NetworkPolicy::pack_snp(0, 3, 0, 8, 115),
                    0,
                    NetworkPolicy::pack_snp(1, 1, 1, 1, 1),
                ],
                dcap_min_tcb_evaluation_data_number: 17,
                dcap_max_collateral_age_secs: 86_400,
                max_evidence_age_secs: 300,
            },
        };
        let p = attestation_policy(&chain, [[7u8; 32]]);
        assert_eq!(
            p.allowed_platforms,
            BTreeSet::from([
                attestation_gate::Platform::Tdx,
                attestation_gate::Platform::SevSnp
            ])
        );
        assert_eq!(
            p.approved_measurements,
            BTreeSet::from([Measurement([7; 32])])
        );
        assert_eq!(
            p.snp_minimum_tcb.get(&ProductLine::Milan),
            Some(&SnpTcb::new(0, 3, 0, 8, 115))
        );
        // No floor for Genoa: its evidence is refused, not admitted.
        assert!(!p.snp_minimum_tcb.contains_key(&ProductLine::Genoa));
        assert_eq!(
            p.snp_minimum_tcb.get(&ProductLine::Turin),
            Some(&SnpTcb::new(1, 1, 1, 1, 1))
        );
        assert_eq!(p.dcap_min_tcb_evaluation_data_number, Some(17));
        assert_eq!(p.dcap_max_collateral_age_secs, Some(86_400));
        assert_eq!(p.max_evidence_age_secs, 300);
        // What the chain does not say stays at the production defaults.
        let strict = Policy::new([]);
        assert_eq!(p.minimum_tcb_status, strict.minimum_tcb_status);
        assert_eq!(p.max_clock_skew_secs, strict.max_clock_skew_secs);
        assert!(!p.insecure_allow_debug && !p.tdx_pin_rtmr3);
        assert_eq!(network_values(&p), chain.values);
    }

    #[test]
    fn evidence_matches_record__should_hold_only_for_the_recorded_platform_and_label() {
        use attestation_gate::{Platform as P, Vendor as V};
        assert!(evidence_matches_record(
            NodePlatform::hardware(Platform::Tdx).unwrap(),
            P::Tdx,
            &V::Intel
        ));
        assert!(!evidence_matches_record(
            NodePlatform::hardware(Platform::Tdx).unwrap(),
            P::Sgx,
            &V::Intel
        ));
        assert!(!evidence_matches_record(
            NodePlatform::hardware(Platform::Tdx).unwrap(),
            P::Tdx,
            &V::Amd
        ));
        assert!(!evidence_matches_record(
            NodePlatform::hardware(Platform::Nitro).unwrap(),
            P::SevSnp,
            &V::Amd
        ));
        let sim = |l: &str| V::Simulated(l.to_owned());
        assert!(evidence_matches_record(
            NodePlatform::simulated(2),
            P::Simulated,
            &sim("sim-2")
        ));
        // The label the simulator can actually sign is `sim-…`; a bare "2" never matches.
        assert!(!evidence_matches_record(
            NodePlatform::simulated(2),
            P::Simulated,
            &sim("2")
        ));
        assert!(!evidence_matches_record(
            NodePlatform::simulated(2),
            P::Simulated,
            &sim("sim-3")
        ));
        assert!(!evidence_matches_record(
            NodePlatform::simulated(2),
            P::Tdx,
            &V::Intel
        ));
        assert!(!evidence_matches_record(
            NodePlatform::hardware(Platform::Tdx).unwrap(),
            P::Simulated,
            &sim("0")
        ));
    }

    #[test]
    fn attestation_policy__should_admit_simulated_only_with_its_bit_and_default_unset_values() {
        let chain = OnChainPolicy {
            allowed_platforms: platforms_mask(&[Platform::Nitro]),
            values: NetworkPolicy::default(),
        };
        let p = attestation_policy(&chain, []);
        assert_eq!(
            p.allowed_platforms,
            BTreeSet::from([attestation_gate::Platform::Nitro])
        );
        assert!(p.snp_minimum_tcb.is_empty());
        assert_eq!(p.dcap_min_tcb_evaluation_data_number, None);
        assert_eq!(p.dcap_max_collateral_age_secs, None);
        assert_eq!(
            p.max_evidence_age_secs,
            Policy::new([]).max_evidence_age_secs
        );
        let sim = OnChainPolicy {
            allowed_platforms: platforms_mask(&[Platform::Simulated]),
            values: NetworkPolicy::default(),
        };
        assert_eq!(
            attestation_policy(&sim, []).allowed_platforms,
            BTreeSet::from([attestation_gate::Platform::Simulated])
        );
    }
}
