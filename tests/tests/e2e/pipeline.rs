//! Events published to the real broker end up in the indicators exactly as SPEC §5 defines
//! them: the reference month, duplicates, out-of-order pairs, window boundaries and the
//! carried-over, early, on-time, late and overdue dossiers.

use std::path::Path;
use std::time::Duration;

use baocao_tests::{
    TestEnv, event, instant, period, received, resolved, terminate, tri_qua, wait_for_metric,
};
use domain::{ParsedEvent, UnitCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

fn document(occurred_at: &str, document_id: &str) -> Value {
    event(
        "document.signed",
        occurred_at,
        json!({"document_id": document_id, "digital": true}),
    )
}

#[tokio::test]
async fn the_seed_profile_yields_exactly_the_reference_months_indicators() {
    let env = TestEnv::new().await;
    let now = instant("2026-11-27T00:00:00Z");
    env.ingest_reference_month().await;

    let indicators = env.indicators(period("2026-05"), now).await;
    let expected = json!({
        "unit": "tri-qua", "period": "2026-05",
        "window": {"start": "2026-04-15T00:00:00+07:00", "end": "2026-05-15T00:00:00+07:00"},
        "final": true,
        "documents":  {"issued": 157, "digitally_signed": 157},
        "petitions":  {"carried_over": 0, "received": 5, "resolved": 5, "pending": 0},
        "procedures": {"carried_over": 0, "received": 550, "online": 465, "direct": 85, "postal": 0,
                       "digitized": 550, "resolved": 513, "resolved_early": 513, "resolved_on_time": 0,
                       "resolved_late": 0, "resolved_without_result": 0, "pending": 37,
                       "pending_on_time": 37, "pending_overdue": 0},
        "articles":   {"published": 78}
    });
    assert_eq!(serde_json::to_value(&indicators).unwrap(), expected);
    // Counted among several units (a province's statements, grouped by unit), the same figures.
    let units = [tri_qua(), UnitCode::parse("khac").unwrap()];
    let grouped =
        store::indicators::for_units(&env.pool, &units, period("2026-05"), env.config.tz(), now)
            .await
            .unwrap();
    assert_eq!(serde_json::to_value(&grouped[0]).unwrap(), expected);
    assert_eq!(
        grouped[1].procedures.received + grouped[1].documents.issued,
        0
    );
    // The neighbouring months saw nothing of it.
    let june = env.indicators(period("2026-06"), now).await;
    assert_eq!((june.documents.issued, june.procedures.received), (0, 0));
    assert_eq!(
        june.procedures.carried_over, 37,
        "the pending dossiers carry over into June"
    );
}

#[tokio::test]
async fn the_same_message_published_three_times_counts_once() {
    let env = TestEnv::new().await;
    let doc = document("2026-05-02T08:00:00+07:00", "VB-1");
    env.ingest(&[doc.clone(), doc.clone(), doc]).await;
    let indicators = env
        .indicators(period("2026-05"), instant("2026-06-01T00:00:00Z"))
        .await;
    assert_eq!(indicators.documents.issued, 1);
    assert_eq!(env.stored_events().await, 1);
    assert_eq!(
        env.problems().await.conflicts,
        0,
        "identical copies are duplicates, not conflicts"
    );
}

#[tokio::test]
async fn a_batch_redelivered_after_it_was_committed_counts_once() {
    let env = TestEnv::new().await;
    let events: Vec<Value> = (0..50)
        .map(|i| document("2026-05-02T08:00:00+07:00", &format!("VB-{i}")))
        .collect();
    // A worker committed these and died before its ack: the broker delivers them again.
    let parsed: Vec<ParsedEvent> = events
        .iter()
        .map(|e| {
            domain::parse_event(
                &serde_json::to_vec(e).unwrap(),
                &env.config.known_units(),
                chrono::Utc::now(),
            )
            .unwrap()
        })
        .collect();
    store::events::write_batch(&env.pool, &parsed)
        .await
        .unwrap();

    let broker = env.broker().await;
    let (worker, address) = env.spawn_ingest(binary()).await;
    broker.publish_events(&events).await;
    wait_for_metric(&address, "baocao_events_duplicate_total", 50.0, WAIT).await;
    terminate(worker).await;
    let indicators = env
        .indicators(period("2026-05"), instant("2026-06-01T00:00:00Z"))
        .await;
    assert_eq!(indicators.documents.issued, 50);
    assert_eq!(
        env.queue_depth("baocao.eoffice").await,
        0,
        "the duplicates were acknowledged"
    );
}

#[tokio::test]
async fn the_same_id_with_another_body_keeps_the_first_and_records_a_conflict() {
    let env = TestEnv::new().await;
    let first = event(
        "document.signed",
        "2026-05-02T08:00:00+07:00",
        json!({"document_id": "VB-1", "digital": true}),
    );
    let mut second = first.clone();
    second["data"]["digital"] = json!(false);
    env.ingest(&[first]).await;
    let worker = env.start_ingest();
    let broker = env.broker().await;
    broker.publish_event(&second).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while env.problems().await.conflicts == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no conflict was recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;
    let indicators = env
        .indicators(period("2026-05"), instant("2026-06-01T00:00:00Z"))
        .await;
    assert_eq!(
        (
            indicators.documents.issued,
            indicators.documents.digitally_signed
        ),
        (1, 1)
    );
    let kind: String = sqlx::query_scalar("select kind from conflict")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(kind, "event_body");
}

#[tokio::test]
async fn a_resolved_event_before_its_received_event_is_an_orphan_until_the_pair_arrives() {
    let env = TestEnv::new().await;
    let now = instant("2026-06-01T00:00:00Z");
    env.ingest(&[resolved("HS-1", "2026-05-03T10:00:00+07:00")])
        .await;
    let indicators = env.indicators(period("2026-05"), now).await;
    assert_eq!(
        (
            indicators.procedures.received,
            indicators.procedures.resolved
        ),
        (0, 0)
    );
    assert_eq!(env.problems().await.orphans, 1);

    env.ingest(&[received(
        "HS-1",
        "2026-05-01T09:00:00+07:00",
        "online",
        "2026-05-08T17:00:00+07:00",
        true,
    )])
    .await;
    let indicators = env.indicators(period("2026-05"), now).await;
    assert_eq!(
        (
            indicators.procedures.received,
            indicators.procedures.resolved
        ),
        (1, 1)
    );
    assert_eq!(indicators.procedures.resolved_early, 1);
    assert_eq!(indicators.procedures.pending, 0);
    assert_eq!(env.problems().await.orphans, 0);
}

#[tokio::test]
async fn a_second_received_event_for_a_dossier_keeps_the_earliest_and_is_a_conflict() {
    let env = TestEnv::new().await;
    env.ingest(&[received(
        "HS-1",
        "2026-05-10T09:00:00+07:00",
        "direct",
        "2026-05-20T17:00:00+07:00",
        false,
    )])
    .await;
    // The earlier one arrives later, and says the dossier came in online in April's window.
    env.ingest(&[received(
        "HS-1",
        "2026-04-10T09:00:00+07:00",
        "online",
        "2026-04-20T17:00:00+07:00",
        true,
    )])
    .await;
    let now = instant("2026-06-01T00:00:00Z");
    let april = env.indicators(period("2026-04"), now).await;
    let may = env.indicators(period("2026-05"), now).await;
    assert_eq!((april.procedures.received, april.procedures.online), (1, 1));
    assert_eq!(
        (may.procedures.received, may.procedures.carried_over),
        (0, 1)
    );
    assert_eq!(
        may.procedures.pending_overdue, 1,
        "due on 20 April, still pending at the end of May's window"
    );
    let kinds: Vec<String> = sqlx::query_scalar("select kind from conflict")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert_eq!(kinds, ["dossier_received"]);
}

#[tokio::test]
async fn events_either_side_of_midnight_on_the_15th_land_in_different_periods() {
    let env = TestEnv::new().await;
    env.ingest(&[
        document("2026-05-14T16:59:59Z", "VB-last"),
        document("2026-05-14T17:00:00Z", "VB-first"),
    ])
    .await;
    let now = instant("2026-11-01T00:00:00Z");
    assert_eq!(
        env.indicators(period("2026-05"), now)
            .await
            .documents
            .issued,
        1
    );
    assert_eq!(
        env.indicators(period("2026-06"), now)
            .await
            .documents
            .issued,
        1
    );
}

/// Dossiers and petitions with every fate SPEC §5 distinguishes, around May 2026's window
/// [2026-04-15 00:00, 2026-05-15 00:00) +07:00.
fn every_kind_of_dossier() -> Vec<Value> {
    let due = "2026-04-25T17:00:00+07:00";
    vec![
        // A: carried over, resolved late in the window.
        received(
            "A",
            "2026-04-10T09:00:00+07:00",
            "online",
            "2026-04-18T17:00:00+07:00",
            true,
        ),
        resolved("A", "2026-04-20T09:00:00+07:00"),
        // B: carried over, still pending, due after the window.
        received(
            "B",
            "2026-04-12T09:00:00+07:00",
            "online",
            "2026-05-20T17:00:00+07:00",
            true,
        ),
        // C: received and resolved before the window: not in May at all.
        received(
            "C",
            "2026-04-01T09:00:00+07:00",
            "direct",
            "2026-04-08T17:00:00+07:00",
            false,
        ),
        resolved("C", "2026-04-05T09:00:00+07:00"),
        // D: resolved on its due day before the deadline: on time.
        received("D", "2026-04-20T09:00:00+07:00", "online", due, true),
        resolved("D", "2026-04-25T10:00:00+07:00"),
        // E: resolved the day before its due day: early.
        received("E", "2026-04-20T09:00:00+07:00", "online", due, true),
        resolved("E", "2026-04-24T16:00:00+07:00"),
        // F: resolved on its due day after the deadline: late.
        received("F", "2026-04-20T09:00:00+07:00", "direct", due, false),
        resolved("F", "2026-04-25T18:00:00+07:00"),
        // G: pending, due inside the window: overdue.
        received(
            "G",
            "2026-05-01T09:00:00+07:00",
            "direct",
            "2026-05-10T17:00:00+07:00",
            false,
        ),
        // H: by post, resolved after the window (in June's, before its due day).
        received(
            "H",
            "2026-05-10T09:00:00+07:00",
            "postal",
            "2026-05-20T17:00:00+07:00",
            true,
        ),
        resolved("H", "2026-05-16T09:00:00+07:00"),
        // Petitions: P1 carried over and pending, P2 received and resolved, P3 only resolved.
        event(
            "petition.received",
            "2026-04-01T08:00:00+07:00",
            json!({"petition_id": "P1"}),
        ),
        event(
            "petition.received",
            "2026-04-20T08:00:00+07:00",
            json!({"petition_id": "P2"}),
        ),
        event(
            "petition.resolved",
            "2026-04-22T08:00:00+07:00",
            json!({"petition_id": "P2"}),
        ),
        event(
            "petition.resolved",
            "2026-04-22T08:00:00+07:00",
            json!({"petition_id": "P3"}),
        ),
    ]
}

#[tokio::test]
async fn carried_over_early_on_time_late_and_overdue_dossiers_follow_the_definitions() {
    let env = TestEnv::new().await;
    env.ingest(&every_kind_of_dossier()).await;
    let may = env
        .indicators(period("2026-05"), instant("2026-11-01T00:00:00Z"))
        .await;
    let expected_procedures = json!({
        "carried_over": 2, "received": 5, "online": 2, "direct": 2, "postal": 1, "digitized": 3,
        "resolved": 4, "resolved_early": 1, "resolved_on_time": 1, "resolved_late": 2,
        "resolved_without_result": 0,
        "pending": 3, "pending_on_time": 2, "pending_overdue": 1
    });
    assert_eq!(
        serde_json::to_value(may.procedures).unwrap(),
        expected_procedures
    );
    let expected_petitions = json!({"carried_over": 1, "received": 1, "resolved": 1, "pending": 1});
    assert_eq!(
        serde_json::to_value(may.petitions).unwrap(),
        expected_petitions
    );

    let june = env
        .indicators(period("2026-06"), instant("2026-11-01T00:00:00Z"))
        .await;
    assert_eq!(june.procedures.carried_over, 3, "B, G and H carry over");
    assert_eq!(
        (june.procedures.resolved, june.procedures.resolved_early),
        (1, 1)
    );
    assert_eq!(
        (
            june.procedures.pending,
            june.procedures.pending_overdue,
            june.procedures.pending_on_time
        ),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn the_open_window_is_not_final_and_counts_overdue_as_of_now() {
    let env = TestEnv::new().await;
    env.ingest(&every_kind_of_dossier()).await;
    let early_may = env
        .indicators(period("2026-05"), instant("2026-05-08T00:00:00Z"))
        .await;
    assert!(!early_may.is_final);
    assert_eq!(
        early_may.procedures.pending_overdue, 0,
        "G is due on 10 May, after now"
    );
    let late_may = env
        .indicators(period("2026-05"), instant("2026-05-12T00:00:00Z"))
        .await;
    assert_eq!(late_may.procedures.pending_overdue, 1);
}

#[tokio::test]
async fn a_resolution_stamped_before_its_reception_counts_as_received_and_resolved_once() {
    let env = TestEnv::new().await;
    env.ingest(&[
        received(
            "SKEW",
            "2026-04-20T09:00:00+07:00",
            "online",
            "2026-04-27T17:00:00+07:00",
            true,
        ),
        resolved("SKEW", "2026-04-10T09:00:00+07:00"),
    ])
    .await;
    let may = env
        .indicators(period("2026-05"), instant("2026-06-01T00:00:00Z"))
        .await;
    assert_eq!(
        (
            may.procedures.received,
            may.procedures.resolved,
            may.procedures.pending
        ),
        (1, 1, 0)
    );
    assert_eq!(
        may.procedures.resolved_early, 1,
        "resolved on reception, a week before its due day"
    );
    let april = env
        .indicators(period("2026-04"), instant("2026-06-01T00:00:00Z"))
        .await;
    assert_eq!(
        (april.procedures.received, april.procedures.resolved),
        (0, 0)
    );
}

#[tokio::test]
async fn a_redelivered_event_with_a_number_postgres_jsonb_cannot_hold_counts_once() {
    let env = TestEnv::new().await;
    let mut odd = document("2026-05-02T08:00:00+07:00", "VB-odd");
    odd["precision"] = json!(0.0);
    let body = serde_json::to_string(&odd)
        .unwrap()
        .replace("\"precision\":0.0", "\"precision\":1e-20000");
    let broker = env.broker().await;
    let (worker, address) = env.spawn_ingest(binary()).await;
    for _ in 0..2 {
        broker
            .publish_raw("eoffice.events", "document.signed", body.as_bytes())
            .await;
    }
    wait_for_metric(&address, "baocao_events_duplicate_total", 1.0, WAIT).await;
    terminate(worker).await;
    assert_eq!(env.stored_events().await, 1);
    assert_eq!(env.queue_depth("baocao.eoffice").await, 0);
    broker.close().await;
}

/// `event` parsed for the test's units.
fn parsed(env: &TestEnv, event: &Value) -> ParsedEvent {
    domain::parse_event(
        &serde_json::to_vec(event).unwrap(),
        &env.config.known_units(),
        chrono::Utc::now(),
    )
    .unwrap()
}

#[tokio::test]
async fn two_consumers_writing_the_same_new_item_at_once_record_the_conflict() {
    let env = TestEnv::new().await;
    let first = parsed(&env, &document("2026-05-02T08:00:00+07:00", "VB-1"));
    let second = parsed(&env, &document("2026-05-01T08:00:00+07:00", "VB-1"));
    // One consumer has written the document and not committed yet.
    let mut tx = env.pool.begin().await.unwrap();
    store::events::write_batch_in(&mut tx, std::slice::from_ref(&first))
        .await
        .unwrap();
    // The other writes the same document: it waits on the first's row lock.
    let pool = env.pool.clone();
    let other = tokio::spawn(async move { store::events::write_batch(&pool, &[second]).await });
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second writer never waited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tx.commit().await.unwrap();
    other.await.unwrap().unwrap();
    assert_eq!(
        env.problems().await.conflicts,
        1,
        "the second event's conflict was lost"
    );
    let signed_at: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select signed_at from document where document_id = 'VB-1'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(
        signed_at.to_rfc3339(),
        "2026-05-01T01:00:00+00:00",
        "the earliest kept"
    );
}
