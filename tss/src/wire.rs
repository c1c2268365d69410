//! Node ↔ node wire messages of FROST signing (`docs/PROTOCOL.md`, "tss wire messages").
//! The app ↔ node requests and responses (derive, sign) are in the `kms-api` crate.
//!
//! CBOR through [`dkg::wire`], every message starting with a [`Header`] and decoding with
//! `deny_unknown_fields`. Each message's `decode` is the entry point for untrusted
//! bytes: it checks the framing, the header (version and suite), and every point,
//! scalar and path inside, and returns a typed [`Error`], never panics.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;

use dkg::wire::{decode, encode, EncodeError, Header, SuiteId, VERSION};
use dkg::PartyIndex;
use frost_secp256k1_tr::round1::{NonceCommitment, SigningCommitments};
use frost_secp256k1_tr::round2::SignatureShare;
use frost_secp256k1_tr::Secp256K1Sha256TR;
use serde::{Deserialize, Serialize};

use crate::error::{Error, FrostFailure};
use crate::prf::Identity;

pub(crate) fn check_header(header: &Header, suite: SuiteId) -> Result<(), Error> {
    if header.version != VERSION || header.suite != suite {
        return Err(Error::WrongHeader {
            version: header.version,
        });
    }
    Ok(())
}

/// `encode` and `decode` of a message type. `decode` is the entry point for untrusted
/// bytes: CBOR framing, the header (version and the message's suite), then the
/// message's own checks (each a method returning `Result<_, Error>`).
macro_rules! wire_message {
    ($ty:ident, $suite:expr, $doc:literal, |$m:ident| [$($check:expr),*]) => {
        impl $ty {
            /// CBOR bytes. Cannot fail for this module's messages; typed rather than
            /// panicking.
            pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
                encode(self)
            }

            #[doc = $doc]
            pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
                let $m: Self = decode(bytes)?;
                check_header(&$m.header, $suite)?;
                $($check?;)*
                Ok($m)
            }
        }
    };
}

/// A signer's round-1 commitments: hiding and binding nonce commitments, compressed
/// SEC1 points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentPair {
    /// `D_i = d_i·G`.
    #[serde(with = "serde_bytes")]
    pub hiding: [u8; 33],
    /// `E_i = e_i·G`.
    #[serde(with = "serde_bytes")]
    pub binding: [u8; 33],
}

impl CommitmentPair {
    /// Encodes frost commitments.
    pub fn from_frost(c: &SigningCommitments) -> Result<Self, Error> {
        Ok(Self {
            hiding: point33(c.hiding().serialize().ok())?,
            binding: point33(c.binding().serialize().ok())?,
        })
    }

    /// Decodes into frost commitments (points must be on the curve, not the identity).
    pub fn to_frost(&self) -> Result<SigningCommitments, Error> {
        let hiding =
            NonceCommitment::deserialize(&self.hiding).map_err(|_| Error::MalformedPoint {
                what: "hiding commitment",
            })?;
        let binding =
            NonceCommitment::deserialize(&self.binding).map_err(|_| Error::MalformedPoint {
                what: "binding commitment",
            })?;
        Ok(SigningCommitments::new(hiding, binding))
    }
}

fn point33(v: Option<Vec<u8>>) -> Result<[u8; 33], Error> {
    v.and_then(|v| <[u8; 33]>::try_from(v.as_slice()).ok())
        .ok_or(Error::Frost(FrostFailure::Malformed))
}

/// Signer → coordinator, round 1.
///
/// # Security
///
/// Direct message over the authenticated node-to-node link; the coordinator attributes
/// it by link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitments {
    /// Suite [`SuiteId::Secp256k1Tr`], `run_id` of the signing run.
    pub header: Header,
    /// Sender.
    pub party: PartyIndex,
    /// The commitments.
    pub commitments: CommitmentPair,
}

/// Coordinator → every signer, round 2: what to sign and everyone's commitments.
///
/// # Security
///
/// Each signer checks that its own commitment is included unchanged
/// ([`crate::sign::AwaitingPackage::sign`] does) and recomputes the application key
/// from `(app_id, path)` itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningPackage {
    /// Suite [`SuiteId::Secp256k1Tr`], `run_id` of the signing run.
    pub header: Header,
    /// Application identifier.
    #[serde(with = "serde_bytes")]
    pub app_id: [u8; 32],
    /// Derivation path.
    pub path: String,
    /// The message.
    #[serde(with = "serde_bytes")]
    pub message: Vec<u8>,
    /// Commitments of every signer of this run.
    pub commitments: BTreeMap<PartyIndex, CommitmentPair>,
}

impl SigningPackage {
    /// The identity whose key signs.
    pub fn identity(&self) -> Result<Identity, Error> {
        Identity::new(self.app_id, &self.path)
    }

    /// Builds the wire form of a frost signing package.
    pub fn from_frost(
        run_id: [u8; 32],
        identity: &Identity,
        package: &frost_secp256k1_tr::SigningPackage,
    ) -> Result<Self, Error> {
        let mut commitments = BTreeMap::new();
        for (id, c) in package.signing_commitments() {
            let index = index_of(id)?;
            commitments.insert(index, CommitmentPair::from_frost(c)?);
        }
        Ok(Self {
            header: Header::new(SuiteId::Secp256k1Tr, run_id),
            app_id: *identity.app_id(),
            path: identity.path().to_owned(),
            message: package.message().clone(),
            commitments,
        })
    }

    /// The frost signing package.
    pub fn to_frost(&self) -> Result<frost_secp256k1_tr::SigningPackage, Error> {
        let mut map = BTreeMap::new();
        for (index, c) in &self.commitments {
            map.insert(
                crate::sign::identifier::<Secp256K1Sha256TR>(*index)?,
                c.to_frost()?,
            );
        }
        Ok(frost_secp256k1_tr::SigningPackage::new(map, &self.message))
    }
}

/// Party index of a frost identifier created from a `u16` (its scalar's low bytes).
fn index_of(id: &frost_secp256k1_tr::Identifier) -> Result<PartyIndex, Error> {
    let bytes = id.serialize();
    // Identifiers are big-endian scalars; ours are 1..=u16::MAX.
    let (high, low) = bytes
        .split_at_checked(bytes.len().saturating_sub(2))
        .ok_or(Error::Frost(FrostFailure::Malformed))?;
    if high.iter().any(|b| *b != 0) {
        return Err(Error::Frost(FrostFailure::Malformed));
    }
    let low: [u8; 2] = low
        .try_into()
        .map_err(|_| Error::Frost(FrostFailure::Malformed))?;
    PartyIndex::new(u16::from_be_bytes(low)).ok_or(Error::Frost(FrostFailure::Malformed))
}

/// Signer → coordinator, round 2: the signature share.
///
/// # Security
///
/// Direct message over the authenticated link, attributed by link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureShareMsg {
    /// Suite [`SuiteId::Secp256k1Tr`], `run_id` of the signing run.
    pub header: Header,
    /// Sender.
    pub party: PartyIndex,
    /// The share `z_i`, a 32-byte big-endian scalar.
    #[serde(with = "serde_bytes")]
    pub share: [u8; 32],
}

impl SignatureShareMsg {
    /// Wire form of a frost share.
    pub fn new(run_id: [u8; 32], party: PartyIndex, share: &SignatureShare) -> Result<Self, Error> {
        let share = <[u8; 32]>::try_from(share.serialize().as_slice())
            .map_err(|_| Error::Frost(FrostFailure::Malformed))?;
        Ok(Self {
            header: Header::new(SuiteId::Secp256k1Tr, run_id),
            party,
            share,
        })
    }

    /// The frost share.
    pub fn to_frost(&self) -> Result<SignatureShare, Error> {
        SignatureShare::deserialize(&self.share).map_err(|_| Error::Frost(FrostFailure::Malformed))
    }
}

wire_message!(
    Commitments,
    SuiteId::Secp256k1Tr,
    "Decodes and validates untrusted bytes.",
    |m| [m.commitments.to_frost()]
);
wire_message!(
    SigningPackage,
    SuiteId::Secp256k1Tr,
    "Decodes and validates untrusted bytes.",
    |m| [m.identity(), m.to_frost()]
);
wire_message!(
    SignatureShareMsg,
    SuiteId::Secp256k1Tr,
    "Decodes and validates untrusted bytes (the share must be a canonical scalar).",
    |m| [m.to_frost()]
);
