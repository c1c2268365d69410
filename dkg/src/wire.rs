//! Wire framing shared by every keynet protocol message (dkg and tss).
//!
//! Messages are CBOR ([RFC 8949]) produced by `ciborium` from serde-derived structs that
//! carry `#[serde(deny_unknown_fields)]`, and every message starts with a [`Header`].
//! [`decode`] is the one entry point for untrusted bytes: it bounds the input size,
//! rejects trailing bytes and returns a typed [`DecodeError`], never panics.
//! [`decode_prefix`] with [`LeadingHeader`] reads only a message's header (its body's
//! first field), for a receiver that routes or drops a message before decoding it.
//!
//! [RFC 8949]: https://www.rfc-editor.org/rfc/rfc8949
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Current wire version of every message in this crate and in `tss`. 2 since
/// 2026-12-07: run ids and digests are CBOR byte strings (1: arrays of 32 integers,
/// which cost a receiver 32 CBOR items each to decode).
pub const VERSION: u16 = 2;

/// Largest message [`decode`] accepts. A round-1 broadcast for t = 255 over BLS12-381 is
/// about 12 KiB; this leaves room for every message of both crates.
pub const MAX_MESSAGE_LEN: usize = 1 << 20;

/// Which key type (and so which group) a message belongs to: the wire identifier of a
/// [`crate::suite::Suite`] (its `ID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SuiteId {
    /// BLS12-381 with keys in G1 (DESIGN §4 key 1).
    Bls12381G1,
    /// secp256k1, FROST(secp256k1, SHA-256-TR) (DESIGN §4 key 2).
    Secp256k1Tr,
}

impl SuiteId {
    /// Stable one-byte code used inside hashes (transcripts, digests).
    pub fn code(self) -> u8 {
        match self {
            SuiteId::Bls12381G1 => 1,
            SuiteId::Secp256k1Tr => 2,
        }
    }
}

/// First field of every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Wire version, [`VERSION`].
    pub version: u16,
    /// Key type of the run.
    pub suite: SuiteId,
    /// Identifier of one protocol run, chosen by the caller (the node derives it from the
    /// epoch, the committee and the attempt number); binds every message, proof and
    /// round-1 signature to that run. Must be fresh for every attempt: a retry under the
    /// same id lets a participant replay the earlier attempt's signed round-1 digests
    /// (see [`crate::vss::signed_message`]). A byte string on the wire.
    #[serde(with = "serde_bytes")]
    pub run_id: [u8; 32],
}

impl Header {
    /// A header with the current [`VERSION`].
    pub fn new(suite: SuiteId, run_id: [u8; 32]) -> Self {
        Self {
            version: VERSION,
            suite,
            run_id,
        }
    }
}

/// Encoding failed. Cannot happen for the message types of this crate; kept typed so the
/// helper never panics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The serializer rejected the value.
    #[error("CBOR encoding failed: {reason}")]
    Serialize {
        /// What the serializer reported.
        reason: String,
    },
}

/// Why bytes did not decode into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More than [`MAX_MESSAGE_LEN`] bytes.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Input length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The input ended inside a CBOR item.
    #[error("message truncated")]
    Truncated,
    /// Not well-formed CBOR.
    #[error("malformed CBOR at byte {offset}")]
    Syntax {
        /// Byte offset of the error.
        offset: usize,
    },
    /// Well-formed CBOR that does not match the message schema (unknown or missing field,
    /// wrong type, invalid point or scalar, zero party index...).
    #[error("invalid message: {reason}")]
    Semantic {
        /// Byte offset, when the decoder knows it.
        offset: Option<usize>,
        /// The schema violation, as reported by the decoder.
        reason: String,
    },
    /// Bytes left after one complete message.
    #[error("{count} trailing bytes after the message")]
    TrailingBytes {
        /// Number of unread bytes.
        count: usize,
    },
    /// The nesting is deeper than the decoder allows.
    #[error("message nested too deeply")]
    RecursionLimit,
}

/// Encodes a message as CBOR.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    ciborium::into_writer(message, &mut out).map_err(|e| EncodeError::Serialize {
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// Decodes exactly one message from untrusted bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut reader = bytes;
    let value = decode_from(&mut reader)?;
    if !reader.is_empty() {
        return Err(DecodeError::TrailingBytes {
            count: reader.len(),
        });
    }
    Ok(value)
}

/// Decodes what `T` reads of the message at the start of `bytes` and nothing more: the
/// parts of the message `T` does not visit (a map's entries after those it took) and
/// any bytes after it are not read, so they are neither checked nor paid for. With
/// [`LeadingHeader`] this reads a message's header without walking its body (a full
/// [`decode`] with serde's `IgnoredAny` for the body would parse every item of it). A
/// message that passes here may still fail [`decode`].
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_from(&mut &bytes[..])
}

fn decode_from<T: DeserializeOwned>(reader: &mut &[u8]) -> Result<T, DecodeError> {
    if reader.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::TooLarge {
            len: reader.len(),
            max: MAX_MESSAGE_LEN,
        });
    }
    ciborium::from_reader(reader).map_err(|e| match e {
        ciborium::de::Error::Io(_) => DecodeError::Truncated,
        ciborium::de::Error::Syntax(offset) => DecodeError::Syntax { offset },
        ciborium::de::Error::Semantic(offset, reason) => DecodeError::Semantic { offset, reason },
        ciborium::de::Error::RecursionLimitExceeded => DecodeError::RecursionLimit,
    })
}

/// The [`Header`] of a message body (a CBOR map whose first entry is `header`, as every
/// message of this crate and of `tss` encodes), read by [`decode_prefix`] without the
/// entries after it. A body whose first entry is not the header does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadingHeader(pub Header);

impl<'de> Deserialize<'de> for LeadingHeader {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LeadingHeader;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a message body whose first field is the header")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<LeadingHeader, A::Error> {
                match map.next_key::<String>()?.as_deref() {
                    Some("header") => Ok(LeadingHeader(map.next_value()?)),
                    Some(other) => Err(serde::de::Error::invalid_value(
                        serde::de::Unexpected::Str(other),
                        &"the field `header` first",
                    )),
                    None => Err(serde::de::Error::missing_field("header")),
                }
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Byte strings encoded as CBOR byte strings (major type 2) rather than arrays of
/// integers. Used for points and scalars inside messages.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Bytes(pub(crate) Vec<u8>);

impl core::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "[{} bytes]", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        deserializer.deserialize_bytes(V)
    }
}

/// An Ed25519 signature: a CBOR byte string of exactly 64 bytes (any other length fails
/// to decode). Whether it verifies is checked by the protocol, not the decoder.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Sig(pub(crate) [u8; 64]);

impl core::fmt::Debug for Sig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sig(")?;
        for b in self.0.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

impl Serialize for Sig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Bytes(v) = Bytes::deserialize(deserializer)?;
        let len = v.len();
        <[u8; 64]>::try_from(v)
            .map(Sig)
            .map_err(|_| serde::de::Error::invalid_length(len, &"a 64-byte signature"))
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn header__should_roundtrip() {
        let h = Header::new(SuiteId::Secp256k1Tr, [7; 32]);
        let bytes = encode(&h).unwrap();
        assert_eq!(decode::<Header>(&bytes).unwrap(), h);
    }

    #[test]
    fn decode__should_reject_trailing_bytes() {
        let mut bytes = encode(&Header::new(SuiteId::Bls12381G1, [0; 32])).unwrap();
        bytes.push(0);
        assert_eq!(
            decode::<Header>(&bytes),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }

    /// A message body as the crates encode them: the header first.
    #[derive(Serialize)]
    struct Body {
        header: Header,
        rest: Vec<u32>,
    }

    #[test]
    fn decode_prefix__should_read_the_leading_header_and_not_the_rest() {
        let h = Header::new(SuiteId::Secp256k1Tr, [9; 32]);
        let mut bytes = encode(&Body {
            header: h,
            rest: (0..1000).collect(),
        })
        .unwrap();
        assert_eq!(decode_prefix::<LeadingHeader>(&bytes), Ok(LeadingHeader(h)));
        // Neither the body after the header nor bytes after the message are read: cut
        // off in the middle of `rest`, with garbage appended, the header still reads
        // (and the message itself does not decode).
        bytes.truncate(bytes.len() / 2);
        bytes.extend_from_slice(&[0xff; 7]);
        assert_eq!(decode_prefix::<LeadingHeader>(&bytes), Ok(LeadingHeader(h)));
        assert!(decode::<serde::de::IgnoredAny>(&bytes).is_err());
    }

    #[test]
    fn decode_prefix__should_refuse_a_body_that_does_not_start_with_the_header() {
        #[derive(Serialize)]
        struct Late {
            rest: u8,
            header: Header,
        }
        let h = Header::new(SuiteId::Bls12381G1, [1; 32]);
        let late = encode(&Late { rest: 1, header: h }).unwrap();
        assert!(matches!(
            decode_prefix::<LeadingHeader>(&late),
            Err(DecodeError::Semantic { .. })
        ));
        let empty = encode(&std::collections::BTreeMap::<String, u8>::new()).unwrap();
        assert!(matches!(
            decode_prefix::<LeadingHeader>(&empty),
            Err(DecodeError::Semantic { .. })
        ));
        assert_eq!(
            decode_prefix::<LeadingHeader>(&[]),
            Err(DecodeError::Truncated)
        );
        let too_large = vec![0u8; MAX_MESSAGE_LEN + 1];
        assert!(matches!(
            decode_prefix::<LeadingHeader>(&too_large),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn decode__should_reject_unknown_fields() {
        #[derive(Serialize)]
        struct Extra {
            version: u16,
            suite: SuiteId,
            #[serde(with = "serde_bytes")]
            run_id: [u8; 32],
            extra: u8,
        }
        let bytes = encode(&Extra {
            version: 1,
            suite: SuiteId::Bls12381G1,
            run_id: [0; 32],
            extra: 1,
        })
        .unwrap();
        assert!(matches!(
            decode::<Header>(&bytes),
            Err(DecodeError::Semantic { .. })
        ));
    }
}
