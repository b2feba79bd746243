//! The checks a configuration file must pass beyond its types: across units (each code once),
//! and within each (complete, printable, its narrative within bounds and without a directive
//! its report does not draw, with a sender address that parses, and a time-stamp authority
//! reached over TLS or on purpose).

use std::path::Path;

use domain::profile::{IssuerKind, UnitProfile};
use domain::schedule::Schedule;

use super::locate::{field_offset, invalid_at, key_offset};
use super::{ConfigError, FileConfig, MAX_SMTP_TIMEOUT_SECONDS};

/// Checks `config`, read from `text` at `path`.
pub(super) fn check(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    check_reporter(path, text, config)?;
    if config.ingest.rejection_retention_days == 0 {
        let at = key_offset(text, "rejection_retention_days");
        let message = "rejection_retention_days must be at least 1";
        return Err(invalid_at(path, text, at, message));
    }
    check_http(path, text, config)?;
    check_units(path, text, config)?;
    check_agency_codes(path, text, config)?;
    check_sources(path, text, config)?;
    check_office_hours(path, text, config)?;
    check_import_titles(path, text, config)?;
    check_summaries(path, text, config)?;
    super::auth::check(path, text, config)
}

/// `[import]` names only fields the imports know, each with a title.
fn check_import_titles(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    use crate::import::rows::{Kind, fields};
    let kinds = [
        (Kind::Dossiers, &config.import.dossiers),
        (Kind::Documents, &config.import.documents),
    ];
    for (kind, titles) in kinds {
        let known = fields(kind);
        for (field, title) in titles {
            let message = if !known.iter().any(|(name, _)| name == field) {
                let names: Vec<&str> = known.iter().map(|(name, _)| *name).collect();
                format!(
                    "import: '{field}' is not a field of the export; use one of {}",
                    names.join(", ")
                )
            } else if title.trim().is_empty() {
                format!("import: the title of '{field}' is empty")
            } else {
                continue;
            };
            let at = section_key_offset(text, "import", field);
            return Err(invalid_at(path, text, at, &message));
        }
    }
    Ok(())
}

/// An SMTP exchange ends before a stopping process does, and before its claim's lease; a retry
/// waits at least a second.
fn check_reporter(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    let tuning = &config.reporter;
    let problem = if !(1..=MAX_SMTP_TIMEOUT_SECONDS).contains(&tuning.smtp_timeout_seconds) {
        Some((
            "smtp_timeout_seconds",
            format!(
                "smtp_timeout_seconds must be 1 to {MAX_SMTP_TIMEOUT_SECONDS}: a stopping process gives its exchanges in flight 25 s"
            ),
        ))
    } else if tuning.email_retry_seconds == 0 {
        Some((
            "email_retry_seconds",
            "email_retry_seconds must be at least 1".to_owned(),
        ))
    } else if tuning.outbox_lease_seconds < 2 * tuning.smtp_timeout_seconds {
        Some((
            "outbox_lease_seconds",
            format!(
                "outbox_lease_seconds must be at least twice smtp_timeout_seconds ({}): a claim \
                 that ends while its exchange is still going would let another sender send the \
                 message again",
                2 * tuning.smtp_timeout_seconds
            ),
        ))
    } else {
        None
    };
    match problem {
        Some((field, message)) => Err(invalid_at(path, text, key_offset(text, field), &message)),
        None => Ok(()),
    }
}

/// Every `[http]` number at least 1, and the stream caps within the connection cap.
fn check_http(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    let http = &config.http;
    let problem = [
        (
            "header_timeout_seconds",
            http.header_timeout_seconds as usize,
        ),
        ("body_timeout_seconds", http.body_timeout_seconds as usize),
        ("max_connections", http.max_connections),
        ("sse_per_client", http.sse_per_client),
        ("sse_total", http.sse_total),
    ]
    .into_iter()
    .find(|(_, value)| *value == 0)
    .map(|(field, _)| (field, format!("{field} must be at least 1")));
    let problem = problem.or_else(|| {
        if http.sse_total >= http.max_connections {
            Some((
                "sse_total",
                format!(
                    "sse_total ({}) must be below max_connections ({}), or streams could take \
                     every connection",
                    http.sse_total, http.max_connections
                ),
            ))
        } else if http.sse_per_client > http.sse_total {
            Some((
                "sse_per_client",
                format!(
                    "sse_per_client ({}) cannot be above sse_total ({})",
                    http.sse_per_client, http.sse_total
                ),
            ))
        } else {
            None
        }
    });
    match problem {
        Some((field, message)) => {
            let at = section_key_offset(text, "http", field);
            Err(invalid_at(path, text, at, &message))
        }
        None => Ok(()),
    }
}

/// Where `key` is set in the `[section]` table of `text` (the section's start, or the end of
/// the text, when it is not written there).
fn section_key_offset(text: &str, section: &str, key: &str) -> usize {
    let header = format!("[{section}]");
    // The header's own line, not a commented-out one.
    let found = text.match_indices(&header).map(|(at, _)| at).find(|&at| {
        text[..at]
            .rsplit('\n')
            .next()
            .is_some_and(|b| b.trim().is_empty())
    });
    let Some(start) = found else {
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

fn check_units(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    if config.units.is_empty() {
        return Err(invalid_at(
            path,
            text,
            text.len(),
            "at least one [[unit]] is required",
        ));
    }
    if config.ingest.prefetch == 0 {
        let at = text.find("prefetch").unwrap_or(0);
        let message = "prefetch must be at least 1 (0 would mean unlimited)";
        return Err(invalid_at(path, text, at, message));
    }
    for unit in &config.units {
        if unit.members.is_some() {
            let at = field_offset(text, "unit", unit.code.as_str(), "members");
            let message = format!("unit '{}': only a [[summary]] has members", unit.code);
            return Err(invalid_at(path, text, at, &message));
        }
        check_issuer(path, text, config, "unit", unit)?;
    }
    Ok(())
}

/// The checks a unit and a summary share: its code used once, its text printable, its
/// numbering complete, its sender an address.
fn check_issuer(
    path: &Path,
    text: &str,
    config: &FileConfig,
    table: &str,
    issuer: &UnitProfile,
) -> Result<(), ConfigError> {
    let code = issuer.code.as_str();
    let at = |key: &str| field_offset(text, table, code, key);
    let uses = config
        .units
        .iter()
        .chain(&config.summaries)
        .filter(|other| other.code == issuer.code)
        .count();
    if uses > 1 {
        let second = text
            .match_indices(&format!("\"{code}\""))
            .nth(1)
            .map_or(0, |(at, _)| at);
        let message =
            format!("the code '{code}' is configured twice (units and summaries share codes)");
        return Err(invalid_at(path, text, second, &message));
    }
    if issuer.numbering.symbol.trim().is_empty() {
        let message = "the number symbol must not be empty";
        return Err(invalid_at(path, text, at("numbering.symbol"), message));
    }
    let kind = match table {
        "summary" => IssuerKind::Summary,
        _ => IssuerKind::Unit,
    };
    if let Err((field, problem)) = issuer.check_text(kind) {
        let message = format!("{table} '{code}': {problem}");
        return Err(invalid_at(path, text, at(&field), &message));
    }
    if let Err(problem) = reporter::sender::check_sender(&issuer.mail_from) {
        let message = format!("{table} '{code}': {problem}");
        return Err(invalid_at(path, text, at("mail_from"), &message));
    }
    let timestamp = issuer
        .signature
        .as_ref()
        .map_or(Ok(()), reporter::signature::check_timestamp);
    if let Err((field, problem)) = timestamp {
        let message = format!("{table} '{code}': {problem}");
        return Err(invalid_at(path, text, at(field), &message));
    }
    Ok(())
}

/// Each unit's agency code is well formed and no other unit's.
fn check_agency_codes(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    for (index, unit) in config.units.iter().enumerate() {
        let Some(agency) = &unit.agency_code else {
            continue;
        };
        let at = field_offset(text, "unit", unit.code.as_str(), "agency_code");
        if let Err(problem) = domain::unit::check_agency_code(agency) {
            return Err(invalid_at(
                path,
                text,
                at,
                &format!("unit '{}': {problem}", unit.code),
            ));
        }
        let earlier = config.units[..index]
            .iter()
            .find(|other| other.agency_code.as_deref() == Some(agency.as_str()));
        if let Some(earlier) = earlier {
            let message = format!(
                "unit '{}': agency code {agency} is unit '{}''s already",
                unit.code, earlier.code
            );
            return Err(invalid_at(path, text, at, &message));
        }
    }
    Ok(())
}

/// Each source has a name like a unit code, used once, at least one format, each once, and
/// the name of an environment variable for its token.
fn check_sources(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    for (index, source) in config.sources.iter().enumerate() {
        let name = source.name.as_str();
        let at = |key: &str| super::auth::section_key(text, "[[source]]", index, key);
        let problem = if domain::UnitCode::parse(name).is_err() {
            Some((
                "name",
                format!(
                    "source name '{}' must be lowercase letters, digits and hyphens",
                    domain::text::escape_controls(name)
                ),
            ))
        } else if config.sources[..index]
            .iter()
            .any(|other| other.name == source.name)
        {
            Some(("name", format!("source '{name}' is configured twice")))
        } else if source.dialects.is_empty() {
            Some((
                "dialects",
                format!("source '{name}' sends no format: dialects = [\"dvcqg\"] or [\"edxml\"]"),
            ))
        } else if source
            .dialects
            .iter()
            .enumerate()
            .any(|(i, d)| source.dialects[..i].contains(d))
        {
            Some(("dialects", format!("source '{name}' lists a format twice")))
        } else if !is_variable_name(&source.token_env) {
            Some((
                "token_env",
                format!(
                    "source '{name}': token_env must name an environment variable such as BAOCAO_SOURCE_TOKEN_MOT_CUA"
                ),
            ))
        } else if source.silent_after_minutes == 0 {
            Some((
                "silent_after_minutes",
                format!("source '{name}': silent_after_minutes must be at least 1"),
            ))
        } else {
            None
        };
        if let Some((key, message)) = problem {
            return Err(invalid_at(path, text, at(key), &message));
        }
    }
    Ok(())
}

pub(super) fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The office opens on some day and closes after it opens.
fn check_office_hours(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    let hours = &config.office_hours;
    let problem = if hours.days.is_empty() {
        Some(("days", "office_hours: days must name at least one day"))
    } else if hours.closes <= hours.opens {
        Some(("closes", "office_hours: closes must come after opens"))
    } else {
        None
    };
    match problem {
        Some((key, message)) => {
            let at = section_key_offset(text, "office_hours", key);
            Err(invalid_at(path, text, at, message))
        }
        None => Ok(()),
    }
}

/// A summary's members are configured units, each once, sent before the summary is.
fn check_summaries(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    for summary in &config.summaries {
        check_issuer(path, text, config, "summary", summary)?;
        let code = summary.code.as_str();
        let at = field_offset(text, "summary", code, "members");
        let members = summary.members.as_deref().unwrap_or_default();
        if summary.members.is_some() && members.is_empty() {
            let message =
                format!("summary '{code}' has no members (leave `members` out for every unit)");
            return Err(invalid_at(path, text, at, &message));
        }
        for (index, member) in members.iter().enumerate() {
            let problem = if config.units.iter().all(|unit| unit.code != *member) {
                Some(format!("'{member}' is not a configured [[unit]]"))
            } else if members[..index].contains(member) {
                Some(format!("'{member}' is listed twice"))
            } else {
                None
            };
            if let Some(problem) = problem {
                let message = format!("summary '{code}': member {problem}");
                return Err(invalid_at(path, text, at, &message));
            }
        }
        check_summary_after_members(path, text, config, summary)?;
    }
    Ok(())
}

/// A summary is sent after its members: its sending day and time come after each member's.
fn check_summary_after_members(
    path: &Path,
    text: &str,
    config: &FileConfig,
    summary: &UnitProfile,
) -> Result<(), ConfigError> {
    let when = |schedule: Schedule| (schedule.send_day(), schedule.send_time());
    let own = when(reporter::service::summary_schedule(
        summary.schedule,
        config.schedule,
    ));
    let members: Vec<&UnitProfile> = match &summary.members {
        Some(codes) => config
            .units
            .iter()
            .filter(|u| codes.contains(&u.code))
            .collect(),
        None => config.units.iter().collect(),
    };
    let late = members
        .iter()
        .find(|member| when(member.schedule.or(config.schedule)) >= own);
    if let Some(late) = late {
        let at = field_offset(text, "summary", summary.code.as_str(), "schedule.send_day");
        let message = format!(
            "summary '{}' is sent on day {} at {}, not after its member '{}': give it a later \
             [summary.schedule] or the member an earlier one",
            summary.code,
            own.0,
            own.1.format("%H:%M"),
            late.code
        );
        return Err(invalid_at(path, text, at, &message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse_file;

    const SHIPPED: &str = include_str!("../../../../baocao.toml");

    fn error_of(text: &str) -> String {
        match parse_file(Path::new("baocao.toml"), text) {
            Ok(_) => panic!("the configuration was accepted"),
            Err(error) => error.to_string(),
        }
    }

    /// The line of the first line of `text` that starts with `start`.
    fn line_of(text: &str, start: &str) -> usize {
        text.lines()
            .position(|line| line.trim_start().starts_with(start))
            .unwrap()
            + 1
    }

    #[test]
    fn a_narrative_paragraph_starting_with_at_names_its_file_line_and_field() {
        let text = SHIPPED.replacen("propaganda = [\n", "propaganda = [\n  \"@members\",\n", 1);
        let message = error_of(&text);
        let line = line_of(&text, "propaganda = [");
        assert!(
            message.starts_with(&format!("baocao.toml:{line}:")),
            "{message}"
        );
        assert!(
            message.contains("field `unit.narrative.propaganda`")
                && message.contains("unit 'tri-qua': paragraph 1 cannot start with '@'")
                && message.contains("takes none"),
            "{message}"
        );
    }

    #[test]
    fn a_summary_may_place_its_members_table_in_a_paragraph_field_only() {
        let province = crate::sim::province::config(SHIPPED, 2).unwrap();
        let placed = format!("{province}\n[summary.narrative]\nproposals = [\"@members\"]\n");
        parse_file(Path::new("baocao.toml"), &placed).unwrap();
        let bulleted = format!("{province}\n[summary.narrative]\nlimitations = [\"@members\"]\n");
        let message = error_of(&bulleted);
        assert!(
            message.contains("field `summary.narrative.limitations`")
                && message.contains("summary 'tinh-qn'")
                && message.contains("takes none"),
            "{message}"
        );
    }

    #[test]
    fn a_narrative_over_its_bounds_names_its_field() {
        let long = format!("\"{}\"", "ấ".repeat(4_500));
        let paragraphs = vec![long; 5].join(", ");
        let text = SHIPPED.replacen(
            "proposals = [\n",
            &format!("proposals = [\n  {paragraphs},\n"),
            1,
        );
        let message = error_of(&text);
        assert!(
            message.starts_with(&format!("baocao.toml:{}:", line_of(&text, "proposals = [")))
                && message.contains("field `unit.narrative.proposals`")
                && message.contains("more than a field may have (20000)"),
            "{message}"
        );
        // Each field within its bound, the narrative over its own.
        let mut text = SHIPPED.to_owned();
        let full = vec![format!("\"{}\"", "ấ".repeat(4_000)); 4].join(", ");
        for field in ["legal_basis", "propaganda", "strengths"] {
            let key = format!("{field} = [\n");
            assert!(text.contains(&key), "{field}");
            text = text.replacen(&key, &format!("{key}  {full},\n"), 1);
        }
        let message = error_of(&text);
        assert!(
            message.contains("field `unit.narrative`")
                && message.contains("more than a report's may have (50000)"),
            "{message}"
        );
    }

    /// The shipped file with tri-qua signing with a time-stamp authority: `lines` in its
    /// `[unit.signature]`.
    fn signing(lines: &str) -> String {
        format!(
            "{SHIPPED}\n[unit.signature]\ncertificate = \"tri-qua.p12\"\n\
             password_env = \"BAOCAO_SIGN_PASSWORD\"\n{lines}\n"
        )
    }

    #[test]
    fn a_plain_http_time_stamp_authority_beyond_this_machine_must_be_allowed_on_purpose() {
        let text = signing("timestamp_url = \"http://tsa.example/tsr\"");
        let message = error_of(&text);
        assert!(
            message.starts_with(&format!("baocao.toml:{}:", line_of(&text, "timestamp_url")))
                && message.contains("field `unit.signature.timestamp_url`")
                && message.contains("plain HTTP beyond this machine"),
            "{message}"
        );
        for accepted in [
            "timestamp_url = \"http://tsa.example/tsr\"\ntimestamp_allow_http = true",
            "timestamp_url = \"http://127.0.0.1:3180/tsr\"",
            "timestamp_url = \"https://tsa.example/tsr\"",
            "timestamp_url = \"https://tsa.example/tsr\"\ntimestamp_roots = \"tsa-ca.pem\"",
        ] {
            parse_file(Path::new("baocao.toml"), &signing(accepted))
                .unwrap_or_else(|error| panic!("{accepted}: {error}"));
        }
        for (refused, expected) in [
            (
                "timestamp_url = \"http://127.0.0.1/tsr\"\ntimestamp_roots = \"tsa-ca.pem\"",
                "applies to an https:// timestamp_url only",
            ),
            (
                "timestamp_roots = \"tsa-ca.pem\"",
                "needs an https:// timestamp_url",
            ),
            ("timestamp_url = \"ftp://tsa.example/\"", "ftp://"),
        ] {
            let message = error_of(&signing(refused));
            assert!(message.contains(expected), "{refused}: {message}");
        }
    }
}
