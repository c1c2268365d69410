//! The two request-response protocols between nodes, CBOR-encoded (libp2p's `cbor`
//! codec: one request and one response per stream, each closed by the end of its half
//! of the stream).
//!
//! | protocol | request | response |
//! |---|---|---|
//! | [`HELLO_PROTOCOL`] | [`Hello`](super::Hello) `{evidence: bytes, issued_at: u64}` | [`Ack`] `{admitted: bool, reason: text?}` |
//! | [`MSG_PROTOCOL`] | [`Batch`] (a CBOR array of byte strings: payloads in the order sent) | [`MsgAck`] `{}` |
//!
//! A batch that the receiver drops (peer not admitted, too large) gets no response: the
//! stream is closed without one. A sender puts into one batch the payloads queued for
//! the peer while its earlier requests were in flight (at most [`MAX_BATCH`], and no
//! more bytes than one request may carry): under load, many small protocol messages
//! (echo notices) share one stream instead of opening one each.

use serde::{Deserialize, Serialize};

/// The admission handshake: a [`Hello`](super::Hello), answered by an [`Ack`].
pub const HELLO_PROTOCOL: &str = "/keynet/hello/1";
/// Protocol payloads: a [`Batch`], answered by a [`MsgAck`] once it is in the inbox.
pub const MSG_PROTOCOL: &str = "/keynet/msg/2";
/// Most payloads in one [`Batch`].
pub const MAX_BATCH: usize = 256;
/// Bytes one payload may take in a [`Batch`] beyond its own: its CBOR byte-string head.
pub const ITEM_OVERHEAD: usize = 9;
/// Bytes a request may take beyond the payload (or evidence) it carries: the CBOR
/// headers, field names and `issued_at`.
pub const FRAME_OVERHEAD: usize = 64;
/// Largest [`Ack`] read, in bytes.
pub const MAX_ACK: u64 = 4096;
/// Largest [`MsgAck`] read, in bytes.
pub const MAX_MSG_ACK: u64 = 64;
/// Longest refusal reason sent in an [`Ack`] or kept for `/status`, in characters.
pub const MAX_REASON_CHARS: usize = 512;

/// The answer to a Hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// The receiver admitted the sender.
    pub admitted: bool,
    /// Why not, when it did not.
    pub reason: Option<String>,
}

impl Ack {
    /// An admission.
    pub fn admitted() -> Self {
        Self {
            admitted: true,
            reason: None,
        }
    }

    /// A refusal, the reason cut to [`MAX_REASON_CHARS`].
    pub fn refused(reason: &str) -> Self {
        Self {
            admitted: false,
            reason: Some(truncate_reason(reason)),
        }
    }
}

/// One opaque protocol payload.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Payload([{} bytes])", self.0.len())
    }
}

/// Payloads sent in one request, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch(pub Vec<Payload>);

/// The answer to a [`Batch`]: its payloads reached the receiver's inbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsgAck {}

/// `reason` cut to [`MAX_REASON_CHARS`] characters.
pub fn truncate_reason(reason: &str) -> String {
    reason.chars().take(MAX_REASON_CHARS).collect()
}

/// The request limit for a payload (or evidence) limit of `max_payload` bytes.
pub fn request_limit(max_payload: usize) -> u64 {
    u64::try_from(max_payload.saturating_add(FRAME_OVERHEAD)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use libp2p::futures::io::Cursor;
    use libp2p::request_response::{cbor, Codec as _};
    use libp2p::StreamProtocol;

    use super::*;
    use crate::net::Hello;

    type MsgCodec = cbor::codec::Codec<Batch, MsgAck>;
    type HelloCodec = cbor::codec::Codec<Hello, Ack>;

    async fn encoded<C: libp2p::request_response::Codec<Protocol = StreamProtocol>>(
        mut codec: C,
        request: C::Request,
    ) -> Vec<u8> {
        let mut io = Cursor::new(Vec::new());
        let protocol = StreamProtocol::new(MSG_PROTOCOL);
        codec
            .write_request(&protocol, &mut io, request)
            .await
            .unwrap();
        io.into_inner()
    }

    #[tokio::test]
    async fn payload__should_encode_as_a_byte_string_within_the_frame_overhead() {
        for len in [0usize, 23, 24, 255, 256, 65_535, 65_536, 1 << 20] {
            let bytes = encoded(MsgCodec::default(), Batch(vec![Payload(vec![7; len])])).await;
            // An array of one CBOR byte string (heads at most 9 bytes each), not an array
            // of integers.
            assert!(
                bytes.len() <= len + 2 * ITEM_OVERHEAD,
                "len {len}: {}",
                bytes.len()
            );
            assert!(bytes.len() <= len + FRAME_OVERHEAD);
        }
    }

    #[tokio::test]
    async fn hello__should_encode_within_the_frame_overhead() {
        let hello = Hello {
            evidence: vec![0xff; 5000],
            issued_at: u64::MAX,
        };
        let bytes = encoded(HelloCodec::default(), hello).await;
        assert!(bytes.len() <= 5000 + FRAME_OVERHEAD, "{}", bytes.len());
    }

    #[tokio::test]
    async fn request_limit__should_read_a_full_payload_and_refuse_a_larger_one() {
        let max = 1000;
        let protocol = StreamProtocol::new(MSG_PROTOCOL);
        let mut codec = MsgCodec::default().set_request_size_maximum(request_limit(max));
        let fits = encoded(MsgCodec::default(), Batch(vec![Payload(vec![1; max])])).await;
        let read = codec
            .read_request(&protocol, &mut Cursor::new(fits))
            .await
            .unwrap();
        assert_eq!(read.0[0].0.len(), max);
        let over = encoded(
            MsgCodec::default(),
            Batch(vec![Payload(vec![1; max + FRAME_OVERHEAD])]),
        )
        .await;
        assert!(codec
            .read_request(&protocol, &mut Cursor::new(over))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn next_batch__should_fill_a_request_within_its_limits_and_keep_the_order() {
        use std::collections::VecDeque;
        let max = 1000;
        let protocol = StreamProtocol::new(MSG_PROTOCOL);
        let mut codec = MsgCodec::default().set_request_size_maximum(request_limit(max));
        // Small payloads: at most MAX_BATCH per request, in order, none lost.
        let mut queue: VecDeque<Vec<u8>> =
            (0..600u32).map(|i| i.to_be_bytes()[2..].to_vec()).collect();
        let mut seen = Vec::new();
        while !queue.is_empty() {
            let batch = crate::net::task::next_batch(&mut queue, 1 << 20);
            assert!(!batch.is_empty() && batch.len() <= MAX_BATCH);
            seen.extend(batch.into_iter().map(|p| p.0));
        }
        let expected: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_be_bytes()[2..].to_vec()).collect();
        assert_eq!(seen, expected);
        // Large ones: as many as fit a request the receiver reads, and a payload of the
        // full size alone.
        let sizes = [400usize, 400, 300, 1000, 10, 990];
        let mut queue: VecDeque<Vec<u8>> = sizes.iter().map(|n| vec![1; *n]).collect();
        let mut counts = Vec::new();
        while !queue.is_empty() {
            let batch = crate::net::task::next_batch(&mut queue, max);
            counts.push(batch.len());
            let bytes = encoded(MsgCodec::default(), Batch(batch)).await;
            codec
                .read_request(&protocol, &mut Cursor::new(bytes))
                .await
                .unwrap();
        }
        assert_eq!(counts, [2, 1, 2, 1]);
    }

    #[test]
    fn truncate_reason__should_keep_at_most_the_limit_on_char_boundaries() {
        let long = "é".repeat(MAX_REASON_CHARS + 10);
        let cut = truncate_reason(&long);
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS);
        assert_eq!(truncate_reason("short"), "short");
        assert_eq!(
            Ack::refused(&long).reason.unwrap().chars().count(),
            MAX_REASON_CHARS
        );
    }
}
