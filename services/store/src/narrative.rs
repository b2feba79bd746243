//! Per-period edits of a unit's narrative paragraphs: an officer replaces or adds paragraphs for
//! one period before its report is sent; the configured text stays the default for the others.

use anyhow::Context;
use domain::{Period, UnitCode};
use sqlx::PgPool;

/// One field's edited paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrativeEdit {
    /// The narrative field, e.g. `limitations`.
    pub field: String,
    /// The paragraphs that replace the configured ones.
    pub paragraphs: Vec<String>,
}

/// The edits of `unit`'s narrative for `period`.
#[tracing::instrument(skip_all, fields(unit = %unit, period = %period))]
pub async fn for_period(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
) -> anyhow::Result<Vec<NarrativeEdit>> {
    let rows = sqlx::query!(
        "select field, paragraphs from narrative_edit
         where unit = $1 and period = $2 order by field",
        unit.as_str(),
        period.to_string(),
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the narrative edits")?;
    Ok(rows
        .into_iter()
        .map(|row| NarrativeEdit {
            field: row.field,
            paragraphs: row.paragraphs,
        })
        .collect())
}

/// Replaces `field`'s paragraphs for `period`.
#[tracing::instrument(skip_all, fields(unit = %unit, period = %period, field))]
pub async fn replace(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
    field: &str,
    paragraphs: &[String],
) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into narrative_edit (unit, period, field, paragraphs) values ($1, $2, $3, $4)
         on conflict (unit, period, field)
         do update set paragraphs = excluded.paragraphs, updated_at = now()",
        unit.as_str(),
        period.to_string(),
        field,
        paragraphs,
    )
    .execute(pool)
    .await
    .context("Failed to store the narrative edit")?;
    Ok(())
}

/// Adds `paragraphs` after `field`'s paragraphs for `period`: after the period's edit if there
/// is one, else after `configured` (the unit's configured text). One statement, so two officers
/// adding at once both keep their paragraphs.
#[tracing::instrument(skip_all, fields(unit = %unit, period = %period, field))]
pub async fn append(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
    field: &str,
    configured: &[String],
    paragraphs: &[String],
) -> anyhow::Result<usize> {
    let all = sqlx::query_scalar!(
        "insert into narrative_edit (unit, period, field, paragraphs)
         values ($1, $2, $3, $4::text[] || $5::text[])
         on conflict (unit, period, field)
         do update set paragraphs = narrative_edit.paragraphs || $5::text[], updated_at = now()
         returning paragraphs",
        unit.as_str(),
        period.to_string(),
        field,
        configured,
        paragraphs,
    )
    .fetch_one(pool)
    .await
    .context("Failed to store the narrative edit")?;
    Ok(all.len())
}

/// Drops the edits of `field` (or of every field) for `period`, bringing back the configured
/// text; returns how many fields were reset.
#[tracing::instrument(skip_all, fields(unit = %unit, period = %period))]
pub async fn reset(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
    field: Option<&str>,
) -> anyhow::Result<u64> {
    let done = sqlx::query!(
        "delete from narrative_edit
         where unit = $1 and period = $2 and ($3::text is null or field = $3)",
        unit.as_str(),
        period.to_string(),
        field,
    )
    .execute(pool)
    .await
    .context("Failed to reset the narrative")?;
    Ok(done.rows_affected())
}
