//! The checks a configuration file must pass beyond its types: across units (each code once),
//! and within each (complete, printable, with a sender address that parses).

use std::path::Path;

use super::locate::{field_offset, invalid_at};
use super::{ConfigError, FileConfig};

/// Checks `config`, read from `text` at `path`.
pub(super) fn check(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    check_units(path, text, config)
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
    for (index, unit) in config.units.iter().enumerate() {
        let code = unit.code.as_str();
        let at = |key: &str| field_offset(text, "unit", code, key);
        if config.units[..index]
            .iter()
            .any(|other| other.code == unit.code)
        {
            let second = text
                .match_indices(&format!("\"{code}\""))
                .nth(1)
                .map_or(0, |(at, _)| at);
            let message = format!("unit '{code}' is configured twice");
            return Err(invalid_at(path, text, second, &message));
        }
        if unit.numbering.symbol.trim().is_empty() {
            let message = "the number symbol must not be empty";
            return Err(invalid_at(path, text, at("numbering.symbol"), message));
        }
        if let Err((field, problem)) = unit.check_text() {
            let message = format!("unit '{code}': {problem}");
            return Err(invalid_at(path, text, at(&field), &message));
        }
        if let Err(problem) = reporter::sender::check_sender(&unit.mail_from) {
            let message = format!("unit '{code}': {problem}");
            return Err(invalid_at(path, text, at("mail_from"), &message));
        }
    }
    Ok(())
}
