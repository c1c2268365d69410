//! Requests and responses inside an admitted app ↔ node session (`docs/PROTOCOL.md`,
//! "App <-> node messages"): one [`Request`] or [`Response`] per Noise transport
//! message, matched by [`RequestId`].
//!
//! Moved here from `tss::wire`, which keeps only the node ↔ node FROST messages.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use frost_secp256k1_tr::Signature;
use serde::{Deserialize, Serialize};
use tss::prf::G2_LEN;
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
}

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

/// "Sign `message` with the key of `(app_id, path)`".
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
}

impl SignRequest {
    /// A request to sign `message` for `identity`.
    pub fn new(identity: &Identity, message: &[u8]) -> Self {
        Self {
            app_id: *identity.app_id(),
            path: identity.path().to_owned(),
            message: message.to_vec(),
        }
    }

    /// The identity whose key signs.
    pub fn identity(&self) -> Result<Identity, Error> {
        Ok(Identity::new(self.app_id, &self.path)?)
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
            RequestBody::Sign(r) => {
                r.identity()?;
                check_len("message", r.message.len(), MAX_SIGN_MESSAGE_LEN)?;
            }
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
    /// `sk_i · H(msg)`, compressed G2, subgroup-checked by [`Response::decode`].
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

    /// The share as a point.
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

    /// Decodes and validates untrusted bytes: size, version, schema, the share (a G2
    /// point in the subgroup), the signature's encoding, the error code.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let response: Self = decode_framed(bytes, MAX_FRAME_LEN)?;
        match &response.body {
            ResponseBody::Derive(r) => {
                r.share()?;
            }
            ResponseBody::Sign(r) => {
                r.to_frost()?;
            }
            ResponseBody::Error(_) => {}
        }
        Ok(response)
    }
}
