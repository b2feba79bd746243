//! What the administrator needs to see about stored data: how many events, orphans (resolved
//! events still waiting for their received event) and conflicts each unit has.

use anyhow::Context;
use sqlx::PgPool;

/// Totals for one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataHealth {
    /// Events stored.
    pub events: i64,
    /// Petitions and dossiers resolved but never received (yet).
    pub orphans: i64,
    /// Conflicts recorded: reused ids with another body and second events for an item.
    pub conflicts: i64,
}

/// Totals for `unit`.
pub async fn data_health(pool: &PgPool, unit: &str) -> anyhow::Result<DataHealth> {
    let events = sqlx::query_scalar!(
        r#"select count(*) as "events!" from event where unit = $1"#,
        unit
    )
    .fetch_one(pool)
    .await
    .context("Failed to count the events")?;
    let (orphans, conflicts) = problems(pool, unit).await?;
    Ok(DataHealth {
        events,
        orphans,
        conflicts,
    })
}

/// A unit's orphans and conflicts, without counting its events (a scan of the event table).
pub async fn problems(pool: &PgPool, unit: &str) -> anyhow::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"
        select
            (select count(*) from petition where unit = $1 and received_at is null)
              + (select count(*) from dossier where unit = $1 and received_at is null) as "orphans!",
            (select count(*) from conflict where unit = $1) as "conflicts!"
        "#,
        unit,
    )
    .fetch_one(pool)
    .await
    .context("Failed to read the orphans and conflicts")?;
    Ok((row.orphans, row.conflicts))
}

/// How many of `ids` are stored, for waiting until a published batch has been ingested.
pub async fn stored_count(pool: &PgPool, ids: &[uuid::Uuid]) -> anyhow::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from event where event_id = any($1)"#,
        ids
    )
    .fetch_one(pool)
    .await
    .context("Failed to count stored events")
}

/// Whether `unit` has any event in `[start, end)`: a document signed, an article published, or
/// a petition or dossier received or resolved.
pub async fn has_events(
    pool: &PgPool,
    unit: &domain::UnitCode,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let found = sqlx::query_scalar!(
        r#"select (
            exists (select 1 from document where unit = $1 and signed_at >= $2 and signed_at < $3)
            or exists (select 1 from article
                       where unit = $1 and published_at >= $2 and published_at < $3)
            or exists (select 1 from petition
                       where unit = $1 and ((received_at >= $2 and received_at < $3)
                                         or (resolved_at >= $2 and resolved_at < $3)))
            or exists (select 1 from dossier
                       where unit = $1 and ((received_at >= $2 and received_at < $3)
                                         or (resolved_at >= $2 and resolved_at < $3)))
        ) as "found!""#,
        unit.as_str(),
        start,
        end,
    )
    .fetch_one(pool)
    .await
    .context("Failed to look for the window's events")?;
    Ok(found)
}

/// When a unit last heard of one event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceActivity {
    /// The unit.
    pub unit: String,
    /// The event type.
    pub event_type: String,
    /// New events of this type stored so far.
    pub events: i64,
    /// When the latest batch with one was stored.
    pub last_stored_at: chrono::DateTime<chrono::Utc>,
    /// The latest `occurred_at` among them.
    pub last_occurred_at: chrono::DateTime<chrono::Utc>,
}

/// The activity of every unit and event type seen.
pub async fn activity(pool: &PgPool) -> anyhow::Result<Vec<SourceActivity>> {
    sqlx::query_as!(
        SourceActivity,
        "select unit, event_type, events, last_stored_at, last_occurred_at
         from source_activity order by unit, event_type"
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the sources' activity")
}
