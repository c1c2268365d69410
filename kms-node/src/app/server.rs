//! The TCP side: accept, run the Noise_XX handshake as responder within
//! [`AppConfig::handshake_timeout`](super::AppConfig), then answer one request per
//! transport message until the peer closes, stays idle, or breaks the framing or the
//! encryption (then the connection is closed without an answer: there is no session
//! key to answer with, or the session's nonces no longer match).
//!
//! Reads are buffered, and requests that arrived together (an application sends its
//! handshake's last message and its first requests in one write) are answered
//! together in one write: fewer system calls for the same work (on the release bench
//! the gain was within the machine's noise, docs/PERFORMANCE.md "Key release").

use std::net::SocketAddr;
use std::sync::Arc;

use kms_api::noise::{
    encode_frame, frame_len, split_frame, Responder, StaticKey, Transport, FRAME_HEADER_LEN,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use super::service::{AppService, Session};
use super::sign::SignOnBehalf;
use crate::chain::ReadGovernance;

/// Why a connection ended early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The socket failed or closed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The peer broke the framing, the handshake or the encryption.
    #[error("noise: {0}")]
    Noise(#[from] kms_api::noise::NoiseError),
    /// A response could not be encoded (cannot happen for kms-api types).
    #[error("encoding a response: {0}")]
    Encode(#[from] kms_api::Error),
    /// The node serves no epoch (or has no evidence yet): nothing to offer.
    #[error("not serving")]
    NotServing,
    /// The handshake or the session's idle time ran out.
    #[error("timed out")]
    Timeout,
}

/// Bytes a connection's reader buffers: a handshake's message 3 with its evidence and
/// the requests sent with it usually arrive in one read.
const READ_BUFFER: usize = 16 * 1024;

/// Answers held back while the peer's next request is already buffered are written
/// once they reach this many bytes (and whenever no complete request is buffered).
const MAX_HELD_ANSWERS: usize = 64 * 1024;

async fn read_frame<R: AsyncRead + Unpin>(stream: &mut R) -> Result<Vec<u8>, ConnectionError> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    stream.read_exact(&mut header).await?;
    let mut body = vec![0u8; frame_len(header)?];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

async fn write_frame(
    stream: &mut BufReader<TcpStream>,
    message: &[u8],
) -> Result<(), ConnectionError> {
    stream.write_all(&encode_frame(message)?).await?;
    Ok(())
}

/// Whether `reader` holds a complete frame already (no read needed to get it).
fn frame_buffered(reader: &BufReader<TcpStream>) -> bool {
    matches!(split_frame(reader.buffer()), Ok(Some(_)))
}

/// Serves `listener` until `stop` turns true.
pub async fn serve<G, S>(
    listener: TcpListener,
    service: AppService<G, S>,
    key: StaticKey,
    mut stop: watch::Receiver<bool>,
) where
    G: ReadGovernance + 'static,
    S: SignOnBehalf,
{
    let slots = Arc::new(Semaphore::new(service.config().max_connections));
    let key = Arc::new(key);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "app listener: accept failed");
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, "app listener: too many connections, closing");
            continue;
        };
        let service = service.clone();
        let key = Arc::clone(&key);
        tokio::spawn(async move {
            if let Err(e) = connection(&service, &key, stream, peer).await {
                tracing::debug!(%peer, error = %e, "app connection ended");
            }
            drop(permit);
        });
    }
}

/// One connection: the bounded handshake, then requests until it ends.
pub async fn connection<G, S>(
    service: &AppService<G, S>,
    key: &StaticKey,
    stream: TcpStream,
    peer: SocketAddr,
) -> Result<(), ConnectionError>
where
    G: ReadGovernance,
    S: SignOnBehalf,
{
    let _ = stream.set_nodelay(true);
    let mut stream = BufReader::with_capacity(READ_BUFFER, stream);
    let limit = service.config().handshake_timeout;
    let (mut transport, session) =
        tokio::time::timeout(limit, handshake(service, key, &mut stream, peer))
            .await
            .map_err(|_| ConnectionError::Timeout)??;
    let idle = service.config().idle_timeout;
    let mut held = Vec::new();
    loop {
        let frame = tokio::time::timeout(idle, read_frame(&mut stream))
            .await
            .map_err(|_| ConnectionError::Timeout)??;
        let plaintext = transport.decrypt(&frame)?;
        let response = service.answer(&session, &plaintext).await.encode()?;
        let message = transport.encrypt(&response)?;
        held.extend(encode_frame(&message)?);
        if held.len() < MAX_HELD_ANSWERS && frame_buffered(&stream) {
            continue;
        }
        // A peer that stops reading holds the connection no longer than an idle one.
        tokio::time::timeout(idle, stream.write_all(&held))
            .await
            .map_err(|_| ConnectionError::Timeout)??;
        held.clear();
    }
}

async fn handshake<G, S>(
    service: &AppService<G, S>,
    key: &StaticKey,
    stream: &mut BufReader<TcpStream>,
    peer: SocketAddr,
) -> Result<(Transport, Session), ConnectionError>
where
    G: ReadGovernance,
    S: SignOnBehalf,
{
    let m1 = read_frame(stream).await?;
    let started = Responder::new(key)?.read_message_1(&m1)?;
    let (epoch, hello) = service.hello().ok_or(ConnectionError::NotServing)?;
    let (awaiting, m2) = started.send_node_hello(&hello)?;
    write_frame(stream, &m2).await?;
    let m3 = read_frame(stream).await?;
    let (transport, app_hello) = awaiting.read_app_hello(&m3)?;
    let remote = transport.remote_static();
    let session = service.open_session(epoch, app_hello, remote, peer.ip());
    Ok((transport, session))
}
