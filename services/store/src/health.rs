//! What the administrator needs to see about stored data: orphans (resolved events still
//! waiting for their received event), conflicts, and when each unit last heard of each event
//! type.

use anyhow::Context;
use sqlx::PgPool;

/// A unit's orphans and conflicts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitProblems {
    /// The unit.
    pub unit: String,
    /// Petitions and dossiers resolved but never received (yet).
    pub orphans: i64,
    /// Conflicts recorded: reused ids with another body and second events for an item.
    pub conflicts: i64,
    /// Documents their sender recalled (edXML `BussinessDocType` 1): stored and shown, still
    /// counted as issued.
    pub recalled: i64,
}

/// The orphans, conflicts and recalled documents of every unit that has any, in one statement
/// whatever the number of units (the orphans and recalls are read from partial indexes).
pub async fn problems(pool: &PgPool) -> anyhow::Result<Vec<UnitProblems>> {
    sqlx::query_as!(
        UnitProblems,
        r#"
        select unit as "unit!", sum(orphans)::bigint as "orphans!", sum(conflicts)::bigint as "conflicts!",
               sum(recalled)::bigint as "recalled!"
        from (
            select unit, count(*) as orphans, 0::bigint as conflicts, 0::bigint as recalled
            from petition where received_at is null group by unit
            union all
            select unit, count(*), 0, 0 from dossier where received_at is null group by unit
            union all
            select unit, 0, count(*), 0 from conflict group by unit
            union all
            select unit, 0, 0, count(*) from event
            where event_type = 'document.signed' and (body -> 'source' ->> 'business') = 'recall'
            group by unit
        ) as counted
        group by unit order by unit
        "#
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the orphans, conflicts and recalls")
}

/// What the pipeline view shows of the stored data, for every unit at once.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// When each unit last heard of each event type.
    pub activity: Vec<SourceActivity>,
    /// Each unit's orphans and conflicts (units with none are left out).
    pub problems: Vec<UnitProblems>,
    /// Outbox messages by state.
    pub outbox: Vec<(String, i64)>,
    /// The scheduler's failures not yet mended.
    pub failures: Vec<crate::schedule::IssueFailure>,
}

/// The stored data's overview: four statements, whatever the number of units.
pub async fn overview(pool: &PgPool) -> anyhow::Result<Overview> {
    Ok(Overview {
        activity: activity(pool).await?,
        problems: problems(pool).await?,
        outbox: crate::outbox::counts_by_state(pool).await?,
        failures: crate::schedule::failures(pool).await?,
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

/// Whether any of `units` has an event in `[start, end)`: a document signed, an article
/// published, or a petition or dossier received or resolved.
pub async fn has_events(
    pool: &PgPool,
    units: &[domain::UnitCode],
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let codes: Vec<&str> = units.iter().map(domain::UnitCode::as_str).collect();
    let found = sqlx::query_scalar!(
        r#"select (
            exists (select 1 from document
                    where unit = any($1) and signed_at >= $2 and signed_at < $3)
            or exists (select 1 from article
                       where unit = any($1) and published_at >= $2 and published_at < $3)
            or exists (select 1 from petition
                       where unit = any($1) and ((received_at >= $2 and received_at < $3)
                                              or (resolved_at >= $2 and resolved_at < $3)))
            or exists (select 1 from dossier
                       where unit = any($1) and ((received_at >= $2 and received_at < $3)
                                              or (resolved_at >= $2 and resolved_at < $3)))
        ) as "found!""#,
        &codes as &[&str],
        start,
        end,
    )
    .fetch_one(pool)
    .await
    .context("Failed to look for the window's events")?;
    Ok(found)
}

/// Which of `units` have any event in [`start`, `end`): one statement, whatever their number
/// (each unit is looked up through the same indexes as [`has_events`]).
pub async fn units_with_events(
    pool: &PgPool,
    units: &[domain::UnitCode],
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<String>> {
    let codes: Vec<&str> = units.iter().map(domain::UnitCode::as_str).collect();
    sqlx::query_scalar!(
        r#"select listed.unit as "unit!" from unnest($1::text[]) as listed (unit)
           where exists (select 1 from document
                         where unit = listed.unit and signed_at >= $2 and signed_at < $3)
              or exists (select 1 from article
                         where unit = listed.unit and published_at >= $2 and published_at < $3)
              or exists (select 1 from petition
                         where unit = listed.unit and ((received_at >= $2 and received_at < $3)
                                                    or (resolved_at >= $2 and resolved_at < $3)))
              or exists (select 1 from dossier
                         where unit = listed.unit and ((received_at >= $2 and received_at < $3)
                                                    or (resolved_at >= $2 and resolved_at < $3)))"#,
        &codes as &[&str],
        start,
        end,
    )
    .fetch_all(pool)
    .await
    .context("Failed to read which units have events")
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
