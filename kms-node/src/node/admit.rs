//! Admission of a peer (DESIGN §8): its evidence must verify, bind the three keys of
//! its on-chain record (purpose `keynet/node/v1`), come from the platform and vendor
//! the record names, and carry a measurement approved for the network's own kms-node
//! app, under the on-chain policy of the latest chain view.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use attestation_gate::peer::{appraise_peer, PeerRecord};
use attestation_gate::{Evidence, UnixTime};
use governance_contract::policy::evidence_matches_record;
use tokio::sync::watch;

use super::attest::PeerEvidence;
use super::router::NodeId;
use crate::chain::watcher::ChainState;

/// Why a peer was refused: a short, stable reason (`/status`, metrics label) and the
/// detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `not_a_member`, `malformed`, `verify_failed`, `platform_mismatch`,
    /// `appraisal_failed` or `no_chain_view`.
    pub reason: &'static str,
    /// What exactly.
    pub detail: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

/// The admission check.
pub struct Admission {
    chain: watch::Receiver<ChainState>,
    verifiers: Arc<attestation_gate::verifiers::Verifiers>,
}

impl Admission {
    /// Checks peers against the latest view of `chain` with `verifiers`.
    pub fn new(
        chain: watch::Receiver<ChainState>,
        verifiers: Arc<attestation_gate::verifiers::Verifiers>,
    ) -> Self {
        Self { chain, verifiers }
    }

    /// Admits `node` presenting `evidence` made at `issued_at` until the returned Unix
    /// time (when the evidence reaches the policy's maximum age), or refuses it.
    pub fn check(&self, node: &NodeId, evidence: &[u8], issued_at: u64) -> Result<u64, Refusal> {
        self.check_at(node, evidence, issued_at, now())
    }

    /// [`Admission::check`] at `now` (Unix seconds).
    pub fn check_at(
        &self,
        node: &NodeId,
        evidence: &[u8],
        issued_at: u64,
        now: u64,
    ) -> Result<u64, Refusal> {
        let refuse = |reason, detail: String| Refusal { reason, detail };
        let view = self
            .chain
            .borrow()
            .view
            .clone()
            .ok_or_else(|| refuse("no_chain_view", "no chain view yet".into()))?;
        let record = view.nodes.get(node).ok_or_else(|| {
            refuse(
                "not_a_member",
                format!(
                    "node {} is not in the active or pending committee",
                    hex::encode(node)
                ),
            )
        })?;
        let pe = PeerEvidence::decode(evidence)
            .map_err(|e| refuse("malformed", format!("evidence envelope: {e}")))?;
        let ev = Evidence {
            platform: record.platform.platform(),
            bytes: pe.evidence,
            aux: pe.aux,
        };
        // DCAP evidence is checked against the collateral the peer sent with it (its
        // signatures chain to the pinned Intel root, so a peer cannot forge it);
        // other platforms carry what they need in the evidence itself.
        let collateral = pe
            .collateral
            .as_ref()
            .map(|c| c.to_collateral())
            .unwrap_or_default();
        let claims = self
            .verifiers
            .verify(&ev, &collateral, UnixTime(now))
            .map_err(|e| refuse("verify_failed", e.to_string()))?;
        if !evidence_matches_record(record.platform, claims.platform(), &claims.vendor()) {
            return Err(refuse(
                "platform_mismatch",
                format!(
                    "record says {:?}, evidence is {} from {}",
                    record.platform,
                    claims.platform(),
                    claims.vendor()
                ),
            ));
        }
        let peer = PeerRecord::new(
            record.platform.platform(),
            record.p2p_key.clone(),
            record.noise_key,
            record.signer,
        );
        appraise_peer(
            claims,
            &peer,
            UnixTime(issued_at),
            &view.policy,
            UnixTime(now),
        )
        .map_err(|e| refuse("appraisal_failed", e.to_string()))?;
        Ok(issued_at.saturating_add(view.policy.max_evidence_age_secs))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use alloy::primitives::Address;
    use attestation_gate::simulated::{DevnetSigningKey, SimulatedAttester, SimulatedVerifier};
    use attestation_gate::verifiers::Verifiers;
    use governance_contract::policy::OnChainPolicy;
    use governance_contract::types::platforms_mask;
    use governance_contract::{NetworkPolicy, NodeRecord, Platform};
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::chain::{BlockRef, GovernanceView};
    use crate::node::attest::PeerCollateral;
    use crate::node::identity::NodeKeys;
    use governance_contract::NodePlatform;

    const NOW: u64 = 1_800_000_000;
    const APPROVED: [u8; 32] = [7; 32];

    /// The measurement digest of simulated evidence of `image`.
    fn sim_measurement(image: &[u8; 32]) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"keynet/measurement/simulated/v1");
        h.update(image);
        h.finalize().into()
    }

    fn record(keys: &NodeKeys, platform_code: u8) -> NodeRecord {
        NodeRecord {
            node_id: keys.node_id(),
            operator: Address::repeat_byte(0x10),
            signer: Address::from(keys.signer_address()),
            vendor_code: 0,
            platform_code,
            tee_family_code: 0,
            registered_at: 0,
            noise_key: keys.noise_public(),
            p2p_key: keys.p2p_public().to_vec(),
            endpoint: "p2p=127.0.0.1:1,app=127.0.0.1:2".into(),
        }
    }

    fn admission(records: Vec<NodeRecord>, devnet: &DevnetSigningKey) -> Admission {
        let view = GovernanceView::new(
            BlockRef {
                number: 7,
                timestamp: NOW,
            },
            None,
            None,
            records,
            [0xaa; 32],
            [sim_measurement(&APPROVED)],
            OnChainPolicy {
                allowed_platforms: platforms_mask(&[Platform::Simulated]),
                values: NetworkPolicy {
                    max_evidence_age_secs: 600,
                    ..NetworkPolicy::default()
                },
            },
        )
        .unwrap();
        let (_tx, rx) = watch::channel(ChainState {
            view: Some(Arc::new(view)),
            head: Some(9),
            last_error: None,
        });
        let verifiers =
            Verifiers::new().with_simulated(SimulatedVerifier::new([devnet.public_key()]));
        Admission::new(rx, Arc::new(verifiers))
    }

    fn evidence(
        devnet: &DevnetSigningKey,
        vendor: &str,
        image: [u8; 32],
        bound: &NodeKeys,
    ) -> Vec<u8> {
        let key = DevnetSigningKey::from_seed(&[5; 32]);
        assert_eq!(key.public_key().to_bytes(), devnet.public_key().to_bytes());
        let a = SimulatedAttester::new(key, vendor, image).unwrap();
        let rd = attestation_gate::peer::node_report_data(
            &bound.p2p_public(),
            &bound.noise_public(),
            &bound.signer_address(),
            UnixTime(NOW - 10),
        );
        PeerEvidence {
            evidence: a.attest_bytes(&rd, UnixTime(NOW - 10)),
            aux: None,
            collateral: None,
        }
        .encode()
        .unwrap()
    }

    #[test]
    fn admission__should_admit_only_approved_bound_evidence_of_the_recorded_platform() {
        let devnet = DevnetSigningKey::from_seed(&[5; 32]);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let peer = NodeKeys::generate(&mut rng);
        let other = NodeKeys::generate(&mut rng);
        let adm = admission(vec![record(&peer, 128 + 1)], &devnet);
        let id = peer.node_id();

        let good = evidence(&devnet, "sim-1", APPROVED, &peer);
        assert_eq!(adm.check_at(&id, &good, NOW - 10, NOW), Ok(NOW - 10 + 600));

        let unapproved = evidence(&devnet, "sim-1", [8; 32], &peer);
        let r = adm.check_at(&id, &unapproved, NOW - 10, NOW).unwrap_err();
        assert_eq!(r.reason, "appraisal_failed", "{r}");

        let bound_elsewhere = evidence(&devnet, "sim-1", APPROVED, &other);
        let r = adm
            .check_at(&id, &bound_elsewhere, NOW - 10, NOW)
            .unwrap_err();
        assert_eq!(r.reason, "appraisal_failed", "{r}");

        let other_vendor = evidence(&devnet, "sim-2", APPROVED, &peer);
        let r = adm.check_at(&id, &other_vendor, NOW - 10, NOW).unwrap_err();
        assert_eq!(r.reason, "platform_mismatch", "{r}");

        let r = adm
            .check_at(&other.node_id(), &good, NOW - 10, NOW)
            .unwrap_err();
        assert_eq!(r.reason, "not_a_member", "{r}");

        let r = adm
            .check_at(&id, b"\x00garbage", NOW - 10, NOW)
            .unwrap_err();
        assert_eq!(r.reason, "malformed", "{r}");

        // Too old for the policy's maximum age.
        let r = adm.check_at(&id, &good, NOW - 10, NOW + 700).unwrap_err();
        assert_eq!(r.reason, "appraisal_failed", "{r}");
    }

    /// Real TDX evidence (a recorded quote) from a peer recorded as TDX: without
    /// collateral it cannot be verified at all; with the collateral the peer sends
    /// (read from a collateral folder) it verifies, and is then refused only because
    /// it binds no key of this node.
    #[test]
    fn admission__should_verify_dcap_evidence_with_the_collateral_the_peer_sent() {
        let fixtures = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/attestation"
        );
        let dir = std::path::Path::new(fixtures).join("tdx/dcapqvl-v4-uptodate");
        let quote = std::fs::read(dir.join("quote.bin")).unwrap();
        // The time attestation-gate's tests accept this sample at.
        const T: u64 = 1_751_328_000;
        let devnet = DevnetSigningKey::from_seed(&[5; 32]);
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let peer = NodeKeys::generate(&mut rng);
        let adm = admission(
            vec![record(
                &peer,
                NodePlatform::hardware(Platform::Tdx).unwrap().code(),
            )],
            &devnet,
        );
        let id = peer.node_id();

        let bare = PeerEvidence {
            evidence: quote.clone(),
            aux: None,
            collateral: None,
        };
        let r = adm
            .check_at(&id, &bare.encode().unwrap(), T - 10, T)
            .unwrap_err();
        assert_eq!(r.reason, "verify_failed", "{r}");

        let with = PeerEvidence {
            collateral: Some(PeerCollateral::read_dir(&dir).unwrap()),
            ..bare
        };
        let r = adm
            .check_at(&id, &with.encode().unwrap(), T - 10, T)
            .unwrap_err();
        assert_eq!(r.reason, "appraisal_failed", "{r}");
    }
}
