//! Gathering a report's inputs from the store: the figures (a unit's, or a summary's members'),
//! the period's narrative edits and the number the report has (or would get), for `report show`
//! and the dashboard's preview.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::Period;
use domain::profile::{Narrative, NarrativeField, NumberingMode};
use store::PgPool;
use store::narrative::NarrativeEdit;

use crate::content::{ReportContent, ReportInputs};
use crate::figures::Figures;
use crate::job::UnitJob;

/// The content of `profile`'s report for `period` as it stands now: figures as of `now` for the
/// open window, the period's narrative edits, and the number the next report would take.
pub async fn preview(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
) -> anyhow::Result<ReportContent> {
    let profile = job.profile;
    // A draft carries the sending day; a revision issued later carries the day it is issued.
    let date = job.schedule.send_date(period);
    let number = match profile.numbering.mode {
        NumberingMode::Blank => None,
        NumberingMode::Sequence => {
            let first = profile.numbering.first_number(date.year());
            Some(store::numbering::peek(pool, &profile.code, date.year(), first).await?)
        }
    };
    compose(pool, job, period, now, date, number).await
}

/// The content of `profile`'s report for `period` with the figures as of `now`, dated `date`
/// and numbered `number`.
pub async fn compose(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
    date: NaiveDate,
    number: Option<u32>,
) -> anyhow::Result<ReportContent> {
    let (profile, tz) = (job.profile, job.tz);
    let unit = &profile.code;
    let figures = Figures::read(pool, job, period, now).await?;
    let edits = store::narrative::for_period(pool, unit, period).await?;
    let window = period.window(tz);
    let overdue = crate::items::overdue(pool, job, period, now).await?;
    let mut content = ReportContent::new(ReportInputs {
        profile,
        figures: &figures,
        member_names: &job.member_names,
        narrative: with_edits(&profile.narrative, &edits),
        number,
        date,
        window_days: (window.start().date_naive(), window.end().date_naive()),
        as_of: now.with_timezone(&tz),
    });
    content.overdue = overdue;
    Ok(content)
}

/// The configured narrative with a period's edits applied field by field.
pub fn with_edits(narrative: &Narrative, edits: &[NarrativeEdit]) -> Narrative {
    let mut narrative = narrative.clone();
    for edit in edits {
        // Fields are checked when an edit is stored; one from an older version is skipped.
        if let Ok(field) = NarrativeField::parse(&edit.field) {
            narrative.set(field, edit.paragraphs.clone());
        }
    }
    narrative
}
