//! A period's narrative paragraphs (SPEC §6.1): the unit's configured text with the period's
//! edits, and the edits themselves. The command line (`report narrative`) and the dashboard
//! (`POST …/narrative`) both change a narrative through [`apply`], so both accept and refuse the
//! same things.

use domain::Period;
use domain::profile::{NarrativeField, UnitProfile, check_paragraphs};
use serde::Serialize;
use store::PgPool;

use crate::compose::with_edits;

/// One field of a period's narrative, as the report will print it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldText {
    /// The field, e.g. `limitations`.
    pub field: NarrativeField,
    /// Its paragraphs in this period's report.
    pub paragraphs: Vec<String>,
    /// Edited for this period (false: the configured text).
    pub edited: bool,
}

/// Every field of `profile`'s narrative for `period`, in the report's order.
pub async fn fields(
    pool: &PgPool,
    profile: &UnitProfile,
    period: Period,
) -> anyhow::Result<Vec<FieldText>> {
    let edits = store::narrative::for_period(pool, &profile.code, period).await?;
    let narrative = with_edits(&profile.narrative, &edits);
    Ok(narrative
        .fields()
        .map(|(field, paragraphs)| FieldText {
            field,
            paragraphs: paragraphs.to_vec(),
            edited: edits.iter().any(|edit| edit.field == field.name()),
        })
        .collect())
}

/// An officer's change to a period's narrative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The field's paragraphs for this period are these (none: the field is left empty).
    Replace(NarrativeField, Vec<String>),
    /// These paragraphs come after the field's current ones.
    Append(NarrativeField, Vec<String>),
    /// Back to the configured text, for one field or (`None`) every field.
    Reset(Option<NarrativeField>),
}

/// Why a change was refused, or that it could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The change itself is wrong; the message says how to put it right.
    #[error("{0}")]
    Refused(String),
    /// Storing it failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// What a change left: the paragraphs the field now has, or how many fields were reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The field now has this many paragraphs.
    Paragraphs(usize),
    /// This many fields went back to the configured text.
    Reset(u64),
}

/// Checks and stores `change` to `profile`'s narrative for `period`.
#[tracing::instrument(skip_all, fields(unit = %profile.code, period = %period))]
pub async fn apply(
    pool: &PgPool,
    profile: &UnitProfile,
    period: Period,
    change: Change,
) -> Result<Applied, ChangeError> {
    let unit = &profile.code;
    match change {
        Change::Replace(field, paragraphs) => {
            check_paragraphs(&paragraphs).map_err(ChangeError::Refused)?;
            store::narrative::replace(pool, unit, period, field.name(), &paragraphs).await?;
            Ok(Applied::Paragraphs(paragraphs.len()))
        }
        Change::Append(field, paragraphs) => {
            if paragraphs.is_empty() {
                return Err(ChangeError::Refused("nothing to append".into()));
            }
            check_paragraphs(&paragraphs).map_err(ChangeError::Refused)?;
            let configured = profile.narrative.get(field);
            let count =
                store::narrative::append(pool, unit, period, field.name(), configured, &paragraphs)
                    .await?;
            Ok(Applied::Paragraphs(count))
        }
        Change::Reset(field) => {
            let reset =
                store::narrative::reset(pool, unit, period, field.map(NarrativeField::name))
                    .await?;
            Ok(Applied::Reset(reset))
        }
    }
}
