//! Binding evidence to a key and a time (DESIGN §5, docs/PROTOCOL.md "Evidence binding").
//!
//! `report_data = SHA-512("keynet/evidence/v1" || u64_be(len(purpose)) || purpose ||
//! u64_be(len(public_key)) || public_key || u64_be(issued_at))`.
//!
//! Both variable-length inputs are length-prefixed, so no two different
//! `(purpose, public_key)` pairs hash the same byte string.

use sha2::{Digest, Sha512};

use crate::types::{ReportData, UnixTime};

/// Domain label of the binding hash.
pub const EVIDENCE_DOMAIN: &[u8] = b"keynet/evidence/v1";

/// What the evidence is for. Each purpose gets a distinct label so that evidence made
/// for one use cannot be replayed for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// A key-management node proving its p2p / Noise identity to peers.
    NodeIdentity,
    /// An application asking the network for its derived keys.
    AppKeyRequest,
    /// An application asking the network to sign on its behalf.
    AppSignRequest,
    /// A node's keys (p2p key, Noise static key, signer address;
    /// [`crate::peer::node_key_encoding`]): the evidence of its on-chain registration and
    /// of its admission by peers, one and the same.
    NodeRecord,
}

impl Purpose {
    /// The bytes hashed for this purpose.
    pub fn label(self) -> &'static [u8] {
        match self {
            Purpose::NodeIdentity => b"node-identity",
            Purpose::AppKeyRequest => b"app-key-request",
            Purpose::AppSignRequest => b"app-sign-request",
            Purpose::NodeRecord => b"keynet/node/v1",
        }
    }
}

impl ReportData {
    /// The report data a TEE must sign to bind `public_key` for `purpose` at `issued_at`.
    pub fn bind(purpose: Purpose, public_key: &[u8], issued_at: UnixTime) -> ReportData {
        let label = purpose.label();
        let mut h = Sha512::new();
        h.update(EVIDENCE_DOMAIN);
        h.update((label.len() as u64).to_be_bytes());
        h.update(label);
        h.update((public_key.len() as u64).to_be_bytes());
        h.update(public_key);
        h.update(issued_at.0.to_be_bytes());
        ReportData(h.finalize().into())
    }
}

/// What a verifier expects the evidence to be bound to: the report data and the time the
/// evidence claims to have been made (for the maximum-age rule of the policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    report_data: ReportData,
    issued_at: UnixTime,
}

impl Binding {
    /// The binding of `public_key` for `purpose` at `issued_at`.
    pub fn new(purpose: Purpose, public_key: &[u8], issued_at: UnixTime) -> Binding {
        Binding {
            report_data: ReportData::bind(purpose, public_key, issued_at),
            issued_at,
        }
    }

    /// A binding to report data computed by another convention than
    /// [`ReportData::bind`] (third-party evidence, e.g. in `kms attest` or tests).
    /// keynet's own flows use [`Binding::new`].
    pub fn from_report_data(report_data: ReportData, issued_at: UnixTime) -> Binding {
        Binding {
            report_data,
            issued_at,
        }
    }

    /// The expected report data.
    pub fn report_data(&self) -> &ReportData {
        &self.report_data
    }

    /// The time the evidence claims to have been made.
    pub fn issued_at(&self) -> UnixTime {
        self.issued_at
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn bind__should_match_the_documented_encoding() {
        // Recomputed by hand from the PROTOCOL.md definition.
        let mut expected = Vec::new();
        expected.extend_from_slice(b"keynet/evidence/v1");
        expected.extend_from_slice(&13u64.to_be_bytes());
        expected.extend_from_slice(b"node-identity");
        expected.extend_from_slice(&3u64.to_be_bytes());
        expected.extend_from_slice(&[1, 2, 3]);
        expected.extend_from_slice(&1_700_000_000u64.to_be_bytes());
        let want: [u8; 64] = Sha512::digest(&expected).into();
        let got = ReportData::bind(Purpose::NodeIdentity, &[1, 2, 3], UnixTime(1_700_000_000));
        assert_eq!(got.0, want);
    }

    #[test]
    fn bind__should_separate_every_input() {
        let t = UnixTime(5);
        let base = ReportData::bind(Purpose::NodeIdentity, b"key", t);
        assert_ne!(base, ReportData::bind(Purpose::AppKeyRequest, b"key", t));
        assert_ne!(base, ReportData::bind(Purpose::NodeIdentity, b"kez", t));
        assert_ne!(
            base,
            ReportData::bind(Purpose::NodeIdentity, b"key", UnixTime(6))
        );
        assert_eq!(base, ReportData::bind(Purpose::NodeIdentity, b"key", t));
    }
}
