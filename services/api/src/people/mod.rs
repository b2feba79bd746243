//! People signing in through the province's identity provider with OpenID Connect (SPEC §10):
//! the authorization-code flow with PKCE, `state` and `nonce`, the ID token checked by
//! `openidconnect` (the provider's signature, issuer, audience, expiry, nonce), and sessions
//! kept in PostgreSQL ([`store::sessions`]) behind an `HttpOnly`, `SameSite=Lax` cookie,
//! `Secure` when `public_url` is `https://`.
//!
//! - [`provider`]: the discovery document, fetched when first needed, bounded, and fetched
//!   again after a failure or an hour: a provider that is down stops sign-ins, nothing else.
//! - [`http`]: the small HTTP client that reaches the provider.
//! - [`pages`]: `/auth/login`, `/auth/callback`, `/auth/logout`.
//!
//! What a signed-in person may do is decided in [`crate::access`].

pub mod http;
pub mod pages;
pub mod provider;

use std::time::Duration;

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use store::PgPool;

use crate::access::{RoleGrant, Who};

/// The session's cookie.
pub const SESSION_COOKIE: &str = "baocao_session";
/// The cookie that ties a sign-in's callback to the browser that began it (its `state`).
pub const SIGN_IN_COOKIE: &str = "baocao_sign_in";

/// `[auth.oidc]` and `[[auth.role]]`, as the API uses them.
#[derive(Debug, Clone)]
pub struct PeopleConfig {
    /// The provider's issuer URL.
    pub issuer: String,
    /// baocao's client id at the provider.
    pub client_id: String,
    /// Its secret; never logged.
    pub client_secret: String,
    /// The ID token's claim listing the person's groups (a dotted path reaches into objects,
    /// e.g. `realm_access.roles`).
    pub roles_claim: String,
    /// Where people reach the dashboard, without a trailing `/`.
    pub public_url: String,
    /// How long a session may go unused.
    pub idle: Duration,
    /// How long a session lasts at most.
    pub absolute: Duration,
    /// Which groups are which roles.
    pub grants: Vec<RoleGrant>,
}

impl PeopleConfig {
    /// The redirect URI registered at the provider.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url)
    }

    /// Whether cookies carry `Secure`.
    pub fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Signing people in, and finding them again by their session's cookie.
pub struct People {
    config: PeopleConfig,
    provider: provider::Provider,
}

impl People {
    /// Nothing is fetched yet: the provider's document is read at the first sign-in.
    pub fn new(config: PeopleConfig) -> Self {
        let provider = provider::Provider::new(&config);
        Self { config, provider }
    }

    /// The configuration.
    pub fn config(&self) -> &PeopleConfig {
        &self.config
    }

    /// Reads the provider's discovery document and keys now (each exchange bounded): the
    /// start-up's check that `[auth.oidc]` names a provider that answers.
    pub async fn check_provider(&self) -> Result<(), provider::SignInError> {
        self.provider.client().await.map(|_| ())
    }

    /// The person whose session cookie `headers` carry, if the session is live.
    pub async fn who(&self, pool: &PgPool, headers: &HeaderMap) -> anyhow::Result<Option<Who>> {
        let Some(token) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let session = store::sessions::find(pool, &session_id(token), self.config.idle).await?;
        Ok(session.map(|s| Who::person(s.subject, s.name, &s.groups, &self.config.grants)))
    }

    /// A `Set-Cookie` value: `name=value` for `max_age`, `HttpOnly`, `SameSite=Lax`, on `path`,
    /// `Secure` with an https `public_url`.
    fn cookie(&self, name: &str, value: &str, path: &str, max_age: Duration) -> String {
        let secure = if self.config.secure() { "; Secure" } else { "" };
        format!(
            "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            max_age.as_secs()
        )
    }
}

/// A session is stored under the SHA-256 of its cookie's token (hex), so that the table gives
/// no one a session.
pub fn session_id(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of cookie `name` in `headers`.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The groups in `claims` at `path` (dotted: `realm_access.roles`): a list of strings, or one
/// string.
pub fn groups_at(claims: &serde_json::Map<String, serde_json::Value>, path: &str) -> Vec<String> {
    let mut parts = path.split('.');
    let first = parts.next().and_then(|key| claims.get(key));
    let found = parts.fold(first, |value, key| value.and_then(|v| v.get(key)));
    match found {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; baocao_session=tok-en; b=2".parse().expect("a header"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("tok-en"));
        assert_eq!(cookie(&headers, "baocao"), None);
        assert_eq!(session_id("x").len(), 64);
    }

    #[test]
    fn groups_are_read_from_a_list_a_string_or_a_nested_claim() {
        let claims = serde_json::json!({
            "groups": ["/tri-qua/editors", 3],
            "role": "department",
            "realm_access": {"roles": ["a", "b"]},
        });
        let claims = claims.as_object().expect("an object");
        assert_eq!(groups_at(claims, "groups"), ["/tri-qua/editors"]);
        assert_eq!(groups_at(claims, "role"), ["department"]);
        assert_eq!(groups_at(claims, "realm_access.roles"), ["a", "b"]);
        assert!(groups_at(claims, "missing.path").is_empty());
    }
}
