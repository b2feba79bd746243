//! The scheduler (SPEC §4): which periods are due, and its single step. What the dashboard and
//! `report status` say about a period is judged in [`crate::state`], by the same rules.
//!
//! A step looks at the signing certificates again (a file replaced in place is read now), reads
//! every unit's registration in one statement and looks only at the periods after the last one
//! it settled, so a step with nothing due costs the same whatever the history. Each due period
//! is issued on its own: one unit's failure (a broken template, say) is recorded for that unit
//! and period and shown, a unit whose certificate cannot be used is held, and the others go on.
//! While ingest may still hold events of the window (a backlog in the queues, no word from
//! ingest lately, or its heartbeat cannot be read), a due period waits, up to a bound, before
//! it is issued.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use domain::schedule::Schedule;
use domain::{Period, UnitCode};
use store::PgPool;
use store::reports::Registration;

use crate::job::{self, Issued, Resend, UnitJob};

/// How long ingest may be silent before a due report waits for it.
pub const INGEST_SILENCE: Duration = Duration::from_secs(120);

/// The periods whose report is due by `now`, after `settled` (if any): those whose send time
/// has passed and whose window ended after `configured_at`, the moment baocao first ran for the
/// unit. Issuing a period twice does nothing, so a reporter started after a week (or a month)
/// down issues what it missed once.
pub fn due_periods(
    schedule: Schedule,
    tz: Tz,
    configured_at: DateTime<Utc>,
    settled: Option<Period>,
    now: DateTime<Utc>,
) -> Vec<Period> {
    let first = Period::containing(configured_at, tz);
    let mut period = settled.map_or(first, |settled| settled.next().max(first));
    let mut periods = Vec::new();
    while schedule.send_at(period, tz) <= now {
        if period.window(tz).end().to_utc() > configured_at {
            periods.push(period);
        }
        period = period.next();
    }
    periods
}

/// Why a due report should wait for ingest, if it should: `None` when no ingest has ever been
/// heard from (nothing to wait for), or when the last word is recent and the queues were empty.
/// A heartbeat that cannot be read is a reason to wait: a failed read must never issue a report
/// before its events are in.
pub async fn backlog(pool: &PgPool) -> Option<String> {
    let heard = match store::schedule::ingest_heard(pool, INGEST_SILENCE).await {
        Ok(heard) => heard?,
        Err(error) => return Some(format!("ingest's heartbeat cannot be read: {error:#}")),
    };
    if heard.since > INGEST_SILENCE {
        Some(format!(
            "ingest has not been heard from for {} min",
            heard.since.as_secs() / 60
        ))
    } else if heard.ready_messages > 0 {
        Some(format!(
            "{} messages still wait in the queues",
            heard.ready_messages
        ))
    } else {
        None
    }
}

/// Until when a report due at `send_at` waits for ingest as of `now`, when `backlog` says why
/// it should: at most `wait` after `send_at`; `None` once that has passed (it is issued
/// whatever ingest says) or when there is nothing to wait for.
pub fn waiting_until(
    send_at: DateTime<Utc>,
    now: DateTime<Utc>,
    wait: Duration,
    backlog: Option<&str>,
) -> Option<DateTime<Utc>> {
    backlog?;
    let until = send_at + bound(wait);
    (now < until).then_some(until)
}

/// What one step did about one unit's period.
#[derive(Debug)]
pub enum Done {
    /// Issued, or found issued already, or without events.
    Issued(Issued),
    /// Waiting for ingest's backlog, for this reason.
    Waiting(String),
    /// Held: the unit signs and its certificate cannot be used, for this reason. Tried again
    /// at every step, with the certificate read again.
    Held(String),
    /// Issuing failed; recorded, and tried again next step.
    Failed(anyhow::Error),
}

/// The scheduler's single step: looks at the signing certificates again, then issues every due
/// report of every unit as of `now`. Fails only if the units' registrations cannot be read;
/// each unit's and period's own failure is in the returned list.
pub async fn step(
    pool: &PgPool,
    jobs: &[UnitJob<'_>],
    now: DateTime<Utc>,
    backlog_wait: Duration,
) -> anyhow::Result<Vec<(UnitCode, Period, Done)>> {
    refresh_certificates(jobs, now).await;
    let units: Vec<UnitCode> = jobs.iter().map(|job| job.profile.code.clone()).collect();
    let registrations: HashMap<String, Registration> = store::reports::register(pool, &units, now)
        .await?
        .into_iter()
        .map(|registration| (registration.unit.clone(), registration))
        .collect();
    let mut backlog_why: Option<Option<String>> = None;
    let mut done = Vec::new();
    for job in jobs {
        let unit = &job.profile.code;
        let Some(registration) = registrations.get(unit.as_str()) else {
            continue;
        };
        let due = due_periods(
            job.schedule,
            job.tz,
            registration.configured_at,
            registration.settled_through,
            now,
        );
        for period in due {
            // Read once a step, and only when something is due.
            if backlog_why.is_none() {
                backlog_why = Some(backlog(pool).await);
            }
            let why = backlog_why.as_ref().and_then(Option::as_deref);
            let send_at = job.schedule.send_at(period, job.tz);
            if let (Some(why), Some(_)) = (why, waiting_until(send_at, now, backlog_wait, why)) {
                done.push((unit.clone(), period, Done::Waiting(why.to_owned())));
                break;
            }
            let outcome = issue_one(pool, job, period, now).await;
            let settled = matches!(outcome, Done::Issued(_));
            done.push((unit.clone(), period, outcome));
            if !settled {
                break; // Later periods wait for this one: the watermark stays before it.
            }
        }
    }
    Ok(done)
}

/// Looks at every job's certificates again (all jobs share one set; each set is looked at once).
async fn refresh_certificates(jobs: &[UnitJob<'_>], now: DateTime<Utc>) {
    let mut looked: Vec<&std::sync::Arc<crate::certificates::Certificates>> = Vec::new();
    for job in jobs {
        if !looked
            .iter()
            .any(|c| std::sync::Arc::ptr_eq(c, &job.certificates))
        {
            job.certificates.refresh(now).await;
            looked.push(&job.certificates);
        }
    }
}

/// `wait` as a span of time (an hour if it is beyond reckoning).
fn bound(wait: Duration) -> TimeDelta {
    TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1))
}

/// Issues one due period, settles it when done, and records or clears its failure.
async fn issue_one(pool: &PgPool, job: &UnitJob<'_>, period: Period, now: DateTime<Utc>) -> Done {
    let unit = &job.profile.code;
    match job::issue(pool, job, period, now, Resend::No).await {
        // Neither settled nor recorded as a failure: issued once the certificate works.
        Ok(Issued::SigningUnavailable { cause }) => Done::Held(cause),
        Ok(issued) => {
            let settled = async {
                store::reports::settle(pool, unit, period).await?;
                store::schedule::clear_failure(pool, unit, period).await
            };
            match settled.await {
                Ok(()) => Done::Issued(issued),
                Err(error) => Done::Failed(error),
            }
        }
        Err(error) => {
            let text = format!("{error:#}");
            if let Err(recording) =
                store::schedule::record_failure(pool, unit, period, &text, now).await
            {
                tracing::warn!(
                    error = format!("{recording:#}"),
                    "cannot record a failed issue"
                );
            }
            Done::Failed(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an instant")
    }

    fn due(configured: &str, settled: Option<&str>, now: &str) -> Vec<String> {
        let settled = settled.map(|p| p.parse().expect("a period"));
        due_periods(
            Schedule::default(),
            Ho_Chi_Minh,
            at(configured),
            settled,
            at(now),
        )
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    #[test]
    fn a_report_is_due_at_eight_on_the_eighteenth_in_vietnam() {
        assert!(due("2026-11-01T00:00:00Z", None, "2026-11-18T00:59:59Z").is_empty());
        assert_eq!(
            due("2026-11-01T00:00:00Z", None, "2026-11-18T01:00:00Z"),
            ["2026-11"]
        );
    }

    #[test]
    fn december_is_due_in_december_and_january_in_january() {
        assert_eq!(
            due("2026-12-01T00:00:00Z", None, "2026-12-18T01:00:00Z"),
            ["2026-12"]
        );
        assert_eq!(
            due("2026-12-01T00:00:00Z", None, "2027-01-18T01:00:00Z"),
            ["2026-12", "2027-01"]
        );
        assert_eq!(
            due("2026-12-20T00:00:00Z", None, "2027-01-18T01:00:00Z"),
            ["2027-01"]
        );
    }

    #[test]
    fn periods_that_ended_before_configuration_are_never_due() {
        // Configured on 16 May: May's window closed on the 15th.
        assert!(due("2026-05-16T00:00:00Z", None, "2026-05-25T00:00:00Z").is_empty());
        // Configured on 14 May: May's window was still open.
        assert_eq!(
            due("2026-05-14T00:00:00Z", None, "2026-05-25T00:00:00Z"),
            ["2026-05"]
        );
    }

    #[test]
    fn a_due_report_waits_for_ingest_only_with_a_reason_and_only_up_to_its_bound() {
        let send_at = at("2026-05-18T01:00:00Z");
        let hour = Duration::from_secs(3600);
        let why = Some("250 messages still wait in the queues");
        assert_eq!(
            waiting_until(send_at, at("2026-05-18T01:30:00Z"), hour, why),
            Some(at("2026-05-18T02:00:00Z"))
        );
        assert_eq!(
            waiting_until(send_at, at("2026-05-18T02:00:00Z"), hour, why),
            None
        );
        assert_eq!(
            waiting_until(send_at, at("2026-05-18T01:30:00Z"), hour, None),
            None
        );
    }

    #[test]
    fn settled_periods_are_not_looked_at_again() {
        let two_years = due(
            "2024-11-01T00:00:00Z",
            Some("2026-10"),
            "2026-11-30T00:00:00Z",
        );
        assert_eq!(two_years, ["2026-11"]);
        assert!(
            due(
                "2024-11-01T00:00:00Z",
                Some("2026-11"),
                "2026-11-30T00:00:00Z"
            )
            .is_empty()
        );
    }
}
