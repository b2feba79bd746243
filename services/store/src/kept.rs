//! Kept counts: the figures of SPEC §5 summed per local day as the items change, so that a
//! window's indicators are read from a few hundred small rows instead of a scan of its items
//! (`migrations/20261206000002_kept_counts.sql` says what each bin holds).
//!
//! They are a cache of the figure functions the lists of items use (`store::items`), kept by
//! triggers on the item tables in the transaction that changes them: `fold_ctes!` moves a
//! transaction's changes into the counts at its end. [`prepare`] binds them to the deployment's
//! zone, rebuilding them from the items when there are none or another zone's. [`count`]
//! answers from them, or says it cannot (another zone, a window not of whole local days, an
//! item stamped past the open window's end), and the caller scans.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use domain::Counts;
use sqlx::{PgExecutor, PgPool, Postgres, Row, Transaction};

use crate::indicators::CountQuery;

/// The common table expressions that move the changes the statements of a transaction made to
/// the kept counts into them, in key order, so that concurrent transactions lock count rows in
/// one order; `folded` returns a row per count row written. Every transaction that writes
/// items ends with them, before its commit (`store::events`); the readers add what is left
/// anyway. A macro, so that the statement it goes into stays one literal.
macro_rules! fold_ctes {
    () => {
        r#"
        moved as (
            delete from figure_delta where tx = pg_current_xact_id()
            returning unit, figure, day, n
        ),
        binned as (
            select unit, figure, day, sum(n) as n from moved group by 1, 2, 3
            union all
            select unit, figure, '-infinity'::date, sum(n) from moved group by 1, 2
        ),
        folded as (
            insert into figure_count as c (unit, figure, day, n)
            select unit, figure, day, n from binned where n <> 0
            order by unit, figure, day
            on conflict (unit, figure, day) do update set n = c.n + excluded.n
            returning 1
        )"#
    };
}
pub(crate) use fold_ctes;

/// Makes the kept counts those of `zone`: nothing to do when they are; otherwise they are
/// rebuilt from the items, with the item tables locked against writes meanwhile (once, at the
/// first start of a deployment or after its zone changed). Returns whether it rebuilt.
pub async fn prepare(pool: &PgPool, zone: &str) -> anyhow::Result<bool> {
    if kept_zone(pool).await?.as_deref() == Some(zone) {
        return Ok(false);
    }
    let mut tx = pool.begin().await.context("Failed to begin the rebuild")?;
    sqlx::query("lock table figure_zone in exclusive mode")
        .execute(&mut *tx)
        .await
        .context("Failed to lock the kept counts")?;
    if kept_zone(&mut *tx).await?.as_deref() == Some(zone) {
        return Ok(false);
    }
    // Writers wait until the counts match the items they change.
    sqlx::query("lock table dossier, petition, document, article in share mode")
        .execute(&mut *tx)
        .await
        .context("Failed to lock the items for the rebuild")?;
    for statement in [
        "delete from figure_count",
        "delete from figure_delta",
        "delete from figure_zone",
    ] {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .context("Failed to clear the kept counts")?;
    }
    sqlx::query("insert into figure_zone (zone) values ($1)")
        .bind(zone)
        .execute(&mut *tx)
        .await
        .context("Failed to set the kept counts' zone")?;
    sqlx::query(
        r#"
        with bins as (
            select g.unit, b.figure, b.day, b.n
            from (
                select d.unit, s.*, count(*) as n
                from dossier d, dossier_shape(d.received_at, d.channel, d.digitized, d.due_at,
                                              d.settled_at, d.without_result, $1) s
                group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
            ) g, dossier_bins(g.received_day, g.via, g.is_digitized, g.settled_day,
                              g.no_result, g.late, g.due_day, g.due_from, g.due_until, g.n) b
            union all
            select g.unit, b.figure, b.day, b.n
            from (
                select p.unit, s.*, count(*) as n
                from petition p, petition_shape(p.received_at, p.settled_at, $1) s
                group by 1, 2, 3
            ) g, petition_bins(g.received_day, g.settled_day, g.n) b
            union all
            select g.unit, b.figure, b.day, b.n
            from (
                select d.unit, s.*, count(*) as n
                from document d, document_shape(d.signed_at, d.digital, $1) s
                group by 1, 2, 3
            ) g, document_bins(g.signed_day, g.is_digital, g.n) b
            union all
            select g.unit, b.figure, b.day, b.n
            from (
                select a.unit, s.*, count(*) as n
                from article a, article_shape(a.published_at, $1) s
                group by 1, 2
            ) g, article_bins(g.published_day, g.n) b
        )
        insert into figure_count (unit, figure, day, n)
        select unit, figure, day, sum(n) from bins group by 1, 2, 3 having sum(n) <> 0
        union all
        select unit, figure, '-infinity'::date, sum(n) from bins group by 1, 2
            having sum(n) <> 0
        "#,
    )
    .bind(zone)
    .execute(&mut *tx)
    .await
    .context("Failed to rebuild the kept counts")?;
    tx.commit()
        .await
        .context("Failed to commit the kept counts")?;
    tracing::info!(zone, "rebuilt the kept counts from the stored items");
    Ok(true)
}

/// The zone the counts are kept in, if any.
pub async fn kept_zone<'e>(executor: impl PgExecutor<'e>) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("select zone from figure_zone")
        .fetch_optional(executor)
        .await
        .context("Failed to read the kept counts' zone")
}

/// One figure's sums over the days of a query.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    /// Over the window's days.
    within: i64,
    /// Over the days from the window's start on.
    from_start: i64,
    /// Over the days from the window's end on.
    from_end: i64,
    /// Over the days from today on (the open window's overdue dossiers).
    from_today: i64,
    /// Over every day.
    total: i64,
}

/// The figures of `query` from the kept counts, for each of its units; `None` when they cannot
/// answer it exactly and the caller must scan: they are kept in another zone (or not at all),
/// the window does not start and end at local midnights, or (for the open window) an item is
/// stamped at or after the window's end.
pub async fn count(
    pool: &PgPool,
    query: CountQuery<'_>,
) -> anyhow::Result<Option<HashMap<String, Counts>>> {
    let zone = query.window.start().timezone().name();
    let (start, end) = (query.window.start(), query.window.end());
    if start.time() != NaiveTime::MIN || end.time() != NaiveTime::MIN {
        return Ok(None);
    }
    let (first_day, end_day) = (start.date_naive(), end.date_naive());
    let open = query.overdue_at < end.to_utc();
    let today: NaiveDate = query
        .overdue_at
        .with_timezone(&start.timezone())
        .date_naive();
    let Some(midnight) = today
        .and_time(NaiveTime::MIN)
        .and_local_timezone(start.timezone())
        .earliest()
    else {
        return Ok(None);
    };

    let mut tx = pool.begin().await.context("Failed to begin the count")?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await
        .context("Failed to begin the count")?;
    if kept_zone(&mut *tx).await?.as_deref() != Some(zone) {
        return Ok(None);
    }
    let rows = sqlx::query(
        r#"
        select unit, figure,
               coalesce(sum(n) filter (where day >= $2 and day < $3), 0)::bigint as within,
               coalesce(sum(n) filter (where day >= $2), 0)::bigint as from_start,
               coalesce(sum(n) filter (where day >= $3), 0)::bigint as from_end,
               coalesce(sum(n) filter (where day >= $4), 0)::bigint as from_today,
               coalesce(sum(n) filter (where day = '-infinity'), 0)::bigint as total
        from (
            select unit, figure, day, n from figure_count
            where unit = any($1) and (day >= least($2, $4) or day = '-infinity')
            union all
            select unit, figure, day, n from figure_delta where unit = any($1)
            union all
            select unit, figure, '-infinity'::date, n from figure_delta where unit = any($1)
        ) kept
        group by unit, figure
        "#,
    )
    .bind(query.units)
    .bind(first_day)
    .bind(end_day)
    .bind(today)
    .fetch_all(&mut *tx)
    .await
    .context("Failed to read the kept counts")?;
    let mut sums: HashMap<String, HashMap<String, Sums>> = HashMap::new();
    for row in rows {
        let unit: String = row.try_get("unit")?;
        let figure: String = row.try_get("figure")?;
        let kept = Sums {
            within: row.try_get("within")?,
            from_start: row.try_get("from_start")?,
            from_end: row.try_get("from_end")?,
            from_today: row.try_get("from_today")?,
            total: row.try_get("total")?,
        };
        sums.entry(unit).or_default().insert(figure, kept);
    }
    let due_today = if open {
        let stamped_late = sums.values().any(|unit| {
            let of = |figure: &str| unit.get(figure).copied().unwrap_or_default();
            ["dossier.received", "dossier.settled"]
                .iter()
                .any(|figure| of(figure).from_end != 0)
        });
        if stamped_late {
            return Ok(None);
        }
        overdue_since(&mut tx, query, midnight.to_utc()).await?
    } else {
        HashMap::new()
    };
    tx.commit().await.context("Failed to end the count")?;

    let counts = query
        .units
        .iter()
        .map(|unit| {
            let empty = HashMap::new();
            let kept = sums.get(*unit).unwrap_or(&empty);
            let of = |figure: &str| kept.get(figure).copied().unwrap_or_default();
            let before_start = |figure: &str| of(figure).total - of(figure).from_start;
            let pending_overdue = if open {
                let due = of("dossier.unsettled_due");
                due.total - due.from_today + due_today.get(*unit).copied().unwrap_or(0)
            } else {
                of("dossier.due").total - of("dossier.due").from_end
            };
            let counts = Counts {
                documents_issued: of("document.issued").within,
                documents_digitally_signed: of("document.digital").within,
                petitions_carried_over: before_start("petition.received")
                    - before_start("petition.settled"),
                petitions_received: of("petition.received").within,
                petitions_resolved: of("petition.settled").within,
                procedures_carried_over: before_start("dossier.received")
                    - before_start("dossier.settled"),
                procedures_received: of("dossier.received").within,
                procedures_online: of("dossier.online").within,
                procedures_direct: of("dossier.direct").within,
                procedures_postal: of("dossier.postal").within,
                procedures_digitized: of("dossier.digitized").within,
                procedures_resolved: of("dossier.settled").within,
                procedures_resolved_early: of("dossier.early").within,
                procedures_resolved_late: of("dossier.late").within,
                procedures_resolved_without_result: of("dossier.without_result").within,
                procedures_pending_overdue: pending_overdue,
                articles_published: of("article.published").within,
            };
            ((*unit).to_owned(), counts)
        })
        .collect();
    Ok(Some(counts))
}

/// The open window's dossiers that fell due since `midnight` (today's) and before its
/// `overdue_at`, received and not settled, per unit: the part of today the day's bins cannot
/// tell.
async fn overdue_since(
    tx: &mut Transaction<'_, Postgres>,
    query: CountQuery<'_>,
    midnight: DateTime<Utc>,
) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        r#"
        select unit, count(*) from dossier
        where unit = any($1) and due_at >= $2 and due_at < $3
          and received_at is not null and resolved_at is null
        group by unit
        "#,
    )
    .bind(query.units)
    .bind(midnight)
    .bind(query.overdue_at)
    .fetch_all(&mut **tx)
    .await
    .context("Failed to count the dossiers due today")?;
    Ok(rows.into_iter().collect())
}
