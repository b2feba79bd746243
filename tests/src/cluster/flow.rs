//! Events published steadily through a fault, as the e-office system would: `document.signed`
//! events of the reference ward, dated in April 2026 (a closed window no other event of the
//! tests touches), a few every tick. Each event's id is the flow's base plus its index, so that
//! "the events published after the fault" is one range of the primary key.
//!
//! Publishing goes through whichever node of the URL list answers (`broker::connect`), with
//! confirms. A batch that is not confirmed in time is sent again on a new connection until it
//! is, so every event is confirmed at least once; the store keeps one copy of an id (the same
//! body again is neither counted nor a conflict).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::{OutgoingMessage, Publisher, Topology};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// How long a batch may wait for its confirms before it is sent again on a new connection.
const CONFIRM_WITHIN: Duration = Duration::from_secs(5);

/// The window the flow's events are dated in.
pub const FLOW_PERIOD: &str = "2026-04";

/// A running flow of events; [`Flow::stop`] ends it.
pub struct Flow {
    base: u128,
    shared: Arc<Shared>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

struct Shared {
    /// The index the next batch starts at: every event below it has been confirmed, or is in
    /// the batch being published.
    next: AtomicU64,
    /// When each batch was first sent: its first index and the time.
    sent: Mutex<Vec<(u64, DateTime<Utc>)>>,
    /// Events confirmed so far: every index below it.
    confirmed: AtomicU64,
    /// The longest a batch waited for its confirms, from its first sending, in milliseconds.
    longest_wait: AtomicU64,
    stopping: AtomicBool,
}

impl Flow {
    /// Publishes `per_tick` events every `tick` to the nodes of `url` (one URL, or several
    /// separated by commas), the exchange `topology` gives their type.
    pub fn start(url: String, topology: Topology, per_tick: u64, tick: Duration) -> Self {
        let base = u128::from(fastrand::u64(..)) << 64;
        let shared = Arc::new(Shared {
            next: AtomicU64::new(0),
            sent: Mutex::new(Vec::new()),
            confirmed: AtomicU64::new(0),
            longest_wait: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        });
        let publishing = Publishing {
            url,
            topology,
            base,
            per_tick,
            tick,
            shared: Arc::clone(&shared),
        };
        let task = Mutex::new(Some(tokio::spawn(publishing.run())));
        Self { base, shared, task }
    }

    /// The index the next event published will have: those published after this call have
    /// this one or a later one.
    pub fn next_index(&self) -> u64 {
        self.shared.next.load(Ordering::SeqCst)
    }

    /// How many events had been sent (for the first time) before `at`: those below this
    /// index.
    pub fn sent_before(&self, at: DateTime<Utc>) -> u64 {
        let sent = self.shared.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.iter()
            .find(|(_, when)| *when >= at)
            .map_or_else(|| self.next_index(), |(first, _)| *first)
    }

    /// How many events the broker has confirmed so far.
    pub fn confirmed(&self) -> u64 {
        self.shared.confirmed.load(Ordering::SeqCst)
    }

    /// The longest any batch waited for its confirms so far (the upstream system held its
    /// events that long).
    pub fn longest_wait(&self) -> Duration {
        Duration::from_millis(self.shared.longest_wait.load(Ordering::SeqCst))
    }

    /// The id of the event at `index`.
    pub fn id(&self, index: u64) -> Uuid {
        Uuid::from_u128(self.base | u128::from(index))
    }

    /// The ids of every event the flow may publish: `[first, end)`.
    pub fn ids(&self) -> (Uuid, Uuid) {
        (self.id(0), Uuid::from_u128(self.base + (1 << 64) - 1))
    }

    /// Stops after the batch in flight is confirmed; returns how many events were published
    /// (each confirmed).
    pub async fn stop(&self) -> u64 {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            tokio::time::timeout(Duration::from_secs(120), task)
                .await
                .expect("the flow's last batch confirmed within 120 s")
                .expect("the flow did not panic");
        }
        self.confirmed()
    }
}

/// The publishing task.
struct Publishing {
    url: String,
    topology: Topology,
    base: u128,
    per_tick: u64,
    tick: Duration,
    shared: Arc<Shared>,
}

impl Publishing {
    async fn run(self) {
        let mut link: Option<(broker::Connection, Publisher)> = None;
        while !self.shared.stopping.load(Ordering::SeqCst) {
            let first = self.shared.confirmed.load(Ordering::SeqCst);
            let bodies = self.bodies(first);
            self.shared
                .next
                .store(first + self.per_tick, Ordering::SeqCst);
            self.shared
                .sent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((first, Utc::now()));
            let sending = std::time::Instant::now();
            while !self.publish(&mut link, &bodies).await {
                link = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let waited = u64::try_from(sending.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.shared.longest_wait.fetch_max(waited, Ordering::SeqCst);
            self.shared
                .confirmed
                .store(first + self.per_tick, Ordering::SeqCst);
            tokio::time::sleep(self.tick).await;
        }
        if let Some((connection, _)) = link {
            broker::close(&connection, "flow stopped").await;
        }
    }

    /// Publishes the batch, connecting first if needed; whether the broker confirmed all of it
    /// in time.
    async fn publish(
        &self,
        link: &mut Option<(broker::Connection, Publisher)>,
        bodies: &[Vec<u8>],
    ) -> bool {
        if link.is_none() {
            *link = connect(&self.url).await;
        }
        let Some((_, publisher)) = link.as_ref() else {
            return false;
        };
        let exchange = self
            .topology
            .exchange_for_type("document.signed")
            .expect("document.signed is the e-office system's");
        let messages = bodies
            .iter()
            .map(|body| OutgoingMessage {
                exchange,
                routing_key: "document.signed",
                body,
                headers: None,
            })
            .collect();
        let confirmed = tokio::time::timeout(CONFIRM_WITHIN, publisher.publish_confirmed(messages));
        matches!(confirmed.await, Ok(Ok(_)))
    }

    /// The bodies of the batch starting at `first`.
    fn bodies(&self, first: u64) -> Vec<Vec<u8>> {
        (first..first + self.per_tick)
            .map(|index| {
                let event = serde_json::json!({
                    "id": Uuid::from_u128(self.base | u128::from(index)),
                    "type": "document.signed",
                    "occurred_at": "2026-04-02T08:00:00+07:00",
                    "unit": "tri-qua",
                    "data": {"document_id": format!("flow-{index}"), "digital": true},
                });
                serde_json::to_vec(&event).expect("JSON")
            })
            .collect()
    }
}

/// A connection with a confirming publisher, or `None` if no node answers now.
async fn connect(url: &str) -> Option<(broker::Connection, Publisher)> {
    let connection = broker::connect(url, "baocao-test-flow").await.ok()?;
    match Publisher::open(&connection).await {
        Ok(publisher) => Some((connection, publisher)),
        Err(_) => {
            broker::close(&connection, "no publisher").await;
            None
        }
    }
}
