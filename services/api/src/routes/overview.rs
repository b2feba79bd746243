//! The department's view (SPEC §12): every configured unit for one period, its key figures and
//! where its report stands, and each summary beside them. The cost grows with the rows shown,
//! not with units × months: the figures are one grouped count for all units
//! ([`store::indicators::for_units`]) and the reports two statements
//! ([`store::overview::period_reports`]), whatever the number of units.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::indicators::{SummaryIndicators, WindowBounds};
use domain::schedule::Schedule;
use domain::{Counts, Indicators, Period, UnitCode, notation};
use reporter::service::ReporterConfig;
use serde::Serialize;
use store::overview::{LatestReport, MessageCounts, Standing};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::units::PeriodQuery;
use super::{ApiResult, ErrorBody, Shared, parse_period, started};
use crate::AppState;

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

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// The window is open, or its sending time has not come.
    NotDue,
    /// Its sending time has passed and the scheduler will issue it (within half a minute, or
    /// once ingest's backlog is in).
    Due,
    /// Issued; its messages are still to go out (queued, being sent or to be retried).
    Issued,
    /// Issued and every message accepted by the mail server.
    Sent,
    /// A message was refused for good, or issuing failed and has not succeeded since.
    Failed,
    /// Issued, but events that arrived since have changed its figures: a correction is due.
    OutOfDate,
    /// No report and none to come: the window had no events on its sending day, or closed
    /// before baocao ran for the unit.
    NoReport,
}

/// A report's state and what it rests on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportView {
    /// The state.
    pub state: ReportState,
    /// When the report is (or was) due on schedule.
    pub send_at: DateTime<Utc>,
    /// The latest revision (null: not issued).
    pub revision: Option<i32>,
    /// Its number (null: not issued, or numbered by hand).
    pub number: Option<i32>,
    /// Its date.
    pub issued_on: Option<NaiveDate>,
    /// The latest revision's messages by state.
    pub messages: Option<Messages>,
    /// Why it failed: the issuing's last error.
    pub error: Option<String>,
}

/// A revision's messages by state.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[allow(missing_docs)]
pub struct Messages {
    pub queued: i64,
    pub sending: i64,
    pub retrying: i64,
    pub sent: i64,
    pub failed: i64,
    pub superseded: i64,
}

impl From<MessageCounts> for Messages {
    fn from(m: MessageCounts) -> Self {
        Self {
            queued: m.queued,
            sending: m.sending,
            retrying: m.retrying,
            sent: m.sent,
            failed: m.failed,
            superseded: m.superseded,
        }
    }
}

/// The department's view of a period: every unit's key figures and report state, and each
/// summary's, in one answer whose cost does not grow with the months of history.
#[utoipa::path(get, path = "/api/overview", tag = "reports", security(("bearer" = [])),
    params(PeriodQuery),
    responses((status = 200, body = Overview), (status = 400, body = ErrorBody),
               (status = 422, description = "The period has not started (`not_started`)", body = ErrorBody)))]
pub async fn overview(
    State(state): Shared,
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
    let reports: HashMap<&str, &LatestReport> = stored
        .reports
        .iter()
        .map(|r| (r.unit.as_str(), r))
        .collect();
    let standings: HashMap<&str, &Standing> = stored
        .standings
        .iter()
        .map(|s| (s.unit.as_str(), s))
        .collect();
    let facts = Facts {
        config,
        period,
        now,
        reports: &reports,
        standings: &standings,
    };
    let window = period.window(config.tz);
    let rows = config
        .units
        .iter()
        .zip(&indicators)
        .map(|(profile, current)| UnitRow {
            code: profile.code.to_string(),
            name: profile.short_name.clone(),
            kind: profile.kind.clone(),
            figures: KeyFigures::of(&current.counts()),
            report: facts.report(&profile.code, config.job(profile).schedule, current),
        })
        .collect();
    let by_code: HashMap<&str, &Indicators> =
        indicators.iter().map(|i| (i.unit.as_str(), i)).collect();
    let summaries = facts.summaries(&by_code);
    Ok(Json(Overview {
        period: period.to_string(),
        open_period: state.open_period().to_string(),
        is_final: now >= window.end().to_utc(),
        window: WindowBounds::of(&window),
        as_of: now,
        units: rows,
        total: KeyFigures::of(&indicators.iter().map(Indicators::counts).sum()),
        summaries,
    }))
}

/// What is known of every issuer's report for the period.
struct Facts<'a> {
    config: &'a ReporterConfig,
    period: Period,
    now: DateTime<Utc>,
    reports: &'a HashMap<&'a str, &'a LatestReport>,
    standings: &'a HashMap<&'a str, &'a Standing>,
}

impl Facts<'_> {
    /// Where `unit`'s report stands, its current figures being `current` (its document, §5's
    /// or a summary's).
    fn report(&self, unit: &UnitCode, schedule: Schedule, current: &impl Serialize) -> ReportView {
        let standing = self.standings.get(unit.as_str()).copied();
        judge(Judged {
            latest: self.reports.get(unit.as_str()).copied(),
            failure: standing
                .and_then(|s| s.failure.as_ref())
                .map(|f| f.error.as_str()),
            changed: |frozen: &serde_json::Value| {
                reporter::job::figures_changed(frozen, &to_json(current))
            },
            due: |period| {
                let registration = standing.and_then(|s| s.registration.as_ref());
                is_due(schedule, self.config.tz, registration, period, self.now)
            },
            schedule,
            tz: self.config.tz,
            period: self.period,
            now: self.now,
        })
    }

    /// Every summary's row, from its members' figures already read.
    fn summaries(&self, by_code: &HashMap<&str, &Indicators>) -> Vec<SummaryRow> {
        let window = self.period.window(self.config.tz);
        let is_final = self.now >= window.end().to_utc();
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
                let issued = job
                    .members
                    .iter()
                    .flatten()
                    .filter(|code| self.reports.contains_key(code.as_str()))
                    .count();
                let counts: Counts = members.iter().map(Indicators::counts).sum();
                let count = members.len();
                let document = SummaryIndicators::new(
                    profile.code.clone(),
                    self.period,
                    window,
                    is_final,
                    members,
                    issued,
                );
                SummaryRow {
                    code: profile.code.to_string(),
                    name: profile.short_name.clone(),
                    members: count,
                    members_issued: issued,
                    figures: KeyFigures::of(&counts),
                    report: self.report(&profile.code, job.schedule, &document),
                }
            })
            .collect()
    }
}

/// A document as JSON, to compare with a frozen one.
fn to_json(document: &impl Serialize) -> serde_json::Value {
    // Plain structs of numbers and strings: serializing them cannot fail.
    serde_json::to_value(document).unwrap_or_default()
}

/// Whether the scheduler will issue `period` for a unit registered as `registration` (never
/// registered: it registers at its next step, as of now), by the scheduler's own rule.
fn is_due(
    schedule: Schedule,
    tz: Tz,
    registration: Option<&store::reports::Registration>,
    period: Period,
    now: DateTime<Utc>,
) -> bool {
    let configured_at = registration.map_or(now, |r| r.configured_at);
    let settled = registration.and_then(|r| r.settled_through);
    reporter::scheduler::due_periods(schedule, tz, configured_at, settled, now).contains(&period)
}

/// What a report's state is judged from.
struct Judged<'a, C, D> {
    latest: Option<&'a LatestReport>,
    failure: Option<&'a str>,
    /// Whether a frozen document's figures differ from the current ones.
    changed: C,
    /// Whether the scheduler will issue a period not issued yet.
    due: D,
    schedule: Schedule,
    tz: Tz,
    period: Period,
    now: DateTime<Utc>,
}

/// A report's state: a refused message or a failed issue first (someone must act), then
/// figures changed since it was issued, then its messages; without a report, what the
/// scheduler will do.
fn judge<C, D>(j: Judged<'_, C, D>) -> ReportView
where
    C: Fn(&serde_json::Value) -> bool,
    D: Fn(Period) -> bool,
{
    let send_at = j.schedule.send_at(j.period, j.tz);
    let closed = j.period.window(j.tz).end().to_utc() <= j.now;
    let state = match j.latest {
        Some(latest) if latest.messages.failed > 0 || j.failure.is_some() => ReportState::Failed,
        Some(latest) if (j.changed)(&latest.indicators) => ReportState::OutOfDate,
        Some(latest) if latest.messages.sent > 0 && latest.messages.pending() == 0 => {
            ReportState::Sent
        }
        Some(_) => ReportState::Issued,
        None if j.failure.is_some() => ReportState::Failed,
        None if !closed || send_at > j.now => ReportState::NotDue,
        None if (j.due)(j.period) => ReportState::Due,
        None => ReportState::NoReport,
    };
    ReportView {
        state,
        send_at,
        revision: j.latest.map(|r| r.revision),
        number: j.latest.and_then(|r| r.number),
        issued_on: j.latest.map(|r| r.issued_on),
        messages: j.latest.map(|r| r.messages.into()),
        error: j.failure.map(str::to_owned),
    }
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
    use chrono_tz::Asia::Ho_Chi_Minh;
    use store::reports::Registration;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn may() -> Period {
        "2026-05".parse().unwrap()
    }

    fn report(messages: MessageCounts) -> LatestReport {
        LatestReport {
            unit: "tri-qua".into(),
            revision: 1,
            number: Some(103),
            issued_on: NaiveDate::from_ymd_opt(2026, 5, 18).unwrap(),
            created_at: at("2026-05-18T01:00:00Z"),
            indicators: serde_json::json!({"documents": {"issued": 157}}),
            signed_by: None,
            messages,
        }
    }

    /// The state of May's report at `now`, with `latest` stored and `failure` recorded; the
    /// figures changed since when `changed`; the unit registered on 1 January.
    fn state(
        latest: Option<&LatestReport>,
        failure: Option<&str>,
        changed: bool,
        now: &str,
    ) -> ReportState {
        let now = at(now);
        let registration = Registration {
            unit: "tri-qua".into(),
            configured_at: at("2026-01-01T00:00:00Z"),
            settled_through: Some("2026-04".parse().unwrap()),
        };
        judge(Judged {
            latest,
            failure,
            changed: |_: &serde_json::Value| changed,
            due: |period| {
                is_due(
                    Schedule::default(),
                    Ho_Chi_Minh,
                    Some(&registration),
                    period,
                    now,
                )
            },
            schedule: Schedule::default(),
            tz: Ho_Chi_Minh,
            period: may(),
            now,
        })
        .state
    }

    #[test]
    fn a_report_is_not_due_before_its_sending_time_and_due_after() {
        // The window closes on 15 May, 00:00 local; the report goes on the 18th at 08:00.
        assert_eq!(
            state(None, None, false, "2026-05-10T00:00:00Z"),
            ReportState::NotDue
        );
        assert_eq!(
            state(None, None, false, "2026-05-17T00:00:00Z"),
            ReportState::NotDue
        );
        assert_eq!(
            state(None, None, false, "2026-05-18T01:00:00Z"),
            ReportState::Due
        );
    }

    #[test]
    fn a_period_the_scheduler_settled_without_a_report_has_none() {
        let now = at("2026-06-30T00:00:00Z");
        let registration = Registration {
            unit: "tri-qua".into(),
            configured_at: at("2026-01-01T00:00:00Z"),
            settled_through: Some(may()),
        };
        assert!(!is_due(
            Schedule::default(),
            Ho_Chi_Minh,
            Some(&registration),
            may(),
            now
        ));
        // Never registered: the scheduler registers it now, after May's window.
        assert!(!is_due(Schedule::default(), Ho_Chi_Minh, None, may(), now));
        let judged = judge(Judged {
            latest: None,
            failure: None,
            changed: |_: &serde_json::Value| false,
            due: |_| false,
            schedule: Schedule::default(),
            tz: Ho_Chi_Minh,
            period: may(),
            now,
        });
        assert_eq!(judged.state, ReportState::NoReport);
    }

    #[test]
    fn messages_decide_between_issued_sent_and_failed() {
        let now = "2026-05-18T02:00:00Z";
        let queued = report(MessageCounts {
            queued: 2,
            sent: 1,
            ..Default::default()
        });
        let sent = report(MessageCounts {
            sent: 3,
            superseded: 1,
            ..Default::default()
        });
        let failed = report(MessageCounts {
            sent: 2,
            failed: 1,
            ..Default::default()
        });
        assert_eq!(state(Some(&queued), None, false, now), ReportState::Issued);
        assert_eq!(state(Some(&sent), None, false, now), ReportState::Sent);
        assert_eq!(state(Some(&failed), None, false, now), ReportState::Failed);
        // Figures changed since: a correction is due, unless a message failed.
        assert_eq!(state(Some(&sent), None, true, now), ReportState::OutOfDate);
        assert_eq!(state(Some(&failed), None, true, now), ReportState::Failed);
    }

    #[test]
    fn a_failed_issue_shows_until_it_is_mended() {
        let now = "2026-05-18T02:00:00Z";
        assert_eq!(
            state(None, Some("template"), false, now),
            ReportState::Failed
        );
    }

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
