//! The month's events against SPEC §5 counted from their bodies alone.

use std::collections::HashMap;

use chrono_tz::Asia::Ho_Chi_Minh;

use super::*;
use crate::sim::province::wards;

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn body(event: &SimEvent) -> Value {
    serde_json::from_slice(&event.body).unwrap()
}

fn at(value: &Value) -> DateTime<Utc> {
    instant(value.as_str().unwrap())
}

/// A received event's time and data, and the resolved event's time.
type Item = (Option<(DateTime<Utc>, Value)>, Option<DateTime<Utc>>);

/// SPEC §5 for `unit` and `period` as of `now`, counted from the events' bodies alone.
fn count(events: &[SimEvent], unit: &str, period: Period, now: DateTime<Utc>) -> Counts {
    let window = period.window(Ho_Chi_Minh);
    let (start, end) = (window.start().to_utc(), window.end().to_utc());
    let inside = |t: DateTime<Utc>| start <= t && t < end;
    let day = |t: DateTime<Utc>| t.with_timezone(&Ho_Chi_Minh).date_naive();
    let mut c = Counts::default();
    let mut items: HashMap<String, Item> = HashMap::new();
    for event in events {
        let body = body(event);
        if body["unit"] != unit {
            continue;
        }
        let (when, data) = (at(&body["occurred_at"]), &body["data"]);
        let item = |field: &str| format!("{field}/{}", data[field].as_str().unwrap());
        match event.type_name {
            "document.signed" if inside(when) => {
                c.documents_issued += 1;
                c.documents_digitally_signed += i64::from(data["digital"] == true);
            }
            "article.published" if inside(when) => c.articles_published += 1,
            "petition.received" => {
                let received = &mut items.entry(item("petition_id")).or_default().0;
                *received = Some((when, data.clone()));
            }
            "procedure.received" => {
                let received = &mut items.entry(item("dossier_id")).or_default().0;
                *received = Some((when, data.clone()));
            }
            "petition.resolved" => items.entry(item("petition_id")).or_default().1 = Some(when),
            "procedure.resolved" => items.entry(item("dossier_id")).or_default().1 = Some(when),
            _ => {}
        }
    }
    for (key, (received, resolved)) in items {
        let (received, data) = received.expect("no resolved event without its received one");
        let resolved_in = resolved.filter(|t| inside(*t));
        let pending_at_end = received < end && resolved.is_none_or(|t| t >= end);
        let carried = received < start && resolved.is_none_or(|t| t >= start);
        if key.starts_with("petition_id") {
            c.petitions_carried_over += i64::from(carried);
            c.petitions_received += i64::from(inside(received));
            c.petitions_resolved += i64::from(resolved_in.is_some());
            continue;
        }
        let due = at(&data["due_at"]);
        c.procedures_carried_over += i64::from(carried);
        if inside(received) {
            c.procedures_received += 1;
            match data["channel"].as_str().unwrap() {
                "online" => c.procedures_online += 1,
                "direct" => c.procedures_direct += 1,
                _ => c.procedures_postal += 1,
            }
            c.procedures_digitized += i64::from(data["digitized"] == true);
        }
        if let Some(resolved) = resolved_in {
            c.procedures_resolved += 1;
            c.procedures_resolved_late += i64::from(resolved > due);
            c.procedures_resolved_early += i64::from(resolved <= due && day(resolved) < day(due));
        }
        c.procedures_pending_overdue += i64::from(pending_at_end && due < end.min(now));
    }
    c
}

#[test]
fn a_closed_month_gives_each_ward_the_expected_counts_within_its_window() {
    let (wards, period) = (wards(12), "2026-05".parse::<Period>().unwrap());
    let now = instant("2026-11-30T00:00:00Z");
    let events = month_events(&wards, period, Ho_Chi_Minh, now, SEED).unwrap();
    let expected = expected_counts(&wards, period, Ho_Chi_Minh, now, SEED).unwrap();
    for (ward, expected) in wards.iter().zip(&expected) {
        assert_eq!(
            count(&events, ward.code.as_str(), period, now),
            *expected,
            "{}",
            ward.code
        );
    }
    let window = period.window(Ho_Chi_Minh);
    let before = period.previous().window(Ho_Chi_Minh);
    for event in &events {
        let received = matches!(event.type_name, "petition.received" | "procedure.received");
        assert!(
            window.contains(event.occurred_at) || received && before.contains(event.occurred_at),
            "{} at {} is outside {period}",
            event.type_name,
            event.occurred_at
        );
    }
    // The only events before the window are those of the cases carried over.
    let earlier = events
        .iter()
        .filter(|e| !window.contains(e.occurred_at))
        .count() as i64;
    let carried: i64 = expected
        .iter()
        .map(|c| c.petitions_carried_over + c.procedures_carried_over)
        .sum();
    assert!(carried > 0, "nothing carried over in 12 wards");
    assert_eq!(earlier, carried);
}

#[test]
fn an_open_window_has_what_happened_before_now_and_overdue_as_of_now() {
    let (wards, period) = (wards(8), "2026-05".parse::<Period>().unwrap());
    let now = instant("2026-05-02T03:00:00Z");
    let events = month_events(&wards, period, Ho_Chi_Minh, now, SEED).unwrap();
    assert!(events.iter().all(|e| e.occurred_at < now));
    let expected = expected_counts(&wards, period, Ho_Chi_Minh, now, SEED).unwrap();
    let closed = expected_counts(
        &wards,
        period,
        Ho_Chi_Minh,
        instant("2026-06-01T00:00:00Z"),
        SEED,
    )
    .unwrap();
    for ((ward, expected), closed) in wards.iter().zip(&expected).zip(&closed) {
        assert_eq!(
            count(&events, ward.code.as_str(), period, now),
            *expected,
            "{}",
            ward.code
        );
        assert!(expected.procedures_received < closed.procedures_received);
        assert_eq!(
            expected.procedures_carried_over,
            closed.procedures_carried_over
        );
    }
    let error = month_events(&wards, period.next(), Ho_Chi_Minh, now, SEED).unwrap_err();
    assert!(error.to_string().contains("has not started yet"), "{error}");
}

#[test]
fn the_same_month_and_the_month_before_repeat_the_same_events() {
    let (wards, period) = (wards(6), "2026-05".parse::<Period>().unwrap());
    let now = instant("2026-11-30T00:00:00Z");
    let events = month_events(&wards, period, Ho_Chi_Minh, now, SEED).unwrap();
    let again = month_events(&wards, period, Ho_Chi_Minh, now, SEED).unwrap();
    let bytes = |events: &[SimEvent]| -> Vec<(Uuid, Vec<u8>)> {
        events.iter().map(|e| (e.id, e.body.clone())).collect()
    };
    assert_eq!(bytes(&events), bytes(&again));
    let ids: std::collections::HashSet<Uuid> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), events.len(), "ids repeat within a month");
    // A case carried over is received again with the id and body the month before gave it.
    let before = month_events(&wards, period.previous(), Ho_Chi_Minh, now, SEED).unwrap();
    let before: HashMap<Uuid, &[u8]> = before.iter().map(|e| (e.id, &e.body[..])).collect();
    let start = period.window(Ho_Chi_Minh).start().to_utc();
    let carried: Vec<&SimEvent> = events.iter().filter(|e| e.occurred_at < start).collect();
    assert!(!carried.is_empty());
    for event in carried {
        assert_eq!(before.get(&event.id), Some(&&event.body[..]));
    }
    let other = expected_counts(&wards, period, Ho_Chi_Minh, now, SEED + 1).unwrap();
    assert_ne!(
        other,
        expected_counts(&wards, period, Ho_Chi_Minh, now, SEED).unwrap()
    );
}

#[test]
fn the_figures_are_plausible_and_differ_from_ward_to_ward() {
    let (wards, period) = (wards(40), "2026-05".parse::<Period>().unwrap());
    let now = instant("2026-11-30T00:00:00Z");
    let counts = expected_counts(&wards, period, Ho_Chi_Minh, now, SEED).unwrap();
    for c in &counts {
        let received = c.procedures_received;
        assert!((50..=600).contains(&received), "{received} dossiers");
        let online = c.procedures_online as f64 / received as f64;
        assert!((0.6..=0.95).contains(&online), "{online} online");
        assert_eq!(
            c.procedures_online + c.procedures_direct + c.procedures_postal,
            received
        );
        assert!(c.procedures_resolved_early * 10 >= c.procedures_resolved * 7);
        assert!(c.documents_digitally_signed * 10 >= c.documents_issued * 8);
        assert!(c.petitions_resolved <= c.petitions_carried_over + c.petitions_received);
    }
    let distinct: std::collections::BTreeSet<i64> =
        counts.iter().map(|c| c.procedures_received).collect();
    assert!(
        distinct.len() >= 30,
        "only {} different sizes",
        distinct.len()
    );
    let some = |f: fn(&Counts) -> i64| counts.iter().filter(|c| f(c) > 0).count();
    let postal = some(|c| c.procedures_postal);
    assert!(
        postal > 0 && postal < counts.len(),
        "{postal} wards with postal dossiers"
    );
    assert!(some(|c| c.procedures_resolved_late) > 0);
    assert!(some(|c| c.procedures_pending_overdue) > 0);
    assert!(some(|c| c.petitions_carried_over + c.petitions_received - c.petitions_resolved) > 0);
    assert!(some(|c| c.documents_issued - c.documents_digitally_signed) > 0);
    let on_time = |c: &Counts| {
        c.procedures_resolved - c.procedures_resolved_early - c.procedures_resolved_late
    };
    assert!(counts.iter().all(|c| on_time(c) > 0));
}
