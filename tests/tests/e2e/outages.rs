//! Failures around the worker lose nothing and count nothing twice: the database going away,
//! the broker cutting connections, the worker killed with SIGKILL, SIGTERM, and a connection
//! to a server that refuses writes (a standby).

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use baocao::sim;
use baocao_tests::http::Request;
use baocao_tests::{TestEnv, cut_broker_connections, documents, instant, period, tri_qua};
use chrono::Utc;
use domain::ParsedEvent;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn while_the_database_is_down_nothing_is_acknowledged_and_consumption_resumes_by_itself() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let worker = env.start_ingest();
    broker.publish_events(&documents("before", 100)).await;
    env.wait_for_stored(100, WAIT).await;

    env.set_database_available(false).await;
    broker.publish_events(&documents("outage-1", 100)).await;
    // The worker takes the batch and holds it, unacknowledged, while the database is away.
    env.wait_for_queue_depth("baocao.eoffice", 0, WAIT).await;
    env.set_database_available(true).await;
    env.wait_for_stored(200, WAIT).await;

    // Down again, and the worker is stopped meanwhile: the held batch goes back to the queue.
    env.set_database_available(false).await;
    broker.publish_events(&documents("outage-2", 100)).await;
    env.wait_for_queue_depth("baocao.eoffice", 0, WAIT).await;
    worker.stop().await;
    // A quorum queue takes back a closed channel's unacknowledged messages through its log,
    // a moment after the connection's close is confirmed: wait for them. Had they been
    // acknowledged, they would never come back.
    env.wait_for_queue_depth("baocao.eoffice", 100, WAIT).await;
    assert_eq!(
        env.queue_depth("baocao.dead").await,
        0,
        "an outage is not bad input"
    );

    env.set_database_available(true).await;
    let worker = env.start_ingest();
    env.wait_for_stored(300, WAIT).await;
    worker.stop().await;
    let indicators = env
        .indicators(period("2026-05"), instant("2026-06-01T00:00:00Z"))
        .await;
    assert_eq!(indicators.documents.issued, 300);
    broker.close().await;
}

#[tokio::test]
async fn after_the_broker_cuts_every_connection_the_worker_reconnects_and_counts_each_event_once() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let events = documents("cut", 20_000);
    broker.publish_events(&events).await;
    broker.close().await;
    let worker = env.start_ingest();
    env.wait_for_stored(2_000, WAIT).await;
    cut_broker_connections(&env.name);
    let more = documents("after", 1_000);
    let broker = env.broker().await;
    broker.publish_events(&more).await;
    env.wait_for_stored(21_000, WAIT).await;
    worker.stop().await;
    assert_eq!(env.stored_events().await, 21_000);
    let indicators = env
        .indicators(period("2026-05"), instant("2026-06-01T00:00:00Z"))
        .await;
    assert_eq!(indicators.documents.issued, 21_000);
    assert_eq!(env.queue_depth("baocao.eoffice").await, 0);
    broker.close().await;
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

fn spawn_worker(env: &TestEnv) -> Child {
    env.spawn_worker(binary()).unwrap()
}

/// Waits for a child to exit, up to `limit`.
async fn wait_for_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker did not exit within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The load profile's events, published before the worker starts.
async fn publish_load(env: &TestEnv, count: usize) -> Vec<sim::SimEvent> {
    let events = sim::load_events(&[tri_qua()], count, Utc::now(), env.config.tz(), 7);
    let broker = env.broker().await;
    sim::publish(&broker.publisher, &broker.topology, &events, None)
        .await
        .unwrap();
    broker.close().await;
    events
}

#[tokio::test]
async fn a_worker_killed_mid_stream_and_restarted_counts_every_event_exactly_once() {
    let env = TestEnv::new().await;
    let events = publish_load(&env, 30_000).await;
    let mut first = spawn_worker(&env);
    env.wait_for_stored(5_000, WAIT).await;
    first.kill().unwrap(); // SIGKILL
    wait_for_exit(&mut first, Duration::from_secs(10)).await;
    assert!(
        env.stored_events().await < 30_000,
        "the worker finished before it was killed"
    );

    let mut second = spawn_worker(&env);
    env.wait_for_stored(30_000, WAIT).await;
    terminate(&second);
    assert!(
        wait_for_exit(&mut second, Duration::from_secs(30))
            .await
            .success()
    );
    assert_eq!(env.stored_events().await, 30_000);

    // The same events written once, straight into a second database, give the same figures.
    let control = TestEnv::new().await;
    let parsed: Vec<ParsedEvent> = events
        .iter()
        .map(|e| domain::parse_event(&e.body, &control.config.known_units(), Utc::now()).unwrap())
        .collect();
    store::events::write_batch(&control.pool, &parsed)
        .await
        .unwrap();
    let now = Utc::now();
    let open = domain::Period::containing(now, env.config.tz());
    assert_eq!(
        env.indicators(open, now).await,
        control.indicators(open, now).await
    );
    assert_eq!(env.stored_events().await, control.stored_events().await);
    assert_eq!(
        store::health::problems(&env.pool).await.unwrap(),
        store::health::problems(&control.pool).await.unwrap()
    );
}

#[tokio::test]
async fn sigterm_finishes_the_batch_in_flight_and_exits_zero_losing_nothing() {
    let env = TestEnv::new().await;
    publish_load(&env, 30_000).await;
    let mut worker = spawn_worker(&env);
    env.wait_for_stored(3_000, WAIT).await;
    terminate(&worker);
    let status = wait_for_exit(&mut worker, Duration::from_secs(30)).await;
    assert!(status.success(), "exit status {status}");
    // What the worker had prefetched goes back to the queues as its connection closes (a
    // quorum queue takes a moment): then every event is either stored or waiting, once.
    let stored = env.stored_events().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting =
            env.queue_depth("baocao.eoffice").await + env.queue_depth("baocao.portal").await;
        let total = stored + i64::from(waiting);
        assert!(
            total <= 30_000,
            "{total} events stored or waiting: some were delivered twice"
        );
        if total == 30_000 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{total} events stored or waiting: some were lost"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut again = spawn_worker(&env);
    env.wait_for_stored(30_000, WAIT).await;
    terminate(&again);
    assert!(
        wait_for_exit(&mut again, Duration::from_secs(30))
            .await
            .success()
    );
    assert_eq!(env.stored_events().await, 30_000);
}

#[tokio::test]
async fn a_worker_started_while_the_database_is_down_waits_for_it_and_then_consumes() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    broker.publish_events(&documents("early", 10)).await;
    env.set_database_available(false).await;
    let (mut worker, address) = env.spawn_ingest(binary()).await;
    // It serves its probes while it waits: up, and not ready until the database is there.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ready = Request::get("/readyz").send(&address).await;
        if ready.status == 503 && ready.json()["database"] == "starting" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never waiting: {}",
            ready.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        worker.try_wait().unwrap().is_none(),
        "the worker gave up instead of waiting"
    );
    env.set_database_available(true).await;
    env.wait_for_stored(10, WAIT).await;
    baocao_tests::terminate(worker).await;
    broker.close().await;
}

/// Reproduced before the fix: a pooled connection whose server refuses writes (SQLSTATE 25006,
/// as every connection to a standby does) was handed back to the pool, and the batch's retry
/// took the same connection and was refused again, for as long as the pool kept it (a busy
/// connection is never idle long enough to expire). Now that connection is closed and the retry
/// runs on a new one, as ingest's loop retries: the batch commits.
#[tokio::test]
async fn a_batch_refused_as_read_only_is_retried_on_a_new_connection_and_commits() {
    let env = TestEnv::new().await;
    let options: sqlx::postgres::PgConnectOptions = env.database_url.parse().unwrap();
    let pool = store::db::connect(options, 1).await.unwrap();
    // The pool's one connection now refuses every write, as one made to a standby does.
    sqlx::query("set default_transaction_read_only = on")
        .execute(&pool)
        .await
        .unwrap();
    let events: Vec<ParsedEvent> = documents("read-only", 10)
        .iter()
        .map(|e| {
            let body = serde_json::to_vec(e).unwrap();
            domain::parse_event(&body, &env.config.known_units(), Utc::now()).unwrap()
        })
        .collect();
    let mut refusals = Vec::new();
    for _ in 0..3 {
        match store::events::write_batch(&pool, &events).await {
            Ok(outcome) => {
                assert_eq!(outcome.stored, 10);
                assert_eq!(env.stored_events().await, 10);
                return;
            }
            Err(error) => {
                assert_eq!(store::db::classify(&error), store::db::Failure::ReadOnly);
                refusals.push(format!("{error:#}"));
            }
        }
    }
    panic!("every retry was refused on the same connection: {refusals:?}");
}
