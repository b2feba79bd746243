//! Where in `baocao.toml` a problem is: the line, the column and the dotted name of the field,
//! for a message such as `baocao.toml:13:12: field \`schedule.send_day\`: …`.

use std::path::Path;

use super::ConfigError;

/// An [`ConfigError::Invalid`] at byte `offset` of `text`, naming the field written there.
pub(super) fn invalid_at(path: &Path, text: &str, offset: usize, message: &str) -> ConfigError {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        column,
        field: field_at(text, offset),
        message: message.trim().to_owned(),
    }
}

/// The offset of the first `key = …` written outside a comment, or 0.
pub(super) fn key_offset(text: &str, key: &str) -> usize {
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let assigned = trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if assigned {
            return start + line.len() - trimmed.len();
        }
        start += line.len();
    }
    0
}

/// The dotted name of the key on the line at `offset` (or of the table it opens), within the
/// nearest table header above it: `unit.signer.name`, `schedule.send_day`.
fn field_at(text: &str, offset: usize) -> String {
    let mut table = String::new();
    let mut key = String::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if line_start > offset {
            break;
        }
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            table = header
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
            key.clear();
        } else if let Some((name, _)) = trimmed.split_once('=').filter(|(name, _)| is_key(name)) {
            key = name.trim().to_owned();
        }
        line_start += line.len();
    }
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

fn is_key(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Where a unit's (or a summary's) field is written: `key_path` (`signer.name`, `mail_from`,
/// `narrative.limitations`, or a table such as `narrative`, at its header) within the
/// `[[table]]` block that has `code = "<code>"`; the block's start if the key is not written
/// there, the file's start if the block is not found.
pub(super) fn field_offset(text: &str, table: &str, code: &str, key_path: &str) -> usize {
    let header = format!("[[{table}]]");
    let code_line = format!("\"{code}\"");
    for start in text.match_indices(&header).map(|(at, _)| at) {
        let end = next_block(text, start + header.len());
        let block = &text[start..end];
        let names_code = block
            .lines()
            .any(|line| key_of(line) == Some("code") && line.contains(&code_line));
        if names_code {
            return start + key_in_block(block, table, key_path).unwrap_or(0);
        }
    }
    0
}

/// Where the next top-level `[[…]]` block (a unit or a summary, not one of their own arrays
/// such as `[[unit.recipients]]`) starts after `from`, or the end.
fn next_block(text: &str, from: usize) -> usize {
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        let trimmed = line.trim();
        let top_level = trimmed
            .strip_prefix("[[")
            .and_then(|rest| rest.strip_suffix("]]"))
            .is_some_and(|name| !name.contains('.'));
        if top_level && offset > from {
            return offset;
        }
        offset += line.len();
    }
    text.len()
}

/// The offset within `block` of `key_path`'s line: its last segment, after the header of the
/// sub-table its other segments name (`[unit.signer]` for `signer.name`).
fn key_in_block(block: &str, table: &str, key_path: &str) -> Option<usize> {
    let (prefix, key) = match key_path.rsplit_once('.') {
        Some((prefix, key)) => (Some(prefix), key),
        None => (None, key_path),
    };
    let mut offset = 0;
    let mut in_scope = prefix.is_none();
    for line in block.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            let name = header.trim_matches(|c| c == '[' || c == ']').trim();
            // A path that names a table of the block (`narrative`): its header.
            if name == format!("{table}.{key_path}") {
                return Some(offset);
            }
            in_scope = match prefix {
                Some(prefix) => name == format!("{table}.{prefix}"),
                None => name == table,
            };
        } else if in_scope && key_of(line) == Some(key) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// The key a `key = value` line sets.
fn key_of(line: &str) -> Option<&str> {
    let (name, _) = line.split_once('=')?;
    let name = name.trim();
    is_key(name).then_some(name)
}
