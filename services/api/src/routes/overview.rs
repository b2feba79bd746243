//! The department's view (SPEC §12): every configured unit for one period, its key figures and
//! where its report stands, and each summary beside them. The cost grows with the rows shown,
//! not with units × months: the figures are one grouped count for all units
//! ([`store::indicators::for_units`]), the reports two statements
//! ([`store::overview::period_reports`]) and which units have events one more, whatever the
//! number of units. Where a report stands is the reporter's one judgement
//! ([`reporter::state::judge`]), as `report status` and the unit's report list say it; a
//! summary's member rows are its report's ([`reporter::figures::member_rows`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use domain::indicators::{SummaryIndicators, WindowBounds};
use domain::schedule::Schedule;
use domain::{Counts, Indicators, Period, UnitCode, notation};
use reporter::service::ReporterConfig;
use reporter::state::{Facts, Latest, ReportView};
use serde::Serialize;
use store::overview::{LatestReport, Standing};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::units::PeriodQuery;
use super::{ApiResult, ErrorBody, Shared, parse_period, started};
use crate::AppState;
use crate::access::Who;

/// `/api/overview`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(overview))
}

/// Every unit and summary for one period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    /// The period shown.
    pub period: String,
    /// The open window's period.
    pub open_period: String,
    /// False while the period's window is open: the figures are as of now.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The period's window.
    pub window: WindowBounds,
    /// When the figures were read.
    pub as_of: DateTime<Utc>,
    /// Every configured unit, in configuration order.
    pub units: Vec<UnitRow>,
    /// The key figures of all the units together (shares from summed numerators and
    /// denominators).
    pub total: KeyFigures,
    /// Every configured summary, in configuration order.
    pub summaries: Vec<SummaryRow>,
}

/// One unit's row.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitRow {
    /// The code events carry.
    pub code: String,
    /// How the unit names itself, e.g. "UBND phường Trí Quả".
    pub name: String,
    /// "phường", "xã" or "đặc khu".
    pub kind: String,
    /// Its key figures for the period (as of now for the open window).
    pub figures: KeyFigures,
    /// Where its report for the period stands.
    pub report: ReportView,
}

/// One summary's row.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryRow {
    /// The summary's code.
    pub code: String,
    /// How it names itself, e.g. "Sở Khoa học và Công nghệ".
    pub name: String,
    /// How many units it rolls up.
    pub members: usize,
    /// How many of them have issued their report for the period.
    pub members_issued: usize,
    /// Its members' key figures together.
    pub figures: KeyFigures,
    /// Where its report for the period stands.
    pub report: ReportView,
}

/// The figures the department compares units by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct KeyFigures {
    /// Dossiers received in the window.
    pub dossiers_received: i64,
    /// Online dossiers of those received.
    pub online: Share,
    /// Dossiers resolved early or on the due day, of those resolved in the window.
    pub on_time: Share,
    /// Dossiers pending past their due date (at the window's end, or now for the open one).
    pub pending_overdue: i64,
    /// Documents signed digitally of those issued.
    pub documents_signed: Share,
    /// Petitions received in the window.
    pub petitions_received: i64,
    /// Petitions still pending.
    pub petitions_pending: i64,
    /// Articles published.
    pub articles_published: i64,
}

/// A share from its numerator and denominator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Share {
    /// The numerator.
    pub part: i64,
    /// The denominator.
    pub whole: i64,
    /// In percent, rounded half-up to two decimals as the report writes it; null when the
    /// denominator is 0 ("không phát sinh").
    pub percent: Option<f64>,
}

/// The department's view of a period: every unit's key figures and report state, and each
/// summary's, in one answer whose cost does not grow with the months of history.
#[utoipa::path(get, path = "/api/overview", tag = "reports", security(("bearer" = [])),
    params(PeriodQuery),
    responses((status = 200, body = Overview), (status = 400, body = ErrorBody),
               (status = 422, description = "The period has not started (`not_started`)", body = ErrorBody)))]
pub async fn overview(
    State(state): Shared,
    Extension(who): Extension<Who>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<Json<Overview>> {
    let period = match query.period {
        Some(text) => started(&state, parse_period(&text)?)?,
        None => state.open_period(),
    };
    let config = &state.config.reports;
    let now = Utc::now();
    let units: Vec<UnitCode> = config.units.iter().map(|u| u.code.clone()).collect();
    let issuers: Vec<UnitCode> = config.issuers().map(|u| u.code.clone()).collect();
    let (indicators, stored) = tokio::try_join!(
        store::indicators::for_units(&state.pool, &units, period, config.tz, now),
        store::overview::period_reports(&state.pool, &issuers, period),
    )?;
    let (with_events, backlog) = closed_period_facts(&state, &units, period, now).await?;
    let known = Known {
        config,
        period,
        now,
        reports: stored
            .reports
            .iter()
            .map(|r| (r.unit.as_str(), r))
            .collect(),
        standings: stored
            .standings
            .iter()
            .map(|s| (s.unit.as_str(), s))
            .collect(),
        with_events: with_events.iter().map(String::as_str).collect(),
        backlog,
    };
    let window = period.window(config.tz);
    let rows: Vec<UnitRow> = config
        .units
        .iter()
        .zip(&indicators)
        .map(|(profile, current)| UnitRow {
            code: profile.code.to_string(),
            name: profile.short_name.clone(),
            kind: profile.kind.clone(),
            figures: KeyFigures::of(&current.counts()),
            report: known.report(&profile.code, config.job(profile).schedule, current),
        })
        .collect();
    let summaries = known.summaries(&indicators)?;
    // A person sees the rows their roles name, and the total of those.
    let visible = |code: &str| who.may_read(code);
    let rows = rows.into_iter().filter(|r| visible(&r.code)).collect();
    let summaries = summaries.into_iter().filter(|s| visible(&s.code)).collect();
    let counted = config
        .units
        .iter()
        .zip(&indicators)
        .filter(|(profile, _)| visible(profile.code.as_str()))
        .map(|(_, current)| current.counts());
    Ok(Json(Overview {
        period: period.to_string(),
        open_period: state.open_period().to_string(),
        is_final: now >= window.end().to_utc(),
        window: WindowBounds::of(&window),
        as_of: now,
        units: rows,
        total: KeyFigures::of(&counted.sum()),
        summaries,
    }))
}

/// For a period whose window has closed, which units have events in it and why a due report
/// would wait for ingest: two statements, whatever the number of units. Nothing for the open
/// window, whose reports are not due.
async fn closed_period_facts(
    state: &crate::AppState,
    units: &[UnitCode],
    period: Period,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<String>, Option<String>)> {
    let window = period.window(state.config.reports.tz);
    let (start, end) = (window.start().to_utc(), window.end().to_utc());
    if end > now {
        return Ok((Vec::new(), None));
    }
    let with_events = store::health::units_with_events(&state.pool, units, start, end).await?;
    Ok((with_events, reporter::scheduler::backlog(&state.pool).await))
}

/// What is known of every issuer's report for the period.
struct Known<'a> {
    config: &'a ReporterConfig,
    period: Period,
    now: DateTime<Utc>,
    reports: HashMap<&'a str, &'a LatestReport>,
    standings: HashMap<&'a str, &'a Standing>,
    /// The units with events in the (closed) period's window.
    with_events: HashSet<&'a str>,
    /// Why a due report would wait for ingest.
    backlog: Option<String>,
}

impl Known<'_> {
    /// Where `unit`'s report stands, its current figures being `current` (its document, §5's
    /// or a summary's), by the reporter's one judgement.
    fn report(&self, unit: &UnitCode, schedule: Schedule, current: &impl Serialize) -> ReportView {
        let standing = self.standings.get(unit.as_str()).copied();
        let latest = self.reports.get(unit.as_str()).map(|report| Latest {
            revision: report.revision,
            number: report.number,
            issued_on: report.issued_on,
            messages: report.messages,
            out_of_date: reporter::job::figures_changed(&report.indicators, &to_json(current)),
        });
        let job = self.config.unit(unit.as_str()).map(|p| self.config.job(p));
        let counted = job.as_ref().map_or_else(Vec::new, |j| j.counted_units());
        let signing = job.as_ref().map(|j| j.signing(self.now));
        reporter::state::judge(&Facts {
            schedule,
            tz: self.config.tz,
            period: self.period,
            now: self.now,
            backlog_wait: self.config.backlog_wait,
            registration: standing.and_then(|s| s.registration.as_ref()),
            latest,
            failure: standing.and_then(|s| s.failure.as_ref()),
            has_events: counted
                .iter()
                .any(|c| self.with_events.contains(c.as_str())),
            signing: signing.as_ref().and_then(|s| s.unavailable()),
            backlog: self.backlog.as_deref(),
        })
    }

    /// Every summary's row, from its members' figures already read: each member's row is
    /// what it issued, or its live figures, provisional, as the summary's report has them.
    fn summaries(&self, live: &[Indicators]) -> anyhow::Result<Vec<SummaryRow>> {
        let window = self.period.window(self.config.tz);
        let is_final = self.now >= window.end().to_utc();
        let by_code: HashMap<&str, &Indicators> =
            live.iter().map(|i| (i.unit.as_str(), i)).collect();
        let frozen: HashMap<&str, (i32, &serde_json::Value)> = self
            .reports
            .iter()
            .map(|(unit, r)| (*unit, (r.revision, &r.indicators)))
            .collect();
        self.config
            .summaries
            .iter()
            .map(|profile| {
                let job = self.config.job(profile);
                let members: Vec<Indicators> = job
                    .members
                    .iter()
                    .flatten()
                    .filter_map(|code| by_code.get(code.as_str()).map(|i| (*i).clone()))
                    .collect();
                let rows = reporter::figures::member_rows(members, &frozen)?;
                let counts: Counts = rows.iter().map(|m| m.indicators.counts()).sum();
                let count = rows.len();
                let document = SummaryIndicators::new(
                    profile.code.clone(),
                    self.period,
                    window,
                    is_final,
                    rows,
                );
                Ok(SummaryRow {
                    code: profile.code.to_string(),
                    name: profile.short_name.clone(),
                    members: count,
                    members_issued: document.reported.issued,
                    figures: KeyFigures::of(&counts),
                    report: self.report(&profile.code, job.schedule, &document),
                })
            })
            .collect()
    }
}

/// A document as JSON, to compare with a frozen one.
fn to_json(document: &impl Serialize) -> serde_json::Value {
    // Plain structs of numbers and strings: serializing them cannot fail.
    serde_json::to_value(document).unwrap_or_default()
}

impl KeyFigures {
    /// The key figures of `c`, a unit's counts or several units' summed.
    pub fn of(c: &Counts) -> Self {
        Self {
            dossiers_received: c.procedures_received,
            online: Share::of(c.procedures_online, c.procedures_received),
            on_time: Share::of(
                c.procedures_resolved - c.procedures_resolved_late,
                c.procedures_resolved,
            ),
            pending_overdue: c.procedures_pending_overdue,
            documents_signed: Share::of(c.documents_digitally_signed, c.documents_issued),
            petitions_received: c.petitions_received,
            petitions_pending: c.petitions_pending(),
            articles_published: c.articles_published,
        }
    }
}

impl Share {
    /// `part` of `whole`.
    pub fn of(part: i64, whole: i64) -> Self {
        Self {
            part,
            whole,
            percent: notation::share_value(part, whole),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_without_a_denominator_are_null() {
        let figures = KeyFigures::of(&Counts::default());
        assert_eq!(figures.online.percent, None);
        assert_eq!(figures.on_time.percent, None);
        let counts = Counts {
            procedures_received: 550,
            procedures_online: 465,
            procedures_resolved: 513,
            procedures_resolved_early: 500,
            procedures_resolved_late: 13,
            ..Counts::default()
        };
        let figures = KeyFigures::of(&counts);
        assert_eq!(figures.online.percent, Some(84.55));
        assert_eq!((figures.on_time.part, figures.on_time.whole), (500, 513));
    }
}
