//! The email outbox: one row per report revision and address, claimed by a sender with
//! `FOR UPDATE SKIP LOCKED` and a lease, and every attempt recorded.
//!
//! States: `queued` → `sending` (claimed) → `sent`, or → `retrying` (a connection error, a
//! timed-out exchange or a 4xx reply; claimed again at `next_attempt_at`) → …, or → `failed` (a
//! 5xx reply, final). A sender that dies while `sending` leaves the lease (`claimed_until`) to
//! expire; the row is then claimed again.
//!
//! A row not yet `sent` or `failed` when a correction of its report is issued becomes
//! `superseded` (`reports::insert`), `sending` included, and is never claimed again. The sender
//! whose attempt was in flight still records it under its claim: `sent` if the server accepted
//! the message (it did go out), otherwise the row stays `superseded`.
//!
//! A claim names its sender (`claimed_by`). An outcome is recorded only while that sender
//! still holds the claim: one whose lease expired (and whose row another sender claimed) can
//! no longer write `retrying` or `failed` over the other's `sent`.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use domain::{Period, UnitCode};
use sqlx::PgPool;
use uuid::Uuid;

/// A message claimed for sending, with what it carries.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The outbox row.
    pub outbox_id: i64,
    /// The address.
    pub address: String,
    /// Its "Nơi nhận" line.
    pub label: String,
    /// The message's Message-ID.
    pub message_id: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// The report's unit.
    pub unit: String,
    /// The report's period.
    pub period: Period,
    /// The report's revision.
    pub revision: i32,
    /// The report's date.
    pub issued_on: NaiveDate,
    /// The sender.
    pub mail_from: String,
    /// The report's number.
    pub number: Option<i32>,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub body_text: String,
    /// The HTML body.
    pub body_html: String,
    /// The DOCX attachment.
    pub docx: Vec<u8>,
    /// The PDF attachment.
    pub pdf: Vec<u8>,
    /// The XLSX attachment, if the revision has one.
    pub xlsx: Option<Vec<u8>>,
}

/// Claims the message due longest, if any, for `sender` and `lease`: it is not claimed again
/// before `now + lease` unless its sender records an outcome.
#[tracing::instrument(skip_all)]
pub async fn claim_next(
    pool: &PgPool,
    sender: Uuid,
    now: DateTime<Utc>,
    lease: chrono::TimeDelta,
) -> anyhow::Result<Option<Claimed>> {
    // Never a `superseded` row, however its attempt ended or whatever its lease says.
    let row = sqlx::query!(
        r#"
        with next as (
            select outbox_id from outbox
            where (state in ('queued', 'retrying') and next_attempt_at <= $1)
               or (state = 'sending' and claimed_until < $1)
            order by next_attempt_at, outbox_id
            limit 1
            for update skip locked
        ), claimed as (
            update outbox
            set state = 'sending', claimed_until = $2, claimed_by = $3,
                attempts = outbox.attempts + 1
            from next
            where outbox.outbox_id = next.outbox_id
            returning outbox.outbox_id, outbox.report_id, outbox.address, outbox.label,
                      outbox.message_id, outbox.attempts
        )
        select claimed.outbox_id as "outbox_id!", claimed.address as "address!",
               claimed.label as "label!", claimed.message_id as "message_id!",
               claimed.attempts as "attempts!",
               report.unit, report.period, report.revision, report.issued_on, report.mail_from,
               report.number, report.subject,
               report.body_text, report.body_html, report.docx, report.pdf, report.xlsx
        from claimed join report using (report_id)
        "#,
        now,
        now + lease,
        sender,
    )
    .fetch_optional(pool)
    .await
    .context("Failed to claim an outbox message")?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Claimed {
        outbox_id: row.outbox_id,
        address: row.address,
        label: row.label,
        message_id: row.message_id,
        attempts: row.attempts,
        unit: row.unit,
        period: crate::reports::stored_period(&row.period)?,
        revision: row.revision,
        issued_on: row.issued_on,
        mail_from: row.mail_from,
        number: row.number,
        subject: row.subject,
        body_text: row.body_text,
        body_html: row.body_html,
        docx: row.docx,
        pdf: row.pdf,
        xlsx: row.xlsx,
    }))
}

/// What came of one attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The server accepted the message, with its reply.
    Sent(String),
    /// A transient failure (connection, 4xx): try again at the given time.
    Retry(String, DateTime<Utc>),
    /// A permanent failure (5xx): give up.
    Failed(String),
}

/// What [`record`] made of an attempt's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The message's state is the outcome's (`sent`, `retrying` or `failed`).
    Applied,
    /// A correction superseded the message's revision while it was being sent: it stays
    /// `superseded` (unless it was sent, which is then recorded as the truth).
    Superseded,
    /// The sender no longer held the claim (its lease expired and another sender took the
    /// message): only the attempt is recorded, the state is left as the other sender's.
    NotHeld,
}

/// Records the outcome of `sender`'s attempt on a message it claimed, and the attempt itself.
#[tracing::instrument(skip_all, fields(outbox_id))]
pub async fn record(
    pool: &PgPool,
    outbox_id: i64,
    sender: Uuid,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> anyhow::Result<Recorded> {
    let (state, kind, reply, next) = match outcome {
        Outcome::Sent(reply) => ("sent", "sent", reply, None),
        Outcome::Retry(error, at) => ("retrying", "retry", error, Some(*at)),
        Outcome::Failed(error) => ("failed", "failed", error, None),
    };
    let mut tx = pool.begin().await.context("Failed to record a delivery")?;
    // A superseded row is never tried again: a failure leaves it superseded.
    let written = sqlx::query_scalar!(
        "update outbox
         set state = case when state = 'superseded' and $2 <> 'sent' then 'superseded' else $2 end,
             claimed_until = null, claimed_by = null,
             next_attempt_at = coalesce($3, next_attempt_at),
             last_error = case when $2 = 'sent' then last_error else $4 end,
             sent_at = case when $2 = 'sent' then $5 else sent_at end
         where outbox_id = $1 and state in ('sending', 'superseded') and claimed_by = $6
         returning state",
        outbox_id,
        state,
        next,
        reply,
        now,
        sender,
    )
    .fetch_optional(&mut *tx)
    .await
    .context("Failed to record a delivery")?;
    sqlx::query!(
        "insert into delivery_attempt (outbox_id, attempted_at, outcome, reply)
         values ($1, $2, $3, $4)",
        outbox_id,
        now,
        kind,
        reply,
    )
    .execute(&mut *tx)
    .await
    .context("Failed to record a delivery attempt")?;
    tx.commit().await.context("Failed to record a delivery")?;
    Ok(match written.as_deref() {
        None => Recorded::NotHeld,
        Some("superseded") => Recorded::Superseded,
        Some(_) => Recorded::Applied,
    })
}

/// One message's delivery state, for `report status`.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The report's period.
    pub period: Period,
    /// The report's revision.
    pub revision: i32,
    /// The report's number.
    pub number: Option<i32>,
    /// The address.
    pub address: String,
    /// The line of "Nơi nhận" it belongs to.
    pub label: String,
    /// queued, sending, retrying, sent, failed or superseded.
    pub state: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When the next attempt is due (retrying).
    pub next_attempt_at: DateTime<Utc>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
}

/// The delivery state of every message of `unit`'s reports (of `period`, if given).
pub async fn deliveries(
    pool: &PgPool,
    unit: &UnitCode,
    period: Option<Period>,
) -> anyhow::Result<Vec<Delivery>> {
    let rows = sqlx::query!(
        "select report.period, report.revision, report.number, outbox.address, outbox.label, outbox.state,
                outbox.attempts, outbox.next_attempt_at, outbox.last_error, outbox.sent_at
         from outbox join report using (report_id)
         where report.unit = $1 and ($2::text is null or report.period = $2)
         order by report.period, report.revision, outbox.outbox_id",
        unit.as_str(),
        period.map(|p| p.to_string()),
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the deliveries")?;
    rows.into_iter()
        .map(|row| {
            Ok(Delivery {
                period: crate::reports::stored_period(&row.period)?,
                revision: row.revision,
                number: row.number,
                address: row.address,
                label: row.label,
                state: row.state,
                attempts: row.attempts,
                next_attempt_at: row.next_attempt_at,
                last_error: row.last_error,
                sent_at: row.sent_at,
            })
        })
        .collect()
}

/// How many messages the outbox holds in each state.
pub async fn counts_by_state(pool: &PgPool) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"select state, count(*) as "count!" from outbox group by state order by state"#
    )
    .fetch_all(pool)
    .await
    .context("Failed to count the outbox")?;
    Ok(rows.into_iter().map(|row| (row.state, row.count)).collect())
}
