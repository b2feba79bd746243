//! Where a report stands: the one judgement of a period's report that `report status`, the
//! API's report list (`GET /api/units/{unit}/reports`) and the department's view
//! (`GET /api/overview`) all show, so that they never disagree.
//!
//! [`judge`] is pure: its [`Facts`] are read by the caller, one unit at a time
//! ([`of_period`]) or a whole province with grouped statements (the overview). Its rules are
//! the scheduler's own: the due periods ([`crate::scheduler::due_periods`]'s bounds), the wait
//! for ingest ([`crate::scheduler::waiting_until`]), a certificate that holds a unit's reports
//! ([`crate::certificates`]), and what makes a sent report out of date
//! ([`crate::job::figures_changed`]).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::Period;
use domain::schedule::Schedule;
use serde::Serialize;
use store::PgPool;
use store::overview::MessageCounts;
use store::reports::Registration;
use store::schedule::IssueFailure;

use crate::figures::Figures;
use crate::job::{UnitJob, figures_changed};
use crate::scheduler;

/// Where a period's report stands, and what rests on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReportState {
    /// The window is still open.
    Open {
        /// When it closes.
        closes: DateTime<Utc>,
    },
    /// The window has closed; the report is sent automatically at `send_at`.
    Scheduled,
    /// Its time has come: the next scheduler step (within half a minute) issues it.
    Due,
    /// Its time has come, and it waits for ingest (at most until `until`).
    Waiting {
        /// Why.
        why: String,
        /// When it is issued whatever ingest says.
        until: DateTime<Utc>,
    },
    /// Held: the unit signs its reports and its certificate cannot be used; it is issued
    /// (signed) once the certificate is mended, never unsigned.
    Held {
        /// Why the certificate cannot be used, naming the unit, never the password.
        cause: String,
    },
    /// Issuing it failed; every scheduler step tries again.
    Failing {
        /// The last error.
        error: String,
        /// When it first failed.
        since: DateTime<Utc>,
        /// Failed attempts so far.
        attempts: i32,
    },
    /// Issued; its messages are still to go out (queued, being sent or to be retried).
    Issued,
    /// Issued, and every message accepted by the mail server.
    Sent,
    /// Issued, and a message was refused for good: a recipient did not get it.
    Undelivered,
    /// Issued, but events that arrived since (or, for a summary, a member's report issued
    /// since) have changed its figures: a correction is due.
    OutOfDate,
    /// No report: its window has no events.
    NoEvents,
    /// Not issued automatically: its window had no events on its sending day, and has some
    /// now. `report send` issues it.
    SkippedEmpty,
    /// No report: its window ended before baocao first ran for the unit.
    BeforeConfigured,
}

/// A period's report as `report status`, the API and the department's view show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportView {
    /// The state, and what it rests on.
    #[serde(flatten)]
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
}

/// A revision's messages by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The latest revision of a period's report, as far as its state goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    /// The revision.
    pub revision: i32,
    /// Its number.
    pub number: Option<i32>,
    /// Its date.
    pub issued_on: NaiveDate,
    /// Its messages by state.
    pub messages: MessageCounts,
    /// Whether the figures have changed since it was issued ([`figures_changed`]).
    pub out_of_date: bool,
}

/// Everything a report's state is judged from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The unit's schedule.
    pub schedule: Schedule,
    /// The deployment's time zone.
    pub tz: Tz,
    /// The period.
    pub period: Period,
    /// As of when.
    pub now: DateTime<Utc>,
    /// How long a due report may wait for ingest.
    pub backlog_wait: Duration,
    /// The unit's registration (none: the scheduler registers it as of its next step).
    pub registration: Option<&'a Registration>,
    /// The latest revision, if there is one.
    pub latest: Option<Latest>,
    /// The issuing failure recorded for the period and not mended.
    pub failure: Option<&'a IssueFailure>,
    /// Whether the period's window has events (of the unit, or of a summary's members).
    pub has_events: bool,
    /// Why the unit's certificate cannot be used, if it signs and it cannot.
    pub signing: Option<&'a str>,
    /// Why a due report should wait for ingest ([`scheduler::backlog`]), if it should.
    pub backlog: Option<&'a str>,
}

/// Where the report stands. An issued report is judged by its latest revision: its messages
/// (one refused: undelivered), then its figures (changed: out of date); an issuing failure
/// recorded before that revision is over (issuing clears it). Without a report: what the
/// scheduler does about the period, in the order it decides it.
pub fn judge(facts: &Facts<'_>) -> ReportView {
    let send_at = facts.schedule.send_at(facts.period, facts.tz);
    let latest = facts.latest;
    ReportView {
        state: latest.map_or_else(|| unissued(facts, send_at), issued),
        send_at,
        revision: latest.map(|l| l.revision),
        number: latest.and_then(|l| l.number),
        issued_on: latest.map(|l| l.issued_on),
        messages: latest.map(|l| l.messages.into()),
    }
}

/// The state of an issued report.
fn issued(latest: Latest) -> ReportState {
    let messages = latest.messages;
    if messages.failed > 0 {
        ReportState::Undelivered
    } else if latest.out_of_date {
        ReportState::OutOfDate
    } else if messages.sent > 0 && messages.pending() == 0 {
        ReportState::Sent
    } else {
        ReportState::Issued
    }
}

/// The state of a report not issued (yet), as the scheduler sees the period.
fn unissued(f: &Facts<'_>, send_at: DateTime<Utc>) -> ReportState {
    let closes = f.period.window(f.tz).end().to_utc();
    // A unit never registered is registered at the scheduler's next step, as of then.
    let configured_at = f.registration.map_or(f.now, |r| r.configured_at);
    let settled = f
        .registration
        .and_then(|r| r.settled_through)
        .is_some_and(|settled| settled >= f.period);
    if closes > f.now {
        ReportState::Open { closes }
    } else if send_at > f.now {
        ReportState::Scheduled
    } else if closes <= configured_at {
        ReportState::BeforeConfigured
    } else if settled && f.has_events {
        ReportState::SkippedEmpty
    } else if !f.has_events {
        ReportState::NoEvents
    } else if let Some(cause) = f.signing {
        ReportState::Held {
            cause: cause.to_owned(),
        }
    } else if let Some(failure) = f.failure {
        ReportState::Failing {
            error: failure.error.clone(),
            since: failure.first_failed_at,
            attempts: failure.attempts,
        }
    } else {
        waiting_or_due(f, send_at)
    }
}

/// Due, unless ingest's backlog holds it (up to its bound).
fn waiting_or_due(f: &Facts<'_>, send_at: DateTime<Utc>) -> ReportState {
    match (
        f.backlog,
        scheduler::waiting_until(send_at, f.now, f.backlog_wait, f.backlog),
    ) {
        (Some(why), Some(until)) => ReportState::Waiting {
            why: why.to_owned(),
            until,
        },
        _ => ReportState::Due,
    }
}

/// A judged period, and whether its latest revision's figures have changed since (which the
/// report list shows even when a refused message decides the state).
#[derive(Debug, Clone)]
pub struct Judged {
    /// Where it stands.
    pub view: ReportView,
    /// Events (or members' reports) that arrived since the latest revision changed its figures.
    pub out_of_date: bool,
}

/// Where `job`'s report of `period` stands as of `now`: its facts read from the store (the
/// current figures only when a revision is there to compare them with; ingest's heartbeat only
/// when the report is due), then judged.
pub async fn of_period(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
    backlog_wait: Duration,
) -> anyhow::Result<Judged> {
    let unit = &job.profile.code;
    let stored = store::overview::period_reports(pool, std::slice::from_ref(unit), period).await?;
    let standing = stored.standings.first();
    let latest = match stored.reports.first() {
        Some(report) => {
            let current = Figures::read(pool, job, period, now).await?;
            Some(Latest {
                revision: report.revision,
                number: report.number,
                issued_on: report.issued_on,
                messages: report.messages,
                out_of_date: figures_changed(&report.indicators, &current.document()),
            })
        }
        None => None,
    };
    let window = period.window(job.tz);
    let closed = window.end().to_utc() <= now;
    let send_at = job.schedule.send_at(period, job.tz);
    let (has_events, backlog) = if latest.is_none() && closed {
        let (start, end) = (window.start().to_utc(), window.end().to_utc());
        let has_events = store::health::has_events(pool, &job.counted_units(), start, end).await?;
        let backlog = if send_at <= now {
            scheduler::backlog(pool).await
        } else {
            None
        };
        (has_events, backlog)
    } else {
        (false, None)
    };
    let signing = job.signing(now);
    let view = judge(&Facts {
        schedule: job.schedule,
        tz: job.tz,
        period,
        now,
        backlog_wait,
        registration: standing.and_then(|s| s.registration.as_ref()),
        latest,
        failure: standing.and_then(|s| s.failure.as_ref()),
        has_events,
        signing: signing.unavailable(),
        backlog: backlog.as_deref(),
    });
    let out_of_date = latest.is_some_and(|l| l.out_of_date);
    Ok(Judged { view, out_of_date })
}

impl ReportView {
    /// The state in a sentence, for `report status`: its name first, then what it rests on.
    pub fn describe(&self) -> String {
        let revision = self
            .revision
            .map_or(String::new(), |r| format!(" (revision {r})"));
        let escape = domain::text::escape_controls;
        match &self.state {
            ReportState::Open { closes } => format!("open: the window is open until {closes}"),
            ReportState::Scheduled => {
                format!("scheduled: it is sent automatically at {}", self.send_at)
            }
            ReportState::Due => {
                "due: the next scheduler step (within half a minute) sends it".into()
            }
            ReportState::Waiting { why, until } => format!(
                "waiting: due, waiting for ingest ({}); sent at {until} at the latest",
                escape(why)
            ),
            ReportState::Held { cause } => format!(
                "held: not sent, as its signing certificate cannot be used ({}); it is sent \
                 once the certificate is mended",
                escape(cause)
            ),
            ReportState::Failing {
                error,
                since,
                attempts,
            } => format!(
                "failing: issuing it has failed since {since} ({attempts} attempts): {}",
                escape(error)
            ),
            ReportState::Issued => format!("issued{revision}: messages still to go out"),
            ReportState::Sent => format!("sent{revision}"),
            ReportState::Undelivered => {
                format!("undelivered{revision}: a message was refused for good")
            }
            ReportState::OutOfDate => format!(
                "out_of_date{revision}: events arrived after sending; `report send --force` \
                 sends a correction"
            ),
            ReportState::NoEvents => "no_events: not sent, as its window has no events".into(),
            ReportState::SkippedEmpty => "skipped_empty: not sent automatically, as its window \
                                          had no events on its day; `report send` sends it now"
                .into(),
            ReportState::BeforeConfigured => {
                "before_configured: not sent, as its window closed before baocao ran for the unit"
                    .into()
            }
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

    fn may() -> Period {
        "2026-05".parse().expect("a period")
    }

    fn registration(settled: &str) -> Registration {
        Registration {
            unit: "tri-qua".into(),
            configured_at: at("2026-01-01T00:00:00Z"),
            settled_through: Some(settled.parse().expect("a period")),
        }
    }

    fn failure() -> IssueFailure {
        IssueFailure {
            unit: "tri-qua".into(),
            period: may(),
            error: "a broken template".into(),
            first_failed_at: at("2026-05-18T01:00:00Z"),
            last_failed_at: at("2026-05-18T01:30:00Z"),
            attempts: 3,
        }
    }

    fn latest(messages: MessageCounts, out_of_date: bool) -> Latest {
        Latest {
            revision: 1,
            number: Some(103),
            issued_on: NaiveDate::from_ymd_opt(2026, 5, 18).expect("a date"),
            messages,
            out_of_date,
        }
    }

    /// May's facts at `now`: registered on 1 January, settled through April, with events and
    /// nothing else.
    fn facts<'a>(now: &str, registration: &'a Registration) -> Facts<'a> {
        Facts {
            schedule: Schedule::default(),
            tz: Ho_Chi_Minh,
            period: may(),
            now: at(now),
            backlog_wait: Duration::from_secs(3600),
            registration: Some(registration),
            latest: None,
            failure: None,
            has_events: true,
            signing: None,
            backlog: None,
        }
    }

    fn state(facts: &Facts<'_>) -> ReportState {
        judge(facts).state
    }

    #[test]
    fn a_report_is_open_then_scheduled_then_due_at_its_time() {
        let april = registration("2026-04");
        let open = state(&facts("2026-05-10T00:00:00Z", &april));
        assert!(matches!(open, ReportState::Open { .. }), "{open:?}");
        assert_eq!(
            state(&facts("2026-05-17T00:00:00Z", &april)),
            ReportState::Scheduled
        );
        assert_eq!(
            state(&facts("2026-05-18T01:00:00Z", &april)),
            ReportState::Due
        );
    }

    #[test]
    fn a_due_report_waiting_for_ingest_is_waiting_not_due_until_its_bound() {
        let april = registration("2026-04");
        let mut waiting = facts("2026-05-18T01:30:00Z", &april);
        waiting.backlog = Some("250 messages still wait in the queues");
        assert_eq!(
            state(&waiting),
            ReportState::Waiting {
                why: "250 messages still wait in the queues".into(),
                until: at("2026-05-18T02:00:00Z"),
            }
        );
        waiting.now = at("2026-05-18T02:00:00Z");
        assert_eq!(state(&waiting), ReportState::Due);
    }

    #[test]
    fn a_unit_whose_certificate_cannot_be_used_is_held_before_failing_or_waiting() {
        let april = registration("2026-04");
        let failure = failure();
        let mut held = facts("2026-05-18T01:30:00Z", &april);
        held.signing = Some("unit 'tri-qua': expired");
        held.failure = Some(&failure);
        held.backlog = Some("ingest has not been heard from for 10 min");
        assert_eq!(
            state(&held),
            ReportState::Held {
                cause: "unit 'tri-qua': expired".into()
            }
        );
        held.signing = None;
        assert!(matches!(
            state(&held),
            ReportState::Failing { attempts: 3, .. }
        ));
        // Without events there is nothing to sign: no report, whatever the certificate.
        held.signing = Some("unit 'tri-qua': expired");
        held.has_events = false;
        assert_eq!(state(&held), ReportState::NoEvents);
    }

    #[test]
    fn an_issued_report_is_judged_by_its_revision_even_with_a_failure_recorded_before_it() {
        let april = registration("2026-04");
        let failure = failure();
        let mut issued = facts("2026-05-18T02:00:00Z", &april);
        issued.failure = Some(&failure);
        let sent = MessageCounts {
            sent: 3,
            superseded: 1,
            ..MessageCounts::default()
        };
        issued.latest = Some(latest(sent, false));
        let view = judge(&issued);
        assert_eq!((view.state, view.revision), (ReportState::Sent, Some(1)));
        issued.latest = Some(latest(sent, true));
        assert_eq!(state(&issued), ReportState::OutOfDate);
        let queued = MessageCounts {
            queued: 2,
            sent: 1,
            ..MessageCounts::default()
        };
        issued.latest = Some(latest(queued, false));
        assert_eq!(state(&issued), ReportState::Issued);
        let refused = MessageCounts {
            sent: 2,
            failed: 1,
            ..MessageCounts::default()
        };
        issued.latest = Some(latest(refused, true));
        assert_eq!(state(&issued), ReportState::Undelivered);
    }

    #[test]
    fn a_period_without_a_report_to_come_says_why() {
        let may_settled = registration("2026-05");
        let mut settled = facts("2026-06-30T00:00:00Z", &may_settled);
        assert_eq!(state(&settled), ReportState::SkippedEmpty);
        settled.has_events = false;
        assert_eq!(state(&settled), ReportState::NoEvents);
        // Never registered: the scheduler registers it now, after May's window.
        settled.registration = None;
        settled.has_events = true;
        assert_eq!(state(&settled), ReportState::BeforeConfigured);
    }

    #[test]
    fn the_state_is_named_in_json_beside_what_it_rests_on() {
        let april = registration("2026-04");
        let mut held = facts("2026-05-18T01:30:00Z", &april);
        held.signing = Some("unit 'tri-qua': the password is not set");
        let json = serde_json::to_value(judge(&held)).expect("JSON");
        assert_eq!(json["state"], "held");
        assert_eq!(json["cause"], "unit 'tri-qua': the password is not set");
        assert_eq!(json["send_at"], "2026-05-18T01:00:00Z");
        assert!(judge(&held).describe().starts_with("held: "));
    }
}
