//! The JSON-RPC transport for `http://` and `https://` endpoints, used by the `kms` CLI
//! and kms-node instead of alloy's default reqwest transport.
//!
//! Why our own (thin) transport: alloy's reqwest transport gets TLS only through
//! reqwest's rustls feature, which either builds aws-lc-sys (a large C build) or, with
//! `rustls-no-provider`, panics in every reqwest client built before a process-wide
//! crypto provider is installed. Here hyper and hyper-rustls take an explicit rustls
//! configuration with the ring provider, so nothing is global and nothing panics.
//! Server certificates are checked by rustls-platform-verifier against the system's
//! roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured on Linux).
//!
//! Every request has a connect timeout and a total timeout, and a response body is
//! read up to a size limit ([`Limits`]), so a stuck or hostile endpoint is an error, not
//! a hang.
//!
//! Behind the non-default feature `rpc`: the contract's types and bindings need no
//! transport, and a crate that only decodes (the fuzz targets) does not build hyper.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use alloy::rpc::client::{ClientBuilder, RpcClient};
use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::utils::guess_local_url;
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_platform_verifier::BuilderVerifierExt;

/// Bounds on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long to wait for a TCP connection (default 10 s).
    pub connect_timeout: Duration,
    /// How long one JSON-RPC request may take in all, TLS included (default 60 s).
    pub request_timeout: Duration,
    /// The largest response body read (default 64 MiB: a block with its transactions
    /// fits easily).
    pub max_response: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_response: 64 << 20,
        }
    }
}

/// Why an endpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RpcSetupError {
    /// Not an absolute `http://` or `https://` URL.
    #[error("{0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    /// TLS could not be set up (e.g. no CA certificates on this machine).
    #[error("cannot set up TLS for {url}: {reason}")]
    Tls {
        /// The endpoint.
        url: String,
        /// What rustls or the platform verifier reported.
        reason: String,
    },
}

/// An alloy RPC client for `url` (`http://…` or `https://…`) with default [`Limits`].
pub fn connect(url: &str) -> Result<RpcClient, RpcSetupError> {
    connect_with(url, Limits::default())
}

/// An alloy RPC client for `url` with the given limits.
pub fn connect_with(url: &str, limits: Limits) -> Result<RpcClient, RpcSetupError> {
    let parsed: url::Url = url
        .parse()
        .map_err(|_| RpcSetupError::BadUrl(url.to_owned()))?;
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(RpcSetupError::BadUrl(url.to_owned())),
    };
    if parsed.host_str().is_none() {
        return Err(RpcSetupError::BadUrl(url.to_owned()));
    }
    let uri: http::Uri = parsed
        .as_str()
        .parse()
        .map_err(|_| RpcSetupError::BadUrl(url.to_owned()))?;
    let transport =
        HttpTransport::new(uri, https, limits).map_err(|reason| RpcSetupError::Tls {
            url: url.to_owned(),
            reason,
        })?;
    Ok(ClientBuilder::default().transport(transport, guess_local_url(url)))
}

/// POSTs JSON-RPC packets to one endpoint.
#[derive(Clone, Debug)]
pub struct HttpTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    uri: http::Uri,
    limits: Limits,
}

impl HttpTransport {
    /// A transport to `uri`. For plain `http` the TLS side is never used, so it gets an
    /// empty trust store (the platform verifier fails on machines without CA files).
    fn new(uri: http::Uri, https: bool, limits: Limits) -> Result<Self, String> {
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
        let tls = if https {
            builder
                .with_platform_verifier()
                .map_err(|e| e.to_string())?
        } else {
            builder.with_root_certificates(rustls::RootCertStore::empty())
        }
        .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(limits.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            uri,
            limits,
        })
    }

    async fn post(self, packet: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let body = serde_json::to_vec(&packet).map_err(TransportError::ser_err)?;
        let mut request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(TransportErrorKind::custom)?;
        request.headers_mut().extend(packet.headers());
        let response = self
            .client
            .request(request)
            .await
            .map_err(TransportErrorKind::custom)?;
        let status = response.status();
        let body = Limited::new(response.into_body(), self.limits.max_response)
            .collect()
            .await
            .map_err(|e| TransportErrorKind::custom_str(&format!("reading the response: {e}")))?
            .to_bytes();
        if !status.is_success() {
            // A JSON-RPC error sent with an HTTP error status is still that error.
            if let Ok(r) = serde_json::from_slice::<ResponsePacket>(&body) {
                if r.is_error() {
                    return Ok(r);
                }
            }
            return Err(TransportErrorKind::http_error(
                status.as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| TransportError::deser_err(e, String::from_utf8_lossy(&body)))
    }
}

impl tower::Service<RequestPacket> for HttpTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, packet: RequestPacket) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let limit = this.limits.request_timeout;
            tokio::time::timeout(limit, this.post(packet))
                .await
                .map_err(|_| {
                    TransportErrorKind::custom_str(&format!(
                        "no answer within {} ms",
                        limit.as_millis()
                    ))
                })?
        })
    }
}

#[cfg(test)]
#[allow(
    non_snake_case,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use alloy::providers::{Provider, ProviderBuilder};

    use super::*;

    #[test]
    fn connect__should_refuse_urls_that_are_not_http_or_https() {
        for bad in [
            "",
            "localhost:8545",
            "ws://127.0.0.1:8545",
            "file:///etc/passwd",
            "http://",
        ] {
            assert!(
                matches!(connect(bad), Err(RpcSetupError::BadUrl(_))),
                "{bad:?} accepted"
            );
        }
        assert!(connect("http://127.0.0.1:8545").is_ok());
    }

    /// A one-shot HTTP server on 127.0.0.1 that reads a request and answers `reply`
    /// (or nothing, holding the connection, when `reply` is `None`), for at most `hold`.
    fn one_shot(reply: Option<Vec<u8>>, hold: Duration) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let t = std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let _ = s.set_read_timeout(Some(hold));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            match reply {
                Some(r) => {
                    let _ = s.write_all(&r);
                }
                None => std::thread::sleep(hold),
            }
        });
        (url, t)
    }

    fn chain_id(url: &str, limits: Limits) -> Result<u64, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let p = ProviderBuilder::new().connect_client(connect_with(url, limits).unwrap());
            p.get_chain_id().await.map_err(|e| e.to_string())
        })
    }

    #[test]
    fn request__should_time_out_on_a_silent_endpoint() {
        let (url, t) = one_shot(None, Duration::from_secs(1));
        let limits = Limits {
            request_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let e = chain_id(&url, limits).unwrap_err();
        assert!(e.contains("no answer within 300 ms"), "{e}");
        t.join().unwrap();
    }

    #[test]
    fn response__should_be_read_and_bounded_in_size() {
        let body = br#"{"jsonrpc":"2.0","id":0,"result":"0x7a69"}"#;
        let reply = |body: &[u8]| {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        };
        let (url, t) = one_shot(Some(reply(body)), Duration::from_secs(3));
        assert_eq!(chain_id(&url, Limits::default()), Ok(31337));
        t.join().unwrap();

        let (url, t) = one_shot(Some(reply(body)), Duration::from_secs(3));
        let small = Limits {
            max_response: body.len() - 1,
            ..Limits::default()
        };
        let e = chain_id(&url, small).unwrap_err();
        assert!(e.contains("reading the response"), "{e}");
        t.join().unwrap();
    }

    #[test]
    fn response__should_report_an_http_error_status() {
        let (url, t) = one_shot(
            Some(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy".to_vec()),
            Duration::from_secs(3),
        );
        let e = chain_id(&url, Limits::default()).unwrap_err();
        assert!(e.contains("503") && e.contains("busy"), "{e}");
        t.join().unwrap();
    }
}
