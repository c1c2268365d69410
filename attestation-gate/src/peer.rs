//! The check a node runs on every peer (docs/PROTOCOL.md, "Evidence binding", "Peer
//! binding"): the peer's verified claims must come from the platform its on-chain
//! record names, and its evidence must bind the record's three keys (p2p identity key,
//! Noise static key, signer address) through [`ReportData::bind`] with
//! [`Purpose::NodeRecord`]; then the usual policy ([`appraise`]) applies.

use subtle::ConstantTimeEq;

use crate::binding::{Binding, Purpose};
use crate::claims::Claims;
use crate::error::Error;
use crate::policy::{appraise, Accepted, Policy};
use crate::types::{Platform, ReportData, UnixTime};

/// The canonical encoding of a node's three keys ([`PeerRecord::key_encoding`]):
/// `u64_be(len(p2p_public_key)) || p2p_public_key || noise_static_key (32) || signer
/// (20)`. Needs no platform, so a node's registration can compute it.
pub fn node_key_encoding(
    p2p_public_key: &[u8],
    noise_static_key: &[u8; 32],
    signer: &[u8; 20],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(p2p_public_key.len().saturating_add(8 + 32 + 20));
    out.extend_from_slice(&(p2p_public_key.len() as u64).to_be_bytes());
    out.extend_from_slice(p2p_public_key);
    out.extend_from_slice(noise_static_key);
    out.extend_from_slice(signer);
    out
}

/// The report data of a node's evidence made at `issued_at`: [`ReportData::bind`] with
/// [`Purpose::NodeRecord`] of [`node_key_encoding`]. One piece of evidence serves both
/// the node's on-chain registration and its admission by peers ([`appraise_peer`]).
pub fn node_report_data(
    p2p_public_key: &[u8],
    noise_static_key: &[u8; 32],
    signer: &[u8; 20],
    issued_at: UnixTime,
) -> ReportData {
    ReportData::bind(
        Purpose::NodeRecord,
        &node_key_encoding(p2p_public_key, noise_static_key, signer),
        issued_at,
    )
}

/// A node's on-chain record, as far as attestation is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The platform the node registered with.
    pub platform: Platform,
    /// The node's p2p identity public key, in the encoding the p2p layer uses.
    pub p2p_public_key: Vec<u8>,
    /// The node's Noise static public key (X25519).
    pub noise_static_key: [u8; 32],
    /// The node's signer: an EVM address.
    pub signer: [u8; 20],
}

impl PeerRecord {
    /// A record.
    pub fn new(
        platform: Platform,
        p2p_public_key: impl Into<Vec<u8>>,
        noise_static_key: [u8; 32],
        signer: [u8; 20],
    ) -> Self {
        PeerRecord {
            platform,
            p2p_public_key: p2p_public_key.into(),
            noise_static_key,
            signer,
        }
    }

    /// The canonical encoding of the three keys, the `public_key` input of the binding:
    /// `u64_be(len(p2p_public_key)) || p2p_public_key || noise_static_key (32) ||
    /// signer (20)`. Only the p2p key has a variable length, and it is length-prefixed,
    /// so no two records encode alike.
    pub fn key_encoding(&self) -> Vec<u8> {
        node_key_encoding(&self.p2p_public_key, &self.noise_static_key, &self.signer)
    }

    /// The report data a node's TEE signs for evidence made at `issued_at`
    /// ([`node_report_data`] of the record's keys).
    pub fn report_data(&self, issued_at: UnixTime) -> ReportData {
        node_report_data(
            &self.p2p_public_key,
            &self.noise_static_key,
            &self.signer,
            issued_at,
        )
    }

    /// The expected binding of evidence made at `issued_at`.
    pub fn binding(&self, issued_at: UnixTime) -> Binding {
        Binding::new(Purpose::NodeRecord, &self.key_encoding(), issued_at)
    }
}

/// Checks a peer's verified `claims` against its on-chain `record` and `policy` at
/// `now`. `issued_at` is the time the evidence claims to have been made (it travels
/// next to the evidence, as for every binding).
///
/// Order: platform ([`Error::PlatformMismatch`]), binding of the record's keys
/// ([`Error::BindingMismatch`]), then every rule of [`appraise`].
pub fn appraise_peer(
    claims: Claims,
    record: &PeerRecord,
    issued_at: UnixTime,
    policy: &Policy,
    now: UnixTime,
) -> Result<Accepted, Error> {
    let platform = claims.platform();
    if platform != record.platform {
        return Err(Error::PlatformMismatch {
            expected: record.platform,
            found: platform,
        });
    }
    let binding = record.binding(issued_at);
    let bound = claims
        .report_data()
        .is_some_and(|rd| bool::from(rd.as_bytes().ct_eq(binding.report_data().as_bytes())));
    if !bound {
        return Err(Error::BindingMismatch);
    }
    appraise(claims, &binding, policy, now)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha512};

    fn record() -> PeerRecord {
        PeerRecord::new(Platform::Tdx, vec![7; 36], [8; 32], [9; 20])
    }

    #[test]
    fn key_encoding__should_match_the_documented_layout() {
        let mut want = 36u64.to_be_bytes().to_vec();
        want.extend([7; 36]);
        want.extend([8; 32]);
        want.extend([9; 20]);
        assert_eq!(record().key_encoding(), want);
        // And the report data is the PROTOCOL.md binding with purpose keynet/node/v1.
        let t = UnixTime(1_800_000_000);
        let mut m = b"keynet/evidence/v1".to_vec();
        m.extend(14u64.to_be_bytes());
        m.extend(b"keynet/node/v1");
        m.extend((want.len() as u64).to_be_bytes());
        m.extend(&want);
        m.extend(t.0.to_be_bytes());
        let digest: [u8; 64] = Sha512::digest(&m).into();
        assert_eq!(record().report_data(t).0, digest);
    }

    #[test]
    fn key_encoding__should_separate_every_key() {
        let base = record().key_encoding();
        let mut r = record();
        r.p2p_public_key.push(0);
        assert_ne!(r.key_encoding(), base);
        let mut r = record();
        r.noise_static_key[31] ^= 1;
        assert_ne!(r.key_encoding(), base);
        let mut r = record();
        r.signer[0] ^= 1;
        assert_ne!(r.key_encoding(), base);
        // Moving a byte from the p2p key into the Noise key changes the length prefix.
        let mut r = record();
        r.p2p_public_key.pop();
        assert_ne!(r.key_encoding(), base);
        // Another platform is not part of the keys (it is checked separately).
        let mut r = record();
        r.platform = Platform::Sgx;
        assert_eq!(r.key_encoding(), base);
    }
}
