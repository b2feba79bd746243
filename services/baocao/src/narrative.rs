//! `baocao report narrative show | set | reset`: an officer's edits of one period's narrative
//! paragraphs. The configured text is the default; an edit replaces one field for one period.

use std::path::Path;

use anyhow::Context;
use domain::profile::{NARRATIVE_FIELDS, UnitProfile};

use crate::cli::PeriodArgs;
use crate::config::Settings;

/// The paragraphs given on the command line: each `--text`, or the file's blocks separated by
/// blank lines.
pub fn paragraphs(texts: Vec<String>, file: Option<&Path>) -> anyhow::Result<Vec<String>> {
    let paragraphs = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            split_paragraphs(&text)
        }
        None => texts
            .iter()
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
            .collect(),
    };
    anyhow::ensure!(
        !paragraphs.is_empty(),
        "no paragraphs given: use --text (repeatable) or --file"
    );
    Ok(paragraphs)
}

/// Paragraphs separated by blank lines; the lines of one paragraph are joined with spaces.
fn split_paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .flat_map(|chunk| chunk.split("\r\n\r\n"))
        .map(|chunk| chunk.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|paragraph| !paragraph.is_empty())
        .collect()
}

/// `report narrative show`.
pub async fn show(settings: &Settings, args: &PeriodArgs) -> anyhow::Result<()> {
    let profile = profile(settings, args)?;
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let edits = store::narrative::for_period(&pool, &args.unit, args.period).await?;
    let narrative = reporter::compose::with_edits(&profile.narrative, &edits);
    for (field, paragraphs) in narrative.fields() {
        let origin = if edits.iter().any(|edit| edit.field == field) {
            format!("edited for {}", args.period)
        } else {
            "configured".to_owned()
        };
        println!("[{field}] ({origin})");
        for paragraph in paragraphs {
            println!("  {paragraph}");
        }
    }
    Ok(())
}

/// `report narrative set`.
pub async fn set(
    settings: &Settings,
    args: &PeriodArgs,
    field: &str,
    mut paragraphs: Vec<String>,
    append: bool,
) -> anyhow::Result<()> {
    let profile = profile(settings, args)?;
    known_field(field)?;
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    if append {
        let edits = store::narrative::for_period(&pool, &args.unit, args.period).await?;
        let mut current = reporter::compose::with_edits(&profile.narrative, &edits);
        let existing = current
            .field_mut(field)
            .context("the field was checked above")?;
        existing.append(&mut paragraphs);
        paragraphs = std::mem::take(existing);
    }
    store::narrative::replace(&pool, &args.unit, args.period, field, &paragraphs).await?;
    println!(
        "{field} of {} {} now has {} paragraph(s)",
        args.unit,
        args.period,
        paragraphs.len()
    );
    Ok(())
}

/// `report narrative reset`.
pub async fn reset(
    settings: &Settings,
    args: &PeriodArgs,
    field: Option<&str>,
) -> anyhow::Result<()> {
    profile(settings, args)?;
    if let Some(field) = field {
        known_field(field)?;
    }
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let reset = store::narrative::reset(&pool, &args.unit, args.period, field).await?;
    println!(
        "{reset} field(s) of {} {} back to the configured text",
        args.unit, args.period
    );
    Ok(())
}

fn profile<'a>(settings: &'a Settings, args: &PeriodArgs) -> anyhow::Result<&'a UnitProfile> {
    settings
        .file
        .unit(args.unit.as_str())
        .with_context(|| format!("unit '{}' is not configured", args.unit))
}

fn known_field(field: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        NARRATIVE_FIELDS.contains(&field),
        "unknown narrative field '{field}'; the fields are {}",
        NARRATIVE_FIELDS.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_paragraphs;

    #[test]
    fn a_file_is_split_into_paragraphs_at_blank_lines() {
        let text = "Đoạn một\nviết hai dòng.\n\n\nĐoạn hai.\r\n\r\nĐoạn ba.\n";
        assert_eq!(
            split_paragraphs(text),
            ["Đoạn một viết hai dòng.", "Đoạn hai.", "Đoạn ba."]
        );
    }
}
