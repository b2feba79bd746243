//! The admin token and the rules around it (who may do what is decided in [`crate::access`]).
//!
//! - With `BAOCAO_ADMIN_TOKEN`, every route but `/healthz`, `/readyz`, `/metrics` and the
//!   dashboard's page and script (which hold no data and ask for the token) needs
//!   `Authorization: Bearer <token>` or a signed-in person's session.
//! - Without a token and without `[auth.oidc]` the server only listens on loopback
//!   ([`check_exposure`]) and answers only requests addressed to a loopback host name, so a web
//!   page cannot reach it by rebinding its own domain to 127.0.0.1.
//! - A write is a POST with a JSON body from the same origin ([`SameOriginWrite`]): a cross-site form cannot send
//!   `application/json` without a CORS preflight, which this server never grants, and a
//!   browser's `Origin` and `Sec-Fetch-Site` headers must not name another site.

use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::routes::problem;

/// Refuses to expose the API beyond loopback without a token (or people signing in through a
/// provider, `people`). `addresses` are what the configured address resolved to.
pub fn check_exposure(
    addresses: &[SocketAddr],
    token: Option<&str>,
    people: bool,
) -> anyhow::Result<()> {
    if token.is_some() || people {
        return Ok(());
    }
    if let Some(exposed) = addresses.iter().find(|a| !a.ip().is_loopback()) {
        anyhow::bail!(
            "refusing to listen on {exposed} without BAOCAO_ADMIN_TOKEN: anyone who can reach \
             it could read reports and send them; set BAOCAO_ADMIN_TOKEN, or listen on \
             127.0.0.1"
        );
    }
    Ok(())
}

/// The shortest admin token accepted: 32 characters is about 190 bits of a random base64
/// token, beyond guessing.
pub const MIN_TOKEN_CHARS: usize = 32;

/// The admin token of `k8s/examples/baocao-secrets.yaml`: long enough, and known to everyone.
pub const EXAMPLE_TOKEN: &str = "CHANGE-ME-to-32-or-more-random-characters";

/// The mark of a placeholder in the examples; a token containing it (in any case) is refused.
const PLACEHOLDER_MARK: &str = "change-me";

/// Why an admin token is refused at start-up. The token itself is never part of the message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Too short to be a secret.
    #[error(
        "BAOCAO_ADMIN_TOKEN has {chars} characters; use at least {MIN_TOKEN_CHARS} \
         (for example: head -c 32 /dev/urandom | base64)"
    )]
    TooShort {
        /// How many it has.
        chars: usize,
    },
    /// The example's text, or another placeholder (`CHANGE-ME` in any case).
    #[error(
        "BAOCAO_ADMIN_TOKEN is a placeholder (it contains CHANGE-ME), which anyone who has read \
         the examples knows; make a token of your own: head -c 32 /dev/urandom | base64"
    )]
    Placeholder,
}

/// Refuses a token too short to be a secret, or a placeholder from the examples.
pub fn check_token(token: &str) -> Result<(), TokenError> {
    if is_placeholder(token) {
        return Err(TokenError::Placeholder);
    }
    let chars = token.chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(TokenError::TooShort { chars });
    }
    Ok(())
}

/// Whether `token` is a placeholder: the example's, or any containing `CHANGE-ME` in any case.
pub fn is_placeholder(token: &str) -> bool {
    token == EXAMPLE_TOKEN || token.to_lowercase().contains(PLACEHOLDER_MARK)
}

/// Compares in time independent of where the strings differ and of their lengths: both sides
/// are hashed first, and the fixed-length hashes compared byte by byte without stopping early.
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (given, expected) = (Sha256::digest(given), Sha256::digest(expected));
    given
        .iter()
        .zip(expected.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    value
        .strip_prefix(b"Bearer ")
        .or_else(|| value.strip_prefix(b"bearer "))
}

pub(crate) fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The cross-site check of a write: a handler that writes takes this extractor, so that it
/// runs only on a route and method that exist (any other method is answered 405 by the
/// routing). A write must be same-origin JSON, or 403.
pub struct SameOriginWrite;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SameOriginWrite {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        check_write(&parts.headers)
            .map(|()| Self)
            .map_err(|reason| problem(StatusCode::FORBIDDEN, reason))
    }
}

fn check_write(headers: &HeaderMap) -> Result<(), &'static str> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let json = text(header::CONTENT_TYPE.as_str()).is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Err("a write must send Content-Type: application/json");
    }
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err("a write must come from the dashboard's own origin");
    }
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        // Behind a reverse proxy that rewrites Host, the browser's host is X-Forwarded-Host.
        let same = |host: Option<&str>| {
            host.zip(origin_host)
                .is_some_and(|(host, origin)| host.eq_ignore_ascii_case(origin))
        };
        if !same(text(header::HOST.as_str())) && !same(text("x-forwarded-host")) {
            return Err("a write must come from the dashboard's own origin");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("a header value"));
        }
        map
    }

    #[test]
    fn only_loopback_may_go_without_a_token() {
        let loopback: SocketAddr = "127.0.0.1:8080".parse().expect("an address");
        let v6: SocketAddr = "[::1]:8080".parse().expect("an address");
        let any: SocketAddr = "0.0.0.0:8080".parse().expect("an address");
        assert!(check_exposure(&[loopback, v6], None, false).is_ok());
        let refused = check_exposure(&[loopback, any], None, false).expect_err("refused");
        assert!(refused.to_string().contains("BAOCAO_ADMIN_TOKEN"));
        assert!(check_exposure(&[any], Some("s3cret-token"), false).is_ok());
        assert!(check_exposure(&[any], None, true).is_ok());
    }

    #[test]
    fn a_token_shorter_than_32_characters_is_refused() {
        assert!(check_token(&"x".repeat(31)).is_err());
        assert!(check_token(&"x".repeat(32)).is_ok());
        let message = check_token("short").unwrap_err().to_string();
        assert!(
            message.contains("5 characters") && !message.contains("short"),
            "{message}"
        );
    }

    #[test]
    fn placeholder_tokens_are_refused_whatever_their_length_and_case() {
        assert_eq!(check_token(EXAMPLE_TOKEN), Err(TokenError::Placeholder));
        for token in [
            "our-token-change-me-0123456789-abcdefghij",
            "Change-Me-Change-Me-Change-Me-Change-Me",
            "change-me",
        ] {
            assert_eq!(check_token(token), Err(TokenError::Placeholder), "{token}");
        }
        let message = TokenError::Placeholder.to_string();
        assert!(message.contains("placeholder") && !message.contains(EXAMPLE_TOKEN));
        assert!(check_token("a-real-token-0123456789-abcdefghijk").is_ok());
    }

    #[test]
    fn the_token_is_compared_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(host_is_loopback(&headers(&[("host", host)])), "{host}");
        }
        for host in [
            "evil.example:8080",
            "10.0.0.5:8080",
            "localhost.evil.example",
        ] {
            assert!(!host_is_loopback(&headers(&[("host", host)])), "{host}");
        }
        assert!(!host_is_loopback(&HeaderMap::new()));
    }

    #[test]
    fn writes_must_be_same_origin_json() {
        let ok = headers(&[
            ("content-type", "application/json"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(check_write(&ok).is_ok());
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        assert!(check_write(&form).is_err());
        let cross = headers(&[
            ("content-type", "application/json"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ]);
        assert!(check_write(&cross).is_err());
        let fetch_cross = headers(&[
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(check_write(&fetch_cross).is_err());
        let proxied = headers(&[
            ("content-type", "Application/JSON; charset=utf-8"),
            ("host", "baocao-api:8080"),
            ("x-forwarded-host", "baocao.triqua.gov.vn"),
            ("origin", "https://BAOCAO.triqua.gov.vn"),
        ]);
        assert!(check_write(&proxied).is_ok());
        // curl and scripts send neither header.
        assert!(check_write(&headers(&[("content-type", "application/json")])).is_ok());
    }
}
