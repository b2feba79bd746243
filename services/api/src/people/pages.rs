//! `/auth/login`, `/auth/callback` (the redirect URI registered at the provider) and
//! `/auth/logout`: browser pages, not JSON, and not in the OpenAPI document. Without
//! `[auth.oidc]` they answer 404.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::provider::SignInError;
use super::{People, SESSION_COOKIE, SIGN_IN_COOKIE, cookie, session_id};
use crate::AppState;

/// How long a sign-in may take at the provider.
const SIGN_IN_TIME: Duration = Duration::from_secs(600);

/// The three routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
}

/// A small page with a title, a sentence and a link back to the dashboard.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>{t}</title>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>{t}</h1>\
         <p id=\"message\">{m}</p><p><a href=\"/auth/login\">Đăng nhập lại</a> · <a href=\"/\">Trang chính</a></p>",
        t = escape(title),
        m = escape(text)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        body,
    )
        .into_response()
}

fn no_provider() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Không có đăng nhập",
        "This deployment signs no one in: [auth.oidc] is not configured.",
    )
}

fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for value in cookies {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

fn unavailable(error: &SignInError) -> Response {
    tracing::warn!(error = %error, "sign-in stopped");
    match error {
        SignInError::Unavailable(_) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Chưa đăng nhập được",
            "The identity provider cannot be reached just now; try again in a minute. \
             (Nothing else is affected.)",
        ),
        SignInError::Refused(_) => page(
            StatusCode::FORBIDDEN,
            "Đăng nhập bị từ chối",
            "The identity provider's answer did not prove who you are; sign in again.",
        ),
    }
}

/// Sends the browser to the provider, with a fresh `state`, `nonce` and PKCE challenge.
async fn login(State(state): State<Arc<AppState>>) -> Response {
    let Some(people) = &state.people else {
        return no_provider();
    };
    let begun = match people.provider.begin().await {
        Ok(begun) => begun,
        Err(error) => return unavailable(&error),
    };
    let stored = store::sessions::begin_sign_in(
        &state.pool,
        &begun.state,
        &begun.nonce,
        &begun.pkce_verifier,
    )
    .await;
    if let Err(error) = stored {
        return crate::routes::ApiError::from(error).into_response();
    }
    let tie = people.cookie(SIGN_IN_COOKIE, &begun.state, "/auth", SIGN_IN_TIME);
    see_other(&begun.url, &[tie])
}

/// What the provider sends back.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Checks the provider's answer, opens a session and sends the browser to the dashboard.
async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(people) = &state.people else {
        return no_provider();
    };
    if let Some(error) = &query.error {
        tracing::info!(error = %error, "the provider ended a sign-in");
        return page(
            StatusCode::FORBIDDEN,
            "Đăng nhập không thành công",
            "The identity provider did not sign you in.",
        );
    }
    let (Some(code), Some(returned)) = (&query.code, &query.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Đăng nhập không thành công",
            "The answer has no code or state.",
        );
    };
    // The state must be the one this browser was given at /auth/login (login CSRF).
    if cookie(&headers, SIGN_IN_COOKIE) != Some(returned.as_str()) {
        return page(
            StatusCode::FORBIDDEN,
            "Đăng nhập không thành công",
            "This sign-in was not begun in this browser; sign in again.",
        );
    }
    let begun = match store::sessions::take_sign_in(&state.pool, returned).await {
        Ok(Some(begun)) => begun,
        Ok(None) => {
            return page(
                StatusCode::FORBIDDEN,
                "Đăng nhập đã hết hạn",
                "This sign-in is unknown or older than ten minutes; sign in again.",
            );
        }
        Err(error) => return crate::routes::ApiError::from(error).into_response(),
    };
    let config = people.config();
    let signed_in = people
        .provider
        .finish(
            code,
            &begun.nonce,
            &begun.pkce_verifier,
            &config.roles_claim,
        )
        .await;
    let person = match signed_in {
        Ok(person) => person,
        Err(error) => return unavailable(&error),
    };
    open_session(&state, people, &person).await
}

async fn open_session(
    state: &AppState,
    people: &People,
    person: &super::provider::SignedIn,
) -> Response {
    let config = people.config();
    let token = openidconnect::CsrfToken::new_random_len(32);
    let token = token.secret();
    let absolute =
        chrono::TimeDelta::from_std(config.absolute).unwrap_or(chrono::TimeDelta::hours(12));
    let opened = store::sessions::open(
        &state.pool,
        &session_id(token),
        &person.subject,
        person.name.as_deref(),
        &person.groups,
        chrono::Utc::now() + absolute,
    )
    .await;
    if let Err(error) = opened {
        return crate::routes::ApiError::from(error).into_response();
    }
    tracing::info!(subject = %person.subject, groups = ?person.groups, "signed in");
    let session = people.cookie(SESSION_COOKIE, token, "/", config.absolute);
    let untie = people.cookie(SIGN_IN_COOKIE, "", "/auth", Duration::ZERO);
    see_other("/", &[session, untie])
}

/// Ends the session (a form's POST: a cross-site page cannot sign anyone out, the cookie
/// being `SameSite=Lax`) and goes back to the dashboard.
async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(people) = &state.people else {
        return no_provider();
    };
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(error) = store::sessions::close(&state.pool, &session_id(token)).await
    {
        return crate::routes::ApiError::from(error).into_response();
    }
    let gone = people.cookie(SESSION_COOKIE, "", "/", Duration::ZERO);
    see_other("/", &[gone])
}
