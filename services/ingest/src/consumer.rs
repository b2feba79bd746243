//! The per-queue consumer: deliveries are gathered into batches, each batch is written in one
//! transaction, rejected messages are dead-lettered (and confirmed), and only then is the batch
//! acknowledged, with one `basic.ack` of the last delivery tag and `multiple` set.
//!
//! Nothing is acknowledged that is not committed or dead-lettered: a crash anywhere leaves the
//! batch unacknowledged, the broker redelivers it, and the store drops what it already has.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use domain::{ParsedEvent, Source};
use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Consumer};
use store::PgPool;
use tokio::task::JoinSet;

use broker::{Budget, Held, Publisher};
use lifecycle::{Backoff, Shutdown, Streak};
use store::db::Failure;

use crate::IngestConfig;
use crate::dead_letter::{self, Rejected, Verdict};
use crate::read::{self, Reading};

/// Connects, declares the topology and consumes both queues, one task each, until shutdown
/// (`Ok`) or until the connection fails beyond what automatic recovery can mend (`Err`).
pub async fn consume_until_failure(
    config: &Arc<IngestConfig>,
    pool: &PgPool,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    // What the consumers hold is bounded in bytes as the messages are read: the prefetch, a
    // count, is left to the broker's pace.
    let budget = Budget::new(config.inflight_bytes_bound());
    let connection = broker::connect_within(&config.amqp_url, "baocao-ingest", &budget).await?;
    // Dead letters go out on a connection of their own: a broker that blocks publishers under a
    // resource alarm must not stall the consumers' acknowledgements.
    let publishing = match broker::connect(&config.amqp_url, "baocao-ingest-dead-letters").await {
        Ok(publishing) => publishing,
        Err(error) => {
            broker::close(&connection, "baocao ingest stopping").await;
            return Err(error);
        }
    };
    let result = consume_on(&connection, &publishing, &budget, config, pool, shutdown).await;
    // Closing hands the prefetched, unacknowledged deliveries back to the broker at once.
    broker::close(&connection, "baocao ingest stopping").await;
    broker::close(&publishing, "baocao ingest stopping").await;
    result
}

async fn consume_on(
    connection: &Connection,
    publishing: &Connection,
    budget: &Budget,
    config: &Arc<IngestConfig>,
    pool: &PgPool,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let setup = connection
        .create_channel()
        .await
        .context("Failed to open a channel")?;
    broker::declare(&setup, &config.topology).await?;
    let mut tasks = JoinSet::new();
    let consumers = config.consumers_per_queue.max(1);
    for source in Source::ALL
        .into_iter()
        .flat_map(|s| std::iter::repeat_n(s, consumers))
    {
        let worker = Worker {
            config: Arc::clone(config),
            pool: pool.clone(),
            shutdown: shutdown.clone(),
            queue: config.topology.queue(source).to_owned(),
            source,
            budget: budget.clone(),
        };
        let (channel, consumer) = worker.subscribe(connection).await?;
        let dead_letters = Publisher::open(publishing).await?;
        tasks.spawn(worker.consume(channel, consumer, dead_letters));
    }
    tracing::info!(
        prefetch = config.prefetch_count(),
        batch_size = config.batch_limit(),
        bytes_held_at_most = config.inflight_bytes_bound(),
        "consuming"
    );
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined
            .map_err(anyhow::Error::from)
            .and_then(|outcome| outcome);
        if let Err(error) = outcome {
            // The other consumers' batches in flight are dropped unacknowledged and come again.
            tasks.abort_all();
            result = result.and(Err(error));
        }
    }
    result
}

/// A batch read: its events (each with the delivery and the record it came from), what is
/// refused, and the bodies of sources' formats it held.
#[derive(Default)]
struct ReadBatch<'b> {
    events: Vec<ParsedEvent>,
    origins: Vec<(usize, Option<usize>)>,
    rejected: Vec<Rejected<'b>>,
    bodies: Vec<(&'b Delivery, &'static str, usize)>,
}

/// The source a body counts for: its `x-baocao-source` header (escaped, bounded), or
/// `broker`.
fn source_of(delivery: &Delivery) -> String {
    broker::header_text(delivery.properties.headers(), broker::SOURCE_HEADER)
        .map(|name| domain::text::truncate_bytes(&domain::text::escape_controls(&name), 64))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| read::DEFAULT_SOURCE.to_owned())
}

impl<'b> Rejected<'b> {
    /// A whole delivery refused: a body of a source's format counts for that source.
    fn whole(delivery: &'b Delivery, verdict: Verdict) -> Self {
        let source = read::is_source_format(delivery).then(|| source_of(delivery));
        Self {
            delivery,
            body: delivery.data.clone(),
            verdict,
            source,
        }
    }

    /// One record of a source's body refused, as a body of its own.
    fn record(delivery: &'b Delivery, body: Vec<u8>, verdict: Verdict) -> Self {
        Self {
            delivery,
            body,
            verdict,
            source: Some(source_of(delivery)),
        }
    }
}

struct Worker {
    config: Arc<IngestConfig>,
    pool: PgPool,
    shutdown: Shutdown,
    queue: String,
    /// The system whose exchange the queue is bound to.
    source: Source,
    /// What the connection's messages may take until acknowledged; each delivery's bytes are
    /// held with its batch.
    budget: Budget,
}

/// The deliveries of one batch, holding their bytes in the connection's [`Budget`] until the
/// batch is dropped (acknowledged, or given up to come again).
struct Batch {
    deliveries: Vec<Delivery>,
    _held: Held,
}

impl Worker {
    async fn subscribe(&self, connection: &Connection) -> anyhow::Result<(Channel, Consumer)> {
        let channel = connection
            .create_channel()
            .await
            .context("Failed to open a channel")?;
        channel
            .basic_qos(self.config.prefetch_count(), BasicQosOptions::default())
            .await
            .context("Failed to set the prefetch")?;
        let consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("Failed to consume queue {}", self.queue))?;
        Ok((channel, consumer))
    }

    async fn consume(
        self,
        channel: Channel,
        mut consumer: Consumer,
        dead_letters: Publisher,
    ) -> anyhow::Result<()> {
        // `channel` stays open as long as this loop runs: its consumer and acks live on it.
        let _channel = channel;
        while let Some(batch) = self.next_batch(&mut consumer).await? {
            self.ingest_batch(&batch.deliveries, &dead_letters).await?;
        }
        Ok(())
    }

    /// Waits for a delivery, then gathers more for up to `batch_wait`, the batch limit
    /// (`IngestConfig::batch_limit`) or `prefetch_bytes` of bodies: a batch of the broker's
    /// largest messages is as small as one consumer's share of the budget, and its statements'
    /// buffers with it.
    /// `None` once shutdown is asked for.
    async fn next_batch(&self, consumer: &mut Consumer) -> anyhow::Result<Option<Batch>> {
        let limit = self.config.batch_limit();
        let mut batch = Vec::with_capacity(limit);
        let mut held = self.budget.hold(0);
        let first = tokio::select! {
            biased;
            () = self.shutdown.wait() => return Ok(None),
            next = consumer.next() => next,
        };
        let deadline = tokio::time::Instant::now() + self.config.batch_wait;
        let mut next = first;
        loop {
            match next {
                None => anyhow::bail!("the broker cancelled the consumer"),
                // The batch gathered so far stays unacknowledged and comes again after the
                // worker has reconnected.
                Some(Err(error)) => return Err(error).context("Lost the broker connection"),
                Some(Ok(delivery)) => {
                    held.join(self.budget.hold(delivery.data.len()));
                    batch.push(delivery);
                }
            }
            if batch.len() >= limit || held.bytes() >= self.config.prefetch_bytes {
                break;
            }
            match tokio::time::timeout_at(deadline, consumer.next()).await {
                Ok(more) => next = more,
                Err(_elapsed) => break,
            }
        }
        Ok(Some(Batch {
            deliveries: batch,
            _held: held,
        }))
    }

    /// Parses a batch, stores the valid events in one transaction, dead-letters the rest and
    /// acknowledges everything with one `basic.ack`.
    #[tracing::instrument(skip_all, fields(queue = %self.queue, deliveries = batch.len()))]
    async fn ingest_batch(
        &self,
        batch: &[Delivery],
        dead_letters: &Publisher,
    ) -> anyhow::Result<()> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let read = self.read_batch(batch);
        let mut rejected = read.rejected;
        if !read.events.is_empty() {
            let Some(unstorable) = self.write_until_committed(&read.events).await? else {
                return Ok(()); // Shutdown while the database was away: leave the batch unacknowledged.
            };
            rejected.extend(self.unstorable(batch, &read.origins, unstorable));
        }
        if !rejected.is_empty() {
            let dead_exchange = &self.config.topology.dead_exchange;
            dead_letter::publish(dead_letters, dead_exchange, &self.queue, &rejected).await?;
            self.record_rejections(&rejected).await;
        }
        self.record_feeds(&read.bodies).await;
        let acked = last
            .acker
            .ack(BasicAckOptions { multiple: true })
            .await
            .context("Failed to acknowledge the batch")?;
        if !acked {
            tracing::info!(
                "the channel closed before the ack; the broker will redeliver this batch"
            );
        }
        Ok(())
    }

    /// Reads every delivery of a batch ([`read::read`]).
    fn read_batch<'b>(&self, batch: &'b [Delivery]) -> ReadBatch<'b> {
        let now = Utc::now();
        let mut read = ReadBatch::default();
        for (at, delivery) in batch.iter().enumerate() {
            match read::read(self.source, delivery, &self.config.units, now) {
                Reading::Event(event) => {
                    read.origins.push((at, None));
                    read.events.push(event);
                }
                Reading::Records(body) => {
                    for (record, event) in body.events {
                        read.origins.push((at, Some(record)));
                        read.events.push(event);
                    }
                    for (alone, verdict) in body.refused {
                        read.rejected
                            .push(Rejected::record(delivery, alone, verdict));
                    }
                    read.bodies.push((delivery, body.dialect, body.records));
                }
                Reading::Refused(verdict) => read.rejected.push(Rejected::whole(delivery, verdict)),
            }
        }
        read
    }

    /// The dead letters of the events the database refused: the delivery of an event in
    /// baocao's envelope, the record alone of an event from a source's body (once per record).
    fn unstorable<'b>(
        &self,
        batch: &'b [Delivery],
        origins: &[(usize, Option<usize>)],
        unstorable: Vec<(usize, anyhow::Error)>,
    ) -> Vec<Rejected<'b>> {
        let mut seen = std::collections::BTreeSet::new();
        let mut rejected = Vec::new();
        for (event, error) in unstorable {
            let (at, record) = origins[event];
            if !seen.insert((at, record)) {
                continue;
            }
            let delivery = &batch[at];
            let verdict = Verdict::unstorable(&error);
            rejected.push(match record {
                None => Rejected::whole(delivery, verdict),
                Some(record) => {
                    let alone = read::dvcqg_record(&delivery.data, &self.config.units, record)
                        .unwrap_or_else(|| delivery.data.clone());
                    Rejected::record(delivery, alone, verdict)
                }
            });
        }
        rejected
    }

    /// Logs, counts and records the dead letters the broker confirmed. The record is the
    /// administrator's view only (the dead-letter queue keeps the messages), so failing to
    /// write it is logged and does not hold the batch.
    async fn record_rejections(&self, rejected: &[Rejected<'_>]) {
        let mut records = Vec::with_capacity(rejected.len());
        for r in rejected {
            let verdict = &r.verdict;
            tracing::warn!(reason = %verdict.reason, detail = %verdict.detail, "dead-lettered a message");
            metrics::global().count_rejected(&verdict.reason);
            records.push(store::rejections::NewRejection {
                reason: &verdict.reason,
                detail: &verdict.detail,
                exchange: r.delivery.exchange.as_str(),
                routing_key: r.delivery.routing_key.as_str(),
                queue: &self.queue,
                body: &r.body,
                keep_excerpt: r.source.is_none(),
                source: r.source.as_deref(),
            });
        }
        if let Err(error) = store::rejections::record(&self.pool, &records).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "could not record dead letters for the dashboard; they are in the dead-letter queue"
            );
        }
    }

    /// Records each source's bodies for the dashboard: the administrator's view only, so a
    /// failure is logged and holds nothing.
    async fn record_feeds(&self, bodies: &[(&Delivery, &'static str, usize)]) {
        let sources: Vec<String> = bodies.iter().map(|(d, ..)| source_of(d)).collect();
        let feeds: Vec<store::feeds::NewBody<'_>> = bodies
            .iter()
            .zip(&sources)
            .map(|((_, dialect, records), source)| store::feeds::NewBody {
                source,
                dialect,
                records: i32::try_from(*records).unwrap_or(i32::MAX),
            })
            .collect();
        if let Err(error) = store::feeds::record(&self.pool, &feeds).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "could not record the sources' bodies for the dashboard"
            );
        }
    }

    /// Writes the batch, retrying with backoff while the database is unavailable. Returns the
    /// events the database refused (by their place in `events`, with why), or `None` if
    /// shutdown was asked for before the batch could be committed.
    async fn write_until_committed(
        &self,
        events: &[ParsedEvent],
    ) -> anyhow::Result<Option<Vec<(usize, anyhow::Error)>>> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut streak = Streak::default();
        let started = Instant::now();
        loop {
            match write_isolating(&self.pool, events).await {
                Ok(unstorable) => {
                    if streak.succeeded() {
                        tracing::info!(after = ?started.elapsed(), "the database is back; consuming again");
                    }
                    return Ok(Some(unstorable));
                }
                Err(error) => {
                    if streak.failed() {
                        tracing::error!(
                            error = format!("{error:#}"),
                            "cannot store a batch; holding it unacknowledged and retrying"
                        );
                    }
                    if !self.shutdown.sleep(backoff.next_delay()).await {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

/// Writes `events`, splitting a batch that the database refuses (a value it cannot take, a
/// statement too large) in halves until each refused event stands alone: those are returned
/// with the database's error, everything else is committed. A failure that retrying can mend
/// (the database away, a standby reached where the primary was expected, whose connection
/// `store::events::write_batch` closes so that the retry takes a new one) is returned as
/// `Err`, and never dead-letters anything; the parts already committed are duplicates when
/// the batch is tried again, and are dropped then.
async fn write_isolating(
    pool: &PgPool,
    events: &[ParsedEvent],
) -> anyhow::Result<Vec<(usize, anyhow::Error)>> {
    let mut unstorable = Vec::new();
    let mut pending: Vec<std::ops::Range<usize>> = Vec::new();
    pending.push(0..events.len());
    while let Some(range) = pending.pop() {
        let writing = Instant::now();
        match store::events::write_batch(pool, &events[range.clone()]).await {
            Ok(outcome) => count_stored(&outcome, range.len(), writing.elapsed()),
            Err(error) if store::db::classify(&error) == Failure::Refused => {
                if range.len() == 1 {
                    unstorable.push((range.start, error));
                } else {
                    let middle = range.start + range.len() / 2;
                    pending.push(middle..range.end);
                    pending.push(range.start..middle);
                }
            }
            Err(error) => return Err(error),
        }
    }
    Ok(unstorable)
}

fn count_stored(outcome: &store::events::BatchOutcome, events: usize, took: Duration) {
    let metrics = metrics::global();
    metrics.observe_batch(events, took);
    metrics.events_duplicate.inc_by(outcome.duplicates as u64);
    for ((unit, event_type), count) in &outcome.stored_by_kind {
        metrics.count_ingested(unit, event_type, *count);
    }
}
