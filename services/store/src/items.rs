//! The items behind each figure (SPEC §5.1): the dossiers, petitions, documents and articles a
//! figure counts, as the figures stand now or as an issued revision counted them.
//!
//! Which items a figure counts is decided once, by the functions of
//! `migrations/20261206000001_figure_items.sql` (`dossier_figures` and its siblings), which
//! [`crate::indicators`] counts too: a list here is the rows whose `figures` name the figure,
//! so its length is the figure. An issued revision keeps its rows ([`freeze`]), checked against
//! its figures in the transaction that stores it ([`frozen_counts`]).

use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::Window;
use domain::figures::{Figure, ItemKind};
use futures_lite::{Stream, StreamExt};
use sqlx::{PgPool, Postgres, Transaction};

/// One item as a list shows it: the columns of every kind, those a kind lacks empty.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemRow {
    /// The unit it belongs to.
    pub unit: String,
    /// Its id as the source gave it (`MaHoSo`, the document's id…).
    pub item_id: String,
    /// The procedure's code (a dossier), the document's number, the article's title.
    pub label: Option<String>,
    /// How a dossier was submitted.
    pub channel: Option<String>,
    /// When it was received (a dossier, a petition), signed (a document) or published (an
    /// article).
    pub received_at: Option<DateTime<Utc>>,
    /// A dossier's due date.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was resolved, if before the window's end.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Digitized (a dossier) or signed digitally (a document).
    pub flag: Option<bool>,
    /// A dossier that ended without a result.
    pub without_result: Option<bool>,
}

/// Where a list comes from: revisions' kept rows, the stored state as it is now, or both (a
/// summary's members: those that issued as their revision counted, the others now).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Issued revisions (`report_id`) whose kept rows are read.
    pub frozen: &'a [i64],
    /// Units whose items are read as they stand now.
    pub live: &'a [String],
    /// The window: its scope for the live units; a resolution after its end is not shown.
    pub window: Window,
    /// Pending dossiers due before this instant are overdue (the window's end, or now for the
    /// open window): as [`crate::indicators::CountQuery`].
    pub overdue_at: DateTime<Utc>,
}

/// The column a list is sorted by, then by unit and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// The unit, then the id.
    Unit,
    /// The id.
    #[default]
    Id,
    /// When received (signed, published).
    Received,
    /// The due date.
    Due,
    /// When resolved.
    Resolved,
}

impl SortKey {
    /// Every key and its name in a query string.
    pub const ALL: [(&'static str, SortKey); 5] = [
        ("unit", SortKey::Unit),
        ("id", SortKey::Id),
        ("received_at", SortKey::Received),
        ("due_at", SortKey::Due),
        ("resolved_at", SortKey::Resolved),
    ];

    fn column(self) -> &'static str {
        match self {
            SortKey::Unit => "unit",
            SortKey::Id => "item_id",
            SortKey::Received => "received_at",
            SortKey::Due => "due_at",
            SortKey::Resolved => "resolved_at",
        }
    }
}

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Order {
    /// The column.
    pub key: SortKey,
    /// Largest first.
    pub descending: bool,
}

impl Order {
    fn clause(self) -> String {
        let direction = if self.descending { "desc" } else { "asc" };
        match self.key {
            SortKey::Unit | SortKey::Id => {
                format!("order by unit {direction}, item_id {direction}")
            }
            key => format!(
                "order by {} {direction} nulls last, unit, item_id",
                key.column()
            ),
        }
    }
}

/// The kept rows of `figure` ($2) of the revisions $1, clipped at the window's end ($5).
const FROZEN: &str = "select unit, item_id, label, channel, received_at, due_at,
        case when settled_at < $5 then settled_at end as resolved_at, flag, without_result
    from report_item where report_id = any($1) and $2 = any(figures)";

/// The statement listing `figure`'s items: the kept rows of the revisions $1 and the live items
/// of the units $3 in the window [$4, $5), overdue against $6, days in zone $7 or from the
/// midnight $8 (see `dossier_figures`). Every kind takes the same parameters.
fn select(kind: ItemKind) -> String {
    let live = match kind {
        ItemKind::Dossier => {
            "select unit, dossier_id, procedure_code, channel, received_at, due_at,
                    case when settled_at < $5 then settled_at end, digitized, without_result
             from dossier_figures($3, $4, $5, $6, $7, $8) where $2 = any(figures)"
        }
        ItemKind::Petition => {
            "select unit, petition_id, null, null, received_at, null,
                    case when settled_at < $5 then settled_at end, null, null
             from petition_figures($3, $4, $5) where $2 = any(figures)"
        }
        ItemKind::Document => {
            "select unit, document_id, number, null, signed_at, null, null, digital, null
             from document_figures($3, $4, $5) where $2 = any(figures)"
        }
        ItemKind::Article => {
            "select unit, article_id, title, null, published_at, null, null, null, null
             from article_figures($3, $4, $5) where $2 = any(figures)"
        }
    };
    format!("{FROZEN}\n    union all\n    {live}")
}

/// Binds `source`'s parameters and the figure's path as [`select`] numbers them.
fn bind<'q, O>(
    query: sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments>,
    source: &Source<'q>,
    figure: &Figure,
) -> sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments> {
    let window = source.window;
    query
        .bind(source.frozen)
        .bind(figure.path)
        .bind(source.live)
        .bind(window.start().to_utc())
        .bind(window.end().to_utc())
        .bind(source.overdue_at)
        .bind(window.start().timezone().name())
        .bind(window.fixed_offset_midnight())
}

/// One page of `figure`'s items from `source`, in `order`: `limit` items from the `offset`-th.
pub async fn page(
    pool: &PgPool,
    source: Source<'_>,
    figure: &Figure,
    order: Order,
    offset: i64,
    limit: i64,
) -> anyhow::Result<Vec<ItemRow>> {
    let sql = format!(
        "select * from ({}) items {} limit $9 offset $10",
        select(figure.kind),
        order.clause(),
    );
    // The statement is one of [`select`]'s, its order one of [`Order::clause`]'s: no text from
    // a request reaches it.
    let query = bind(
        sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(sql)),
        &source,
        figure,
    );
    query
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
        .with_context(|| format!("Failed to list the items of {}", figure.path))
}

/// Every item of `figure` from `source`, in `order`, as a stream read from the database as it
/// is consumed (a CSV of hundreds of thousands of rows is never held whole).
pub fn all<'a>(
    pool: &'a PgPool,
    source: Source<'a>,
    figure: &'a Figure,
    order: Order,
) -> impl Stream<Item = anyhow::Result<ItemRow>> + Send + 'a {
    let sql = format!(
        "select * from ({}) items {}",
        select(figure.kind),
        order.clause()
    );
    bind(
        sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(sql)),
        &source,
        figure,
    )
    .fetch(pool)
    .map(|row| row.context("Failed to read the items"))
}

/// Keeps, for the revision `report_id` being issued, every item of `units` in the scope of
/// `window` with the figures it counts in, as a live [`Source`] reads them now. In the
/// transaction that stores the revision.
pub async fn freeze(
    tx: &mut Transaction<'_, Postgres>,
    report_id: i64,
    units: &[&str],
    window: Window,
    overdue_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let (start, end) = (window.start().to_utc(), window.end().to_utc());
    sqlx::query!(
        "insert into report_item (report_id, unit, kind, item_id, label, channel, received_at,
                                  due_at, settled_at, flag, without_result, figures)
         select $1, unit, 'dossier', dossier_id, procedure_code, channel, received_at, due_at,
                settled_at, digitized, without_result, figures
         from dossier_figures($2, $3, $4, $5, $6, $7)",
        report_id,
        units as &[&str],
        start,
        end,
        overdue_at,
        window.start().timezone().name(),
        window.fixed_offset_midnight(),
    )
    .execute(&mut **tx)
    .await
    .context("Failed to keep the dossiers counted")?;
    sqlx::query!(
        "insert into report_item (report_id, unit, kind, item_id, label, channel, received_at,
                                  due_at, settled_at, flag, without_result, figures)
         select $1::bigint, unit, 'petition', petition_id, null::text, null::text, received_at,
                null::timestamptz, settled_at, null::boolean, null::boolean, figures
         from petition_figures($2, $3, $4)
         union all
         select $1::bigint, unit, 'document', document_id, number, null::text, signed_at,
                null::timestamptz, null::timestamptz, digital, null::boolean, figures
         from document_figures($2, $3, $4)
         union all
         select $1::bigint, unit, 'article', article_id, title, null::text, published_at,
                null::timestamptz, null::timestamptz, null::boolean, null::boolean, figures
         from article_figures($2, $3, $4)",
        report_id,
        units as &[&str],
        start,
        end,
    )
    .execute(&mut **tx)
    .await
    .context("Failed to keep the petitions, documents and articles counted")?;
    mark_kept(tx, report_id).await
}

/// Keeps, for the summary revision `report_id` being issued, the rows of `member`'s issued
/// revision `revision` of `period`: what its row of the summary's table counted.
pub async fn copy_issued(
    tx: &mut Transaction<'_, Postgres>,
    report_id: i64,
    member: &str,
    period: &str,
    revision: i32,
) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into report_item (report_id, unit, kind, item_id, label, channel, received_at,
                                  due_at, settled_at, flag, without_result, figures)
         select $1, i.unit, i.kind, i.item_id, i.label, i.channel, i.received_at, i.due_at,
                i.settled_at, i.flag, i.without_result, i.figures
         from report r join report_item i using (report_id)
         where r.unit = $2 and r.period = $3 and r.revision = $4",
        report_id,
        member,
        period,
        revision,
    )
    .execute(&mut **tx)
    .await
    .with_context(|| format!("Failed to keep the items of {member}'s revision {revision}"))?;
    Ok(())
}

async fn mark_kept(tx: &mut Transaction<'_, Postgres>, report_id: i64) -> anyhow::Result<()> {
    sqlx::query!(
        "update report set items_kept = true where report_id = $1",
        report_id
    )
    .execute(&mut **tx)
    .await
    .context("Failed to mark the report's items kept")?;
    Ok(())
}

/// Marks the summary revision `report_id` as keeping its items (after [`copy_issued`] and
/// [`freeze`] for each member).
pub async fn kept(tx: &mut Transaction<'_, Postgres>, report_id: i64) -> anyhow::Result<()> {
    mark_kept(tx, report_id).await
}

/// How many kept items of revision `report_id` each figure of each unit has:
/// `(unit, figure path, count)`.
pub async fn frozen_counts(
    tx: &mut Transaction<'_, Postgres>,
    report_id: i64,
) -> anyhow::Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query!(
        r#"select unit, figure as "figure!", count(*) as "count!"
           from report_item, unnest(figures) as figure
           where report_id = $1 group by unit, figure"#,
        report_id
    )
    .fetch_all(&mut **tx)
    .await
    .context("Failed to count the kept items")?;
    Ok(rows
        .into_iter()
        .map(|row| (row.unit, row.figure, row.count))
        .collect())
}

/// The `report_id` of `unit`'s revision `revision` of `period`, and whether its items were kept
/// (`None`: there is no such revision).
pub async fn revision(
    pool: &PgPool,
    unit: &str,
    period: &str,
    revision: i32,
) -> anyhow::Result<Option<(i64, bool)>> {
    let row = sqlx::query!(
        "select report_id, items_kept from report
         where unit = $1 and period = $2 and revision = $3",
        unit,
        period,
        revision,
    )
    .fetch_optional(pool)
    .await
    .context("Failed to find the revision")?;
    Ok(row.map(|row| (row.report_id, row.items_kept)))
}
