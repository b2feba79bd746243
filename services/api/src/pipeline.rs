//! The state of the pipeline as the administrator sees it: the broker's queues, the database,
//! dead letters, and the scrape-time gauges of `/metrics`.

use std::time::Duration;

use anyhow::Context;
use ingest::Topology;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use serde::Serialize;
use store::PgPool;
use tokio::sync::Mutex;
use utoipa::ToSchema;

/// How long one look at the broker may take.
const BROKER_PATIENCE: Duration = Duration::from_secs(5);

/// A connection to the broker for looking, made when first needed and again after it is lost.
pub struct Broker {
    url: String,
    topology: Topology,
    connection: Mutex<Option<Connection>>,
}

/// One queue's depth.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueDepth {
    /// The queue.
    pub queue: String,
    /// Messages waiting (ready for delivery).
    pub messages: u32,
    /// Consumers attached.
    pub consumers: u32,
}

/// A dead letter as shown on the dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetterView {
    /// The reason code.
    pub reason: String,
    /// The explanation.
    pub detail: String,
    /// Where it was first published.
    pub exchange: String,
    /// Its routing key there.
    pub routing_key: String,
    /// The body as received, cut at 2,000 characters.
    pub body: String,
}

/// The dead-letter queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetters {
    /// The queue's name.
    pub queue: String,
    /// Messages in it.
    pub messages: u32,
    /// Counts by reason among the letters read.
    pub by_reason: Vec<ReasonCount>,
    /// The letters read, oldest first (at most `limit`).
    pub letters: Vec<DeadLetterView>,
}

/// How many letters had one reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonCount {
    /// The reason code.
    pub reason: String,
    /// The letters with it.
    pub count: usize,
}

impl Broker {
    /// A prober of the broker at `url` (never logged).
    pub fn new(url: String, topology: Topology) -> Self {
        Self {
            url,
            topology,
            connection: Mutex::new(None),
        }
    }

    /// The topology looked at.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        let mut connection = self.connection.lock().await;
        if !connection.as_ref().is_some_and(|c| c.status().connected()) {
            *connection = Some(ingest::broker::connect(&self.url, "baocao-api").await?);
        }
        let connection = connection.as_ref().context("no broker connection")?;
        tokio::time::timeout(BROKER_PATIENCE, connection.create_channel())
            .await
            .context("the broker did not open a channel within 5 s")?
            .context("Failed to open a channel")
    }

    /// Whether the broker answers.
    pub async fn ready(&self) -> anyhow::Result<()> {
        let channel = self.channel().await?;
        channel.close(200, "ready".into()).await.ok();
        Ok(())
    }

    /// The depths of the inbound and dead-letter queues, by passive declaration.
    pub async fn queue_depths(&self) -> anyhow::Result<Vec<QueueDepth>> {
        let queues = [
            &self.topology.eoffice_queue,
            &self.topology.portal_queue,
            &self.topology.dead_queue,
        ];
        let mut depths = Vec::with_capacity(queues.len());
        for queue in queues {
            // A passive declaration of a missing queue closes the channel: one channel each.
            let channel = self.channel().await?;
            let declared = tokio::time::timeout(
                BROKER_PATIENCE,
                channel.queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                ),
            )
            .await
            .context("the broker did not answer within 5 s")?
            .with_context(|| format!("queue {queue} is not declared (has ingest run?)"))?;
            depths.push(QueueDepth {
                queue: queue.clone(),
                messages: declared.message_count(),
                consumers: declared.consumer_count(),
            });
            channel.close(200, "inspected".into()).await.ok();
        }
        Ok(depths)
    }

    /// Up to `limit` dead letters, read without removing them, with counts by reason.
    pub async fn dead_letters(&self, limit: usize) -> anyhow::Result<DeadLetters> {
        let depths = self.queue_depths().await?;
        let messages = depths
            .iter()
            .find(|d| d.queue == self.topology.dead_queue)
            .map_or(0, |d| d.messages);
        let letters = {
            let connection = self.connection.lock().await;
            let connection = connection.as_ref().context("no broker connection")?;
            let listing = ingest::dead_letter::list(connection, &self.topology.dead_queue, limit);
            tokio::time::timeout(BROKER_PATIENCE * 2, listing)
                .await
                .context("the broker did not answer within 10 s")??
        };
        let mut by_reason: Vec<ReasonCount> = Vec::new();
        for letter in &letters {
            match by_reason.iter_mut().find(|r| r.reason == letter.reason) {
                Some(count) => count.count += 1,
                None => by_reason.push(ReasonCount {
                    reason: letter.reason.clone(),
                    count: 1,
                }),
            }
        }
        by_reason.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
        Ok(DeadLetters {
            queue: self.topology.dead_queue.clone(),
            messages,
            by_reason,
            letters: letters
                .into_iter()
                .map(|letter| DeadLetterView {
                    body: String::from_utf8_lossy(&letter.body)
                        .chars()
                        .take(2000)
                        .collect(),
                    reason: letter.reason,
                    detail: letter.detail,
                    exchange: letter.exchange,
                    routing_key: letter.routing_key,
                })
                .collect(),
        })
    }
}

/// Whether the database answers.
pub async fn database_ready(pool: &PgPool) -> anyhow::Result<()> {
    tokio::time::timeout(BROKER_PATIENCE, store::db::ping(pool))
        .await
        .context("the database did not answer within 5 s")?
}

/// Sets the gauges read at scrape time; what cannot be read is left as it was and logged.
pub async fn refresh_gauges(pool: &PgPool, broker: &Broker) {
    let metrics = metrics::global();
    match store::outbox::counts_by_state(pool).await {
        Ok(counts) => {
            for state in ["queued", "sending", "retrying", "sent", "failed"] {
                let count = counts
                    .iter()
                    .find(|(s, _)| s == state)
                    .map_or(0, |(_, n)| *n);
                metrics.set_outbox(state, count);
            }
        }
        Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot count the outbox"),
    }
    match broker.queue_depths().await {
        Ok(depths) => {
            for depth in depths {
                if depth.queue == broker.topology().dead_queue {
                    metrics.dead_letters.set(i64::from(depth.messages));
                } else {
                    metrics.set_consumer_lag(&depth.queue, depth.messages);
                }
            }
        }
        Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot read queue depths"),
    }
}
