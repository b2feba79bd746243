//! Counting units' stored state over a window (SPEC §5): one ward, a summary's members, or every
//! ward of a province, with the same statements, grouped by unit, whatever the number of units.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::{Counts, Indicators, Period, UnitCode, Window};
use sqlx::{PgPool, Postgres, Transaction};

/// What to count: units, a window (in the deployment's zone, whose calendar days decide
/// "early"), and the instant against which pending dossiers are overdue (the window's end, or
/// now for the open window).
#[derive(Debug, Clone, Copy)]
pub struct CountQuery<'a> {
    /// The units' codes.
    pub units: &'a [&'a str],
    /// The window counted.
    pub window: Window,
    /// Pending dossiers due before this instant are overdue.
    pub overdue_at: DateTime<Utc>,
}

/// Counts the figures of one window for each unit of the query (a unit with nothing counted
/// has zeros). Only items whose received event has arrived are counted as petitions or
/// dossiers; an orphan resolved event waits for its pair. A resolution stamped before its
/// reception (a clock off upstream) counts as made on reception, so the item is still received
/// in its window and resolved once: that instant is the tables' `settled_at` (a generated
/// column, see `migrations/20261130000005_settled_at.sql`).
///
/// The dossiers, the heaviest part, are counted on one connection while documents, articles
/// and petitions are counted on another: PostgreSQL runs one statement's parts one after the
/// other, and two statements side by side use both cores.
///
/// One unit (a ward's report, its live counters, its trend) is counted with statements of its
/// own, without grouping: on a window of a million events, grouping by unit made the one-unit
/// count about twice as slow (measured with `cargo bench --bench report`).
///
/// The counts are read from the kept counts ([`crate::kept`]) when they can answer the query,
/// and otherwise counted from the items ([`count_scanned`]): the same numbers either way.
#[tracing::instrument(skip_all, fields(units = query.units.len()))]
pub async fn count(
    pool: &PgPool,
    query: CountQuery<'_>,
) -> anyhow::Result<HashMap<String, Counts>> {
    match crate::kept::count(pool, query).await? {
        Some(kept) => Ok(kept),
        None => count_scanned(pool, query).await,
    }
}

/// [`count`] from the items themselves, through the figure functions the lists use.
pub async fn count_scanned(
    pool: &PgPool,
    query: CountQuery<'_>,
) -> anyhow::Result<HashMap<String, Counts>> {
    if let [unit] = query.units {
        let (dossiers, others) = tokio::try_join!(
            one_unit_dossiers(pool, unit, query),
            one_unit_others(pool, unit, query)
        )?;
        return Ok(HashMap::from([((*unit).to_owned(), dossiers + others)]));
    }
    let mut counts: HashMap<String, Counts> = query
        .units
        .iter()
        .map(|unit| ((*unit).to_owned(), Counts::default()))
        .collect();
    let (dossiers, others) =
        tokio::try_join!(count_dossiers(pool, query), count_others(pool, query))?;
    // Each statement sets its own fields and leaves the others zero: the sum is the whole.
    for (unit, part) in dossiers.into_iter().chain(others) {
        if let Some(total) = counts.get_mut(&unit) {
            *total = *total + part;
        }
    }
    Ok(counts)
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

/// The dossier figures. A dossier that ended without a result (withdrawn, stopped) is resolved
/// on time: never early or late, and counted apart. "Early" is a resolution before the first instant of the due date's
/// local day, which is the SPEC's "on a calendar day before the day of due_at". In a zone
/// without daylight saving (Asia/Ho_Chi_Minh) local days are 24-hour bins from any local
/// midnight, which PostgreSQL computes without a time zone lookup per row (`date_bin`); other
/// zones convert each due date (`date_trunc` in the zone).
async fn count_dossiers(
    pool: &PgPool,
    query: CountQuery<'_>,
) -> anyhow::Result<Vec<(String, Counts)>> {
    let mut tx = planned_per_window(pool).await?;
    let rows = sqlx::query!(
        r#"
        select
            unit as "unit!",
            count(*) filter (where carried_over) as "carried_over!",
            count(*) filter (where received) as "received!",
            count(*) filter (where online) as "online!",
            count(*) filter (where direct) as "direct!",
            count(*) filter (where postal) as "postal!",
            count(*) filter (where is_digitized) as "digitized!",
            count(*) filter (where resolved) as "resolved!",
            count(*) filter (where resolved_early) as "resolved_early!",
            count(*) filter (where resolved_late) as "resolved_late!",
            count(*) filter (where resolved_without_result) as "without_result!",
            count(*) filter (where pending_overdue) as "pending_overdue!"
        from dossier_figures($1, $2, $3, $4, $5, $6)
        group by unit
        "#,
        query.units as &[&str],
        query.window.start().to_utc(),
        query.window.end().to_utc(),
        query.overdue_at,
        query.window.start().timezone().name(),
        query.window.fixed_offset_midnight(),
    )
    .fetch_all(&mut *tx)
    .await
    .context("Failed to count the dossiers")?;
    tx.commit().await.context("Failed to end the count")?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let counts = Counts {
                procedures_carried_over: row.carried_over,
                procedures_received: row.received,
                procedures_online: row.online,
                procedures_direct: row.direct,
                procedures_postal: row.postal,
                procedures_digitized: row.digitized,
                procedures_resolved: row.resolved,
                procedures_resolved_early: row.resolved_early,
                procedures_resolved_late: row.resolved_late,
                procedures_resolved_without_result: row.without_result,
                procedures_pending_overdue: row.pending_overdue,
                ..Counts::default()
            };
            (row.unit, counts)
        })
        .collect())
}

/// Documents, articles and petitions: three statements in one transaction.
async fn count_others(
    pool: &PgPool,
    query: CountQuery<'_>,
) -> anyhow::Result<Vec<(String, Counts)>> {
    let (units, start, end) = (
        query.units,
        query.window.start().to_utc(),
        query.window.end().to_utc(),
    );
    let mut tx = planned_per_window(pool).await?;
    let documents = sqlx::query!(
        r#"select unit as "unit!", count(*) as "issued!",
                  count(*) filter (where digitally_signed) as "digital!"
           from document_figures($1, $2, $3) group by unit"#,
        units as &[&str],
        start,
        end,
    )
    .fetch_all(&mut *tx)
    .await
    .context("Failed to count the documents")?;
    let articles = sqlx::query!(
        r#"select unit as "unit!", count(*) as "published!"
           from article_figures($1, $2, $3) group by unit"#,
        units as &[&str],
        start,
        end,
    )
    .fetch_all(&mut *tx)
    .await
    .context("Failed to count the articles")?;
    let petitions = sqlx::query!(
        r#"
        select unit as "unit!",
               count(*) filter (where carried_over) as "carried_over!",
               count(*) filter (where received) as "received!",
               count(*) filter (where resolved) as "resolved!"
        from petition_figures($1, $2, $3)
        group by unit
        "#,
        units as &[&str],
        start,
        end,
    )
    .fetch_all(&mut *tx)
    .await
    .context("Failed to count the petitions")?;
    tx.commit().await.context("Failed to end the count")?;
    let documents = documents.into_iter().map(|row| {
        let counts = Counts {
            documents_issued: row.issued,
            documents_digitally_signed: row.digital,
            ..Counts::default()
        };
        (row.unit, counts)
    });
    let articles = articles.into_iter().map(|row| {
        let counts = Counts {
            articles_published: row.published,
            ..Counts::default()
        };
        (row.unit, counts)
    });
    let petitions = petitions.into_iter().map(|row| {
        let counts = Counts {
            petitions_carried_over: row.carried_over,
            petitions_received: row.received,
            petitions_resolved: row.resolved,
            ..Counts::default()
        };
        (row.unit, counts)
    });
    Ok(documents.chain(articles).chain(petitions).collect())
}

/// The dossier figures of one unit: [`count_dossiers`] without the grouping.
async fn one_unit_dossiers(
    pool: &PgPool,
    unit: &str,
    query: CountQuery<'_>,
) -> anyhow::Result<Counts> {
    let mut tx = planned_per_window(pool).await?;
    let row = sqlx::query!(
        r#"
        select
            count(*) filter (where carried_over) as "carried_over!",
            count(*) filter (where received) as "received!",
            count(*) filter (where online) as "online!",
            count(*) filter (where direct) as "direct!",
            count(*) filter (where postal) as "postal!",
            count(*) filter (where is_digitized) as "digitized!",
            count(*) filter (where resolved) as "resolved!",
            count(*) filter (where resolved_early) as "resolved_early!",
            count(*) filter (where resolved_late) as "resolved_late!",
            count(*) filter (where resolved_without_result) as "without_result!",
            count(*) filter (where pending_overdue) as "pending_overdue!"
        from dossier_figures(array[$1::text], $2, $3, $4, $5, $6)
        "#,
        unit,
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
    Ok(Counts {
        procedures_carried_over: row.carried_over,
        procedures_received: row.received,
        procedures_online: row.online,
        procedures_direct: row.direct,
        procedures_postal: row.postal,
        procedures_digitized: row.digitized,
        procedures_resolved: row.resolved,
        procedures_resolved_early: row.resolved_early,
        procedures_resolved_late: row.resolved_late,
        procedures_resolved_without_result: row.without_result,
        procedures_pending_overdue: row.pending_overdue,
        ..Counts::default()
    })
}

/// Documents, articles and petitions of one unit: [`count_others`] without the grouping, in
/// one statement.
async fn one_unit_others(
    pool: &PgPool,
    unit: &str,
    query: CountQuery<'_>,
) -> anyhow::Result<Counts> {
    let mut tx = planned_per_window(pool).await?;
    let row = sqlx::query!(
        r#"
        with petitions as (
            select
                count(*) filter (where carried_over) as carried_over,
                count(*) filter (where received) as received,
                count(*) filter (where resolved) as resolved
            from petition_figures(array[$1::text], $2, $3)
        ), documents as (
            select count(*) as issued, count(*) filter (where digitally_signed) as digitally_signed
            from document_figures(array[$1::text], $2, $3)
        ), articles as (
            select count(*) as published
            from article_figures(array[$1::text], $2, $3)
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
        unit,
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

/// The indicators documents of `units` for `period`, as of `now`, in the given order: final
/// once the window has closed; for the open window the figures so far, with dossiers overdue
/// as of now. The same statements whatever the number of units.
pub async fn for_units(
    pool: &PgPool,
    units: &[UnitCode],
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Indicators>> {
    let window = period.window(tz);
    let end = window.end().to_utc();
    anyhow::ensure!(
        window.start().to_utc() <= now,
        "period {period} has not started yet (its window opens {})",
        window.start()
    );
    let codes: Vec<&str> = units.iter().map(UnitCode::as_str).collect();
    let query = CountQuery {
        units: &codes,
        window,
        overdue_at: end.min(now),
    };
    let mut counts = count(pool, query).await?;
    Ok(units
        .iter()
        .map(|unit| {
            let counted = counts.remove(unit.as_str()).unwrap_or_default();
            Indicators::new(unit.clone(), period, window, now >= end, counted)
        })
        .collect())
}

/// The indicators document of `unit` for `period`, as of `now` (see [`for_units`]).
pub async fn for_period(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<Indicators> {
    let mut one = for_units(pool, std::slice::from_ref(unit), period, tz, now).await?;
    one.pop().context("no indicators for the unit")
}
