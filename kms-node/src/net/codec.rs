//! The CBOR codec of libp2p's request-response, counting the requests it could not
//! read (over the size limit, not decodable, cut off): libp2p reports no event for a
//! request that fails before it is decoded.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use libp2p::futures::{AsyncRead, AsyncWrite, Future};
use libp2p::request_response::{cbor, Codec};
use libp2p::StreamProtocol;
use serde::de::DeserializeOwned;
use serde::Serialize;

type BoxedIo<'a, T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send + 'a>>;

/// [`cbor::codec::Codec`] that adds one to `failed_reads` per request it cannot read.
pub(super) struct Counting<Req, Resp> {
    inner: cbor::codec::Codec<Req, Resp>,
    failed_reads: Arc<AtomicU64>,
}

impl<Req, Resp> Counting<Req, Resp> {
    pub(super) fn new(inner: cbor::codec::Codec<Req, Resp>, failed_reads: Arc<AtomicU64>) -> Self {
        Self {
            inner,
            failed_reads,
        }
    }
}

impl<Req, Resp> Clone for Counting<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            failed_reads: Arc::clone(&self.failed_reads),
        }
    }
}

// The signatures are those `#[async_trait]` gives the trait's `async fn`s.
impl<Req, Resp> Codec for Counting<Req, Resp>
where
    Req: Send + Serialize + DeserializeOwned,
    Resp: Send + Serialize + DeserializeOwned,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    fn read_request<'life0, 'life1, 'life2, 'async_trait, T>(
        &'life0 mut self,
        protocol: &'life1 StreamProtocol,
        io: &'life2 mut T,
    ) -> BoxedIo<'async_trait, Req>
    where
        T: 'async_trait + AsyncRead + Unpin + Send,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        let failed_reads = Arc::clone(&self.failed_reads);
        let read = self.inner.read_request(protocol, io);
        Box::pin(async move {
            let request = read.await;
            if request.is_err() {
                failed_reads.fetch_add(1, Ordering::Relaxed);
            }
            request
        })
    }

    fn read_response<'life0, 'life1, 'life2, 'async_trait, T>(
        &'life0 mut self,
        protocol: &'life1 StreamProtocol,
        io: &'life2 mut T,
    ) -> BoxedIo<'async_trait, Resp>
    where
        T: 'async_trait + AsyncRead + Unpin + Send,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.read_response(protocol, io)
    }

    fn write_request<'life0, 'life1, 'life2, 'async_trait, T>(
        &'life0 mut self,
        protocol: &'life1 StreamProtocol,
        io: &'life2 mut T,
        req: Req,
    ) -> BoxedIo<'async_trait, ()>
    where
        T: 'async_trait + AsyncWrite + Unpin + Send,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.write_request(protocol, io, req)
    }

    fn write_response<'life0, 'life1, 'life2, 'async_trait, T>(
        &'life0 mut self,
        protocol: &'life1 StreamProtocol,
        io: &'life2 mut T,
        res: Resp,
    ) -> BoxedIo<'async_trait, ()>
    where
        T: 'async_trait + AsyncWrite + Unpin + Send,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.write_response(protocol, io, res)
    }
}
