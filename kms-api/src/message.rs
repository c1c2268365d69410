//! Requests and responses inside an admitted app ↔ node session (`docs/PROTOCOL.md`,
//! "App <-> node messages"): one [`Request`] or [`Response`] per Noise transport
//! message, matched by [`RequestId`].
//!
//! Moved here from `tss::wire`, which keeps only the node ↔ node FROST messages.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use frost_secp256k1_tr::Signature;
use serde::{Deserialize, Serialize};
use tss::prf::{G1_LEN, G2_LEN};
use tss::{Identity, PartyIndex, PrfShare};

use crate::error::{Error, ErrorCode};
use crate::{
    check_len, decode_framed, encode_framed, MAX_FRAME_LEN, MAX_SIGN_MESSAGE_LEN, VERSION,
};

/// Chosen by the application per request, echoed in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(#[serde(with = "serde_bytes")] pub [u8; 16]);

/// App → node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// [`VERSION`].
    pub version: u16,
    /// Echoed in the [`Response`].
    pub id: RequestId,
    /// What is asked.
    pub body: RequestBody,
}

/// The request kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequestBody {
    /// This node's PRF share for `(app_id, path)`.
    Derive(DeriveRequest),
    /// A BIP-340 signature with the key of `(app_id, path)`.
    Sign(SignRequest),
    /// The group keys of the epoch the node serves in this session, and its own public
    /// key share.
    GroupKeys(GroupKeysRequest),
}

/// "Which keys do you serve?": the session's epoch, its threshold and committee size,
/// both group keys and this node's BLS public key share. Admitted in a session of any
/// purpose. The application still checks the group keys against the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupKeysRequest {}

/// "Give me your PRF share for `(app_id, path)`".
///
/// # Security
///
/// Sent inside the attested session; the node answers only for the session's `app_id`
/// ([`crate::AppHello::admits`]) after its evidence is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveRequest {
    /// Application identifier.
    #[serde(with = "serde_bytes")]
    pub app_id: [u8; 32],
    /// Derivation path, 1..=255 bytes of UTF-8.
    pub path: String,
}

impl DeriveRequest {
    /// A request for `identity`.
    pub fn new(identity: &Identity) -> Self {
        Self {
            app_id: *identity.app_id(),
            path: identity.path().to_owned(),
        }
    }

    /// The requested identity.
    pub fn identity(&self) -> Result<Identity, Error> {
        Ok(Identity::new(self.app_id, &self.path)?)
    }
}

/// "Sign `message` with the key of `(app_id, path)`, together with `signers`, in FROST
/// session `session`".
///
/// The application sends the same request (same `signers`, same `session`) to every
/// node in `signers`; they run one FROST signing among themselves and each answers
/// with the same signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// Application identifier.
    #[serde(with = "serde_bytes")]
    pub app_id: [u8; 32],
    /// Derivation path, 1..=255 bytes of UTF-8.
    pub path: String,
    /// The message, at most [`MAX_SIGN_MESSAGE_LEN`] bytes (BIP-340 signs messages of
    /// any length).
    #[serde(with = "serde_bytes")]
    pub message: Vec<u8>,
    /// The signing set the application chose: party indexes of the session's epoch,
    /// strictly increasing, 1..=[`MAX_SIGNERS`] of them.
    pub signers: Vec<PartyIndex>,
    /// Chosen by the application, identical in the request to every signer, fresh per
    /// signature: names the FROST session the signers run.
    #[serde(with = "serde_bytes")]
    pub session: [u8; 16],
}

/// Largest signing set in a [`SignRequest`].
pub const MAX_SIGNERS: usize = 255;

impl SignRequest {
    /// A request to sign `message` for `identity` with `signers` (sorted and
    /// deduplicated here) in FROST session `session`.
    pub fn new(
        identity: &Identity,
        message: &[u8],
        signers: impl IntoIterator<Item = PartyIndex>,
        session: [u8; 16],
    ) -> Self {
        let mut signers: Vec<PartyIndex> = signers.into_iter().collect();
        signers.sort_unstable();
        signers.dedup();
        Self {
            app_id: *identity.app_id(),
            path: identity.path().to_owned(),
            message: message.to_vec(),
            signers,
            session,
        }
    }

    /// The identity whose key signs.
    pub fn identity(&self) -> Result<Identity, Error> {
        Ok(Identity::new(self.app_id, &self.path)?)
    }

    /// The message length and the signing set (non-empty, at most [`MAX_SIGNERS`],
    /// strictly increasing).
    fn validate(&self) -> Result<(), Error> {
        self.identity()?;
        check_len("message", self.message.len(), MAX_SIGN_MESSAGE_LEN)?;
        let increasing = self.signers.windows(2).all(|w| match w {
            [a, b] => a < b,
            _ => true,
        });
        if self.signers.is_empty() || self.signers.len() > MAX_SIGNERS || !increasing {
            return Err(Error::InvalidSigners {
                len: self.signers.len(),
            });
        }
        Ok(())
    }
}

impl Request {
    /// A request of the current [`VERSION`].
    pub fn new(id: RequestId, body: RequestBody) -> Self {
        Self {
            version: VERSION,
            id,
            body,
        }
    }

    /// CBOR bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        encode_framed(self)
    }

    /// Decodes and validates untrusted bytes: size, version, schema, the path and the
    /// message length.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let request: Self = decode_framed(bytes, MAX_FRAME_LEN)?;
        match &request.body {
            RequestBody::Derive(r) => {
                r.identity()?;
            }
            RequestBody::Sign(r) => r.validate()?,
            RequestBody::GroupKeys(_) => {}
        }
        Ok(request)
    }
}

/// Node → app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// [`VERSION`].
    pub version: u16,
    /// The [`Request::id`] answered.
    pub id: RequestId,
    /// The answer.
    pub body: ResponseBody,
}

/// The response kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseBody {
    /// Answer to [`RequestBody::Derive`].
    Derive(DeriveResponse),
    /// Answer to [`RequestBody::Sign`].
    Sign(SignResponse),
    /// Answer to [`RequestBody::GroupKeys`].
    GroupKeys(GroupKeysResponse),
    /// The request was refused or failed.
    Error(ErrorResponse),
}

/// This node's PRF share.
///
/// # Security
///
/// Sent only inside the attested session to the application (t of these give
/// `sigma`). The app attributes it to the node by session, not by `party`, and verifies
/// it (`tss::verify_share`, `tss::combine`) before use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveResponse {
    /// The sender's party index (informational).
    pub party: PartyIndex,
    /// `sk_i · H(msg)`, compressed G2, subgroup-checked by [`DeriveResponse::share`].
    #[serde(with = "serde_bytes")]
    pub share: [u8; G2_LEN],
}

impl DeriveResponse {
    /// Response carrying `share`.
    pub fn new(party: PartyIndex, share: &PrfShare) -> Self {
        Self {
            party,
            share: share.to_bytes(),
        }
    }

    /// The share as a point (in the subgroup), or [`Error::Content`] for bytes that
    /// are not one.
    pub fn share(&self) -> Result<PrfShare, Error> {
        Ok(PrfShare::from_bytes(&self.share)?)
    }
}

/// The BIP-340 signature under `xonly(P_app)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignResponse {
    /// `R.x || s`, 64 bytes.
    #[serde(with = "serde_bytes")]
    pub signature: [u8; 64],
}

impl SignResponse {
    /// Wire form of a FROST (BIP-340) signature.
    pub fn new(signature: &Signature) -> Result<Self, Error> {
        let signature = signature
            .serialize()
            .ok()
            .and_then(|v| <[u8; 64]>::try_from(v.as_slice()).ok())
            .ok_or(Error::MalformedSignature)?;
        Ok(Self { signature })
    }

    /// The signature (`R.x` on the curve, `s` below the group order). The application
    /// still verifies it under its key.
    pub fn to_frost(&self) -> Result<Signature, Error> {
        Signature::deserialize(&self.signature).map_err(|_| Error::MalformedSignature)
    }
}

/// The keys of the epoch the node serves in the session.
///
/// # Security
///
/// Informational: the application checks `bls_group_pk` and `secp_group_pk` against
/// the chain's record of `epoch` before trusting a share verified under
/// `bls_public_share`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupKeysResponse {
    /// The committee epoch (the session's, as in [`crate::NodeHello::epoch`]).
    pub epoch: u64,
    /// Shares needed to combine (`t`).
    pub threshold: u16,
    /// Members of the committee (`n`).
    pub committee_size: u16,
    /// `PK`, compressed G1 (DESIGN §4) ([`GroupKeysResponse::check_points`]).
    #[serde(with = "serde_bytes")]
    pub bls_group_pk: [u8; G1_LEN],
    /// `P`, compressed SEC1 secp256k1 point ([`GroupKeysResponse::check_points`]).
    #[serde(with = "serde_bytes")]
    pub secp_group_pk: [u8; 33],
    /// This node's party index in `epoch`.
    pub party: PartyIndex,
    /// This node's BLS public key share `PK_i = sk_i·g1`, compressed G1
    /// ([`GroupKeysResponse::check_points`]).
    #[serde(with = "serde_bytes")]
    pub bls_public_share: [u8; G1_LEN],
}

impl GroupKeysResponse {
    /// Both G1 points decode into the subgroup and the secp256k1 key is on the curve
    /// ([`Error::MalformedPoint`] otherwise). Not done by [`Response::decode`]: a
    /// client that compares the keys with the chain's record, as the SDK does, has the
    /// checked points already.
    pub fn check_points(&self) -> Result<(), Error> {
        for bytes in [&self.bls_group_pk, &self.bls_public_share] {
            if bool::from(blstrs::G1Affine::from_compressed(bytes).is_none()) {
                return Err(Error::MalformedPoint { what: "G1" });
            }
        }
        let compressed = matches!(self.secp_group_pk.first(), Some(0x02 | 0x03));
        if !compressed || k256::PublicKey::from_sec1_bytes(&self.secp_group_pk).is_err() {
            return Err(Error::MalformedPoint { what: "secp256k1" });
        }
        Ok(())
    }
}

/// A refusal or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorResponse {
    /// What went wrong (a number on the wire, see [`ErrorCode::code`]).
    pub code: ErrorCode,
    /// For [`ErrorCode::RateLimited`] and other transient codes: seconds to wait
    /// before retrying, when the node knows.
    pub retry_after_secs: Option<u32>,
}

impl Response {
    /// A response of the current [`VERSION`].
    pub fn new(id: RequestId, body: ResponseBody) -> Self {
        Self {
            version: VERSION,
            id,
            body,
        }
    }

    /// An error response.
    pub fn error(id: RequestId, code: ErrorCode, retry_after_secs: Option<u32>) -> Self {
        Self::new(
            id,
            ResponseBody::Error(ErrorResponse {
                code,
                retry_after_secs,
            }),
        )
    }

    /// CBOR bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        encode_framed(self)
    }

    /// Decodes and validates untrusted bytes: size, version, schema, the error code.
    ///
    /// Points and signatures are checked where they are read, once:
    /// [`DeriveResponse::share`], [`SignResponse::to_frost`],
    /// [`GroupKeysResponse::check_points`]. Checking them here as well doubled the
    /// client's point decompressions (a G2 share, two G1 keys) on every release.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        decode_framed(bytes, MAX_FRAME_LEN)
    }
}
