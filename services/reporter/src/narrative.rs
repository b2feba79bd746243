//! A period's narrative paragraphs (SPEC §6.1): the unit's configured text with the period's
//! edits, and the edits themselves. The command line (`report narrative`) and the dashboard
//! (`POST …/narrative`) both change a narrative through [`apply`], so both accept and refuse the
//! same things: the rules are `domain::profile`'s (text, bounds, directives), checked against
//! the narrative as it stands, so that adding to a field cannot grow it without bound.

use domain::Period;
use domain::profile::{
    IssuerKind, NarrativeField, UnitProfile, check_field_size, check_narrative_size,
    check_paragraphs,
};
use serde::Serialize;
use store::PgPool;
use store::audit::Actor;

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

/// Checks and stores `change` to the narrative for `period` of `profile`, a `kind`'s: each new
/// paragraph's text (`check_paragraphs`), then the field and the whole narrative as the change
/// leaves them (`check_field_size`, `check_narrative_size`), against the narrative as it
/// stands under the period's lock ([`store::narrative::edit`]).
#[tracing::instrument(skip_all, fields(unit = %profile.code, period = %period))]
pub async fn apply(
    pool: &PgPool,
    profile: &UnitProfile,
    kind: IssuerKind,
    period: Period,
    change: Change,
    actor: &Actor,
) -> Result<Applied, ChangeError> {
    let (field, paragraphs, append) = match change {
        Change::Replace(field, paragraphs) => (field, paragraphs, false),
        Change::Append(_, paragraphs) if paragraphs.is_empty() => {
            return Err(ChangeError::Refused("nothing to append".into()));
        }
        Change::Append(field, paragraphs) => (field, paragraphs, true),
        Change::Reset(field) => {
            let field = field.map(NarrativeField::name);
            let reset = store::narrative::reset(pool, &profile.code, period, field, actor).await?;
            return Ok(Applied::Reset(reset));
        }
    };
    check_paragraphs(&paragraphs, field, kind).map_err(ChangeError::Refused)?;
    let edit = store::narrative::edit(pool, &profile.code, period).await?;
    let mut narrative = with_edits(&profile.narrative, edit.edits());
    let next = if append {
        [narrative.get(field), &paragraphs].concat()
    } else {
        paragraphs
    };
    check_field_size(field, &next).map_err(ChangeError::Refused)?;
    narrative.set(field, next.clone());
    check_narrative_size(&narrative).map_err(ChangeError::Refused)?;
    let detail = format!(
        "{} {} ({} paragraphs now)",
        field.name(),
        if append { "appended to" } else { "replaced" },
        next.len()
    );
    edit.store(field.name(), &next, actor, &detail).await?;
    Ok(Applied::Paragraphs(next.len()))
}
