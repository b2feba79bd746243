//! Bad input (SPEC §3.4) is dead-lettered with its reason, body unchanged, and the valid
//! events around it are all counted; dead letters can be replayed once the cause is fixed.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use baocao_tests::{TestEnv, event, instant, period, repo_root};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// Every invalid example of `proto/`, with its expected reason, plus a body over 1 MiB.
fn bad_messages() -> Vec<(String, Vec<u8>)> {
    let dir = repo_root().join("proto/examples/invalid");
    let manifest: BTreeMap<String, Value> =
        serde_json::from_slice(&fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut messages: Vec<(String, Vec<u8>)> = manifest
        .iter()
        .map(|(file, expected)| {
            (
                expected["reason"].as_str().unwrap().to_owned(),
                fs::read(dir.join(file)).unwrap(),
            )
        })
        .collect();
    let mut huge = serde_json::to_vec(&event(
        "article.published",
        "2026-05-02T08:00:00Z",
        json!({"article_id": "x"}),
    ))
    .unwrap();
    huge.truncate(huge.len() - 1);
    huge.extend(std::iter::repeat_n(b' ', 1024 * 1024));
    huge.push(b'}');
    messages.push(("too_large".into(), huge));
    messages
}

/// Where a bad message is published: to the exchange of the type it names (so that its own
/// fault, not the exchange, is what it is rejected for), except the one meant to come through
/// the wrong exchange; bodies without a type go to the portal's.
fn origin(reason: &str, body: &[u8]) -> (&'static str, &'static str) {
    let type_name = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned));
    match type_name.as_deref() {
        Some("document.signed") if reason != "wrong_source" => {
            ("eoffice.events", "document.signed")
        }
        _ => ("portal.events", "procedure.received"),
    }
}

#[tokio::test]
async fn every_kind_of_bad_input_is_dead_lettered_with_its_reason_and_valid_events_around_it_count()
{
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let worker = env.start_ingest();
    let mut bad = bad_messages();
    // A valid event on the other system's exchange: the e-office system's document on the
    // portal's exchange.
    let misrouted = event(
        "document.signed",
        "2026-05-02T08:00:00+07:00",
        json!({"document_id": "VB-portal", "digital": true}),
    );
    bad.push((
        "wrong_source".into(),
        serde_json::to_vec(&misrouted).unwrap(),
    ));
    for (i, (reason, body)) in bad.iter().enumerate() {
        let valid = event(
            "document.signed",
            "2026-05-02T08:00:00+07:00",
            json!({"document_id": format!("VB-{i}"), "digital": true}),
        );
        broker.publish_event(&valid).await;
        let (exchange, key) = origin(reason, body);
        broker.publish_raw(exchange, key, body).await;
    }
    env.wait_for_stored(bad.len() as i64, WAIT).await;
    env.wait_for_dead_letters(bad.len() as u32, WAIT).await;
    worker.stop().await;

    let letters = env.dead_letters().await;
    let mut got: Vec<&str> = letters
        .iter()
        .map(|letter| letter.reason.as_str())
        .collect();
    let mut expected: Vec<&str> = bad.iter().map(|(reason, _)| reason.as_str()).collect();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected);
    for letter in &letters {
        assert!(
            bad.iter().any(|(_, body)| *body == letter.body),
            "a dead letter's body was changed"
        );
        let (reason, body) = bad.iter().find(|(_, body)| *body == letter.body).unwrap();
        assert_eq!(
            (letter.exchange.as_str(), letter.routing_key.as_str()),
            origin(reason, body)
        );
        assert!(
            !letter.detail.is_empty(),
            "no explanation for {}",
            letter.reason
        );
    }
    let indicators = env
        .indicators(period("2026-05"), instant("2026-06-01T00:00:00Z"))
        .await;
    assert_eq!(indicators.documents.issued, bad.len() as i64);
    assert_eq!(
        env.queue_depth("baocao.portal").await,
        0,
        "rejected messages were acknowledged"
    );
    broker.close().await;
}

#[tokio::test]
async fn dead_letters_replayed_after_the_unit_is_configured_are_counted() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let worker = env.start_ingest();
    let mut stranger = event(
        "article.published",
        "2026-05-03T08:00:00+07:00",
        json!({"article_id": "TB-1"}),
    );
    stranger["unit"] = json!("hai-ba-trung");
    broker.publish_event(&stranger).await;
    env.wait_for_dead_letters(1, WAIT).await;
    worker.stop().await;
    assert_eq!(env.dead_letters().await[0].reason, "unknown_unit");
    // Listing hands the letters back to the queue; a quorum queue takes a moment to show them.
    env.wait_for_dead_letters(1, WAIT).await;

    // The administrator adds the ward to the configuration and replays.
    let mut config = env.config.clone();
    let mut unit = config.units[0].clone();
    unit.code = domain::UnitCode::parse("hai-ba-trung").unwrap();
    config.units.push(unit);
    let mut ingest_config = env.ingest_config();
    ingest_config.units = config.known_units();
    let worker = env.start_ingest_with(ingest_config);
    let outcome = ingest::dead_letter::replay(&broker.connection, &broker.topology)
        .await
        .unwrap();
    assert_eq!((outcome.replayed, outcome.left.len()), (1, 0));
    env.wait_for_stored(1, WAIT).await;
    worker.stop().await;
    assert_eq!(env.queue_depth("baocao.dead").await, 0);
    let unit: String = sqlx::query_scalar("select unit from article")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(unit, "hai-ba-trung");
    broker.close().await;
}

#[tokio::test]
async fn listing_dead_letters_leaves_them_in_place() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let worker = env.start_ingest();
    broker
        .publish_raw("eoffice.events", "document.signed", b"not json")
        .await;
    env.wait_for_dead_letters(1, WAIT).await;
    worker.stop().await;
    assert_eq!(env.dead_letters().await.len(), 1);
    env.wait_for_dead_letters(1, WAIT).await;
    assert_eq!(
        env.dead_letters().await.len(),
        1,
        "listing consumed the dead letter"
    );
    broker.close().await;
}

#[tokio::test]
async fn a_rejected_message_is_not_acknowledged_while_no_dead_letter_queue_can_take_it() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let worker = env.start_ingest();
    // Someone deletes the dead-letter queue while the worker runs.
    let channel = broker.connection.create_channel().await.unwrap();
    channel
        .queue_delete(
            "baocao.dead".into(),
            lapin::options::QueueDeleteOptions::default(),
        )
        .await
        .unwrap();
    broker
        .publish_raw("portal.events", "petition.received", b"[1, 2, 3]")
        .await;
    // The broker returns the dead letter; the worker reconnects, declares the queue again and
    // dead-letters the message then.
    env.wait_for_dead_letters(1, WAIT).await;
    worker.stop().await;
    assert_eq!(env.dead_letters().await[0].reason, "malformed");
    assert_eq!(env.queue_depth("baocao.portal").await, 0);
    broker.close().await;
}

#[tokio::test]
async fn replay_skips_a_letter_without_an_origin_and_replays_the_ones_behind_it() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    // A letter published straight into the dead-letter exchange, with no x-baocao headers.
    broker
        .publish_raw("baocao.dead", "", b"{\"note\": \"no origin\"}")
        .await;
    let worker = env.start_ingest();
    let mut stranger = event(
        "article.published",
        "2026-05-03T08:00:00+07:00",
        json!({"article_id": "TB-9"}),
    );
    stranger["unit"] = json!("hai-ba-trung");
    broker.publish_event(&stranger).await;
    env.wait_for_dead_letters(2, WAIT).await;
    worker.stop().await;
    let outcome = ingest::dead_letter::replay(&broker.connection, &broker.topology)
        .await
        .unwrap();
    assert_eq!(
        (outcome.replayed, outcome.left.len()),
        (1, 1),
        "{outcome:?}"
    );
    // The replayed one was rejected again (the unit is still unknown) and queued behind.
    env.wait_for_dead_letters(1, WAIT).await;
    broker.close().await;
}

#[tokio::test]
async fn a_nul_in_a_routing_key_is_recorded_escaped_with_the_rest_of_its_batch() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    // Two rejected messages of one batch: the first one's routing key holds a NUL, which
    // PostgreSQL text cannot take.
    broker
        .publish_raw("eoffice.events", "document\0signed", b"not json")
        .await;
    broker
        .publish_raw("eoffice.events", "document.signed", b"not json either")
        .await;
    let worker = env.start_ingest();
    env.wait_for_dead_letters(2, WAIT).await;
    let limit = tokio::time::Instant::now() + WAIT;
    while env.scalar("select count(*) from rejection").await < 2 {
        assert!(
            tokio::time::Instant::now() < limit,
            "the batch was not recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;
    let keys: Vec<String> =
        sqlx::query_scalar("select routing_key from rejection order by rejection_id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(keys, ["document\\x00signed", "document.signed"]);
    let recorded = store::rejections::recorded(&env.pool, 10).await.unwrap();
    assert_eq!(recorded.by_reason.len(), 1);
    assert_eq!(
        (
            recorded.by_reason[0].reason.as_str(),
            recorded.by_reason[0].count
        ),
        ("malformed", 2)
    );
    broker.close().await;
}

#[tokio::test]
async fn the_log_of_dead_letters_is_pruned_after_its_retention_and_its_counts_stay_whole() {
    let env = TestEnv::new().await;
    let body = b"{}".as_slice();
    let rejection = |reason| store::rejections::NewRejection {
        reason,
        detail: "d",
        exchange: "portal.events",
        routing_key: "procedure.received",
        queue: "baocao.portal",
        body,
        keep_excerpt: true,
        source: None,
    };
    store::rejections::record(
        &env.pool,
        &[rejection("malformed"), rejection("unknown_unit")],
    )
    .await
    .unwrap();
    // One of them recorded 91 days ago.
    sqlx::query(
        "update rejection set rejected_at = now() - interval '91 days' where reason = 'malformed'",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    // The ingest worker prunes at start, with the shipped retention of 90 days.
    let worker = env.start_ingest();
    let limit = tokio::time::Instant::now() + WAIT;
    while env.scalar("select count(*) from rejection").await > 1 {
        assert!(tokio::time::Instant::now() < limit, "not pruned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;
    let recorded = store::rejections::recorded(&env.pool, 10).await.unwrap();
    assert_eq!(recorded.latest.len(), 1);
    assert_eq!(recorded.latest[0].reason, "unknown_unit");
    let counts: Vec<(String, i64)> = recorded
        .by_reason
        .iter()
        .map(|r| (r.reason.clone(), r.count))
        .collect();
    assert_eq!(
        counts,
        [("malformed".to_owned(), 1), ("unknown_unit".to_owned(), 1)]
    );
}
