//! Counting a unit's stored state over a window (SPEC §5).

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::Counts;
use sqlx::PgPool;

/// What to count: a unit, a window `[start, end)`, the instant against which pending dossiers
/// are overdue (the window's end, or now for the open window), and the time zone whose
/// calendar days decide "early".
#[derive(Debug, Clone, Copy)]
pub struct CountQuery<'a> {
    /// The unit's code.
    pub unit: &'a str,
    /// The window's first instant.
    pub start: DateTime<Utc>,
    /// The first instant after the window.
    pub end: DateTime<Utc>,
    /// Pending dossiers due before this instant are overdue.
    pub overdue_at: DateTime<Utc>,
    /// The deployment's time zone.
    pub tz: Tz,
}

/// Counts the figures of one window. Only items whose received event has arrived are counted
/// as petitions or dossiers; an orphan resolved event waits for its pair. A resolution
/// stamped before its reception (a clock off upstream) counts as made on reception, so the
/// item is still received in its window and resolved once.
#[tracing::instrument(skip_all, fields(unit = query.unit))]
pub async fn count(pool: &PgPool, query: CountQuery<'_>) -> anyhow::Result<Counts> {
    let row = sqlx::query!(
        r#"
        with petition_span as (
            -- A resolution stamped before the reception counts as made on reception.
            select received_at,
                   case when resolved_at is not null then greatest(resolved_at, received_at) end
                       as resolved_at
            from petition
            where unit = $1 and received_at < $3
        ), petitions as (
            select
                count(*) filter (where received_at < $2) as carried_over,
                count(*) filter (where received_at >= $2) as received,
                count(*) filter (where resolved_at < $3) as resolved
            from petition_span
            where resolved_at is null or resolved_at >= $2
        ), dossier_span as (
            select received_at, channel, digitized, due_at,
                   case when resolved_at is not null then greatest(resolved_at, received_at) end
                       as resolved_at
            from dossier
            where unit = $1 and received_at < $3
        ), dossiers as (
            select
                count(*) filter (where received_at < $2) as carried_over,
                count(*) filter (where received_at >= $2) as received,
                count(*) filter (where received_at >= $2 and channel = 'online') as online,
                count(*) filter (where received_at >= $2 and channel = 'direct') as direct,
                count(*) filter (where received_at >= $2 and channel = 'postal') as postal,
                count(*) filter (where received_at >= $2 and digitized) as digitized,
                count(*) filter (where resolved_at < $3) as resolved,
                count(*) filter (
                    where resolved_at < $3
                      and (resolved_at at time zone $5)::date < (due_at at time zone $5)::date
                ) as resolved_early,
                count(*) filter (where resolved_at < $3 and resolved_at > due_at) as resolved_late,
                count(*) filter (
                    where (resolved_at is null or resolved_at >= $3) and due_at < $4
                ) as pending_overdue
            from dossier_span
            where resolved_at is null or resolved_at >= $2
        )
        select
            (select count(*) from document
              where unit = $1 and signed_at >= $2 and signed_at < $3) as "documents_issued!",
            (select count(*) from document
              where unit = $1 and signed_at >= $2 and signed_at < $3 and digital)
              as "documents_digitally_signed!",
            (select count(*) from article
              where unit = $1 and published_at >= $2 and published_at < $3) as "articles_published!",
            petitions.carried_over as "petitions_carried_over!",
            petitions.received as "petitions_received!",
            petitions.resolved as "petitions_resolved!",
            dossiers.carried_over as "procedures_carried_over!",
            dossiers.received as "procedures_received!",
            dossiers.online as "procedures_online!",
            dossiers.direct as "procedures_direct!",
            dossiers.postal as "procedures_postal!",
            dossiers.digitized as "procedures_digitized!",
            dossiers.resolved as "procedures_resolved!",
            dossiers.resolved_early as "procedures_resolved_early!",
            dossiers.resolved_late as "procedures_resolved_late!",
            dossiers.pending_overdue as "procedures_pending_overdue!"
        from petitions, dossiers
        "#,
        query.unit,
        query.start,
        query.end,
        query.overdue_at,
        query.tz.name(),
    )
    .fetch_one(pool)
    .await
    .context("Failed to count the indicators")?;
    Ok(Counts {
        documents_issued: row.documents_issued,
        documents_digitally_signed: row.documents_digitally_signed,
        petitions_carried_over: row.petitions_carried_over,
        petitions_received: row.petitions_received,
        petitions_resolved: row.petitions_resolved,
        procedures_carried_over: row.procedures_carried_over,
        procedures_received: row.procedures_received,
        procedures_online: row.procedures_online,
        procedures_direct: row.procedures_direct,
        procedures_postal: row.procedures_postal,
        procedures_digitized: row.procedures_digitized,
        procedures_resolved: row.procedures_resolved,
        procedures_resolved_early: row.procedures_resolved_early,
        procedures_resolved_late: row.procedures_resolved_late,
        procedures_pending_overdue: row.procedures_pending_overdue,
        articles_published: row.articles_published,
    })
}

/// The indicators document of `unit` for `period`, as of `now`: final once the window has
/// closed; for the open window the figures so far, with dossiers overdue as of now.
pub async fn for_period(
    pool: &PgPool,
    unit: &domain::UnitCode,
    period: domain::Period,
    tz: Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<domain::Indicators> {
    let window = period.window(tz);
    let (start, end) = (window.start().to_utc(), window.end().to_utc());
    anyhow::ensure!(
        start <= now,
        "period {period} has not started yet (its window opens {})",
        window.start()
    );
    let query = CountQuery {
        unit: unit.as_str(),
        start,
        end,
        overdue_at: end.min(now),
        tz,
    };
    let counts = count(pool, query).await?;
    Ok(domain::Indicators::new(
        unit.clone(),
        period,
        window,
        now >= end,
        counts,
    ))
}
