//! A TCP listener for the operator endpoint that bounds what one client can hold.
//!
//! `axum::serve` runs hyper without a timer, so hyper's `header_read_timeout` never
//! fires and a client that sends half a request line keeps its connection forever.
//! Instead of relying on hyper, every accepted connection here gets
//!
//! - a **deadline**: once it passes, reads and writes on the connection fail with
//!   `TimedOut` and hyper closes it. It bounds the header read, an unread request body,
//!   keep-alive idling and a client that never reads the response, all at once; every
//!   response of this endpoint is small and built in memory, so an honest client is
//!   done long before it; and
//! - a **permit** out of `max_connections`: when all are taken, accepting waits (new
//!   connections queue in the kernel's backlog) until one closes.
//!
//! Together they bound the memory and file descriptors the operator port can take.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// What one client may hold on the operator endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long one connection may live, from accept to close (header read, body,
    /// keep-alive idling and response writing included).
    pub connection_deadline: Duration,
    /// Connections served at once; more wait to be accepted. At least 1 is used.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 10 s per connection, 32 at once.
    fn default() -> Self {
        Self {
            connection_deadline: Duration::from_secs(10),
            max_connections: 32,
        }
    }
}

/// A [`TcpListener`] whose connections carry a deadline and a permit (module doc).
#[derive(Debug)]
pub(super) struct BoundedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    deadline: Duration,
}

impl BoundedListener {
    pub(super) fn new(inner: TcpListener, limits: Limits) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            deadline: limits.connection_deadline,
        }
    }
}

impl axum::serve::Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring only waits; were it closed, the
        // connection would go on without a permit rather than stop the server.
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok();
        // axum's own accept loop: retries (and logs) failed accepts.
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        let io = BoundedStream {
            inner: stream,
            deadline: Box::pin(tokio::time::sleep(self.deadline)),
            _permit: permit,
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted connection that fails its I/O once its deadline passes, and gives its
/// permit back when dropped.
#[derive(Debug)]
pub(super) struct BoundedStream {
    inner: TcpStream,
    deadline: Pin<Box<Sleep>>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl BoundedStream {
    /// Whether the deadline has passed; if not, registers `cx` to be woken when it
    /// does, so a connection stalled in a read or write is woken and fails on time.
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "operator connection deadline passed",
            )),
            Poll::Pending => Ok(()),
        }
    }
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.check_deadline(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(e) = this.check_deadline(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(e) = this.check_deadline(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.check_deadline(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Closing is always allowed, deadline or not.
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
