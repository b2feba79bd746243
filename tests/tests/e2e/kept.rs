//! Kept counts are a cache of the figure functions (`store::kept`): for every window and every
//! instant the open window is counted at, they give what counting the items gives
//! (`store::indicators::count_scanned`), on the seed month, on the boundary cases (midnights,
//! due days, a due date moved by a later record, a conflicting reception, an orphan, a
//! resolution stamped before its reception, endings without a result) and on randomized
//! histories written in random batches; another zone's counts are rebuilt, not misread.

use std::collections::HashMap;

use baocao_tests::{TestEnv, event, instant, period, received, resolved, tri_qua};
use chrono::{DateTime, Duration, Utc};
use domain::{Counts, ParsedEvent, Period};
use serde_json::{Value, json};
use store::indicators::CountQuery;

/// Every event is parsed as of this instant (after all of them).
fn parsed_at() -> DateTime<Utc> {
    instant("2026-11-01T00:00:00Z")
}

fn parse(events: &[Value]) -> Vec<ParsedEvent> {
    let units = baocao_tests::shipped_config().known_units();
    events
        .iter()
        .map(|e| domain::parse_event(e.to_string().as_bytes(), &units, parsed_at()).unwrap())
        .collect()
}

/// The events of one DVCQG sync body of `records` (tri-qua is agency 000.00.12.H55).
fn synced(records: &[Value]) -> Vec<ParsedEvent> {
    let units = baocao_tests::shipped_config().known_units();
    let body = json!({"service": "DongBoHoSoMC", "madonvi": "000.00.12.H55", "data": records});
    let body = domain::dvcqg::read_body(body.to_string().as_bytes(), &units).unwrap();
    body.records
        .iter()
        .flat_map(|record| domain::dvcqg::record_events(&body, record, parsed_at()).unwrap())
        .collect()
}

fn record(code: &str, status: u8, channel: u8, received: &str, due: &str) -> Value {
    json!({
        "MaHoSo": code, "MaTTHC": "1.001612", "NgayTiepNhan": received, "NgayHenTra": due,
        "TrangThaiHoSo": status.to_string(), "KenhThucHien": channel,
        "HoSoCoThanhPhanSoHoa": "1",
    })
}

fn ended(mut record: Value, at: &str) -> Value {
    record["NgayKetThucXuLy"] = json!(at);
    record
}

/// The kept and the scanned counts of `period` as of `overdue_at` (within its window, as
/// `store::indicators::for_units` asks) agree. The kept counts answer every closed window; an
/// open one they may leave to the scan when an item is stamped at or after its end (a history
/// written ahead of the instant counted at). Returns the counts, and whether the kept ones
/// answered.
async fn agree(env: &TestEnv, period: Period, overdue_at: DateTime<Utc>) -> (Counts, bool) {
    let units = ["tri-qua"];
    let window = period.window(env.config.tz());
    let (start, end) = (window.start().to_utc(), window.end().to_utc());
    let query = CountQuery {
        units: &units,
        window,
        overdue_at: overdue_at.clamp(start, end),
    };
    let kept = store::kept::count(&env.pool, query).await.unwrap();
    let scanned = store::indicators::count_scanned(&env.pool, query)
        .await
        .unwrap()["tri-qua"];
    let Some(kept) = kept else {
        assert!(
            query.overdue_at < end,
            "the kept counts answer the closed window {period}"
        );
        return (scanned, false);
    };
    assert_eq!(
        kept["tri-qua"], scanned,
        "{period} as of {}: kept (left) and scanned (right)",
        query.overdue_at
    );
    (scanned, true)
}

/// Instants to count the open window at: each window's start and end, local midnights and
/// the instants just around them, and every given due date and the second before it.
fn instants(periods: &[Period], dues: &[&str], env: &TestEnv) -> Vec<DateTime<Utc>> {
    let mut at = Vec::new();
    for period in periods {
        let window = period.window(env.config.tz());
        let (start, end) = (window.start().to_utc(), window.end().to_utc());
        at.extend([
            start,
            start + Duration::seconds(1),
            end - Duration::seconds(1),
            end,
        ]);
        for day in [3, 10, 17] {
            let midnight = start + Duration::days(day);
            at.extend([
                midnight - Duration::seconds(1),
                midnight,
                midnight + Duration::hours(10),
            ]);
        }
    }
    for due in dues {
        let due = instant(due);
        at.extend([due - Duration::seconds(1), due, due + Duration::seconds(1)]);
    }
    at
}

#[tokio::test]
async fn kept_counts_equal_the_scan_on_the_seed_month_and_the_boundary_cases() {
    let env = TestEnv::new().await;
    let seed = baocao::sim::seed_events(
        &tri_qua(),
        period("2026-05"),
        env.config.tz(),
        parsed_at(),
        baocao::sim::REFERENCE_MONTH,
    )
    .unwrap();
    let units = baocao_tests::shipped_config().known_units();
    let seed: Vec<ParsedEvent> = seed
        .iter()
        .map(|e| domain::parse_event(&e.body, &units, parsed_at()).unwrap())
        .collect();
    for batch in seed.chunks(97) {
        store::events::write_batch(&env.pool, batch).await.unwrap();
    }
    let (counted, kept) = agree(&env, period("2026-05"), parsed_at()).await;
    assert!(kept);
    assert_eq!(counted.procedures_received, 550);
    assert_eq!(counted.documents_digitally_signed, 157);

    // The window of 2026-05 runs from 15 April 00:00 to 15 May 00:00, Vietnam time.
    let boundary = vec![
        // Received at the window's first instant, resolved at its last.
        received(
            "B-EDGES",
            "2026-04-15T00:00:00+07:00",
            "online",
            "2026-05-20T17:00:00+07:00",
            true,
        ),
        resolved("B-EDGES", "2026-05-14T23:59:59+07:00"),
        // Received the instant before the window: carried over; resolved at its end: pending.
        received(
            "B-BEFORE",
            "2026-04-14T23:59:59+07:00",
            "direct",
            "2026-04-30T17:00:00+07:00",
            false,
        ),
        resolved("B-BEFORE", "2026-05-15T00:00:00+07:00"),
        // Resolved on its due day before the due time (on time), and one second late.
        received(
            "B-DUE-DAY",
            "2026-04-20T08:00:00+07:00",
            "postal",
            "2026-04-27T17:00:00+07:00",
            false,
        ),
        resolved("B-DUE-DAY", "2026-04-27T10:00:00+07:00"),
        received(
            "B-SECOND-LATE",
            "2026-04-20T08:00:00+07:00",
            "postal",
            "2026-04-27T17:00:00+07:00",
            false,
        ),
        resolved("B-SECOND-LATE", "2026-04-27T17:00:01+07:00"),
        // Resolved the evening before its due day (early) and at its due instant (on time).
        received(
            "B-EVE",
            "2026-04-20T08:00:00+07:00",
            "online",
            "2026-04-28T00:00:00+07:00",
            false,
        ),
        resolved("B-EVE", "2026-04-27T23:59:59+07:00"),
        // A resolution stamped before the reception: resolved on reception.
        resolved("B-CLOCK", "2026-04-29T08:00:00+07:00"),
        received(
            "B-CLOCK",
            "2026-04-30T08:00:00+07:00",
            "direct",
            "2026-05-02T17:00:00+07:00",
            false,
        ),
        // Pending and due on the window's last day; and overdue since April.
        received(
            "B-DUE-LAST",
            "2026-05-01T08:00:00+07:00",
            "online",
            "2026-05-14T12:00:00+07:00",
            false,
        ),
        received(
            "B-OVERDUE",
            "2026-04-01T08:00:00+07:00",
            "direct",
            "2026-04-10T17:00:00+07:00",
            true,
        ),
        // A second, conflicting reception: recorded, the first one counted.
        received(
            "B-OVERDUE",
            "2026-05-03T08:00:00+07:00",
            "online",
            "2026-05-20T17:00:00+07:00",
            false,
        ),
        // An orphan resolution: counted nowhere.
        resolved("B-ORPHAN", "2026-05-02T08:00:00+07:00"),
        // A petition carried over from April and resolved in the window; one still open.
        event(
            "petition.received",
            "2026-04-10T08:00:00+07:00",
            json!({"petition_id": "B-PA-1"}),
        ),
        event(
            "petition.resolved",
            "2026-04-16T08:00:00+07:00",
            json!({"petition_id": "B-PA-1"}),
        ),
        event(
            "petition.received",
            "2026-05-14T23:59:59+07:00",
            json!({"petition_id": "B-PA-2"}),
        ),
    ];
    // One event per batch, in the order written: the later ones update earlier state.
    for parsed in parse(&boundary) {
        store::events::write_batch(&env.pool, std::slice::from_ref(&parsed))
            .await
            .unwrap();
    }
    // Records of the one-stop system: a due date moved by a later sync, an ending without a
    // result after the deadline, and one stopped.
    let syncs = [
        vec![record("R-MOVED", 2, 1, "20260421080000", "20260425170000")],
        vec![record("R-MOVED", 2, 1, "20260421080000", "20260520170000")],
        vec![ended(
            record("R-WITHDRAWN", 7, 2, "20260424080000", "20260426170000"),
            "20260430090000",
        )],
        vec![
            ended(
                record("R-STOPPED", 8, 1, "20260424090000", "20260501170000"),
                "20260502090000",
            ),
            ended(
                record("R-LATE", 10, 3, "20260422080000", "20260425170000"),
                "20260503090000",
            ),
        ],
    ];
    for records in &syncs {
        store::events::write_batch(&env.pool, &synced(records))
            .await
            .unwrap();
    }

    let periods = [period("2026-04"), period("2026-05"), period("2026-06")];
    let dues = [
        "2026-04-27T17:00:00+07:00",
        "2026-04-28T00:00:00+07:00",
        "2026-05-14T12:00:00+07:00",
        "2026-04-10T17:00:00+07:00",
        "2026-05-20T17:00:00+07:00",
    ];
    let mut answered = 0;
    for period in periods {
        for at in instants(&periods, &dues, &env) {
            answered += usize::from(agree(&env, period, at).await.1);
        }
    }
    // The open windows of April and May as of instants before June: nothing is stamped
    // after May's window, so the kept counts answer those too.
    assert!(answered > 40, "the kept counts answered {answered} queries");
    let (may, _) = agree(&env, period("2026-05"), parsed_at()).await;
    assert_eq!(may.procedures_received, counted.procedures_received + 10);
    assert_eq!(may.procedures_resolved_without_result, 2);
    assert!(may.procedures_pending_overdue >= 2, "{may:?}");
}

/// A random history of `items` dossiers, petitions, documents and articles of the spring of
/// 2026, as envelope events and DVCQG records, some repeated, some conflicting, some
/// resolutions before their receptions or without them.
fn random_history(rng: &mut fastrand::Rng, items: usize) -> Vec<ParsedEvent> {
    let base = instant("2026-03-10T00:00:00+07:00");
    let at = |rng: &mut fastrand::Rng, from: DateTime<Utc>, hours: i64| {
        from + Duration::seconds(rng.i64(0..hours * 3600))
    };
    let text = |t: DateTime<Utc>| t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).to_rfc3339();
    let record_time = |t: DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
            .format("%Y%m%d%H%M%S")
            .to_string()
    };
    let mut events = Vec::new();
    let mut records = Vec::new();
    for n in 0..items {
        let id = format!("X-{n}");
        let received_at = at(rng, base, 24 * 100);
        // Some due within the day, some before the reception, most days later.
        let due_at = match rng.u8(0..10) {
            0 => received_at - Duration::hours(rng.i64(1..48)),
            1 => received_at + Duration::minutes(rng.i64(1..600)),
            _ => received_at + Duration::hours(rng.i64(1..24 * 20)),
        };
        let resolved_at = match rng.u8(0..10) {
            0..=2 => None,
            3 => Some(received_at - Duration::hours(rng.i64(1..5))),
            _ => Some(received_at + Duration::hours(rng.i64(0..24 * 25))),
        };
        match rng.u8(0..6) {
            0 | 1 => {
                let channel = ["online", "direct", "postal"][rng.usize(0..3)];
                if rng.u8(0..20) != 0 {
                    events.push(received(
                        &id,
                        &text(received_at),
                        channel,
                        &text(due_at),
                        rng.bool(),
                    ));
                }
                if rng.u8(0..10) == 0 {
                    // A conflicting second reception.
                    let later = received_at + Duration::hours(rng.i64(1..72));
                    events.push(received(&id, &text(later), "online", &text(later), false));
                }
                if let Some(resolved_at) = resolved_at {
                    events.push(resolved(&id, &text(resolved_at)));
                }
            }
            2 => {
                // A dossier of the one-stop system, re-synced as it moves on.
                let received = record_time(received_at);
                let first = record(&id, 2, rng.u8(1..4), &received, &record_time(due_at));
                records.push(first.clone());
                if rng.bool() {
                    let moved = due_at + Duration::hours(rng.i64(1..24 * 10));
                    records.push(record(&id, 2, 1, &received, &record_time(moved)));
                }
                if let Some(resolved_at) = resolved_at.filter(|_| rng.bool()) {
                    let status = [7, 8, 10][rng.usize(0..3)];
                    let mut last = record(&id, status, 1, &received, &record_time(due_at));
                    last["NgayKetThucXuLy"] = json!(record_time(resolved_at.max(received_at)));
                    records.push(last);
                }
            }
            3 => {
                let id = format!("P-{n}");
                events.push(event(
                    "petition.received",
                    &text(received_at),
                    json!({"petition_id": id}),
                ));
                if let Some(resolved_at) = resolved_at {
                    events.push(event(
                        "petition.resolved",
                        &text(resolved_at),
                        json!({"petition_id": id}),
                    ));
                }
            }
            4 => {
                let body = json!({"document_id": format!("D-{n}"), "digital": rng.bool()});
                events.push(event("document.signed", &text(received_at), body.clone()));
                if rng.u8(0..10) == 0 {
                    events.push(event(
                        "document.signed",
                        &text(received_at - Duration::hours(3)),
                        body,
                    ));
                }
            }
            _ => events.push(event(
                "article.published",
                &text(received_at),
                json!({"article_id": format!("A-{n}")}),
            )),
        }
    }
    let mut parsed = parse(&events);
    for chunk in records.chunks(7) {
        parsed.extend(synced(chunk));
    }
    // Some exact repeats: duplicates, counted once.
    let repeats: Vec<ParsedEvent> = (0..parsed.len() / 20)
        .map(|_| parsed[rng.usize(0..parsed.len())].clone())
        .collect();
    parsed.extend(repeats);
    rng.shuffle(&mut parsed);
    parsed
}

#[tokio::test]
async fn kept_counts_equal_the_scan_on_randomized_histories() {
    for seed in [1, 2, 3] {
        let env = TestEnv::new().await;
        let mut rng = fastrand::Rng::with_seed(seed);
        let history = random_history(&mut rng, 1500);
        let mut rest = history.as_slice();
        while !rest.is_empty() {
            let size = rng.usize(1..=200).min(rest.len());
            let (batch, later) = rest.split_at(size);
            store::events::write_batch(&env.pool, batch).await.unwrap();
            rest = later;
        }
        let periods: Vec<Period> = ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
            .into_iter()
            .map(period)
            .collect();
        let mut instants = instants(&periods, &[], &env);
        instants.extend((0..40).map(|_| {
            instant("2026-03-01T00:00:00Z") + Duration::seconds(rng.i64(0..130 * 86_400))
        }));
        let mut totals: HashMap<Period, i64> = HashMap::new();
        let mut answered = 0;
        for period in &periods {
            for at in &instants {
                let (counts, kept) = agree(&env, *period, *at).await;
                *totals.entry(*period).or_default() += counts.procedures_received;
                answered += usize::from(kept);
            }
        }
        assert!(
            answered > 50,
            "seed {seed}: the kept counts answered {answered} queries"
        );
        assert!(
            totals.values().all(|received| *received > 0),
            "seed {seed}: every period holds dossiers: {totals:?}"
        );
        drop(env);
    }
}

#[tokio::test]
async fn counts_kept_in_another_zone_are_not_read_and_are_rebuilt_for_the_deployments() {
    let env = TestEnv::new().await;
    let events = parse(&[
        received(
            "Z-1",
            "2026-04-14T22:30:00+07:00",
            "online",
            "2026-04-20T17:00:00+07:00",
            false,
        ),
        event(
            "document.signed",
            "2026-04-14T23:30:00+07:00",
            json!({"document_id": "Z-D", "digital": true}),
        ),
    ]);
    store::events::write_batch(&env.pool, &events)
        .await
        .unwrap();
    // In Bangkok's zone (UTC+7 too) nothing changes; in Tokyo's (UTC+9) both fall on the 15th.
    assert!(store::kept::prepare(&env.pool, "Asia/Tokyo").await.unwrap());
    let window = period("2026-05").window(env.config.tz());
    let units = ["tri-qua"];
    let query = CountQuery {
        units: &units,
        window,
        overdue_at: window.end().to_utc(),
    };
    assert!(
        store::kept::count(&env.pool, query)
            .await
            .unwrap()
            .is_none()
    );
    let tokyo = period("2026-05").window(chrono_tz::Asia::Tokyo);
    let in_tokyo = CountQuery {
        units: &units,
        window: tokyo,
        overdue_at: tokyo.end().to_utc(),
    };
    let kept = store::kept::count(&env.pool, in_tokyo)
        .await
        .unwrap()
        .unwrap();
    let scanned = store::indicators::count_scanned(&env.pool, in_tokyo)
        .await
        .unwrap();
    assert_eq!(kept["tri-qua"], scanned["tri-qua"]);
    assert_eq!(
        (
            kept["tri-qua"].procedures_received,
            kept["tri-qua"].documents_issued
        ),
        (1, 1)
    );
    // Back in the deployment's zone: rebuilt, and both fall before the window.
    assert!(
        store::kept::prepare(&env.pool, env.config.tz().name())
            .await
            .unwrap()
    );
    assert!(
        !store::kept::prepare(&env.pool, env.config.tz().name())
            .await
            .unwrap()
    );
    let (counts, kept) = agree(&env, period("2026-05"), window.end().to_utc()).await;
    assert!(kept);
    assert_eq!(
        (counts.procedures_received, counts.procedures_carried_over),
        (0, 1)
    );
    assert_eq!(counts.documents_issued, 0);
}
