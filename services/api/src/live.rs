//! Live counters: every committed batch announces its units over PostgreSQL `LISTEN/NOTIFY`;
//! one refresher per unit (and per summary, woken by any of its members) reads the open
//! window's figures again and hands the document to every stream of that unit at once.
//!
//! A quiet unit's change is read and pushed at once. Under load, bursts coalesce: announcements
//! that arrive while a unit is being read, or during the rest after it, make one more reading.
//! The rest follows what a reading costs ([`rest_after`]): a ward's reading from the kept
//! counts takes a few milliseconds and rests [`MIN_REST`], a reading that takes longer (a
//! province's summary, a database under load) rests ten times as long, so one feed keeps the
//! database busy a tenth of the time at most however fast events come. A unit nobody watches
//! is not read; the first stream to open asks for a fresh reading. Every [`QUIET_REFRESH`] a watched unit is read anyway, for
//! what changes with the clock alone (dossiers falling overdue, the window rolling over).
//!
//! [`stream`] turns a subscription into the Server-Sent Events response of
//! `/api/units/{unit}/stream`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use chrono_tz::Tz;
use domain::{Period, UnitCode};
use lifecycle::{Shutdown, Streak};
use store::PgPool;
use store::changes::{Change, Changes};
use tokio::sync::{Notify, watch};

/// The shortest rest between two readings of one feed.
pub const MIN_REST: Duration = Duration::from_millis(50);
/// The longest rest between two readings of one feed.
pub const MAX_REST: Duration = Duration::from_secs(2);

/// The rest after a reading that took `reading`: ten times as long, within
/// [`MIN_REST`]..=[`MAX_REST`].
pub fn rest_after(reading: Duration) -> Duration {
    (reading * 10).clamp(MIN_REST, MAX_REST)
}
/// How often a watched unit is read without an announcement.
pub const QUIET_REFRESH: Duration = Duration::from_secs(30);

/// One reading of a unit's open window, as sent to streams.
#[derive(Debug)]
pub struct Snapshot {
    /// Increases with every reading sent; with the hub's epoch it makes the SSE event id.
    pub sequence: u64,
    /// The indicators document of SPEC §5, as JSON.
    pub json: String,
}

struct Feed {
    unit: UnitCode,
    /// A summary's members; `None` for a unit.
    members: Option<Vec<UnitCode>>,
    latest: watch::Sender<Option<Arc<Snapshot>>>,
    wake: Notify,
    /// The latest snapshot may be behind: an announcement came while nobody watched. Taken
    /// with the decision it guards (whether anyone watches), so that a stream subscribing
    /// while the refresher decides is never left with a stale reading and no wake-up.
    stale: Mutex<bool>,
}

/// The live feeds of every configured unit and summary.
pub struct Hub {
    feeds: HashMap<String, Arc<Feed>>,
    /// The feeds an announcement of a unit wakes: its own and its summaries'.
    woken_by: HashMap<String, Vec<Arc<Feed>>>,
    /// Distinguishes this process's event ids from another replica's or an earlier run's.
    epoch: u64,
    sequence: AtomicU64,
}

/// A stream's view of one unit's feed.
pub struct Subscription {
    /// The readings, latest first.
    pub receiver: watch::Receiver<Option<Arc<Snapshot>>>,
    /// Whether the current reading may be sent at once (false: a fresh one is on its way).
    pub current_is_fresh: bool,
}

impl Hub {
    /// A hub for `issuers`, each a unit (members `None`) or a summary of its members; nothing
    /// runs until [`Hub::run`].
    pub fn new(issuers: impl IntoIterator<Item = (UnitCode, Option<Vec<UnitCode>>)>) -> Self {
        let feeds: HashMap<String, Arc<Feed>> = issuers
            .into_iter()
            .map(|(unit, members)| {
                let feed = Feed {
                    unit: unit.clone(),
                    members,
                    latest: watch::Sender::new(None),
                    wake: Notify::new(),
                    stale: Mutex::new(true),
                };
                (unit.as_str().to_owned(), Arc::new(feed))
            })
            .collect();
        let mut woken_by: HashMap<String, Vec<Arc<Feed>>> = HashMap::new();
        for feed in feeds.values() {
            let units = match &feed.members {
                Some(members) => members.clone(),
                None => vec![feed.unit.clone()],
            };
            for unit in units {
                woken_by
                    .entry(unit.as_str().to_owned())
                    .or_default()
                    .push(Arc::clone(feed));
            }
        }
        Self {
            feeds,
            woken_by,
            epoch: Utc::now().timestamp_millis() as u64,
            sequence: AtomicU64::new(0),
        }
    }

    /// The SSE event id of `snapshot`.
    pub fn event_id(&self, snapshot: &Snapshot) -> String {
        format!("{}-{}", self.epoch, snapshot.sequence)
    }

    /// Subscribes to `unit`'s readings; `None` for an unknown unit.
    pub fn subscribe(&self, unit: &str) -> Option<Subscription> {
        let feed = self.feeds.get(unit)?;
        let (receiver, current_is_fresh) = {
            let stale = feed.stale.lock().unwrap_or_else(|e| e.into_inner());
            let receiver = feed.latest.subscribe();
            let fresh = !*stale && receiver.borrow().is_some();
            (receiver, fresh)
        };
        if !current_is_fresh {
            feed.wake.notify_one();
        }
        Some(Subscription {
            receiver,
            current_is_fresh,
        })
    }

    /// Listens for announcements and keeps every feed's reading current, until `shutdown`.
    pub async fn run(self: Arc<Self>, pool: PgPool, tz: Tz, shutdown: Shutdown) {
        let mut tasks = tokio::task::JoinSet::new();
        for feed in self.feeds.values() {
            let (hub, feed, pool) = (Arc::clone(&self), Arc::clone(feed), pool.clone());
            tasks.spawn(async move { hub.refresh(feed, pool, tz).await });
        }
        let listening = self.listen(pool);
        tokio::select! {
            () = listening => {}
            () = shutdown.wait() => {}
        }
        tasks.abort_all();
    }

    async fn listen(&self, pool: PgPool) {
        let mut streak = Streak::default();
        loop {
            let mut changes = match Changes::listen(&pool).await {
                Ok(changes) => changes,
                Err(error) => {
                    if streak.failed() {
                        tracing::error!(
                            error = format!("{error:#}"),
                            "cannot listen for changes; live counters are paused, retrying"
                        );
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            if streak.succeeded() {
                tracing::info!("listening for changes again");
            }
            // Anything may have changed while nobody listened.
            self.wake_all();
            loop {
                match changes.next().await {
                    Ok(Change::Unit(unit)) => {
                        for feed in self.woken_by.get(&unit).into_iter().flatten() {
                            feed.wake.notify_one();
                        }
                    }
                    Ok(Change::Reconnected) => self.wake_all(),
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), "listening for changes");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                }
            }
        }
    }

    fn wake_all(&self) {
        for feed in self.feeds.values() {
            feed.wake.notify_one();
        }
    }

    async fn refresh(&self, feed: Arc<Feed>, pool: PgPool, tz: Tz) {
        let mut streak = Streak::default();
        loop {
            let quiet = tokio::time::timeout(QUIET_REFRESH, feed.wake.notified()).await;
            let was_stale = {
                let mut stale = feed.stale.lock().unwrap_or_else(|e| e.into_inner());
                if feed.latest.receiver_count() == 0 {
                    *stale = true;
                    continue;
                }
                std::mem::replace(&mut *stale, false)
            };
            if quiet.is_err() && feed.latest.borrow().is_none() {
                continue;
            }
            let started = Instant::now();
            let reading = read(&pool, &feed, tz).await;
            let rest = rest_after(started.elapsed());
            match reading {
                Ok(json) => {
                    if streak.succeeded() {
                        tracing::info!(unit = %feed.unit, "reading live counters again");
                    }
                    metrics::global()
                        .live_refresh_seconds
                        .observe(started.elapsed().as_secs_f64());
                    let changed = feed
                        .latest
                        .borrow()
                        .as_ref()
                        .is_none_or(|latest| latest.json != json);
                    // After a stale spell a stream waits for this reading, changed or not.
                    if changed || was_stale {
                        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
                        feed.latest
                            .send_replace(Some(Arc::new(Snapshot { sequence, json })));
                    }
                }
                Err(error) => {
                    if was_stale {
                        *feed.stale.lock().unwrap_or_else(|e| e.into_inner()) = true;
                    }
                    if streak.failed() {
                        tracing::warn!(unit = %feed.unit, error = format!("{error:#}"), "cannot read live counters; retrying");
                    }
                    feed.wake.notify_one();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            tokio::time::sleep(rest).await;
        }
    }
}

/// The open window's figures of `feed`'s unit (or summary) as JSON.
async fn read(pool: &PgPool, feed: &Feed, tz: Tz) -> anyhow::Result<String> {
    let now = Utc::now();
    let period = Period::containing(now, tz);
    let members = feed.members.as_deref();
    let figures =
        reporter::figures::Figures::read_for(pool, &feed.unit, members, period, tz, now).await?;
    Ok(serde_json::to_string(&figures)?)
}

/// Counts one connected stream for as long as it lives.
struct ClientGuard;

impl ClientGuard {
    fn new() -> Self {
        metrics::global().sse_clients.inc();
        Self
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        metrics::global().sse_clients.dec();
    }
}

/// One stream's state between two events.
struct StreamState {
    hub: Arc<Hub>,
    receiver: watch::Receiver<Option<Arc<Snapshot>>>,
    pending: Option<Arc<Snapshot>>,
    first: bool,
    shutdown: Shutdown,
    _guard: ClientGuard,
    _slot: crate::streams::StreamSlot,
}

/// The event stream of `unit`'s open window, skipping the current document if the client last
/// saw it (`last_seen`, its `Last-Event-ID`); ends at `shutdown`, and gives `slot` back when it
/// ends. `None` for an unknown unit.
pub fn stream(
    hub: &Arc<Hub>,
    unit: &str,
    last_seen: Option<String>,
    shutdown: Shutdown,
    slot: crate::streams::StreamSlot,
) -> Option<Response> {
    let subscription = hub.subscribe(unit)?;
    let pending = if subscription.current_is_fresh {
        subscription
            .receiver
            .borrow()
            .clone()
            .filter(|snapshot| Some(hub.event_id(snapshot)) != last_seen)
    } else {
        None
    };
    let state = StreamState {
        hub: Arc::clone(hub),
        receiver: subscription.receiver,
        pending,
        first: true,
        shutdown,
        _guard: ClientGuard::new(),
        _slot: slot,
    };
    let events = futures_lite::stream::unfold(state, next_event);
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    let mut response = sse.into_response();
    // Tell proxies such as nginx not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Some(response)
}

async fn next_event(mut s: StreamState) -> Option<(Result<Event, Infallible>, StreamState)> {
    let snapshot = match s.pending.take() {
        Some(snapshot) => snapshot,
        None => loop {
            tokio::select! {
                changed = s.receiver.changed() => changed.ok()?,
                () = s.shutdown.wait() => return None,
            }
            if let Some(snapshot) = s.receiver.borrow_and_update().clone() {
                break snapshot;
            }
        },
    };
    let mut event = Event::default()
        .id(s.hub.event_id(&snapshot))
        .data(snapshot.json.as_str());
    if s.first {
        event = event.retry(Duration::from_secs(2));
        s.first = false;
    }
    Some((Ok(event), s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cheap_reading_rests_the_least_and_a_costly_one_ten_times_its_cost() {
        assert_eq!(rest_after(Duration::from_millis(2)), MIN_REST);
        assert_eq!(
            rest_after(Duration::from_millis(30)),
            Duration::from_millis(300)
        );
        assert_eq!(rest_after(Duration::from_secs(5)), MAX_REST);
    }
}
