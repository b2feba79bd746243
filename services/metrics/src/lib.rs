//! The process's metrics, exposed at `/metrics` in the OpenMetrics text format that Prometheus
//! scrapes. Each target counts what it does in [`global`]; the HTTP server of the process sets
//! the gauges read at scrape time (queue depths, outbox states) and encodes them all.
//!
//! Names follow the Prometheus conventions: a `baocao_` prefix, base units (seconds), `_total`
//! on counters.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of an ingested event.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// The unit code.
    pub unit: String,
    /// The event type, such as `procedure.received`.
    pub r#type: String,
}

/// A rejection's reason code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The reason code of SPEC §3.4.
    pub reason: String,
}

/// A queue's name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// The queue.
    pub queue: String,
}

/// An outbox state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// queued, sending, retrying, sent or failed.
    pub state: String,
}

/// A unit (or summary) code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UnitLabels {
    /// The unit code.
    pub unit: String,
}

/// A source of the upstream systems' own formats (`[[source]]`, or `broker`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedLabels {
    /// The source's name.
    pub source: String,
}

/// A target of `baocao run`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    /// all, ingest, reporter or api.
    pub target: String,
}

/// Why the HTTP server refused a connection or a stream.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `connections` (over the connection cap), `streams_per_client` or `streams_total`.
    pub reason: String,
}

/// A rendered format.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FormatLabels {
    /// text, html, docx or pdf.
    pub format: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    /// Events stored for the first time, by unit and type.
    pub events_ingested: Family<EventLabels, Counter>,
    /// Deliveries dead-lettered, by reason.
    pub events_rejected: Family<ReasonLabels, Counter>,
    /// Deliveries whose event was already stored.
    pub events_duplicate: Counter,
    /// Deliveries per batch written.
    pub batch_size: Histogram,
    /// Seconds from beginning a batch's transaction to its commit.
    pub commit_seconds: Histogram,
    /// Messages waiting in each inbound queue: how far the consumers are behind.
    pub consumer_lag: Family<QueueLabels, Gauge>,
    /// Messages in the dead-letter queue.
    pub dead_letters: Gauge,
    /// 1 while the broker answered this process's last look, else 0.
    pub broker_up: Gauge,
    /// Outbox messages by state.
    pub outbox: Family<StateLabels, Gauge>,
    /// Emails accepted by the mail server (or written out).
    pub emails_sent: Counter,
    /// Emails given up on.
    pub emails_failed: Counter,
    /// Sending attempts that will be retried.
    pub email_retries: Counter,
    /// Seconds to render one report format.
    pub render_seconds: HistogramFamily<FormatLabels>,
    /// Seconds to read one unit's indicators for the live stream.
    pub live_refresh_seconds: Histogram,
    /// Server-Sent Events clients connected.
    pub sse_clients: Gauge,
    /// HTTP connections open.
    pub http_connections: Gauge,
    /// HTTP connections and streams refused, by reason.
    pub http_refused: Family<RefusalLabels, Counter>,
    /// Looks at the database for readiness and the shared gauges.
    pub database_looks: Counter,
    /// Due periods whose issuing failed in the scheduler's last step, by unit.
    pub issue_failures: Family<UnitLabels, Gauge>,
    /// Due periods past their sending time without a report, by unit (waiting or failing).
    pub due_unissued: Family<UnitLabels, Gauge>,
    /// When the latest event of each unit and type was stored, in Unix seconds.
    pub source_last_event: Family<EventLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// 1 while the process is ready (its `/readyz` answers 200), else 0.
    pub ready: Family<TargetLabels, Gauge>,
    /// When each unit's signing certificate ends, in Unix seconds.
    pub certificate_expiry: Family<UnitLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// 1 while a unit's signing certificate cannot be used (its reports are held), else 0.
    pub certificate_unavailable: Family<UnitLabels, Gauge>,
    /// When each source's last body was read, in Unix seconds.
    pub source_last_body: Family<FeedLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// 1 while a configured source is silent in office hours, else 0.
    pub source_silent: Family<FeedLabels, Gauge>,
}

fn latency_buckets() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("baocao");
        let metrics = Self {
            events_ingested: Family::default(),
            events_rejected: Family::default(),
            events_duplicate: Counter::default(),
            batch_size: Histogram::new([
                1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0,
            ]),
            commit_seconds: latency_buckets(),
            consumer_lag: Family::default(),
            broker_up: Gauge::default(),
            dead_letters: Gauge::default(),
            outbox: Family::default(),
            emails_sent: Counter::default(),
            emails_failed: Counter::default(),
            email_retries: Counter::default(),
            render_seconds: Family::new_with_constructor(latency_buckets),
            live_refresh_seconds: latency_buckets(),
            sse_clients: Gauge::default(),
            http_connections: Gauge::default(),
            http_refused: Family::default(),
            database_looks: Counter::default(),
            issue_failures: Family::default(),
            due_unissued: Family::default(),
            source_last_event: Family::default(),
            ready: Family::default(),
            certificate_expiry: Family::default(),
            certificate_unavailable: Family::default(),
            source_last_body: Family::default(),
            source_silent: Family::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "events_ingested",
            "Events stored for the first time, by unit and type",
            metrics.events_ingested.clone(),
        );
        r.register(
            "events_rejected",
            "Deliveries dead-lettered, by reason",
            metrics.events_rejected.clone(),
        );
        r.register(
            "events_duplicate",
            "Deliveries whose event was already stored (not counted again)",
            metrics.events_duplicate.clone(),
        );
        r.register(
            "ingest_batch_size",
            "Deliveries per batch written in one transaction",
            metrics.batch_size.clone(),
        );
        r.register_with_unit(
            "ingest_commit",
            "Time from beginning a batch's transaction to its commit",
            Unit::Seconds,
            metrics.commit_seconds.clone(),
        );
        r.register(
            "consumer_lag_messages",
            "Messages waiting in an inbound queue, read from the broker at scrape time",
            metrics.consumer_lag.clone(),
        );
        r.register(
            "broker_up",
            "1 while RabbitMQ answered the last look at its queues (every 5 s), else 0",
            metrics.broker_up.clone(),
        );
        r.register(
            "dead_letter_messages",
            "Messages in the dead-letter queue, read from the broker at scrape time",
            metrics.dead_letters.clone(),
        );
        r.register(
            "outbox_messages",
            "Report emails in the outbox by state, read from the database at scrape time",
            metrics.outbox.clone(),
        );
        r.register(
            "emails_sent",
            "Report emails accepted by the mail server or written out",
            metrics.emails_sent.clone(),
        );
        r.register(
            "emails_failed",
            "Report emails given up on (a permanent error or too many attempts)",
            metrics.emails_failed.clone(),
        );
        r.register(
            "email_retries",
            "Sending attempts that failed and will be retried",
            metrics.email_retries.clone(),
        );
        r.register_with_unit(
            "report_render",
            "Time to render one report format",
            Unit::Seconds,
            metrics.render_seconds.clone(),
        );
        r.register_with_unit(
            "live_refresh",
            "Time to read a unit's open-window indicators for the live stream",
            Unit::Seconds,
            metrics.live_refresh_seconds.clone(),
        );
        r.register(
            "sse_clients",
            "Server-Sent Events clients connected",
            metrics.sse_clients.clone(),
        );
        r.register(
            "http_connections",
            "HTTP connections open",
            metrics.http_connections.clone(),
        );
        r.register(
            "http_refused",
            "HTTP connections and Server-Sent Events streams refused, by reason: connections (over the connection cap), streams_per_client, streams_total",
            metrics.http_refused.clone(),
        );
        r.register(
            "database_looks",
            "Looks at the database for readiness and the shared gauges (one every 5 s, however often probed or scraped)",
            metrics.database_looks.clone(),
        );
        r.register(
            "report_issue_failures",
            "Due periods whose issuing failed in the scheduler's last step, by unit",
            metrics.issue_failures.clone(),
        );
        r.register(
            "report_due_unissued",
            "Due periods past their sending time still without a report, by unit",
            metrics.due_unissued.clone(),
        );
        r.register(
            "source_last_event_timestamp_seconds",
            "When the latest event of each unit and type was stored (Unix time), read from the database at scrape time",
            metrics.source_last_event.clone(),
        );
        r.register(
            "source_last_body_timestamp_seconds",
            "When each source's last body of an upstream format was read (Unix time), read from the database",
            metrics.source_last_body.clone(),
        );
        r.register(
            "source_silent",
            "1 while a configured source has sent nothing for its allowance in office hours, else 0",
            metrics.source_silent.clone(),
        );
        r.register(
            "ready",
            "1 while the process is ready to serve its target, else 0",
            metrics.ready.clone(),
        );
        r.register(
            "signing_certificate_expiry_timestamp_seconds",
            "When each unit's signing certificate ends (Unix time)",
            metrics.certificate_expiry.clone(),
        );
        r.register(
            "signing_certificate_unavailable",
            "1 while a unit's signing certificate cannot be used (missing, unreadable, expired, its password wrong or not set): its reports are held",
            metrics.certificate_unavailable.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// The metrics in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Counts a committed batch.
    pub fn observe_batch(&self, deliveries: usize, commit: Duration) {
        self.batch_size.observe(deliveries as f64);
        self.commit_seconds.observe(commit.as_secs_f64());
    }

    /// Counts `count` events of `unit` and `event_type` stored for the first time.
    pub fn count_ingested(&self, unit: &str, event_type: &str, count: u64) {
        self.events_ingested
            .get_or_create(&EventLabels {
                unit: unit.to_owned(),
                r#type: event_type.to_owned(),
            })
            .inc_by(count);
    }

    /// Counts a dead-lettered delivery.
    pub fn count_rejected(&self, reason: &str) {
        self.events_rejected
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Records how long rendering `format` took.
    pub fn observe_render(&self, format: &str, took: Duration) {
        self.render_seconds
            .get_or_create(&FormatLabels {
                format: format.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Sets the number of messages waiting in `queue`.
    pub fn set_consumer_lag(&self, queue: &str, messages: u32) {
        self.consumer_lag
            .get_or_create(&QueueLabels {
                queue: queue.to_owned(),
            })
            .set(i64::from(messages));
    }

    /// Sets how many due periods of `unit` failed to be issued in the last step.
    pub fn set_issue_failures(&self, unit: &str, periods: i64) {
        let labels = UnitLabels {
            unit: unit.to_owned(),
        };
        self.issue_failures.get_or_create(&labels).set(periods);
    }

    /// Sets how many due periods of `unit` are past their sending time without a report.
    pub fn set_due_unissued(&self, unit: &str, periods: i64) {
        let labels = UnitLabels {
            unit: unit.to_owned(),
        };
        self.due_unissued.get_or_create(&labels).set(periods);
    }

    /// Sets when the latest event of `unit` and `event_type` was stored.
    pub fn set_source_last_event(&self, unit: &str, event_type: &str, unix_seconds: f64) {
        let labels = EventLabels {
            unit: unit.to_owned(),
            r#type: event_type.to_owned(),
        };
        self.source_last_event
            .get_or_create(&labels)
            .set(unix_seconds);
    }

    /// Sets when `source` last sent a body, and whether it is silent now.
    pub fn set_source_feed(&self, source: &str, last_body: Option<f64>, silent: bool) {
        let labels = FeedLabels {
            source: source.to_owned(),
        };
        if let Some(at) = last_body {
            self.source_last_body.get_or_create(&labels).set(at);
        }
        self.source_silent
            .get_or_create(&labels)
            .set(i64::from(silent));
    }

    /// Sets whether the process serving `target` is ready.
    pub fn set_ready(&self, target: &str, ready: bool) {
        let labels = TargetLabels {
            target: target.to_owned(),
        };
        self.ready.get_or_create(&labels).set(i64::from(ready));
    }

    /// Sets when `unit`'s signing certificate ends.
    pub fn set_certificate_expiry(&self, unit: &str, unix_seconds: f64) {
        let labels = UnitLabels {
            unit: unit.to_owned(),
        };
        self.certificate_expiry
            .get_or_create(&labels)
            .set(unix_seconds);
    }

    /// Sets whether `unit`'s signing certificate cannot be used.
    pub fn set_certificate_unavailable(&self, unit: &str, unavailable: bool) {
        let labels = UnitLabels {
            unit: unit.to_owned(),
        };
        self.certificate_unavailable
            .get_or_create(&labels)
            .set(i64::from(unavailable));
    }

    /// Counts a connection or stream the HTTP server refused, for `reason`.
    pub fn count_http_refused(&self, reason: &str) {
        self.http_refused
            .get_or_create(&RefusalLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Sets how many outbox messages are in `state`.
    pub fn set_outbox(&self, state: &str, messages: i64) {
        self.outbox
            .get_or_create(&StateLabels {
                state: state.to_owned(),
            })
            .set(messages);
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let metrics = Metrics::new();
        metrics.count_ingested("tri-qua", "procedure.received", 3);
        metrics.count_rejected("malformed");
        metrics.observe_batch(250, Duration::from_millis(12));
        metrics.observe_render("pdf", Duration::from_millis(80));
        metrics.set_outbox("sent", 5);
        metrics.set_consumer_lag("baocao.portal", 7);
        let text = metrics.encode();
        for line in [
            "baocao_events_ingested_total{unit=\"tri-qua\",type=\"procedure.received\"} 3",
            "baocao_events_rejected_total{reason=\"malformed\"} 1",
            "baocao_events_duplicate_total 0",
            "baocao_ingest_batch_size_count 1",
            "baocao_ingest_commit_seconds_bucket{le=\"0.025\"} 1",
            "baocao_report_render_seconds_count{format=\"pdf\"} 1",
            "baocao_outbox_messages{state=\"sent\"} 5",
            "baocao_consumer_lag_messages{queue=\"baocao.portal\"} 7",
            "baocao_sse_clients 0",
            "# TYPE baocao_ingest_commit_seconds histogram",
            "# UNIT baocao_ingest_commit_seconds seconds",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
