//! The distributed engines proven (SPEC §11): the real binary (`run --target all`) against a
//! three-node RabbitMQ cluster or a PostgreSQL primary with a synchronous standby behind a
//! Service-like endpoint (`baocao_tests::cluster`), with events flowing and a report issued and
//! emailed to a real SMTP server while the fault happens. After each fault every count is exact
//! (each event stored and counted once, none dead-lettered), each recipient has one Message-ID
//! for the revision, and nothing is left `sending`.
//!
//! Each test prints its recovery: the time from the fault to the first event published after it
//! being counted (the database's own `stored_at`), and how many events were held meanwhile
//! (published before that moment, counted from it on). nextest shows them in every run
//! (`.config/nextest.toml`), and so does
//! `cargo nextest run -p baocao-tests -E 'test(/^cluster::/)' --run-ignored all --no-capture`.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use baocao_tests::cluster::Scratch;
use baocao_tests::cluster::console::Kit;
use baocao_tests::cluster::endpoint::Endpoint;
use baocao_tests::cluster::flow::{FLOW_PERIOD, Flow};
use baocao_tests::cluster::postgres::PgPair;
use baocao_tests::cluster::rabbit::{HEARTBEAT_SECONDS, RabbitCluster};
use baocao_tests::{
    Logs, Place, SIM_REFERENCE_MONTH, SmtpServer, TestEnv, period, shipped_config_text, terminate,
    until_within,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The reference month's events (`sim --profile seed`).
const SEED_EVENTS: i64 = 1308;
/// Its documents.
const SEED_DOCUMENTS: i64 = 157;
/// The reference ward's addresses.
const ADDRESSES: usize = 5;
/// How long the whole pipeline may take to settle after a fault.
const SETTLE: Duration = Duration::from_secs(120);

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_leading_the_queues_killed_and_started_again_loses_and_repeats_nothing() {
    let scratch = Scratch::new();
    let (mut rabbit, scene, leader) = rabbit_scene(&scratch).await;
    let fault = scene.fault();
    rabbit.kill(leader);
    // The command line's broker commands go on to the next node listed too, and right after the
    // kill, while the dead-letter queue has no leader yet and the broker answers `nodedown`, they
    // try again until it has one.
    let listed = scene.cli(&["dead-letters", "list"]);
    assert!(listed.contains("no dead letters"), "{listed}");
    scene.wait_for_recovery(&fault).await;
    rabbit.restart(leader).await;
    rabbit.wait_for_queue_members(leader).await;
    let recovery = scene.finish(&fault).await;
    recovery.print("RabbitMQ node leading the queues killed (SIGKILL), then started again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_frozen_past_the_heartbeat_then_resumed_loses_and_repeats_nothing() {
    frozen_leader(Thaw::OnceBaocaoGaveUpOnIt).await;
}

/// As above, the node left frozen until baocao counts again: RabbitMQ 3.10 moves the queues'
/// leader only once it declares the frozen node down (`net_ticktime`, 60 s: 45 to 75 s), so
/// this takes about a minute more of CI's time and is run by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about 90 s: run by hand for its figure"]
async fn a_node_left_frozen_until_baocao_counts_again_loses_and_repeats_nothing() {
    frozen_leader(Thaw::OnceCountingAgain).await;
}

/// When the frozen node is resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Thaw {
    /// Once ingest has given up its connection to it (no heartbeat for twice the heartbeat).
    OnceBaocaoGaveUpOnIt,
    /// Once an event published after the freeze is counted (through the other nodes).
    OnceCountingAgain,
}

/// The node leading the queues, where ingest consumes, frozen (SIGSTOP) and resumed.
async fn frozen_leader(thaw: Thaw) {
    let scratch = Scratch::new();
    let (rabbit, scene, frozen) = rabbit_scene(&scratch).await;
    let fault = scene.fault();
    rabbit.freeze(frozen);
    if thaw == Thaw::OnceBaocaoGaveUpOnIt {
        until_within("ingest giving up the frozen node", SETTLE, || async {
            scene.logs.lines().iter().any(|line| {
                line.contains("lost the broker") && line.contains("no heartbeat received")
            })
        })
        .await;
    } else {
        scene.wait_for_recovery(&fault).await;
    }
    let frozen_for = fault.since();
    rabbit.thaw(frozen);
    scene.wait_for_recovery(&fault).await;
    rabbit.wait_for_queue_members((frozen + 1) % 3).await;
    let recovery = scene.finish(&fault).await;
    recovery.print(&format!(
        "RabbitMQ node leading the queues frozen (SIGSTOP) for {frozen_for:.1?}, heartbeat \
         {HEARTBEAT_SECONDS} s, then resumed"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_killed_and_its_standby_promoted_loses_no_commit_and_repeats_nothing() {
    let scratch = Scratch::new();
    let (mut pair, endpoint, scene) = postgres_scene(&scratch).await;

    // What an operator (CloudNativePG) does: the primary is gone, the synchronous standby is
    // promoted, the read-write Service follows it.
    let fault = scene.fault();
    pair.primary.kill();
    pair.promote_standby().await;
    endpoint.point_at(pair.standby.port);
    let failed_over = fault.since();
    scene.wait_for_recovery(&fault).await;
    let recovery = scene.finish(&fault).await;
    recovery.print(&format!(
        "PostgreSQL primary killed (SIGKILL), standby promoted and the endpoint switched \
         {failed_over:.1?} after"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_on_a_standby_for_a_moment_drops_those_connections_and_loses_no_batch() {
    let scratch = Scratch::new();
    let (pair, endpoint, scene) = postgres_scene(&scratch).await;

    // The Service points at the standby while the connections through it are cut (the pod
    // behind them restarting in a switchover): every connection made meanwhile is read-only.
    let fault = scene.fault();
    endpoint.point_at(pair.standby.port);
    endpoint.cut();
    until_within("a batch refused as read-only", SETTLE, || async {
        scene
            .logs
            .count("cannot execute INSERT in a read-only transaction")
            > 0
    })
    .await;
    // Its connection is closed and the retry opens new ones, which reach the standby too.
    let refused_at = endpoint.forwarded_to(pair.standby.port);
    until_within(
        "the refused batch retried on new connections",
        SETTLE,
        || async { endpoint.forwarded_to(pair.standby.port) >= refused_at + 2 },
    )
    .await;
    endpoint.point_at(pair.primary.port);
    let on_standby = fault.since();
    scene.wait_for_recovery(&fault).await;
    // The connections that reached the standby were dropped, not kept for the next batch.
    let standby = pair.standby.url("postgres");
    let database = scene.env.name.clone();
    until_within("no session left on the standby", SETTLE, || async {
        sessions(&standby, &database).await == Some(0)
    })
    .await;
    let recovery = scene.finish(&fault).await;
    recovery.print(&format!(
        "endpoint pointed at the standby for {on_standby:.1?} (writes refused as read-only)"
    ));
}

/// The kit for a person, driven from a terminal: `scripts/cluster` runs this.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interactive: scripts/cluster"]
async fn the_kit_serves_a_person_until_quit() {
    Kit::start().await.serve().await;
}

/// The shipped configuration with the reporter's bounds short enough for a test: an SMTP
/// exchange of 5 s at most, a claim's lease of 10 s (a claim committed as the primary died, or
/// whose outcome could not be recorded, is taken again after it), a failed email retried after
/// 1 s.
fn config() -> baocao::config::FileConfig {
    baocao::config::parse_file(Path::new("baocao.toml"), &config_text()).unwrap()
}

fn config_text() -> String {
    format!(
        "{}\n[reporter]\nsmtp_timeout_seconds = 5\noutbox_lease_seconds = 10\n\
         email_retry_seconds = 1\n",
        shipped_config_text()
    )
}

/// Three RabbitMQ nodes and the scene on them (the database on the machine's PostgreSQL), and
/// the node that leads the queues, where ingest consumes. The upstream system publishes through
/// the last node first: the fault is the broker's, not the publisher's.
async fn rabbit_scene(scratch: &Scratch) -> (RabbitCluster, Scene, usize) {
    let rabbit = RabbitCluster::start(scratch).await;
    let env = TestEnv::at(config(), Place::Machine, Place::Own(rabbit.url())).await;
    let scene = Scene::start(env, rabbit.url_in_order(&[2, 1, 0])).await;
    let leader = leader_on_all_three(&rabbit);
    consuming_on(&rabbit, leader);
    (rabbit, scene, leader)
}

/// A primary and its synchronous standby, the endpoint on the primary, and the scene through
/// the endpoint (the broker on the machine's RabbitMQ).
async fn postgres_scene(scratch: &Scratch) -> (PgPair, Endpoint, Scene) {
    let pair = PgPair::start(scratch).await;
    let endpoint = Endpoint::start(pair.primary.port).await;
    let database = Place::Own(endpoint.postgres_base_url());
    let env = TestEnv::at(config(), database, Place::Machine).await;
    let url = env.amqp_url.clone();
    let scene = Scene::start(env, url).await;
    (pair, endpoint, scene)
}

/// The node leading `baocao.eoffice`, after checking that both consumed queues and the
/// dead-letter queue are quorum queues with a member on each of the three nodes, the latter led
/// by the same node (ingest declared them all there).
fn leader_on_all_three(rabbit: &RabbitCluster) -> usize {
    let queues = rabbit.queues(0);
    for name in ["baocao.eoffice", "baocao.portal", "baocao.dead"] {
        let queue = queues.iter().find(|q| q.name == name).unwrap();
        assert_eq!(queue.kind, "quorum", "{queue:?}");
        assert_eq!(queue.members.len(), 3, "{queue:?}");
        assert_eq!(queue.online.len(), 3, "{queue:?}");
    }
    let eoffice = queues.iter().find(|q| q.name == "baocao.eoffice").unwrap();
    let dead = queues.iter().find(|q| q.name == "baocao.dead").unwrap();
    assert_eq!(dead.leader, eoffice.leader, "{queues:?}");
    rabbit.index_of(&eoffice.leader)
}

/// Checks that ingest consumes through `node` (the first listed, where it declared the queues):
/// the fault then hits its connection as well as the queues' leader.
fn consuming_on(rabbit: &RabbitCluster, node: usize) {
    let connections = rabbit.connections(0);
    assert!(
        connections.contains(&("baocao-ingest".to_owned(), node)),
        "ingest is not connected to {}: {connections:?}",
        rabbit.node_name(node)
    );
}

/// The sessions of `database` on the server at `url` (its maintenance database), if it answers.
async fn sessions(url: &str, database: &str) -> Option<i64> {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url).await.ok()?;
    let count = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_one(&mut connection)
    .await
    .ok();
    connection.close().await.ok();
    count
}

/// One fault's stage: the binary running, the reference month stored, its report issued and
/// being emailed, and events flowing.
struct Scene {
    env: TestEnv,
    server: SmtpServer,
    baocao: tokio::process::Child,
    logs: Logs,
    flow: Flow,
    config: PathBuf,
}

/// The moment of a fault.
struct Fault {
    at: DateTime<Utc>,
    started: tokio::time::Instant,
    /// The index of the first event published after it.
    first_after: u64,
}

impl Fault {
    fn since(&self) -> Duration {
        self.started.elapsed()
    }
}

/// What a fault cost.
struct Recovery {
    /// From the fault to the first event published after it being counted.
    took: Duration,
    /// Events published before that moment and counted from it on.
    held: i64,
    /// The longest the publisher waited for the broker's confirms.
    publisher_waited: Duration,
}

impl Recovery {
    fn print(&self, fault: &str) {
        println!(
            "recovery: {fault}: first event published after the fault counted {:.1} s after it; \
             {} events held meanwhile; the publisher waited up to {:.1} s for its confirms",
            self.took.as_secs_f64(),
            self.held,
            self.publisher_waited.as_secs_f64()
        );
    }
}

impl Scene {
    /// Starts `run --target all` on `env`, stores the reference month through `sim`, starts the
    /// flow through `publish_url`, issues May 2026 and returns once its first message is at the
    /// mail server (which holds each one 2 s before its 250): the emails are in flight.
    async fn start(env: TestEnv, publish_url: String) -> Self {
        let config = env.write_config(&config_text());
        let server = SmtpServer::start_with(&[], None, 2.0);
        let extra = [
            ("BAOCAO_CONFIG", config.to_str().unwrap()),
            ("BAOCAO_SMTP_URL", &server.url()),
        ];
        let (baocao, _, logs) = env
            .spawn_logged(binary(), &["run", "--target", "all"], &extra)
            .await;
        let flow = Flow::start(
            publish_url,
            env.config.broker.clone(),
            10,
            Duration::from_millis(50),
        );
        let scene = Self {
            env,
            server,
            baocao,
            logs,
            flow,
            config,
        };
        scene.cli(&SIM_REFERENCE_MONTH);
        until_within("events of the flow counted", SETTLE, || async {
            scene
                .flow_stored()
                .await
                .is_some_and(|stored| stored >= 100)
        })
        .await;
        scene.cli(&["report", "send", "--unit", "tri-qua", "--period", "2026-05"]);
        until_within("a message at the mail server", SETTLE, || async {
            !scene.server.messages().is_empty()
        })
        .await;
        scene
    }

    /// Runs a command of the binary on this scene, which must succeed; its output.
    fn cli(&self, args: &[&str]) -> String {
        let output = self
            .env
            .command(binary())
            .env("BAOCAO_CONFIG", &self.config)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "baocao {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Marks the fault's moment.
    fn fault(&self) -> Fault {
        Fault {
            at: Utc::now(),
            started: tokio::time::Instant::now(),
            first_after: self.flow.next_index(),
        }
    }

    /// Waits until an event published after `fault` is counted.
    async fn wait_for_recovery(&self, fault: &Fault) {
        let (_, end) = self.flow.ids();
        let first = self.flow.id(fault.first_after);
        until_within(
            "an event published after the fault counted",
            SETTLE,
            || async { self.count_ids(first, end).await.is_some_and(|n| n > 0) },
        )
        .await;
    }

    /// Stops the flow, waits until everything settled, checks every count and email, stops the
    /// binary (SIGTERM, exit 0), and returns what the fault cost.
    async fn finish(self, fault: &Fault) -> Recovery {
        let published = self.flow_published().await;
        self.wait_until_settled(published).await;
        self.check_counts(published).await;
        self.check_emails().await;
        let recovery = self.recovery(fault).await;
        terminate(self.baocao).await;
        recovery
    }

    /// Stops the flow after its batch in flight; how many events it published.
    async fn flow_published(&self) -> i64 {
        i64::try_from(self.flow.stop().await).unwrap()
    }

    /// The flow's events stored, if the database answers.
    async fn flow_stored(&self) -> Option<i64> {
        let (first, end) = self.flow.ids();
        self.count_ids(first, end).await
    }

    /// The events stored with an id in `[first, end]`, if the database answers.
    async fn count_ids(&self, first: Uuid, end: Uuid) -> Option<i64> {
        sqlx::query_scalar("select count(*) from event where event_id between $1 and $2")
            .bind(first)
            .bind(end)
            .fetch_one(&self.env.pool)
            .await
            .ok()
    }

    /// The first answer of `sql` (with no parameter), if the database answers.
    async fn scalar(&self, sql: &'static str) -> Option<i64> {
        sqlx::query_scalar(sql).fetch_one(&self.env.pool).await.ok()
    }

    /// Waits until every event published is stored, the queues are empty and every email is
    /// recorded sent.
    async fn wait_until_settled(&self, published: i64) {
        until_within("every event of the flow stored", SETTLE, || async {
            self.flow_stored().await == Some(published)
        })
        .await;
        until_within("every email recorded sent", SETTLE, || async {
            let sent = "select count(*) from outbox where state = 'sent'";
            self.scalar(sent).await == Some(ADDRESSES as i64)
        })
        .await;
        for queue in ["baocao.eoffice", "baocao.portal"] {
            self.env.wait_for_queue_depth(queue, 0, SETTLE).await;
        }
    }

    /// Each event stored and counted once, nothing dead-lettered, one report.
    async fn check_counts(&self, published: i64) {
        let env = &self.env;
        assert_eq!(env.stored_events().await, SEED_EVENTS + published);
        let now = Utc::now();
        let flow = env.indicators(period(FLOW_PERIOD), now).await;
        assert_eq!(flow.documents.issued, published, "the flow's window");
        let may = env.indicators(period("2026-05"), now).await;
        assert_eq!(may.documents.issued, SEED_DOCUMENTS, "the reference month");
        assert_eq!(env.problems().await.conflicts, 0, "an event counted twice");
        assert_eq!(env.queue_depth(&env.config.broker.dead_queue).await, 0);
        assert_eq!(env.scalar("select count(*) from rejection").await, 0);
        assert_eq!(env.scalar("select count(*) from report").await, 1);
        let states = "select count(*) from outbox where state <> 'sent'";
        assert_eq!(env.scalar(states).await, 0, "a message left unsent");
    }

    /// Each recipient got the revision under its one Message-ID (a rare second copy after a
    /// failed record carries the same one), and nobody else got anything.
    async fn check_emails(&self) {
        let stored: Vec<(String, String)> =
            sqlx::query_as("select address, message_id from outbox")
                .fetch_all(&self.env.pool)
                .await
                .unwrap();
        let expected: BTreeMap<String, BTreeSet<String>> = stored
            .into_iter()
            .map(|(address, id)| (address, BTreeSet::from([id])))
            .collect();
        let mut received: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for message in self.server.messages() {
            let to = message["to"].as_str().unwrap().to_owned();
            let id = message["message_id"].as_str().unwrap().to_owned();
            received.entry(to).or_default().insert(id);
        }
        assert_eq!(expected.len(), ADDRESSES);
        assert_eq!(received, expected, "one Message-ID per recipient");
    }

    /// What the fault cost, from the database's own times: the first event published after
    /// the fault was stored at `recovered`; the events sent before that moment and stored from
    /// it on were held.
    async fn recovery(&self, fault: &Fault) -> Recovery {
        let (_, end) = self.flow.ids();
        let recovered: DateTime<Utc> =
            sqlx::query_scalar("select min(stored_at) from event where event_id between $1 and $2")
                .bind(self.flow.id(fault.first_after))
                .bind(end)
                .fetch_one(&self.env.pool)
                .await
                .unwrap();
        let sent_before = self.flow.sent_before(recovered);
        let held: i64 = sqlx::query_scalar(
            "select count(*) from event where event_id between $1 and $2 and stored_at >= $3",
        )
        .bind(self.flow.id(0))
        .bind(self.flow.id(sent_before.saturating_sub(1)))
        .bind(recovered)
        .fetch_one(&self.env.pool)
        .await
        .unwrap();
        let took = (recovered - fault.at).to_std().unwrap_or_default();
        Recovery {
            took,
            held,
            publisher_waited: self.flow.longest_wait(),
        }
    }
}
