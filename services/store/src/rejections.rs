//! The log of dead-lettered messages: one row per message the broker confirmed as dead-lettered,
//! for the administrator's view by reason with the latest examples.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// How much of a body is kept, in characters.
pub const EXCERPT_CHARS: usize = 4000;

/// A dead letter to record.
#[derive(Debug, Clone)]
pub struct NewRejection<'a> {
    /// The reason code.
    pub reason: &'a str,
    /// The explanation.
    pub detail: &'a str,
    /// Where it was published.
    pub exchange: &'a str,
    /// Its routing key.
    pub routing_key: &'a str,
    /// The queue it was consumed from.
    pub queue: &'a str,
    /// The body as received.
    pub body: &'a [u8],
}

/// A recorded dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// When it was dead-lettered.
    pub rejected_at: DateTime<Utc>,
    /// The reason code.
    pub reason: String,
    /// The explanation.
    pub detail: String,
    /// Where it was published.
    pub exchange: String,
    /// Its routing key.
    pub routing_key: String,
    /// The queue it was consumed from.
    pub queue: String,
    /// The first [`EXCERPT_CHARS`] characters of the body.
    pub body_excerpt: String,
    /// The body's size.
    pub body_bytes: i32,
}

/// One reason's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonTotal {
    /// The reason code.
    pub reason: String,
    /// Dead letters with it.
    pub count: i64,
    /// The latest.
    pub last_at: DateTime<Utc>,
}

/// Records `rejections`.
pub async fn record(pool: &PgPool, rejections: &[NewRejection<'_>]) -> anyhow::Result<()> {
    if rejections.is_empty() {
        return Ok(());
    }
    fn column<'a>(
        rows: &[NewRejection<'a>],
        field: fn(&NewRejection<'a>) -> &'a str,
    ) -> Vec<&'a str> {
        rows.iter().map(field).collect()
    }
    // What PostgreSQL text cannot hold (NUL) and what a terminal must not be sent (other
    // control characters) are written as escapes.
    let excerpts: Vec<String> = rejections
        .iter()
        .map(|r| domain::text::printable_excerpt(r.body, EXCERPT_CHARS))
        .collect();
    let details: Vec<String> = rejections
        .iter()
        .map(|r| domain::text::escape_controls(r.detail))
        .collect();
    let sizes: Vec<i32> = rejections
        .iter()
        .map(|r| i32::try_from(r.body.len()).unwrap_or(i32::MAX))
        .collect();
    sqlx::query!(
        "insert into rejection (reason, detail, exchange, routing_key, queue, body_excerpt, body_bytes)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::int[])",
        &column(rejections, |r| r.reason) as &[&str],
        &details,
        &column(rejections, |r| r.exchange) as &[&str],
        &column(rejections, |r| r.routing_key) as &[&str],
        &column(rejections, |r| r.queue) as &[&str],
        &excerpts,
        &sizes,
    )
    .execute(pool)
    .await
    .context("Failed to record the dead letters")?;
    Ok(())
}

/// Dead letters by reason, most frequent first.
pub async fn by_reason(pool: &PgPool) -> anyhow::Result<Vec<ReasonTotal>> {
    sqlx::query_as!(
        ReasonTotal,
        r#"select reason, count(*) as "count!", max(rejected_at) as "last_at!"
           from rejection group by reason order by 2 desc, 1"#
    )
    .fetch_all(pool)
    .await
    .context("Failed to count the dead letters")
}

/// The latest `limit` dead letters, newest first.
pub async fn latest(pool: &PgPool, limit: i64) -> anyhow::Result<Vec<Rejection>> {
    sqlx::query_as!(
        Rejection,
        "select rejected_at, reason, detail, exchange, routing_key, queue, body_excerpt, body_bytes
         from rejection order by rejected_at desc, rejection_id desc limit $1",
        limit
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the dead letters")
}

/// The dead letters as the dashboard shows them: counts by reason and the latest few.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Every dead letter recorded, by reason, most frequent first.
    pub by_reason: Vec<ReasonTotal>,
    /// The latest `limit`, newest first.
    pub latest: Vec<Rejection>,
}

/// Counts by reason and the latest `limit` dead letters.
pub async fn recorded(pool: &PgPool, limit: i64) -> anyhow::Result<Recorded> {
    Ok(Recorded {
        by_reason: by_reason(pool).await?,
        latest: latest(pool, limit).await?,
    })
}
