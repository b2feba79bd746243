//! The log of dead-lettered messages: one row per message the broker confirmed as dead-lettered,
//! for the administrator's view by reason with the latest examples.
//!
//! Every text field comes from outside (a routing key may hold a NUL, which PostgreSQL text
//! cannot) and is written escaped and bounded, so that one message never fails the record of
//! its batch. Counts by reason are kept beside the log in the same transaction
//! (`rejection_count`): reading them costs one small statement, and they stay whole when rows
//! older than the retention are pruned ([`prune`]).

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// How much of a body is kept, in characters.
pub const EXCERPT_CHARS: usize = 4000;

/// The most a recorded name (exchange, routing key, queue, reason) keeps, in bytes.
const NAME_BYTES: usize = 1024;

/// The most a recorded detail keeps, in bytes.
const DETAIL_BYTES: usize = 4096;

/// Rows deleted by one statement of a prune, so that no statement holds the table long.
const PRUNE_CHUNK: i64 = 10_000;

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
    /// Whether the log keeps an excerpt of the body: not for an upstream system's record, which
    /// may hold a citizen's name and contacts (the dead letter on the broker keeps it).
    pub keep_excerpt: bool,
    /// The source whose body it came from (`[[source]]` or `x-baocao-source`), if any.
    pub source: Option<&'a str>,
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

/// `text` as the log keeps it: control characters (NUL included) escaped, at most `max_bytes`.
fn recorded_text(text: &str, max_bytes: usize) -> String {
    domain::text::truncate_bytes(&domain::text::escape_controls(text), max_bytes)
}

/// Records `rejections`, and counts them by reason, in one transaction.
pub async fn record(pool: &PgPool, rejections: &[NewRejection<'_>]) -> anyhow::Result<()> {
    if rejections.is_empty() {
        return Ok(());
    }
    let column = |field: for<'a> fn(&'a NewRejection<'a>) -> &'a str, max_bytes: usize| {
        rejections
            .iter()
            .map(|r| recorded_text(field(r), max_bytes))
            .collect::<Vec<String>>()
    };
    let reasons = column(|r| r.reason, NAME_BYTES);
    // A body excerpt is escaped the same way: PostgreSQL text cannot hold NUL, and a terminal
    // must not be sent other control characters.
    let excerpts: Vec<String> = rejections
        .iter()
        .map(|r| match r.keep_excerpt {
            true => domain::text::printable_excerpt(r.body, EXCERPT_CHARS),
            false => "(not kept: a source's record may hold personal data)".to_owned(),
        })
        .collect();
    let sources: Vec<Option<String>> = rejections
        .iter()
        .map(|r| r.source.map(|source| recorded_text(source, NAME_BYTES)))
        .collect();
    let sizes: Vec<i32> = rejections
        .iter()
        .map(|r| i32::try_from(r.body.len()).unwrap_or(i32::MAX))
        .collect();
    let mut tx = pool
        .begin()
        .await
        .context("Failed to record the dead letters")?;
    sqlx::query!(
        "insert into rejection (reason, detail, exchange, routing_key, queue, body_excerpt, body_bytes,
                                source)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::int[], $8::text[])",
        &reasons,
        &column(|r| r.detail, DETAIL_BYTES),
        &column(|r| r.exchange, NAME_BYTES),
        &column(|r| r.routing_key, NAME_BYTES),
        &column(|r| r.queue, NAME_BYTES),
        &excerpts,
        &sizes,
        &sources as &[Option<String>],
    )
    .execute(&mut *tx)
    .await
    .context("Failed to record the dead letters")?;
    sqlx::query!(
        "insert into rejection_count (reason, rejections, last_at)
         select reason, count(*), now() from unnest($1::text[]) as r(reason) group by reason
         on conflict (reason) do update
         set rejections = rejection_count.rejections + excluded.rejections,
             last_at = greatest(rejection_count.last_at, excluded.last_at)",
        &reasons,
    )
    .execute(&mut *tx)
    .await
    .context("Failed to count the dead letters")?;
    tx.commit()
        .await
        .context("Failed to record the dead letters")
}

/// Deletes the log's rows recorded before `before`, a chunk at a time; the counts by reason
/// keep them. Returns how many rows went.
pub async fn prune(pool: &PgPool, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut deleted = 0;
    loop {
        let chunk = sqlx::query!(
            "delete from rejection where rejection_id in (
                 select rejection_id from rejection where rejected_at < $1 limit $2)",
            before,
            PRUNE_CHUNK,
        )
        .execute(pool)
        .await
        .context("Failed to prune the dead letters' log")?
        .rows_affected();
        deleted += chunk;
        if chunk < PRUNE_CHUNK as u64 {
            return Ok(deleted);
        }
    }
}

/// Dead letters by reason, most frequent first: every one recorded since installation,
/// pruned or not.
pub async fn by_reason(pool: &PgPool) -> anyhow::Result<Vec<ReasonTotal>> {
    sqlx::query_as!(
        ReasonTotal,
        r#"select reason, rejections as "count!", last_at as "last_at!"
           from rejection_count order by 2 desc, 1"#
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
