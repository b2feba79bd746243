//! The audit list (`GET /api/audit`): every narrative edit, send and correction, with who,
//! when and what; and who is asking (`GET /api/me`), for the dashboard.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, ErrorBody, Shared, within};
use crate::AppState;
use crate::access::{Level, Scope, Who};

/// `/api/audit`, `/api/me`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(audit))
        .routes(routes!(me))
}

/// Which rows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// One unit's or summary's rows; without it, those of every unit the asker may see.
    pub unit: Option<String>,
    /// How many of the latest rows (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the provider's subject of a person, `cli:<os user>`, `scheduler` or `admin-token`.
    pub who: String,
    /// The person's name, as the provider gave it.
    pub who_name: Option<String>,
    /// The unit or summary.
    pub unit: String,
    /// The report's period.
    pub period: String,
    /// `narrative_edit`, `send` or `correction`.
    pub action: String,
    /// What, in a sentence.
    pub detail: String,
}

/// The latest changes, newest first: of `unit`, or of every unit the asker may see.
#[utoipa::path(get, path = "/api/audit", tag = "reports",
    security(("bearer" = []), ("session" = [])),
    params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 400, body = ErrorBody),
               (status = 404, body = ErrorBody)))]
pub async fn audit(
    State(state): Shared,
    Extension(who): Extension<Who>,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let limit = within("limit", query.limit.unwrap_or(50), 1..=500)?;
    let units: Vec<String> = match &query.unit {
        // Whether the asker may read it was decided with the route's (`access`).
        Some(unit) => {
            state.profile(unit)?;
            vec![unit.clone()]
        }
        None => state
            .config
            .reports
            .issuers()
            .map(|p| p.code.to_string())
            .filter(|code| who.may_read(code))
            .collect(),
    };
    let every = query.unit.is_none() && who.may_all(Level::Viewer);
    let filter = (!every).then_some(units.as_slice());
    let rows = store::audit::latest(&state.pool, filter, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| AuditEntry {
                at: row.at,
                who: row.who,
                who_name: row.who_name,
                unit: row.unit,
                period: row.period,
                action: row.action,
                detail: row.detail,
            })
            .collect(),
    ))
}

/// Who is asking, and what they may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// `admin` (the token, or loopback without one) or `person`.
    pub kind: String,
    /// A person's subject at the provider.
    pub subject: Option<String>,
    /// A person's name.
    pub name: Option<String>,
    /// A person's roles: empty for one the department has given none.
    pub roles: Vec<RoleView>,
    /// Whether sign-out applies (a person's session).
    pub signed_in: bool,
}

/// One role.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// `viewer` or `editor`.
    pub role: String,
    /// A unit's or summary's code, or `all`.
    pub unit: String,
}

/// Who is asking: the dashboard shows a person's name and roles, and a clear page to one with
/// no role.
#[utoipa::path(get, path = "/api/me", tag = "live",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Me)))]
pub async fn me(Extension(who): Extension<Who>) -> Json<Me> {
    Json(match who {
        Who::Admin => Me {
            kind: "admin".into(),
            subject: None,
            name: None,
            roles: vec![RoleView {
                role: "editor".into(),
                unit: "all".into(),
            }],
            signed_in: false,
        },
        Who::Person {
            subject,
            name,
            roles,
        } => Me {
            kind: "person".into(),
            subject: Some(subject),
            name,
            roles: roles
                .into_iter()
                .map(|role| RoleView {
                    role: match role.level {
                        Level::Viewer => "viewer".into(),
                        Level::Editor => "editor".into(),
                    },
                    unit: match role.scope {
                        Scope::All => "all".into(),
                        Scope::Unit(code) => code,
                    },
                })
                .collect(),
            signed_in: true,
        },
    })
}
