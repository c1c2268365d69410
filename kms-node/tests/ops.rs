//! The operator HTTP endpoint (`kms_node::ops`) over real TCP on 127.0.0.1: `/status`
//! follows the published status, `/health` flips with `serving`, `/metrics` lists every
//! metric, errors are JSON, and the connection limits hold.
//!
//! The client is a blocking `std::net::TcpStream` on a blocking thread, with read and
//! write timeouts, so every wait here is bounded.
#![allow(non_snake_case)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kms_node::ops::status::{
    ChainStatus, EpochStatus, PeerStatus, PendingStatus, RunStatus, SIMULATED_WARNING,
};
use kms_node::ops::{serve, serve_with_limits, Limits, Metrics, OpsState, Status};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How long any single read or write of the test client may block.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

struct Node {
    addr: SocketAddr,
    status: watch::Sender<Status>,
    metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<io::Result<()>>,
}

impl Node {
    async fn must_start(status: Status, limits: Option<Limits>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (status_tx, status_rx) = watch::channel(status);
        let metrics = Arc::new(Metrics::new());
        let state = OpsState {
            status: status_rx,
            metrics: Arc::clone(&metrics),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let server = tokio::spawn(async move {
            match limits {
                Some(limits) => serve_with_limits(listener, state, limits, shutdown).await,
                None => serve(listener, state, shutdown).await,
            }
        });
        Self {
            addr,
            status: status_tx,
            metrics,
            stop: Some(stop),
            server,
        }
    }

    async fn must_get(&self, path: &str) -> Reply {
        must_request(
            self.addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
        .await
    }

    async fn must_stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(IO_TIMEOUT, self.server)
            .await
            .expect("the server stops after shutdown")
            .unwrap()
            .unwrap();
    }
}

#[derive(Debug)]
struct Reply {
    code: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        serde_json::from_str(&self.body).unwrap()
    }
}

fn must_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// Reads a whole `Connection: close` response and splits it.
fn must_read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let code = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")),
        "the test client does not decode chunked bodies"
    );
    Reply {
        code,
        headers,
        body: body.to_owned(),
    }
}

async fn must_request(addr: SocketAddr, raw: String) -> Reply {
    tokio::task::spawn_blocking(move || {
        let mut stream = must_connect(addr);
        stream.write_all(raw.as_bytes()).unwrap();
        must_read_reply(&mut stream)
    })
    .await
    .unwrap()
}

fn serving(node_id: &str) -> Status {
    Status {
        serving: true,
        not_serving_reason: None,
        ..Status::new(node_id, false)
    }
}

/// A status with every optional part filled in.
fn full_status() -> Status {
    Status {
        chain: ChainStatus {
            block: Some(1000),
            head_age_secs: Some(3),
            stale: false,
            error: Some("rpc timeout".into()),
        },
        epoch: Some(EpochStatus {
            number: 2,
            threshold: 2,
            committee: vec!["01".into(), "02".into(), "03".into()],
            own_index: Some(1),
            bls_group_pk: "aa".into(),
            secp_group_pk: "bb".into(),
        }),
        pending: Some(PendingStatus {
            number: 3,
            threshold: 2,
            committee: vec!["01".into(), "02".into(), "04".into()],
            own_index: Some(1),
            state: "running_dkg".into(),
        }),
        peers: vec![PeerStatus {
            node_id: "02".into(),
            connected: true,
            admitted: true,
            verdict: Some("admitted".into()),
            last_contact_unix: Some(1_800_000_000),
        }],
        last_run: Some(RunStatus {
            kind: "dkg".into(),
            epoch: 2,
            attempts: 1,
            duration_ms: 800,
            protocol_ms: Some(300),
            protocol_cpu_ms: Some(250),
            outcome: "ok".into(),
            culprits: vec![],
            error: None,
        }),
        ..Status::new("01", true)
    }
}

/// Every key path of a JSON document, arrays flattened (`peers[].node_id`).
fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(path.clone());
                key_paths(v, &path, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                key_paths(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status__should_reflect_the_latest_published_value() {
    let node = Node::must_start(Status::new("0a", false), None).await;

    let first = node.must_get("/status").await;
    assert_eq!(first.code, 200);
    let doc = first.json();
    assert_eq!(doc["node_id"], "0a");
    assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["chain"]["block"], Value::Null);

    node.status.send_modify(|s| {
        s.chain.block = Some(42);
        s.chain.head_age_secs = Some(5);
        s.serving = true;
        s.not_serving_reason = None;
    });
    let doc = node.must_get("/status").await.json();
    assert_eq!(doc["chain"]["block"], 42);
    assert_eq!(doc["chain"]["head_age_secs"], 5);
    assert_eq!(doc["serving"], true);
    assert_eq!(doc["not_serving_reason"], Value::Null);

    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health__should_flip_from_200_to_503_with_the_reason() {
    let node = Node::must_start(serving("0a"), None).await;

    let up = node.must_get("/health").await;
    assert_eq!(up.code, 200);
    assert_eq!(up.json(), serde_json::json!({ "ok": true }));

    let reason = "finalized head is 130 s old (bound 60 s)";
    node.status.send_modify(|s| {
        s.serving = false;
        s.not_serving_reason = Some(reason.into());
    });
    let down = node.must_get("/health").await;
    assert_eq!(down.code, 503);
    assert_eq!(
        down.json(),
        serde_json::json!({ "ok": false, "reason": reason })
    );

    node.status.send_modify(|s| {
        s.serving = true;
        s.not_serving_reason = None;
    });
    assert_eq!(node.must_get("/health").await.code, 200);

    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics__should_list_every_metric_after_recording() {
    let node = Node::must_start(serving("0a"), None).await;
    node.metrics
        .record_run("dkg", true, Duration::from_millis(1200));
    node.metrics
        .record_run("reshare", false, Duration::from_secs(2));
    node.metrics.refusal("stale_chain");
    node.metrics.set_peers(3, 1);
    node.metrics.set_head_age(7.0);
    node.metrics.set_simulated(true);

    let reply = node.must_get("/metrics").await;
    assert_eq!(reply.code, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    for line in [
        "keynet_protocol_runs_total{kind=\"dkg\",outcome=\"ok\"} 1",
        "keynet_protocol_runs_total{kind=\"reshare\",outcome=\"failed\"} 1",
        "keynet_protocol_run_duration_seconds_count{kind=\"dkg\"} 1",
        "keynet_refusals_total{reason=\"stale_chain\"} 1",
        "keynet_peers_admitted 3",
        "keynet_peers_refused 1",
        "keynet_chain_head_age_seconds 7.0",
        "keynet_simulated 1",
    ] {
        assert!(
            reply.body.lines().any(|l| l == line),
            "missing {line:?} in\n{}",
            reply.body
        );
    }
    assert!(reply.body.ends_with("# EOF\n"));

    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated__should_show_the_warning_on_status_and_health() {
    let node = Node::must_start(Status::new("0a", true), None).await;

    let status = node.must_get("/status").await.json();
    assert_eq!(status["simulated"], true);
    assert_eq!(status["warning"], SIMULATED_WARNING);
    assert_eq!(SIMULATED_WARNING, "SIMULATED ENCLAVE: NO SECURITY");

    let health = node.must_get("/health").await;
    assert_eq!(health.code, 503);
    let health = health.json();
    assert_eq!(health["reason"], "starting");
    assert_eq!(health["warning"], SIMULATED_WARNING);

    node.status.send_modify(|s| s.simulated = false);
    let status = node.must_get("/status").await.json();
    assert_eq!(status["simulated"], false);
    assert!(status.get("warning").is_none(), "{status}");

    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_path__should_answer_404_json() {
    let node = Node::must_start(serving("0a"), None).await;
    for path in [
        "/",
        "/nope",
        "/status/",
        "/metrics/x",
        "/health?x=1/../status",
    ] {
        let reply = node.must_get(path).await;
        if path.starts_with("/health?") {
            // The query is not part of the path.
            assert_eq!(reply.code, 200, "{path}");
            continue;
        }
        assert_eq!(reply.code, 404, "{path}");
        let doc = reply.json();
        assert_eq!(doc["error"]["kind"], "not_found", "{path}");
        assert!(doc["error"]["message"].is_string(), "{path}");
    }
    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post__should_answer_405_json_and_ignore_the_body() {
    let node = Node::must_start(serving("0a"), None).await;
    for path in ["/health", "/status", "/metrics"] {
        let body = "x".repeat(1000);
        let reply = must_request(
            node.addr,
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        assert_eq!(reply.code, 405, "{path}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{path}");
        assert_eq!(reply.json()["error"]["kind"], "method_not_allowed");
    }
    let delete = must_request(
        node.addr,
        "DELETE /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert_eq!(delete.code, 405);
    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status__should_hold_only_the_documented_public_fields() {
    // Every key the document may have. A new field must be added here after checking
    // it is public (docs/OPERATOR.md lists them); a secret never belongs in /status.
    let allowed: BTreeSet<String> = [
        "node_id",
        "simulated",
        "warning",
        "version",
        "serving",
        "not_serving_reason",
        "chain",
        "chain.block",
        "chain.head_age_secs",
        "chain.stale",
        "chain.error",
        "epoch",
        "epoch.number",
        "epoch.threshold",
        "epoch.committee",
        "epoch.own_index",
        "epoch.bls_group_pk",
        "epoch.secp_group_pk",
        "pending",
        "pending.number",
        "pending.threshold",
        "pending.committee",
        "pending.own_index",
        "pending.state",
        "peers",
        "peers[].node_id",
        "peers[].connected",
        "peers[].admitted",
        "peers[].verdict",
        "peers[].last_contact_unix",
        "last_run",
        "last_run.kind",
        "last_run.epoch",
        "last_run.attempts",
        "last_run.duration_ms",
        "last_run.protocol_ms",
        "last_run.protocol_cpu_ms",
        "last_run.outcome",
        "last_run.culprits",
        "last_run.error",
        "net",
        "net.delivered",
        "net.sent",
        "net.batches_sent",
        "net.dropped_not_admitted",
        "net.dropped_invalid",
        "net.dropped_inbox_full",
        "net.batches_held",
        "net.dropped_queue_full",
        "net.dropped_not_allowed",
        "net.send_failed",
        "net.connections_denied",
    ]
    .into_iter()
    .map(String::from)
    .collect();

    let node = Node::must_start(full_status(), None).await;
    let doc = node.must_get("/status").await.json();
    let mut keys = BTreeSet::new();
    key_paths(&doc, "", &mut keys);
    assert_eq!(keys, allowed);
    for key in &keys {
        for word in ["secret", "share", "private", "seed", "sk"] {
            assert!(
                !key.split(['.', '_', '[']).any(|part| part == word),
                "{key} looks secret"
            );
        }
    }
    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection__should_be_closed_at_its_deadline_when_the_request_never_completes() {
    let deadline = Duration::from_millis(300);
    let node = Node::must_start(
        serving("0a"),
        Some(Limits {
            connection_deadline: deadline,
            max_connections: 8,
        }),
    )
    .await;
    let addr = node.addr;
    let waited = tokio::task::spawn_blocking(move || {
        let mut stream = must_connect(addr);
        // Half a request line, then silence (slowloris).
        stream.write_all(b"GET /sta").unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 256];
        let outcome = stream.read(&mut buf);
        let waited = start.elapsed();
        match outcome {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("expected the server to close the connection, got {other:?}"),
        }
        waited
    })
    .await
    .unwrap();
    assert!(waited < IO_TIMEOUT, "closed after {waited:?}");
    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections__should_wait_for_a_permit_beyond_max_connections() {
    let deadline = Duration::from_secs(2);
    let node = Node::must_start(
        serving("0a"),
        Some(Limits {
            connection_deadline: deadline,
            max_connections: 1,
        }),
    )
    .await;
    let addr = node.addr;
    tokio::task::spawn_blocking(move || {
        // The first client holds the only permit and sends nothing.
        let idle = must_connect(addr);
        std::thread::sleep(Duration::from_millis(50));

        let mut second = must_connect(addr);
        second
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        // Not answered while the first connection is open.
        second
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut byte = [0u8; 1];
        let early = second.read(&mut byte);
        assert!(
            matches!(&early, Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)),
            "answered while the only permit was taken: {early:?}"
        );
        // Answered once the first one's deadline closes it.
        second.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let reply = must_read_reply(&mut second);
        assert_eq!(reply.code, 200);
        drop(idle);
    })
    .await
    .unwrap();
    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head__should_answer_like_get_without_a_body() {
    let node = Node::must_start(serving("0a"), None).await;
    let reply = must_request(
        node.addr,
        "HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body, "");
    node.must_stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown__should_finish_while_a_client_holds_a_half_sent_request() {
    let node = Node::must_start(
        serving("0a"),
        Some(Limits {
            connection_deadline: Duration::from_millis(300),
            max_connections: 8,
        }),
    )
    .await;
    let addr = node.addr;
    let client = tokio::task::spawn_blocking(move || {
        let mut stream = must_connect(addr);
        stream.write_all(b"GET /health HTTP/1.1\r\nHost:").unwrap();
        let mut buf = [0u8; 64];
        // Returns once the server closes the connection.
        let _ = stream.read(&mut buf);
    });
    // Let the server accept the connection before stopping it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    node.must_stop().await;
    // Well before the client's own 10 s read timeout would end the connection.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    tokio::time::timeout(IO_TIMEOUT, client)
        .await
        .unwrap()
        .unwrap();
}
