//! Listening for committed batches: each names the units it changed on
//! [`crate::events::CHANGES_CHANNEL`], so that any API replica learns of every commit, whichever
//! ingest replica made it.

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgListener;

/// A listener on the changes channel.
pub struct Changes {
    listener: PgListener,
}

/// What the listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A batch changing this unit was committed.
    Unit(String),
    /// The connection was lost and made again: announcements may have been missed meanwhile,
    /// so every unit should be read again.
    Reconnected,
}

impl Changes {
    /// Listens on a connection of its own from `pool`'s options.
    pub async fn listen(pool: &PgPool) -> anyhow::Result<Self> {
        let mut listener = PgListener::connect_with(pool)
            .await
            .context("Failed to connect to listen for changes")?;
        listener
            .listen(crate::events::CHANGES_CHANNEL)
            .await
            .context("Failed to listen for changes")?;
        Ok(Self { listener })
    }

    /// The next announcement. The listener reconnects by itself; an error means the database
    /// could not be reached this time, and the call may be repeated.
    pub async fn next(&mut self) -> anyhow::Result<Change> {
        let notification = self
            .listener
            .try_recv()
            .await
            .context("Lost the connection listening for changes")?;
        Ok(match notification {
            Some(notification) => Change::Unit(notification.payload().to_owned()),
            None => Change::Reconnected,
        })
    }
}
