//! Per-period edits of a unit's narrative paragraphs: an officer replaces or adds paragraphs for
//! one period before its report is sent; the configured text stays the default for the others.
//! A change is made through an [`Edit`], which holds the period's narrative while the change is
//! checked and stored.

use anyhow::Context;
use domain::{Period, UnitCode};
use sqlx::{PgPool, Postgres, Transaction};

use crate::audit::Actor;

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
    executor: impl sqlx::PgExecutor<'_>,
    unit: &UnitCode,
    period: Period,
) -> anyhow::Result<Vec<NarrativeEdit>> {
    let rows = sqlx::query!(
        "select field, paragraphs from narrative_edit
         where unit = $1 and period = $2 order by field",
        unit.as_str(),
        period.to_string(),
    )
    .fetch_all(executor)
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

/// A period's narrative edits held for one change: read in a transaction under an advisory lock
/// that every other change of the same unit and period waits for. A change is then checked
/// against the narrative as it stands, and two officers adding at once both keep their
/// paragraphs (the second reads the first's). Dropped without [`Edit::store`], nothing changes.
pub struct Edit {
    tx: Transaction<'static, Postgres>,
    unit: UnitCode,
    period: Period,
    edits: Vec<NarrativeEdit>,
}

/// Begins a change of `unit`'s narrative for `period`: waits for the changes in flight, then
/// reads the period's edits.
#[tracing::instrument(skip_all, fields(unit = %unit, period = %period))]
pub async fn edit(pool: &PgPool, unit: &UnitCode, period: Period) -> anyhow::Result<Edit> {
    let mut tx = pool
        .begin()
        .await
        .context("Failed to begin the narrative edit")?;
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('narrative ' || $1 || ' ' || $2, 0))",
        unit.as_str(),
        period.to_string(),
    )
    .execute(&mut *tx)
    .await
    .context("Failed to lock the period's narrative")?;
    let edits = for_period(&mut *tx, unit, period).await?;
    Ok(Edit {
        tx,
        unit: unit.clone(),
        period,
        edits,
    })
}

impl Edit {
    /// The period's edits as they stand, one per edited field.
    pub fn edits(&self) -> &[NarrativeEdit] {
        &self.edits
    }

    /// Stores `paragraphs` as `field`'s for the period with its row of the audit list (`actor`,
    /// `detail`), and commits.
    #[tracing::instrument(skip_all, fields(unit = %self.unit, period = %self.period, field))]
    pub async fn store(
        mut self,
        field: &str,
        paragraphs: &[String],
        actor: &Actor,
        detail: &str,
    ) -> anyhow::Result<()> {
        sqlx::query!(
            "insert into narrative_edit (unit, period, field, paragraphs) values ($1, $2, $3, $4)
             on conflict (unit, period, field)
             do update set paragraphs = excluded.paragraphs, updated_at = now()",
            self.unit.as_str(),
            self.period.to_string(),
            field,
            paragraphs,
        )
        .execute(&mut *self.tx)
        .await
        .context("Failed to store the narrative edit")?;
        let action = crate::audit::Action::NarrativeEdit;
        crate::audit::record(&mut self.tx, actor, &self.unit, self.period, action, detail).await?;
        self.tx
            .commit()
            .await
            .context("Failed to commit the narrative edit")
    }
}

/// Drops the edits of `field` (or of every field) for `period`, bringing back the configured
/// text, with its row of the audit list (`actor`); returns how many fields were reset.
#[tracing::instrument(skip_all, fields(unit = %unit, period = %period))]
pub async fn reset(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
    field: Option<&str>,
    actor: &Actor,
) -> anyhow::Result<u64> {
    let mut tx = pool
        .begin()
        .await
        .context("Failed to begin the narrative reset")?;
    let done = sqlx::query!(
        "delete from narrative_edit
         where unit = $1 and period = $2 and ($3::text is null or field = $3)",
        unit.as_str(),
        period.to_string(),
        field,
    )
    .execute(&mut *tx)
    .await
    .context("Failed to reset the narrative")?;
    let detail = format!(
        "{} reset to the configured text",
        field.unwrap_or("every field")
    );
    let action = crate::audit::Action::NarrativeEdit;
    crate::audit::record(&mut tx, actor, unit, period, action, &detail).await?;
    tx.commit()
        .await
        .context("Failed to commit the narrative reset")?;
    Ok(done.rows_affected())
}
