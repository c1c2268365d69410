//! The payload streams of [`MSG_PROTOCOL`](wire::MSG_PROTOCOL) (framing in [`wire`]):
//! one [`Writer`] task per connected peer, which opens a stream and keeps it, and one
//! reader task per stream a peer opened to this node ([`accept`]).
//!
//! The writer sends a frame only while the peer is ready (admitted both ways) and fewer
//! than [`SEND_WINDOW`] of its frames are unanswered; a frame unanswered for
//! [`REQUEST_TIMEOUT`] closes the connection (the link is taken for dead). The reader
//! answers a frame only once its payloads are in the inbox, so a node that reads its
//! inbox slowly holds its senders back instead of losing their payloads.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use libp2p::futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
use libp2p::{PeerId, Stream, StreamProtocol};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::table::{unix_now, Entry, State};
use super::wire::{self, Answer};
use super::{NodeId, Shared, REQUEST_TIMEOUT, SEND_WINDOW};

/// Streams of [`MSG_PROTOCOL`](wire::MSG_PROTOCOL) one peer may have open to this node
/// at once (a well-behaved peer has one per connection); a further one is closed at
/// once. Each holds at most one frame being read.
const MAX_INBOUND_STREAMS_PER_PEER: usize = 4;
/// First wait before a writer tries again to open a stream it could not open; doubles
/// up to the transport's `dial_interval`.
const REOPEN_BACKOFF: Duration = Duration::from_millis(50);

/// What a peer's entry keeps of its writer: the writer runs while `id` is the entry's.
pub(super) struct WriterHandle {
    pub(super) id: u64,
    pub(super) notify: Arc<Notify>,
}

impl WriterHandle {
    /// Tells the writer to look at its queue and its peer's state again.
    pub(super) fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Sends one peer's queued payloads, for as long as its connection lasts (its entry
/// keeps this writer's [`WriterHandle`]).
pub(super) struct Writer {
    pub(super) shared: Arc<Shared>,
    pub(super) control: libp2p_stream::Control,
    pub(super) node: NodeId,
    pub(super) peer: PeerId,
    pub(super) id: u64,
    pub(super) notify: Arc<Notify>,
    pub(super) max_payload: usize,
    /// Longest wait between attempts to open a stream.
    pub(super) max_backoff: Duration,
    /// Where to ask the swarm task to close the peer's connection.
    pub(super) close: mpsc::UnboundedSender<PeerId>,
}

/// How a stream's service ended.
enum End {
    /// The session ended (or the peer left the allowed set, or shutdown).
    Gone,
    /// The stream failed; `timed_out` if a frame went unanswered for
    /// [`REQUEST_TIMEOUT`] (or could not be written in that time).
    Failed { timed_out: bool },
}

impl Writer {
    pub(super) async fn run(mut self) {
        let mut backoff = REOPEN_BACKOFF;
        loop {
            if !self.wait_for_work().await {
                return;
            }
            let stream = match tokio::time::timeout(REQUEST_TIMEOUT, self.open()).await {
                Ok(Ok(stream)) => stream,
                failed => {
                    if failed.is_err() {
                        tracing::debug!(peer = %self.peer, "payload stream not opened in time");
                        let _ = self.close.send(self.peer);
                    } else if let Ok(Err(error)) = failed {
                        tracing::debug!(peer = %self.peer, %error, "payload stream not opened");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(self.max_backoff);
                    continue;
                }
            };
            backoff = REOPEN_BACKOFF;
            match self.serve(stream).await {
                End::Gone => return,
                End::Failed { timed_out } => {
                    tracing::debug!(peer = %self.peer, timed_out, "payload stream failed");
                    if timed_out {
                        let _ = self.close.send(self.peer);
                    }
                }
            }
        }
    }

    /// This writer's entry, while it is the entry's writer.
    fn current<'a>(&self, state: &'a mut State) -> Option<&'a mut Entry> {
        if state.shutdown {
            return None;
        }
        state
            .peers
            .get_mut(&self.node)
            .filter(|e| e.writer.as_ref().is_some_and(|w| w.id == self.id))
    }

    /// Waits until the peer is ready and something is queued for it; `false` when this
    /// writer is no longer needed.
    async fn wait_for_work(&self) -> bool {
        loop {
            {
                let mut state = self.shared.lock();
                let Some(entry) = self.current(&mut state) else {
                    return false;
                };
                if entry.ready(unix_now()) && !entry.queue.is_empty() {
                    return true;
                }
            }
            self.notify.notified().await;
        }
    }

    /// Opens a stream and waits for the receiver's [`Answer::Ready`].
    async fn open(&mut self) -> Result<Stream, String> {
        let mut stream = self
            .control
            .open_stream(self.peer, StreamProtocol::new(wire::MSG_PROTOCOL))
            .await
            .map_err(|e| e.to_string())?;
        let mut first = [0u8; 1];
        stream
            .read_exact(&mut first)
            .await
            .map_err(|e| e.to_string())?;
        match Answer::from_byte(first[0]) {
            Some(Answer::Ready) => Ok(stream),
            _ => Err(format!("unexpected first byte {}", first[0])),
        }
    }

    /// Sends frames on `stream` and reads their answers until it fails or the session
    /// ends. Payloads of frames left unanswered are counted as failed.
    async fn serve(&mut self, stream: Stream) -> End {
        let (mut reader, mut writer) = stream.split();
        // Frames written and not yet answered: their payload counts and when written.
        let mut unanswered: VecDeque<(usize, Instant)> = VecDeque::new();
        let end = 'serve: loop {
            let batches = {
                let mut state = self.shared.lock();
                let Some(entry) = self.current(&mut state) else {
                    break 'serve End::Gone;
                };
                let mut batches = Vec::new();
                if entry.ready(unix_now()) {
                    while unanswered.len() + batches.len() < SEND_WINDOW {
                        let batch = next_batch(&mut entry.queue, self.max_payload);
                        if batch.is_empty() {
                            break;
                        }
                        batches.push(batch);
                    }
                }
                batches
            };
            for batch in batches {
                unanswered.push_back((batch.len(), Instant::now()));
                let Some(frame) = wire::encode_frame(&batch) else {
                    // Unreachable: payloads are at most max_payload, checked to fit a u32.
                    break 'serve End::Failed { timed_out: false };
                };
                let written = tokio::time::timeout(REQUEST_TIMEOUT, async {
                    writer.write_all(&frame).await?;
                    writer.flush().await
                })
                .await;
                match written {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break 'serve End::Failed { timed_out: false },
                    Err(_) => break 'serve End::Failed { timed_out: true },
                }
            }
            let deadline = unanswered.front().map(|(_, at)| *at + REQUEST_TIMEOUT);
            let mut byte = [0u8; 1];
            tokio::select! {
                // One byte: either read whole or not at all, so dropping this future when
                // another branch wins loses nothing.
                read = reader.read(&mut byte) => {
                    let answer = match read {
                        Ok(1) => Answer::from_byte(byte[0]),
                        _ => None,
                    };
                    let Some(answer) = answer.filter(|a| *a != Answer::Ready) else {
                        break 'serve End::Failed { timed_out: false };
                    };
                    let Some((count, _)) = unanswered.pop_front() else {
                        break 'serve End::Failed { timed_out: false };
                    };
                    self.answered(answer, count);
                }
                () = self.notify.notified() => {}
                () = sleep_until(deadline), if deadline.is_some() => {
                    break 'serve End::Failed { timed_out: true };
                }
            }
        };
        let lost: usize = unanswered.iter().map(|(count, _)| count).sum();
        if lost > 0 {
            self.shared.lock().counters.send_failed += lost as u64;
        }
        end
    }

    /// Counts a frame's answer (never [`Answer::Ready`]: `serve` ends the stream on it).
    fn answered(&self, answer: Answer, count: usize) {
        let mut state = self.shared.lock();
        if answer == Answer::Delivered {
            state.counters.sent += count as u64;
            state.counters.batches_sent += 1;
        } else {
            state.counters.send_failed += count as u64;
        }
        if let Some(entry) = self.current(&mut state) {
            if answer == Answer::NotAdmitted && entry.accepted_us == Some(true) {
                // The peer no longer admits this node, most likely because its admission
                // lapsed: hold further payloads and send the Hello again (the swarm
                // task's next tick).
                entry.accepted_us = None;
                entry.hello_retry_at = None;
            }
            entry.last_contact = Some(SystemTime::now());
        }
    }
}

/// Takes the next batch off `queue`: at least one payload (each fits a frame alone),
/// then more while the batch stays within [`wire::MAX_BATCH`] payloads and the frame
/// body a receiver with the same `max_payload` reads ([`wire::frame_limit`]).
pub(super) fn next_batch(queue: &mut VecDeque<Vec<u8>>, max_payload: usize) -> Vec<Vec<u8>> {
    let limit = wire::frame_limit(max_payload);
    let mut bytes = 0usize;
    let mut batch = Vec::new();
    while let Some(next) = queue.front() {
        let size = next.len().saturating_add(wire::ITEM_OVERHEAD);
        if !batch.is_empty() && (batch.len() >= wire::MAX_BATCH || bytes + size > limit) {
            break;
        }
        bytes = bytes.saturating_add(size);
        if let Some(payload) = queue.pop_front() {
            batch.push(payload);
        }
    }
    batch
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Takes the streams peers open to this node and reads each in its own task, until
/// `incoming` ends or this task is aborted (which aborts the readers).
pub(super) async fn accept(
    shared: Arc<Shared>,
    mut incoming: libp2p_stream::IncomingStreams,
    inbox: mpsc::Sender<(NodeId, Vec<u8>)>,
    max_payload: usize,
) {
    let mut readers = JoinSet::new();
    loop {
        tokio::select! {
            next = incoming.next() => {
                let Some((peer, stream)) = next else {
                    return;
                };
                let Some(slot) = ReaderSlot::take(&shared, peer) else {
                    tracing::debug!(%peer, "payload stream over the per-peer limit, closed");
                    continue;
                };
                readers.spawn(read(slot, stream, inbox.clone(), max_payload));
            }
            Some(_) = readers.join_next(), if !readers.is_empty() => {}
        }
    }
}

/// One of a peer's [`MAX_INBOUND_STREAMS_PER_PEER`], given back on drop.
struct ReaderSlot {
    shared: Arc<Shared>,
    peer: PeerId,
}

impl ReaderSlot {
    fn take(shared: &Arc<Shared>, peer: PeerId) -> Option<Self> {
        let mut state = shared.lock();
        let open = state.readers.entry(peer).or_default();
        if *open >= MAX_INBOUND_STREAMS_PER_PEER {
            return None;
        }
        *open += 1;
        Some(Self {
            shared: Arc::clone(shared),
            peer,
        })
    }
}

impl Drop for ReaderSlot {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(open) = state.readers.get_mut(&self.peer) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                state.readers.remove(&self.peer);
            }
        }
    }
}

/// What to do with a frame that was read.
enum Verdict {
    Deliver(NodeId, Vec<Vec<u8>>),
    Answer(Answer),
    Close,
}

/// Reads frames from one stream until it ends or breaks the rules.
async fn read(
    slot: ReaderSlot,
    mut stream: Stream,
    inbox: mpsc::Sender<(NodeId, Vec<u8>)>,
    max_payload: usize,
) {
    let shared = &slot.shared;
    let peer = slot.peer;
    if answer(&mut stream, Answer::Ready).await.is_err() {
        return;
    }
    let limit = wire::frame_limit(max_payload);
    loop {
        let mut head = [0u8; wire::FRAME_HEADER];
        // An idle stream waits here for as long as the connection lasts.
        if stream.read_exact(&mut head).await.is_err() {
            return;
        }
        let len = usize::try_from(u32::from_be_bytes(head)).unwrap_or(usize::MAX);
        if len > limit {
            // Not read: the stream cannot be resynchronised, so it is closed.
            shared.lock().counters.dropped_invalid += 1;
            return;
        }
        // Grows as bytes arrive, rather than trusting the length with an allocation.
        let mut body = Vec::with_capacity(len.min(1 << 16));
        let cut_off = tokio::time::timeout(
            REQUEST_TIMEOUT,
            (&mut stream).take(len as u64).read_to_end(&mut body),
        )
        .await;
        if !matches!(cut_off, Ok(Ok(n)) if n == len) {
            shared.lock().counters.dropped_invalid += 1;
            return;
        }
        let decoded = wire::decode_body(&body, max_payload);
        drop(body);
        let verdict = {
            let mut state = shared.lock();
            let count = decoded.as_ref().map_or(1, Vec::len) as u64;
            let now = unix_now();
            match state.entry_of(&peer) {
                None => {
                    state.counters.dropped_not_admitted += count;
                    Verdict::Close
                }
                Some(entry) => {
                    entry.last_contact = Some(SystemTime::now());
                    if !entry.admitted(now) {
                        state.counters.dropped_not_admitted += count;
                        Verdict::Answer(Answer::NotAdmitted)
                    } else {
                        match decoded {
                            Ok(payloads) => Verdict::Deliver(entry.node_id, payloads),
                            Err(_) => {
                                state.counters.dropped_invalid += 1;
                                Verdict::Answer(Answer::Invalid)
                            }
                        }
                    }
                }
            }
        };
        let reply = match verdict {
            Verdict::Close => return,
            Verdict::Answer(reply) => reply,
            Verdict::Deliver(node, payloads) => {
                if !deliver(shared, &inbox, node, payloads).await {
                    return;
                }
                Answer::Delivered
            }
        };
        if answer(&mut stream, reply).await.is_err() {
            return;
        }
    }
}

/// Moves `payloads` into the inbox, waiting for room (counted once per frame in
/// `batches_held`); `false` if the inbox closed first (the rest dropped and counted).
/// Each payload is counted as delivered under the state lock it is sent with, so a
/// reader of the inbox that then reads the counters sees it counted.
async fn deliver(
    shared: &Shared,
    inbox: &mpsc::Sender<(NodeId, Vec<u8>)>,
    node: NodeId,
    payloads: Vec<Vec<u8>>,
) -> bool {
    let mut rest = payloads.into_iter();
    let mut held = false;
    loop {
        // Whatever fits now, under one lock.
        let waiting = {
            let mut state = shared.lock();
            loop {
                let Some(payload) = rest.next() else {
                    return true;
                };
                match inbox.try_send((node, payload)) {
                    Ok(()) => state.counters.delivered += 1,
                    Err(TrySendError::Full(item)) => {
                        if !held {
                            held = true;
                            state.counters.batches_held += 1;
                        }
                        break item;
                    }
                    Err(TrySendError::Closed(_)) => {
                        state.counters.dropped_inbox_full += 1 + rest.len() as u64;
                        return false;
                    }
                }
            }
        };
        // The inbox is full: wait for room for the next one.
        let permit = inbox.reserve().await;
        let mut state = shared.lock();
        match permit {
            Ok(permit) => {
                permit.send(waiting);
                state.counters.delivered += 1;
            }
            Err(_) => {
                state.counters.dropped_inbox_full += 1 + rest.len() as u64;
                return false;
            }
        }
    }
}

async fn answer(stream: &mut Stream, answer: Answer) -> std::io::Result<()> {
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        stream.write_all(&[answer as u8]).await?;
        stream.flush().await
    })
    .await
    .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}
