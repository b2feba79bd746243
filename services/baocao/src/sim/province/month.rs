//! A plausible month of a generated province: for each ward its documents, articles, petitions
//! and dossiers, with figures that vary with the ward's size and habits, and the counts they
//! must give (SPEC §5), so that a test can hold the pipeline to them exactly.
//!
//! Everything is drawn from generators seeded by the seed, the ward and the period, and every
//! id is derived from them, so a month published twice counts once. A petition or dossier still
//! pending at the end of a month is carried into the next: the next month repeats its received
//! event (same id, same body) and resolves it. Each month's figures are therefore the same
//! whether it is published alone or after the month before.
//!
//! Times are local working hours on the window's calendar days, deadlines at 17:00 of a day,
//! and each dossier's outcome (resolved early, on time or late, pending) is decided first and
//! its days chosen to match: a dossier is never resolved on the day it arrives, so "early" and
//! "on time" follow from the days alone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::{Counts, Period, UnitCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Ward;
use crate::sim::{SimEvent, local_rfc3339};
use draw::{Calendar, Habits, OFFICE_HOURS, generator};

mod draw;
#[cfg(test)]
mod tests;

/// The seed `baocao sim --profile province` uses: the same province every time.
pub const SEED: u64 = 2025;

/// Namespace of the province's deterministic ids and generator seeds.
const NAMESPACE: Uuid = Uuid::from_u128(0x5f0c_6a2e_8d41_4b8e_9c3a_71d2_e0b4_a915);

/// The events of `period` for each of `wards`, as of `now`: those that happened before `now`,
/// every one inside the period's window except the received events of the petitions and
/// dossiers carried over from the month before (repeated, as they were published then).
pub fn month_events(
    wards: &[Ward],
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
    seed: u64,
) -> anyhow::Result<Vec<SimEvent>> {
    started(period, tz, now)?;
    let mut events = Vec::new();
    for ward in wards {
        let month = Month::of(ward, period, tz, seed);
        let happened = month.events(ward, tz, seed).into_iter();
        events.extend(happened.filter(|event| event.occurred_at < now));
    }
    events.sort_by_key(|event| event.occurred_at);
    Ok(events)
}

/// The counts of `period`'s window as of `now` for each of `wards`, in order, once
/// [`month_events`] (of this period, with or without those of the month before) are stored.
pub fn expected_counts(
    wards: &[Ward],
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
    seed: u64,
) -> anyhow::Result<Vec<Counts>> {
    started(period, tz, now)?;
    Ok(wards
        .iter()
        .map(|ward| Month::of(ward, period, tz, seed).counts(now))
        .collect())
}

/// Refuses a period whose window has not opened by `now`.
fn started(period: Period, tz: Tz, now: DateTime<Utc>) -> anyhow::Result<()> {
    let window = period.window(tz);
    anyhow::ensure!(
        window.start().to_utc() <= now,
        "period {period} has not started yet (its window opens {})",
        window.start()
    );
    Ok(())
}

/// A petition or a dossier: numbered in the period it was received in.
#[derive(Debug, Clone, Copy)]
struct Case {
    period: Period,
    index: usize,
    received: DateTime<Utc>,
    /// Within the month generated, if at all.
    resolved: Option<DateTime<Utc>>,
}

/// How a dossier ends within the month generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Early,
    OnTime,
    Late,
    /// Not resolved within the month; overdue or not by its deadline.
    Pending,
}

#[derive(Debug, Clone, Copy)]
struct Dossier {
    case: Case,
    channel: &'static str,
    digitized: bool,
    due: DateTime<Utc>,
    outcome: Outcome,
}

#[derive(Debug, Clone, Copy)]
struct Document {
    index: usize,
    at: DateTime<Utc>,
    digital: bool,
}

/// One ward's month: what it received, signed, published and resolved in the window, and the
/// petitions and dossiers it carried over from the month before.
#[derive(Debug, Clone)]
struct Month {
    period: Period,
    calendar: Calendar,
    documents: Vec<Document>,
    articles: Vec<DateTime<Utc>>,
    petitions: Vec<Case>,
    dossiers: Vec<Dossier>,
}

impl Month {
    /// The month of `ward` in `period`, with what the month before left pending resolved.
    fn of(ward: &Ward, period: Period, tz: Tz, seed: u64) -> Self {
        let habits = Habits::of(&ward.code, seed);
        let mut month = Self::own(&ward.code, habits, period, tz, seed);
        let before = Self::own(&ward.code, habits, period.previous(), tz, seed);
        let mut rng = generator(seed, &format!("{}/{period}/carried", ward.code));
        month.carry_over(&before, &mut rng);
        month
    }

    /// What `period` brings by itself: each case resolved within the window or left pending.
    fn own(unit: &UnitCode, habits: Habits, period: Period, tz: Tz, seed: u64) -> Self {
        let calendar = Calendar::of(period, tz);
        let mut rng = generator(seed, &format!("{unit}/{period}"));
        // This month's activity against the ward's usual.
        let busy = 0.85 + 0.3 * rng.f64();
        let documents = draw::documents(&calendar, habits, busy, &mut rng);
        let articles = draw::articles(&calendar, habits, &mut rng);
        let petitions = draw::petitions(&calendar, period, habits, &mut rng);
        let dossiers = draw::dossiers(&calendar, period, habits, busy, &mut rng);
        Self {
            period,
            calendar,
            documents,
            articles,
            petitions,
            dossiers,
        }
    }

    /// Takes in the cases `before` left pending and resolves them within this month: the
    /// petitions in its first week, the overdue dossiers (late) in its first days, the others
    /// mostly before their deadline.
    fn carry_over(&mut self, before: &Month, rng: &mut fastrand::Rng) {
        let calendar = self.calendar;
        let office = |rng: &mut fastrand::Rng| rng.i64(OFFICE_HOURS);
        for case in before.petitions.iter().filter(|c| c.resolved.is_none()) {
            let resolved = calendar.at(rng.i64(0..7), office(rng));
            let case = Case {
                resolved: Some(resolved),
                ..*case
            };
            self.petitions.push(case);
        }
        for dossier in before.dossiers.iter().filter(|d| d.case.resolved.is_none()) {
            let due_day = calendar.day_of(dossier.due);
            let roll = rng.u8(..100);
            let (day, outcome) = if due_day < 0 {
                (rng.i64(0..5), Outcome::Late)
            } else if due_day >= 1 && roll < 80 {
                (rng.i64(0..due_day), Outcome::Early)
            } else if roll < 95 {
                (due_day, Outcome::OnTime)
            } else {
                (due_day + rng.i64(1..4), Outcome::Late)
            };
            let case = Case {
                resolved: Some(calendar.at(day, office(rng))),
                ..dossier.case
            };
            self.dossiers.push(Dossier {
                case,
                outcome,
                ..*dossier
            });
        }
    }

    /// The counts of this month's window as of `now`, by SPEC §5 for what [`Month::events`]
    /// published before `now`.
    fn counts(&self, now: DateTime<Utc>) -> Counts {
        let (start, end) = (self.calendar.start, self.calendar.end);
        let overdue_at = end.min(now);
        let seen = |at: DateTime<Utc>| at < now;
        let count = |n: usize| n as i64;
        let documents = self.documents.iter().filter(|d| seen(d.at));
        let received = |case: &Case| case.received >= start && seen(case.received);
        let resolved = |case: &Case| case.resolved.is_some_and(seen);
        let dossiers = || self.dossiers.iter();
        let new_dossiers = || dossiers().filter(|d| received(&d.case));
        let resolved_as = |outcome| {
            dossiers()
                .filter(|d| resolved(&d.case) && d.outcome == outcome)
                .count()
        };
        let on_channel = |channel| new_dossiers().filter(|d| d.channel == channel).count();
        let pending_overdue = dossiers()
            .filter(|d| seen(d.case.received) && !resolved(&d.case) && d.due < overdue_at);
        Counts {
            documents_issued: count(documents.clone().count()),
            documents_digitally_signed: count(documents.filter(|d| d.digital).count()),
            petitions_carried_over: count(
                self.petitions.iter().filter(|c| c.received < start).count(),
            ),
            petitions_received: count(self.petitions.iter().filter(|c| received(c)).count()),
            petitions_resolved: count(self.petitions.iter().filter(|c| resolved(c)).count()),
            procedures_carried_over: count(dossiers().filter(|d| d.case.received < start).count()),
            procedures_received: count(new_dossiers().count()),
            procedures_online: count(on_channel("online")),
            procedures_direct: count(on_channel("direct")),
            procedures_postal: count(on_channel("postal")),
            procedures_digitized: count(new_dossiers().filter(|d| d.digitized).count()),
            procedures_resolved: count(dossiers().filter(|d| resolved(&d.case)).count()),
            procedures_resolved_early: count(resolved_as(Outcome::Early)),
            procedures_resolved_late: count(resolved_as(Outcome::Late)),
            // The simulated portal's own events have no withdrawals.
            procedures_resolved_without_result: 0,
            procedures_pending_overdue: count(pending_overdue.count()),
            articles_published: count(self.articles.iter().filter(|at| seen(**at)).count()),
        }
    }

    /// Every event of the month, those of the cases carried over included. An item's events
    /// take their ids from the ward, the period it was numbered in, the type and its number.
    fn events(&self, ward: &Ward, tz: Tz, seed: u64) -> Vec<SimEvent> {
        let mut events = Vec::new();
        let unit = &ward.code;
        let mut push = |kind: &'static str, (period, index): (Period, usize), at, data: Value| {
            let name = format!("{seed}/{unit}/{period}/{kind}/{index}");
            let id = Uuid::new_v5(&NAMESPACE, name.as_bytes());
            events.push(SimEvent::new(id, kind, unit, at, tz, data));
        };
        let period = self.period;
        for &Document { index, at, digital } in &self.documents {
            let data = json!({"document_id": format!("VBD-{period}-{index:04}"),
                              "digital": digital, "number": format!("{}/UBND-VP", index + 1)});
            push("document.signed", (period, index), at, data);
        }
        for (index, &at) in self.articles.iter().enumerate() {
            let title = format!("Tin hoạt động {} {} số {}", ward.kind, ward.name, index + 1);
            let data = json!({"article_id": format!("TIN-{period}-{index:03}"), "title": title});
            push("article.published", (period, index), at, data);
        }
        for case in &self.petitions {
            let item = (case.period, case.index);
            let data = json!({"petition_id": format!("PA-{}-{:03}", item.0, item.1)});
            push("petition.received", item, case.received, data.clone());
            if let Some(resolved) = case.resolved {
                push("petition.resolved", item, resolved, data);
            }
        }
        for dossier in &self.dossiers {
            let (case, item) = (dossier.case, (dossier.case.period, dossier.case.index));
            let dossier_id = format!("DVC-{}-{:04}", item.0, item.1);
            let data = json!({"dossier_id": dossier_id, "channel": dossier.channel,
                              "digitized": dossier.digitized,
                              "due_at": local_rfc3339(dossier.due, tz)});
            push("procedure.received", item, case.received, data);
            if let Some(resolved) = case.resolved {
                push(
                    "procedure.resolved",
                    item,
                    resolved,
                    json!({"dossier_id": dossier_id}),
                );
            }
        }
        events
    }
}
