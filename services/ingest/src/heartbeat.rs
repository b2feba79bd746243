//! Ingest's heartbeat: every few seconds each ingest process records that it is alive and how
//! many messages wait in its queues. The scheduler reads it before it issues a due report
//! (`reporter::scheduler::backlog`): a report issued while events of its window still wait in
//! the queues, or while ingest is down, would have to be corrected the same day.

use std::time::Duration;

use broker::{Connection, Topology};
use domain::Source;
use lifecycle::{Shutdown, Streak};
use store::PgPool;
use uuid::Uuid;

/// How often a heartbeat is recorded.
pub const BEAT_EVERY: Duration = Duration::from_secs(10);

/// Records this process's heartbeat every [`BEAT_EVERY`] until `shutdown`.
pub async fn run(amqp_url: String, topology: Topology, pool: PgPool, shutdown: Shutdown) {
    let instance = Uuid::new_v4();
    let mut connection: Option<Connection> = None;
    let mut streak = Streak::default();
    // The first beat waits for the consumers to have declared the queues.
    while shutdown.sleep(BEAT_EVERY).await {
        match beat(&amqp_url, &topology, &pool, instance, &mut connection).await {
            Ok(()) => {
                if streak.succeeded() {
                    tracing::info!("recording ingest's heartbeat again");
                }
            }
            Err(error) => {
                connection = None;
                if streak.failed() {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot record ingest's heartbeat; due reports may wait for it"
                    );
                }
            }
        }
    }
    if let Some(connection) = connection {
        broker::close(&connection, "baocao ingest stopping").await;
    }
}

async fn beat(
    amqp_url: &str,
    topology: &Topology,
    pool: &PgPool,
    instance: Uuid,
    connection: &mut Option<Connection>,
) -> anyhow::Result<()> {
    if !connection.as_ref().is_some_and(|c| c.status().connected()) {
        *connection = Some(broker::connect(amqp_url, "baocao-ingest-heartbeat").await?);
    }
    let Some(connection) = connection.as_ref() else {
        anyhow::bail!("no broker connection");
    };
    let mut ready = 0i64;
    for source in Source::ALL {
        let depth = broker::queue_depth(connection, topology.queue(source)).await?;
        ready += i64::from(depth.messages);
    }
    store::schedule::heartbeat(pool, instance, ready).await
}
