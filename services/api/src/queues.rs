//! The state of the pipeline as the administrator sees it: the broker's queues, the database,
//! dead letters, and the scrape-time gauges of `/metrics`.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use anyhow::Context;
use ingest::Topology;
use lapin::Connection;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use serde::Serialize;
use store::PgPool;
use utoipa::ToSchema;

/// How long one look at the broker may take.
const BROKER_PATIENCE: Duration = Duration::from_secs(5);

/// How often the broker is looked at.
const PROBE_EVERY: Duration = Duration::from_secs(5);
/// A look older than this does not count for readiness.
const PROBE_FRESH: Duration = Duration::from_secs(20);

/// The broker as last seen: a task looks every few seconds, so that probes, scrapes and pages
/// read a cached answer and never wait on a broker in trouble.
pub struct Broker {
    url: String,
    topology: Topology,
    last: RwLock<Option<Probe>>,
}

#[derive(Clone)]
struct Probe {
    at: Instant,
    result: Result<Vec<QueueDepth>, String>,
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

/// A dead letter as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetterView {
    /// When it was dead-lettered.
    pub rejected_at: chrono::DateTime<chrono::Utc>,
    /// The reason code.
    pub reason: String,
    /// The explanation.
    pub detail: String,
    /// Where it was first published.
    pub exchange: String,
    /// Its routing key there.
    pub routing_key: String,
    /// The body as received, its first 4,000 characters.
    pub body: String,
    /// The body's size in bytes.
    pub body_bytes: i32,
}

/// Dead letters: the queue's depth and the log of every message dead-lettered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetters {
    /// The dead-letter queue.
    pub queue: String,
    /// Messages in it now (null when the broker cannot be read); `baocao dead-letters replay`
    /// sends them back.
    pub messages: Option<u32>,
    /// Every dead letter recorded, counted by reason, most frequent first.
    pub by_reason: Vec<ReasonCount>,
    /// The latest dead letters, newest first (at most `limit`).
    pub letters: Vec<DeadLetterView>,
}

/// How many dead letters had one reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonCount {
    /// The reason code.
    pub reason: String,
    /// The dead letters with it.
    pub count: i64,
    /// The latest.
    pub last_at: chrono::DateTime<chrono::Utc>,
}

impl Broker {
    /// A prober of the broker at `url` (never logged); nothing happens until [`Broker::watch`].
    pub fn new(url: String, topology: Topology) -> Self {
        Self {
            url,
            topology,
            last: RwLock::new(None),
        }
    }

    /// The topology looked at.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Looks at the broker every few seconds until `stop`.
    pub async fn watch(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut connection: Option<Connection> = None;
        let mut failing = false;
        loop {
            let result = self.look(&mut connection).await;
            match (&result, failing) {
                (Err(error), false) => {
                    tracing::warn!(%error, "cannot read the broker's queues");
                    failing = true;
                }
                (Ok(_), true) => {
                    tracing::info!("reading the broker's queues again");
                    failing = false;
                }
                _ => {}
            }
            if let Ok(mut last) = self.last.write() {
                *last = Some(Probe {
                    at: Instant::now(),
                    result: result.map_err(|e| e.to_string()),
                });
            }
            tokio::select! {
                () = tokio::time::sleep(PROBE_EVERY) => {}
                _ = stop.wait_for(|stop| *stop) => break,
            }
        }
        if let Some(connection) = connection {
            ingest::broker::close(&connection, "baocao api stopping").await;
        }
    }

    async fn look(&self, connection: &mut Option<Connection>) -> anyhow::Result<Vec<QueueDepth>> {
        if !connection.as_ref().is_some_and(|c| c.status().connected()) {
            *connection = None;
            let made = tokio::time::timeout(
                BROKER_PATIENCE,
                ingest::broker::connect(&self.url, "baocao-api"),
            )
            .await
            .context("RabbitMQ did not answer within 5 s")??;
            *connection = Some(made);
        }
        let connection = connection.as_ref().context("no broker connection")?;
        let queues = [
            &self.topology.eoffice_queue,
            &self.topology.portal_queue,
            &self.topology.dead_queue,
        ];
        let mut depths = Vec::with_capacity(queues.len());
        for queue in queues {
            // A passive declaration of a missing queue closes the channel: one channel each.
            let channel = tokio::time::timeout(BROKER_PATIENCE, connection.create_channel())
                .await
                .context("the broker did not open a channel within 5 s")?
                .context("Failed to open a channel")?;
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

    fn last(&self) -> Option<Probe> {
        self.last.read().ok().and_then(|last| last.clone())
    }

    /// Whether the broker answered lately.
    pub fn ready(&self) -> anyhow::Result<()> {
        match self.last() {
            None => anyhow::bail!("not looked at yet"),
            Some(probe) if probe.at.elapsed() > PROBE_FRESH => {
                anyhow::bail!("no answer for {} s", probe.at.elapsed().as_secs())
            }
            Some(Probe { result: Err(_), .. }) => anyhow::bail!("unavailable"),
            Some(_) => Ok(()),
        }
    }

    /// The queues' depths as last seen.
    pub fn queue_depths(&self) -> anyhow::Result<Vec<QueueDepth>> {
        match self.last() {
            None => anyhow::bail!("the broker has not been looked at yet"),
            Some(probe) => probe.result.map_err(anyhow::Error::msg),
        }
    }

    /// The dead-letter queue's depth as last seen.
    pub fn dead_letter_depth(&self) -> Option<u32> {
        self.queue_depths()
            .ok()?
            .into_iter()
            .find(|d| d.queue == self.topology.dead_queue)
            .map(|d| d.messages)
    }
}

/// The dead-letter queue's depth and the recorded dead letters.
pub async fn dead_letters(
    pool: &PgPool,
    broker: &Broker,
    limit: usize,
) -> anyhow::Result<DeadLetters> {
    let by_reason = store::rejections::by_reason(pool).await?;
    let letters = store::rejections::latest(pool, limit as i64).await?;
    Ok(DeadLetters {
        queue: broker.topology().dead_queue.clone(),
        messages: broker.dead_letter_depth(),
        by_reason: by_reason
            .into_iter()
            .map(|r| ReasonCount {
                reason: r.reason,
                count: r.count,
                last_at: r.last_at,
            })
            .collect(),
        letters: letters
            .into_iter()
            .map(|r| DeadLetterView {
                rejected_at: r.rejected_at,
                reason: r.reason,
                detail: r.detail,
                exchange: r.exchange,
                routing_key: r.routing_key,
                body: r.body_excerpt,
                body_bytes: r.body_bytes,
            })
            .collect(),
    })
}

/// Whether the database answers.
pub async fn database_ready(pool: &PgPool) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(2), store::db::ping(pool))
        .await
        .context("the database did not answer within 2 s")?
}

/// Sets the gauges of the shared state (the broker's queues as last seen, the outbox), for the
/// process that serves the whole API; what cannot be read is left as it was.
pub async fn refresh_gauges(pool: &PgPool, broker: &Broker) {
    let metrics = metrics::global();
    let counting =
        tokio::time::timeout(Duration::from_secs(2), store::outbox::counts_by_state(pool));
    if let Ok(Ok(counts)) = counting.await {
        for state in ["queued", "sending", "retrying", "sent", "failed"] {
            let count = counts
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            metrics.set_outbox(state, count);
        }
    }
    if let Ok(depths) = broker.queue_depths() {
        for depth in depths {
            if depth.queue == broker.topology().dead_queue {
                metrics.dead_letters.set(i64::from(depth.messages));
            } else {
                metrics.set_consumer_lag(&depth.queue, depth.messages);
            }
        }
    }
}
