//! A period's narrative paragraphs: read, and edited one field at a time (SPEC §6.1), through
//! the same `reporter::narrative` the command line uses.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use domain::profile::{NarrativeField, split_paragraphs};
use reporter::narrative::{Change, ChangeError, FieldText};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, ErrorBody, Shared, json_body, parse_period};
use crate::AppState;
use crate::access::Who;
use crate::auth::SameOriginWrite;

/// `/api/units/{unit}/reports/{period}/narrative`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(narrative, edit_narrative))
}

/// The narrative paragraphs of a period's report, field by field.
#[utoipa::path(get, path = "/api/units/{unit}/reports/{period}/narrative", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM")),
    responses((status = 200, body = Vec<FieldText>), (status = 400, body = ErrorBody),
               (status = 404, body = ErrorBody)))]
pub async fn narrative(
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
) -> ApiResult<Json<Vec<FieldText>>> {
    let profile = state.profile(&unit)?;
    let period = parse_period(&period)?;
    Ok(Json(
        reporter::narrative::fields(&state.pool, profile, period).await?,
    ))
}

/// A change to one field.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NarrativeChange {
    /// The field, e.g. `limitations`.
    pub field: NarrativeField,
    /// What to do (replace when left out).
    #[serde(default)]
    pub action: NarrativeAction,
    /// The paragraphs, separated by blank lines; empty with replace leaves the field empty.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::narrative_text_schema)]
    pub text: String,
}

/// What a narrative change does.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NarrativeAction {
    /// The field's paragraphs for the period become the text's.
    #[default]
    Replace,
    /// The text's paragraphs come after the field's.
    Append,
    /// The field goes back to the configured text (the text is not used).
    Reset,
}

impl NarrativeChange {
    /// The change, or 400 if the text holds a control character that is not white space,
    /// whatever the action (the document's pattern of `text` says so).
    fn parse(self) -> ApiResult<Change> {
        if let Some(c) = domain::text::control_in_text(&self.text) {
            return Err(ApiError::bad_request(format!(
                "the text contains the control character {}, which a report cannot hold",
                domain::text::describe(c)
            )));
        }
        let paragraphs = split_paragraphs(&self.text);
        Ok(match self.action {
            NarrativeAction::Replace => Change::Replace(self.field, paragraphs),
            NarrativeAction::Append => Change::Append(self.field, paragraphs),
            NarrativeAction::Reset => Change::Reset(Some(self.field)),
        })
    }
}

/// Edits one narrative field of a period's report; answers with every field.
#[utoipa::path(post, path = "/api/units/{unit}/reports/{period}/narrative", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM")),
    request_body(content = NarrativeChange, content_type = "application/json"),
    responses((status = 200, body = Vec<FieldText>),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "The paragraphs break a rule of the report (`narrative_refused`): more than 50 in a field, one over 5,000 characters, a field over 20,000 or the period's narrative over 50,000 characters, one starting with `#` or with an `@` directive the field does not draw, or nothing to append", body = ErrorBody)))]
pub async fn edit_narrative(
    _write: SameOriginWrite,
    State(state): Shared,
    Extension(who): Extension<Who>,
    Path((unit, period)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Vec<FieldText>>> {
    let profile = state.profile(&unit)?;
    let period = parse_period(&period)?;
    let change = json_body::<NarrativeChange>(&body, "a narrative change")?.parse()?;
    let kind = state.config.reports.kind(&unit);
    reporter::narrative::apply(&state.pool, profile, kind, period, change, &who.actor())
        .await
        .map_err(|error| match error {
            // A well-formed change the report's rules refuse, as a period not started is.
            ChangeError::Refused(message) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
                    .with_code("narrative_refused")
            }
            ChangeError::Store(error) => ApiError::from(error),
        })?;
    tracing::info!(%unit, %period, "narrative edited over the API");
    Ok(Json(
        reporter::narrative::fields(&state.pool, profile, period).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrative_text_with_a_control_character_is_refused_whatever_the_action() {
        let change = |body: serde_json::Value| {
            serde_json::from_value::<NarrativeChange>(body)
                .expect("a change")
                .parse()
        };
        let reset =
            change(serde_json::json!({"field": "proposals", "action": "reset", "text": "a\u{7}"}));
        assert!(reset.is_err());
        let pasted =
            change(serde_json::json!({"field": "proposals", "text": "một\u{b}hai\r\n\tba"}));
        assert!(
            matches!(pasted, Ok(Change::Replace(NarrativeField::Proposals, p)) if p == ["một hai ba"])
        );
        for refused in [
            serde_json::json!({"field": "", "text": "x"}),
            serde_json::json!({"field": "proposals", "action": null}),
            serde_json::json!({"field": "proposals", "action": "delete"}),
            serde_json::json!({"field": "proposals", "text": null}),
        ] {
            assert!(
                serde_json::from_value::<NarrativeChange>(refused.clone()).is_err(),
                "{refused}"
            );
        }
    }
}
