//! The sources that send the upstream systems' own formats to `POST /sync/*` (SPEC §3.5): each
//! with its own bearer token, read from the environment at start-up. A token that is missing,
//! too short or a placeholder is that source's problem only: its bodies are refused (401) and
//! the dashboard says why, while every other source and the rest of the API work.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use domain::feeds::{Dialect, OfficeHours};
use store::feeds::Feed;

use crate::auth::{MIN_TOKEN_CHARS, is_placeholder, same_secret};

/// A configured `[[source]]`.
pub struct Source {
    /// Its name, shown on the dashboard and carried by its bodies (`x-baocao-source`).
    pub name: String,
    /// The formats it may send.
    pub dialects: Vec<Dialect>,
    /// Its token, or why it has none that works. Never logged.
    token: Result<String, String>,
    /// How long it may send nothing in office hours before it is shown and alerted as silent.
    pub silent_after: TimeDelta,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("dialects", &self.dialects)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl Source {
    /// A source whose token is `token`, the value of the variable `token_env` (if set).
    pub fn new(
        name: String,
        dialects: Vec<Dialect>,
        token_env: &str,
        token: Option<String>,
        silent_after: TimeDelta,
    ) -> Self {
        let token = checked_token(token_env, token);
        if let Err(problem) = &token {
            tracing::error!(source = %name, %problem, "this source's bodies will be refused");
        }
        Self {
            name,
            dialects,
            token,
            silent_after,
        }
    }

    /// Why the source cannot send, if it cannot.
    pub fn problem(&self) -> Option<&str> {
        self.token.as_ref().err().map(String::as_str)
    }

    /// Whether `presented` is this source's token, compared in constant time.
    fn accepts(&self, presented: &[u8]) -> bool {
        self.token
            .as_ref()
            .is_ok_and(|token| same_secret(presented, token.as_bytes()))
    }
}

/// The source among `sources` that may send `dialect` with `presented` as its token.
pub fn find<'a>(sources: &'a [Source], dialect: Dialect, presented: &[u8]) -> Option<&'a Source> {
    // Every source is compared, whatever matched, so that the time taken says nothing.
    sources
        .iter()
        .filter(|source| source.dialects.contains(&dialect))
        .fold(None, |found, source| {
            let accepted = source.accepts(presented);
            found.or(accepted.then_some(source))
        })
}

/// What tells a configured source silent: each one's allowance, the office's hours and zone.
pub struct Silence {
    /// Each configured source's name and allowance.
    pub sources: Vec<(String, TimeDelta)>,
    /// The office's hours.
    pub office_hours: OfficeHours,
    /// The deployment's zone.
    pub tz: Tz,
}

impl Silence {
    /// Each configured source, then each other one that sent bodies (`broker`, a name a
    /// publisher gave), with its last body and whether it is silent at `now` (only a configured
    /// source can be: the others have no allowance).
    pub fn judge<'f>(
        &self,
        feeds: &'f [Feed],
        now: DateTime<Utc>,
    ) -> Vec<(String, Option<&'f Feed>, bool)> {
        let feed = |name: &str| feeds.iter().find(|f| f.source == name);
        let configured = self.sources.iter().map(|(name, after)| {
            let last = feed(name);
            let silent =
                self.office_hours
                    .is_silent(now, self.tz, last.map(|f| f.last_body_at), *after);
            (name.clone(), last, silent)
        });
        let others = feeds
            .iter()
            .filter(|f| self.sources.iter().all(|(name, _)| *name != f.source))
            .map(|f| (f.source.clone(), Some(f), false));
        configured.chain(others).collect()
    }
}

fn checked_token(token_env: &str, token: Option<String>) -> Result<String, String> {
    let token = token.ok_or_else(|| format!("{token_env} is not set"))?;
    let chars = token.chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(format!(
            "{token_env} has {chars} characters; use at least {MIN_TOKEN_CHARS}"
        ));
    }
    if is_placeholder(&token) {
        return Err(format!("{token_env} holds a placeholder, not a secret"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, token: Option<&str>) -> Source {
        Source::new(
            name.into(),
            vec![Dialect::Dvcqg],
            "BAOCAO_SOURCE_TOKEN",
            token.map(str::to_owned),
            TimeDelta::hours(2),
        )
    }

    #[test]
    fn a_source_is_found_by_its_token_and_dialect_only() {
        let good = "t".repeat(40);
        let sources = [source("a", Some(&good)), source("b", None)];
        let found = |dialect, token: &str| {
            find(&sources, dialect, token.as_bytes()).map(|s| s.name.as_str())
        };
        assert_eq!(found(Dialect::Dvcqg, &good), Some("a"));
        assert_eq!(found(Dialect::Edxml, &good), None);
        assert_eq!(found(Dialect::Dvcqg, &"t".repeat(39)), None);
        assert_eq!(found(Dialect::Dvcqg, ""), None);
    }

    #[test]
    fn a_missing_short_or_placeholder_token_is_the_sources_problem_without_its_value() {
        assert_eq!(
            source("a", None).problem(),
            Some("BAOCAO_SOURCE_TOKEN is not set")
        );
        let short = source("a", Some("s3cret"));
        assert!(short.problem().unwrap().contains("6 characters"));
        let placeholder = source("a", Some("CHANGE-ME-to-32-or-more-random-characters"));
        assert!(placeholder.problem().unwrap().contains("placeholder"));
        assert!(!format!("{placeholder:?}").contains("CHANGE-ME"));
    }
}
