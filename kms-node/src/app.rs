//! The app-facing service (DESIGN §7 "Key release", §8, issue 11): applications open a
//! Noise_XX session ([`kms_api::noise`]) over TCP, present attestation evidence bound to
//! their Noise static key, and ask for their PRF share, the group keys or a signature.
//!
//! - [`server`]: the TCP listener and one task per connection (bounded handshake time,
//!   at most [`AppConfig::max_connections`] at once, an idle timeout);
//! - [`service`]: the checks in order, cheap ones first (size and version, the peer's
//!   and the application's rate limits, the replay guard, the evidence's verification
//!   with cached verdicts, its binding, the stale-chain rule, the approval at the
//!   pinned block through [`governance_contract::release`], membership) and the
//!   answers; every refusal is a [`kms_api::ErrorCode`], none carries a share;
//! - [`sign`]: the signing capability ([`SignOnBehalf`]);
//! - [`limits`]: token buckets, the replay guard and the caches, all bounded.
//!
//! The rules and their order are normative in `docs/PROTOCOL.md`, "App <-> node service
//! (kms-node)".

use std::time::Duration;

pub mod limits;
pub mod server;
pub mod service;
pub mod sign;

pub use limits::Rate;
pub use service::{AppService, AppServiceParts, Session};
pub use sign::{NoSigner, SignFailure, SignOnBehalf};

/// The service's limits. Not in the configuration file yet: [`AppConfig::default`]
/// holds the values every node runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct AppConfig {
    /// The whole handshake (three messages) must finish within this.
    pub handshake_timeout: Duration,
    /// A session with no request for this long is closed, and so is one whose peer
    /// takes longer than this to accept an answer (stops reading).
    pub idle_timeout: Duration,
    /// Connections served at once; further ones are closed at accept.
    pub max_connections: usize,
    /// Handshakes and requests per peer IP address.
    pub per_peer_rate: Rate,
    /// Requests per application (after its evidence verified).
    pub per_app_rate: Rate,
    /// How long a presented (evidence, static key) pair is tied to the address that
    /// presented it (the replay guard).
    pub replay_window: Duration,
    /// How long a verification verdict is reused for the same evidence bytes.
    pub verdict_ttl: Duration,
    /// Keys tracked by each bucket set, guard and cache.
    pub max_tracked: usize,
    /// `chain.max_head_age`: an older chain view releases nothing.
    pub max_head_age: Duration,
    /// How long a signing request may take.
    pub sign_timeout: Duration,
    /// Test-only (feature `fault-injection`): answer derive requests with a valid point
    /// that is not this node's share, as a faulty or malicious node would.
    #[cfg(feature = "fault-injection")]
    pub garbage_shares: bool,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            // About what one core answers (a derive share is one G2 multiplication,
            // about 1 ms); the app's bucket is shared by all its instances.
            per_peer_rate: Rate {
                burst: 2000,
                per_sec: 1000.0,
            },
            per_app_rate: Rate {
                burst: 4000,
                per_sec: 2000.0,
            },
            replay_window: Duration::from_secs(600),
            verdict_ttl: Duration::from_secs(60),
            max_tracked: 16_384,
            max_head_age: Duration::from_secs(60),
            sign_timeout: Duration::from_secs(10),
            #[cfg(feature = "fault-injection")]
            garbage_shares: false,
        }
    }
}
