//! Issuing reports: when a period's send time comes, freeze its figures, take its number, render
//! it, and store the revision with one outbox message per recipient address, in one
//! transaction.
//!
//! [`issue_due_reports`] is the scheduler's single step: it takes the clock as a parameter, so
//! tests run "the 18th at 08:00" without waiting, and a reporter started late catches up. It
//! issues each due period once, whatever the number of reporters running it.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use domain::notation;
use domain::profile::{NumberingMode, UnitProfile};
use domain::{Period, UnitCode};
use store::PgPool;
use store::audit::{Action, Actor};
use store::reports::{Addressee, NewReport, SignatureRecord};

use domain::schedule::Schedule;

use crate::certificates::{Certificates, Signing};
use crate::compose;
use crate::content::SignatureView;
use crate::signature::Place;
use crate::{Format, Renderer, ReportContent, TemplateSource};

/// What a unit's reports need besides the database.
#[derive(Debug, Clone)]
pub struct UnitJob<'a> {
    /// The unit.
    pub profile: &'a UnitProfile,
    /// The deployment's time zone.
    pub tz: Tz,
    /// When reports are sent.
    pub schedule: Schedule,
    /// Where the templates come from.
    pub templates: TemplateSource,
    /// Every signing unit's certificate as this process last read it.
    pub certificates: Arc<Certificates>,
    /// For a summary, the units it rolls up, in its table's order; `None` for a unit.
    pub members: Option<Vec<UnitCode>>,
    /// The members' names, as its table lists them.
    pub member_names: Vec<String>,
}

/// What issuing one period's report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// A revision was stored and its messages queued.
    Stored {
        /// The revision.
        revision: i32,
        /// Its number, if baocao numbers reports.
        number: Option<u32>,
        /// The messages queued.
        messages: usize,
    },
    /// The period already has a report, and no corrected revision was asked for.
    AlreadyIssued {
        /// The latest revision.
        revision: i32,
    },
    /// The window has no events: there is nothing to report.
    NoEvents,
    /// The window is still open at `now`: its report cannot be issued yet.
    WindowOpen {
        /// When it closes, in the deployment's zone.
        closes: chrono::DateTime<Tz>,
    },
    /// A correction named the revision it replaces, and that is no longer the latest: someone
    /// sent a correction meanwhile (a second click, a second officer).
    Stale {
        /// The revision the correction meant to replace.
        replaces: i32,
        /// The latest revision now.
        latest: i32,
    },
    /// The unit signs its reports and its certificate cannot be used: the report is held, not
    /// issued unsigned, until the certificate is mended.
    SigningUnavailable {
        /// Why, naming the unit and never the password.
        cause: String,
    },
}

/// Whether a period already sent may get a new revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// No: a period that has a report is left alone.
    No,
    /// Yes, a correction of the latest revision, or only of `replaces` if it is still the
    /// latest (so that a repeated request does not send two corrections).
    Correction {
        /// The revision the correction replaces, as the requester saw it.
        replaces: Option<i32>,
    },
}

impl Issued {
    /// A stable code for the outcome, the same in the API's answers and in what the command
    /// line says: `stored`, `already_sent`, `window_open`, `no_events`, `stale_revision` or
    /// `signing_unavailable`.
    pub fn code(&self) -> &'static str {
        match self {
            Issued::Stored { .. } => "stored",
            Issued::AlreadyIssued { .. } => "already_sent",
            Issued::WindowOpen { .. } => "window_open",
            Issued::NoEvents => "no_events",
            Issued::Stale { .. } => "stale_revision",
            Issued::SigningUnavailable { .. } => "signing_unavailable",
        }
    }

    /// The outcome in a sentence, for `unit`'s report of `period`.
    pub fn explain(&self, unit: &str, period: Period) -> String {
        match self {
            Issued::Stored {
                revision,
                number,
                messages,
            } => format!(
                "{unit} {period}: revision {revision}{} stored, {messages} message(s) queued",
                number.map_or(String::new(), |n| format!(" (Số {n})"))
            ),
            Issued::AlreadyIssued { revision } => format!(
                "{unit} {period} was already sent (revision {revision}); nothing sent. \
                 Send with force to send a corrected revision."
            ),
            Issued::WindowOpen { closes } => format!(
                "the window of {period} is still open (it closes {closes}): its report cannot be sent yet"
            ),
            Issued::NoEvents => {
                format!("{unit} {period} has no events: there is no report to send")
            }
            Issued::Stale { replaces, latest } => format!(
                "{unit} {period}: the latest revision is {latest}, not {replaces}: a correction \
                 was sent meanwhile; nothing sent"
            ),
            Issued::SigningUnavailable { cause } => format!(
                "{unit} {period} is held: its reports are signed and the signing certificate \
                 cannot be used ({cause}); nothing sent"
            ),
        }
    }
}

/// Issues the report of `period` as of `now`, dated that day, as the scheduler does (the audit
/// list says `scheduler`). A period that already has a report is left alone unless `resend`
/// asks for a correction.
pub async fn issue(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
    resend: Resend,
) -> anyhow::Result<Issued> {
    issue_as(pool, job, period, now, resend, &Actor::scheduler()).await
}

/// [`issue`] on behalf of `actor`, whose row of the audit list is written in the transaction
/// that stores the revision.
///
/// The revision keeps the items each figure counted (SPEC §5.1), checked against its figures in
/// the transaction that stores it: an event stored between the count and that check (a late
/// one, for a window already closed) makes the two differ, and the whole issue is done again,
/// a few times at most.
#[tracing::instrument(skip_all, fields(unit = %job.profile.code, period = %period, ?resend, who = %actor.who))]
pub async fn issue_as(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
    resend: Resend,
    actor: &Actor,
) -> anyhow::Result<Issued> {
    const ATTEMPTS: usize = 3;
    let mut attempt = 1;
    loop {
        match issue_once(pool, job, period, now, resend, actor).await? {
            Ok(issued) => return Ok(issued),
            Err(moved) if attempt < ATTEMPTS => {
                tracing::info!(%moved, attempt, "figures moved while issuing; issuing again");
                attempt += 1;
            }
            Err(moved) => return Err(moved.into()),
        }
    }
}

/// Figures that changed between their count and the keeping of their items.
#[derive(Debug, thiserror::Error)]
#[error(
    "{unit}'s {figure} was {counted} when counted and {kept} items were kept: events arrived \
     while the report was being issued"
)]
pub struct FiguresMoved {
    unit: String,
    figure: &'static str,
    counted: i64,
    kept: i64,
}

async fn issue_once(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
    resend: Resend,
    actor: &Actor,
) -> anyhow::Result<Result<Issued, FiguresMoved>> {
    let unit = &job.profile.code;
    let window = period.window(job.tz);
    if window.end().to_utc() > now {
        return Ok(Ok(Issued::WindowOpen {
            closes: window.end(),
        }));
    }
    let mut tx = store::reports::begin_job(pool, unit, period).await?;
    let earlier = store::reports::revisions(&mut *tx, unit, period).await?;
    if let Some(refused) = refusal(earlier.last().map(|r| r.revision), resend) {
        return Ok(Ok(refused));
    }
    let (start, end) = (window.start().to_utc(), window.end().to_utc());
    if !store::health::has_events(pool, &job.counted_units(), start, end).await? {
        return Ok(Ok(Issued::NoEvents));
    }
    let signer = match job.signing_now(now).await {
        Signing::Unsigned => None,
        Signing::Ready(signer) => Some(signer),
        Signing::Unavailable(cause) => return Ok(Ok(Issued::SigningUnavailable { cause })),
    };
    // Dated the day it is issued: on the sending day when on time, later when caught up or
    // corrected.
    let date = now.with_timezone(&job.tz).date_naive();
    let number = match job.profile.numbering.mode {
        NumberingMode::Blank => None,
        NumberingMode::Sequence => {
            let first = job.profile.numbering.first_number(date.year());
            Some(store::numbering::take(&mut tx, unit, date.year(), first).await?)
        }
    };
    let mut content = compose::compose(pool, job, period, now, date, number).await?;
    // The sheet "Hồ sơ quá hạn" lists what the figures count (a unit's; a summary's members'
    // rows are their revisions', read as kept).
    if let crate::figures::Figures::Unit(own) = &content.figures {
        let counted = own.procedures.resolved_late + own.procedures.pending_overdue;
        let listed = content.overdue.len() as i64;
        if counted != listed {
            return Ok(Err(FiguresMoved {
                unit: unit.to_string(),
                figure: "procedures.resolved_late + procedures.pending_overdue",
                counted,
                kept: listed,
            }));
        }
    }
    let revision = earlier.last().map_or(1, |latest| latest.revision + 1);
    if let Some(latest) = earlier.last() {
        content.replaces = Some(notation::document_number(
            latest.number.and_then(|n| u32::try_from(n).ok()),
            &job.profile.numbering.symbol,
        ));
    }
    let signing_time = now.with_timezone(&job.tz).fixed_offset();
    if let Some(signer) = &signer {
        content.signature = Some(SignatureView {
            organisation: signer.organisation(&job.profile.short_name),
            time: crate::signature::visible_time(signing_time),
            width: crate::signature::APPEARANCE.0,
            height: crate::signature::APPEARANCE.1,
        });
    }
    let (mut report, place) = render_all(job, &content, revision, date).await?;
    if let (Some(signer), Some(view)) = (&signer, &content.signature) {
        let place = place.context("the page template drew no <signature> box to sign at")?;
        let (pdf, signed) = signer
            .sign(&report.pdf, place, signing_time, &view.organisation)
            .await?;
        report.pdf = pdf;
        report.signature = Some(SignatureRecord {
            signed_by: signed.signed_by,
            signed_at: signed.signed_at,
            valid_until: signed.valid_until,
            timestamped: signed.timestamped,
        });
    }
    let addressees = addressees(job.profile, period, revision);
    let report_id =
        store::reports::insert(&mut tx, unit, period, &report, &addressees, now).await?;
    if let Err(moved) = keep_items(&mut tx, job, report_id, &content.figures, window).await? {
        return Ok(Err(moved));
    }
    // A failure the scheduler recorded before this revision (issued by hand, say) is over.
    store::schedule::clear_failure(&mut *tx, unit, period).await?;
    let (action, detail) = match earlier.last() {
        None => (
            Action::Send,
            format!("revision {revision} sent to {} addresses", addressees.len()),
        ),
        Some(latest) => (
            Action::Correction,
            format!(
                "revision {revision} sent to {} addresses, correcting revision {}",
                addressees.len(),
                latest.revision
            ),
        ),
    };
    store::audit::record(&mut tx, actor, unit, period, action, &detail).await?;
    tx.commit().await.context("Failed to commit the report")?;
    tracing::info!(
        revision,
        ?number,
        messages = addressees.len(),
        "report issued"
    );
    Ok(Ok(Issued::Stored {
        revision,
        number,
        messages: addressees.len(),
    }))
}

/// Keeps, with the revision `report_id` being issued, the items each of its figures counted
/// (SPEC §5.1), and checks that each list's length is the figure. A unit's items are read now;
/// a summary's member that issued keeps its revision's items (its row is that revision's
/// figures), the others are read now (their rows were counted now).
async fn keep_items(
    tx: &mut store::Transaction<'static, store::Postgres>,
    job: &UnitJob<'_>,
    report_id: i64,
    figures: &crate::figures::Figures,
    window: domain::Window,
) -> anyhow::Result<Result<(), FiguresMoved>> {
    use crate::figures::Figures;
    let end = window.end().to_utc();
    let period = figures.period().to_string();
    // Each row counted, and whether it came from a member's issued revision.
    let mut expected: Vec<(&domain::Indicators, bool)> = Vec::new();
    match figures {
        Figures::Unit(own) => {
            store::items::freeze(tx, report_id, &[job.profile.code.as_str()], window, end).await?;
            expected.push((own, false));
        }
        Figures::Summary { document } => {
            let mut live = Vec::new();
            for row in &document.members {
                let unit = row.indicators.unit.as_str();
                match row.revision {
                    Some(revision) => {
                        store::items::copy_issued(tx, report_id, unit, &period, revision).await?;
                    }
                    None => live.push(unit),
                }
                expected.push((&row.indicators, row.revision.is_some()));
            }
            store::items::freeze(tx, report_id, &live, window, end).await?;
        }
    }
    let kept = store::items::frozen_counts(tx, report_id).await?;
    let kept_count = |unit: &str, path: &str| {
        kept.iter()
            .find(|(u, f, _)| u == unit && f == path)
            .map_or(0, |(_, _, n)| *n)
    };
    for (indicators, issued) in expected {
        let unit = indicators.unit.as_str();
        // A member's revision issued before items were kept has none: its row is not checked.
        if issued && kept.iter().all(|(u, _, _)| u != unit) {
            continue;
        }
        for figure in &domain::figures::FIGURES {
            let (counted, kept) = ((figure.get)(indicators), kept_count(unit, figure.path));
            if counted != kept {
                return Ok(Err(FiguresMoved {
                    unit: unit.to_owned(),
                    figure: figure.path,
                    counted,
                    kept,
                }));
            }
        }
    }
    Ok(Ok(()))
}

/// Why a period whose latest revision is `latest` is not issued again for `resend`, if it is
/// not.
fn refusal(latest: Option<i32>, resend: Resend) -> Option<Issued> {
    let latest = latest?;
    match resend {
        Resend::No => Some(Issued::AlreadyIssued { revision: latest }),
        Resend::Correction {
            replaces: Some(replaces),
        } if replaces != latest => Some(Issued::Stale { replaces, latest }),
        Resend::Correction { .. } => None,
    }
}

/// Renders the five forms on a blocking thread: typesetting is CPU work, and the runtime's
/// threads also serve the API's streams and the ingest worker in the same process.
async fn render_all(
    job: &UnitJob<'_>,
    content: &ReportContent,
    revision: i32,
    date: chrono::NaiveDate,
) -> anyhow::Result<(NewReport, Option<Place>)> {
    let renderer = Renderer::new(job.templates.clone(), job.profile.code.as_str());
    let owned = content.clone();
    let (body_text, body_html, docx, typeset, xlsx) = tokio::task::spawn_blocking(move || {
        let text = |format| -> anyhow::Result<String> {
            Ok(String::from_utf8(renderer.render(&owned, format)?)?)
        };
        anyhow::Ok((
            text(Format::Text)?,
            text(Format::Html)?,
            renderer.render(&owned, Format::Docx)?,
            renderer.typeset(&owned)?,
            renderer.render(&owned, Format::Xlsx)?,
        ))
    })
    .await
    .context("the rendering thread failed")??;
    let report = NewReport {
        revision,
        number: content.number_value,
        issued_on: date,
        indicators: content.figures.document(),
        mail_from: job.profile.mail_from.clone(),
        subject: subject(job.profile, content),
        body_text,
        body_html,
        docx,
        pdf: typeset.pdf,
        xlsx,
        signature: None,
    };
    Ok((report, typeset.signature))
}

/// "Báo cáo kết quả Chuyển đổi số tháng 5 năm 2026 - UBND phường Trí Quả (Số 103/BC-UBND)"
/// ("Báo cáo tổng hợp kết quả …" for a summary), prefixed for a corrected revision with what it
/// replaces.
pub fn subject(profile: &UnitProfile, content: &ReportContent) -> String {
    let title = crate::content::lower_first(&content.subject);
    let base = format!(
        "Báo cáo {title} - {} (Số {})",
        profile.short_name,
        content.number.trim()
    );
    match &content.replaces {
        Some(earlier) => format!("[Thay thế báo cáo số {}] {base}", earlier.trim()),
        None => base,
    }
}

/// One message per address of the "Nơi nhận" list, each with a Message-ID that is the same
/// whenever this revision goes to this address.
fn addressees(profile: &UnitProfile, period: Period, revision: i32) -> Vec<Addressee> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for recipient in &profile.recipients {
        for address in &recipient.addresses {
            if !seen.insert(address.0.to_lowercase()) {
                continue; // one message per address, even if listed on two lines
            }
            out.push(Addressee {
                address: address.0.clone(),
                label: recipient.label.clone(),
                message_id: message_id(profile, period, revision, &address.0),
            });
        }
    }
    out
}

/// `<baocao.tri-qua.2026-05.r1.<uuid>@baocao.invalid>`: a name-based UUID of the address, so
/// a resend of the same revision to the same address carries the same Message-ID.
fn message_id(profile: &UnitProfile, period: Period, revision: i32, address: &str) -> String {
    let name = format!(
        "{}/{period}/{revision}/{}",
        profile.code,
        address.to_lowercase()
    );
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes());
    format!(
        "<baocao.{}.{period}.r{revision}.{}@baocao.invalid>",
        profile.code,
        id.simple()
    )
}

impl UnitJob<'_> {
    /// Where the unit stands with signing as last read (a certificate never read is read now).
    pub fn signing(&self, now: DateTime<Utc>) -> Signing {
        self.certificates.signing(self.profile.code.as_str(), now)
    }

    /// Where the unit stands with signing now: its certificate is looked at again first, so
    /// that a file replaced since the last look is what signs (or what holds the report).
    pub async fn signing_now(&self, now: DateTime<Utc>) -> Signing {
        let code = self.profile.code.as_str();
        self.certificates.refresh_unit(code, now).await;
        self.certificates.signing(code, now)
    }
}

/// Whether the latest of `revisions` was sent with figures that events arriving since have
/// changed (for a summary, any member's): the report is out of date and `report send --force`
/// would send a correction.
pub async fn out_of_date(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
    revisions: &[store::reports::StoredReport],
) -> anyhow::Result<bool> {
    let Some(latest) = revisions.last() else {
        return Ok(false);
    };
    let current = crate::figures::Figures::read(pool, job, period, now).await?;
    Ok(figures_changed(&latest.indicators, &current.document()))
}

/// The parts of a frozen document that make a report out of date when they change: a unit's
/// figures, and a summary's member rows (a member that issues, or corrects, after the summary
/// changes its row and its `provisional` flag), total and `reported` count. The window's
/// bounds and `final` are not figures.
const FIGURE_KEYS: [&str; 7] = [
    "documents",
    "petitions",
    "procedures",
    "articles",
    "members",
    "total",
    "reported",
];

/// Whether the figures of `current` differ from those `frozen` in a sent revision (both
/// documents as JSON: a unit's indicators, or a summary's).
pub fn figures_changed(frozen: &serde_json::Value, current: &serde_json::Value) -> bool {
    FIGURE_KEYS
        .iter()
        .any(|&key| match (frozen.get(key), current.get(key)) {
            (Some(frozen), Some(current)) => !same_figures(frozen, current),
            _ => false,
        })
}

/// Whether two figure documents agree on every figure both have. A figure added since a
/// revision was issued (`procedures.resolved_without_result`), or what a summary's member rows
/// say of where they came from (`revision`, `provisional`, absent from rows frozen before
/// them), is not a change: only the figures the two share are compared.
fn same_figures(frozen: &serde_json::Value, current: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (frozen, current) {
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(key, value)| b.get(key).is_none_or(|other| same_figures(value, other))),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_figures(x, y))
        }
        _ => frozen == current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(members: serde_json::Value) -> serde_json::Value {
        json!({"members": members, "total": {"documents": {"issued": 3}},
               "reported": {"members": 2, "issued": 1}})
    }

    #[test]
    fn a_member_issuing_after_the_summary_makes_it_out_of_date_even_with_the_same_figures() {
        let frozen = summary(json!([
            {"unit": "a", "documents": {"issued": 1}, "revision": 1, "provisional": false},
            {"unit": "b", "documents": {"issued": 2}, "revision": null, "provisional": true},
        ]));
        let mut current = frozen.clone();
        assert!(!figures_changed(&frozen, &current));
        current["members"][1]["revision"] = json!(1);
        current["members"][1]["provisional"] = json!(false);
        assert!(figures_changed(&frozen, &current));
        let mut reported = frozen.clone();
        reported["reported"]["issued"] = json!(2);
        assert!(figures_changed(&frozen, &reported));
    }

    #[test]
    fn rows_frozen_before_they_said_where_they_came_from_are_compared_by_their_figures() {
        let frozen = summary(json!([{"unit": "a", "documents": {"issued": 1}}]));
        let same = summary(json!([
            {"unit": "a", "documents": {"issued": 1}, "revision": 1, "provisional": false},
        ]));
        assert!(!figures_changed(&frozen, &same));
        let other = summary(json!([
            {"unit": "a", "documents": {"issued": 2}, "revision": 1, "provisional": false},
        ]));
        assert!(figures_changed(&frozen, &other));
    }

    #[test]
    fn a_figure_added_since_a_revision_was_issued_does_not_make_it_out_of_date() {
        let frozen = json!({"procedures": {"resolved": 5, "resolved_late": 1}});
        let mut current = json!({"procedures": {"resolved": 5, "resolved_late": 1,
                                                "resolved_without_result": 2}});
        assert!(!figures_changed(&frozen, &current));
        current["procedures"]["resolved"] = json!(6);
        assert!(figures_changed(&frozen, &current));
    }
}
