//! The operator HTTP server: `GET /health`, `GET /status`, `GET /metrics`.
//!
//! | request | answer |
//! |---|---|
//! | `GET /health` | 200 `{"ok": true}` while serving; 503 `{"ok": false, "reason": "…"}` while not (the process is alive either way) |
//! | `GET /status` | 200, the [`Status`] document |
//! | `GET /metrics` | 200, OpenMetrics text ([`metrics::CONTENT_TYPE`]) |
//! | another method on those paths | 405 `{"error": {"kind": "method_not_allowed", …}}`, `Allow: GET, HEAD` |
//! | any other path | 404 `{"error": {"kind": "not_found", "message": "…"}}` |
//!
//! `HEAD` is answered like `GET` without the body. With simulated attestation, `/health`
//! also carries the `"warning"` banner, as `/status` does.
//!
//! What the server relies on: no handler reads a request body (hyper discards it; the
//! connection deadline bounds a client that sends one slowly); hyper bounds the request
//! head's size (its default read buffer, about 400 KiB); [`Limits`] bound each
//! connection's lifetime and the number of connections, since `axum::serve` gives
//! hyper no timer and so no header read timeout (see `listener.rs`). The endpoint has
//! no authentication: it listens where the daemon binds it (`node.operator_listen`,
//! loopback by default) and serves nothing secret.
//!
//! [`metrics::CONTENT_TYPE`]: super::metrics::CONTENT_TYPE

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::listener::{BoundedListener, Limits};
use super::metrics::{Metrics, CONTENT_TYPE};
use super::status::{Status, SIMULATED_WARNING};

/// What the handlers read: the node publishes its [`Status`] through the watch
/// channel and updates the [`Metrics`] in place.
#[derive(Debug, Clone)]
pub struct OpsState {
    /// The latest status; each request reads the current value.
    pub status: watch::Receiver<Status>,
    /// The node's metrics.
    pub metrics: Arc<Metrics>,
}

/// Serves the operator endpoint on `listener` until `shutdown` completes, with the
/// default [`Limits`].
///
/// After `shutdown`, no new connection is accepted and open ones are closed once
/// their current request is answered (at the latest at their deadline), then this
/// returns. It listens where it is told: the daemon binds `node.operator_listen`.
pub async fn serve(
    listener: TcpListener,
    state: OpsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_limits(listener, state, Limits::default(), shutdown).await
}

/// [`serve`] with explicit [`Limits`].
pub async fn serve_with_limits(
    listener: TcpListener,
    state: OpsState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = BoundedListener::new(listener, limits);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

fn router(state: OpsState) -> Router {
    Router::new()
        .route("/health", get(health).fallback(method_not_allowed))
        .route("/status", get(status).fallback(method_not_allowed))
        .route("/metrics", get(metrics).fallback(method_not_allowed))
        .fallback(not_found)
        .with_state(state)
}

async fn health(State(state): State<OpsState>) -> Response {
    // Copy what is needed and release the watch lock before building the response.
    let (serving, reason, simulated) = {
        let status = state.status.borrow();
        (
            status.serving,
            status.not_serving_reason.clone(),
            status.simulated,
        )
    };
    let mut body = if serving {
        json!({ "ok": true })
    } else {
        let reason = reason.unwrap_or_else(|| "not serving".to_owned());
        json!({ "ok": false, "reason": reason })
    };
    if simulated {
        body["warning"] = json!(SIMULATED_WARNING);
    }
    let code = if serving {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn status(State(state): State<OpsState>) -> Response {
    let status = state.status.borrow().clone();
    Json(status).into_response()
}

async fn metrics(State(state): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; the operator endpoint serves GET /health, /status and /metrics",
    )
}

async fn method_not_allowed() -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "the operator endpoint answers GET (and HEAD) only",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
    response
}

/// The JSON error document `{"error": {"kind", "message"}}`. The message is fixed
/// text: nothing from the request is echoed.
fn error(code: StatusCode, kind: &str, message: &str) -> Response {
    (
        code,
        Json(json!({ "error": { "kind": kind, "message": message } })),
    )
        .into_response()
}
