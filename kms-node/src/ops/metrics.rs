//! The node's Prometheus metrics, served as OpenMetrics text on `/metrics`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `keynet_protocol_runs_total` | counter | `kind`, `outcome` (`ok` / `failed`) |
//! | `keynet_protocol_run_duration_seconds` | histogram | `kind` |
//! | `keynet_refusals_total` | counter | `reason` |
//! | `keynet_app_requests_total` | counter | `kind` (`derive`, `sign`, `group_keys`, `undecodable`), `outcome` (`ok` or a `kms_api::ErrorCode` name) |
//! | `keynet_peers_admitted` | gauge | |
//! | `keynet_peers_refused` | gauge | |
//! | `keynet_chain_head_age_seconds` | gauge | |
//! | `keynet_simulated` | gauge (1 when simulated) | |
//! | `keynet_net_payloads_total` | counter | `event` (a field of [`crate::net::Counters`]: `delivered`, `sent`, `dropped_…`, `send_failed`) |
//! | `keynet_net_batches_sent_total` | counter | |
//! | `keynet_net_batches_held_total` | counter | |
//! | `keynet_net_connections_denied_total` | counter | |
//!
//! # Label values
//!
//! Every label value is a new time series, kept for the life of the process. The
//! caller bounds them: `kind` is one of a fixed set (`dkg`, `reshare`, `repair`,
//! `sign`…), `reason` a fixed, short, machine-readable name per refusal cause
//! (`stale_chain`, `not_member`, `bad_evidence`…; the app service's are `app_` and a
//! release rule or error code name), never a peer id, an app id, an error
//! message or anything else taken from the network.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::net::Counters;

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of `keynet_protocol_runs_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    kind: String,
    outcome: String,
}

/// Labels of `keynet_protocol_run_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// Labels of `keynet_app_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    kind: String,
    outcome: String,
}

/// Labels of `keynet_net_payloads_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

/// The payload events of [`Counters`], as `keynet_net_payloads_total`'s `event` label.
fn payload_events(c: &Counters) -> [(&'static str, u64); 8] {
    [
        ("delivered", c.delivered),
        ("sent", c.sent),
        ("dropped_not_admitted", c.dropped_not_admitted),
        ("dropped_invalid", c.dropped_invalid),
        ("dropped_inbox_full", c.dropped_inbox_full),
        ("dropped_queue_full", c.dropped_queue_full),
        ("dropped_not_allowed", c.dropped_not_allowed),
        ("send_failed", c.send_failed),
    ]
}

/// Labels of `keynet_refusals_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// A histogram for run durations: 50 ms to about 410 s, doubling (a run may take
/// `protocol.max_attempts` attempts of up to `protocol.attempt_deadline` each).
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 14))
}

/// The node's metrics and the registry that encodes them.
///
/// Cheap to update from any task (`&self`, atomics inside); share it in an `Arc`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    run_duration: Family<KindLabels, Histogram, fn() -> Histogram>,
    refusals: Family<ReasonLabels, Counter>,
    app_requests: Family<AppLabels, Counter>,
    peers_admitted: Gauge,
    peers_refused: Gauge,
    head_age: Gauge<f64, AtomicU64>,
    simulated: Gauge,
    net_payloads: Family<EventLabels, Counter>,
    net_batches: Counter,
    net_held: Counter,
    net_denied: Counter,
    /// The p2p layer's totals at the last [`Metrics::set_net`].
    net_last: Mutex<Counters>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric registered, all at zero.
    pub fn new() -> Self {
        let runs = Family::<RunLabels, Counter>::default();
        let run_duration: Family<KindLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(duration_histogram);
        let refusals = Family::<ReasonLabels, Counter>::default();
        let app_requests = Family::<AppLabels, Counter>::default();
        let peers_admitted = Gauge::default();
        let peers_refused = Gauge::default();
        let head_age = Gauge::<f64, AtomicU64>::default();
        let simulated = Gauge::default();
        let net_payloads = Family::<EventLabels, Counter>::default();
        let net_batches = Counter::default();
        let net_held = Counter::default();
        let net_denied = Counter::default();

        let mut registry = Registry::default();
        // Counters get their `_total` suffix and units their `_seconds` suffix from the
        // encoder; the names here are the stems.
        registry.register(
            "keynet_protocol_runs",
            "Protocol runs (DKG, reshare, repair) finished, by kind and outcome",
            runs.clone(),
        );
        registry.register_with_unit(
            "keynet_protocol_run_duration",
            "Wall-clock time of a protocol run, all attempts",
            Unit::Seconds,
            run_duration.clone(),
        );
        registry.register(
            "keynet_refusals",
            "Requests or peers refused, by reason",
            refusals.clone(),
        );
        registry.register(
            "keynet_app_requests",
            "Application requests answered, by kind and outcome (ok or the error code)",
            app_requests.clone(),
        );
        registry.register(
            "keynet_peers_admitted",
            "Committee peers whose evidence is accepted",
            peers_admitted.clone(),
        );
        registry.register(
            "keynet_peers_refused",
            "Committee peers refused by the admission gate",
            peers_refused.clone(),
        );
        registry.register_with_unit(
            "keynet_chain_head_age",
            "Age of the block the chain view was read at",
            Unit::Seconds,
            head_age.clone(),
        );
        registry.register(
            "keynet_simulated",
            "1 when the node runs with simulated attestation (no security)",
            simulated.clone(),
        );
        registry.register(
            "keynet_net_payloads",
            "Protocol payloads on the p2p layer: delivered, sent (acknowledged), dropped or failed",
            net_payloads.clone(),
        );
        registry.register(
            "keynet_net_batches_sent",
            "p2p frames acknowledged, each a batch of payloads",
            net_batches.clone(),
        );
        registry.register(
            "keynet_net_batches_held",
            "p2p frames received while the inbox was full, held unanswered until it had room",
            net_held.clone(),
        );
        registry.register(
            "keynet_net_connections_denied",
            "p2p connections refused as they were established",
            net_denied.clone(),
        );

        Self {
            registry,
            runs,
            run_duration,
            refusals,
            app_requests,
            peers_admitted,
            peers_refused,
            head_age,
            simulated,
            net_payloads,
            net_batches,
            net_held,
            net_denied,
            net_last: Mutex::new(Counters::default()),
        }
    }

    /// Counts one finished protocol run of `kind` (`dkg`, `reshare`, `repair`; a bounded
    /// set, see the module doc) and observes its duration.
    pub fn record_run(&self, kind: &str, ok: bool, duration: Duration) {
        let outcome = if ok { "ok" } else { "failed" };
        self.runs
            .get_or_create(&RunLabels {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.run_duration
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .observe(duration.as_secs_f64());
    }

    /// Counts one refusal for `reason` (a fixed, short name; see the module doc).
    pub fn refusal(&self, reason: &str) {
        self.refusals
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts one application request of `kind` (`derive`, `sign`, `group_keys`,
    /// `undecodable`) answered with `outcome` (`ok` or an error code's name).
    pub fn app_request(&self, kind: &str, outcome: &str) {
        self.app_requests
            .get_or_create(&AppLabels {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts one refusal of an application by the rule that refused it (a release
    /// rule name or an error code's name), as `keynet_refusals_total{reason="app_…"}`.
    pub fn app_refusal(&self, rule: &str) {
        self.refusal(&format!("app_{rule}"));
    }

    /// Sets the numbers of admitted and refused committee peers.
    pub fn set_peers(&self, admitted: i64, refused: i64) {
        self.peers_admitted.set(admitted);
        self.peers_refused.set(refused);
    }

    /// Sets the age of the chain view's block, in seconds.
    pub fn set_head_age(&self, secs: f64) {
        self.head_age.set(secs);
    }

    /// Brings the `keynet_net_*` counters up to the p2p layer's totals `now` (they
    /// only grow; a total below the last one seen adds nothing).
    pub fn set_net(&self, now: &Counters) {
        let mut last = self.net_last.lock().unwrap_or_else(|e| e.into_inner());
        for ((event, new), (_, old)) in payload_events(now).into_iter().zip(payload_events(&last)) {
            self.net_payloads
                .get_or_create(&EventLabels {
                    event: event.to_owned(),
                })
                .inc_by(new.saturating_sub(old));
        }
        for (counter, new, old) in [
            (&self.net_batches, now.batches_sent, last.batches_sent),
            (&self.net_held, now.batches_held, last.batches_held),
            (
                &self.net_denied,
                now.connections_denied,
                last.connections_denied,
            ),
        ] {
            counter.inc_by(new.saturating_sub(old));
        }
        *last = *now;
    }

    /// Sets `keynet_simulated` to 1 (simulated attestation) or 0.
    pub fn set_simulated(&self, simulated: bool) {
        self.simulated.set(i64::from(simulated));
    }

    /// The OpenMetrics text exposition of every metric, ending in `# EOF`; serve it
    /// with [`CONTENT_TYPE`].
    ///
    /// Encoding into a `String` cannot fail (`fmt::Write` for `String` never errors and
    /// the label values are plain strings); should the encoder still report an error,
    /// it is logged and an empty exposition (`# EOF`) is returned rather than a
    /// truncated one.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        match text::encode(&mut out, &self.registry) {
            Ok(()) => out,
            Err(fmt::Error) => {
                tracing::error!("encoding the metrics failed; serving an empty exposition");
                "# EOF\n".to_owned()
            }
        }
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    /// The value of the sample line that starts with `prefix` (name and labels).
    fn sample(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.trim().parse().ok())
    }

    #[test]
    fn metrics__should_start_at_zero_and_end_with_eof() {
        let text = Metrics::new().encode();
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(sample(&text, "keynet_simulated "), Some(0.0));
        assert_eq!(sample(&text, "keynet_peers_admitted "), Some(0.0));
        assert_eq!(sample(&text, "keynet_chain_head_age_seconds "), Some(0.0));
        // Families have no sample before their first use.
        assert!(!text.contains("keynet_protocol_runs_total{"), "{text}");
    }

    #[test]
    fn record_run__should_count_by_kind_and_outcome_and_observe_the_duration() {
        let m = Metrics::new();
        m.record_run("dkg", true, Duration::from_millis(1500));
        m.record_run("dkg", true, Duration::from_millis(500));
        m.record_run("reshare", false, Duration::from_secs(3));
        let text = m.encode();
        assert_eq!(
            sample(
                &text,
                "keynet_protocol_runs_total{kind=\"dkg\",outcome=\"ok\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &text,
                "keynet_protocol_runs_total{kind=\"reshare\",outcome=\"failed\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "keynet_protocol_run_duration_seconds_sum{kind=\"dkg\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &text,
                "keynet_protocol_run_duration_seconds_count{kind=\"reshare\"}"
            ),
            Some(1.0)
        );
    }

    #[test]
    fn gauges__should_hold_the_last_value_set() {
        let m = Metrics::new();
        m.set_peers(4, 1);
        m.set_head_age(12.5);
        m.set_simulated(true);
        m.refusal("stale_chain");
        m.refusal("stale_chain");
        let text = m.encode();
        assert_eq!(sample(&text, "keynet_peers_admitted "), Some(4.0));
        assert_eq!(sample(&text, "keynet_peers_refused "), Some(1.0));
        assert_eq!(sample(&text, "keynet_chain_head_age_seconds "), Some(12.5));
        assert_eq!(sample(&text, "keynet_simulated "), Some(1.0));
        assert_eq!(
            sample(&text, "keynet_refusals_total{reason=\"stale_chain\"}"),
            Some(2.0)
        );
        m.set_simulated(false);
        assert_eq!(sample(&m.encode(), "keynet_simulated "), Some(0.0));
    }

    #[test]
    fn set_net__should_follow_the_p2p_totals_without_counting_twice() {
        let m = Metrics::new();
        let mut c = Counters {
            delivered: 5,
            sent: 40,
            batches_sent: 4,
            ..Counters::default()
        };
        m.set_net(&c);
        m.set_net(&c);
        c.sent = 52;
        c.batches_sent = 5;
        c.dropped_queue_full = 2;
        c.batches_held = 3;
        c.connections_denied = 1;
        m.set_net(&c);
        let text = m.encode();
        let payloads = |event: &str| {
            sample(
                &text,
                &format!("keynet_net_payloads_total{{event=\"{event}\"}}"),
            )
        };
        assert_eq!(payloads("delivered"), Some(5.0));
        assert_eq!(payloads("sent"), Some(52.0));
        assert_eq!(payloads("dropped_queue_full"), Some(2.0));
        assert_eq!(payloads("send_failed"), Some(0.0));
        assert_eq!(sample(&text, "keynet_net_batches_sent_total "), Some(5.0));
        assert_eq!(sample(&text, "keynet_net_batches_held_total "), Some(3.0));
        assert_eq!(
            sample(&text, "keynet_net_connections_denied_total "),
            Some(1.0)
        );
    }
}
