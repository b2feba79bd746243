//! The checks a configuration file must pass beyond its types: across units (each code once),
//! and within each (complete, printable, with a sender address that parses).

use std::path::Path;

use domain::profile::UnitProfile;
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
    check_summaries(path, text, config)
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
    if let Err((field, problem)) = issuer.check_text() {
        let message = format!("{table} '{code}': {problem}");
        return Err(invalid_at(path, text, at(&field), &message));
    }
    if let Err(problem) = reporter::sender::check_sender(&issuer.mail_from) {
        let message = format!("{table} '{code}': {problem}");
        return Err(invalid_at(path, text, at("mail_from"), &message));
    }
    Ok(())
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
