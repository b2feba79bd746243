//! `[auth.oidc]` and `[[auth.role]]`: signing people in through the province's identity
//! provider, and what each of the provider's groups may see and change (SPEC §10, "People and
//! what they may touch"). Checked at start-up with the rest of the file.

use std::path::Path;

use serde::Deserialize;

use super::locate::invalid_at;
use super::{ConfigError, FileConfig};

/// `[auth]`: without `oidc`, the admin token alone opens the API, as before.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The identity provider people sign in with.
    #[serde(default)]
    pub oidc: Option<OidcConfig>,
    /// Which of the provider's groups may read or change which units (`[[auth.role]]`).
    #[serde(rename = "role", default)]
    pub roles: Vec<RoleConfig>,
}

/// `[auth.oidc]`: the provider and this deployment's client at it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL, e.g. `https://sso.example.gov.vn/realms/province`; its
    /// discovery document is `<issuer>/.well-known/openid-configuration`. `https://`, or
    /// `http://` to this machine only.
    pub issuer: String,
    /// The client id registered at the provider for baocao.
    pub client_id: String,
    /// The environment variable that holds the client's secret (never in this file).
    pub client_secret_env: String,
    /// The ID token's claim that lists the person's groups (default `groups`).
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// The address people reach the dashboard at, e.g. `https://baocao.example.gov.vn`: the
    /// redirect URI registered at the provider is this + `/auth/callback`, and cookies are
    /// `Secure` when it is `https://` (`http://` only to this machine).
    pub public_url: String,
    /// Minutes a session may go unused before it ends (default 30).
    #[serde(default = "default_idle_minutes")]
    pub idle_timeout_minutes: u64,
    /// Hours after sign-in at which a session ends however much it is used (default 12).
    #[serde(default = "default_absolute_hours")]
    pub absolute_timeout_hours: u64,
}

fn default_roles_claim() -> String {
    "groups".into()
}

fn default_idle_minutes() -> u64 {
    30
}

fn default_absolute_hours() -> u64 {
    12
}

/// `[[auth.role]]`: members of the provider's `group` are `role` of `unit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// The group's name as the roles claim carries it, e.g. `/tri-qua/editors`.
    pub group: String,
    /// `viewer` (reads) or `editor` (also edits narratives, sends and corrects).
    pub role: api::access::Level,
    /// A unit's or a summary's code, or `all` (the department).
    pub unit: String,
}

/// The word for every unit in `[[auth.role]]`'s `unit`.
pub const ALL_UNITS: &str = "all";

/// Checks `[auth]`: URLs that a browser and this server can use, a variable name for the
/// secret, timeouts of at least a minute, and roles of configured units only.
pub(super) fn check(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    let auth = &config.auth;
    if let Some(oidc) = &auth.oidc
        && let Some((key, message)) = problem_of_oidc(oidc)
    {
        let at = section_key(text, "[auth.oidc]", 0, key);
        return Err(invalid_at(path, text, at, &message));
    }
    if auth.oidc.is_none() && !auth.roles.is_empty() {
        let at = section_key(text, "[[auth.role]]", 0, "group");
        let message = "[[auth.role]] needs [auth.oidc]: roles are given to people who sign in";
        return Err(invalid_at(path, text, at, message));
    }
    for (index, role) in auth.roles.iter().enumerate() {
        let problem = if role.group.trim().is_empty() {
            Some((
                "group",
                "group must name one of the provider's groups".to_owned(),
            ))
        } else if role.unit != ALL_UNITS && config.unit(&role.unit).is_none() {
            Some((
                "unit",
                format!(
                    "unit '{}' is not configured: name a [[unit]] or [[summary]] code, or \"all\"",
                    domain::text::escape_controls(&role.unit)
                ),
            ))
        } else {
            None
        };
        if let Some((key, message)) = problem {
            let at = section_key(text, "[[auth.role]]", index, key);
            return Err(invalid_at(path, text, at, &message));
        }
    }
    Ok(())
}

fn problem_of_oidc(oidc: &OidcConfig) -> Option<(&'static str, String)> {
    if let Err(problem) = check_url(&oidc.issuer) {
        return Some(("issuer", format!("issuer {problem}")));
    }
    if oidc.client_id.trim().is_empty() {
        return Some(("client_id", "client_id must not be empty".into()));
    }
    if !super::checks::is_variable_name(&oidc.client_secret_env) {
        return Some((
            "client_secret_env",
            "client_secret_env must name an environment variable such as BAOCAO_OIDC_CLIENT_SECRET"
                .into(),
        ));
    }
    if oidc.roles_claim.trim().is_empty() {
        return Some((
            "roles_claim",
            "roles_claim must name a claim, e.g. groups".into(),
        ));
    }
    if let Err(problem) = check_url(&oidc.public_url) {
        return Some(("public_url", format!("public_url {problem}")));
    }
    if oidc.public_url.ends_with('/') {
        return Some((
            "public_url",
            "public_url must not end with '/': /auth/callback is added to it".into(),
        ));
    }
    if oidc.idle_timeout_minutes == 0 {
        return Some((
            "idle_timeout_minutes",
            "idle_timeout_minutes must be at least 1".into(),
        ));
    }
    if oidc.absolute_timeout_hours == 0 {
        return Some((
            "absolute_timeout_hours",
            "absolute_timeout_hours must be at least 1".into(),
        ));
    }
    None
}

/// An `https://` URL, or `http://` to this machine (a provider in a test, a dashboard read on
/// the server itself).
fn check_url(text: &str) -> Result<(), String> {
    let url = url_parts(text).ok_or_else(|| format!("'{text}' is not an http(s):// URL"))?;
    match url {
        ("https", _) => Ok(()),
        ("http", host) if is_loopback(host) => Ok(()),
        _ => Err(format!(
            "'{text}' must be https:// (http:// only to 127.0.0.1 or localhost)"
        )),
    }
}

fn url_parts(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (matches!(scheme, "http" | "https") && !host.is_empty() && !authority.contains('@'))
        .then_some((scheme, host))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Where `key` of the `index`th table with `header` is written (that table's header without
/// it, the end of the text without the table).
pub(super) fn section_key(text: &str, header: &str, index: usize, key: &str) -> usize {
    let headers = text.match_indices(header).filter(|(at, _)| {
        text[..*at]
            .rsplit('\n')
            .next()
            .is_some_and(|before| before.trim().is_empty())
    });
    let Some((start, _)) = headers.into_iter().nth(index) else {
        return text.len();
    };
    let body = &text[start..];
    let end = body[header.len()..]
        .find("\n[")
        .map_or(body.len(), |at| at + header.len());
    body[..end]
        .find(&format!("\n{key}"))
        .map_or(start, |at| start + at + 1)
}

#[cfg(test)]
mod tests {
    use super::super::parse_file;
    use super::*;

    const SHIPPED: &str = include_str!("../../../../baocao.toml");

    const OIDC: &str = "\n[auth.oidc]\nissuer = \"https://sso.example.gov.vn/realms/tinh\"\n\
        client_id = \"baocao\"\nclient_secret_env = \"BAOCAO_OIDC_CLIENT_SECRET\"\n\
        public_url = \"https://baocao.example.gov.vn\"\n";

    fn error_of(text: &str) -> String {
        parse_file(Path::new("baocao.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_provider_and_roles_are_read_with_their_defaults() {
        let text = format!(
            "{SHIPPED}{OIDC}\n[[auth.role]]\ngroup = \"/tri-qua/editors\"\nrole = \"editor\"\nunit = \"tri-qua\"\n\
             \n[[auth.role]]\ngroup = \"/so-khcn\"\nrole = \"viewer\"\nunit = \"all\"\n"
        );
        let config = parse_file(Path::new("baocao.toml"), &text).unwrap();
        let oidc = config.auth.oidc.as_ref().unwrap();
        assert_eq!(oidc.roles_claim, "groups");
        assert_eq!(oidc.idle_timeout_minutes, 30);
        assert_eq!(oidc.absolute_timeout_hours, 12);
        assert_eq!(config.auth.roles.len(), 2);
        assert_eq!(config.auth.roles[1].role, api::access::Level::Viewer);
    }

    #[test]
    fn a_bad_provider_field_names_its_file_line_and_field() {
        for (from, to, field, words) in [
            (
                "issuer = \"https://",
                "issuer = \"http://",
                "auth.oidc.issuer",
                "https://",
            ),
            (
                "client_secret_env = \"BAOCAO_OIDC_CLIENT_SECRET\"",
                "client_secret_env = \"s3cret value\"",
                "auth.oidc.client_secret_env",
                "environment variable",
            ),
            (
                "public_url = \"https://baocao.example.gov.vn\"",
                "public_url = \"baocao.example.gov.vn\"",
                "auth.oidc.public_url",
                "URL",
            ),
        ] {
            let text = format!("{SHIPPED}{}", OIDC.replace(from, to));
            let message = error_of(&text);
            let line = text
                .lines()
                .position(|l| l.starts_with(field.rsplit('.').next().unwrap()))
                .unwrap()
                + 1;
            assert!(
                message.starts_with(&format!("baocao.toml:{line}:")),
                "{message}"
            );
            assert!(
                message.contains(&format!("field `{field}`")) && message.contains(words),
                "{message}"
            );
        }
        let text = format!("{SHIPPED}{OIDC}idle_timeout_minutes = 0\n");
        assert!(error_of(&text).contains("field `auth.oidc.idle_timeout_minutes`"));
        let text = format!("{SHIPPED}{OIDC}client_secret = \"hunter2\"\n");
        let message = error_of(&text);
        assert!(
            message.contains("client_secret") && !message.contains("hunter2"),
            "{message}"
        );
    }

    #[test]
    fn a_role_of_an_unknown_unit_or_level_or_without_a_provider_is_refused() {
        let role = |body: &str| format!("{SHIPPED}{OIDC}\n[[auth.role]]\n{body}\n");
        let message = error_of(&role("group = \"g\"\nrole = \"editor\"\nunit = \"an-phu\""));
        assert!(
            message.contains("field `auth.role.unit`") && message.contains("an-phu"),
            "{message}"
        );
        let message = error_of(&role("group = \"g\"\nrole = \"owner\"\nunit = \"all\""));
        assert!(
            message.contains("auth.role") && message.contains("owner"),
            "{message}"
        );
        let message = error_of(&format!(
            "{SHIPPED}\n[[auth.role]]\ngroup = \"g\"\nrole = \"viewer\"\nunit = \"all\"\n"
        ));
        assert!(message.contains("needs [auth.oidc]"), "{message}");
    }
}
