//! The app ↔ node Noise_XX_25519_ChaChaPoly_SHA256 session, sans-IO (DESIGN §8,
//! `docs/PROTOCOL.md`, "App <-> node session"): handshake states that take and produce
//! handshake messages carrying this crate's payloads, a [`Transport`] for the admitted
//! session, and the TCP framing both sides use ([`encode_frame`], [`split_frame`]).
//!
//! ```text
//! app (Initiator)                                  node (Responder)
//! Initiator::start            -- message 1 -->     Responder::read_message_1
//!                                                   (no payload)
//! Initiator::read_node_hello  <-- message 2 --     ResponderStarted::send_node_hello
//!                                                   (NodeHello)
//! InitiatorReady::send_app_hello -- message 3 -->  ResponderAwaiting::read_app_hello
//!                                                   (AppHello)
//! Transport::encrypt / decrypt  <-- Request / Response -->
//! ```
//!
//! Each state consumes itself, so a message cannot be processed twice or out of order.
//! Nothing here panics on peer bytes; every failure is a [`NoiseError`].
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode};
use crate::{AppHello, NodeHello, MAX_FRAME_LEN, MAX_HANDSHAKE_PAYLOAD_LEN, NOISE_MAX_MESSAGE_LEN};

/// The Noise protocol name of the session.
pub const NOISE_PATTERN: &str = "Noise_XX_25519_ChaChaPoly_SHA256";

/// Bytes of the length prefix in front of every Noise message on TCP.
pub const FRAME_HEADER_LEN: usize = 2;

/// Length of Noise_XX message 1 (the initiator's ephemeral key, no payload).
pub const MESSAGE_1_LEN: usize = 32;

/// The most a Noise_XX handshake message adds to its payload: an ephemeral key (32), an
/// encrypted static key (32 + 16) and the payload's tag (16).
const HANDSHAKE_OVERHEAD: usize = NOISE_MAX_MESSAGE_LEN - MAX_HANDSHAKE_PAYLOAD_LEN;

/// What a transport message adds to its plaintext: a ChaChaPoly tag.
const TAG_LEN: usize = NOISE_MAX_MESSAGE_LEN - MAX_FRAME_LEN;

/// A zeroed output buffer for a message of at most `len` bytes: sized to the message,
/// not to the 64 KiB limit (that memset was 1 % of a release's CPU).
fn buffer(len: usize) -> Vec<u8> {
    vec![0u8; len.min(NOISE_MAX_MESSAGE_LEN)]
}

/// Why a handshake or transport step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoiseError {
    /// A Noise message (or a plaintext to encrypt) is longer than the limit.
    #[error("noise message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A frame header announcing zero bytes (no Noise message is empty).
    #[error("empty frame")]
    EmptyFrame,
    /// Message 1 carried a payload (the pattern sends none).
    #[error("handshake message 1 carried a payload")]
    UnexpectedPayload,
    /// The Noise state machine refused the message: it did not decrypt or
    /// authenticate, has the wrong length, or a Diffie-Hellman failed.
    #[error("noise: {0}")]
    Noise(NoiseFailure),
    /// The handshake payload did not decode ([`Error`]).
    #[error("handshake payload: {0}")]
    Payload(#[from] Error),
    /// The handshake finished without authenticating a 32-byte remote static key
    /// (cannot happen with Noise_XX; checked instead of assumed).
    #[error("the handshake authenticated no remote static key")]
    NoRemoteStatic,
}

/// What the Noise library reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoiseFailure {
    /// Decryption or authentication failed (a tampered or foreign message).
    Decrypt,
    /// A Diffie-Hellman computation failed (a low-order point).
    Dh,
    /// A message of the wrong length or shape for this step.
    Input,
    /// Any other state or initialisation error.
    State,
}

impl fmt::Display for NoiseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoiseFailure::Decrypt => "decryption failed",
            NoiseFailure::Dh => "Diffie-Hellman failed",
            NoiseFailure::Input => "malformed message",
            NoiseFailure::State => "invalid state",
        })
    }
}

impl From<snow::Error> for NoiseError {
    fn from(e: snow::Error) -> Self {
        NoiseError::Noise(match e {
            snow::Error::Decrypt => NoiseFailure::Decrypt,
            snow::Error::Dh => NoiseFailure::Dh,
            snow::Error::Input => NoiseFailure::Input,
            _ => NoiseFailure::State,
        })
    }
}

impl NoiseError {
    /// The code a node answers (when it still can) for a peer whose bytes failed here.
    pub fn code(&self) -> ErrorCode {
        match self {
            NoiseError::Payload(e) => e.code(),
            _ => ErrorCode::BadRequest,
        }
    }
}

/// An X25519 Noise static key pair. The private half is zeroized on drop and never
/// printed.
#[derive(Clone)]
pub struct StaticKey {
    secret: Zeroizing<[u8; 32]>,
    public: [u8; 32],
}

impl StaticKey {
    /// The key pair of the X25519 private key `secret`.
    pub fn from_secret(secret: [u8; 32]) -> Result<Self, NoiseError> {
        let secret = Zeroizing::new(secret);
        let public = x25519::public_key(&secret).ok_or(NoiseError::Noise(NoiseFailure::State))?;
        Ok(Self { secret, public })
    }

    /// A fresh key pair from the operating system's random generator.
    pub fn generate() -> Result<Self, NoiseError> {
        let keypair = builder()?.generate_keypair()?;
        let secret = Zeroizing::new(keypair.private);
        let bytes = <[u8; 32]>::try_from(secret.as_slice())
            .map_err(|_| NoiseError::Noise(NoiseFailure::State))?;
        Self::from_secret(bytes)
    }

    /// The public key (what the evidence binds).
    pub fn public(&self) -> [u8; 32] {
        self.public
    }
}

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKey")
            .field("public", &Hex(&self.public))
            .finish_non_exhaustive()
    }
}

struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

fn builder() -> Result<snow::Builder<'static>, NoiseError> {
    let params = NOISE_PATTERN
        .parse()
        .map_err(|_| NoiseError::Noise(NoiseFailure::State))?;
    Ok(snow::Builder::with_resolver(
        params,
        Box::new(x25519::Resolver),
    ))
}

fn check_message_len(message: &[u8]) -> Result<(), NoiseError> {
    if message.len() > NOISE_MAX_MESSAGE_LEN {
        return Err(NoiseError::TooLarge {
            len: message.len(),
            max: NOISE_MAX_MESSAGE_LEN,
        });
    }
    Ok(())
}

/// Writes the next handshake message with `payload`.
fn write(state: &mut snow::HandshakeState, payload: &[u8]) -> Result<Vec<u8>, NoiseError> {
    if payload.len() > MAX_HANDSHAKE_PAYLOAD_LEN {
        return Err(Error::TooLarge {
            len: payload.len(),
            max: MAX_HANDSHAKE_PAYLOAD_LEN,
        }
        .into());
    }
    let mut out = buffer(payload.len().saturating_add(HANDSHAKE_OVERHEAD));
    let len = state.write_message(payload, &mut out)?;
    out.truncate(len);
    Ok(out)
}

/// Reads the next handshake message, returning its payload.
fn read(state: &mut snow::HandshakeState, message: &[u8]) -> Result<Vec<u8>, NoiseError> {
    check_message_len(message)?;
    // A payload is never longer than its message.
    let mut out = buffer(message.len());
    let len = state.read_message(message, &mut out)?;
    out.truncate(len);
    Ok(out)
}

fn remote_static(state: &snow::HandshakeState) -> Result<[u8; 32], NoiseError> {
    state
        .get_remote_static()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .ok_or(NoiseError::NoRemoteStatic)
}

fn transport(state: snow::HandshakeState) -> Result<Transport, NoiseError> {
    let remote_static = remote_static(&state)?;
    Ok(Transport {
        state: state.into_transport_mode()?,
        remote_static,
    })
}

/// The application's side, after message 1 was written; waits for message 2.
pub struct Initiator {
    state: snow::HandshakeState,
}

impl Initiator {
    /// Starts a handshake with `key` as the application's static key; returns the state
    /// and message 1 (no payload) to send.
    pub fn start(key: &StaticKey) -> Result<(Self, Vec<u8>), NoiseError> {
        let mut state = builder()?
            .local_private_key(key.secret.as_slice())
            .build_initiator()?;
        let message = write(&mut state, &[])?;
        Ok((Self { state }, message))
    }

    /// Reads message 2: decodes and validates the node's [`NodeHello`]. The caller
    /// then verifies its evidence against [`NodeHello::binding`] with
    /// [`InitiatorReady::remote_static`].
    pub fn read_node_hello(
        mut self,
        message: &[u8],
    ) -> Result<(InitiatorReady, NodeHello), NoiseError> {
        let payload = read(&mut self.state, message)?;
        let hello = NodeHello::decode(&payload)?;
        let remote_static = remote_static(&self.state)?;
        Ok((
            InitiatorReady {
                state: self.state,
                remote_static,
            },
            hello,
        ))
    }
}

/// The application's side after message 2: the node's static key is known.
pub struct InitiatorReady {
    state: snow::HandshakeState,
    remote_static: [u8; 32],
}

impl InitiatorReady {
    /// The node's Noise static key, as the handshake authenticated it.
    pub fn remote_static(&self) -> [u8; 32] {
        self.remote_static
    }

    /// Writes message 3 carrying `hello`; returns it and the session's [`Transport`].
    pub fn send_app_hello(mut self, hello: &AppHello) -> Result<(Vec<u8>, Transport), NoiseError> {
        let payload = hello.encode()?;
        let message = write(&mut self.state, &payload)?;
        Ok((message, transport(self.state)?))
    }
}

/// The node's side before message 1.
pub struct Responder {
    state: snow::HandshakeState,
}

impl Responder {
    /// A responder with `key` as the node's static key.
    pub fn new(key: &StaticKey) -> Result<Self, NoiseError> {
        let state = builder()?
            .local_private_key(key.secret.as_slice())
            .build_responder()?;
        Ok(Self { state })
    }

    /// Reads message 1, which must carry no payload.
    pub fn read_message_1(mut self, message: &[u8]) -> Result<ResponderStarted, NoiseError> {
        let payload = read(&mut self.state, message)?;
        if !payload.is_empty() {
            return Err(NoiseError::UnexpectedPayload);
        }
        Ok(ResponderStarted { state: self.state })
    }
}

/// The node's side after message 1.
pub struct ResponderStarted {
    state: snow::HandshakeState,
}

impl ResponderStarted {
    /// Writes message 2 carrying `hello`.
    pub fn send_node_hello(
        mut self,
        hello: &NodeHello,
    ) -> Result<(ResponderAwaiting, Vec<u8>), NoiseError> {
        let payload = hello.encode()?;
        let message = write(&mut self.state, &payload)?;
        Ok((ResponderAwaiting { state: self.state }, message))
    }
}

/// The node's side after message 2; waits for message 3.
pub struct ResponderAwaiting {
    state: snow::HandshakeState,
}

impl ResponderAwaiting {
    /// Reads message 3: decodes and validates the application's [`AppHello`] and
    /// finishes the handshake. The caller then verifies its evidence against
    /// [`AppHello::binding`] with [`Transport::remote_static`] before answering any
    /// request.
    pub fn read_app_hello(mut self, message: &[u8]) -> Result<(Transport, AppHello), NoiseError> {
        let payload = read(&mut self.state, message)?;
        let hello = AppHello::decode(&payload)?;
        Ok((transport(self.state)?, hello))
    }
}

/// An established session: one [`crate::Request`] or [`crate::Response`] per message.
pub struct Transport {
    state: snow::TransportState,
    remote_static: [u8; 32],
}

impl Transport {
    /// The peer's Noise static key, as the handshake authenticated it.
    pub fn remote_static(&self) -> [u8; 32] {
        self.remote_static
    }

    /// Encrypts one message (at most [`MAX_FRAME_LEN`] bytes).
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if plaintext.len() > MAX_FRAME_LEN {
            return Err(NoiseError::TooLarge {
                len: plaintext.len(),
                max: MAX_FRAME_LEN,
            });
        }
        let mut out = buffer(plaintext.len().saturating_add(TAG_LEN));
        let len = self.state.write_message(plaintext, &mut out)?;
        out.truncate(len);
        Ok(out)
    }

    /// Decrypts and authenticates one message. A failure leaves the session unusable
    /// in practice (the nonces no longer match); the caller closes it.
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        check_message_len(ciphertext)?;
        let mut out = buffer(ciphertext.len());
        let len = self.state.read_message(ciphertext, &mut out)?;
        out.truncate(len);
        Ok(out)
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("remote_static", &Hex(&self.remote_static))
            .finish_non_exhaustive()
    }
}

/// `message` with its 2-byte big-endian length in front: how every Noise message
/// (handshake and transport) travels on TCP.
pub fn encode_frame(message: &[u8]) -> Result<Vec<u8>, NoiseError> {
    let len = u16::try_from(message.len()).map_err(|_| NoiseError::TooLarge {
        len: message.len(),
        max: NOISE_MAX_MESSAGE_LEN,
    })?;
    if len == 0 {
        return Err(NoiseError::EmptyFrame);
    }
    let mut out = Vec::with_capacity(message.len().saturating_add(FRAME_HEADER_LEN));
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(out)
}

/// The length a frame header announces (1..=65535); zero is [`NoiseError::EmptyFrame`].
pub fn frame_len(header: [u8; FRAME_HEADER_LEN]) -> Result<usize, NoiseError> {
    match u16::from_be_bytes(header) {
        0 => Err(NoiseError::EmptyFrame),
        n => Ok(usize::from(n)),
    }
}

/// A complete frame's message and the bytes after it.
pub type FrameAndRest<'a> = (&'a [u8], &'a [u8]);

/// The first complete frame of `buffer` and the bytes after it, or `None` when more
/// bytes are needed (a reader buffers at most one frame: 2 + 65535 bytes).
pub fn split_frame(buffer: &[u8]) -> Result<Option<FrameAndRest<'_>>, NoiseError> {
    let Some((header, rest)) = buffer.split_first_chunk::<FRAME_HEADER_LEN>() else {
        return Ok(None);
    };
    let len = frame_len(*header)?;
    if rest.len() < len {
        return Ok(None);
    }
    Ok(Some(rest.split_at(len)))
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used, clippy::indexing_slicing)]
mod tests;
mod x25519;
