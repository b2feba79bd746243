//! Counting a unit's stored state over a window (SPEC §5).

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::{Counts, Window};
use sqlx::{PgPool, Postgres, Transaction};

/// What to count: a unit, a window (in the deployment's zone, whose calendar days decide
/// "early"), and the instant against which pending dossiers are overdue (the window's end, or
/// now for the open window).
#[derive(Debug, Clone, Copy)]
pub struct CountQuery<'a> {
    /// The unit's code.
    pub unit: &'a str,
    /// The window counted.
    pub window: Window,
    /// Pending dossiers due before this instant are overdue.
    pub overdue_at: DateTime<Utc>,
}

/// Counts the figures of one window. Only items whose received event has arrived are counted
/// as petitions or dossiers; an orphan resolved event waits for its pair. A resolution
/// stamped before its reception (a clock off upstream) counts as made on reception, so the
/// item is still received in its window and resolved once.
///
/// The dossiers, the heaviest part, are counted on one connection while documents, articles
/// and petitions are counted on another: PostgreSQL runs one statement's parts one after the
/// other, and two statements side by side use both cores.
#[tracing::instrument(skip_all, fields(unit = query.unit))]
pub async fn count(pool: &PgPool, query: CountQuery<'_>) -> anyhow::Result<Counts> {
    let (dossiers, others) =
        tokio::try_join!(count_dossiers(pool, query), count_others(pool, query))?;
    Ok(Counts {
        documents_issued: others.documents_issued,
        documents_digitally_signed: others.documents_digitally_signed,
        petitions_carried_over: others.petitions_carried_over,
        petitions_received: others.petitions_received,
        petitions_resolved: others.petitions_resolved,
        procedures_carried_over: dossiers.carried_over,
        procedures_received: dossiers.received,
        procedures_online: dossiers.online,
        procedures_direct: dossiers.direct,
        procedures_postal: dossiers.postal,
        procedures_digitized: dossiers.digitized,
        procedures_resolved: dossiers.resolved,
        procedures_resolved_early: dossiers.resolved_early,
        procedures_resolved_late: dossiers.resolved_late,
        procedures_pending_overdue: dossiers.pending_overdue,
        articles_published: others.articles_published,
    })
}

/// A read-only transaction in which the counting statements are planned for the window they
/// are given. After five runs of a prepared statement PostgreSQL may switch to a generic plan,
/// one for any window; for these counts that plan is a bitmap scan up to twice as slow as the
/// parallel scan a real window gets (measured with `cargo bench --bench report`).
async fn planned_per_window(pool: &PgPool) -> anyhow::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await.context("Failed to begin the count")?;
    sqlx::query("set transaction read only")
        .execute(&mut *tx)
        .await
        .context("Failed to begin the count")?;
    sqlx::query("set local plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await
        .context("Failed to begin the count")?;
    Ok(tx)
}

struct DossierCounts {
    carried_over: i64,
    received: i64,
    online: i64,
    direct: i64,
    postal: i64,
    digitized: i64,
    resolved: i64,
    resolved_early: i64,
    resolved_late: i64,
    pending_overdue: i64,
}

/// The dossier figures. "Early" is a resolution before the first instant of the due date's
/// local day, which is the SPEC's "on a calendar day before the day of due_at". In a zone
/// without daylight saving (Asia/Ho_Chi_Minh) local days are 24-hour bins from any local
/// midnight, which PostgreSQL computes without a time zone lookup per row (`date_bin`); other
/// zones convert each due date (`date_trunc` in the zone).
async fn count_dossiers(pool: &PgPool, query: CountQuery<'_>) -> anyhow::Result<DossierCounts> {
    let mut tx = planned_per_window(pool).await?;
    let row = sqlx::query!(
        r#"
        with dossier_span as (
            -- A resolution stamped before the reception counts as made on reception.
            select received_at, channel, digitized, due_at,
                   case when resolved_at is not null then greatest(resolved_at, received_at) end
                       as resolved_at
            from dossier
            where unit = $1 and received_at < $3
        )
        select
            count(*) filter (where received_at < $2) as "carried_over!",
            count(*) filter (where received_at >= $2) as "received!",
            count(*) filter (where received_at >= $2 and channel = 'online') as "online!",
            count(*) filter (where received_at >= $2 and channel = 'direct') as "direct!",
            count(*) filter (where received_at >= $2 and channel = 'postal') as "postal!",
            count(*) filter (where received_at >= $2 and digitized) as "digitized!",
            count(*) filter (where resolved_at < $3) as "resolved!",
            count(*) filter (
                where resolved_at < $3 and resolved_at < case
                    when $6::timestamptz is null then date_trunc('day', due_at, $5)
                    else date_bin('1 day', due_at, $6)
                end
            ) as "resolved_early!",
            count(*) filter (where resolved_at < $3 and resolved_at > due_at) as "resolved_late!",
            count(*) filter (
                where (resolved_at is null or resolved_at >= $3) and due_at < $4
            ) as "pending_overdue!"
        from dossier_span
        where resolved_at is null or resolved_at >= $2
        "#,
        query.unit,
        query.window.start().to_utc(),
        query.window.end().to_utc(),
        query.overdue_at,
        query.window.start().timezone().name(),
        query.window.fixed_offset_midnight(),
    )
    .fetch_one(&mut *tx)
    .await
    .context("Failed to count the dossiers")?;
    tx.commit().await.context("Failed to end the count")?;
    Ok(DossierCounts {
        carried_over: row.carried_over,
        received: row.received,
        online: row.online,
        direct: row.direct,
        postal: row.postal,
        digitized: row.digitized,
        resolved: row.resolved,
        resolved_early: row.resolved_early,
        resolved_late: row.resolved_late,
        pending_overdue: row.pending_overdue,
    })
}

/// Documents, articles and petitions.
async fn count_others(pool: &PgPool, query: CountQuery<'_>) -> anyhow::Result<Counts> {
    let mut tx = planned_per_window(pool).await?;
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
        ), documents as (
            select count(*) as issued, count(*) filter (where digital) as digitally_signed
            from document
            where unit = $1 and signed_at >= $2 and signed_at < $3
        ), articles as (
            select count(*) as published
            from article
            where unit = $1 and published_at >= $2 and published_at < $3
        )
        select
            documents.issued as "documents_issued!",
            documents.digitally_signed as "documents_digitally_signed!",
            articles.published as "articles_published!",
            petitions.carried_over as "petitions_carried_over!",
            petitions.received as "petitions_received!",
            petitions.resolved as "petitions_resolved!"
        from petitions, documents, articles
        "#,
        query.unit,
        query.window.start().to_utc(),
        query.window.end().to_utc(),
    )
    .fetch_one(&mut *tx)
    .await
    .context("Failed to count the documents, articles and petitions")?;
    tx.commit().await.context("Failed to end the count")?;
    Ok(Counts {
        documents_issued: row.documents_issued,
        documents_digitally_signed: row.documents_digitally_signed,
        petitions_carried_over: row.petitions_carried_over,
        petitions_received: row.petitions_received,
        petitions_resolved: row.petitions_resolved,
        articles_published: row.articles_published,
        ..Counts::default()
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
    let end = window.end().to_utc();
    anyhow::ensure!(
        window.start().to_utc() <= now,
        "period {period} has not started yet (its window opens {})",
        window.start()
    );
    let query = CountQuery {
        unit: unit.as_str(),
        window,
        overdue_at: end.min(now),
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
