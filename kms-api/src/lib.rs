#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod error;
pub mod handshake;
pub mod message;
pub mod noise;

pub use error::{Error, ErrorCode};
pub use handshake::{AppHello, EvidencePayload, NodeHello, SessionPurpose};
pub use message::{
    DeriveRequest, DeriveResponse, ErrorResponse, GroupKeysRequest, GroupKeysResponse, Request,
    RequestBody, RequestId, Response, ResponseBody, SignRequest, SignResponse, MAX_SIGNERS,
};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Version of every message of this crate, the first field of each. A decoder refuses
/// any other value with [`Error::UnsupportedVersion`] (a node answers
/// [`ErrorCode::UnsupportedVersion`]). Independent of the node-to-node
/// [`dkg::wire::VERSION`].
pub const VERSION: u16 = 1;

/// Largest Noise message (the Noise specification's limit, also snow's).
pub const NOISE_MAX_MESSAGE_LEN: usize = 65_535;

/// Largest handshake payload ([`AppHello`], [`NodeHello`]): what fits in Noise_XX
/// message 2 next to the responder's ephemeral key (32), encrypted static key (32 + 16)
/// and the payload's tag (16). Message 3 has 16 bytes more room; one limit serves both.
pub const MAX_HANDSHAKE_PAYLOAD_LEN: usize = NOISE_MAX_MESSAGE_LEN - 96;

/// Largest [`Request`] or [`Response`]: one Noise transport message minus its tag.
pub const MAX_FRAME_LEN: usize = NOISE_MAX_MESSAGE_LEN - 16;

/// Largest evidence in a handshake payload (a TDX quote with its embedded PCK chain is
/// about 5 KiB, a Nitro document about 4.5 KiB, an SEV-SNP report 1184 bytes).
pub const MAX_EVIDENCE_LEN: usize = 32 * 1024;

/// Largest auxiliary blob next to the evidence (SEV-SNP's certificate table: VCEK or
/// VLEK, ASK, ARK).
pub const MAX_AUX_LEN: usize = 24 * 1024;

/// Largest message a [`SignRequest`] may ask to sign.
pub const MAX_SIGN_MESSAGE_LEN: usize = 32 * 1024;

/// Just the `version` field of any message; other fields are skipped, so a message of
/// another version (another layout) is still told apart from garbage.
#[derive(Deserialize)]
struct VersionProbe {
    version: u16,
}

/// Size limit, then version, then the full schema (`deny_unknown_fields`, trailing bytes
/// rejected by [`dkg::wire::decode`]). The caller validates the contents.
fn decode_framed<T: DeserializeOwned>(bytes: &[u8], max: usize) -> Result<T, Error> {
    if bytes.len() > max {
        return Err(Error::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    let probe: VersionProbe = dkg::wire::decode(bytes)?;
    if probe.version != VERSION {
        return Err(Error::UnsupportedVersion {
            version: probe.version,
        });
    }
    Ok(dkg::wire::decode(bytes)?)
}

fn encode_framed<T: Serialize>(message: &T) -> Result<Vec<u8>, Error> {
    dkg::wire::encode(message).map_err(|e| Error::Encode {
        reason: e.to_string(),
    })
}

/// Fails when `len > max`, naming `field`.
fn check_len(field: &'static str, len: usize, max: usize) -> Result<(), Error> {
    if len > max {
        return Err(Error::FieldTooLong { field, len, max });
    }
    Ok(())
}
