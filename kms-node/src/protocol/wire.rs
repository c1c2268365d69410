//! How protocol messages travel between nodes: one CBOR value per message, encoded and
//! decoded with [`dkg::wire`] (size bound, no trailing bytes, typed errors).
//!
//! The value is the protocol's message enum, externally tagged by variant name
//! (`{"Round1": {header, ...}}`), the body being the dkg message with its [`Header`]
//! (docs/PROTOCOL.md "Protocol runs (kms-node)"). A receiver first [`WireMessage::peek`]s
//! the header's run id, round and kind without decoding the body, so a message of
//! another run is dropped cheaply.

use std::collections::BTreeSet;

use dkg::step::Peer;
use dkg::vss::{round1, round2, round3, round4};
use dkg::wire::{DecodeError, EncodeError, Header};
use dkg::{repair, vss};
use serde::{Deserialize, Serialize};

/// What a receiver learns from a message before decoding its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The run the message belongs to (from its header).
    pub run_id: [u8; 32],
    /// The step of the receiving machine that consumes it (1 for the first).
    pub round: u8,
    /// Which of the round's message kinds it is (a sender may send several per round).
    pub kind: u8,
}

/// A protocol message as bytes on the wire.
pub trait WireMessage: Sized {
    /// Encodes the message.
    fn encode(&self) -> Result<Vec<u8>, EncodeError>;
    /// Decodes a message from untrusted bytes.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
    /// Reads the frame (run id, round, kind) without decoding the body.
    fn peek(bytes: &[u8]) -> Result<Frame, DecodeError>;
    /// How many messages (of distinct kinds) a party answering to `me` waits for from
    /// each expected sender in `round`.
    fn per_sender(round: u8, me: &BTreeSet<Peer>) -> usize;
    /// Whether messages of `frame` are sent with [`dkg::step::Channel::Agreement`]
    /// (the router then requires them signed and relays them).
    fn needs_agreement(frame: &Frame) -> bool;
}

/// The round of a [`Confirm`]: out of every protocol's own rounds.
pub const CONFIRM_ROUND: u8 = u8::MAX;

/// A member's confirmation of the transcript hash it finished an attempt with, sent
/// after the protocol's last round when the run closes with a confirmation
/// ([`super::driver::Confirmation`]): on the wire `{"Confirm": {header, transcript}}`,
/// with agreement (docs/PROTOCOL.md "Transcript confirmation").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// The run's header (its run id is the attempt's).
    pub header: Header,
    /// The transcript hash of the sender's output.
    #[serde(with = "serde_bytes")]
    pub transcript: [u8; 32],
}

#[derive(Serialize, Deserialize)]
enum ConfirmWire {
    Confirm(Confirm),
}

impl Confirm {
    /// Encodes the confirmation.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        dkg::wire::encode(&ConfirmWire::Confirm(self.clone()))
    }

    /// Decodes a confirmation from untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let ConfirmWire::Confirm(c) = dkg::wire::decode(bytes)?;
        Ok(c)
    }
}

/// The header of any message body, read without the rest of the body.
type HeaderOnly = dkg::wire::LeadingHeader;

#[derive(Serialize)]
enum VssRef<'a> {
    Round1(&'a round1::Broadcast),
    Round2(&'a round2::Direct),
    Round3(&'a round3::Broadcast),
    Round4(&'a round4::Broadcast),
}

#[derive(Deserialize)]
enum VssOwned {
    Round1(round1::Broadcast),
    Round2(round2::Direct),
    Round3(round3::Broadcast),
    Round4(round4::Broadcast),
}

#[derive(Deserialize)]
enum VssPeek {
    Round1(HeaderOnly),
    Round2(HeaderOnly),
    Round3(HeaderOnly),
    Round4(HeaderOnly),
    Confirm(HeaderOnly),
}

impl WireMessage for vss::Message {
    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        dkg::wire::encode(&match self {
            vss::Message::Round1(m) => VssRef::Round1(m),
            vss::Message::Round2(m) => VssRef::Round2(m),
            vss::Message::Round3(m) => VssRef::Round3(m),
            vss::Message::Round4(m) => VssRef::Round4(m),
        })
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(match dkg::wire::decode::<VssOwned>(bytes)? {
            VssOwned::Round1(m) => vss::Message::Round1(m),
            VssOwned::Round2(m) => vss::Message::Round2(m),
            VssOwned::Round3(m) => vss::Message::Round3(m),
            VssOwned::Round4(m) => vss::Message::Round4(m),
        })
    }

    fn peek(bytes: &[u8]) -> Result<Frame, DecodeError> {
        let (h, round) = match dkg::wire::decode_prefix::<VssPeek>(bytes)? {
            VssPeek::Round1(h) => (h, 1),
            VssPeek::Round2(h) => (h, 2),
            VssPeek::Round3(h) => (h, 3),
            VssPeek::Round4(h) => (h, 4),
            VssPeek::Confirm(h) => (h, CONFIRM_ROUND),
        };
        Ok(Frame {
            run_id: h.0.run_id,
            round,
            kind: 0,
        })
    }

    /// Rounds 3 and 4 (`dkg::vss` sends them with `Channel::Agreement`) and the
    /// transcript confirmations ([`Confirm`]).
    fn needs_agreement(frame: &Frame) -> bool {
        matches!(frame.round, 3 | 4 | CONFIRM_ROUND)
    }

    fn per_sender(_: u8, _: &BTreeSet<Peer>) -> usize {
        1
    }
}

#[derive(Serialize)]
enum RepairRef<'a> {
    Commitments(&'a repair::step1::Broadcast),
    Part(&'a repair::step1::Direct),
    Sigma(&'a repair::step2::Direct),
}

#[derive(Deserialize)]
enum RepairOwned {
    Commitments(repair::step1::Broadcast),
    Part(repair::step1::Direct),
    Sigma(repair::step2::Direct),
}

#[derive(Deserialize)]
enum RepairPeek {
    Commitments(HeaderOnly),
    Part(HeaderOnly),
    Sigma(HeaderOnly),
}

impl WireMessage for repair::Message {
    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        dkg::wire::encode(&match self {
            repair::Message::Commitments(m) => RepairRef::Commitments(m),
            repair::Message::Part(m) => RepairRef::Part(m),
            repair::Message::Sigma(m) => RepairRef::Sigma(m),
        })
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(match dkg::wire::decode::<RepairOwned>(bytes)? {
            RepairOwned::Commitments(m) => repair::Message::Commitments(m),
            RepairOwned::Part(m) => repair::Message::Part(m),
            RepairOwned::Sigma(m) => repair::Message::Sigma(m),
        })
    }

    fn peek(bytes: &[u8]) -> Result<Frame, DecodeError> {
        let (h, round, kind) = match dkg::wire::decode_prefix::<RepairPeek>(bytes)? {
            RepairPeek::Commitments(h) => (h, 1, 0),
            RepairPeek::Part(h) => (h, 1, 1),
            RepairPeek::Sigma(h) => (h, 2, 0),
        };
        Ok(Frame {
            run_id: h.0.run_id,
            round,
            kind,
        })
    }

    /// The commitments (`dkg::repair` broadcasts them with `Channel::Agreement`).
    fn needs_agreement(frame: &Frame) -> bool {
        (frame.round, frame.kind) == (1, 0)
    }

    /// A helper waits in step 1 for the commitments and its part from every other
    /// helper; the lost party for the commitments only.
    fn per_sender(round: u8, me: &BTreeSet<Peer>) -> usize {
        let helper = me.iter().any(|p| matches!(p, Peer::Dealer(_)));
        if round == 1 && helper {
            2
        } else {
            1
        }
    }
}

/// FROST signing on behalf of an application ([`tss::session`]): commitments in round
/// 1 (with agreement), signature shares in round 2.
impl WireMessage for tss::session::Message {
    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        tss::session::Message::encode(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        tss::session::Message::decode(bytes).map_err(|e| match e {
            tss::Error::Wire(e) => e,
            other => DecodeError::Semantic {
                offset: None,
                reason: other.to_string(),
            },
        })
    }

    fn peek(bytes: &[u8]) -> Result<Frame, DecodeError> {
        let (run_id, round) = tss::session::Message::peek(bytes)?;
        Ok(Frame {
            run_id,
            round,
            kind: 0,
        })
    }

    /// The commitments.
    fn needs_agreement(frame: &Frame) -> bool {
        frame.round == 1
    }

    fn per_sender(_: u8, _: &BTreeSet<Peer>) -> usize {
        1
    }
}
