//! Looking at a queue without touching its messages: a passive declaration answers with the
//! number of ready messages and of consumers.

use anyhow::Context;
use lapin::Connection;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use serde::Serialize;

/// One queue's depth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueDepth {
    /// The queue.
    pub queue: String,
    /// Messages waiting (ready for delivery; not those delivered and unacknowledged).
    pub messages: u32,
    /// Consumers attached.
    pub consumers: u32,
}

/// The depth of `queue`, on a channel of its own: a passive declaration of a missing queue
/// closes its channel, so the error says the queue is not declared.
pub async fn queue_depth(connection: &Connection, queue: &str) -> anyhow::Result<QueueDepth> {
    let channel = connection
        .create_channel()
        .await
        .context("Failed to open a channel")?;
    let options = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let declared = channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await
        .with_context(|| format!("queue {queue} is not declared (has ingest run?)"))?;
    channel.close(200, "inspected".into()).await.ok();
    Ok(QueueDepth {
        queue: queue.to_owned(),
        messages: declared.message_count(),
        consumers: declared.consumer_count(),
    })
}
