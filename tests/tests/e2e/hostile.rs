//! Hostile or broken input never stalls a queue, crashes the worker or hides: each such
//! message ends as a dead letter with its reason, costs no more than that, and the events
//! behind it are counted. Replay puts letters back on baocao's own queues only. Memory stays
//! bounded whatever the messages' sizes.

use std::path::Path;
use std::time::{Duration, Instant};

use baocao_tests::{TestEnv, documents, event, peak_memory, terminate};
use broker::long_string;
use lapin::options::{
    BasicConsumeOptions, BasicRejectOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

#[tokio::test]
async fn an_occurred_at_of_200_kilobytes_is_dead_lettered_and_the_events_behind_it_count() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let mut poison = documents("poison", 1).remove(0);
    poison["occurred_at"] = json!("2".repeat(200_000));
    broker.publish_event(&poison).await;
    broker.publish_events(&documents("behind", 100)).await;
    let (worker, _) = env.spawn_ingest(binary()).await;
    env.wait_for_stored(100, WAIT).await;
    env.wait_for_dead_letters(1, WAIT).await;
    terminate(worker).await;
    let letters = env.dead_letters().await;
    assert_eq!(letters[0].reason, "invalid_timestamp");
    assert!(
        letters[0].detail.len() <= 1024,
        "{}",
        letters[0].detail.len()
    );
    assert_eq!(env.queue_depth("baocao.eoffice").await, 0);
    broker.close().await;
}

#[tokio::test]
async fn a_body_with_headers_near_the_frame_size_is_dead_lettered_without_them() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    // 128 KiB frames: the message's headers alone nearly fill one.
    let mut headers = FieldTable::default();
    headers.insert("x-upstream-trace".into(), long_string(&"t".repeat(129_000)));
    broker
        .publish_with_headers("eoffice.events", "document.signed", b"not json", headers)
        .await;
    broker.publish_events(&documents("behind", 100)).await;
    let (worker, _) = env.spawn_ingest(binary()).await;
    env.wait_for_stored(100, WAIT).await;
    env.wait_for_dead_letters(1, WAIT).await;
    terminate(worker).await;
    let letters = env.dead_letters().await;
    assert_eq!(letters[0].reason, "malformed");
    assert_eq!(letters[0].body, b"not json");
    assert!(
        letters[0].detail.contains("were dropped"),
        "{}",
        letters[0].detail
    );
    assert_eq!(letters[0].exchange, "eoffice.events");
    broker.close().await;
}

#[tokio::test]
async fn a_nul_byte_in_a_body_reaches_the_dashboards_record_escaped() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    broker
        .publish_raw(
            "portal.events",
            "petition.received",
            b"bad \x00 body \x1b[2J",
        )
        .await;
    let (worker, _) = env.spawn_ingest(binary()).await;
    env.wait_for_dead_letters(1, WAIT).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let recorded = loop {
        let recorded = store::rejections::recorded(&env.pool, 10).await.unwrap();
        if !recorded.latest.is_empty() {
            break recorded;
        }
        assert!(tokio::time::Instant::now() < deadline, "never recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    terminate(worker).await;
    assert_eq!(recorded.latest[0].reason, "malformed");
    assert_eq!(recorded.latest[0].body_excerpt, "bad \\x00 body \\x1b[2J");
    broker.close().await;
}

/// Publishes `count` documents, one of them `VB-POISON` if `poison`, to a worker process, and
/// returns how long the queue took to drain.
async fn drain(env: &TestEnv, count: usize, poison: bool) -> Duration {
    let broker = env.broker().await;
    let mut events = documents("VB", count);
    if poison {
        events[count / 2]["data"]["document_id"] = json!("VB-POISON");
    }
    broker.publish_events(&events).await;
    let started = Instant::now();
    let (worker, _) = env.spawn_ingest(binary()).await;
    env.wait_for_stored(count as i64 - i64::from(poison), WAIT)
        .await;
    if poison {
        env.wait_for_dead_letters(1, WAIT).await;
    }
    let took = started.elapsed();
    terminate(worker).await;
    broker.close().await;
    took
}

#[tokio::test]
async fn a_value_the_database_refuses_is_dead_lettered_alone_among_thousands() {
    let control = TestEnv::new().await;
    let env = TestEnv::new().await;
    // The database refuses one document: a constraint stands for a value PostgreSQL cannot take.
    sqlx::query("alter table document add constraint no_poison check (document_id <> 'VB-POISON')")
        .execute(&env.pool)
        .await
        .unwrap();
    let clean = drain(&control, 5_000, false).await;
    let poisoned = drain(&env, 5_000, true).await;
    println!(
        "5,000 documents drained in {clean:?}; with one the database refuses, in {poisoned:?}"
    );
    assert_eq!(env.stored_events().await, 4_999);
    let letters = env.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "unstorable");
    assert!(
        letters[0].detail.contains("no_poison"),
        "{}",
        letters[0].detail
    );
    assert!(String::from_utf8_lossy(&letters[0].body).contains("VB-POISON"));
    assert_eq!(env.queue_depth("baocao.eoffice").await, 0);
}

/// A queue of another system's, bound to the e-office exchange like baocao's.
async fn other_systems_queue(env: &TestEnv) -> String {
    let broker = env.broker().await;
    let channel = broker.connection.create_channel().await.unwrap();
    let queue = "other.system".to_owned();
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.as_str().into(),
            "eoffice.events".into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    broker.close().await;
    queue
}

#[tokio::test]
async fn replay_returns_a_letter_to_baocaos_own_queue_not_to_the_upstream_exchange() {
    let env = TestEnv::new().await;
    let other = other_systems_queue(&env).await;
    let broker = env.broker().await;
    let mut stranger = documents("VB-stranger", 1).remove(0);
    stranger["unit"] = json!("an-phu");
    broker.publish_event(&stranger).await;
    let worker = env.start_ingest();
    env.wait_for_dead_letters(1, WAIT).await;
    worker.stop().await;
    assert_eq!(
        env.queue_depth(&other).await,
        1,
        "the other system got the original"
    );

    // The ward is configured, and the letter replayed.
    let mut ingest = env.ingest_config();
    let mut unit = env.config.units[0].clone();
    unit.code = domain::UnitCode::parse("an-phu").unwrap();
    let mut units: Vec<_> = env.config.units.iter().map(|u| u.code.clone()).collect();
    units.push(unit.code);
    ingest.units = domain::KnownUnits::new(units);
    let worker = env.start_ingest_with(ingest);
    let outcome = ingest::dead_letter::replay(&broker.connection, &broker.topology)
        .await
        .unwrap();
    assert_eq!(
        (outcome.replayed, outcome.left.len()),
        (1, 0),
        "{outcome:?}"
    );
    env.wait_for_stored(1, WAIT).await;
    worker.stop().await;
    assert_eq!(
        env.queue_depth(&other).await,
        1,
        "the replay reached another system's queue"
    );
    broker.close().await;
}

#[tokio::test]
async fn a_letter_the_broker_dead_lettered_is_replayed_to_its_first_death_queue() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    broker.publish_events(&documents("VB-broker", 1)).await;
    broker_dead_letters_the_first_of(&broker, "baocao.eoffice").await;
    env.wait_for_dead_letters(1, WAIT).await;
    let letters = env.dead_letters().await;
    assert_eq!(letters[0].reason, "broker");
    assert_eq!(letters[0].queue.as_deref(), Some("baocao.eoffice"));
    env.wait_for_dead_letters(1, WAIT).await;

    let outcome = ingest::dead_letter::replay(&broker.connection, &broker.topology)
        .await
        .unwrap();
    assert_eq!(
        (outcome.replayed, outcome.left.len()),
        (1, 0),
        "{outcome:?}"
    );
    let worker = env.start_ingest();
    env.wait_for_stored(1, WAIT).await;
    worker.stop().await;
    broker.close().await;
}

/// Takes the first message of `queue` and rejects it without requeueing, as a delivery limit
/// would: the broker dead-letters it itself, with its death records.
async fn broker_dead_letters_the_first_of(broker: &baocao_tests::TestBroker, queue: &str) {
    let channel = broker.connection.create_channel().await.unwrap();
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let delivery = futures_lite::StreamExt::next(&mut consumer)
        .await
        .unwrap()
        .unwrap();
    delivery
        .acker
        .reject(BasicRejectOptions { requeue: false })
        .await
        .unwrap();
    channel.close(200, "done".into()).await.ok();
}

#[tokio::test]
async fn a_publishers_queue_header_never_overrides_the_brokers_death_record_in_a_replay() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    // A portal event whose publisher names the e-office queue, and claims a death of its own.
    let mut forged = FieldTable::default();
    forged.insert("x-baocao-queue".into(), long_string("baocao.eoffice"));
    forged.insert("x-baocao-reason".into(), long_string("unknown_unit"));
    let petition = event(
        "petition.received",
        "2026-05-02T08:00:00+07:00",
        json!({"petition_id": "PAKN-forged"}),
    );
    let body = serde_json::to_vec(&petition).unwrap();
    broker
        .publish_with_headers("portal.events", "petition.received", &body, forged)
        .await;
    broker_dead_letters_the_first_of(&broker, "baocao.portal").await;
    env.wait_for_dead_letters(1, WAIT).await;
    assert_eq!(
        env.dead_letters().await[0].queue.as_deref(),
        Some("baocao.portal")
    );
    let outcome = ingest::dead_letter::replay(&broker.connection, &broker.topology)
        .await
        .unwrap();
    assert_eq!(
        (outcome.replayed, outcome.left.len()),
        (1, 0),
        "{outcome:?}"
    );
    assert_eq!(env.queue_depth("baocao.eoffice").await, 0);
    assert_eq!(env.queue_depth("baocao.portal").await, 1);
    broker.close().await;
}

#[tokio::test]
async fn a_letter_whose_event_belongs_to_the_other_system_is_left_by_a_replay() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    // Straight on the dead-letter exchange: a document of the e-office naming the portal's queue.
    let mut forged = FieldTable::default();
    forged.insert("x-baocao-reason".into(), long_string("unknown_unit"));
    forged.insert("x-baocao-queue".into(), long_string("baocao.portal"));
    let body = serde_json::to_vec(&documents("VB-misplaced", 1)[0]).unwrap();
    broker
        .publish_with_headers("baocao.dead", "", &body, forged)
        .await;
    env.wait_for_dead_letters(1, WAIT).await;
    let outcome = ingest::dead_letter::replay(&broker.connection, &broker.topology)
        .await
        .unwrap();
    assert_eq!(
        (outcome.replayed, outcome.left.len()),
        (0, 1),
        "{outcome:?}"
    );
    assert!(
        outcome.left[0].contains("event of the eoffice system"),
        "{outcome:?}"
    );
    assert_eq!(env.queue_depth("baocao.portal").await, 0);
    assert_eq!(env.queue_depth("baocao.dead").await, 1);
    broker.close().await;
}

#[tokio::test]
async fn a_letter_naming_a_queue_not_baocaos_is_left_and_the_others_are_replayed() {
    let env = TestEnv::new().await;
    let other = other_systems_queue(&env).await;
    let broker = env.broker().await;
    let mut forged = FieldTable::default();
    forged.insert("x-baocao-reason".into(), long_string("unknown_unit"));
    forged.insert("x-baocao-queue".into(), long_string(&other));
    broker
        .publish_with_headers("baocao.dead", "", b"{\"forged\": true}", forged)
        .await;
    broker
        .publish_raw("baocao.dead", "", b"{\"origin\": \"none\"}")
        .await;
    let mut stranger = documents("VB-stranger", 1).remove(0);
    stranger["unit"] = json!("an-phu");
    broker.publish_event(&stranger).await;
    let worker = env.start_ingest();
    env.wait_for_dead_letters(3, WAIT).await;
    worker.stop().await;
    let before = env.queue_depth(&other).await;
    let outcome = ingest::dead_letter::replay(&broker.connection, &broker.topology)
        .await
        .unwrap();
    assert_eq!(
        (outcome.replayed, outcome.left.len()),
        (1, 2),
        "{outcome:?}"
    );
    assert!(
        outcome
            .left
            .iter()
            .any(|why| why.contains("not one baocao consumes")),
        "{outcome:?}"
    );
    assert_eq!(
        env.queue_depth(&other).await,
        before,
        "a forged header routed a letter"
    );
    broker.close().await;
}

/// Waits until the process at `address` says it is ready.
async fn wait_until_ready(address: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while baocao_tests::http::Request::get("/readyz")
        .send(address)
        .await
        .status
        != 200
    {
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn memory_stays_bounded_with_messages_at_the_brokers_maximum_size() {
    let env = TestEnv::new().await;
    // The broker's largest message 2 MiB, 8 MiB a consumer: four consumers hold 32 MiB at
    // most, whatever their prefetch (the shipped 2000).
    let config = baocao_tests::shipped_config_text().replace(
        "[ingest]\n",
        "[ingest]\nmax_message_bytes = 2097152\nprefetch_bytes = 8388608\n",
    );
    let path = env.write_config(&config);
    let broker = env.broker().await;
    let (worker, address) = env
        .spawn_listening(
            binary(),
            &["run", "--target", "ingest"],
            &[("BAOCAO_CONFIG", path.to_str().unwrap())],
        )
        .await;
    wait_until_ready(&address).await;
    // The database goes away: whatever the worker takes now, it must hold.
    env.set_database_available(false).await;
    // 120 valid events of almost 1 MiB each, the largest baocao stores: 120 MiB in the queue.
    let mut events = documents("VB-big", 120);
    for event in &mut events {
        event["padding"] = json!("x".repeat(1_040_000));
    }
    for chunk in events.chunks(10) {
        broker.publish_events(chunk).await;
    }
    let pid = worker.id().unwrap();
    // The broker pushes every message (the prefetch allows it); the worker reads those that
    // fit in its budget, and the rest wait unread.
    env.wait_for_queue_depth("baocao.eoffice", 0, WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let holding = peak_memory(pid);
    env.set_database_available(true).await;
    env.wait_for_stored(120, Duration::from_secs(120)).await;
    let peak = peak_memory(pid);
    terminate(worker).await;
    // The bound README states: 100 MiB for the process itself, plus three times what its four
    // consumers may hold (each message held, its parsed copy, and the statement's buffer).
    let inflight = 2 * 2 * 8 * 1024 * 1024;
    let bound = 100 * 1024 * 1024 + 3 * inflight;
    println!(
        "peak memory {} MiB holding, {} MiB in all, for 120 MiB of messages (bound {} MiB)",
        holding >> 20,
        peak >> 20,
        bound >> 20
    );
    assert!(
        peak <= bound,
        "peak {} MiB over the bound {} MiB",
        peak >> 20,
        bound >> 20
    );
    broker.close().await;
}

#[tokio::test]
async fn an_event_of_the_other_systems_type_is_from_the_wrong_source() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let document = event(
        "document.signed",
        "2026-05-02T08:00:00+07:00",
        json!({"document_id": "VB-1", "digital": true}),
    );
    broker
        .publish_raw(
            "portal.events",
            "document.signed",
            &serde_json::to_vec(&document).unwrap(),
        )
        .await;
    let worker = env.start_ingest();
    env.wait_for_dead_letters(1, WAIT).await;
    worker.stop().await;
    assert_eq!(env.dead_letters().await[0].reason, "wrong_source");
    assert_eq!(env.stored_events().await, 0);
    broker.close().await;
}
