//! The API's own connection to the broker, for the bodies `POST /sync/*` receives: opened when
//! first needed, and opened again after a failure. One confirm-mode channel, used by one
//! request at a time: a sync answers only once the broker has confirmed every part.

use anyhow::Context;
use broker::{Connection, OutgoingMessage, Publisher};
use tokio::sync::Mutex;

/// A publisher that reconnects.
pub struct SyncPublisher {
    url: String,
    open: Mutex<Option<(Connection, Publisher)>>,
}

impl SyncPublisher {
    /// A publisher to the broker at `url` (`BAOCAO_AMQP_URL`; never logged).
    pub fn new(url: String) -> Self {
        Self {
            url,
            open: Mutex::new(None),
        }
    }

    /// Publishes `messages` and waits until the broker has confirmed each, connecting first if
    /// needed (and declaring `topology`, so that a sync arriving before ingest ever started
    /// still finds its exchange and queue). After a failure the connection is dropped, and the
    /// next call opens a new one.
    pub async fn publish(
        &self,
        topology: &broker::Topology,
        messages: Vec<OutgoingMessage<'_>>,
    ) -> anyhow::Result<()> {
        let mut open = self.open.lock().await;
        if open
            .as_ref()
            .is_none_or(|(connection, _)| !connection.status().connected())
        {
            let connection = broker::connect(&self.url, "baocao-api-sync").await?;
            let setup = connection
                .create_channel()
                .await
                .context("Failed to open a channel")?;
            broker::declare(&setup, topology).await?;
            let publisher = Publisher::open(&connection).await?;
            *open = Some((connection, publisher));
        }
        let Some((_, publisher)) = open.as_ref() else {
            anyhow::bail!("no connection to the broker");
        };
        match publisher.publish_confirmed(messages).await {
            Ok(_) => Ok(()),
            Err(error) => {
                *open = None;
                Err(error)
            }
        }
    }
}
