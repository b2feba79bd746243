//! Gathering a report's inputs from the store: the indicators, the period's narrative edits and
//! the number the report has (or would get), for `report show` and the dashboard's preview.

use anyhow::Context;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use domain::Period;
use domain::profile::{Narrative, NumberingMode};
use store::PgPool;
use store::narrative::NarrativeEdit;

use crate::content::{ReportContent, ReportInputs};
use crate::job::UnitJob;

/// When reports are dated and sent.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// The day of month M on which the report for M is sent (15–28).
    pub send_day: u32,
    /// The local time at which it is sent.
    pub send_time: NaiveTime,
}

impl Schedule {
    /// The date of `period`'s report.
    pub fn report_date(self, period: Period) -> anyhow::Result<NaiveDate> {
        NaiveDate::from_ymd_opt(period.year(), period.month(), self.send_day)
            .with_context(|| format!("day {} of {period} is not a date", self.send_day))
    }

    /// This schedule with `profile`'s own `[unit.schedule]` applied.
    pub fn for_unit(self, profile: &domain::profile::UnitProfile) -> Self {
        Self {
            send_day: profile.schedule.send_day.map_or(self.send_day, |day| day.0),
            send_time: profile
                .schedule
                .send_time
                .map_or(self.send_time, |time| time.0),
        }
    }

    /// The instant `period`'s report is due to be sent, in zone `tz`.
    pub fn send_at(self, period: Period, tz: Tz) -> anyhow::Result<DateTime<Utc>> {
        let local = self.report_date(period)?.and_time(self.send_time);
        local
            .and_local_timezone(tz)
            .earliest()
            .map(|at| at.to_utc())
            .with_context(|| format!("{local} does not exist in {tz}"))
    }
}

/// The content of `profile`'s report for `period` as it stands now: figures as of `now` for the
/// open window, the period's narrative edits, and the number the next report would take.
pub async fn preview(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
) -> anyhow::Result<ReportContent> {
    let profile = job.profile;
    let date = job.schedule.report_date(period)?;
    let number = match profile.numbering.mode {
        NumberingMode::Blank => None,
        NumberingMode::Sequence => {
            let first = profile.numbering.first_number(date.year());
            Some(store::numbering::peek(pool, &profile.code, date.year(), first).await?)
        }
    };
    compose(pool, job, period, now, number).await
}

/// The content of `profile`'s report for `period` with the figures as of `now`, numbered
/// `number`.
pub async fn compose(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
    number: Option<u32>,
) -> anyhow::Result<ReportContent> {
    let (profile, tz, schedule) = (job.profile, job.tz, job.schedule);
    let unit = &profile.code;
    let indicators = store::indicators::for_period(pool, unit, period, tz, now).await?;
    let edits = store::narrative::for_period(pool, unit, period).await?;
    let date = schedule.report_date(period)?;
    let window = period.window(tz);
    Ok(ReportContent::new(ReportInputs {
        profile,
        indicators: &indicators,
        narrative: with_edits(&profile.narrative, &edits),
        number,
        date,
        window_days: (window.start().date_naive(), window.end().date_naive()),
        as_of: now.with_timezone(&tz),
    }))
}

/// The configured narrative with a period's edits applied field by field.
pub fn with_edits(narrative: &Narrative, edits: &[NarrativeEdit]) -> Narrative {
    let mut narrative = narrative.clone();
    for edit in edits {
        // Fields are checked when an edit is stored; one from an older version is skipped.
        if let Some(paragraphs) = narrative.field_mut(&edit.field) {
            paragraphs.clone_from(&edit.paragraphs);
        }
    }
    narrative
}
