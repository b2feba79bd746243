//! The database as probes and `/metrics` see it: a background task looks every [`LOOK_EVERY`],
//! so that `/readyz` and `/metrics` read the last look and cost the database nothing more,
//! however often they are called, and never wait on a database in trouble.
//!
//! A look is one statement: `select 1`, or, in a process that serves the API, every
//! [`GAUGES_EVERY`] looks the read of the shared gauges (`source_activity`, the sources'
//! bodies, then the outbox by state: three statements) instead, which answers as well as a ping does. The look has a
//! connection of its own ([`DatabaseWatch::new`]), so a pool busy with the dashboard's requests
//! does not make the pod unready; only a database that does not answer does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use lifecycle::{Shutdown, Streak};
use store::PgPool;
use tokio::sync::Notify;

use crate::sources::Silence;

/// How often the database is looked at.
pub const LOOK_EVERY: Duration = Duration::from_secs(5);
/// Every this many looks, a process serving the API reads the shared gauges instead of a ping.
pub const GAUGES_EVERY: u32 = 6;
/// How long one look may take.
const PATIENCE: Duration = Duration::from_secs(2);
/// A look older than this does not count for readiness: the watch itself is stuck.
const FRESH: Duration = Duration::from_secs(20);

/// The database as last seen.
pub struct DatabaseWatch {
    /// One connection, the watch's own.
    pool: PgPool,
    /// What tells a source silent, for its gauge.
    silence: Arc<Silence>,
    migrated: AtomicBool,
    wake: Notify,
    last: RwLock<Option<(Instant, bool)>>,
}

impl DatabaseWatch {
    /// A watch on the database of `pool` with a connection of its own (the pool's options, one
    /// connection, made when first used); nothing happens until [`DatabaseWatch::run`].
    pub fn new(pool: &PgPool, silence: Arc<Silence>) -> Self {
        Self {
            pool: store::db::lazy_sibling(pool, 1),
            silence,
            migrated: AtomicBool::new(false),
            wake: Notify::new(),
            last: RwLock::new(None),
        }
    }

    /// The database exists and is migrated: look at once, then every [`LOOK_EVERY`].
    pub fn mark_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// "ok", "starting" (not yet migrated) or "unavailable" (the last look failed, or is old).
    pub fn status(&self) -> &'static str {
        if !self.migrated.load(Ordering::Acquire) {
            return "starting";
        }
        let last = self.last.read().ok().and_then(|last| *last);
        match last {
            Some((at, true)) if at.elapsed() <= FRESH => "ok",
            _ => "unavailable",
        }
    }

    /// Looks at the database every [`LOOK_EVERY`] until `shutdown`; with `shared_gauges`, every
    /// [`GAUGES_EVERY`] looks reads the gauges of the shared state (a process serving the API).
    pub async fn run(&self, shared_gauges: bool, shutdown: Shutdown) {
        let mut looks: u32 = 0;
        let mut streak = Streak::default();
        loop {
            if self.migrated.load(Ordering::Acquire) {
                let gauges = shared_gauges && looks.is_multiple_of(GAUGES_EVERY);
                let answered = self.look(gauges).await;
                looks = looks.wrapping_add(1);
                match &answered {
                    Err(error) if streak.failed() => tracing::warn!(
                        error = format!("{error:#}"),
                        "the database does not answer the readiness look"
                    ),
                    Ok(()) if streak.succeeded() => {
                        tracing::info!("the database answers the readiness look again")
                    }
                    _ => {}
                }
                if let Ok(mut last) = self.last.write() {
                    *last = Some((Instant::now(), answered.is_ok()));
                }
            }
            tokio::select! {
                () = self.wake.notified() => {}
                running = shutdown.sleep(LOOK_EVERY) => if !running { break },
            }
        }
    }

    /// One look: a ping, or the shared gauges' reads (which set them).
    async fn look(&self, gauges: bool) -> anyhow::Result<()> {
        metrics::global().database_looks.inc();
        let looking = async {
            if gauges {
                read_shared_gauges(&self.pool, &self.silence).await
            } else {
                store::db::ping(&self.pool).await
            }
        };
        tokio::time::timeout(PATIENCE, looking)
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {PATIENCE:?}"))?
    }
}

/// Sets the gauges of the shared state read from the database: when each unit last heard of
/// each event type, when each source last sent a body and whether it is silent, and the outbox
/// by state.
async fn read_shared_gauges(pool: &PgPool, silence: &Silence) -> anyhow::Result<()> {
    let metrics = metrics::global();
    let feeds = store::feeds::feeds(pool).await?;
    for (source, feed, silent) in silence.judge(&feeds, chrono::Utc::now()) {
        let last = feed.map(|f| f.last_body_at.timestamp_millis() as f64 / 1000.0);
        metrics.set_source_feed(&source, last, silent);
    }
    for a in store::health::activity(pool).await? {
        let at = a.last_stored_at.timestamp_millis() as f64 / 1000.0;
        metrics.set_source_last_event(&a.unit, &a.event_type, at);
    }
    let counts = store::outbox::counts_by_state(pool).await?;
    for state in [
        "queued",
        "sending",
        "retrying",
        "sent",
        "failed",
        "superseded",
    ] {
        let count = counts
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n);
        metrics.set_outbox(state, count);
    }
    Ok(())
}
