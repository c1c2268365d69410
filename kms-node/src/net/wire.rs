//! The node ↔ node wire: a request-response protocol for admission and one long-lived
//! stream per direction and peer for payloads.
//!
//! | protocol | what |
//! |---|---|
//! | [`HELLO_PROTOCOL`] | request-response, CBOR (libp2p's `cbor` codec): [`Hello`](super::Hello) `{evidence: bytes, issued_at: u64}`, answered by [`Ack`] `{admitted: bool, reason: text?}` |
//! | [`MSG_PROTOCOL`] | a stream the sender opens once per connection and keeps: the receiver writes [`Answer::Ready`], then the sender writes frames ([`encode_frame`]) and the receiver answers each with one byte ([`Answer`]) |
//!
//! A frame is a big-endian `u32` body length, then the body: one or more items, each a
//! big-endian `u32` length and that many payload bytes, in the order sent. A body is at
//! most [`frame_limit`]`(max_payload)` bytes and holds at most [`MAX_BATCH`] items of at
//! most `max_payload` bytes each. A sender puts into one frame the payloads queued for
//! the peer while its earlier frames were unanswered (at most [`SEND_WINDOW`] of them):
//! under load, many small protocol messages (echo notices) share one frame.
//!
//! Why not request-response for payloads too: every request opens a Yamux stream,
//! negotiates its protocol and closes it again; at n = 32 a genesis DKG sent ~20,000
//! requests, and that per-request work, not the payloads, was most of the node's CPU
//! (docs/PERFORMANCE.md "Network DKG").
//!
//! [`SEND_WINDOW`]: super::SEND_WINDOW

use serde::{Deserialize, Serialize};

/// The admission handshake: a [`Hello`](super::Hello), answered by an [`Ack`].
pub const HELLO_PROTOCOL: &str = "/keynet/hello/1";
/// Protocol payloads: frames on a long-lived stream, each answered by an [`Answer`].
pub const MSG_PROTOCOL: &str = "/keynet/msg/3";
/// Most payloads in one frame.
pub const MAX_BATCH: usize = 256;
/// Bytes one payload takes in a frame's body beyond its own: its length.
pub const ITEM_OVERHEAD: usize = 4;
/// Bytes of a frame before its body: the body's length.
pub const FRAME_HEADER: usize = 4;
/// Bytes a Hello request may take beyond the evidence it carries (the CBOR headers,
/// field names and `issued_at`), and a frame's body beyond one full-size payload.
pub const FRAME_OVERHEAD: usize = 64;
/// Largest [`Ack`] read, in bytes.
pub const MAX_ACK: u64 = 4096;
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

/// What the receiver of a [`MSG_PROTOCOL`] stream writes back: one byte when it accepts
/// the stream, then one per frame, in the order of the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Answer {
    /// The stream is accepted: frames may follow (the sender writes none before this).
    Ready = 0,
    /// The frame's payloads are in the receiver's inbox.
    Delivered = 1,
    /// The frame was dropped: it holds more than [`MAX_BATCH`] payloads or one over the
    /// receiver's `max_payload`. The stream stays open.
    Invalid = 2,
    /// The frame was dropped: the receiver has not admitted the sender (or the admission
    /// expired). The sender holds further payloads and sends its Hello again.
    NotAdmitted = 3,
}

impl Answer {
    /// The answer a byte stands for.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Ready),
            1 => Some(Self::Delivered),
            2 => Some(Self::Invalid),
            3 => Some(Self::NotAdmitted),
            _ => None,
        }
    }
}

/// Why a frame's body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The body holds no payload.
    #[error("empty frame")]
    Empty,
    /// An item's length runs past the end of the body.
    #[error("frame cut off inside an item")]
    Truncated,
    /// More than [`MAX_BATCH`] payloads.
    #[error("frame holds more than {MAX_BATCH} payloads")]
    TooMany,
    /// A payload over the receiver's `max_payload`.
    #[error("payload of {len} bytes is over the limit of {max} bytes")]
    PayloadTooLarge {
        /// The payload's size.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// The largest frame body a receiver with `max_payload` reads.
pub fn frame_limit(max_payload: usize) -> usize {
    max_payload.saturating_add(FRAME_OVERHEAD)
}

/// Bytes `payloads` take as a frame body.
pub fn body_len(payloads: &[Vec<u8>]) -> usize {
    payloads
        .iter()
        .map(|p| p.len().saturating_add(ITEM_OVERHEAD))
        .fold(0, usize::saturating_add)
}

/// The frame (header and body) carrying `payloads`, or `None` if a length does not fit
/// in a `u32`.
pub fn encode_frame(payloads: &[Vec<u8>]) -> Option<Vec<u8>> {
    let body = body_len(payloads);
    let mut frame = Vec::with_capacity(body.saturating_add(FRAME_HEADER));
    frame.extend_from_slice(&u32::try_from(body).ok()?.to_be_bytes());
    for payload in payloads {
        frame.extend_from_slice(&u32::try_from(payload.len()).ok()?.to_be_bytes());
        frame.extend_from_slice(payload);
    }
    Some(frame)
}

/// The payloads of a frame's body, in order.
///
/// # Errors
///
/// [`FrameError`]: empty, cut off, too many payloads, or one over `max_payload`.
pub fn decode_body(mut body: &[u8], max_payload: usize) -> Result<Vec<Vec<u8>>, FrameError> {
    let mut payloads = Vec::new();
    while !body.is_empty() {
        if payloads.len() == MAX_BATCH {
            return Err(FrameError::TooMany);
        }
        let (head, rest) = body
            .split_first_chunk::<ITEM_OVERHEAD>()
            .ok_or(FrameError::Truncated)?;
        let len = usize::try_from(u32::from_be_bytes(*head)).map_err(|_| FrameError::Truncated)?;
        if len > max_payload {
            return Err(FrameError::PayloadTooLarge {
                len,
                max: max_payload,
            });
        }
        let (payload, rest) = rest.split_at_checked(len).ok_or(FrameError::Truncated)?;
        payloads.push(payload.to_vec());
        body = rest;
    }
    if payloads.is_empty() {
        return Err(FrameError::Empty);
    }
    Ok(payloads)
}

/// `reason` cut to [`MAX_REASON_CHARS`] characters.
pub fn truncate_reason(reason: &str) -> String {
    reason.chars().take(MAX_REASON_CHARS).collect()
}

/// The request limit of a Hello for an evidence limit of `max_payload` bytes.
pub fn request_limit(max_payload: usize) -> u64 {
    u64::try_from(frame_limit(max_payload)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(non_snake_case, clippy::unwrap_used)]

    use libp2p::futures::io::Cursor;
    use libp2p::request_response::{cbor, Codec as _};
    use libp2p::StreamProtocol;

    use super::*;
    use crate::net::Hello;

    type HelloCodec = cbor::codec::Codec<Hello, Ack>;

    fn body_of(frame: &[u8]) -> &[u8] {
        let (head, body) = frame.split_first_chunk::<FRAME_HEADER>().unwrap();
        assert_eq!(u32::from_be_bytes(*head) as usize, body.len());
        body
    }

    #[test]
    fn frame__should_round_trip_in_order_within_the_overheads() {
        let payloads: Vec<Vec<u8>> = vec![vec![], vec![7], vec![1; 300], vec![2; 5]];
        let frame = encode_frame(&payloads).unwrap();
        assert_eq!(frame.len(), FRAME_HEADER + body_len(&payloads));
        assert_eq!(body_len(&payloads), 306 + 4 * ITEM_OVERHEAD);
        assert_eq!(decode_body(body_of(&frame), 300).unwrap(), payloads);
    }

    #[test]
    fn decode_body__should_refuse_empty_cut_off_oversize_and_too_many() {
        assert_eq!(decode_body(&[], 10), Err(FrameError::Empty));
        let frame = encode_frame(&[vec![1; 11]]).unwrap();
        assert_eq!(
            decode_body(body_of(&frame), 10),
            Err(FrameError::PayloadTooLarge { len: 11, max: 10 })
        );
        let body = body_of(&frame);
        for cut in 1..body.len() {
            assert_eq!(
                decode_body(&body[..cut], 100),
                Err(FrameError::Truncated),
                "cut at {cut}"
            );
        }
        // A length far past the end, not over the limit.
        assert_eq!(
            decode_body(&[0, 0, 0, 9, 1], 100),
            Err(FrameError::Truncated)
        );
        let full = vec![vec![0u8; 0]; MAX_BATCH];
        let frame = encode_frame(&full).unwrap();
        assert_eq!(decode_body(body_of(&frame), 1).unwrap().len(), MAX_BATCH);
        let over = vec![vec![0u8; 0]; MAX_BATCH + 1];
        let frame = encode_frame(&over).unwrap();
        assert_eq!(decode_body(body_of(&frame), 1), Err(FrameError::TooMany));
    }

    #[test]
    fn answer__should_map_each_byte_and_refuse_others() {
        for answer in [
            Answer::Ready,
            Answer::Delivered,
            Answer::Invalid,
            Answer::NotAdmitted,
        ] {
            assert_eq!(Answer::from_byte(answer as u8), Some(answer));
        }
        assert_eq!(Answer::from_byte(4), None);
        assert_eq!(Answer::from_byte(0xff), None);
    }

    #[tokio::test]
    async fn hello__should_encode_within_the_frame_overhead() {
        let hello = Hello {
            evidence: vec![0xff; 5000],
            issued_at: u64::MAX,
        };
        let mut io = Cursor::new(Vec::new());
        let protocol = StreamProtocol::new(HELLO_PROTOCOL);
        HelloCodec::default()
            .write_request(&protocol, &mut io, hello)
            .await
            .unwrap();
        let bytes = io.into_inner();
        assert!(bytes.len() <= 5000 + FRAME_OVERHEAD, "{}", bytes.len());
        let mut codec = HelloCodec::default().set_request_size_maximum(request_limit(5000));
        assert!(codec
            .read_request(&protocol, &mut Cursor::new(bytes))
            .await
            .is_ok());
    }

    #[test]
    fn next_batch__should_fill_a_frame_within_its_limits_and_keep_the_order() {
        use std::collections::VecDeque;
        // Small payloads: at most MAX_BATCH per frame, in order, none lost.
        let mut queue: VecDeque<Vec<u8>> =
            (0..600u32).map(|i| i.to_be_bytes()[2..].to_vec()).collect();
        let mut seen = Vec::new();
        while !queue.is_empty() {
            let batch = crate::net::stream::next_batch(&mut queue, 1 << 20);
            assert!(!batch.is_empty() && batch.len() <= MAX_BATCH);
            seen.extend(batch);
        }
        let expected: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_be_bytes()[2..].to_vec()).collect();
        assert_eq!(seen, expected);
        // Large ones: as many as a receiver with the same limit reads, and a payload of
        // the full size alone.
        let max = 1000;
        let sizes = [400usize, 400, 300, 1000, 10, 990, 1000, 1000];
        let mut queue: VecDeque<Vec<u8>> = sizes.iter().map(|n| vec![1; *n]).collect();
        let mut counts = Vec::new();
        while !queue.is_empty() {
            let batch = crate::net::stream::next_batch(&mut queue, max);
            counts.push(batch.len());
            let frame = encode_frame(&batch).unwrap();
            assert!(body_of(&frame).len() <= frame_limit(max));
            assert_eq!(decode_body(body_of(&frame), max).unwrap(), batch);
        }
        assert_eq!(counts, [2, 1, 2, 1, 1, 1]);
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
