//! What a report is computed from: a unit's indicators document (SPEC §5), or a summary's
//! member rows, their total and how many had issued their report (SPEC §12). Read with the
//! same grouped statements whatever the number of members.
//!
//! A summary's row of a member is what that member issued: the figures its latest issued
//! revision froze, so that the department's table says what the ward signed, whatever arrived
//! since. A member that has issued nothing is counted now, and its row is marked provisional.

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::indicators::SummaryIndicators;
use domain::{Indicators, MemberFigures, Period, UnitCode};
use store::PgPool;

use crate::job::UnitJob;

/// The figures of one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Figures {
    /// A unit's own.
    Unit(Indicators),
    /// A summary's.
    Summary {
        /// Its document.
        document: SummaryIndicators,
    },
}

impl Figures {
    /// The figures of `job`'s report for `period` as of `now`.
    pub async fn read(
        pool: &PgPool,
        job: &UnitJob<'_>,
        period: Period,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let members = job.members.as_deref();
        Self::read_for(pool, &job.profile.code, members, period, job.tz, now).await
    }

    /// The figures of unit `code` (or of summary `code` of `members`) for `period` as of
    /// `now`, in the deployment's zone `tz`.
    pub async fn read_for(
        pool: &PgPool,
        code: &UnitCode,
        members: Option<&[UnitCode]>,
        period: Period,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let Some(members) = members else {
            let own = store::indicators::for_period(pool, code, period, tz, now).await?;
            return Ok(Figures::Unit(own));
        };
        let (live, issued) = tokio::try_join!(
            store::indicators::for_units(pool, members, period, tz, now),
            store::reports::issued_figures(pool, members, period),
        )?;
        let frozen = issued
            .iter()
            .map(|i| (i.unit.as_str(), (i.revision, &i.indicators)))
            .collect();
        let rows = member_rows(live, &frozen)?;
        let window = period.window(tz);
        let is_final = now >= window.end().to_utc();
        let document = SummaryIndicators::new(code.clone(), period, window, is_final, rows);
        Ok(Figures::Summary { document })
    }

    /// The document the figure paragraphs are written from: the unit's, or the summary's
    /// total (every share from summed numerators and denominators).
    pub fn indicators(&self, tz: Tz) -> Indicators {
        match self {
            Figures::Unit(own) => own.clone(),
            Figures::Summary { document } => document.total(document.period.window(tz)),
        }
    }

    /// The JSON document: SPEC §5's for a unit, §12's for a summary. What `--format json`
    /// prints, what the API returns and what a sent revision freezes.
    pub fn document(&self) -> serde_json::Value {
        // Both are plain structs of numbers and strings: serializing them cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The period.
    pub fn period(&self) -> Period {
        match self {
            Figures::Unit(own) => own.period,
            Figures::Summary { document } => document.period,
        }
    }
}

/// Serialized as its document, fields in the SPEC's order.
impl serde::Serialize for Figures {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Figures::Unit(own) => own.serialize(serializer),
            Figures::Summary { document } => document.serialize(serializer),
        }
    }
}

/// A summary's member rows, in the order of `live` (each member's figures counted now): a
/// member in `issued` (its latest issued revision and the figures that revision froze) has
/// those, the others their live figures, marked provisional. The one rule for every place that
/// shows a summary (its report, the API, the department's view).
pub fn member_rows(
    live: Vec<Indicators>,
    issued: &std::collections::HashMap<&str, (i32, &serde_json::Value)>,
) -> anyhow::Result<Vec<MemberFigures>> {
    live.into_iter()
        .map(|now| match issued.get(now.unit.as_str()) {
            Some(&(revision, frozen)) => {
                let figures: Indicators =
                    serde_json::from_value(frozen.clone()).with_context(|| {
                        format!(
                            "revision {revision} of {}'s report has figures that cannot be read",
                            now.unit
                        )
                    })?;
                Ok(MemberFigures::issued(figures, revision))
            }
            None => Ok(MemberFigures::provisional(now)),
        })
        .collect()
}

impl UnitJob<'_> {
    /// The units whose events make this report: the unit itself, or a summary's members.
    pub fn counted_units(&self) -> Vec<UnitCode> {
        match &self.members {
            Some(members) => members.clone(),
            None => vec![self.profile.code.clone()],
        }
    }
}
