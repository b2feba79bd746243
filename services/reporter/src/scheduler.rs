//! The scheduler (SPEC §4): which periods are due, its single step, and what it will do about
//! a period, as the dashboard and `report status` tell it.
//!
//! A step reads every unit's registration in one statement and looks only at the periods after
//! the last one it settled, so a step with nothing due costs the same whatever the history.
//! Each due period is issued on its own: one unit's failure (a broken template, say) is recorded
//! for that unit and period and shown, and the others go on. While ingest may still hold events
//! of the window (a backlog in the queues, or no word from ingest lately), a due period waits,
//! up to a bound, before it is issued.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use domain::schedule::Schedule;
use domain::{Period, UnitCode};
use serde::Serialize;
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
pub async fn backlog(pool: &PgPool) -> anyhow::Result<Option<String>> {
    let Some(heard) = store::schedule::ingest_heard(pool, INGEST_SILENCE).await? else {
        return Ok(None);
    };
    Ok(if heard.since > INGEST_SILENCE {
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
    })
}

/// What one step did about one unit's period.
#[derive(Debug)]
pub enum Done {
    /// Issued, or found issued already, or without events.
    Issued(Issued),
    /// Waiting for ingest's backlog, for this reason.
    Waiting(String),
    /// Issuing failed; recorded, and tried again next step.
    Failed(anyhow::Error),
}

/// The scheduler's single step: issues every due report of every unit as of `now`. Fails only
/// if the units' registrations cannot be read; each unit's and period's own failure is in the
/// returned list.
pub async fn step(
    pool: &PgPool,
    jobs: &[UnitJob<'_>],
    now: DateTime<Utc>,
    backlog_wait: Duration,
) -> anyhow::Result<Vec<(UnitCode, Period, Done)>> {
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
                backlog_why = Some(backlog(pool).await.unwrap_or(None));
            }
            let waited_enough = now >= job.schedule.send_at(period, job.tz) + bound(backlog_wait);
            if let Some(Some(why)) = backlog_why.as_ref().filter(|_| !waited_enough) {
                done.push((unit.clone(), period, Done::Waiting(why.clone())));
                break;
            }
            let outcome = issue_one(pool, job, period, now).await;
            let failed = matches!(outcome, Done::Failed(_));
            done.push((unit.clone(), period, outcome));
            if failed {
                break; // Later periods wait for this one: the watermark stays before it.
            }
        }
    }
    Ok(done)
}

fn bound(wait: Duration) -> TimeDelta {
    TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1))
}

/// Issues one due period, settles it when done, and records or clears its failure.
async fn issue_one(pool: &PgPool, job: &UnitJob<'_>, period: Period, now: DateTime<Utc>) -> Done {
    let unit = &job.profile.code;
    match job::issue(pool, job, period, now, Resend::No).await {
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

/// What the scheduler will do about a period of a unit, with why not when it will not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Plan {
    /// The window is still open.
    Open {
        /// When it closes.
        closes: DateTime<Utc>,
    },
    /// It will be issued then.
    Scheduled {
        /// The sending time.
        at: DateTime<Utc>,
    },
    /// Its time has come: the next step (within half a minute) issues it.
    Due,
    /// Its time has come, and it waits for ingest (at most until `until`).
    Waiting {
        /// Why.
        why: String,
        /// When it is issued whatever ingest says.
        until: DateTime<Utc>,
    },
    /// Issuing it failed; every step tries again.
    Failing {
        /// The last error.
        error: String,
        /// When it first failed.
        since: DateTime<Utc>,
        /// Failed attempts so far.
        attempts: i32,
    },
    /// Issued as this revision.
    Issued {
        /// The latest revision.
        revision: i32,
    },
    /// Not issued: its window has no events.
    NoEvents,
    /// Not issued automatically: its window had no events when it was due, and has some now.
    /// `report send` issues it.
    SkippedEmpty,
    /// Not issued: its window ended before baocao first ran for the unit.
    BeforeConfigured,
}

impl Plan {
    /// The plan in a sentence, for `report status`.
    pub fn describe(&self) -> String {
        match self {
            Plan::Open { closes } => format!("the window is open until {closes}"),
            Plan::Scheduled { at } => format!("not sent yet: it is sent automatically at {at}"),
            Plan::Due => "due: the next scheduler step (within half a minute) sends it".into(),
            Plan::Waiting { why, until } => {
                format!("due, waiting for ingest ({why}); sent at {until} at the latest")
            }
            Plan::Failing {
                error,
                since,
                attempts,
            } => format!(
                "FAILING since {since} ({attempts} attempts): {}",
                domain::text::escape_controls(error)
            ),
            Plan::Issued { revision } => format!("sent (revision {revision})"),
            Plan::NoEvents => "not sent: its window has no events".into(),
            Plan::SkippedEmpty => "not sent automatically: its window had no events on its day; \
                                   `report send` sends it now"
                .into(),
            Plan::BeforeConfigured => {
                "not sent: its window closed before baocao ran for the unit".into()
            }
        }
    }
}

/// What the scheduler will do about `job`'s unit's `period` as of `now`.
pub async fn plan(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
    backlog_wait: Duration,
) -> anyhow::Result<Plan> {
    let unit = &job.profile.code;
    let window = period.window(job.tz);
    if window.end().to_utc() > now {
        return Ok(Plan::Open {
            closes: window.end().to_utc(),
        });
    }
    if let Some(latest) = store::reports::revisions(pool, unit, period).await?.last() {
        return Ok(Plan::Issued {
            revision: latest.revision,
        });
    }
    let registration = store::reports::registration(pool, unit).await?;
    if registration
        .as_ref()
        .is_some_and(|r| window.end().to_utc() <= r.configured_at)
    {
        return Ok(Plan::BeforeConfigured);
    }
    let send_at = job.schedule.send_at(period, job.tz);
    if send_at > now {
        return Ok(Plan::Scheduled { at: send_at });
    }
    let (start, end) = (window.start().to_utc(), window.end().to_utc());
    let has_events = store::health::has_events(pool, &job.counted_units(), start, end).await?;
    let settled = registration
        .and_then(|r| r.settled_through)
        .is_some_and(|settled| settled >= period);
    match (settled, has_events) {
        (true, true) => return Ok(Plan::SkippedEmpty),
        (_, false) => return Ok(Plan::NoEvents),
        (false, true) => {}
    }
    let failures = store::schedule::failures(pool).await?;
    if let Some(failure) = failures
        .into_iter()
        .find(|f| f.unit == unit.as_str() && f.period == period)
    {
        return Ok(Plan::Failing {
            error: failure.error,
            since: failure.first_failed_at,
            attempts: failure.attempts,
        });
    }
    let until = send_at + bound(backlog_wait);
    Ok(match backlog(pool).await? {
        Some(why) if now < until => Plan::Waiting { why, until },
        _ => Plan::Due,
    })
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
