//! Payloads of the app ↔ node Noise_XX handshake (DESIGN §8): each side's attestation
//! evidence, bound to its Noise static key (`docs/PROTOCOL.md`, "Evidence binding" and
//! "App <-> node messages").
//!
//! ```text
//! -> e                                   (no payload)
//! <- e, ee, s, es     NodeHello          node evidence, purpose node-identity
//! -> s, se            AppHello           app evidence, purpose app-key-request or
//!                                        app-sign-request, and the app id
//! ```
//!
//! The verifier rebuilds the expected report data from the static key the handshake
//! authenticated ([`EvidencePayload::binding`]), never from bytes the peer chose.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use attestation_gate::{Binding, Platform, Purpose, ReportData, UnixTime};
use serde::{Deserialize, Serialize};
use tss::PartyIndex;

use crate::error::{Error, ErrorCode};
use crate::message::{Request, RequestBody};
use crate::{
    check_len, decode_framed, encode_framed, MAX_AUX_LEN, MAX_EVIDENCE_LEN,
    MAX_HANDSHAKE_PAYLOAD_LEN, VERSION,
};

/// Attestation evidence as carried in a handshake payload.
///
/// # Security
///
/// Untrusted until `attestation_gate` verifies `evidence` against the [`Binding`] from
/// [`EvidencePayload::binding`] and appraises it. `noise_static_key` is informational:
/// the binding uses the handshake's key and fails if they differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidencePayload {
    /// Which verifier reads `evidence` (the CLI names: `tdx`, `sgx`, `sev-snp`, `nitro`,
    /// `simulated`).
    pub platform: Platform,
    /// The sender's Noise static public key (X25519), which the evidence binds.
    #[serde(with = "serde_bytes")]
    pub noise_static_key: [u8; 32],
    /// When the evidence was made, Unix seconds (part of the binding; the policy's
    /// maximum age applies to it).
    pub issued_at: u64,
    /// The evidence in the platform's binary form, 1..=[`MAX_EVIDENCE_LEN`] bytes.
    #[serde(with = "serde_bytes")]
    pub evidence: Vec<u8>,
    /// What the platform returned next to it (SEV-SNP certificate table), at most
    /// [`MAX_AUX_LEN`] bytes.
    #[serde(with = "serde_bytes")]
    pub aux: Option<Vec<u8>>,
}

impl EvidencePayload {
    /// The binding the evidence must carry: `purpose`, the Noise static key the
    /// handshake authenticated, and `issued_at`. Fails with
    /// [`Error::StaticKeyMismatch`] if the payload names another key.
    pub fn binding(
        &self,
        purpose: Purpose,
        handshake_static_key: &[u8; 32],
    ) -> Result<Binding, Error> {
        if &self.noise_static_key != handshake_static_key {
            return Err(Error::StaticKeyMismatch);
        }
        Ok(Binding::new(
            purpose,
            handshake_static_key,
            UnixTime(self.issued_at),
        ))
    }

    fn validate(&self) -> Result<(), Error> {
        if self.evidence.is_empty() {
            return Err(Error::EmptyEvidence);
        }
        check_len("evidence", self.evidence.len(), MAX_EVIDENCE_LEN)?;
        if let Some(aux) = &self.aux {
            check_len("aux", aux.len(), MAX_AUX_LEN)?;
        }
        Ok(())
    }
}

/// What an application session is for; fixes the evidence purpose and which requests
/// the node accepts in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionPurpose {
    /// [`crate::DeriveRequest`]s; evidence purpose `app-key-request`.
    Derive,
    /// [`crate::SignRequest`]s; evidence purpose `app-sign-request`.
    Sign,
}

impl SessionPurpose {
    /// The evidence purpose of the binding.
    pub fn evidence_purpose(self) -> Purpose {
        match self {
            SessionPurpose::Derive => Purpose::AppKeyRequest,
            SessionPurpose::Sign => Purpose::AppSignRequest,
        }
    }

    /// The report data the application asks its TEE for, binding its Noise static key.
    pub fn report_data(self, noise_static_key: &[u8; 32], issued_at: UnixTime) -> ReportData {
        ReportData::bind(self.evidence_purpose(), noise_static_key, issued_at)
    }
}

/// App → node, payload of Noise_XX message 3.
///
/// # Security
///
/// Encrypted and authenticated by the handshake; the node admits the session only after
/// `evidence` verifies against [`AppHello::binding`] and the policy approves its
/// measurement for `app_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppHello {
    /// [`VERSION`].
    pub version: u16,
    /// What the session is for.
    pub purpose: SessionPurpose,
    /// The application the evidence speaks for.
    #[serde(with = "serde_bytes")]
    pub app_id: [u8; 32],
    /// The application's evidence.
    pub evidence: EvidencePayload,
}

impl AppHello {
    /// A hello of the current [`VERSION`].
    pub fn new(purpose: SessionPurpose, app_id: [u8; 32], evidence: EvidencePayload) -> Self {
        Self {
            version: VERSION,
            purpose,
            app_id,
            evidence,
        }
    }

    /// CBOR bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        encode_framed(self)
    }

    /// Decodes and validates untrusted bytes (size, version, schema, evidence length).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let hello: Self = decode_framed(bytes, MAX_HANDSHAKE_PAYLOAD_LEN)?;
        hello.evidence.validate()?;
        Ok(hello)
    }

    /// The binding for the session's purpose and the handshake's static key.
    pub fn binding(&self, handshake_static_key: &[u8; 32]) -> Result<Binding, Error> {
        self.evidence
            .binding(self.purpose.evidence_purpose(), handshake_static_key)
    }

    /// Whether a request fits this session: the kind matches the purpose and the app id
    /// is the session's ([`ErrorCode::BadRequest`] otherwise). A group-keys request
    /// fits a session of either purpose.
    pub fn admits(&self, request: &Request) -> Result<(), ErrorCode> {
        let (purpose, app_id) = match &request.body {
            RequestBody::Derive(r) => (SessionPurpose::Derive, &r.app_id),
            RequestBody::Sign(r) => (SessionPurpose::Sign, &r.app_id),
            RequestBody::GroupKeys(_) => return Ok(()),
        };
        if purpose != self.purpose || app_id != &self.app_id {
            return Err(ErrorCode::BadRequest);
        }
        Ok(())
    }
}

/// Node → app, payload of Noise_XX message 2.
///
/// # Security
///
/// Authenticated by the handshake; the application checks `evidence` against
/// [`NodeHello::binding`] and that the static key is the one registered on chain for
/// `party` in `epoch` before it sends anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeHello {
    /// [`VERSION`].
    pub version: u16,
    /// The committee epoch the node serves.
    pub epoch: u64,
    /// The node's party index in that committee.
    pub party: PartyIndex,
    /// The node's evidence.
    pub evidence: EvidencePayload,
}

impl NodeHello {
    /// A hello of the current [`VERSION`].
    pub fn new(epoch: u64, party: PartyIndex, evidence: EvidencePayload) -> Self {
        Self {
            version: VERSION,
            epoch,
            party,
            evidence,
        }
    }

    /// CBOR bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        encode_framed(self)
    }

    /// Decodes and validates untrusted bytes (size, version, schema, evidence length).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let hello: Self = decode_framed(bytes, MAX_HANDSHAKE_PAYLOAD_LEN)?;
        hello.evidence.validate()?;
        Ok(hello)
    }

    /// The binding (purpose `node-identity`) for the handshake's static key.
    pub fn binding(&self, handshake_static_key: &[u8; 32]) -> Result<Binding, Error> {
        self.evidence
            .binding(Purpose::NodeIdentity, handshake_static_key)
    }
}
