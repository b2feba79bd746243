//! Signed-in people's sessions, and the sign-ins under way (SPEC §10). A session is found by
//! the SHA-256 of its cookie's token, ends at sign-out (deleted), after an idle time (its
//! `seen_at` too old) and at its absolute end (`expires_at`).

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The provider's subject.
    pub subject: String,
    /// The person's name, if the provider gave one.
    pub name: Option<String>,
    /// The provider's groups at sign-in.
    pub groups: Vec<String>,
    /// When it was last used.
    pub seen_at: DateTime<Utc>,
}

/// Stores a new session under `id` (the hash of its token) until `expires_at`.
#[tracing::instrument(skip_all)]
pub async fn open(
    pool: &PgPool,
    id: &str,
    subject: &str,
    name: Option<&str>,
    groups: &[String],
    expires_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into session (session_id, subject, name, groups, expires_at)
         values ($1, $2, $3, $4, $5)",
        id,
        subject,
        name,
        groups,
        expires_at,
    )
    .execute(pool)
    .await
    .context("Failed to store the session")?;
    // Sessions that ended long ago go with each new one: one cheap statement a sign-in.
    sqlx::query!("delete from session where expires_at < now() - interval '1 day'")
        .execute(pool)
        .await
        .context("Failed to drop ended sessions")?;
    Ok(())
}

/// The session `id` if it has neither been idle for `idle` nor passed its end; its use is noted
/// (at most once a minute, so that a dashboard's requests do not each write).
#[tracing::instrument(skip_all)]
pub async fn find(pool: &PgPool, id: &str, idle: Duration) -> anyhow::Result<Option<Session>> {
    let idle_seconds = idle.as_secs_f64();
    let session = sqlx::query_as!(
        Session,
        "select subject, name, groups, seen_at from session
         where session_id = $1 and expires_at > now()
           and seen_at > now() - make_interval(secs => $2)",
        id,
        idle_seconds,
    )
    .fetch_optional(pool)
    .await
    .context("Failed to read the session")?;
    if let Some(found) = &session
        && Utc::now() - found.seen_at > chrono::TimeDelta::seconds(60)
    {
        sqlx::query!(
            "update session set seen_at = now() where session_id = $1",
            id
        )
        .execute(pool)
        .await
        .context("Failed to note the session's use")?;
    }
    Ok(session)
}

/// Ends the session `id` (sign-out).
#[tracing::instrument(skip_all)]
pub async fn close(pool: &PgPool, id: &str) -> anyhow::Result<()> {
    sqlx::query!("delete from session where session_id = $1", id)
        .execute(pool)
        .await
        .context("Failed to end the session")?;
    Ok(())
}

/// A sign-in under way: what the callback must check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
}

/// Stores a sign-in under way, under its `state`.
#[tracing::instrument(skip_all)]
pub async fn begin_sign_in(
    pool: &PgPool,
    state: &str,
    nonce: &str,
    pkce_verifier: &str,
) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into sign_in (state, nonce, pkce_verifier) values ($1, $2, $3)",
        state,
        nonce,
        pkce_verifier,
    )
    .execute(pool)
    .await
    .context("Failed to store the sign-in")?;
    sqlx::query!("delete from sign_in where created_at < now() - interval '10 minutes'")
        .execute(pool)
        .await
        .context("Failed to drop stale sign-ins")?;
    Ok(())
}

/// Takes the sign-in of `state` (once: it is deleted), if it began within ten minutes.
#[tracing::instrument(skip_all)]
pub async fn take_sign_in(pool: &PgPool, state: &str) -> anyhow::Result<Option<SignIn>> {
    let taken = sqlx::query_as!(
        SignIn,
        "delete from sign_in where state = $1 and created_at > now() - interval '10 minutes'
         returning nonce, pkce_verifier",
        state,
    )
    .fetch_optional(pool)
    .await
    .context("Failed to take the sign-in")?;
    Ok(taken)
}
