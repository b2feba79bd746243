//! The broker as the API sees it: a background task looks at the queues every few seconds, so
//! that probes, scrapes and pages read the last look and never wait on a broker in trouble.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use anyhow::Context;
use broker::{Connection, QueueDepth, Topology};
use lifecycle::{Shutdown, Streak};

/// How long one look at the queues may take, once connected.
const PATIENCE: Duration = Duration::from_secs(5);
/// How often the broker is looked at.
const LOOK_EVERY: Duration = Duration::from_secs(5);
/// A look older than this does not count for readiness.
const FRESH: Duration = Duration::from_secs(20);

/// The queues as last seen.
pub struct QueueWatch {
    url: String,
    topology: Topology,
    last: RwLock<Option<Look>>,
}

#[derive(Clone)]
struct Look {
    at: Instant,
    result: Result<Vec<QueueDepth>, String>,
}

impl QueueWatch {
    /// A watcher of the broker at `url` (never logged); nothing happens until [`QueueWatch::run`].
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

    /// Looks at the broker every few seconds until `shutdown`.
    pub async fn run(&self, shutdown: Shutdown) {
        let mut connection: Option<Connection> = None;
        let mut streak = Streak::default();
        loop {
            let result = self.look(&mut connection).await;
            match &result {
                Err(error) if streak.failed() => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot read the broker's queues"
                    )
                }
                Ok(_) if streak.succeeded() => tracing::info!("reading the broker's queues again"),
                _ => {}
            }
            if let Ok(mut last) = self.last.write() {
                *last = Some(Look {
                    at: Instant::now(),
                    result: result.map_err(|e| format!("{e:#}")),
                });
            }
            if !shutdown.sleep(LOOK_EVERY).await {
                break;
            }
        }
        if let Some(connection) = connection {
            broker::close(&connection, "baocao api stopping").await;
        }
    }

    async fn look(&self, connection: &mut Option<Connection>) -> anyhow::Result<Vec<QueueDepth>> {
        if !connection.as_ref().is_some_and(|c| c.status().connected()) {
            *connection = None;
            // Bounded by `connect` itself, per node: an outer bound would cut the attempt at a
            // frozen first node before the next node of a list got its turn.
            *connection = Some(broker::connect(&self.url, "baocao-api").await?);
        }
        let connection = connection.as_ref().context("no broker connection")?;
        let mut depths = Vec::with_capacity(3);
        for queue in self.topology.queues() {
            let depth = tokio::time::timeout(PATIENCE, broker::queue_depth(connection, queue))
                .await
                .context("the broker did not answer within 5 s")??;
            depths.push(depth);
        }
        Ok(depths)
    }

    fn last(&self) -> Option<Look> {
        self.last.read().ok().and_then(|last| last.clone())
    }

    /// Whether the broker answered lately.
    pub fn ready(&self) -> anyhow::Result<()> {
        match self.last() {
            None => anyhow::bail!("not looked at yet"),
            Some(look) if look.at.elapsed() > FRESH => {
                anyhow::bail!("no answer for {} s", look.at.elapsed().as_secs())
            }
            Some(Look { result: Err(_), .. }) => anyhow::bail!("unavailable"),
            Some(_) => Ok(()),
        }
    }

    /// The queues' depths as last seen.
    pub fn depths(&self) -> anyhow::Result<Vec<QueueDepth>> {
        match self.last() {
            None => anyhow::bail!("the broker has not been looked at yet"),
            Some(look) => look.result.map_err(anyhow::Error::msg),
        }
    }

    /// The dead-letter queue's depth as last seen.
    pub fn dead_letter_depth(&self) -> Option<u32> {
        self.depths()
            .ok()?
            .into_iter()
            .find(|d| d.queue == self.topology.dead_queue)
            .map(|d| d.messages)
    }

    /// Sets the queue gauges of `/metrics` from the last look, and whether the broker answered
    /// it.
    pub fn export_gauges(&self) {
        let metrics = metrics::global();
        metrics.broker_up.set(i64::from(self.ready().is_ok()));
        for depth in self.depths().unwrap_or_default() {
            if depth.queue == self.topology.dead_queue {
                metrics.dead_letters.set(i64::from(depth.messages));
            } else {
                metrics.set_consumer_lag(&depth.queue, depth.messages);
            }
        }
    }
}
