//! The operator surface (DESIGN §8 "Operators"): `/health`, `/status` and `/metrics`
//! over HTTP.
//!
//! - [`status`]: the [`Status`] document (`/status`, `kms node status --json`), with
//!   the SIMULATED banner when the node runs with simulated attestation.
//! - [`metrics`]: the node's Prometheus [`Metrics`], served as OpenMetrics text.
//! - [`serve()`](serve::serve): the HTTP server over an [`OpsState`]; the node publishes
//!   its status through a watch channel and updates the metrics in place.
//!
//! `docs/OPERATOR.md` ("Status and metrics") lists the endpoints, fields and metrics.
//!
//! # Security
//!
//! The endpoint has no authentication and is meant for a private address
//! (`node.operator_listen`, loopback by default). It serves nothing secret: [`Status`]
//! holds public ids, public keys, counts and reasons only, and the metrics are counters
//! and gauges.

pub mod listener;
pub mod metrics;
pub mod serve;
pub mod status;

pub use listener::Limits;
pub use metrics::Metrics;
pub use serve::{serve, serve_with_limits, OpsState};
pub use status::Status;
