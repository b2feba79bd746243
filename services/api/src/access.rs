//! Who may see and change what (SPEC §10, "People and what they may touch"): the one place
//! where access to every guarded route is decided.
//!
//! [`require_access`] runs before every route under `/api` (the JSON, the downloads, the live
//! streams). It learns who asks ([`Who`]: the admin token, a signed-in person's session, or,
//! without a token and without a provider, anyone on loopback) and what the route needs
//! ([`need_of`], a table by the route's path and method), and refuses or lets the request on
//! with its [`Who`] in the request's extensions. Handlers that list several units (`/api/units`,
//! the department's view, the audit list without `unit`) show only what [`Who::may_read`]
//! allows; no handler decides anything else about access.
//!
//! A person's roles come from the provider's groups at sign-in through `[[auth.role]]`:
//! `viewer` or `editor` of one unit or summary, or of `all`. An editor may edit narratives, send
//! and correct; a viewer reads. A role on a summary is about the summary's own report, not its
//! members'.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use store::audit::Actor;

use crate::AppState;
use crate::auth::{bearer, same_secret};
use crate::routes::{ApiError, problem};

/// What a role allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Reads the unit's figures, reports, narrative and audit list.
    Viewer,
    /// Also edits narratives, sends and corrects.
    Editor,
}

/// What a role is about: one unit or summary, or all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every unit and summary (the department).
    All,
    /// One unit's or summary's code.
    Unit(String),
}

/// `[[auth.role]]`: members of `group` are `level` of `scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    /// The provider's group, as the roles claim carries it.
    pub group: String,
    /// What they may do.
    pub level: Level,
    /// Where.
    pub scope: Scope,
}

/// One role a person holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// What they may do.
    pub level: Level,
    /// Where.
    pub scope: Scope,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// The admin token (machines, emergencies), or anyone on loopback when neither a token nor
    /// a provider is configured: everything.
    Admin,
    /// A person signed in through the provider.
    Person {
        /// The provider's subject.
        subject: String,
        /// Their name, as the provider gave it.
        name: Option<String>,
        /// Their roles (perhaps none).
        roles: Vec<Role>,
    },
}

impl Who {
    /// A person with the roles their `groups` give under `grants`.
    pub fn person(
        subject: String,
        name: Option<String>,
        groups: &[String],
        grants: &[RoleGrant],
    ) -> Self {
        let roles = grants
            .iter()
            .filter(|grant| groups.contains(&grant.group))
            .map(|grant| Role {
                level: grant.level,
                scope: grant.scope.clone(),
            })
            .collect();
        Self::Person {
            subject,
            name,
            roles,
        }
    }

    /// Whether they may do `level` on `unit`.
    pub fn may(&self, level: Level, unit: &str) -> bool {
        match self {
            Self::Admin => true,
            Self::Person { roles, .. } => roles.iter().any(|role| {
                role.level >= level
                    && match &role.scope {
                        Scope::All => true,
                        Scope::Unit(code) => code == unit,
                    }
            }),
        }
    }

    /// Whether they may read `unit`.
    pub fn may_read(&self, unit: &str) -> bool {
        self.may(Level::Viewer, unit)
    }

    /// Whether they may do `level` on every unit (the department).
    pub fn may_all(&self, level: Level) -> bool {
        match self {
            Self::Admin => true,
            Self::Person { roles, .. } => roles
                .iter()
                .any(|role| role.level >= level && role.scope == Scope::All),
        }
    }

    fn has_a_role(&self) -> bool {
        match self {
            Self::Admin => true,
            Self::Person { roles, .. } => !roles.is_empty(),
        }
    }

    /// Who the audit list names for a change they make.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Admin => Actor::admin_token(),
            Self::Person { subject, name, .. } => Actor::person(subject, name.as_deref()),
        }
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Signed in, with or without a role (`/api/me`).
    SignedIn,
    /// Some role: the handler shows only the units [`Who::may_read`] allows.
    AnyRole,
    /// `level` on the unit named by the path's `{unit}`.
    Unit(Level),
    /// Reading the unit named by the query's `unit`; without it, as [`Need::AnyRole`].
    QueryUnit,
    /// `level` on every unit: the pipeline's health and dead letters, which are everyone's.
    All(Level),
}

/// What the route `path` (its template, as routed) needs for `method`. Every guarded route is
/// here; one that is not needs the department's editor role, so a new route is closed until
/// it is listed.
pub fn need_of(method: &Method, path: &str) -> Need {
    let write = *method != Method::GET && *method != Method::HEAD;
    let level = if write { Level::Editor } else { Level::Viewer };
    match path {
        "/api/me" => Need::SignedIn,
        "/api/units" | "/api/overview" | "/api/openapi.json" => Need::AnyRole,
        "/api/audit" => Need::QueryUnit,
        "/api/pipeline" | "/api/dead-letters" => Need::All(Level::Viewer),
        _ if path.starts_with("/api/units/{unit}") => Need::Unit(level),
        _ => Need::All(Level::Editor),
    }
}

/// The `{unit}` of `path` as `template` places it.
fn unit_in(template: &str, path: &str) -> Option<String> {
    let at = template.split('/').position(|part| part == "{unit}")?;
    path.split('/').nth(at).map(str::to_owned)
}

/// The `unit` of a query string.
fn unit_in_query(query: Option<&str>) -> Option<String> {
    let query = query?;
    let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}").parse().ok()?,
    )
    .ok()?;
    pairs
        .0
        .into_iter()
        .find(|(k, _)| k == "unit")
        .map(|(_, v)| v)
}

/// Whether `who` may have what `need` asks on `path` (with `query`), or the answer that
/// refuses them.
fn decide(
    who: &Who,
    need: Need,
    template: &str,
    path: &str,
    query: Option<&str>,
) -> Result<(), Box<Response>> {
    if need == Need::SignedIn {
        return Ok(());
    }
    if !who.has_a_role() {
        return Err(Box::new(
            ApiError::new(
                StatusCode::FORBIDDEN,
                "you are signed in but have no role in baocao: ask the department to add your \
                 group to [[auth.role]]",
            )
            .with_code("no_role")
            .into_response(),
        ));
    }
    let allowed = match need {
        Need::SignedIn | Need::AnyRole => true,
        Need::Unit(level) => unit_in(template, path).is_some_and(|unit| who.may(level, &unit)),
        Need::QueryUnit => unit_in_query(query).is_none_or(|unit| who.may_read(&unit)),
        Need::All(level) => who.may_all(level),
    };
    if allowed {
        Ok(())
    } else {
        let what = match need {
            Need::Unit(Level::Editor) => "your role does not let you change this unit",
            Need::Unit(Level::Viewer) => "your role does not let you see this unit",
            _ => "this is for the department (a role of all units)",
        };
        Err(Box::new(
            ApiError::new(StatusCode::FORBIDDEN, what)
                .with_code("forbidden")
                .into_response(),
        ))
    }
}

/// The check of every guarded route: who asks, and whether the route lets them.
pub async fn require_access(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let who = match identify(&state, request.headers()).await {
        Ok(who) => who,
        Err(refused) => return refused,
    };
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let need = need_of(request.method(), &template);
    let uri = request.uri();
    if let Err(refused) = decide(&who, need, &template, uri.path(), uri.query()) {
        return *refused;
    }
    request.extensions_mut().insert(who);
    next.run(request).await
}

/// Who sent these headers: the admin token, a session's cookie, or (with neither a token nor a
/// provider configured) a loopback request; otherwise the refusal.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Who, Response> {
    let token = state.config.admin_token.as_deref();
    if let (Some(token), Some(given)) = (token, bearer(headers)) {
        if same_secret(given, token.as_bytes()) {
            return Ok(Who::Admin);
        }
        return Err(unauthorized(state));
    }
    if let Some(people) = &state.people {
        return match people.who(&state.pool, headers).await {
            Ok(Some(who)) => Ok(who),
            Ok(None) => Err(unauthorized(state)),
            Err(error) => Err(ApiError::from(error).into_response()),
        };
    }
    if token.is_some() {
        return Err(unauthorized(state));
    }
    if crate::auth::host_is_loopback(headers) {
        Ok(Who::Admin)
    } else {
        Err(problem(
            StatusCode::FORBIDDEN,
            "without BAOCAO_ADMIN_TOKEN the API answers only requests to localhost",
        ))
    }
}

fn unauthorized(state: &AppState) -> Response {
    let message = if state.people.is_some() {
        "sign in at /auth/login, or send the administrator's token: Authorization: Bearer <token>"
    } else {
        "this needs the administrator's token: Authorization: Bearer <token>"
    };
    let mut response = problem(StatusCode::UNAUTHORIZED, message);
    let headers = response.headers_mut();
    headers.insert(
        header::WWW_AUTHENTICATE,
        "Bearer".parse().expect("a header"),
    );
    if state.people.is_some() {
        // The dashboard offers the sign-in beside the token.
        headers.insert("x-baocao-sign-in", "/auth/login".parse().expect("a header"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> Vec<RoleGrant> {
        let grant = |group: &str, level, scope| RoleGrant {
            group: group.into(),
            level,
            scope,
        };
        vec![
            grant("a-editors", Level::Editor, Scope::Unit("ward-a".into())),
            grant("b-viewers", Level::Viewer, Scope::Unit("ward-b".into())),
            grant("department", Level::Viewer, Scope::All),
        ]
    }

    fn person(groups: &[&str]) -> Who {
        let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        Who::person("sub".into(), None, &groups, &grants())
    }

    #[test]
    fn an_editor_of_a_ward_changes_that_ward_only() {
        let editor = person(&["a-editors", "unrelated"]);
        assert!(editor.may(Level::Editor, "ward-a") && editor.may_read("ward-a"));
        assert!(!editor.may_read("ward-b") && !editor.may(Level::Editor, "ward-b"));
        assert!(!editor.may_all(Level::Viewer));
        let path = "/api/units/{unit}/reports/{period}/send";
        let send = need_of(&Method::POST, path);
        assert_eq!(send, Need::Unit(Level::Editor));
        assert!(
            decide(
                &editor,
                send,
                path,
                "/api/units/ward-a/reports/2026-05/send",
                None
            )
            .is_ok()
        );
        let refused = decide(
            &editor,
            send,
            path,
            "/api/units/ward-b/reports/2026-05/send",
            None,
        );
        assert_eq!(refused.unwrap_err().status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_viewer_reads_and_the_department_reads_all() {
        let viewer = person(&["b-viewers"]);
        assert!(viewer.may_read("ward-b") && !viewer.may(Level::Editor, "ward-b"));
        let department = person(&["department"]);
        assert!(department.may_read("ward-a") && department.may_all(Level::Viewer));
        assert!(!department.may(Level::Editor, "ward-a"));
        assert_eq!(
            need_of(&Method::GET, "/api/pipeline"),
            Need::All(Level::Viewer)
        );
        assert_eq!(
            need_of(&Method::POST, "/api/something-new"),
            Need::All(Level::Editor)
        );
        let audit = need_of(&Method::GET, "/api/audit");
        let of = |query| decide(&viewer, audit, "/api/audit", "/api/audit", Some(query));
        assert!(of("unit=ward-b&limit=5").is_ok() && of("limit=5").is_ok());
        assert!(of("limit=5&unit=ward-a").is_err());
    }

    #[test]
    fn a_person_without_a_role_may_only_ask_who_they_are() {
        let nobody = person(&["strangers"]);
        assert!(decide(&nobody, Need::SignedIn, "/api/me", "/api/me", None).is_ok());
        let refused = decide(&nobody, Need::AnyRole, "/api/units", "/api/units", None).unwrap_err();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(Who::Admin.may(Level::Editor, "anything"));
    }
}
