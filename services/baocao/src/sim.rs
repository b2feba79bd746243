//! Simulated upstream systems: `baocao sim` publishes events the way the e-office system and
//! the portal do, to try the pipeline end to end.
//!
//! - `seed`: one month whose totals are the reference report's (157 documents all signed
//!   digitally, 5 petitions received and resolved, 550 dossiers — 465 online, 85 direct, all
//!   digitized, 513 resolved before their due date, 37 pending within it — and 78 articles).
//!   Its ids are derived from unit, period and item, so publishing it twice counts it once.
//! - `load`: N synthetic events of every type for the open window, at an optional rate.
//! - `province`: a plausible month for each of N generated wards ([`province`]).
//! - `dvcqg`: the seed month with its dossiers as the one-stop system's sync bodies ([`dvcqg`]).

use std::time::Duration;

use anyhow::Context;
use broker::{OutgoingMessage, Publisher, Topology};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use chrono_tz::Tz;
use domain::{Period, UnitCode};
use serde_json::{Value, json};
use uuid::Uuid;

pub mod dvcqg;
pub mod province;

/// One event to publish.
#[derive(Debug, Clone)]
pub struct SimEvent {
    /// Its id.
    pub id: Uuid,
    /// Its type, also the routing key.
    pub type_name: &'static str,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The figures of the reference month (báo cáo tháng 5/2026 of Phường Trí Quả).
#[derive(Debug, Clone, Copy)]
pub struct SeedTotals {
    /// Documents issued, all signed digitally.
    pub documents: usize,
    /// Petitions received and resolved.
    pub petitions: usize,
    /// Dossiers received online.
    pub online: usize,
    /// Dossiers received in person.
    pub direct: usize,
    /// Of the dossiers, those resolved before their due date; the rest stay pending in time.
    pub resolved_early: usize,
    /// Articles published.
    pub articles: usize,
}

/// The reference report's month.
pub const REFERENCE_MONTH: SeedTotals = SeedTotals {
    documents: 157,
    petitions: 5,
    online: 465,
    direct: 85,
    resolved_early: 513,
    articles: 78,
};

/// Namespace of the seed profile's deterministic ids.
const SEED_NAMESPACE: Uuid = Uuid::from_u128(0x6ba7b8149dad11d180b400c04fd430c8);

/// The events of one month with `totals`, spread over the window of `period` (up to `now` if
/// the window is still open), every one inside the window.
pub fn seed_events(
    unit: &UnitCode,
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
    totals: SeedTotals,
) -> anyhow::Result<Vec<SimEvent>> {
    let window = period.window(tz);
    let start = window.start().to_utc();
    let end = window.end().to_utc();
    let last = end.min(now);
    anyhow::ensure!(
        last - start >= TimeDelta::hours(1),
        "period {period} has not started yet"
    );
    let span = last - start;
    // Instant `i` of `n` spread over `[start + from·span, start + to·span)`.
    let at = |i: usize, n: usize, from: f64, to: f64| {
        let fraction = from + (to - from) * (i as f64 + 0.5) / n.max(1) as f64;
        start + TimeDelta::milliseconds((span.num_milliseconds() as f64 * fraction) as i64)
    };
    let mut events = Vec::new();
    let mut push = |kind: &'static str, item: String, when: DateTime<Utc>, data: Value| {
        let id = Uuid::new_v5(
            &SEED_NAMESPACE,
            format!("{unit}/{period}/{kind}/{item}").as_bytes(),
        );
        events.push(SimEvent::new(id, kind, unit, when, tz, data));
    };

    for i in 0..totals.documents {
        let data = json!({"document_id": format!("VB-{period}-{i:04}"), "digital": true,
                          "number": format!("{}/UBND-VP", i + 1)});
        push(
            "document.signed",
            i.to_string(),
            at(i, totals.documents, 0.0, 1.0),
            data,
        );
    }
    for i in 0..totals.petitions {
        let petition_id = format!("PAKN-{period}-{i:03}");
        let received = at(i, totals.petitions, 0.0, 0.5);
        push(
            "petition.received",
            i.to_string(),
            received,
            json!({"petition_id": petition_id}),
        );
        let resolved = received + span / 4;
        push(
            "petition.resolved",
            i.to_string(),
            resolved,
            json!({"petition_id": petition_id}),
        );
    }
    let dossiers = totals.online + totals.direct;
    for i in 0..dossiers {
        let dossier_id = format!("HS-{period}-{i:04}");
        // Spread the direct dossiers evenly among the online ones.
        let channel = if (i + 1) * totals.direct / dossiers > i * totals.direct / dossiers {
            "direct"
        } else {
            "online"
        };
        let resolved_early = i < totals.resolved_early;
        let (received, due) = if resolved_early {
            let received = at(i, totals.resolved_early, 0.0, 0.8);
            (received, received + TimeDelta::days(7))
        } else {
            let received = at(
                i - totals.resolved_early,
                dossiers - totals.resolved_early,
                0.8,
                1.0,
            );
            (received, end + TimeDelta::days(7))
        };
        let data = json!({"dossier_id": dossier_id, "channel": channel, "digitized": true,
                          "due_at": local_rfc3339(due, tz)});
        push("procedure.received", i.to_string(), received, data);
        if resolved_early {
            let resolved = received + TimeDelta::days(1).min(span / 8);
            push(
                "procedure.resolved",
                i.to_string(),
                resolved,
                json!({"dossier_id": dossier_id}),
            );
        }
    }
    for i in 0..totals.articles {
        let data = json!({"article_id": format!("TB-{period}-{i:03}"),
                          "title": format!("Tin hoạt động phường số {}", i + 1)});
        push(
            "article.published",
            i.to_string(),
            at(i, totals.articles, 0.0, 1.0),
            data,
        );
    }
    events.sort_by_key(|event| event.occurred_at);
    Ok(events)
}

/// `count` synthetic events for `units`, happening around `now`: documents, articles,
/// petitions and dossiers, each resolved event after its received event.
pub fn load_events(
    units: &[UnitCode],
    count: usize,
    now: DateTime<Utc>,
    tz: Tz,
    seed: u64,
) -> Vec<SimEvent> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut events = Vec::with_capacity(count);
    let mut open: Vec<(&'static str, String)> = Vec::new();
    while events.len() < count {
        let unit = &units[rng.usize(..units.len())];
        let when = now - TimeDelta::milliseconds(rng.i64(0..3_600_000));
        let id = uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes()).into_uuid();
        let roll = rng.u8(..100);
        let (kind, data) = if roll < 25 && !open.is_empty() {
            let (kind, item) = open.swap_remove(rng.usize(..open.len()));
            (
                kind,
                if kind == "petition.resolved" {
                    json!({"petition_id": item})
                } else {
                    json!({"dossier_id": item})
                },
            )
        } else if roll < 50 {
            let item = format!("HS-{}", Uuid::from_u128(rng.u128(..)).simple());
            open.push(("procedure.resolved", item.clone()));
            let channel = ["online", "online", "online", "direct", "postal"][rng.usize(..5)];
            let due = now + TimeDelta::days(rng.i64(-3..15));
            (
                "procedure.received",
                json!({"dossier_id": item, "channel": channel,
                "due_at": local_rfc3339(due, tz), "digitized": rng.bool()}),
            )
        } else if roll < 55 {
            let item = format!("PAKN-{}", Uuid::from_u128(rng.u128(..)).simple());
            open.push(("petition.resolved", item.clone()));
            ("petition.received", json!({"petition_id": item}))
        } else if roll < 90 {
            (
                "document.signed",
                json!({"document_id": format!("VB-{}", Uuid::from_u128(rng.u128(..)).simple()),
                "digital": rng.u8(..10) > 0, "number": format!("{}/UBND", rng.u32(1..999))}),
            )
        } else {
            (
                "article.published",
                json!({"article_id": format!("TB-{}", Uuid::from_u128(rng.u128(..)).simple()),
                "title": "Tin hoạt động phường"}),
            )
        };
        events.push(SimEvent::new(id, kind, unit, when, tz, data));
    }
    events
}

impl SimEvent {
    /// The event `id` of `type_name` for `unit` at `when`, its `occurred_at` written with the
    /// offset of `tz`.
    pub(crate) fn new(
        id: Uuid,
        type_name: &'static str,
        unit: &UnitCode,
        when: DateTime<Utc>,
        tz: Tz,
        data: Value,
    ) -> Self {
        let body = json!({
            "id": id, "type": type_name, "occurred_at": local_rfc3339(when, tz),
            "unit": unit.as_str(), "data": data,
        });
        // Serializing a `Value` into memory cannot fail.
        let body = serde_json::to_vec(&body).unwrap_or_default();
        Self {
            id,
            type_name,
            occurred_at: when,
            body,
        }
    }
}

/// `instant` in RFC 3339 with the offset of `tz`, to the second.
pub(crate) fn local_rfc3339(instant: DateTime<Utc>, tz: Tz) -> String {
    instant
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Publishes `events` to their exchanges with publisher confirms, in chunks, at most `rate`
/// events a second if given. Returns the number published.
pub async fn publish(
    publisher: &Publisher,
    topology: &Topology,
    events: &[SimEvent],
    rate: Option<f64>,
) -> anyhow::Result<usize> {
    let chunk = match rate {
        Some(rate) => (rate / 20.0).clamp(1.0, 1000.0) as usize,
        None => 1000,
    };
    let started = tokio::time::Instant::now();
    let mut published = 0;
    for slice in events.chunks(chunk) {
        let messages = slice
            .iter()
            .map(|event| {
                let exchange = topology
                    .exchange_for_type(event.type_name)
                    .with_context(|| format!("'{}' is not an event type", event.type_name))?;
                Ok(OutgoingMessage {
                    exchange,
                    routing_key: event.type_name,
                    body: &event.body,
                    headers: None,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        published += publisher
            .publish_confirmed(messages)
            .await
            .context("Failed to publish events")?;
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64(published as f64 / rate);
            tokio::time::sleep_until(due).await;
        }
    }
    Ok(published)
}

/// Publishes sync `bodies` to the portal's exchange, in order, with publisher confirms, as a
/// source publishing straight to the broker would (no `x-baocao-source`: they count for
/// `broker`). Returns the number published.
pub async fn publish_bodies(
    publisher: &Publisher,
    topology: &Topology,
    bodies: &[dvcqg::SimBody],
) -> anyhow::Result<usize> {
    let mut published = 0;
    for chunk in bodies.chunks(50) {
        let messages = chunk
            .iter()
            .map(|body| OutgoingMessage {
                exchange: &topology.portal_exchange,
                routing_key: &body.routing_key,
                body: &body.body,
                headers: None,
            })
            .collect();
        published += publisher
            .publish_confirmed(messages)
            .await
            .context("Failed to publish sync bodies")?;
    }
    Ok(published)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh;

    #[test]
    fn the_seed_month_lies_inside_its_window_with_the_reference_totals() {
        let unit = UnitCode::parse("tri-qua").unwrap();
        let period: Period = "2026-05".parse().unwrap();
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let events = seed_events(&unit, period, Ho_Chi_Minh, now, REFERENCE_MONTH).unwrap();
        let window = period.window(Ho_Chi_Minh);
        assert!(events.iter().all(|e| window.contains(e.occurred_at)));
        let count = |kind| events.iter().filter(|e| e.type_name == kind).count();
        assert_eq!(count("document.signed"), 157);
        assert_eq!(
            (count("petition.received"), count("petition.resolved")),
            (5, 5)
        );
        assert_eq!(
            (count("procedure.received"), count("procedure.resolved")),
            (550, 513)
        );
        assert_eq!(count("article.published"), 78);
        let direct = events
            .iter()
            .filter(|e| String::from_utf8_lossy(&e.body).contains("\"direct\""))
            .count();
        assert_eq!(direct, 85);
        let again = seed_events(&unit, period, Ho_Chi_Minh, now, REFERENCE_MONTH).unwrap();
        assert!(
            events.iter().zip(&again).all(|(a, b)| a.id == b.id),
            "seed ids are not stable"
        );
    }
}
