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
    let row = sqlx::query!(
        r#"
        select
            (select count(*) from event where unit = $1) as "events!",
            (select count(*) from petition where unit = $1 and received_at is null)
              + (select count(*) from dossier where unit = $1 and received_at is null) as "orphans!",
            (select count(*) from conflict where unit = $1) as "conflicts!"
        "#,
        unit,
    )
    .fetch_one(pool)
    .await
    .context("Failed to read the data health")?;
    Ok(DataHealth {
        events: row.events,
        orphans: row.orphans,
        conflicts: row.conflicts,
    })
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
