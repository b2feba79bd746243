//! The outbox's loop, a task of its own beside the scheduler's: [`SENDERS`] workers, each
//! repeating the sender's single step ([`Sender::send_next`]) until the outbox has nothing due,
//! then resting. A mail server that stalls holds one worker for one bounded exchange at most;
//! the other messages go on through the other workers, and issuing (the scheduler) never waits
//! on any of them. Each worker looks at the shutdown between messages, so a stop waits at most
//! for the exchanges in flight, each within its bound.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use lifecycle::{Shutdown, Streak};
use store::PgPool;

use crate::sender::Sender;

/// How many messages are in the hands of mail servers at once.
pub const SENDERS: usize = 4;

/// Drains the outbox until `shutdown`, resting `idle` whenever nothing is due; returns after the
/// messages in flight. Fails only if a worker panicked.
pub async fn run(
    pool: PgPool,
    sender: Sender,
    idle: Duration,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let sender = Arc::new(sender);
    // Shared, so that an outage of the database is logged once, not once per worker.
    let streak = Arc::new(Mutex::new(Streak::default()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let worker = Worker {
            pool: pool.clone(),
            sender: Arc::clone(&sender),
            streak: Arc::clone(&streak),
        };
        workers.spawn(worker.run(idle, shutdown.clone()));
    }
    while let Some(ended) = workers.join_next().await {
        ended.context("an outbox worker panicked")?;
    }
    Ok(())
}

/// One of the workers.
struct Worker {
    pool: PgPool,
    sender: Arc<Sender>,
    streak: Arc<Mutex<Streak>>,
}

impl Worker {
    async fn run(self, idle: Duration, shutdown: Shutdown) {
        while !shutdown.is_triggered() {
            if !self.step().await {
                shutdown.sleep(idle).await;
            }
        }
    }

    /// Sends the message due longest, if any; false when there was none (or the outbox could
    /// not be read), so the worker rests.
    async fn step(&self) -> bool {
        let step = self.sender.send_next(&self.pool, Utc::now()).await;
        let mut streak = match self.streak.lock() {
            Ok(streak) => streak,
            // Only a panic while logging poisons it; the flag inside is still right.
            Err(poisoned) => poisoned.into_inner(),
        };
        match step {
            Ok(sent) => {
                if streak.succeeded() {
                    tracing::info!("the outbox is available again");
                }
                sent.is_some()
            }
            Err(error) => {
                if streak.failed() {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "the outbox is unavailable; retrying"
                    );
                }
                false
            }
        }
    }
}
