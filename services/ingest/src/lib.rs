//! The ingest worker: consumes the e-office and portal queues, stores every event once and
//! dead-letters what it cannot accept (SPEC §3).
//!
//! - [`consumer`]: the per-queue loop: batch deliveries, write each batch in one transaction,
//!   acknowledge only after the commit.
//! - [`read`]: what a delivery says: an event in baocao's envelope, a body of an upstream
//!   system's own format (the DVCQG sync), or a refusal.
//! - [`dead_letter`]: the dead-letter headers, and listing and replaying dead letters.
//! - [`heartbeat`]: telling the scheduler that ingest is alive and how much waits.
//!
//! [`run`] ties them together and reconnects with backoff when the broker goes away. RabbitMQ
//! itself (topology, connections, confirmed publishing) is the `broker` crate's.

pub mod consumer;
pub mod dead_letter;
pub mod heartbeat;
pub mod read;

use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::Topology;
use domain::KnownUnits;
use lifecycle::{Backoff, Shutdown, Streak};
use store::PgPool;

/// How the worker consumes.
#[derive(Clone)]
pub struct IngestConfig {
    /// The AMQP URL, with credentials; never logged.
    pub amqp_url: String,
    /// Exchange and queue names.
    pub topology: Topology,
    /// Unacknowledged deliveries the broker may push to each consumer, at most.
    pub prefetch: u16,
    /// The broker's largest message (its `max_message_size`), in bytes.
    pub max_message_bytes: usize,
    /// What the unacknowledged deliveries of one consumer may take at most, in bytes (kept for
    /// all consumers together: [`IngestConfig::inflight_bytes_bound`]).
    pub prefetch_bytes: usize,
    /// Consumers per queue in this process, each writing its own batches: the database works
    /// on one batch while the next is gathered.
    pub consumers_per_queue: usize,
    /// The most deliveries written in one transaction.
    pub batch_size: usize,
    /// How long a batch waits to fill after its first delivery.
    pub batch_wait: Duration,
    /// The units events may belong to.
    pub units: KnownUnits,
    /// How long the log of dead letters keeps its rows.
    pub rejection_retention: Duration,
}

impl IngestConfig {
    /// The prefetch each consumer asks for: `prefetch`, at least 1. RabbitMQ limits it by count
    /// only; what the messages may take in bytes is [`IngestConfig::inflight_bytes_bound`],
    /// kept as they are read ([`broker::budget`]).
    pub fn prefetch_count(&self) -> u16 {
        self.prefetch.max(1)
    }

    /// The most deliveries one batch gathers: `batch_size`, or the whole prefetch when that is
    /// smaller (a batch waiting for more than the prefetch allows would only wait out
    /// `batch_wait`). While one consumer commits its batch, the broker delivers to the queue's
    /// other consumers (`consumers_per_queue`), so the next batch is gathered meanwhile.
    pub fn batch_limit(&self) -> usize {
        self.batch_size.clamp(1, usize::from(self.prefetch_count()))
    }

    /// The most the messages this process has read and not yet acknowledged may take, in
    /// bytes: `prefetch_bytes` for each of its consumers (two queues), or one message of the
    /// broker's largest size if that is more. The consumers' connection reads no message that
    /// would pass it until others are acknowledged.
    pub fn inflight_bytes_bound(&self) -> usize {
        (2 * self.consumers_per_queue.max(1) * self.prefetch_bytes).max(self.max_message_bytes)
    }
}

impl std::fmt::Debug for IngestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestConfig")
            .field("amqp_url", &"***")
            .field("topology", &self.topology)
            .field("prefetch", &self.prefetch)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("prefetch_bytes", &self.prefetch_bytes)
            .field("consumers_per_queue", &self.consumers_per_queue)
            .field("batch_size", &self.batch_size)
            .field("batch_wait", &self.batch_wait)
            .field("rejection_retention", &self.rejection_retention)
            .finish_non_exhaustive()
    }
}

/// Runs the worker until `shutdown` fires: consumes both queues, reconnecting with capped
/// exponential backoff whenever the broker connection is lost.
pub async fn run(config: IngestConfig, pool: PgPool, shutdown: Shutdown) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let beating = tokio::spawn(heartbeat::run(
        config.amqp_url.clone(),
        config.topology.clone(),
        pool.clone(),
        shutdown.clone(),
    ));
    let pruning = tokio::spawn(prune_rejections(
        pool.clone(),
        config.rejection_retention,
        shutdown.clone(),
    ));
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    let mut streak = Streak::default();
    while !shutdown.is_triggered() {
        let started = Instant::now();
        let Err(error) = consumer::consume_until_failure(&config, &pool, &shutdown).await else {
            break;
        };
        if started.elapsed() > Duration::from_secs(30) {
            backoff.reset();
            streak.succeeded();
        }
        if streak.failed() {
            tracing::error!(
                error = format!("{error:#}"),
                "lost the broker; reconnecting with backoff"
            );
        }
        shutdown.sleep(backoff.next_delay()).await;
    }
    beating.await.ok();
    pruning.await.ok();
    tracing::info!("ingest stopped");
    Ok(())
}

/// How often the log of dead letters is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Deletes the log's rows older than `retention`, at start and then every hour, until
/// `shutdown`. Every ingest replica does it; deleting what another already deleted costs
/// nothing.
async fn prune_rejections(pool: PgPool, retention: Duration, shutdown: Shutdown) {
    let mut streak = Streak::default();
    loop {
        let retention = chrono::TimeDelta::from_std(retention).unwrap_or(chrono::TimeDelta::MAX);
        let before = chrono::Utc::now() - retention;
        match store::rejections::prune(&pool, before).await {
            Ok(deleted) => {
                streak.succeeded();
                if deleted > 0 {
                    tracing::info!(deleted, %before, "pruned the log of dead letters");
                }
            }
            Err(error) => {
                if streak.failed() {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot prune the log of dead letters; trying again in an hour"
                    );
                }
            }
        }
        if !shutdown.sleep(PRUNE_EVERY).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(prefetch: u16, max_message_bytes: usize, prefetch_bytes: usize) -> IngestConfig {
        IngestConfig {
            amqp_url: String::new(),
            topology: Topology::default(),
            prefetch,
            max_message_bytes,
            prefetch_bytes,
            consumers_per_queue: 2,
            batch_size: 2000,
            batch_wait: Duration::from_millis(20),
            units: KnownUnits::new([]),
            rejection_retention: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn the_prefetch_is_the_count_and_the_byte_bound_is_every_consumers_budget() {
        const MIB: usize = 1024 * 1024;
        // Batches of 2000 (batch_size) out of 4000, whatever the messages' sizes.
        let shipped = config(4000, 2 * MIB, 256 * MIB);
        assert_eq!(
            (shipped.prefetch_count(), shipped.batch_limit()),
            (4000, 2000)
        );
        assert_eq!(shipped.inflight_bytes_bound(), 2 * 2 * 256 * MIB);
        // A batch never waits for more than the prefetch.
        let narrow = config(64, 2 * MIB, 128 * MIB);
        assert_eq!((narrow.prefetch_count(), narrow.batch_limit()), (64, 64));
        // Never below one message, of the broker's largest size.
        let tiny = config(0, 2 * MIB, 1024);
        assert_eq!((tiny.prefetch_count(), tiny.batch_limit()), (1, 1));
        assert_eq!(tiny.inflight_bytes_bound(), 2 * MIB);
    }
}
