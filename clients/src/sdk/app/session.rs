//! One attested Noise_XX session with one node (DESIGN §8, docs/PROTOCOL.md "App <->
//! node session"): TCP with 2-byte length-prefixed Noise messages, the node's
//! [`kms_api::NodeHello`] checked before anything is sent, then requests and responses.
//!
//! Every check failure is a [`NodeFailure`] naming the node; none is fatal to the
//! caller, which asks other nodes.

use std::fmt;
use std::time::Duration;

use attestation_gate::{Collateral, Evidence, Policy, UnixTime, Verifiers};
use governance_contract::NodePlatform;
use kms_api::noise::{encode_frame, frame_len, Initiator, StaticKey, Transport, FRAME_HEADER_LEN};
use kms_api::{
    AppHello, ErrorCode, EvidencePayload, Request, RequestBody, RequestId, Response, ResponseBody,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::known::Known;
use super::network::Member;

/// Why one node's answer was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeFailure {
    /// It has no application endpoint on record.
    NoEndpoint,
    /// It could not be reached, or the connection broke or timed out.
    Unreachable(String),
    /// It broke the protocol: bad frames, a bad handshake, a malformed or mismatched
    /// message, a key other than the one on record.
    Protocol(String),
    /// Its evidence did not verify or the policy refused it.
    BadEvidence(String),
    /// It answered with a share or signature that does not verify.
    BadAnswer(String),
    /// It refused the request with a code.
    Refused(ErrorCode),
    /// It serves another epoch than the chain's active one: it has not caught up with
    /// an activation yet (or the application's view is behind). Not misbehaviour.
    OtherEpoch {
        /// The epoch it serves.
        serves: u64,
        /// The chain's active epoch as the application read it.
        active: u64,
    },
}

impl NodeFailure {
    /// Whether the node misbehaved (as opposed to being down or refusing).
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            NodeFailure::Protocol(_) | NodeFailure::BadEvidence(_) | NodeFailure::BadAnswer(_)
        )
    }
}

impl fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeFailure::NoEndpoint => f.write_str("no application endpoint on record"),
            NodeFailure::Unreachable(why) => write!(f, "unreachable ({why})"),
            NodeFailure::Protocol(why) => write!(f, "protocol violation ({why})"),
            NodeFailure::BadEvidence(why) => write!(f, "evidence refused ({why})"),
            NodeFailure::BadAnswer(why) => write!(f, "bad answer ({why})"),
            NodeFailure::Refused(code) => write!(f, "refused: {}", code.as_str()),
            NodeFailure::OtherEpoch { serves, active } => write!(
                f,
                "serves epoch {serves}, the chain's active epoch is {active} (not caught up)"
            ),
        }
    }
}

/// What the node's hello is checked against.
pub struct NodeTrust<'a> {
    /// The committee epoch the application reads from the chain.
    pub epoch: u64,
    /// Verifiers of node evidence (with the devnet's key on a devnet).
    pub verifiers: &'a Verifiers,
    /// The node policy: the network's values and the approved kms-node builds.
    pub policy: &'a Policy,
    /// The time evidence is checked at.
    pub now: UnixTime,
    /// Node evidence already verified (its claims are appraised again on every
    /// session); `None` verifies every time.
    pub known: Option<&'a Known>,
}

/// An admitted session.
///
/// Requests may be pipelined ([`Session::call_all`]): the node answers the transport
/// messages of a session one by one, in order (docs/PROTOCOL.md).
pub struct Session {
    /// Reads are buffered: a node answers requests sent together in one write, and the
    /// answers then come in with one read instead of two per answer (header, body).
    stream: BufReader<TcpStream>,
    transport: Transport,
    io_timeout: Duration,
    next_id: u64,
    /// Frames to send with the next request: the handshake's message 3 (the app's
    /// hello), so that it and the first requests leave in one write.
    unsent: Vec<u8>,
}

async fn read_frame<R: AsyncRead + Unpin>(stream: &mut R) -> Result<Vec<u8>, NodeFailure> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    stream
        .read_exact(&mut header)
        .await
        .map_err(|e| NodeFailure::Unreachable(e.to_string()))?;
    let len = frame_len(header).map_err(|e| NodeFailure::Protocol(e.to_string()))?;
    let mut body = vec![0u8; len];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| NodeFailure::Unreachable(e.to_string()))?;
    Ok(body)
}

async fn write_frame<W: AsyncWrite + Unpin>(
    stream: &mut W,
    message: &[u8],
) -> Result<(), NodeFailure> {
    let frame = encode_frame(message).map_err(|e| NodeFailure::Protocol(e.to_string()))?;
    stream
        .write_all(&frame)
        .await
        .map_err(|e| NodeFailure::Unreachable(e.to_string()))
}

/// Bytes a session's reader buffers: the node's hello with its evidence, or the
/// answers to the requests of one write, in one read.
const READ_BUFFER: usize = 16 * 1024;

async fn bounded<T>(
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, NodeFailure>>,
) -> Result<T, NodeFailure> {
    tokio::time::timeout(limit, f).await.map_err(|_| {
        NodeFailure::Unreachable(format!("no answer within {} ms", limit.as_millis()))
    })?
}

impl Session {
    /// Connects to `member`, runs the handshake, checks its hello against the chain's
    /// record and `trust`, and presents `hello` (the application's evidence). Each
    /// network step is bounded by `io_timeout`.
    pub async fn open(
        member: &Member,
        key: &StaticKey,
        hello: &AppHello,
        trust: &NodeTrust<'_>,
        io_timeout: Duration,
    ) -> Result<Self, NodeFailure> {
        let addr = member.app_addr.as_deref().ok_or(NodeFailure::NoEndpoint)?;
        let stream = bounded(io_timeout, async {
            TcpStream::connect(addr)
                .await
                .map_err(|e| NodeFailure::Unreachable(format!("{addr}: {e}")))
        })
        .await?;
        let _ = stream.set_nodelay(true);
        let mut stream = BufReader::with_capacity(READ_BUFFER, stream);
        let (initiator, m1) =
            Initiator::start(key).map_err(|e| NodeFailure::Protocol(e.to_string()))?;
        bounded(io_timeout, write_frame(&mut stream, &m1)).await?;
        let m2 = bounded(io_timeout, read_frame(&mut stream)).await?;
        let (ready, node_hello) = initiator
            .read_node_hello(&m2)
            .map_err(|e| NodeFailure::Protocol(format!("message 2: {e}")))?;
        let remote = ready.remote_static();
        if remote != member.noise_key {
            return Err(NodeFailure::Protocol(
                "its Noise static key is not the one on record".into(),
            ));
        }
        if node_hello.party != member.index {
            return Err(NodeFailure::Protocol(format!(
                "it says it is party {}, the chain says {}",
                node_hello.party.get(),
                member.index.get()
            )));
        }
        if node_hello.epoch != trust.epoch {
            return Err(NodeFailure::OtherEpoch {
                serves: node_hello.epoch,
                active: trust.epoch,
            });
        }
        check_node_evidence(
            &node_hello.evidence,
            &node_hello.binding(&remote),
            member.platform,
            trust,
        )?;
        let (m3, transport) = ready
            .send_app_hello(hello)
            .map_err(|e| NodeFailure::Protocol(e.to_string()))?;
        let unsent = encode_frame(&m3).map_err(|e| NodeFailure::Protocol(e.to_string()))?;
        Ok(Self {
            stream,
            transport,
            io_timeout,
            next_id: 0,
            unsent,
        })
    }

    /// Shuts the connection down (tests: a kept session whose connection is gone).
    #[cfg(test)]
    pub(crate) async fn close(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// Sends `body` and returns the answer's body; an error response is
    /// [`NodeFailure::Refused`]. `wait` bounds the answer (signing takes a round of
    /// FROST among the nodes).
    pub async fn call(
        &mut self,
        body: RequestBody,
        wait: Duration,
    ) -> Result<ResponseBody, NodeFailure> {
        self.call_all(vec![body], wait)
            .await?
            .pop()
            .unwrap_or_else(|| Err(NodeFailure::Protocol("no answer".into())))
    }

    /// Sends every request of `bodies` in one write and reads their answers in order
    /// (one round trip for all): each answer's body, or [`NodeFailure::Refused`] for an
    /// error response. `wait` bounds each answer. A transport failure (or an answer to
    /// another request) fails the whole call, and the session should be dropped.
    pub async fn call_all(
        &mut self,
        bodies: Vec<RequestBody>,
        wait: Duration,
    ) -> Result<Vec<Result<ResponseBody, NodeFailure>>, NodeFailure> {
        let mut out = std::mem::take(&mut self.unsent);
        let mut ids = Vec::with_capacity(bodies.len());
        for body in bodies {
            self.next_id = self.next_id.wrapping_add(1);
            let mut id = [0u8; 16];
            id[8..].copy_from_slice(&self.next_id.to_be_bytes());
            let id = RequestId(id);
            let request = Request::new(id, body)
                .encode()
                .map_err(|e| NodeFailure::Protocol(e.to_string()))?;
            let message = self
                .transport
                .encrypt(&request)
                .map_err(|e| NodeFailure::Protocol(e.to_string()))?;
            out.extend(encode_frame(&message).map_err(|e| NodeFailure::Protocol(e.to_string()))?);
            ids.push(id);
        }
        bounded(self.io_timeout, async {
            self.stream
                .write_all(&out)
                .await
                .map_err(|e| NodeFailure::Unreachable(e.to_string()))
        })
        .await?;
        let mut answers = Vec::with_capacity(ids.len());
        for id in ids {
            let frame = bounded(wait, read_frame(&mut self.stream)).await?;
            let plain = self
                .transport
                .decrypt(&frame)
                .map_err(|e| NodeFailure::Protocol(format!("response: {e}")))?;
            let response = Response::decode(&plain)
                .map_err(|e| NodeFailure::Protocol(format!("response: {e}")))?;
            if response.id != id {
                return Err(NodeFailure::Protocol(
                    "the response answers another request".into(),
                ));
            }
            answers.push(match response.body {
                ResponseBody::Error(e) => Err(NodeFailure::Refused(e.code)),
                other => Ok(other),
            });
        }
        Ok(answers)
    }
}

/// The node's evidence: genuine, bound to the Noise key the handshake authenticated
/// (purpose node-identity), of the platform its record names, and acceptable under
/// the node policy (an approved kms-node build, allowed platform, no debug, …).
fn check_node_evidence(
    payload: &kms_api::EvidencePayload,
    binding: &Result<attestation_gate::Binding, kms_api::Error>,
    platform: Option<NodePlatform>,
    trust: &NodeTrust<'_>,
) -> Result<(), NodeFailure> {
    let binding = binding
        .as_ref()
        .map_err(|e| NodeFailure::BadEvidence(e.to_string()))?;
    let known = trust.known.map(|k| {
        let key = Known::evidence_key(
            payload.platform.as_str(),
            &payload.evidence,
            payload.aux.as_deref(),
        );
        (k, key)
    });
    let claims = match known.as_ref().and_then(|(k, key)| k.claims(key)) {
        Some(claims) => claims,
        None => {
            let evidence = Evidence {
                platform: payload.platform,
                bytes: payload.evidence.clone(),
                aux: payload.aux.clone(),
            };
            let collateral = evidence.collateral().unwrap_or_else(|_| Collateral::new());
            let claims = trust
                .verifiers
                .verify(&evidence, &collateral, trust.now)
                .map_err(|e| NodeFailure::BadEvidence(format!("{}: {e}", e.kind())))?;
            if let Some((k, key)) = known {
                k.keep_claims(key, claims.clone());
            }
            claims
        }
    };
    if let Some(record) = platform {
        if !governance_contract::policy::evidence_matches_record(
            record,
            claims.platform(),
            &claims.vendor(),
        ) {
            return Err(NodeFailure::BadEvidence(format!(
                "{} evidence from a node registered as {}",
                claims.platform(),
                record.platform()
            )));
        }
    }
    attestation_gate::appraise(claims, binding, trust.policy, trust.now)
        .map_err(|e| NodeFailure::BadEvidence(format!("{}: {e}", e.kind())))?;
    Ok(())
}

/// The application's hello for `purpose`.
pub fn app_hello(
    purpose: kms_api::SessionPurpose,
    app_id: [u8; 32],
    evidence: EvidencePayload,
) -> AppHello {
    AppHello::new(purpose, app_id, evidence)
}
