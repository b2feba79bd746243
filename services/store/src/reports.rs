//! Reports as sent: each revision frozen with its figures, text and attachments, and one
//! outbox row per recipient address, written in one transaction.
//!
//! Any number of reporters may try the same job. The first takes a transaction-scoped advisory
//! lock on the unit and period; the others wait for it, then find the revision stored and do
//! nothing. The unique key on (unit, period, revision) backs the lock up.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use domain::{Period, UnitCode};
use sqlx::{PgPool, Postgres, Transaction};

/// A revision about to be stored.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The revision: 1 for the scheduled report, then one more per corrected re-send.
    pub revision: i32,
    /// The number it was given, if numbered by baocao.
    pub number: Option<u32>,
    /// Its date.
    pub issued_on: NaiveDate,
    /// The indicators document as frozen.
    pub indicators: serde_json::Value,
    /// The sender, "Name <address>".
    pub mail_from: String,
    /// The email subject.
    pub subject: String,
    /// The plain-text body.
    pub body_text: String,
    /// The HTML body.
    pub body_html: String,
    /// The DOCX attachment.
    pub docx: Vec<u8>,
    /// The PDF attachment.
    pub pdf: Vec<u8>,
    /// The XLSX attachment.
    pub xlsx: Vec<u8>,
    /// The PDF's signature, if the unit signs.
    pub signature: Option<SignatureRecord>,
}

/// Who signed a revision's PDF, and the certificate's validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRecord {
    /// The organisation the certificate names.
    pub signed_by: String,
    /// The signing time.
    pub signed_at: DateTime<Utc>,
    /// The end of the certificate's validity.
    pub valid_until: DateTime<Utc>,
    /// Whether the signature was time-stamped.
    pub timestamped: bool,
}

/// One message to queue: an address and the "Nơi nhận" line it belongs to.
#[derive(Debug, Clone)]
pub struct Addressee {
    /// The email address.
    pub address: String,
    /// The line of "Nơi nhận".
    pub label: String,
    /// The message's Message-ID, the same whenever this revision goes to this address.
    pub message_id: String,
}

/// A stored revision, without its attachments.
#[derive(Debug, Clone)]
pub struct StoredReport {
    /// Its key.
    pub report_id: i64,
    /// Its revision.
    pub revision: i32,
    /// Its number.
    pub number: Option<i32>,
    /// Its date.
    pub issued_on: NaiveDate,
    /// The figures it was sent with.
    pub indicators: serde_json::Value,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Who signed its PDF, if it was signed.
    pub signed_by: Option<String>,
    /// The end of the signing certificate's validity.
    pub signature_valid_until: Option<DateTime<Utc>>,
    /// Whether the signature was time-stamped.
    pub timestamped: Option<bool>,
}

/// Begins the transaction of `unit`'s report job for `period`, holding the job's lock until it
/// commits or rolls back.
pub async fn begin_job(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
) -> anyhow::Result<Transaction<'static, Postgres>> {
    let mut tx = pool
        .begin()
        .await
        .context("Failed to begin the report job")?;
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('report ' || $1 || ' ' || $2, 0))",
        unit.as_str(),
        period.to_string(),
    )
    .execute(&mut *tx)
    .await
    .context("Failed to lock the report job")?;
    Ok(tx)
}

/// The revisions of `unit`'s report for `period`, oldest first.
pub async fn revisions(
    executor: impl sqlx::PgExecutor<'_>,
    unit: &UnitCode,
    period: Period,
) -> anyhow::Result<Vec<StoredReport>> {
    let rows = sqlx::query_as!(
        StoredReport,
        "select report_id, revision, number, issued_on, indicators, created_at,
                signed_by, signature_valid_until, timestamped
         from report where unit = $1 and period = $2 order by revision",
        unit.as_str(),
        period.to_string(),
    )
    .fetch_all(executor)
    .await
    .context("Failed to read the report's revisions")?;
    Ok(rows)
}

/// Stores a revision and queues one message per addressee, due at `now`, within the job's
/// transaction; the earlier revisions' messages not yet sent or failed become `superseded`.
#[tracing::instrument(skip_all, fields(unit = %unit, period = %period, revision = report.revision))]
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    unit: &UnitCode,
    period: Period,
    report: &NewReport,
    addressees: &[Addressee],
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let number = report
        .number
        .map(i32::try_from)
        .transpose()
        .context("a report number out of range")?;
    let signature = report.signature.as_ref();
    let report_id = sqlx::query_scalar!(
        "insert into report (unit, period, revision, number, issued_on, indicators, mail_from,
                             subject, body_text, body_html, docx, pdf, xlsx,
                             signed_by, signed_at, signature_valid_until, timestamped)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         returning report_id",
        unit.as_str(),
        period.to_string(),
        report.revision,
        number,
        report.issued_on,
        report.indicators,
        report.mail_from,
        report.subject,
        report.body_text,
        report.body_html,
        report.docx,
        report.pdf,
        report.xlsx,
        signature.map(|s| s.signed_by.as_str()),
        signature.map(|s| s.signed_at),
        signature.map(|s| s.valid_until),
        signature.map(|s| s.timestamped),
    )
    .fetch_one(&mut **tx)
    .await
    .context("Failed to store the report")?;
    let addresses: Vec<&str> = addressees.iter().map(|a| a.address.as_str()).collect();
    let labels: Vec<&str> = addressees.iter().map(|a| a.label.as_str()).collect();
    let message_ids: Vec<&str> = addressees.iter().map(|a| a.message_id.as_str()).collect();
    sqlx::query!(
        "insert into outbox (report_id, address, label, message_id, next_attempt_at)
         select $1, address, label, message_id, $5
         from unnest($2::text[], $3::text[], $4::text[]) as t (address, label, message_id)",
        report_id,
        &addresses as &[&str],
        &labels as &[&str],
        &message_ids as &[&str],
        now,
    )
    .execute(&mut **tx)
    .await
    .context("Failed to queue the report's messages")?;
    // The earlier revisions' messages not yet sent would reach their recipients after the
    // correction: they are superseded, and never claimed again. One in flight (`sending`) keeps
    // its claim, so that its sender records whether the server took it (see `outbox::record`),
    // but is not tried again if that attempt fails or its sender dies.
    sqlx::query!(
        "update outbox set state = 'superseded'
         where state in ('queued', 'retrying', 'sending')
           and report_id in (select report_id from report
                             where unit = $1 and period = $2 and report_id <> $3)",
        unit.as_str(),
        period.to_string(),
        report_id,
    )
    .execute(&mut **tx)
    .await
    .context("Failed to supersede the earlier revisions' messages")?;
    Ok(report_id)
}

/// When baocao first ran for `unit`, recording `now` on the first call.
pub async fn configured_at(
    pool: &PgPool,
    unit: &UnitCode,
    now: DateTime<Utc>,
) -> anyhow::Result<DateTime<Utc>> {
    let registrations = register(pool, std::slice::from_ref(unit), now).await?;
    registrations
        .into_iter()
        .next()
        .map(|r| r.configured_at)
        .context("the unit's registration was not read back")
}

/// Where the scheduler stands with one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The unit.
    pub unit: String,
    /// When baocao first ran for it: no report is due for a window that ended before.
    pub configured_at: DateTime<Utc>,
    /// The last period settled (issued, or found without events on its day), if any.
    pub settled_through: Option<Period>,
}

/// Registers every unit of `units` not registered yet (as configured at `now`) and reads them
/// all back: two statements, whatever the number of units.
pub async fn register(
    pool: &PgPool,
    units: &[UnitCode],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Registration>> {
    let codes: Vec<&str> = units.iter().map(UnitCode::as_str).collect();
    sqlx::query!(
        "insert into unit_registration (unit, configured_at)
         select unit, $2 from unnest($1::text[]) as unit
         on conflict (unit) do nothing",
        &codes as &[&str],
        now,
    )
    .execute(pool)
    .await
    .context("Failed to register the units")?;
    let rows = sqlx::query!(
        "select unit, configured_at, settled_through from unit_registration
         where unit = any($1) order by unit",
        &codes as &[&str],
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the units' registrations")?;
    rows.into_iter()
        .map(|row| {
            Ok(Registration {
                unit: row.unit,
                configured_at: row.configured_at,
                settled_through: row
                    .settled_through
                    .as_deref()
                    .map(stored_period)
                    .transpose()?,
            })
        })
        .collect()
}

/// `unit`'s registration, if baocao has run for it.
pub async fn registration(pool: &PgPool, unit: &UnitCode) -> anyhow::Result<Option<Registration>> {
    let row = sqlx::query!(
        "select unit, configured_at, settled_through from unit_registration where unit = $1",
        unit.as_str(),
    )
    .fetch_optional(pool)
    .await
    .context("Failed to read the unit's registration")?;
    row.map(|row| {
        Ok(Registration {
            unit: row.unit,
            configured_at: row.configured_at,
            settled_through: row
                .settled_through
                .as_deref()
                .map(stored_period)
                .transpose()?,
        })
    })
    .transpose()
}

/// Marks `period` (and every period before it) settled for `unit`.
pub async fn settle(pool: &PgPool, unit: &UnitCode, period: Period) -> anyhow::Result<()> {
    sqlx::query!(
        "update unit_registration
         set settled_through = greatest(coalesce(settled_through, ''), $2)
         where unit = $1",
        unit.as_str(),
        period.to_string(),
    )
    .execute(pool)
    .await
    .context("Failed to record the settled period")?;
    Ok(())
}

/// The periods of `unit` that have a report (only `period`, if given), oldest first.
pub async fn periods(
    pool: &PgPool,
    unit: &UnitCode,
    period: Option<Period>,
) -> anyhow::Result<Vec<Period>> {
    let periods = sqlx::query_scalar!(
        "select distinct period from report
         where unit = $1 and ($2::text is null or period = $2) order by period",
        unit.as_str(),
        period.map(|p| p.to_string()),
    )
    .fetch_all(pool)
    .await
    .context("Failed to list the reported periods")?;
    periods.iter().map(|text| stored_period(text)).collect()
}

/// The latest revision a unit issued for a period, with the figures it froze.
#[derive(Debug, Clone)]
pub struct IssuedFigures {
    /// The unit.
    pub unit: String,
    /// Its latest revision.
    pub revision: i32,
    /// The figures that revision was issued with (SPEC §5's document).
    pub indicators: serde_json::Value,
    /// The revision's row.
    pub report_id: i64,
    /// Whether the items it counted were kept (see [`crate::items`]).
    pub items_kept: bool,
}

/// The latest issued revision of each of `units` that has one for `period`, with its frozen
/// figures: one statement, whatever their number.
pub async fn issued_figures(
    pool: &PgPool,
    units: &[UnitCode],
    period: Period,
) -> anyhow::Result<Vec<IssuedFigures>> {
    let codes: Vec<&str> = units.iter().map(UnitCode::as_str).collect();
    sqlx::query_as!(
        IssuedFigures,
        "select distinct on (unit) unit, revision, indicators, report_id, items_kept from report
         where unit = any($1) and period = $2 order by unit, revision desc",
        &codes as &[&str],
        period.to_string(),
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the figures the units issued")
}

/// A period as stored (always written from a [`Period`], so a failure means the row was edited
/// by hand).
pub(crate) fn stored_period(text: &str) -> anyhow::Result<Period> {
    text.parse()
        .with_context(|| format!("a stored report has the period '{text}', which is not YYYY-MM"))
}

/// A stored revision with what was sent.
#[derive(Debug, Clone)]
pub struct SentReport {
    /// Its revision.
    pub revision: i32,
    /// Its number.
    pub number: Option<i32>,
    /// The figures it was sent with.
    pub indicators: serde_json::Value,
    /// The email subject.
    pub subject: String,
    /// The plain-text body.
    pub body_text: String,
    /// The HTML body.
    pub body_html: String,
    /// The DOCX attachment.
    pub docx: Vec<u8>,
    /// The PDF attachment.
    pub pdf: Vec<u8>,
    /// The XLSX attachment (none for a revision issued before workbooks were kept).
    pub xlsx: Option<Vec<u8>>,
}

/// Revision `revision` of `unit`'s report for `period` as sent, or the latest without one.
pub async fn sent(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
    revision: Option<i32>,
) -> anyhow::Result<Option<SentReport>> {
    sqlx::query_as!(
        SentReport,
        "select revision, number, indicators, subject, body_text, body_html, docx, pdf, xlsx
         from report where unit = $1 and period = $2 and ($3::int is null or revision = $3)
         order by revision desc limit 1",
        unit.as_str(),
        period.to_string(),
        revision,
    )
    .fetch_optional(pool)
    .await
    .context("Failed to read the report as sent")
}
